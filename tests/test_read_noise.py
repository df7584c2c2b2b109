"""Read noise in read time: each law's variance of the K-read mean, its naive twins, seeds."""

from __future__ import annotations

import hashlib
import math

import numba
import numpy as np
import pytest

import neuromorph as nm
from neuromorph._rng import STREAM_NOISE_KEYS, STREAM_PINK_NOISE, noise_key
from neuromorph.hardware import _kernels, noise
from neuromorph.hardware import _noise_kernels as nk
from neuromorph.hardware.devices import DriftParams, NoiseParams, VariationParams
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery

IDEAL_IO = Periphery(dac=DacParams(bits=None), adc=AdcParams(bits=None, noise_v=0.0))
#: Columns per trial (2 devices each): the variance of a K-mean is estimated over them, with a
#: relative sampling std of about sqrt(2 / 4096) = 2.2 %, well under the 10 % tolerance.
N_COLS = 4096
K_MAX = 4096
AGE_S = 3600.0
G_PLUS, G_MINUS = 50e-6, 10e-6
#: aihwkit's PCM amplitude, written out here independently of noise.amplitude.
PCM_STATE = NoiseParams(read_noise_rel=0.0088, read_noise_exponent=0.65, read_noise_max_rel=0.2)
LAWS = {
    "white_pcm_state": PCM_STATE,
    "pink_pcm_aihwkit": noise.PCM_1F_READ_NOISE,
    "pink_ratio4": NoiseParams(read_noise_rel=0.01, read_noise_law="pink", pink_block_ratio=4),
    "rtn": NoiseParams(read_noise_rel=0.01, read_noise_law="rtn", rtn_tau_up_s=2e-6, rtn_tau_down_s=5e-6),
}


def _q(g: float, p: NoiseParams) -> float:
    """q(G) of NoiseParams' docstring, by hand."""
    x = max((g / nm.IDEAL.conductance.g_max_s) ** p.read_noise_exponent, 1e-3)
    q = p.read_noise_rel / x
    return q if p.read_noise_max_rel is None else min(q, p.read_noise_max_rel)


def _law(p: NoiseParams, k: int, *, slot0: int) -> float:
    """Var(mean of k reads) / (q G)**2 by the module's closed forms."""
    if p.read_noise_law == "white":
        return 1.0 / k
    if p.read_noise_law == "pink":
        span = math.log((AGE_S + nm.IDEAL.drift.t0_s + p.t_read_s) / p.t_read_s)
        return noise.pink_mean_variance(k, span=span, ratio=p.pink_block_ratio, slot0=slot0)
    return noise.rtn_mean_variance(
        k, t_read_s=p.t_read_s, tau_up_s=p.rtn_tau_up_s, tau_down_s=p.rtn_tau_down_s
    )


def _programmed(p: NoiseParams, *, seed: int, n_in: int = 1, n_out: int = N_COLS, **kw) -> nm.Crossbar:
    env = nm.Environment()
    xb = nm.Crossbar.fabricate(
        n_in, n_out, rng=np.random.default_rng(seed), device=nm.IDEAL.with_(noise=p), environment=env, **kw
    )
    g = np.empty((2, n_in, n_out))
    g[0], g[1] = G_PLUS, G_MINUS
    xb.set_programmed(g)
    env.advance(AGE_S)
    return xb


