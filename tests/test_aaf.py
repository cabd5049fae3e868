"""AAF import: AAF files written here with pyaaf2, read through OpenTimelineIO's AAF adapter.

The files are laid out as Avid Media Composer writes them: a top-level composition whose sound slots
hold a Sequence of Filler, SourceClips (to MasterMobs, to file SourceMobs with a PCM descriptor and a
NetworkLocator), Transitions (an "Audio Dissolve" with a Level ramp and Avid's "Curve Type") and
"Audio Gain" OperationGroups (``ParameterDef_Amplitude``, a linear factor) around clips; track pan
and volume are OperationGroups around the whole Sequence. Expected positions are frame counts times
1920 samples (25 fps at 48 kHz), worked out by hand from the AAF, never read back from the importer.
Media are 32-bit float WAVs of ramps ``k / 2**20``, so every sample says where in its file it came
from, and a gain of 1/2 or 2 keeps it exact.
"""

from __future__ import annotations

import contextlib
import math
import re
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

aaf2 = pytest.importorskip("aaf2")
pytest.importorskip("otio_aaf_adapter")

import sonicmix.io as sio  # noqa: E402
from sonicmix.graph import Bus, Graph, Track  # noqa: E402
from sonicmix.interchange.aaf import AAFImport, AAFImportError, read_aaf  # noqa: E402
from sonicmix.interchange.otio import OTIOImportError  # noqa: E402
from sonicmix.renderer import render  # noqa: E402
from sonicmix.timeline import Clip, FileSource  # noqa: E402

SR = 48_000
ROOT = Path(__file__).resolve().parents[1]
FRAME = 1920  # samples per frame at 25 fps
SCALE = 2.0**-20  # ramp step: sample k of a ramp file is k * SCALE (exact in float32)

GAIN_OP = "9d2ea894-0968-11d3-8a38-0050040ef7d2"  # OperationDef_MonoAudioGain
PAN_OP = "9d2ea893-0968-11d3-8a38-0050040ef7d2"  # OperationDef_MonoAudioPan
DISSOLVE_OP = "0c3bea41-fc05-11d2-8a29-0050040ef7d2"  # OperationDef_MonoAudioDissolve
AMPLITUDE = "e4962321-2267-11d3-8a4c-0050040ef7d2"  # ParameterDef_Amplitude
PAN = "e4962322-2267-11d3-8a4c-0050040ef7d2"  # ParameterDef_Pan
LEVEL = "e4962320-2267-11d3-8a4c-0050040ef7d2"  # ParameterDef_Level
AVID_CURVE_TYPE = "8134fc48-3bd6-4904-9520-7a6360cc7127"  # Avid's "Curve Type": 0 linear, 1 equal power


# -------------------------------------------------------------------------------------- writing AAF


