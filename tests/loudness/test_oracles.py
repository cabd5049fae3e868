"""Cross-checks of sonicmix.loudness against independent meters and analytic truths.

Oracles
-------
* libebur128 1.2.6 through pyebur128: integrated loudness, momentary and
  short-term loudness (polled while feeding, which gives the exact window
  ending at the poll), loudness range, sample peak and true peak.
* pyloudnorm: integrated loudness (mono and stereo only; its channel weights
  stop at five channels).
* For true peak, the peak of the ideal band-limited (sinc) reconstruction of
  the samples (``ebu_signals.bandlimited_peak_dbtp``, FFT interpolation x32).

Tolerances (each assertion restates the one it uses)
----------------------------------------------------
* vs libebur128, integrated / M / S: 0.02 LU. Both meters use the same
  400 ms blocks on a 100 ms grid from the first sample, the same gates and the
  K-weighting redesigned at each rate from the same BS.1770 analog prototype;
  0.02 LU leaves room for a different coefficient derivation at 44.1/96 kHz
  and float rounding, and still catches a wrong channel weight, gate or window
  (all >= 0.1 LU effects).
* vs pyloudnorm, integrated: 0.1 LU (the Tech 3341 tolerance). pyloudnorm's
  K-weighting uses rounded analog parameters: it reads a -23 dBFS stereo 1 kHz
  tone as -23.035 LUFS where BS.1770's coefficients give -22.993, and it
  differs from libebur128 by up to 0.05 LU on noise.
* LRA: libebur128 adds a 3 s short-term block only every 1 s, while EBU
  Tech 3342 (2016) asks for short-term windows overlapping by at least 2.9 s
  (>= 10 Hz). So ours is checked (a) to 0.02 LU against the Tech 3342 formula
  (absolute gate -70 LUFS, relative gate -20 LU, 10th to 95th percentile)
  applied to libebur128's short-term loudness polled at 10 Hz, and (b) to
  1 LU, Tech 3342's own tolerance, against libebur128's 1 Hz LRA.
* Sample peak: the maximum of |x|, exact up to the dB conversion (1e-9 dB).
* True peak vs the ideal reconstruction, on material band-limited to 20 kHz:
  +0.2 / -0.4 dB, EBU Tech 3341's tolerance. (Full-band white noise is not
  used here: any interpolation filter centred on Nyquist under-reads its
  top-octave peaks; libebur128 does too.)
* True peak vs libebur128: ours may read higher by up to 0.7 dB (libebur128
  oversamples 2x at 96 kHz, whose worst-case under-read is 0.688 dB per
  BS.1770-5 Annex 2; 4x below 96 kHz, 0.169 dB) and lower by at most 0.1 dB
  (a difference of interpolation-filter pass bands, not of grid density).
* Series at a 10 ms and a one-sample hop, and the live readings (M, S and
  integrated so far, after blocks of random sizes): libebur128 polled at the
  same samples, 0.02 LU above -70 LUFS, for the reasons given for the 100 ms
  series (libebur128 can be read after any sample; the window reaching back
  before the first sample reads silence in both meters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyebur128 as ebu
import pyloudnorm
import pytest
from scipy import signal

from sonicmix.loudness import LoudnessReport, measure
from tests.reference.ebu_signals import bandlimited_peak_dbtp

LIBEBUR128_LOUDNESS_TOL_LU = 0.02
PYLOUDNORM_TOL_LU = 0.1
LRA_FORMULA_TOL_LU = 0.02
LRA_LIBEBUR128_TOL_LU = 1.0
TP_TRUTH_MINUS_DB, TP_TRUTH_PLUS_DB = 0.4, 0.2
TP_VS_LIBEBUR128_LOWER_DB, TP_VS_LIBEBUR128_HIGHER_DB = 0.1, 0.7
SAMPLE_PEAK_TOL_DB = 1e-9
ABSOLUTE_GATE_LUFS = -70.0  # BS.1770-5 absolute gate
TRUTH_EXCERPT_S = 2.0


# --------------------------------------------------------------------------- material


def _fade(x: np.ndarray, sample_rate: int, fade_s: float = 0.02) -> np.ndarray:
    """Raised-cosine fade at both ends, so the FFT truth sees no wrap-around step."""
    n = int(fade_s * sample_rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    y = x.copy()
    y[..., :n] *= ramp
    y[..., -n:] *= ramp[::-1]
    return y


def _lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float = 20000.0) -> np.ndarray:
    sos = signal.butter(10, cutoff_hz, fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, x, axis=-1)


def _pink(rng: np.random.Generator, channels: int, n: int) -> np.ndarray:
    """Pink (1/f power) noise by shaping white noise in the frequency domain; unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal((channels, n)), axis=-1)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    y = np.fft.irfft(spectrum / np.sqrt(f), n, axis=-1)
    return y / y.std(axis=-1, keepdims=True)


