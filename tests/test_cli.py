"""The command line, run as a user would."""

from __future__ import annotations

import subprocess
import sys


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "neuromorph.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_demo_prints_the_temperature_table():
    out = _run("demo", "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert "programmed, 300 K" in out.stdout and "heated, 358 K" in out.stdout
    rows = [line for line in out.stdout.splitlines() if " K" in line and "%" in line]
    assert len(rows) == 4
    # the RMS change column is zero for the first read and not for the hot one
    assert float(rows[0].split()[-2]) == 0.0
    assert float(rows[1].split()[-2]) > 0.0


def test_demo_bad_temperature_is_a_clear_error():
    out = _run("demo", "--hot-k", "-5")
    assert out.returncode == 2
    assert "temperature_k must be > 0 K" in out.stderr
