"""Leveler examples for the shared node contract (tests/nodes/test_contract.py)."""

from sonicmix.nodes.leveler import Leveler

EXAMPLES = [
    (Leveler(), None),
    # causal (no lookahead beyond the detector's), fast, wide limits
    (Leveler(target_lufs=-30.0, max_boost_db=40.0, max_cut_db=40.0, response_s=0.01, window_s=0.4,
             lookahead_s=0.0), None),
    # the longest window, all of it ahead
    (Leveler(target_lufs=-16.0, window_s=6.0, lookahead_s=6.0, response_s=5.0), None),
]
