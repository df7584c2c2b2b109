"""MkDocs hook: the generated parts of the documentation site.

Built from the package as it is at build time, so a new module, notebook or command option
appears without an edit to ``mkdocs.yml`` or the pages:

* **API reference**: one page per public module or package of ``neuromorph`` (no path part
  starting with ``_``), found by walking the source tree, rendered by mkdocstrings from the
  numpydoc docstrings; the pages are appended to the "API reference" section of the nav,
  grouped by layer.
* **Notebooks**: every ``notebooks/*.ipynb`` becomes a page (rendered by mkdocs-jupyter
  from its committed outputs; nothing is executed) under "Notebooks".
* **Command line**: the marker ``<!-- neuromorph-cli -->`` in ``cli.md`` is replaced by the
  help of every subcommand, taken from ``neuromorph.faces.cli.build_parser()``.
* **Sphinx roles** in docstrings (``:class:`~neuromorph.chip.Chip```, ``:func:`solve```)
  become code, linked where the target is rendered on the site (a full path, or a short
  name that names exactly one rendered object); an unresolved one stays plain code, so a
  docstring never breaks the strict build.
"""

from __future__ import annotations

import argparse
import html
import os
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

#: The package documented, and the layers' order in the nav (docs/architecture.md);
#: public top-level modules outside the layers (datasets, errors, ...) follow, by name.
PACKAGE = "neuromorph"
LAYERS = ("hardware", "chip", "algorithms", "studies", "faces")
#: Marker in cli.md replaced by the generated reference.
CLI_MARKER = "<!-- neuromorph-cli -->"
#: Width argparse wraps help at, so the generated page does not depend on the terminal.
HELP_WIDTH = 100
#: Nav section titles the hook fills (they must exist in mkdocs.yml).
API_SECTION = "API reference"
NOTEBOOK_SECTION = "Notebooks"

_ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|data|mod|exc|obj|const):<code>(~?)([^<]*)</code>")
_ANCHOR = re.compile(r'\bid="(' + PACKAGE + r'(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"')


