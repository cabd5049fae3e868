"""The bad-input matrix (issue 8, first part): one table of wrong inputs across the API and the CLI.

Every row states what it feeds in, the *exact* sonicmix error class it must raise (a subclass does
not count: ``AudioError`` where ``AudioError`` is meant, never a bare ``ValueError`` or a
``ParameterError`` that merely happens to be the parent), a regex the message must match (it names
the parameter, track, bus, file, channel or sample at fault), and, for calls that would write, the
files that must not exist afterwards. CLI rows instead give the exit status and a regex for stderr.

No row may leave a temporary file behind: after every row the test walks ``tmp_path`` and refuses
any ``*.partial`` file or ``.sonicmix-*`` work folder (the atomic writers' scratch names).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sonicmix.io as sio
from sonicmix.cli import main
from sonicmix.deliver import TargetNotMetError, deliver
from sonicmix.errors import AudioError, AudioFileError, GraphError, LayoutError, ParameterError
from sonicmix.graph import Bus, Graph, Send, Track, graph_from_dict
from sonicmix.loudness import LoudnessMeter, measure
from sonicmix.nodes.ducking import Ducker
from sonicmix.nodes.dynamics import Compressor, DeEsser
from sonicmix.nodes.eq import LowPass, Peak
from sonicmix.nodes.gain import Gain
from sonicmix.renderer import render
from sonicmix.timeline import ArraySource, Clip, FileSource

FS = 48_000
SEED = 20261127


# --------------------------------------------------------------------------- helpers


def _noise(channels: int, seconds: float, level: float = 0.1, dtype: Any = np.float32) -> np.ndarray:
    """Seeded white noise, (channels, samples)."""
    rng = np.random.default_rng(SEED)
    return (level * rng.standard_normal((channels, round(seconds * FS)))).astype(dtype)


def _with(audio: np.ndarray, channel: int, index: int, value: float) -> np.ndarray:
    out = audio.copy()
    out[channel, index] = value
    return out


def _wav(tmp: Path, name: str = "in.wav", channels: int = 2, seconds: float = 0.5) -> Path:
    """A valid float WAV in tmp."""
    path = tmp / name
    sio.write(path, _noise(channels, seconds), FS, subtype="FLOAT")
    return path


def _corrupt(tmp: Path) -> Path:
    """4 kB of seeded random bytes under a .wav name (no RIFF header)."""
    path = tmp / "corrupt.wav"
    data = np.random.default_rng(SEED).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert not data.startswith(b"RIFF")  # the bytes really are not a WAV
    path.write_bytes(data)
    return path


def _truncated(tmp: Path) -> Path:
    """A WAV whose data chunk declares 1 s but whose file was cut after about half of it."""
    path = _wav(tmp, "truncated.wav", channels=1, seconds=1.0)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _regular_file(tmp: Path) -> Path:
    path = tmp / "not_a_folder.txt"
    path.write_text("a regular file, not a folder\n")
    return path


def _mono_graph(source: Any, **track: Any) -> Graph:
    """One mono track called 'dx' on a mono master."""
    return Graph(
        tracks={"dx": Track(clips=(Clip(source=source),), layout="mono", **track)},
        buses={"master": Bus(layout="mono", output=None)},
    )


def _array(channels: int = 1, seconds: float = 1.0, level: float = 0.1, name: str = "noise") -> ArraySource:
    return ArraySource(_noise(channels, seconds, level), FS, name=name)


def _deliver(tmp: Path, graph: Graph, target: Any = "ebu-r128", **kwargs: Any) -> Any:
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    return deliver(graph, target, out, reports=False, bext=False, **kwargs)


def _writer_nan_block(tmp: Path) -> None:
    with sio.AudioWriter(tmp / "stream.wav", FS, 2, subtype="FLOAT") as writer:
        writer.write(_noise(2, 0.5))
        writer.write(_with(_noise(2, 0.5), 1, 2400, np.nan))  # frame 24000 + 2400 = 26400 = 0.55 s


def _writer_wrong_channels(tmp: Path) -> None:
    with sio.AudioWriter(tmp / "stream.wav", FS, 2, subtype="FLOAT") as writer:
        writer.write(_noise(2, 0.1))
        writer.write(_noise(3, 0.1))


def _ducker_unknown_key() -> Graph:
    return Graph(
        tracks={
            "music": Track(clips=(Clip(source=_array()),), layout="mono", chain=(Ducker(),), key="narration"),
            "voice": Track(clips=(Clip(source=_array(name="v")),), layout="mono"),
        },
        buses={"master": Bus(layout="mono", output=None)},
    )


def _cycle() -> Graph:
    return Graph(
        tracks={"dx": Track(layout="mono", output="a")},
        buses={
            "a": Bus(layout="mono", output="b"),
            "b": Bus(layout="mono", output="master", sends=(Send(to="a"),)),
            "master": Bus(layout="mono", output=None),
        },
    )


def _unknown_send_bus() -> Graph:
    return Graph(
        tracks={"dx": Track(layout="mono", sends=(Send(to="reverbb"),))},
        buses={"reverb": Bus(layout="mono"), "master": Bus(layout="mono", output=None)},
    )


def _output_is_input_deliver(tmp: Path) -> None:
    out = tmp / "out"
    out.mkdir()
    source = out / "mix.wav"  # deliver(name="mix") would write exactly this file
    sio.write(source, _noise(1, 2.0), FS, subtype="FLOAT")
    # overwrite=True: even when asked to replace a delivery, a render's input is never replaced
    deliver(_mono_graph(FileSource(str(source))), "ebu-r128", out, reports=False, bext=False,
            inputs=[str(source)], overwrite=True)  # fmt: skip


def _cli(*argv: str) -> Callable[[Path], int]:
    """A CLI call; '{tmp}' in an argument becomes the row's tmp_path."""
    return lambda tmp: main([a.replace("{tmp}", str(tmp)) for a in argv])


