"""One-command podcast (issue 15, item 6): raw recordings in, a compliant, leveled episode out.

The recordings are real (tests/reference/dialogue.py): a clean host, a noisy narrowband guest
about 5 LU quieter with lines that vary by +-3 dB, each on its own file, and a music bed. The
checks are a podcaster's: the command exits 0, the files are there, the mix meets Apple
Podcasts' recommendation by an independent meter (pyebur128), and the lines in the dialogue stem
are level with one another (pyloudnorm over each line's known interval).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.cli import main
from sonicmix.errors import ParameterError
from sonicmix.podcast import make_podcast, podcast_graph
from tests.reference import dialogue

FS = 48_000


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dialogue.Podcast]:
    if not dialogue.available():
        pytest.skip(dialogue.SKIP_REASON)
    folder = tmp_path_factory.mktemp("podcast")
    p = dialogue.podcast(FS, turns=4)
    sm.write(folder / "host.wav", p.host.astype(np.float32), FS)
    sm.write(folder / "guest.wav", p.guest.astype(np.float32), FS)
    sm.write(folder / "bed.wav", (0.3 * dialogue.music("mika", p.host.shape[1], FS)).astype(np.float32), FS)
    return folder, p


def test_the_command_makes_a_compliant_leveled_podcast(recordings, tmp_path: Path, capsys) -> None:
    import pyebur128
    import pyloudnorm
    import soundfile as sf

    folder, p = recordings
    out = tmp_path / "out"
    status = main(["podcast", str(folder / "host.wav"), str(folder / "guest.wav"), "--music",
                   str(folder / "bed.wav"), "-o", str(out), "--json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["passed"]
    assert sorted(x.name for x in out.iterdir()) == sorted(
        ["podcast.wav", "podcast.dialogue.wav", "podcast.music.wav", "podcast.report.json",
         "podcast.report.txt", "podcast.loudness.png"])
    mix, rate = sf.read(out / "podcast.wav", dtype="float64")
    modes = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    meter = pyebur128.R128State(2, rate, modes)
    meter.add_frames(np.ascontiguousarray(mix).ravel(), mix.shape[0])
    assert abs(pyebur128.get_loudness_global(meter) - (-16.0)) <= 0.2
    # the limiter holds libebur128's true peak under the ceiling too; 0.05 dB for the 24-bit dither
    assert 20 * np.log10(max(pyebur128.get_true_peak(meter, c) for c in range(2))) <= -1.0 + 0.05
    # the lines of the dialogue stem, level with each other
    speech, _ = sf.read(out / "podcast.dialogue.wav", dtype="float64", always_2d=True)
    loud = pyloudnorm.Meter(rate)
    lines = {"host": [], "guest": []}
    for who, start, end in p.lines:
        lines[who].append(loud.integrated_loudness(speech[int(start * rate) : int(end * rate)]))
    every = lines["host"] + lines["guest"]
    assert max(every) - min(every) <= 2.5, np.round(every, 2)
    assert abs(np.median(lines["host"]) - np.median(lines["guest"])) <= 1.0
    assert set(report["clip_gains_db"]) == {"voice 1", "voice 2", "bed"}


def test_the_graph_a_podcaster_gets(recordings) -> None:
    folder, _ = recordings
    one = podcast_graph([folder / "host.wav"])
    two = podcast_graph([folder / "host.wav", folder / "guest.wav"], music=folder / "bed.wav",
                        intro=folder / "bed.wav", outro=folder / "bed.wav")
    assert one.buses["dialogue"].automix is None and two.buses["dialogue"].automix is not None
    assert sorted(two.tracks) == ["bed", "intro", "outro", "voice 1", "voice 2"]
    intro_end = sm.io.info(folder / "bed.wav").duration_s
    assert two.tracks["voice 1"].clips[0].start_s == pytest.approx(intro_end + 0.5)
    assert two.buses["music"].key == "dialogue"


def test_bad_input_is_named_and_nothing_is_written(recordings, tmp_path: Path, capsys) -> None:
    folder, _ = recordings
    out = tmp_path / "out"
    assert main(["podcast", str(folder / "missing.wav"), "-o", str(out)]) == 2
    assert "missing.wav" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ParameterError, match="voices="):
        make_podcast([], out)
    with pytest.raises(ParameterError, match="voices="):
        make_podcast(str(folder / "host.wav"), out)  # type: ignore[arg-type]
    assert not out.exists()
