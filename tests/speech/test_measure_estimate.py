"""``sonicmix measure MIX --target netflix`` on a finished mix without stems: the dialogue loudness
is estimated by gating the mix's 400 ms blocks with the speech detector, labelled as an estimate,
with the speech share; it lands near the stem-informed measurement (the dialogue stem gating the
same mix, :func:`sonicmix.deliver.dialogue_gated_lufs`), the independent reference here."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sonicmix.io as sio
from sonicmix.cli import main
from sonicmix.deliver import dialogue_gated_lufs
from sonicmix.loudness import measure
from tests.reference import dialogue as d

RATE = 16000


@pytest.fixture(scope="module")
def podcast_file(tmp_path_factory):
    if not d.available():
        pytest.skip(d.SKIP_REASON)
    mix, _, parts = d.speech_podcast(RATE)
    gain = 10 ** ((-27.0 - d._level_db(parts.host + parts.guest, RATE)) / 20)  # dialogue near -27 LUFS
    path = tmp_path_factory.mktemp("estimate") / "podcast.wav"
    sio.write(str(path), (gain * mix).astype(np.float32), RATE)
    stem = measure(gain * np.repeat(parts.host + parts.guest, 2, axis=0), RATE)
    reference = dialogue_gated_lufs(measure(gain * mix, RATE).block_powers, stem.block_powers)
    return path, reference


def test_netflix_on_a_mix_is_a_labelled_estimate(podcast_file, capsys):
    path, reference = podcast_file
    status = main(["measure", str(path), "--target", "netflix"])
    out = capsys.readouterr().out
    assert "is an estimate: speech-gated by the builtin speech detector" in out
    assert "speech " in out and "% of the programme" in out and "Compliance with netflix" in out
    assert main(["measure", str(path), "--target", "netflix", "--json"]) == status
    entry = json.loads(capsys.readouterr().out)[0]
    estimate = entry["dialogue_estimate"]
    assert estimate["estimate"] is True and estimate["method"] == "speech-gated"
    assert estimate["detector"] == "builtin" and estimate["enough_speech"] is True
    assert 0.5 < estimate["speech_share"] <= 1.0
    assert estimate["dialogue_lufs"] == pytest.approx(entry["dialogue_lufs"], abs=0.01)
    # within 1 LU of what the dialogue stem would have said
    assert estimate["dialogue_lufs"] == pytest.approx(reference, abs=1.0)
    assert entry["compliance"]["target"]["name"] == "netflix"
    assert status == (0 if entry["compliance"]["passed"] else 1)


def test_too_little_speech_says_so(podcast_file, tmp_path, capsys):
    """2 s of the podcast's speech in 30 s of recorded noise (an effects-only stretch): under
    Netflix's 15 %, so the programme loudness is judged against netflix-programme, and the notes say
    why. (Music alone is another matter: the built-in detector takes it for speech; docs/speech.md.)"""
    path, _ = podcast_file
    audio, rate = sio.read(str(path))
    noise = np.repeat(0.02 * d.noise("3d_printer", 28 * RATE, RATE), 2, axis=0).astype(np.float32)
    file = tmp_path / "mostly-noise.wav"
    sio.write(str(file), np.concatenate([audio[:, int(0.5 * RATE) : int(2.5 * RATE)], noise], axis=1), rate)
    main(["measure", str(file), "--target", "netflix", "--json"])
    entry = json.loads(capsys.readouterr().out)[0]
    assert entry["dialogue_estimate"]["enough_speech"] is False
    assert 0.0 < entry["dialogue_estimate"]["speech_share"] <= 0.15
    assert entry["compliance"]["target"]["name"] == "netflix-programme"
    assert any("too little speech" in note for note in entry["notes"])
