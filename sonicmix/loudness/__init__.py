"""Loudness measurement: ITU-R BS.1770-5 and EBU Mode (Tech 3341, Tech 3342).

pyloudnorm and libebur128 (pyebur128) serve as test oracles only; this is our
own implementation.
"""

from sonicmix.loudness.kweighting import k_weighting_sos
from sonicmix.loudness.meter import LoudnessMeter, integrated_loudness, measure
from sonicmix.loudness.report import LoudnessReport
from sonicmix.loudness.truepeak import true_peak

__all__ = [
    "LoudnessMeter",
    "LoudnessReport",
    "integrated_loudness",
    "k_weighting_sos",
    "measure",
    "true_peak",
]