def _reads(xb: nm.Crossbar, calls: int) -> np.ndarray:
    x = np.ones((K_MAX // calls, xb.n_in))
    return np.vstack([xb.read(x) for _ in range(calls)])


@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize(("seed", "calls"), [(0, 1), (1, 4)])
def test_variance_of_the_k_read_mean_follows_the_law(name, seed, calls):
    """4096 independent columns, K = 1, 4, ..., 4096 back-to-back reads (in 1 or 4 calls)."""
    p = LAWS[name]
    xb = _programmed(p, seed=seed, periphery=IDEAL_IO)
    slot0 = noise.read_slot(xb.environment.time_s, 0, p.t_read_s)
    y = _reads(xb, calls)
    w = (G_PLUS - G_MINUS) / xb.g_unit
    per_read = ((_q(G_PLUS, p) * G_PLUS) ** 2 + (_q(G_MINUS, p) * G_MINUS) ** 2) / xb.g_unit**2
    ratios = {}
    for k in 4 ** np.arange(7):
        measured = np.mean((y[:k].mean(axis=0) - w) ** 2)
        ratios[int(k)] = measured / (per_read * _law(p, int(k), slot0=slot0))
    bad = {k: r for k, r in ratios.items() if abs(r - 1.0) > 0.1}
    assert not bad, f"{name} seed={seed} calls={calls}: measured/law off by > 10 % at {bad}"


def test_correlated_laws_do_not_average_away():
    """The point of the laws: 4096 reads leave most of the 1/f variance, and RTN beats 1/K."""
    span = math.log((AGE_S + 20.0 + 250e-9) / 250e-9)
    pink = [noise.pink_mean_variance(k, span=span, ratio=10) for k in (1, 4096)]
    assert pink[1] / pink[0] > 0.5
    rtn = noise.rtn_mean_variance(4096, t_read_s=1e-7, tau_up_s=2e-6, tau_down_s=5e-6)
    assert rtn * 4096 > 10.0
    assert noise.pink_mean_variance(1, span=span, ratio=10) == pytest.approx(span - math.log(2.0))


@pytest.mark.parametrize("slot0", [0, 7, 12345])
def test_law_closed_forms_against_the_covariance_sum(slot0):
    """Naive twins: sum the full K x K covariance of each construction."""
    span, ratio = 9.3, 3
    for k in (1, 5, 40, 100):
        slots = slot0 + np.arange(k)
        cov = np.eye(k) * noise.pink_weights(span, ratio=ratio, n_levels=0)[0]
        w = noise.pink_weights(span, ratio=ratio, n_levels=noise.pink_levels(span, ratio))
        for lev in range(1, w.shape[0]):
            blocks = slots // ratio**lev
            cov += w[lev] * (blocks[:, None] == blocks[None, :])
        assert noise.pink_mean_variance(k, span=span, ratio=ratio, slot0=slot0) == pytest.approx(
            cov.sum() / k**2
        )
    rho = math.exp(-1e-7 * (1 / 3e-7 + 1 / 5e-7))
    for k in (1, 7, 64):
        lag = np.abs(np.arange(k)[:, None] - np.arange(k)[None, :])
        naive = (rho**lag).sum() / k**2
        assert noise.rtn_mean_variance(k, t_read_s=1e-7, tau_up_s=3e-7, tau_down_s=5e-7) == pytest.approx(
            naive
        )


def test_pink_weights_sum_to_aihwkits_law():
    t_r = 250e-9
    for t in (0.0, 1e-6, 20.0, 86400.0 * 365):
        span = float(noise.ln_span(t, t0_s=20.0, t_read_s=t_r))
        w = noise.pink_weights(span, ratio=10, n_levels=noise.pink_levels(span, 10))
        assert w.sum() == pytest.approx(math.log((t + 20.0 + t_r) / (2 * t_r)))


def _naive_pink_currents(key, p, g_eff, span, v, slot0, tile_rows):
    """Per read, per device: sum the 1/f components k >= 1 from their counter-based draws."""
    lr = math.log(p.pink_block_ratio)
    n_levels = noise.pink_levels(float(span.max()), p.pink_block_ratio)
    amp = noise.amplitude(g_eff, p, g_max_s=nm.IDEAL.conductance.g_max_s)
    batch, n_in = v.shape
    n_out = g_eff.shape[1] // n_in
    mu = np.zeros((-(-n_in // tile_rows), batch, n_out))
    for b in range(batch):
        for pair in range(n_in * n_out):
            i, j = divmod(pair, n_out)
            dg = 0.0
            for s in range(2):
                r = 0.0
                for k in range(1, n_levels + 1):
                    block = (slot0 + b) // p.pink_block_ratio**k
                    key_k = np.uint64(nk.derive_key(key, STREAM_NOISE_KEYS, (k << 50) | block))
                    w = min(max(span[s, pair] - k * lr, 0.0), lr)
                    r += amp[s, pair] * math.sqrt(w) * _kernels.normal(key_k, STREAM_PINK_NOISE, 2 * pair + s)
                dg += g_eff[s, pair] * r * (1 if s == 0 else -1)
            mu[i // tile_rows, b, j] += v[b, i] * dg
    return mu


def test_pink_currents_match_their_naive_twin_whatever_the_calls():
    p = NoiseParams(read_noise_rel=0.02, read_noise_law="pink", pink_block_ratio=3)
    n_in, n_out, tile_rows = 5, 3, 2
    rng = np.random.default_rng(4)
    g_eff = rng.uniform(1e-6, 1e-4, (2, n_in * n_out))
    age = rng.uniform(0.0, 1e-4, (2, n_in * n_out))
    v = rng.uniform(-0.2, 0.2, (23, n_in))
    rn = noise.ReadNoise(p, n_pairs=n_in * n_out, rng=np.random.default_rng(9))
    device = nm.IDEAL.with_(noise=p, drift=DriftParams(t0_s=1e-6))
    inputs = rn.inputs(g_eff, age, device=device, shape=(n_in, n_out))
    whole = rn.currents(v, g_eff, inputs, time_s=5e-6, tile_rows=tile_rows)
    key = noise_key(np.random.default_rng(9), needed=True, name="rng")  # the stream's first key
    slot0 = noise.read_slot(5e-6, 0, p.t_read_s)
    naive = _naive_pink_currents(key, p, g_eff, inputs.span, v, slot0, tile_rows)
    np.testing.assert_allclose(whole, naive, rtol=1e-12, atol=1e-20)
    # The same reads in three calls (a fresh state, the same seed) give the same bits.
    rn2 = noise.ReadNoise(p, n_pairs=n_in * n_out, rng=np.random.default_rng(9))
    inputs2 = rn2.inputs(g_eff, age, device=device, shape=(n_in, n_out))
    parts = [
        rn2.currents(v[a:b], g_eff, inputs2, time_s=5e-6, tile_rows=2) for a, b in ((0, 4), (4, 17), (17, 23))
    ]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


@pytest.mark.parametrize("law", ["pink", "rtn"])
def test_reads_reproduce_from_a_seed_on_one_and_two_threads(law):
    p = NoiseParams(read_noise_rel=0.02, read_noise_law=law)
    x = np.random.default_rng(2).uniform(-1, 1, (300, 40))
    original = numba.get_num_threads()
    results = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            xb = _programmed(p, seed=5, n_in=40, n_out=12, tile_shape=(16, 8))
            results.append(np.vstack([xb.read(x), xb.read(x[:7]), xb.read(x[0])[None]]))
    finally:
        numba.set_num_threads(original)
    np.testing.assert_array_equal(results[0], results[1])
    other = _programmed(p, seed=6, n_in=40, n_out=12, tile_shape=(16, 8)).read(x)
    assert not np.array_equal(other, results[0][:300])


def test_white_noise_reads_are_unchanged():
    """Fingerprint of white-noise reads computed at the commit before the read-noise laws."""
    device = nm.RRAM_HFO2.with_(variation=VariationParams(), drift=DriftParams())
    per = Periphery(dac=DacParams(bits=8), adc=AdcParams(bits=8, noise_v=1e-3))
    ys = []
    for periphery in (per, IDEAL_IO):
        xb = nm.Crossbar.fabricate(
            20, 7, rng=np.random.default_rng(123), device=device, periphery=periphery, tile_shape=(8, 4)
        )
        xb.set_programmed(np.random.default_rng(7).uniform(2e-6, 9e-5, (2, 20, 7)))
        x = np.random.default_rng(8).uniform(-1, 1, (5, 20))
        ys += [xb.read(x), xb.read(x[0]), xb.read_metered(x, t_read_s=1e-7).y]
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(y).tobytes() for y in ys)).hexdigest()
    assert digest == "44420419c72626727264bcf051c625ad89e1695bca9c54a6f6af42d18e496e0c"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"read_noise_law": "brown"}, "read_noise_law must be one of"),
        ({"read_noise_exponent": -0.1}, "read_noise_exponent must be >= 0"),
        ({"read_noise_max_rel": 0.0}, "read_noise_max_rel must be > 0"),
        ({"pink_block_ratio": 1}, "pink_block_ratio must be"),
        ({"rtn_tau_up_s": 0.0}, "rtn_tau_up_s must be > 0"),
        ({"rtn_tau_down_s": -1.0}, "rtn_tau_down_s must be > 0"),
        ({"t_read_s": 0.0}, "t_read_s must be > 0"),
    ],
)
def test_noise_params_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NoiseParams(**kwargs)


