"""Fit the built-in speech detector's logistic model (sonicmix/speech/features.py constants).

Run ``python scripts/fit_speech_model.py``: it prints MEANS, SCALES, WEIGHTS and BIAS to
paste into ``sonicmix/speech/features.py``. It needs the recordings of ``scripts/fetch_speech.sh``.

The training material is kept apart from what the tests and benchmarks score:

- speech: Allison's prompts 200-279 but tt-monkeys, which is not speech (NOT_SPEECH; the tests use
  0-159), and codec2's short clean clips hts1a, hts2a, morig, forig, mmt1, big_dog, cross (the tests
  use speech_orig_16k, ve9qrp and vk5qi);
- noise: white noise band-limited to the telephone band, and sonic-pi's loop_drone_g_97,
  ambi_sauna, loop_industrial, ambi_haunted_hum, at 8 dB SNR and at 5 dB through the telephone band
  (the tests use vinyl_hiss and loop_3d_printer);
- dialogue: four podcasts built as the benchmark's is (PODCASTS: a clean host alternating with a
  quieter noisy narrowband guest), their stems and their mixes with a training loop 10 LU under them;
- music under speech: sonic-pi's loop_amen, loop_tabla, ambi_choir, loop_electric, loop_compus,
  ambi_piano at 6, 10 and 14 dB below the speech (the tests use loop_garzul, loop_mika and loop_safari);
- no speech at all: 20 s of each noise and of each of those loops plus MUSIC_ALONE (more loops, guitar
  and drones), at two levels 20 dB apart, and 30 s of sonic-pi's one-shot effects TRAIN_FX strung
  together with gaps (the tests use TEST_FX in tests/speech/test_detect.py).

Each condition is analysed by the streaming detector itself (``SpeechDetector.process(...,
features=...)``), frames are labelled by ``truth_frames`` of the clean speech, and a logistic
regression (L2 penalty 1e-3 on the standardised features, each weight's sign fixed by the
feature's meaning) is fitted by L-BFGS-B; weights under PRUNE are then fixed at zero and the rest refitted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sonicmix.speech import SpeechDetector  # noqa: E402
from sonicmix.speech.features import DELAY_FRAMES, FEATURES  # noqa: E402
from tests.reference import dialogue as d  # noqa: E402

RATE = 16000
PRUNE = 0.05  # standardised weights smaller than this are set to zero
#: The features the model may use; the others are computed and written for fitting but held at zero
#: weight (on this material they trade F1 on noisy speech for music rejection, or the reverse).
MODEL = ("level", "flux", "modulation", "rhythm", "glide", "pause", "modulation_peak")
#: Training prompts that are not speech: tt-monkeys.wav is 16 s of monkeys screeching (Asterisk's
#: test sound; tt-monkeysintro announces it), which truth_frames labels 96 % speech by its level.
NOT_SPEECH = ("tt-monkeys",)
#: (noise under the guest, music bed) of each training podcast, all training material.
PODCASTS = (("ambi_sauna", "loop_amen"), ("loop_industrial", "loop_tabla"), ("loop_drone_g_97", "ambi_piano"),
            ("ambi_haunted_hum", "loop_compus"))
CODEC2_TRAIN = ("hts1a.wav", "hts2a.wav", "morig.wav", "forig.wav", "mmt1.wav", "big_dog.wav", "cross.wav")
NOISES = ("loop_drone_g_97", "ambi_sauna", "loop_industrial", "ambi_haunted_hum")
MUSIC = ("loop_amen", "loop_tabla", "ambi_choir", "loop_electric", "loop_compus", "ambi_piano")
MUSIC_ALONE = ("loop_breakbeat", "loop_amen_full", "loop_mehackit1", "loop_mehackit2", "loop_perc1",
               "loop_perc2", "loop_weirdo", "guit_em9", "guit_e_fifths", "guit_harmonics", "ambi_drone",
               "ambi_glass_hum", "ambi_lunar_land", "bass_voxy_c", "bass_woodsy_c")
TRAIN_FX = ("elec_beep", "elec_bell", "elec_blip2", "elec_blup", "elec_bong", "elec_flip", "elec_plip",
            "elec_tick", "elec_triangle", "elec_twip", "elec_cymbal", "elec_hi_snare", "elec_snare",
            "elec_soft_kick", "perc_bell2", "perc_impact2", "perc_snap2", "perc_swash",
            "drum_snare_hard", "drum_cymbal_open", "drum_tom_mid_hard", "bd_haus", "sn_dolf", "tabla_na",
            "vinyl_scratch", "vinyl_rewind", "misc_cineboom", "ambi_swoosh", "glitch_perc1",
            "glitch_perc3")
# the tests' material, never trained on
TEST_ONLY = ("loop_garzul", "loop_mika", "loop_safari", "vinyl_hiss", "loop_3d_printer", "perc_bell",
             "perc_door", "perc_impact1", "perc_snap", "perc_swoosh", "perc_till", "elec_ping",
             "elec_twang", "elec_chime", "elec_blip", "elec_pop", "elec_wood")
assert not set(TEST_ONLY) & set(NOISES + MUSIC + MUSIC_ALONE + TRAIN_FX)


def _loop(name: str, samples: int) -> np.ndarray:
    x = d.load(d.SONIC_PI / f"{name}.flac", RATE)
    return np.tile(x, (1, -(-samples // x.shape[1])))[:, :samples]


def one_shots(names: tuple[str, ...], seconds: float, *, seed: int) -> np.ndarray:
    """Sonic-pi one-shots in random order with 0.1-0.8 s of silence between them, mono."""
    rng = np.random.default_rng(seed)
    shots = [d.load(d.SONIC_PI / f"{name}.flac", RATE) for name in names]
    parts, n = [], 0
    while n < seconds * RATE:
        shot = shots[rng.integers(len(shots))] * 10 ** (rng.uniform(-10, 0) / 20)
        gap = np.zeros((1, int(rng.uniform(0.1, 0.8) * RATE)))
        parts += [shot, gap]
        n += shot.shape[1] + gap.shape[1]
    return np.concatenate(parts, axis=1)[:, : int(seconds * RATE)]


def training_prompts() -> list[np.ndarray]:
    """Allison's prompts 200-279 but those in NOT_SPEECH, shuffled (seed 3)."""
    files = [f for f in sorted(d.ALLISON.glob("*.wav"))[200:280] if f.stem not in NOT_SPEECH]
    rng = np.random.default_rng(3)
    return [d.load(files[i], RATE) for i in rng.permutation(len(files))]


