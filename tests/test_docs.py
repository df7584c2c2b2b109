"""The documentation site: it builds with warnings as errors, and what its pages show runs.

The site is MkDocs (``mkdocs.yml``, ``docs/``, the hook ``docs/_hooks/neuromorph_docs.py``);
the one command is ``python -m mkdocs build --strict`` (README "Documentation").  The build
runs in a subprocess, as a person runs it, into a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Pages whose ``python`` code blocks are executed, in order, in one namespace per page.
EXECUTED_PAGES = ("getting-started.md", "tutorial-device.md")
#: Longest a docs build may take here (2 shared cores); it measured about 20-25 s.
BUILD_TIMEOUT_S = 300

_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", flags=re.S | re.M)


def _load_hook():
    spec = importlib.util.spec_from_file_location("neuromorph_docs", DOCS / "_hooks" / "neuromorph_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built once for this module, strict (any warning fails the build)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    if proc.returncode != 0:
        problems = [line for line in proc.stderr.splitlines() if not line.startswith("INFO")]
        pytest.fail("mkdocs build --strict failed:\n" + "\n".join(problems[-40:]))
    return out


def test_site_builds_with_every_page(site):
    for page in ("index.html", "getting-started/index.html", "physics/index.html", "cli/index.html"):
        assert (site / page).is_file(), page
    assert (site / "tutorial-device" / "index.html").is_file()
    assert (site / "api" / "index.html").is_file()


def test_api_reference_has_a_page_per_public_module(site):
    hook = _load_hook()
    modules = hook.public_modules(ROOT)
    assert "neuromorph.hardware.devices" in modules and "neuromorph.chip" in modules
    assert not any(part.startswith("_") for m in modules for part in m.split("."))
    for m in modules:
        if m == "neuromorph":
            continue
        page = site / hook._page_path(m).removesuffix(".md") / "index.html"
        assert page.is_file(), m
    devices = (site / "api" / "hardware" / "devices" / "index.html").read_text()
    assert 'id="neuromorph.hardware.devices.DeviceModel"' in devices
    # The top-level page documents every name of neuromorph.__all__.
    import neuromorph

    top = (site / "api" / "index.html").read_text()
    missing = [n for n in neuromorph.__all__ if f'id="neuromorph.{n}"' not in top]
    assert not missing, missing


def test_sphinx_roles_become_code(site):
    # Docstrings use Sphinx roles; the site shows them as code (linked where it can).
    devices = (site / "api" / "hardware" / "devices" / "index.html").read_text()
    assert ":class:" not in devices and ":func:" not in devices
    assert 'class="autorefs autorefs-internal"' in devices


def test_cli_reference_lists_every_subcommand(site):
    from neuromorph.faces.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    page = (site / "cli" / "index.html").read_text()
    for name, subparser in sub.choices.items():
        assert f"neuromorph {name}" in page, name
        for action in subparser._actions:
            for flag in action.option_strings:
                assert flag in page, (name, flag)


def test_notebooks_render_from_their_outputs(site):
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = site / "notebooks" / nb.stem / "index.html"
        assert page.is_file(), nb.name
        assert "data:image/png;base64," in page.read_text(), f"{nb.name}: no figure rendered"


def test_physics_page_cites_only_keys_of_the_bibliography():
    physics = (DOCS / "physics.md").read_text()
    references = (DOCS / "references.md").read_text()
    cited = set(re.findall(r"^\[([A-Za-z0-9]+)\]: references\.md$", physics, flags=re.M))
    used = set(re.findall(r"\[([A-Za-z][A-Za-z0-9]+)\](?![(:\[])", physics))
    assert used <= cited, sorted(used - cited)
    unknown = sorted(k for k in cited if f"**[{k}]**" not in references)
    assert not unknown, f"keys not in docs/references.md: {unknown}"


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_code_blocks_of_the_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever a block writes lands here
    blocks = _PYTHON_BLOCK.findall((DOCS / page).read_text())
    assert blocks, f"{page} has no python code blocks"
    namespace: dict = {"__name__": f"docs_{page}"}
    for k, block in enumerate(blocks):
        exec(compile(block, f"{page} block {k + 1}", "exec"), namespace)