def _bursts(rng: np.random.Generator, channels: int, sample_rate: int, duration_s: float) -> np.ndarray:
    """Noise bursts of random length (0.2-3 s) and level (-45..-10 dBFS RMS) between silences."""
    out = np.zeros((channels, int(duration_s * sample_rate)))
    pos = 0
    while pos < out.shape[1]:
        n = int(rng.uniform(0.2, 3.0) * sample_rate)
        gap = int(rng.uniform(0.05, 2.0) * sample_rate)
        level = 10.0 ** (rng.uniform(-45.0, -10.0) / 20.0)
        seg = out[:, pos : pos + n]
        seg += level * rng.standard_normal(seg.shape)
        pos += n + gap
    return out


def _programme_51(rng: np.random.Generator, sample_rate: int, duration_s: float) -> np.ndarray:
    """A 5.1 programme (L R C LFE Ls Rs): speech-like centre, music-like fronts, ambience, loud LFE."""
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    syllables = 0.5 * (1.0 + np.sign(np.sin(2 * np.pi * 3.0 * t))) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.2 * t))
    centre = 0.1 * syllables * _lowpass(rng.standard_normal(n), sample_rate, 4000.0)
    fronts = 0.05 * _pink(rng, 2, n) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 7.0) ** 2)
    surrounds = 0.02 * _pink(rng, 2, n)
    lfe = 0.5 * np.sin(2 * np.pi * 45.0 * t)  # loud, and must not count (LFE weight 0)
    return np.stack([fronts[0], fronts[1], centre, lfe, surrounds[0], surrounds[1]])


@dataclass(frozen=True)
class Material:
    name: str
    sample_rate: int
    layout: str | None
    seed: int
    band_limited: bool = True  # low-passed at 20 kHz: the true-peak truth applies with Tech 3341's tolerance


def _raw(material: Material, rng: np.random.Generator) -> np.ndarray:
    fs = material.sample_rate
    if material.name == "white-noise-48k-stereo":
        return 0.1 * rng.standard_normal((2, 20 * fs))
    if material.name == "pink-noise-44k1-stereo":
        return 0.05 * _pink(rng, 2, 20 * fs)
    if material.name == "tones-96k-mono":
        t = np.arange(10 * fs) / fs
        parts = zip((0.3, 0.2, 0.1), (100.0, 1000.0, 10000.0), rng.uniform(0, 2 * np.pi, 3), strict=True)
        return sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in parts)[np.newaxis, :]
    if material.name == "bursts-48k-stereo":
        return _bursts(rng, 2, fs, 40.0)
    if material.name == "programme-5.1-48k":
        return _programme_51(rng, fs, 30.0)
    if material.name == "speechlike-44k1-mono":
        t = np.arange(15 * fs) / fs
        envelope = np.clip(np.sin(2 * np.pi * 4.0 * t) + 0.3 * np.sin(2 * np.pi * 0.5 * t), 0.0, None)
        return (0.3 * envelope * rng.standard_normal(t.size))[np.newaxis, :]
    if material.name == "noise-96k-stereo":
        return 0.1 * rng.standard_normal((2, 15 * fs))
    raise ValueError(material.name)  # pragma: no cover - MATERIALS is the only caller


