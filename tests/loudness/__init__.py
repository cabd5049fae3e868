"""Tests of sonicmix.loudness: standard conformance and independent oracles."""
