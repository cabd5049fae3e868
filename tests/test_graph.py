"""Mix graph construction and validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from sonicmix.automation import Automation
from sonicmix.errors import GraphError, LayoutError, ParameterError
from sonicmix.graph import Bus, Graph, Send, Track
from sonicmix.nodes.base import Node
from sonicmix.nodes.gain import Gain
from sonicmix.timeline import ArraySource, Clip


@dataclass(frozen=True, slots=True, kw_only=True)
class Keyed(Node):
    """Test node: multiplies the signal by its key's first channel (shows the key arrives aligned)."""

    takes_key: ClassVar[bool] = True

    def process(self, x, sample_rate, state, *, key=None) -> tuple[Any, Any]:
        return x * key[:1], state


def voice(seconds: float = 1.0, channels: int = 1) -> ArraySource:
    return ArraySource(np.full((channels, int(seconds * 48000)), 0.1, np.float32), 48000, name="voice")


def simple(**track_kw) -> Graph:
    return Graph(
        tracks={"dx": Track(clips=(Clip(source=voice()),), layout="mono", output="dialogue", **track_kw)},
        buses={"dialogue": Bus(), "master": Bus(output=None)},
    )


def test_a_valid_graph_prints_as_a_tree_and_compares_by_value():
    graph = simple()
    assert graph == simple()
    text = str(graph)
    assert "master  <- dialogue" in text and "dx  track, mono, 1 clip" in text
    assert graph.order().index("dx") < graph.order().index("dialogue") < graph.order().index("master")


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (
            lambda: Graph(
                tracks={"dx": Track(output="dialog")}, buses={"dialogue": Bus(), "master": Bus(output=None)}
            ),
            r"output='dialog', which is not a bus \(did you mean 'dialogue'\?\)",
        ),
        (
            lambda: Graph(
                tracks={"dx": Track(sends=(Send(to="verbb"),))},
                buses={"verb": Bus(), "master": Bus(output=None)},
            ),
            r"sends to 'verbb'.*did you mean 'verb'",
        ),
        (lambda: Graph(buses={"mix": Bus(output=None)}), r"master='master' is not a bus"),
        (lambda: Graph(buses={"master": Bus()}), r"master bus 'master' has output='master'"),
        (
            lambda: Graph(tracks={"a": Track()}, buses={"a": Bus(), "master": Bus(output=None)}),
            r"'a' names both a track and a bus",
        ),
        (
            lambda: Graph(
                buses={"a": Bus(output="b"), "b": Bus(sends=(Send(to="a"),)), "master": Bus(output=None)}
            ),
            r"cycle: (a -> b -> a|b -> a -> b)",
        ),
        (
            lambda: Graph(tracks={"m": Track(chain=(Keyed(),))}, buses={"master": Bus(output=None)}),
            r"'m' has Keyed in its chain, which needs a side-chain key",
        ),
        (
            lambda: Graph(tracks={"m": Track(key="dx"), "dx": Track()}, buses={"master": Bus(output=None)}),
            r"has key='dx' but no node in its chain takes a key",
        ),
        (
            lambda: Graph(
                tracks={"m": Track(chain=(Keyed(),), key="dxx"), "dx": Track()},
                buses={"master": Bus(output=None)},
            ),
            r"key='dxx'.*did you mean 'dx'",
        ),
        (
            lambda: Graph(tracks={"s": Track(layout="5.1", pan=0.2)}, buses={"master": Bus(output=None)}),
            r"pans a 5.1 track into a stereo bus",
        ),
        (
            lambda: Graph(
                tracks={"m": Track(chain=(Keyed(),), key="master")}, buses={"master": Bus(output=None)}
            ),
            r"cycle",
        ),
    ],
)
def test_invalid_graphs_raise_a_graph_error_naming_the_problem(make, pattern):
    with pytest.raises(GraphError, match=pattern):
        make()


def test_a_custom_layout_object_is_refused_briefly_naming_the_strip_and_a_catalog_one_is_its_name():
    from sonicmix.layouts import Layout, get_layout

    quad = Layout("my-quad", ("L", "R", "Ls", "Rs"), (1.0, 1.0, 1.41, 1.41))
    message = r"^bus 'room': its layout is a custom Layout 'my-quad' \(4 channels\), which a graph cannot "
    with pytest.raises(GraphError, match=message + r".*; expected a layout's name: mono, stereo, ") as err:
        Graph(tracks={}, buses={"room": Bus(layout=quad), "master": Bus(output=None)})
    assert len(str(err.value)) < 300 and "loudness_weights" not in str(err.value)  # not the Layout's repr
    assert Bus(layout=get_layout("5.1")).layout == "5.1"
    assert Track(layout=get_layout("ambix2")).layout == "ambix2"


