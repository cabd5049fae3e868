"""Small utility nodes: polarity inversion and DC removal."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = ["Polarity", "DCBlocker"]


def _check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Raise ParameterError unless ``value`` is one of ``choices`` (a Literal's values)."""
    if isinstance(value, bool) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"{name}={value!r} is not supported; expected one of {listed}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Polarity(Node):
    """Invert the polarity (multiply by -1) of all channels or of chosen ones.

    Parameters
    ----------
    channels : tuple of int or None, default None
        Indices of the channels to invert (0 is the first channel); ``None``
        inverts every channel. Indices must be distinct and exist in the
        audio the node is given.

    Raises
    ------
    LayoutError
        When processing audio that lacks one of the ``channels``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, -0.5], [0.25, 0.0]], dtype=np.float32)
    >>> Polarity()(x, 48000)
    array([[-1.  ,  0.5 ],
           [-0.25, -0.  ]], dtype=float32)
    >>> Polarity(channels=(1,))(x, 48000)
    array([[ 1.  , -0.5 ],
           [-0.25, -0.  ]], dtype=float32)
    """

    channels: tuple[int, ...] | None = None

    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "channels": "it is a selection of channels, not a number"
    }

    def __post_init__(self) -> None:
        if self.channels is None:
            return
        if isinstance(self.channels, (str, bytes)) or not isinstance(self.channels, Sequence):
            raise ParameterError(
                f"channels={self.channels!r} is not a sequence; expected a tuple of channel indices "
                "such as (0,) or None for every channel"
            )
        chans = tuple(self.channels)
        for c in chans:
            if isinstance(c, bool) or not isinstance(c, Integral) or c < 0:
                raise ParameterError(
                    f"channels={chans!r} holds {c!r}; expected non-negative integer channel indices"
                )
        if len(set(chans)) != len(chans):
            raise ParameterError(f"channels={chans!r} repeats an index; expected each channel once")
        object.__setattr__(self, "channels", tuple(int(c) for c in chans))

    def output_channels(self, channels: int) -> int:
        if self.channels is not None and self.channels and max(self.channels) >= channels:
            raise LayoutError(
                f"Polarity(channels={self.channels!r}) needs channel {max(self.channels)}, but the audio has "
                f"{channels} channel{'s' if channels != 1 else ''}; expected indices below {channels}"
            )
        return channels

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> None:
        self.output_channels(channels)
        return None

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        if self.channels is None:
            return np.negative(x), state
        y = x.copy()
        for c in self.channels:
            np.negative(y[c], out=y[c])
        return y, state


@dataclass(frozen=True, slots=True, kw_only=True)
class DCBlocker(Node):
    """Remove DC offset with a first-order (one-pole, one-zero) high-pass.

    The filter is the bilinear transform of the analog first-order
    high-pass ``s / (s + wc)`` with prewarping, i.e.
    ``H(z) = g (1 - z^-1) / (1 - p z^-1)`` with ``K = tan(pi cutoff_hz /
    sample_rate)``, ``p = (1 - K) / (1 + K)`` and ``g = 1 / (1 + K)``: a zero
    at DC, unity gain at Nyquist and exactly -3.01 dB at ``cutoff_hz``. It is
    the same filter as ``scipy.signal.butter(1, cutoff_hz, "highpass",
    fs=sample_rate)``.

    Parameters
    ----------
    cutoff_hz : float, default 10.0
        The -3 dB frequency, in Hz. Must satisfy 0 < cutoff_hz <= 1000 and
        lie below the Nyquist frequency.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.full((1, 48000), 0.5, dtype=np.float32)  # pure DC
    >>> y = DCBlocker(cutoff_hz=10.0)(x, 48000)
    >>> bool(abs(y[0, -1]) < 1e-3)
    True

    In a graph, ``cutoff_hz`` may follow automation (see
    ``docs/automation.md``): the filter is redesigned at the start of each
    control block and keeps its memory.

    Two chunks give the one-shot result:

    >>> node = DCBlocker()
    >>> state = node.init_state(1, 48000, np.float32)
    >>> a, state = node.process(x[:, :1000], 48000, state)
    >>> b, state = node.process(x[:, 1000:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), y))
    True
    """

    cutoff_hz: float = 10.0

    automatable: ClassVar[frozenset[str]] = frozenset({"cutoff_hz"})
    #: Parameters that cannot follow automation, and why (none: every parameter can).
    automation_refusals: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        check_range(
            "cutoff_hz",
            self.cutoff_hz,
            low=0.0,
            high=1000.0,
            low_inclusive=False,
            hint="a DC blocker sits in the infrasonic range; for higher cutoffs use a high-pass filter",
        )

    def _sos(self, sample_rate: int) -> np.ndarray:
        if self.cutoff_hz >= sample_rate / 2:
            raise ParameterError(
                f"cutoff_hz={self.cutoff_hz:g} is at or above the Nyquist frequency of "
                f"sample_rate={sample_rate}; expected cutoff_hz < {sample_rate / 2:g}"
            )
        k = math.tan(math.pi * self.cutoff_hz / sample_rate)
        g = 1.0 / (1.0 + k)
        pole = (1.0 - k) / (1.0 + k)
        return np.array([[g, -g, 0.0, 1.0, -pole, 0.0]])

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> dict[str, Any]:
        dt = np.dtype(dtype)
        return {"sos": self._sos(sample_rate).astype(dt), "zi": np.zeros((1, channels, 2), dt)}

    def retune(self, state: dict[str, Any], sample_rate: int) -> dict[str, Any]:
        """Redesign the filter for a new ``cutoff_hz``, keeping its memory (automation)."""
        state["sos"] = self._sos(sample_rate).astype(state["zi"].dtype)
        return state

    def process(
        self, x: Audio, sample_rate: int, state: dict[str, Any], *, key: Audio | None = None
    ) -> tuple[Audio, dict[str, Any]]:
        check_stream_dtype(self, x, state["zi"].dtype)
        if x.shape[1] == 0:
            return x.copy(), state
        from sonicmix.dsp.sosfilter import sosfilt

        y, state["zi"] = sosfilt(state["sos"], x, state["zi"])
        return y, state
