"""What the nodes whose blocks out are not blocks in share: the flush at the end and the one-shot call.

:class:`~sonicmix.nodes.resample.Resample` and :class:`~sonicmix.nodes.stretch.TimeStretch`
stream alike: ``process`` returns the output samples it can complete so far,
and ``flush(state)`` the rest, so that the stream's outputs add up to
``output_samples(received, sample_rate)``, the length of the one-shot call.
Only how the tail is drawn out of the engine differs (a resampler drained, a
phase vocoder fed silence); that is each node's ``_drain``.

Examples
--------
>>> import numpy as np
>>> from sonicmix.nodes.resample import Resample
>>> node = Resample(target_rate_hz=16000)
>>> state = node.init_state(1, 48000, np.float32)
>>> a, state = node.process(np.ones((1, 4800), np.float32), 48000, state)
>>> b, state = node.flush(state)
>>> a.shape[1] + b.shape[1] == node.output_samples(4800, 48000) == 1600
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_audio, check_sample_rate
from sonicmix._typing import Audio

__all__ = ["Resizing", "StreamCounts"]


@dataclass(kw_only=True)
class StreamCounts:
    """What every such stream's state holds besides its engine: the channels, the block dtype, the
    input's sample rate, and the samples in and out so far (``process`` keeps them)."""

    channels: int
    dtype: np.dtype
    sample_rate: int
    received: int = 0
    sent: int = 0


class Resizing:
    """Mixin (before :class:`~sonicmix.nodes.base.Node`) for a node that changes the number of samples.

    The node provides ``output_samples(samples, sample_rate)``, a state
    derived from :class:`StreamCounts`, and ``_drain(state, n)``: the
    engine's outputs that are still to come, about ``n`` of them (None when
    the node passes audio unchanged).
    """

    __slots__ = ()

    #: True: blocks out are not blocks in, so graphs refuse the node in a chain.
    changes_length: ClassVar[bool] = True

    def output_samples(self, samples: int, sample_rate: int) -> int:
        raise NotImplementedError  # pragma: no cover - every node says its length

    def _drain(self, state: Any, n: int) -> np.ndarray | None:
        raise NotImplementedError  # pragma: no cover

    def flush(self, state: Any) -> tuple[Audio, Any]:
        """End the stream: the outputs still to come, up to ``output_samples(received)`` in all.

        Parameters
        ----------
        state : state of the node
            The state after the last ``process`` call; it cannot be used again.

        Returns
        -------
        (y, state) : tuple
            ``y`` has shape ``(channels, remaining_samples)`` and the stream's dtype.
        """
        owed = max(0, self.output_samples(state.received, state.sample_rate) - state.sent)
        tail = self._drain(state, owed) if owed else None
        if tail is None:
            tail = np.zeros((state.channels, 0), state.dtype)
        state.sent += owed
        return _fit(tail, owed).astype(state.dtype, copy=False), state

    def __call__(self, audio: Audio, sample_rate: int, *, key: Audio | None = None) -> Audio:
        """The whole buffer streamed in one block and flushed: ``output_samples(samples)`` long."""
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        self._check_key(x, key)  # type: ignore[attr-defined]
        state = self.init_state(x.shape[0], rate, x.dtype)  # type: ignore[attr-defined]
        y, state = self.process(x, rate, state)  # type: ignore[attr-defined]
        tail, _ = self.flush(state)
        return np.concatenate([y, tail], axis=1)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cut or zero-padded to ``n`` samples: an engine's own count can differ by one (soxr rounds
    a floating-point product at exact halves), and the declared length is what callers plan for."""
    if y.shape[1] >= n:
        return y[:, :n]
    return np.concatenate([y, np.zeros((y.shape[0], n - y.shape[1]), y.dtype)], axis=1)
