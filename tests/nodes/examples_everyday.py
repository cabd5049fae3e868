"""Examples of the everyday nodes for the shared contract test (tests/nodes/test_contract.py).

Each node appears with its defaults and with extreme legal parameters.
"""

from sonicmix.nodes.delay import Delay
from sonicmix.nodes.fade import Fade
from sonicmix.nodes.pan import Pan, Width
from sonicmix.nodes.resample import Resample
from sonicmix.nodes.saturation import Saturation
from sonicmix.nodes.stretch import PitchShift, TimeStretch
from sonicmix.nodes.utility import DCBlocker, Polarity

EXAMPLES = [
    (Pan(), None),
    (Pan(position=-1.0, law="linear"), None),
    (Pan(position=0.3, law="compromise"), None),
    (Pan(position=1.0), None),
    (Width(), None),
    (Width(width=0.0), None),
    (Width(width=2.0), None),
    (Polarity(), None),
    (Polarity(channels=(0,)), None),
    (Polarity(channels=(1, 0)), None),
    (DCBlocker(), None),
    (DCBlocker(cutoff_hz=1000.0), None),
    (DCBlocker(cutoff_hz=0.01), None),
    (Delay(), None),
    # One sample at 48 kHz (one at 44.1 kHz, two at 96 kHz): the shortest delay, the most feedback.
    (Delay(time_s=1 / 48000, feedback=0.99, mix=1.0), None),
    (Delay(time_s=0.05, feedback=0.9, mix=0.7, feedback_lowpass_hz=2000.0, feedback_highpass_hz=300.0), None),
    (Delay(time_s=0.5, feedback=0.0, mix=0.0), None),
    (Delay(time_s=0.0213, feedback=0.6, feedback_lowpass_hz=20000.0), None),
    (Fade(), None),
    (Fade(fade_in_s=0.05, curve="equal_power"), None),
    (Fade(fade_in_s=0.02, fade_out_s=0.1, curve="s_curve", duration_s=0.2), None),
    (Fade(fade_in_s=0.3, fade_out_s=0.3, curve="exponential", duration_s=0.3), None),
    (Fade(fade_out_s=0.01, curve="logarithmic", duration_s=10.0), None),
    (Saturation(), None),
    (Saturation(drive_db=48.0, shape="hard", oversampling=8, mix=0.5), None),
    (Saturation(drive_db=-24.0, shape="atan", oversampling=1), None),
    (Saturation(drive_db=20.0, shape="cubic", oversampling=2, mix=0.0), None),
    (Resample(), None),
    (Resample(target_rate_hz=44100), None),
    (Resample(target_rate_hz=8000, quality="QQ"), None),
    (Resample(target_rate_hz=192000, quality="VHQ"), None),
    (TimeStretch(), None),
    (TimeStretch(rate=1.5), None),
    (TimeStretch(rate=0.25), None),
    (PitchShift(semitones=7.0), None),
    (PitchShift(semitones=-24.0), None),
]
