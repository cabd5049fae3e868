"""Unit and property tests of the meter's own mechanics.

The EBU / ITU conformance cases live in test_conformance.py and the
cross-checks against libebur128 and pyloudnorm in test_oracles.py. Here the
oracle is a direct, slow computation of the BS.1770 formulas with
``scipy.signal.sosfilt`` in float64.
"""

from __future__ import annotations

import itertools
import json
import math
import tracemalloc

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonicmix.errors import AudioError, LayoutError, ParameterError
from sonicmix.loudness import LoudnessMeter, k_weighting_sos, measure, true_peak

FS = 48000


def tone(level_dbfs: float, seconds: float, channels: int = 2, freq_hz: float = 1000.0, fs: int = FS):
    t = np.arange(int(round(seconds * fs))) / fs
    return np.tile(10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t), (channels, 1))


def brute_force_windows(x: np.ndarray, fs: int, weights, window_s: float) -> np.ndarray:
    """Loudness of every window of ``window_s`` ending at every sample, straight from BS.1770."""
    y = scipy.signal.sosfilt(k_weighting_sos(fs), x.astype(np.float64), axis=1)
    power = np.tensordot(np.asarray(weights, dtype=np.float64), y * y, axes=1)
    c = np.concatenate([[0.0], np.cumsum(power)])
    w = round(window_s * fs)
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10((c[w:] - c[:-w]) / w)


def test_k_weighting_matches_the_bs1770_table_at_48k():
    # ITU-R BS.1770-5, Annex 1, Tables 1 and 2
    table = np.array(
        [
            [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
            [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
        ]
    )
    np.testing.assert_allclose(k_weighting_sos(48000), table, atol=1e-12)


@pytest.mark.parametrize("fs", [32000, 44100, 88200, 96000, 192000])
def test_k_weighting_response_is_the_same_curve_at_every_rate(fs):
    # The redesign keeps the analog curve: compare with the 48 kHz filter from 20 Hz to 14 kHz, where
    # bilinear warping at 32 kHz is still below 0.05 dB.
    freqs = np.geomspace(20, 14000, 60)
    _, h48 = scipy.signal.sosfreqz(k_weighting_sos(48000), worN=freqs, fs=48000)
    _, h = scipy.signal.sosfreqz(k_weighting_sos(fs), worN=freqs, fs=fs)
    np.testing.assert_allclose(20 * np.log10(abs(h)), 20 * np.log10(abs(h48)), atol=0.05)


def test_momentary_and_short_term_maxima_are_exact_at_sample_resolution():
    # A 0.4 s burst starting 37 ms off the 100 ms grid: on the grid no window contains all of it,
    # so a grid-based meter reads it low; the maximum over all windows must read the burst itself.
    x = np.zeros((2, 6 * FS))
    start = int(1.237 * FS)
    x[:, start : start + int(0.4 * FS)] = tone(-20.0, 0.4)
    x[:, int(3.3 * FS) : int(3.3 * FS) + 3 * FS] += tone(-30.0, 3.0, freq_hz=500.0)[
        :, : 6 * FS - int(3.3 * FS)
    ]
    report = measure(x, FS)
    brute_m = brute_force_windows(x, FS, (1.0, 1.0), 0.4)
    brute_s = brute_force_windows(x, FS, (1.0, 1.0), 3.0)
    assert report.momentary_max_lufs == pytest.approx(brute_m.max(), abs=1e-9)
    assert report.short_term_max_lufs == pytest.approx(brute_s.max(), abs=1e-9)
    assert report.momentary_max_lufs > report.momentary_lufs.max() + 0.3  # the grid misses it


def test_series_are_the_grid_windows():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 7 * FS + 123)) * np.linspace(0.01, 0.5, 7 * FS + 123)
    report = measure(x, FS)
    brute_m = brute_force_windows(x, FS, (1.0, 1.0), 0.4)
    brute_s = brute_force_windows(x, FS, (1.0, 1.0), 3.0)
    hop = FS // 10
    # window j ends at sample j * hop + length; brute[k] is the window ending at sample k + length
    np.testing.assert_allclose(report.momentary_lufs, brute_m[::hop][: report.momentary_lufs.size], atol=1e-9)
    np.testing.assert_allclose(
        report.short_term_lufs, brute_s[::hop][: report.short_term_lufs.size], atol=1e-9
    )
    assert report.momentary_lufs.size == (x.shape[1] - int(0.4 * FS)) // hop + 1
    np.testing.assert_allclose(report.momentary_times_s[:3], [0.4, 0.5, 0.6])
    np.testing.assert_allclose(report.short_term_times_s[:2], [3.0, 3.1])
    # block_powers: the momentary series as the gate's mean-square powers (-0.691 dB offset undone)
    np.testing.assert_allclose(
        report.block_powers, 10 ** ((brute_m[::hop][: report.momentary_lufs.size] + 0.691) / 10)
    )


