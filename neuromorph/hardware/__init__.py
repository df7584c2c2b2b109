"""Layer 1, hardware: the physics of one die's arrays and their periphery.

Devices and their cited presets, the environment (temperature and time), DACs/TIAs/ADCs,
the crossbar (differential pairs, tiles, reads and pulses), wires (exact IR drop by nested
elimination) and the SPICE export.  Modules here may import the shared leaves
(``neuromorph._numba``, ``_rng``, ``_io``, ``_validate``, ``errors``) and each other
(devices and environment below periphery, periphery below crossbar, wires below both), never
``neuromorph.chip``, ``algorithms``, ``studies`` or ``faces``.  Private kernel modules
(``_kernels``, ``wires._*_kernels``) sit beside the classes they serve.
"""
