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
from sonicmix.cli import _measure_file, builtin_signal, main

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
    streamed = _measure_file(str(path), None).to_dict()
    # Block-wise and one-shot sums may differ in the last float bits; 1e-6 dB is far below display precision.
    # The JSON rounds levels to 0.01 dB / LU (issue 20): within half of that.
    for key in ("integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs", "short_term_max_lufs"):
        assert streamed[key] == pytest.approx(expected[key], abs=1e-6), key
        assert entry[key] == pytest.approx(expected[key], abs=0.005 + 1e-9), key


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


def test_builtin_signal_with_demo_and_no_file_is_an_error(capsys):
    # issue 20: a shell glob that matches nothing must not measure something else and exit 0
    assert main(["measure"]) == 2
    assert "--demo" in capsys.readouterr().err
    assert main(["measure", "--demo"]) == 0
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
    proc = run_module("measure", "--json", "--demo")
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


# ---------------------------------------------------------------------------------------- normalize


def spiky_programme(rng, duration_s: float = 4.0) -> np.ndarray:
    """Stereo noise at about -30 dBFS RMS with loud 10 ms bursts every 0.5 s: a high crest factor,
    so a loud target needs the limiter."""
    n = round(duration_s * SR)
    t = np.arange(n) / SR
    x = 0.03 * rng.standard_normal((2, n))
    burst = round(0.01 * SR)
    for k in range(int(duration_s / 0.5)):
        start = round((0.25 + 0.5 * k) * SR)
        x[:, start : start + burst] += 0.9 * np.sin(2 * np.pi * 3000.0 * t[:burst])
    return x


def oracle_lufs(audio: np.ndarray) -> float:
    import pyloudnorm as pyln

    return float(pyln.Meter(SR).integrated_loudness(audio.T.astype(np.float64)))


def oracle_true_peak_dbtp(audio: np.ndarray) -> float:
    """Peak of the signal interpolated 8x with scipy's polyphase resampler (not our true-peak meter)."""
    from scipy.signal import resample_poly

    return float(20 * np.log10(np.abs(resample_poly(audio.astype(np.float64), 8, 1, axis=-1)).max()))


def run_json(argv: list[str], capsys) -> tuple[int, dict]:
    code = main(argv)
    return code, strict_json(capsys.readouterr().out)


def test_normalize_with_limiting_lands_in_tolerance_by_an_independent_meter(tmp_path, rng, capsys):
    source = tmp_path / "spiky.wav"
    sio.write(source, spiky_programme(rng), SR, subtype="FLOAT")
    out = tmp_path / "spiky-spotify.wav"
    code, report = run_json(["normalize", str(source), str(out), "--target", "spotify", "--json"], capsys)
    assert code == 0 and report["passed"] and report["written"]
    # The bursts sit far above the noise: reaching -14 LUFS must take the limiter (else this test
    # would not exercise it).
    assert report["limiter"]["max_reduction_db"] > 3.0
    audio, rate = sio.read(out, dtype="float64")
    assert rate == SR and audio.shape == (2, 4 * SR)
    # pyloudnorm as the oracle: the loop stops within 0.1 LU on our meter; the two meters differ by a
    # few hundredths on this signal; 0.2 LU is EBU R 128's QC tolerance, much tighter than Spotify's.
    assert oracle_lufs(audio) == pytest.approx(-14.0, abs=0.2)
    # True peak <= -1 dBTP, measured with a different interpolator; +0.2 dB is Tech 3341's allowance
    # for true-peak meters (and covers the PCM_24 dither, +-1 LSB).
    assert oracle_true_peak_dbtp(audio) <= -1.0 + 0.2


def test_normalize_without_limiting_is_a_pure_gain(tmp_path, rng, capsys):
    t = np.arange(3 * SR) / SR
    x = 0.1 * np.sin(2 * np.pi * 997.0 * t) + 0.01 * rng.standard_normal((2, t.size))
    source = tmp_path / "quiet.wav"
    sio.write(source, x, SR, subtype="FLOAT")
    out = tmp_path / "r128.wav"
    argv = ["normalize", str(source), str(out), "--target", "ebu-r128-qc", "--subtype", "FLOAT", "--json"]
    code, report = run_json(argv, capsys)
    assert code == 0 and report["limiter"]["max_reduction_db"] == 0.0
    stored, _ = sio.read(source)
    result, _ = sio.read(out)
    # No limiting: the output is the input times the reported gain, sample-aligned (the limiter's
    # lookahead is compensated). float32 storage: 1e-6 relative to the 0.1 amplitude is ~2 ulp.
    expected = stored.astype(np.float64) * 10 ** (report["gain_db"] / 20)
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-6)
    # EBU R 128 QC tolerance +-0.2 LU, checked with pyloudnorm.
    assert oracle_lufs(result) == pytest.approx(-23.0, abs=0.2)
    assert report["measurements"]["input"]["integrated_lufs"] == pytest.approx(oracle_lufs(stored), abs=0.1)