class AAFWriter:
    """Builds one AAF composition with pyaaf2, in the layout Avid Media Composer exports.

    Lengths and source starts are in frames of the track's edit rate (25 fps unless given).
    """

    def __init__(self, f, name: str) -> None:
        self.f = f
        d = f.dictionary
        rational, int32 = d.lookup_typedef("Rational"), d.lookup_typedef("aafInt32")
        self.amplitude = self._param(AMPLITUDE, "Amplitude", rational)
        self.pan = self._param(PAN, "Pan", rational)
        self.level = self._param(LEVEL, "Level", rational)
        self.curve_type = self._param(AVID_CURVE_TYPE, "Curve Type", int32)
        self.gain_op = self._op(GAIN_OP, "Audio Gain", 1, [self.amplitude])
        self.pan_op = self._op(PAN_OP, "Audio Pan", 1, [self.pan])
        self.dissolve_op = self._op(DISSOLVE_OP, "Audio Dissolve", 2, [self.level, self.curve_type])
        self.linear = f.create.InterpolationDef(aaf2.misc.LinearInterp, "LinearInterp", "")
        d.register_def(self.linear)
        self.composition(name)

    def composition(self, name: str) -> None:
        """Start a top-level composition; tracks go into the latest one."""
        self.comp = self.f.create.CompositionMob(name)
        self.comp.usage = "Usage_TopLevel"
        self.f.content.mobs.append(self.comp)

    def _param(self, auid, name, typedef):
        definition = self.f.create.ParameterDef(auid, name, "", typedef)
        self.f.dictionary.register_def(definition)
        return definition

    def _op(self, auid, name, inputs, parameters):
        op = self.f.create.OperationDef(auid, name)
        op.media_kind = "sound"
        op["NumberInputs"].value = inputs
        op["IsTimeWarp"].value = False
        op["ParametersDefined"].extend(parameters)
        self.f.dictionary.register_def(op)
        return op

    # -- sources
    def master(self, name: str, url: str, samples: int):
        """A MasterMob of a mono file at ``url`` (a file SourceMob with a PCM descriptor and locator)."""
        source = self.f.create.SourceMob(name)
        descriptor = self.f.create.PCMDescriptor()
        descriptor["Channels"].value = 1
        descriptor["BlockAlign"].value = 4
        descriptor["SampleRate"].value = SR
        descriptor["AverageBPS"].value = SR * 4
        descriptor["QuantizationBits"].value = 32
        descriptor["AudioSamplingRate"].value = SR
        descriptor["Length"].value = samples
        locator = self.f.create.NetworkLocator()
        locator["URLString"].value = url
        descriptor["Locator"].append(locator)
        source.descriptor = descriptor
        source_slot = source.create_empty_slot(SR, media_kind="sound")
        source_slot.segment.length = samples
        self.f.content.mobs.append(source)
        return self._master_of(name, source, source_slot, samples)

    def split_master(self, name: str, url: str, samples: int, channels: int = 2):
        """A MasterMob of a ``channels``-channel file, a slot per channel (Avid's linked multichannel
        files): returns the ``(master, slot)`` of each channel."""
        source = self.f.create.SourceMob(name)
        descriptor = self.f.create.PCMDescriptor()
        for key, value in [("Channels", channels), ("BlockAlign", 4 * channels), ("SampleRate", SR),
                           ("AverageBPS", SR * 4 * channels), ("QuantizationBits", 32),
                           ("AudioSamplingRate", SR), ("Length", samples)]:
            descriptor[key].value = value
        locator = self.f.create.NetworkLocator()
        locator["URLString"].value = url
        descriptor["Locator"].append(locator)
        source.descriptor = descriptor
        self.f.content.mobs.append(source)
        master = self.f.create.MasterMob(name)
        self.f.content.mobs.append(master)
        found = []
        for _ in range(channels):
            source_slot = source.create_empty_slot(SR, media_kind="sound")
            source_slot.segment.length = samples
            slot = master.create_timeline_slot(SR)
            slot.segment = source.create_source_clip(source_slot.slot_id, 0, samples)
            found.append((master, slot))
        return found

    def embedded_master(self, name: str, wav_path: str):
        """A MasterMob of a WAV whose samples pyaaf2 embeds in the AAF (no locator)."""
        source = self.f.create.SourceMob(name)
        self.f.content.mobs.append(source)
        source_slot = source.import_audio_essence(wav_path, SR)
        return self._master_of(name, source, source_slot, source_slot.segment.length)

    def _master_of(self, name, source, source_slot, samples):
        master = self.f.create.MasterMob(name)
        self.f.content.mobs.append(master)
        slot = master.create_timeline_slot(SR)
        slot.segment = source.create_source_clip(source_slot.slot_id, 0, samples)
        return master, slot

    # -- components
    def clip(self, master, start: int, length: int):
        clip = self.f.create.SourceClip(media_kind="sound")
        clip.mob, clip.slot = master
        clip.start, clip.length = start, length
        return clip

    def orphan_clip(self, length: int):
        """A SourceClip whose MasterMob is not in the file."""
        clip = self.f.create.SourceClip(media_kind="sound")
        clip["SourceID"].value = aaf2.mobid.MobID.new()
        clip["SourceMobSlotID"].value = 1
        clip.start, clip.length = 0, length
        return clip

    def filler(self, length: int):
        return self.f.create.Filler("sound", length)

    def _group(self, op, component, parameter):
        group = self.f.create.OperationGroup(op, component.length, media_kind="sound")
        group.parameters.append(parameter)
        group.segments.append(component)
        return group

    def _keyframes(self, definition, points):
        varying = self.f.create.VaryingValue(definition, self.linear)
        for time, value in points:
            varying.add_keyframe(time, value)
        return varying

    def gain(self, component, amplitude=None, *, keyframes=None):
        """An "Audio Gain" around ``component``: a constant amplitude, or ``(time 0..1, value)`` keyframes."""
        if keyframes is not None:
            return self._group(self.gain_op, component, self._keyframes(self.amplitude, keyframes))
        return self._group(self.gain_op, component, self.f.create.ConstantValue(self.amplitude, amplitude))

    def effect(self, component, name: str):
        """An OperationGroup of an effect sonicmix does not know, with one parameter."""
        op = self._op(str(uuid.uuid4()), name, 1, [])
        group = self.f.create.OperationGroup(op, component.length, media_kind="sound")
        group.parameters.append(self.f.create.ConstantValue(self.amplitude, Fraction(1, 3)))
        group.segments.append(component)
        return group

    def transition(self, length: int, cut: int, curve_type: int | None = None):
        """An "Audio Dissolve" of ``length`` frames with its cut ``cut`` frames in; Avid's curve type."""
        group = self.f.create.OperationGroup(self.dissolve_op, length, media_kind="sound")
        group.parameters.append(self._keyframes(self.level, [(0, 0), (1, 1)]))
        if curve_type is not None:
            group.parameters.append(self.f.create.ConstantValue(self.curve_type, curve_type))
        transition = self.f.create.Transition("sound", length)
        transition["OperationGroup"].value = group
        transition["CutPoint"].value = cut
        return transition

    # -- tracks
    def track(self, name: str, *components, rate=25, physical=None, pan=None, volume=None) -> None:
        """A sound slot holding a Sequence of ``components``; track pan and volume around it."""
        slot = self.comp.create_timeline_slot(rate)
        slot.name = name
        if physical is not None:
            slot["PhysicalTrackNumber"].value = physical
        sequence = self.f.create.Sequence(media_kind="sound")
        for component in components:
            sequence.components.append(component)
        sequence.length = sum(
            -c.length if isinstance(c, aaf2.components.Transition) else c.length for c in components
        )
        segment = sequence
        if volume is not None:
            segment = self.gain(segment, volume)
        if pan is not None:
            segment = self._group(self.pan_op, segment, self.f.create.ConstantValue(self.pan, pan))
        slot.segment = segment

    def timecode(self, start_frames: int, length: int = 100) -> None:
        slot = self.comp.create_timeline_slot(25)
        slot.segment = self.f.create.Timecode(25, length=length)
        slot.segment.start = start_frames
        slot["PhysicalTrackNumber"].value = 1


