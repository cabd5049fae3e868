"""Time stretching and pitch shifting that stream (phase vocoder with identity phase locking).

Both nodes run :mod:`sonicmix.dsp.vocoder`: a phase vocoder whose peaks
carry the phase of the bins around them (Laroche & Dolson 1999), whose
phases start afresh at onsets (drum hits keep their attack), and a
windowed-sinc resampler. Both stream: fed in blocks of any size they give
the samples of the one-shot call (to float rounding).

- :class:`PitchShift` keeps the duration: a block in, a block of the same
  length out, delayed by ``latency_samples(sample_rate)`` (33 ms an octave
  up, 109 ms two octaves down at 48 kHz), which graphs compensate as they
  do a limiter's lookahead.
- :class:`TimeStretch` changes the duration, so blocks out are not blocks
  in: like :class:`~sonicmix.nodes.resample.Resample`, ``process`` returns
  what is ready and ``flush(state)`` the rest. On a timeline, give a clip a
  ``rate`` instead (:class:`sonicmix.timeline.Clip`).

Nothing here imports librosa. The compiled kernels (numba, cached on disk)
cost a few seconds the first time they are built on a machine, and about a
second to load in a fresh process after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_finite, check_range
from sonicmix._typing import Audio
from sonicmix.nodes._resizing import Resizing, StreamCounts
from sonicmix.nodes.base import Node, check_stream_channels, check_stream_dtype

__all__ = ["TimeStretch", "PitchShift", "StretchState", "SEMITONES_RANGE", "RATE_RANGE"]

#: Pitch changes accepted, in semitones (two octaves either way).
SEMITONES_RANGE = (-24.0, 24.0)
#: Speed factors accepted (a quarter to four times the speed).
RATE_RANGE = (0.25, 4.0)
#: Input samples handed to the vocoder at a time: a long one-shot call works in cache-sized steps.
_STEP = 8192


@dataclass
class StretchState(StreamCounts):
    """A stream of :class:`PitchShift` or :class:`TimeStretch`: the vocoder's plan and memory
    (None when the node passes audio unchanged), and the counts of ``StreamCounts`` (channels,
    dtype, sample rate, samples in and out)."""

    plan: Any
    stream: Any


def _open(stretch: float, ratio: float, channels: int, sample_rate: int, dtype: Any) -> StretchState:
    plan = stream = None
    if stretch != 1.0 or ratio != 1.0:
        from sonicmix.dsp import vocoder

        plan = vocoder.vocoder_plan(stretch, ratio, sample_rate)
        stream = vocoder.init_vocoder(plan, channels)
    return StretchState(plan, stream, channels=channels, dtype=np.dtype(dtype), sample_rate=sample_rate)


def _check_block(node: Node, x: Audio, state: StretchState) -> None:
    """Refuse a block of another dtype, or one with a NaN or inf sample, before the state is touched:
    carried in the vocoder's phases a single NaN would make every later output NaN."""
    check_stream_dtype(node, x, state.dtype)
    check_stream_channels(node, x, state.channels)
    if state.plan is not None:
        check_finite(x, f"{type(node).__name__}: the block", state.sample_rate, offset=state.received)


def check_semitones(semitones: float, name: str = "semitones") -> float:
    """Validate a pitch change in semitones (finite, within :data:`SEMITONES_RANGE`)."""
    low, high = SEMITONES_RANGE
    return check_range(name, semitones, low=low, high=high, hint="12 semitones is one octave")


