"""The K-weighting filter of ITU-R BS.1770, designed for any sample rate.

BS.1770 tabulates the two biquads only at 48 kHz. Both stages are second-order
analog prototypes (a high-frequency shelf of about +4 dB and the RLB
high-pass), so they can be redesigned at any rate with the bilinear transform,
prewarped at each stage's characteristic frequency. The prototype constants
below are the ones that reproduce the 48 kHz table to within 1e-8.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["k_weighting_sos"]

# Stage 1: high shelf (models the acoustic effect of the head).
_SHELF_F0_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
# Stage 2: RLB high-pass (revised low-frequency B-curve).
_HIGHPASS_F0_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """Return the K-weighting filter as second-order sections.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray, shape=(2, 6), float64
        ``[b0, b1, b2, 1, a1, a2]`` per stage (shelf, then high-pass), the
        layout ``scipy.signal.sosfilt`` takes.

    References
    ----------
    ITU-R BS.1770-5, Annex 1, Tables 1 and 2 (coefficients at 48 kHz).

    Examples
    --------
    >>> sos = k_weighting_sos(48000)
    >>> sos[0, :3].round(8).tolist()   # BS.1770 Table 1: b0, b1, b2
    [1.53512486, -2.69169619, 1.19839281]
    """
    fs = float(sample_rate)

    k = math.tan(math.pi * _SHELF_F0_HZ / fs)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]

    k = math.tan(math.pi * _HIGHPASS_F0_HZ / fs)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)