def podcasts() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Dialogue stems and mixes built as the benchmark's podcast is, from training material only: a
    clean host (prompts 200-319, lines of 0.8-3 s prompts, which leaves tt-monkeys out) alternating
    with a quieter noisy narrowband guest (codec2's training clips under a training noise), and a
    training loop 10 LU under the dialogue."""
    out = []
    guest = tuple(f"wav/{name}" for name in CODEC2_TRAIN)
    for seed, (noise, bed) in enumerate(PODCASTS, start=11):
        mix, truth, p = d.speech_podcast(RATE, seed=seed, host_first=200, guest_files=guest,
                                         noise_file=f"{noise}.flac", bed_file=f"{bed}.flac")
        out += [(f"podcast stem {seed}", p.host + p.guest, truth), (f"podcast mix {seed}", mix, truth)]
    return out


def conditions() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, audio, truth frames) of every training condition."""
    speech = [d.concatenate(training_prompts(), RATE, seed=3),
              d.concatenate([d.load(d.CODEC2 / "wav" / f, RATE) for f in CODEC2_TRAIN], RATE, seed=5)]
    clean = np.concatenate(speech, axis=1)
    truth = d.truth_frames(clean, RATE)
    n = clean.shape[1]
    rng = np.random.default_rng(7)
    out = [("clean", clean, truth), ("clean -20 dB", clean * 0.1, truth)]
    for snr in (0, 5, 10, 20):
        white = rng.standard_normal((1, n))
        out.append((f"white {snr} dB", d.telephone(d.mix_at_snr(clean, white, snr), RATE), truth))
    for name in NOISES:
        out.append((f"{name} 8 dB", d.mix_at_snr(clean, _loop(name, n), 8), truth))
        narrow = d.telephone(d.mix_at_snr(clean, _loop(name, n), 5), RATE)
        out.append((f"{name} 5 dB, telephone", narrow, truth))
    # music under the speech, and alone for 10 s before and after it (a programme's intro and outro)
    edge = 10 * RATE
    edged = np.r_[np.zeros(edge // 160, bool), truth, np.zeros(edge // 160, bool)]
    for name in MUSIC:
        for snr in (6, 10, 14):
            music = _loop(name, n + 2 * edge).mean(0, keepdims=True)
            speech = np.concatenate([np.zeros((1, edge)), clean, np.zeros((1, edge))], axis=1)
            out.append((f"{name} {snr} dB", d.mix_at_snr(speech, music, snr), edged))
    alone = 20 * RATE
    none = np.zeros(alone // 160, bool)
    out.append(("white alone", 0.05 * rng.standard_normal((1, alone)), none))
    for name in NOISES + MUSIC + MUSIC_ALONE:
        for gain in (0.3, 0.03):
            out.append((f"{name} alone x{gain}", gain * _loop(name, alone), none))
    fx = one_shots(TRAIN_FX, 30, seed=11)
    out.append(("effects alone", 0.5 * fx, np.zeros(fx.shape[1] // 160, bool)))
    return out + podcasts()


def features_of(audio: np.ndarray) -> np.ndarray:
    det = SpeechDetector()
    frames = -(-audio.shape[1] // det.hop_samples(RATE))
    feats = np.zeros((frames, len(FEATURES)))
    state = det.init_state(RATE)
    det.process(audio, RATE, state, features=feats)
    return feats


def fit(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None, penalty: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    c = np.ones(len(y)) if sample_weight is None else sample_weight / np.mean(sample_weight)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        p = 1.0 / (1.0 + np.exp(-s))
        value = np.mean(c * (np.logaddexp(0.0, s) - y * s)) + penalty * np.sum(w[:-1] ** 2)
        grad = z.T @ (c * (p - y)) / len(y)
        grad[:-1] += 2 * penalty * w[:-1]
        return float(value), grad

    # signs fixed by what the features mean, so that no correlation between them in the training
    # material can turn one against its sense (more modulation must never lower the score)
    sign = {"level": 1, "snr": 1, "pitch": 1, "flatness": -1, "flux": 1, "modulation": 1, "above_floor": 1,
            "voicing": 1, "rhythm": -1, "shape": 1, "glide": 1, "pause": -1, "modulation_peak": 1}
    bounds = [((0, None) if sign[f] > 0 else (None, 0)) if f in MODEL else (0.0, 0.0) for f in FEATURES]
    bounds.append((None, None))
    w = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x
    # prune: a feature whose weight is under PRUNE is fixed at 0 and the rest refitted (a zero
    # pitch weight lets the detector skip that feature's FFTs)
    bounds = [(0.0, 0.0) if abs(v) < PRUNE else b for v, b in zip(w[:-1], bounds[:-1], strict=True)]
    bounds.append((None, None))
    w = minimize(loss, w, jac=True, method="L-BFGS-B", bounds=bounds).x
    return mean, scale, w[:-1], float(w[-1])


def main() -> None:
    if not d.available():
        raise SystemExit(d.SKIP_REASON)
    xs, ys = [], []
    for name, audio, truth in conditions():
        f = features_of(audio)
        k = min(len(f) - DELAY_FRAMES, len(truth))  # the last frames are scored by flush(), unwritten
        xs.append(f[:k])
        ys.append(truth[:k].astype(float))
        print(f"{name:28s} {k:6d} frames, {100 * truth[:k].mean():5.1f} % speech", file=sys.stderr)
    mean, scale, weights, bias = fit(np.concatenate(xs), np.concatenate(ys))
    r = lambda v: tuple(float(round(a, 3)) for a in v)  # noqa: E731
    print(f"MEANS = {r(mean)}\nSCALES = {r(scale)}\nWEIGHTS = {r(weights)}\nBIAS = {round(bias, 3)}")


if __name__ == "__main__":
    main()
