"""Denoise examples for the shared node contract (tests/nodes/test_contract.py)."""

from sonicmix.nodes.denoise import Denoise

EXAMPLES = [
    (Denoise(), None),
    # per-channel gains, the deepest reduction, the shortest frame, no low band
    (Denoise(reduction_db=40.0, frame_s=0.01, stereo_link=False, speech_low_hz=0.0), None),
    # the longest frame (4800 samples at 48 kHz: longer than some test blocks), a pass-through gain
    (Denoise(reduction_db=0.0, frame_s=0.1), None),
    # a profile learned from the first 30 ms (the contract's shortest signal lasts 94 ms)
    (Denoise(profile_s=(0.0, 0.03), frame_s=0.01), None),
]
