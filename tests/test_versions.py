"""One immersive delivery: a 7.1.4 printmaster, its stems, a stereo fold-down and a binaural render,
each measured against its own target, written together or not at all (issue 17, item 7)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.deliver import TargetNotMetError, Version, deliver, deliver_all
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts import downmix
from sonicmix.loudness import measure
from sonicmix.spatial.sofa import SofaError
from sonicmix.targets import LoudnessTarget
from tests.reference import dialogue
from tests.reference.immersive import programme

FS = 48000
SECONDS = 8.0


@pytest.fixture(scope="module")
def graph() -> sm.Graph:
    """A 7.1.4 bed (music, ambiences, heights, a loud LFE) and a mono voice in the centre."""
    bed, _ = programme("7.1.4", FS, SECONDS, seed=3)
    parts = dialogue.prompts(3, FS, seed=1)
    voice = dialogue.concatenate(parts, FS, seed=1)[0][: int(SECONDS * FS)]
    voice = (0.3 * voice / np.abs(voice).max()).astype(np.float32)[None]
    return sm.Graph(
        tracks={
            "bed": sm.Track(clips=(sm.Clip(source=sm.ArraySource(bed, FS)),), layout="7.1.4", output="fx"),
            "voice": sm.Track(clips=(sm.Clip(source=sm.ArraySource(voice, FS)),), output="dialogue"),
        },
        buses={
            "dialogue": sm.Bus(layout="7.1.4"),
            "fx": sm.Bus(layout="7.1.4"),
            "master": sm.Bus(output=None, layout="7.1.4"),
        },
    )


VERSIONS = {
    "stereo": Version("ebu-r128", layout="stereo", stems=True),
    "binaural": Version("apple-podcasts", binaural=True, formats="wav,aac"),
}


@pytest.fixture(scope="module")
def package(graph, tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    done = deliver(graph, "netflix", out, versions=VERSIONS, subtype="FLOAT", bext=False, tail_s=0.0)
    return done, out


def test_every_part_meets_its_own_target_as_written(package):
    done, out = package
    assert done.passed, done.reasons
    assert set(done.versions) == {"stereo", "binaural"}
    for name, version in done.versions.items():
        target = VERSIONS[name].target
        assert version.passed and version.target is target
        assert {os.path.dirname(p) for p in version.files.values()} == {os.path.join(str(out), name)}
        written, _ = sm.read(version.files["mix"], dtype="float64")
        assert written.shape[0] == 2
        report = measure(written, FS)
        assert report.integrated_lufs == pytest.approx(target.integrated_lufs, abs=0.1)
        assert report.true_peak_dbtp <= target.true_peak_dbtp + 1e-6
    # the printmaster: dialogue-gated at -27 for Netflix, 12 channels
    assert done.reports["mix"].dialogue_lufs == pytest.approx(-27.0, abs=0.1)
    assert sm.read(done.files["mix"])[0].shape[0] == 12
    aac = done.versions["binaural"].reports["mix.m4a"]  # as decoded
    assert aac.integrated_lufs == pytest.approx(-16.0, abs=0.2) and aac.true_peak_dbtp <= -1.0


def test_the_stereo_version_is_the_fold_down_of_the_printmaster_with_its_own_gain(package):
    """Neither limiter acts here: the stereo file is the 7.1.4 file folded down, times the gain difference
    (float32 files: 1e-6), and its stems, folded down too, sum to it."""
    done, _ = package
    stereo = done.versions["stereo"]
    assert done.limiter["max_reduction_db"] == stereo.limiter["max_reduction_db"] == 0.0
    master, _ = sm.read(done.files["mix"], dtype="float64")
    folded = downmix(master, "7.1.4", "stereo") * 10 ** ((stereo.gain_db - done.gain_db) / 20)
    written, _ = sm.read(stereo.files["mix"], dtype="float64")
    np.testing.assert_allclose(written, folded, atol=1e-6)
    stems = sum(sm.read(stereo.files[k], dtype="float64")[0] for k in ("dialogue", "fx"))
    np.testing.assert_allclose(stems, written, atol=1e-6)


def test_the_binaural_version_is_the_printmaster_heard_through_hrirs(package):
    from sonicmix.spatial import render_binaural

    done, _ = package
    binaural = done.versions["binaural"]
    master, _ = sm.read(done.files["mix"], dtype="float64")
    expected = render_binaural(master, FS, layout="7.1.4") * 10 ** ((binaural.gain_db - done.gain_db) / 20)
    written, _ = sm.read(binaural.files["mix"], dtype="float64")
    assert binaural.limiter["max_reduction_db"] == 0.0
    np.testing.assert_allclose(written, expected, atol=1e-5)  # float32 convolution of float32 files
    # the ears differ: not a fold-down
    assert np.abs(written[0] - written[1]).max() > 0.01


def test_the_report_lists_the_versions(package):
    done, out = package
    saved = json.loads((out / "mix.report.json").read_text())
    assert saved["passed"] and saved["versions"]["stereo"]["target"] == "ebu-r128"
    assert saved["versions"]["binaural"]["files"]["mix.m4a"].endswith(os.path.join("binaural", "mix.m4a"))
    assert (out / "stereo" / "mix.report.json").exists() and (out / "binaural" / "mix.report.txt").exists()
    assert "version 'binaural' to apple-podcasts: PASSED" in str(done)


def test_a_version_that_cannot_be_delivered_withholds_the_whole_package(graph, tmp_path):
    impossible = LoudnessTarget(name="too-loud", integrated_lufs=-4.0, true_peak_dbtp=-1.0)
    versions = {"stereo": Version("ebu-r128"), "loud": Version(impossible, binaural=True)}
    done = deliver(graph, "ebu-r128", tmp_path, versions=versions, bext=False, tail_s=0.0)
    assert not done.passed and not done.files
    assert not done.versions["loud"].passed and not done.versions["loud"].files
    held = done.versions["stereo"]
    assert held.files == {} and any(r.startswith("withheld: version 'loud' could") for r in held.reasons)
    assert any("withheld" in r for r in done.reasons)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with pytest.raises(TargetNotMetError):
        deliver(graph, "ebu-r128", tmp_path, versions=versions, bext=False, tail_s=0.0, strict=True)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "versions, error, match",
    [
        ({"../up": Version("ebu-r128")}, ParameterError, r"versions name '\.\./up' is not a plain folder"),
        ({"s": "stereo"}, ParameterError, r"versions\['s'\]='stereo'; expected a sonicmix"),
        ({"s": Version("ebu-r128", layout="22.2")}, LayoutError,
         r"layout='22\.2'\) is not a fold-down of the '7\.1\.4' printmaster; expected one of \['7\.1', "),
        ({"b": Version("ebu-r128", binaural=True, sofa="/nonexistent/hrirs.sofa")}, SofaError, "hrirs.sofa"),
    ],
)
def test_bad_versions_fail_before_anything_is_written(graph, tmp_path, versions, error, match):
    with pytest.raises(error, match=match):
        deliver(graph, "ebu-r128", tmp_path / "out", versions=versions)
    assert not (tmp_path / "out").exists()


def test_version_parameters_are_checked(graph):
    with pytest.raises(ParameterError, match=r"a binaural render is two ears"):
        Version("spotify", binaural=True, layout="5.1")
    with pytest.raises(ParameterError, match=r"sofa= is given for a fold-down"):
        Version("spotify", sofa="x.sofa")
    with pytest.raises(ParameterError, match=r"stems=1; expected True or False"):
        Version("spotify", stems=1)
    with pytest.raises(ParameterError, match=r"does not take versions"):
        deliver_all(graph, {"spotify": "wav"}, "unused", versions={"s": Version("spotify")})


SESSION = """[session]
target = "ebu-r128"
subtype = "FLOAT"
bext = false
tail_s = 0.0
versions = {stereo = {target = "ebu-r128", layout = "stereo"}, ears = {target = "spotify", binaural = true}}

