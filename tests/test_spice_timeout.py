"""ngspice runs bounded by ``timeout_s``, in the real ngspice (issue: a run blocked forever).

A ``.tran`` run is halted between time steps; an ``.op`` solve cannot be interrupted inside
ngspice, so it finishes in the background thread and the next run waits for it.  Either
way the next run in the same process must give the same currents, bit for bit.
"""

from __future__ import annotations

import _thread
import logging
import math
import threading
import time

import numpy as np
import pytest

from neuromorph.errors import NeuromorphError, SpiceTimeoutError
from neuromorph.faces.cli import SPICE_TIMEOUT_S, main
from neuromorph.hardware.spice import (
    ngspice,
    run_ngspice,
    run_ngspice_transient,
    simulate,
    simulate_transient,
    write_netlist,
    write_transient_netlist,
)
from neuromorph.hardware.wires import WireParams, solve

#: Line capacitance of the transient netlists, farads: illustrative (any value > 0 makes a
#: .tran netlist; the run time is set by the step count, not by this).
_C_SEGMENT_F = 1e-15
#: The slow transient: 1e7 time steps of 0.1 fs over 1 us.  ngspice takes ~0.3 %/s of it here
#: (about 12 min in all), so no timeout below a few seconds can be met.
_SLOW_T_STEP_S, _SLOW_T_STOP_S = 1e-13, 1e-6
#: The slow .op: a wired 72 x 72 array, ~4 s here (2.3 s at 64 x 64, 9.8 s at 80 x 80, under
#: load); ngspice's ``bg_halt`` gives up after 1 s, so the solve cannot be halted.
_SLOW_OP_N = 72
#: Most a timed-out run may take to raise beyond its timeout_s, seconds: ngspice's
#: ``bg_halt`` waits up to 1 s for the thread, plus margin for a loaded 2-core machine.
_RAISE_MARGIN_S = 1.8

_WIRES = WireParams(r_row_ohm=1.0, r_col_ohm=1.0)


def _array(n_rows: int, n_cols: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (n_rows, n_cols)), rng.uniform(0.0, 0.2, n_rows)


@pytest.fixture(scope="module")
def small():
    """A wired 4 x 3 read and its currents from a run before any timeout."""
    g, v = _array(4, 3, seed=1)
    netlist = write_netlist(g, v, _WIRES)
    return netlist, run_ngspice(netlist)


@pytest.fixture(scope="module")
def slow_transient() -> str:
    g, v = _array(8, 8, seed=2)
    wires = WireParams(r_row_ohm=1.0, r_col_ohm=1.0, c_segment_f=_C_SEGMENT_F)
    return write_transient_netlist(g, v, wires, t_stop_s=_SLOW_T_STOP_S, t_step_s=_SLOW_T_STEP_S)


def test_a_slow_transient_is_halted_and_the_next_run_gives_the_same_currents(small, slow_transient):
    netlist, before = small
    start = time.perf_counter()
    with pytest.raises(SpiceTimeoutError) as info:
        run_ngspice_transient(slow_transient, timeout_s=0.2)
    took = time.perf_counter() - start
    assert 0.2 <= took < 0.2 + _RAISE_MARGIN_S, took
    message = str(info.value)
    assert message.startswith("timeout_s must be long enough for ngspice to finish xbar (")
    n_elements = sum(1 for line in slow_transient.splitlines() if line[:1].isalpha())
    assert f"({n_elements} elements, .tran); got timeout_s=0.2 (still running after" in message
    assert "The run was halted; ngspice is ready for the next run." in message
    assert isinstance(info.value, NeuromorphError) and isinstance(info.value, TimeoutError)
    assert not ngspice._LEFT_RUNNING
    # The same process runs the next netlist at once, with the same currents, bit for bit.
    start = time.perf_counter()
    after = run_ngspice(netlist)
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(after, before)


def test_an_op_solve_that_cannot_be_halted_is_waited_for_by_the_next_run(small):
    netlist, before = small
    g, v = _array(_SLOW_OP_N, _SLOW_OP_N, seed=3)
    big = write_netlist(g, v, _WIRES)
    start = time.perf_counter()
    with pytest.raises(SpiceTimeoutError, match=r"elements, \.op\); got timeout_s=0\.2 ") as info:
        run_ngspice(big, timeout_s=0.2)
    assert time.perf_counter() - start < 0.2 + _RAISE_MARGIN_S
    assert "ngspice could not halt it" in str(info.value)
    assert ngspice._LEFT_RUNNING
    # A next run with too little time for the earlier solve says so, and leaves it running.
    with pytest.raises(SpiceTimeoutError, match="finish an earlier run that timed out"):
        run_ngspice(netlist, timeout_s=0.05)
    assert ngspice._LEFT_RUNNING
    # Without a limit it waits for the earlier solve, clears it, and runs as before.
    np.testing.assert_array_equal(run_ngspice(netlist), before)
    assert not ngspice._LEFT_RUNNING


