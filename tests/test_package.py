"""Guards on the package surface: exports and import cost."""

from __future__ import annotations

import subprocess
import sys

import sonicmix


def test_every_export_resolves_and_all_matches_the_table():
    assert sorted(sonicmix.__all__) == sorted([*sonicmix._EXPORTS, "__version__"])
    for name in sonicmix._EXPORTS:
        assert getattr(sonicmix, name) is not None


def test_import_loads_neither_scipy_nor_numba_nor_librosa():
    heavy = ("scipy", "scipy.signal", "numba", "librosa", "soundfile", "soxr")
    code = f"import sys, sonicmix; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "", f"import sonicmix loaded {run.stdout.strip()}"


def test_render_stays_the_function_after_its_module_is_imported():
    code = (
        "import sonicmix, sonicmix.renderer; from sonicmix.renderer import CONTROL_SAMPLES; "
        "import inspect; print(inspect.isfunction(sonicmix.render))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "True"
