"""Rendering a mix graph: block by block, whole or streamed, with latency compensation.

The engine always works block by block in buffers it allocates once and
reuses (fresh full-length arrays cost more in page faults than most DSP), so
a whole-buffer render and a streamed one run the same code. Every node is
streaming-exact and automation is evaluated per sample, so the samples do not
depend on the block size.

Latency compensation: every track and bus knows the latency of its input
(the largest latency among what feeds it, its side-chain key included) and
adds its chain's latency. Each connection delays its signal by the
difference, so everything meeting at a bus is aligned; a dry path and a
processed path null when the processing is unity. The master's total latency
is removed from the output (the render runs that much longer and drops the
start), and stems are aligned with the master.

The render owns all state (``{name: chain state}``); the graph holds none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from sonicmix._checks import check_range, check_sample_rate
from sonicmix._threads import Job, drop, pool_for, run_all, submit
from sonicmix.automation import Automation, Value, values_for_block
from sonicmix.dsp.delayline import DelayLine
from sonicmix.errors import GraphError, ParameterError, SonicmixError
from sonicmix.graph import Graph, Track, _did_you_mean, parse_automation_target, set_parameter
from sonicmix.layouts import LAYOUTS, conversion_matrix, get_layout
from sonicmix.nodes.base import Chain
from sonicmix.nodes.pan import placement_gains
from sonicmix.timeline import MAX_TIME_S, ArraySource, ClipReader, OpenArray, OpenFile, _frames
from sonicmix.units import db_to_gain

__all__ = ["render", "render_blocks", "RenderResult", "RenderStream", "automix_gains", "default_block_size"]

#: Unless told, a block holds this many samples of the graph's widest strip, all channels
#: together: 1 MiB of float32, one core's L2 cache here. Fewer, longer blocks cost fewer rounds of
#: Python calls through every strip, meter and writer (at 16384 samples those took 10-25 % of the
#: reference mix's delivery), and a second thread less hand-over per second of audio; a block
#: wider than the cache costs more than that saves (a 5.1 programme from files rendered 17-20 %
#: faster at 2**15 samples than at 2**16, and 25-40 % slower at 2**17).
_BLOCK_CHANNEL_SAMPLES = 1 << 18
_MIN_BLOCK, _MAX_BLOCK = 1 << 12, 1 << 17
#: An automatic tail ends where every output has stayed below this level (-120 dBFS) ...
TAIL_FLOOR = 1e-6
#: ... for this long after the programme, plus the longest delay in the graph (an echo may follow silence);
TAIL_HOLD_S = 0.5
#: and never runs longer than this after the last clip (a self-oscillating feedback loop).
MAX_AUTO_TAIL_S = 30.0
#: Node-parameter automation is evaluated at the start of every block of this many samples
#: (5.3 ms at 48 kHz), on a grid fixed to the timeline so renders do not depend on block sizes.
CONTROL_SAMPLES = 256
#: Parameters a node lists in ``interpolated`` move along the straight line between two control
#: points in steps down to this many samples (see :func:`ramp_steps`).
RAMP_SAMPLES = 32
#: ... so that one step moves such a parameter by at most this much: dB for a parameter in ``_db``,
#: octaves (a semitone) for a frequency, a ``q`` or any other positive value.
RAMP_STEP_DB = 0.5
RAMP_STEP_OCTAVES = 1 / 12

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class RenderResult:
    """The rendered mix and stems.

    Attributes
    ----------
    master : np.ndarray, shape=(channels, samples)
        The mix (the master bus's output).
    stems : dict of str to np.ndarray
        Output of each rendered bus, aligned with the master.
    sample_rate : int
    latency_samples : int
        Latency of the master path, already compensated in the output.
    resampled : tuple of str
        Sources that were resampled to the render's rate.
    elapsed_s : float
        Wall-clock time of the render.
    notes : tuple of str
        What the render decided on its own (e.g. a clip measured without speech).
    clip_gains_db : dict of str to tuple of float
        For tracks with ``clip_loudness_lufs``: the gain chosen for each clip, in clip order
        (the clip's own ``gain_db`` comes on top).
    """

    master: np.ndarray
    stems: dict[str, np.ndarray]
    sample_rate: int
    latency_samples: int
    resampled: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    notes: tuple[str, ...] = field(default=())
    clip_gains_db: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.master.shape[1] / self.sample_rate

    def _repr_html_(self) -> str | None:
        from sonicmix import _hooks

        return _hooks.html(self)


class _Engine:
    """Render state for one graph at one sample rate (internal)."""

    def __init__(
        self,
        graph: Graph,
        sample_rate: int,
        dtype: np.dtype,
        temp_dir: str | None,
        threads: int = 1,
        pool: Any = None,
    ) -> None:
        self.graph = graph
        self.order = graph.order()
        self.block_size = 0  # samples per block: _prepare sets it
        self.independent = [n for n in self.order if n in graph.tracks and graph.tracks[n].key is None]
        self.own_pool = pool is None  # a pool of its own, shut down at the end; else the caller's
        if self.independent and pool is None:
            pool = pool_for(threads, "sonicmix-render")
        self.pool = pool if self.independent else None
        # the next block's (start, n) and its independent tracks' jobs, handed out a block ahead
        self.ahead: tuple[tuple[int, int], list[Job]] | None = None
        self.fs = sample_rate
        self.dtype = dtype
        self.resampled: list[str] = []
        self.notes: list[str] = []
        self._opened: list[Any] = []
        any_solo = any(t.solo for t in graph.tracks.values())
        self.silent = {n for n, t in graph.tracks.items() if t.mute or (any_solo and not t.solo)}
        self.silent |= {n for n, b in graph.buses.items() if b.mute}
        self.channels = {n: get_layout(graph.strip(n).layout).n_channels for n in self.order}
        self.out_channels = {n: get_layout(graph.output_layout(n)).n_channels for n in self.order}

        # latency of each strip's input and output
        self.in_latency: dict[str, int] = {}
        self.out_latency: dict[str, int] = {}
        feeders: dict[str, list[str]] = {n: [] for n in self.order}
        for s, d, _ in graph.edges():
            feeders[d].append(s)
        for name in self.order:
            lat = max((self.out_latency[s] for s in feeders[name]), default=0)
            self.in_latency[name] = lat
            self.out_latency[name] = lat + graph.strip(name).processor.latency_samples(sample_rate)
        self.latency = self.out_latency[graph.master]

        # connections: (source, destination, kind, send) with their compensating delays
        self.connections: dict[str, list[tuple[str, Any, np.ndarray | None, DelayLine]]] = {
            n: [] for n in self.order
        }
        for name in self.order:
            strip = graph.strip(name)
            targets = []
            if strip.output is not None:
                targets.append((strip.output, None))
            targets += [(send.to, send) for send in strip.sends]
            for dest, send in targets:
                matrix = conversion_matrix(graph.output_layout(name), graph.buses[dest].layout)
                if send is not None and send.pre_fader:
                    matrix = conversion_matrix(graph.chain_layout(name), graph.buses[dest].layout)
                    # pre-fader taps the chain output, which is ready at the same latency as post-fader
                line = DelayLine(matrix.shape[0], self.in_latency[dest] - self.out_latency[name], dtype)
                routing = None if _is_eye(matrix) else matrix.astype(dtype)  # None: no conversion needed
                self.connections[name].append((dest, send, routing, line))
        self.key_lines = {}
        self.key_sources = {graph.strip(n).key for n in self.order} - {None}
        for name in self.order:
            strip = graph.strip(name)
            if strip.key is not None:
                self.key_lines[name] = DelayLine(
                    self.out_channels[strip.key], self.in_latency[name] - self.out_latency[strip.key], dtype
                )

        # sources and clips
        self.readers: dict[str, list[ClipReader]] = {}
        self.clip_loudness: dict[str, tuple[Any, ...]] = {}  # track: ClipLoudness per clip
        opened: dict[int, Any] = {}
        for name, track in graph.tracks.items():
            readers = []
            for clip in track.clips:
                src = clip.source
                handle = opened.get(id(src))
                if handle is None:
                    handle = self._open(src, temp_dir)
                    opened[id(src)] = handle
                readers.append((clip, handle))
            self.readers[name] = self._place(track, readers)
            if track.clip_loudness_lufs is not None:
                self.clip_loudness[name] = self._level_clips(name, track)

        # a track whose key arrives late waits for it: its clips are delayed by its input latency
        self.track_lines = {
            n: DelayLine(self.channels[n], self.in_latency[n], dtype)
            for n in graph.tracks
            if self.in_latency[n]
        }
        # node-parameter automation: the chain is retuned on a fixed control grid (node index,
        # field, envelope, latency of the nodes before it in the chain, whether it is interpolated)
        self.automated: dict[str, list[tuple[int, str, Automation, int, bool]]] = {}
        self.control: dict[str, tuple[int, int] | None] = {}
        self.lines: dict[str, tuple[int, list[tuple[float, float]], int]] = {}  # block: lines, steps
        for name in self.order:
            entries = []
            for target, envelope in graph.strip(name).automation.items():
                index, field_name = parse_automation_target(target)
                chain = graph.strip(name).chain
                before = sum(node.latency_samples(sample_rate) for node in chain[:index])
                smooth = field_name in getattr(chain[index], "interpolated", ())
                entries.append((index, field_name, envelope, before, smooth))
            if entries:
                self.automated[name] = entries
                self.control[name] = None  # no control block applied yet
        # each strip's chain as one node, built once (a Chain checks its nodes when made)
        self.processors = {n: graph.strip(n).processor for n in self.order}
        self.states = {
            n: self.processors[n].init_state(self.channels[n], sample_rate, dtype) for n in self.order
        }
        self.inputs = {n: None for n in self.order}
        # automix buses: their mics (each strip routed to the bus, once), the kernel's arguments
        # and its state; the mics' signals meet at the bus apart and are gain-shared there
        self.automixers: dict[str, tuple[list[str], dict[str, Any], Any]] = {}
        for name, bus in graph.buses.items():
            if bus.automix is not None:
                from sonicmix.dsp.automix import init_automix_state  # numba: only when used

                mics = list(dict.fromkeys(graph.inputs(name)))
                self.automixers[name] = (
                    mics, bus.automix.kernel_arguments(mics, sample_rate), init_automix_state(len(mics))
                )
        self.automix_record: dict[str, list[np.ndarray]] | None = None  # {} records the gains

    def _open(self, source: Any, temp_dir: str | None) -> Any:
        if isinstance(source, ArraySource):
            handle = OpenArray(source, self.fs)
            if handle.resampled:
                self.resampled.append(f"{source.name} ({source.sample_rate} Hz -> {self.fs} Hz, in memory)")
        else:
            handle = OpenFile(source.path)
            if handle.sample_rate != self.fs:
                handle.close()
                from sonicmix.io import resample_file

                path = resample_file(source.path, self.fs, temp_dir=temp_dir)
                self.resampled.append(f"{source.path} ({handle.sample_rate} Hz -> {self.fs} Hz, via {path})")
                handle = OpenFile(path)
                handle.temporary = path
        self._opened.append(handle)
        return handle

    def _place(self, track: Track, clips: list[tuple[Any, Any]]) -> list[ClipReader]:
        fs = self.fs
        spans = []
        layouts_in = [_source_layout(clip, handle, track.layout) for clip, handle in clips]
        for clip, _ in clips:
            start = _frames(clip.start_s, fs)
            spans.append((start, start + _frames(clip.length_s(), fs)))
        readers = []
        for i, (clip, handle) in enumerate(clips):
            start, stop = spans[i]
            fade_in, fade_out = _frames(clip.fade_in_s, fs), _frames(clip.fade_out_s, fs)
            curve_in = curve_out = clip.fade_curve
            for j, (other_start, other_stop) in enumerate(spans):
                if j == i:
                    continue
                if (
                    other_start < start < other_stop and other_start <= start
                ):  # this clip starts inside another
                    overlap = min(other_stop, stop) - start
                    if overlap > fade_in:
                        fade_in, curve_in = overlap, track.crossfade_curve
                if start < other_start < stop and other_stop >= stop:  # another starts inside this one
                    overlap = stop - other_start
                    if overlap > fade_out:
                        fade_out, curve_out = overlap, track.crossfade_curve
            layout_in = layouts_in[i]
            matrix = None if layout_in == track.layout else conversion_matrix(layout_in, track.layout)
            readers.append(ClipReader(clip, fs, fade_in, fade_out, curve_in, curve_out, handle, matrix))
        return readers

    def clip_gains_db(self) -> dict[str, tuple[float, ...]]:
        """The gains chosen by clip loudness, per track, in clip order."""
        return {name: tuple(c.gain_db for c in found) for name, found in self.clip_loudness.items()}

    def _level_clips(self, name: str, track: Track) -> tuple[Any, ...]:
        """Measure each clip of a track with ``clip_loudness_lufs`` and set its gain (see clip_loudness)."""
        from sonicmix.clip_loudness import measure_clip

        chosen = []
        for reader in self.readers[name]:
            found = measure_clip(
                reader.source, reader.offset, reader.source_length, self.fs, track.clip_loudness_lufs,
                reader.matrix, track.layout,
            )
            reader.gain = reader.clip.gain * 10.0 ** (found.gain_db / 20.0)
            chosen.append(found)
            if found.basis != "speech":
                what = "silent: its gain is kept" if found.basis == "silent" else (
                    f"has {found.speech_s:.1f} s of speech: measured over all it holds")
                self.notes.append(f"clip loudness: track {name!r} clip {len(chosen) - 1} is {what}")
        return tuple(chosen)

    def close(self) -> None:
        import os

        if self.ahead is not None:  # handed out ahead of a block that never came: dropped
            drop(self.ahead[1])
            self.ahead = None
        if self.pool is not None and self.own_pool:
            self.pool.shutdown(wait=True)

        for handle in self._opened:
            handle.close()
            path = getattr(handle, "temporary", None)
            if path:
                try:
                    os.remove(path)
                except OSError:
                    pass

    def block(
        self, start: int, n: int, want: Sequence[str], following: tuple[int, int] | None = None
    ) -> dict[str, np.ndarray]:
        """Render timeline samples ``[start, start + n)`` (in engine time, before latency removal).

        ``following``: ``(start, n)`` of the next block, when it is certain to come; with threads,
        its independent tracks then run while this block goes through the buses.
        """
        graph, fs, dtype = self.graph, self.fs, self.dtype
        inputs = {name: np.zeros((self.channels[name], n), dtype) for name in graph.buses}
        outputs: dict[str, np.ndarray] = {}
        ready: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        mic_inputs: dict[str, dict[str, np.ndarray]] = {}  # automix bus: {mic: signal}
        if self.pool is not None:
            # Tracks without a key depend on nothing: their chains run in the pool's threads (the
            # compiled kernels release the GIL, numpy's loops on whole blocks too), a block ahead:
            # while this thread takes block k through the buses (and the caller meters and keeps
            # it), the workers run block k + 1's tracks. A track's block starts only after its
            # previous one has ended, so its state is never shared. Clips are read on this thread,
            # in order, since tracks may share a source file; routing below stays in order, so the
            # sums are the same as a single-thread render's, bit for bit.
            at, jobs = self.ahead if self.ahead is not None else ((start, n), self._track_jobs(start, n))
            if at != (start, n):  # the tracks ran ahead into a block that is not this one
                raise RuntimeError(f"render block ({start}, {n}) asked for after {at} was started")
            self.ahead = None
            ready = dict(zip(self.independent, run_all(jobs), strict=True))
            if following is not None:
                self.ahead = (following, self._track_jobs(*following))
        for name in self.order:
            strip = graph.strip(name)
            if name in ready:
                pre, post = ready.pop(name)
            else:
                if name in self.automixers:
                    inputs[name] = self._automix(name, mic_inputs.pop(name, {}), n)
                x = self._track_input(name, start, n) if isinstance(strip, Track) else inputs[name]
                key = None if strip.key is None else self.key_lines[name](outputs[strip.key])
                pre, post = self._strip(name, x, start, n, key)
            if name in want or name in self.key_sources:  # others are dropped once routed: memory
                outputs[name] = post                         # follows what plays, not the track count
            for dest, send, matrix, line in self.connections[name]:
                signal = pre if (send is not None and send.pre_fader) else post
                routed = signal if matrix is None else matrix @ signal
                if send is not None and (_varies(send.level_db) or send.level_db != 0.0):
                    # the strip's output at engine time `start` is timeline time start - out_latency
                    level = values_for_block(send.level_db, start - self.out_latency[name], n, fs)
                    routed = routed * np.asarray(db_to_gain(level), dtype=dtype)
                if dest in self.automixers:  # kept apart until the bus gain-shares its mics
                    arrived = mic_inputs.setdefault(dest, {})
                    arrived[name] = line(routed) + arrived[name] if name in arrived else line(routed)
                else:
                    inputs[dest] += line(routed)
        return {name: outputs[name] for name in want}

    def _track_jobs(self, start: int, n: int) -> list[Job]:
        """The independent tracks' strips for a block, handed to the pool (clips read here, in order)."""
        for name in self.independent:
            if self.control.get(name, ()) is None:  # automated and not started yet
                self._start_automated(name, start - self.in_latency[name])
        return [
            submit(self.pool, partial(self._strip, name, self._track_input(name, start, n), start, n, None))
            for name in self.independent
        ]

    def _automix(self, name: str, arrived: dict[str, np.ndarray], n: int) -> np.ndarray:
        """An automix bus's input: its mics, each scaled by its share of the total level, summed."""
        from sonicmix.dsp.automix import mic_power, share_gains

        mics, arguments, state = self.automixers[name]
        power = np.zeros((len(mics), n))
        for i, mic in enumerate(mics):
            if mic in arrived:
                mic_power(arrived[mic], out=power[i])
        gains = np.sqrt(share_gains(power, state=state, **arguments, out=power), out=power)
        if self.automix_record is not None:
            self.automix_record.setdefault(name, []).append(gains)
        total = np.zeros((self.channels[name], n))
        for i, mic in enumerate(mics):
            if mic in arrived:
                total += arrived[mic] * gains[i]
        return total.astype(self.dtype, copy=False)

    def _track_input(self, name: str, start: int, n: int) -> np.ndarray:
        """A track's clips for the block, in its layout, delayed by its input latency."""
        readers = self.readers[name]
        # one plain clip (the common case): its samples as they are, without the float64 sum
        x = readers[0].plain_block(start, n, self.dtype) if len(readers) == 1 else None
        if x is None:
            acc = np.zeros((self.channels[name], n), np.float64)
            for reader in readers:
                reader.add_into(acc, start)
            x = acc.astype(self.dtype)
        return self.track_lines[name](x) if name in self.track_lines else x

    def _strip(self, name: str, x: np.ndarray, start: int, n: int, key: Any) -> tuple[np.ndarray, np.ndarray]:
        """Chain, then fader and pan: the strip's (pre-fader, post-fader) signals."""
        strip = self.graph.strip(name)
        # Engine time runs ahead of the timeline by the latency upstream: the chain's input at
        # `start` is timeline sample start - in_latency, its output start - out_latency.
        if name in self.automated:
            y = self._process_automated(name, strip, x, start - self.in_latency[name], key)
        else:
            y, self.states[name] = self.processors[name].process(x, self.fs, self.states[name], key=key)
        if name in self.silent:
            return np.zeros_like(y), np.zeros((self.out_channels[name], n), self.dtype)
        at = start - self.out_latency[name]
        gain = values_for_block(strip.fader_db, at, n, self.fs)
        post = (
            y * np.asarray(db_to_gain(gain), dtype=self.dtype)
            if _varies(strip.fader_db) or gain != 0.0
            else y
        )
        if isinstance(strip, Track) and strip.pan is not None:
            post = self._pan(strip, post, at, n)
        return y, post

    def _control_lines(self, name: str, k: int) -> tuple[list[tuple[float, float]], int]:
        """Each automated parameter's values at the start of control block ``k`` and of the next,
        and the number of steps the block takes (1 unless an interpolated parameter moves)."""
        cached = self.lines.get(name)
        if cached is None or cached[0] != k:
            lines = []
            steps = 1
            for _, field_name, envelope, before, smooth in self.automated[name]:
                # a node behind lookahead in the chain hears the timeline `before` samples late
                t = (np.array([k, k + 1]) * CONTROL_SAMPLES - before) / self.fs
                v0, v1 = (float(v) for v in envelope.values(t))
                lines.append((v0, v1))
                if smooth:
                    steps = max(steps, ramp_steps(field_name, v0, v1))
            cached = self.lines[name] = (k, lines, steps)
        return cached[1], cached[2]

    def _automated_chain(self, name: str, strip: Any, lines: list[tuple[float, float]], frac: float) -> Chain:
        """The chain with the held values, and the interpolated ones ``frac`` of the way along their lines."""
        nodes = list(strip.chain)
        for (index, field_name, _, _, smooth), (v0, v1) in zip(self.automated[name], lines, strict=True):
            value = v0 + (v1 - v0) * frac if smooth and frac else v0
            nodes[index] = set_parameter(nodes[index], field_name, value)
        return Chain(tuple(nodes))

    def _start_automated(self, name: str, at: int) -> None:
        """Start an automated chain's stream at chain time ``at`` with the values of its control step
        there. The pool's tracks are started on the calling thread (see ``_track_jobs``): pedalboard
        loads a plugin file on the main thread only."""
        k, step, lines, steps = self._control_step(name, at)
        chain = self._automated_chain(name, self.graph.strip(name), lines, step / steps)
        self.states[name] = chain.init_state(self.channels[name], self.fs, self.dtype)
        self.control[name] = (k, step)

    def _control_step(self, name: str, at: int) -> tuple[int, int, list[tuple[float, float]], int]:
        """``(k, step, lines, steps)`` at chain time ``at``: its control block, the step within it,
        and the block's lines and number of steps (see :meth:`_control_lines`)."""
        k = at // CONTROL_SAMPLES
        lines, steps = self._control_lines(name, k)
        return k, (at - k * CONTROL_SAMPLES) // (CONTROL_SAMPLES // steps), lines, steps

    def _process_automated(self, name: str, strip: Any, x: np.ndarray, start: int, key: Any) -> np.ndarray:
        """Run a chain whose node parameters follow automation, retuned on the control grid.

        A parameter takes its value at the start of each ``CONTROL_SAMPLES`` block, except an
        interpolated one that moves within the block (see :func:`ramp_steps`): it takes the straight
        line to the next control point in steps, each retuned to the line's value at its start.
        ``start`` is the timeline sample of ``x[:, 0]`` (negative while latency fills).
        """
        n = x.shape[1]
        pieces = []
        position = 0
        while position < n:
            at = start + position
            k, step, lines, steps = self._control_step(name, at)
            stop = min(n, k * CONTROL_SAMPLES + (step + 1) * (CONTROL_SAMPLES // steps) - start)
            if self.control[name] is None:  # before any audio: the stream starts with these values
                self._start_automated(name, at)
            if (k, step) != self.control[name]:
                chain = self._automated_chain(name, strip, lines, step / steps)
                self.states[name] = chain.retune(self.states[name], self.fs)
                self.control[name] = (k, step)
            segment_key = None if key is None else key[:, position:stop]
            y, self.states[name] = self.processors[name].process(
                x[:, position:stop], self.fs, self.states[name], key=segment_key
            )
            pieces.append(y)
            position = stop
        return np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]

    def _pan(self, track: Track, x: np.ndarray, start: int, n: int) -> np.ndarray:
        position = np.asarray(values_for_block(track.pan, start, n, self.fs))  # type: ignore[arg-type]
        scene = get_layout(self.graph.buses[track.output].layout)  # type: ignore[index]
        if scene.is_ambisonic:  # into an Ambisonics bus: encoded at the pan's azimuth
            from sonicmix.spatial.ambisonics import encode_panned

            return encode_panned(x, position, scene.ambisonic_order)
        left, right = placement_gains(position, track.pan_law, x.shape[0])
        out = np.empty((2, n), self.dtype)
        np.multiply(x[0], left.astype(self.dtype), out=out[0])
        np.multiply(x[-1], right.astype(self.dtype), out=out[1])
        return out


def _varies(value: Value) -> bool:
    return isinstance(value, Automation)


def _source_layout(clip: Any, handle: Any, track_layout: str) -> str:
    """The layout of a clip's channels: its file's WAVE channel mask, else the track's, else the usual one.

    A file says what it holds where its mask names a layout (7.1.4, 9.1.6 ...); a source of
    the track's channel count is taken to be in the track's layout (an immersive bed on an
    immersive track); on an Ambisonics track, 4, 9 or 16 channels are a scene of order 1, 2
    or 3; other counts are mono, stereo, 5.0, 5.1 or 7.1.
    """
    from sonicmix.layouts import default_layout

    channels = handle.channels
    path = getattr(clip.source, "path", None)
    if path is not None:
        from sonicmix.io import info

        found = info(path).layout
        if found is not None and LAYOUTS[found].n_channels == channels:
            return found
    track = get_layout(track_layout)
    if track.n_channels == channels:
        return track_layout
    if track.is_ambisonic:  # a scene of another order: padded or truncated to the track's
        from sonicmix.layouts import AMBISONIC_LAYOUTS

        for name, layout in AMBISONIC_LAYOUTS.items():
            if layout.n_channels == channels:
                return name
    try:
        return default_layout(channels).name
    except SonicmixError:
        raise GraphError(
            f"a clip's source {clip.source.name!r} has {channels} channels and the track's layout "
            f"{track_layout!r} has {track.n_channels}; expected a mono, stereo, 5.0, 5.1 "
            "or 7.1 source, a file whose channel mask names its layout, or a track in the source's layout"
        ) from None


def ramp_steps(name: str, v0: float, v1: float) -> int:
    """Steps (1, 2, 4 ... ``CONTROL_SAMPLES // RAMP_SAMPLES``) for a control block whose line runs v0 to v1.

    As many as it takes for no step to move the parameter more than ``RAMP_STEP_DB`` (a ``_db``
    name) or ``RAMP_STEP_OCTAVES`` (two positive values), up to the most; a value that may cross
    zero takes the most. One step is the value at the block's start, held.

    Examples
    --------
    >>> ramp_steps("gain_db", 0.0, -0.2), ramp_steps("gain_db", 0.0, -1.2), ramp_steps("q", 0.7, 0.75)
    (1, 4, 2)
    >>> ramp_steps("freq_hz", 500.0, 2000.0)  # two octaves: eight steps of three semitones
    8
    """
    most = CONTROL_SAMPLES // RAMP_SAMPLES
    if v0 == v1:
        return 1
    if name.endswith("_db"):
        size = abs(v1 - v0) / RAMP_STEP_DB
    elif v0 > 0 and v1 > 0:
        size = abs(math.log2(v1 / v0)) / RAMP_STEP_OCTAVES
    else:
        return most
    steps = 1
    while steps < most and steps < size:
        steps *= 2
    return steps


def _is_eye(matrix: np.ndarray) -> bool:
    return matrix.shape[0] == matrix.shape[1] and bool(np.all(matrix == np.eye(matrix.shape[0])))


def _programme_end(graph: Graph, sample_rate: int) -> int:
    ends = [
        _frames(clip.start_s, sample_rate) + _frames(clip.length_s(), sample_rate)
        for track in graph.tracks.values()
        for clip in track.clips
    ]
    return max(ends, default=0)


def default_block_size(graph: Graph) -> int:
    """Samples per block when none is given: ``2**18`` channel-samples of the widest strip (in or out).

    A power of two from 4096 to 131072: 131072 for mono and stereo graphs, 65536 up
    to four channels, 32768 for 5.1 and 7.1, 16384 for 7.1.4. Any block size gives
    the same samples.

    Examples
    --------
    >>> from sonicmix.graph import Bus, Graph, Track
    >>> graph = Graph(tracks={"t": Track(layout="5.1")}, buses={"master": Bus(layout="5.1", output=None)})
    >>> default_block_size(graph)
    32768
    """
    # a strip's chain may widen it (a panner to 7.1.4 on a stereo bus): its output counts too
    widest = max(
        get_layout(layout).n_channels
        for name in [*graph.tracks, *graph.buses]
        for layout in (graph.strip(name).layout, graph.output_layout(name))
    )
    size = 1 << max(0, (_BLOCK_CHANNEL_SAMPLES // widest).bit_length() - 1)
    return min(max(size, _MIN_BLOCK), _MAX_BLOCK)


def _prepare(
    graph: Graph,
    sample_rate: int,
    block_size: int | None,
    duration_s: float | None,
    tail_s: float,
    stems: Sequence[str] | None,
    dtype: Any,
    temp_dir: str | None,
    threads: int = 1,
    pool: Any = None,
) -> tuple[_Engine, int, list[str]]:
    rate = check_sample_rate(sample_rate)
    if not isinstance(graph, Graph):
        raise ParameterError(f"graph={graph!r}; expected a sonicmix.graph.Graph")
    if block_size is None:
        block_size = default_block_size(graph)
    elif isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ParameterError(f"block_size={block_size!r}; expected a positive number of samples (or None)")
    auto_tail = isinstance(tail_s, str) and tail_s == "auto"
    if not auto_tail:
        if isinstance(tail_s, str):
            raise ParameterError(f"tail_s={tail_s!r}; expected 'auto' or a number of seconds >= 0")
        check_range("tail_s", tail_s, low=0.0, high=MAX_TIME_S)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ParameterError(f"dtype={dtype}; expected float32 or float64")
    stem_names = list(graph.buses) if stems is None else list(stems)
    for stem in stem_names:
        if stem not in graph.buses:
            raise GraphError(f"stem {stem!r} is not a bus{_did_you_mean(stem, list(graph.buses))}")
    if duration_s is not None:
        total = _frames(check_range("duration_s", duration_s, low=0.0, high=MAX_TIME_S), rate)
    else:
        total = _programme_end(graph, rate) + (0 if auto_tail else _frames(tail_s, rate))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ParameterError(f"threads={threads!r}; expected a whole number >= 1")
    engine = _Engine(graph, rate, dtype, temp_dir, threads, pool)
    engine.auto_tail = auto_tail and duration_s is None and total > 0
    engine.block_size = block_size
    return engine, total, stem_names


def _longest_delay_s(graph: Graph) -> float:
    """The longest delay time or pre-delay of any node in the graph: an echo may follow that much silence."""
    longest = 0.0
    for strip in [*graph.tracks.values(), *graph.buses.values()]:
        for node in strip.chain:
            values = {name: getattr(node, name, None) for name in _DELAY_FIELDS}
            values.update(getattr(node, "parameters", None) or {})  # a plugin's own (Delay: delay_seconds)
            for name, value in values.items():
                if name in _DELAY_FIELDS and isinstance(value, (int, float)) and math.isfinite(value):
                    longest = max(longest, float(value))
    return longest


#: Node fields (and plugin parameters) that are delay times in seconds.
_DELAY_FIELDS = ("time_s", "pre_delay_s", "delay_seconds")


class _TailWatch:
    """Decides where an automatic tail ends: the outputs quiet (< -120 dBFS) for the hold time.

    Blocks after the programme's end are held back while they are quiet; a loud one
    releases them, a hold's worth of quiet ends the render at the last loud sample.
    """

    def __init__(self, graph: Graph, rate: int, end: int) -> None:
        self.hold = _frames(TAIL_HOLD_S + _longest_delay_s(graph), rate)
        self.limit = end + _frames(MAX_AUTO_TAIL_S, rate)
        self.held: list[tuple[int, dict[str, np.ndarray]]] = []
        self.last_loud = end  # first sample after the last loud one
        self.cut = False

    def push(self, start: int, out: dict[str, np.ndarray]) -> list[tuple[int, dict[str, np.ndarray]]]:
        """Take a block past the end; return what is certainly tail (up to its last loud sample)."""
        n = next(iter(out.values())).shape[1]
        loud = np.zeros(n, bool)
        for block in out.values():
            loud |= (np.abs(block) >= TAIL_FLOOR).any(axis=0)
        if not loud.any():
            self.held.append((start, {k: v.copy() for k, v in out.items()}))
            return []
        cut = int(np.flatnonzero(loud)[-1]) + 1
        self.last_loud = start + cut
        released, self.held = self.held, []
        released.append((start, {k: v[:, :cut].copy() for k, v in out.items()}))
        if cut < n:  # its quiet end waits: the tail may end there
            self.held.append((start + cut, {k: v[:, cut:].copy() for k, v in out.items()}))
        return released

    def done(self, produced: int) -> bool:
        return produced - self.last_loud >= self.hold or produced >= self.limit

    def finish(self, produced: int) -> list[tuple[int, dict[str, np.ndarray]]]:
        """The held blocks up to the last loud sample (all of them when the bound cut the tail)."""
        self.cut = produced >= self.limit and produced - self.last_loud < self.hold
        end = produced if self.cut else self.last_loud
        return [(s, {k: v[:, : end - s] for k, v in out.items()}) for s, out in self.held if s < end]


def _run(
    engine: _Engine, total: int, stem_names: list[str], progress: Progress | None
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    graph, block_size = engine.graph, engine.block_size
    try:
        want = [graph.master] + [s for s in stem_names if s != graph.master]
        latency = engine.latency
        # every output is delayed to the master's latency; then the first `latency` samples are dropped
        align = {
            name: DelayLine(engine.out_channels[name], latency - engine.out_latency[name], engine.dtype)
            for name in want
        }
        watch = _TailWatch(graph, engine.fs, total) if getattr(engine, "auto_tail", False) else None
        produced, position, skip = 0, 0, latency

        def size(skip: int, produced: int) -> int | None:  # None: the automatic tail's next block
            if skip:
                return min(block_size, skip)
            return min(block_size, total - produced) if produced < total else None

        while produced < total or (watch is not None and not watch.done(produced)):
            n = size(skip, produced)
            if n is None:  # the automatic tail, up to its bound
                n = min(block_size, watch.limit - produced)
            # the next block, when it is certain to come (a tail block depends on this one's level)
            after = (max(0, skip - n), produced if skip else produced + n)
            following = None if after[1] >= total else (position + n, size(*after))
            rendered = engine.block(position, n, want, following)
            position += n
            rendered = {name: align[name](block) for name, block in rendered.items()}
            if skip:
                skip -= n
                continue
            out = {"master": rendered[graph.master]}
            out.update((stem, rendered[stem]) for stem in stem_names)
            if produced >= total and watch is not None:  # past the programme: the automatic tail
                yield from watch.push(produced, out)
            else:
                yield produced, out
            produced += n
            if progress is not None:
                progress(min(produced, total), total)
        if watch is not None:
            yield from watch.finish(produced)
            if watch.cut:
                engine.notes.append(
                    f"the automatic tail was cut at {MAX_AUTO_TAIL_S:g} s after the last clip: the mix was "
                    "still above -120 dBFS there (a feedback loop that does not decay?); set tail_s to choose"
                )
    finally:
        engine.close()


def render_blocks(
    graph: Graph,
    *,
    sample_rate: int,
    block_size: int | None = None,
    duration_s: float | None = None,
    tail_s: float | str = "auto",
    stems: Sequence[str] | None = None,
    dtype: Any = np.float32,
    progress: Progress | None = None,
    temp_dir: str | None = None,
    threads: int = 1,
    pool: Any = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Render ``graph`` block by block: yields ``(start_sample, {name: block})``.

    Blocks cover the programme in order, each ``block_size`` samples long
    (the last one shorter); ``name`` is ``"master"`` for the mix (whatever the
    master bus is called) and each requested stem's bus name. Memory does not
    depend on the programme's length. ``temp_dir`` holds file sources
    resampled to the render's rate (default: the system's temporary folder).
    Other parameters are those of :func:`render`; ``pool`` (a
    ``concurrent.futures.ThreadPoolExecutor``) runs the tracks on its workers
    instead of ``threads - 1`` of the render's own, and stays open, so that the
    caller can hand its own work on each block to the same threads (a delivery
    meters and keeps the blocks there). The graph is validated and the sources
    opened before the first block is yielded; the blocks yielded are new arrays,
    not overwritten by the blocks that follow.
    """
    engine, total, stem_names = _prepare(
        graph, sample_rate, block_size, duration_s, tail_s, stems, dtype, temp_dir, threads, pool
    )
    return RenderStream(_run(engine, total, stem_names, progress), engine)


class RenderStream(Iterator[tuple[int, dict[str, np.ndarray]]]):
    """The blocks of :func:`render_blocks`, and what the render decided before the first one.

    ``clip_gains_db`` and ``notes`` are known as soon as the stream exists (the
    clips are measured while the render is prepared).
    """

    def __init__(self, blocks: Iterator[tuple[int, dict[str, np.ndarray]]], engine: _Engine) -> None:
        self._blocks = blocks
        self._engine = engine
        self.clip_gains_db = engine.clip_gains_db()

    @property
    def notes(self) -> tuple[str, ...]:
        """What the render noted: resampled sources, clip gains, a tail cut at its bound (at the end)."""
        return tuple(self._engine.notes)

    def __next__(self) -> tuple[int, dict[str, np.ndarray]]:
        return next(self._blocks)

    def close(self) -> None:
        """Stop early and release the sources (as a generator's close does)."""
        self._blocks.close()  # type: ignore[attr-defined]


def render(
    graph: Graph,
    *,
    sample_rate: int,
    block_size: int | None = None,
    duration_s: float | None = None,
    tail_s: float | str = "auto",
    stems: Sequence[str] | None = None,
    dtype: Any = np.float32,
    progress: Progress | None = None,
    threads: int = 1,
) -> RenderResult:
    """Render a mix graph to arrays: the master and every bus as a stem.

    Parameters
    ----------
    graph : Graph
        What to render.
    sample_rate : int
        Render rate in Hz; sources at other rates are resampled (listed in
        the result's ``resampled``).
    block_size : int, optional
        Samples per processing block. ``None`` chooses by the widest strip
        (:func:`default_block_size`: 131072 for stereo, 32768 for 5.1); any
        value gives the same samples (to float tolerance).
    duration_s : float, optional
        Length of the render; by default the end of the last clip plus ``tail_s``.
    tail_s : float or "auto", default "auto"
        Time after the last clip, for reverb and delay tails. ``"auto"`` renders on
        until every output (the master and the stems) has stayed below -120 dBFS for
        0.5 s plus the longest delay time in the graph, and ends at the last sample
        above that; at most 30 s (a note says when that bound cut it). A programme
        that is silent at its end gets no tail. A number is that many seconds.
    stems : sequence of str, optional
        Buses to return as stems (default: all buses).
    dtype : {float32, float64}, default float32
    progress : callable, optional
        Called as ``progress(samples_done, samples_total)`` after each block.
    threads : int, default 1
        Threads at work: the chains of tracks that take no side-chain key run
        on the others, a block ahead of the buses, which stay on the calling
        thread; the result is identical to a single-thread render.

    Returns
    -------
    RenderResult

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.graph import Bus, Graph, Track
    >>> from sonicmix.timeline import ArraySource, Clip
    >>> tone = ArraySource(np.full((1, 4800), 0.5, np.float32), 48000, name="dc")
    >>> graph = Graph(tracks={"t": Track(clips=(Clip(source=tone, start_s=0.05),), layout="mono")},
    ...               buses={"master": Bus(layout="mono", output=None)})
    >>> result = render(graph, sample_rate=48000)
    >>> result.master.shape, float(result.master[0, 2400]), float(result.master[0, 2399])
    ((1, 7200), 0.5, 0.0)
    """
    started = time.perf_counter()
    engine, total, stem_names = _prepare(
        graph, sample_rate, block_size, duration_s, tail_s, stems, dtype, None, threads
    )
    blocks: dict[str, list[np.ndarray]] = {}
    for _, out in _run(engine, total, stem_names, progress):
        for name, block in out.items():
            blocks.setdefault(name, []).append(block)
    dtype = engine.dtype

    def joined(name: str, channels: int) -> np.ndarray:
        parts = blocks.get(name)
        return np.concatenate(parts, axis=1) if parts else np.zeros((channels, 0), dtype)

    master = joined("master", engine.out_channels[graph.master])
    stem_arrays = {name: joined(name, engine.out_channels[name]) for name in stem_names}
    return RenderResult(
        master=master,
        stems=stem_arrays,
        sample_rate=engine.fs,
        latency_samples=engine.latency,
        resampled=tuple(engine.resampled),
        elapsed_s=time.perf_counter() - started,
        notes=tuple(engine.notes),
        clip_gains_db=engine.clip_gains_db(),
    )


def automix_gains(
    graph: Graph,
    *,
    sample_rate: int,
    bus: str | None = None,
    duration_s: float | None = None,
    tail_s: float = 0.0,
    block_size: int | None = None,
    dtype: Any = np.float32,
) -> dict[str, np.ndarray]:
    """The gain an automix bus gives each of its mics, sample by sample, on the timeline.

    Renders the graph as :func:`render` does (same parameters) and keeps the
    gains instead of the audio.

    Parameters
    ----------
    graph : Graph
    sample_rate : int
    bus : str, optional
        The automix bus; needed only when the graph has more than one.

    Returns
    -------
    gains : dict of str to np.ndarray, shape=(samples,), float64
        Linear amplitude gain of each mic (the track or bus routed to the
        automix bus), aligned with the render's timeline (``20 * log10`` for
        dB). The squares sum to 1 at every sample.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.automix import Automix
    >>> from sonicmix.graph import Bus, Graph, Track
    >>> from sonicmix.timeline import ArraySource, Clip
    >>> def mic(level, name):
    ...     audio = np.full((1, 4800), level, np.float32)
    ...     return Track(clips=(Clip(source=ArraySource(audio, 48000, name=name)),), layout="mono")
    >>> graph = Graph(tracks={"a": mic(0.5, "a"), "b": mic(0.05, "b")},
    ...               buses={"master": Bus(layout="mono", output=None, automix=Automix())})
    >>> gains = automix_gains(graph, sample_rate=48000)
    >>> {name: round(float(20 * np.log10(g[-1])), 1) for name, g in gains.items()}
    {'a': -0.0, 'b': -20.0}
    """
    buses = graph.buses.items() if isinstance(graph, Graph) else ()
    names = [name for name, b in buses if b.automix is not None]
    if bus is None:
        if len(names) != 1:
            raise GraphError(
                f"the graph has {len(names)} automix buses {names}; "
                + ("expected one (set Bus(automix=Automix()))" if not names else "pass bus=<name>")
            )
        bus = names[0]
    elif bus not in names:
        raise GraphError(
            f"bus={bus!r} is not an automix bus{_did_you_mean(bus, names)}; automix buses are {names}"
        )
    engine, total, _ = _prepare(graph, sample_rate, block_size, duration_s, tail_s, [], dtype, None)
    engine.automix_record = {}
    for _ in _run(engine, total, [], None):
        pass
    mics = engine.automixers[bus][0]
    gains = np.concatenate(engine.automix_record.get(bus, []) or [np.zeros((len(mics), 0))], axis=1)
    # the bus hears the timeline `in_latency` samples late (engine time runs ahead by the latency upstream)
    start = engine.in_latency[bus]
    return {mic: gains[i, start : start + total] for i, mic in enumerate(mics)}
