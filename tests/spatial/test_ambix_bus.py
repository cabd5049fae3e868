"""Ambisonics buses in mix graphs: AmbiX layouts, encoding tracks, order conversion, refusals, delivery.

Oracles: the encode -> rotate -> decode chain computed by hand from the harmonics, rotation and
decoder matrices (themselves checked against the AmbiX table and scipy in test_ambisonics.py);
the KEMAR set for the headphone render's level difference; the meter's measure of a scene against
the energy of its explicit decode to the 250 virtual loudspeakers of the 21-design.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import scipy.signal

import sonicmix.io as sio
from sonicmix.errors import GraphError, LayoutError, ParameterError
from sonicmix.graph import Bus, Graph, Send, Track, graph_from_dict, graph_to_dict
from sonicmix.layouts import (
    Layout,
    check_channel_mask,
    conversion_matrix,
    default_layout,
    downmix,
    fold_down_chain,
    get_layout,
)
from sonicmix.layouts.ambix import loudness_weights
from sonicmix.loudness import measure
from sonicmix.nodes.ambisonics import AmbisonicDecoder, AmbisonicEncoder, AmbisonicRotator
from sonicmix.nodes.base import Chain
from sonicmix.nodes.dynamics import Compressor
from sonicmix.nodes.eq import HighPass
from sonicmix.nodes.gain import Gain
from sonicmix.nodes.saturation import Saturation
from sonicmix.renderer import render
from sonicmix.spatial.ambisonics import (
    decoder_matrix,
    design_directions,
    rotation_matrix,
    spherical_harmonics,
)
from sonicmix.spatial.binaural import Binaural, virtual_layout
from sonicmix.spatial.vbap import vbap_gains
from sonicmix.timeline import ArraySource, Clip

KEMAR = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"
RATE = 48000

try:
    import h5py
except ImportError:  # pragma: no cover - the binaural extra is not installed
    h5py = None

kemar = pytest.mark.skipif(
    h5py is None or not os.path.isfile(KEMAR),
    reason=f"needs h5py and the MIT KEMAR set at {KEMAR} (apt-get install libmysofa1)",
)


def mono_track(x, name, **kwargs):
    return Track(clips=(Clip(source=ArraySource(x, RATE, name=name)),), layout="mono", **kwargs)


def scene_graph(a, b, *, master="7.1.4", bus_chain=None):
    """Two mono tracks encoded at +30 and -110 degrees into a third-order bus, rotated and decoded."""
    if bus_chain is None:
        bus_chain = (
            AmbisonicRotator(order=3, yaw_deg=25.0, pitch_deg=10.0),
            AmbisonicDecoder(order=3, layout=master),
        )
    return Graph(
        tracks={
            "a": mono_track(a, "a", chain=(AmbisonicEncoder(order=3, azimuth_deg=30.0),), output="scene"),
            "b": mono_track(b, "b", chain=(AmbisonicEncoder(order=3, azimuth_deg=-110.0),), output="scene"),
        },
        buses={"scene": Bus(layout="ambix3", chain=bus_chain), "master": Bus(layout=master, output=None)},
    )


# -- layouts ---------------------------------------------------------------------------------------


def test_ambix_layouts_are_named_scenes_without_loudspeakers():
    for order, count in ((1, 4), (2, 9), (3, 16)):
        layout = get_layout(f"ambix{order}")
        assert layout.n_channels == count and layout.ambisonic_order == order and layout.is_ambisonic
        assert layout.positions == () and layout.lfe_indices == () and layout.channel_mask == 0
    assert get_layout("ambix3").channels == tuple("WYZXVTRSUQOMKLNP")
    assert not get_layout("9.1.6").is_ambisonic
    with pytest.raises(LayoutError, match=r"'9\.1\.6' or 'ambix3' for this count"):
        default_layout(16)
    with pytest.raises(
        LayoutError, match=r"ambix.*is an Ambisonics scene, not loudspeakers.*AmbisonicEncoder"
    ):
        vbap_gains("ambix2", 30.0, 0.0)
    assert fold_down_chain("ambix3") == ()
    with pytest.raises(
        LayoutError,
        match=r"from the Ambisonics layout 'ambix3' to loudspeaker layout 'stereo'.*"
        r"AmbisonicDecoder\(order=3, layout='stereo'\)",
    ):
        downmix(np.zeros((16, 4)), "ambix3", "stereo")
    with pytest.raises(LayoutError, match=r"ambisonic_order=2; expected \(order \+ 1\) \*\* 2 = 9"):
        Layout("bad", tuple("ABCD"), ambisonic_order=2)
    # a file whose mask assigns loudspeakers is not a scene, whatever its channel count
    check_channel_mask(0, get_layout("ambix3"), name="file 'scene.wav'")
    with pytest.raises(
        LayoutError,
        match=r"file 'bed\.wav' has channel mask 0x2D6FF.*not the Ambisonics layout "
        r"'ambix3'.*it is '9\.1\.6'",
    ):
        check_channel_mask(0x2D6FF, get_layout("ambix3"), name="file 'bed.wav'")


def test_order_conversion_truncates_or_zero_pads_and_loudspeakers_are_encoded_at_their_positions():
    up = conversion_matrix("ambix1", "ambix3")
    down = conversion_matrix("ambix3", "ambix2")
    np.testing.assert_array_equal(up, np.eye(16, 4))
    np.testing.assert_array_equal(down, np.eye(9, 16))
    # a source encoded at order 3 and truncated is the order-2 encoding (SN3D is the same at every order)
    np.testing.assert_allclose(
        down @ spherical_harmonics(3, 70.0, 20.0), spherical_harmonics(2, 70.0, 20.0), rtol=0, atol=1e-15
    )
    m = conversion_matrix("5.1", "ambix2")
    positions = get_layout("5.1").positions
    for i, position in enumerate(positions):
        expected = np.zeros(9) if position is None else spherical_harmonics(2, *position)
        np.testing.assert_allclose(m[:, i], expected, rtol=0, atol=1e-15)  # the LFE column is 0


# -- graphs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, atol", [(np.float32, 1e-6), (np.float64, 1e-10)])
def test_two_tracks_into_an_ambix3_bus_rotated_and_decoded_equal_the_chain_by_hand(rng, dtype, atol):
    a = (0.1 * rng.standard_normal((1, 6000))).astype(dtype)
    b = (0.1 * rng.standard_normal((1, 6000))).astype(dtype)
    graph = scene_graph(a, b)
    assert graph.chain_layout("a") == "ambix3" and graph.chain_layout("scene") == "7.1.4"
    whole = render(graph, sample_rate=RATE, tail_s=0.0, dtype=dtype).master
    scene = spherical_harmonics(3, 30.0, 0.0)[:, None] * a + spherical_harmonics(3, -110.0, 0.0)[:, None] * b
    expected = decoder_matrix(3, "7.1.4") @ rotation_matrix(3, 25.0, 10.0) @ scene
    assert whole.dtype == dtype
    np.testing.assert_allclose(whole, expected, rtol=0, atol=atol)
    streamed = render(graph, sample_rate=RATE, tail_s=0.0, dtype=dtype, block_size=997).master
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=atol)


def test_a_panned_track_is_encoded_at_its_pan_exactly_at_every_sample(rng):
    x = rng.standard_normal((1, 4000))
    from sonicmix.automation import Automation

    sweep = Automation(((0.0, -1.0), (4000 / RATE, 1.0)))
    graph = Graph(
        tracks={"fx": mono_track(x, "fx", pan=sweep)}, buses={"master": Bus(layout="ambix2", output=None)}
    )
    assert graph.output_layout("fx") == "ambix2"
    whole = render(graph, sample_rate=RATE, tail_s=0.0, dtype=np.float64).master
    pan = sweep.values(np.arange(4000) / RATE)
    expected = spherical_harmonics(2, -90.0 * pan, 0.0).T * x  # pan -1 (left) at +90, 1 (right) at -90
    np.testing.assert_allclose(whole, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        render(graph, sample_rate=RATE, tail_s=0.0, dtype=np.float64, block_size=333).master, whole
    )
    # a stereo track routed without pan is encoded as its two loudspeakers at +-30 degrees
    stereo = Track(clips=(Clip(source=ArraySource(np.ones((2, 10)), RATE, name="st")),), layout="stereo")
    out = render(
        Graph(tracks={"st": stereo}, buses={"master": Bus(layout="ambix1", output=None)}),
        sample_rate=RATE,
        tail_s=0.0,
        dtype=np.float64,
    ).master
    np.testing.assert_allclose(
        out[:, 0], spherical_harmonics(1, 30.0, 0.0) + spherical_harmonics(1, -30.0, 0.0)
    )


def test_orders_convert_between_buses_and_a_scene_needs_a_decoder_to_reach_loudspeakers(rng):
    x = rng.standard_normal((1, 500))
    first = mono_track(x, "x", chain=(AmbisonicEncoder(order=1, azimuth_deg=45.0),), output="scene")
    graph = Graph(
        tracks={"x": first},
        buses={"scene": Bus(layout="ambix3"), "master": Bus(layout="ambix2", output=None)},
    )
    out = render(graph, sample_rate=RATE, tail_s=0.0, dtype=np.float64)
    np.testing.assert_allclose(
        out.stems["scene"][:4], spherical_harmonics(1, 45.0, 0.0)[:, None] * x, atol=1e-15
    )
    assert not out.stems["scene"][4:].any() and not out.master[4:].any()  # zero-padded, then truncated
    with pytest.raises(
        GraphError,
        match=r"'scene' cannot be routed to 'master'.*ambix3.*to loudspeaker layout "
        r"'stereo'.*AmbisonicDecoder\(order=3, layout='stereo'\)",
    ):
        Graph(tracks={"x": first}, buses={"scene": Bus(layout="ambix3"), "master": Bus(output=None)})
    with pytest.raises(GraphError, match=r"pans a 5\.1 track into a ambix3 bus"):
        Graph(
            tracks={"s": Track(layout="5.1", pan=0.0, output="scene")},
            buses={
                "scene": Bus(layout="ambix3", chain=(AmbisonicDecoder(order=3),)),
                "master": Bus(layout="5.1", output=None),
            },
        )


def test_nodes_that_would_break_the_scene_are_refused_naming_bus_and_node():
    def graph(*chain, layout="ambix3"):
        return Graph(
            tracks={"t": Track(layout="mono", output="scene")},
            buses={"scene": Bus(layout=layout, chain=chain), "master": Bus(layout="5.1", output=None)},
        )

    decoder = AmbisonicDecoder(order=3, layout="5.1")
    with pytest.raises(
        GraphError,
        match=r"bus 'scene' carries an Ambisonics scene \(ambix3\) but chain\[1\] would "
        r"break it: Compressor\(stereo_link=0\.0\) gives each channel its own "
        r"gain.*set stereo_link=1\.0",
    ):
        graph(Gain(gain_db=-3.0), Compressor(stereo_link=0.0), decoder)
    with pytest.raises(
        GraphError,
        match=r"bus 'scene'.*chain\[0\] would break it: Saturation: it shapes each "
        r"channel's waveform",
    ):
        graph(Saturation(), decoder)
    with pytest.raises(GraphError, match=r"track 'x' carries an Ambisonics scene \(ambix1\).*Saturation"):
        Graph(
            tracks={
                "x": Track(
                    layout="mono",
                    chain=(AmbisonicEncoder(order=1), Saturation(), AmbisonicDecoder(order=1, layout="5.1")),
                )
            },
            buses={"master": Bus(layout="5.1", output=None)},
        )
    # channel-blind nodes are fine, and so is anything after the decoder
    graph(
        Gain(gain_db=-3.0),
        HighPass(cutoff_hz=80.0),
        Compressor(),
        AmbisonicRotator(order=3),
        decoder,
        Saturation(),
        Compressor(stereo_link=0.0),
    )


@pytest.mark.parametrize(
    "node", [AmbisonicRotator(order=3), AmbisonicDecoder(order=3, layout="7.1.4"), Binaural(layout="ambix3")]
)
def test_scene_nodes_on_loudspeaker_feeds_of_the_scene_s_channel_count_are_refused(node):
    # 9.1.6 has 16 channels, as ambix3: its loudspeakers must not pass for harmonics
    with pytest.raises(
        GraphError,
        match=rf"bus 'bed': chain\[1\] {type(node).__name__} takes an Ambisonics scene but gets 9\.1\.6 "
        r"loudspeaker feeds.*'ambix1' to 'ambix3'",
    ):
        Graph(
            tracks={"t": Track(layout="9.1.6", output="bed")},
            buses={"bed": Bus(layout="9.1.6", chain=(Gain(), node)), "master": Bus(output=None)},
        )


def test_binaural_of_another_order_names_the_scene_s_order():
    with pytest.raises(
        GraphError, match=r"'scene': chain\[0\] Binaural cannot take 16 channels.*pass layout='ambix3'"
    ):
        Graph(
            tracks={},
            buses={
                "scene": Bus(layout="ambix3", chain=(Binaural(layout="ambix1"),)),
                "master": Bus(output=None),
            },
        )


def test_a_nested_chain_is_judged_node_by_node():
    def graph(chain):
        return Graph(
            tracks={"t": Track(layout="mono", output="scene")},
            buses={
                "scene": Bus(layout="ambix1", chain=(chain,)),
                "master": Bus(layout="ambix1", output=None),
            },
        )

    graph(Chain((Gain(gain_db=-3.0), Compressor(), AmbisonicRotator(order=1))))
    with pytest.raises(GraphError, match=r"chain\[0\] would break it: Chain\.nodes\[1\] Saturation: it"):
        graph(Chain((Gain(), Saturation())))


def test_a_send_from_a_track_panned_into_a_scene_says_why_it_carries_the_scene():
    def graph(send):
        return Graph(
            tracks={"t": Track(layout="mono", pan=-0.5, output="scene", sends=(send,))},
            buses={
                "scene": Bus(layout="ambix1", chain=(AmbisonicDecoder(order=1, layout="stereo"),)),
                "verb": Bus(layout="stereo"),
                "master": Bus(output=None),
            },
        )

    with pytest.raises(
        GraphError,
        match=r"'t' cannot be routed to 'verb'.*Track 't' is mono, but its pan encodes it into the "
        r"Ambisonics bus 'scene'.*Send\(to='verb', pre_fader=True\)",
    ):
        graph(Send(to="verb"))
    assert graph(Send(to="verb", pre_fader=True)).output_layout("t") == "ambix1"  # the hint works


def test_an_ambix_bus_round_trips_through_plain_data_and_session_files(tmp_path):
    from sonicmix.session import Session, dumps_session, loads_session
    from sonicmix.timeline import FileSource

    sio.write(tmp_path / "fx.wav", np.zeros((1, 480), np.float32), RATE)
    track = Track(
        clips=(Clip(source=FileSource(str(tmp_path / "fx.wav"))),), layout="mono", pan=-0.25, output="scene"
    )
    graph = Graph(
        tracks={"fx": track},
        buses={
            "scene": Bus(
                layout="ambix3", chain=(AmbisonicRotator(order=3, yaw_deg=30.0), Binaural(layout="ambix3"))
            ),
            "master": Bus(output=None),
        },
    )
    assert graph_from_dict(graph_to_dict(graph)) == graph
    text = dumps_session(Session(graph), folder=tmp_path)
    assert 'layout = "ambix3"' in text
    assert loads_session(text, folder=tmp_path).graph == graph


# -- headphones, loudness, delivery ----------------------------------------------------------------


@kemar
def test_an_ambix_bus_rendered_for_headphones_puts_a_source_at_90_degrees_on_the_left(rng):
    x = (0.1 * rng.standard_normal((1, RATE // 2))).astype(np.float32)
    graph = Graph(
        tracks={
            "fx": mono_track(x, "fx", chain=(AmbisonicEncoder(order=3, azimuth_deg=90.0),), output="scene")
        },
        buses={"scene": Bus(layout="ambix3", chain=(Binaural(layout="ambix3"),)), "master": Bus(output=None)},
    )
    ears = render(graph, sample_rate=RATE, tail_s=0.0).master
    direct = Binaural(directions_deg=[(90.0, 0.0)])(x, RATE)  # the KEMAR pair measured at +90 degrees
    f, p_ears = scipy.signal.welch(ears, RATE, nperseg=8192)
    _, p_direct = scipy.signal.welch(direct, RATE, nperseg=8192)
    band = (f >= 1000.0) & (f <= 4000.0)
    ild_db = 10.0 * np.log10(p_ears[0, band].sum() / p_ears[1, band].sum())
    assert ild_db >= 6.0, ild_db
    # below the order's limit (3 x 620 Hz) the fit gives the measured pair: level and time difference
    low = (f >= 100.0) & (f <= 1000.0)
    level_db = 10.0 * np.log10(p_ears[:, low].sum(axis=1) / p_direct[:, low].sum(axis=1))
    assert np.all(np.abs(level_db) < 0.5), level_db
    lf = scipy.signal.sosfilt(scipy.signal.butter(4, 1500.0, fs=RATE, output="sos"), ears.astype(np.float64))
    c = scipy.signal.correlate(lf[1], lf[0], mode="full", method="fft")
    lags = np.arange(-x.shape[1] + 1, x.shape[1])
    near = np.abs(lags) <= RATE // 1000
    itd_s = lags[near][np.argmax(c[near])] / RATE  # how much later the right ear hears it
    assert 0.5e-3 <= itd_s <= 0.8e-3, itd_s
    # the same scene turned by 180 degrees: the source on the right, the difference mirrored
    turned = Bus(layout="ambix3", chain=(AmbisonicRotator(order=3, yaw_deg=180.0), Binaural(layout="ambix3")))
    mirrored = render(
        Graph(tracks=graph.tracks, buses={**graph.buses, "scene": turned}), sample_rate=RATE, tail_s=0.0
    ).master
    np.testing.assert_allclose(mirrored[::-1], ears, rtol=0, atol=2e-5 * np.abs(ears).max())


def test_a_scene_measures_as_its_decode_to_uniform_virtual_loudspeakers(rng):
    x = 0.1 * rng.standard_normal((1, RATE))
    mono = measure(x, RATE, layout="mono", true_peak=False).integrated_lufs
    for az, el in ((0.0, 0.0), (100.0, 0.0), (-150.0, 60.0)):  # a plane wave from anywhere: the mono level
        scene = spherical_harmonics(3, az, el)[:, None] * x
        assert measure(scene, RATE, layout="ambix3", true_peak=False).integrated_lufs == pytest.approx(
            mono, abs=1e-9
        )
    # two sources at once, against the energy of the explicit max-rE sampling decode to the 21-design
    scene = (
        spherical_harmonics(3, 30.0, 0.0)[:, None] * x
        + spherical_harmonics(3, 60.0, 10.0)[:, None] * x[:, ::-1]
    )
    az, el = design_directions()
    speakers = virtual_layout(list(zip(az.tolist(), el.tolist(), strict=True)), name="design")
    feeds = decoder_matrix(3, speakers, method="sampling") @ scene
    flat = Layout("design", speakers.channels, loudness_weights=(1.0,) * speakers.n_channels)
    decoded = measure(feeds, RATE, layout=flat, true_peak=False).integrated_lufs
    assert measure(scene, RATE, layout="ambix3", true_peak=False).integrated_lufs == pytest.approx(
        decoded, abs=1e-6
    )
    assert loudness_weights(3) @ spherical_harmonics(3, 12.0, 34.0) ** 2 == pytest.approx(1.0, abs=1e-12)


def test_an_ambix_master_is_delivered_as_a_16_channel_wav_with_mask_0(tmp_path, rng):
    from sonicmix.deliver import deliver

    x = (0.05 * rng.standard_normal((1, 2 * RATE))).astype(np.float32)
    graph = Graph(
        tracks={"fx": mono_track(x, "fx", chain=(AmbisonicEncoder(order=3, azimuth_deg=60.0),))},
        buses={"master": Bus(layout="ambix3", output=None)},
    )
    result = deliver(graph, "ebu-r128", tmp_path)
    path = tmp_path / "mix.wav"
    found = sio.info(path)
    assert (found.channels, found.channel_mask, found.layout) == (16, 0, None)
    # the reports say how a scene's loudness was measured: BS.1770 defines none for it
    said = r"ambix3 scene: loudness measured through its max-rE decode to 250 virtual loudspeakers"
    assert re.search(r"^  " + said, (tmp_path / "mix.report.txt").read_text(), re.M)
    assert re.match(said, json.loads((tmp_path / "mix.report.json").read_text())["scene_loudness"])
    audio, _ = sio.read(path, layout="ambix3")
    measured = measure(audio, RATE, layout="ambix3", true_peak=False).integrated_lufs
    assert measured == pytest.approx(-23.0, abs=0.1) and result.passed
    # the stored scene is the source encoded at 60 degrees, scaled by the delivery's gain (24-bit PCM)
    gain = audio[0] @ x[0] / (x[0] @ x[0])
    np.testing.assert_allclose(
        audio, gain * spherical_harmonics(3, 60.0, 0.0)[:, None] * x, rtol=0, atol=1e-5
    )


def test_a_chain_node_passes_on_the_layout_its_nodes_render_into():
    encoder = AmbisonicEncoder(order=3, azimuth_deg=30.0)
    assert Chain((Gain(gain_db=-3.0), encoder)).output_layout(1) == "ambix3"
    assert Chain((encoder, AmbisonicDecoder(order=3, layout="7.1.4"))).output_layout(1) == "7.1.4"
    assert Chain((Gain(gain_db=-3.0),)).output_layout(2) is None
    graph = Graph(
        tracks={"a": mono_track(np.ones((1, 10)), "a", chain=(Chain((encoder,)),), output="scene")},
        buses={"scene": Bus(layout="ambix3", output=None)},
        master="scene",
    )
    assert graph.chain_layout("a") == "ambix3"


def test_a_format_too_narrow_for_a_scene_points_to_wav_or_a_version():
    from sonicmix.delivery.codecs import check_channels
    from sonicmix.delivery.formats import parse_format

    with pytest.raises(ParameterError, match=r"2 channels and the mix has 16; expected WAV .*binaural"):
        check_channels(parse_format("mp3"), 16)


def test_a_first_order_scene_on_a_third_order_track_is_padded():
    rng = np.random.default_rng(7)
    foa = rng.standard_normal((4, 2000))
    graph = Graph(
        tracks={"foa": Track(clips=(Clip(source=ArraySource(foa, RATE, name="foa")),), layout="ambix3",
                             output="scene")},
        buses={"scene": Bus(layout="ambix3", output=None)},
        master="scene",
    )
    out = render(graph, sample_rate=RATE, dtype=np.float64).master
    np.testing.assert_allclose(out[:4, : foa.shape[1]], foa, atol=1e-12)
    assert not np.any(out[4:])
