"""A chip at real scale: 1, 8 and 64 cores of 256x256 tiles, read, FF epoch and memory.

IBM's HERMES chip has 64 analog cores of 256x256 unit cells (Le Gallo et al., Nature
Electronics 6, 680 (2023)); NeuRRAM has 48 (Wan et al., Nature 608, 504 (2022)).  Here a
core is one tile of ``ChipDesign.tile_shape = (256, 256)``: 256 input rows (the bias row
included) by 256 weight columns, each a differential pair (512 physical columns).  Designs
that fill 1, 8 and 64 cores exactly:

* 1 core: layers ``(255, 256)`` (one 256x256 weight matrix);
* 8 cores: ``(511, 512, 512)`` (two layers of 2x2 tiles);
* 64 cores: ``(1023, 1024, 1024, 1024, 1024)`` (four layers of 4x4 tiles).

Every nonideality of the RRAM preset is on (the default design: 8-bit DACs and ADCs).  Each
size runs in a fresh process so its peak memory (``ru_maxrss``) is its own, and is measured
beside the same work in plain NumPy in another fresh process:

* ``read_<n>``: one inference pass of a batch of 256 inputs through every layer
  (``ports.run``) against the same products in NumPy (``x @ W`` per layer, float32 and
  float64 figures, each as a ratio);
* ``ff_epoch_<n>``: one in-place Forward-Forward epoch (every pulse update through the
  ports, metered) over a synthetic 10-class data set of 512 images whose width fills the
  first layer, against the same epoch in software (float64, :class:`DigitalNetwork`);
* ``memory_<n>``: peak resident memory of the chip process over the NumPy process;
* with ``--wires``, each also on a wired chip (``wires_for_node(32)``, NeuroSim's 32 nm wires:
  exact IR drop in every read).

Growth from 1 to 64 cores is reported as seconds per core (linear growth keeps it flat).

Run with OpenBLAS choosing its own kernel (these machines set ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE``, which slow NumPy; unset them for this command only)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/chip_scale.py --json PATH

Usage: ``python benchmarks/chip_scale.py [--cores 1 8 64] [--wires] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import blas_note  # noqa: E402

from neuromorph._io import write_json  # noqa: E402

#: Layer sizes that fill 1, 8 and 64 cores of 256x256 (bias row included in the inputs).
DESIGNS = {
    1: (255, 256),
    8: (511, 512, 512),
    64: (1023, 1024, 1024, 1024, 1024),
}
#: Inputs per inference pass.
BATCH = 256
#: Images in the synthetic FF data set (one epoch: 512 / 50 = 11 batches).
N_IMAGES = 512
#: Classes of the synthetic data set (FF appends a one-hot label to every image).
N_CLASSES = 10


def synthetic(n_features: int, seed: int):
    """A 10-class data set of ``n_features - 10`` pixels in [0, 1]: class prototypes plus noise."""
    from neuromorph.datasets import Dataset

    rng = np.random.default_rng(seed)
    pixels = n_features - N_CLASSES
    proto = rng.random((N_CLASSES, pixels))
    y = rng.integers(0, N_CLASSES, 2 * N_IMAGES)
    x = np.clip(proto[y] + 0.3 * rng.standard_normal((y.size, pixels)), 0.0, 1.0)
    return Dataset(x[:N_IMAGES], y[:N_IMAGES], x[N_IMAGES:], y[N_IMAGES:], N_CLASSES, "synthetic")


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up (Numba compile, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def one_chip(cores: int, wires: bool, repeats: int) -> dict:
    """Times and peak memory of one chip size, in this process."""
    from neuromorph.algorithms import ff
    from neuromorph.chip import Chip, ChipDesign
    from neuromorph.chip.digital import DigitalNetwork
    from neuromorph.hardware.wires import wires_for_node

    sizes = DESIGNS[cores]
    design = ChipDesign(layer_sizes=sizes, wires=wires_for_node(32) if wires else None)
    t0 = time.perf_counter()
    chip = Chip.fabricate(design, seed=0)
    ports = chip.ports()
    net = DigitalNetwork.initialize(sizes, rng=np.random.default_rng(0))
    for layer, w in enumerate(net.weights):
        ports.program(layer, np.clip(w, -1.0, 1.0))
    build_s = time.perf_counter() - t0
    x = np.random.default_rng(1).random((BATCH, sizes[0]))
    read_s = _timed(lambda: ports.run(x), repeats)
    data = synthetic(sizes[0], seed=2)
    cfg = ff.FFConfig(epochs=1)
    hist = ff.train(ports, data, cfg, rng=np.random.default_rng(3), progress=False)  # warm-up
    epochs = [
        ff.train(ports, data, cfg, rng=np.random.default_rng(4 + i), progress=False).wall_seconds[0]
        for i in range(max(1, repeats // 5))
    ]
    return {
        "cores": cores,
        "wires": wires,
        "layer_sizes": list(sizes),
        "build_s": build_s,
        "read_s": read_s,
        "ff_epoch_s": statistics.median(epochs),
        "pulses_per_epoch": int(hist.pulses[-1]) if len(hist.pulses) else 0,
        "peak_mb": _peak_mb(),
    }


def one_numpy(cores: int, repeats: int) -> dict:
    """The same work in plain NumPy, in this process: products and a software FF epoch."""
    from neuromorph.algorithms import ff
    from neuromorph.chip.digital import DigitalNetwork

    sizes = DESIGNS[cores]
    rng = np.random.default_rng(1)
    x64 = rng.random((BATCH, sizes[0] + 1))
    ws64 = [rng.standard_normal((a + 1, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    x32, ws32 = x64.astype(np.float32), [w.astype(np.float32) for w in ws64]

    def products(x, ws):
        h = x
        for w in ws:
            if h.shape[1] < w.shape[0]:  # the bias input of a hidden layer
                h = np.concatenate([h, np.ones((h.shape[0], 1), h.dtype)], axis=1)
            h = h @ w
        return h

    f64 = _timed(lambda: products(x64, ws64), 3 * repeats)
    f32 = _timed(lambda: products(x32, ws32), 3 * repeats)
    net = DigitalNetwork.initialize(sizes, rng=np.random.default_rng(0))
    data = synthetic(sizes[0], seed=2)
    cfg = ff.FFConfig(epochs=1)
    ff.train(net, data, cfg, rng=np.random.default_rng(3), progress=False)
    epochs = [
        ff.train(net, data, cfg, rng=np.random.default_rng(4 + i), progress=False).wall_seconds[0]
        for i in range(max(1, repeats // 5))
    ]
    return {
        "cores": cores,
        "read_f64_s": f64,
        "read_f32_s": f32,
        "ff_epoch_s": statistics.median(epochs),
        "peak_mb": _peak_mb(),
    }


def _child(args: list[str]) -> dict:
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        subprocess.run([sys.executable, __file__, "--child", path, *args], check=True)
        with open(path) as fh:
            return json.load(fh)
    finally:
        os.unlink(path)


def _fig(seconds: float, baseline_seconds: float, baseline: str) -> dict:
    return {
        "seconds": seconds,
        "baseline_seconds": baseline_seconds,
        "ratio": seconds / baseline_seconds,
        "baseline": baseline,
    }


def figures_for(chip: dict, base: dict, tag: str) -> dict:
    """Figures of one chip run against its NumPy run."""
    return {
        f"read_{tag}_f32": _fig(chip["read_s"], base["read_f32_s"], "numpy x @ W per layer, float32"),
        f"read_{tag}_f64": _fig(chip["read_s"], base["read_f64_s"], "numpy x @ W per layer, float64"),
        f"ff_epoch_{tag}": _fig(chip["ff_epoch_s"], base["ff_epoch_s"], "software FF epoch, float64"),
        f"memory_{tag}": {
            "peak_mb": chip["peak_mb"],
            "baseline_peak_mb": base["peak_mb"],
            "ratio": chip["peak_mb"] / base["peak_mb"],
            "baseline": "peak RSS of the NumPy process, MB",
        },
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cores", type=int, nargs="+", default=[1, 8, 64], choices=sorted(DESIGNS))
    p.add_argument("--wires", action="store_true", help="also measure wired chips (exact IR drop)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats of a read")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--kind", choices=["chip", "wired", "numpy"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        cores = args.cores[0]
        out = (
            one_numpy(cores, args.repeats)
            if args.kind == "numpy"
            else one_chip(cores, args.kind == "wired", args.repeats)
        )
        with open(args.child, "w") as fh:
            json.dump(out, fh)
        return out
    figures: dict[str, dict] = {}
    runs: dict[str, dict] = {}
    for cores in args.cores:
        common = ["--cores", str(cores), "--repeats", str(args.repeats)]
        base = _child([*common, "--kind", "numpy"])
        for kind in ["chip", "wired"] if args.wires else ["chip"]:
            run = _child([*common, "--kind", kind])
            tag = f"{cores}" + ("_wired" if kind == "wired" else "")
            runs[tag] = run
            figures.update(figures_for(run, base, tag))
            print(
                f"{tag} cores: read {run['read_s']:.3e} s ({figures[f'read_{tag}_f32']['ratio']:.1f}x f32, "
                f"{figures[f'read_{tag}_f64']['ratio']:.1f}x f64), FF epoch {run['ff_epoch_s']:.2f} s "
                f"({figures[f'ff_epoch_{tag}']['ratio']:.1f}x software), peak {run['peak_mb']:.0f} MB "
                f"(numpy {base['peak_mb']:.0f} MB), built in {run['build_s']:.1f} s",
                flush=True,
            )
    for suffix in ["", "_wired"]:
        tags = [f"{c}{suffix}" for c in args.cores if f"{c}{suffix}" in runs]
        if len(tags) > 1:
            per_core = {t: runs[t]["read_s"] / runs[t]["cores"] for t in tags}
            epoch_core = {t: runs[t]["ff_epoch_s"] / runs[t]["cores"] for t in tags}
            print(
                "growth (seconds per core): read "
                + ", ".join(f"{t}: {v:.2e}" for t, v in per_core.items())
                + "; FF epoch "
                + ", ".join(f"{t}: {v:.2e}" for t, v in epoch_core.items())
            )
    blas = blas_note()
    print(blas)
    if args.json:
        write_json(args.json, {"figures": figures, "runs": runs, "blas": blas})
    return figures


if __name__ == "__main__":
    main()
