"""Layer 1, hardware: the physics of one die's arrays and their periphery.

Devices and their cited presets (``devices``), the environment (``environment``:
temperature and time), DACs/TIAs/ADCs (``periphery``), a die's sampled device state
(``fabrication``), pulses and write-verify (``programming``), the steps of one read
(``reading``), read-noise laws in read time (``noise``), the crossbar over them
(``crossbar``), pulse-response measurement and
fitting of the pulse law (``fitting``), wires (``wires``: exact IR drop by
nested elimination) and the SPICE export (``spice``).  Modules here may import the shared
leaves (``neuromorph._numba``, ``_rng``, ``_io``, ``_validate``, ``errors``) and each other
(devices and environment below periphery, fabrication/programming/reading below crossbar,
wires below both), never ``neuromorph.chip``, ``algorithms``, ``studies`` or ``faces``.
Private kernel modules (``_kernels``, ``wires._*_kernels``) sit beside the classes they
serve.
"""
