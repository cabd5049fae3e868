"""Preview: play a file, an array, a mix graph or a session on the sound card with a live loudness meter.

Playback goes through sounddevice (PortAudio), an optional extra:
``pip install "sonicmix[preview]"``; on Debian and Ubuntu PortAudio itself is
the package ``libportaudio2``.

How it plays. The calling thread reads the programme (a graph is rendered
block by block with :func:`sonicmix.renderer.render_blocks`, never whole),
folds it down when it has more channels than the device, resamples it when
the device does not take its rate, and fills a small ring of buffers
(``buffer_s`` ahead of what is heard). PortAudio's callback only copies the
next buffer out and hands it back, so the audio thread never waits for DSP.
If the programme cannot keep up, the callback plays silence: a *dropout*,
counted and reported. The meter measures the programme itself (its own
layout and rate, before any fold-down) as the callback plays it, so its
readings follow what is heard, give or take the device's output latency.

The live reading (:class:`MeterReading`: momentary, short-term and
integrated loudness, true peak, time) is drawn as one updating line on
stderr and passed to ``on_reading`` ten times a second (a notebook can show
it however it likes); the final :class:`PreviewResult` holds the loudness
report of what was played. Ctrl-C stops playback at once, closes the stream
and still returns the result (``interrupted=True``).
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix.errors import ParameterError, SonicmixError
from sonicmix.graph import Graph
from sonicmix.layouts import Layout, downmix, fold_down_chain, get_layout, resolve_layout
from sonicmix.loudness import LoudnessMeter, LoudnessReport
from sonicmix.loudness.truepeak import TruePeakTracker
from sonicmix.nodes.resample import Resample
from sonicmix.timeline import MAX_TIME_S, _frames

__all__ = ["preview", "list_devices", "MeterReading", "Playback", "PreviewResult", "PreviewError"]

INSTALL_HINT = 'pip install "sonicmix[preview]"'
#: Frames read or rendered at a time: large enough that a graph's per-block Python costs stay small
#: (renderer: a block is a round of calls through every strip), small against ``buffer_s``.
_READ_FRAMES = 4096
#: Seconds between meter readings (display and ``on_reading``).
_READING_INTERVAL_S = 0.1
#: Seconds the calling thread waits at most for a free buffer before it looks at the meter again.
_POLL_S = 0.02


class PreviewError(SonicmixError, RuntimeError):
    """Playback is impossible: no sounddevice or PortAudio, no output device, a format it refuses."""


class _StopRequested(Exception):
    """Playback.stop() was called: the player stops as it does on Ctrl-C."""


# ---------------------------------------------------------------------------------------- results


def _level_text(value: float, width: int = 6) -> str:
    return f"{'-inf' if value == -math.inf else 'n/a' if math.isnan(value) else f'{value:.1f}':>{width}}"


def _clock(seconds: float) -> str:
    """``m:ss.s``, rounded first (59.96 s is ``1:00.0``, not ``0:60.0``)."""
    minutes, tenths = divmod(round(max(seconds, 0.0) * 10), 600)
    return f"{minutes}:{tenths / 10:04.1f}"


@dataclass(frozen=True)
class MeterReading:
    """One live reading of the preview's meter.

    Attributes
    ----------
    time_s : float
        Programme time of the last sample metered (``start_s`` plus what was played).
    momentary_lufs, short_term_lufs : float
        Loudness of the 400 ms and 3 s ending there (``-inf`` for silence).
    integrated_lufs : float
        Gated loudness of everything played so far (``-inf`` while undefined).
    true_peak_dbtp : float
        Largest true peak so far, over all channels (the last few samples are
        measured once the next ones arrive: the interpolation looks ahead).

    Examples
    --------
    >>> print(MeterReading(time_s=75.25, momentary_lufs=-21.44, short_term_lufs=-22.0,
    ...                    integrated_lufs=-23.06, true_peak_dbtp=-1.52))
    1:15.2  M  -21.4  S  -22.0  I  -23.1 LUFS  TP   -1.5 dBTP
    """

    time_s: float
    momentary_lufs: float
    short_term_lufs: float
    integrated_lufs: float
    true_peak_dbtp: float

    def __str__(self) -> str:
        return (
            f"{_clock(self.time_s)}  M {_level_text(self.momentary_lufs)}"
            f"  S {_level_text(self.short_term_lufs)}  I {_level_text(self.integrated_lufs)} LUFS"
            f"  TP {_level_text(self.true_peak_dbtp)} dBTP"
        )


@dataclass(frozen=True)
class PreviewResult:
    """What a preview played, and the loudness of it.

    Attributes
    ----------
    source : str
        What was played (a file's path, ``"array"``, ``"graph"``, a session's path).
    device : str
        The output device's name.
    sample_rate, device_sample_rate : int
        The programme's rate and the rate the device played (they differ when it was resampled).
    channels, device_channels : int
        The programme's channel count and the count sent to the device (fewer when folded down).
    start_s, played_s : float
        Where playback started in the programme, and how much of it was played.
    interrupted : bool
        Stopped before the end: by Ctrl-C (KeyboardInterrupt) or :meth:`Playback.stop`.
    reading : MeterReading or None
        The last reading (``None`` if nothing was played).
    report : LoudnessReport or None
        Loudness report of the part played (``None`` if nothing was played).
    dropouts : tuple of (float, float)
        ``(time_s, duration_s)`` of each stretch of silence played because the
        programme was not ready in time (programme time, seconds).
    notes : tuple of str
        What the preview decided on its own (a fold-down, a resampling).
    """

    source: str
    device: str
    sample_rate: int
    device_sample_rate: int
    channels: int
    device_channels: int
    start_s: float
    played_s: float
    interrupted: bool
    reading: MeterReading | None
    report: LoudnessReport | None
    dropouts: tuple[tuple[float, float], ...] = ()
    notes: tuple[str, ...] = ()

    def headline(self) -> str:
        """One line: what was played, for how long, and its integrated loudness and true peak."""
        how = "stopped before the end" if self.interrupted else "to the end"
        text = f"{self.source}: played {_clock(self.played_s)} from {_clock(self.start_s)}, {how}"
        if self.report is not None:
            r = self.report
            text += f"; I {_level_text(r.integrated_lufs, 0)} LUFS"
            text += f", TP {_level_text(r.true_peak_dbtp, 0)} dBTP"
        return text

    def __str__(self) -> str:
        lines = [
            self.headline(),
            f"  device {self.device!r}: {self.device_channels} ch, {self.device_sample_rate} Hz",
        ]
        if self.report is not None:
            r = self.report
            lines.append(
                f"  integrated {_level_text(r.integrated_lufs, 0)} LUFS, LRA {_level_text(r.lra_lu, 0)} LU, "
                f"true peak {_level_text(r.true_peak_dbtp, 0)} dBTP, momentary max "
                f"{_level_text(r.momentary_max_lufs, 0)} LUFS, "
                f"short-term max {_level_text(r.short_term_max_lufs, 0)} LUFS"
            )
        if self.dropouts:
            silent = sum(d for _, d in self.dropouts)
            lines.append(
                f"  {len(self.dropouts)} dropout(s), {silent:.2f} s of silence: the programme was not ready "
                "in time (a heavy graph, or a busy machine); a larger buffer_s helps"
            )
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------- sounddevice


def _sounddevice() -> Any:
    """The sounddevice module, or a PreviewError saying what to install."""
    try:
        import sounddevice
    except ImportError:
        raise PreviewError(
            f"playback needs the sounddevice package, which is not installed; install it with: {INSTALL_HINT}"
        ) from None
    except OSError as err:  # sounddevice's Linux wheels load the system's PortAudio at import
        raise PreviewError(
            f"sounddevice cannot load the PortAudio library ({err}); on Debian or Ubuntu install the "
            "package libportaudio2 (apt-get install libportaudio2), elsewhere PortAudio from your system's "
            "packages"
        ) from None
    return sounddevice


def _no_device_text(count: int) -> str:
    found = f"none of the {count} audio devices PortAudio finds has outputs"
    if count == 0:
        found = "PortAudio finds no audio device"
    return (
        f"no audio output device: {found} (a server, a container or a CI runner without a sound card?); "
        "expected a sound card, or render to a file instead (sonicmix render)"
    )


def list_devices() -> str:
    """The audio output devices PortAudio finds, one per line; ``*`` marks the default.

    Returns
    -------
    str
        ``index: name (host API), N out, R Hz`` lines, or a sentence saying there are none.

    Raises
    ------
    PreviewError
        When sounddevice or PortAudio is not installed.
    """
    sd = _sounddevice()
    devices = list(sd.query_devices())
    outputs = [(i, d) for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    if not outputs:
        return _no_device_text(len(devices))
    try:
        default = sd.query_devices(kind="output")["index"]
    except (ValueError, sd.PortAudioError):
        default = None
    apis = sd.query_hostapis()
    return "\n".join(
        f"{'*' if i == default else ' '} {i}: {d['name']} ({apis[d['hostapi']]['name']}), "
        f"{d['max_output_channels']} out, {d['default_samplerate']:g} Hz"
        for i, d in outputs
    )


def _output_device(sd: Any, device: int | str | None) -> dict[str, Any]:
    """The device's description (sounddevice's dict), or a PreviewError naming what is wrong."""
    devices = list(sd.query_devices())
    if not any(d["max_output_channels"] > 0 for d in devices):
        raise PreviewError(_no_device_text(len(devices)))
    try:
        return dict(sd.query_devices(device, kind="output"))
    except (ValueError, sd.PortAudioError) as err:
        which = "the default output device" if device is None else f"device={device!r}"
        raise PreviewError(
            f"{which}: {err}; expected an output device's index or part of its name "
            "(list them with: sonicmix preview --list-devices)"
        ) from None


# ------------------------------------------------------------------------------------- programme


@dataclass
class _Programme:
    """The audio to play, from its start position, at its own rate and in its own layout."""

    name: str
    blocks: Iterator[np.ndarray]
    sample_rate: int
    layout: Layout
    dtype: np.dtype
    close: Callable[[], None]


def _start_frame(start_s: float, sample_rate: int, frames: int | None, name: str) -> int:
    start = _frames(start_s, sample_rate)
    if frames is not None and start >= frames:
        raise ParameterError(
            f"start_s={start_s:g} is at or past the end of {name} ({frames / sample_rate:.3f} s); "
            "expected a time inside the programme"
        )
    return start


def _file_programme(path: str, sample_rate: int | None, start_s: float, layout: Any) -> _Programme:
    import sonicmix.io as sio
    from sonicmix.timeline import OpenFile

    chosen = sio.file_layout(path, layout)  # AudioFileError naming the file if it cannot be read
    reader = OpenFile(path)
    if sample_rate is not None and check_sample_rate(sample_rate) != reader.sample_rate:
        reader.close()
        raise ParameterError(
            f"sample_rate={sample_rate} but {path!r} is at {reader.sample_rate} Hz; a file plays at its own "
            "rate (leave sample_rate unset; the preview resamples if the device needs it)"
        )
    try:
        start = _start_frame(start_s, reader.sample_rate, reader.frames, repr(path))
    except ParameterError:
        reader.close()
        raise

    def blocks() -> Iterator[np.ndarray]:
        for at in range(start, reader.frames, _READ_FRAMES):
            yield reader.read(at, min(_READ_FRAMES, reader.frames - at))

    return _Programme(path, blocks(), reader.sample_rate, chosen, np.dtype(np.float32), reader.close)


def _array_programme(audio: np.ndarray, sample_rate: int | None, start_s: float, layout: Any) -> _Programme:
    x = check_audio(audio, "source")
    if sample_rate is None:
        raise ParameterError("sample_rate=None with an array source; expected the array's rate in Hz")
    rate = check_sample_rate(sample_rate)
    chosen = resolve_layout(layout, x.shape[0], name="source")
    start = _start_frame(start_s, rate, x.shape[1], "the array")
    blocks = (x[:, at : at + _READ_FRAMES] for at in range(start, x.shape[1], _READ_FRAMES))
    return _Programme("array", blocks, rate, chosen, x.dtype, lambda: None)


def _graph_programme(
    graph: Graph, sample_rate: int, start_s: float, tail_s: float | str, name: str
) -> _Programme:
    from sonicmix.renderer import render_blocks

    rate = check_sample_rate(sample_rate)
    start = _start_frame(start_s, rate, None, name)
    stream = render_blocks(graph, sample_rate=rate, block_size=_READ_FRAMES, stems=[], tail_s=tail_s)

    def blocks() -> Iterator[np.ndarray]:
        # the render has state from its first sample: what comes before start_s is rendered and dropped
        for at, out in stream:
            block = out["master"]
            if at + block.shape[1] > start:
                yield block[:, max(start - at, 0) :]

    layout = get_layout(graph.output_layout(graph.master))
    return _Programme(name, blocks(), rate, layout, np.dtype(np.float32), stream.close)


def _open_programme(
    source: Any, sample_rate: int | None, start_s: float, layout: Any, device_rate: Callable[[], int]
) -> _Programme:
    """The programme behind ``source``; a graph without a rate renders at the device's default rate."""
    from sonicmix.session import Session, load_session

    if isinstance(source, (str, os.PathLike)) and os.fspath(source).lower().endswith(".toml"):
        source = load_session(source)
    if layout is not None and isinstance(source, (Graph, Session)):
        raise ParameterError(
            f"layout={layout!r} with a graph or a session; expected none (its master bus's layout is played)"
        )
    if isinstance(source, Session):
        name = source.path or "session"
        rate = source.sample_rate if sample_rate is None else sample_rate
        return _graph_programme(source.graph, rate, start_s, source.options.get("tail_s", "auto"), name)
    if isinstance(source, Graph):
        rate = device_rate() if sample_rate is None else sample_rate
        return _graph_programme(source, rate, start_s, "auto", "graph")
    if isinstance(source, (str, os.PathLike)):
        return _file_programme(os.fspath(source), sample_rate, start_s, layout)
    if isinstance(source, np.ndarray):
        return _array_programme(source, sample_rate, start_s, layout)
    raise ParameterError(
        f"source={type(source).__name__}; expected an audio file's path, a session file (.toml) or Session, "
        "a Graph, or a (channels, samples) array with its sample_rate"
    )


