"""Real dialogue material for the speech, leveling, denoise and podcast tests and benchmarks.

Everything here is read from freely licensed Debian packages that
``scripts/fetch_speech.sh`` installs (the audio stays out of git):

- ``asterisk-core-sounds-en-wav``: 358 studio prompts by one female voice
  (Allison Smith), 8 kHz mono, CC-BY-SA-3.0 (/usr/share/doc/asterisk-core-sounds-en-wav/copyright);
- ``codec2-examples``: male voices, a 16 kHz studio recording (speech_orig_16k.wav) and
  8 kHz voices received over HF radio (ve9qrp, vk5qi), LGPL-2.1, Copyright David Rowe;
- ``sonic-pi-samples``: real recorded noise (``vinyl_hiss``, ``loop_3d_printer``) and music
  loops, 44.1 kHz stereo, CC0 (/usr/share/sonic-pi/samples/README.md names each source).

Ground truth for speech activity comes from the *clean* recording only (:func:`truth_frames`),
never from code under test. Signals are float64 ``(channels, samples)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
CODEC2 = Path("/usr/share/codec2")
SONIC_PI = Path("/usr/share/sonic-pi/samples")
SKIP_REASON = (
    "real dialogue recordings not installed; run scripts/fetch_speech.sh (installs Debian's "
    "codec2-examples, asterisk-core-sounds-en-wav and sonic-pi-samples)"
)
#: Hop of the ground-truth frames, in seconds (the detector's frame rate must be at least this fine).
TRUTH_HOP_S = 0.010

NOISES = {"vinyl_hiss": "vinyl_hiss.flac", "3d_printer": "loop_3d_printer.flac"}
MUSIC = {"garzul": "loop_garzul.flac", "mika": "loop_mika.flac", "safari": "loop_safari.flac"}


def available() -> bool:
    """True when the three packages' files are installed."""
    return (
        (ALLISON / "activated.wav").is_file()
        and (CODEC2 / "raw" / "speech_orig_16k.wav").is_file()
        and (SONIC_PI / "vinyl_hiss.flac").is_file()
    )


@functools.lru_cache(maxsize=64)
def _read(path: str, sample_rate: int) -> np.ndarray:
    import soundfile as sf
    import soxr

    data, rate = sf.read(path, dtype="float64", always_2d=True)
    if rate != sample_rate:
        data = soxr.resample(data, rate, sample_rate, quality="VHQ")
    out = np.ascontiguousarray(data.T)
    out.setflags(write=False)
    return out


def load(path: str | Path, sample_rate: int, *, mono: bool = True) -> np.ndarray:
    """A file as float64 ``(channels, samples)`` at ``sample_rate`` (a fresh, writable copy)."""
    x = _read(str(path), sample_rate)
    return (x.mean(axis=0, keepdims=True) if mono else x).copy()


def prompts(count: int, sample_rate: int, *, seed: int = 0, first: int = 0) -> list[np.ndarray]:
    """``count`` of Allison's prompts (sorted by file name from ``first``, then shuffled by ``seed``)."""
    files = sorted(ALLISON.glob("*.wav"))[first : first + count]
    rng = np.random.default_rng(seed)
    return [load(files[i], sample_rate) for i in rng.permutation(len(files))]


def concatenate(parts: list[np.ndarray], sample_rate: int, *, seed: int = 0,
                pause_s: tuple[float, float] = (0.3, 1.2)) -> np.ndarray:
    """Parts joined with pauses of digital silence drawn uniformly from ``pause_s``."""
    rng = np.random.default_rng(seed)
    out = []
    for part in parts:
        out.append(part)
        out.append(np.zeros((part.shape[0], int(rng.uniform(*pause_s) * sample_rate))))
    return np.concatenate(out, axis=1)


