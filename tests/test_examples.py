"""Every example runs, on small sizes, through its public entry point."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("[0-9][0-9]_*.py"))
SMALL = {
    "01_crossbar_temperature.py": ["--rows", "24", "--cols", "8"],
    "02_ir_drop_and_spice.py": ["--rows", "12", "--cols", "6", "--reads", "20"],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.__doc__ and len(module.__doc__) > 40, "each example opens with a docstring"
    assert module.main(SMALL.get(path.name, [])) is not None


def test_there_are_examples():
    assert EXAMPLES
