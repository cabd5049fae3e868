"""Examples of the parametric (DirAC) Ambisonics decoder for the shared contract test.

The contract test feeds each the Ambisonics channels of its order (4, 9 or 16; its ``_channels``).
"""

from sonicmix.nodes.ambisonics import AmbisonicParametricDecoder

EXAMPLES = [
    (AmbisonicParametricDecoder(), None),
    (AmbisonicParametricDecoder(order=3, layout="7.1.4"), None),
    (AmbisonicParametricDecoder(order=2, layout="22.2", frame_s=0.005, smoothing_s=0.0), None),
]