@contextlib.contextmanager
def aaf_file(path: Path, name: str = "cut") -> Iterator[AAFWriter]:
    with aaf2.open(str(path), "w") as f:
        yield AAFWriter(f, name)


def ramp(samples: int, step: float = SCALE) -> np.ndarray:
    return (np.arange(samples) * step)[np.newaxis]


def write_wav(path: Path, audio: np.ndarray, subtype: str = "FLOAT") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.write(path, np.asarray(audio, np.float32), SR, subtype=subtype)
    return str(path)


@pytest.fixture
def media(tmp_path) -> dict[str, str]:
    """Mono float WAVs: two 6 s ramps (up; down from 0), 2 s of ones and 2 s of halves."""
    return {
        "a": write_wav(tmp_path / "media" / "a.wav", ramp(6 * SR)),
        "b": write_wav(tmp_path / "media" / "b.wav", ramp(6 * SR, -SCALE)),
        "ones": write_wav(tmp_path / "media" / "ones.wav", np.ones((1, 2 * SR))),
        "halves": write_wav(tmp_path / "media" / "halves.wav", np.full((1, 2 * SR), 0.5)),
    }


def url(path: str) -> str:
    return Path(path).as_uri()


# -------------------------------------------------------------------------------------- the round trip


def write_two_track_cut(path: Path, media: dict[str, str], locate=None) -> None:
    """DX 1: filler 10, fade-in 4 (cut 2), take A at 1/2 from frame 25 for 50, cross-fade 10 (cut 5,
    linear), take B from frame 50 for 40. MX: filler 20, take B at 2 for 30, fade-out 6 (cut 3),
    filler 10. The timeline starts at 01:00:00:00. ``locate(path)`` is each file's locator."""
    locate = locate or url
    with aaf_file(path) as w:
        a = w.master("take A", locate(media["a"]), 6 * SR)
        b = w.master("take B", locate(media["b"]), 6 * SR)
        w.track(
            "DX 1",
            w.filler(10),
            w.transition(4, 2),
            w.gain(w.clip(a, 25, 50), Fraction(1, 2)),
            w.transition(10, 5, curve_type=0),
            w.clip(b, 50, 40),
        )
        w.track(
            "MX",
            w.filler(20),
            w.gain(w.clip(b, 0, 30), Fraction(2)),
            w.transition(6, 3),
            w.filler(10),
        )
        w.timecode(90_000)


