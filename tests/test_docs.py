"""The documentation site: its examples run as written, and it builds without a warning.

(a) Every ```python block of the quickstart, the concept pages and the cookbook
runs, in order, in one namespace per page, in an empty temporary working folder
(the pages make their own signals and files). (b) ``mkdocs build --strict`` of
the whole site (API reference included) passes with no WARNING line; it is
skipped when mkdocs or mkdocstrings is not installed (``pip install -e .[docs]``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [
    DOCS / "quickstart.md",
    *sorted((DOCS / "concepts").glob("*.md")),
    *sorted((DOCS / "cookbook").glob("*.md")),
]
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every fenced python block (fences at column 0)."""
    return [(text.count("\n", 0, m.start(1)), m.group(1)) for m in _FENCE.finditer(text)]


def test_the_pages_exist():
    names = [str(p.relative_to(DOCS)) for p in PAGES]
    for expected in ("quickstart.md", "concepts/nodes.md", "concepts/graphs.md", "cookbook/podcast.md"):
        assert expected in names


def test_python_blocks_are_found():
    text = "a\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == [(2, "x = 1\n"), (9, "y = 2\n")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # pages that plot must not need a display
    text = page.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    # An indented or misspelt fence would silently skip its code: every "```python" must be a block here.
    assert len(blocks) == text.count("```python"), f"{page.name}: a ```python fence is not at column 0"
    assert blocks, f"{page.name} has no python example"
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for line, code in blocks:
        # pad with newlines so a traceback points at the line of the markdown file
        exec(compile("\n" * line + code, str(page), "exec"), namespace)  # noqa: S102 - our own docs
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e .[docs])")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed (pip install -e .[docs])")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert proc.returncode == 0, output
    assert not warnings, "\n".join(warnings)
    api = tmp_path / "site" / "api"
    assert (api / "graph" / "index.html").is_file()
    # docs/_ext/sphinx_roles.py turns the docstrings' Sphinx roles into links: none is left as text
    leftovers = [
        f"{page.parent.name}: {match.group(0)}"
        for page in sorted(api.glob("*/index.html"))
        for match in re.finditer(r":(?:class|func|meth|mod|attr|data):(?:<code>|`)", page.read_text("utf-8"))
    ]
    assert not leftovers, leftovers[:10]
    # the example notebooks are pages of the site, with the notebook itself beside them
    for notebook in sorted((ROOT / "examples").glob("*.ipynb")):
        assert (tmp_path / "site" / "examples" / notebook.stem / "index.html").is_file()
        assert (tmp_path / "site" / "examples" / notebook.name).read_bytes() == notebook.read_bytes()
