"""Hot trailer material for codec tests: real drum and bass hits whose peaks reach +7 dBFS.

A trailer is the hardest case for a delivery's true-peak ceiling after a lossy codec: dense,
loud, full-band hits that the limiter holds at the ceiling for much of the time, so the codec's
quantisation noise rides on peaks already at the limit. The hits are recorded drums and basses
from Debian's ``sonic-pi-samples`` (CC0; see tests/reference/dialogue.py for the package) over a
recorded music loop; where the package is missing, synthetic hits (decaying noise bursts and
falling sine booms) stand in, so the tests run everywhere and test more where it is installed.
"""

from __future__ import annotations

import numpy as np

import sonicmix as sm
from tests.reference import dialogue

HITS = ("bd_boom", "drum_heavy_kick", "drum_snare_hard", "drum_splash_hard", "bass_hit_c", "drum_tom_lo_hard")
BED = "loop_amen_full"
PEAK_DBFS = 7.0


def _synthetic_hit(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    n = int(0.8 * sample_rate)
    t = np.arange(n) / sample_rate
    boom = np.sin(2 * np.pi * (40 + 80 * np.exp(-t / 0.05)) * t) * np.exp(-t / 0.25)
    crack = rng.standard_normal(n) * np.exp(-t / 0.04)
    return np.stack([boom + 0.6 * crack, boom + 0.6 * rng.standard_normal(n) * np.exp(-t / 0.04)])


def _hits(sample_rate: int, rng: np.random.Generator) -> list[np.ndarray]:
    if dialogue.SONIC_PI.is_dir():
        found = [dialogue.SONIC_PI / f"{h}.flac" for h in HITS]
        found = [p for p in found if p.exists()]
        if found:
            return [np.atleast_2d(dialogue.load(p, sample_rate, mono=False)) for p in found]
    return [_synthetic_hit(rng, sample_rate) for _ in range(4)]


def _bed(sample_rate: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    path = dialogue.SONIC_PI / f"{BED}.flac"
    if path.exists():
        loop = np.atleast_2d(dialogue.load(path, sample_rate, mono=False))
        reps = -(-samples // loop.shape[1])
        return np.tile(loop, (1, reps))[:, :samples]
    return rng.standard_normal((2, samples)) * 0.1


def trailer(sample_rate: int = 48000, seconds: float = 12.0, *, seed: int = 7) -> sm.Graph:
    """A graph: a music bed and hits every 0.25-0.6 s whose sample peaks reach ``PEAK_DBFS``."""
    rng = np.random.default_rng(seed)
    samples = int(seconds * sample_rate)
    hits = np.zeros((2, samples))
    palette = _hits(sample_rate, rng)
    at = 0
    while at < samples:
        hit = palette[rng.integers(len(palette))]
        hit = np.broadcast_to(hit, (2, hit.shape[1])) if hit.shape[0] == 1 else hit[:2]
        end = min(samples, at + hit.shape[1])
        hits[:, at:end] += hit[:, : end - at] * rng.uniform(0.6, 1.0)
        at += int(rng.uniform(0.25, 0.6) * sample_rate)
    hits *= 10 ** (PEAK_DBFS / 20) / np.abs(hits).max()
    bed = _bed(sample_rate, samples, rng)
    bed *= 10 ** (-2 / 20) / max(np.abs(bed).max(), 1e-9)
    return sm.Graph(
        tracks={
            "hits": sm.Track(clips=(sm.Clip(source=sm.ArraySource(hits.astype(np.float32), sample_rate)),)),
            "bed": sm.Track(clips=(sm.Clip(source=sm.ArraySource(bed.astype(np.float32), sample_rate)),)),
        },
        buses={"master": sm.Bus(output=None)},
    )
