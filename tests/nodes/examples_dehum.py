"""DeHum and DeClick examples for the shared node contract (tests/nodes/test_contract.py).

The contract's signals are shorter than the second DeHum analyses when it
finds the fundamental itself, so for ``fundamental_hz=None`` it checks the
delay line (zeros out, latency reported); tests/nodes/test_dehum.py streams
across the detection. Extremes of the legal ranges are included.
"""

from sonicmix.nodes.dehum import DeClick, DeHum

EXAMPLES = [
    (DeHum(), None),
    (DeHum(fundamental_hz=50.0), None),
    (DeHum(fundamental_hz=60.0, harmonics=1, bandwidth_hz=20.0, max_drift_hz=0.0), None),
    (DeHum(fundamental_hz=40.0, harmonics=200, bandwidth_hz=0.1, max_drift_hz=5.0, tracking_hz=10.0), None),
    (DeHum(fundamental_hz=70.0, harmonics=8, tracking_hz=0.1), None),
    (DeClick(), None),
    (DeClick(threshold_db=10.0, max_click_s=0.0001, order=4), None),  # (6 dB flags half the noise: slow)
    (DeClick(threshold_db=40.0, max_click_s=0.01, order=128), None),
]
