"""Layer 2, chip: a design fabricated into a die, its metered ports, and its digital copy.

:class:`ChipDesign` and :class:`CostModel` (the public datasheet), :class:`Chip` (crossbars,
environment, meter, files), the :class:`Ports` protocol with :class:`ChipPorts` and
:class:`Meter` (all an on-chip algorithm may hold), and :class:`DigitalNetwork` (the immortal
copy with the same forward) with its software twin :class:`DigitalPorts`, and
:class:`ChipServer` / :class:`RemotePorts` (a chip served in its own process, ports its only
client: :mod:`neuromorph.chip.remote`).  May import
``neuromorph.hardware`` and the shared leaves; never ``algorithms``, ``studies`` or ``faces``.
"""

from neuromorph.chip.chip import Chip
from neuromorph.chip.design import ChipDesign, CostModel
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.chip.ports import ChipPorts, Meter, Ports, check_ports
from neuromorph.chip.remote import ChipServer, RemotePorts
from neuromorph.chip.twin import DigitalPorts

__all__ = [
    "Chip",
    "ChipDesign",
    "ChipPorts",
    "ChipServer",
    "CostModel",
    "DigitalNetwork",
    "DigitalPorts",
    "Meter",
    "Ports",
    "RemotePorts",
    "check_ports",
]
