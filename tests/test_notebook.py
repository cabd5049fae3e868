"""The example notebook runs from top to bottom, without a Jupyter kernel.

The code cells are read from the ``.ipynb`` JSON and executed in order in one
fresh namespace, in a temporary working folder, with matplotlib's Agg
backend. Like Jupyter, the value of a cell's last expression is "displayed":
its ``_repr_html_`` (if it has one) is called, so the HTML of every result the
notebook shows is built too.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")  # in the test extra; the notebook plots
matplotlib.use("Agg")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "podcast.ipynb"
SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")


def _code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _run(cells: list[str]) -> tuple[dict, list[str]]:
    namespace: dict = {"__name__": "__main__"}
    shown: list[str] = []
    for index, source in enumerate(cells):
        tree = ast.parse(source, filename=f"<cell {index}>")
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        # a trailing ";" suppresses the display in Jupyter, as it does here
        silent = source.rstrip().endswith(";")
        if last is not None:
            tree.body = tree.body[:-1]
        exec(compile(tree, f"<cell {index}>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"<cell {index}>", "eval"), namespace)
            if not silent and hasattr(value, "_repr_html_"):
                shown.append(value._repr_html_())
    return namespace, shown


def test_the_notebook_is_stored_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("speech", ["synthesised", "recording"])
def test_the_podcast_notebook_runs(speech, tmp_path, monkeypatch):
    if speech == "recording":
        if not SPEECH.is_file():
            pytest.skip(f"real speech recording not installed ({SPEECH}); run scripts/fetch_speech.sh")
        monkeypatch.setenv("SONICMIX_SPEECH_WAV", str(SPEECH))
    else:  # a name that does not exist makes the notebook synthesise both voices
        monkeypatch.setenv("SONICMIX_SPEECH_WAV", str(tmp_path / "no-such-speech.wav"))
    monkeypatch.chdir(tmp_path)
    import matplotlib.pyplot as plt

    try:
        namespace, shown = _run(_code_cells(NOTEBOOK))
    finally:
        plt.close("all")
    assert ("recording" in namespace["host_is"]) == (speech == "recording")
    delivery = namespace["delivery"]
    assert delivery.passed, delivery.reasons
    # Apple Podcasts: -16 LUFS +-1, true peak <= -1 dBTP (Apple Podcasts for Creators, audio requirements)
    report = delivery.reports["episode"]
    assert abs(report.integrated_lufs - (-16.0)) <= 1.0 and report.true_peak_dbtp <= -1.0
    assert sorted(p.name for p in (tmp_path / "podcast-out").glob("episode.*wav")) == [
        "episode.dialogue.wav",
        "episode.music.wav",
        "episode.wav",
    ]
    # the one-call podcast from the raw files: compliant, with the clip gains it chose
    auto = namespace["auto"]
    assert auto.passed, auto.reasons
    assert set(auto.clip_gains_db) == {"voice 1", "voice 2", "bed"}
    assert (tmp_path / "podcast-out" / "episode-auto.wav").is_file()
    # graph, render result, delivery, report, player: each displayed as HTML
    assert len(shown) == 5
    assert "<audio" in shown[1] and "data:image/png;base64," in shown[1]
    assert "PASSED" in shown[2]
    # the ducker pulled the bed down by its depth (12 dB) while the voices talk
    gains = namespace["ax"].get_lines()[0].get_ydata()
    assert abs(min(gains) - (-12.0)) < 1e-6
