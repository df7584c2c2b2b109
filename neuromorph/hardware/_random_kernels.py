"""Counter-based random numbers for the Numba kernels (layer 1, private).

A 64-bit ``key`` drawn once per call from the caller's ``numpy.random.Generator``, a named
stream id (:mod:`neuromorph._rng`) and a counter unique to each (element, draw) of that stream
form one 64-bit word, ``stream << 56 | kind << 55 | index``, which is hashed with the key by
SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) into a uniform; a uniform's index is its
counter, a normal's is ``counter << 8 | j`` for the ``j``-th of the 256 draws reserved for its
ziggurat (kind 1).  For a fixed key the hash is a bijection of the word, so two streams, or a
uniform and a normal, never share a draw.  Each element's draws depend only on (key, stream,
its index), so kernels may schedule elements in any order on any number of threads and the
bits are the same; :func:`normals` and :func:`normals_at` draw many at once with the bits of
:func:`normal` one by one.
"""

from __future__ import annotations

import math

import numpy as np

from neuromorph._numba import njit
from neuromorph._rng import DRAWS_PER_NORMAL_BITS, STREAM_BITS

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0
#: Position of the stream id in the hashed word (its top STREAM_BITS bits).
_STREAM_SHIFT = np.uint64(64 - STREAM_BITS)
#: The bit below the stream id that marks a normal's reserved draws.
_NORMAL_BIT = np.uint64(1) << np.uint64(64 - STREAM_BITS - 1)
_DRAW_SHIFT = np.uint64(DRAWS_PER_NORMAL_BITS)


@njit
def _hash(key, word):
    """SplitMix64 output for (key, word), uint64."""
    z = key + np.uint64(word) * _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit
def _unit(z):
    """The top 53 bits of ``z`` as a uniform in (0, 1), mid-interval."""
    return (float(z >> _S11) + 0.5) * _INV_2_53


@njit
def uniform_word(stream, counter):
    """Hashed word of the uniform ``counter`` of ``stream`` (counter < 2**55)."""
    return (np.uint64(stream) << _STREAM_SHIFT) | np.uint64(counter)


@njit
def normal_word(stream, counter, j):
    """Hashed word of the ``j``-th draw reserved for normal ``counter`` of ``stream``."""
    index = (np.uint64(counter) << _DRAW_SHIFT) | np.uint64(j)
    return (np.uint64(stream) << _STREAM_SHIFT) | _NORMAL_BIT | index


@njit
def uniform(key, stream, counter):
    """Uniform in (0, 1) for (key, stream, counter)."""
    return _unit(_hash(key, uniform_word(stream, counter)))


def _ziggurat_tables(n=128, r=3.442619855899, v=9.91256303526217e-3):
    """Layer edges ``x`` and ratios ``x[i+1]/x[i]`` of Doornik's ZIGNOR (2005), n layers."""
    x = np.zeros(n + 1)
    f = math.exp(-0.5 * r * r)
    x[0] = v / f
    x[1] = r
    for i in range(2, n):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()
_ZIG_R = 3.442619855899
_LOW7 = np.uint64(0x7F)


@njit
def normal(key, stream, counter):
    """Standard normal for (key, stream, counter) by the ziggurat method (Marsaglia & Tsang,
    J. Stat. Softw. 5(8), 2000, in Doornik's exact ZIGNOR form, 2005).

    Uses the draws ``normal_word(stream, counter, j)`` for j = 0, 1, ...: one draw 97.2 % of
    the time.
    """
    j = 0
    while True:
        z = _hash(key, normal_word(stream, counter, j))
        j += 1
        u = 2.0 * _unit(z) - 1.0
        i = int(z & _LOW7)
        if abs(u) < _ZIG_RATIO[i]:
            return u * _ZIG_X[i]
        if i == 0:
            while True:
                xt = math.log(_unit(_hash(key, normal_word(stream, counter, j)))) / _ZIG_R
                yt = math.log(_unit(_hash(key, normal_word(stream, counter, j + 1))))
                j += 2
                if -2.0 * yt >= xt * xt:
                    return xt - _ZIG_R if u < 0.0 else _ZIG_R - xt
        x = u * _ZIG_X[i]
        f0 = math.exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - x * x))
        f1 = math.exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - x * x))
        if f1 + _unit(_hash(key, normal_word(stream, counter, j))) * (f0 - f1) < 1.0:
            return x
        j += 1


@njit
def normals(key, stream, first, out, words, misses):
    """Standard normals ``normal(key, stream, first + j)`` for every ``j``, the same bits.

    OUT out (n,); scratch words (>= n,) uint64 and misses (>= n,) int64.  The ziggurat's
    first draw settles 97.2 % of normals (the mean of its layer ratios; the rest fall in a wedge or the tail).
    Three passes: the first draws' hashes (a vectorised loop); their layer lookups, one by
    one, noting the misses (:func:`_first_draws`); then the misses by :func:`normal`.
    Measured for rows of 256 (the ADC's use): 0.51 ms per 262k normals, against 0.74 ms for
    one vectorised pass (its two table lookups become AVX-512 gathers, slow here: 0.28 ms of
    its 0.43).
    """
    first = np.uint64(first)
    n = out.size
    for j in range(n):
        words[j] = _hash(key, normal_word(stream, first + np.uint64(j), 0))
    for t in range(_first_draws(words, out, misses)):
        j = misses[t]
        out[j] = normal(key, stream, first + np.uint64(j))


@njit
def normals_at(key, stream, counters, out, words, misses):
    """Standard normals ``normal(key, stream, counters[j])`` for every ``j``, the same bits, in
    :func:`normals`' three passes.  IN counters (n,) uint64; OUT out (n,); scratch words (n,)
    uint64, misses (n,) int64 (scratch may be longer)."""
    for j in range(counters.size):
        words[j] = _hash(key, normal_word(stream, counters[j], 0))
    for t in range(_first_draws(words, out[: counters.size], misses)):
        j = misses[t]
        out[j] = normal(key, stream, counters[j])


@njit
def _first_draws(words, out, misses):
    """The ziggurat's first draw of each normal from its hashed word ``words[j]``: ``out[j]``
    where it settles the normal; returns how many did not, their indices in ``misses``."""
    m = 0
    for j in range(out.size):  # not vectorised: the miss list's running index is a loop dependence
        z = words[j]
        u = 2.0 * _unit(z) - 1.0
        i = z & _LOW7
        out[j] = u * _ZIG_X[i]
        misses[m] = j
        m += not abs(u) < _ZIG_RATIO[i]
    return m
