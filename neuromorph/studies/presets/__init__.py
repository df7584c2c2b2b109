"""The preset check: every preset against the numbers its sources publish (layer 4, studies).

``sources`` holds the published constants and models, ``measure`` the simulated
measurements, ``checks`` the row and check types, ``registry`` the project's checks per
preset and effect and the study functions.  ``neuromorph presets --check`` prints the rows.
"""

from neuromorph.studies.presets import registry
from neuromorph.studies.presets.checks import EFFECTS, Check, CheckRow, run_checks, uncovered
from neuromorph.studies.presets.registry import CHECKS, check_presets, missing_effects

__all__ = [
    "CHECKS",
    "EFFECTS",
    "Check",
    "CheckRow",
    "check_presets",
    "missing_effects",
    "registry",
    "run_checks",
    "uncovered",
]
