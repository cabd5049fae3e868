"""The live meter and the series at any hop: readings after any sample, checked against the formulas.

The oracle is the slow, direct computation of BS.1770 windows with
``scipy.signal.sosfilt`` in float64 (as in test_meter.py): the power of every
window ending at every sample, the window reaching back before the first sample
reading silence there (libebur128 does the same; test_oracles.py checks it
against libebur128 itself). Tolerances: 1e-9 LU where ours and the oracle sum
the same float64 powers in another order (the meter's running total against
``np.cumsum``); exact equality where both sides are the same numbers.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonicmix.errors import AudioError, ParameterError
from sonicmix.loudness import LoudnessMeter, k_weighting_sos, measure
from sonicmix.loudness.meter import _GatedBlocks, _integrated

FS = 48000
# Same powers summed in another order (the meter's running total against np.cumsum).
ORDER_TOL_LU = 1e-9


def material(rng: np.random.Generator, seconds: float, fs: int = FS, channels: int = 2) -> np.ndarray:
    """Noise under a stepped envelope with two silent gaps: gating and windows have work to do."""
    n = int(seconds * fs)
    steps = np.repeat(rng.uniform(0.003, 0.5, int(seconds * 4) + 1), fs // 4)[:n]
    x = rng.standard_normal((channels, n)) * steps
    x[:, int(0.3 * n) : int(0.38 * n)] = 0.0
    x[:, int(0.7 * n) : int(0.72 * n)] = 0.0
    return x


def window_powers(x: np.ndarray, fs: int, window_s: float) -> np.ndarray:
    """Power of the window ending after each sample k (index k - 1), silence before sample 0."""
    y = scipy.signal.sosfilt(k_weighting_sos(fs), x.astype(np.float64), axis=1)
    c = np.concatenate([[0.0], np.cumsum(np.sum(y * y, axis=0))])  # stereo: weights 1, 1
    w = round(window_s * fs)
    ends = np.arange(1, x.shape[1] + 1)
    return (c[ends] - c[np.maximum(ends - w, 0)]) / w


def lufs(power: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(np.maximum(power, 0.0))


def assert_lufs_close(ours: np.ndarray, expected: np.ndarray, tol: float = ORDER_TOL_LU) -> None:
    """Equal to ``tol`` where the oracle is above -70 LUFS; below it, ours must be below too.

    Under -70 LUFS (the filter's tail in silence) a difference of two running totals
    carries too few significant digits for 1e-9 LU, and nothing gates on those values.
    """
    audible = expected > -70.0
    np.testing.assert_allclose(ours[audible], expected[audible], rtol=0, atol=tol)
    assert np.all(ours[~audible] < -69.9)


def block_sizes(rng: np.random.Generator, total: int) -> list[int]:
    """Random block sizes, 1 sample to 20000, log-uniform, summing to ``total``."""
    sizes, done = [], 0
    while done < total:
        size = min(total - done, int(np.exp(rng.uniform(0.0, math.log(20000.0)))))
        sizes.append(size)
        done += size
    return sizes


# --------------------------------------------------------------------------- live readings


def test_momentary_and_short_term_after_every_block_are_the_windows_ending_there(rng):
    x = material(rng, 8.0)
    m_power, s_power = window_powers(x, FS, 0.4), window_powers(x, FS, 3.0)
    meter = LoudnessMeter(FS, channels=2, dtype=np.float64)
    done, ours_m, ours_s, ends = 0, [], [], []
    for size in block_sizes(rng, x.shape[1]):
        meter.update(x[:, done : done + size])
        done += size
        ours_m.append(meter.momentary_lufs)
        ours_s.append(meter.short_term_lufs)
        ends.append(done)
    ends_index = np.array(ends) - 1
    assert len(ends) > 100 and min(ends) < 0.4 * FS  # readings inside the first windows too
    assert_lufs_close(np.array(ours_m), lufs(m_power[ends_index]))
    assert_lufs_close(np.array(ours_s), lufs(s_power[ends_index]))


def test_readings_at_every_sample_equal_the_one_sample_series_exactly(rng):
    """The live reading after sample k and the series value of the window ending there are one number."""
    x = material(rng, 1.0).astype(np.float32)
    series = measure(x, FS, hop_s=1 / FS, true_peak=False)
    meter = LoudnessMeter(FS, channels=2)
    first = round(0.4 * FS)
    readings = []
    for k in range(x.shape[1]):
        meter.update(x[:, k : k + 1])
        if k + 1 >= first:
            readings.append(meter.momentary_lufs)
    np.testing.assert_array_equal(np.array(readings), series.momentary_lufs)


def test_integrated_so_far_is_the_report_value_after_any_sample(rng):
    x = material(rng, 20.0)
    x[:, : FS // 2] *= 1e-5  # a start below the absolute gate
    meter = LoudnessMeter(FS, channels=2, true_peak=False)
    checked = 0
    for size in block_sizes(rng, x.shape[1]):
        meter.update(x[:, meter.samples_seen : meter.samples_seen + size])
        if rng.uniform() < 0.15 or meter.samples_seen == x.shape[1]:
            expected = meter.report().integrated_lufs
            live = meter.integrated_lufs
            if math.isinf(expected):
                assert live == expected
            else:
                assert live == pytest.approx(expected, abs=ORDER_TOL_LU)
                checked += 1
    assert checked > 20
    assert meter.integrated_lufs == pytest.approx(measure(x, FS).integrated_lufs, abs=ORDER_TOL_LU)


def test_live_maxima_are_the_report_maxima(rng):
    x = material(rng, 7.0)
    meter = LoudnessMeter(FS, channels=2, true_peak=False)
    meter.update(x[:, : int(0.3 * FS)])
    assert meter.momentary_max_lufs == -math.inf and meter.short_term_max_lufs == -math.inf
    for part in np.array_split(x[:, int(0.3 * FS) :], 9, axis=1):
        meter.update(part)
        report = meter.report()
        assert meter.momentary_max_lufs == report.momentary_max_lufs
        assert meter.short_term_max_lufs == report.short_term_max_lufs


def test_silence_and_short_programmes_read_minus_infinity():
    meter = LoudnessMeter(FS, channels=2)
    meter.update(np.zeros((2, FS), np.float32))
    assert meter.momentary_lufs == meter.short_term_lufs == meter.integrated_lufs == -math.inf
    short = LoudnessMeter(FS, channels=1)
    short.update(np.full((1, round(0.4 * FS) - 1), 0.1, np.float32))
    assert short.integrated_lufs == -math.inf  # no complete 400 ms block yet
    assert math.isfinite(short.momentary_lufs)  # the window reads silence before the start
    short.update(np.full((1, 1), 0.1, np.float32))
    assert math.isfinite(short.integrated_lufs)


LIVE_READINGS = [
    "momentary_lufs",
    "short_term_lufs",
    "integrated_lufs",
    "momentary_max_lufs",
    "short_term_max_lufs",
]


@pytest.mark.parametrize("name", LIVE_READINGS)
def test_a_reading_before_any_sample_is_a_named_error(name):
    meter = LoudnessMeter(FS, channels=2)
    meter.update(np.zeros((2, 0), np.float32))  # an empty block is no sample either
    with pytest.raises(AudioError, match=rf"LoudnessMeter\.{name} was read before any sample"):
        getattr(meter, name)


# --------------------------------------------------------------------------- the gating histogram


def _gate_lufs(powers: np.ndarray) -> float:
    above = powers[powers > 10 ** ((-70.0 + 0.691) / 10)]
    return float(lufs(above.mean())) - 10.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    levels=st.lists(st.floats(-85.0, 40.0), min_size=1, max_size=300),
    near_gate=st.lists(st.floats(-0.12, 0.12).filter(lambda lu: abs(lu) > 1e-6), max_size=40),
    cuts=st.lists(st.integers(0, 340), max_size=6),
)
def test_histogram_integrated_equals_the_direct_gate(levels, near_gate, cuts):
    """Blocks anywhere from -85 to +40 LUFS, some within 0.12 LU of the relative gate (the bins
    compared block by block), folded in any chunks: the direct BS.1770 computation to 1e-9 LU.

    Not closer than 1e-6 LU to the gate: the two compute the gate from sums of the same powers
    added in another order (1e-15 apart), and a block within that of the gate may go either way,
    in the gate itself as in any floating-point implementation of it.
    """
    powers = 10 ** ((np.array(levels) + 0.691) / 10)
    if near_gate and np.any(powers > 10 ** ((-70.0 + 0.691) / 10)):
        # the added blocks move the gate: place them around the gate they make (a fixed point)
        gate, offsets = _gate_lufs(powers), np.array(near_gate)
        for _ in range(30):
            gate = _gate_lufs(np.concatenate([powers, 10 ** ((gate + offsets + 0.691) / 10)]))
        powers = np.concatenate([powers, 10 ** ((gate + offsets + 0.691) / 10)])
    gated = _GatedBlocks()
    for part in np.split(powers, sorted({min(c, powers.size) for c in cuts})):
        gated.fold(part)
    expected, _ = _integrated(powers)
    if math.isinf(expected):
        assert gated.integrated() == expected
    else:
        assert gated.integrated() == pytest.approx(expected, abs=ORDER_TOL_LU)


def test_histogram_gates_blocks_inside_a_bin_one_by_one():
    """Blocks 0.004 LU either side of the relative gate share a 0.1 LU bin: a bin-level gate
    (libebur128's histogram) keeps all or none of them; ours keeps exactly those above."""
    loud = np.full(10, 10 ** ((-20.0 + 0.691) / 10))
    gate = _gate_lufs(loud)  # the quiet blocks below move it a little: iterate to the fixed point
    for _ in range(20):
        quiet = 10 ** ((gate + np.array([-0.004] * 50 + [0.004] * 50) + 0.691) / 10)
        gate = _gate_lufs(np.concatenate([loud, quiet]))
    powers = np.concatenate([loud, quiet])
    kept = powers > 10 ** ((gate + 0.691) / 10)
    assert 10 < kept.sum() < powers.size  # the gate splits the quiet blocks
    gated = _GatedBlocks()
    gated.fold(powers)
    assert gated.integrated() == pytest.approx(float(lufs(powers[kept].mean())), abs=ORDER_TOL_LU)
    bins = _GatedBlocks.bins(lufs(powers[10:]))
    assert np.unique(bins).size <= 2  # the quiet blocks lie in one or two bins


# --------------------------------------------------------------------------- series at any hop


@pytest.mark.parametrize(
    ("fs", "hop_s"),
    [(48000, 1 / 48000), (48000, 7 / 48000), (48000, 0.01), (44100, 0.0123), (11025, 0.1), (22050, 0.05)],
)
def test_series_at_any_hop_are_the_windows_on_that_grid(rng, fs, hop_s):
    """Window j starts at floor(j * hop_s * fs): values, end times and count from the formulas."""
    x = material(rng, 4.0, fs)
    report = measure(x, fs, hop_s=hop_s, true_peak=False)
    hop = Fraction(hop_s).limit_denominator(10**6) * fs
    for values, times, window_s in (
        (report.momentary_lufs, report.momentary_times_s, 0.4),
        (report.short_term_lufs, report.short_term_times_s, 3.0),
    ):
        w = round(window_s * fs)
        starts = np.array([j * hop.numerator // hop.denominator for j in range(values.size + 1)])
        assert starts[-2] + w <= x.shape[1] < starts[-1] + w  # every complete window, no more
        ends = starts[:-1] + w
        np.testing.assert_array_equal(times, ends / fs)
        assert_lufs_close(values, lufs(window_powers(x, fs, window_s)[ends - 1]))
    assert report.hop_s == pytest.approx(hop_s, rel=1e-12)


def test_a_hop_of_a_fractional_number_of_samples_alternates_and_never_drifts():
    """0.1 s at 11025 Hz is 1102.5 samples: hops of 1102 and 1103 in turn, window 100 ends at 10.4 s."""
    report = measure(np.full((1, 11 * 11025), 0.1, np.float32), 11025, hop_s=0.1)
    ends = np.rint(report.momentary_times_s * 11025).astype(np.int64)
    assert set(np.diff(ends).tolist()) == {1102, 1103}
    assert report.momentary_times_s[100] == pytest.approx(10.4, abs=0.5 / 11025)


def test_the_default_hop_is_the_100ms_report_and_other_hops_change_only_the_series(rng):
    x = material(rng, 9.0).astype(np.float32)
    default = measure(x, FS)
    explicit = measure(x, FS, hop_s=0.1)
    fine = measure(x, FS, hop_s=0.01)
    for name in ("integrated_lufs", "lra_lu", "relative_gate_lufs", "momentary_max_lufs", "true_peak_dbtp"):
        assert getattr(explicit, name) == getattr(default, name) == getattr(fine, name), name
    np.testing.assert_array_equal(explicit.momentary_lufs, default.momentary_lufs)
    np.testing.assert_array_equal(explicit.short_term_times_s, default.short_term_times_s)
    assert default.hop_s == 0.1 and fine.hop_s == 0.01
    # every tenth 10 ms window is a 100 ms window
    np.testing.assert_array_equal(fine.momentary_lufs[::10], default.momentary_lufs)
    np.testing.assert_array_equal(fine.short_term_times_s[::10], default.short_term_times_s)
    np.testing.assert_array_equal(default.block_powers, 10 ** ((default.momentary_lufs + 0.691) / 10))
    with pytest.raises(ParameterError, match=r"block_powers of a report with hop_s=0\.01.*hop_s=0\.1"):
        fine.block_powers  # noqa: B018 - the property raises


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 3 * FS), max_size=8), hop_samples=st.integers(1, 6000))
def test_streamed_series_at_any_hop_equal_whole(cuts, hop_samples):
    x = material(np.random.default_rng(len(cuts)), 3.0).astype(np.float32)
    whole = measure(x, FS, hop_s=hop_samples / FS, true_peak=False)
    meter = LoudnessMeter(FS, channels=2, true_peak=False, hop_s=hop_samples / FS)
    for part in np.split(x, sorted(cuts), axis=1):
        meter.update(part)
    streamed = meter.report()
    np.testing.assert_array_equal(streamed.momentary_lufs, whole.momentary_lufs)
    np.testing.assert_array_equal(streamed.short_term_lufs, whole.short_term_lufs)
    np.testing.assert_array_equal(streamed.momentary_times_s, whole.momentary_times_s)


@pytest.mark.parametrize(
    ("hop_s", "pattern"),
    [
        (0.0, r"hop_s=0 is out of range; expected hop_s > 0"),
        (-0.01, r"hop_s=-0\.01 is out of range; expected hop_s > 0"),
        (math.nan, r"hop_s=nan is not finite"),
        (math.inf, r"hop_s=inf is not finite"),
        (1e-5, r"hop_s=1e-05 is shorter than one sample at sample_rate=48000; expected hop_s >= 2\.083"),
        ("0.01", r"hop_s='0\.01' is not a real number"),
        (True, r"hop_s=True is not a real number"),
    ],
)
def test_bad_hop_is_a_named_error(hop_s, pattern):
    x = np.zeros((2, FS), np.float32)
    with pytest.raises(ParameterError, match=pattern):
        measure(x, FS, hop_s=hop_s)
    with pytest.raises(ParameterError, match=pattern):
        LoudnessMeter(FS, channels=2, hop_s=hop_s)