def test_two_tracks_clip_gains_and_a_crossfade_render_as_the_same_clips_placed_by_hand(media, tmp_path):
    path = tmp_path / "cut.aaf"
    write_two_track_cut(path, media)
    cut = read_aaf(path, stems={"DX 1": "dialogue", "MX": "music"}, layout="mono")
    assert isinstance(cut, AAFImport) and cut.name == "cut"
    assert cut.global_start_s == 3600.0
    assert cut.stems == {"dialogue": ("DX 1",), "music": ("MX",)}
    assert cut.notes == ()

    # by hand, in frames: A starts where the fade-in starts, 10 - 4 = 6; B where the cross-fade
    # starts, 6 + 50 - 10 = 46; the MX clip at 20, fading out over its last 6 frames
    half_db, double_db = 20 * math.log10(0.5), 20 * math.log10(2.0)
    take_a = Clip(source=FileSource(media["a"]), start_s=6 / 25, offset_s=25 / 25, duration_s=50 / 25,
                  gain_db=half_db, fade_in_s=4 / 25)
    take_b = Clip(source=FileSource(media["b"]), start_s=46 / 25, offset_s=50 / 25, duration_s=40 / 25)
    cue = Clip(source=FileSource(media["b"]), start_s=20 / 25, duration_s=30 / 25, gain_db=double_db,
               fade_out_s=6 / 25)
    dx, mx = cut.graph.tracks["DX 1"], cut.graph.tracks["MX"]
    assert dx.clips == (take_a, take_b)
    assert mx.clips == (cue,)
    assert dx.crossfade_curve == "linear" and dx.output == "dialogue" and mx.output == "music"

    by_hand = Graph(
        tracks={
            "DX 1": Track(clips=(take_a, take_b), layout="mono", output="dialogue", crossfade_curve="linear"),
            "MX": Track(clips=(cue,), layout="mono", output="music"),
        },
        buses={
            "dialogue": Bus(layout="mono", output="master"),
            "music": Bus(layout="mono", output="master"),
            "master": Bus(layout="mono", output=None),
        },
    )
    out = render(cut.graph, sample_rate=SR).master[0]
    np.testing.assert_array_equal(out, render(by_hand, sample_rate=SR).master[0])

    # and directly from the ramps, wherever no fade is running: sample k of a file is k * SCALE
    assert len(out) == 86 * FRAME
    t = np.arange(len(out))
    expected = np.zeros(len(out))
    a_alone = (t >= 10 * FRAME) & (t < 46 * FRAME)  # after the fade-in, before the cross-fade
    b_alone = (t >= 56 * FRAME) & (t < 86 * FRAME)  # after the cross-fade
    cue_on = (t >= 20 * FRAME) & (t < 44 * FRAME)  # before its fade-out
    expected[a_alone] += 0.5 * (25 * FRAME + t[a_alone] - 6 * FRAME) * SCALE
    expected[b_alone] += (50 * FRAME + t[b_alone] - 46 * FRAME) * -SCALE
    expected[cue_on] += 2.0 * (t[cue_on] - 20 * FRAME) * -SCALE
    steady = (t < 6 * FRAME) | a_alone & ((t < 44 * FRAME) | (t >= 50 * FRAME)) | b_alone
    np.testing.assert_array_equal(out[steady], expected[steady].astype(np.float32))
    # the fade-in rises over exactly its 4 frames from silence to the clip at 1/2
    fade = slice(6 * FRAME, 10 * FRAME)
    share = out[fade] / (0.5 * (25 * FRAME + t[fade] - 6 * FRAME) * SCALE)
    assert np.all((share > 0) & (share < 1)) and np.all(np.diff(share) > 0)