def test_normalize_flac_holds_the_same_samples_as_wav(tmp_path, rng, capsys):
    source = tmp_path / "in.wav"
    sio.write(source, spiky_programme(rng, 2.0), SR, subtype="FLOAT")
    wav, flac = tmp_path / "out.wav", tmp_path / "out.flac"
    for out in (wav, flac):
        assert (
            main(["-q", "normalize", str(source), str(out), "--target", "ebu-r128", "--subtype", "PCM_16"])
            == 0
        )
    capsys.readouterr()
    a, _ = sf.read(str(wav), dtype="int16")
    b, _ = sf.read(str(flac), dtype="int16")
    assert sf.info(str(flac)).format == "FLAC" and sf.info(str(flac)).subtype == "PCM_16"
    np.testing.assert_array_equal(a, b)  # lossless, and no second dither


def test_normalize_refuses_to_overwrite_its_input(tmp_path, case1, capsys):
    before = case1.read_bytes()
    assert main(["normalize", str(case1), str(case1), "--target", "ebu-r128"]) == 2
    err = capsys.readouterr().err
    assert f"OUT={str(case1)!r} is the input IN={str(case1)!r}" in err
    link = tmp_path / "link.wav"  # another name for the same file
    os.link(case1, link)
    assert main(["normalize", str(case1), str(link), "--target", "ebu-r128"]) == 2
    assert "is the input" in capsys.readouterr().err
    assert case1.read_bytes() == before


