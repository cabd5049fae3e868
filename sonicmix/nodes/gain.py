"""Gain: a fixed level change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.nodes.base import Node
from sonicmix.units import db_to_gain

__all__ = ["Gain"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Gain(Node):
    """Multiply the signal by a fixed gain.

    Parameters
    ----------
    gain_db : float, default 0.0
        Level change in dB (relative). Must be finite and <= +96 dB; use
        :class:`Polarity` to invert the signal.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 3), dtype=np.float32)
    >>> Gain(gain_db=-6.0206)(x, 48000).round(3)
    array([[0.5, 0.5, 0.5]], dtype=float32)
    """

    gain_db: float = 0.0
    automatable: ClassVar[frozenset[str]] = frozenset({"gain_db"})

    def __post_init__(self) -> None:
        check_range("gain_db", self.gain_db, high=96.0)

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        return x * x.dtype.type(db_to_gain(self.gain_db)), state