@pytest.mark.parametrize(
    "curve_type, crossfade_curve, expected",
    [(0, "equal_power", "linear"), (1, "linear", "equal_power"), (None, "linear", "linear"),
     (None, "equal_power", "equal_power")],
)
def test_crossfade_follows_avids_curve_type_else_the_argument(media, tmp_path, curve_type, crossfade_curve,
                                                               expected):
    path = tmp_path / "xfade.aaf"
    with aaf_file(path) as w:
        ones = w.master("ones", url(media["ones"]), 2 * SR)
        halves = w.master("halves", url(media["halves"]), 2 * SR)
        w.track("FX", w.gain(w.clip(ones, 0, 20), Fraction(1, 2)), w.transition(10, 5, curve_type),
                w.clip(halves, 10, 20))
    cut = read_aaf(path, layout="mono", crossfade_curve=crossfade_curve)
    assert cut.graph.tracks["FX"].crossfade_curve == expected
    out = render(cut.graph, sample_rate=SR).master[0].astype(np.float64)
    assert len(out) == 30 * FRAME
    overlap = out[10 * FRAME : 20 * FRAME]  # 20 - 10 frames of the first clip, 10 frames of the second
    np.testing.assert_array_equal(out[: 10 * FRAME], 0.5)
    np.testing.assert_array_equal(out[20 * FRAME :], 0.5)
    if expected == "linear":  # both sides at 0.5: a linear cross-fade keeps the level at every sample
        np.testing.assert_allclose(overlap, 0.5, atol=1e-7)
    else:  # equal power: sin + cos of the same angle peaks at sqrt(2) halfway
        assert overlap.max() == pytest.approx(0.5 * math.sqrt(2), abs=1e-4)
        assert overlap[5 * FRAME] == pytest.approx(0.5 * math.sqrt(2), abs=1e-4)
        np.testing.assert_allclose(overlap, overlap[::-1], atol=1e-6)  # centred on the overlap


def test_fades_from_filler_take_avids_curve(media, tmp_path):
    path = tmp_path / "fades.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track("FX", w.filler(5), w.transition(4, 2, curve_type=1), w.clip(a, 0, 20),
                w.transition(2, 1, curve_type=1), w.filler(5))
    (only,) = read_aaf(path).graph.tracks["FX"].clips
    assert (only.fade_curve, only.fade_in_s, only.fade_out_s) == ("equal_power", 4 / 25, 2 / 25)
    assert (only.start_s, only.duration_s) == (1 / 25, 20 / 25)


def test_track_volume_and_pan_become_fader_and_pan(media, tmp_path):
    path = tmp_path / "levels.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track("BG", w.clip(a, 0, 10), w.clip(a, 20, 10), volume=Fraction(1, 4), pan=Fraction(3, 4))
        w.track("BG 2", w.clip(a, 0, 10), pan=Fraction(1, 4))  # one clip: the adapter moves pan onto it
        w.track("BG 3", w.clip(a, 0, 10), w.clip(a, 0, 10), pan=Fraction(1, 2))  # centre
    cut = read_aaf(path)
    bg, bg2, bg3 = (cut.graph.tracks[n] for n in ("BG", "BG 2", "BG 3"))
    assert bg.fader_db == pytest.approx(20 * math.log10(0.25), abs=1e-12)
    assert bg.pan == 0.5 and bg2.pan == -0.5 and bg3.pan is None
    assert all(c.gain_db == 0.0 for c in bg.clips)
    # a panned mono track in a 5.1 mix cannot be panned: the pan is noted, not dropped silently
    surround = read_aaf(path, layout="5.1")
    assert surround.graph.tracks["BG"].pan is None
    assert any("track 'BG': pan +0.5 left out" in n for n in surround.notes)


def test_flat_keyframes_are_a_constant_gain_and_automation_is_noted(media, tmp_path):
    path = tmp_path / "automation.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track(
            "DX",
            w.gain(w.clip(a, 0, 10), keyframes=[(0, Fraction(1, 2)), (1, Fraction(1, 2))]),  # Resolve's way
            w.gain(w.clip(a, 0, 10), keyframes=[(0, Fraction(1)), (Fraction(1, 2), Fraction(1, 10))]),
            w.gain(w.gain(w.clip(a, 0, 10), Fraction(1, 2)), Fraction(1, 2)),  # nested gains multiply
        )
    cut = read_aaf(path)
    flat, ramped, nested = cut.graph.tracks["DX"].clips
    assert flat.gain_db == pytest.approx(20 * math.log10(0.5), abs=1e-12)
    assert ramped.gain_db == 0.0
    assert nested.gain_db == pytest.approx(20 * math.log10(0.25), abs=1e-12)
    (note,) = [n for n in cut.notes if "automation" in n]
    where = "track 'DX', clip 'a' (item 1, at 0.4 s)"
    assert note.startswith(f"{where}: AAF volume automation (2 points, -20.00 dB")
    assert "+0.00 dB) left out" in note