[tracks.bed]
layout = "5.1"
[[tracks.bed.clips]]
file = "bed.wav"

[buses.master]
layout = "5.1"
"""


def test_a_session_names_its_versions_and_renders_them(tmp_path, rng):
    from sonicmix.session import dumps_session, load_session, render_session

    sm.write(tmp_path / "bed.wav", (rng.standard_normal((6, 3 * FS)) * 0.05).astype(np.float32), FS)
    (tmp_path / "mix.toml").write_text(SESSION)
    session = load_session(tmp_path / "mix.toml")
    assert session.options["versions"]["ears"] == {"target": "spotify", "binaural": True}
    again = dumps_session(session, folder=tmp_path)
    assert "versions = {stereo = {target = " in again and dumps_session(
        load_session_text(again, tmp_path), folder=tmp_path
    ) == again
    done = render_session(session, tmp_path / "out")
    assert done.passed, done.reasons
    assert all((tmp_path / "out" / v / "mix.wav").exists() for v in ("stereo", "ears"))
    assert done.versions["ears"].target.name == "spotify"


def load_session_text(text, folder):
    from sonicmix.session import loads_session

    return loads_session(text, folder=folder)


@pytest.mark.parametrize(
    "versions, match",
    [
        ('"stereo"', r"session\.versions: is a string; expected a table"),
        ('{s = {layout = "stereo"}}', r"session\.versions\.s=\{'layout': 'stereo'\}; expected a table with"),
        ('{s = {target = "ebu-r128", lay = "stereo"}}', r"versions\.s: has unknown keys \['lay'\]"),
        ('{s = {target = "ebu-r128", layout = "5.2"}}', r"session\.versions\.s: .*'5\.2'"),
        ('{"a/b" = {target = "ebu-r128"}}', r"session\.versions: versions name 'a/b' is not a plain"),
    ],
)
def test_a_bad_versions_table_names_its_key(versions, match):
    from sonicmix.session import SessionError, loads_session

    text = SESSION.replace(SESSION.splitlines()[5], f"versions = {versions}")
    with pytest.raises(SessionError, match=match):
        loads_session(text)


def test_the_command_line_delivers_versions(tmp_path, rng, capsys):
    from sonicmix.cli import EXIT_ERROR, EXIT_OK, main

    sm.write(tmp_path / "bed.wav", (rng.standard_normal((6, 3 * FS)) * 0.05).astype(np.float32), FS)
    (tmp_path / "mix.toml").write_text(SESSION.replace(SESSION.splitlines()[5], ""))
    argv = ["render", str(tmp_path / "mix.toml"), "-o", str(tmp_path / "out")]
    assert main([*argv, "--versions", "st=ebu-r128:stereo,hp=spotify:binaural"]) == EXIT_OK
    assert "version 'hp' to spotify: PASSED" in capsys.readouterr().out
    assert (tmp_path / "out" / "st" / "mix.wav").exists() and (tmp_path / "out" / "hp" / "mix.wav").exists()
    assert main([*argv, "--versions", "st=ebu-r128", "--force"]) == EXIT_ERROR
    assert "--versions item 'st=ebu-r128'; expected NAME=TARGET:LAYOUT" in capsys.readouterr().err


def test_a_version_whose_target_limits_the_ldr_gets_the_speech_detector(tmp_path):
    """No dialogue stem: a version to EBU R 128 s4 is gated by the detector even when the printmaster's
    target does not limit the loudness-to-dialogue ratio."""
    voice = dialogue.concatenate(dialogue.prompts(3, FS, seed=1), FS, seed=1)[0][: 6 * FS]
    voice = (0.3 * voice / np.abs(voice).max()).astype(np.float32)[None]
    bed = (0.02 * np.random.default_rng(2).standard_normal((6, 6 * FS))).astype(np.float32)
    mix = sm.Graph(
        tracks={
            "bed": sm.Track(clips=(sm.Clip(source=sm.ArraySource(bed, FS)),), layout="5.1"),
            "voice": sm.Track(clips=(sm.Clip(source=sm.ArraySource(voice, FS)),)),
        },
        buses={"master": sm.Bus(output=None, layout="5.1")},
    )
    s4 = {"st": Version("ebu-r128-s4")}
    done = deliver(mix, "ebu-r128", tmp_path, versions=s4, tail_s=0.0, reports=False)
    assert done.passed, done.reasons
    assert abs(done.versions["st"].ldr_lu) < 5.0


def test_a_version_named_like_a_printmaster_file_is_refused_before_the_render(graph, tmp_path):
    for name in ("mix.wav", "mix.report.json", "mix.dialogue.wav"):
        with pytest.raises(ParameterError, match=rf"versions\['{name}'\]: the version's folder .* would be"):
            deliver(graph, "ebu-r128", tmp_path / "out", versions={name: Version("ebu-r128")})
    assert not (tmp_path / "out").exists()


def test_errors_name_the_version_at_fault(graph, tmp_path):
    impossible = LoudnessTarget(name="too-loud", integrated_lufs=-4.0, true_peak_dbtp=-1.0)
    five = {"five": Version("spotify", layout="5.1", formats="mp3")}
    with pytest.raises(ParameterError, match=r"versions\['five'\]: format 'mp3:.*' holds at most 2 channels"):
        deliver(graph, "ebu-r128", tmp_path, versions=five)
    with pytest.raises(ParameterError, match=r"versions\['st'\]: target 'netflix' is dialogue-gated but "
                       r"none .* among the printmaster's stems \['fx'\]"):
        deliver(graph, "ebu-r128", tmp_path, stems=["fx"], versions={"st": Version("netflix")})
    with pytest.raises(TargetNotMetError, match=r"version 'loud' \(too-loud\): "):
        deliver(graph, "ebu-r128", tmp_path, versions={"loud": Version(impossible)}, strict=True, tail_s=0.0)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    from sonicmix.cli import _versions_spec

    with pytest.raises(ParameterError, match=r"--versions names 'a' twice"):
        _versions_spec("a=ebu-r128:stereo,a=spotify:binaural")


def test_a_session_version_takes_a_target_table_and_refuses_deliver_to(tmp_path, rng):
    from sonicmix.session import SessionError, loads_session, render_session

    custom = 'versions = {st = {target = {integrated_lufs = -16.0, true_peak_dbtp = -1.5, name = "pod"}}}'
    session = loads_session(SESSION.replace(SESSION.splitlines()[5], custom), folder=tmp_path)
    sm.write(tmp_path / "bed.wav", (rng.standard_normal((6, 3 * FS)) * 0.05).astype(np.float32), FS)
    with pytest.raises(SessionError, match=r"session\.versions: cannot go with deliver_to"):
        render_session(session, tmp_path / "out", deliver_to={"spotify": ["wav"]})
    done = render_session(session, tmp_path / "out")
    assert done.versions["st"].target.name == "pod" and done.versions["st"].passed
    bad = 'versions = {st = {target = {integrated_lufs = "loud"}}}'
    with pytest.raises(SessionError, match=r"session\.versions\.st\.target"):
        loads_session(SESSION.replace(SESSION.splitlines()[5], bad))
