"""Tests for the command line: ``sonicmix measure``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import sonicmix.io as sio
from sonicmix.cli import builtin_signal, main

SR = 48_000
ROOT = Path(__file__).resolve().parents[1]  # the repository, so `python -m sonicmix` finds this tree


def strict_json(text: str) -> object:
    """Parse JSON, refusing the non-standard NaN / Infinity tokens Python would accept."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def tech3341_case(tmp_path, level_dbfs: float, name: str, duration_s: float = 20.0):
    """EBU Tech 3341 cases 1/2: stereo 1 kHz sine at level_dbfs (peak) for 20 s -> level_dbfs LUFS."""
    t = np.arange(round(duration_s * SR)) / SR
    tone = 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * 1000.0 * t)
    path = tmp_path / name
    sio.write(path, np.stack([tone, tone]), SR, subtype="FLOAT")
    return path


@pytest.fixture
def case1(tmp_path):
    return tech3341_case(tmp_path, -23.0, "case1.wav")


def test_text_report_per_file(tmp_path, case1, capsys):
    case2 = tech3341_case(tmp_path, -33.0, "case2.wav")
    assert main(["measure", str(case1), str(case2)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    # Each file's name, then its report; Tech 3341 expects -23.0 and -33.0 LUFS (+-0.1).
    first, second = out.out.split(str(case2))
    assert str(case1) in first and "Integrated      -23.0 LUFS" in first
    assert "Integrated      -33.0 LUFS" in second


def test_json_report(tmp_path, case1, capsys):
    case2 = tech3341_case(tmp_path, -33.0, "case2.wav")
    assert main(["measure", "--json", str(case1), str(case2)]) == 0
    entries = strict_json(capsys.readouterr().out)
    assert [e["file"] for e in entries] == [str(case1), str(case2)]
    # EBU Tech 3341 Table 1, cases 1 and 2: -23.0 and -33.0 LUFS, +-0.1 LU.
    assert entries[0]["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert entries[1]["integrated_lufs"] == pytest.approx(-33.0, abs=0.1)
    # A sine's true peak is its amplitude; Tech 3341 allows +0.2/-0.4 dB.
    assert -23.4 <= entries[0]["true_peak_dbtp"] <= -22.8


def test_file_measurement_streams_like_whole_measure(tmp_path, rng, capsys):
    # The CLI measures files block by block; the result must equal measuring the whole array.
    from sonicmix.loudness import measure

    path = tmp_path / "n.flac"
    sio.write(path, 0.3 * rng.standard_normal((2, 5 * SR)), SR, subtype="PCM_24")
    assert main(["measure", "--json", str(path)]) == 0
    (entry,) = strict_json(capsys.readouterr().out)
    audio, _ = sio.read(path)
    expected = measure(audio, SR).to_dict()
    # Block-wise and one-shot sums may differ in the last float bits; 1e-6 dB is far below display precision.
    for key in ("integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs", "short_term_max_lufs"):
        assert entry[key] == pytest.approx(expected[key], abs=1e-6), key


def test_json_is_strict_for_undefined_levels(tmp_path, capsys):
    path = tmp_path / "silence.wav"
    sio.write(path, np.zeros((2, SR)), SR, dither=False)
    assert main(["measure", "--json", str(path)]) == 0
    text = capsys.readouterr().out
    (entry,) = strict_json(text)
    assert entry["integrated_lufs"] is None and entry["notes"]  # undefined, and the notes say why


def test_layout_option(tmp_path, capsys):
    t = np.arange(10 * SR) / SR
    six = np.zeros((6, t.size))
    six[0] = 10 ** (-20 / 20) * np.sin(2 * np.pi * 1000.0 * t)
    path = tmp_path / "six.wav"
    sio.write(path, six, SR, subtype="FLOAT")
    assert main(["measure", "--json", "--layout", "5.1", str(path)]) == 0
    (entry,) = strict_json(capsys.readouterr().out)
    # One front channel carrying a -20 dBFS sine: -20 - 3.01 = -23.0 LUFS (BS.1770 weight 1.0).
    assert entry["layout"] == "5.1" and entry["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)


def test_layout_mismatch_is_an_error_naming_the_file(case1, capsys):
    assert main(["measure", "--layout", "5.1", str(case1)]) == 2
    err = capsys.readouterr().err
    assert str(case1) in err and "layout='5.1'" in err and "Traceback" not in err


def test_unknown_layout_suggests_one(case1, capsys):
    assert main(["measure", "--layout", "sterio", str(case1)]) == 2
    assert "did you mean 'stereo'" in capsys.readouterr().err


def test_missing_file_exit_2_names_it(tmp_path, capsys):
    missing = tmp_path / "missing.wav"
    assert main(["measure", str(missing)]) == 2
    out = capsys.readouterr()
    assert str(missing) in out.err and "does not exist" in out.err and "Traceback" not in out.err


def test_one_bad_file_still_reports_the_others(tmp_path, case1, capsys):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + bytes(100))
    assert main(["measure", "--json", str(corrupt), str(case1)]) == 2
    out = capsys.readouterr()
    assert str(corrupt) in out.err
    assert [e["file"] for e in strict_json(out.out)] == [str(case1)]


def test_truncated_and_empty_files_are_errors(tmp_path, case1, capsys):
    cut = tmp_path / "cut.wav"
    cut.write_bytes(case1.read_bytes()[:-1000])
    empty = tmp_path / "zero.wav"
    sf.write(str(empty), np.zeros((0, 2)), SR)
    for path, why in [(cut, "truncated"), (empty, "0 frames")]:
        assert main(["measure", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and why in err


def test_builtin_signal_when_no_file(capsys):
    assert main(["measure"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("built-in test signal") and "Integrated" in out


def test_builtin_signal_is_fixed_and_as_described():
    a, sample_rate = builtin_signal()
    b, _ = builtin_signal()
    np.testing.assert_array_equal(a, b)  # fixed seed
    assert sample_rate == SR and a.shape == (2, 20 * SR) and a.dtype == np.float32
    # Bursts are on for 1.5 s of every 2.5 s, so 1.6-2.4 s holds the tone alone. Over 0.8 s, FFT bins
    # are 1.25 Hz apart (1 kHz = bin 800), and a Hann-windowed sine of amplitude A peaks at A * N / 4.
    gap = a[0, round(1.6 * SR) : round(2.4 * SR)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(gap * np.hanning(gap.size)))
    assert np.argmax(spectrum) == 800
    # -26 dBFS peak; 1% allows for the periodic-vs-symmetric Hann window difference (~1/N) and float32.
    assert spectrum[800] == pytest.approx(10 ** (-26 / 20) * gap.size / 4, rel=0.01)
    # Noise is present outside the gaps: 0.2-1.3 s has much more energy than the tone alone (A^2 / 2).
    on = a[0, round(0.2 * SR) : round(1.3 * SR)].astype(np.float64)
    assert np.mean(on**2) > 2 * (10 ** (-26 / 20)) ** 2 / 2


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["measure", "--bogus"]) == 2
    assert "usage" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["measure", "--help"]) == 0
    assert "--layout" in capsys.readouterr().out


def run_module(*args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "sonicmix", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=path),
    )


def test_python_m_sonicmix_measure_json():
    proc = run_module("measure", "--json")
    assert proc.returncode == 0, proc.stderr
    (entry,) = strict_json(proc.stdout)
    assert entry["file"] is None and entry["signal"].startswith("built-in test signal")
    assert entry["channels"] == 2 and entry["sample_rate"] == SR


def test_python_m_sonicmix_missing_file(tmp_path):
    missing = tmp_path / "nope.flac"
    proc = run_module("measure", str(missing))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr and "Traceback" not in proc.stderr


def test_demo_renders_a_compliant_delivery(tmp_path, capsys):
    from sonicmix.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--seconds", "8"]) == 0
    printed = capsys.readouterr().out
    assert "Delivery to ebu-r128: PASSED" in printed and "Integrated  -23.00 LUFS" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "demo.ME.wav",
        "demo.dialogue.wav",
        "demo.effects.wav",
        "demo.loudness.png",
        "demo.music.wav",
        "demo.report.json",
        "demo.report.txt",
        "demo.reverb.wav",
        "demo.wav",
    ]


def test_demo_with_an_unknown_target_fails_cleanly(tmp_path, capsys):
    from sonicmix.cli import main

    assert main(["demo", "--out", str(tmp_path), "--target", "ebu-r129", "--seconds", "4"]) == 2
    assert "did you mean 'ebu-r128'" in capsys.readouterr().err
