"""Immersive loudness (ITU-R BS.1770-5, Annex 3) against libebur128, on every BS.2051 layout.

Oracle: libebur128 1.2.6 through pyebur128, each channel declared with the
libebur128 channel type of its BS.2051 loudspeaker label (``M+090`` ->
``M_PLUS_090``, ``U+045`` -> ``U_PLUS_045``, LFE -> ``UNUSED``). libebur128
weights its channel types itself (1.41 for M+-060, M+-090, M+-110, 1.0 for
the rest), so the comparison checks sonicmix's weights by position, its LFE
exclusion and its meter in one go. The labels are derived here from the
layouts' positions, which ``tests/layouts/test_catalog.py`` checks against
BS.2051's table.

Tolerance: 0.01 LU on integrated loudness, the goal of issue 17 (both meters
use the same 400 ms blocks, gates and K-weighting; they agree to 1e-9 LU at
48 kHz), and 0.02 LU on the momentary and short-term series as in
``test_oracles.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pyebur128 as ebu
import pytest

from sonicmix.layouts import LAYOUTS, Layout, Position, get_layout
from sonicmix.loudness import LoudnessMeter, measure
from tests.reference.immersive import programme

IMMERSIVE_TOL_LU = 0.01
SERIES_TOL_LU = 0.02

# libebur128's names for the five channels of BS.1770's 5.1 (its EBUR128_Mp030 ... Mm110)
_CLASSIC = {
    "M+030": ebu.ChannelType.LEFT,
    "M-030": ebu.ChannelType.RIGHT,
    "M+000": ebu.ChannelType.CENTER,
    "M+110": ebu.ChannelType.LEFT_SURROUND,
    "M-110": ebu.ChannelType.RIGHT_SURROUND,
}
_LAYERS = {0.0: "M", 30.0: "U", 90.0: "T", -30.0: "B"}


def bs2051_label(position: Position) -> str:
    """``M+090``, ``U-135``, ``T+000``: BS.2051's label of a loudspeaker at its nominal position."""
    azimuth = int(position.azimuth_deg)
    return f"{_LAYERS[position.elevation_deg]}{'-' if azimuth < 0 else '+'}{abs(azimuth):03d}"


def ebur128_channel(position: Position | None) -> int:
    if position is None:
        return ebu.ChannelType.UNUSED
    label = bs2051_label(position)
    if label in _CLASSIC:
        return _CLASSIC[label]
    layer, sign, degrees = label[0], label[1], label[2:]
    return getattr(ebu.ChannelType, f"{layer}_{'PLUS' if sign == '+' else 'MINUS'}_{degrees}")


def libebur128(audio: np.ndarray, sample_rate: int, layout: Layout) -> tuple[float, np.ndarray, np.ndarray]:
    """Integrated loudness, and M and S polled every 100 ms, from libebur128."""
    modes = ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_M | ebu.MeasurementMode.MODE_S
    state = ebu.R128State(audio.shape[0], sample_rate, modes)
    for index, position in enumerate(layout.positions):
        state.set_channel(index, ebur128_channel(position))
    frames = np.ascontiguousarray(audio.T, dtype=np.float64).reshape(-1)
    channels, hop = audio.shape[0], sample_rate // 10
    momentary, short_term = [], []
    for start in range(0, audio.shape[1] - hop + 1, hop):
        state.add_frames(frames[start * channels : (start + hop) * channels], hop)
        momentary.append(ebu.get_loudness_momentary(state))
        short_term.append(ebu.get_loudness_shortterm(state))
    return ebu.get_loudness_global(state), np.array(momentary), np.array(short_term)


IMMERSIVE = ["5.1.2", "5.1.4", "7.1.2", "7.1.4", "9.1.6", "22.2"]


@pytest.fixture(scope="module", params=IMMERSIVE)
def bed(request: pytest.FixtureRequest) -> tuple[str, np.ndarray]:
    x, _ = programme(request.param, 48000, 20.0, seed=IMMERSIVE.index(request.param))
    return request.param, x


