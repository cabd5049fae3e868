"""OpenTimelineIO import: exact placement, transitions, stems, rendering, notes and every error path.

Expected sample positions are computed by hand from frame counts (at 48 kHz one frame is 2000
samples at 24 fps, 1920 at 25 fps and 2002 at 24000/1001 fps), never read back from the importer.
Media are 32-bit float WAVs written with ``sonicmix.io`` so sample values survive exactly.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

otio = pytest.importorskip("opentimelineio")

import sonicmix.io as sio  # noqa: E402
from sonicmix.errors import GraphError  # noqa: E402
from sonicmix.interchange.otio import OTIOImport, OTIOImportError, default_stem, read_otio  # noqa: E402
from sonicmix.renderer import render  # noqa: E402
from sonicmix.session import load_session, save_session  # noqa: E402

SR = 48_000
ROOT = Path(__file__).resolve().parents[1]


# -------------------------------------------------------------------------------------- helpers


def rt(value: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(value, rate)


def trange(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start, rate), rt(duration, rate))


def write_wav(path: Path, audio: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.write(path, np.asarray(audio, np.float32), SR, subtype="FLOAT")
    return str(path)


def clip(name, url, start, duration, rate, *, available=None, **kwargs):
    """An OTIO clip of ``url`` from ``start`` for ``duration`` (frames at ``rate``)."""
    reference = otio.schema.ExternalReference(target_url=url, available_range=available)
    return otio.schema.Clip(
        name=name, media_reference=reference, source_range=trange(start, duration, rate), **kwargs
    )


def gap(duration, rate):
    return otio.schema.Gap(source_range=trange(0, duration, rate))


def audio_track(name, *items, **kwargs):
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio, **kwargs)
    for item in items:
        track.append(item)
    return track


def timeline(*tracks, global_start=None, name="cut"):
    return otio.schema.Timeline(name=name, tracks=list(tracks), global_start_time=global_start)


def in_samples(seconds: float, sample_rate: int = SR) -> int:
    """Seconds that must be a whole number of samples, as that number (checked to 1e-6 sample)."""
    n = seconds * sample_rate
    assert abs(n - round(n)) < 1e-6, f"{seconds} s is {n} samples, not a whole number"
    return round(n)


def placement(c, sample_rate: int = SR) -> tuple[int, int, int]:
    return (
        in_samples(c.start_s, sample_rate),
        in_samples(c.offset_s, sample_rate),
        in_samples(c.duration_s, sample_rate),
    )


@pytest.fixture
def media(tmp_path) -> dict[str, str]:
    """Mono float WAVs: 10 s of silence, 4 s of ones, and 3 s with two impulses."""
    impulses = np.zeros((1, 3 * SR))
    impulses[0, 30_000] = 0.5
    impulses[0, 70_000] = 0.25
    return {
        "silence": write_wav(tmp_path / "media" / "silence.wav", np.zeros((1, 10 * SR))),
        "ones": write_wav(tmp_path / "media" / "ones.wav", np.ones((1, 4 * SR))),
        "impulses": write_wav(tmp_path / "media" / "impulses.wav", impulses),
    }


# -------------------------------------------------------------------------------------- placement


def test_24fps_gaps_and_a_one_hour_global_start(media):
    rate = 24
    track = audio_track(
        "DX",
        gap(30, rate),
        clip("a", media["silence"], 48, 72, rate),  # 2 s into the file, 3 s long
        gap(6, rate),
        clip("b", media["silence"], 0, 24, rate),
    )
    cut = read_otio(timeline(track, global_start=rt(86_400, rate)))  # 01:00:00:00
    a, b = cut.graph.tracks["DX"].clips
    assert placement(a) == (30 * 2000, 48 * 2000, 72 * 2000)
    assert placement(b) == ((30 + 72 + 6) * 2000, 0, 24 * 2000)
    # sonicmix time 0 is the timeline's start, whose timecode is kept
    assert cut.global_start_s == 3600.0
    assert a.fade_in_s == a.fade_out_s == 0.0 and a.gain_db == 0.0
    assert a.source.path == media["silence"]


def test_25fps_offset_is_measured_from_the_media_timecode(media):
    rate = 25
    tc = 10 * 3600 * rate  # the file's available range starts at 10:00:00:00
    available = trange(tc, 10 * rate, rate)
    track = audio_track(
        "MX", gap(13, rate), clip("m", media["silence"], tc + 50, 37, rate, available=available)
    )
    (m,) = read_otio(timeline(track)).graph.tracks["MX"].clips
    assert placement(m) == (13 * 1920, 50 * 1920, 37 * 1920)


def test_ntsc_rate_is_exact_and_source_ranges_may_be_in_samples(media):
    rate = 24000 / 1001  # the double OTIO stores for 23.976 fps
    available = trange(0, 10 * SR, SR)
    track = audio_track(
        "DX",
        gap(1001, rate),
        clip("frames", media["silence"], 24, 3, rate, available=available),
        clip("samples", media["silence"], 12_345, 24_000, SR, available=available),
    )
    first, second = read_otio(timeline(track)).graph.tracks["DX"].clips
    # 1001 frames of 1001/24000 s = 1001 * 2002 samples at 48 kHz, exactly
    assert placement(first) == (1001 * 2002, 24 * 2002, 3 * 2002)
    assert placement(second) == ((1001 + 3) * 2002, 12_345, 24_000)


def test_positions_not_durations_are_rounded(media):
    # at 44.1 kHz a 24 fps frame is 1837.5 samples: frame edges 1, 2 fall at 1837.5 and 3675 samples
    track = audio_track("DX", gap(1, 24), clip("x", media["silence"], 0, 1, 24))
    (x,) = read_otio(timeline(track), sample_rate=44_100).graph.tracks["DX"].clips
    start, _, duration = placement(x, 44_100)
    assert start == 1838  # 1837.5 rounds half up, as the renderer rounds
    assert start + duration == 3675  # the end is rounded as a position, so abutting clips abut


def test_dissolve_overlaps_the_clips_around_the_cut(media):
    rate = 24
    track = audio_track(
        "DX",
        clip("a", media["silence"], 24, 48, rate),
        otio.schema.Transition(
            transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
            in_offset=rt(6, rate),
            out_offset=rt(12, rate),
        ),
        clip("b", media["silence"], 100, 48, rate),
    )
    cut = read_otio(timeline(track))
    a, b = cut.graph.tracks["DX"].clips
    # a plays 12 frames past the cut (into its handle); b starts 6 frames before it
    assert placement(a) == (0, 24 * 2000, (48 + 12) * 2000)
    assert placement(b) == ((48 - 6) * 2000, (100 - 6) * 2000, (48 + 6) * 2000)
    # the track's own cross-fade covers the overlap; no extra clip fades
    assert a.fade_in_s == a.fade_out_s == b.fade_in_s == b.fade_out_s == 0.0
    assert cut.graph.tracks["DX"].crossfade_curve == "equal_power"
    assert not any("read as a dissolve" in n for n in cut.notes)


def test_transition_next_to_a_gap_is_a_fade_of_its_full_length(media):
    rate = 24
    dissolve = otio.schema.Transition(in_offset=rt(6, rate), out_offset=rt(6, rate))
    track = audio_track(
        "DX", gap(24, rate), dissolve, clip("b", media["silence"], 48, 48, rate), dissolve.clone()
    )
    (b,) = read_otio(timeline(track)).graph.tracks["DX"].clips
    assert placement(b) == (18 * 2000, 42 * 2000, (6 + 48 + 6) * 2000)
    assert in_samples(b.fade_in_s) == in_samples(b.fade_out_s) == 12 * 2000


def test_track_source_range_shifts_and_trims(media):
    rate = 24
    track = audio_track(
        "DX",
        clip("early", media["silence"], 0, 24, rate),
        clip("cut", media["silence"], 0, 48, rate),
        source_range=trange(36, 24, rate),  # the track shows its frames 36..60
    )
    cut = read_otio(timeline(track))
    (only,) = cut.graph.tracks["DX"].clips
    assert placement(only) == (0, 12 * 2000, 24 * 2000)
    assert any("'early'" in n and "left out" in n for n in cut.notes)
    assert any("'cut'" in n and "trimmed" in n for n in cut.notes)


# -------------------------------------------------------------------------------------- rendering


def test_render_puts_impulses_where_otio_says(media, tmp_path):
    rate = 25
    impulse_clip = clip(
        "hits",
        "media/impulses.wav",
        10,
        45,
        rate,  # file samples 19200..105600
        metadata={"sonicmix": {"gain_db": -20 * math.log10(2)}},  # exactly half
    )
    track = audio_track("FX", gap(20, rate), impulse_clip)
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline(track, global_start=rt(90_000, rate)), str(path))
    cut = read_otio(path, layout="mono")
    out = render(cut.graph, sample_rate=SR).master[0]
    # timeline sample = 20 frames * 1920 + (file sample - 10 frames * 1920)
    expected = [20 * 1920 + 30_000 - 10 * 1920, 20 * 1920 + 70_000 - 10 * 1920]
    assert np.flatnonzero(out).tolist() == expected
    # float32 WAV and 0.5 gain are exact; 1e-6 covers float32 rounding of the dB -> gain conversion
    np.testing.assert_allclose(out[expected], [0.25, 0.125], atol=1e-6)
    assert len(out) == (20 + 45) * 1920


@pytest.mark.parametrize("rate", [24, 25])
def test_linear_dissolve_of_identical_audio_is_flat_and_sits_on_the_overlap(media, rate):
    frame = SR // rate
    dissolve = otio.schema.Transition(in_offset=rt(5, rate), out_offset=rt(7, rate))
    track = audio_track(
        "DX",
        clip("a", media["ones"], 10, 20, rate),
        dissolve,
        clip("b", media["ones"], 30, 20, rate),
    )
    cut = read_otio(timeline(track), layout="mono", crossfade_curve="linear")
    out = render(cut.graph, sample_rate=SR).master[0]
    assert len(out) == 40 * frame
    # linear fade-out + fade-in of the same material sum to 1 at every sample only if both fades
    # span exactly the same samples; float32 rounding of the gains stays below 1e-6
    np.testing.assert_allclose(out, 1.0, atol=1e-6)

    # with silence as the incoming clip, the overlap is [cut - in, cut + out): 1 before, 0 after
    track_b = audio_track(
        "DX",
        clip("a", media["ones"], 10, 20, rate),
        dissolve.clone(),
        clip("b", media["silence"], 30, 20, rate),
    )
    cut_b = read_otio(timeline(track_b), layout="mono", crossfade_curve="linear")
    out = render(cut_b.graph, sample_rate=SR).master[0]
    lo, hi = (20 - 5) * frame, (20 + 7) * frame
    assert np.all(out[:lo] == 1.0)
    assert np.all(out[hi:] == 0.0)
    ramp = out[lo:hi]
    assert np.all((ramp > 0) & (ramp < 1)) and np.all(np.diff(ramp) < 0)


# -------------------------------------------------------------------------------------- stems


def five_tracks(url):
    names = ["Dialogue 1", "DX 2", "MX", "Birds", ""]
    return timeline(*[audio_track(n, clip("c", url, 0, 24, 24)) for n in names])


def test_default_stems_by_name(media):
    cut = read_otio(five_tracks(media["silence"]))
    assert cut.stems == {"dialogue": ("Dialogue 1", "DX 2"), "music": ("MX",), "effects": ("Birds", "A5")}
    graph = cut.graph
    assert {n: t.output for n, t in graph.tracks.items()} == {
        "Dialogue 1": "dialogue",
        "DX 2": "dialogue",
        "MX": "music",
        "Birds": "effects",
        "A5": "effects",
    }
    assert all(graph.buses[s].output == "master" for s in ("dialogue", "music", "effects"))
    assert graph.buses["master"].output is None
    assert cut.tracks["A5"] == "A5"


def test_default_stem_rules():
    assert default_stem("VO_2") == "dialogue"
    assert default_stem("dlg") == "dialogue"
    assert default_stem("Score") == "music"
    assert default_stem("Volume test") == "effects"  # "vo" must be a whole word


def test_stems_mapping_and_fallback_note(media):
    cut = read_otio(five_tracks(media["silence"]), stems={"Birds": "ambience", "A5": "master"})
    assert cut.graph.tracks["Birds"].output == "ambience"
    assert cut.graph.tracks["A5"].output == "master"  # "master" routes straight to the master bus
    assert cut.graph.buses["ambience"].output == "master"
    assert any("'MX' is not in stems; routed to 'music'" in n for n in cut.notes)


def test_stems_callable(media):
    cut = read_otio(five_tracks(media["silence"]), stems=lambda name, index: f"group{index % 2}")
    assert [t.output for t in cut.graph.tracks.values()] == ["group0", "group1", "group0", "group1", "group0"]


def test_unknown_stem_track_name_suggests_the_closest(media):
    with pytest.raises(OTIOImportError, match=r"'Dialog 1'.*did you mean 'Dialogue 1'"):
        read_otio(five_tracks(media["silence"]), stems={"Dialog 1": "dialogue"})
    with pytest.raises(GraphError, match="not an audio track"):  # an OTIOImportError is a GraphError
        read_otio(five_tracks(media["silence"]), stems={"Nope": "music"})


@pytest.mark.parametrize("stems", [{"MX": ""}, lambda name, index: None])
def test_stem_names_must_be_strings(media, stems):
    with pytest.raises(OTIOImportError, match="expected the name of a stem bus"):
        read_otio(five_tracks(media["silence"]), stems=stems)


def test_stems_of_another_type_are_refused(media):
    with pytest.raises(OTIOImportError, match=r"stems=\['MX'\]; expected a mapping"):
        read_otio(five_tracks(media["silence"]), stems=["MX"])


def test_track_names_are_unique_and_never_a_bus_name(media):
    url = media["silence"]
    tl = timeline(*[audio_track(n, clip("c", url, 0, 24, 24)) for n in ("music", "FX", "FX")])
    cut = read_otio(tl, stems={"music": "music"})
    assert list(cut.graph.tracks) == ["music (track)", "FX", "FX 2"]
    assert cut.tracks == {"music (track)": "music", "FX": "FX", "FX 2": "FX"}
    assert sum("is called" in n for n in cut.notes) == 2


def test_layout_follows_the_media(tmp_path):
    stereo = write_wav(tmp_path / "st.wav", np.zeros((2, SR)))
    surround = write_wav(tmp_path / "51.wav", np.zeros((6, SR)))
    tl = timeline(
        audio_track("MX", clip("m", stereo, 0, 12, 24)), audio_track("FX", clip("f", surround, 0, 12, 24))
    )
    graph = read_otio(tl).graph
    assert graph.tracks["MX"].layout == "stereo" and graph.tracks["FX"].layout == "5.1"
    assert graph.buses["master"].layout == "5.1"
    assert read_otio(tl, layout="stereo").graph.buses["music"].layout == "stereo"


# -------------------------------------------------------------------------------------- files and paths


def test_relative_and_file_urls_resolve_against_the_otio_folder_or_media_root(media, tmp_path):
    absolute_url = otio.url_utils.url_from_filepath(media["ones"])
    assert absolute_url.startswith("file://")
    track = audio_track(
        "DX",
        clip("rel", "media/silence.wav", 0, 12, 24),
        clip("url", absolute_url, 0, 12, 24),
    )
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "cut.otio"
    otio.adapters.write_to_file(timeline(track), str(path))
    with pytest.raises(OTIOImportError, match=re.escape(str(folder / "media" / "silence.wav"))):
        read_otio(path)  # relative to project/, where there is no media folder
    rel, url = read_otio(str(path), media_root=tmp_path).graph.tracks["DX"].clips
    assert rel.source.path == media["silence"]
    assert url.source.path == media["ones"]


def test_otiod_bundle_media_resolve_inside_the_bundle(media, tmp_path):
    url = otio.url_utils.url_from_filepath(media["ones"])
    bundle = tmp_path / "cut.otiod"  # OTIO's bundle writer copies the media into bundle/media/
    otio.adapters.write_to_file(timeline(audio_track("DX", clip("c", url, 0, 12, 24))), str(bundle))
    (c,) = read_otio(bundle).graph.tracks["DX"].clips
    assert c.source.path == str(bundle / "media" / "ones.wav")


def test_import_works_without_reading_media_when_asked(tmp_path):
    track = audio_track("DX", clip("ghost", "nowhere/ghost.wav", 0, 24, 24))
    (ghost,) = read_otio(timeline(track), check_media=False, media_root=tmp_path).graph.tracks["DX"].clips
    assert ghost.source.path == str(tmp_path / "nowhere" / "ghost.wav")


def test_session_delivers_stems_and_round_trips(media, tmp_path):
    cut = read_otio(five_tracks(media["silence"]), stems={"Birds": "ambience"})
    session = cut.session(target="ebu-r128", me_mix=True)
    assert session.options["stems"] == ["dialogue", "music", "ambience", "effects"]
    assert session.options["dialogue"] == ["dialogue"]
    assert session.options["name"] == "cut" and session.options["me_mix"] is True
    assert session.sample_rate == SR and session.target.name == "ebu-r128"
    save_session(session, tmp_path / "cut.toml")
    assert load_session(tmp_path / "cut.toml").graph == cut.graph


# -------------------------------------------------------------------------------------- notes


def test_what_is_left_out_is_noted(media):
    effect_clip = clip(
        "fx", media["silence"], 0, 24, 24, effects=[otio.schema.Effect(effect_name="AudioLevel")]
    )
    effect_clip.markers.append(otio.schema.Marker(name="sync", marked_range=trange(0, 1, 24)))
    disabled = clip("off", media["silence"], 0, 24, 24)
    disabled.enabled = False
    speed_one = clip(
        "same", media["silence"], 0, 24, 24, effects=[otio.schema.LinearTimeWarp(time_scalar=1.0)]
    )
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    muted = audio_track("DX", clip("d", media["silence"], 0, 24, 24))
    muted.enabled = False
    wipe = otio.schema.Transition(transition_type="Custom", in_offset=rt(2, 24), out_offset=rt(2, 24))
    fx = audio_track(
        "FX", effect_clip, disabled, speed_one, wipe, clip("after", media["silence"], 30, 24, 24)
    )
    cut = read_otio(timeline(video, muted, fx))
    text = "\n".join(cut.notes)
    assert "1 non-audio track(s) ignored: Video track 'V1'" in text
    assert "effect 'AudioLevel' (Effect) ignored" in text
    assert "1 marker(s) ignored" in text
    assert "clip 'off' (item 1, at 1 s): disabled in the timeline; left out" in text
    assert "track 'DX' is disabled in the timeline; imported muted" in text
    assert "transition type 'Custom' read as a dissolve" in text
    assert text.count("read as a dissolve") == 1  # one note per transition, not per clip
    assert "LinearTimeWarp" not in text  # speed 1 is no change
    assert cut.graph.tracks["DX"].mute and not cut.graph.tracks["FX"].mute
    assert len(cut.graph.tracks["FX"].clips) == 3
    assert isinstance(cut, OTIOImport) and "notes (" in str(cut)


# -------------------------------------------------------------------------------------- errors


def test_missing_media_reference_names_track_and_clip(media):
    lost = otio.schema.Clip(name="lost", source_range=trange(0, 24, 24))
    with pytest.raises(OTIOImportError, match=r"track 'DX', clip 'lost' \(item 1, at 1 s\) has no media"):
        read_otio(timeline(audio_track("DX", gap(24, 24), lost)))


def test_missing_media_file(media, tmp_path):
    with pytest.raises(OTIOImportError, match=r"clip 'x'.*media file '.*gone\.wav' does not exist"):
        read_otio(timeline(audio_track("DX", clip("x", str(tmp_path / "gone.wav"), 0, 24, 24))))


def test_nested_stack_is_refused(media):
    nested = otio.schema.Stack(name="compound")
    nested.append(audio_track("inner", clip("c", media["silence"], 0, 24, 24)))
    with pytest.raises(OTIOImportError, match=r"track 'DX', item 0 \(Stack 'compound'\) is a nested Stack"):
        read_otio(timeline(audio_track("DX", nested)))
    with pytest.raises(OTIOImportError, match="nested stacks are not supported"):
        read_otio(otio.schema.Timeline(tracks=[nested.clone()]))


@pytest.mark.parametrize(
    "effect, message",
    [
        (
            otio.schema.LinearTimeWarp(time_scalar=8.0),
            r"LinearTimeWarp with time_scalar=8\.0; expected a speed from 0\.25 to 4",
        ),
        (otio.schema.FreezeFrame(), r"FreezeFrame with time_scalar=0\.0"),
        (otio.schema.TimeEffect(name="ramp", effect_name="SpeedRamp"), "time effect 'SpeedRamp'"),
    ],
)
def test_time_effects_are_refused(media, effect, message):
    fast = clip("fast", media["silence"], 0, 24, 24, effects=[effect])
    with pytest.raises(OTIOImportError, match=r"track 'DX', clip 'fast' .*" + message):
        read_otio(timeline(audio_track("DX", fast)))


def test_remote_media_is_refused(media):
    with pytest.raises(OTIOImportError, match=r"uses the 'https' scheme; expected a local path"):
        read_otio(timeline(audio_track("DX", clip("web", "https://example.invalid/a.wav", 0, 24, 24))))


def test_timeline_without_audio_tracks(media):
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    with pytest.raises(OTIOImportError, match=r"has no audio tracks \(1 other track\(s\)\)"):
        read_otio(timeline(video))


def test_overlapping_transitions_are_refused(media):
    t = otio.schema.Transition(in_offset=rt(12, 24), out_offset=rt(12, 24))
    track = audio_track(
        "DX",
        clip("a", media["silence"], 48, 48, 24),
        t,
        clip("b", media["silence"], 48, 20, 24),
        t.clone(),
        clip("c", media["silence"], 48, 48, 24),
    )
    with pytest.raises(OTIOImportError, match=r"item 2 \(Clip 'b'\) lasts 0\.833333 s but the transitions"):
        read_otio(timeline(track))


def test_transition_needs_handle_before_the_incoming_clip(media):
    t = otio.schema.Transition(in_offset=rt(12, 24), out_offset=rt(0, 24))
    track = audio_track(
        "DX", clip("a", media["silence"], 48, 48, 24), t, clip("b", media["silence"], 6, 24, 24)
    )
    with pytest.raises(OTIOImportError, match=r"clip 'b' .* starts 0\.25 s before the start of its media"):
        read_otio(timeline(track))


def test_bad_timeline_arguments(tmp_path):
    with pytest.raises(OTIOImportError, match="no such file"):
        read_otio(tmp_path / "missing.otio")
    garbage = tmp_path / "garbage.otio"
    garbage.write_text("{ not json", encoding="utf-8")
    with pytest.raises(OTIOImportError, match="cannot be read by OpenTimelineIO"):
        read_otio(garbage)
    (tmp_path / "bundle.otioz").write_bytes(b"PK")
    with pytest.raises(OTIOImportError, match="zipped bundle"):
        read_otio(tmp_path / "bundle.otioz")
    with pytest.raises(OTIOImportError, match=r"timeline=42; expected the path"):
        read_otio(42)
    with pytest.raises(OTIOImportError, match="crossfade_curve='wobbly'"):
        read_otio(timeline(audio_track("DX")), crossfade_curve="wobbly")


def test_clip_gain_metadata_must_be_a_number(media):
    loud = clip("loud", media["silence"], 0, 24, 24, metadata={"sonicmix": {"gain_db": "loud"}})
    with pytest.raises(OTIOImportError, match=r"clip 'loud' .*gain_db'\]='loud'; expected a finite number"):
        read_otio(timeline(audio_track("DX", loud)))


def test_track_and_transition_metadata_set_fader_pan_and_curves(media):
    rate = 24

    def dissolve(curve=None):
        meta = {"sonicmix": {"curve": curve}} if curve else {}
        return otio.schema.Transition(
            transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
            in_offset=rt(6, rate),
            out_offset=rt(6, rate),
            metadata=meta,
        )

    silence = media["silence"]
    level = {"sonicmix": {"fader_db": -6.0, "pan": -0.25}}
    dx = audio_track(
        "DX",
        gap(24, rate),
        dissolve("s_curve"),  # a fade from silence takes its transition's curve
        clip("a", silence, 48, 48, rate),
        dissolve("linear"),
        clip("b", silence, 48, 48, rate),
        dissolve("linear"),
        clip("c", silence, 48, 48, rate),
        dissolve("equal_power"),  # outvoted: a track has one cross-fade curve
        clip("d", silence, 48, 48, rate),
        dissolve("exponential"),  # d fades in one way and out another: one curve per clip
        gap(24, rate),
        metadata=level,
    )
    plain = audio_track("FX", gap(24, rate), dissolve(), clip("e", silence, 48, 48, rate))
    cut = read_otio(timeline(dx, plain), crossfade_curve="logarithmic")
    track = cut.graph.tracks["DX"]
    assert (track.fader_db, track.pan, track.crossfade_curve) == (-6.0, -0.25, "linear")
    a, d = track.clips[0], track.clips[3]
    assert (a.fade_curve, in_samples(a.fade_in_s)) == ("s_curve", 12 * 2000)
    assert d.fade_out_s > 0 and d.fade_curve == "exponential"
    text = "\n".join(cut.notes)
    assert "track 'DX' has cross-fades of several curves (2 'linear', 1 'equal_power')" in text
    assert "fades in with" not in text  # d's fade-in is a cross-fade: the track's curve, not the clip's
    # no metadata: the argument decides, and no fader or pan
    fx = cut.graph.tracks["FX"]
    assert (fx.fader_db, fx.pan, fx.clips[0].fade_curve) == (0.0, None, "logarithmic")


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"pan": 1.5}, r"\['pan'\]=1\.5; expected a finite number in \[-1, 1\] \(-1 left, 1 right\)"),
        ({"fader_db": "loud"}, r"\['fader_db'\]='loud'; expected a finite number of dB"),
    ],
)
def test_track_level_metadata_is_checked(media, meta, message):
    track = audio_track("DX", clip("a", media["silence"], 0, 24, 24), metadata={"sonicmix": meta})
    with pytest.raises(OTIOImportError, match=message):
        read_otio(timeline(track))


def test_transition_curve_metadata_is_checked(media):
    wobbly = otio.schema.Transition(
        in_offset=rt(2, 24), out_offset=rt(2, 24), metadata={"sonicmix": {"curve": "wobbly"}}
    )
    track = audio_track("DX", gap(24, 24), wobbly, clip("a", media["silence"], 24, 24, 24))
    message = r"track 'DX', item 1 has metadata\['sonicmix'\]\['curve'\]='wobbly'; expected one of"
    with pytest.raises(OTIOImportError, match=message):
        read_otio(timeline(track))


# -------------------------------------------------------------------------------------- docs


def test_docs_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "otio.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)
    assert blocks and len(blocks) == text.count("```python")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for code in blocks:
        exec(compile(code, "docs/otio.md", "exec"), namespace)  # noqa: S102 - our own docs
    assert os.path.isfile(tmp_path / "delivery" / "episode-01.wav")
