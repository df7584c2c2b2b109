"""neuromorph: a simulator of mortal analog neuromorphic chips.

Fabricate memristor crossbars whose every instance differs, read them through DACs and ADCs
at a temperature and an age, program them pulse by pulse, and export them to SPICE.

Names
-----
* Device presets: the constants (``nm.PCM_GST``) or by name through :func:`preset`, which
  takes the short names of :data:`PRESETS` (``"pcm"``) and the constants' names
  (``"PCM_GST"``), any case; ``ChipDesign(device=...)`` takes either too.
* Randomness of a die: ``seed=`` (an int) or ``rng=`` (a :class:`numpy.random.Generator`),
  exactly one, in :meth:`Chip.fabricate` and :meth:`Crossbar.fabricate` alike.
* Temperatures are in kelvin and named ``*_k``; times in seconds (``*_s``) or hours
  (``*_hours``).
"""

from neuromorph.chip import Chip, ChipDesign, ChipPorts, CostModel, DigitalNetwork, Meter
from neuromorph.chip.export import export_spice
from neuromorph.errors import (
    ChipFileError,
    ConvergenceError,
    NeuromorphError,
    NgspiceNotFoundError,
    PortAccessError,
    SpiceTimeoutError,
)
from neuromorph.hardware.crossbar import Crossbar, ProgramReport, UpdateReport
from neuromorph.hardware.devices import DeviceModel
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fitting import PulseFit, fit_pulse_response, pulse_response, pulse_train
from neuromorph.hardware.periphery import IDEAL_PERIPHERY, AdcParams, DacParams, Periphery, TiaParams
from neuromorph.hardware.presets import (
    IDEAL,
    PCM_GST,
    PRESETS,
    RRAM_HFO2,
    RRAM_HFO2_ARRAY,
    RRAM_OM_ARRAY,
    preset,
)
from neuromorph.hardware.wires import WireParams

__version__ = "0.1.0"

__all__ = [
    "IDEAL",
    "IDEAL_PERIPHERY",
    "PCM_GST",
    "PRESETS",
    "RRAM_HFO2",
    "RRAM_HFO2_ARRAY",
    "RRAM_OM_ARRAY",
    "AdcParams",
    "ChipFileError",
    "ConvergenceError",
    "Chip",
    "ChipDesign",
    "ChipPorts",
    "CostModel",
    "Crossbar",
    "DacParams",
    "DeviceModel",
    "DigitalNetwork",
    "Environment",
    "Meter",
    "NeuromorphError",
    "NgspiceNotFoundError",
    "Periphery",
    "PortAccessError",
    "ProgramReport",
    "PulseFit",
    "SpiceTimeoutError",
    "TiaParams",
    "UpdateReport",
    "WireParams",
    "export_spice",
    "fit_pulse_response",
    "preset",
    "pulse_response",
    "pulse_train",
]
