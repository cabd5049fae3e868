"""Sample-rate conversion with libsoxr (the ``soxr`` package)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from sonicmix._checks import check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import ParameterError
from sonicmix.nodes._resizing import Resizing, StreamCounts
from sonicmix.nodes.base import Node, check_stream_channels, check_stream_dtype
from sonicmix.nodes.utility import _check_choice

__all__ = ["Resample", "ResampleState"]

ResampleQuality = Literal["VHQ", "HQ", "MQ", "LQ", "QQ"]
_QUALITIES: tuple[str, ...] = ("VHQ", "HQ", "MQ", "LQ", "QQ")


@dataclass
class ResampleState(StreamCounts):
    """A :class:`Resample` stream: libsoxr's stream (None when the rates are equal), and the counts
    of ``StreamCounts`` (channels, dtype, sample rate, samples in and out)."""

    stream: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Resample(Resizing, Node):
    """Convert audio to another sample rate (libsoxr).

    This node changes the sample rate, and with it the number of samples:
    ``output_sample_rate(sample_rate)`` is ``target_rate_hz`` and, one-shot,
    ``n`` input samples give ``output_samples(n, sample_rate) =
    round(n * target_rate_hz / sample_rate)`` output samples (halves round
    up), the length ``soxr.resample`` gives.

    Streaming follows ``soxr.ResampleStream``: ``process`` returns however
    many output samples the resampler's filter can complete so far (possibly
    none; the output lags the input by the filter's delay), and at the end of
    the stream ``flush(state)`` returns the rest. The concatenation of every
    ``process`` output and the ``flush`` output equals the one-shot output
    (exactly, in tests here). Without the flush the stream is short by the
    filter's delay. Because blocks in and out differ in length, this node
    cannot sit inside a fixed-rate graph or :class:`~sonicmix.nodes.base.Chain`
    mid-stream; use it on a whole programme or at the end of a render.

    When ``target_rate_hz`` equals the input rate the audio passes unchanged.

    Parameters
    ----------
    target_rate_hz : int, default 48000
        Output sample rate in Hz, 1000 to 1536000.
    quality : {"VHQ", "HQ", "MQ", "LQ", "QQ"}, default "HQ"
        libsoxr's quality recipe, from very high to quick ("HQ" is soxr's
        default: a 20-bit-precision linear-phase filter).

    Notes
    -----
    The state (:class:`ResampleState`) wraps a ``soxr.ResampleStream``, a C
    object that cannot be copied: a Resample state can be used by one stream only.

    Examples
    --------
    >>> import numpy as np
    >>> node = Resample(target_rate_hz=16000)
    >>> x = np.zeros((2, 48000), dtype=np.float32)
    >>> node(x, 48000).shape
    (2, 16000)
    >>> node.output_sample_rate(48000), node.output_samples(48000, 48000)
    (16000, 16000)

    Streamed in two chunks and flushed, it gives the one-shot result:

    >>> x = np.sin(np.arange(4800, dtype=np.float32) / 10.0)[None, :]
    >>> state = node.init_state(1, 48000, np.float32)
    >>> a, state = node.process(x[:, :1000], 48000, state)
    >>> b, state = node.process(x[:, 1000:], 48000, state)
    >>> c, state = node.flush(state)
    >>> bool(np.array_equal(np.concatenate([a, b, c], axis=1), node(x, 48000)))
    True
    """

    target_rate_hz: int = 48000

    #: What the graph's refusal suggests instead.
    in_a_graph_instead: ClassVar[str] = (
        "a graph runs at the one rate given to render(sample_rate=...), and each source at another rate "
        "is converted on its own; resample the rendered result to deliver at another rate"
    )
    quality: ResampleQuality = "HQ"

    def __post_init__(self) -> None:
        rate = check_sample_rate(self.target_rate_hz, "target_rate_hz")
        if type(self.target_rate_hz) is not int:
            object.__setattr__(self, "target_rate_hz", rate)
        _check_choice("quality", self.quality, _QUALITIES)

    def output_sample_rate(self, sample_rate: int) -> int:
        """Sample rate of the output, in Hz: ``target_rate_hz``."""
        return int(self.target_rate_hz)

    def output_samples(self, samples: int, sample_rate: int) -> int:
        """Length of the one-shot output for ``samples`` input samples.

        ``round(samples * target_rate_hz / sample_rate)`` with halves rounded up.
        """
        # Integer arithmetic: floor(samples * target / rate + 1/2).
        return (2 * samples * int(self.target_rate_hz) + sample_rate) // (2 * sample_rate)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> ResampleState:
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise ParameterError(f"dtype={dt}; expected float32 or float64")
        stream = None
        if sample_rate != self.target_rate_hz:
            import soxr

            stream = soxr.ResampleStream(
                sample_rate, int(self.target_rate_hz), channels, dtype=dt.name, quality=self.quality
            )
        return ResampleState(stream, channels=channels, dtype=dt, sample_rate=sample_rate)

    def process(
        self, x: Audio, sample_rate: int, state: ResampleState, *, key: Audio | None = None
    ) -> tuple[Audio, ResampleState]:
        check_stream_dtype(self, x, state.dtype)
        check_stream_channels(self, x, state.channels)  # libsoxr's own refusal does not say whose
        if state.stream is None:
            y = x.copy()
        else:
            y = self._run(state, np.ascontiguousarray(x.T), last=False)
        state.received += x.shape[1]
        state.sent += y.shape[1]
        return y, state

    def _drain(self, state: ResampleState, n: int) -> np.ndarray | None:
        """What the filter still holds, at the end of the stream (:meth:`flush`)."""
        if state.stream is None:
            return None
        return self._run(state, np.zeros((0, state.channels), state.dtype), last=True)

    @staticmethod
    def _run(state: ResampleState, frames: np.ndarray, last: bool) -> np.ndarray:
        y = state.stream.resample_chunk(frames, last=last)
        return np.ascontiguousarray(y.reshape(-1, state.channels).T)