def test_integrated_gating_from_the_formulas():
    # 10 s at -20 dBFS, 10 s at -40 dBFS, 10 s of silence. Expected value: the BS.1770 gating
    # formulas applied to the block powers computed analytically (steady sines; the filter's
    # settling after each step is negligible at 0.01 LU).
    x = np.concatenate([tone(-20.0, 10.0), tone(-40.0, 10.0), np.zeros((2, 10 * FS))], axis=1)
    gain_1k = 10 ** ((_k_gain_db_at_1k() + 0.691) / 20)
    level_power = {0: 2 * 0.5 * 10**-2.0 * gain_1k**2, 1: 2 * 0.5 * 10**-4.0 * gain_1k**2, 2: 0.0}
    blocks = []
    for j in range(297):
        start, stop = j / 10, j / 10 + 0.4
        power = sum(
            max(0.0, min(stop, 10 * (k + 1)) - max(start, 10 * k)) * p for k, p in level_power.items()
        )
        blocks.append(power / 0.4)
    blocks = np.array(blocks)
    loud = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-300))
    kept = blocks[loud > -70]
    gate = -0.691 + 10 * np.log10(kept.mean()) - 10
    expected = -0.691 + 10 * np.log10(kept[(-0.691 + 10 * np.log10(kept)) > gate].mean())
    report = measure(x, FS)
    assert report.relative_gate_lufs == pytest.approx(gate, abs=0.01)
    assert report.integrated_lufs == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("layout", ["5.1", "7.1", "5.0"])
def test_surround_weights(layout):
    from sonicmix.layouts import get_layout

    spec = get_layout(layout)
    for index, (name, weight) in enumerate(zip(spec.channels, spec.loudness_weights, strict=True)):
        x = np.zeros((spec.n_channels, 5 * FS))
        x[index] = tone(-20.0, 5.0, channels=1)[0]
        report = measure(x, FS, layout=layout)
        if weight == 0:
            assert report.integrated_lufs == -math.inf, name
        else:
            # one channel of a -20 dBFS sine: mean square -23.01 dB, plus the weight (+1.5 dB for 1.41)
            expected = -0.691 + 10 * np.log10(weight * 0.5 * 10 ** (-2.0)) + 0.691 + 0.0
            assert report.integrated_lufs == pytest.approx(expected + _k_gain_db_at_1k(), abs=0.02), name