def check_rate(rate: float, name: str = "rate") -> float:
    """Validate a speed factor (finite, within :data:`RATE_RANGE`)."""
    low, high = RATE_RANGE
    return check_range(
        name, rate, low=low, high=high, hint="rate is a speed factor (2.0 = twice as fast), not a sample rate"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PitchShift(Node):
    """Shift the pitch without changing the duration; streams, with a fixed latency.

    The phase vocoder stretches by ``2 ** (semitones / 12)`` and the
    resampler reads the result that much faster, so the output is as long as
    the input and a partial at ``f`` Hz comes out at ``f * 2 ** (semitones /
    12)``. Formants move with the pitch. At onsets (a drum hit, a pluck) the
    phases above 150 Hz that the onset brings start afresh, so an attack
    keeps its sharpness and its place; held notes and the bass keep their
    phase track. The output is delayed by ``latency_samples(sample_rate)``
    (graphs compensate it): the one-shot call and a stream give the same
    delayed samples, and the last ``latency_samples`` of the shifted input
    come out only if the input is followed by that much more (pad with zeros
    to hear the end).

    Parameters
    ----------
    semitones : float, default 0.0
        Pitch change in equal-tempered semitones, -24 to 24 (12 is an
        octave up; fractions are allowed: 0.5 is a quarter tone). 0 passes
        the audio unchanged, with no latency.

    Raises
    ------
    AudioError
        From ``process``, for a block with a NaN or inf sample (the message
        names the channel and the sample's index in the stream), before the
        state is touched: the stream can go on with the block repaired. A NaN
        let through would make every later output NaN. At 0 semitones, where
        the audio passes unchanged, a NaN passes too.

    References
    ----------
    J. Laroche and M. Dolson, "Improved phase vocoder time-scale modification
    of audio", IEEE Trans. Speech and Audio Processing 7(3), 1999 (identity
    phase locking). A. Röbel, "A new approach to transient processing in the
    phase vocoder", Proc. DAFx-03, 2003 (phase resets at transients).

    Examples
    --------
    >>> import numpy as np
    >>> shift = PitchShift(semitones=-12.0)
    >>> x = np.sin(np.arange(9600) * 0.1, dtype=np.float32)[None, :]
    >>> y = shift(x, 48000)
    >>> y.shape, shift.latency_samples(48000)
    ((1, 9600), 3126)

    Streamed in two blocks it gives the same samples:

    >>> state = shift.init_state(1, 48000, np.float32)
    >>> a, state = shift.process(x[:, :5000], 48000, state)
    >>> b, state = shift.process(x[:, 5000:], 48000, state)
    >>> bool(np.allclose(np.concatenate([a, b], axis=1), y, atol=1e-6))
    True
    """

    semitones: float = 0.0

    def __post_init__(self) -> None:
        check_semitones(self.semitones)

    @property
    def factor(self) -> float:
        """Frequency ratio, ``2 ** (semitones / 12)``."""
        return float(2.0 ** (self.semitones / 12.0))

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> StretchState:
        return _open(self.factor, self.factor, channels, sample_rate, dtype)

    def latency_samples(self, sample_rate: int) -> int:
        if self.semitones == 0.0:
            return 0
        from sonicmix.dsp import vocoder

        return vocoder.shift_latency(vocoder.vocoder_plan(self.factor, self.factor, sample_rate))

    def process(
        self, x: Audio, sample_rate: int, state: StretchState, *, key: Audio | None = None
    ) -> tuple[Audio, StretchState]:
        _check_block(self, x, state)
        if state.plan is None:
            return x.copy(), state
        from sonicmix.dsp import vocoder

        latency = vocoder.shift_latency(state.plan)
        y = np.empty(x.shape, x.dtype)
        for start in range(0, x.shape[1], _STEP):
            block = x[:, start : start + _STEP]
            n = block.shape[1]
            vocoder.push(state.stream, block)
            silent = min(n, max(0, latency - state.received))  # before the first output sample
            y[:, start : start + silent] = 0.0
            y[:, start + silent : start + n] = vocoder.pull(state.plan, state.stream, n - silent)
            state.received += n
        state.sent = state.received
        return y, state


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeStretch(Resizing, Node):
    """Change the duration without changing the pitch; streams, with a flush at the end.

    The phase vocoder of :class:`PitchShift` alone, stretching by ``1 /
    rate``: ``n`` input samples give ``output_samples(n, sample_rate) =
    round(n / rate)`` output samples, output sample ``j`` standing for input
    time ``j * rate``. Streamed, ``process`` returns the samples it can
    complete so far (possibly none) and ``flush(state)`` the rest; their
    concatenation is the one-shot output. A block-synchronous graph cannot
    hold a node that changes the number of samples: on a timeline, give the
    clip a ``rate`` (:class:`sonicmix.timeline.Clip`).

    Parameters
    ----------
    rate : float, default 1.0
        Speed factor (not a sample rate): 2.0 plays twice as fast (half the
        duration), 0.5 half as fast. 0.25 to 4; 1.0 passes the audio unchanged.

    Raises
    ------
    AudioError
        From ``process``, for a block with a NaN or inf sample, as
        :class:`PitchShift` does (at ``rate=1.0`` it passes, as the audio does).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.sin(np.arange(48000) * 0.05)[None, :]
    >>> stretch = TimeStretch(rate=2.0)
    >>> stretch(x, 48000).shape
    (1, 24000)

    Streamed in two blocks and flushed, it gives the one-shot samples:

    >>> state = stretch.init_state(1, 48000, np.float64)
    >>> a, state = stretch.process(x[:, :30000], 48000, state)
    >>> b, state = stretch.process(x[:, 30000:], 48000, state)
    >>> c, state = stretch.flush(state)
    >>> bool(np.allclose(np.concatenate([a, b, c], axis=1), stretch(x, 48000), rtol=0, atol=1e-12))
    True
    """

    rate: float = 1.0

    #: What the graph's refusal suggests instead.
    in_a_graph_instead: ClassVar[str] = "on a timeline, give the clip a rate instead"

    def __post_init__(self) -> None:
        check_rate(self.rate)

    def output_samples(self, samples: int, sample_rate: int) -> int:
        """Length of the output for ``samples`` input samples: ``round(samples / rate)``."""
        return int(round(samples / self.rate))

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> StretchState:
        return _open(1.0 / self.rate, 1.0, channels, sample_rate, dtype)

    def process(
        self, x: Audio, sample_rate: int, state: StretchState, *, key: Audio | None = None
    ) -> tuple[Audio, StretchState]:
        _check_block(self, x, state)
        state.received += x.shape[1]
        if state.plan is None:
            state.sent += x.shape[1]
            return x.copy(), state
        from sonicmix.dsp import vocoder

        out = []
        for start in range(0, x.shape[1], _STEP):
            vocoder.push(state.stream, x[:, start : start + _STEP])
            ready = vocoder.outputs_ready(state.plan, state.stream.received) - state.stream.out
            out.append(vocoder.pull(state.plan, state.stream, ready))
        y = np.concatenate(out, axis=1) if out else np.zeros((x.shape[0], 0))
        state.sent += y.shape[1]
        return y.astype(x.dtype), state

    def _drain(self, state: StretchState, n: int) -> np.ndarray | None:
        """The last ``n`` outputs (:meth:`flush`): the vocoder fed the silence after the input."""
        if state.plan is None:
            return None
        from sonicmix.dsp import vocoder

        stream = state.stream
        missing = vocoder.input_needed(state.plan, stream.out + n) - stream.received
        vocoder.push(stream, np.zeros((state.channels, max(0, missing))))
        return vocoder.pull(state.plan, stream, n)
