"""Plot helpers: the data of the drawn lines, checked against standards and scipy."""

from __future__ import annotations

import errno
import os
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")  # in the test extra
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import scipy.signal  # noqa: E402

import sonicmix as sm  # noqa: E402
from sonicmix.errors import AudioFileError, ParameterError  # noqa: E402
from sonicmix.plot import (  # noqa: E402
    frequency_response,
    gain_reduction_db,
    plot_gain_reduction,
    plot_loudness,
    plot_response,
)
from sonicmix.targets import get_target  # noqa: E402

FS = 48000


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def sine(freq_hz: float, seconds: float, amplitude: float, channels: int = 1, dtype=np.float32):
    t = np.arange(int(seconds * FS)) / FS
    return np.tile(amplitude * np.sin(2 * np.pi * freq_hz * t), (channels, 1)).astype(dtype)


def _sosfreqz(sos: np.ndarray, f: np.ndarray) -> np.ndarray:
    # scipy >= 1.15 names it freqz_sos; sosfreqz is the older name of the same function
    fn = getattr(scipy.signal, "freqz_sos", None) or scipy.signal.sosfreqz
    return fn(sos, worN=f, fs=FS)[1]


# ------------------------------------------------------------------------------------ loudness


def test_plot_loudness_draws_the_series_and_the_target_band():
    x = sine(1000.0, 10.0, 10 ** (-23 / 20), channels=2)  # EBU Tech 3341 case 1: -23 LUFS
    report = sm.measure(x, FS)
    target = get_target("ebu-r128")
    ax = plot_loudness(report, target=target)
    lines = {line.get_label(): line for line in ax.get_lines()}
    momentary = lines["momentary (400 ms)"]
    assert np.array_equal(momentary.get_xdata(), report.momentary_times_s)
    assert np.array_equal(momentary.get_ydata(), np.maximum(report.momentary_lufs, -60.0))
    short = lines["short-term (3 s)"]
    assert np.array_equal(short.get_xdata(), report.short_term_times_s)
    # the steady tone reads -23 LUFS once the 3 s window is full (Tech 3341 tolerance +-0.1 LU)
    assert np.all(np.abs(short.get_ydata()[30:] + 23.0) <= 0.1)
    # EBU R 128: target -23 LUFS; the band spans the preset's tolerance; ceiling -1 dBTP
    target_lines = [line for line in ax.get_lines() if line.get_label().startswith("_")]
    assert any(np.all(np.asarray(line.get_ydata()) == -23.0) for line in target_lines)
    assert np.all(np.asarray(lines["ceiling -1 dBTP"].get_ydata()) == -1.0)
    (band,) = [p for p in ax.patches if p.get_label().endswith("target band")]
    ys = band.get_patch_transform().transform(band.get_path().vertices)[:, 1]  # data units
    assert np.allclose((ys.min(), ys.max()), (target.lower_lufs, target.upper_lufs), atol=1e-12)


