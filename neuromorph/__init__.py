"""neuromorph: a simulator of mortal analog neuromorphic chips.

Fabricate memristor crossbars whose every instance differs, read them through DACs and ADCs
at a temperature and an age, program them pulse by pulse, and export them to SPICE.
"""

from neuromorph.crossbar import Crossbar, ProgramReport, UpdateReport
from neuromorph.devices import IDEAL, PCM_GST, PRESETS, RRAM_HFO2, DeviceModel, preset
from neuromorph.environment import Environment
from neuromorph.errors import (
    ChipFileError,
    ConvergenceError,
    NeuromorphError,
    NgspiceNotFoundError,
    PortAccessError,
)
from neuromorph.periphery import IDEAL_PERIPHERY, AdcParams, DacParams, Periphery, TiaParams

__version__ = "0.1.0"

__all__ = [
    "IDEAL",
    "IDEAL_PERIPHERY",
    "PCM_GST",
    "PRESETS",
    "RRAM_HFO2",
    "AdcParams",
    "ChipFileError",
    "ConvergenceError",
    "Crossbar",
    "DacParams",
    "DeviceModel",
    "Environment",
    "NeuromorphError",
    "NgspiceNotFoundError",
    "Periphery",
    "PortAccessError",
    "ProgramReport",
    "TiaParams",
    "UpdateReport",
    "preset",
]