def test_parameter_errors_name_the_field():
    with pytest.raises(LayoutError, match=r"layout='5,1' is unknown.*did you mean '5.1'"):
        Track(layout="5,1")
    with pytest.raises(ParameterError, match=r"pan \(automation maximum\)=1.5 is out of range"):
        Track(pan=Automation(((0.0, 0.0), (1.0, 1.5))))
    with pytest.raises(GraphError, match=r"chain\[1\]=3 is not a Node"):
        Track(chain=(Gain(), 3))
    with pytest.raises(ParameterError, match=r"fade_in_s=2 \+ fade_out_s=2 is longer than duration_s=3"):
        Clip(source=voice(), duration_s=3.0, fade_in_s=2.0, fade_out_s=2.0)


def test_automation_shapes_follow_web_audio():
    env = Automation(((1.0, 1.0), (2.0, 100.0, "exponential"), (3.0, 0.0), (4.0, 5.0, "step")))
    t = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 3.5, 3.999, 4.0, 10.0])
    np.testing.assert_allclose(env.values(t), [1.0, 1.0, 10.0, 100.0, 50.0, 0.0, 0.0, 5.0, 5.0], rtol=1e-12)
    with pytest.raises(ParameterError, match=r"ramps exponentially from 1 to 0"):
        Automation(((0.0, 1.0), (1.0, 0.0, "exponential")))
    with pytest.raises(ParameterError, match=r"before the previous point"):
        Automation(((1.0, 1.0), (0.5, 0.0)))


def test_graphs_round_trip_through_plain_data():
    import json

    from sonicmix.graph import graph_from_dict, graph_to_dict
    from sonicmix.timeline import FileSource

    src = voice()
    graph = Graph(
        tracks={
            "dx": Track(
                clips=(Clip(source=src, start_s=1.5, fade_in_s=0.1),),
                layout="mono",
                pan=-0.25,
                fader_db=Automation(((0.0, -6.0), (2.0, 0.0, "step"))),
                output="dialogue",
                sends=(Send(to="verb", level_db=-12.0, pre_fader=True),),
            ),
            "fx": Track(
                clips=(Clip(source=FileSource("sfx/door.wav"), start_s=3.0),), chain=(Gain(gain_db=-2.0),)
            ),
        },
        buses={"dialogue": Bus(), "verb": Bus(fader_db=-3.0), "master": Bus(output=None)},
    )
    plain = json.loads(json.dumps(graph_to_dict(graph)))  # survives JSON
    assert plain["tracks"]["dx"]["fader_db"] == {"automation": [[0.0, -6.0, "linear"], [2.0, 0.0, "step"]]}
    assert graph_from_dict(plain, arrays={"voice": src}) == graph


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (
            {
                "tracks": {"t": {"chain": [{"type": "Gian", "gain_db": 1.0}]}},
                "buses": {"master": {"output": None}},
            },
            r"tracks.t.chain\[0\].type='Gian' is not a sonicmix node.*did you mean 'Gain'",
        ),
        (
            {
                "tracks": {"t": {"chain": [{"type": "Gain", "gain": 1.0}]}},
                "buses": {"master": {"output": None}},
            },
            r"tracks.t.chain\[0\] \(Gain\) has no parameter 'gain' \(did you mean 'gain_db'\?\)",
        ),
        (
            {"tracks": {"t": {"fader_db": 200.0}}, "buses": {"master": {"output": None}}},
            r"tracks.t \(Track\): fader_db=200 is out of range",
        ),
        (
            {
                "tracks": {"t": {"clips": [{"type": "Clip", "source": {"array": "x"}}]}},
                "buses": {"master": {"output": None}},
            },
            r"refers to the array source 'x'",
        ),
        ({"trakcs": {}}, r"unknown key 'trakcs'"),
    ],
)
def test_plain_data_errors_name_the_table_and_key(data, pattern):
    from sonicmix.graph import graph_from_dict

    with pytest.raises(GraphError, match=pattern):
        graph_from_dict(data)
