"""Delivering to loudness targets: closed loop, null-summing stems, files, reports, failures."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.deliver import TargetNotMetError, deliver
from sonicmix.nodes.base import Node
from sonicmix.targets import PRESETS

FS = 48000


def session(rng, seconds: float = 8.0) -> sm.Graph:
    """Dialogue bursts, a music bed and a loud effect hit: a small multi-stem programme."""

    def src(channels, level, gate_hz):
        n = int(seconds * FS)
        x = rng.standard_normal((channels, n)) * level
        x *= np.sin(2 * np.pi * gate_hz * np.arange(n) / FS) > -0.3
        return sm.ArraySource(x.astype(np.float32), FS)

    return sm.Graph(
        tracks={
            "dx": sm.Track(
                clips=(sm.Clip(source=src(1, 0.05, 0.7)),), layout="mono", pan=0.0, output="dialogue"
            ),
            "mx": sm.Track(clips=(sm.Clip(source=src(2, 0.02, 0.05)),), output="music"),
            "fx": sm.Track(
                clips=(sm.Clip(source=src(2, 0.08, 3.0), start_s=3.0, duration_s=0.3),), output="effects"
            ),
        },
        buses={"dialogue": sm.Bus(), "music": sm.Bus(), "effects": sm.Bus(), "master": sm.Bus(output=None)},
    )


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_delivers_a_compliant_mix(preset, tmp_path, rng):
    target = PRESETS[preset]
    delivery = deliver(session(rng), preset, tmp_path, bext=False, reports=False)
    assert delivery.passed, delivery.reasons
    mix = delivery.reports["mix"]  # measured on the file read back from disk
    measured = mix.dialogue_lufs if target.measurement == "dialogue" else mix.integrated_lufs
    assert abs(measured - target.integrated_lufs) <= 0.1
    assert mix.true_peak_dbtp <= target.true_peak_dbtp


def test_stems_null_sum_to_the_mix(tmp_path, rng):
    delivery = deliver(session(rng), "spotify", tmp_path, me_mix=True, bext=False)
    assert delivery.limiter["max_reduction_db"] > 1.0  # the limiter worked on this one
    mix, _ = sm.read(delivery.files["mix"], dtype="float64")
    stems = [sm.read(delivery.files[s], dtype="float64")[0] for s in ("dialogue", "music", "effects")]
    residual = np.abs(mix - sum(stems)).max()
    assert 20 * np.log10(residual) < -90.0  # 24-bit dither of four files is ~-126 dBFS
    me, _ = sm.read(delivery.files["ME"], dtype="float64")
    assert 20 * np.log10(np.abs(me - stems[1] - stems[2]).max()) < -90.0


def test_a_delivery_renders_and_limits_in_the_graph_s_default_block(tmp_path, rng, monkeypatch):
    """deliver(block_size=None) takes the renderer's choice for the graph (2**17 for this stereo one),
    for the render and for the writing pass alike; a given size is used as given."""
    import sonicmix.delivery.loop as loop
    import sonicmix.renderer as renderer

    seen: list[tuple[str, int]] = []
    render_blocks, limited_pass = renderer.render_blocks, loop.limited_pass

    def spy_render(*args, **kwargs):
        seen.append(("render", kwargs["block_size"]))
        return render_blocks(*args, **kwargs)

    def spy_pass(renders, gain_db, limiter, rate, block_size, *args, **kwargs):
        seen.append(("pass", block_size))
        return limited_pass(renders, gain_db, limiter, rate, block_size, *args, **kwargs)

    monkeypatch.setattr(renderer, "render_blocks", spy_render)
    monkeypatch.setattr(loop, "limited_pass", spy_pass)
    assert deliver(session(rng, 2.0), "ebu-r128", tmp_path / "a", bext=False, reports=False).passed
    assert {size for _, size in seen} == {renderer.default_block_size(session(rng, 2.0))} == {1 << 17}
    assert {stage for stage, _ in seen} == {"render", "pass"}
    seen.clear()
    deliver(session(rng, 2.0), "ebu-r128", tmp_path / "b", bext=False, reports=False, block_size=1000)
    assert {size for _, size in seen} == {1000}


def test_reports_bext_and_an_independent_meter_agree(tmp_path, rng):
    import pyebur128

    delivery = deliver(session(rng), "ebu-r128", tmp_path)
    data = json.loads((tmp_path / "mix.report.json").read_text())
    assert data["passed"] is True and data["target"]["integrated_lufs"] == -23.0
    assert {c["name"] for c in data["compliance"]["criteria"]} >= {"integrated", "true_peak"}
    assert "Integrated" in (tmp_path / "mix.report.txt").read_text()
    assert "scene_loudness" not in data and "virtual loudspeakers" not in str(delivery)  # an ambix mix's only
    png = (tmp_path / "mix.loudness.png").read_bytes()  # matplotlib is in the test extras
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    from sonicmix.bwf import read_bext

    bext = read_bext(delivery.files["mix"])
    assert bext["loudness_value_lufs"] == pytest.approx(delivery.reports["mix"].integrated_lufs, abs=0.01)
    # libebur128 on the delivered file: integrated within 0.1 LU, true peak within 0.2 dB (issue's tolerance)
    audio, _ = sm.read(delivery.files["mix"], dtype="float64")
    state = pyebur128.R128State(
        2, FS, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    )
    state.add_frames(np.ascontiguousarray(audio.T).ravel(), audio.shape[1])
    assert pyebur128.get_loudness_global(state) == pytest.approx(-23.0, abs=0.1)
    peak = 20 * np.log10(max(pyebur128.get_true_peak(state, c) for c in range(2)))
    assert peak == pytest.approx(delivery.reports["mix"].true_peak_dbtp, abs=0.2)


def test_silence_and_excess_limiting_fail_and_write_nothing(tmp_path, rng):
    silent = sm.Graph(
        tracks={
            "t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(np.zeros((2, FS * 3), np.float32), FS)),))
        },
        buses={"master": sm.Bus(output=None)},
    )
    result = deliver(silent, "ebu-r128", tmp_path)
    assert not result.passed and "silent" in result.reasons[0] and not result.files
    with pytest.raises(TargetNotMetError, match=r"silent.*nothing was written"):
        deliver(silent, "ebu-r128", tmp_path, strict=True)
    result = deliver(session(rng), "spotify", tmp_path, max_limiting_db=1.0)
    assert not result.passed and "max_limiting_db=1" in result.reasons[0]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("threads", [1, 2])
def test_a_failure_while_writing_leaves_no_partial_deliverable(threads, tmp_path, rng, monkeypatch):
    from sonicmix._wav import WavWriter  # every WAV block goes through WavWriter._append

    calls = {"n": 0}
    original = WavWriter._append

    def disk_full_on_the_fifth_deliverable_block(self, data):
        if self.subtype == "PCM_24":  # the deliverables, not the float32 work files
            calls["n"] += 1
            if calls["n"] == 5:
                raise OSError(28, "No space left on device")
        return original(self, data)

    monkeypatch.setattr(WavWriter, "_append", disk_full_on_the_fifth_deliverable_block)
    with pytest.raises(sm.AudioFileError, match="No space left on device"):
        deliver(session(rng), "ebu-r128", tmp_path, block_size=4096, threads=threads)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("subtype", "formats"), [("PCM_24", "wav,flac"), ("FLOAT", "wav")])
def test_two_threads_deliver_the_same_bytes_and_progress_as_one(subtype, formats, tmp_path, rng, monkeypatch):
    """threads=2 overlaps the render's tracks with its buses and the files with the limiter:
    every file (stems, M&E, FLAC, each stem's own limiter; float WAV with its PEAK chunk) byte
    for byte, the same reports, and the same progress calls in the same order."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the bext and PEAK dates: the same in both
    graph = session(rng)
    done, calls = {}, {}
    for threads in (1, 2):
        calls[threads] = []
        done[threads] = deliver(
            graph,
            "ebu-r128",
            tmp_path / str(threads),
            formats=formats,
            subtype=subtype,
            me_mix=True,
            stem_ceiling="own",
            block_size=4096,  # about a hundred blocks: the pipeline runs many blocks deep
            reports=False,
            threads=threads,
            progress=lambda stage, n, total, seen=calls[threads]: seen.append((stage, n, total)),
        )
    one, two = done[1], done[2]
    assert list(two.files) == list(one.files) and len(one.files) == len(formats.split(",")) + 4
    for key, path in one.files.items():
        assert open(two.files[key], "rb").read() == open(path, "rb").read(), key
        assert two.reports[key].to_dict() == one.reports[key].to_dict()
    assert calls[2] == calls[1] and {c[0] for c in calls[1]} == {"render", "write"}


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_24"])
def test_a_non_finite_sample_in_a_deliverable_is_named_whichever_way_it_is_stored(subtype, tmp_path):
    """The float writer's pass spares its meter the second look at finite blocks, not at NaN or inf:
    the meter still names the first one. PCM stores NaN as silence and clips inf (measured as stored)."""
    from sonicmix.delivery.writers import PcmDeliverables

    paths = {"mix": str(tmp_path / "m.wav"), "fx": str(tmp_path / "fx.wav")}
    files = PcmDeliverables(paths, ["mix"], ["fx"], [], {"master": 2, "fx": 2}, 48000, subtype, 0, [])
    fine = np.full((2, 1000), 0.25, np.float32)
    bad = fine.copy()
    bad[1, 300] = np.nan
    try:
        for outputs in ({"master": fine, "fx": fine}, {"master": fine, "fx": bad}):
            for job in files.jobs(outputs):
                if subtype == "FLOAT" and outputs["fx"] is bad and job.args == ("fx",):
                    with pytest.raises(sm.AudioError, match=r"nan at channel 1, sample 1300 "):
                        job()
                else:
                    job()
        assert [w.all_finite for w in files.writers.values()] == [True, subtype != "FLOAT"]
    finally:
        files.abort()
    assert os.listdir(tmp_path) == []


@dataclass(frozen=True, slots=True, kw_only=True)
class FailsAt(Node):
    """Test node: passes its input through until ``at_s`` seconds, then raises a named error."""

    at_s: float = 1.0

    def init_state(self, channels, sample_rate, dtype=np.float32):
        return 0

    def process(self, x, sample_rate, state, *, key=None):
        if state + x.shape[1] > self.at_s * sample_rate:
            raise sm.AudioError(f"FailsAt: at_s={self.at_s} reached (sample {int(self.at_s * sample_rate)})")
        return x, state + x.shape[1]


@pytest.mark.parametrize("threads", [1, 2])
def test_an_error_in_a_tracks_node_is_raised_as_it_is_and_nothing_is_written(threads, tmp_path, rng):
    """The node fails mid-render in a worker thread (its track runs a block ahead with threads=2):
    the caller gets the node's own error, and the folder is left as it was."""
    graph = session(rng)
    tracks = dict(graph.tracks)
    tracks["mx"] = dataclasses.replace(tracks["mx"], chain=(FailsAt(at_s=5.0),))
    graph = sm.Graph(tracks=tracks, buses=graph.buses)
    with pytest.raises(sm.AudioError, match=r"^FailsAt: at_s=5\.0 reached \(sample 240000\)$"):
        deliver(graph, "ebu-r128", tmp_path, block_size=4096, threads=threads)
    assert os.listdir(tmp_path) == []


def test_deliveries_are_deterministic(tmp_path, rng):
    graph = session(rng)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = deliver(graph, "atsc-a85", tmp_path / "a", bext=False)
    # threads write and measure the files in parallel: the same bytes and reports
    second = deliver(graph, "atsc-a85", tmp_path / "b", bext=False, threads=3, me_mix=True)
    for key in first.files:
        assert open(first.files[key], "rb").read() == open(second.files[key], "rb").read()
        assert first.reports[key].to_dict() == second.reports[key].to_dict()


def test_spilling_the_render_to_disk_changes_no_byte_and_reports_match_the_files(tmp_path, rng):
    """memory_mb=0 sends the render to temporary files: the same deliverables, and no temp file left."""
    graph = session(rng)
    (tmp_path / "mem").mkdir()
    (tmp_path / "disk").mkdir()
    stages = []
    in_memory = deliver(graph, "ebu-r128", tmp_path / "mem", bext=False, me_mix=True)
    on_disk = deliver(
        graph,
        "ebu-r128",
        tmp_path / "disk",
        bext=False,
        me_mix=True,
        memory_mb=0,
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    for key in in_memory.files:
        assert open(in_memory.files[key], "rb").read() == open(on_disk.files[key], "rb").read()
    assert not [f for f in os.listdir(tmp_path / "disk") if f.startswith(".sonicmix-")]
    # progress reached the end of every stage it reported
    assert {s for s, _, _ in stages} >= {"render", "write"}
    assert all(
        done == total
        for s, done, total in stages
        if (s, done, total) == max((x for x in stages if x[0] == s), key=lambda x: x[1])
    )
    # reports are measured on the samples as stored: reading the files back gives the same figures
    # (the meter is deterministic: bit-identical input gives identical results, so exact equality)
    for key, path in on_disk.files.items():
        audio, _ = sm.read(path)
        again = sm.measure(audio, FS)
        report = on_disk.reports[key]
        assert again.integrated_lufs == report.integrated_lufs
        assert again.true_peak_dbtp == report.true_peak_dbtp
        assert again.lra_lu == report.lra_lu


def test_the_kept_render_holds_the_renderers_float32_blocks_without_copying_them(tmp_path):
    """A copy per block would fault the programme's memory in again on every delivery (on a pool
    thread it comes from an arena that gives it back); float64 and strided blocks become float32."""
    from sonicmix.delivery.kept import KeptRender

    kept = KeptRender(str(tmp_path), {"master": 2, "music": 2}, FS, memory_mb=1.0)
    master = np.ones((2, 1000), np.float32)
    wide = np.full((2, 1500), 0.5)
    kept.append({"master": master, "music": wide[:, :1000]})
    block = next(kept.blocks(1000, ["master", "music"]))
    assert block["master"] is master
    assert block["music"].dtype == np.float32 and block["music"].flags.c_contiguous
    np.testing.assert_array_equal(block["music"], 0.5)


def test_a_stem_over_the_ceiling_is_noted_not_hidden(tmp_path, rng):
    """Stems carry the mix's gain and limiter; a stem cancelled in the mix can peak over the ceiling.
    Here a spike in one stem is cancelled by its inverse in another: the mix passes, the note
    names both stems."""
    n = 8 * FS
    bed = (rng.standard_normal((2, n)) * 0.02).astype(np.float32)  # about -28 LUFS: needs ~+5 dB
    spike = np.zeros((2, n), np.float32)
    spike[:, 4 * FS : 4 * FS + 200] = 0.5  # after the gain, about +0 dBTP in each stem
    graph = sm.Graph(
        tracks={
            "a": sm.Track(clips=(sm.Clip(source=sm.ArraySource(bed + spike, FS)),), output="music"),
            "b": sm.Track(clips=(sm.Clip(source=sm.ArraySource(-spike, FS)),), output="effects"),
        },
        buses={"music": sm.Bus(), "effects": sm.Bus(), "master": sm.Bus(output=None)},
    )
    delivery = deliver(graph, "ebu-r128", tmp_path, bext=False)
    assert delivery.passed
    noted = " ".join(delivery.notes)
    assert "music peaks at" in noted and "effects peaks at" in noted and "mix peaks" not in noted
    assert delivery.reports["music"].true_peak_dbtp > -1.0
    data = json.loads((tmp_path / "mix.report.json").read_text())
    assert data["notes"] == list(delivery.notes)
    assert "note: music peaks" in (tmp_path / "mix.report.txt").read_text()


def riff_chunk_ids(data: bytes) -> list[bytes]:
    ids, at = [], 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        ids.append(data[at : at + 4])
        at += 8 + size + (size & 1)
    return ids


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT"])
def test_source_date_epoch_makes_deliveries_byte_identical_bext_included(tmp_path, rng, monkeypatch, subtype):
    import time

    from sonicmix.bwf import read_bext

    graph = session(rng, seconds=4.0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00:00 UTC
    first = deliver(graph, "ebu-r128", tmp_path / "a", subtype=subtype)
    time.sleep(1.1)  # the clock ticks between the two: a wall-clock field anywhere would differ
    second = deliver(graph, "ebu-r128", tmp_path / "b", subtype=subtype)
    for key in first.files:
        assert open(first.files[key], "rb").read() == open(second.files[key], "rb").read()
    bext = read_bext(first.files["mix"])
    assert (bext["origination_date"], bext["origination_time"]) == ("2026-01-01", "00:00:00")
    data = open(first.files["mix"], "rb").read()
    # the bext chunk took the room the writer reserved before the data; a smaller JUNK keeps the rest
    header = [b"fmt ", b"fact", b"PEAK"] if subtype == "FLOAT" else [b"fmt "]
    assert riff_chunk_ids(data) == [*header, b"bext", b"JUNK", b"data"]
    if subtype == "FLOAT":  # the PEAK chunk's timestamp (after its version field) is the epoch too
        at = data.index(b"PEAK") + 12
        assert int.from_bytes(data[at : at + 4], "little") == 1767225600
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(sm.ParameterError, match="SOURCE_DATE_EPOCH='yesterday'"):
        deliver(graph, "ebu-r128", tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_stems_limited_on_their_own_meet_the_ceiling(tmp_path, rng):
    """stem_ceiling='own': each stem and the M&E meet the ceiling alone; where no limiter worked they
    still sum to the mix, and the report says how much each stem's own limiter took."""
    # music and effects nearly cancel in the mix (opposite polarity): each stem peaks far above the mix
    n = 6 * FS
    common = rng.standard_normal((2, n)) * 0.2
    voice = rng.standard_normal((1, n)) * 0.05 * (np.sin(2 * np.pi * 0.7 * np.arange(n) / FS) > -0.3)

    def track(x, bus, **kw):
        return sm.Track(clips=(sm.Clip(source=sm.ArraySource(x.astype(np.float32), FS)),), output=bus, **kw)

    graph = sm.Graph(
        tracks={
            "dx": track(voice, "dialogue", layout="mono", pan=0.0),
            "mx": track(common, "music"),
            "fx": track(-0.9 * common, "effects"),
        },
        buses={"dialogue": sm.Bus(), "music": sm.Bus(), "effects": sm.Bus(), "master": sm.Bus(output=None)},
    )
    shared = deliver(graph, "spotify", tmp_path / "shared", me_mix=True, bext=False, reports=False)
    over = [k for k in ("dialogue", "music", "effects", "ME") if shared.reports[k].true_peak_dbtp > -1.0]
    assert over, "the material must have a stem over the ceiling for this test to mean anything"
    own = deliver(
        graph, "spotify", tmp_path / "own", me_mix=True, bext=False, reports=False, stem_ceiling="own"
    )
    assert own.passed and own.stem_ceiling == "own"
    for key in ("dialogue", "music", "effects", "ME"):
        assert own.reports[key].true_peak_dbtp <= -1.0, key
    assert all(own.stem_limiting_db[k] > 0.1 for k in over)
    # the mix is the same; a stem its own limiter left alone is the same file as with shared stems
    mix_a, _ = sm.read(shared.files["mix"], dtype="float64")
    mix_b, _ = sm.read(own.files["mix"], dtype="float64")
    assert np.abs(mix_a - mix_b).max() < 1e-6
    untouched = [k for k in ("dialogue", "music") if own.stem_limiting_db[k] == 0.0]
    for key in untouched:
        a, _ = sm.read(shared.files[key], dtype="float64")
        b, _ = sm.read(own.files[key], dtype="float64")
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-6
    assert "stems limited on their own" in str(own) and own.to_dict()["stem_ceiling"] == "own"


def test_loudness_to_dialogue_ratio_from_the_stem_and_from_the_detector(tmp_path, rng):
    """EBU R 128 s4's LDR: programme minus dialogue loudness, reported for every delivery with a dialogue
    stem, judged by the ebu-r128-s4 preset; without a stem the speech detector finds the dialogue."""
    from tests.reference import dialogue as material

    if not material.available():
        pytest.skip(material.SKIP_REASON)
    _, _, parts = material.speech_podcast(FS)  # real voices and a recorded music loop
    # cinematic structure: 10 s of dialogue, then 6 s where nobody speaks, five times
    talk, gap = 10 * FS, 6 * FS
    voice = np.zeros((1, 5 * (talk + gap)))
    between = np.ones(voice.shape[1])
    for k in range(5):
        voice[:, k * (talk + gap) : k * (talk + gap) + talk] = (parts.host + parts.guest)[
            :, k * talk : (k + 1) * talk
        ]
        between[k * (talk + gap) : k * (talk + gap) + talk] = 0.0
    between = np.convolve(between, np.ones(4800) / 4800, mode="same")  # 0.1 s ramps
    bed = np.tile(parts.music, (1, -(-voice.shape[1] // parts.music.shape[1])))[:, : voice.shape[1]]
    bed = bed * 10 ** ((material._level_db(voice) - material._level_db(bed) - 10.0) / 20)  # 10 LU under

    def graph(music_gain_db, stems):
        music = bed * (between if music_gain_db > 0 else 1.0)

        def track(x, bus, gain_db=0.0):
            return sm.Track(
                clips=(sm.Clip(source=sm.ArraySource(x.astype(np.float32), FS)),),
                output=bus,
                fader_db=gain_db,
                layout="mono" if x.shape[0] == 1 else "stereo",
            )

        buses = {"master": sm.Bus(output=None)}
        if stems:
            buses.update(dialogue=sm.Bus(), music=sm.Bus())
        return sm.Graph(
            tracks={
                "vo": track(voice, "dialogue" if stems else "master"),
                "mx": track(music, "music" if stems else "master", music_gain_db),
            },
            buses=buses,
        )

    quiet = deliver(graph(-12.0, True), "ebu-r128-s4", tmp_path / "a", bext=False, reports=False)
    loud = deliver(graph(+22.0, True), "ebu-r128-s4", tmp_path / "b", bext=False, reports=False)
    assert quiet.passed and abs(quiet.ldr_lu) < 2.0
    assert not loud.passed and loud.ldr_lu > 5.0, loud.ldr_lu
    assert any("loudness-to-dialogue ratio" in r for r in loud.reasons)
    # no dialogue stem: the detector hears the speech in the mix and gives a close figure
    detected = deliver(graph(-12.0, False), "ebu-r128-s4", tmp_path / "c", bext=False, reports=False)
    assert detected.passed and abs(detected.ldr_lu - quiet.ldr_lu) < 1.0
    assert "loudness-to-dialogue ratio" in str(quiet) and quiet.to_dict()["ldr_lu"] is not None


def test_a_surround_delivery_reports_its_fold_downs_and_writes_its_channel_mask(tmp_path, rng):
    """A 5.1 mix: the files carry the 5.1 WAVE channel mask, and the report measures the stereo and mono
    fold-downs of the mix as written (ITU-R BS.775 coefficients), flagging one over the ceiling."""
    from sonicmix.io import file_layout
    from sonicmix.layouts import downmix
    from sonicmix.loudness import measure

    n = 6 * FS
    surround = (rng.standard_normal((6, n)) * 0.05).astype(np.float32)
    surround[3] *= 0.1  # a quiet LFE
    surround[4] = surround[5] = surround[0] * 4  # loud surrounds correlated with the left: a hot fold-down
    graph = sm.Graph(
        tracks={"bed": sm.Track(clips=(sm.Clip(source=sm.ArraySource(surround, FS)),), layout="5.1")},
        buses={"master": sm.Bus(output=None, layout="5.1")},
    )
    delivery = deliver(graph, "ebu-r128", tmp_path, bext=False, reports=False)
    assert file_layout(delivery.files["mix"]).name == "5.1"
    folds = {d.layout: d for d in delivery.downmix}
    assert list(folds) == ["stereo", "mono"]
    written, _ = sm.read(delivery.files["mix"], dtype="float64")
    stereo = measure(downmix(written, "5.1", "stereo"), FS)
    assert folds["stereo"].integrated_lufs == pytest.approx(stereo.integrated_lufs, abs=1e-6)
    assert folds["stereo"].true_peak_dbtp == pytest.approx(stereo.true_peak_dbtp, abs=0.01)
    assert any(d.clipped for d in folds.values()) == any("fold-down" in note for note in delivery.notes)
    assert "fold-down to stereo" in str(delivery) and delivery.to_dict()["downmix"][0]["layout"] == "stereo"


def test_an_immersive_bed_from_a_file_is_delivered_with_its_weights_and_mask(tmp_path, rng):
    """A 7.1.4 WAV (its mask names the layout) on a 7.1.4 track: rendered, delivered with the 7.1.4 mask,
    measured with BS.1770-5's position weights (not a channel-count guess), and folded down."""
    from sonicmix.io import file_layout
    from sonicmix.loudness import measure
    from sonicmix.timeline import FileSource

    bed = (rng.standard_normal((12, 4 * FS)) * 0.05).astype(np.float32)
    sm.write(tmp_path / "bed.wav", bed, FS, layout="7.1.4")
    graph = sm.Graph(
        tracks={
            "bed": sm.Track(clips=(sm.Clip(source=FileSource(str(tmp_path / "bed.wav"))),), layout="7.1.4")
        },
        buses={"master": sm.Bus(output=None, layout="7.1.4")},
    )
    delivery = deliver(graph, "ebu-r128", tmp_path / "out", bext=False, reports=False)
    assert delivery.passed, delivery.reasons
    assert file_layout(delivery.files["mix"]).name == "7.1.4"
    written, _ = sm.read(delivery.files["mix"], dtype="float64")
    weighted = measure(written, FS, layout="7.1.4").integrated_lufs
    assert delivery.reports["mix"].integrated_lufs == pytest.approx(weighted, abs=1e-6)
    assert [d.layout for d in delivery.downmix] == ["7.1", "5.1", "stereo", "mono"]


def test_a_bus_whose_chain_changes_its_layout_is_delivered_in_the_layout_it_outputs(tmp_path, rng):
    """A 7.1.4 master whose chain ends in a Binaural node outputs two ears: the files, the meter's
    weights and the (absent) fold-down check follow the chain's output (stereo), not the bus's declared
    layout."""
    from sonicmix.io import file_layout
    from sonicmix.loudness import measure
    from sonicmix.spatial import Binaural

    bed = (rng.standard_normal((12, 3 * FS)) * 0.05).astype(np.float32)
    graph = sm.Graph(
        tracks={"bed": sm.Track(clips=(sm.Clip(source=sm.ArraySource(bed, FS)),), layout="7.1.4")},
        buses={"master": sm.Bus(output=None, layout="7.1.4", chain=(Binaural(layout="7.1.4"),))},
    )
    delivery = deliver(graph, "ebu-r128", tmp_path, bext=False, reports=False, tail_s=0.0)
    assert delivery.passed, delivery.reasons
    written, _ = sm.read(delivery.files["mix"], dtype="float64")
    assert written.shape[0] == 2 and file_layout(delivery.files["mix"]).name == "stereo"
    expected = measure(written, FS).integrated_lufs
    assert delivery.reports["mix"].integrated_lufs == pytest.approx(expected, abs=1e-6)
    assert delivery.downmix == ()  # a stereo mix: no fold-down check


@pytest.mark.parametrize("stage", ["render", "write"])
def test_a_progress_callback_stopping_a_two_thread_delivery_leaves_nothing(stage, tmp_path, rng):
    """Cancelling from the progress bar mid-stage while blocks are in flight in the other thread."""

    class Stop(Exception):
        pass

    def progress(at, done, total):
        if at == stage and done > total // 2:
            raise Stop(f"stopped at {done} of {total}")

    with pytest.raises(Stop, match="^stopped at "):
        deliver(session(rng), "ebu-r128", tmp_path, block_size=4096, threads=2, progress=progress)
    assert os.listdir(tmp_path) == []
