"""Tests of ``sonicmix.dsp``."""