def test_interrupting_a_run_halts_it(small, slow_transient):
    netlist, before = small
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            run_ngspice_transient(slow_transient)  # no limit: only the interrupt ends it
        assert time.perf_counter() - start < 0.3 + _RAISE_MARGIN_S
    finally:
        timer.cancel()
    assert not ngspice._LEFT_RUNNING
    np.testing.assert_array_equal(run_ngspice(netlist), before)


def test_a_long_run_logs_its_progress(monkeypatch, caplog):
    # Ten times coarser steps than the slow transient: ngspice sends a status line only
    # when the share done moves by a visible step, so this one reports often (~3 %/s here).
    g, v = _array(8, 8, seed=2)
    wires = WireParams(r_row_ohm=1.0, r_col_ohm=1.0, c_segment_f=_C_SEGMENT_F)
    netlist = write_transient_netlist(g, v, wires, t_stop_s=_SLOW_T_STOP_S, t_step_s=10 * _SLOW_T_STEP_S)
    monkeypatch.setattr(ngspice, "PROGRESS_EVERY_S", 0.1)
    with caplog.at_level(logging.INFO, logger="neuromorph.hardware.spice"):
        with pytest.raises(SpiceTimeoutError, match="; ngspice's status: tran: "):
            run_ngspice_transient(netlist, timeout_s=0.6)
    progress = [r.getMessage() for r in caplog.records if "still running after" in r.getMessage()]
    assert len(progress) >= 3, progress
    assert progress[0].startswith("ngspice: xbar still running after 0."), progress
    # ngspice's status line is the share of the stop time reached.
    shares = [m.split("(ngspice: tran: ")[1] for m in progress if "(ngspice: tran: " in m]
    assert shares and all(s.endswith("%)") for s in shares), progress


def test_runs_that_finish_give_the_same_results_with_a_timeout():
    g, v = _array(6, 5, seed=4)
    plain = simulate(g, v, _WIRES)
    np.testing.assert_array_equal(simulate(g, v, _WIRES, timeout_s=60.0), plain)
    want = solve(g, v, _WIRES)
    assert np.max(np.abs(plain - want)) <= 1e-9 * np.max(np.abs(want))
    wires = WireParams(r_row_ohm=1.0, r_col_ohm=1.0, c_segment_f=_C_SEGMENT_F)
    a = simulate_transient(g, v, wires)
    b = simulate_transient(g, v, wires, timeout_s=60.0)
    np.testing.assert_array_equal(a.time_s, b.time_s)
    np.testing.assert_array_equal(a.currents, b.currents)


@pytest.mark.parametrize(
    "timeout_s, exc, message",
    [
        (0, ValueError, r"^timeout_s must be > 0; got timeout_s=0\. Use None for no limit\.$"),
        (-1.0, ValueError, r"^timeout_s must be > 0; got timeout_s=-1\. Use None for no limit\.$"),
        (math.nan, ValueError, r"^timeout_s must be finite; got timeout_s=nan\.$"),
        (math.inf, ValueError, r"^timeout_s must be finite; got timeout_s=inf\.$"),
        ("10", TypeError, r"^timeout_s must be a real number; got str '10'\.$"),
        (True, TypeError, r"^timeout_s must be a real number; got bool True\.$"),
    ],
)
def test_bad_timeouts_are_refused_before_ngspice_runs(small, timeout_s, exc, message):
    netlist = small[0]
    g, v = _array(2, 2, seed=5)
    for call in (
        lambda: run_ngspice(netlist, timeout_s=timeout_s),
        lambda: run_ngspice_transient(netlist, timeout_s=timeout_s),
        lambda: simulate(g, v, _WIRES, timeout_s=timeout_s),
    ):
        with pytest.raises(exc, match=message):
            call()


@pytest.fixture
def chipfile(tmp_path):
    from neuromorph.chip import Chip, ChipDesign

    design = ChipDesign(layer_sizes=(4, 3), tile_shape=(3, 2))
    return str(Chip.fabricate(design, seed=0).save(tmp_path / "chip.npz"))


def test_cli_spice_timeout(chipfile, tmp_path, capsys):
    out = str(tmp_path / "n.cir")
    assert main(["spice", chipfile, "--out", out, "--run", "--timeout", "-1"]) == 2
    assert "--timeout must be >= 0; got --timeout=-1. Use 0 for no limit." in capsys.readouterr().err
    assert main(["spice", chipfile, "--out", out, "--run", "--timeout", "0"]) == 0
    assert "ngspice agrees" in capsys.readouterr().out
    assert SPICE_TIMEOUT_S == 600.0
