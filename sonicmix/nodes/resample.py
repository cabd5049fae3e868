"""Sample-rate conversion with libsoxr (the ``soxr`` package)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from sonicmix._checks import check_audio, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype
from sonicmix.nodes.utility import _check_choice

__all__ = ["Resample"]

ResampleQuality = Literal["VHQ", "HQ", "MQ", "LQ", "QQ"]
_QUALITIES: tuple[str, ...] = ("VHQ", "HQ", "MQ", "LQ", "QQ")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resample(Node):
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
    The state wraps a ``soxr.ResampleStream``, a C object that cannot be
    copied: a Resample state can be used by one stream only.

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

    #: True: blocks out are not blocks in, so graphs refuse the node in a chain.
    changes_length: ClassVar[bool] = True
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

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> dict[str, Any]:
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise ParameterError(f"dtype={dt}; expected float32 or float64")
        stream = None
        if sample_rate != self.target_rate_hz:
            import soxr

            stream = soxr.ResampleStream(
                sample_rate, int(self.target_rate_hz), channels, dtype=dt.name, quality=self.quality
            )
        return {"stream": stream, "channels": channels, "dtype": dt, "rate": sample_rate, "in": 0, "out": 0}

    def process(
        self, x: Audio, sample_rate: int, state: dict[str, Any], *, key: Audio | None = None
    ) -> tuple[Audio, dict[str, Any]]:
        check_stream_dtype(self, x, state["dtype"])
        if state["stream"] is None:
            return x.copy(), state
        y = self._run(state, np.ascontiguousarray(x.T), last=False)
        state["in"] += x.shape[1]
        state["out"] += y.shape[1]
        return y, state

    def flush(self, state: dict[str, Any]) -> tuple[Audio, dict[str, Any]]:
        """End the stream: return the output samples still held by the filter.

        Parameters
        ----------
        state : dict
            The state after the last ``process`` call; it cannot be used again.

        Returns
        -------
        (y, state) : tuple
            ``y`` has shape ``(channels, tail_samples)``.
        """
        if state["stream"] is None:
            return np.zeros((state["channels"], 0), state["dtype"]), state
        empty = np.zeros((0, state["channels"]), state["dtype"])
        tail = self._run(state, empty, last=True)
        return _fit(tail, self.output_samples(state["in"], state["rate"]) - state["out"]), state

    @staticmethod
    def _run(state: dict[str, Any], frames: np.ndarray, last: bool) -> np.ndarray:
        y = state["stream"].resample_chunk(frames, last=last)
        return np.ascontiguousarray(y.reshape(-1, state["channels"]).T)

    def __call__(self, audio: Audio, sample_rate: int, *, key: Audio | None = None) -> Audio:
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        self._check_key(x, key)
        state = self.init_state(x.shape[0], rate, x.dtype)
        if state["stream"] is None:
            return x.copy()
        if x.shape[1] == 0:
            return x[:, :0].copy()
        y = self._run(state, np.ascontiguousarray(x.T), last=True)
        return _fit(y, self.output_samples(x.shape[1], rate))


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cut or zero-padded to ``n`` samples: soxr's own count can differ by one at exact halves
    (it rounds a floating-point product), and the declared length is what callers plan for."""
    n = max(n, 0)
    if y.shape[1] >= n:
        return y[:, :n]
    return np.concatenate([y, np.zeros((y.shape[0], n - y.shape[1]), y.dtype)], axis=1)
