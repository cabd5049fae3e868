"""sonicmix.loudness.folddown: each fold-down's loudness and true peak, against libebur128.

Material: real-ish immersive beds (tests/reference/immersive.py). Each
fold-down is computed here with :func:`sonicmix.layouts.conversion_matrix`
(its coefficients are checked step by step in tests/layouts/test_downmix.py)
and measured by libebur128 (pyebur128) with the layout's BS.2051 channel
types. Tolerances: 0.01 LU on integrated loudness (tests/loudness/test_immersive.py);
true peak as tests/loudness/test_oracles.py: ours no more than 0.1 dB below
libebur128's and no more than 0.7 dB above it.
"""

from __future__ import annotations

import math

import numpy as np
import pyebur128 as ebu
import pytest

from sonicmix.errors import AudioError, LayoutError, ParameterError
from sonicmix.layouts import conversion_matrix, fold_down_chain, get_layout
from sonicmix.loudness import measure
from sonicmix.loudness.folddown import DownmixMeter, FoldDownCheck, downmix_check
from tests.loudness.test_immersive import ebur128_channel
from tests.reference.immersive import programme

FS = 48000
LOUDNESS_TOL_LU = 0.01
TP_LOWER_DB, TP_HIGHER_DB = 0.1, 0.7


def libebur128(audio: np.ndarray, layout: str) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of ``audio`` in ``layout`` from libebur128."""
    modes = ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_TRUE_PEAK
    state = ebu.R128State(audio.shape[0], FS, modes)
    for index, position in enumerate(get_layout(layout).positions):
        state.set_channel(index, ebur128_channel(position))
    state.add_frames(np.ascontiguousarray(audio.T, dtype=np.float64).reshape(-1), audio.shape[1])
    peak = max(ebu.get_true_peak(state, c) for c in range(audio.shape[0]))
    return ebu.get_loudness_global(state), 20 * math.log10(peak)


@pytest.fixture(scope="module", params=["9.1.6", "7.1.4", "5.1.4"])
def bed(request: pytest.FixtureRequest) -> tuple[str, np.ndarray]:
    x, _ = programme(request.param, FS, 15.0, seed=21)
    return request.param, x


def test_every_fold_down_agrees_with_libebur128(bed):
    name, x = bed
    rows = downmix_check(x, FS, name)
    assert [row.layout for row in rows] == list(fold_down_chain(name))
    for row in rows:
        folded = (conversion_matrix(name, row.layout) @ x.astype(np.float64)).astype(np.float32)
        lufs, peak_dbtp = libebur128(folded, row.layout)
        assert row.integrated_lufs == pytest.approx(lufs, abs=LOUDNESS_TOL_LU), row.layout
        assert peak_dbtp - TP_LOWER_DB <= row.true_peak_dbtp <= peak_dbtp + TP_HIGHER_DB, row.layout
        exact_sample_peak = 20 * math.log10(float(np.max(np.abs(folded))))
        # 1e-4 dB: the fold-down is computed in float32 (a few ulps from the float64 product)
        assert row.sample_peak_dbfs == pytest.approx(exact_sample_peak, abs=1e-4)
        assert row.clipped == (row.true_peak_dbtp > 0.0) and row.ceiling_dbtp == 0.0


def test_blocks_give_the_whole_result(bed):
    name, x = bed
    meter = DownmixMeter(FS, name)
    cuts = sorted(np.random.default_rng(4).integers(0, x.shape[1], 6))
    for block in np.split(x, cuts, axis=1):
        meter.update(block)
    assert meter.report() == downmix_check(x, FS, name)


def test_a_fold_down_that_clips_is_flagged():
    """The same music in the side and rear left surrounds: fine in 7.1.4 and 7.1, 3 dB over in 5.1."""
    x, _ = programme("7.1.4", FS, 10.0, seed=8)
    lay = get_layout("7.1.4")
    music = x[lay.channels.index("Lss")]
    music = music / np.max(np.abs(music)) * 0.8
    x[lay.channels.index("Lss")] = x[lay.channels.index("Lrs")] = music
    source = measure(x, FS, layout="7.1.4")
    assert source.true_peak_dbtp < -1.0
    rows = {row.layout: row for row in downmix_check(x, FS, "7.1.4")}
    assert rows["7.1"].true_peak_dbtp < -1.0 and not rows["7.1"].clipped
    # Ls = 0.71 (Lss + Lrs) = 1.41 x the music: 3 dB above the source's surrounds, over 0 dBTP
    lss_peak = measure(x[lay.channels.index("Lss")][np.newaxis], FS).true_peak_dbtp
    assert rows["5.1"].clipped and rows["5.1"].true_peak_dbtp == pytest.approx(lss_peak + 3.01, abs=0.3)
    strict = {row.layout: row for row in downmix_check(x, FS, "7.1.4", ceiling_dbtp=-6.0)}
    assert all(row.clipped == (row.true_peak_dbtp > -6.0) for row in strict.values())
    assert strict["7.1"].clipped  # the same fold-down, judged against a stricter delivery ceiling


def test_the_lfe_enters_only_the_fold_downs_without_one_and_only_when_asked(bed):
    name, x = bed
    plain = {row.layout: row for row in downmix_check(x, FS, name)}
    with_lfe = {row.layout: row for row in downmix_check(x, FS, name, lfe_db=0.0)}
    for layout, row in plain.items():
        if get_layout(layout).lfe_indices:
            assert with_lfe[layout] == row
        else:
            assert with_lfe[layout].integrated_lufs > row.integrated_lufs
            assert with_lfe[layout].sample_peak_dbfs != row.sample_peak_dbfs


def test_a_chosen_subset_and_22_2():
    x = programme("7.1.4", FS, 3.0, seed=2)[0]
    rows = downmix_check(x, FS, "7.1.4", layouts=["stereo"])
    assert [row.layout for row in rows] == ["stereo"] and isinstance(rows[0], FoldDownCheck)
    assert downmix_check(np.zeros((24, FS), np.float32), FS, "22.2") == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layouts": ["5.1.2"]}, LayoutError, r"\['5\.1\.2'\] are not fold-downs of '7\.1\.4'"),
        ({"layouts": ["stero"]}, LayoutError, r"did you mean 'stereo'"),
        ({"ceiling_dbtp": 1.0}, ParameterError, r"ceiling_dbtp=1 is out of range"),
        ({"lfe_db": 6.0}, ParameterError, r"lfe_db=6 is out of range"),
    ],
)
def test_bad_options_are_named_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        downmix_check(np.zeros((12, FS), np.float32), FS, "7.1.4", **kwargs)


def test_bad_audio_is_a_named_error():
    with pytest.raises(AudioError, match=r"audio has 10 channels; expected 12"):
        downmix_check(np.zeros((10, FS), np.float32), FS, "7.1.4")
    bad = np.zeros((12, FS), np.float32)
    bad[5, 100] = np.nan
    with pytest.raises(AudioError, match=r"non-finite"):
        downmix_check(bad, FS, "7.1.4")
