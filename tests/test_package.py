"""Guards on the package surface: exports, import cost, style rules."""

from __future__ import annotations

import subprocess
import sys

import sonicmix


def test_every_export_resolves_and_all_matches_the_table():
    assert sorted(sonicmix.__all__) == sorted([*sonicmix._EXPORTS, "__version__"])
    for name in sonicmix._EXPORTS:
        assert getattr(sonicmix, name) is not None


def test_import_loads_neither_scipy_nor_numba_nor_librosa():
    code = (
        "import sys, sonicmix; "
        "heavy = [m for m in ('scipy', 'scipy.signal', 'numba', 'librosa', 'soundfile', 'soxr') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"import sonicmix loaded {out}"
