"""Rendering mix graphs: placement, fades, routing, automation, latency, streaming."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sonicmix.io as sio
from sonicmix.automation import Automation
from sonicmix.graph import Bus, Graph, Send, Track
from sonicmix.nodes.base import Node
from sonicmix.nodes.gain import Gain
from sonicmix.renderer import render, render_blocks
from sonicmix.timeline import ArraySource, Clip, FileSource
from tests.test_graph import Keyed

FS = 48000


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookahead(Node):
    """Test node: delays by `delay_samples` and reports it as latency (like a lookahead limiter at unity)."""

    delay_samples: int = 37

    def init_state(self, channels, sample_rate, dtype=np.float32):
        return np.zeros((channels, self.delay_samples), dtype)

    def process(self, x, sample_rate, state, *, key=None) -> tuple[Any, Any]:
        joined = np.concatenate([state, x], axis=1)
        return joined[:, : x.shape[1]], joined[:, x.shape[1] :].copy()

    def latency_samples(self, sample_rate):
        return self.delay_samples


def noise(rng, channels, seconds, rate=FS, name="noise"):
    return ArraySource(
        (rng.standard_normal((channels, int(seconds * rate))) * 0.1).astype(np.float32), rate, name=name
    )


def mono_master(**tracks) -> Graph:
    return Graph(tracks=tracks, buses={"master": Bus(layout="mono", output=None)})


def test_clip_placement_offset_and_gain_are_sample_exact():
    ramp = ArraySource(np.arange(1000, dtype=np.float32)[None] / 1000, FS, name="ramp")
    clip = Clip(source=ramp, start_s=0.01, offset_s=100 / FS, duration_s=200 / FS, gain_db=-6.0206)
    out = render(mono_master(t=Track(clips=(clip,), layout="mono")), sample_rate=FS).master[0]
    assert out.shape == (480 + 200,)
    assert np.all(out[:480] == 0)
    np.testing.assert_allclose(out[480:], 0.5 * np.arange(100, 300) / 1000, rtol=1e-6)


def test_fades_and_automatic_equal_power_crossfade(rng):
    ones = ArraySource(np.ones((1, FS), np.float32), FS, name="ones")
    faded = Clip(source=ones, duration_s=0.5, fade_in_s=0.1, fade_out_s=0.1)
    out = render(mono_master(t=Track(clips=(faded,), layout="mono")), sample_rate=FS).master[0]
    np.testing.assert_allclose(out[2400], (2400 + 0.5) / 4800, rtol=1e-6)  # linear fade in, mid-sample
    assert out[4800:19200].min() == 1.0 and out[-1] < 1e-3
    # Two clips of uncorrelated noise overlapping by 0.2 s: the equal-power crossfade keeps the power.
    a, b = noise(rng, 1, 1.0, name="a"), noise(rng, 1, 1.0, name="b")
    track = Track(clips=(Clip(source=a), Clip(source=b, start_s=0.8)), layout="mono")
    out = render(mono_master(t=track), sample_rate=FS).master[0]
    overlap = out[int(0.8 * FS) : FS]
    assert np.mean(overlap**2) == pytest.approx(0.01, rel=0.08)  # 9600 samples of noise: ~3% spread
    gains = np.sin(np.pi / 2 * (np.arange(9600) + 0.5) / 9600)
    expected = a.audio[0, int(0.8 * FS) :] * gains[::-1] + b.audio[0, :9600] * gains
    np.testing.assert_allclose(overlap, expected, atol=1e-6)


def test_surround_track_folds_down_to_a_stereo_master_per_bs775():
    x = np.zeros((6, 100), np.float32)
    x[2] = 1.0  # centre
    x[3] = 1.0  # LFE: dropped by the down-mix
    x[4] = 0.5  # left surround
    graph = Graph(
        tracks={"s": Track(clips=(Clip(source=ArraySource(x, FS)),), layout="5.1")},
        buses={"master": Bus(output=None)},
    )
    out = render(graph, sample_rate=FS).master
    np.testing.assert_allclose(out[:, 50], [0.7071068 * 1.5, 0.7071068], rtol=1e-6)


def test_sends_pre_and_post_fader_mute_and_solo():
    ones = ArraySource(np.ones((1, 100), np.float32), FS)
    graph = Graph(
        tracks={
            "a": Track(
                clips=(Clip(source=ones),),
                layout="mono",
                fader_db=-6.0206,
                output="dry",
                sends=(Send(to="pre", pre_fader=True, level_db=-20.0), Send(to="post", level_db=-20.0)),
            ),
            "b": Track(clips=(Clip(source=ones),), layout="mono", mute=True, output="dry"),
        },
        buses={
            "dry": Bus(layout="mono", output="master"),
            "pre": Bus(layout="mono", output="master"),
            "post": Bus(layout="mono", output="master"),
            "master": Bus(layout="mono", output=None),
        },
    )
    result = render(graph, sample_rate=FS)
    assert result.stems["dry"][0, 10] == pytest.approx(0.5, rel=1e-5)
    assert result.stems["pre"][0, 10] == pytest.approx(0.1, rel=1e-5)
    assert result.stems["post"][0, 10] == pytest.approx(0.05, rel=1e-5)
    assert result.master[0, 10] == pytest.approx(0.65, rel=1e-5)
    soloed = Graph(
        tracks={
            **graph.tracks,
            "b": Track(clips=(Clip(source=ones),), layout="mono", solo=True, output="dry"),
        },
        buses=graph.buses,
    )
    assert render(soloed, sample_rate=FS).master[0, 10] == pytest.approx(1.0, rel=1e-6)  # only b plays


def test_fader_and_pan_automation_are_sample_accurate():
    ones = ArraySource(np.ones((1, FS), np.float32), FS)
    fader = Automation(((0.0, -40.0), (1.0, 0.0)))
    pan = Automation(((0.0, -1.0), (1.0, 1.0)))
    graph = Graph(
        tracks={"t": Track(clips=(Clip(source=ones),), layout="mono", fader_db=fader, pan=pan)},
        buses={"master": Bus(output=None)},
    )
    out = render(graph, sample_rate=FS, block_size=1000).master
    n = np.array([0, 12000, 24000, 47999])
    gain = 10 ** (-40 * (1 - n / FS) / 20)
    theta = (2 * n / FS - 1 + 1) * np.pi / 4
    np.testing.assert_allclose(out[0, n], gain * np.cos(theta), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[1, n], gain * np.sin(theta), rtol=1e-5, atol=1e-7)
    assert np.allclose(
        out[0] ** 2 + out[1] ** 2, (10 ** (-40 * (1 - np.arange(FS) / FS) / 20)) ** 2, rtol=1e-4
    )


def test_latency_is_compensated_so_dry_and_processed_paths_null(rng):
    src = noise(rng, 2, 0.5)
    graph = Graph(
        tracks={"t": Track(clips=(Clip(source=src),), output="wet", sends=(Send(to="dry"),))},
        buses={
            "wet": Bus(chain=(Lookahead(delay_samples=37), Lookahead(delay_samples=5))),
            "dry": Bus(chain=(Gain(gain_db=0.0),), fader_db=0.0),
            "diff": Bus(chain=(Lookahead(delay_samples=11),)),
            "master": Bus(output=None),
        },
    )
    result = render(graph, sample_rate=FS)
    assert result.latency_samples == 42
    np.testing.assert_array_equal(result.stems["wet"], result.stems["dry"])
    np.testing.assert_array_equal(result.stems["dry"], src.audio)  # aligned with the timeline


def test_side_chain_key_arrives_aligned_with_the_keyed_signal(rng):
    src = noise(rng, 1, 0.2)
    graph = Graph(
        tracks={
            "voice": Track(clips=(Clip(source=src),), layout="mono", output="dx"),
            "bed": Track(
                clips=(Clip(source=src),), layout="mono", chain=(Keyed(),), key="dx", output="master"
            ),
        },
        buses={
            "dx": Bus(layout="mono", chain=(Lookahead(delay_samples=100),), output="master"),
            "master": Bus(layout="mono", output=None),
        },
    )
    bed = (
        render(graph, sample_rate=FS, stems=["master"]).master[0]
        - render(graph, sample_rate=FS).stems["dx"][0]
    )
    np.testing.assert_allclose(bed, src.audio[0] ** 2, atol=1e-7)  # x * key with key == x, not a shifted x


def _busy_graph(rng) -> Graph:
    music = noise(rng, 2, 0.6, rate=44100, name="music")
    graph = Graph(
        tracks={
            "dx": Track(
                clips=(Clip(source=noise(rng, 1, 0.3), start_s=0.1, fade_in_s=0.05),),
                layout="mono",
                pan=Automation(((0.0, -0.5), (0.5, 0.5))),
                output="dialogue",
                sends=(Send(to="verb", level_db=Automation(((0.0, -30.0), (0.6, -6.0)))),),
            ),
            "mx": Track(
                clips=(Clip(source=music), Clip(source=music, start_s=0.4)),
                output="music",
                fader_db=Automation(((0.0, 0.0), (0.3, -12.0, "step"))),
            ),
        },
        buses={
            "dialogue": Bus(chain=(Lookahead(delay_samples=64),)),
            "music": Bus(),
            "verb": Bus(chain=(Lookahead(delay_samples=7),)),
            "master": Bus(output=None),
        },
    )
    return graph


@pytest.mark.parametrize("block_size", [1, 2, 63, 64, 65, 4097])
def test_streamed_render_equals_whole_on_the_block_grid(block_size):
    _assert_streamed_equals_whole(_busy_graph(np.random.default_rng(4)), block_size)


@settings(max_examples=15, deadline=None)
@given(block_size=st.integers(16, 20000))
def test_streamed_render_equals_whole(block_size):
    _assert_streamed_equals_whole(_busy_graph(np.random.default_rng(4)), block_size)


@pytest.mark.parametrize(
    ("layouts", "expected"),
    [(("mono",), 1 << 17), (("mono", "stereo"), 1 << 17), (("stereo", "ambix1"), 1 << 16),
     (("stereo", "5.1"), 1 << 15), (("7.1",), 1 << 15), (("7.1.4",), 1 << 14)],
)  # fmt: skip
def test_the_default_block_holds_a_megabyte_of_the_widest_strip(layouts, expected):
    """A 5.1 programme from files rendered 17-20 % faster in blocks of 2**15 than of 2**16, and a
    stereo delivery a little faster in blocks of 2**17: the block follows the widest strip's width."""
    from sonicmix.renderer import default_block_size

    tracks = {f"t{i}": Track(layout=layout) for i, layout in enumerate(layouts)}
    graph = Graph(tracks=tracks, buses={"master": Bus(layout=layouts[-1], output=None)})
    assert default_block_size(graph) == expected
    sizes = [block["master"].shape[1] for _, block in render_blocks(graph, sample_rate=FS, duration_s=4.0)]
    assert max(sizes) == min(expected, 4 * FS)


