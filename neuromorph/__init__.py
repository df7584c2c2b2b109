"""neuromorph: a simulator of mortal analog neuromorphic chips.

Fabricate memristor crossbars whose every instance differs, read them through DACs and ADCs
at a temperature and an age, program them pulse by pulse, and export them to SPICE.
"""

from neuromorph.chip import Chip, ChipDesign, ChipPorts, CostModel, DigitalNetwork, Meter
from neuromorph.errors import (
    ChipFileError,
    ConvergenceError,
    NeuromorphError,
    NgspiceNotFoundError,
    PortAccessError,
)
from neuromorph.hardware.crossbar import Crossbar, ProgramReport, UpdateReport
from neuromorph.hardware.devices import IDEAL, PCM_GST, PRESETS, RRAM_HFO2, DeviceModel, preset
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fitting import PulseFit, fit_pulse_response, pulse_response, pulse_train
from neuromorph.hardware.periphery import IDEAL_PERIPHERY, AdcParams, DacParams, Periphery, TiaParams

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
    "TiaParams",
    "UpdateReport",
    "fit_pulse_response",
    "preset",
    "pulse_response",
    "pulse_train",
]