def test_integrated_loudness_agrees_with_libebur128(bed):
    name, x = bed
    ours = measure(x, 48000, layout=name, true_peak=False)
    lib, momentary, short_term = libebur128(x, 48000, get_layout(name))
    assert -40.0 < lib < -5.0  # a real programme, neither silence nor clipping
    # 0.01 LU: the goal (module docstring)
    assert ours.integrated_lufs == pytest.approx(lib, abs=IMMERSIVE_TOL_LU)
    for values, times, polled in (
        (ours.momentary_lufs, ours.momentary_times_s, momentary),
        (ours.short_term_lufs, ours.short_term_times_s, short_term),
    ):
        expected = polled[np.rint(times * 10).astype(int) - 1]
        audible = expected > -70.0
        np.testing.assert_allclose(values[audible], expected[audible], rtol=0, atol=SERIES_TOL_LU)


def test_the_oracle_sees_a_wrong_weight(bed):
    """The comparison can fail: every channel at weight 1.0 (LFE still out) misses by > 0.05 LU."""
    name, x = bed
    spec = get_layout(name)
    flat = Layout(
        "flat", spec.channels, tuple(0.0 if i in spec.lfe_indices else 1.0 for i in range(spec.n_channels))
    )
    lib, _, _ = libebur128(x, 48000, spec)
    assert abs(measure(x, 48000, layout=flat, true_peak=False).integrated_lufs - lib) > 0.05


def test_the_lfe_does_not_count(bed):
    name, x = bed
    spec = get_layout(name)
    silent_lfe = x.copy()
    silent_lfe[list(spec.lfe_indices)] = 0.0
    assert measure(x, 48000, layout=name, true_peak=False).integrated_lufs == pytest.approx(
        measure(silent_lfe, 48000, layout=name, true_peak=False).integrated_lufs, abs=1e-9
    )


@pytest.mark.parametrize("sample_rate", [44100, 96000])
def test_other_rates_agree_with_libebur128(sample_rate):
    x, _ = programme("7.1.4", sample_rate, 8.0, seed=11)
    lib, _, _ = libebur128(x, sample_rate, get_layout("7.1.4"))
    assert measure(x, sample_rate, layout="7.1.4", true_peak=False).integrated_lufs == pytest.approx(
        lib, abs=IMMERSIVE_TOL_LU
    )


@pytest.mark.parametrize("name", [n for n in LAYOUTS if n not in ("mono", "stereo")])
def test_each_channel_alone_reads_its_weight(name):
    """One channel at a time: a 1 kHz tone reads 10 log10(G) above its reading in the centre."""
    spec = get_layout(name)
    t = np.arange(3 * 48000) / 48000
    tone = 0.1 * np.sin(2 * np.pi * 1000.0 * t)
    reference = measure(tone[np.newaxis], 48000, layout="mono", true_peak=False).integrated_lufs
    for index, position in enumerate(spec.positions):
        x = np.zeros((spec.n_channels, t.size))
        x[index] = tone
        found = measure(x, 48000, layout=name, true_peak=False).integrated_lufs
        if position is None:
            assert found == -math.inf, spec.channels[index]
            continue
        side = abs(position.elevation_deg) < 30 and 60 <= abs(position.azimuth_deg) <= 120
        assert found - reference == pytest.approx(10 * math.log10(1.41 if side else 1.0), abs=1e-6)


def test_a_streaming_meter_measures_an_immersive_bed_in_blocks():
    x, _ = programme("9.1.6", 48000, 6.0, seed=3)
    meter = LoudnessMeter(48000, layout="9.1.6")
    for block in np.array_split(x, 9, axis=1):
        meter.update(block)
    whole = measure(x, 48000, layout="9.1.6")
    report = meter.report()
    assert report.integrated_lufs == whole.integrated_lufs
    assert report.true_peak_dbtp == whole.true_peak_dbtp
    assert report.layout == "9.1.6" and report.channels == 16
