"""Biquad cascades as streaming filters: sosfilt's arithmetic with explicit state and float32 safety.

Float32 audio is filtered in float32 when rounding the cascade's feedback
coefficients to float32 moves every section's denominator by less than
0.1 % on the unit circle (then the poles stay inside and the response moves
by under 0.009 dB); otherwise the cascade runs in float64, a cache-sized
block at a time, and the output is cast back. Sections that are exact
identities (a 0 dB peak or shelf) are dropped. Filtering runs in a compiled
kernel that gives ``scipy.signal.sosfilt``'s output bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sonicmix._typing import Audio

__all__ = [
    "SosState",
    "float32_is_safe",
    "non_identity",
    "retune_sos_state",
    "sos_process",
    "sos_state",
    "sosfilt",
]

# Float32 safety: largest relative change of a section's denominator on the
# unit circle that rounding to float32 may cause.
_FLOAT32_DENOMINATOR_TOL = 1e-3


@dataclass(slots=True)
class SosState:
    """Streaming state of a biquad-cascade node.

    Attributes
    ----------
    sos : np.ndarray, shape=(n_sections, 6), or None
        The sections that are run, in the working dtype: the audio's dtype, or
        float64 for float32 audio when the design is not float32-safe (see the
        module docstring). Sections that are exact identities (a 0 dB
        peak or shelf) are left out; None if nothing is left.
    zi : np.ndarray, shape=(n_sections, channels, 2), or None
        ``scipy.signal.sosfilt`` filter memory, in the working dtype.
    """

    sos: NDArray[Any] | None
    zi: NDArray[Any] | None
    channels: int = 0


def _denominator_rounding_error(sos: NDArray[np.float64]) -> float:
    """Largest ``|A32 - A| / |A|`` on the unit circle over the sections of ``sos``.

    ``A(z) = 1 + a1/z + a2/z**2`` is a section's denominator and ``A32`` the same
    with a1 and a2 rounded to float32. Evaluated on a uniform grid plus a fine
    grid around each complex pole's angle, where ``|A|`` is smallest.
    """
    base = np.linspace(0.0, math.pi, 2049)
    worst = 0.0
    for a1, a2 in sos[:, 4:6]:
        w = base
        if a1 * a1 < 4.0 * a2:
            radius = math.sqrt(a2)
            angle = math.acos(min(1.0, max(-1.0, -a1 / (2.0 * radius))))
            spread = max(1.0 - radius, 1e-12)
            w = np.concatenate([base, np.clip(angle + spread * np.linspace(-8.0, 8.0, 65), 0.0, math.pi)])
        z = np.exp(-1j * w)
        exact = 1.0 + z * (a1 + a2 * z)
        delta = z * ((float(np.float32(a1)) - a1) + (float(np.float32(a2)) - a2) * z)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(delta) / np.abs(exact)
        worst = max(worst, float(np.max(np.nan_to_num(ratio, nan=np.inf))))
    return worst


def float32_is_safe(sos: NDArray[np.float64]) -> bool:
    """True if the cascade ``sos`` may run in float32 (see the module docstring).

    Parameters
    ----------
    sos : np.ndarray, shape=(n_sections, 6)
        float64 second-order sections.

    Returns
    -------
    bool
        Whether rounding the feedback coefficients to float32 changes every
        section's denominator by less than 0.1 % on the unit circle.

    Examples
    --------
    >>> from sonicmix.dsp import biquad
    >>> float32_is_safe(biquad.highpass(freq_hz=80.0, q=0.7071, sample_rate=48000))
    True
    >>> float32_is_safe(biquad.highpass(freq_hz=5.0, q=0.7071, sample_rate=192000))
    False
    """
    return _denominator_rounding_error(sos) < _FLOAT32_DENOMINATOR_TOL


def non_identity(sos: NDArray[np.float64]) -> NDArray[np.float64]:
    """The rows of ``sos`` whose numerator differs from their denominator."""
    return sos[~np.all(sos[:, :3] == sos[:, 3:], axis=1)]


def sos_state(sos: NDArray[np.float64], channels: int, dtype: Any) -> SosState:
    rows = non_identity(sos)
    if rows.shape[0] == 0:
        return SosState(sos=None, zi=None, channels=channels)
    work = np.dtype(dtype)
    if work != np.float64 and not float32_is_safe(rows):
        work = np.dtype(np.float64)
    return SosState(
        sos=np.ascontiguousarray(rows, dtype=work),
        zi=np.zeros((rows.shape[0], channels, 2), dtype=work),
        channels=channels,
    )


def sos_process(x: Audio, state: SosState) -> tuple[Audio, SosState]:
    sos, zi = state.sos, state.zi
    if sos is None or zi is None or x.shape[1] == 0:
        return x.copy(), state
    y, state.zi = sosfilt(sos, x, zi)
    return y, state


def sosfilt(sos: NDArray[Any], x: Audio, zi: NDArray[Any], *, axis: int = -1) -> tuple[Audio, NDArray[Any]]:
    """``scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)``, bit for bit, about 2.5x faster here.

    A compiled cascade (:mod:`sonicmix.dsp._cascade`) that runs channel pairs
    and section triples side by side. float32 audio may go through float64
    ``sos``/``zi`` (designs that are not float32-safe); the output keeps the
    audio's dtype.
    """
    from sonicmix.dsp._cascade import cascade

    if axis not in (-1, 1):
        raise ValueError(f"axis={axis}; expected -1 (time is the last axis of (channels, samples))")
    return cascade(sos, x, zi)


def retune_sos_state(old: SosState, sos: NDArray[np.float64], channels: int, dtype: Any) -> SosState:
    """State for the cascade ``sos`` that keeps ``old``'s filter memory (automation).

    The memory carries over section by section when the number of sections
    that are not identities stays the same (the common case); when it
    changes (a band crossing 0 dB), the cascade restarts from rest, a
    transient no larger than the band's deviation from unity. The working
    dtype is kept so the memory never changes precision mid-stream.
    """
    work = old.sos.dtype if old.sos is not None else dtype
    new = sos_state(sos, channels, work)
    if new.sos is not None and new.sos.dtype != work:  # not float32-safe any more
        new = SosState(
            sos=np.ascontiguousarray(new.sos, dtype=work), zi=new.zi.astype(work), channels=channels
        )
    if new.zi is not None and old.zi is not None and new.zi.shape == old.zi.shape:
        new.zi = old.zi
    return new
