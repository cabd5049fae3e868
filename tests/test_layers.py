"""The architecture's layers: the core never imports display or plot (they are reached through hooks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sonicmix"
PRESENTATION = ("sonicmix.display", "sonicmix.plot")
#: Modules allowed to import the presentation layer: itself, the notebook-facing facade, the CLI.
ABOVE = {"display.py", "plot.py", "__init__.py", "cli.py", "demo.py", "batch.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


CORE = sorted(p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).as_posix() not in ABOVE)


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_core_does_not_import_display_or_plot(path):
    bad = sorted(m for m in imported_modules(path) if m.startswith(PRESENTATION))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; ask through sonicmix._hooks instead"


def test_results_still_show_html_through_the_hook(tmp_path):
    import numpy as np

    import sonicmix as sm

    report = sm.measure(np.zeros((2, 48000), np.float32), 48000)
    assert "<table" in report._repr_html_()
