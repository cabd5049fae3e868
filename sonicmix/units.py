"""Unit conversions shared by nodes and the renderer."""

from __future__ import annotations

import numpy as np

__all__ = ["db_to_gain", "gain_to_db", "seconds_to_samples"]


def db_to_gain(db: float | np.ndarray) -> float | np.ndarray:
    """Amplitude factor of a level change in dB: ``10 ** (db / 20)``.

    Examples
    --------
    >>> round(db_to_gain(-6.0206), 4)
    0.5
    """
    return 10.0 ** (np.asarray(db) / 20.0) if isinstance(db, np.ndarray) else 10.0 ** (db / 20.0)


def gain_to_db(gain: float | np.ndarray) -> float | np.ndarray:
    """Level in dB of an amplitude factor (``-inf`` for 0).

    Examples
    --------
    >>> round(gain_to_db(2.0), 3)
    6.021
    """
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(np.abs(gain))
    return float(out) if np.ndim(out) == 0 else out


def seconds_to_samples(time_s: float, sample_rate: int) -> int:
    """Nearest whole number of samples for a duration in seconds.

    Examples
    --------
    >>> seconds_to_samples(0.0125, 48000)
    600
    """
    return int(round(time_s * sample_rate))
