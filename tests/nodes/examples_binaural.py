"""Binaural examples for the shared node contract (tests/nodes/test_contract.py).

The HRIR sets are built in code (decaying noise, the far ear delayed and
quieter), so the contract runs without h5py or an installed SOFA file; the
KEMAR set is exercised in tests/spatial/test_binaural.py.
"""

from __future__ import annotations

import numpy as np

from sonicmix.spatial.binaural import Binaural
from sonicmix.spatial.sofa import HrirSet


def toy_hrirs(seed: int, taps: int, sample_rate: int, step_deg: float = 30.0) -> HrirSet:
    """Directions every ``step_deg`` on the horizontal plane, plus one overhead."""
    rng = np.random.default_rng(seed)
    azimuths = np.arange(-180.0 + step_deg, 180.0 + step_deg / 2, step_deg)
    directions = [(float(a), 0.0) for a in azimuths] + [(0.0, 90.0)]
    envelope = np.exp(-np.arange(taps) / (taps / 6.0))
    irs = 0.3 * rng.standard_normal((len(directions), 2, taps)) * envelope
    for i, (azimuth, _) in enumerate(directions):
        lag = int(round(abs(np.sin(np.radians(azimuth))) * min(20, taps // 4)))
        far = 1 if azimuth >= 0 else 0  # the right ear is the far one for a source on the left
        irs[i, far] = 0.5 * np.roll(irs[i, far], lag)
        irs[i, far, :lag] = 0.0
    return HrirSet(irs.astype(np.float32), directions, sample_rate)


EXAMPLES = [
    # Stereo loudspeakers at +-30 degrees, HRIRs at the processing rate, one partition.
    (Binaural(layout="stereo", sofa=toy_hrirs(1, 200, 48000)), None),
    # Two directions, HRIRs at 44.1 kHz (resampled), several 64-sample partitions.
    (
        Binaural(
            directions_deg=((90.0, 0.0), (-100.0, 10.0)),
            sofa=toy_hrirs(2, 300, 44100),
            partition_samples=64,
            max_error_deg=15.0,
        ),
        None,
    ),
    # A one-tap set: each ear gets a scaled copy of the input.
    (Binaural(directions_deg=((0.0, 90.0), (30.0, 0.0)), sofa=toy_hrirs(3, 1, 96000)), None),
    # A 7.1.4 bed (12 channels in) with its LFE into both ears; heights 30 degrees from the set's
    # horizontal plane.
    (
        Binaural(
            layout="7.1.4", sofa=toy_hrirs(4, 64, 48000, step_deg=15.0), lfe_db=-10.0, max_error_deg=35.0
        ),
        None,
    ),
    # A second-order AmbiX scene (9 channels in): the set fitted in spherical harmonics, equalised.
    (Binaural(layout="ambix2", sofa=toy_hrirs(5, 96, 48000, step_deg=20.0)), None),
]
