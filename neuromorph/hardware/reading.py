"""What a crossbar read computes from a device state (layer 1).

:func:`effective_conductances` applies drift and the temperature law to a
:class:`~neuromorph.hardware.fabrication.DeviceState`; :func:`convert_tiles` turns row
voltages into digitised outputs tile by tile (column currents, read noise, TIA, ADC);
:func:`convert_at_adcs` is the test mux that drives reference voltages straight into the
ADCs; :class:`MeteredRead` is what :meth:`~neuromorph.hardware.crossbar.Crossbar.read_metered`
returns.  The :class:`~neuromorph.hardware.crossbar.Crossbar` holds the state and the caches
and calls these; apart from :func:`batch_inputs`, which checks a read's inputs, they do not
validate.

With a :class:`~neuromorph.hardware.converters.ConverterState` (a die with converter
mismatch) the DACs and ADCs are each die's own (:mod:`neuromorph.hardware._converter_kernels`);
without one (None) the nominal kernels run, untouched: the same bits and speed as before.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as check
from neuromorph._numba import one_blas_thread
from neuromorph._rng import STREAM_READ_NOISE, STREAM_REFERENCE_NOISE
from neuromorph.hardware import _converter_kernels, _kernels
from neuromorph.hardware.converters import ConverterState
from neuromorph.hardware.devices import DeviceModel
from neuromorph.hardware.fabrication import DeviceState
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery, max_code
from neuromorph.hardware.wires import WiredArray

#: Products with at most this many multiply-adds run BLAS on one thread.  Measured on 2 busy
#: cores (load ~9): a (113, 75) @ (75, 300) product took 8.4 ms on average with OpenBLAS's two
#: threads (its worker waits for a core), 0.46 ms on one; designed extraction, whose reads
#: are this small, slowed 20-fold.  The bound is the wired tiles' (2**22).
_ONE_THREAD_PRODUCT = 1 << 22

#: Conversions per read up to which the ADCs and the mismatched DACs run on the calling thread
#: (the nominal DAC always does).  A parallel launch of the workqueue layer costs ~70 us even
#: with nothing to do, and right after the read's own BLAS products (whose OpenBLAS worker
#: spins on the second core for ~0.1 s) Numba's second thread rarely gets a core in time.
#: Measured on 2 cores, interleaved with a float32 ``x @ W`` as the benchmark does: the
#: 256x256, batch-1024 read (262k conversions) 3.13/3.25/2.59 ms serially against
#: 3.38/3.39/2.78 ms in parallel (three blocks of 200); the in-place FF epoch (74-500-500)
#: 0.39/0.43 s with this bound against 0.42/0.46 s with 65k.
_SERIAL_ADC = 1 << 19

#: Bytes of scratch arrays a thread keeps from one read for the next (:func:`_scratch`).
_SCRATCH_MAX_BYTES = 1 << 25
_SCRATCH = threading.local()

#: Widest ADC whose products run in float32: its rounding (~6e-8 relative) stays far below
#: one LSB of a 16-bit converter.
_FLOAT32_MAX_ADC_BITS = 16


class MeteredRead(NamedTuple):
    """Outputs of a read, and the energy the array dissipated while it read them.

    Attributes
    ----------
    y : ndarray of shape (n_out,) or (batch, n_out)
        Digitised outputs in weight units, as :meth:`Crossbar.read` returns them.
    energy_j : float
        ``t_read_s * sum over reads and rows of v_row**2 * G_row``, joules: the static
        dissipation of the array (both devices of every pair) during the reads.
    """

    y: NDArray[np.float64]
    energy_j: float


def batch_inputs(x: ArrayLike, shape: tuple[int, int], *, finite: bool = True) -> tuple[NDArray, bool]:
    """``x`` as a (batch, n_in) float array for a crossbar of ``shape``, and whether it was one
    vector; ValueError/TypeError naming ``x`` otherwise.  ``finite=False`` leaves the NaN/inf
    check of a batch to the caller (a one-product read folds it into its full-scale pass)."""
    x = check.array("x", x, ndim=(1, 2), finite=False)
    if finite or x.ndim == 1:  # a vector is checked here, so an error names its own index
        x = check.array("x", x)
    single = x.ndim == 1
    x2 = x.reshape(1, -1) if single else x
    if x2.shape[1] != shape[0]:
        raise ValueError(
            f"x must have {shape[0]} inputs (last axis) for this crossbar of shape {shape}; "
            f"got shape {x.shape}."
        )
    return x2, single


def product_dtype(adc: AdcParams) -> type:
    """Precision of a read's products: float32 behind a quantising ADC of at most
    :data:`_FLOAT32_MAX_ADC_BITS` bits, float64 for an ideal ADC (ideal reads reproduce
    ``x @ W`` to 1e-12)."""
    fast = adc.bits is not None and adc.bits <= _FLOAT32_MAX_ADC_BITS
    return np.float32 if fast else np.float64


def effective_conductances(
    state: DeviceState, device: DeviceModel, *, temperature_k: float, tau_now: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Conductances as a read sees them at ``temperature_k`` (K) and ``tau_now`` (s).

    Returns
    -------
    g_eff : ndarray of shape (2, n), siemens
        Drifted, then scaled by the temperature law.
    gdiff : ndarray of shape (n,), siemens
        ``G+ - G-`` of every pair.
    gvar : ndarray of shape (n,), siemens**2
        ``read_noise_rel**2 (G+**2 + G-**2)``: the read-noise variance per unit v**2.
    """
    n = state.n_pairs
    g_eff = np.empty((2, n))
    gdiff = np.empty(n)
    gvar = np.empty(n)
    _kernels.effective_conductance(
        g_prog=state.g_prog,
        tau_prog=state.tau_prog,
        nu=state.nu,
        tau_now=tau_now,
        ret=_kernels.retention_law(device),
        temp=_kernels.temperature_law(device, temperature_k),
        read_rel=device.noise.read_noise_rel,
        g_eff_out=g_eff,
        gdiff_out=gdiff,
        gvar_out=gvar,
    )
    return g_eff, gdiff, gvar