def _make(material: Material) -> np.ndarray:
    x = _raw(material, np.random.default_rng(material.seed))
    if material.band_limited:
        x = _lowpass(x, material.sample_rate)
    return np.ascontiguousarray(_fade(x, material.sample_rate), dtype=np.float32)


MATERIALS = [
    Material("white-noise-48k-stereo", 48000, None, seed=1, band_limited=False),
    Material("pink-noise-44k1-stereo", 44100, None, seed=2),
    Material("tones-96k-mono", 96000, None, seed=3),
    Material("bursts-48k-stereo", 48000, None, seed=4),
    Material("programme-5.1-48k", 48000, "5.1", seed=5),
    Material("speechlike-44k1-mono", 44100, None, seed=6),
    Material("noise-96k-stereo", 96000, None, seed=7),
]
IDS = [m.name for m in MATERIALS]


# --------------------------------------------------------------------------- libebur128 adapter


@dataclass
class EbuResult:
    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    momentary_lufs: np.ndarray  # polled at every 100 ms, window end = (k + 1) * 0.1 s
    short_term_lufs: np.ndarray


_ALL_MODES = (
    ebu.MeasurementMode.MODE_I
    | ebu.MeasurementMode.MODE_LRA
    | ebu.MeasurementMode.MODE_M
    | ebu.MeasurementMode.MODE_S
    | ebu.MeasurementMode.MODE_SAMPLE_PEAK
    | ebu.MeasurementMode.MODE_TRUE_PEAK
)
_51_MAP = [
    ebu.ChannelType.LEFT,
    ebu.ChannelType.RIGHT,
    ebu.ChannelType.CENTER,
    ebu.ChannelType.UNUSED,  # LFE is not measured
    ebu.ChannelType.LEFT_SURROUND,
    ebu.ChannelType.RIGHT_SURROUND,
]


def _state(audio: np.ndarray, sample_rate: int, layout: str | None, mode: int = _ALL_MODES) -> ebu.R128State:
    state = ebu.R128State(audio.shape[0], sample_rate, mode)
    if layout == "5.1":
        for i, channel in enumerate(_51_MAP):
            state.set_channel(i, channel)
    elif audio.shape[0] == 1:
        state.set_channel(0, ebu.ChannelType.CENTER)
    return state


