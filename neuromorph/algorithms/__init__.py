"""Layer 3, algorithms: what a researcher would run on a real chip.

Forward-Forward training (``ff``) and its optimisers (``optim``), copy-out by probing
(``extract``) and by distillation (``distill``), copy-in, and global drift compensation
(``drift``: a per-layer digital scale read through the ports).  They hold a ports object (the
``Ports`` protocol of :mod:`neuromorph.chip.ports`), never a ``Chip`` and never a
conductance.  May import ``neuromorph.chip``'s ports, design and digital network, the public
parameter classes of ``neuromorph.hardware`` and the shared leaves; never ``studies`` or
``faces``.
"""