def truth_frames(clean: np.ndarray, sample_rate: int, *, hop_s: float = TRUTH_HOP_S,
                 below_db: float = 35.0, bridge_s: float = 0.15, shortest_s: float = 0.05) -> np.ndarray:
    """Ground-truth speech per ``hop_s`` frame of a clean recording.

    A frame is speech when its power is within ``below_db`` of the recording's
    speech level (the power mean of its loudest 30 % of frames); gaps shorter
    than ``bridge_s`` inside speech (stop closures) are speech too, islands
    shorter than ``shortest_s`` are not.
    """
    x = clean.mean(axis=0)
    hop = int(round(hop_s * sample_rate))
    frames = x.size // hop
    power = np.mean(x[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-20
    top = np.sort(power)[-max(1, int(0.3 * frames)):]
    active = 10 * np.log10(power) > 10 * np.log10(top.mean()) - below_db
    return _close_gaps(active, int(round(bridge_s / hop_s)), int(round(shortest_s / hop_s)))


def p56_activity(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Active speech per sample and the active speech level (dB re full scale), ITU-T P.56 method B.

    The standard's envelope (the rectified signal through two cascaded one-pole
    smoothers of 0.03 s), its 0.2 s hangover and its 15.9 dB margin: a sample is
    active while the envelope is at or above the threshold, or was so within the
    last 0.2 s; the threshold is the active level less 15.9 dB, found by the
    standard's ladder of thresholds 6 dB apart and linear interpolation of
    (active level - threshold) in dB between the two rungs around 15.9 dB.
    ``x`` is one channel, shape ``(samples,)``.
    """
    from scipy.signal import lfilter

    x = np.asarray(x, dtype=np.float64)
    g = np.exp(-1.0 / (0.03 * sample_rate))
    envelope = lfilter([1.0 - g], [1.0, -g], lfilter([1.0 - g], [1.0, -g], np.abs(x)))
    hangover = int(round(0.2 * sample_rate))
    index = np.arange(x.size)
    energy = float(np.sum(x * x))

    def active(threshold: float) -> np.ndarray:
        last_above = np.maximum.accumulate(np.where(envelope >= threshold, index, -(hangover + 1)))
        return index - last_above <= hangover

    rungs_db = 20.0 * np.log10(2.0) * np.arange(-24, 1)  # 2**-24 .. 1, as P.56's 2**-15 .. 1 for 16 bits
    level_db = np.array([10.0 * np.log10(energy / max(int(active(10 ** (c / 20)).sum()), 1) + 1e-300)
                         for c in rungs_db])
    margin = level_db - rungs_db  # falls as the threshold rises
    j = int(np.argmax(margin <= 15.9))
    if j == 0 or margin[j] > 15.9:
        raise ValueError("no active speech level: the signal is silent or too loud for the ladder")
    t = (margin[j - 1] - 15.9) / (margin[j - 1] - margin[j])
    level = float(level_db[j - 1] + t * (level_db[j] - level_db[j - 1]))
    return active(10 ** ((level - 15.9) / 20)), level


def p56_truth_frames(clean: np.ndarray, sample_rate: int, *, hop_s: float = TRUTH_HOP_S) -> np.ndarray:
    """Ground truth B: a frame is speech when at least half its samples are active by
    :func:`p56_activity` of the clean recording (channels averaged). Every constant is the
    standard's; unlike :func:`truth_frames` it follows the recording's own noise floor (the
    threshold is relative to the active level, and pauses over a floor 35-40 dB down are not speech)
    and counts the 0.2 s after each utterance as speech, as P.56 does."""
    mask, _ = p56_activity(clean.mean(axis=0), sample_rate)
    hop = int(round(hop_s * sample_rate))
    frames = mask.size // hop
    return mask[: frames * hop].reshape(frames, hop).mean(axis=1) >= 0.5


def _runs(mask: np.ndarray, value: bool) -> list[tuple[int, int]]:
    m = np.concatenate([[False], mask == value, [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2], edges[1::2], strict=True))


def _close_gaps(active: np.ndarray, bridge: int, shortest: int) -> np.ndarray:
    out = active.copy()
    for a, b in _runs(out, False):
        if 0 < a and b < out.size and b - a < bridge:
            out[a:b] = True
    for a, b in _runs(out, True):
        if b - a < shortest:
            out[a:b] = False
    return out


def intervals(mask: np.ndarray, hop_s: float = TRUTH_HOP_S) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of each run of True frames."""
    return [(a * hop_s, b * hop_s) for a, b in _runs(mask, True)]


def f1(detected: np.ndarray, truth: np.ndarray) -> float:
    """Frame-level F1 of a detection against the truth (same frames; the shorter length is used)."""
    n = min(detected.size, truth.size)
    d, t = detected[:n].astype(bool), truth[:n].astype(bool)
    tp = np.sum(d & t)
    return float(2 * tp / (np.sum(d) + np.sum(t))) if np.any(d | t) else 1.0


def noise(kind: str, samples: int, sample_rate: int) -> np.ndarray:
    """Real recorded noise (``"vinyl_hiss"`` or ``"3d_printer"``), mono, looped to ``samples``."""
    x = load(SONIC_PI / NOISES[kind], sample_rate)
    return np.tile(x, (1, -(-samples // x.shape[1])))[:, :samples]


def music(kind: str, samples: int, sample_rate: int) -> np.ndarray:
    """A stereo music loop (``"garzul"``, ``"mika"``, ``"safari"``) repeated to ``samples``."""
    x = load(SONIC_PI / MUSIC[kind], sample_rate, mono=False)
    return np.tile(x, (1, -(-samples // x.shape[1])))[:, :samples]


def mix_at_snr(clean: np.ndarray, noise_: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean`` plus ``noise_`` scaled so that the power ratio of the two is ``snr_db``."""
    n = noise_[:, : clean.shape[1]]
    gain = np.sqrt(np.sum(clean**2) / np.sum(n**2) / 10 ** (snr_db / 10))
    return clean + gain * n


def telephone(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """A narrowband line: 300-3400 Hz band-pass (8th-order Butterworth, zero phase)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [300.0, 3400.0], btype="bandpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, x, axis=-1)


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., ICASSP 2019), over the whole signal."""
    e, r = estimate.ravel().astype(np.float64), reference.ravel().astype(np.float64)
    n = min(e.size, r.size)
    e, r = e[:n] - e[:n].mean(), r[:n] - r[:n].mean()
    target = np.dot(e, r) / np.dot(r, r) * r
    return float(10 * np.log10(np.sum(target**2) / np.sum((e - target) ** 2)))


def wideband_voice(sample_rate: int) -> np.ndarray:
    """The 16 kHz studio recording of a male voice (10.8 s), mono."""
    return load(CODEC2 / "raw" / "speech_orig_16k.wav", sample_rate)


@dataclass
class Podcast:
    """A two-person conversation and a music bed with known lines, at ``sample_rate``.

    ``host`` is a clean studio voice (Allison's prompts), ``guest`` a male
    voice over a narrowband line with recorded noise under it, ``quieter_lu``
    quieter. They take turns: ``lines`` lists ``(who, start_s, end_s)`` and
    each track is silent (guest: its noise only) while the other talks.
    ``host_clean`` and ``guest_clean`` are the voices alone, for ground truth.
    """

    sample_rate: int
    host: np.ndarray
    guest: np.ndarray
    music: np.ndarray
    host_clean: np.ndarray
    guest_clean: np.ndarray
    lines: list[tuple[str, float, float]]


def podcast(sample_rate: int = 48000, *, turns: int = 8, quieter_lu: float = 5.5,
            noise_snr_db: float = 20.0, seed: int = 1,
            guest_files: tuple[str, ...] = ("wav/ve9qrp.wav", "wav/vk5qi.wav"),
            host_first: int = 40, noise_file: str = NOISES["vinyl_hiss"],
            bed_file: str = MUSIC["garzul"]) -> Podcast:
    """A conversation of ``turns`` lines per speaker (host first), about 5 s each.

    ``guest_files`` are the guest's recordings, relative to ``CODEC2``: by default two male
    voices received over HF radio (ve9qrp, 112 s, and vk5qi, 13.5 s; Silero VAD finds speech in
    95 % and 87 % of them), narrowband and noisy as a phone guest is. codec2's vk2tpm_004.wav
    and david4.wav are off-air FreeDV *modem* signals, not speech: never use them as a voice.
    The host's prompts are drawn from Allison's prompts ``host_first`` to ``host_first + 119``;
    ``noise_file`` (under the guest) and ``bed_file`` (the music) are sonic-pi samples. The
    defaults are the tests' material; other values build fitting material apart from it.
    """
    rng = np.random.default_rng(seed)
    short = [x for x in prompts(120, sample_rate, seed=seed, first=host_first)
             if 0.8 * sample_rate < x.shape[1] < 3.0 * sample_rate]
    male = np.concatenate([load(CODEC2 / f, sample_rate) for f in guest_files], axis=1)
    host_lines = [concatenate(short[3 * i : 3 * i + 3], sample_rate, seed=seed + i, pause_s=(0.2, 0.5))
                  for i in range(turns)]
    guest_lines = []
    for _ in range(turns):
        length = int(rng.uniform(4.0, 6.0) * sample_rate)
        start = int(rng.uniform(0, male.shape[1] - length))
        guest_lines.append(telephone(male[:, start : start + length], sample_rate))
    # each line its own level (a speaker moving on the mic): +-3 dB around the speaker's level
    host_lines = [h * 10 ** ((-20.0 + rng.uniform(-3, 3) - _level_db(h, sample_rate)) / 20)
                  for h in host_lines]
    guest_lines = [g * 10 ** ((-20.0 - quieter_lu + rng.uniform(-3, 3) - _level_db(g, sample_rate)) / 20)
                   for g in guest_lines]
    gap = int(0.4 * sample_rate)
    total = sum(x.shape[1] + gap for x in host_lines + guest_lines) + sample_rate
    host, guest = np.zeros((1, total)), np.zeros((1, total))
    lines, pos = [], sample_rate // 2
    for h, g in zip(host_lines, guest_lines, strict=True):
        for who, line, track in (("host", h, host), ("guest", g, guest)):
            track[:, pos : pos + line.shape[1]] = line
            lines.append((who, pos / sample_rate, (pos + line.shape[1]) / sample_rate))
            pos += line.shape[1] + gap
    guest_clean = guest.copy()
    hiss = load(SONIC_PI / noise_file, sample_rate)
    hiss = np.tile(hiss, (1, -(-total // hiss.shape[1])))[:, :total]
    guest = mix_at_snr(guest_clean, telephone(hiss, sample_rate), noise_snr_db)
    bed = load(SONIC_PI / bed_file, sample_rate, mono=False)
    bed = np.tile(bed, (1, -(-total // bed.shape[1])))[:, :total]
    bed *= 10 ** ((-38.0 - _level_db(bed, sample_rate)) / 20)
    return Podcast(sample_rate, host, guest, bed, host.copy(), guest_clean, lines)


def _level_db(x: np.ndarray, sample_rate: int = 48000) -> float:
    """Integrated loudness (BS.1770, gated) by pyloudnorm, the independent oracle."""
    import pyloudnorm

    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(x.T))


def speech_podcast(sample_rate: int = 48000, *, music_below_lu: float = 10.0, seed: int = 1,
                   **material: object) -> tuple[np.ndarray, np.ndarray, Podcast]:
    """A finished podcast mix whose guest speaks, its ground truth, and the parts.

    :func:`podcast` with the male studio voice of ``speech_orig_16k.wav`` as the noisy
    narrowband guest, and the music bed set ``music_below_lu`` below the BS.1770 loudness of the
    dialogue (host + guest). Returns ``(mix, truth, parts)``: the stereo mix (dialogue in both
    channels plus the bed), :func:`truth_frames` of the clean dialogue, and the :class:`Podcast`.
    ``material`` goes to :func:`podcast` (other voices, noise or bed for fitting material).
    """
    p = podcast(sample_rate, seed=seed, **{"guest_files": ("raw/speech_orig_16k.wav",), **material})  # type: ignore[arg-type]
    dialogue = p.host + p.guest
    bed_db = _level_db(dialogue, sample_rate) - music_below_lu - _level_db(p.music, sample_rate)
    bed = p.music * 10 ** (bed_db / 20)
    mix = dialogue + bed
    return mix, truth_frames(p.host_clean + p.guest_clean, sample_rate), p
