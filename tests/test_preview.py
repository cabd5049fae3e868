"""sonicmix.preview: what reaches the device, the live meter, Ctrl-C, and the errors without a device.

There is no sound card here. A stand-in for sounddevice's OutputStream calls the
callback from its own thread, as PortAudio does (``outdata`` shaped (frames, channels),
frames, time, status; 8x faster than real time), and records every buffer it was
given. The tests check those buffers against the file, the array or the graph's
render sample for sample: the preview copies float32 samples, so the equality is exact.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

import sonicmix.io as sio
import sonicmix.preview as pv
from sonicmix.cli import main
from sonicmix.errors import ParameterError, SonicmixError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.layouts import downmix
from sonicmix.loudness import LoudnessMeter
from sonicmix.nodes.eq import HighPass, LowShelf
from sonicmix.nodes.resample import Resample
from sonicmix.renderer import render
from sonicmix.timeline import ArraySource, Clip

RATE = 48000
SPEED = 8.0  # the stand-in plays this many times faster than real time


class FakeCallbackStop(Exception):
    pass


class FakePortAudioError(Exception):
    pass


class FakeStream:
    """sounddevice.OutputStream as PortAudio drives it: a thread calls the callback, block after block."""

    made: list[FakeStream] = []

    def __init__(self, *, samplerate, blocksize, device, channels, dtype, callback, finished_callback):
        assert dtype == "float32" and blocksize > 0
        self.samplerate, self.blocksize, self.device, self.channels = samplerate, blocksize, device, channels
        self.callback, self.finished_callback = callback, finished_callback
        self.written: list[np.ndarray] = []
        self.started = self.stopped = self.aborted = self.closed = False
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        FakeStream.made.append(self)

    def start(self):
        self.started = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        period = self.blocksize / self.samplerate / SPEED
        while not self._halt.is_set():
            # NaN everywhere: a sample the callback leaves unwritten cannot pass for audio
            out = np.full((self.blocksize, self.channels), np.nan, np.float32)
            status = SimpleNamespace(output_underflow=False)  # sounddevice.CallbackFlags' attribute
            stop = False
            try:
                self.callback(out, self.blocksize, SimpleNamespace(currentTime=0.0), status)
            except FakeCallbackStop:
                stop = True  # PortAudio still plays this buffer, then stops
            self.written.append(out.copy())
            if stop:
                break
            time.sleep(period)
        self.finished_callback()

    def _join(self):
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive()

    def stop(self):
        self.stopped = True
        self._join()  # a stream that raised CallbackStop ends by itself once its buffers are played

    def abort(self):
        self.aborted = True
        self._halt.set()
        self._join()

    def close(self):
        self._halt.set()
        self._join()
        self.closed = True

    def played(self) -> np.ndarray:
        return np.concatenate(self.written, axis=0).T if self.written else np.zeros((self.channels, 0))


def fake_sounddevice(channels=2, rates=(44100, 48000, 96000), default_rate=48000, devices=None):
    if devices is None:
        devices = [
            {"name": "Fake Mic", "index": 0, "hostapi": 0, "max_input_channels": 2, "max_output_channels": 0,
             "default_samplerate": 48000.0},
            {"name": "Fake Speakers", "index": 1, "hostapi": 0, "max_input_channels": 0,
             "max_output_channels": channels, "default_samplerate": float(default_rate)},
        ]

    def query_devices(device=None, kind=None):
        if device is None and kind is None:
            return list(devices)
        outputs = [d for d in devices if d["max_output_channels"] > 0]
        if device is None:
            if not outputs:
                raise FakePortAudioError("Error querying device -1")
            return outputs[0]
        matches = [
            d for d in outputs if (d["index"] == device if isinstance(device, int) else device in d["name"])
        ]
        if not matches:
            raise ValueError(f"No output device matching {device!r}")
        return matches[0]

    def check_output_settings(device=None, channels=None, dtype=None, samplerate=None):
        if samplerate not in rates:
            raise FakePortAudioError(f"Invalid sample rate [PaErrorCode -9997]: {samplerate}")

    return SimpleNamespace(
        query_devices=query_devices,
        query_hostapis=lambda index=None: [{"name": "Fake API"}],
        check_output_settings=check_output_settings,
        OutputStream=FakeStream,
        CallbackStop=FakeCallbackStop,
        PortAudioError=FakePortAudioError,
    )


@pytest.fixture
def device(monkeypatch):
    """Install a stereo stand-in device; returns a function that replaces it with another."""
    FakeStream.made.clear()

    def install(**kwargs):
        monkeypatch.setattr(pv, "_sounddevice", lambda: fake_sounddevice(**kwargs))

    install()
    return install


def device_audio(result) -> np.ndarray:
    """What the (only) stream was given, with the dropouts' silence taken out."""
    (stream,) = FakeStream.made
    played = stream.played()
    assert not np.isnan(played).any(), "the callback left samples unwritten"
    keep = np.ones(played.shape[1], bool)
    shift = 0
    for at_s, duration_s in result.dropouts:  # (programme time, length) of each stretch of silence
        at = round((at_s - result.start_s) * stream.samplerate) + shift
        n = round(duration_s * stream.samplerate)
        assert not played[:, at : at + n].any()
        keep[at : at + n] = False
        shift += n
    return played[:, keep]


