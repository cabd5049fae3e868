"""Open mics that hear each other, built from real voices, and the automixer's figures on them.

Each talker has a mic; every mic hears its own talker and, ``crosstalk_db`` down and
``delay_s`` late, every other talker, plus its own room noise (independent, seeded, white,
``noise_db`` below the speech level). The talkers take turns (the lines of
:func:`tests.reference.dialogue.concatenate` material, each line normalised to the same level),
so the ground truth of who talks comes from the clean voices (:func:`dialogue.truth_frames`).

Voices (``scripts/fetch_speech.sh``): Allison's prompts (female, asterisk-core-sounds), codec2's
``speech_orig_16k`` (male, studio) and ``ve9qrp`` (male, received over HF radio) for a third mic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.reference import dialogue as d

#: Hysteresis of the "opening" count: a mic opens when its gain rises to -2 dB or more after
#: having been at -8 dB or less (a gate's chatter opens and closes a mic within a line).
OPEN_DB, CLOSED_DB = -2.0, -8.0


@dataclass
class Scene:
    """``mics`` (mics, samples) float64 and the clean ``voices`` (mics, samples) behind them."""

    sample_rate: int
    mics: np.ndarray
    voices: np.ndarray
    turns: list[int]  # who talks, line by line
    starts: list[int]  # the sample each line starts at


def _delayed(x: np.ndarray, samples: int) -> np.ndarray:
    out = np.zeros_like(x)
    out[..., samples:] = x[..., : x.shape[-1] - samples]
    return out


def scene(
    sample_rate: int = 48000,
    *,
    talkers: int = 2,
    lines: int = 6,
    crosstalk_db: float = -10.0,
    delay_s: float = 0.003,
    noise_db: float = -50.0,
    level_db: float = -20.0,
    seed: int = 0,
) -> Scene:
    """Talkers taking turns, ``lines`` lines each (about 3-5 s), 0.4 s apart."""
    rng = np.random.default_rng(seed)
    allison = d.prompts(3 * lines, sample_rate, seed=seed, first=10)
    males = [d.load(d.CODEC2 / f, sample_rate) for f in ("raw/speech_orig_16k.wav", "wav/ve9qrp.wav")]
    parts: list[tuple[int, np.ndarray]] = []
    for k in range(lines):
        for who in range(talkers):
            if who == 0:
                line = d.concatenate(allison[3 * k : 3 * k + 3], sample_rate, seed=k, pause_s=(0.2, 0.5))
            else:
                voice = males[who - 1]
                length = int(rng.uniform(3.0, 4.5) * sample_rate)
                start = int(rng.uniform(0, voice.shape[1] - length))
                line = voice[:, start : start + length]
            loud = line[np.abs(line) > 1e-4]
            parts.append((who, line / np.sqrt(np.mean(loud**2)) * 10 ** (level_db / 20)))
    gap = int(0.4 * sample_rate)
    n = sum(p.shape[1] + gap for _, p in parts) + sample_rate
    voices = np.zeros((talkers, n))
    position, starts = sample_rate // 2, []
    for who, line in parts:
        voices[who, position : position + line.shape[1]] = line[0]
        starts.append(position)
        position += line.shape[1] + gap
    leak = _delayed(voices, int(round(delay_s * sample_rate))) * 10 ** (crosstalk_db / 20)
    mics = voices + leak.sum(axis=0) - leak  # each mic: its talker, and the others' leak
    mics += rng.standard_normal(mics.shape) * 10 ** ((level_db + noise_db) / 20)
    return Scene(sample_rate, mics, voices, [who for who, _ in parts], starts)


@dataclass
class Figures:
    """What the automixer did on a scene (gains are linear amplitude, (mics, samples))."""

    closed_db: list[float]  # each mic's output energy re its input while only others talk
    open_db: list[float]  # the same while only its own talker talks
    total_db: tuple[float, float]  # min and max of 10 log10(sum of gains**2) over all samples
    slew_db_per_ms: float  # largest change of any gain in dB over 1 ms
    openings: list[int]  # times each mic opened (OPEN_DB/CLOSED_DB hysteresis)
    lines: list[int]  # lines each talker spoke (the openings a perfect automixer makes, at most)
    onset_ms: list[float]  # per line: from the talker's first speech frame to its gain reaching -3 dB


def figures(sc: Scene, gains: np.ndarray) -> Figures:
    rate = sc.sample_rate
    talking = [d.truth_frames(v[np.newaxis], rate) for v in sc.voices]
    frames = min(t.size for t in talking)
    hop = int(round(d.TRUTH_HOP_S * rate))
    closed, opened = [], []
    for i in range(sc.mics.shape[0]):
        own = talking[i][:frames]
        others = np.any([t[:frames] for j, t in enumerate(talking) if j != i], axis=0)

        closed.append(_ratio_db(sc.mics[i], gains[i], others & ~own, hop))
        opened.append(_ratio_db(sc.mics[i], gains[i], own & ~others, hop))
    total = 10 * np.log10(np.sum(gains**2, axis=0))
    gains_db = 20 * np.log10(np.maximum(gains, 1e-12))
    ms = rate // 1000
    slew = float(np.max(np.abs(gains_db[:, ms:] - gains_db[:, :-ms])))
    onsets = []
    for who, start in zip(sc.turns, sc.starts, strict=True):
        first = start // hop + int(np.argmax(talking[who][start // hop :]))  # first speech frame
        at = first * hop
        onsets.append(1000 * int(np.argmax(gains_db[who, at:] >= -3.0)) / rate)
    return Figures(
        closed,
        opened,
        (float(total.min()), float(total.max())),
        slew,
        [openings(g) for g in gains_db],
        [sc.turns.count(i) for i in range(len(sc.voices))],
        onsets,
    )


def _ratio_db(mic: np.ndarray, gain: np.ndarray, frames: np.ndarray, hop: int) -> float:
    """Output energy re input energy of one mic over the frames marked True, in dB."""
    where = np.repeat(frames, hop)
    x, g = mic[: where.size][where], gain[: where.size][where]
    return float(10 * np.log10(np.sum((g * x) ** 2) / np.sum(x**2)))


def openings(gain_db: np.ndarray) -> int:
    """How many times a gain rose to OPEN_DB after having fallen to CLOSED_DB."""
    count, state = 0, None
    for v in gain_db[::48]:  # 1 ms at 48 kHz: the gains move far slower than that
        if v >= OPEN_DB and state != "open":
            count += state == "closed"
            state = "open"
        elif v <= CLOSED_DB and state != "closed":
            state = "closed"
    return count
