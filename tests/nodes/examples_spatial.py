"""Examples of the spatial nodes for the shared contract test (tests/nodes/test_contract.py).

The panner and the encoder take the contract's stereo programme; the rotator and the
decoder take the Ambisonics channels of their order (4, 9 or 16), which the contract
test feeds them (its ``_channels``).
"""

from sonicmix.nodes.ambisonics import AmbisonicDecoder, AmbisonicEncoder, AmbisonicRotator
from sonicmix.nodes.objectpanner import ObjectPanner

EXAMPLES = [
    (ObjectPanner(), None),
    (ObjectPanner(layout="7.1.4", azimuth_deg=-135.0, elevation_deg=30.0), None),
    (ObjectPanner(layout="22.2", azimuth_deg=725.0, elevation_deg=-90.0, spread_deg=180.0,
                  stereo_width_deg=180.0, lfe_db=10.0, ramp_s=0.0), None),  # fmt: skip
    (ObjectPanner(layout="stereo", azimuth_deg=170.0, spread_deg=45.0, stereo_width_deg=0.0), None),
    (ObjectPanner(layout="mono", elevation_deg=90.0, lfe_db=-20.0), None),
    (AmbisonicEncoder(), None),
    (AmbisonicEncoder(order=3, azimuth_deg=-400.0, elevation_deg=-90.0, stereo_width_deg=180.0), None),
    (AmbisonicEncoder(order=2, elevation_deg=45.0, ramp_s=1.0), None),
    (AmbisonicRotator(), None),
    (AmbisonicRotator(order=3, yaw_deg=1e4, pitch_deg=-90.0, roll_deg=-30.0, frame="head"), None),
    (AmbisonicRotator(order=2, pitch_deg=90.0, ramp_s=0.0), None),
    (AmbisonicDecoder(), None),
    (AmbisonicDecoder(order=3, layout="7.1.4"), None),
    (AmbisonicDecoder(order=2, layout="22.2", max_re=False), None),
    (AmbisonicDecoder(order=3, layout="stereo", method="sampling"), None),
]