def programme(rng, channels=2, seconds=1.3):
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    x = 0.05 * rng.standard_normal((channels, n)) + 0.3 * np.sin(2 * np.pi * 997.0 * t)
    return x.astype(np.float32)


def reference_meter(audio, rate=RATE, layout=None):
    meter = LoudnessMeter(rate, layout=layout, channels=None if layout else audio.shape[0])
    meter.update(audio)
    return meter


def assert_meter_matches(result, audio, layout=None):
    ref = reference_meter(audio, layout=layout)
    report, expected = result.report, ref.report()
    assert report.duration_s == expected.duration_s
    for name in ("integrated_lufs", "lra_lu", "true_peak_dbtp", "momentary_max_lufs", "short_term_max_lufs"):
        assert getattr(report, name) == pytest.approx(getattr(expected, name), abs=1e-9, nan_ok=True), name
    reading = result.reading
    assert reading.momentary_lufs == pytest.approx(ref.momentary_lufs, abs=1e-9)
    assert reading.short_term_lufs == pytest.approx(ref.short_term_lufs, abs=1e-9)
    assert reading.integrated_lufs == pytest.approx(ref.integrated_lufs, abs=1e-9)
    assert reading.true_peak_dbtp == pytest.approx(expected.true_peak_dbtp, abs=1e-9)


# ------------------------------------------------------------------------ what reaches the device


