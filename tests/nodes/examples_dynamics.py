"""Dynamics node examples for the shared contract test (defaults, extremes, key, lookahead)."""

from sonicmix.nodes.dynamics import Compressor, DeEsser, Gate, KeyedCompressor

EXAMPLES = [
    (Compressor(), None),
    # Extremes: hard knee, instant attack and release, maximal makeup, RMS over one sample.
    (
        Compressor(
            threshold_db=-120.0,
            ratio=1000.0,
            knee_db=0.0,
            attack_s=0.0,
            release_s=0.0,
            makeup_db=48.0,
            detector="rms",
            rms_s=1e-6,
        ),
        None,
    ),  # fmt: skip
    (Compressor(threshold_db=0.0, ratio=1.0, knee_db=48.0, attack_s=1.0, release_s=10.0), None),
    # Partial link, RMS detector, detector high-pass and lookahead together.
    (
        Compressor(
            threshold_db=-30.0,
            ratio=3.0,
            detector="rms",
            rms_s=0.003,
            stereo_link=0.4,
            key_highpass_hz=150.0,
            lookahead_s=0.005,
        ),
        None,
    ),  # fmt: skip
    (Compressor(threshold_db=-24.0, stereo_link=0.0, lookahead_s=0.1), None),
    (KeyedCompressor(threshold_db=-30.0, ratio=8.0, key_highpass_hz=500.0, lookahead_s=0.002), 1),
    (KeyedCompressor(threshold_db=-30.0, detector="rms", stereo_link=0.5), 2),
    (KeyedCompressor(threshold_db=-20.0, stereo_link=0.0, attack_s=0.0), 3),
    (Gate(), None),
    (Gate(threshold_db=-20.0, ratio=1.0, range_db=0.0, attack_s=0.0, hold_s=0.0, release_s=0.0), None),
    (Gate(threshold_db=-12.0, ratio=2.0, range_db=120.0, hold_s=10.0, detector="rms", stereo_link=0.3), None),
    (Gate(threshold_db=-15.0, ratio=1000.0, hold_s=0.001, release_s=0.005, stereo_link=0.0), None),
    (DeEsser(), None),
    (
        DeEsser(
            freq_hz=4000.0,
            q=0.5,
            threshold_db=-40.0,
            ratio=20.0,
            range_db=60.0,
            attack_s=0.0,
            release_s=0.0,
            mode="broadband",
            stereo_link=0.0,
        ),
        None,
    ),  # fmt: skip
    (DeEsser(freq_hz=20000.0, q=10.0, threshold_db=-60.0, stereo_link=0.7), None),
]
