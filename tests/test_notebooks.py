"""Every notebook runs top to bottom in a real Jupyter kernel (small sizes via its ``parameters`` cell).

Run as a person runs it, through ``nbclient`` and ``ipykernel``, not ``exec()``: a figure that
Jupyter would print as ``<Figure size ...>`` instead of drawing, a figure drawn twice, a
traceback or a line on stderr (tqdm without its widgets) fails the test.
"""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SMALL = {
    "01_mortal_chip.ipynb": "EPOCHS = 2\nHIDDEN = (24, 24)\nSEED = 0\nHOT_K = 358.0\nRETRAIN_EPOCHS = 1\n",
    "02_copy_out_cost.ipynb": "EPOCHS = 1\nHIDDEN = (12, 12)\nSEED = 0\nDESIGNED_BUDGETS = [2]\n"
    "DISTILL_BUDGETS = [20]\n",
    "03_spice_crossbar.ipynb": "ROWS, COLS = 8, 6\nR_WIRE_OHM = 2.0\nHOT_K = 358.0\nN_READS = 50\nSEED = 0\n",
    "04_devices.ipynb": "N_PAIRS = 2\nN_DEVICES = 200\nMAX_READS = 16\nSEED = 0\n",
    "05_lifetime.ipynb": "EPOCHS = 1\nHIDDEN = (12, 12)\nSEED = 0\nTEMPERATURES_K = (300.0, 358.0)\n"
    "AGE_POINTS = 2\nCOPYOUT_BUDGETS = (4.0,)\n",
}
#: Seconds a cell may take at the small sizes before the run counts as hung.
CELL_TIMEOUT_S = 300


def run_notebook(path: pathlib.Path) -> nbformat.NotebookNode:
    """Execute ``path`` in a fresh python3 kernel with its small parameters; return it run."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            cell.source = SMALL[path.name]
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return nb


def figure_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Cells whose figures would not show as a person expects, and stray stderr."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        images = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                images.append(data["image/png"])
            elif "<Figure size" in data.get("text/plain", ""):
                problems.append(f"cell {i}: a figure printed as text, not drawn")
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                problems.append(f"cell {i}: stderr {out.get('text', '')[:80]!r}")
        if len(images) != len(set(images)):
            problems.append(f"cell {i}: the same figure drawn twice")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_a_kernel_and_shows_its_figures(path):
    nb = run_notebook(path)
    assert figure_problems(nb) == []
    assert sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])) >= 1


def test_the_figure_check_can_fail():
    nb = nbformat.v4.new_notebook()
    text_only = nbformat.v4.new_output(
        "execute_result", data={"text/plain": "<Figure size 640x480 with 1 Axes>"}
    )
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})
    nb.cells = [
        nbformat.v4.new_code_cell("fig", outputs=[text_only]),
        nbformat.v4.new_code_cell("", outputs=[png, png]),
    ]
    assert len(figure_problems(nb)) == 2


def test_there_are_notebooks():
    assert NOTEBOOKS
    assert {p.name for p in NOTEBOOKS} == set(SMALL)