# -- issue 20 (items 3, 4, 7, 8): inputs that lie, deep sessions, CLI edges ----------------------


def _truncated_rf64(tmp: Path) -> Path:
    """An RF64 file (EBU Tech 3306) whose ds64 chunk declares 1 s but whose file was cut at about half."""
    import soundfile as sf

    path = tmp / "truncated-rf64.wav"
    sf.write(str(path), _noise(1, 1.0).T, FS, format="RF64", subtype="PCM_16")
    raw = path.read_bytes()
    assert raw[:4] == b"RF64" and raw[12:16] == b"ds64"
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _fifo(tmp: Path) -> Path:
    """A FIFO named like a WAV. Should a reader ever open it (the bug), a helper thread opens the
    writing end and closes it at once, so the reader sees an empty stream: the row fails, never hangs."""
    import threading
    import time

    path = tmp / "stream.wav"
    os.mkfifo(path)

    def unblock() -> None:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads
            except OSError:
                time.sleep(0.05)
                continue
            os.close(fd)

    threading.Thread(target=unblock, daemon=True).start()
    return path


def _deep_session(tmp: Path) -> Path:
    """A session file whose only value is an array nested 50,000 deep."""
    path = tmp / "deep.toml"
    path.write_text("[session]\nx = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    return path


def _nan_wav(tmp: Path) -> Path:
    """A float WAV with one NaN at sample 100,000 (past the CLI's first 65,536-frame block)."""
    path = tmp / "nan.wav"
    sio.write(path, _noise(1, 3.0), FS, subtype="FLOAT")
    import soundfile as sf

    with sf.SoundFile(str(path), "r+") as handle:  # io.write refuses NaN: patch the stored sample
        handle.seek(100_000)
        handle.write(np.array([[np.nan]], np.float32))
    return path


def _first_delivery(tmp: Path) -> None:
    deliver(_mono_graph(_array(seconds=2.0)), "ebu-r128", tmp / "out", reports=False, bext=False)


def _second_delivery(tmp: Path) -> None:
    def progress(stage: str, done: int, total: int) -> None:
        raise AssertionError(f"the refusal must come before any work, not at {stage!r}")

    deliver(_mono_graph(_array(seconds=2.0)), "ebu-r128", tmp / "out", reports=False, bext=False,
            progress=progress)  # fmt: skip


def _locked(tmp: Path) -> None:
    """Deliver while another live process (this one's parent) holds the delivery's lock."""
    import socket

    out = tmp / "out"
    out.mkdir()
    (out / ".sonicmix-mix.lock").write_text(f"{os.getppid()} {socket.gethostname()}\n")
    try:
        _deliver(tmp, _mono_graph(_array(seconds=2.0)))
    finally:
        (out / ".sonicmix-mix.lock").unlink()


# --------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Bad:
    """One bad input.

    call : run with the row's tmp_path; must raise ``error`` (or, for the CLI, return ``exit_code``).
    match : regex searched in the error message (or in the CLI's stderr).
    absent : paths relative to tmp_path that must not exist afterwards.
    unchanged : paths relative to tmp_path whose bytes the call must not change.
    """

    call: Callable[[Path], Any]
    error: type[Exception] | None
    match: str
    absent: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    exit_code: int | None = None
    setup: Callable[[Path], Any] | None = field(default=None)


def row(id: str, bad: Bad, *, xfail: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(bad, id=id, marks=marks)


MATRIX = [
    # -- io.write: the audio itself (checked before the disk is touched) -------------------------
    row(
        "write-nan",
        Bad(
            lambda t: sio.write(t / "o.wav", _with(_noise(2, 1.0), 1, 4800, np.nan), FS),
            AudioError,
            r"nan at channel 1, sample 4800 \(t=0\.100000 s\)",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-inf",
        Bad(
            lambda t: sio.write(t / "o.wav", _with(_noise(2, 1.0), 0, 24000, np.inf), FS),
            AudioError,
            r"inf at channel 0, sample 24000 \(t=0\.500000 s\)",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-int16",
        Bad(
            lambda t: sio.write(t / "o.wav", np.zeros((2, 4800), np.int16), FS),
            AudioError,
            r"audio\.dtype=int16 is not floating point",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-complex",
        Bad(
            lambda t: sio.write(t / "o.wav", np.zeros((2, 4800), np.complex64), FS),
            AudioError,
            r"audio\.dtype=complex64 is complex",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-1d",
        Bad(
            lambda t: sio.write(t / "o.wav", np.zeros(4800, np.float32), FS),
            AudioError,
            r"audio\.shape=\(4800,\) has 1 dimensions.*np\.newaxis",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-3d",
        Bad(
            lambda t: sio.write(t / "o.wav", np.zeros((1, 2, 4800), np.float32), FS),
            AudioError,
            r"audio\.shape=\(1, 2, 4800\) has 3 dimensions",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-transposed",
        Bad(
            lambda t: sio.write(t / "o.wav", np.zeros((4800, 2), np.float32), FS),
            AudioError,
            r"audio\.shape=\(4800, 2\).*data\.T",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-empty",
        Bad(
            lambda t: sio.write(t / "o.wav", np.zeros((2, 0), np.float32), FS),
            AudioError,
            r"audio\.shape=\(2, 0\) is empty",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-rate-in-khz",
        Bad(
            lambda t: sio.write(t / "o.wav", _noise(1, 0.1), 48),
            ParameterError,
            r"sample_rate=48 .*use 48000",
            absent=("o.wav",),
        ),
    ),
    row(
        "write-unknown-extension",
        Bad(
            lambda t: sio.write(t / "o.mp3", _noise(1, 0.1), FS),
            ParameterError,
            r"path='.*o\.mp3' has extension '\.mp3'",
            absent=("o.mp3",),
        ),
    ),
    row(
        "write-flac-float",
        Bad(
            lambda t: sio.write(t / "o.flac", _noise(1, 0.1), FS, subtype="FLOAT"),
            ParameterError,
            r"subtype='FLOAT' is not possible in FLAC",
            absent=("o.flac",),
        ),
    ),
    # -- io.write / AudioWriter: the target path -------------------------------------------------
    row(
        "write-output-is-input",
        Bad(
            lambda t: sio.write(t / "in.wav", _noise(2, 0.5), FS, inputs=[t / "in.wav"]),
            AudioFileError,
            r"cannot write '.*in\.wav': it is the input",
            unchanged=("in.wav",),
            setup=lambda t: _wav(t),
        ),
    ),
    row(
        "write-output-is-input-via-symlink",
        Bad(
            lambda t: sio.write(t / "link.wav", _noise(2, 0.5), FS, inputs=[t / "in.wav"]),
            AudioFileError,
            r"cannot write '.*link\.wav': it is the input '.*in\.wav'",
            unchanged=("in.wav",),
            setup=lambda t: (_wav(t), os.symlink(t / "in.wav", t / "link.wav")),
        ),
    ),
    row(
        "write-under-regular-file",
        Bad(
            lambda t: sio.write(t / "not_a_folder.txt" / "o.wav", _noise(1, 0.1), FS),
            AudioFileError,
            r"cannot write '.*o\.wav': '.*not_a_folder\.txt' is not a folder",
            absent=("not_a_folder.txt/o.wav",),
            unchanged=("not_a_folder.txt",),
            setup=_regular_file,
        ),
    ),
    row(
        "write-missing-folder",
        Bad(
            lambda t: sio.write(t / "nowhere" / "o.wav", _noise(1, 0.1), FS),
            AudioFileError,
            r"the folder '.*nowhere' does not exist",
            absent=("nowhere",),
        ),
    ),
    row(
        "writer-under-regular-file",
        Bad(
            lambda t: sio.AudioWriter(t / "not_a_folder.txt" / "o.wav", FS, 2),
            AudioFileError,
            r"'.*not_a_folder\.txt' is not a folder",
            unchanged=("not_a_folder.txt",),
            setup=_regular_file,
        ),
    ),
    row(
        "writer-output-is-input",
        Bad(
            lambda t: sio.AudioWriter(t / "in.wav", FS, 2, inputs=[str(t / "in.wav")]),
            AudioFileError,
            r"it is the input '.*in\.wav'",
            unchanged=("in.wav",),
            setup=lambda t: _wav(t),
        ),
    ),
    row(
        "writer-nan-in-second-block",
        Bad(
            _writer_nan_block,
            AudioError,
            r"nan at channel 1, sample 26400 \(t=0\.550000 s\)",
            absent=("stream.wav",),
        ),
    ),
    row(
        "writer-block-with-wrong-channels",
        Bad(_writer_wrong_channels, AudioError, r"audio has 3 channels; expected 2", absent=("stream.wav",)),
    ),
    # -- io.read: missing and unreadable files ---------------------------------------------------
    row(
        "read-missing",
        Bad(
            lambda t: sio.read(t / "missing.wav"),
            AudioFileError,
            r"'.*missing\.wav': the file does not exist",
        ),
    ),
    row("read-directory", Bad(lambda t: sio.read(t), AudioFileError, r"cannot read '.*': it is a directory")),
    row(
        "read-random-bytes",
        Bad(
            lambda t: sio.read(t / "corrupt.wav"),
            AudioFileError,
            r"cannot read '.*corrupt\.wav'.*corrupt",
            setup=_corrupt,
        ),
    ),
    row(
        "read-truncated-wav",
        Bad(
            lambda t: sio.read(t / "truncated.wav"),
            AudioFileError,
            r"cannot read '.*truncated\.wav': the file is truncated; the header declares 48000 frames",
            setup=_truncated,
        ),
    ),
    row(
        "read-zero-bytes",
        Bad(
            lambda t: sio.read(t / "empty.wav"),
            AudioFileError,
            r"'.*empty\.wav': the file is empty \(0 bytes\)",
            setup=lambda t: (t / "empty.wav").write_bytes(b""),
        ),
    ),
    row(
        "read-layout-mismatch",
        Bad(
            lambda t: sio.read(t / "in.wav", layout="5.1"),
            LayoutError,
            r"layout='5\.1' has 6 channels but file '.*in\.wav' has 2",
            setup=lambda t: _wav(t),
        ),
    ),
    row(
        "read-unknown-layout",
        Bad(
            lambda t: sio.read(t / "in.wav", layout="quad"),
            LayoutError,
            r"layout='quad' is unknown",
            setup=lambda t: _wav(t),
        ),
    ),
    row(
        "read-integer-dtype",
        Bad(
            lambda t: sio.read(t / "in.wav", dtype="int16"),
            ParameterError,
            r"dtype='int16' is not supported",
            setup=lambda t: _wav(t),
        ),
    ),
    # -- loudness --------------------------------------------------------------------------------
    row(
        "measure-nan",
        Bad(
            lambda t: measure(_with(_noise(2, 1.0), 1, 9600, np.nan), FS),
            AudioError,
            r"nan at channel 1, sample 9600 \(t=0\.200000 s\)",
        ),
    ),
    row(
        "measure-neg-inf",
        Bad(
            lambda t: measure(_with(_noise(2, 1.0), 0, 12000, -np.inf), FS),
            AudioError,
            r"-inf at channel 0, sample 12000 \(t=0\.250000 s\)",
        ),
    ),
    row(
        "measure-empty",
        Bad(
            lambda t: measure(np.zeros((2, 0), np.float32), FS), AudioError, r"audio\.shape=\(2, 0\) is empty"
        ),
    ),
    row(
        "measure-int32",
        Bad(lambda t: measure(np.zeros((2, 4800), np.int32), FS), AudioError, r"audio\.dtype=int32"),
    ),
    row(
        "measure-unknown-layout",
        Bad(lambda t: measure(_noise(2, 1.0), FS, layout="quad"), LayoutError, r"layout='quad' is unknown"),
    ),
    row(
        "measure-layout-mismatch",
        Bad(
            lambda t: measure(_noise(2, 1.0), FS, layout="5.1"),
            LayoutError,
            r"layout='5\.1' has 6 channels but .* has 2",
        ),
    ),
    row(
        "measure-7-channels-no-layout",
        Bad(lambda t: measure(_noise(7, 0.5), FS), LayoutError, r"has 7 channels and no layout was given"),
    ),
    row(
        "meter-block-with-wrong-channels",
        Bad(
            lambda t: LoudnessMeter(FS, channels=2).update(_noise(3, 0.1)),
            AudioError,
            r"audio has 3 channels; expected 2",
        ),
    ),
    # -- nodes: parameters out of range or in the wrong unit -------------------------------------
    row(
        "compressor-attack-in-ms",
        Bad(lambda t: Compressor(attack_s=5), ParameterError, r"attack_s=5 is out of range.*use 0\.005"),
    ),
    row(
        "compressor-ratio-below-1",
        Bad(lambda t: Compressor(ratio=0.5), ParameterError, r"ratio=0\.5 is out of range.*Gate\(ratio=2\)"),
    ),
    row(
        "compressor-nan-threshold",
        Bad(
            lambda t: Compressor(threshold_db=float("nan")), ParameterError, r"threshold_db=nan is not finite"
        ),
    ),
    row(
        "deesser-freq-below-range",
        Bad(lambda t: DeEsser(freq_hz=6.5), ParameterError, r"freq_hz=6\.5 is out of range"),
    ),
    row(
        "peak-freq-above-nyquist-at-process",
        Bad(
            lambda t: Peak(freq_hz=30_000.0, gain_db=3.0)(_noise(1, 0.1), FS),
            ParameterError,
            r"freq_hz=30000 is out of range; expected freq_hz < 24000.*sample_rate=48000",
        ),
    ),
    row(
        "lowpass-cutoff-above-nyquist-at-init",
        Bad(
            lambda t: LowPass(cutoff_hz=23_000.0).init_state(1, 44_100),
            ParameterError,
            r"cutoff_hz=23000 is out of range; expected cutoff_hz < 22050",
        ),
    ),
    row(
        "node-integer-audio",
        Bad(lambda t: Gain(gain_db=-6.0)(np.ones((2, 100), np.int16), FS), AudioError, r"audio\.dtype=int16"),
    ),
    row(
        "node-3d-audio",
        Bad(
            lambda t: Gain(gain_db=-6.0)(np.ones((1, 2, 100), np.float32), FS),
            AudioError,
            r"audio\.shape=\(1, 2, 100\) has 3 dimensions",
        ),
    ),
    row(
        "ducker-key-wrong-length",
        Bad(
            lambda t: Ducker()(_noise(2, 1.0), FS, key=_noise(1, 0.5)),
            AudioError,
            r"key has 24000 samples but audio has 48000",
        ),
    ),
    row(
        "ducker-without-key",
        Bad(lambda t: Ducker()(_noise(2, 0.1), FS), ParameterError, r"Ducker needs a side-chain key"),
    ),
    row(
        "gain-given-a-key",
        Bad(
            lambda t: Gain()(_noise(2, 0.1), FS, key=_noise(2, 0.1)),
            ParameterError,
            r"Gain takes no side-chain key",
        ),
    ),
    # -- timeline --------------------------------------------------------------------------------
    row(
        "clip-negative-duration",
        Bad(
            lambda t: Clip(source=_array(), duration_s=-1.0),
            ParameterError,
            r"duration_s=-1 is out of range; expected duration_s > 0",
        ),
    ),
    row(
        "clip-negative-start",
        Bad(lambda t: Clip(source=_array(), start_s=-0.5), ParameterError, r"start_s=-0\.5 is out of range"),
    ),
    row(
        "clip-start-beyond-any-programme",
        Bad(
            lambda t: Clip(source=_array(), start_s=1e300),
            ParameterError,
            r"start_s=1e\+300 is out of range; expected start_s >= 0 and start_s <= 1e\+06",
        ),
    ),
    row(
        "render-tail-beyond-any-programme",
        Bad(
            lambda t: render(
                Graph(
                    tracks={"a": Track(clips=(Clip(source=_array()),))}, buses={"master": Bus(output=None)}
                ),
                sample_rate=FS,
                tail_s=1e9,
            ),
            ParameterError,
            r"tail_s=1e\+09 is out of range; expected tail_s >= 0 and tail_s <= 1e\+06",
        ),
    ),
    row(
        "clip-fades-longer-than-clip",
        Bad(
            lambda t: Clip(source=_array(), duration_s=1.0, fade_in_s=0.6, fade_out_s=0.6),
            ParameterError,
            r"fade_in_s=0\.6 \+ fade_out_s=0\.6 is longer than duration_s=1",
        ),
    ),
    row(
        "arraysource-nan",
        Bad(
            lambda t: ArraySource(_with(_noise(2, 1.0), 1, 480, np.nan), FS, name="room tone"),
            AudioError,
            r"source 'room tone' has 1 non-finite sample.*channel 1, sample 480",
        ),
    ),
    row(
        "arraysource-transposed",
        Bad(
            lambda t: ArraySource(np.zeros((48000, 2), np.float32), FS, name="music"),
            AudioError,
            r"source 'music'\.shape=\(48000, 2\)",
        ),
    ),
    # -- graphs ----------------------------------------------------------------------------------
    row("graph-cycle", Bad(lambda t: _cycle(), GraphError, r"the graph has a cycle: .*\ba -> b -> a\b")),
    row(
        "graph-unknown-send-bus",
        Bad(
            lambda t: _unknown_send_bus(),
            GraphError,
            r"track 'dx' sends to 'reverbb', which is not a bus \(did you mean 'reverb'\?\)",
        ),
    ),
    row(
        "graph-unknown-output-bus",
        Bad(
            lambda t: Graph(
                tracks={"dx": Track(output="dialog")}, buses={"dialogue": Bus(), "master": Bus(output=None)}
            ),
            GraphError,
            r"track 'dx' has output='dialog', which is not a bus \(did you mean 'dialogue'\?\)",
        ),
    ),
    row(
        "graph-unknown-sidechain-key",
        Bad(lambda t: _ducker_unknown_key(), GraphError, r"track 'music' has key='narration', which is not"),
    ),
    row(
        "graph-keyed-node-without-key",
        Bad(
            lambda t: Graph(tracks={"music": Track(chain=(Ducker(),))}, buses={"master": Bus(output=None)}),
            GraphError,
            r"'music' has Ducker in its chain, which needs a side-chain key",
        ),
    ),
    row(
        "graph-unknown-layout", Bad(lambda t: Track(layout="quad"), LayoutError, r"layout='quad' is unknown")
    ),
    row(
        "graph-missing-master",
        Bad(
            lambda t: Graph(buses={"mastr": Bus(output=None)}),
            GraphError,
            r"master='master' is not a bus \(did you mean 'mastr'\?\)",
        ),
    ),
    row(
        "render-3-channel-source",
        Bad(
            lambda t: render(_mono_graph(_array(channels=3, name="odd")), sample_rate=FS),
            GraphError,
            r"source 'odd' has 3 channels",
        ),
    ),
    row(
        "render-filesource-missing",
        Bad(
            lambda t: render(_mono_graph(FileSource(str(t / "gone.wav"))), sample_rate=FS),
            AudioFileError,
            r"'.*gone\.wav'.*does not exist",
        ),
    ),
    row(
        "render-filesource-corrupt",
        Bad(
            lambda t: render(_mono_graph(FileSource(str(t / "corrupt.wav"))), sample_rate=FS),
            AudioFileError,
            r"'.*corrupt\.wav'",
            setup=_corrupt,
        ),
    ),
    row(
        "render-negative-duration",
        Bad(
            lambda t: render(_mono_graph(_array()), sample_rate=FS, duration_s=-2.0),
            ParameterError,
            r"duration_s=-2 is out of range",
        ),
    ),
    row(
        "render-unknown-stem",
        Bad(
            lambda t: render(_mono_graph(_array()), sample_rate=FS, stems=["musik"]),
            GraphError,
            r"stem 'musik' is not a bus",
        ),
    ),
    # -- plain-data graphs -----------------------------------------------------------------------
    row(
        "from-dict-unknown-key",
        Bad(
            lambda t: graph_from_dict(
                {"tracks": {"dx": {"fader": -3.0}}, "buses": {"master": {"output": None}}}
            ),
            GraphError,
            r"tracks\.dx \(Track\) has no parameter 'fader' \(did you mean 'fader_db'\?\)",
        ),
    ),
    row(
        "from-dict-tracks-wrong-type",
        Bad(
            lambda t: graph_from_dict({"tracks": ["dx"], "buses": {"master": {"output": None}}}),
            GraphError,
            r"tracks is a list; expected a mapping",
        ),
    ),
    row(
        "from-dict-value-wrong-type",
        Bad(
            lambda t: graph_from_dict({"buses": {"master": {"output": None, "fader_db": "loud"}}}),
            GraphError,
            r"buses\.master \(Bus\): fader_db='loud' is not a real number",
        ),
    ),
    row(
        "from-dict-unknown-node-type",
        Bad(
            lambda t: graph_from_dict(
                {"tracks": {"dx": {"chain": [{"type": "Compresor"}]}}, "buses": {"master": {"output": None}}}
            ),
            GraphError,
            r"tracks\.dx\.chain\[0\]\.type='Compresor' .*did you mean 'Compressor'",
        ),
    ),
    row(
        "from-dict-unknown-top-level-key",
        Bad(
            lambda t: graph_from_dict({"tracks": {}, "buses": {"master": {"output": None}}, "sends": {}}),
            GraphError,
            r"graph data has unknown key 'sends'",
        ),
    ),
    # -- deliver: nothing may be written when it fails ---------------------------------------------
    row(
        "deliver-shorter-than-a-gating-block",
        Bad(
            lambda t: _deliver(t, _mono_graph(_array(seconds=0.2)), strict=True),
            TargetNotMetError,
            r"shorter than one 400 ms block.*nothing was written",
            absent=("out/mix.wav",),
        ),
    ),
    row(
        "deliver-digital-silence",
        Bad(
            lambda t: _deliver(t, _mono_graph(_array(level=0.0, seconds=2.0)), strict=True),
            TargetNotMetError,
            r"the programme is silent",
            absent=("out/mix.wav",),
        ),
    ),
    row(
        "deliver-unknown-target",
        Bad(
            lambda t: _deliver(t, _mono_graph(_array()), target="ebu-r129"),
            ParameterError,
            r"target 'ebu-r129' is unknown \(did you mean 'ebu-r128'\?\)",
            absent=("out/mix.wav",),
        ),
    ),
    row(
        "deliver-out-dir-is-a-file",
        Bad(
            lambda t: deliver(_mono_graph(_array()), "ebu-r128", t / "not_a_folder.txt"),
            ParameterError,
            r"out_dir='.*not_a_folder\.txt' is not an existing folder",
            unchanged=("not_a_folder.txt",),
            setup=_regular_file,
        ),
    ),
    row(
        "deliver-output-is-input",
        Bad(
            _output_is_input_deliver,
            AudioFileError,
            r"cannot write '.*mix\.wav': it is the input",
            unchanged=("out/mix.wav",),
        ),
    ),
    row(
        "deliver-filesource-missing",
        Bad(
            lambda t: _deliver(t, _mono_graph(FileSource(str(t / "gone.wav")))),
            AudioFileError,
            r"'.*gone\.wav'.*does not exist",
            absent=("out/mix.wav",),
        ),
    ),
    row(
        "deliver-filesource-truncated",
        Bad(
            lambda t: _deliver(t, _mono_graph(FileSource(str(t / "truncated.wav")))),
            AudioFileError,
            r"'.*truncated\.wav'.*truncated",
            absent=("out/mix.wav",),
            setup=_truncated,
        ),
    ),
    # -- CLI -------------------------------------------------------------------------------------
    row(
        "cli-measure-missing-file",
        Bad(_cli("measure", "{tmp}/missing.wav"), None, r"'.*missing\.wav'.*does not exist", exit_code=2),
    ),
    row(
        "cli-measure-corrupt-file",
        Bad(_cli("measure", "{tmp}/corrupt.wav"), None, r"'.*corrupt\.wav'", exit_code=2, setup=_corrupt),
    ),
    row("cli-measure-directory", Bad(_cli("measure", "{tmp}"), None, r"it is a directory", exit_code=2)),
    row(
        "cli-measure-unknown-layout",
        Bad(
            _cli("measure", "--layout", "quad", "{tmp}/in.wav"),
            None,
            r"layout='quad' is unknown",
            exit_code=2,
            setup=lambda t: _wav(t),
        ),
    ),
    row(
        "cli-demo-unknown-target",
        Bad(
            _cli("demo", "--out", "{tmp}/demo", "--target", "ebu-r129", "--seconds", "2"),
            None,
            r"target 'ebu-r129' is unknown",
            exit_code=2,
            absent=("demo/demo.wav",),
        ),
    ),
    # -- rows that exposed bugs (once strict xfails; the library was fixed and they pass) ------------
    row(
        "writer-channels-wrong-type",
        Bad(
            lambda t: sio.AudioWriter(t / "o.wav", FS, "2"),
            ParameterError,
            r"channels='2'",
            absent=("o.wav",),
        ),
    ),
    row("filesource-path-none", Bad(lambda t: FileSource(None), ParameterError, r"path=None")),
    row(
        "from-dict-master-wrong-type",
        Bad(
            lambda t: graph_from_dict({"master": 5, "buses": {"master": {"output": None}}}),
            GraphError,
            r"master=5",
        ),
    ),
    row(
        "from-dict-output-wrong-type",
        Bad(
            lambda t: graph_from_dict(
                {"tracks": {"dx": {"output": 3}}, "buses": {"master": {"output": None}}}
            ),
            GraphError,
            r"output=3",
        ),
    ),
    row(
        "from-dict-automation-point-wrong-type",
        Bad(
            lambda t: graph_from_dict(
                {"buses": {"master": {"output": None, "fader_db": {"automation": [[0.0, "x", "linear"]]}}}}
            ),
            GraphError,
            r"buses\.master\.fader_db",
        ),
    ),
    row(
        "deliver-graph-none",
        Bad(lambda t: _deliver(t, None), ParameterError, r"graph=None", absent=("out/mix.wav",)),
    ),
    row(
        "deliver-unknown-stem",
        Bad(
            lambda t: _deliver(t, _mono_graph(_array()), stems=["musik"]),
            GraphError,
            r"stem 'musik' is not a bus",
            absent=("out/mix.wav", "out/mix.musik.wav"),
        ),
    ),
    row(
        "deliver-negative-tolerance",
        Bad(
            lambda t: _deliver(t, _mono_graph(_array(seconds=2.0)), tolerance_lu=-1.0),
            ParameterError,
            r"tolerance_lu=-1",
            absent=("out/mix.wav",),
        ),
    ),
    row(
        "deliver-zero-iterations",
        Bad(
            lambda t: _deliver(t, _mono_graph(_array(seconds=2.0)), max_iterations=0),
            ParameterError,
            r"max_iterations=0",
            absent=("out/mix.wav",),
        ),
    ),
    row(
        "cli-demo-out-under-regular-file",
        Bad(
            _cli("demo", "--out", "{tmp}/not_a_folder.txt/demo", "--seconds", "2"),
            None,
            r"not_a_folder\.txt",
            exit_code=2,
            unchanged=("not_a_folder.txt",),
            setup=_regular_file,
        ),
    ),
    row(
        "cli-demo-negative-seconds",
        Bad(
            _cli("demo", "--out", "{tmp}/demo", "--seconds", "-5"),
            None,
            r"seconds",
            exit_code=2,
            absent=("demo",),
        ),
    ),
    row(
        "cli-demo-unknown-target-creates-no-folder",
        Bad(
            _cli("demo", "--out", "{tmp}/demo", "--target", "ebu-r129", "--seconds", "2"),
            None,
            r"target 'ebu-r129' is unknown",
            exit_code=2,
            absent=("demo",),
        ),
    ),
    # -- issue 20, item 3: inputs that lie (RF64 cut short; a FIFO would block an open for ever) -------
    row(
        "read-rf64-truncated",
        Bad(
            lambda t: sio.read(t / "truncated-rf64.wav"),
            AudioFileError,
            r"'.*truncated-rf64\.wav'.*truncated; the RF64 ds64 chunk declares 48000 frames but the file "
            r"holds only \d+",
            setup=_truncated_rf64,
        ),
    ),
    row(
        "info-rf64-truncated",
        Bad(
            lambda t: sio.info(t / "truncated-rf64.wav"), AudioFileError, r"truncated", setup=_truncated_rf64
        ),
    ),
    row(
        "read-fifo",
        Bad(lambda t: sio.read(t / "stream.wav"), AudioFileError, r"'.*stream\.wav'.*a FIFO", setup=_fifo),
    ),
    row(
        "deliver-filesource-fifo",
        Bad(
            lambda t: _deliver(t, _mono_graph(FileSource(str(t / "stream.wav")))),
            AudioFileError,
            r"'.*stream\.wav'.*a FIFO",
            absent=("out/mix.wav",),
            setup=_fifo,
        ),
    ),
    row(
        "cli-measure-fifo",
        Bad(_cli("measure", "{tmp}/stream.wav"), None, r"'.*stream\.wav'.*a FIFO", exit_code=2, setup=_fifo),
    ),
    row(
        "cli-normalize-fifo",
        Bad(
            _cli("normalize", "{tmp}/stream.wav", "{tmp}/o.wav", "--target", "ebu-r128"),
            None,
            r"'.*stream\.wav'.*a FIFO",
            exit_code=2,
            absent=("o.wav",),
            setup=_fifo,
        ),
    ),
    row(
        "cli-measure-rf64-truncated",
        Bad(
            _cli("measure", "{tmp}/truncated-rf64.wav"),
            None,
            r"truncated-rf64\.wav.*truncated",
            exit_code=2,
            setup=_truncated_rf64,
        ),
    ),
    # -- issue 20, item 4: a session nested 50,000 deep --------------------------------------------
    row(
        "session-nested-50000-deep",
        Bad(
            lambda t: __import__("sonicmix.session").session.load_session(t / "deep.toml"),
            __import__("sonicmix.session").session.SessionError,
            r"^.*deep\.toml: arrays or inline tables are nested too deeply",
            setup=_deep_session,
        ),
    ),
    row(
        "cli-render-session-nested-50000-deep",
        Bad(
            _cli("render", "{tmp}/deep.toml", "-o", "{tmp}/out"),
            None,
            r"error: .*deep\.toml: arrays or inline tables are nested too deeply",
            exit_code=2,
            absent=("out",),
            setup=_deep_session,
        ),
    ),
    # -- issue 20, item 7: a delivery is not replaced unless asked, nor delivered twice at once -------
    row(
        "deliver-into-an-existing-delivery",
        Bad(
            _second_delivery,
            AudioFileError,
            r"name='mix' into out_dir=.*a delivery of that name is already there \('.*mix\.wav'\); "
            r"expected overwrite=True",
            unchanged=("out/mix.wav",),
            setup=_first_delivery,
        ),
    ),
    row(
        "deliver-while-another-delivery-of-the-name-runs",
        Bad(
            _locked,
            AudioFileError,
            r"name='mix' into out_dir=.*a delivery of that name is running there now \(process \d+",
            absent=("out/mix.wav",),
        ),
    ),
    # -- issue 20, item 8: CLI edges -----------------------------------------------------------------
    row("cli-measure-without-a-file", Bad(_cli("measure"), None, r"FILE is missing.*--demo", exit_code=2)),
    row(
        "cli-normalize-nan-names-the-file",
        Bad(
            _cli("normalize", "{tmp}/nan.wav", "{tmp}/o.wav", "--target", "ebu-r128"),
            None,
            r"'.*nan\.wav'.*nan at channel 0, sample 100000",
            exit_code=2,
            absent=("o.wav",),
            setup=_nan_wav,
        ),
    ),
    row(
        "cli-batch-glob-that-matched-nothing",
        Bad(
            _cli("batch", "{tmp}/sessions/*.toml", "-o", "{tmp}/out"),
            None,
            r"(?s)^(?!.*rendering \d+ session)"
            r".*sessions\[0\]='.*\*\.toml' matches no file.*Nothing was rendered",
            exit_code=2,
            absent=("out",),
        ),
    ),
    row(
        "deliver-lookahead-too-short-at-8-khz",
        Bad(
            lambda t: _deliver(
                t, _mono_graph(ArraySource(_noise(1, 2.0), FS)), sample_rate=8000, lookahead_s=0.005
            ),
            ParameterError,
            r"lookahead_s=0\.005 is 40 samples at 8000 Hz; expected at least 64 samples",
            absent=("out/mix.wav",),
        ),
    ),
]


def _leftovers(tmp: Path) -> list[str]:
    """Scratch files of the atomic writers, anywhere under tmp."""
    found = []
    for folder, dirs, files in os.walk(tmp):
        found += [os.path.join(folder, d) for d in dirs if d.startswith(".sonicmix-")]
        found += [os.path.join(folder, f) for f in files if f.endswith(".partial")]
    return found


@pytest.mark.parametrize("bad", MATRIX)
def test_bad_input(bad: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if bad.setup is not None:
        bad.setup(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in bad.unchanged if (tmp_path / name).exists()}
    if bad.error is None:  # a CLI row
        capsys.readouterr()
        code = bad.call(tmp_path)
        err = capsys.readouterr().err
        assert code == bad.exit_code, err
        assert re.search(bad.match, err), err
        assert "Traceback" not in err
    else:
        with pytest.raises(bad.error, match=bad.match) as caught:
            bad.call(tmp_path)
        # exactly the class promised: a subclass (AudioError for ParameterError, ...) is a different claim
        assert caught.type is bad.error, f"{caught.type.__name__}: {caught.value}"
    for name in bad.absent:
        assert not (tmp_path / name).exists(), f"{name} was left behind"
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data, f"{name} was changed"
    assert _leftovers(tmp_path) == []


def test_matrix_is_large_enough() -> None:
    # issue 8 asks for at least 40 rows, each with a unique id
    ids = [p.id for p in MATRIX]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


def test_failed_delivery_without_strict_writes_nothing(tmp_path: Path) -> None:
    # The non-strict form of the short-programme row: a failed Delivery, no files at all.
    result = _deliver(tmp_path, _mono_graph(_array(seconds=0.2)))
    assert result.passed is False
    assert result.files == {}
    assert any("400 ms" in reason for reason in result.reasons)
    assert os.listdir(tmp_path / "out") == []
