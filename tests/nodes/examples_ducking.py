"""Ducker examples for the contract test: defaults, extremes, band mode, loudness-aware, key channels."""

from sonicmix.nodes.ducking import Ducker

EXAMPLES = [
    (Ducker(), 1),
    # Extremes: deepest, fastest, no hold, no lookahead, no minimum duration, the lowest fixed threshold.
    (
        Ducker(
            depth_db=60.0,
            attack_s=0.001,
            release_s=0.001,
            hold_s=0.0,
            lookahead_s=0.0,
            min_speech_s=0.0,
            threshold_db=-100.0,
        ),
        1,
    ),  # fmt: skip
    # Slowest and longest: the ducker barely moves within the test signal; lookahead longer than a block.
    (
        Ducker(
            depth_db=0.0,
            attack_s=5.0,
            release_s=30.0,
            hold_s=10.0,
            lookahead_s=0.3,
            min_speech_s=1.0,
            threshold_db=0.0,
        ),
        2,
    ),  # fmt: skip
    (Ducker(depth_db=20.0, threshold_db=-30.0, key_highpass_hz=2000.0, key_lowpass_hz=20000.0 - 1.0), 1),
    (Ducker(mode="band", band_low_hz=20.0, band_high_hz=20000.0, attack_s=0.01, hold_s=0.1), 3),
    (Ducker(below_lu=10.0, depth_db=30.0, hold_s=0.2, release_s=0.2), 2),
    (Ducker(below_lu=0.0, depth_db=60.0, mode="band", lookahead_s=0.05, threshold_db=-40.0), 1),
    (Ducker(below_lu=60.0, depth_db=6.0, attack_s=0.001, release_s=0.001, hold_s=0.0), 6),
]

# The key gated by the speech detector: broadband, and loudness-aware with a stereo key.
EXAMPLES += [
    (Ducker(speech_gate=True), 1),
    (Ducker(speech_gate=True, below_lu=6.0, lookahead_s=0.0), 2),
]
