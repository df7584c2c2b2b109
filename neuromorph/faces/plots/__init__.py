"""Figures: every figure of the package, drawn once (layer 5, faces).  Each returns a Figure.

Every function builds a :class:`Figure` (a matplotlib Figure that shows itself in Jupyter;
object API, no pyplot state, constrained layout) and returns it; save it with
``fig.savefig(path)`` or show it by leaving it as a notebook cell's value.  Inputs follow the
package's SI units; figures show convenient multiples (microsiemens, millivolts,
microamperes, percent) and say so on their axes.

What a reviewer checks, and these figures keep:

* **Full axes.**  Accuracy and fidelity axes run from 0 to 100 %; where a figure must show
  differences near 100 %, it draws the disagreement (1 - fidelity) on a symmetric-log axis
  and says so.
* **Intervals, and their n.**  An accuracy measured on ``n`` inputs carries its exact
  (Clopper-Pearson) 95 % binomial interval, and the axis names ``n``; repeats over seeds or
  dies carry the Student-t 95 % interval of their mean, and each repeat is drawn as a dot.
* **Conditions and display names in titles**: temperature and age, "HfO2 RRAM (device fit)"
  rather than ``rram_hfo2`` (:func:`display_name`, :func:`conditions`).
* **No meaningless series**: a distilled copy has no weight error against the chip, so the
  weight-error figure leaves it out and says why.

The figures:

* :func:`training_curve`: Forward-Forward loss and test accuracy per epoch (and, ex situ, the
  chip's accuracy after programming beside the software network's curve).
* :func:`conductance_maps`: G+ and G- of a crossbar, stuck devices marked.
* :func:`ir_drop_map`: wire voltages over an array and the column-current error they cause.
* :func:`spice_agreement`: ngspice's column currents against the simulator's.
* :func:`accuracy_vs_condition`: accuracy against temperature or time, with intervals.
* :func:`accuracy_bars`: accuracy under named conditions, with intervals.
* :func:`copyout_curves`: a copy's fidelity, disagreement or weight error against queries
  and energy (:func:`copyout_title` names the chip and its conditions).
* :func:`sweep_accuracy_distribution`, :func:`sweep_accuracy_vs_temperature`: a sweep's
  accuracy over dies and temperatures.
* :func:`lifetime_curves`: a chip's accuracy against age per temperature, with the copy-out
  threshold and deadlines (:mod:`neuromorph.studies.lifetime`).

May import every layer below (studies hand their results here as data); nothing below
imports it.
"""

from __future__ import annotations

from neuromorph.faces._figure_data import conditions, display_name, weight_error
from neuromorph.faces.plots._base import NOTEBOOK_DPI, Figure
from neuromorph.faces.plots.accuracy import (
    accuracy_bars,
    accuracy_vs_condition,
    sweep_accuracy_distribution,
    sweep_accuracy_vs_temperature,
    training_curve,
)
from neuromorph.faces.plots.arrays import conductance_maps, ir_drop_map, spice_agreement
from neuromorph.faces.plots.copyout import copyout_curves, copyout_title
from neuromorph.faces.plots.lifetime import lifetime_curves
from neuromorph.studies.scoring import binomial_interval

__all__ = [
    "NOTEBOOK_DPI",
    "Figure",
    "accuracy_bars",
    "accuracy_vs_condition",
    "binomial_interval",
    "conditions",
    "conductance_maps",
    "copyout_curves",
    "copyout_title",
    "display_name",
    "ir_drop_map",
    "lifetime_curves",
    "spice_agreement",
    "sweep_accuracy_distribution",
    "sweep_accuracy_vs_temperature",
    "training_curve",
    "weight_error",
]