def _root(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def public_modules(root: Path) -> list[str]:
    """Dotted names of the public modules and packages under ``root / PACKAGE``, sorted."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root / PACKAGE):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_", ".")))
        if "__init__.py" not in filenames:
            dirnames[:] = []
            continue
        names.append(".".join(rel.parts))
        for f in sorted(filenames):
            if f.endswith(".py") and not f.startswith("_"):
                names.append(".".join((*rel.parts, f[:-3])))
    return sorted(set(names))


def _page_path(module: str) -> str:
    return "api/" + "/".join(module.split(".")[1:]) + ".md"


def _group(module: str) -> str:
    return module.split(".")[1]


def _group_order(groups: set[str]) -> list[str]:
    return [g for g in LAYERS if g in groups] + sorted(groups - set(LAYERS))


def _api_page(module: str, root: Path) -> str:
    is_package = (root / Path(*module.split("."))).is_dir()
    lines = [f"# `{module}`", "", f"::: {module}", "    options:", "      show_root_heading: false"]
    # Constants (the presets, defaults) often carry their source in the value's own text and
    # no docstring; an API reference shows every public name.
    lines.append("      show_if_no_docstring: true")
    if is_package:
        # A package page shows the package's own docstring and what it defines; its
        # submodules have their own pages (and the names it re-exports are documented there).
        lines.append("      show_submodules: false")
    return "\n".join(lines) + "\n"


def _find_section(nav: list, title: str) -> list:
    for item in nav:
        if isinstance(item, dict) and title in item:
            return item
    raise ValueError(f"mkdocs.yml nav must have a section {title!r}; got {nav!r}.")


def on_config(config):
    """Append the API pages and the notebooks to the nav."""
    root = _root(config)
    modules = [m for m in public_modules(root) if m != PACKAGE]
    api = _find_section(config["nav"], API_SECTION)
    first = api[API_SECTION]
    entries = [first] if isinstance(first, str) else list(first)[:1]
    by_group: dict[str, list] = {}
    for m in modules:
        by_group.setdefault(_group(m), []).append({m.split(".", 1)[1]: _page_path(m)})
    for g in _group_order(set(by_group)):
        entries.append({g: by_group[g]})
    api[API_SECTION] = entries
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    nb = _find_section(config["nav"], NOTEBOOK_SECTION)
    nb[NOTEBOOK_SECTION] = [f"notebooks/{p.name}" for p in notebooks]
    return config


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config) -> Files:
    """Add the generated API pages and the notebooks (which live outside docs/)."""
    root = _root(config)
    for m in public_modules(root):
        if m == PACKAGE:
            continue
        files.append(File.generated(config, _page_path(m), content=_api_page(m, root)))
    for p in sorted((root / "notebooks").glob("*.ipynb")):
        files.append(
            File(
                f"notebooks/{p.name}",
                src_dir=str(root),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def _walk(parser: argparse.ArgumentParser, prog: str):
    """``(prog, parser)`` for the parser and every subcommand below it, depth first."""
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{prog} {name}")


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.dest}` (positional)"
        helptext = a.help or ""
        if helptext == argparse.SUPPRESS:
            continue
        try:
            helptext = helptext % {**vars(a), "prog": parser.prog}
        except (KeyError, TypeError, ValueError):
            pass
        default = "" if a.default in (None, argparse.SUPPRESS) or not a.option_strings else f"`{a.default}`"
        cells = (name, html.escape(helptext).replace("|", "\\|"), default)
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def cli_reference() -> str:
    """Markdown for every subcommand of the ``neuromorph`` command, from its parser."""
    from neuromorph.faces.cli import build_parser

    os.environ["COLUMNS"] = str(HELP_WIDTH)
    parser = build_parser()
    parser.prog = "neuromorph"
    out = []
    for prog, p in _walk(parser, "neuromorph"):
        p.prog = prog
        level = "##" if prog == "neuromorph" else "###"
        out += [f"{level} `{prog}`", "", "```text", p.format_help().rstrip(), "```", ""]
        rows = _option_rows(p)
        if rows:
            out += ["| option | meaning | default |", "|---|---|---|", *rows, ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Fill the CLI reference."""
    if page.file.src_uri == "cli.md":
        if CLI_MARKER not in markdown:
            raise ValueError(f"cli.md must contain the marker {CLI_MARKER!r}.")
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown


def _resolver(anchors: set[str]):
    """``resolve(target, scope)``: the rendered identifier a role's target names, or None.

    A full path is taken as it is; a short one (``Chip``, ``Crossbar.read``) names the
    rendered objects whose path ends with it, and the one that shares the longest prefix
    with ``scope`` (the module the page documents) wins, then the shortest path (a name
    re-exported by a package names the same object as its defining module's).
    """
    by_tail: dict[str, set[str]] = {}
    for a in anchors:
        parts = a.split(".")
        for k in range(1, len(parts)):
            by_tail.setdefault(".".join(parts[-k:]), set()).add(a)

    def shared(a: str, scope: str) -> int:
        n = 0
        for x, y in zip(a.split("."), scope.split("."), strict=False):
            if x != y:
                break
            n += 1
        return n

    def resolve(target: str, scope: str) -> str | None:
        target = target.strip().removesuffix("()")
        if target in anchors:
            return target
        found = by_tail.get(target)
        if not found:
            return None
        return min(found, key=lambda a: (-shared(a, scope), len(a), a))

    return resolve


def _scope(page) -> str:
    """The module an API page documents (``api/hardware/devices.md``), else the package."""
    uri = page.file.src_uri
    if not uri.startswith("api/"):
        return PACKAGE
    parts = [p for p in uri[len("api/") : -len(".md")].split("/") if p != "index"]
    return ".".join((PACKAGE, *parts))


@event_priority(-40)  # after every page is rendered, before autorefs fixes links (-50)
def on_env(env, config, files):
    """Turn the Sphinx roles of docstrings into code, linked where the target is on the site."""
    pages = [f.page for f in files if f.page is not None and f.page.content]
    anchors = {m for p in pages for m in _ANCHOR.findall(p.content)}
    resolve = _resolver(anchors)

    def replace(match: re.Match, scope: str) -> str:
        short, target = match.group(2) == "~", html.unescape(match.group(3))
        shown = target.rsplit(".", 1)[-1] if short else target
        code = f"<code>{html.escape(shown)}</code>"
        full = resolve(target, scope)
        if full is None:
            return code
        return f'<autoref identifier="{html.escape(full)}" optional>{code}</autoref>'

    for p in pages:
        scope = _scope(p)
        p.content = _ROLE.sub(lambda m, scope=scope: replace(m, scope), p.content)
    return env