def dac_voltages(
    x: NDArray, dac: DacParams, *, dtype: type, squares: bool, converters: ConverterState | None = None
) -> tuple[NDArray, NDArray[np.float32]]:
    """Row voltages ``v`` (``dtype``) of DAC inputs ``x`` (batch, n_in), and ``v**2`` in float32.

    ``v**2`` (size 0 unless ``squares``) feeds the white read noise's variance product; float32
    suffices there, it only scales noise.  ``converters``: each row's own DAC levels (an ideal
    DAC, ``bits=None``, has none and stays ideal).  A NaN or inf in ``x`` raises ValueError
    naming ``x`` and its index (the nominal DAC finds it in its own pass).
    """
    v = _scratch("v", x.shape, dtype)
    v2 = _scratch("v2", x.shape if squares else (0,), np.float32)
    if converters is not None and dac.bits is not None:
        args = {
            "x": x.reshape(-1),
            "n_rows": x.shape[1],
            "scale": 1.0 / dac.input_full_scale,
            "levels": max_code(dac.bits),
            "v_max": dac.v_max_v,
            "table": converters.dac_table,
            "v_out": v.reshape(-1),
            "v2_out": v2.reshape(-1),
        }
        x = check.array("x", x)  # finite: a NaN would index the level table
        if x.size <= _SERIAL_ADC:  # small: on the calling thread, as the ADCs (same bits)
            _converter_kernels.dac_table_rows(**args, row0=0, row1=x.shape[0], codes=np.empty(x.shape[1]))
        else:
            _converter_kernels.dac_convert_table(**args)
        return v, v2
    finite = _converter_kernels.dac_convert(
        x=x.reshape(-1),
        scale=1.0 / dac.input_full_scale,
        v_max=dac.v_max_v,
        levels=max_code(dac.bits),
        v_out=v.reshape(-1),
        v2_out=v2.reshape(-1),
    )
    if not finite:
        check.array("x", x)  # raises, naming the first NaN or inf
    return v, v2


