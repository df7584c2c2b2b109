"""Sweeps over dies, temperature, ADC bits, read noise and time, run on Dask (layer 4).

Contract
--------
A **spec** (a TOML file read with :mod:`tomllib`, or the same structure as a dict) names the
points of a study; :func:`run_sweep` runs every point as an independent task on a Dask
cluster and collects one row per point into a tidy table.  A task fabricates a chip, trains
it in place with Forward-Forward, stresses it (temperature, then age at that temperature),
measures its test accuracy, and optionally copies it out through its ports
(:func:`neuromorph.algorithms.extract.extract`, ``"fd"`` or ``"designed"``) at a measured cost.

* **Reproducible however scheduled.**  The die is ``Chip.fabricate(design, seed=point.seed)``
  (the same die as ``neuromorph train --seed``).  Training randomness comes from
  ``numpy.random.SeedSequence(entropy=sweep_seed, spawn_key=K)`` where ``K`` is four 32-bit
  words of the SHA-256 digest of the point's canonical JSON *without* its stress and copy-out
  parameters, so the points of one die that differ only in temperature or age are trained
  bit for bit alike and differ only by their stress.  Copy-out draws from a stream keyed by
  the whole point.  Each task limits BLAS and Numba to one thread, so a point gives the same
  bits in a worker, in this process, on one cluster or another.
* **One failure, one row.**  A point whose parameters are invalid (checked inside the task
  by :func:`check_point`), or whose task raises, or whose worker dies, is recorded with
  ``status = "error"``, ``error_type`` and ``error_message``; the other points finish.
* **Incremental and resumable.**  Every finished point is appended as one JSON line to
  ``OUT/results.jsonl`` (flushed and fsynced) the moment it completes.  A point is identified
  by its **key**: a digest of the sweep seed and its complete parameters (defaults filled
  in), independent of its position in the spec.  Rerunning the same spec into the same
  folder skips every key already there (failed ones too, unless ``retry_failed``), so an
  interrupted sweep resumes without recomputing finished points.  A final line torn by a
  kill is cut off before appending.
* **Outputs.**  ``results.csv`` (written atomically with :mod:`csv`; lists as JSON text).
  Results are JSON only, never pickles.  The study draws nothing: ``neuromorph sweep``
  (layer 5) adds ``accuracy_distribution.png`` and ``accuracy_vs_temperature.png`` (and
  ``copyout.png`` when points copy out), drawn by :mod:`neuromorph.faces.plots`.

Spec
----
::

    [sweep]                      # optional
    seed = 0                     # the sweep seed (training and copy-out streams)
    name = "rram dies, hot"

    [grid]                       # Cartesian product, in the order written
    preset = ["rram"]
    seed = [0, 1, 2]             # the die (fabrication seed)
    temperature_k = [300, 358]

    [fixed]                      # the same for every point
    epochs = 2
    hidden = [16, 16]

    [sample]                     # n random draws (each combined with every grid point)
    n = 8
    seed = 1
    [sample.ranges]
    read_noise_scale = [0.5, 2.0]                    # two numbers: uniform (ints: integers)
    age_hours = {low = 1, high = 1000, log = true}  # log-uniform
    adc_bits = {choices = [4, 6, 8]}                 # one of

Parameters of a point (and their defaults) are in :data:`PARAMETERS`.  Loading checks the
spec's structure (sections, parameter names, list and range forms) and raises ValueError or
TypeError naming the key; values are checked per point, inside the task, so one bad value
fails only its own points.  Points that come out identical are run once.

The digits data set (bundled with scikit-learn, split with seed 0) is used; ``n_train`` and
``n_test`` take its first rows (0 keeps the whole split) for quick studies.

Modules
-------
``spec``     the spec, its parameters, validation, TOML loading, points and their keys
``seeds``    seed derivation of a point (training and copy-out streams)
``task``     one point: fabricate, train, stress, measure, copy out (:func:`run_point`)
``engine``   serial or Dask running, append and resume (:func:`run_sweep`)
``results``  rows, the CSV table and the JSONL file

This package re-exports their public names.  Layer 4 (studies): may import ``algorithms``,
``chip``, ``hardware``, the other studies and the shared leaves; never ``faces``.
"""

from __future__ import annotations

from neuromorph.studies.sweep.engine import Task, execute, local_cluster, run_sweep
from neuromorph.studies.sweep.results import (
    BASE_COLUMNS,
    METRIC_COLUMNS,
    RESULTS_CSV,
    RESULTS_JSONL,
    SweepResult,
    columns,
    read_results,
    write_csv,
)
from neuromorph.studies.sweep.seeds import point_seeds
from neuromorph.studies.sweep.spec import (
    COPYOUT_METHODS,
    PARAMETERS,
    STRESS_PARAMETERS,
    Point,
    SweepSpec,
    as_spec,
    check_point,
    point_key,
)
from neuromorph.studies.sweep.task import point_design, run_point

__all__ = [
    "BASE_COLUMNS",
    "COPYOUT_METHODS",
    "METRIC_COLUMNS",
    "PARAMETERS",
    "RESULTS_CSV",
    "RESULTS_JSONL",
    "STRESS_PARAMETERS",
    "Point",
    "SweepResult",
    "SweepSpec",
    "Task",
    "as_spec",
    "check_point",
    "columns",
    "execute",
    "local_cluster",
    "point_design",
    "point_key",
    "point_seeds",
    "read_results",
    "run_point",
    "run_sweep",
    "write_csv",
]
