"""Real-ish multichannel programmes for the immersive loudness and fold-down tests.

Every channel of a layout carries its own material, as a mixed bed does:
speech in the centre channels (Allison's prompts, codec2's studio voice), music
loops in the front pairs, ambiences and textures in the surrounds and heights,
percussion in 22.2's bottom layer, and a loud low-passed bass in every LFE
(which must not count). Each channel starts at its own offset, has its own
level and drops out on its own schedule, so the gates see a programme that
moves. The recordings come from the Debian packages ``scripts/fetch_speech.sh``
installs (see :mod:`tests.reference.dialogue`); without them every channel
gets independent band-limited noise and tone bursts instead (:func:`programme`
says which it used).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from sonicmix.layouts import get_layout
from tests.reference import dialogue

#: Sonic Pi samples (CC0) by role; stereo files give two channels each.
FRONT = ("loop_garzul", "loop_mika", "loop_safari", "loop_compus", "loop_amen_full", "guit_em9")
AMBIENT = (
    "ambi_drone", "ambi_lunar_land", "ambi_piano", "ambi_choir", "ambi_sauna", "ambi_haunted_hum",
    "vinyl_hiss", "ambi_glass_rub", "ambi_dark_woosh", "ambi_soft_buzz", "ambi_glass_hum", "loop_3d_printer",
)
BOTTOM = ("loop_tabla", "loop_perc1", "loop_perc2")
BASS = ("bass_voxy_c", "bass_trance_c")


def _loop(x: np.ndarray, samples: int, offset: int) -> np.ndarray:
    reps = -(-(samples + offset) // x.size)
    return np.tile(x, reps)[offset : offset + samples]


def _lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    return signal.sosfiltfilt(signal.butter(8, cutoff_hz, fs=sample_rate, output="sos"), x)


def _dropouts(rng: np.random.Generator, samples: int, sample_rate: int) -> np.ndarray:
    """1 while the channel plays, 0 in its pauses (0.3-2 s every 3-8 s), with 20 ms ramps."""
    env = np.ones(samples)
    pos = int(rng.uniform(1.0, 6.0) * sample_rate)
    while pos < samples:
        gap = int(rng.uniform(0.3, 2.0) * sample_rate)
        env[pos : pos + gap] = 0.0
        pos += gap + int(rng.uniform(3.0, 8.0) * sample_rate)
    ramp = np.hanning(int(0.04 * sample_rate))
    return np.convolve(env, ramp / ramp.sum(), mode="same")


def _recorded(name: str, index: int, sample_rate: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    x = dialogue.load(dialogue.SONIC_PI / f"{name}.flac", sample_rate, mono=False)
    return _loop(x[index % x.shape[0]], samples, int(rng.integers(0, x.shape[1])))


def _speech(sample_rate: int, samples: int, seed: int) -> np.ndarray:
    parts = dialogue.prompts(12, sample_rate, seed=seed) + [dialogue.wideband_voice(sample_rate)]
    x = dialogue.concatenate(parts, sample_rate, seed=seed)[0]
    return _loop(x, samples, 0)


def _synthetic(role: str, sample_rate: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(samples) / sample_rate
    if role == "lfe":
        return np.sin(2 * np.pi * rng.uniform(30.0, 80.0) * t)
    noise = _lowpass(rng.standard_normal(samples), sample_rate, rng.uniform(2000.0, 16000.0))
    tones = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in rng.uniform(100, 4000, 3))
    bursts = (np.sin(2 * np.pi * rng.uniform(0.5, 4.0) * t) > 0).astype(float)
    return noise / noise.std() + 0.5 * tones * bursts


def programme(layout: str, sample_rate: int, duration_s: float, *, seed: int = 0) -> tuple[np.ndarray, str]:
    """A ``(channels, samples)`` float32 bed in ``layout`` and the name of the material used.

    Levels: each full-range channel at -36 to -18 dBFS RMS, every LFE at about
    -12 dBFS RMS (loud, so that counting it would show), peaks below full scale.
    """
    spec = get_layout(layout)
    rng = np.random.default_rng(seed)
    samples = int(duration_s * sample_rate)
    real = dialogue.available()
    out = np.zeros((spec.n_channels, samples))
    front = ambient = bottom = 0
    for k, position in enumerate(spec.positions):
        if position is None:
            role = "lfe"
        elif position.elevation_deg < 0:
            role = "bottom"
        elif position == (0.0, 0.0):
            role = "speech"
        elif abs(position.azimuth_deg) <= 60 and position.elevation_deg == 0:
            role = "front"
        else:
            role = "ambient"
        if not real:
            x = _synthetic(role, sample_rate, samples, rng)
        elif role == "lfe":
            x = _lowpass(_recorded(BASS[k % 2], k, sample_rate, samples, rng), sample_rate, 120.0)
        elif role == "speech":
            x = _speech(sample_rate, samples, seed + k)
        elif role == "front":
            x = _recorded(FRONT[front // 2 % len(FRONT)], front, sample_rate, samples, rng)
            front += 1
        elif role == "bottom":
            x = _recorded(BOTTOM[bottom % len(BOTTOM)], bottom, sample_rate, samples, rng)
            bottom += 1
        else:
            x = _recorded(AMBIENT[ambient // 2 % len(AMBIENT)], ambient, sample_rate, samples, rng)
            ambient += 1
        rms = np.sqrt(np.mean(x**2)) or 1.0
        level_db = -12.0 if role == "lfe" else rng.uniform(-36.0, -18.0)
        x = x / rms * 10 ** (level_db / 20)
        if role not in ("lfe", "speech"):  # speech has its own pauses
            x = x * _dropouts(rng, samples, sample_rate)
        out[k] = x
    peak = np.max(np.abs(out))
    if peak > 0.9:
        out *= 0.9 / peak
    return out.astype(np.float32), "recordings" if real else "synthetic"
