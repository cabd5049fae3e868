"""PluginNode examples for the shared node contract (tests/nodes/test_contract.py).

pedalboard is an optional extra (``sonicmix[plugins]``, also in ``[test]``): without it there are
no examples here (and the contract's every-class-has-an-example check names PluginNode).
"""

from __future__ import annotations

from importlib.util import find_spec

EXAMPLES: list = []

if find_spec("pedalboard") is not None:
    from sonicmix.nodes.plugin import PluginNode

    EXAMPLES = [
        # On the caller's blocks (no latency): an LFO, a detector, a waveshaper, all-pass stages.
        (PluginNode("Chorus", rate_hz=3.0, depth=0.6, mix=0.7), None),
        (PluginNode("Compressor", threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=80.0), None),
        (PluginNode("Distortion", drive_db=18.0), None),
        (PluginNode("Phaser", rate_hz=2.0, feedback=0.5), None),
        (PluginNode("LadderFilter", mode="HPF24", cutoff_hz=400.0, resonance=0.3), None),
        # Fixed blocks: a lookahead limiter (latency 511 + 5 ms), and a resampler's filters.
        (PluginNode("BrickwallLimiter", ceiling_db=-6.0), None),
        (PluginNode("Resample", target_sample_rate=16000.0), None),
        # A plugin on the caller's blocks forced to fixed blocks of 64.
        (PluginNode("Delay", delay_seconds=0.01, feedback=0.4, block_samples=64), None),
    ]
    from tests.plugins import TEST_PLUGIN, built

    if built():  # a VST3 file (scripts/build_test_plugin.sh): state in its filter and its delay line
        EXAMPLES.append((PluginNode(path=str(TEST_PLUGIN), gain_db=-3.0, tone_hz=3000.0), None))
