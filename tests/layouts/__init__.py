"""Tests of sonicmix.layouts: BS.2051 positions, BS.1770 weights, channel masks, fold-downs."""