def test_a_gain_of_zero_is_silence_not_a_number(media, tmp_path):
    path = tmp_path / "silent.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track("DX", w.clip(a, 0, 10), w.gain(w.clip(a, 0, 10), Fraction(0)), w.clip(a, 0, 10))
        w.track("FX", w.clip(a, 0, 10), w.clip(a, 0, 10), volume=Fraction(0))
    cut = read_aaf(path)
    assert [c.start_s for c in cut.graph.tracks["DX"].clips] == [0.0, 20 / 25]
    assert "track 'DX', clip 'a' (item 1, at 0.4 s): AAF clip gain is -inf dB; left out (silence)" in (
        cut.notes
    )
    assert cut.graph.tracks["FX"].mute
    assert "track 'FX': AAF track volume is -inf dB; imported muted" in cut.notes


def test_track_names_from_slot_names_and_physical_track_numbers(media, tmp_path):
    path = tmp_path / "names.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track("Dialogue", w.clip(a, 0, 10))
        w.track("", w.filler(10), physical=2)  # filler only: the adapter drops it
        w.track("", w.clip(a, 0, 10), physical=3)
        w.track("", w.clip(a, 0, 10), w.clip(a, 0, 5))  # no number either: its place among the slots
        w.track("A3", w.clip(a, 0, 10))  # a name taken twice
    cut = read_aaf(path, stems={"A3": "music", "A3 2": "music"})
    assert list(cut.graph.tracks) == ["Dialogue", "A3", "A4", "A3 2"]
    assert cut.stems == {"dialogue": ("Dialogue",), "music": ("A3", "A3 2"), "effects": ("A4",)}
    assert "1 AAF sound track(s) holding no clips left out" in cut.notes
    with pytest.raises(AAFImportError, match=r"stems has the track name 'Dialog'.*did you mean 'Dialogue'"):
        read_aaf(path, stems={"Dialog": "dialogue"})


def test_session_and_summary(media, tmp_path):
    path = tmp_path / "cut.aaf"
    write_two_track_cut(path, media)
    cut = read_aaf(path, stems={"DX 1": "dialogue", "MX": "music"})
    assert str(cut).startswith("AAF import of 'cut' at 48000 Hz\nGraph (master: 'master')")
    session = cut.session(target="ebu-r128")
    assert session.options["stems"] == ["dialogue", "music"] and session.options["dialogue"] == ["dialogue"]


# -------------------------------------------------------------------------------------- media


def test_media_not_at_the_editors_path_is_relinked_by_name(media, tmp_path):
    path = tmp_path / "cut.aaf"
    with aaf_file(path) as w:
        a = w.master("a", "file:///Volumes/Editorial/Media/a.wav", 6 * SR)
        w.track("DX", w.clip(a, 0, 10))
    cut = read_aaf(path, media_root=tmp_path / "media")
    assert cut.graph.tracks["DX"].clips[0].source.path == media["a"]
    relinked = "media '/Volumes/Editorial/Media/a.wav' not found there; relinked by name"
    assert any(relinked in n for n in cut.notes)


def test_relative_and_windows_locators(media, tmp_path):
    path = tmp_path / "cut.aaf"
    with aaf_file(path) as w:
        relative = w.master("rel", "media/a.wav", 6 * SR)
        windows = w.master("win", "file:///D:/Avid%20MediaFiles/b.wav", 6 * SR)
        w.track("DX", w.clip(relative, 0, 10), w.clip(windows, 0, 10))
    # relative to the AAF's folder; the Windows path is not here, nor b.wav in the AAF's folder
    message = r"clip 'win' .*: media file 'D:/Avid MediaFiles/b\.wav' does not exist, and no file 'b\.wav'"
    with pytest.raises(AAFImportError, match=message):
        read_aaf(path)
    first = read_aaf(path, check_media=False).graph.tracks["DX"].clips[0]
    assert first.source.path == media["a"]
    # media_root: relative paths resolve there, and files not found are looked for there by name
    first, second = read_aaf(path, media_root=tmp_path / "media").graph.tracks["DX"].clips
    assert (first.source.path, second.source.path) == (media["a"], media["b"])