def test_plot_loudness_saves_a_png_without_pyplot(tmp_path):
    report = sm.measure(sine(1000.0, 2.0, 0.1, channels=2), FS)
    before = plt.get_fignums()
    ax = plot_loudness(report, path=tmp_path / "l.png")
    assert (tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == before  # a bare Figure: nothing left open in pyplot
    assert ax.get_ylabel() == "loudness (LUFS)"


def test_a_failed_save_leaves_no_temporary_file_and_names_the_path(tmp_path, monkeypatch):
    report = sm.measure(sine(1000.0, 1.0, 0.1), FS)
    taken = tmp_path / "taken.png"
    taken.mkdir()  # a folder under the name: the final rename fails (IsADirectoryError)
    with pytest.raises(AudioFileError, match=r"path='[^']*taken\.png': renaming .* failed") as raised:
        plot_loudness(report, path=taken)
    assert isinstance(raised.value.__cause__, IsADirectoryError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"] and taken.is_dir()

    from matplotlib.figure import Figure

    def half_written(self, fname, **kwargs):  # the disk fills up while the PNG is written
        with open(fname, "wb") as fh:
            fh.write(b"\x89PNG")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(AudioFileError, match=r"l\.png': writing .*/\.l\.png\.\w+\.partial\.png' failed \(No"):
        plot_loudness(report, path=tmp_path / "l.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"]


def test_two_plots_saved_to_one_name_at_once_each_write_their_own_temporary(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    report = sm.measure(sine(1000.0, 1.0, 0.1), FS)
    target = tmp_path / "l.png"
    real_savefig, written = Figure.savefig, []

    def save_and_meanwhile_another(self, fname, **kwargs):
        real_savefig(self, fname, **kwargs)
        written.append(fname)
        if len(written) == 1:  # a second plot to the same name, saved whole while the first waits to rename
            plot_loudness(report, path=target, title="second")

    monkeypatch.setattr(Figure, "savefig", save_and_meanwhile_another)
    plot_loudness(report, path=target, title="first")  # with one fixed temporary name its rename failed
    assert len(set(written)) == 2 and all(os.path.basename(f).startswith(".l.png.") for f in written)
    assert [p.name for p in tmp_path.iterdir()] == ["l.png"]  # the last rename wins; nothing left over
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not mkstemp's 0o600


def test_a_plot_is_saved_where_os_has_no_fchmod_and_the_umask_is_left_alone(tmp_path, monkeypatch):
    # Windows before Python 3.13 has no os.fchmod: every save raised AttributeError; and reading the
    # umask by setting it (where /proc is missing) changed it for every thread for a moment
    monkeypatch.delattr(os, "fchmod", raising=False)

    def no_umask(mask):
        raise AssertionError("the umask was set")

    monkeypatch.setattr(os, "umask", no_umask)
    plot_loudness(sm.measure(sine(1000.0, 1.0, 0.1), FS), path=tmp_path / "l.png")
    assert [p.name for p in tmp_path.iterdir()] == ["l.png"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: plot_loudness(sm.measure(np.zeros((1, 48000), np.float32), FS)),
        lambda: plot_response(sm.Peak(freq_hz=1000.0, gain_db=3.0), FS),
        lambda: plot_gain_reduction(sm.Limiter(), np.zeros((1, 4800), np.float32), FS),
    ],
)
def test_missing_matplotlib_names_the_plot_extra(call, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # import matplotlib raises ImportError
    with pytest.raises(ImportError, match=r"sonicmix\[plot\]"):
        call()


# ------------------------------------------------------------------------------------ responses


NODES = [
    sm.Peak(freq_hz=1000.0, gain_db=6.0, q=1.0),
    sm.LowShelf(freq_hz=200.0, gain_db=-4.0),
    sm.HighPass(cutoff_hz=100.0),
    sm.ButterworthHighPass(cutoff_hz=80.0, order=4),
    sm.ParametricEQ(
        bands=(
            sm.Band(kind="high_pass", freq_hz=90.0),
            sm.Band(kind="peak", freq_hz=3000.0, gain_db=3.0, q=1.2),
            sm.Band(kind="notch", freq_hz=50.0, q=10.0),
        )
    ),
]


@pytest.mark.parametrize("node", NODES, ids=lambda n: type(n).__name__)
def test_plot_response_matches_scipy_sosfreqz(node):
    ax = plot_response(node, FS, n=400, phase=True)
    f, db = ax.get_lines()[0].get_data()
    assert np.allclose(f, np.geomspace(10.0, FS / 2, 400), rtol=1e-12)  # log-spaced, 10 Hz .. Nyquist
    picks = [0, 57, 133, 250, 399]
    h = _sosfreqz(node.sections(FS), f[picks])
    # both evaluate the same rational function in float64: agreement to 1e-9 dB (rounding only)
    assert np.allclose(db[picks], 20 * np.log10(np.abs(h)), atol=1e-9)
    phase_line = ax.figure.axes[-1].get_lines()[0]
    degrees = np.degrees(np.unwrap(np.angle(_sosfreqz(node.sections(FS), f))))
    assert np.allclose(phase_line.get_ydata(), degrees, atol=1e-6)


def test_response_hits_the_cookbook_numbers():
    # Audio EQ Cookbook: a peak has exactly gain_db at freq_hz; a q=1/sqrt(2) high-pass is -3.01 dB
    # (half power) at its cutoff. Tolerances are float64 rounding.
    peak = frequency_response(sm.Peak(freq_hz=2500.0, gain_db=-7.5, q=2.0), FS, [2500.0])
    assert abs(20 * np.log10(abs(peak[0])) - (-7.5)) < 1e-9
    hp = frequency_response(sm.HighPass(cutoff_hz=120.0), FS, [120.0])
    assert abs(20 * np.log10(abs(hp[0])) - 10 * np.log10(0.5)) < 1e-9


def test_chains_multiply_and_raw_sos_is_accepted():
    peak = sm.Peak(freq_hz=1000.0, gain_db=6.0, q=1.0)
    f = np.array([50.0, 1000.0, 8000.0])
    chain = sm.Chain((peak, sm.Gain(gain_db=-3.0), sm.HighPass(cutoff_hz=60.0)))
    highpass = _sosfreqz(sm.HighPass(cutoff_hz=60.0).sos(FS), f)
    expected = _sosfreqz(peak.sections(FS), f) * 10 ** (-3 / 20) * highpass
    assert np.allclose(frequency_response(chain, FS, f), expected, rtol=1e-12)
    ax = plot_response(peak.sos(FS), FS, n=64)
    oracle = _sosfreqz(peak.sos(FS), np.geomspace(10, FS / 2, 64))
    assert np.allclose(ax.get_lines()[0].get_ydata(), 20 * np.log10(np.abs(oracle)), atol=1e-9)
    assert ax.get_title() == "sos response at 48000 Hz"


def test_linear_phase_eq_uses_its_fir_and_removes_the_delay_from_the_phase():
    bands = (sm.Band(kind="high_pass", freq_hz=200.0), sm.Band(kind="peak", freq_hz=2000.0, gain_db=4.0))
    node = sm.ParametricEQ(bands=bands, phase="linear")
    ax = plot_response(node, FS, n=300, low_hz=30.0, phase=True)
    f, db = ax.get_lines()[0].get_data()
    taps = node.fir(FS)
    oracle = scipy.signal.freqz(taps, [1.0], worN=f, fs=FS)[1]
    assert np.allclose(db, 20 * np.log10(np.abs(oracle)), atol=1e-9)
    # the documented design accuracy of the FIR: within 0.1 dB of the IIR from 30 Hz to 16 kHz
    iir = 20 * np.log10(np.abs(_sosfreqz(sm.ParametricEQ(bands=bands).sections(FS), f)))
    assert np.all(np.abs(db - iir)[f <= 16000] < 0.1)
    # a symmetric FIR less its (n - 1) / 2 delay is real: phase 0 or +-180 degrees
    phase = ax.figure.axes[-1].get_lines()[0].get_ydata()
    assert np.allclose(np.mod(phase + 1e-6, 180.0), 0.0, atol=1e-3)
    assert f"{(len(taps) - 1) / 2:g}-sample delay removed" in ax.figure.axes[-1].get_ylabel()


def test_plot_response_draws_into_given_axes():
    fig, ax = plt.subplots()
    assert plot_response(sm.LowPass(cutoff_hz=5000.0), FS, ax=ax, title="lp") is ax
    assert ax.get_title() == "lp" and ax.get_xscale() == "log"


@pytest.mark.parametrize(
    ("thing", "kwargs", "match"),
    [
        (sm.Reverb(), {}, r"node=Reverb is not a linear filter"),
        (np.zeros(3), {}, r"sos.shape=\(3,\)"),
        (np.array([[1.0, 0, 0, 0, 0, 0]]), {}, r"a0 == 0"),
        (sm.Peak(), {"n": 1}, r"n=1"),
        (sm.Peak(), {"low_hz": 30000.0}, r"low_hz=30000"),
    ],
)
def test_plot_response_refuses(thing, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        plot_response(thing, FS, **kwargs)


# ------------------------------------------------------------------------------------ gain reduction


def test_compressor_curve_follows_the_static_curve_and_excludes_makeup():
    # Giannoulis et al. (2012), hard knee: reduction = (L - T)(1 - 1/R) above the threshold. A 1 kHz
    # sine at 48 kHz has a sample exactly on each crest, 0.5 = -6.02 dBFS; attack 0 reaches the curve.
    x = sine(1000.0, 1.0, 0.5)
    expected = -(20 * np.log10(0.5) + 20.0) * (1 - 1 / 4)  # -10.48 dB at T=-20, R=4
    for makeup_db in (0.0, 6.0):
        comp = sm.Compressor(
            threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.0, release_s=1.0, makeup_db=makeup_db
        )
        curve = gain_reduction_db(comp, x, FS)
        assert curve.shape == (1, x.shape[1])
        # 1e-4 dB: float32 audio and gain (one rounding each), far below anything visible
        assert abs(np.nanmin(curve[0, 24000:]) - expected) < 1e-4
        assert np.nanmax(curve) <= 1e-5  # a compressor only reduces; makeup is not in the curve


def test_rms_detector_curve_is_the_static_curve_at_the_rms_level():
    # RMS of a sine is 3.01 dB under its peak; a 10 ms window holds exactly 10 periods of 1 kHz,
    # so the level is constant once the window is full and attack 0 follows it exactly.
    x = sine(1000.0, 0.5, 0.5)
    comp = sm.Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.0, detector="rms")
    curve = gain_reduction_db(comp, x, FS)[0, 1000:]
    expected = -(20 * np.log10(0.5 / np.sqrt(2)) + 20.0) * 0.75
    valid = curve[np.isfinite(curve)]
    assert valid.size > 0.9 * curve.size
    assert np.all(np.abs(valid - expected) < 1e-3)  # float32 running mean square: 1e-3 dB


def test_curve_is_aligned_with_the_input_despite_lookahead():
    # quiet (under the threshold), then loud from sample 24000: with lookahead L and attack 0 the gain
    # drops L samples before the loud input (the documented meaning of lookahead).
    x = np.full((1, 48000), 0.01, np.float32)
    x[:, 24000:] = 0.5
    comp = sm.Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.0, lookahead_s=0.002)
    lag = comp.latency_samples(FS)
    curve = gain_reduction_db(comp, x, FS)[0]
    assert curve.size == x.shape[1]
    assert abs(curve[24000 - lag - 1]) < 1e-5
    assert abs(curve[24000 - lag] - (-(20 * np.log10(0.5) + 20.0) * 0.75)) < 1e-4


def test_silence_is_shown_too_and_unlinked_channels_get_their_own_curves():
    x = np.vstack([sine(1000.0, 0.5, 0.5)[0], sine(1000.0, 0.5, 0.05)[0]])
    x[:, 10000:12000] = 0.0
    comp = sm.Compressor(threshold_db=-30.0, ratio=2.0, knee_db=0.0, attack_s=0.0, stereo_link=0.0)
    curves = gain_reduction_db(comp, x, FS)
    assert curves.shape == (2, x.shape[1])
    # the node's own gain: defined in digital silence too, releasing towards 0 dB
    assert np.all(np.isfinite(curves)) and np.all(np.diff(curves[:, 10000:12000], axis=1) >= 0)
    # and it is what the node multiplies by: output == input * 10 ** (curve / 20)
    np.testing.assert_allclose(comp(x, FS), x * 10 ** (curves / 20), rtol=1e-5, atol=1e-9)
    # each channel on the static curve of its own crest: -6.02 and -26.02 dBFS, T=-30, R=2
    for c, peak in enumerate((0.5, 0.05)):
        assert abs(np.nanmin(curves[c, 5000:10000]) - (-(20 * np.log10(peak) + 30.0) / 2)) < 1e-4
    linked = gain_reduction_db(sm.Compressor(threshold_db=-30.0, ratio=2.0), x, FS)
    assert linked.shape == (1, x.shape[1])


def test_gate_curve_opens_to_zero_and_closes_to_its_range():
    x = np.concatenate([np.full(4800, 0.5), np.full(24000, 1e-4)])[np.newaxis].astype(np.float32)
    gate = sm.Gate(threshold_db=-40.0, range_db=60.0, hold_s=0.01, release_s=0.01)
    curve = gain_reduction_db(gate, x, FS)[0]
    assert np.all(curve[:4800] == 0.0)  # open: gain exactly 1
    assert abs(curve[-1] - (-60.0)) < 1e-3  # closed to -range_db


def test_limiter_curve_is_its_gain_and_stays_under_the_ceiling():
    limiter = sm.Limiter(ceiling_dbtp=-6.0)
    x = np.ones((2, FS), np.float32)  # 0 dBFS DC: 6 dB over the ceiling
    curve = gain_reduction_db(limiter, x, FS)
    lag = limiter.latency_samples(FS)
    g, _ = limiter.gain(np.pad(x, ((0, 0), (0, lag))), FS, limiter.init_state(2, FS, np.float32))
    assert np.array_equal(curve, 20 * np.log10(g[:, lag:].astype(np.float64)))
    # Applied to the input it lines up with, the curve gives the limiter's output (followed by the
    # flush), whose true peak lies between ceiling - margin_db and the ceiling (the Limiter's documented
    # guarantee; 1e-3 dB for float32 rounding), read by our BS.1770 meter.
    y = np.pad(x * (10 ** (curve / 20)).astype(np.float32), ((0, 0), (0, lag)))
    assert -6.0 - limiter.margin_db(FS) - 1e-3 <= sm.measure(y, FS).true_peak_dbtp <= -6.0
    ax = plot_gain_reduction(limiter, x, FS)
    (line,) = ax.get_lines()
    assert np.array_equal(line.get_xdata(), np.arange(FS) / FS)
    assert np.array_equal(line.get_ydata(), curve[0])


def test_ducker_curve_is_its_analysis_and_reaches_the_depth():
    music = sine(220.0, 4.0, 0.1, channels=2)
    voice = np.zeros((1, music.shape[1]), np.float32)
    voice[:, FS : 3 * FS] = sine(1000.0, 2.0, 0.1)[0]  # in the speech band, steady for 2 s
    ducker = sm.Ducker(depth_db=12.0, lookahead_s=0.1)
    curve = gain_reduction_db(ducker, music, FS, key=voice)
    lag = ducker.latency_samples(FS)
    padded = np.pad(music, ((0, 0), (0, lag)))
    analysis = ducker.analyse(padded, FS, key=np.pad(voice, ((0, 0), (0, lag))))
    assert np.array_equal(curve[0], analysis.gain_db[lag:])
    assert curve[0, FS // 2] == 0.0 and curve[0, 2 * FS] == -12.0  # depth_db while the voice talks
    ax = plot_gain_reduction(ducker, music, FS, key=voice, title="bed")
    assert ax.get_title() == "bed" and np.array_equal(ax.get_lines()[0].get_ydata(), curve[0])


def test_plot_gain_reduction_draws_one_line_per_channel_into_given_axes():
    x = np.vstack([sine(500.0, 0.2, 0.5)[0], sine(500.0, 0.2, 0.1)[0]])
    fig, ax = plt.subplots()
    comp = sm.Compressor(threshold_db=-30.0, stereo_link=0.0)
    assert plot_gain_reduction(comp, x, FS, ax=ax) is ax
    curves = gain_reduction_db(comp, x, FS)
    assert len(ax.get_lines()) == 2
    for line, curve in zip(ax.get_lines(), curves, strict=True):
        assert np.array_equal(line.get_ydata(), curve, equal_nan=True)


@pytest.mark.parametrize(
    ("node", "kwargs", "match"),
    [
        (sm.Reverb(), {}, r"node=Reverb has no gain curve"),
        (sm.Ducker(), {}, r"Ducker needs a side-chain key"),
        (sm.Compressor(), {"key": np.zeros((1, 480), np.float32)}, r"takes no side-chain key"),
    ],
)
def test_gain_reduction_refuses(node, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        gain_reduction_db(node, np.zeros((1, 480), np.float32), FS, **kwargs)


def test_broadband_deesser_curve_is_observable():
    x = sine(6000.0, 0.2, 0.5)  # -6 dBFS in the sibilance band: 24 dB over a -30 dB threshold
    curve = gain_reduction_db(sm.DeEsser(mode="broadband", range_db=12.0), x, FS)
    # reduction limited to range_db; 0.1 dB: the peak detector's level sags between the crests of a
    # 6 kHz tone (8 samples a period) and the 50 ms release recovers a little of the gain there
    assert abs(np.nanmin(curve[0, 4800:]) - (-12.0)) < 0.1


def test_a_band_de_esser_shows_the_gain_of_its_band():
    """A loud 7 kHz tone is sibilance to the de-esser: its band is turned down, a 200 Hz tone is not."""
    de_esser = sm.DeEsser(mode="band", threshold_db=-30.0)
    hiss = gain_reduction_db(de_esser, sine(7000.0, 0.5, 0.5), FS)
    hum = gain_reduction_db(de_esser, sine(200.0, 0.5, 0.5), FS)
    assert hiss.shape == hum.shape == (1, FS // 2)
    assert hiss[0, -1] < -6.0 and hum[0, -1] > -0.5
