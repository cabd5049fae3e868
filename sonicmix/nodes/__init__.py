"""DSP nodes: small frozen parameter objects with a pure vectorized core.

See :mod:`sonicmix.nodes.base` for the node model (one-shot and streamed use,
explicit state, side-chain keys, latency). :class:`sonicmix.nodes.plugin.PluginNode`
hosts a pedalboard plugin (a built-in, or a VST3 / Audio Unit file) as a node;
it needs the optional extra ``pip install "sonicmix[plugins]"``, and importing
this package never needs it.
"""
