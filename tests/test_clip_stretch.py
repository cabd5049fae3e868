"""Clips played at another speed (rate) and pitch (semitones) on the timeline, and PitchShift in a graph."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sonicmix.errors import ParameterError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.nodes.fade import fade_curve
from sonicmix.nodes.stretch import PitchShift
from sonicmix.renderer import render
from sonicmix.session import SessionError, dumps_session, loads_session
from sonicmix.timeline import ArraySource, Clip, ClipReader, FileSource, OpenArray
from tests.nodes.test_stretch import peak_hz

FS = 48000


def _tone(f0=220.0, seconds=2.0, name="tone"):
    t = np.arange(int(seconds * FS)) / FS
    audio = sum(0.3 / h * np.sin(2 * np.pi * f0 * h * t) for h in (1, 2, 3))
    return ArraySource(audio[None].astype(np.float32), FS, name=name)


def _graph(*clips, chain=()):
    return Graph(
        tracks={"t": Track(clips=clips, layout="mono", chain=chain)}, buses={"master": Bus(output=None)}
    )


def _mix(graph, **kw):
    return render(graph, sample_rate=FS, tail_s=0.0, **kw).master


@pytest.mark.parametrize(
    ("rate", "semitones"), [(2.0, 0.0), (0.75, 0.0), (1.0, 7.0), (1.5, -5.0), (2.0, 12.0)]
)
def test_a_stretched_clip_has_the_length_and_pitch_asked_for_and_streams(rate, semitones):
    source = _tone(seconds=2.0)
    clip = Clip(source=source, start_s=0.25, rate=rate, semitones=semitones)
    whole = _mix(_graph(clip))
    # the timeline length is the source's over the rate, to the sample
    assert round(2.0 * FS / rate) == round(clip.length_s() * FS)
    assert whole.shape[1] == round(0.25 * FS) + round(2.0 * FS / rate)
    # the pitch moves by the semitones only: rate keeps it (1 cent, as the node's tests)
    found = peak_hz(whole, start=round(0.25 * FS) + 4096)
    assert abs(1200 * np.log2(found / (220.0 * 2 ** (semitones / 12)))) < 1.0
    for block in (1001, 4097):  # odd blocks give the whole render's samples
        np.testing.assert_allclose(_mix(_graph(clip), block_size=block), whole, rtol=0, atol=1e-10)


def test_fades_and_gain_apply_in_timeline_time_offsets_in_source_time():
    source = _tone(seconds=3.0)
    plain = Clip(source=source, offset_s=1.0, rate=2.0)
    y = _mix(_graph(plain))
    assert y.shape[1] == FS  # (3 s - 1 s) / 2
    # The offset is source time: the same as a source that starts one second later.
    later = ArraySource(source.audio[:, FS:], FS, name="later")
    np.testing.assert_array_equal(_mix(_graph(Clip(source=later, rate=2.0))), y)
    # Fades and gain are timeline time: the faded clip is the plain one times the curve.
    faded = _mix(_graph(
        Clip(source=source, offset_s=1.0, rate=2.0, fade_in_s=0.25, fade_out_s=0.5, gain_db=-6.0)
    ))
    q = np.arange(FS)
    curve = np.ones(FS)
    fade_in, fade_out = FS // 4, FS // 2
    curve[:fade_in] = fade_curve((q[:fade_in] + 0.5) / fade_in, "linear")
    remaining = FS - q[-fade_out:]
    curve[-fade_out:] = fade_curve((remaining - 0.5) / fade_out, "linear")
    np.testing.assert_allclose(faded, y * curve * 10 ** (-6 / 20), rtol=0, atol=1e-6)


def test_a_file_clip_stretches_block_by_block_with_bounded_memory(tmp_path):
    path = tmp_path / "long.wav"
    audio = _tone(seconds=3.0).audio[0]
    sf.write(path, audio, FS, subtype="FLOAT")
    clip = Clip(source=FileSource(str(path)), rate=0.8, semitones=3.0)
    assert clip.length_s() == pytest.approx(3.75)
    # the reader's buffers stay a few frames long while 3.75 s are read in blocks
    reader = ClipReader(clip, FS, 0, 0, "linear", "linear", OpenArray(ArraySource(audio[None], FS), FS))
    out = np.zeros((1, 4096))
    longest = 0
    for start in range(0, round(3.75 * FS), 4096):
        out[:] = 0.0
        reader.add_into(out, start)
        stream = reader.stretch.stream
        longest = max(longest, stream.x.shape[1], stream.s.shape[1])
    assert longest < 4 * 8192
    # and the file renders in blocks to the samples of the array
    from_file = _mix(_graph(clip), block_size=2048)
    from_array = _mix(_graph(Clip(source=ArraySource(audio[None], FS), rate=0.8, semitones=3.0)))
    np.testing.assert_allclose(from_file, from_array, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate", 0.0, r"clip of 'tone': rate=0 is out of range; expected rate >= 0.25"),
        ("rate", -1.0, r"clip of 'tone': rate=-1 is out of range"),
        ("rate", float("nan"), r"clip of 'tone': rate=nan is not finite"),
        ("rate", float("inf"), r"clip of 'tone': rate=inf is not finite"),
        ("rate", 48000, r"rate=48000 is out of range.*not a sample rate"),
        ("semitones", 30.0, r"clip of 'tone': semitones=30 is out of range.*12 semitones is one octave"),
        ("semitones", float("nan"), r"clip of 'tone': semitones=nan is not finite"),
    ],
)
def test_bad_rate_or_semitones_is_a_named_error(field, value, message):
    with pytest.raises(ParameterError, match=message):
        Clip(source=_tone(seconds=0.1), **{field: value})


SESSION = """
[session]
target = "ebu-r128"
[tracks.dx]
[[tracks.dx.clips]]
file = "dx.wav"
rate = 1.25
semitones = -3.5
[buses.master]
"""


def test_sessions_save_and_load_rate_and_semitones():
    session = loads_session(SESSION, folder="/audio")
    clip = session.graph.tracks["dx"].clips[0]
    assert (clip.rate, clip.semitones) == (1.25, -3.5)
    text = dumps_session(session, folder="/audio")
    assert "rate = 1.25" in text and "semitones = -3.5" in text
    assert loads_session(text, folder="/audio").graph == session.graph


def test_a_session_with_a_bad_rate_names_the_track_and_clip():
    expected = r"tracks\.dx\.clips\[0\] \(Clip\): clip of 'dx\.wav': rate=0 is out of range"
    with pytest.raises(SessionError, match=expected):
        loads_session(SESSION.replace("rate = 1.25", "rate = 0.0"), folder="/audio")


def test_pitch_shift_in_a_chain_is_compensated_against_a_dry_track():
    """A tone with an onset, pitch-shifted on one track and dry on another: the graph delays the dry
    track by the shifter's latency, so both onsets come out together (within 4 ms)."""
    t = np.arange(FS) / FS
    burst = np.where(t >= 0.5, np.sin(2 * np.pi * 300 * t), 0.0)[None].astype(np.float32)
    source = ArraySource(burst, FS, name="burst")
    shifter = PitchShift(semitones=5.0)
    graph = Graph(
        tracks={
            "shifted": Track(clips=(Clip(source=source),), layout="mono", chain=(shifter,), output="a"),
            "dry": Track(clips=(Clip(source=source),), layout="mono", output="b"),
        },
        buses={"a": Bus(output="master"), "b": Bus(output="master"), "master": Bus(output=None)},
    )
    result = render(graph, sample_rate=FS, tail_s=0.2)
    assert result.latency_samples == shifter.latency_samples(FS)
    onsets = []
    for name in ("a", "b"):
        y = np.abs(result.stems[name][0])
        envelope = np.maximum.accumulate(y)
        onsets.append(int(np.argmax(envelope > 0.5)))
    assert abs(onsets[0] - onsets[1]) < 0.004 * FS
    np.testing.assert_allclose(render(graph, sample_rate=FS, tail_s=0.2, block_size=777).master,
                               result.master, rtol=0, atol=1e-6)


