"""Automatic tails: renders and deliveries run on until every output has decayed below -120 dBFS."""

from __future__ import annotations

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.renderer import MAX_AUTO_TAIL_S, TAIL_FLOOR, render, render_blocks

FS = 48000


def burst_through(*chain, seconds: float = 0.5) -> sm.Graph:
    """Half a second of noise into ``chain`` on the master: the programme ends at 0.5 s."""
    x = (np.random.default_rng(1).standard_normal((1, int(seconds * FS))) * 0.3).astype(np.float32)
    return sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(x, FS)),), layout="mono")},
        buses={"master": sm.Bus(layout="mono", output=None, chain=tuple(chain))},
    )


def test_a_reverb_tail_is_kept_to_minus_120_dbfs_and_no_further():
    graph = burst_through(sm.Reverb(decay_s=0.8, mix=0.5))
    auto = render(graph, sample_rate=FS).master
    cut = render(graph, sample_rate=FS, tail_s=0.0).master
    long = render(graph, sample_rate=FS, tail_s=5.0, dtype=np.float32).master
    assert cut.shape[1] == FS // 2
    # the reverb decays 60 dB in 0.8 s: from about -10 dBFS to -120 dBFS takes some 1.5 s
    assert 1.0 < (auto.shape[1] - cut.shape[1]) / FS < 2.5
    np.testing.assert_array_equal(auto, long[:, : auto.shape[1]])  # the same samples, only where it ends
    assert np.abs(auto[:, -1]).max() >= TAIL_FLOOR  # it ends on the last sample above -120 dBFS
    assert np.abs(long[:, auto.shape[1] :]).max() < TAIL_FLOOR  # and nothing above it follows


def test_a_dry_programme_gets_no_tail():
    graph = burst_through(sm.Gain(gain_db=-3.0))
    assert render(graph, sample_rate=FS).master.shape[1] == FS // 2


def test_an_echo_after_silence_is_kept():
    """A delay of 1.5 s is longer than the 0.5 s hold: the hold grows by the longest delay time."""
    graph = burst_through(sm.Delay(time_s=1.5, feedback=0.0, mix=0.5), seconds=0.2)
    out = render(graph, sample_rate=FS).master
    assert out.shape[1] >= int(1.7 * FS) - 1  # the echo of the whole burst
    assert np.abs(out[:, int(1.5 * FS) : int(1.7 * FS)]).max() > 0.05


@pytest.mark.parametrize("block_size", [1000, 4096, 65536])
def test_the_tail_does_not_depend_on_the_block_size(block_size):
    graph = burst_through(sm.Reverb(decay_s=0.5, mix=0.4))
    whole = render(graph, sample_rate=FS).master
    parts = [out["master"] for _, out in render_blocks(graph, sample_rate=FS, block_size=block_size)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_a_tail_that_never_decays_is_bounded_and_noted():
    graph = burst_through(sm.Reverb(decay_s=30.0, mix=0.5), seconds=0.1)
    stream = render_blocks(graph, sample_rate=FS, block_size=1 << 15)
    length = sum(out["master"].shape[1] for _, out in stream)
    assert length == int(0.1 * FS) + int(MAX_AUTO_TAIL_S * FS)
    assert any("tail was cut at 30 s" in note for note in stream.notes)


def test_a_bad_tail_is_named():
    with pytest.raises(sm.errors.ParameterError, match="tail_s='long'; expected 'auto'"):
        render(burst_through(), sample_rate=FS, tail_s="long")


def test_a_delivery_keeps_the_reverb_tail(tmp_path):
    graph = burst_through(sm.Reverb(decay_s=0.8, mix=0.5))
    from sonicmix.deliver import deliver

    delivery = deliver(graph, "ebu-r128", tmp_path, reports=False, bext=False)
    audio, _ = sm.read(delivery.files["mix"])
    assert audio.shape[1] > int(1.4 * FS)  # the burst is 0.5 s: the rest is its reverb