def test_correlated_noise_needs_its_stream():
    with pytest.raises(TypeError, match=r"rngs\['noise'\] must be a numpy.random.Generator"):
        noise.ReadNoise(noise.PCM_1F_READ_NOISE, n_pairs=4, rng=None)
    assert noise.ReadNoise(NoiseParams(), n_pairs=4, rng=None).reads_done == 0


@pytest.mark.parametrize("law", ["pink", "rtn"])
def test_a_saved_chip_continues_its_correlated_noise(law, tmp_path):
    """Reads after save/load equal the reads the chip would have made had it stayed."""
    from neuromorph.chip import Chip, ChipDesign

    device = nm.IDEAL.with_(noise=NoiseParams(read_noise_rel=0.05, read_noise_law=law))
    design = ChipDesign(layer_sizes=(6, 5), device=device)
    chip = Chip.fabricate(design, seed=3)
    x = np.random.default_rng(4).uniform(0, 1, (40, 6))
    chip.ports().run(x)  # advance the noise clock (and the telegraph switches)
    path = chip.save(tmp_path / "chip.npz")
    stayed = chip.ports().run(x)[-1]
    loaded = Chip.load(path)
    np.testing.assert_array_equal(loaded.ports().run(x)[-1], stayed)
    clock, _ = loaded.crossbars[0].read_noise.state()
    assert clock["reads_done"] == 80


def test_a_forged_noise_clock_is_refused():
    xb = _programmed(NoiseParams(read_noise_rel=0.01, read_noise_law="rtn"), seed=1, n_out=4)
    clock, rtn = xb.read_noise.state()
    with pytest.raises(ValueError, match="reads_done >= 0"):
        xb.read_noise.restore({**clock, "reads_done": -1}, rtn)
    with pytest.raises(ValueError, match="rtn must be 0/1"):
        xb.read_noise.restore(clock, np.full_like(rtn, 2))
    white = _programmed(NoiseParams(read_noise_rel=0.01), seed=1, n_out=4)
    with pytest.raises(ValueError, match="rtn must be None"):
        white.read_noise.restore(clock, rtn)