# ---------------------------------------------------------------------------------------- output


@dataclass(frozen=True)
class _Output:
    """How the programme reaches the device: its channels and rate, and the conversions on the way."""

    device: int
    name: str
    channels: int
    sample_rate: int
    fold_to: str | None
    notes: tuple[str, ...]


def _plan_output(sd: Any, info: dict[str, Any], programme: _Programme) -> _Output:
    layout, rate = programme.layout, programme.sample_rate
    channels, fold_to, notes = layout.n_channels, None, []
    available = int(info["max_output_channels"])
    if channels > available:
        fits = [name for name in _fold_chain(layout) if get_layout(name).n_channels <= available]
        if not fits:
            raise PreviewError(
                f"the programme's layout {layout.name!r} has {channels} channels and device {info['name']!r} "
                f"has {available}; expected a layout that folds down to {available} channels or fewer "
                f"({layout.name!r} folds down to {list(_fold_chain(layout)) or 'nothing'}), or another device"
            )
        fold_to, channels = fits[0], get_layout(fits[0]).n_channels
        notes.append(
            f"{layout.name} folded down to {fold_to} for the {available}-channel device (sonicmix.layouts "
            "fold-down, ITU-R BS.775 and the immersive steps); the meter reads the programme as it is"
        )
    device_rate = _playable_rate(sd, info, channels, rate)
    if device_rate != rate:
        notes.append(f"resampled from {rate} Hz to {device_rate} Hz, which the device plays (libsoxr, HQ)")
    return _Output(int(info["index"]), str(info["name"]), channels, device_rate, fold_to, tuple(notes))


