"""sonicmix.layouts.conversion: fold-down coefficients (ITU-R BS.775 and the immersive steps), placements.

Each step's expected matrix is restated here channel by channel from the
documented rule (the module docstring and docs/concepts/immersive.md), not
computed by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sonicmix.errors import AudioError, LayoutError, ParameterError
from sonicmix.layouts import (
    FOLD_DOWN_STEPS,
    LAYOUTS,
    Layout,
    conversion_matrix,
    downmix,
    fold_down_chain,
    get_layout,
)

H = math.sqrt(0.5)  # -3.01 dB

# step -> {target channel: {source channel: gain}}; target channels not listed take the source channel
# of the same name at unity (and nothing else)
EXPECTED_STEPS = {
    ("5.1", "stereo"): {"L": {"L": 1, "C": H, "Ls": H}, "R": {"R": 1, "C": H, "Rs": H}},  # BS.775-3 Table 2
    ("5.0", "stereo"): {"L": {"L": 1, "C": H, "Ls": H}, "R": {"R": 1, "C": H, "Rs": H}},
    ("stereo", "mono"): {"C": {"L": H, "R": H}},
    ("7.1", "5.1"): {"Ls": {"Lss": H, "Lrs": H}, "Rs": {"Rss": H, "Rrs": H}},
    ("7.1.4", "7.1"): {"L": {"L": 1, "Ltf": H}, "R": {"R": 1, "Rtf": H}, "Lrs": {"Lrs": 1, "Ltr": H},
                       "Rrs": {"Rrs": 1, "Rtr": H}},
    ("7.1.2", "7.1"): {"L": {"L": 1, "Ltf": H}, "R": {"R": 1, "Rtf": H}},
    ("5.1.4", "5.1"): {"L": {"L": 1, "Ltf": H}, "R": {"R": 1, "Rtf": H}, "Ls": {"Ls": 1, "Ltr": H},
                       "Rs": {"Rs": 1, "Rtr": H}},
    ("5.1.2", "5.1"): {"L": {"L": 1, "Ltf": H}, "R": {"R": 1, "Rtf": H}},
    ("9.1.6", "7.1.4"): {"L": {"L": 1, "Lw": H}, "R": {"R": 1, "Rw": H}, "Lss": {"Lss": 1, "Lw": H},
                         "Rss": {"Rss": 1, "Rw": H}, "Ltf": {"Ltf": 1, "Ltm": H}, "Rtf": {"Rtf": 1, "Rtm": H},
                         "Ltr": {"Ltr": 1, "Ltm": H}, "Rtr": {"Rtr": 1, "Rtm": H}},
}


def expected_matrix(src: str, dst: str, rows: dict[str, dict[str, float]]) -> np.ndarray:
    a, b = get_layout(src), get_layout(dst)
    m = np.zeros((b.n_channels, a.n_channels))
    for i, out in enumerate(b.channels):
        for source, gain in rows.get(out, {out: 1.0} if out in a.channels else {}).items():
            m[i, a.channels.index(source)] = gain
    return m


def test_the_steps_are_those_documented():
    assert {(src, dst) for src, (dst, _) in FOLD_DOWN_STEPS.items()} == set(EXPECTED_STEPS)


@pytest.mark.parametrize(("src", "dst"), list(EXPECTED_STEPS))
def test_each_step(src, dst):
    np.testing.assert_allclose(
        conversion_matrix(src, dst), expected_matrix(src, dst, EXPECTED_STEPS[(src, dst)]), rtol=0, atol=1e-15
    )


def test_the_chains():
    assert fold_down_chain("9.1.6") == ("7.1.4", "7.1", "5.1", "stereo", "mono")
    assert fold_down_chain("7.1.2") == ("7.1", "5.1", "stereo", "mono")
    assert fold_down_chain("5.1.4") == ("5.1", "stereo", "mono")
    assert fold_down_chain("5.0") == ("stereo", "mono")
    assert fold_down_chain("mono") == () and fold_down_chain("22.2") == ()


@pytest.mark.parametrize("src", [name for name in LAYOUTS if fold_down_chain(name)])
def test_a_long_fold_down_is_the_product_of_its_steps(src):
    chain = (src, *fold_down_chain(src))
    m = np.eye(get_layout(src).n_channels)
    for a, b in zip(chain, chain[1:], strict=False):
        m = expected_matrix(a, b, EXPECTED_STEPS[(a, b)]) @ m
        np.testing.assert_allclose(conversion_matrix(src, b), m, rtol=0, atol=1e-12)


def test_7_1_to_5_1_correlated_surrounds_are_3_db_hot_not_6(rng):
    x = np.zeros((8, 48000))
    x[4] = x[6] = 0.25 * np.sin(2 * np.pi * 500.0 * np.arange(48000) / 48000)  # Lrs and Lss
    y = downmix(x, "7.1", "5.1")
    assert 20 * np.log10(np.max(np.abs(y[4])) / 0.25) == pytest.approx(10 * np.log10(2), abs=1e-6)
    noise = rng.standard_normal((2, 480000))  # uncorrelated, same level: the level of one of them
    x[6], x[4] = noise[0, :48000], noise[1, :48000]
    y = downmix(x, "7.1", "5.1")
    assert np.mean(y[4] ** 2) == pytest.approx(np.mean(x[6] ** 2), rel=0.02)


def test_9_1_6_wides_and_top_middles_keep_their_power():
    m = conversion_matrix("9.1.6", "7.1.4")
    lay = get_layout("9.1.6")
    for name in ("Lw", "Rw", "Ltm", "Rtm"):
        assert np.sum(m[:, lay.channels.index(name)] ** 2) == pytest.approx(1.0, abs=1e-12)


def test_the_lfe_is_dropped_unless_asked_for():
    x = np.zeros((6, 10))
    x[3] = 1.0
    assert not downmix(x, "5.1", "stereo").any()
    y = downmix(x, "5.1", "stereo", lfe_db=-10.0)
    np.testing.assert_allclose(y, 10 ** (-10 / 20), rtol=1e-12)
    y = downmix(np.vstack([x, np.zeros((2, 10))]), "7.1", "mono", lfe_db=-6.0)
    np.testing.assert_allclose(y, 10 ** (-6 / 20), rtol=1e-12)
    np.testing.assert_array_equal(downmix(x, "5.1", "5.0"), 0.0)  # 5.0 has no LFE: dropped
    assert downmix(np.vstack([x, np.zeros((6, 10))]), "7.1.4", "5.1")[3].tolist() == [1.0] * 10


def test_the_lfe_asked_for_enters_a_scene_from_the_front_pair_s_directions():
    x = np.zeros((6, 10))
    x[3] = 1.0
    g = 10 ** (-10 / 20)
    assert not downmix(x, "5.1", "ambix1").any()  # dropped by default, as for loudspeakers
    # plane waves from +-30 degrees, SN3D: W = 1, Y = sin(az), Z = 0, X = cos(az) each
    expected = g * np.array([2.0, 0.0, 0.0, 2 * math.cos(math.radians(30.0))])
    y = downmix(x, "5.1", "ambix1", lfe_db=-10.0)
    np.testing.assert_allclose(y, np.repeat(expected[:, None], 10, axis=1), rtol=0, atol=1e-12)


def test_placements():
    assert conversion_matrix("mono", "5.1")[:, 0].tolist() == [0, 0, 1, 0, 0, 0]  # the centre
    np.testing.assert_allclose(conversion_matrix("mono", "stereo")[:, 0], [H, H])  # phantom centre
    m = conversion_matrix("5.1", "7.1")
    assert m[6, 4] == m[7, 5] == 1.0 and m[4:6].sum() == 0  # Ls/Rs into the side surrounds
    m = conversion_matrix("7.1.4", "9.1.6")
    nine = get_layout("9.1.6")
    for j, name in enumerate(get_layout("7.1.4").channels):
        assert m[:, j].tolist() == [1.0 if c == name else 0.0 for c in nine.channels]
    m = conversion_matrix("7.1.4", "22.2")  # by position: Ltf (U+045) -> TpFL, LFE -> LFE1
    twenty_two = get_layout("22.2")
    seven = get_layout("7.1.4")
    for j, name in enumerate(seven.channels):
        (target,) = np.flatnonzero(m[:, j])
        if seven.positions[j] is None:
            assert twenty_two.channels[target] == "LFE1"
        else:
            assert twenty_two.positions[target] == seven.positions[j], name


def test_between_branches_the_source_folds_only_as_far_as_needed():
    np.testing.assert_allclose(
        conversion_matrix("7.1", "5.0"), conversion_matrix("5.1", "5.0") @ conversion_matrix("7.1", "5.1")
    )
    folded = conversion_matrix("5.1", "5.1.2") @ conversion_matrix("7.1.4", "5.1")
    np.testing.assert_allclose(conversion_matrix("7.1.4", "5.1.2"), folded)


def test_22_2_converts_only_to_itself():
    with pytest.raises(LayoutError, match=r"no conversion from layout '22\.2' to 'stereo'.*no defined fold"):
        conversion_matrix("22.2", "stereo")
    np.testing.assert_array_equal(conversion_matrix("22.2", "22.2"), np.eye(24))


def test_custom_layouts_convert_only_to_themselves():
    custom = Layout("pair", ("A", "B"), (1.0, 1.0))
    np.testing.assert_array_equal(conversion_matrix(custom, custom), np.eye(2))
    with pytest.raises(LayoutError, match=r"'pair' is a custom layout"):
        conversion_matrix(custom, "mono")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_downmix_keeps_dtype_and_shape(dtype, rng):
    x = rng.standard_normal((16, 1000)).astype(dtype)
    y = downmix(x, "9.1.6", "stereo")
    assert y.dtype == dtype and y.shape == (2, 1000)
    np.testing.assert_allclose(y, conversion_matrix("9.1.6", "stereo") @ x.astype(np.float64), atol=1e-5)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: downmix(np.zeros((12, 4)), "9.1.6", "5.1"), LayoutError, r"audio has 12 channels but "
         r"layout='9\.1\.6' has 16"),
        (lambda: downmix(np.zeros((4800, 12)), "7.1.4", "5.1"), AudioError, r"pass data\.T"),
        (lambda: downmix(np.zeros((6, 4), int), "5.1", "stereo"), AudioError, r"not floating point"),
        (lambda: downmix(np.zeros((6, 4)), "5.1", "stereo", lfe_db=3.0), ParameterError, r"lfe_db=3 is out"),
        (lambda: downmix(np.zeros((6, 4)), "5.1", "stereo", lfe_db=math.inf), ParameterError, r"lfe_db=inf"),
        (lambda: downmix(np.zeros((8, 4)), "7.1", "5.1", lfe_db=-10.0), ParameterError, r"'5\.1' has an LFE"),
        (lambda: downmix(np.zeros((6, 4)), "5.1", "7.4.1"), LayoutError, r"did you mean '7\.1\.4'"),
    ],
)
def test_bad_input_is_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
