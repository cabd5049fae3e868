"""Speech-like test material made in code, and a loader for a real speech recording.

:func:`speech_like` synthesises dialogue with known timing: syllables of
voiced, formant-shaped harmonic tones (and a little band-limited noise),
80-300 ms long, grouped into words (gaps 50-150 ms), phrases (pauses
300-600 ms) and sentences (pauses 1.0-1.6 s), with breaths 30 dB under the
speech before each sentence after the first, clicks in some pauses, and room
noise at -60 dBFS throughout. The durations are those of conversational
speech (syllable rate around 4-5 per second, see e.g. Greenberg, "Speaking in
shorthand", Speech Communication 29, 1999). Everything returned is ground
truth for the tests: no number comes from the code under test.

:func:`real_speech` loads a recorded voice shipped by a Debian package (see
``scripts/fetch_speech.sh``); tests skip when it is not installed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Recording of a male speaker, 16 kHz mono 16-bit, 10.8 s, from Debian's ``codec2-examples``
#: (codec2 sample data, Copyright David Rowe, LGPL-2.1; see /usr/share/doc/codec2-examples/copyright).
REAL_SPEECH_PATH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")
#: Environment variable naming another speech file to use instead.
REAL_SPEECH_ENV = "SONICMIX_SPEECH_WAV"
SKIP_REASON = (
    f"real speech recording not installed ({REAL_SPEECH_PATH}); run scripts/fetch_speech.sh "
    f"(installs Debian's codec2-examples) or set {REAL_SPEECH_ENV}=<a mono speech WAV>"
)


@dataclass
class SpeechTruth:
    """Where everything is in the material from :func:`speech_like`, in seconds."""

    syllables: list[tuple[float, float]] = field(default_factory=list)
    phrases: list[tuple[float, float]] = field(default_factory=list)
    sentences: list[tuple[float, float]] = field(default_factory=list)
    breaths: list[tuple[float, float]] = field(default_factory=list)
    clicks: list[float] = field(default_factory=list)
    speech_rms_db: float = -20.0

    def onsets_after_silence(self, silence_s: float) -> list[float]:
        """Syllable onsets preceded by at least ``silence_s`` of no speech (or the start)."""
        out, last_end = [], -np.inf
        for start, end in self.syllables:
            if start - last_end >= silence_s:
                out.append(start)
            last_end = end
        return out


def _syllable(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    """One voiced syllable: a gliding harmonic tone through two formants, with a soft envelope."""
    t = np.arange(n) / sample_rate
    f0 = rng.uniform(100.0, 200.0) * (1.0 + rng.uniform(-0.15, 0.15) * t / max(t[-1], 1e-9))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    formants = (rng.uniform(400.0, 900.0), rng.uniform(1000.0, 2600.0))
    y = np.zeros(n)
    for h in range(1, 40):
        fh = h * f0.mean()
        if fh > min(5000.0, 0.45 * sample_rate):
            break
        weight = sum(1.0 / (1.0 + ((fh - f) / 150.0) ** 2) for f in formants) + 0.05 / h
        y += weight * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    # A consonant-like noise burst at the start (about 12 dB under the vowel).
    burst = min(n, int(0.03 * sample_rate))
    y[:burst] += 0.25 * np.std(y) * rng.standard_normal(burst)
    # Raised-cosine attack (15 ms) and release (30 ms).
    env = np.ones(n)
    a, r = min(n // 3, int(0.015 * sample_rate)), min(n // 3, int(0.03 * sample_rate))
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    env[n - r :] = 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / r)
    y *= env
    return y / np.sqrt(np.mean(y**2))


def _band_noise(rng: np.random.Generator, n: int, sample_rate: int, low_hz: float, high_hz: float):
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum[(f < low_hz) | (f > high_hz)] = 0.0
    y = np.fft.irfft(spectrum, n)
    return y / np.sqrt(np.mean(y**2))


def speech_like(
    rng: np.random.Generator,
    sample_rate: int = 48000,
    *,
    sentences: int = 3,
    phrases_per_sentence: tuple[int, int] = (1, 3),
    words_per_phrase: tuple[int, int] = (2, 5),
    speech_rms_db: float = -20.0,
    breath_db: float = -30.0,
    room_noise_dbfs: float = -60.0,
    clicks: bool = True,
    lead_s: float = 1.0,
    tail_s: float = 2.0,
    dtype=np.float32,
) -> tuple[np.ndarray, SpeechTruth]:
    """Synthesise speech-like dialogue with known timing.

    Parameters
    ----------
    rng : np.random.Generator
        Seeded generator.
    sample_rate : int
        Sample rate in Hz.
    sentences : int
        Number of sentences.
    phrases_per_sentence, words_per_phrase : (int, int)
        Inclusive ranges.
    speech_rms_db : float
        RMS of each syllable in dBFS.
    breath_db : float
        Breath RMS relative to the speech, in dB (a breath precedes every
        sentence after the first, ending 0.2-0.3 s before it).
    room_noise_dbfs : float
        RMS of the white room noise, in dBFS.
    clicks : bool
        Put a 1 ms click at -6 dBFS peak in the middle of every sentence pause.
    lead_s, tail_s : float
        Silence (room noise) before the first and after the last syllable.

    Returns
    -------
    audio : np.ndarray, shape=(1, samples)
    truth : SpeechTruth
    """
    fs = sample_rate
    truth = SpeechTruth(speech_rms_db=speech_rms_db)
    amp = 10.0 ** (speech_rms_db / 20.0)
    pieces: list[tuple[int, np.ndarray]] = []
    t = lead_s
    sentence_pauses = []
    for s in range(sentences):
        if s:
            pause = rng.uniform(1.0, 1.6)
            sentence_pauses.append((t, t + pause))
            t += pause
        sentence_start = t
        for p in range(int(rng.integers(phrases_per_sentence[0], phrases_per_sentence[1] + 1))):
            if p:
                t += rng.uniform(0.3, 0.6)
            phrase_start = t
            for w in range(int(rng.integers(words_per_phrase[0], words_per_phrase[1] + 1))):
                if w:
                    t += rng.uniform(0.05, 0.15)
                for _ in range(int(rng.integers(1, 4))):
                    n = int(rng.uniform(0.08, 0.3) * fs)
                    start = int(round(t * fs))
                    pieces.append((start, amp * _syllable(rng, n, fs)))
                    truth.syllables.append((start / fs, (start + n) / fs))
                    t = (start + n) / fs
            truth.phrases.append((phrase_start, t))
        truth.sentences.append((sentence_start, t))
    total = int(round((t + tail_s) * fs))
    y = np.zeros(total)
    for start, piece in pieces:
        y[start : start + piece.size] += piece
    breath_amp = amp * 10.0 ** (breath_db / 20.0)
    for pause_start, pause_end in sentence_pauses:
        length = rng.uniform(0.25, 0.4)
        end = pause_end - rng.uniform(0.2, 0.3)
        start = end - length
        a, b = int(round(start * fs)), int(round(end * fs))
        breath = _band_noise(rng, b - a, fs, 200.0, min(6000.0, 0.45 * fs))
        breath *= np.sin(np.pi * np.arange(b - a) / (b - a)) ** 2 * np.sqrt(8.0 / 3.0)  # RMS kept at 1
        y[a:b] += breath_amp * breath
        truth.breaths.append((a / fs, b / fs))
        if clicks:
            centre = 0.5 * (pause_start + start)
            c = int(round(centre * fs))
            width = max(1, int(0.001 * fs))
            y[c : c + width] += 0.5 * np.hanning(width + 2)[1:-1] * np.sign(rng.standard_normal())
            truth.clicks.append(c / fs)
    y += 10.0 ** (room_noise_dbfs / 20.0) * rng.standard_normal(total)
    return y[np.newaxis].astype(dtype), truth


def music_bed(
    rng: np.random.Generator, seconds: float, sample_rate: int = 48000, *, rms_db: float = -20.0,
    channels: int = 2, dtype=np.float32,
) -> np.ndarray:  # fmt: skip
    """A steady music-like bed: a bass note, a chord and band-limited noise 'air', at ``rms_db`` dBFS RMS."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    out = np.empty((channels, n))
    for c in range(channels):
        tone = 0.6 * np.sin(2 * np.pi * 55.0 * t + c)
        for f in (220.0, 277.2, 329.6, 440.0, 1318.5):
            tone += 0.25 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        tone += 0.15 * _band_noise(rng, n, sample_rate, 5000.0, min(14000.0, 0.45 * sample_rate))
        out[c] = tone
    out *= 10.0 ** (rms_db / 20.0) / np.sqrt(np.mean(out**2))
    return out.astype(dtype)


def real_speech_path() -> Path | None:
    """The real speech recording, if installed (``$SONICMIX_SPEECH_WAV`` first)."""
    override = os.environ.get(REAL_SPEECH_ENV)
    for candidate in ([Path(override)] if override else []) + [REAL_SPEECH_PATH]:
        if candidate.is_file():
            return candidate
    return None


def real_speech(sample_rate: int = 48000, *, dtype=np.float32) -> np.ndarray | None:
    """The real recording as ``(1, samples)`` at ``sample_rate`` (resampled with soxr), or None."""
    path = real_speech_path()
    if path is None:
        return None
    import soundfile as sf
    import soxr

    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return mono[np.newaxis].astype(dtype)