@pytest.mark.parametrize("block_size", [512, 1000])
def test_a_file_reaches_the_device_sample_for_sample(device, rng, tmp_path, block_size):
    audio = programme(rng)
    path = tmp_path / "in.wav"
    sio.write(path, audio, RATE, subtype="FLOAT")
    readings = []
    result = pv.preview(path, block_size=block_size, meter=False, on_reading=readings.append)
    played = device_audio(result)
    n = audio.shape[1]
    blocks = -(-n // block_size)
    assert played.shape[1] == blocks * block_size  # whole callbacks: the last one zero-padded
    np.testing.assert_array_equal(played[:, :n], audio)
    assert not played[:, n:].any()
    (stream,) = FakeStream.made
    assert (stream.device, stream.channels, stream.samplerate) == (1, 2, RATE)
    assert stream.started and stream.stopped and stream.closed and not stream.aborted
    assert not result.interrupted and result.played_s == n / RATE and result.device == "Fake Speakers"
    assert_meter_matches(result, audio)
    # the live readings came in order, and the last one is the result's
    times = [r.time_s for r in readings]
    assert times == sorted(times) and readings[-1] == result.reading and times[-1] == n / RATE


def test_start_s_in_a_file_and_the_meter_reads_from_there(device, rng, tmp_path):
    audio = programme(rng)
    path = tmp_path / "in.wav"
    sio.write(path, audio, RATE, subtype="FLOAT")
    result = pv.preview(path, start_s=0.25, block_size=777, meter=False)
    start = round(0.25 * RATE)
    played = device_audio(result)
    np.testing.assert_array_equal(played[:, : audio.shape[1] - start], audio[:, start:])
    assert result.reading.time_s == audio.shape[1] / RATE
    assert_meter_matches(result, audio[:, start:])


def test_a_graph_plays_as_it_renders_folded_down_to_the_device(device, rng):
    # a 5.1 master on a stereo device: the device gets the BS.775 fold-down of the render, the meter
    # reads the 5.1 programme itself (its own channel weights)
    bed = ArraySource(programme(rng, channels=6, seconds=1.0), RATE, name="bed")
    graph = Graph(
        tracks={"bed": Track(clips=(Clip(source=bed, start_s=0.2),), layout="5.1", chain=(HighPass(),))},
        buses={"master": Bus(layout="5.1", output=None, chain=(LowShelf(freq_hz=200.0, gain_db=4.0),))},
    )
    result = pv.preview(graph, RATE, start_s=0.1, block_size=1024, meter=False)
    # the preview renders in blocks of _READ_FRAMES; the renderer gives the same samples at any block
    # size only to float tolerance, so the exact reference is the render at that block size
    master = render(graph, sample_rate=RATE, block_size=pv._READ_FRAMES).master[:, round(0.1 * RATE) :]
    played = device_audio(result)
    np.testing.assert_array_equal(played[:, : master.shape[1]], downmix(master, "5.1", "stereo"))
    assert not played[:, master.shape[1] :].any()
    assert (result.channels, result.device_channels) == (6, 2)
    assert any("5.1 folded down to stereo" in note for note in result.notes)
    assert_meter_matches(result, master, layout="5.1")


def test_a_session_file_plays_its_render_at_its_rate(device, rng, tmp_path, capsys):
    from sonicmix.session import Session, save_session
    from sonicmix.timeline import FileSource

    voice = tmp_path / "voice.wav"
    sio.write(voice, programme(rng, channels=1, seconds=0.7), 44100, subtype="FLOAT")
    graph = Graph(
        tracks={"vo": Track(clips=(Clip(source=FileSource(voice), start_s=0.1),), layout="mono", pan=0.2)},
        buses={"master": Bus(output=None)},
    )
    path = tmp_path / "mix.toml"
    save_session(Session(graph=graph, sample_rate=44100, options={"tail_s": 0.0}), path)
    assert main(["--quiet", "preview", str(path)]) == 0
    master = render(graph, sample_rate=44100, block_size=pv._READ_FRAMES, tail_s=0.0).master
    assert master.shape[1] == round(0.1 * 44100) + round(0.7 * RATE)  # the clip, as long as the programme
    assert capsys.readouterr().out.startswith(f"{path}: played 0:00.9 from 0:00.0, to the end; I ")
    (stream,) = FakeStream.made
    assert (stream.samplerate, stream.channels) == (44100, 2)
    np.testing.assert_array_equal(stream.played()[:, : master.shape[1]], master)


def test_a_rate_the_device_refuses_is_resampled(device, rng):
    device(rates=(48000,))
    audio = programme(rng, seconds=0.8)[:, : round(0.8 * 44100)]
    result = pv.preview(audio, 44100, meter=False, block_size=600)
    expected = Resample(target_rate_hz=48000)(audio, 44100)  # streaming + flush == one shot
    played = device_audio(result)
    np.testing.assert_array_equal(played[:, : expected.shape[1]], expected)
    assert not played[:, expected.shape[1] :].any()
    assert (result.sample_rate, result.device_sample_rate) == (44100, 48000)
    assert any("resampled from 44100 Hz to 48000 Hz" in note for note in result.notes)
    ref = reference_meter(audio, rate=44100).report()
    assert result.report.integrated_lufs == pytest.approx(ref.integrated_lufs, abs=1e-9)


def test_float64_arrays_reach_the_device_as_float32_and_are_metered_in_float64(device, rng):
    audio = programme(rng, seconds=0.6).astype(np.float64)
    result = pv.preview(audio, RATE, meter=False)
    np.testing.assert_array_equal(device_audio(result)[:, : audio.shape[1]], audio.astype(np.float32))
    assert result.report.integrated_lufs == pytest.approx(
        reference_meter(audio).report().integrated_lufs, abs=1e-9
    )


# ----------------------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_stops_at_once_closes_the_stream_and_keeps_the_meter(device, rng):
    audio = programme(rng, seconds=4.0)

    def interrupt(reading):
        if reading.time_s >= 0.5:
            raise KeyboardInterrupt

    result = pv.preview(audio, RATE, meter=False, on_reading=interrupt, block_size=512)
    (stream,) = FakeStream.made
    assert result.interrupted and stream.aborted and stream.closed
    n = round(result.played_s * RATE)
    assert 0.5 * RATE <= n < audio.shape[1]
    played = device_audio(result)
    np.testing.assert_array_equal(played[:, :n], audio[:, :n])  # what was metered is what was played
    assert played.shape[1] == n  # and nothing more reached the device
    assert_meter_matches(result, audio[:, :n])
    assert "stopped before the end" in str(result)


def test_in_the_background_a_notebook_reads_the_meter_and_stops_playback(device, rng):
    audio = programme(rng, seconds=8.0)  # 1 s at the stand-in's speed
    playback = pv.preview(audio, RATE, meter=False, wait=False)
    assert isinstance(playback, pv.Playback) and playback.playing
    deadline = time.monotonic() + 10.0
    while (playback.reading is None or playback.reading.time_s < 2.0) and time.monotonic() < deadline:
        time.sleep(0.01)
    live = playback.reading
    assert 2.0 <= live.time_s < 8.0
    result = playback.stop()
    assert result.interrupted and not playback.playing and FakeStream.made[0].closed
    n = round(result.played_s * RATE)
    assert live.time_s * RATE <= n < audio.shape[1]
    np.testing.assert_array_equal(device_audio(result), audio[:, :n])
    assert_meter_matches(result, audio[:, :n])
    # to the end: wait() gives the whole programme's result
    FakeStream.made.clear()
    result = pv.preview(audio[:, : RATE // 2], RATE, meter=False, wait=False).wait()
    assert not result.interrupted and result.played_s == 0.5


def test_the_cli_prints_the_summary_and_exits_130_on_ctrl_c(device, rng, tmp_path, monkeypatch, capsys):
    path = tmp_path / "in.wav"
    sio.write(path, programme(rng), RATE, subtype="FLOAT")
    assert main(["preview", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: played 0:01.3 from 0:00.0, to the end" in out and "integrated" in out

    def start(self):
        raise KeyboardInterrupt  # Ctrl-C as playback starts

    monkeypatch.setattr(FakeStream, "start", start)
    assert main(["preview", str(path), "--start", "0.5"]) == 130
    captured = capsys.readouterr()
    assert "stopped before the end" in captured.out and FakeStream.made[-1].closed


def test_the_meter_line_is_drawn_in_place_on_stderr(device, rng, capsys):
    pv.preview(programme(rng, seconds=0.5), RATE, meter=True)
    err = capsys.readouterr().err
    assert err.startswith("\r") and err.endswith(" dBTP\n") and "LUFS" in err
    assert err.count("\n") == 1  # one line, rewritten


# ----------------------------------------------------------------------------------------- errors


def test_without_sounddevice_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    with pytest.raises(pv.PreviewError, match=r'pip install "sonicmix\[preview\]"'):
        pv.preview(np.zeros((1, 4800), np.float32), RATE)


def test_without_portaudio_the_message_names_the_debian_package(monkeypatch):
    class NoPortAudio(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":  # what sounddevice's import does when libportaudio2 is missing
                raise OSError("PortAudio library not found")
            return None

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    with pytest.raises(pv.PreviewError, match="libportaudio2") as caught:
        pv.list_devices()
    assert "PortAudio library not found" in str(caught.value)


def test_no_output_device_with_the_real_sounddevice(tmp_path, capsys):
    try:
        import sounddevice as sd
    except (ImportError, OSError):  # OSError: sounddevice is installed, PortAudio (libportaudio2) is not
        pytest.skip("sounddevice or PortAudio is not installed (scripts/install_tools.sh)")
    if any(d["max_output_channels"] > 0 for d in sd.query_devices()):
        pytest.skip("this machine has an audio output device")
    with pytest.raises(pv.PreviewError, match="no audio output device"):
        pv.preview(np.zeros((2, 4800), np.float32), RATE)
    path = tmp_path / "in.wav"
    sio.write(path, np.zeros((2, 4800)), RATE)
    assert main(["preview", str(path)]) == 2
    assert "sonicmix preview: error: no audio output device" in capsys.readouterr().err
    assert main(["preview", "--list-devices"]) == 0
    assert "no audio output device" in capsys.readouterr().out


def test_no_output_device_among_inputs(device):
    mic = {"name": "Mic", "index": 0, "hostapi": 0, "max_input_channels": 1, "max_output_channels": 0,
           "default_samplerate": 48000.0}
    device(devices=[mic])
    with pytest.raises(pv.PreviewError, match="none of the 1 audio devices PortAudio finds has outputs"):
        pv.preview(np.zeros((1, 4800), np.float32), RATE)


def test_bad_requests_are_named(device, rng, tmp_path, capsys):
    audio = programme(rng, seconds=0.5)
    with pytest.raises(pv.PreviewError, match=r"device='Headphones'.*--list-devices"):
        pv.preview(audio, RATE, device="Headphones")
    with pytest.raises(ParameterError, match=r"start_s=0\.6 is at or past the end"):
        pv.preview(audio, RATE, start_s=0.6)
    with pytest.raises(ParameterError, match="sample_rate=None with an array"):
        pv.preview(audio)
    with pytest.raises(ParameterError, match="block_size=8"):
        pv.preview(audio, RATE, block_size=8)
    with pytest.raises(pv.PreviewError, match="'22.2' has 24 channels"):
        pv.preview(np.zeros((24, 4800), np.float32), RATE, layout="22.2")
    device(rates=(96000,), default_rate=96000)
    path = tmp_path / "in.wav"
    sio.write(path, audio, RATE, subtype="FLOAT")
    with pytest.raises(ParameterError, match=r"sample_rate=44100 but .* is at 48000 Hz"):
        pv.preview(path, 44100)
    assert not FakeStream.made  # nothing was opened for any of them
    assert main(["preview", "--list-devices"]) == 0
    assert "* 1: Fake Speakers (Fake API), 2 out, 96000 Hz" in capsys.readouterr().out
    assert main(["preview"]) == 2
    assert "FILE_OR_SESSION is missing" in capsys.readouterr().err


def test_only_the_command_line_imports_the_preview():
    # the preview is a top-level consumer (it uses the renderer, the meter, layouts, sessions): no module
    # below it may import it
    import ast
    from pathlib import Path

    root = Path(pv.__file__).parent
    importers = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "preview" not in text:  # parse only the files that could import it
            continue
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(name == "sonicmix.preview" for name in names):
                importers.add(path.relative_to(root).as_posix())
    assert importers == {"cli.py"}


def test_one_stall_is_one_dropout_and_the_rest_plays_exactly(device, rng, monkeypatch):
    """A 0.3 s stall in the source: the device plays silence over many callbacks, reported as one
    dropout (time, length), and everything else reaches it sample for sample."""
    x = programme(rng, seconds=2.0)
    opened = pv._open_programme

    def stalling(*args, **kwargs):
        prog = opened(*args, **kwargs)
        inner = prog.blocks

        def blocks():
            for i, block in enumerate(inner):
                if i == 10:
                    time.sleep(0.3)
                yield block

        prog.blocks = blocks()
        return prog

    monkeypatch.setattr(pv, "_open_programme", stalling)
    result = pv.preview(x, RATE, meter=False, buffer_s=0.05)
    assert len(result.dropouts) == 1 and result.dropouts[0][1] > 0.1, result.dropouts
    np.testing.assert_array_equal(device_audio(result)[:, : x.shape[1]], x)


def test_the_clock_rounds_before_it_carries():
    assert [pv._clock(s) for s in (0.0, 9.94, 59.96, 119.97, 61.0)] == [
        "0:00.0", "0:09.9", "1:00.0", "2:00.0", "1:01.0",
    ]  # fmt: skip


def test_a_bad_source_is_named_before_the_device_is_looked_for(monkeypatch, tmp_path):
    def no_device():
        raise AssertionError("the device was looked for before the source was checked")

    monkeypatch.setattr(pv, "_sounddevice", no_device)
    with pytest.raises(SonicmixError, match="missing.wav"):
        pv.preview(str(tmp_path / "missing.wav"))
    with pytest.raises(ParameterError, match="sample_rate"):
        pv.preview(np.zeros((2, 100), np.float32))