def _fold_chain(layout: Layout) -> tuple[str, ...]:
    try:
        return fold_down_chain(layout)
    except ParameterError:  # a custom layout has no fold-down
        return ()


def _playable_rate(sd: Any, info: dict[str, Any], channels: int, rate: int) -> int:
    """``rate`` if the device takes it, else its default rate; PreviewError if it takes neither."""
    default = int(info["default_samplerate"])
    for candidate in dict.fromkeys((rate, default)):
        try:
            sd.check_output_settings(
                device=info["index"], channels=channels, dtype="float32", samplerate=candidate
            )
        except (ValueError, sd.PortAudioError) as err:
            refused = err
            continue
        return candidate
    raise PreviewError(
        f"device {info['name']!r} refuses {channels} channels of float32 at {rate} Hz and at its default "
        f"{default} Hz ({refused}); expected another device (sonicmix preview --list-devices)"
    )


class _ToDevice:
    """Programme blocks to device blocks: fold-down, float32, resampling (streaming, exact at joins)."""

    def __init__(self, programme: _Programme, output: _Output) -> None:
        self.layout, self.fold_to = programme.layout, output.fold_to
        self.rate = programme.sample_rate
        self.resampler: Resample | None = None
        if output.sample_rate != self.rate:
            self.resampler = Resample(target_rate_hz=output.sample_rate)
            self.state = self.resampler.init_state(output.channels, self.rate, np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.fold_to is not None:
            x = downmix(x, self.layout, self.fold_to)
        x = x.astype(np.float32, copy=False)
        if self.resampler is not None:
            x, self.state = self.resampler.process(x, self.rate, self.state)
        return x

    def flush(self) -> np.ndarray | None:
        if self.resampler is None:
            return None
        tail, self.state = self.resampler.flush(self.state)
        return tail


# ------------------------------------------------------------------------------------------ ring


class _Ring:
    """Buffers between the calling thread, which fills them, and PortAudio's callback, which plays them.

    Every buffer holds ``frames`` frames, the stream's block size, as PortAudio wants them
    (frames, channels); the last one is zero-padded and marked, so the callback that plays it
    also stops the stream (no block of silence after the programme). The callback never
    blocks: a buffer not ready in time is a dropout (silence, recorded).
    """

    def __init__(self, count: int, frames: int, channels: int, stop: type[BaseException]) -> None:
        self.frames = frames
        self._free: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        for _ in range(count):
            self._free.put(np.zeros((frames, channels), np.float32))
        # (buffer, frames of programme in it, last); a full buffer is held back until the next one
        # starts, so that the last one can be marked as such
        self._ready: queue.SimpleQueue[tuple[np.ndarray, int, bool]] = queue.SimpleQueue()
        self._stop = stop
        self._held: np.ndarray | None = None
        self._filling: np.ndarray | None = None
        self._filled = 0
        self._current: tuple[np.ndarray, int, bool] | None = None
        self._offset = 0
        self.played = 0  # programme frames (at the device's rate) handed to the device
        self.dropouts: list[tuple[int, int]] = []  # (played before it, frames of silence)
        self.underflows = 0  # callbacks for which PortAudio reports that the device ran short
        self.drained = threading.Event()  # the callback has played the last buffer
        self.ended = threading.Event()  # the stream stopped (PortAudio's finished callback)

    # -- the calling thread
    def write(self, chunk: np.ndarray, wait: Callable[[], None]) -> None:
        """Copy ``chunk`` (channels, n) into buffers, calling ``wait`` while none is free."""
        done, n = 0, chunk.shape[1]
        while done < n:
            if self._filling is None:
                if self._held is not None:
                    self._ready.put((self._held, self.frames, False))
                    self._held = None
                self._filling = self._take(wait)
                self._filled = 0
            take = min(self.frames - self._filled, n - done)
            self._filling[self._filled : self._filled + take] = chunk[:, done : done + take].T
            self._filled += take
            done += take
            if self._filled == self.frames:
                self._held, self._filling = self._filling, None

    def finish(self) -> None:
        """Queue the held and the last (zero-padded) buffers, the last one marked."""
        if self._filling is not None:
            self._filling[self._filled :] = 0.0
            if self._held is not None:
                self._ready.put((self._held, self.frames, False))
            self._held, self._filling = self._filling, None
        else:
            self._filled = self.frames
        if self._held is not None:
            self._ready.put((self._held, self._filled, True))
            self._held = None

    def _take(self, wait: Callable[[], None]) -> np.ndarray:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        while True:
            wait()
            try:  # returns as soon as the callback frees a buffer; the timeout keeps Ctrl-C prompt
                return self._free.get(timeout=_POLL_S)
            except queue.Empty:
                pass

    # -- PortAudio's thread
    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if getattr(status, "output_underflow", False):
            self.underflows += 1
        done = 0
        while done < frames and not self.drained.is_set():
            if self._current is None:
                try:
                    self._current, self._offset = self._ready.get_nowait(), 0
                except queue.Empty:
                    break
            buffer, valid, last = self._current
            take = min(frames - done, self.frames - self._offset)
            outdata[done : done + take] = buffer[self._offset : self._offset + take]
            self.played += max(min(take, valid - self._offset), 0)
            self._offset += take
            done += take
            if self._offset == self.frames:
                self._free.put(buffer)
                self._current = None
                if last:
                    self.drained.set()
        if done < frames:
            outdata[done:] = 0.0
            if not self.drained.is_set():  # one entry per stretch of silence, however many callbacks
                if self.dropouts and self.dropouts[-1][0] == self.played:
                    self.dropouts[-1] = (self.played, self.dropouts[-1][1] + frames - done)
                else:
                    self.dropouts.append((self.played, frames - done))
        if self.drained.is_set():
            raise self._stop  # PortAudio plays this buffer, then stops the stream


# ----------------------------------------------------------------------------------------- meter


class _PlayedMeter:
    """Meters the programme up to the frame the device has played (blocks wait in a queue until then)."""

    def __init__(self, programme: _Programme, start_s: float) -> None:
        rate, layout = programme.sample_rate, programme.layout
        self.meter = LoudnessMeter(rate, layout=layout, dtype=programme.dtype)
        # the meter keeps its true peak for its report; a tracker of our own gives the live reading
        self.peaks = TruePeakTracker(layout.n_channels, rate, programme.dtype)
        self.start_s, self.rate = start_s, rate
        self._pending: deque[np.ndarray] = deque()
        self._offset = 0  # frames of _pending[0] already metered
        self.queued = 0
        self.metered = 0
        _warm_up(rate, layout, programme.dtype)

    def push(self, block: np.ndarray) -> None:
        self._pending.append(block.copy())  # the renderer reuses its buffers
        self.queued += block.shape[1]

    def catch_up(self, frames: int) -> None:
        """Meter the programme up to ``frames`` frames after the start (at most what was queued)."""
        while self._pending and self.metered < frames:
            block = self._pending[0]
            take = min(block.shape[1] - self._offset, frames - self.metered)
            part = block[:, self._offset : self._offset + take]
            self.meter.update(part)
            self.peaks.update(part)
            self._offset += take
            self.metered += take
            if self._offset == block.shape[1]:
                self._pending.popleft()
                self._offset = 0

    def reading(self) -> MeterReading | None:
        if self.metered == 0:
            return None
        peak = float(np.max(np.maximum(self.peaks.true_peak, self.peaks.sample_peak)))
        with np.errstate(divide="ignore"):
            peak_db = float(20.0 * np.log10(peak))
        return MeterReading(
            time_s=self.start_s + self.metered / self.rate,
            momentary_lufs=self.meter.momentary_lufs,
            short_term_lufs=self.meter.short_term_lufs,
            integrated_lufs=self.meter.integrated_lufs,
            true_peak_dbtp=peak_db,
        )


def _warm_up(sample_rate: int, layout: Layout, dtype: np.dtype) -> None:
    """Load the meter's compiled kernels now: on first use in a process that takes a second or more,
    which would be a dropout if it happened while the device waits. An impulse reaches every kernel
    (its true-peak bound exceeds its sample peak, so the oversampling kernel runs too)."""
    impulse = np.zeros((layout.n_channels, 256), dtype)
    impulse[:, 128] = 0.5
    LoudnessMeter(sample_rate, layout=layout, dtype=dtype).update(impulse)


class _MeterLine:
    """One line on a terminal, rewritten in place (carriage return)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.width = 0

    def show(self, reading: MeterReading) -> None:
        if self.stream is None:
            return
        text = str(reading)
        self.stream.write("\r" + text + " " * max(self.width - len(text), 0))
        self.stream.flush()
        self.width = len(text)

    def end(self) -> None:
        if self.stream is not None and self.width:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------- player


class _Player:
    """Fills the ring from the programme while the stream plays it; meters and shows what is played."""

    def __init__(
        self,
        sd: Any,
        programme: _Programme,
        output: _Output,
        *,
        start_s: float,
        block_size: int,
        buffer_s: float,
        line: _MeterLine,
        on_reading: Callable[[MeterReading], None] | None,
    ) -> None:
        self.programme, self.output = programme, output
        count = max(3, math.ceil(buffer_s * output.sample_rate / block_size))
        self.ring = _Ring(count, block_size, output.channels, sd.CallbackStop)
        self.meter = _PlayedMeter(programme, start_s)
        self.convert = _ToDevice(programme, output)
        self.line, self.on_reading = line, on_reading
        self.next_reading = 0.0
        self.started = False
        self.latest: MeterReading | None = None
        self.stop_requested = threading.Event()  # Playback.stop(): stop as Ctrl-C does
        try:
            self.stream = sd.OutputStream(
                samplerate=output.sample_rate,
                blocksize=block_size,
                device=output.device,
                channels=output.channels,
                dtype="float32",
                callback=self.ring.callback,
                finished_callback=self.ring.ended.set,
            )
        except (ValueError, sd.PortAudioError) as err:
            raise PreviewError(f"cannot open device {output.name!r} for playback: {err}") from None

    def _played_frames(self) -> int:
        """Programme frames the device has been given (mapped through the resampling ratio)."""
        played = self.ring.played
        if self.output.sample_rate != self.programme.sample_rate:
            played = played * self.programme.sample_rate // self.output.sample_rate
        return min(played, self.meter.queued)

    def _service(self) -> None:
        if self.stop_requested.is_set():
            raise _StopRequested
        self.meter.catch_up(self._played_frames())
        now = time.monotonic()
        if now >= self.next_reading:
            self.next_reading = now + _READING_INTERVAL_S
            reading = self.meter.reading()
            if reading is not None:
                self.latest = reading
                self.line.show(reading)
                if self.on_reading is not None:
                    self.on_reading(reading)

    def _wait(self) -> None:
        """The ring is full (or the programme is over): start playing, or let the device catch up."""
        if not self.started:
            self.stream.start()
            self.started = True
        elif self.ring.ended.is_set() and not self.ring.drained.is_set():
            raise PreviewError(
                f"device {self.output.name!r} stopped playing before the end of the programme "
                "(disconnected, or taken by another program?)"
            )
        self._service()

    def _play(self) -> None:
        for block in self.programme.blocks:
            self.meter.push(block)
            self.ring.write(self.convert(block), self._wait)
            self._service()
        if self.meter.queued == 0:
            raise ParameterError(
                f"start_s={self.meter.start_s:g} is at or past the end of {self.programme.name}; "
                "expected a time inside the programme"
            )
        tail = self.convert.flush()  # the resampler's last samples
        if tail is not None:
            self.ring.write(tail, self._wait)
        self.ring.finish()
        while not self.ring.drained.is_set():
            self._wait()
            self.ring.drained.wait(_POLL_S)
        self.stream.stop()  # returns once PortAudio has played its buffers
        self.meter.catch_up(self.meter.queued)

    def run(self) -> PreviewResult:
        interrupted = False
        try:
            self._play()
        except (KeyboardInterrupt, _StopRequested):  # Ctrl-C or Playback.stop(): stop now, keep the meter
            interrupted = True
            self.stream.abort()
            self.meter.catch_up(self._played_frames())
        except BaseException:
            self.stream.abort()
            raise
        finally:
            self.stream.close()
        return self._result(interrupted)

    def _result(self, interrupted: bool) -> PreviewResult:
        import dataclasses

        meter, output, rate = self.meter, self.output, self.output.sample_rate
        report = meter.meter.report() if meter.metered else None
        reading = meter.reading()
        if reading is not None and report is not None:  # the report's true peak includes the last samples
            reading = dataclasses.replace(reading, true_peak_dbtp=report.true_peak_dbtp)
            self.latest = reading
            self.line.show(reading)
            if self.on_reading is not None and not interrupted:
                self.on_reading(reading)
        self.line.end()
        return PreviewResult(
            source=self.programme.name,
            device=output.name,
            sample_rate=self.programme.sample_rate,
            device_sample_rate=rate,
            channels=self.programme.layout.n_channels,
            device_channels=output.channels,
            start_s=meter.start_s,
            played_s=meter.metered / meter.rate,
            interrupted=interrupted,
            reading=reading,
            report=report,
            dropouts=tuple((meter.start_s + at / rate, n / rate) for at, n in self.ring.dropouts),
            notes=output.notes + self._underflow_note(),
        )

    def _underflow_note(self) -> tuple[str, ...]:
        n = self.ring.underflows
        if not n:
            return ()
        return (
            f"PortAudio reported {n} output underflow(s): the device ran short of samples between "
            "callbacks (a busy machine?); a larger block_size helps",
        )


def preview(
    source: Any,
    sample_rate: int | None = None,
    *,
    start_s: float = 0.0,
    device: int | str | None = None,
    layout: str | Layout | None = None,
    block_size: int = 1024,
    buffer_s: float = 0.5,
    meter: bool = True,
    on_reading: Callable[[MeterReading], None] | None = None,
    wait: bool = True,
) -> PreviewResult | Playback:
    """Play a file, an array, a mix graph or a session on the sound card, with a live loudness meter.

    Returns when the programme has played to its end, or at once on Ctrl-C
    (KeyboardInterrupt; the stream is closed and ``interrupted`` is set).

    Parameters
    ----------
    source : path, np.ndarray, Graph or Session
        An audio file; a session file (``.toml``) or :class:`~sonicmix.session.Session`;
        a :class:`~sonicmix.graph.Graph` (rendered block by block while it plays);
        or an array shaped ``(channels, samples)`` with its ``sample_rate``.
    sample_rate : int, optional
        The array's rate; a graph's render rate (default: the device's default
        rate; a session's own rate). A file plays at its own rate.
    start_s : float, default 0.0
        Where to start in the programme, in seconds. A graph is rendered from
        its beginning (its effects have state) and the audio before this dropped.
    device : int or str, optional
        Output device: an index or part of its name (``list_devices()``); the
        system's default output by default.
    layout : str or Layout, optional
        Channel layout of a file or an array (default: a file's channel mask,
        else assumed from the channel count). A programme with more channels
        than the device is folded down to the widest layout of its fold-down
        chain that fits (5.1 to stereo on a stereo device), and a note says so.
    meter : bool, default True
        Draw the live meter as one updating line on stderr.
    on_reading : callable, optional
        Called with each :class:`MeterReading`, ten times a second and once at the end.
    wait : bool, default True
        Return when playback ends. ``False`` plays in a background thread and returns
        a :class:`Playback` at once (a notebook stays usable: read ``playback.reading``,
        call ``playback.stop()``).

    Other Parameters
    ----------------
    block_size : int, default 1024
        Frames per PortAudio callback (21 ms at 48 kHz).
    buffer_s : float, default 0.5
        How far ahead of the device the programme is prepared, in seconds;
        more avoids dropouts with heavy graphs, at the cost of a later stop.

    Returns
    -------
    PreviewResult or Playback
        What was played, the last reading and the loudness report of the part
        played; with ``wait=False``, the :class:`Playback` that will give it.

    Raises
    ------
    PreviewError
        Without sounddevice (``pip install "sonicmix[preview]"``) or PortAudio
        (Debian package ``libportaudio2``), without an output device, or when
        the device refuses the programme's channels and rates.
    ParameterError
        For a bad parameter, or ``start_s`` past the programme's end.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5 * 48000) / 48000
    >>> tone = (0.1 * np.sin(2 * np.pi * 440.0 * t))[None, :].astype(np.float32)
    >>> result = preview(tone, 48000, meter=False)  # doctest: +SKIP
    >>> round(result.report.integrated_lufs, 1)  # doctest: +SKIP
    -23.7
    """
    start_s = check_range("start_s", start_s, low=0.0, high=MAX_TIME_S, hint="seconds into the programme")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not 16 <= block_size <= 65536:
        raise ParameterError(f"block_size={block_size!r}; expected a whole number of frames from 16 to 65536")
    buffer_s = check_range("buffer_s", buffer_s, low=0.0, low_inclusive=False, high=60.0)
    if on_reading is not None and not callable(on_reading):
        raise ParameterError(f"on_reading={on_reading!r}; expected a function taking a MeterReading")
    found: dict[str, Any] = {}

    def device_info() -> dict[str, Any]:  # the source is checked first: a bad file says so, device or not
        if not found:
            found["sd"] = _sounddevice()
            found["info"] = _output_device(found["sd"], device)
        return found["info"]

    programme = _open_programme(
        source, sample_rate, start_s, layout, lambda: int(device_info()["default_samplerate"])
    )
    try:
        info = device_info()
        output = _plan_output(found["sd"], info, programme)
        player = _Player(
            found["sd"],
            programme,
            output,
            start_s=start_s,
            block_size=block_size,
            buffer_s=buffer_s,
            line=_MeterLine(sys.stderr if meter else None),
            on_reading=on_reading,
        )
    except BaseException:
        programme.close()
        raise
    if not wait:
        return Playback(player, programme.close)
    try:
        return player.run()
    finally:
        programme.close()


class Playback:
    """A preview playing in a background thread: ``preview(..., wait=False)``.

    The programme is read or rendered, and metered, in that thread; the
    calling thread (a notebook's) stays free.

    Attributes
    ----------
    reading : MeterReading or None
        The latest reading (updated ten times a second), ``None`` before the first.
    """

    def __init__(self, player: _Player, close: Callable[[], None]) -> None:
        self._player, self._close = player, close
        self._result: PreviewResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sonicmix-preview", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._player.run()
        except BaseException as err:  # handed to wait(), in the caller's thread
            self._error = err
        finally:
            self._close()

    @property
    def reading(self) -> MeterReading | None:
        return self._player.latest

    @property
    def playing(self) -> bool:
        """Whether the programme is still playing."""
        return self._thread.is_alive()

    def stop(self) -> PreviewResult:
        """Stop now (as Ctrl-C does) and return the result."""
        self._player.stop_requested.set()
        return self.wait()

    def wait(self) -> PreviewResult:
        """Wait for the end of the programme and return the result (Ctrl-C while waiting stops it).

        Raises what the playback raised, e.g. :class:`PreviewError` if the device stopped.
        """
        try:
            while self._thread.is_alive():
                self._thread.join(_POLL_S * 5)
        except KeyboardInterrupt:
            return self.stop()
        if self._error is not None:
            raise self._error
        assert self._result is not None  # the thread ended without an error
        return self._result
