from sonicmix.nodes.base import Chain
from sonicmix.nodes.gain import Gain

EXAMPLES = [
    (Gain(gain_db=-3.5), None),
    (Chain((Gain(gain_db=2.0), Gain(gain_db=-1.0))), None),
]