def _interleaved(audio: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(audio.T, dtype=np.float64).reshape(-1)


def _libebur128(audio: np.ndarray, sample_rate: int, layout: str | None) -> EbuResult:
    """Feed libebur128 100 ms at a time and poll M and S after each step."""
    state = _state(audio, sample_rate, layout)
    frames = _interleaved(audio)
    channels, n = audio.shape
    hop = sample_rate // 10
    momentary, short_term = [], []
    for start in range(0, n - hop + 1, hop):
        state.add_frames(frames[start * channels : (start + hop) * channels], hop)
        momentary.append(ebu.get_loudness_momentary(state))
        short_term.append(ebu.get_loudness_shortterm(state))
    rest = n % hop
    if rest:
        state.add_frames(frames[(n - rest) * channels :], rest)
    peaks = range(channels)
    return EbuResult(
        integrated_lufs=ebu.get_loudness_global(state),
        lra_lu=ebu.get_loudness_range(state),
        true_peak_dbtp=_db(max(ebu.get_true_peak(state, c) for c in peaks)),
        sample_peak_dbfs=_db(max(ebu.get_sample_peak(state, c) for c in peaks)),
        momentary_lufs=np.array(momentary),
        short_term_lufs=np.array(short_term),
    )


def _db(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


@dataclass(frozen=True)
class Measured:
    material: Material
    audio: np.ndarray
    ours: LoudnessReport
    lib: EbuResult


@pytest.fixture(scope="module", params=MATERIALS, ids=IDS)
def measured(request: pytest.FixtureRequest) -> Measured:
    """One material at a time (module scope: pytest groups the tests by material)."""
    material: Material = request.param
    audio = _make(material)
    return Measured(
        material,
        audio,
        measure(audio, material.sample_rate, layout=material.layout),
        _libebur128(audio, material.sample_rate, material.layout),
    )


def _on_grid(report_times_s: np.ndarray) -> np.ndarray:
    """Index into the libebur128 100 ms poll arrays for each window end time."""
    return np.rint(report_times_s * 10.0).astype(np.int64) - 1


# --------------------------------------------------------------------------- tests


class TestAgainstOracles:
    def test_integrated_vs_libebur128(self, measured: Measured) -> None:
        ours, lib = measured.ours, measured.lib
        # 0.02 LU: same blocks, gates and K-weighting prototype (module docstring)
        assert ours.integrated_lufs == pytest.approx(lib.integrated_lufs, abs=LIBEBUR128_LOUDNESS_TOL_LU)

    def test_integrated_vs_pyloudnorm(self, measured: Measured) -> None:
        audio, ours, material = measured.audio, measured.ours, measured.material
        if audio.shape[0] > 2:
            pytest.skip("pyloudnorm weights at most 5 channels and has no LFE; 5.1 is left to libebur128")
        expected = pyloudnorm.Meter(material.sample_rate).integrated_loudness(audio.T.astype(np.float64))
        # 0.1 LU: pyloudnorm's rounded K-weighting parameters (module docstring)
        assert ours.integrated_lufs == pytest.approx(expected, abs=PYLOUDNORM_TOL_LU)

    def test_momentary_and_short_term_series_vs_libebur128(self, measured: Measured) -> None:
        """Every 100 ms reading at or above the -70 LUFS absolute gate agrees to 0.02 LU.

        Below the gate (the decaying K-filter tail in silence, -100 to -1000
        LUFS in libebur128) the readings carry no information for I or LRA and
        depend on how each meter sums powers, so ours must only be below the
        gate too (or -inf).
        """
        ours, lib = measured.ours, measured.lib
        for values, times, polled in (
            (ours.momentary_lufs, ours.momentary_times_s, lib.momentary_lufs),
            (ours.short_term_lufs, ours.short_term_times_s, lib.short_term_lufs),
        ):
            assert values.size > 0
            expected = polled[_on_grid(times)]
            audible = expected >= ABSOLUTE_GATE_LUFS
            assert audible.any()
            # 0.02 LU: see the module docstring
            np.testing.assert_allclose(
                values[audible], expected[audible], rtol=0, atol=LIBEBUR128_LOUDNESS_TOL_LU
            )
            assert np.all(values[~audible] < ABSOLUTE_GATE_LUFS + LIBEBUR128_LOUDNESS_TOL_LU)

    def test_maxima_are_at_least_the_10hz_maxima(self, measured: Measured) -> None:
        """The exact maxima are >= the maxima of libebur128's 10 Hz readings (minus 0.02 LU)."""
        ours, lib = measured.ours, measured.lib
        assert ours.momentary_max_lufs >= lib.momentary_lufs[3:].max() - LIBEBUR128_LOUDNESS_TOL_LU
        assert ours.short_term_max_lufs >= lib.short_term_lufs[29:].max() - LIBEBUR128_LOUDNESS_TOL_LU

    def test_lra_vs_tech3342_formula_on_libebur128_short_term(self, measured: Measured) -> None:
        ours, lib = measured.ours, measured.lib
        short_term = lib.short_term_lufs[29:]  # windows ending at 3.0 s and later
        expected = _tech3342_lra(short_term)
        if math.isnan(expected):
            assert math.isnan(ours.lra_lu)
        else:
            # 0.02 LU: the same formula on short-term values that agree to 0.02 LU
            assert ours.lra_lu == pytest.approx(expected, abs=LRA_FORMULA_TOL_LU)

    def test_lra_vs_libebur128(self, measured: Measured) -> None:
        ours, lib = measured.ours, measured.lib
        # 1 LU: Tech 3342's tolerance; libebur128 samples short-term loudness at 1 Hz only
        assert ours.lra_lu == pytest.approx(lib.lra_lu, abs=LRA_LIBEBUR128_TOL_LU)

    def test_sample_peak(self, measured: Measured) -> None:
        audio, ours, lib = measured.audio, measured.ours, measured.lib
        exact = 20.0 * math.log10(float(np.max(np.abs(audio.astype(np.float64)))))
        assert ours.sample_peak_dbfs == pytest.approx(exact, abs=SAMPLE_PEAK_TOL_DB)
        assert ours.sample_peak_dbfs == pytest.approx(lib.sample_peak_dbfs, abs=SAMPLE_PEAK_TOL_DB)

    def test_true_peak_vs_ideal_reconstruction(self, measured: Measured) -> None:
        """On a 2 s excerpt centred on the loudest sample (faded; the FFT truth is costly)."""
        audio, material = measured.audio, measured.material
        if not material.band_limited:
            pytest.skip("full-band white noise: no practical interpolator reads its top-octave peaks")
        fs = material.sample_rate
        centre = int(np.argmax(np.max(np.abs(audio), axis=0)))
        half = int(TRUTH_EXCERPT_S * fs / 2)
        start = min(max(centre - half, 0), audio.shape[1] - 2 * half)
        excerpt = np.ascontiguousarray(_fade(audio[:, start : start + 2 * half], fs), dtype=np.float32)
        truth = bandlimited_peak_dbtp(excerpt)
        report = measure(excerpt, fs, layout=material.layout)
        # +0.2 / -0.4 dB: EBU Tech 3341's true-peak tolerance
        assert truth - TP_TRUTH_MINUS_DB <= report.true_peak_dbtp <= truth + TP_TRUTH_PLUS_DB
        assert report.true_peak_dbtp >= report.sample_peak_dbfs

    def test_true_peak_vs_libebur128(self, measured: Measured) -> None:
        ours, lib = measured.ours, measured.lib
        # higher by <= 0.7 dB (libebur128's 2x grid at 96 kHz), lower by <= 0.1 dB (filter pass bands)
        assert lib.true_peak_dbtp - TP_VS_LIBEBUR128_LOWER_DB <= ours.true_peak_dbtp
        assert ours.true_peak_dbtp <= lib.true_peak_dbtp + TP_VS_LIBEBUR128_HIGHER_DB


def _tech3342_lra(short_term_lufs: np.ndarray) -> float:
    """EBU Tech 3342: gate at -70 LUFS, then at -20 LU below the mean; 95th minus 10th percentile."""
    powers = 10.0 ** (short_term_lufs / 10.0)
    above = powers[short_term_lufs > -70.0]
    if above.size == 0:
        return math.nan
    relative = 10.0 * math.log10(above.mean()) - 20.0
    kept = short_term_lufs[(short_term_lufs > -70.0) & (short_term_lufs > relative)]
    low, high = np.percentile(kept, [10.0, 95.0])
    return float(high - low)


def test_exact_maxima_vs_libebur128_polled_every_millisecond() -> None:
    """M max and S max of tone and noise bursts against libebur128 read every 1 ms.

    Ours is the maximum over windows ending at every sample, so it can only be
    higher than a 1 ms poll grid: by less than the effect of moving a window end
    by 0.5 ms, which for this material (bursts with a crest factor under 4) is
    below 10 log10(1 + 16 * 0.5 / 400) = 0.086 LU for M and 0.012 LU for S.
    It may be lower only by the 0.02 LU of meter differences.
    """
    fs = 48000
    rng = np.random.default_rng(7)
    x = _bursts(rng, 2, fs, 12.0)
    t = np.arange(x.shape[1]) / fs
    x[:, int(4.013 * fs) : int(4.413 * fs)] = 0.3 * np.sin(2 * np.pi * 1000.0 * t[: int(0.4 * fs)])
    audio = np.ascontiguousarray(_fade(x, fs), dtype=np.float32)
    ours = measure(audio, fs)
    state = _state(audio, fs, None, ebu.MeasurementMode.MODE_M | ebu.MeasurementMode.MODE_S)
    frames = _interleaved(audio)
    step = fs // 1000
    m_max = s_max = -math.inf
    for start in range(0, audio.shape[1] - step + 1, step):
        state.add_frames(frames[2 * start : 2 * (start + step)], step)
        if start + step >= 0.4 * fs:
            m_max = max(m_max, ebu.get_loudness_momentary(state))
        if start + step >= 3.0 * fs:
            s_max = max(s_max, ebu.get_loudness_shortterm(state))
    assert m_max - LIBEBUR128_LOUDNESS_TOL_LU <= ours.momentary_max_lufs <= m_max + 0.086
    assert s_max - LIBEBUR128_LOUDNESS_TOL_LU <= ours.short_term_max_lufs <= s_max + 0.012


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
def test_true_peak_of_sines_is_their_amplitude(sample_rate: int) -> None:
    """A steady sine's true peak is its amplitude; checked from 20 Hz to 20 kHz at random phases."""
    rng = np.random.default_rng(sample_rate)
    n = sample_rate  # 1 s
    k = np.arange(n)
    problems = []
    for frequency_hz in (20.0, 997.0, 5000.0, 12000.0, 15000.0, 19000.0, 20000.0):
        amplitude = 0.5
        x = amplitude * np.sin(2 * np.pi * frequency_hz / sample_rate * k + rng.uniform(0, 2 * np.pi))
        audio = np.ascontiguousarray(_fade(np.tile(x, (2, 1)), sample_rate), dtype=np.float32)
        truth = 20.0 * math.log10(amplitude)
        measured = measure(audio, sample_rate).true_peak_dbtp
        # +0.2 / -0.4 dB: EBU Tech 3341's true-peak tolerance
        if not truth - TP_TRUTH_MINUS_DB <= measured <= truth + TP_TRUTH_PLUS_DB:
            problems.append(f"{frequency_hz} Hz: {measured:.3f} dBTP vs {truth:.3f}")
    assert not problems, "; ".join(problems)


def test_silence_is_undefined_like_libebur128() -> None:
    audio = np.zeros((2, 5 * 48000), dtype=np.float32)
    ours = measure(audio, 48000)
    lib = _libebur128(audio, 48000, None)
    assert ours.integrated_lufs == lib.integrated_lufs == -math.inf
    assert ours.true_peak_dbtp == ours.sample_peak_dbfs == -math.inf
    assert np.isneginf(ours.momentary_lufs).all() and np.isneginf(lib.momentary_lufs).all()


# --------------------------------------------------------------------------- live meter and fine hops


def _burst_material(seconds: float, seed: int) -> np.ndarray:
    """Noise bursts between silences and a 400 ms tone off the 100 ms grid, faded, float32."""
    fs = 48000
    x = _bursts(np.random.default_rng(seed), 2, fs, seconds)
    t = np.arange(int(0.4 * fs)) / fs
    x[:, int(4.013 * fs) : int(4.013 * fs) + t.size] = 0.3 * np.sin(2 * np.pi * 1000.0 * t)
    return np.ascontiguousarray(_fade(x, fs), dtype=np.float32)


def _assert_agrees_with_libebur128(ours: np.ndarray, lib: np.ndarray) -> None:
    """0.02 LU where libebur128 reads at or above -70 LUFS; below it, ours must be below too."""
    audible = lib >= ABSOLUTE_GATE_LUFS
    assert audible.sum() > audible.size // 3
    np.testing.assert_allclose(ours[audible], lib[audible], rtol=0, atol=LIBEBUR128_LOUDNESS_TOL_LU)
    assert np.all(ours[~audible] < ABSOLUTE_GATE_LUFS + LIBEBUR128_LOUDNESS_TOL_LU)


def test_series_every_10ms_vs_libebur128_polled_every_10ms() -> None:
    fs, step = 48000, 480
    audio = _burst_material(12.0, 11)
    ours = measure(audio, fs, hop_s=0.01)
    state = _state(audio, fs, None, ebu.MeasurementMode.MODE_M | ebu.MeasurementMode.MODE_S)
    frames = _interleaved(audio)
    polled_m, polled_s = [], []
    for start in range(0, audio.shape[1] - step + 1, step):
        state.add_frames(frames[2 * start : 2 * (start + step)], step)
        polled_m.append(ebu.get_loudness_momentary(state))
        polled_s.append(ebu.get_loudness_shortterm(state))
    for values, times, polled in (
        (ours.momentary_lufs, ours.momentary_times_s, np.array(polled_m)),
        (ours.short_term_lufs, ours.short_term_times_s, np.array(polled_s)),
    ):
        _assert_agrees_with_libebur128(values, polled[np.rint(times * 100).astype(np.int64) - 1])


def test_series_at_every_sample_vs_libebur128_polled_after_every_sample() -> None:
    """1200 consecutive samples across the tone's onset, after 3 s (so both windows are complete)."""
    fs, count = 48000, 1200
    first = int(4.013 * fs) - count // 2
    audio = _burst_material(5.0, 12)
    ours = measure(audio, fs, hop_s=1 / fs, true_peak=False)
    state = _state(audio, fs, None, ebu.MeasurementMode.MODE_M | ebu.MeasurementMode.MODE_S)
    frames = _interleaved(audio)
    state.add_frames(frames[: 2 * first], first)
    polled_m, polled_s = [], []
    for k in range(first, first + count):
        state.add_frames(frames[2 * k : 2 * k + 2], 1)
        polled_m.append(ebu.get_loudness_momentary(state))
        polled_s.append(ebu.get_loudness_shortterm(state))
    ends = np.arange(first + 1, first + count + 1)  # window ends after samples first .. first+count-1
    m_index = ends - round(0.4 * fs)  # one value per sample from the first complete window
    s_index = ends - 3 * fs
    np.testing.assert_array_equal(ours.momentary_times_s[m_index], ends / fs)
    _assert_agrees_with_libebur128(ours.momentary_lufs[m_index], np.array(polled_m))
    _assert_agrees_with_libebur128(ours.short_term_lufs[s_index], np.array(polled_s))
    assert np.ptp(ours.momentary_lufs[m_index]) > 1.0  # M moves across the span: the onset is in it


def test_live_readings_vs_libebur128_after_blocks_of_random_sizes() -> None:
    """M, S and integrated so far, read after each block (from the first samples on, where the
    windows reach back before the start), against libebur128 fed and polled the same way."""
    from sonicmix.loudness import LoudnessMeter

    fs = 48000
    audio = _burst_material(10.0, 13)
    rng = np.random.default_rng(14)
    meter = LoudnessMeter(fs, channels=2)
    state = _state(
        audio, fs, None, ebu.MeasurementMode.MODE_M | ebu.MeasurementMode.MODE_S | ebu.MeasurementMode.MODE_I
    )
    frames = _interleaved(audio)
    ours, lib, ends = [], [], []
    done = 0
    while done < audio.shape[1]:
        size = min(audio.shape[1] - done, int(np.exp(rng.uniform(0.0, math.log(12000.0)))))
        meter.update(audio[:, done : done + size])
        state.add_frames(frames[2 * done : 2 * (done + size)], size)
        done += size
        ends.append(done)
        ours.append((meter.momentary_lufs, meter.short_term_lufs, meter.integrated_lufs))
        lib.append(
            (
                ebu.get_loudness_momentary(state),
                ebu.get_loudness_shortterm(state),
                ebu.get_loudness_global(state),
            )
        )
    ours_a, lib_a = np.array(ours), np.array(lib)
    early = np.array(ends) < 0.4 * fs  # readings whose windows reach back before the start
    assert len(ours) > 100 and early.sum() >= 3 and np.isfinite(ours_a[early, 0]).any()
    _assert_agrees_with_libebur128(ours_a[:, 0], lib_a[:, 0])
    _assert_agrees_with_libebur128(ours_a[:, 1], lib_a[:, 1])
    defined = np.isfinite(lib_a[:, 2])
    np.testing.assert_array_equal(np.isfinite(ours_a[:, 2]), defined)
    np.testing.assert_allclose(ours_a[defined, 2], lib_a[defined, 2], rtol=0, atol=LIBEBUR128_LOUDNESS_TOL_LU)