def test_normalize_not_compliant_exits_1_and_writes_nothing(tmp_path, capsys):
    silence = tmp_path / "silence.wav"
    sio.write(silence, np.zeros((2, 2 * SR)), SR, dither=False)
    out = tmp_path / "out.wav"
    assert main(["normalize", str(silence), str(out), "--target", "ebu-r128"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED" in printed and "undefined" in printed and f"Nothing was written to {out}" in printed
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["silence.wav"]  # no temporary left behind


def test_normalize_errors_exit_2_and_name_the_problem(tmp_path, case1, capsys):
    cases = [
        (
            ["normalize", str(tmp_path / "nope.wav"), str(tmp_path / "o.wav"), "--target", "ebu-r128"],
            "nope.wav",
        ),
        (["normalize", str(case1), str(tmp_path / "o.mp3"), "--target", "ebu-r128"], "'.mp3'"),
        (
            ["normalize", str(case1), str(tmp_path / "o.flac"), "--target", "ebu-r128", "--subtype", "FLOAT"],
            "FLAC",
        ),
        (["normalize", str(case1), str(tmp_path / "no" / "o.wav"), "--target", "ebu-r128"], "does not exist"),
        (
            ["normalize", str(case1), str(tmp_path / "o.wav"), "--target", "ebu-r129"],
            "did you mean 'ebu-r128'",
        ),
        (["normalize", str(case1), str(tmp_path / "o.wav"), "--target", "netflix"], "--dialogue"),
        (["normalize", str(case1), str(tmp_path / "o.wav")], "--target"),  # required
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "o.wav").exists()


def test_normalize_speech_to_a_dialogue_gated_target(tmp_path, capsys):
    # A dialogue-only file measured as dialogue: with the whole file as the dialogue stem, the
    # dialogue gate keeps the same blocks as BS.1770's programme gate, so pyloudnorm is an oracle.
    t = np.arange(4 * SR) / SR
    speechlike = 0.05 * np.sin(2 * np.pi * 300.0 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    source = tmp_path / "vo.wav"
    sio.write(source, speechlike[None], SR, subtype="FLOAT")
    out = tmp_path / "vo-netflix.wav"
    argv = ["normalize", str(source), str(out), "--target", "netflix", "--dialogue", "--json"]
    code, report = run_json(argv, capsys)
    assert code == 0 and report["compliance"]["target"]["measurement"] == "dialogue"
    audio, _ = sio.read(out)
    # Netflix: -27 LKFS dialogue-gated; 0.2 LU as in the tests above (loop 0.1 LU + meter differences).
    assert oracle_lufs(audio) == pytest.approx(-27.0, abs=0.2)


# ------------------------------------------------------------------------------------------ targets


def test_targets_lists_every_preset_with_its_source(capsys):
    from sonicmix.targets import PRESETS

    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    table, sources = out.split("\nSources:\n")
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert set(rows) == set(PRESETS)
    for name, target in PRESETS.items():
        assert f"{target.integrated_lufs:.1f} LUFS" in rows[name] and target.measurement in rows[name]
        assert f"  {name}: {target.source}" in sources
    assert "-" in rows["ebu-r128"] and "short-term <= -18.0 LUFS" in rows["ebu-r128-s1"]


def test_targets_json_round_trips_every_preset(capsys):
    from sonicmix.targets import PRESETS, LoudnessTarget

    code, entries = run_json(["targets", "--json"], capsys)
    assert code == 0 and [e["name"] for e in entries] == list(PRESETS)
    for entry in entries:
        window = (entry.pop("lower_lufs"), entry.pop("upper_lufs"))
        target = LoudnessTarget.from_dict(entry)
        assert target == PRESETS[entry["name"]] and window == (target.lower_lufs, target.upper_lufs)


# ------------------------------------------------------------------ quiet, verbose, progress, exits


def test_quiet_prints_one_result_line_and_nothing_on_stderr(tmp_path, case1, capsys):
    out = tmp_path / "o.wav"
    for argv in (["-q", "normalize", str(case1), str(out)], ["normalize", "--quiet", str(case1), str(out)]):
        assert main([*argv, "--target", "ebu-r128"]) == 0
        captured = capsys.readouterr()
        assert captured.err == ""
        assert captured.out.splitlines() == [captured.out.strip()]  # exactly one line
        assert captured.out.startswith(f"{out}: PASSED ebu-r128: -23.0 LUFS")
    assert main(["-q", "measure", str(case1)]) == 0
    captured = capsys.readouterr()
    assert (
        captured.err == ""
        and captured.out == f"{case1}: -23.0 LUFS integrated, LRA 0.0 LU, true peak -23.0 dBTP\n"
    )


def test_default_logs_info_and_verbose_logs_debug(tmp_path, case1, capsys):
    import logging

    handlers = list(logging.getLogger("sonicmix").handlers)
    out = tmp_path / "o.wav"
    assert main(["normalize", str(case1), str(out), "--target", "ebu-r128"]) == 0
    err = capsys.readouterr().err
    assert f"sonicmix: wrote {out}" in err and "DEBUG" not in err
    assert main(["-v", "normalize", str(case1), str(out), "--target", "ebu-r128"]) == 0
    err = capsys.readouterr().err
    assert "DEBUG sonicmix.cli: sonicmix " in err and "INFO sonicmix.cli: wrote" in err
    # main() leaves the library's logger as it found it: no handler added for good.
    assert logging.getLogger("sonicmix").handlers == handlers


def test_progress_bars_only_when_asked_off_a_terminal(tmp_path, case1, capsys):
    out = tmp_path / "o.wav"
    argv = ["normalize", str(case1), str(out), "--target", "ebu-r128"]
    assert main(argv) == 0
    assert "%|" not in capsys.readouterr().err  # stderr is not a terminal here: no bars
    assert main(["--progress", *argv]) == 0
    err = capsys.readouterr().err
    assert "render" in err and "%|" in err  # tqdm's bar
    assert main(["--progress", "-q", *argv]) == 0
    assert capsys.readouterr().err == ""  # --quiet wins


def test_quiet_and_verbose_together_is_a_usage_error(capsys):
    assert main(["-q", "-v", "targets"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_interrupt_exits_130(monkeypatch, capsys):
    import sonicmix.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_targets", interrupted)
    assert main(["targets"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_unexpected_error_is_a_message_with_exit_2(monkeypatch, capsys):
    import sonicmix.cli as cli

    def broken(args):
        raise TypeError("a bug")

    monkeypatch.setattr(cli, "_cmd_targets", broken)
    assert main(["targets"]) == 2
    err = capsys.readouterr().err
    assert "unexpected TypeError: a bug" in err and "-v" in err and "Traceback" not in err
    assert main(["-v", "targets"]) == 2
    assert "Traceback" in capsys.readouterr().err  # the traceback, for a bug report


def test_measure_against_a_target_sets_the_exit_status(tmp_path, capsys):
    """Tech 3341 case 1 is a stereo 1 kHz tone at -23 LUFS: compliant with EBU R 128 (-23 +-1 LU,
    true peak -23 dBTP), not with a -14 LUFS streaming target. Against a dialogue-gated target
    without --dialogue the mix is gated by speech detection: a tone holds no speech, so Netflix's
    rule for 15 % dialogue or less judges its programme loudness (netflix-programme, -24 +-2 LKFS)."""
    path = tech3341_case(tmp_path, -23.0, "case1.wav")
    assert main(["measure", str(path), "--target", "ebu-r128"]) == 0
    assert "Compliance with ebu-r128: PASS" in capsys.readouterr().out
    assert main(["-q", "measure", str(path), "--target", "spotify"]) == 1
    assert capsys.readouterr().out.strip().endswith("FAIL spotify")
    assert main(["measure", str(path), "--target", "netflix"]) == 0
    out = capsys.readouterr().out
    assert "is an estimate" in out and "too little speech" in out and "netflix-programme: PASS" in out
    assert main(["measure", str(path), "--target", "netflix", "--dialogue", "--json"]) == 1  # -27 LKFS
    entry = strict_json(capsys.readouterr().out)[0]
    assert entry["dialogue_lufs"] == pytest.approx(-23.0, abs=0.05)  # a steady tone: every block gated in
    assert entry["compliance"]["passed"] is False
    assert main(["measure", str(path), "--target", "no-such-target"]) == 2
