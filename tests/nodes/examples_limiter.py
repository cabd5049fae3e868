"""Limiter examples for the shared node contract (tests/nodes/test_contract.py)."""

from sonicmix.nodes.limiter import Limiter

EXAMPLES = [
    (Limiter(), None),
    # per-channel gains, a ceiling the test programme (peaks near +3 dBFS) crosses all the time
    (Limiter(ceiling_dbtp=-6.0, stereo_link=False), None),
    # extremes: the lowest ceiling, fastest release, shortest lookahead (88 samples at 44.1 kHz)
    (Limiter(ceiling_dbtp=-60.0, release_s=0.001, lookahead_s=0.002), None),
    # the highest ceiling, slowest release, longest lookahead
    (Limiter(ceiling_dbtp=0.0, release_s=10.0, lookahead_s=0.1), None),
    # the ceiling held under band-limited reconstruction too (a 16x grid of rows)
    (Limiter(true_peak="ideal", stereo_link=False), None),
]
