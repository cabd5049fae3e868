"""EQ node examples for the shared node contract (tests/nodes/test_contract.py).

The contract runs them at 44.1, 48 and 96 kHz, so every frequency is below
22050 Hz. Extremes of the legal ranges are included on purpose: q=0.01 and
q=100, gains of +-48 dB, 1 Hz, just below the 44.1 kHz Nyquist frequency, and
designs that are not float32-safe (they run in float64 for float32 audio).
"""

from sonicmix.nodes.eq import (
    AllPass,
    BandPass,
    ButterworthHighPass,
    ButterworthLowPass,
    HighPass,
    HighShelf,
    LinkwitzRileyHighPass,
    LinkwitzRileyLowPass,
    LowPass,
    LowShelf,
    Notch,
    ParametricEQ,
    Peak,
)

Band = ParametricEQ.Band

_TYPICAL = (
    Band(kind="high_pass", freq_hz=80.0),
    Band(kind="peak", freq_hz=250.0, gain_db=-3.0, q=1.0),
    Band(kind="peak", freq_hz=3000.0, gain_db=2.0, q=1.0),
    Band(kind="high_shelf", freq_hz=10000.0, gain_db=3.0),
)

EXAMPLES = [
    (LowPass(), None),
    (LowPass(cutoff_hz=1.0, q=100.0), None),  # float64 path, rings for minutes
    (LowPass(cutoff_hz=22000.0, q=0.01), None),
    (HighPass(), None),
    (HighPass(cutoff_hz=20.0, q=10.0), None),
    (HighPass(cutoff_hz=21999.0, q=100.0), None),
    (BandPass(), None),
    (BandPass(freq_hz=1.0, q=0.01), None),
    (BandPass(freq_hz=15000.0, q=100.0), None),
    (Notch(), None),
    (Notch(freq_hz=50.0, q=100.0), None),
    (Notch(freq_hz=22000.0, q=0.01), None),
    (AllPass(), None),
    (AllPass(freq_hz=5.0, q=100.0), None),
    (Peak(freq_hz=3000.0, gain_db=2.0, q=1.0), None),
    (Peak(), None),  # 0 dB: the identity
    (Peak(freq_hz=30.0, gain_db=48.0, q=100.0), None),
    (Peak(freq_hz=22000.0, gain_db=-48.0, q=0.01), None),
    (LowShelf(freq_hz=100.0, gain_db=6.0), None),
    (LowShelf(freq_hz=1.0, gain_db=-48.0, q=100.0), None),
    (LowShelf(freq_hz=20000.0, gain_db=48.0, q=0.01), None),
    (HighShelf(freq_hz=10000.0, gain_db=3.0), None),
    (HighShelf(freq_hz=1.0, gain_db=48.0, q=0.01), None),
    (HighShelf(freq_hz=22000.0, gain_db=-48.0, q=100.0), None),
    (ButterworthLowPass(), None),
    (ButterworthLowPass(cutoff_hz=1.0, order=16), None),
    (ButterworthLowPass(cutoff_hz=22000.0, order=1), None),
    (ButterworthHighPass(), None),
    (ButterworthHighPass(cutoff_hz=21000.0, order=16), None),
    (ButterworthHighPass(cutoff_hz=5.0, order=3), None),
    (LinkwitzRileyLowPass(), None),
    (LinkwitzRileyLowPass(cutoff_hz=2000.0, order=2), None),
    (LinkwitzRileyHighPass(), None),
    (LinkwitzRileyHighPass(cutoff_hz=20000.0, order=16), None),
    (ParametricEQ(), None),
    (ParametricEQ(bands=_TYPICAL), None),
    (
        ParametricEQ(
            bands=(
                Band(kind="low_shelf", freq_hz=1.0, gain_db=48.0, q=100.0),
                Band(kind="notch", freq_hz=22000.0, q=0.01),
                Band(kind="low_pass", freq_hz=21000.0, q=100.0),
                Band(kind="peak", freq_hz=500.0, gain_db=-48.0, q=0.01, enabled=False),
            )
        ),
        None,
    ),
    (ParametricEQ(bands=_TYPICAL, phase="linear"), None),
    (
        ParametricEQ(
            bands=(
                Band(kind="peak", freq_hz=1000.0, gain_db=6.0, q=2.0),
                Band(kind="low_pass", freq_hz=12000.0),
                Band(kind="notch", freq_hz=5000.0, q=4.0),
            ),
            phase="linear",
        ),
        None,
    ),
    (ParametricEQ(bands=(Band(kind="peak", gain_db=0.0),), phase="linear"), None),  # identity
]