def convert_tiles(
    v: NDArray,
    v2: NDArray[np.float32],
    gdiff: NDArray,
    gvar: NDArray[np.float32],
    wired: dict[tuple[int, int], WiredArray] | None,
    *,
    tile_rows: int,
    adc: AdcParams,
    gain: float,
    out_scale: float,
    key: np.uint64,
    mu_noise: NDArray[np.float64] | None = None,
    converters: ConverterState | None = None,
) -> NDArray[np.float64]:
    """Digitised outputs (batch, n_out) of row voltages ``v`` (batch, n_in), tile by tile.

    Each row tile's column currents (``v @ gdiff``, or the wired tiles' exact currents), plus
    the correlated read-noise currents ``mu_noise[tile]`` (n_row_tiles, batch, n_out) if
    given, get white read noise of variance ``v2 @ gvar`` (``v2`` of size 0: none), the TIA
    ``gain`` and the ``adc`` (with ``converters``: row tile ``t``'s own SAR ADCs, one per
    column); the partial sums are added in weight units (``out_scale`` per volt).  One normal
    per conversion from ``STREAM_READ_NOISE``, counted across tiles.
    """
    batch, n_in = v.shape
    n_out = gdiff.shape[1]
    if _is_exact(n_in, tile_rows, wired, mu_noise, v2, adc, converters):
        out = _product(v, gdiff, True, 0, n_in)
        _converter_kernels.scale_in_place(out.reshape(-1), gain, out_scale)
        return out
    out = np.empty((batch, n_out))  # the first row tile writes it (accumulate=False)
    none = np.empty((0, 0), dtype=np.float32)
    for t, r0 in enumerate(range(0, n_in, tile_rows)):
        r1 = min(n_in, r0 + tile_rows)
        whole = r0 == 0 and r1 == n_in
        if wired is not None:
            mu = np.empty((batch, n_out))
            for (tr0, c0), wa in wired.items():
                if tr0 == r0:
                    cur = wa.currents(v[:, r0:r1])
                    mu[:, c0 : c0 + cur.shape[1] // 2] = cur[:, 0::2] - cur[:, 1::2]
        else:
            mu = _product(v, gdiff, whole, r0, r1, _scratch("mu", (batch, n_out), v.dtype))
        if mu_noise is not None:
            mu = mu + mu_noise[t]
        var = none
        if v2.size:
            var = _product(v2, gvar, whole, r0, r1, _scratch("var", (batch, n_out), v2.dtype))
        if converters is not None:
            base = t * batch * n_out
            _sar(mu, var, key, STREAM_READ_NOISE, base, gain, adc, out_scale, converters, t, out, t > 0)
            continue
        _adc(
            mu=mu,
            var=var,
            key=key,
            stream=STREAM_READ_NOISE,
            counter_base=t * batch * n_out,
            gain=gain,
            noise_v=adc.noise_v,
            lsb=adc.lsb_v,
            max_code=float(max_code(adc.bits)),
            out_scale=out_scale,
            out=out,
            accumulate=t > 0,
        )
    return out


def _product(v: NDArray, g: NDArray, whole: bool, r0: int, r1: int, out: NDArray | None = None) -> NDArray:
    """``v[:, r0:r1] @ g[r0:r1]`` (all rows if ``whole``), into ``out`` if given (the same
    BLAS call), a small one on one BLAS thread."""
    a, b = (v, g) if whole else (v[:, r0:r1], g[r0:r1])
    if a.shape[0] * b.size > _ONE_THREAD_PRODUCT:
        return np.matmul(a, b, out=out)
    with one_blas_thread():
        return np.matmul(a, b, out=out)


def _scratch(slot: str, shape: tuple[int, ...], dtype: type) -> NDArray:
    """An uninitialised array for a read's intermediate ``slot`` (row voltages and their squares,
    a tile's mean currents and their variances), kept by this thread for its next read of
    the same shape (a chip's layers each have theirs).

    Why: a 256x256 read of a batch of 1024 freed 4 MB of intermediates at once, which glibc
    returned to the system (its heap trim threshold), so every read faulted the pages in
    again: ~1000-1250 minor faults per read (``getrusage``), ~1.9 us each on this VM; reads
    interleaved in one process took 5.1 ms with fresh intermediates against 2.8 ms with
    these (none faults).  Each thread keeps at most :data:`_SCRATCH_MAX_BYTES` in all,
    the least recently used dropped first; nothing holds on to them after a read returns
    (its outputs are never scratch).
    """
    pool = _SCRATCH.__dict__.setdefault("pool", {})
    key = (slot, tuple(shape), np.dtype(dtype))
    a = pool.pop(key, None)
    if a is None:
        a = np.empty(shape, dtype=dtype)
    pool[key] = a  # most recently used last
    while sum(b.nbytes for b in pool.values()) > _SCRATCH_MAX_BYTES:
        del pool[next(iter(pool))]
    return a


def _adc(**kernel_args) -> None:
    """The nominal ADCs: :func:`_converter_kernels.adc_accumulate`, or ``adc_rows`` on the
    calling thread for at most :data:`_SERIAL_ADC` conversions (the same bits)."""
    mu = kernel_args["mu"]
    if mu.size <= _SERIAL_ADC:
        _converter_kernels.adc_rows(**kernel_args, row0=0, row1=mu.shape[0])
    else:
        _converter_kernels.adc_accumulate(**kernel_args)


def one_product(
    n_in: int,
    tile_rows: int,
    wires: object,
    device: DeviceModel,
    periphery: Periphery,
    converters: ConverterState | None,
) -> bool:
    """Whether every read of a crossbar is one linear map of its inputs ``x``: one row tile,
    no wires, no read noise of any law, the nominal converters, an ideal DAC and an ideal,
    noiseless ADC.  Then :func:`exact_read` computes it as ``x @ M`` with
    ``M = exact_matrix(...)``: one product and nothing else, as cheap as a read can be."""
    dac, adc = periphery.dac, periphery.adc
    ideal_converters = converters is None and dac.bits is None and adc.bits is None and adc.noise_v == 0.0
    silent = device.noise.read_noise_rel == 0.0
    return ideal_converters and silent and wires is None and n_in <= tile_rows


def exact_matrix(
    gdiff: NDArray[np.float64], dac: DacParams, gain_ohm: float, g_unit: float
) -> NDArray[np.float64]:
    """The map of a one-product read (:func:`one_product`): ``gdiff`` (n_in, n_out) times
    the volts per DAC unit, the TIA gain and the output units per volt, as one matrix.

    It equals the general path's ``out_scale * (gain * ((x v_max / ifs) @ gdiff))`` up to
    rounding (the factors are applied to the matrix once, not to every input and output).
    """
    volts_per_unit = dac.v_max_v / dac.input_full_scale
    scale = output_per_volt(dac, gain_ohm=gain_ohm, g_unit=g_unit) * (gain_ohm * volts_per_unit)
    return gdiff * scale


def exact_read(
    x: NDArray[np.float64], matrix: NDArray[np.float64], dac: DacParams
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """A one-product read: outputs ``x @ matrix`` and the row voltages, or None when some
    input lies beyond the DAC's full scale (the general path clips it) or is NaN or inf (the
    general path refuses it: one pass checks both).

    The row voltages are a lazy view: ``x`` times a scalar is computed only when a caller
    (the energy meter) asks, by :func:`array_energy_j` accepting ``(x, volts_per_unit)``.
    """
    if not _converter_kernels.within(x.reshape(-1), dac.input_full_scale):
        return None
    return x @ matrix, ScaledInputs(x, dac.v_max_v / dac.input_full_scale)


class ScaledInputs(NamedTuple):
    """Row voltages ``x * volts_per_unit`` of a one-product read, not yet multiplied out."""

    x: NDArray[np.float64]
    volts_per_unit: float


def _is_exact(n_in, tile_rows, wired, mu_noise, v2, adc, converters) -> bool:
    """Whether a read is one linear map: one row tile, no wires, no read noise, the nominal
    converters, an ideal noiseless ADC.  Then the outputs are ``out_scale * (gain * v @ gdiff)``
    with the bits of the general path, at the cost of the product and one pass."""
    linear = wired is None and mu_noise is None and v2.size == 0 and converters is None
    return linear and n_in <= tile_rows and adc.bits is None and adc.noise_v == 0.0


def _sar(mu, var, key, stream, counter_base, gain, adc, out_scale, converters, tile, out, accumulate) -> None:
    """Row tile ``tile``'s mismatched SAR ADCs on currents ``mu``, accumulated into ``out`` (or
    written, ``accumulate=False``), on the calling thread for at most :data:`_SERIAL_ADC`
    conversions (the same bits)."""
    args = {
        "mu": mu,
        "var": var,
        "key": key,
        "stream": stream,
        "counter_base": counter_base,
        "gain": gain,
        "noise_v": adc.noise_v,
        "lsb": adc.lsb_v,
        "out_scale": out_scale,
        "adc_gain": converters.adc_gain[tile],
        "adc_offset_v": converters.adc_offset_v[tile],
        "weights": converters.adc_weights_by_bit[tile],
        "out": out,
        "accumulate": accumulate,
    }
    if mu.size <= _SERIAL_ADC:
        _converter_kernels.sar_rows(**args, row0=0, row1=mu.shape[0])
    else:
        _converter_kernels.sar_accumulate(**args)


def convert_at_adcs(
    v: NDArray[np.float64],
    adc: AdcParams,
    converters: ConverterState | None,
    n_row_tiles: int,
    key: np.uint64,
) -> NDArray[np.float64]:
    """The test mux: volts ``v`` (batch, n_out) into column ``j``'s ADC of every row tile.

    No array and no TIA: each ADC converts ``v[:, j]`` with its own input noise (one normal
    per conversion from ``STREAM_REFERENCE_NOISE``), gain, offset and SAR (``converters``;
    None: the nominal ADC).  Returns the quantised volts (code times LSB), shape
    (batch, n_row_tiles, n_out).
    """
    batch, n_out = v.shape
    out = np.empty((n_row_tiles, batch, n_out))  # each tile's ADCs write their own slice
    none = np.empty((0, 0), dtype=np.float32)
    for t in range(n_row_tiles):
        base = t * batch * n_out
        if converters is not None:
            _sar(v, none, key, STREAM_REFERENCE_NOISE, base, 1.0, adc, 1.0, converters, t, out[t], False)
            continue
        _adc(
            mu=v,
            var=none,
            key=key,
            stream=STREAM_REFERENCE_NOISE,
            counter_base=base,
            gain=1.0,
            noise_v=adc.noise_v,
            lsb=adc.lsb_v,
            max_code=float(max_code(adc.bits)),
            out_scale=1.0,
            out=out[t],
            accumulate=False,
        )
    return np.ascontiguousarray(out.transpose(1, 0, 2))


def output_per_volt(dac: DacParams, *, gain_ohm: float, g_unit: float) -> float:
    """Output (weight units) per volt at an ADC's input: ``1 / (gain (v_max / ifs) g_unit)``.

    A column current ``x @ W (v_max / ifs) g_unit`` becomes ``gain`` times that in volts.
    """
    return 1.0 / (gain_ohm * (dac.v_max_v / dac.input_full_scale) * g_unit)


def array_energy_j(v: NDArray, row_conductance_s: NDArray[np.float64], *, t_read_s: float) -> float:
    """Energy the array dissipates while row voltages ``v`` (batch, n_in) are held, joules.

    ``t_read_s * sum_b sum_i v_bi**2 G_row_i`` with ``G_row_i`` the row's total conductance.
    """
    if isinstance(v, ScaledInputs):  # a one-product read's voltages, not multiplied out
        row_v2 = np.einsum("bi,bi->i", v.x, v.x, dtype=np.float64) * v.volts_per_unit**2
    else:
        row_v2 = np.einsum("bi,bi->i", v, v, dtype=np.float64)
    return t_read_s * float(row_v2 @ row_conductance_s)