def test_missing_media_names_the_track_clip_and_path(media, tmp_path):
    path = tmp_path / "cut.aaf"
    gone = tmp_path / "elsewhere" / "gone.wav"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        lost = w.master("room tone", url(str(gone)), 6 * SR)
        w.track("DX 2", w.clip(a, 0, 10), w.filler(5), w.clip(lost, 0, 10))
    message = r"track 'DX 2', clip 'room tone' \(item 2, at 0\.6 s\): media file '.*gone\.wav' does not exist"
    with pytest.raises(AAFImportError, match=message) as caught:
        read_aaf(path)
    assert isinstance(caught.value, OTIOImportError) and isinstance(caught.value, ValueError)
    assert str(path) in str(caught.value)
    # told not to look, the import builds the graph anyway
    assert len(read_aaf(path, check_media=False).graph.tracks["DX 2"].clips) == 2


def test_a_track_per_channel_of_one_file_is_refused(tmp_path):
    stereo = write_wav(tmp_path / "stereo.wav", np.zeros((2, SR)))
    path = tmp_path / "split.aaf"
    with aaf_file(path) as w:
        left, right = w.split_master("scene 4", url(stereo), SR)
        w.track("", w.clip(left, 0, 10), physical=1)
        w.track("", w.clip(right, 0, 10), physical=2)
    message = r"track 'A1', clip 'scene 4' .*: its media 'scene 4' .* is one file of 2 channels"
    with pytest.raises(AAFImportError, match=message):
        read_aaf(path)


def test_clip_whose_master_clip_is_not_in_the_file(media, tmp_path):
    path = tmp_path / "cut.aaf"
    with aaf_file(path) as w:
        w.track("DX", w.orphan_clip(10))
    with pytest.raises(AAFImportError, match=r"1 clip\(s\) refer to master clips that are not in the file"):
        read_aaf(path)


def test_embedded_audio_is_refused_or_written_out(tmp_path):
    values = (np.arange(SR) % 200 - 100) / 128.0  # exact in 16 bits
    wav = tmp_path / "source.wav"
    sio.write(wav, values[np.newaxis], SR, subtype="PCM_16", dither=False)
    path = tmp_path / "embedded.aaf"
    with aaf_file(path) as w:
        w.track("DX", w.clip(w.embedded_master("voice", str(wav)), 5, 10))
    with pytest.raises(AAFImportError, match=r"clip 'voice' .*: its media 'voice' is embedded in the AAF"):
        read_aaf(path)
    cut = read_aaf(path, embedded_media_dir=tmp_path / "extracted", layout="mono")
    (only,) = cut.graph.tracks["DX"].clips
    assert Path(only.source.path).parent == tmp_path / "extracted"
    out = render(cut.graph, sample_rate=SR).master[0]
    np.testing.assert_array_equal(out, values[5 * FRAME : 15 * FRAME].astype(np.float32))


# -------------------------------------------------------------------------------------- bad input


def test_a_file_that_is_not_an_aaf(tmp_path, media):
    text = tmp_path / "notes.aaf"
    text.write_text("not an AAF\n", encoding="utf-8")
    with pytest.raises(AAFImportError, match=r"notes\.aaf' is not an AAF file: .*starts with 6e6f7420"):
        read_aaf(text)
    with pytest.raises(AAFImportError, match="is not an AAF file"):
        read_aaf(media["a"])  # a WAV
    xml = tmp_path / "cut.xml"
    xml.write_text("<?xml version='1.0'?><AAF/>", encoding="utf-8")
    with pytest.raises(AAFImportError, match="an XML AAF"):
        read_aaf(xml)
    with pytest.raises(AAFImportError, match="no such file"):
        read_aaf(tmp_path / "missing.aaf")
    with pytest.raises(AAFImportError, match="is a folder"):
        read_aaf(tmp_path)
    with pytest.raises(AAFImportError, match=r"aaf=42; expected the path"):
        read_aaf(42)  # type: ignore[arg-type]


def test_damaged_aaf_is_a_named_error(media, tmp_path):
    path = tmp_path / "cut.aaf"
    write_two_track_cut(path, media)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AAFImportError, match=r"cut\.aaf' cannot be read by "):
        read_aaf(path)