def test_the_default_block_counts_a_strip_its_chain_widens():
    # a stereo master ending in a panner to 7.1.4 carries twelve channels out of it
    from sonicmix.nodes.objectpanner import ObjectPanner
    from sonicmix.renderer import default_block_size

    master = Bus(layout="stereo", output=None, chain=(ObjectPanner(layout="7.1.4"),))
    graph = Graph(tracks={"t": Track(layout="stereo")}, buses={"master": master})
    assert default_block_size(graph) == 1 << 14


def _assert_streamed_equals_whole(graph, block_size):
    # tiny blocks cost ~0.3 ms each in Python: cover the clip onsets and the first automation only
    duration_s = 0.12 if block_size < 8 else None
    whole = render(graph, sample_rate=FS, duration_s=duration_s)
    streamed = render(graph, sample_rate=FS, block_size=block_size, duration_s=duration_s)
    np.testing.assert_array_equal(streamed.master, whole.master)
    for name in whole.stems:
        np.testing.assert_array_equal(streamed.stems[name], whole.stems[name])


def test_render_is_deterministic_and_reports_progress(rng):
    graph = mono_master(t=Track(clips=(Clip(source=noise(rng, 1, 1.0)),), layout="mono"))
    seen = []
    first = render(
        graph, sample_rate=FS, block_size=10000, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (FS, FS) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert render(graph, sample_rate=FS).master.tobytes() == first.master.tobytes()


def test_file_sources_stream_and_foreign_rates_are_resampled_visibly(tmp_path, rng):
    audio = (rng.standard_normal((2, 30000)) * 0.1).astype(np.float32)
    at_rate = tmp_path / "a.wav"
    sio.write(at_rate, audio, FS, subtype="FLOAT")
    file_graph = Graph(
        tracks={"t": Track(clips=(Clip(source=FileSource(str(at_rate)), start_s=0.1),))},
        buses={"master": Bus(output=None)},
    )
    array_graph = Graph(
        tracks={"t": Track(clips=(Clip(source=ArraySource(audio, FS), start_s=0.1),))},
        buses={"master": Bus(output=None)},
    )
    np.testing.assert_array_equal(
        render(file_graph, sample_rate=FS, block_size=777).master, render(array_graph, sample_rate=FS).master
    )
    other = tmp_path / "b.wav"
    sio.write(other, audio, 32000, subtype="FLOAT")
    graph = Graph(
        tracks={"t": Track(clips=(Clip(source=FileSource(str(other))),))}, buses={"master": Bus(output=None)}
    )
    result = render(graph, sample_rate=FS, stems=[])
    assert result.resampled and "32000 Hz -> 48000 Hz" in result.resampled[0]
    assert result.master.shape[1] == pytest.approx(30000 * 1.5, abs=1)
    expected, _ = sio.read(other, sample_rate=FS)
    np.testing.assert_allclose(result.master[:, 1000:-1000], expected[:, 1000:-1000], atol=2e-3)
    leftovers = [
        p
        for p in os.listdir(os.path.dirname(result.resampled[0].split("via ")[1].rstrip(")")))
        if p.startswith("sonicmix-resampled-")
    ]
    assert not leftovers


def test_duration_and_tail():
    ones = ArraySource(np.ones((1, 480), np.float32), FS)
    graph = mono_master(t=Track(clips=(Clip(source=ones),), layout="mono"))
    assert render(graph, sample_rate=FS, tail_s=0.5).master.shape == (1, 480 + 24000)
    assert render(graph, sample_rate=FS, duration_s=0.001).master.shape == (1, 48)


def test_render_blocks_validates_before_yielding():
    with pytest.raises(Exception, match=r"stem 'musc' is not a bus"):
        render_blocks(mono_master(), sample_rate=FS, stems=["musc"])


def test_render_blocks_are_new_c_arrays_when_outputs_are_aligned_by_a_delay(rng):
    """A stem with less latency than the master is delayed to it; its blocks must still be C
    arrays of their own (the delivery keeps them as they are: a strided view would be copied, on a
    pool thread, into memory the thread's malloc arena gives back after every delivery)."""
    graph = Graph(
        tracks={"a": Track(clips=(Clip(source=noise(rng, 1, 0.5)),), layout="mono", output="dry")},
        buses={
            "dry": Bus(layout="mono", output="master"),
            "master": Bus(layout="mono", output=None, chain=(Lookahead(delay_samples=37),)),
        },
    )
    blocks = list(render_blocks(graph, sample_rate=FS, stems=["dry"], block_size=4096))
    whole = render(graph, sample_rate=FS, stems=["dry"])
    assert all(out["dry"].flags.c_contiguous and out["dry"].base is None for _, out in blocks)
    streamed = np.concatenate([out["dry"] for _, out in blocks], axis=1)
    np.testing.assert_array_equal(streamed, whole.stems["dry"])


def test_delay_line_delays_exactly_in_any_blocks_and_promotes_as_concatenation_would(rng):
    from sonicmix.dsp.delayline import DelayLine

    x = rng.standard_normal((2, 3000)).astype(np.float32)
    for delay in (1, 37, 5000):
        line = DelayLine(2, delay, np.float32)
        cuts = [0, 1, 2, 40, 41, 1200, 3000]
        y = np.concatenate([line(x[:, a:b]) for a, b in zip(cuts, cuts[1:], strict=False)], axis=1)
        expected = np.concatenate([np.zeros((2, delay), np.float32), x], axis=1)[:, :3000]
        np.testing.assert_array_equal(y, expected)
    line = DelayLine(1, 2, np.float32)
    line(np.array([[1.0, 2.0, 3.0]], np.float32))
    out = line(np.array([[1 / 3]]))  # float64 in: float64 out, as np.concatenate would give
    assert out.dtype == np.float64 and out.tolist() == [[2.0]]
    assert line(np.zeros((1, 2))).tolist() == [[3.0, 1 / 3]]


def test_node_parameters_follow_automation_on_the_control_grid():
    from sonicmix.renderer import CONTROL_SAMPLES

    ones = ArraySource(np.ones((1, FS), np.float32), FS)
    sweep = Automation(((0.0, -20.0), (1.0, 0.0)))
    graph = mono_master(
        t=Track(
            clips=(Clip(source=ones),),
            layout="mono",
            chain=(Gain(gain_db=-20.0),),
            automation={"chain[0].gain_db": sweep},
        )
    )
    out = render(graph, sample_rate=FS).master[0]
    # each control block takes the value at its start (the sweep moves 0.11 dB per block, less than
    # half a dB: one step); a Gain glides there over 32 samples, linearly in amplitude, from the last
    grid = np.arange(0, FS, CONTROL_SAMPLES)
    held = 10 ** (sweep.values(grid / FS) / 20)
    knots = np.concatenate([[0], np.stack([grid[1:], grid[1:] + 32], axis=1).ravel()])
    levels = np.concatenate([held[:1], np.stack([held[:-1], held[1:]], axis=1).ravel()])
    expected = np.interp(np.arange(FS), knots, levels)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    for block_size in (1000, 4097, 100):
        np.testing.assert_array_equal(render(graph, sample_rate=FS, block_size=block_size).master[0], out)


def test_an_automated_filter_keeps_its_memory_and_matches_a_direct_computation(rng):
    import math

    import scipy.signal as ss

    from sonicmix.dsp import biquad
    from sonicmix.nodes.eq import Peak
    from sonicmix.renderer import CONTROL_SAMPLES

    src = noise(rng, 1, 0.2)
    sweep = Automation(((0.0, 300.0), (0.2, 3000.0, "exponential")))
    graph = mono_master(
        t=Track(
            clips=(Clip(source=src),),
            layout="mono",
            chain=(Peak(freq_hz=300.0, gain_db=9.0, q=2.0),),
            automation={"chain[0].freq_hz": sweep},
        )
    )
    out = render(graph, sample_rate=FS, dtype=np.float64, tail_s=0.0).master[0]  # the clip only
    # independent computation: scipy, section redesigned every control block, memory carried over;
    # the sweep moves 1.06 semitones per block, so such a block takes two steps along the line from
    # its start value to the next block's (a step moves it at most a semitone)
    x = src.audio[0].astype(np.float64)
    zi = np.zeros((1, 2))
    pieces = []
    for start in range(0, x.size, CONTROL_SAMPLES):
        f0, f1 = sweep.values(np.array([start, start + CONTROL_SAMPLES]) / FS)
        steps = 1 if 12 * math.log2(f1 / f0) <= 1.0 else 2
        assert 12 * math.log2(f1 / f0) <= 2.0
        for j in range(steps):
            sos = biquad.peak(freq_hz=f0 + (f1 - f0) * j / steps, gain_db=9.0, q=2.0, sample_rate=FS)
            piece = x[start + j * CONTROL_SAMPLES // steps : start + (j + 1) * CONTROL_SAMPLES // steps]
            y, zi = ss.sosfilt(sos, piece, zi=zi)
            pieces.append(y)
    np.testing.assert_allclose(out, np.concatenate(pieces), atol=1e-9)


def test_automation_of_something_that_cannot_be_automated_is_refused():
    from sonicmix.errors import GraphError
    from sonicmix.nodes.dynamics import Compressor

    with pytest.raises(GraphError, match=r"Compressor.lookahead_s cannot be automated while streaming"):
        Track(chain=(Compressor(),), automation={"chain[0].lookahead_s": Automation(((0.0, 0.01),))})


@pytest.mark.parametrize("block_size", [777, 16384])
def test_a_threaded_render_is_identical_to_a_single_thread_one(block_size, tmp_path):
    rng = np.random.default_rng(9)
    shared = tmp_path / "shared.wav"
    sio.write(shared, (rng.standard_normal((2, 20000)) * 0.1).astype(np.float32), FS, subtype="FLOAT")
    graph = _busy_graph(rng)
    tracks = dict(graph.tracks)
    for i in range(3):  # tracks reading the same file: its handle is shared
        tracks[f"file{i}"] = Track(
            clips=(Clip(source=FileSource(str(shared)), start_s=0.05 * i),),
            output="music",
            chain=(Gain(gain_db=-float(i)),),
        )
    graph = Graph(tracks=tracks, buses=graph.buses)
    one = render(graph, sample_rate=FS, block_size=block_size)
    two = render(graph, sample_rate=FS, block_size=block_size, threads=2)
    np.testing.assert_array_equal(two.master, one.master)
    for name in one.stems:
        np.testing.assert_array_equal(two.stems[name], one.stems[name])


@pytest.mark.parametrize("where", ["track", "bus"])
def test_automation_lands_on_the_timeline_behind_latency(where):
    """A strip behind lookahead latency sees engine time run ahead of the timeline; its fader,
    send and node automation must still act at their timeline times (regression: they landed
    early by the latency)."""
    from sonicmix.renderer import CONTROL_SAMPLES

    ones = ArraySource(np.ones((1, FS), np.float32), FS)
    step = Automation(((0.0, -20.0), (0.5, -20.0), (0.5, 0.0)))
    late = Lookahead(delay_samples=480)
    automated = dict(
        fader_db=step,
        chain=(late, Gain(gain_db=-6.0)),
        automation={"chain[1].gain_db": Automation(((0.0, -6.0), (0.25, -6.0), (0.25, 0.0)))},
    )
    if where == "track":
        graph = mono_master(t=Track(clips=(Clip(source=ones),), layout="mono", **automated))
    else:
        graph = Graph(
            tracks={"t": Track(clips=(Clip(source=ones),), layout="mono", chain=(late,), output="b")},
            buses={"b": Bus(layout="mono", **automated), "master": Bus(layout="mono", output=None)},
        )
    out = render(graph, sample_rate=FS).master[0]
    fader = 10 ** (step.values(np.arange(FS) / FS) / 20)  # the envelope at each timeline sample
    # control blocks start every CONTROL_SAMPLES of the chain's input timeline; the gain node,
    # 480 samples behind the lookahead, takes the value of its own timeline time there: the
    # 0.25 s change (sample 12000) is reached at the first block start k * CONTROL_SAMPLES - 480 >= 12000,
    # along the straight line from the block before in 8 steps of 0.75 dB, each at a step's start, a Gain
    # gliding to each over 32 samples (linearly in amplitude)
    switch = -(-(12000 + 480) // CONTROL_SAMPLES) * CONTROL_SAMPLES - 480
    knots = switch - CONTROL_SAMPLES + 32 + 32 * np.arange(9)
    node = np.interp(np.arange(FS), knots, 10 ** (np.linspace(-6.0, 0.0, 9) / 20))
    np.testing.assert_allclose(out, fader * node, rtol=1e-6)


def test_the_plain_clip_fast_path_gives_the_summed_path_bit_for_bit(rng, monkeypatch):
    """A lone clip at unity gain skips the float64 clip sum; the samples must be those of the sum."""
    from sonicmix.timeline import ClipReader

    clips = {
        "plain": Track(clips=(Clip(source=noise(rng, 2, 1.0), start_s=0.3),)),
        "faded": Track(clips=(Clip(source=noise(rng, 2, 1.0), fade_in_s=0.2, fade_out_s=0.1),)),
        "late": Track(clips=(Clip(source=noise(rng, 2, 0.5), start_s=0.9, offset_s=0.1),)),
    }
    graph = Graph(tracks=clips, buses={"master": Bus(output=None)})
    fast = render(graph, sample_rate=FS, block_size=4096, stems=())
    monkeypatch.setattr(ClipReader, "plain_block", lambda self, start, n, dtype: None)
    summed = render(graph, sample_rate=FS, block_size=4096, stems=())
    np.testing.assert_array_equal(fast.master, summed.master)
