"""Random keys and named streams for the counter-based noise of the kernels (shared leaf).

Kernels draw their noise from a counter-based hash of ``(key, stream, counter)``; each call
takes one 64-bit key from an explicit :class:`numpy.random.Generator`, so a seed reproduces
every draw on any thread count.

Every use of randomness inside a kernel has its own **stream id** below.  The stream id is
part of the 64-bit word that is hashed with the key (layout in
:mod:`neuromorph.hardware._kernels`: stream id in the top :data:`STREAM_BITS` bits, then one
bit for the kind of draw, uniform or normal, then the draw's index), and the hash is a
bijection of that word for a fixed key, so two different uses, or a uniform and a normal,
can never draw the same value whatever their counters, as long as the counters stay below
:data:`MAX_UNIFORM_COUNTER` and :data:`MAX_NORMAL_COUNTER`.
"""

from __future__ import annotations

import numpy as np

from neuromorph import _validate as check

#: Bits of the hashed word that hold the stream id (up to 255 streams; 0 is never used).
STREAM_BITS = 8
#: Draws reserved per normal: ``log2`` of the 256 hashes a ziggurat normal may consume
#: (it needs a 256th retry with probability below 1e-490).
DRAWS_PER_NORMAL_BITS = 8
#: Counters a uniform stream may use: the index bits below the stream id and the kind bit.
MAX_UNIFORM_COUNTER = 2 ** (64 - STREAM_BITS - 1)
#: Counters a normal stream may use: as for uniforms, less the bits of the reserved draws.
MAX_NORMAL_COUNTER = 2 ** (64 - STREAM_BITS - 1 - DRAWS_PER_NORMAL_BITS)

#: Crossbar reads: the read noise of a column current together with the ADC's input noise,
#: one normal per conversion.
STREAM_READ_NOISE = 1
#: Stand-alone ADC conversions (:meth:`neuromorph.hardware.periphery.AdcParams.convert`).
STREAM_ADC_NOISE = 2
#: Stochastic rounding of a pair's pulse count in a pulse update, one uniform per pair.
STREAM_PULSE_ROUNDING = 3
#: Cycle-to-cycle noise of every programming pulse, one normal per pulse.
STREAM_PULSE_NOISE = 4
#: Read noise of every single-device verify read in program-and-verify, one normal per read.
STREAM_VERIFY_READ = 5
#: Correlated read noise (:mod:`neuromorph.hardware.noise`): derived keys, one uniform's
#: 53 bits per (1/f level, block) or per telegraph read call.
STREAM_NOISE_KEYS = 6
#: 1/f read noise: one normal per device per (level, block) under that block's derived key.
STREAM_PINK_NOISE = 7
#: Telegraph read noise: the state of every device at the first read of a call, one uniform
#: per device under the call's derived key.
STREAM_RTN_START = 8
#: Telegraph read noise: dwell times within a call, one uniform per dwell under the call's key.
STREAM_RTN_DWELL = 9

# Device-physics streams (retention, endurance-aware write-verify) take ids from 20 on, so
# that streams added for read noise elsewhere never collide with them.
#: A device's retention parameter (drift exponent or relaxation deviate), drawn each time it
#: is programmed, one normal per device and call.
STREAM_RETENTION = 20
#: Verify reads of the retry pass of write-verify (the first device reprogrammed when its
#: partner could not absorb its error), one normal per read.
STREAM_VERIFY_RETRY = 21
#: Cycle-to-cycle noise of the pulses of that retry pass, one normal per pulse.
STREAM_PULSE_NOISE_RETRY = 22
#: One-sided (SET-only) devices, :mod:`neuromorph.hardware.onesided`: the level a RESET
#: leaves, one normal per RESET.
STREAM_RESET = 23
#: Verify reads of SET-only program-and-verify (programming and refresh), one normal per read.
STREAM_SET_VERIFY_READ = 24
#: Cycle-to-cycle noise of the SET pulses of that program-and-verify, one normal per pulse.
STREAM_SET_VERIFY_PULSE = 25
#: Retention parameter drawn after that program-and-verify, one normal per device and pass.
STREAM_SET_VERIFY_RETENTION = 26
#: The refresh check after a pulse update: one verify read of each device of a pulsed pair.
STREAM_REFRESH_SCAN = 27

# Converter streams (issue 13) take ids from 30 on.
#: ADC input noise of reference conversions through the test mux (calibration), one normal
#: per conversion.
STREAM_REFERENCE_NOISE = 30
#: Not a kernel stream: the index of the child Generator a crossbar spawns at fabrication for
#: its converter mismatch (children 0-3 are devices, writes, reads and read noise), spawned
#: only when the periphery has a mismatch, so dies without one keep their streams.
CHILD_CONVERTER_MISMATCH = 4


def noise_key(rng: np.random.Generator | None, *, needed: bool, name: str) -> np.uint64:
    """Draw a 64-bit key for the counter-based noise of one call from ``rng``.

    Parameters
    ----------
    rng : numpy.random.Generator or None
        Source of the key; None is allowed only when no noise is ``needed`` (key 0).
    needed : bool
        Whether the call draws any noise.
    name : str
        The caller's name for ``rng``, for the error message.
    """
    if rng is None:
        if needed:
            raise TypeError(f"{name} must be a numpy.random.Generator when noise is on; got None.")
        return np.uint64(0)
    check.generator(name, rng)
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64))


def generator_from(*, seed: int | None = None, rng: np.random.Generator | None = None) -> np.random.Generator:
    """The Generator a die is made from: ``numpy.random.default_rng(seed)``, or ``rng`` itself.

    The one place where an integer seed becomes a Generator for fabrication
    (:meth:`neuromorph.chip.Chip.fabricate`, :meth:`neuromorph.hardware.crossbar.Crossbar.fabricate`).
    Exactly one of ``seed`` and ``rng`` must be given: there is no precedence between them,
    so passing both (or neither) is a TypeError rather than a silent choice.  ``seed=s`` and
    ``rng=numpy.random.default_rng(s)`` give the same die, bit for bit.
    """
    if seed is None and rng is None:
        raise TypeError("seed or rng must be given (an int >= 0, or a numpy.random.Generator); got neither.")
    if seed is not None and rng is not None:
        raise TypeError(f"seed and rng must not both be given (pass one); got seed={seed!r} and rng={rng!r}.")
    if rng is not None:
        return check.generator("rng", rng)
    return np.random.default_rng(check.integer("seed", seed, minimum=0))
