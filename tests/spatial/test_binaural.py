"""Binaural rendering and SOFA reading: cues measured on the KEMAR set, oracles, streaming, bad input.

Tests marked ``kemar`` need the MIT KEMAR set that Debian's libmysofa1 installs
(``bash scripts/install_tools.sh``) and h5py; they skip with the reason where
either is missing. The rest build their HRIR sets, and SOFA files, in code.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.signal

from sonicmix.errors import AudioError, AudioFileError, LayoutError, ParameterError
from sonicmix.layouts import LAYOUTS, Layout, Position, get_layout
from sonicmix.spatial import sofa as sofa_module
from sonicmix.spatial.binaural import Binaural, render_binaural, render_binaural_file, virtual_layout
from sonicmix.spatial.sofa import HrirSet, SofaError, read_sofa
from tests.nodes.examples_binaural import toy_hrirs
from tests.nodes.node_checks import assert_streaming_matches

KEMAR = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"

try:
    import h5py
except ImportError:  # pragma: no cover - the binaural extra is not installed
    h5py = None

needs_h5py = pytest.mark.skipif(
    h5py is None, reason='h5py is not installed (pip install "sonicmix[binaural]")'
)
kemar = pytest.mark.skipif(
    h5py is None or not os.path.isfile(KEMAR),
    reason=f"needs h5py and the MIT KEMAR set at {KEMAR} (apt-get install libmysofa1, or "
    "bash scripts/install_tools.sh)",
)


def _noise(rng: np.random.Generator, seconds: float, sample_rate: int) -> np.ndarray:
    return rng.standard_normal(int(seconds * sample_rate))


def _band_level_difference_db(left: np.ndarray, right: np.ndarray, sample_rate: int, low_hz, high_hz):
    f, p_left = scipy.signal.welch(left, sample_rate, nperseg=8192)
    _, p_right = scipy.signal.welch(right, sample_rate, nperseg=8192)
    band = (f >= low_hz) & (f <= high_hz)
    return 10.0 * np.log10(p_left[band].sum() / p_right[band].sum())


def _lag_of_right_s(left: np.ndarray, right: np.ndarray, sample_rate: int) -> float:
    """How much later the right ear hears the sound than the left (cross-correlation peak within 1 ms)."""
    c = scipy.signal.correlate(right, left, mode="full", method="fft")
    lags = np.arange(-left.size + 1, right.size)
    near = np.abs(lags) <= sample_rate // 1000
    return float(lags[near][np.argmax(c[near])] / sample_rate)


# --------------------------------------------------------------------------- the KEMAR set: conventions


@kemar
def test_kemar_file_puts_the_left_ear_first_and_positive_azimuth_on_the_left():
    # Read the raw file independently: receiver 0 sits at +y (SOFA: +y is the left), and the raw
    # response at SOFA azimuth 90 is louder and earlier in receiver 0, so positive azimuth is left.
    with h5py.File(KEMAR, "r") as f:
        receivers = np.asarray(f["ReceiverPosition"][()]).reshape(2, 3)
        positions = np.asarray(f["SourcePosition"][()])
        raw = np.asarray(f["Data.IR"][()])
    assert receivers[0, 1] > 0 > receivers[1, 1]
    at_90 = np.flatnonzero((positions[:, 0] == 90.0) & (positions[:, 1] == 0.0))[0]
    energy_db = 10 * np.log10((raw[at_90] ** 2).sum(axis=1))
    onset = np.argmax(np.abs(raw[at_90]) > 0.1 * np.abs(raw[at_90]).max(), axis=1)
    assert energy_db[0] - energy_db[1] > 6.0 and onset[0] < onset[1]
    hrirs = read_sofa(KEMAR)
    assert hrirs.sample_rate == 44100 and len(hrirs) == 710 and hrirs.taps == 512
    index, error_deg = hrirs.nearest(90.0, 0.0)
    assert error_deg == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_array_equal(hrirs.irs[index], raw[at_90])  # left ear first, as in the file
    # SOFA's 270 degrees is BS.2051's -90 (right): the mirror image, right ear louder.
    right, _ = hrirs.nearest(-90.0, 0.0)
    at_270 = np.flatnonzero((positions[:, 0] == 270.0) & (positions[:, 1] == 0.0))[0]
    np.testing.assert_array_equal(hrirs.irs[right], raw[at_270])
    assert hrirs.directions_deg[right].tolist() == [-90.0, 0.0]


@kemar
@pytest.mark.parametrize("sample_rate", [48000, 44100])
def test_cues_for_a_source_90_degrees_left_meet_the_goals(sample_rate, rng):
    # Issue 17's goals: ILD >= 6 dB in 1-4 kHz, ITD 0.5-0.8 ms, left ear louder and earlier.
    x = _noise(rng, 4.0, sample_rate)[np.newaxis]
    left, right = Binaural(directions_deg=[(90.0, 0.0)])(x, sample_rate)
    ild_db = _band_level_difference_db(left, right, sample_rate, 1000.0, 4000.0)
    itd_s = _lag_of_right_s(left, right, sample_rate)
    assert ild_db >= 6.0, ild_db
    assert 0.5e-3 <= itd_s <= 0.8e-3, itd_s  # positive: the right ear hears it later


@kemar
def test_side_surrounds_of_7_1_land_on_their_own_side(rng):
    bed = np.zeros((8, 3 * 48000))
    layout = get_layout("7.1")
    bed[layout.channels.index("Lss")] = _noise(rng, 3.0, 48000)
    left, right = render_binaural(bed, 48000, layout="7.1")
    assert _band_level_difference_db(left, right, 48000, 1000.0, 4000.0) >= 6.0
    assert _lag_of_right_s(left, right, 48000) >= 0.5e-3
    bed = bed[[1, 0, 2, 3, 5, 4, 7, 6]]  # swap every pair: the source is now Rss, on the right
    left, right = render_binaural(bed, 48000, layout="7.1")
    assert _band_level_difference_db(right, left, 48000, 1000.0, 4000.0) >= 6.0
    assert _lag_of_right_s(left, right, 48000) <= -0.5e-3


@kemar
def test_output_is_the_sum_of_the_files_responses_convolved(rng):
    # The oracle reads the HRIRs straight from the file and picks them by SOFA's own angles:
    # 5.1 at 44.1 kHz (no resampling), each loudspeaker on a measured direction.
    with h5py.File(KEMAR, "r") as f:
        positions = np.asarray(f["SourcePosition"][()])
        raw = np.asarray(f["Data.IR"][()])
    sofa_azimuths = {"L": 30.0, "R": 330.0, "C": 0.0, "Ls": 110.0, "Rs": 250.0}
    layout = get_layout("5.1")
    x = rng.standard_normal((6, 9000))
    expected = np.zeros((2, 9000))
    for name, azimuth in sofa_azimuths.items():
        row = np.flatnonzero((positions[:, 0] == azimuth) & (positions[:, 1] == 0.0))[0]
        c = layout.channels.index(name)
        for ear in range(2):
            expected[ear] += scipy.signal.fftconvolve(x[c], raw[row, ear])[:9000]
    y = Binaural(layout="5.1")(x, 44100)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@kemar
def test_resampled_set_keeps_level_and_interaural_delay():
    # KEMAR is measured at 44.1 kHz; rendered at 48 and 96 kHz its responses are resampled and scaled
    # so that the filter's gain stays: the same energy per ear (x rate ratio) and the same ITD.
    node = Binaural(directions_deg=[(60.0, 0.0)])
    results = {}
    for rate in (44100, 48000, 96000):
        assert node.latency_samples(rate) == 0  # KEMAR's leading samples leave room for pre-ringing
        impulse = np.zeros((1, rate // 10))
        impulse[0, 0] = 1.0
        y = node(impulse, rate)
        spectrum = np.abs(np.fft.rfft(y, n=rate, axis=1)) ** 2  # 1 Hz bins
        band_db = 10 * np.log10(spectrum[:, 200:16000].sum(axis=1))
        lag_s = (np.argmax(np.abs(y[1])) - np.argmax(np.abs(y[0]))) / rate
        results[rate] = band_db, lag_s
    for rate in (48000, 96000):
        np.testing.assert_allclose(results[rate][0], results[44100][0], atol=0.05)
        assert abs(results[rate][1] - results[44100][1]) <= 1.0 / 44100


@kemar
def test_every_named_layout_finds_hrirs_within_three_degrees():
    for name, layout in LAYOUTS.items():
        choices = Binaural(layout=name).hrir_choices()
        assert len(choices) == layout.n_channels - len(layout.lfe_indices), name
        assert max(c.error_deg for c in choices) <= 3.0, name


@kemar
def test_lfe_is_dropped_by_default_and_added_to_both_ears_at_lfe_db():
    layout = get_layout("5.1")
    x = np.zeros((6, 4000))
    x[layout.lfe_indices[0], 100] = 1.0
    assert not np.any(Binaural(layout="5.1")(x, 48000))
    y = Binaural(layout="5.1", lfe_db=-10.0)(x, 48000)
    impulse = np.zeros((1, 4000))
    impulse[0, 100] = 1.0
    front = Binaural(directions_deg=[(0.0, 0.0)])(impulse, 48000)  # the frontal pair's arrival
    arrival = int(round(np.mean(np.argmax(np.abs(front), axis=1))))
    for ear in range(2):  # an impulse at the arrival, and FFT rounding elsewhere
        assert np.flatnonzero(np.abs(y[ear]) > 1e-12).tolist() == [arrival]
        assert y[ear, arrival] == pytest.approx(10 ** (-10 / 20), rel=1e-9)


@kemar
def test_a_7_1_4_bed_streams_like_the_whole_with_its_lfe(rng):
    bed = rng.standard_normal((12, 20000)) * 0.1
    node = Binaural(layout="7.1.4", lfe_db=0.0)
    for sizes in [(1024,), (63,), (4097,), (7, 3000, 1, 555)]:
        assert_streaming_matches(node, bed, 48000, sizes)


@kemar
def test_float32_stays_float32_and_agrees_with_float64(rng):
    bed = (rng.standard_normal((12, 9600)) * 0.1).astype(np.float32)
    y32 = render_binaural(bed, 48000, layout="7.1.4")
    y64 = render_binaural(bed.astype(np.float64), 48000, layout="7.1.4")
    assert y32.dtype == np.float32 and y64.dtype == np.float64 and y32.shape == (2, 9600)
    assert np.max(np.abs(y32 - y64)) <= 2e-6 * np.max(np.abs(y64))


@kemar
def test_file_render_streams_the_file_into_the_in_memory_result(tmp_path, rng):
    import sonicmix.io as sio

    bed = (rng.standard_normal((12, 48000 + 123)) * 0.05).astype(np.float32)
    source = tmp_path / "bed.wav"
    sio.write(source, bed, 48000, layout="7.1.4", subtype="FLOAT")
    result = render_binaural_file(source, tmp_path / "ears.wav", subtype="FLOAT", block_size=4000)
    assert result.channels == 2 and result.frames == bed.shape[1]
    ears, rate = sio.read(tmp_path / "ears.wav")
    assert rate == 48000
    np.testing.assert_allclose(ears, render_binaural(bed, 48000, layout="7.1.4"), rtol=0, atol=2e-6)
    with pytest.raises(AudioFileError, match="exists"):
        render_binaural_file(source, tmp_path / "ears.wav")


@kemar
def test_file_render_refuses_a_layout_the_file_contradicts(tmp_path):
    import sonicmix.io as sio

    source = tmp_path / "bed.wav"
    sio.write(source, np.zeros((10, 480), np.float32), 48000, layout="5.1.4")
    with pytest.raises(LayoutError, match="5.1.4"):
        render_binaural_file(source, tmp_path / "ears.wav", layout="7.1.2")
    assert not (tmp_path / "ears.wav").exists()


@kemar
def test_file_render_with_a_nan_writes_nothing(tmp_path):
    import soundfile

    bed = np.zeros((4800, 6), np.float32)
    bed[3000, 2] = np.nan
    source = tmp_path / "bed.wav"
    soundfile.write(source, bed, 48000, subtype="FLOAT")
    with pytest.raises(AudioError, match="non-finite"):
        render_binaural_file(source, tmp_path / "ears.wav", block_size=1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bed.wav"]


# ----------------------------------------------------------------------- the node, with sets built in code


def test_directions_and_their_virtual_layout_render_the_same(rng):
    hrirs = toy_hrirs(5, 64, 48000)
    directions = [(30.0, 0.0), (-150.0, 0.0), (0.0, 90.0)]
    x = rng.standard_normal((3, 5000))
    by_directions = Binaural(directions_deg=directions, sofa=hrirs)(x, 48000)
    by_layout = Binaural(layout=virtual_layout(directions), sofa=hrirs)(x, 48000)
    np.testing.assert_array_equal(by_directions, by_layout)
    # and it is the sum of each direction's own pair, picked by its measured direction
    expected = np.zeros((2, 5000))
    for c, direction in enumerate(directions):
        row = [tuple(d) for d in hrirs.directions_deg.tolist()].index(direction)
        for ear in range(2):
            expected[ear] += np.convolve(x[c], hrirs.irs[row, ear])[:5000]
    np.testing.assert_allclose(by_directions, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_nearest_direction_is_the_smallest_great_circle_angle():
    directions = [(0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (-90.0, 0.0), (0.0, 90.0), (0.0, -40.0)]
    hrirs = HrirSet(np.ones((6, 2, 1)), directions, 48000)
    assert hrirs.nearest(179.0, 0.0)[0] == 2 and hrirs.nearest(-179.0, 0.0)[0] == 2  # across +-180
    assert hrirs.nearest(123.0, 80.0) == (4, pytest.approx(10.0))  # near the pole, azimuth hardly matters
    assert hrirs.nearest(-80.0, -5.0)[0] == 3
    # with several distances only the farthest measurements count
    far = HrirSet(np.ones((2, 2, 1)), [(0.0, 0.0), (10.0, 0.0)], 48000, distances_m=[0.5, 2.0])
    assert far.nearest(0.0, 0.0) == (1, pytest.approx(10.0))


def test_latency_is_zero_and_a_click_comes_back_in_the_same_call():
    node = Binaural(directions_deg=[(30.0, 0.0)], sofa=HrirSet(np.ones((1, 2, 5)), [(30.0, 0.0)], 48000))
    assert node.latency_samples(48000) == 0
    state = node.init_state(1, 48000, np.float64)
    for _ in range(50):
        node.process(np.zeros((1, 7)), 48000, state)
    y, state = node.process(np.ones((1, 1)), 48000, state)
    assert y.tolist() == [[1.0], [1.0]]


def test_state_does_not_grow_with_the_programme(rng):
    node = Binaural(layout="5.1", sofa=toy_hrirs(6, 400, 48000), max_error_deg=15.0)
    state = node.init_state(6, 48000, np.float32)
    size = state.convolver.history.nbytes + state.convolver.window.nbytes
    block = (rng.standard_normal((6, 4800)) * 0.1).astype(np.float32)
    for _ in range(100):
        _, state = node.process(block, 48000, state)
    assert state.convolver.history.nbytes + state.convolver.window.nbytes == size


def test_repr_round_trips_with_a_set_and_with_a_path():
    import sonicmix

    for node in (
        Binaural(layout="7.1.4", sofa="/some/where/set.sofa", lfe_db=-10.0, max_error_deg=5.0),
        Binaural(directions_deg=[(10.0, 20.0)], sofa=toy_hrirs(7, 3, 44100), partition_samples=128),
        Binaural(layout=virtual_layout([(0.0, 0.0), (180.0, 0.0)])),
    ):
        namespace = {"Binaural": Binaural, "HrirSet": HrirSet, "array": np.array, "float32": np.float32}
        namespace.update(Layout=sonicmix.Layout, Position=Position)
        assert eval(repr(node), namespace) == node  # noqa: S307 - our own repr
        hash(node)


# ---------------------------------------------------------------------------------------- bad input


def test_layout_and_channel_count_must_agree(rng):
    node = Binaural(layout="5.1", sofa=toy_hrirs(8, 8, 48000), max_error_deg=30.0)
    with pytest.raises(LayoutError, match=r"12 channels but layout='5.1' has 6 \(L R C LFE Ls Rs\)"):
        node(np.zeros((12, 100)), 48000)
    with pytest.raises(LayoutError, match="has 12 channels and no layout was given"):
        render_binaural(np.zeros((12, 100)), 48000, sofa=toy_hrirs(8, 8, 48000))  # never guessed
    with pytest.raises(LayoutError, match=r"layout='7\.1\.4' has 12 channels but audio has 10"):
        render_binaural(np.zeros((10, 100)), 48000, layout="7.1.4")
    with pytest.raises(LayoutError, match="did you mean '7.1.4'"):
        Binaural(layout="7.4.1")


def test_nan_and_bad_audio_are_named(rng):
    x = np.zeros((2, 100))
    x[1, 42] = np.nan
    with pytest.raises(AudioError, match="channel 1, sample 42"):
        render_binaural(x, 48000, sofa=toy_hrirs(9, 8, 48000))
    with pytest.raises(AudioError, match="expected \\(channels, samples\\)"):
        render_binaural(np.zeros((48000, 2)), 48000, sofa=toy_hrirs(9, 8, 48000))
    with pytest.raises(AudioError, match="not floating point"):
        render_binaural(np.zeros((2, 10), np.int16), 48000, sofa=toy_hrirs(9, 8, 48000))


def test_parameters_are_checked_on_construction():
    with pytest.raises(ParameterError, match="both given"):
        Binaural(layout="stereo", directions_deg=[(0.0, 0.0)])
    with pytest.raises(ParameterError, match=r"directions_deg\[1\] has elevation_deg=95"):
        Binaural(directions_deg=[(0.0, 0.0), (0.0, 95.0)])
    with pytest.raises(ParameterError, match="directions_deg is empty"):
        Binaural(directions_deg=[])
    with pytest.raises(ParameterError, match=r"lfe_db=-10\.0 was given but layout='stereo' has no LFE"):
        Binaural(layout="stereo", lfe_db=-10.0)
    with pytest.raises(ParameterError, match="lfe_db=30 is out of range"):
        Binaural(layout="5.1", lfe_db=30.0)
    with pytest.raises(ParameterError, match="partition_samples=1000 is invalid"):
        Binaural(partition_samples=1000)
    with pytest.raises(ParameterError, match="sofa=.* is a int"):
        Binaural(sofa=3)
    with pytest.raises(LayoutError, match="has no loudspeaker positions"):
        Binaural(layout=Layout("pair", ("A", "B"), (1.0, 1.0)))


def test_a_loudspeaker_far_from_every_hrir_is_refused():
    flat = toy_hrirs(10, 8, 48000, step_deg=15.0)  # horizontal plane, every 15 degrees, and straight up
    node = Binaural(layout="7.1.4", sofa=flat)
    with pytest.raises(
        LayoutError, match=r"channel 'Ltf' at azimuth 45, elevation 30 degrees: .* max_error_deg=10"
    ):
        node(np.zeros((12, 10)), 48000)
    Binaural(layout="7.1.4", sofa=flat, max_error_deg=40.0)(np.zeros((12, 10)), 48000)  # allowed


def test_hrir_set_checks_its_arrays():
    with pytest.raises(ParameterError, match=r"irs.shape=\(3, 1, 4\)"):
        HrirSet(np.zeros((3, 1, 4)), np.zeros((3, 2)), 48000)
    with pytest.raises(ParameterError, match=r"directions_deg.shape=\(2, 2\) but irs holds 3"):
        HrirSet(np.zeros((3, 2, 4)), np.zeros((2, 2)), 48000)
    bad = np.zeros((1, 2, 4))
    bad[0, 1, 2] = np.inf
    with pytest.raises(ParameterError, match=r"irs\[0, 1, 2\]=inf"):
        HrirSet(bad, [(0.0, 0.0)], 48000)
    with pytest.raises(ParameterError, match=r"directions_deg\[0\] has elevation_deg=91"):
        HrirSet(np.zeros((1, 2, 4)), [(0.0, 91.0)], 48000)
    with pytest.raises(ParameterError, match="sample_rate=48 is out of range"):
        HrirSet(np.zeros((1, 2, 4)), [(0.0, 0.0)], 48)


# ------------------------------------------------------------------------------------- SOFA files


def _write_sofa(path, irs, positions, *, sample_rate=48000.0, kind="spherical", receivers=None, **extra):
    """A minimal SimpleFreeFieldHRIR file (the attributes and variables the reader looks at)."""
    with h5py.File(path, "w") as f:
        f.attrs["Conventions"] = np.bytes_(extra.pop("conventions", "SOFA"))
        f.attrs["SOFAConventions"] = np.bytes_(extra.pop("convention", "SimpleFreeFieldHRIR"))
        f.attrs["DataType"] = np.bytes_("FIR")
        f["Data.IR"] = irs
        f["Data.SamplingRate"] = np.array([sample_rate])
        f["Data.SamplingRate"].attrs["Units"] = np.bytes_("hertz")
        f["SourcePosition"] = positions
        f["SourcePosition"].attrs["Type"] = np.bytes_(kind)
        f["ListenerView"] = np.array(extra.pop("view", [[1.0, 0.0, 0.0]]))
        f["ListenerView"].attrs["Type"] = np.bytes_("cartesian")
        if receivers is not None:
            f["ReceiverPosition"] = np.asarray(receivers, dtype=float)[:, :, np.newaxis]
            f["ReceiverPosition"].attrs["Type"] = np.bytes_("cartesian")
        for name, value in extra.items():
            f[name.replace("_", ".")] = value


def _two_directions():
    irs = np.zeros((2, 2, 6))
    irs[0, 0, 0], irs[0, 1, 2] = 1.0, 0.25  # the first receiver loud and early
    irs[1, 0, 2], irs[1, 1, 0] = 0.25, 1.0
    return irs


@needs_h5py
def test_cartesian_positions_and_receivers_right_first_are_normalised(tmp_path):
    # Source 0 on +y (left), source 1 on -y; receiver 0 declared on the right (-y): the set must
    # swap the ears, so that the left ear is first and the source on the left is louder there.
    path = tmp_path / "right-first.sofa"
    positions = np.array([[0.0, 1.5, 0.0], [0.0, -1.5, 0.0]])
    _write_sofa(path, _two_directions(), positions, kind="cartesian", receivers=[[0, -0.09, 0], [0, 0.09, 0]])
    hrirs = read_sofa(path)
    np.testing.assert_allclose(hrirs.directions_deg, [[90.0, 0.0], [-90.0, 0.0]])
    np.testing.assert_allclose(hrirs.distances_m, [1.5, 1.5])
    np.testing.assert_array_equal(hrirs.irs[:, 0], _two_directions()[:, 1])
    np.testing.assert_array_equal(hrirs.irs[:, 1], _two_directions()[:, 0])


@needs_h5py
def test_whole_sample_delays_are_prepended_and_fractional_ones_refused(tmp_path):
    path = tmp_path / "delayed.sofa"
    _write_sofa(path, _two_directions(), [[90, 0, 1], [270, 0, 1]], Data_Delay=np.array([[2.0, 5.0]]))
    hrirs = read_sofa(path)
    assert hrirs.taps == 11
    np.testing.assert_array_equal(hrirs.irs[0, 0, 2:8], _two_directions()[0, 0])
    np.testing.assert_array_equal(hrirs.irs[0, 1, 5:11], _two_directions()[0, 1])
    _write_sofa(path, _two_directions(), [[90, 0, 1], [270, 0, 1]], Data_Delay=np.array([[0.5, 0.0]]))
    with pytest.raises(SofaError, match="fractional delays are not supported"):
        read_sofa(path)


@needs_h5py
def test_a_file_that_is_not_sofa_is_named(tmp_path):
    text = tmp_path / "notes.sofa"
    text.write_text("not a SOFA file")
    with pytest.raises(SofaError, match=r"notes\.sofa' is not a SOFA file: it is not a netCDF-4 \(HDF5\)"):
        read_sofa(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(SofaError, match="HDF5 file but not a SOFA file"):
        read_sofa(other)
    tf = tmp_path / "tf.sofa"
    _write_sofa(tf, _two_directions(), [[90, 0, 1], [270, 0, 1]], convention="SimpleFreeFieldHRTF")
    with pytest.raises(SofaError, match="'SimpleFreeFieldHRTF' convention; expected 'SimpleFreeFieldHRIR'"):
        read_sofa(tf)
    mono = tmp_path / "mono.sofa"
    _write_sofa(mono, np.zeros((2, 1, 4)), [[90, 0, 1], [270, 0, 1]])
    with pytest.raises(SofaError, match=r"Data.IR has shape \(2, 1, 4\); expected \(M, 2, N\)"):
        read_sofa(mono)
    turned = tmp_path / "turned.sofa"
    _write_sofa(turned, _two_directions(), [[90, 0, 1], [270, 0, 1]], view=[[0.0, 1.0, 0.0]])
    with pytest.raises(SofaError, match="ListenerView"):
        read_sofa(turned)
    with pytest.raises(SofaError, match="does not exist.*apt-get install libmysofa1"):
        read_sofa(tmp_path / "missing.sofa")
    assert issubclass(SofaError, AudioFileError)


@needs_h5py
def test_a_set_at_another_rate_is_resampled(tmp_path):
    # A 44.1 kHz file rendered at 48 kHz: resampled with soxr, scaled to keep the filter's gain.
    # These responses start at full level on their first sample, so the resampler's pre-ringing
    # needs a few samples in front: reported as latency, and the output is delayed by as much.
    path = tmp_path / "slow.sofa"
    rng = np.random.default_rng(3)
    irs = rng.standard_normal((2, 2, 256)) * np.exp(-np.arange(256) / 40.0)
    _write_sofa(path, irs, [[30, 0, 1], [330, 0, 1]], sample_rate=44100.0)
    node = Binaural(layout="stereo", sofa=str(path))
    latency = node.latency_samples(48000)
    assert 1 <= latency <= 100
    assert node.latency_samples(44100) == 0
    impulse = np.zeros((2, 48000))
    impulse[0, 0] = 1.0
    y = node(impulse, 48000)
    gain_44k = np.abs(np.fft.rfft(irs[0], n=44100, axis=1)) ** 2  # 1 Hz bins
    gain_48k = np.abs(np.fft.rfft(y, n=48000, axis=1)) ** 2
    for center_hz in 100.0 * 2 ** (np.arange(22) / 3):  # third octaves, 100 Hz to 12.7 kHz
        band = slice(int(center_hz * 2 ** (-1 / 6)), int(center_hz * 2 ** (1 / 6)))
        level_44k = 10 * np.log10(gain_44k[:, band].sum(axis=1))
        level_48k = 10 * np.log10(gain_48k[:, band].sum(axis=1))
        np.testing.assert_allclose(level_48k, level_44k, atol=0.05)
    # the delay is the latency: the left ear's response at 48 kHz peaks where the 44.1 kHz one does
    peak_s = np.argmax(np.abs(irs[0, 0])) / 44100
    assert np.argmax(np.abs(y[0])) - latency == pytest.approx(peak_s * 48000, abs=1)


def test_missing_default_set_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(sofa_module, "DEFAULT_SOFA_PATHS", ("/nonexistent/a.sofa",))
    with pytest.raises(
        SofaError, match=r"no default HRIR set is installed.*apt-get install libmysofa1.*sofa="
    ):
        Binaural(layout="stereo")(np.zeros((2, 10)), 48000)


def test_a_bus_chain_ending_in_binaural_leaves_as_stereo_with_its_tail(rng):
    import sonicmix as sm

    hrirs = toy_hrirs(12, 300, 48000, step_deg=15.0)
    bed = (rng.standard_normal((6, 20000)) * 0.1).astype(np.float32)
    node = Binaural(layout="5.1", sofa=hrirs)
    graph = sm.Graph(
        tracks={
            "bed": sm.Track(clips=(sm.Clip(source=sm.ArraySource(bed, 48000, name="bed")),), layout="5.1")
        },
        buses={"master": sm.Bus(layout="5.1", chain=(node,), output=None)},
    )
    assert graph.output_layout("master") == "stereo"
    padded = np.concatenate((bed, np.zeros((6, 1000), np.float32)), axis=1)
    expected = render_binaural(padded, 48000, layout="5.1", sofa=hrirs)
    for block_size in (None, 1000):
        mix = sm.render(graph, sample_rate=48000, block_size=block_size).master
        assert mix.shape[0] == 2 and 20000 < mix.shape[1] <= 21000  # the responses ring out
        np.testing.assert_allclose(mix, expected[:, : mix.shape[1]], rtol=0, atol=2e-6)


# ---------------------------------------------------------------------------------- notebook player


def test_display_player_renders_only_the_start_it_embeds(rng):
    from sonicmix.display import binaural

    hrirs = toy_hrirs(11, 32, 48000)
    x = (rng.standard_normal((2, 5 * 48000)) * 0.1).astype(np.float32)
    x[1, 100] = np.nan
    player = binaural(x, 48000, sofa=hrirs, max_duration_s=1.0)
    assert player.audio.shape == (2, 48000) and player.audio.dtype == np.float32
    assert player.title == "stereo for headphones (HRIR set), the first 1.0 s of 5.0 s, " + (
        "1 non-finite samples rendered as silence"
    )
    clean = np.nan_to_num(x[:, :48000], nan=0.0)
    np.testing.assert_array_equal(player.audio, render_binaural(clean, 48000, sofa=hrirs))
    assert "data:audio/wav;base64," in player._repr_html_()
    with pytest.raises(LayoutError, match="has 12 channels and no layout was given"):
        binaural(np.zeros((12, 10)), 48000, sofa=hrirs)


# ----------------------------------------------------------------------------- from an Ambisonics bus


def _ambisonics_nodes():
    try:
        from sonicmix.nodes.ambisonics import AmbisonicDecoder, AmbisonicEncoder
    except ImportError as error:  # pragma: no cover - while the Ambisonics nodes are not in the tree
        pytest.skip(f"the Ambisonics nodes are not importable: {error}")
    return AmbisonicEncoder, AmbisonicDecoder


@kemar
def test_an_ambisonics_bus_decoded_to_virtual_loudspeakers_keeps_the_side(rng):
    # Encode noise at +90 degrees, decode to 25 virtual loudspeakers on measured KEMAR directions,
    # render those binaurally: the left ear stays louder and earlier. First order smears the sound
    # over many loudspeakers and its ITD collapses (0.17 ms measured); at order 3 the cues meet the
    # goals for a direct source (measured: ILD 14.6 dB, ITD 0.44 ms; the KEMAR pair alone: 8.0 dB,
    # 0.73 ms).
    encoder, decoder = _ambisonics_nodes()
    kemar_set = read_sofa(KEMAR)
    directions = []
    for elevation, count in {-30.0: 6, 0.0: 8, 30.0: 6, 60.0: 4, 90.0: 1}.items():
        for k in range(count):
            index, _ = kemar_set.nearest((360.0 * k / count + 180.0) % 360.0 - 180.0, elevation)
            directions.append(tuple(kemar_set.directions_deg[index].tolist()))
    x = _noise(rng, 3.0, 48000)[np.newaxis]
    cues = {}
    for order in (1, 3):
        bus = encoder(order=order, azimuth_deg=90.0)(x, 48000)
        feeds = decoder(order=order, layout=virtual_layout(directions))(bus, 48000)
        left, right = Binaural(directions_deg=directions)(feeds, 48000)
        cues[order] = (
            _band_level_difference_db(left, right, 48000, 1000.0, 4000.0),
            _lag_of_right_s(left, right, 48000),
        )
    assert cues[1][0] > 3.0 and cues[1][1] > 0.1e-3, cues  # the correct side
    assert cues[3][0] >= 6.0 and 0.3e-3 <= cues[3][1] <= 0.8e-3, cues
    assert cues[3][1] > cues[1][1], cues