def _k_gain_db_at_1k() -> float:
    _, h = scipy.signal.sosfreqz(k_weighting_sos(FS), worN=[1000.0], fs=FS)
    return float(20 * np.log10(abs(h[0]))) - 0.691


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.integers(0, 5 * FS), max_size=8),
    dtype=st.sampled_from([np.float32, np.float64]),
    fs=st.sampled_from([44100, 48000, 96000]),
)
def test_streamed_measurement_equals_whole(cuts, dtype, fs):
    rng = np.random.default_rng(len(cuts))
    n = 5 * fs
    x = (rng.standard_normal((2, n)) * np.repeat(rng.uniform(0.001, 0.5, 50), n // 50 + 1)[:n]).astype(dtype)
    whole = measure(x, fs)
    meter = LoudnessMeter(fs, channels=2, dtype=dtype)
    for block in np.split(x, sorted(c * fs // FS for c in cuts), axis=1):
        meter.update(block)
    streamed = meter.report()
    # The cumulative power sum is extended in the same order whatever the blocks, and every
    # interpolated value of the true peak is summed in one order on a grid fixed to the start: exact.
    assert streamed.integrated_lufs == whole.integrated_lufs
    assert streamed.lra_lu == whole.lra_lu or (math.isnan(streamed.lra_lu) and math.isnan(whole.lra_lu))
    assert streamed.momentary_max_lufs == whole.momentary_max_lufs
    assert streamed.short_term_max_lufs == whole.short_term_max_lufs
    np.testing.assert_array_equal(streamed.momentary_lufs, whole.momentary_lufs)
    np.testing.assert_array_equal(streamed.short_term_lufs, whole.short_term_lufs)
    assert streamed.sample_peak_dbfs == whole.sample_peak_dbfs
    assert streamed.true_peak_per_channel_dbtp == whole.true_peak_per_channel_dbtp


def test_report_can_be_taken_mid_stream_and_measuring_goes_on():
    x = tone(-23.0, 12.0)
    meter = LoudnessMeter(FS, channels=2, dtype=np.float64)
    meter.update(x[:, : 6 * FS])
    first = meter.report()
    meter.update(x[:, 6 * FS :])
    assert first.duration_s == 6.0
    assert meter.report().integrated_lufs == measure(x, FS).integrated_lufs


def brute_true_peak(x: np.ndarray, fs: int) -> np.ndarray:
    from sonicmix.loudness.truepeak import interpolation_filter, oversampling_factor

    phases = interpolation_filter(oversampling_factor(fs))
    taps = phases.shape[1]
    out = []
    for channel in x:
        full = np.concatenate([np.zeros(taps - 1), channel, np.zeros(taps)])
        windows = np.lib.stride_tricks.sliding_window_view(full, taps)
        out.append(np.abs(windows @ phases.T).max())
    return np.array(out)


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
def test_true_peak_bound_skipping_finds_the_exact_maximum(fs, rng):
    # Material where the peak hides in a few places: decaying bursts of noise and a clipped sine.
    n = 3 * fs
    x = rng.standard_normal((2, n)) * np.exp(-np.arange(n) / (0.2 * fs)) * 0.3
    x[1, fs : fs + 2000] = np.clip(np.sin(2 * np.pi * 0.23 * np.arange(2000)) * 1.5, -1, 1)
    np.testing.assert_allclose(true_peak(x, fs), brute_true_peak(x, fs), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_true_peak_tracker_takes_any_slices_and_equals_the_whole(dtype, rng):
    # Column slices of a 5-channel block (not C-ordered), read-only views, blocks shorter than the
    # 64-sample grid and a last partial block: the same maxima, bit for bit, as one call on the
    # whole, and the oversampled maximum of every channel (brute force, float rounding only).
    from sonicmix.loudness.truepeak import TruePeakTracker

    n = 20_000
    x = (rng.standard_normal((5, n)) * np.exp(-np.arange(n) / 3000.0) * 0.4).astype(dtype)
    x[3, 9_000:9_400] = np.sign(np.sin(0.5 * np.arange(400))) * 0.9  # a square burst: overshoot
    whole = TruePeakTracker(5, 44100, dtype)
    whole.update(x)
    whole.finish()
    pieces = TruePeakTracker(5, 44100, dtype)
    view = x.view()
    view.flags.writeable = False
    for a, b in itertools.pairwise([0, 1, 64, 100, 163, 5_000, 5_001, 19_990, n]):
        pieces.update(view[:, a:b])
    pieces.finish()
    np.testing.assert_array_equal(pieces.true_peak, whole.true_peak)
    np.testing.assert_array_equal(pieces.sample_peak, np.abs(x).max(axis=1))
    rtol = 1e-12 if dtype == np.float64 else 1e-5  # float32: a 24-term dot product's rounding
    np.testing.assert_allclose(whole.true_peak, brute_true_peak(x.astype(np.float64), 44100), rtol=rtol)
    assert whole.true_peak[3] > 1.0  # the burst's overshoot was found, not only the sample peak


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
@pytest.mark.parametrize(
    ("freq_ratio", "phase_deg"), [(1 / 4, 45.0), (1 / 6, 60.0), (1 / 8, 67.5), (0.37, 11.0)]
)
def test_true_peak_of_a_faded_sine_is_its_amplitude(fs, freq_ratio, phase_deg):
    # A sine (faded in and out, so no onset overshoot) reconstructs to its amplitude, whatever
    # the sample values; tolerance +0.2/-0.4 dB is EBU Tech 3341's, ours is far tighter.
    t = np.arange(fs)
    fade = np.clip(np.minimum(t, fs - t) / (0.1 * fs), 0, 1)
    x = (fade * np.sin(2 * np.pi * freq_ratio * t + np.deg2rad(phase_deg)))[None]
    tp_db = 20 * np.log10(true_peak(x, fs)[0])
    assert -0.02 <= tp_db <= 0.02


def test_silence_and_short_audio_are_undefined_not_finite():
    short = measure(np.full((2, 1000), 0.1), FS)
    assert short.integrated_lufs == -math.inf
    assert math.isnan(short.lra_lu)
    assert any("shorter than one 400 ms" in note for note in short.notes)
    silent = measure(np.zeros((2, 5 * FS), np.float32), FS)
    assert silent.integrated_lufs == -math.inf and silent.true_peak_dbtp == -math.inf
    assert any("absolute gate" in note for note in silent.notes)
    payload = json.dumps(silent.to_dict(), allow_nan=False)
    assert json.loads(payload)["integrated_lufs"] is None


def test_report_prints_and_converts():
    report = measure(tone(-23.0, 5.0), FS)
    text = str(report)
    assert "Integrated" in text and "-23.0 LUFS" in text
    d = report.to_dict(series=False)
    assert "momentary_lufs" not in d and d["integrated_lufs"] == pytest.approx(-23.0, abs=0.05)
    json.dumps(report.to_dict(), allow_nan=False)


def test_true_peak_can_be_skipped():
    report = measure(tone(-23.0, 5.0), FS, true_peak=False)
    assert math.isnan(report.true_peak_dbtp)
    assert report.sample_peak_dbfs == pytest.approx(-23.0, abs=1e-6)
    assert any("not measured" in note for note in report.notes)


def test_memory_does_not_grow_with_programme_length():
    # 20 minutes in 1 s blocks: apart from the 10 Hz series (16 bytes per 100 ms), nothing may grow.
    block = tone(-23.0, 1.0).astype(np.float32)
    meter = LoudnessMeter(FS, channels=2)
    meter.update(block)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(1200):
        meter.update(block)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    series_bytes = 1200 * 10 * 2 * 8  # two float64 series at 10 Hz
    assert current - base < 2 * series_bytes + 100_000  # growth by doubling may leave half unused


@pytest.mark.parametrize(
    ("audio", "kwargs", "error", "pattern"),
    [
        (np.full((2, FS), np.nan, np.float32), {}, AudioError, r"non-finite .* channel 0, sample 0"),
        (np.zeros((2, FS), np.int16), {}, AudioError, r"dtype=int16 is not floating point"),
        (np.zeros((2, FS), np.complex64), {}, AudioError, r"complex"),
        (np.zeros(FS, np.float32), {}, AudioError, r"1 dimensions.*np.newaxis"),
        (np.zeros((1, 2, FS), np.float32), {}, AudioError, r"3 dimensions"),
        (np.zeros((FS, 2), np.float32), {}, AudioError, r"data\.T"),
        (np.zeros((2, 0), np.float32), {}, AudioError, r"is empty"),
        (np.zeros((3, FS), np.float32), {}, LayoutError, r"3 channels and no layout"),
        (np.zeros((2, FS), np.float32), {"layout": "5.1"}, LayoutError, r"layout='5.1' has 6 channels"),
        (np.zeros((6, FS), np.float32), {"layout": "5.l"}, LayoutError, r"did you mean '5.1'"),
        ("not audio", {}, AudioError, r"is a str"),
    ],
)
def test_bad_input_raises_a_named_error(audio, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        measure(audio, FS, **kwargs)


def test_nan_in_a_later_block_names_its_time():
    meter = LoudnessMeter(FS, channels=2)
    meter.update(np.zeros((2, FS), np.float32))
    bad = np.zeros((2, FS), np.float32)
    bad[1, 480] = np.inf
    with pytest.raises(AudioError, match=r"channel 1, sample 48480 \(t=1\.010000 s\)"):
        meter.update(bad)


@pytest.mark.parametrize(
    ("rate", "pattern"), [(48, r"kHz"), (0, r"out of range"), (44100.5, r"whole number")]
)
def test_bad_sample_rate(rate, pattern):
    with pytest.raises(ParameterError, match=pattern):
        measure(np.zeros((2, 100), np.float32), rate)


def test_meter_takes_blocks_of_either_float_dtype():
    x = tone(-23.0, 5.0)
    meter = LoudnessMeter(FS, channels=2, dtype=np.float32)
    meter.update(x[:, : 2 * FS])
    meter.update(x[:, 2 * FS :].astype(np.float32))
    assert meter.report().integrated_lufs == pytest.approx(measure(x, FS).integrated_lufs, abs=1e-4)


@pytest.mark.parametrize("fs", [22050, 44100, 48000, 96000, 11025])
@pytest.mark.parametrize("layout", ["mono", "stereo", "5.1", "7.1"])
def test_integrated_fast_path_equals_the_full_meter(fs, layout, rng):
    """integrated_loudness sums 100 ms bins instead of differencing a running total: the same
    block powers up to float64 rounding, so the same loudness to 1e-9 LU (11025 Hz has no whole
    100 ms and takes the full meter: exactly equal)."""
    from sonicmix.layouts import get_layout
    from sonicmix.loudness import integrated_loudness

    channels = get_layout(layout).n_channels
    n = int(7.3 * fs)
    x = rng.standard_normal((channels, n)) * np.linspace(0.01, 0.3, channels)[:, None]
    x *= np.sin(2 * np.pi * 0.4 * np.arange(n) / fs) > -0.2  # gaps for the relative gate
    x = x.astype(np.float32)
    fast = integrated_loudness(x, fs, layout=layout)
    full = measure(x, fs, layout=layout, true_peak=False).integrated_lufs
    assert fast == pytest.approx(full, abs=1e-9)


@pytest.mark.parametrize(
    ("fs", "channels", "seconds"), [(48000, 1, 25.0), (44100, 2, 13.37), (8000, 2, 40.0)]
)
def test_integrated_fast_path_in_lanes_equals_one_pass(fs, channels, seconds, rng, monkeypatch):
    """Long channels are cut into stretches filtered side by side from rest, each stretch's first
    bins filtered again from the true state: the bins equal the one-pass recursion's to rounding,
    also in quiet bins after loud ones (levels jump by up to 60 dB every 100 ms)."""
    from sonicmix.loudness import _kernels, integrated_loudness
    from sonicmix.loudness.kweighting import k_weighting_sos

    n, length = int(seconds * fs), fs // 10
    levels = np.repeat(10 ** (rng.uniform(-60, 0, n // length + 1) / 20), length)[:n]
    x = (rng.standard_normal((channels, n)) * levels).astype(np.float32)
    used, weights = np.arange(channels, dtype=np.int64), np.linspace(1.0, 1.41, channels)
    split, one_pass = np.zeros(n // length + 1), np.zeros(n // length + 1)
    _kernels._pair_bin_sums(x, used, weights, k_weighting_sos(fs), length, one_pass)
    full = measure(x, fs, true_peak=False).integrated_lufs
    monkeypatch.setattr(_kernels, "_pair_bin_sums", None)  # long enough for the lanes
    _kernels.kweighted_bin_sums(x, used, weights, k_weighting_sos(fs), length, split)
    np.testing.assert_allclose(split, one_pass, rtol=1e-9, atol=0.0)
    assert integrated_loudness(x, fs) == pytest.approx(full, abs=1e-9)
    late = x.copy()
    at = n - 3 * length - 7
    late[-1, at] = np.nan  # in the last stretch: still named at its sample
    with pytest.raises(AudioError, match=rf"channel {channels - 1}.*sample {at}\b"):
        integrated_loudness(late, fs)


@pytest.mark.parametrize("seconds", [3.0, 12.0])  # the one-pass kernel, the lanes
def test_a_finite_sample_too_large_to_square_is_named_not_measured_as_silence(seconds, rng):
    """float64 audio with a sample of 1e200 made every power sum inf and the loudness -inf, silently."""
    from sonicmix.loudness import integrated_loudness

    x = rng.standard_normal((2, int(seconds * 48000))) * 0.1
    x[1, 70000] = 1e200
    for call in (integrated_loudness, measure):
        with pytest.raises(AudioError, match=r"too loud to measure.*1e\+200, at channel 1, sample 70000"):
            call(x, 48000)


def test_a_meter_refusing_a_block_too_large_to_square_is_left_as_before_it(rng):
    """The meter ran its kernel before it saw the overflow: its filter state and maxima kept the
    block (Mmax read inf afterwards). They are put back; the LFE, which is not summed, is not named."""
    clean = rng.standard_normal((6, 48000 * 4)) * 0.1
    bad = clean[:, :48000].copy()
    bad[3, 10], bad[0, 20] = 1e200, 1e160
    meter = LoudnessMeter(48000, channels=6, layout="5.1", dtype=np.float64)  # float32 would make it inf
    meter.update(clean[:, : 48000 * 2])
    with pytest.raises(AudioError, match=r"1e\+160, at channel 0, sample 96020"):
        meter.update(bad)
    meter.update(clean[:, 48000 * 2 :])
    whole = measure(clean, 48000, layout="5.1")
    assert meter.report().momentary_max_lufs == pytest.approx(whole.momentary_max_lufs, abs=1e-9)
    assert meter.report().integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)


def test_integrated_fast_path_edges_and_errors(rng):
    import pyloudnorm

    from sonicmix.loudness import integrated_loudness

    assert integrated_loudness(np.zeros((2, 48000 * 2), np.float32), 48000) == -math.inf
    assert integrated_loudness(rng.standard_normal((2, 19199)) * 0.1, 48000) == -math.inf  # < 400 ms
    x = rng.standard_normal((2, 48000 * 5)) * 0.1
    # pyloudnorm as an independent oracle: 0.1 LU, the Tech 3341 tolerance, as in test_oracles.py
    # (its K-weighting parameters are rounded; white noise, heavy in treble, shows it most)
    assert integrated_loudness(x, 48000) == pytest.approx(
        pyloudnorm.Meter(48000).integrated_loudness(x.T), abs=0.1
    )
    bad = x.copy()
    bad[1, 123456] = np.nan
    with pytest.raises(AudioError, match=r"channel 1.*2\.572"):
        integrated_loudness(bad, 48000)
    lfe_bad = np.zeros((6, 48000))
    lfe_bad[3, 10] = np.inf  # the LFE is not summed, but must be finite all the same
    with pytest.raises(AudioError, match="channel 3"):
        integrated_loudness(lfe_bad, 48000, layout="5.1")