def test_an_otio_linear_time_warp_becomes_the_clip_rate(tmp_path):
    """OTIO lays a clip out by its source_range; its LinearTimeWarp says how fast the media plays."""
    otio = pytest.importorskip("opentimelineio")
    from sonicmix.interchange.otio import OTIOImportError, read_otio

    path = tmp_path / "tone.wav"
    sf.write(path, _tone(seconds=6.0).audio[0], FS, subtype="FLOAT")

    def track(*effects, track_effects=()):
        clip = otio.schema.Clip(
            name="fast",
            media_reference=otio.schema.ExternalReference(target_url=str(path)),
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(24, 24), otio.opentime.RationalTime(48, 24)
            ),
            effects=list(effects),
        )
        t = otio.schema.Track(name="DX", kind=otio.schema.TrackKind.Audio)
        t.effects.extend(track_effects)
        t.append(clip)
        return otio.schema.Timeline(name="cut", tracks=[t])

    imported = read_otio(track(otio.schema.LinearTimeWarp(time_scalar=2.0)), sample_rate=FS)
    (clip,) = imported.graph.tracks["DX"].clips
    assert (clip.start_s, clip.offset_s, clip.duration_s, clip.rate) == (0.0, 1.0, 2.0, 2.0)
    assert not any("past the end" in note for note in imported.notes)  # reads media 1 s to 5 s of 6
    with pytest.raises(OTIOImportError, match=r"track 'DX' has a LinearTimeWarp .*expected speed 1"):
        read_otio(track(track_effects=[otio.schema.LinearTimeWarp(time_scalar=2.0)]), sample_rate=FS)


def test_time_stretch_in_a_chain_is_refused_with_the_clip_rate_as_the_way():
    from sonicmix.graph import GraphError
    from sonicmix.nodes.stretch import TimeStretch

    with pytest.raises(GraphError, match=r"'t' has TimeStretch in its chain, which changes the number of"):
        _graph(Clip(source=_tone(seconds=0.1)), chain=(TimeStretch(rate=1.5),))


def test_resample_in_a_chain_is_refused_naming_the_render_rate():
    """Once a broadcasting error deep in the renderer; now refused when the graph is built."""
    from sonicmix.graph import GraphError
    from sonicmix.nodes.resample import Resample

    with pytest.raises(GraphError, match=r"'t' has Resample in its chain.*render\(sample_rate="):
        _graph(Clip(source=_tone(seconds=0.1)), chain=(Resample(target_rate_hz=44100),))


def test_rendering_a_session_with_a_bad_rate_writes_nothing(tmp_path, capsys):
    from sonicmix.cli import main

    sf.write(tmp_path / "dx.wav", np.zeros(FS // 10, np.float32), FS, subtype="FLOAT")
    session = tmp_path / "episode.toml"
    session.write_text(SESSION.replace("rate = 1.25", "rate = -2.0"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["render", str(session), "-o", str(out)]) == 2
    assert "tracks.dx.clips[0] (Clip): clip of 'dx.wav': rate=-2 is out of range" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dx.wav", "episode.toml"]
