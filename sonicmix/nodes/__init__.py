"""DSP nodes: small frozen parameter objects with a pure vectorized core.

See :mod:`sonicmix.nodes.base` for the node model (one-shot and streamed use,
explicit state, side-chain keys, latency).
"""
