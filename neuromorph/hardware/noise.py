"""Read noise in read time: the laws, their exact statistics, and a crossbar's noise state (layer 1).

Each read of a device sees ``G (1 + q(G) n(t))`` (:class:`~neuromorph.hardware.devices.NoiseParams`).
The **amplitude** may depend on the state, ``q(G) = min(q0 / max((G/g_max)**gamma, 1e-3), q_max)``:
aihwkit's PCM fit (``PCMLikeNoiseModel``, Nandakumar et al., ICECS 2019) is ``q0 = 0.0088``,
``gamma = 0.65``, ``q_max = 0.2`` (:data:`PCM_1F_READ_NOISE`); ``gamma = 0`` is a constant
relative amplitude (no state-dependent RRAM law with a citable fit was found, so RRAM stays
relative).  The **law** ``n(t)`` in read time, with reads of duration ``t_r`` back to back on
a clock of read *slots* (:func:`read_slot`):

``"white"``
    A fresh standard normal every read: ``Var(mean of K reads) = q**2 G**2 / K``.  Summed over
    a column it is exactly Gaussian, drawn per column (the fast path of
    :mod:`neuromorph.hardware.reading`).
``"pink"`` (1/f)
    Power ``q**2 / f`` from ``1 / (2 t_r)`` down to ``1 / t``, ``t`` the time since the device
    was programmed plus the drift's ``t0`` (aihwkit's ``t_inference + t_0``), so one read
    deviates from the programmed value by ``q**2 ln((t + t_r) / (2 t_r))`` in variance,
    aihwkit's accumulated 1/f noise.  The construction is a sum of independent components, one
    per band of ln time, each block-constant in read time (Voss's algorithm as told by Gardner,
    Sci. Am. 238(4), 16 (1978); McWhorter's sum of relaxations, Dutta & Horn, Rev. Mod. Phys.
    53, 497 (1981), gives 1/f the same way): component ``k >= 1`` holds one normal per block of
    ``L_k = r**k`` slots (``r`` = ``pink_block_ratio``, blocks aligned on the slot clock) and
    carries the band ``[ln L_k, ln L_{k+1})`` of ``ln((t + t_r) / t_r)``; component 0, fresh
    every read, carries ``[ln 2, ln L_1)``.  A device's component has the variance
    ``q**2 w_k``, ``w_k`` the part of its band below ``ln((t + t_r) / t_r)``
    (:func:`pink_weights`), so the weights sum to aihwkit's law and bands the device has not
    lived through yet are silent.  Exactly, for reads at slots ``s_1..s_K``:
    ``Var(mean) = q**2 G**2 (w_0 / K + sum_k w_k sum_blocks n_kb**2 / K**2)``, ``n_kb`` the
    reads in block ``b`` of component ``k`` (:func:`pink_mean_variance`): it falls as ``1/K``
    only for the fast part, so averaging K reads leaves the slow bands nearly whole (for
    aihwkit's PCM an hour after programming, 4096 reads keep 62-65 % of one read's variance).
    A block component of length ``T`` has the phase-averaged one-sided spectrum
    ``2 sigma**2 T sinc**2(pi f T)``; summed, ``f S(f) / q**2`` ripples between 0.50 and 1.38
    for ``r = 10`` (4.4 dB peak to peak), 0.79-1.21 for ``r = 4``, 0.81-1.04 for ``r = 2``
    (computed over the interior of the band), at ~``1/(r-1)`` normals per device per read.
``"rtn"``
    One two-state (random telegraph) fluctuator per device, a Markov jump process with mean
    dwell times ``tau_up``, ``tau_down``: ``n = (s - p) / sqrt(p (1 - p))``, ``s`` in {0, 1},
    ``p = tau_up / (tau_up + tau_down)``, correlation ``rho**m`` between reads ``m`` apart,
    ``rho = exp(-t_r / tau_c)``, ``1/tau_c = 1/tau_up + 1/tau_down`` (Machlup, J. Appl. Phys. 25,
    341 (1954)); ``Var(mean) = q**2 G**2 (K + 2 sum_m (K - m) rho**m) / K**2``
    (:func:`rtn_mean_variance`).  Simulated exactly (exponential dwells, the exact transition
    over gaps between calls).

Correlated laws need state that lives with the crossbar (:class:`ReadNoise`): its lifetime key
(drawn once from the crossbar's ``"noise"`` stream), the count of reads done (the clock), and
the telegraph states.  Every draw is counter-based and keyed by (lifetime key, level, block)
or (lifetime key, slot of a call's first read), so a seed reproduces every read bit for bit,
on any thread count.

Cost (``benchmarks/crossbar.py``): white noise is one extra BLAS product per read.  A
correlated read cannot use the per-column shortcut (a device's fluctuation is shared by the
reads of a block, whose column sums are then correlated through their different inputs): 1/f
draws one normal per device per block of the fastest component (every ``r`` reads) plus the
few changed slower levels (cached across calls), and adds one small product per block;
telegraph noise draws one uniform per device per call and per switch and walks each switched
device's rows.  Measured at 256 x 256, batch 1024, 2 cores: 1/f (r = 10) 0.17 s, ~200x a
float32 ``x @ W`` (0.8 ms) and ~100x a float64 one; telegraph noise with 1 us dwells 0.25 s,
~300x; the white read ~7x.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import NDArray

from neuromorph._rng import STREAM_NOISE_KEYS, noise_key
from neuromorph.hardware import _noise_kernels as nk
from neuromorph.hardware.devices import DeviceModel, NoiseParams

__all__ = [
    "PCM_1F_READ_NOISE",
    "NoiseInputs",
    "ReadNoise",
    "amplitude",
    "ln_span",
    "pink_levels",
    "pink_mean_variance",
    "pink_weights",
    "read_slot",
    "rtn_mean_variance",
]

#: aihwkit's PCM 1/f read noise (``PCMLikeNoiseModel``, after Nandakumar et al., ICECS 2019):
#: ``q_s = min(0.0088 / (G/g_max)**0.65, 0.2)`` and its ``t_read`` of 250 ns.
PCM_1F_READ_NOISE = NoiseParams(
    read_noise_rel=0.0088,
    read_noise_law="pink",
    read_noise_exponent=0.65,
    read_noise_max_rel=0.2,
    t_read_s=250e-9,
)
#: aihwkit clamps ``(G/g_max)**gamma`` at this floor before dividing (its ``clamp(min=1e-3)``).
_AMPLITUDE_FLOOR = 1e-3
#: Bits of a derived-key counter below the 1/f level (blocks per level: 2**50 slots).
_LEVEL_SHIFT = 50
#: Top tag of a telegraph call key's counter, apart from the 1/f levels' (< 2**4).
_RTN_TAG = 31


def amplitude(g: NDArray, noise: NoiseParams, *, g_max_s: float) -> NDArray[np.float64]:
    """Relative read-noise amplitude ``q(G)`` of devices at conductances ``g`` (siemens)."""
    q = np.full(np.shape(g), noise.read_noise_rel)
    if noise.read_noise_exponent != 0.0:
        x = np.maximum((np.abs(g) / g_max_s) ** noise.read_noise_exponent, _AMPLITUDE_FLOOR)
        q = q / x
    if noise.read_noise_max_rel is not None:
        q = np.minimum(q, noise.read_noise_max_rel)
    return q


def is_constant(noise: NoiseParams) -> bool:
    """Whether ``q(G)`` is ``read_noise_rel`` for every G (the white fast path's own variance)."""
    cap = noise.read_noise_max_rel
    return noise.read_noise_exponent == 0.0 and (cap is None or cap >= noise.read_noise_rel)


def ln_span(age_s: NDArray, *, t0_s: float, t_read_s: float) -> NDArray[np.float64]:
    """``ln((t + t_r) / t_r)`` with ``t = age + t0``: the 1/f band a device has lived through."""
    t = np.maximum(np.asarray(age_s, dtype=float), 0.0) + t0_s
    return np.log((t + t_read_s) / t_read_s)


def pink_levels(max_ln_span: float, ratio: int) -> int:
    """Number of block components ``k >= 1`` with a band starting below ``max_ln_span``."""
    return max(0, math.ceil(max_ln_span / math.log(ratio)) - 1)


def pink_weights(span: NDArray, *, ratio: int, n_levels: int) -> NDArray[np.float64]:
    """Weights ``w_0..w_n`` (leading axis) of the 1/f components for ``ln_span`` values ``span``.

    ``w_0 = clip(span - ln 2, 0, ln(r / 2))``, ``w_k = clip(span - k ln r, 0, ln r)``; they
    sum to ``span - ln 2`` (aihwkit's ``ln((t + t_r) / (2 t_r))``) while ``span < (n + 1) ln r``.
    """
    span = np.asarray(span, dtype=float)
    lr = math.log(ratio)
    w = [np.clip(span - math.log(2.0), 0.0, lr - math.log(2.0))]
    w += [np.clip(span - k * lr, 0.0, lr) for k in range(1, n_levels + 1)]
    return np.stack(w)


def _sum_block_counts_sq(slot0: int, k_reads: int, block: int) -> int:
    """``sum_b n_b**2`` over the blocks of length ``block`` met by slots slot0..slot0+K-1."""
    first, last = slot0 // block, (slot0 + k_reads - 1) // block
    if first == last:
        return k_reads * k_reads
    head = block - slot0 % block
    tail = (slot0 + k_reads - 1) % block + 1
    return head * head + tail * tail + (last - first - 1) * block * block


def pink_mean_variance(k_reads: int, *, span: float, ratio: int, slot0: int = 0) -> float:
    """Exact ``Var(mean of K reads) / (q G)**2`` of the 1/f law, reads at slots slot0..slot0+K-1.

    ``span`` is the device's ``ln((t + t_r) / t_r)`` (:func:`ln_span`).
    """
    n_levels = pink_levels(span, ratio)
    w = pink_weights(span, ratio=ratio, n_levels=n_levels)
    total = w[0] / k_reads
    for k in range(1, n_levels + 1):
        total += w[k] * _sum_block_counts_sq(slot0, k_reads, ratio**k) / k_reads**2
    return float(total)


def rtn_mean_variance(k_reads: int, *, t_read_s: float, tau_up_s: float, tau_down_s: float) -> float:
    """Exact ``Var(mean of K reads) / (q G)**2`` of the telegraph law, stationary, back to back."""
    rho = math.exp(-t_read_s * (1.0 / tau_up_s + 1.0 / tau_down_s))
    m = np.arange(1, k_reads, dtype=float)
    return float((k_reads + 2.0 * np.sum((k_reads - m) * rho**m)) / k_reads**2)


def _first_key(rng: np.random.Generator) -> np.uint64:
    """The first 64-bit key a copy of ``rng`` would draw (``rng`` itself does not move)."""
    copy = np.random.Generator(type(rng.bit_generator)())
    copy.bit_generator.state = rng.bit_generator.state
    return noise_key(copy, needed=True, name="rngs['noise']")


def read_slot(time_s: float, reads_done: int, t_read_s: float) -> int:
    """The slot of the next read: the environment's time in reads, plus the reads done."""
    return int(math.floor(time_s / t_read_s)) + reads_done


@dataclasses.dataclass
class NoiseInputs:
    """What the reads derive from one device state and environment (cached by the crossbar).

    Attributes
    ----------
    amp : ndarray (2, n)
        ``q(G)``; for telegraph noise ``q / sqrt(p (1 - p))``.
    span : ndarray (2, n)
        ``ln((t + t_r) / t_r)`` of every device (1/f only, else empty).
    gvar : ndarray (n_in, n_out) float32 or None
        Per-column variance per unit v**2 of the white part; None: the fast path's own.
    levels : list
        1/f partial sums ``(block index, array (2, n))`` of the slower levels, from the
        slowest; filled and reused by the reads while this state holds.
    """

    amp: NDArray[np.float64]
    span: NDArray[np.float64]
    gvar: NDArray[np.float32] | None
    levels: list = dataclasses.field(default_factory=list)


class ReadNoise:
    """A crossbar's read-noise state: lifetime key, read clock, telegraph states.

    Parameters
    ----------
    noise : NoiseParams
    n_pairs : int
    rng : numpy.random.Generator or None
        The crossbar's ``"noise"`` stream.  The lifetime key of the correlated draws is the
        first draw of a *copy* of it, so the stream itself never moves and a chip file that
        stores its state restores the same key.  None is allowed for white noise only.
    """

    def __init__(self, noise: NoiseParams, *, n_pairs: int, rng: np.random.Generator | None) -> None:
        self.noise = noise
        if rng is None and noise.read_noise_law != "white":
            raise TypeError(
                f"rngs['noise'] must be a numpy.random.Generator for read_noise_law="
                f"{noise.read_noise_law!r}; got None."
            )
        self._key = np.uint64(0) if rng is None else _first_key(rng)
        #: Reads done so far: the clock of :func:`read_slot`.
        self.reads_done = 0
        self._rtn = np.zeros((2, n_pairs), dtype=np.int8) if noise.read_noise_law == "rtn" else None
        self._rtn_last_slot = -1

    def state(self) -> tuple[dict[str, int], NDArray[np.int8] | None]:
        """The noise clock and telegraph states, for files: ``({"reads_done", "rtn_last_slot"},
        rtn)`` with ``rtn`` the (2, n) switch states of the ``"rtn"`` law, else None."""
        clock = {"reads_done": int(self.reads_done), "rtn_last_slot": int(self._rtn_last_slot)}
        return clock, None if self._rtn is None else self._rtn.copy()

    def restore(self, clock: dict, rtn: NDArray | None) -> None:
        """Resume from :meth:`state`: later reads continue the saved noise exactly.

        Raises
        ------
        ValueError
            If the clock is not two integers (``reads_done >= 0``, ``rtn_last_slot >= -1``), or
            ``rtn`` is not what this law keeps ((2, n) of 0/1 for ``"rtn"``, None otherwise).
        """
        if not isinstance(clock, dict) or set(clock) != {"reads_done", "rtn_last_slot"}:
            raise ValueError(f"clock must have the keys reads_done and rtn_last_slot; got {clock!r:.80}.")
        reads_done = clock["reads_done"]
        last = clock["rtn_last_slot"]
        if type(reads_done) is not int or reads_done < 0 or type(last) is not int or last < -1:
            raise ValueError(
                f"clock must hold reads_done >= 0 and rtn_last_slot >= -1 (integers); got {clock!r:.80}."
            )
        if self._rtn is None:
            if rtn is not None:
                raise ValueError(f"rtn must be None for read_noise_law={self.noise.read_noise_law!r}.")
        else:
            rtn = np.asarray(rtn) if rtn is not None else None
            if rtn is None or rtn.shape != self._rtn.shape or not np.isin(rtn, (0, 1)).all():
                got = None if rtn is None else rtn.shape
                raise ValueError(f"rtn must be 0/1 switch states of shape {self._rtn.shape}; got {got}.")
            self._rtn = rtn.astype(np.int8)
        self.reads_done, self._rtn_last_slot = reads_done, last

    def _derive(self, counter: int) -> np.uint64:
        """Derived key ``counter`` of the lifetime key (a uint64: Numba returns a Python int)."""
        return np.uint64(nk.derive_key(self._key, STREAM_NOISE_KEYS, counter))

    @property
    def has_white_part(self) -> bool:
        """Whether reads draw white noise per column (white and 1/f laws, amplitude > 0)."""
        return self.noise.read_noise_rel > 0.0 and self.noise.read_noise_law != "rtn"

    def inputs(
        self,
        g_eff: NDArray,
        age_s: NDArray,
        *,
        g_prog: NDArray | None = None,
        device: DeviceModel,
        shape: tuple[int, int],
    ) -> NoiseInputs:
        """Amplitudes, 1/f spans and white variance of devices at ``g_eff`` (2, n), siemens.

        ``age_s`` (2, n) is each device's (equivalent) time since it was programmed, the 1/f
        law's ``t`` less the drift's ``t0``.  The state-dependent amplitude ``q`` is taken at
        the *programmed* conductance ``g_prog`` (2, n) when given, as aihwkit's
        ``PCMLikeNoiseModel`` does (``q_s`` from ``g_prog``, the noise scaled by the drifted
        ``|g_drift|``), else at ``g_eff``.
        """
        p = self.noise
        amp = amplitude(g_eff if g_prog is None else g_prog, p, g_max_s=device.conductance.g_max_s)
        span = np.empty((2, 0))
        gvar = None
        if p.read_noise_law == "pink":
            span = ln_span(age_s, t0_s=device.drift.t0_s, t_read_s=p.t_read_s)
            w0 = pink_weights(span, ratio=p.pink_block_ratio, n_levels=0)[0]
            gvar = ((amp * g_eff) ** 2 * w0).sum(axis=0).astype(np.float32).reshape(shape)
        elif p.read_noise_law == "rtn":
            p_up = p.rtn_tau_up_s / (p.rtn_tau_up_s + p.rtn_tau_down_s)
            amp = amp / math.sqrt(p_up * (1.0 - p_up))
        elif not is_constant(p):
            gvar = ((amp * g_eff) ** 2).sum(axis=0).astype(np.float32).reshape(shape)
        return NoiseInputs(amp=amp, span=span, gvar=gvar)

    def currents(
        self, v: NDArray, g_eff: NDArray, inputs: NoiseInputs, *, time_s: float, tile_rows: int
    ) -> NDArray[np.float64] | None:
        """Advance the clock by ``batch`` reads; correlated column currents per row tile.

        Returns None for white noise, else an array (n_row_tiles, batch, n_out), amperes: what
        the correlated fluctuations of the devices add to each tile's column currents for row
        voltages ``v`` (batch, n_in).
        """
        slot0 = read_slot(time_s, self.reads_done, self.noise.t_read_s)
        self.reads_done += v.shape[0]
        law = self.noise.read_noise_law
        if law == "white" or self.noise.read_noise_rel == 0.0:
            return None
        n_out = g_eff.shape[1] // v.shape[1]
        mu = np.zeros((-(-v.shape[1] // tile_rows), v.shape[0], n_out))
        if law == "pink":
            self._pink(v, g_eff, inputs, slot0=slot0, tile_rows=tile_rows, mu=mu)
        else:
            self._telegraph(v, g_eff, inputs, slot0=slot0, tile_rows=tile_rows, mu=mu)
        return mu

    def _pink(self, v, g_eff, inputs: NoiseInputs, *, slot0: int, tile_rows: int, mu: NDArray) -> None:
        """Add the 1/f components ``k >= 1`` block by block of the fastest one."""
        ratio = self.noise.pink_block_ratio
        n_levels = pink_levels(float(inputs.span.max(initial=0.0)), ratio)
        if n_levels == 0:
            return
        lr = math.log(ratio)
        batch, n_in = v.shape
        pert = np.empty(g_eff.shape[1], dtype=v.dtype)
        b = 0
        while b < batch:
            slot = slot0 + b
            stop = min(batch, b + ratio - slot % ratio)
            slower = self._pink_slower(inputs, slot, n_levels)
            key = self._derive((1 << _LEVEL_SHIFT) | (slot // ratio))
            nk.pink_pairs(
                key=key,
                amp=inputs.amp,
                ln_lo=lr,
                ln_width=lr,
                ln_span=inputs.span,
                partial_in=slower,
                g_eff=g_eff,
                p_out=pert,
            )
            p2 = pert.reshape(n_in, -1)
            for t, r0 in enumerate(range(0, n_in, tile_rows)):
                r1 = min(n_in, r0 + tile_rows)
                mu[t, b:stop] += v[b:stop, r0:r1] @ p2[r0:r1]
            b = stop

    def _pink_slower(self, inputs: NoiseInputs, slot: int, n_levels: int) -> NDArray:
        """Relative sum of the 1/f levels 2..n at ``slot``, recomputed from the first changed level."""
        ratio = self.noise.pink_block_ratio
        lr = math.log(ratio)
        levels = inputs.levels
        partial = np.empty((2, 0))
        for depth, k in enumerate(range(n_levels, 1, -1)):
            block = slot // ratio**k
            if depth < len(levels) and levels[depth][0] == block:
                partial = levels[depth][1]
                continue
            del levels[depth:]
            out = np.empty_like(inputs.amp)
            key = self._derive((k << _LEVEL_SHIFT) | block)
            nk.pink_partial(
                key=key,
                amp=inputs.amp,
                ln_span=inputs.span,
                ln_lo=k * lr,
                ln_width=lr,
                partial_in=partial,
                partial_out=out,
            )
            levels.append((block, out))
            partial = out
        return partial

    def _telegraph(self, v, g_eff, inputs: NoiseInputs, *, slot0: int, tile_rows: int, mu: NDArray) -> None:
        """Telegraph states over the gap since the last read, then their switching in the call."""
        p = self.noise
        tau_c = 1.0 / (1.0 / p.rtn_tau_up_s + 1.0 / p.rtn_tau_down_s)
        last = self._rtn_last_slot
        decay = 0.0 if last < 0 else math.exp(-(slot0 - last) * p.t_read_s / tau_c)
        key = self._derive((_RTN_TAG << _LEVEL_SHIFT) | slot0)
        pert = np.empty(g_eff.shape[1], dtype=v.dtype)
        nk.rtn_start(
            key=key,
            state=self._rtn,
            gap_decay=decay,
            p_up=p.rtn_tau_up_s / (p.rtn_tau_up_s + p.rtn_tau_down_s),
            scale=inputs.amp,
            g_eff=g_eff,
            p_out=pert,
        )
        batch, n_in = v.shape
        p2 = pert.reshape(n_in, -1)
        for t, r0 in enumerate(range(0, n_in, tile_rows)):
            r1 = min(n_in, r0 + tile_rows)
            mu[t] += v[:, r0:r1] @ p2[r0:r1]
        nk.rtn_flips(
            key=key,
            state=self._rtn,
            v=v,
            scale=inputs.amp,
            g_eff=g_eff,
            tau_up=p.rtn_tau_up_s / p.t_read_s,
            tau_down=p.rtn_tau_down_s / p.t_read_s,
            n_cols=p2.shape[1],
            tile_rows=tile_rows,
            mu_out=mu,
        )
        self._rtn_last_slot = slot0 + batch - 1