def test_unsupported_effects_are_noted_and_the_clip_kept(media, tmp_path):
    path = tmp_path / "effects.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track("FX", w.effect(w.clip(a, 0, 10), "Audio EQ"), w.clip(a, 0, 10))
    cut = read_aaf(path)
    (note,) = [n for n in cut.notes if "Audio EQ" in n]
    assert note.startswith("track 'FX', clip 'a' (item 0, at 0 s): AAF effect 'Audio EQ' ignored")
    assert [c.gain_db for c in cut.graph.tracks["FX"].clips] == [0.0, 0.0]  # its parameter is not a gain


def test_sourceclip_fades_the_adapter_drops_are_noted(media, tmp_path):
    path = tmp_path / "clipfades.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        faded = w.clip(a, 0, 20)
        faded["FadeInLength"].value = 5  # the older AAF form of a clip fade, not a Transition
        w.track("DX", w.filler(3), faded, w.clip(a, 0, 10))
    cut = read_aaf(path)
    assert cut.graph.tracks["DX"].clips[0].fade_in_s == 0.0
    assert any(n.startswith("AAF track 'DX': 1 clip(s) carry SourceClip fades") for n in cut.notes)


def test_an_operation_around_several_clips_is_refused_as_nested(media, tmp_path):
    path = tmp_path / "grouped.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        group = w.f.create.Sequence(media_kind="sound")
        for start in (0, 10):
            group.components.append(w.clip(a, start, 10))
        group.length = 20
        w.track("DX", w.clip(a, 0, 5), w.gain(group, Fraction(1, 2)))
    with pytest.raises(AAFImportError, match=r"track 'DX', item 1 .* is a nested Track"):
        read_aaf(path)


def test_a_clip_muted_in_the_editor_is_left_out_with_a_note(media, tmp_path):
    path = tmp_path / "muted.aaf"
    with aaf_file(path) as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        muted = w.f.create.Selector(media_kind="sound")  # Avid: filler selected, the clip an alternate
        muted.length = 10
        muted["Selected"].value = w.filler(10)
        muted["Alternates"].append(w.clip(a, 0, 10))
        w.track("DX", w.clip(a, 0, 10), muted, w.clip(a, 0, 10))
    cut = read_aaf(path)
    assert [c.start_s for c in cut.graph.tracks["DX"].clips] == [0.0, 20 / 25]
    assert "track 'DX', clip 'a' (item 1, at 0.4 s): disabled in the timeline; left out" in cut.notes


def test_several_compositions_need_a_choice(media, tmp_path):
    path = tmp_path / "two.aaf"
    with aaf_file(path, "reel 1") as w:
        a = w.master("a", url(media["a"]), 6 * SR)
        w.track("DX", w.clip(a, 0, 10))
        w.composition("reel 2")
        w.track("DX", w.clip(a, 0, 20))
    with pytest.raises(AAFImportError, match=r"holds 2 compositions \['reel 1', 'reel 2'\]; .*composition="):
        read_aaf(path)
    reel = read_aaf(path, composition="reel 2")
    assert reel.name == "reel 2" and reel.graph.tracks["DX"].clips[0].duration_s == 20 / 25
    with pytest.raises(AAFImportError, match=r"composition='reel 3' is not a composition"):
        read_aaf(path, composition="reel 3")


def test_bad_arguments(media, tmp_path):
    path = tmp_path / "cut.aaf"
    write_two_track_cut(path, media)
    with pytest.raises(AAFImportError, match="crossfade_curve='wobbly'"):
        read_aaf(path, crossfade_curve="wobbly")  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------- docs


def test_docs_example_runs(media, tmp_path, monkeypatch, capsys):
    """docs/aaf.md's example, on the two-track cut linked to the editor's paths, media in media/."""
    monkeypatch.chdir(tmp_path)
    write_two_track_cut(
        tmp_path / "reel1.aaf", media, lambda p: f"file:///Volumes/Editorial/reel1/{Path(p).name}"
    )
    text = (ROOT / "docs" / "aaf.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)
    assert blocks and len(blocks) == text.count("```python")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for code in blocks:
        exec(compile(code, "docs/aaf.md", "exec"), namespace)  # noqa: S102 - our own docs
    printed = capsys.readouterr().out
    assert "0.24 -6.02 0.16\nlinear\n3600.0\n" in printed
    assert "relinked by name" in printed and "(2, 165120)" in printed
