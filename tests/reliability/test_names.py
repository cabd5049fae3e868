"""Issue 20, items 1, 2 and 5: names that become file names, and graphs that stay validated.

A hostile or careless session must not write outside its output folder, put control
characters on the operator's terminal or in file names, or fail after the render on a name
that could have been refused at load. A validated graph cannot be changed in place.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from sonicmix.bwf import read_bext
from sonicmix.cli import main
from sonicmix.deliver import deliver
from sonicmix.errors import GraphError, ParameterError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.session import SessionError, load_session
from sonicmix.timeline import ArraySource, Clip

FS = 48_000
HOSTILE = [
    ("x/../../victim/keep", "folder separator"),
    ("..\\victim", "folder separator"),
    ("..", "folder reference"),
    ("a\x00b", "control character '\\\\x00'"),
    ("\x1b[2Jcleared", "control character '\\\\x1b'"),
    ("bell\x07", "control character"),
    ("next\u2028line", "control character"),
    (" padded", "space"),
    ("x" * 101, "at most 100"),
]


def _tone_wav(folder: Path) -> Path:
    t = np.arange(FS) / FS
    import sonicmix.io as sio

    path = folder / "tone.wav"
    sio.write(path, (0.1 * np.sin(2 * np.pi * 440 * t))[None], FS, subtype="FLOAT")
    return path


def esc(text: str) -> str:
    """``text`` as the inside of a TOML basic string (control characters as \\uXXXX)."""
    return "".join(
        "\\" + ch if ch in '"\\' else f"\\u{ord(ch):04x}" if not ch.isprintable() else ch for ch in text
    )


def _session(folder: Path, bus: str = "dialogue", track: str = "voice", name: str = "ep") -> Path:
    _tone_wav(folder)
    text = f'''
[session]
name = "{esc(name)}"
target = "ebu-r128"

[tracks."{esc(track)}"]
layout = "mono"
output = "{esc(bus)}"
clips = [{{ file = "tone.wav" }}]

[buses."{esc(bus)}"]

[buses.master]

'''
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "why"), HOSTILE)
@pytest.mark.parametrize("kind", ["track", "bus"])
def test_graph_refuses_names_that_cannot_be_file_names(kind: str, name: str, why: str) -> None:
    source = ArraySource(np.zeros((1, 100), np.float32), FS, name="z")
    buses = {"master": Bus(output=None)}
    tracks = {"t": Track(clips=(Clip(source=source),))}
    if kind == "bus":
        buses[name] = Bus()
    else:
        tracks = {name: Track(clips=(Clip(source=source),))}
    with pytest.raises(GraphError, match=rf"^{kind} name .* {why}"):
        Graph(tracks=tracks, buses=buses)


@pytest.mark.parametrize(("name", "why"), HOSTILE)
@pytest.mark.parametrize("kind", ["track", "bus", "session"])
def test_session_refuses_hostile_names_at_load(tmp_path: Path, kind: str, name: str, why: str) -> None:
    given = {kind if kind != "session" else "name": name}
    path = _session(tmp_path, **given)
    with pytest.raises(SessionError, match=rf"^{path}.*{why}"):
        load_session(path)


def test_bus_name_cannot_replace_a_file_outside_the_output_folder(tmp_path: Path) -> None:
    """The probe of issue 20, item 1: the victim keeps its bytes and nothing is written."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.wav").write_bytes(b"precious")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    session = _session(work, bus="x/../../victim/keep")
    out = work / "out"
    status = main(["render", str(session), "-o", str(out)])
    assert status != 0
    assert (victim / "keep.wav").read_bytes() == b"precious"
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("name", ["../escape", "sub/dir", "a\x00", ".."])
def test_deliver_refuses_a_name_outside_the_folder_before_rendering(tmp_path: Path, name: str) -> None:
    source = ArraySource(np.full((1, FS), 0.1, np.float32), FS, name="dc")
    graph = Graph(tracks={"t": Track(clips=(Clip(source=source),), layout="mono", output="master")},
                  buses={"master": Bus(output=None)})
    with pytest.raises(ParameterError, match=r"^name="):
        deliver(graph, "ebu-r128", tmp_path / "out", name=name)
    assert not (tmp_path / "out").exists()
    assert os.listdir(tmp_path) == []


def test_deliver_refuses_a_symbolic_link_that_points_outside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"precious")
    (out / "mix.wav").symlink_to(outside)
    source = ArraySource(np.full((1, FS), 0.1, np.float32), FS, name="dc")
    graph = Graph(tracks={"t": Track(clips=(Clip(source=source),), layout="mono")},
                  buses={"master": Bus(output=None)})
    with pytest.raises(ParameterError, match="outside out_dir"):
        deliver(graph, "ebu-r128", out)
    assert outside.read_bytes() == b"precious"
    assert sorted(os.listdir(out)) == ["mix.wav"]


def test_delivery_name_and_stem_cannot_name_the_same_file(tmp_path: Path) -> None:
    source = ArraySource(np.full((1, FS), 0.1, np.float32), FS, name="dc")
    graph = Graph(tracks={"t": Track(clips=(Clip(source=source),), layout="mono", output="ME")},
                  buses={"ME": Bus(), "master": Bus(output=None)})
    with pytest.raises(ParameterError, match="'ME' would name two deliverables"):
        deliver(graph, "ebu-r128", tmp_path / "out", me_mix=True)
    with pytest.raises(ParameterError, match="'ME' would name two deliverables"):
        deliver(graph, "ebu-r128", tmp_path / "out", name="ME")
    assert not (tmp_path / "out").exists()


def test_a_non_ascii_session_name_delivers_with_an_ascii_bext(tmp_path: Path) -> None:
    session = _session(tmp_path, name="épisode-01")
    out = tmp_path / "out"
    assert main(["render", str(session), "-o", str(out), "--quiet"]) == 0
    mix = out / "épisode-01.wav"
    assert mix.is_file()
    assert read_bext(mix)["description"].startswith("sonicmix episode-01 ")


def test_graph_tables_are_read_only_and_pickle() -> None:
    source = ArraySource(np.zeros((1, 100), np.float32), FS, name="z")
    graph = Graph(tracks={"t": Track(clips=(Clip(source=source),))}, buses={"master": Bus(output=None)})
    with pytest.raises(TypeError):
        graph.tracks["t2"] = graph.tracks["t"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del graph.buses["master"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        graph.tracks["t"].automation["chain[0].gain_db"] = None  # type: ignore[index]
    assert graph.buses == {"master": Bus(output=None)}
    assert pickle.loads(pickle.dumps(graph)) == graph
    with pytest.raises(GraphError, match=r"^tracks=.*expected a mapping"):
        Graph(tracks=[("t", graph.tracks["t"])], buses=graph.buses)  # type: ignore[arg-type]
