"""The README's Python example runs as written (on small files made here)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import sonicmix as sm

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(1)
    monkeypatch.chdir(tmp_path)
    for name in ("programme.wav", "music.wav"):
        sm.write(name, (rng.standard_normal((2, 48000 * 6)) * 0.05).astype(np.float32), 48000)
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README
    assert "Delivery to ebu-r128: PASSED" in capsys.readouterr().out
    assert (tmp_path / "out" / "mix.wav").exists()
