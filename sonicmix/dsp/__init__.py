"""Pure DSP functions over samples and coefficients (no state, no parameter objects).

``sonicmix.dsp.biquad`` designs filters as second-order sections; nodes in
``sonicmix.nodes`` turn their parameters into these coefficients.
"""
