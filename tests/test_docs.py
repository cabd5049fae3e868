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
    if "<!-- needs recordings" in text:  # pages on real recordings from Debian packages
        from tests.reference import dialogue

        if not dialogue.available():
            pytest.skip(dialogue.SKIP_REASON)
    if "<!-- needs the KEMAR set" in text:  # binaural pages: libmysofa1's HRIR set, read with h5py
        import importlib.util

        kemar = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
        if importlib.util.find_spec("h5py") is None or not kemar.is_file():
            pytest.skip(f"needs h5py and {kemar} (apt-get install libmysofa1; pip install h5py)")
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
        if ".nbconvert." in notebook.name:  # what running a notebook with nbconvert leaves: excluded
            continue
        assert (tmp_path / "site" / "examples" / notebook.stem / "index.html").is_file()
        assert (tmp_path / "site" / "examples" / notebook.name).read_bytes() == notebook.read_bytes()
    # issue 20: the API pages list the public classes first, without the nodes' state classes or
    # private bases, and signatures are formatted over several lines (ruff, in the docs extra)
    page = (api / "dynamics" / "index.html").read_text("utf-8")
    ids = re.findall(r'<h3 id="sonicmix\.nodes\.[a-z]+\.([A-Za-z]+)"', page)
    assert ids[:2] == ["Compressor", "KeyedCompressor"] and "Ducker" in ids and "Limiter" in ids, ids
    assert not [i for i in ids if i.endswith("State")], ids
    assert "._Dynamics" not in page and "._Cascade" not in (api / "eq" / "index.html").read_text("utf-8")
    text = re.sub(r"<[^>]+>", "", page)
    assert "Compressor(\n    *,\n    threshold_db: float = -18.0," in text
    # the nodes' state classes stay out of the navigation, the DSP page keeps the functions' states
    assert 'id="sonicmix.dsp.sosfilter.SosState"' in (api / "dsp" / "index.html").read_text("utf-8")


def test_notebook_leftovers_are_ignored_by_git_and_the_site(tmp_path):
    # issue 20: `jupyter nbconvert --to notebook --execute examples/podcast.ipynb` leaves
    # examples/podcast.nbconvert.ipynb and examples/podcast-out/; neither may break `mkdocs build --strict`
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e .[docs])")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed (pip install -e .[docs])")
    from mkdocs.config import load_config
    from mkdocs.structure.files import Files, set_exclusions

    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/examples/*.nbconvert.ipynb" in ignored and "/examples/*-out/" in ignored
    # the docs hook turns every examples/*.ipynb into a page: run it on a folder with the leftovers
    (tmp_path / "examples" / "podcast-out").mkdir(parents=True)
    notebook = (ROOT / "examples" / "podcast.ipynb").read_bytes()
    (tmp_path / "examples" / "podcast.ipynb").write_bytes(notebook)
    (tmp_path / "examples" / "podcast.nbconvert.ipynb").write_bytes(notebook)
    config = load_config(str(ROOT / "mkdocs.yml"))
    config["config_file_path"] = str(tmp_path / "mkdocs.yml")  # the hook reads examples/ beside it
    files = config.plugins.on_files(Files([]), config=config)  # as `mkdocs build` runs the hooks
    set_exclusions(files, config)
    included = sorted(f.src_uri for f in files if not f.inclusion.is_excluded())
    assert included == ["examples/podcast.ipynb", "examples/podcast.md"]
    # and the notebook writes where its text says, replacing its own previous delivery
    cells = [("".join(c["source"]), c["cell_type"]) for c in __import__("json").loads(notebook)["cells"]]
    assert "`podcast-out/` in the folder it runs in" in cells[0][0]
    assert any(
        'Path("podcast-out")' in src and "overwrite=True" in src for src, kind in cells if kind == "code"
    )


def test_the_docs_extra_has_a_signature_formatter():
    # mkdocstrings formats signatures with ruff or black; without either, each is one long line
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    docs = re.search(r"^docs = \[(.*)\]$", text, re.M)
    assert docs and re.search(r'"(ruff|black)\b', docs.group(1)), docs
