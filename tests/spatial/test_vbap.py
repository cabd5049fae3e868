"""VBAP (sonicmix.spatial.vbap): the invariants on every layout, and independent oracles.

Oracles: Pulkki's definition (the gain-weighted sum of the loudspeaker vectors points at the
source), the stereophonic tangent law (Bennett et al. 1985) for a pair, geometry for the
positions. Random directions are uniform on the sphere (seeded).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sonicmix.errors import LayoutError
from sonicmix.layouts import LAYOUTS, Layout, Position, get_layout
from sonicmix.spatial.vbap import VbapSetup, spread_directions, unit_vectors, vbap_gains, vbap_setup

ALL_LAYOUTS = sorted(LAYOUTS)


def random_directions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    v = rng.standard_normal((n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.degrees(np.arctan2(v[:, 1], v[:, 0])), np.degrees(np.arcsin(v[:, 2]))


def edge_directions() -> tuple[np.ndarray, np.ndarray]:
    """Poles, the back, the horizon every 15 degrees, and azimuths past +-180."""
    az = np.concatenate([np.arange(-180.0, 181.0, 15.0), [0.0, 0.0, 37.0, 540.0, -721.0, 180.0, -180.0]])
    el = np.concatenate([np.zeros(25), [90.0, -90.0, 90.0, 10.0, -10.0, -45.0, 89.999]])
    return az, el


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_invariants_on_random_directions(name, rng):
    layout = get_layout(name)
    az, el = random_directions(rng, 3000)
    eaz, eel = edge_directions()
    az, el = np.concatenate([az, eaz]), np.concatenate([el, eel])
    g = vbap_gains(name, az, el)
    assert g.shape == (az.size, layout.n_channels)
    assert np.all(g >= 0.0)
    np.testing.assert_allclose(np.sum(g**2, axis=1), 1.0, rtol=0, atol=1e-12)
    most = {1: 1, 2: 2}.get(len(layout.channels) - len(layout.lfe_indices), 3)
    if vbap_setup(name).kind == "2d":
        most = 2
    # exactly at the virtual nadir a source has no direction to project and plays on the whole rim
    off_nadir = el > -90.0 if vbap_setup(name).virtual_nadir else np.ones(el.size, bool)
    assert np.count_nonzero(g[off_nadir], axis=1).max() <= most
    assert np.all(g[:, list(layout.lfe_indices)] == 0.0)


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_a_source_at_a_loudspeaker_plays_on_it_alone(name):
    layout = get_layout(name)
    for index, position in enumerate(layout.positions):
        if position is None:
            continue
        g = vbap_gains(name, position.azimuth_deg, position.elevation_deg)
        expected = np.zeros(layout.n_channels)
        expected[index] = 1.0
        np.testing.assert_array_equal(g, expected, err_msg=f"{name} {layout.channels[index]}")
        # and from the other side of the +-180 seam, one turn later
        g = vbap_gains(name, position.azimuth_deg + 360.0, position.elevation_deg)
        np.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize("name", [n for n in ALL_LAYOUTS if vbap_setup(n).kind == "3d"])
def test_the_gains_point_at_the_source_above_ear_level(name, rng):
    """Pulkki's definition: sum_i g_i l_i is parallel to the source direction, for sources in a
    triangle of real loudspeakers (above ear level; lower down some triangles hold the virtual
    nadir, whose gain is dropped)."""
    layout = get_layout(name)
    az, el = random_directions(rng, 2000)
    keep = el > 0.5
    az, el = az[keep], el[keep]
    g = vbap_gains(name, az, el)
    speakers = np.array([unit_vectors(*p) if p is not None else np.zeros(3) for p in layout.positions])
    pointed = g @ speakers
    pointed /= np.linalg.norm(pointed, axis=1, keepdims=True)
    np.testing.assert_allclose(pointed, unit_vectors(az, el), rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["5.1", "7.1"])
def test_a_2d_layout_pans_the_horizontal_projection(name, rng):
    layout = get_layout(name)
    az, el = random_directions(rng, 500)
    g = vbap_gains(name, az, el)
    np.testing.assert_array_equal(g, vbap_gains(name, az, 0.0))  # the elevation is ignored
    speakers = np.array([unit_vectors(*p) if p is not None else np.zeros(3) for p in layout.positions])
    pointed = g @ speakers
    pointed /= np.linalg.norm(pointed, axis=1, keepdims=True)
    np.testing.assert_allclose(pointed, unit_vectors(az, 0.0), rtol=0, atol=1e-9)


def test_stereo_follows_the_tangent_law_in_front():
    # tangent law: (gL - gR) / (gL + gR) = tan(phi) / tan(phi0), loudspeakers at +-phi0 = 30 degrees
    phi = np.linspace(-29.0, 29.0, 59)
    g = vbap_gains("stereo", phi, 0.0)
    ratio = (g[:, 0] - g[:, 1]) / (g[:, 0] + g[:, 1])
    np.testing.assert_allclose(ratio, np.tan(np.radians(phi)) / math.tan(math.radians(30.0)), atol=1e-12)


def test_stereo_sides_play_on_their_loudspeaker_and_the_back_mirrors_the_front():
    g = vbap_gains("stereo", [30.0, 90.0, 150.0, -90.0, -150.0], 0.0)
    np.testing.assert_array_equal(g, [[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]])
    for phi in (5.0, 17.0, -23.0):
        np.testing.assert_allclose(vbap_gains("stereo", 180.0 - phi, 0.0), vbap_gains("stereo", phi, 0.0))
    np.testing.assert_allclose(vbap_gains("stereo", 180.0, 0.0), [math.sqrt(0.5)] * 2, atol=1e-15)


@pytest.mark.parametrize("name", ["stereo", "5.1", "7.1.4", "22.2"])
def test_gains_move_continuously_except_at_the_nadir(name):
    # a path over the top and round the back: fine steps give small changes (no jumps between bases)
    t = np.linspace(0.0, 1.0, 20001)
    az = 360.0 * 2 * t - 180.0
    el = 80.0 * np.sin(2 * np.pi * 3 * t)
    g = vbap_gains(name, az, el)
    cos_step = np.sum(unit_vectors(az[1:], el[1:]) * unit_vectors(az[:-1], el[:-1]), axis=1)
    step_deg = np.degrees(np.arccos(np.clip(cos_step, -1, 1)))
    jumps = np.max(np.abs(np.diff(g, axis=0)), axis=1)
    assert step_deg.max() < 0.2
    assert jumps.max() < 0.05, f"largest gain change {jumps.max():.3f} for a step of {step_deg.max():.3f} deg"


def test_below_the_ring_the_virtual_nadir_is_dropped_at_full_power():
    # 7.1.4: a source 40 degrees down at 60 degrees azimuth plays on L and Lss as the horizon pan does
    setup = vbap_setup("7.1.4")
    assert setup.virtual_nadir and not setup.virtual_zenith
    np.testing.assert_allclose(vbap_gains("7.1.4", 60.0, -40.0), vbap_gains("7.1.4", 60.0, 0.0), atol=1e-12)
    g = vbap_gains("7.1.4", 10.0, -90.0)  # at the nadir: the ear-level ring alike
    ring = [0, 1, 2, 4, 5, 6, 7]
    np.testing.assert_allclose(g[ring], 1 / math.sqrt(7), atol=1e-12)
    assert vbap_setup("22.2").virtual_nadir  # its bottom layer is at -30 only, all in front


def test_close_top_adds_a_virtual_zenith_where_the_top_is_open():
    assert vbap_setup("7.1.4", close_top=True).virtual_zenith
    assert not vbap_setup("22.2", close_top=True).virtual_zenith  # TpC is at the zenith
    g = vbap_setup("7.1.4", close_top=True).gains(0.0, 70.0)  # between the front tops, evenly
    np.testing.assert_allclose(g[[8, 9]], math.sqrt(0.5), atol=1e-12)
    assert np.count_nonzero(g) == 2


@pytest.mark.parametrize("name", ["5.1", "7.1.4", "22.2"])
def test_spread_keeps_unit_power_and_widens(name, rng):
    az, el = random_directions(rng, 50)
    active = []
    for spread in (0.0, 30.0, 90.0, 180.0):
        g = vbap_gains(name, az, el, spread_deg=spread)
        assert np.all(g >= 0)
        np.testing.assert_allclose(np.sum(g**2, axis=1), 1.0, atol=1e-12)
        active.append(np.mean(np.sum(g**2 > 0.01, axis=1)))  # loudspeakers within 20 dB of full power
    assert active == sorted(active) and active[-1] > active[0] + 1
    np.testing.assert_array_equal(vbap_gains(name, az, el, spread_deg=0.0), vbap_gains(name, az, el))


def test_the_spread_pattern_is_a_cone_of_the_spread_diameter():
    az, el = spread_directions(20.0, 10.0, 60.0)
    angles = np.degrees(np.arccos(np.clip(unit_vectors(az, el) @ unit_vectors(20.0, 10.0), -1, 1)))
    np.testing.assert_allclose(np.sort(angles)[[0, -1]], [0.0, 30.0], atol=1e-9)
    assert az.shape == (37,)


def test_a_layout_without_positions_or_with_twins_is_refused():
    with pytest.raises(LayoutError, match="has no loudspeaker positions"):
        vbap_gains(Layout("pair", ("A", "B"), (1.0, 1.0)), 0.0, 0.0)
    with pytest.raises(LayoutError, match="share a direction"):
        VbapSetup([30.0, 30.0 + 360.0], [0.0, 0.0])
    with pytest.raises(LayoutError, match=r"layout='7\.4\.1' is unknown"):
        vbap_gains("7.4.1", 0.0, 0.0)


def test_a_custom_layout_with_directions_of_its_own():
    cube = Layout("cube", tuple("ABCDEFGH"), positions=tuple(
        Position(az, el) for el in (35.26, -35.26) for az in (45.0, 135.0, -135.0, -45.0)))  # fmt: skip
    setup = vbap_setup(cube)
    assert (
        setup.kind == "3d" and setup.virtual_nadir
    )  # its lowest corners, at -35 degrees, leave the bottom open
    g = vbap_gains(cube, 0.0, 90.0)
    np.testing.assert_allclose(np.sum(g**2), 1.0)
    assert np.count_nonzero(g) <= 3
