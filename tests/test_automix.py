"""Automixing (gain sharing across open mics): the rule, the stream, the graph, the session.

The goals of issue 15 are measured on real voices (tests/reference/automix_scene.py): two or
three mics that each hear the other talkers 10 dB down and 3 ms late, with room noise 50 dB
under the speech. Ground truth of who talks comes from the clean voices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.automix import Automix
from sonicmix.dsp.automix import DETECTOR_FLOOR_DB, init_automix_state, mic_power, share_gains
from sonicmix.errors import GraphError, ParameterError
from sonicmix.renderer import automix_gains
from sonicmix.session import Session, SessionError, dumps_session, loads_session
from tests.reference import dialogue as d

RATE = 48000
needs_voices = pytest.mark.skipif(not d.available(), reason=d.SKIP_REASON)


def mic_track(audio: np.ndarray, name: str, **options: object) -> sm.Track:
    source = sm.ArraySource(np.asarray(audio)[np.newaxis] if np.ndim(audio) == 1 else audio, RATE, name=name)
    return sm.Track(clips=(sm.Clip(source=source),), layout="mono", **options)  # type: ignore[arg-type]


def automix_graph(mics: np.ndarray, automix: Automix | bool = True) -> sm.Graph:
    tracks = {f"mic{i}": mic_track(m, f"mic{i}") for i, m in enumerate(mics)}
    return sm.Graph(tracks=tracks, buses={"master": sm.Bus(layout="mono", output=None, automix=automix)})


def reference_shares(power: np.ndarray, automix: Automix, weights: np.ndarray | None = None) -> np.ndarray:
    """The rule written out sample by sample in plain Python (the independent oracle)."""
    mics, n = power.shape
    weights = np.ones(mics) if weights is None else weights
    rise = math.exp(-1 / (automix.attack_s * RATE)) if automix.attack_s else 0.0
    fall = math.exp(-1 / (automix.release_s * RATE))
    memory_pole = math.exp(-1 / (2.0 * RATE))
    hold_samples = max(1, round(automix.hold_s * RATE))
    bias = 10 ** (automix.hold_db / 10)
    level = [DETECTOR_FLOOR_DB] * mics
    counts, held, hold, memory = [0] * mics, -1, [0.0] * mics, 0.0
    out = np.empty((mics, n))
    for t in range(n):
        for i in range(mics):
            u = 10 * math.log10(power[i, t] + 1e-12)
            a = rise if u > level[i] else fall
            level[i] = a * level[i] + (1 - a) * u
        q = [weights[i] * 10 ** (level[i] / 10) for i in range(mics)]
        total = sum(q)
        if not automix.last_hold:
            out[:, t] = [v / total for v in q]
            continue
        memory = max(total, memory_pole * memory)
        b = bias * memory
        out[:, t] = [(q[i] + b * hold[i]) / (total + b * sum(hold)) for i in range(mics)]
        for i in range(mics):
            if q[i] > total / 2:
                counts = [c + 1 if j == i else 0 for j, c in enumerate(counts)]
                if counts[i] >= hold_samples:
                    held = i
        hold = [fall * h + (1 - fall) * (1.0 if i == held else 0.0) for i, h in enumerate(hold)]
    return out


# ------------------------------------------------------------------------------------ the rule


def test_each_mic_gets_its_share_of_the_power_and_the_power_gains_sum_to_one():
    levels_db = np.array([-20.0, -26.0, -30.0])
    power = np.repeat(10 ** (levels_db / 10)[:, np.newaxis], 9600, axis=1)
    shares = share_gains(power, weights=np.ones(3), fall=0.99, rise=0.9, state=init_automix_state(3))
    expected = 10 ** (levels_db / 10) / np.sum(10 ** (levels_db / 10))  # Dugan: level / sum of levels
    assert np.allclose(shares[:, -1], expected, rtol=1e-9)
    assert np.allclose(shares.sum(axis=0), 1.0, atol=1e-12)
    # a mic 6 dB quieter gets 6 dB less gain (amplitude gains: half the difference of the power shares)
    gains_db = 10 * np.log10(shares[:, -1])
    assert gains_db[0] - gains_db[1] == pytest.approx(6.0, abs=1e-6)


def test_idle_mics_share_equally_as_dugan_says():
    # four mics hearing the same room sit at -6 dB each, eight at -9 dB (Model N guide, ch. 5)
    for mics, expected_db in ((4, -6.02), (8, -9.03)):
        power = np.full((mics, 4800), 1e-7)
        shares = share_gains(
            power, weights=np.ones(mics), fall=0.99, rise=0.9, state=init_automix_state(mics)
        )
        assert np.allclose(10 * np.log10(shares[:, -1]), expected_db, atol=0.01)


def test_a_weight_counts_like_that_much_more_level():
    power = np.vstack([np.full(4800, 10 ** (-26 / 10)), np.full(4800, 10 ** (-20 / 10))])
    weights = np.array([10 ** (6 / 10), 1.0])  # +6 dB for the quieter mic: a draw
    shares = share_gains(power, weights=weights, fall=0.99, rise=0.9, state=init_automix_state(2))
    assert np.allclose(shares[:, -1], 0.5, atol=1e-9)


def test_the_kernel_equals_the_rule_written_out_with_last_hold(rng):
    # speech-like power: bursts on one mic, then the other, then silence, with noise under all
    n = 24000
    envelope = np.zeros((2, n))
    envelope[0, 1000:9000] = 1.0
    envelope[1, 11000:17000] = 0.5
    x = rng.standard_normal((2, n)) * (0.1 * envelope + 1e-3)
    power = x**2
    automix = Automix(hold_s=0.05, attack_s=0.002, release_s=0.02)
    mics = ["a", "b"]
    state = init_automix_state(2)
    ours = share_gains(power, state=state, **automix.kernel_arguments(mics, RATE))
    assert np.allclose(ours, reference_shares(power, automix), rtol=0, atol=1e-10)
    assert state.held[0] == 1  # the last talker is held
    # in the silence at the end the last talker (mic b) stays open, mic a stays down
    assert 10 * np.log10(ours[1, -1]) > -0.5 and 10 * np.log10(ours[0, -1]) < -10.0


def test_without_last_hold_silence_shares_equally(rng):
    x = rng.standard_normal((2, 24000)) * 1e-3
    x[0, :9000] *= 100.0
    automix = Automix(last_hold=False)
    shares = share_gains(x**2, state=init_automix_state(2), **automix.kernel_arguments(["a", "b"], RATE))
    assert np.allclose(10 * np.log10(shares[:, -1]), -3.01, atol=0.5)


def test_mic_power_is_the_mean_over_channels():
    assert np.array_equal(mic_power(np.array([[2.0, 0.0], [0.0, 0.0]], np.float32)), [2.0, 0.0])


# ------------------------------------------------------------------------------ the graph


def test_render_is_the_same_for_any_block_size_and_equals_the_whole_buffer_rule(rng):
    n = 3 * RATE
    envelope = np.zeros((2, n))
    envelope[0, 2000:60000] = 1.0
    envelope[1, 70000:130000] = 1.0
    voices = rng.standard_normal((2, n)) * 0.1 * envelope
    mics = voices + 0.316 * voices[::-1] + rng.standard_normal((2, n)) * 1e-4
    automix = Automix(hold_s=0.2)
    graph = automix_graph(mics, automix)
    renders = {
        size: sm.render(graph, sample_rate=RATE, block_size=size, dtype=np.float64).master
        for size in (None, 63, 64, 65, 4097)
    }
    for size, master in renders.items():
        assert np.array_equal(master, renders[None]), f"block_size={size}"
    threaded = sm.render(graph, sample_rate=RATE, block_size=4097, dtype=np.float64, threads=2).master
    assert np.array_equal(threaded, renders[None])
    # the whole-buffer reference: the rule over the mics' powers, the mics scaled and summed
    shares = reference_shares(mics**2, automix)
    expected = np.sum(np.sqrt(shares) * mics, axis=0)
    assert np.allclose(renders[None][0], expected, rtol=0, atol=1e-10)
    gains = automix_gains(graph, sample_rate=RATE, block_size=4097, dtype=np.float64)
    assert list(gains) == ["mic0", "mic1"]
    assert np.allclose(np.vstack(list(gains.values())) ** 2, shares, rtol=0, atol=1e-10)
    # float32 renders the same mix to float32 precision
    single = sm.render(graph, sample_rate=RATE, block_size=4097).master
    assert single.dtype == np.float32 and np.allclose(single, renders[None], atol=1e-5)


def test_the_detector_hears_the_post_fader_signal_and_latency_is_aligned():
    # mic b is 20 dB under mic a, but its fader is +20 dB: equal say, -3 dB each. Mic a goes
    # through a lookahead limiter (latency) and starts at 0.1 s: its gain rises there, on the
    # timeline, not a lookahead later.
    a, b = np.r_[np.zeros(4800), np.full(4800, 0.5)], np.full(9600, 0.05)
    tracks = {
        "a": mic_track(a, "a", chain=(sm.Limiter(ceiling_dbtp=0.0),)),
        "b": mic_track(b, "b", fader_db=20.0),
    }
    graph = sm.Graph(tracks=tracks, buses={"master": sm.Bus(layout="mono", output=None, automix=True)})
    assert sm.render(graph, sample_rate=RATE).latency_samples > 0
    gains = automix_gains(graph, sample_rate=RATE)
    gain_a_db = 20 * np.log10(gains["a"])
    assert gains["a"].size == 9600
    assert gain_a_db[4799] < -40.0 and gain_a_db[4800 + 960] > -6.0  # 5 ms attack, from -120 dB
    assert gain_a_db[-1] == pytest.approx(-3.01, abs=0.05)
    assert 20 * np.log10(gains["b"][-1]) == pytest.approx(-3.01, abs=0.05)


def test_one_mic_keeps_0_db_and_routes_from_one_source_form_one_mic():
    x = np.full(4800, 0.25)
    graph = automix_graph(x[np.newaxis])
    assert np.allclose(sm.render(graph, sample_rate=RATE, dtype=np.float64).master, 0.25)
    # a track that reaches the automix bus by its output and a send is one mic, not two
    tracks = {
        "a": mic_track(x, "a", output="mics", sends=(sm.Send(to="mics", level_db=-6.0),)),
        "b": mic_track(x, "b", output="mics"),
    }
    buses = {
        "mics": sm.Bus(layout="mono", automix=True, output="master"),
        "master": sm.Bus(layout="mono", output=None),
    }
    assert list(automix_gains(sm.Graph(tracks=tracks, buses=buses), sample_rate=RATE)) == ["a", "b"]


def test_panned_mics_in_a_stereo_bus_have_the_say_of_their_power():
    # constant-power pan keeps a mic's mean power over the two channels, wherever it is panned
    x = np.full(4800, 0.25)
    tracks = {"left": mic_track(x, "left", pan=-1.0), "centre": mic_track(x, "centre", pan=0.0)}
    graph = sm.Graph(tracks=tracks, buses={"master": sm.Bus(output=None, automix=True)})
    gains = automix_gains(graph, sample_rate=RATE)
    assert np.allclose(20 * np.log10([gains["left"][-1], gains["centre"][-1]]), -3.01, atol=0.01)


def test_print_shows_the_automix_bus():
    graph = automix_graph(np.zeros((2, 10)))
    assert "master  <- mic0, mic1  (automix: gain-shared)" in str(graph)


# ------------------------------------------------------------------------------ the goals


@needs_voices
@pytest.mark.parametrize("talkers", [2, 3])
def test_goals_on_real_voices(talkers):
    from tests.reference.automix_scene import figures, scene

    sc = scene(RATE, talkers=talkers, lines=4)
    gains = automix_gains(automix_graph(sc.mics), sample_rate=RATE, dtype=np.float64)
    found = figures(sc, np.vstack(list(gains.values())))
    # the closed mics' contribution while another talks: >= 10 dB down (the rule gives 10.4 dB
    # for two mics whose crosstalk is 10 dB down, 10.8 dB for three)
    assert max(found.closed_db) <= -10.0, found
    assert min(found.open_db) >= -1.0, found  # the talker's mic is open
    low, high = found.total_db  # sum of the power gains: 0 dB at every sample
    assert -0.5 <= low and high <= 0.5 and high - low < 1e-9, found
    # no chatter: each mic opens about once per line it speaks (a gate opens it per word),
    # and the gains move no faster than the levels can (5 ms attack)
    assert all(o <= lines + 2 for o, lines in zip(found.openings, found.lines, strict=True)), found
    assert found.slew_db_per_ms < 12.0, found


# ------------------------------------------------------------------------------ sessions


def test_session_round_trip_keeps_the_automix():
    tracks = {
        "host": sm.Track(clips=(sm.Clip(source=sm.FileSource("/audio/host.wav")),), layout="mono"),
        "guest": sm.Track(clips=(sm.Clip(source=sm.FileSource("/audio/guest.wav")),), layout="mono"),
    }
    automix = Automix(release_s=0.2, weights_db={"host": 3.0}, last_hold=False)
    graph = sm.Graph(tracks=tracks, buses={"master": sm.Bus(layout="mono", output=None, automix=automix)})
    text = dumps_session(Session(graph), folder="/audio")
    assert "automix = {release_s = 0.2, weights_db = {host = 3.0}, last_hold = false}" in text
    back = loads_session(text, folder="/audio")
    assert back.graph == graph
    assert dumps_session(back, folder="/audio") == text


@pytest.mark.parametrize("value", ["{}", "true"])
def test_session_automix_with_defaults(value):
    text = '[tracks.a]\nlayout = "mono"\n[tracks.b]\nlayout = "mono"\n'
    text += f'[buses.master]\nlayout = "mono"\nautomix = {value}\n'
    assert loads_session(text).graph.buses["master"].automix == Automix()


def test_session_names_a_bad_automix_key():
    text = "[tracks.a]\n[buses.master]\nautomix = {relase_s = 0.2}\n"
    with pytest.raises(SessionError, match=r"buses\.master\.automix.*'relase_s'.*did you mean 'release_s'"):
        loads_session(text)
    with pytest.raises(SessionError, match=r"weights_db\['gest'\].*did you mean 'guest'"):
        loads_session("[tracks.guest]\n[buses.master]\nautomix = {weights_db = {gest = 3.0}}\n")


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"attack_s": -0.01}, r"attack_s=-0\.01 is out of range"),
        (
            {"attack_s": 0.05, "release_s": 0.01},
            r"release_s=0\.01 is out of range; expected release_s >= 0\.05",
        ),
        ({"hold_db": 0.0}, r"hold_db=0 is out of range; expected .*hold_db < 0"),
        ({"hold_s": float("nan")}, r"hold_s=nan is not finite"),
        ({"weights_db": {"host": 60.0}}, r"weights_db\['host'\]=60 is out of range"),
        ({"weights_db": [("host", 3.0)]}, r"weights_db=.*expected a mapping"),
        ({"last_hold": "yes"}, r"last_hold='yes'; expected True or False"),
    ],
)
def test_bad_parameters_are_named(options, message):
    with pytest.raises(ParameterError, match=message):
        Automix(**options)  # type: ignore[arg-type]


def test_bad_graph_uses_are_named():
    with pytest.raises(GraphError, match=r"automix='yes'; expected an Automix, True or None"):
        sm.Bus(automix="yes")  # type: ignore[arg-type]
    tracks = {"host": mic_track(np.zeros(10), "host"), "guest": mic_track(np.zeros(10), "guest")}
    with pytest.raises(
        GraphError, match=r"weights_db\['gest'\].*not routed to it \(did you mean 'guest'\?\)"
    ):
        sm.Graph(
            tracks=tracks, buses={"master": sm.Bus(output=None, automix=Automix(weights_db={"gest": 3.0}))}
        )
    plain = sm.Graph(tracks=tracks, buses={"master": sm.Bus(output=None)})
    with pytest.raises(GraphError, match=r"0 automix buses \[\]; expected one"):
        automix_gains(plain, sample_rate=RATE)
    mixed = automix_graph(np.zeros((2, 10)))
    with pytest.raises(GraphError, match=r"bus='mastr' is not an automix bus \(did you mean 'master'\?\)"):
        automix_gains(mixed, sample_rate=RATE, bus="mastr")
