"""ObjectPanner: VBAP gains on the signal, in graphs and buses, with automation that glides."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sonicmix.automation import Automation
from sonicmix.errors import GraphError, LayoutError, ParameterError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.layouts import Layout, Position, get_layout
from sonicmix.nodes.objectpanner import ObjectPanner
from sonicmix.renderer import CONTROL_SAMPLES, render
from sonicmix.spatial.vbap import vbap_gains
from sonicmix.timeline import ArraySource, Clip

FS = 48000


def _mono_track(x, chain, **kwargs):
    return Track(clips=(Clip(source=ArraySource(x, FS, name="obj")),), layout="mono", chain=chain, **kwargs)


def test_a_mono_track_panned_in_a_714_bus(rng):
    x = (0.2 * rng.standard_normal((1, 9600))).astype(np.float32)
    panner = ObjectPanner(layout="7.1.4", azimuth_deg=100.0, elevation_deg=20.0)
    graph = Graph(tracks={"obj": _mono_track(x, (panner,), output="bed")},
                  buses={"bed": Bus(layout="7.1.4"), "master": Bus(layout="7.1.4", output=None)})  # fmt: skip
    assert graph.output_layout("obj") == "7.1.4"
    out = render(graph, sample_rate=FS, tail_s=0.0).master
    gains = vbap_gains("7.1.4", 100.0, 20.0)
    np.testing.assert_allclose(out, gains[:, None].astype(np.float32) * x, rtol=0, atol=1e-7)
    # between Lss (90, 0), Ltr (135, 30) and Ltf (45, 30); nothing on the LFE
    names = get_layout("7.1.4").channels
    assert {names[i] for i in np.flatnonzero(gains)} == {"Lss", "Ltf", "Ltr"}
    assert np.all(out[3] == 0.0)
    np.testing.assert_allclose(np.sum(out.astype(float) ** 2), np.sum(x.astype(float) ** 2), rtol=1e-5)


def test_a_panned_714_track_folds_into_a_51_bus_and_a_51_panner_into_51(rng):
    x = (0.2 * rng.standard_normal((1, 4800))).astype(np.float32)
    graph = Graph(tracks={"a": _mono_track(x, (ObjectPanner(layout="7.1.4", azimuth_deg=-90.0),)),
                          "b": _mono_track(x, (ObjectPanner(layout="5.1", azimuth_deg=-70.0),))},
                  buses={"master": Bus(layout="5.1", output=None)})  # fmt: skip
    out = render(graph, sample_rate=FS, tail_s=0.0).master
    # a: Rss folds into Rs at -3 dB (7.1 -> 5.1); b: between R and Rs by VBAP
    expected = 0.7071 * np.eye(6)[5] + vbap_gains("5.1", -70.0, 0.0)
    np.testing.assert_allclose(out, expected[:, None] * x, rtol=0, atol=2e-5)


def test_stereo_sources_are_two_objects_and_lfe_only_when_asked(rng):
    x = rng.standard_normal((2, 500))
    y = ObjectPanner(layout="7.1", azimuth_deg=100.0, stereo_width_deg=70.0)(x, FS)
    expected = vbap_gains("7.1", 135.0, 0.0)[:, None] * x[0] + vbap_gains("7.1", 65.0, 0.0)[:, None] * x[1]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-13)
    assert np.all(y[3] == 0.0)
    y = ObjectPanner(layout="7.1", lfe_db=-10.0)(x, FS)
    np.testing.assert_allclose(y[3], 10 ** (-10 / 20) * (x[0] + x[1]), rtol=0, atol=1e-13)
    y = ObjectPanner(layout="22.2", lfe_db=0.0)(x[:1], FS)
    np.testing.assert_allclose(y[[3, 18]], np.vstack([x[0], x[0]]), rtol=0, atol=0)


def _azimuth_sweep(ramp_s: float) -> tuple[np.ndarray, ObjectPanner]:
    """Gains per sample (a DC input) while the azimuth sweeps round 5.1 in 0.5 s."""
    x = np.ones((1, FS // 2), np.float32)
    panner = ObjectPanner(layout="5.1", azimuth_deg=0.0, ramp_s=ramp_s)
    sweep = Automation(((0.0, 0.0), (0.5, 360.0)))
    graph = Graph(tracks={"obj": _mono_track(x, (panner,), automation={"chain[0].azimuth_deg": sweep})},
                  buses={"master": Bus(layout="5.1", output=None)})  # fmt: skip
    return render(graph, sample_rate=FS, tail_s=0.0).master.astype(np.float64), panner


def test_automated_azimuth_glides_at_constant_power_without_steps():
    glided, _ = _azimuth_sweep(0.005)
    stepped, _ = _azimuth_sweep(0.0)
    speakers = [0, 1, 2, 4, 5]
    np.testing.assert_allclose(np.sum(glided[speakers] ** 2, axis=0), 1.0, atol=1e-6)  # every sample
    step = np.abs(np.diff(glided, axis=1)).max()
    jump = np.abs(np.diff(stepped, axis=1)).max()
    # 360 degrees in 24000 samples: one control block moves 3.84 degrees, a jump of up to ~0.1 in a
    # gain; gliding over 240 samples divides the largest sample-to-sample change by about 100
    assert jump > 0.05
    assert step < jump / 50
    # the glided gains reach the static pan of each control block's azimuth within the block
    k = 40  # control block 40 starts at 10240 samples, azimuth 153.6 degrees
    settled = glided[:, (k + 1) * CONTROL_SAMPLES - 1]
    np.testing.assert_allclose(settled, vbap_gains("5.1", 360.0 * k * CONTROL_SAMPLES / (FS / 2), 0.0),
                               atol=1e-6)  # fmt: skip


@pytest.mark.parametrize(("param", "old", "new"), [
    ("azimuth_deg", 30.0, -100.0), ("elevation_deg", 0.0, 60.0), ("spread_deg", 0.0, 90.0),
    ("stereo_width_deg", 60.0, 120.0), ("lfe_db", -20.0, 0.0),
])  # fmt: skip
def test_a_step_glides_to_the_static_node_and_renders_the_same_block_wise(param, old, new, rng):
    x = (0.2 * rng.standard_normal((2, 24000))).astype(np.float32)
    node = dataclasses.replace(ObjectPanner(layout="7.1.4", azimuth_deg=30.0, lfe_db=-20.0), **{param: old})
    at = 40 * CONTROL_SAMPLES
    step = Automation(((0.0, old), (at / FS, new, "step")))
    track = Track(clips=(Clip(source=ArraySource(x, FS, name="x")),), chain=(node,),
                  automation={f"chain[0].{param}": step})  # fmt: skip
    graph = Graph(tracks={"t": track}, buses={"master": Bus(layout="7.1.4", output=None)})
    out = render(graph, sample_rate=FS, tail_s=0.0).master
    for size in (255, 4097):
        np.testing.assert_array_equal(render(graph, sample_rate=FS, block_size=size, tail_s=0.0).master, out)
    before, after = node(x, FS), dataclasses.replace(node, **{param: new})(x, FS)
    np.testing.assert_array_equal(out[:, :at], before[:, :at])
    ramp = round(node.ramp_s * FS)
    np.testing.assert_allclose(out[:, at + ramp :], after[:, at + ramp :], rtol=0, atol=1e-6)
    assert np.abs(before[:, at + ramp :] - after[:, at + ramp :]).max() > 0.01  # the step changes something


def test_bad_input_is_refused_with_named_errors():
    with pytest.raises(ParameterError, match=r"elevation_deg=90\.5 is out of range; expected"):
        ObjectPanner(elevation_deg=90.5)
    with pytest.raises(ParameterError, match=r"azimuth_deg=nan is not finite"):
        ObjectPanner(azimuth_deg=math.nan)
    with pytest.raises(ParameterError, match=r"spread_deg=-1 is out of range"):
        ObjectPanner(spread_deg=-1.0)
    with pytest.raises(ParameterError, match=r"lfe_db=12 is out of range"):
        ObjectPanner(lfe_db=12.0)
    with pytest.raises(LayoutError, match=r"layout='7\.4\.1' is unknown.*did you mean '7\.1\.4'"):
        ObjectPanner(layout="7.4.1")
    with pytest.raises(LayoutError, match=r"has no loudspeaker positions"):
        ObjectPanner(layout=Layout("pair", ("A", "B"), (1.0, 1.0)))
    with pytest.raises(LayoutError, match=r"ObjectPanner takes a mono or stereo source but got channels=6"):
        ObjectPanner()(np.zeros((6, 10)), FS)
    # in a graph: a 5.1 track cannot feed a panner; a custom layout cannot be routed; automation
    # out of range is refused when the graph is built
    with pytest.raises(GraphError, match=r"chain\[0\] ObjectPanner cannot take 6 channels"):
        Graph(tracks={"t": Track(layout="5.1", chain=(ObjectPanner(),))}, buses={"master": Bus(output=None)})
    odd = Layout("odd", ("A", "B", "C"), positions=(Position(0, 0), Position(120, 0), Position(-120, 0)))
    with pytest.raises(GraphError, match=r"renders into custom layout 'odd'"):
        Graph(tracks={"t": Track(layout="mono", chain=(ObjectPanner(layout=odd),))},
              buses={"master": Bus(output=None)})  # fmt: skip
    with pytest.raises(GraphError, match=r"reaches 95.*elevation_deg=95 is out of range"):
        Track(layout="mono", chain=(ObjectPanner(),),
              automation={"chain[0].elevation_deg": Automation(((0.0, 0.0), (1.0, 95.0)))})  # fmt: skip
    with pytest.raises(GraphError, match=r"ObjectPanner\.layout cannot be automated while streaming"):
        Track(layout="mono", chain=(ObjectPanner(),),
              automation={"chain[0].layout": Automation(((0.0, 1.0),))})  # fmt: skip
    with pytest.raises(ParameterError, match=r"is not finite"):
        Automation(((0.0, 0.0), (1.0, math.inf)))


def test_azimuth_wraps_and_automation_may_go_round():
    x = np.ones((1, 4))
    a = ObjectPanner(layout="7.1.4", azimuth_deg=-135.0, elevation_deg=30.0)(x, FS)
    b = ObjectPanner(layout="7.1.4", azimuth_deg=225.0 + 720.0, elevation_deg=30.0)(x, FS)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert a[11, 0] == 1.0  # Rtr
