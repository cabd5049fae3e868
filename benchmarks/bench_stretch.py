"""Benchmark: PitchShift and TimeStretch (issue 19 item 2): speed, first use, and quality against peers.

Material: 60 s stereo 48 kHz float32, the codec2-examples male voice (16 kHz,
resampled with soxr, repeated) on the left and the music-like bed of
tests/reference/speech.py on the right, both at -20 dBFS RMS.

Figures:

- speed: CPU time (``time.process_time``, one thread) of PitchShift streamed
  in 4096-sample blocks, as a real-time factor (audio seconds per CPU
  second), median of 5 runs interleaved with pedalboard's ``PitchShift``
  (Rubber Band, offline: one call on the whole buffer, since it cannot
  stream, pedalboard#415) on the same input; the ratio of the medians. Also
  TimeStretch (one-shot) against ``pedalboard.time_stretch``;
- first use: a fresh Python process importing sonicmix and shifting 1 s,
  wall time, with an empty NUMBA_CACHE_DIR (kernels compiled) and with the
  cache it left (kernels loaded); librosa must not be imported;
- pitch: YIN (tests/nodes/test_stretch.py) on the voice alone (16 kHz) for
  ours and Rubber Band's: median and quartiles of the per-frame error against
  the input's f0 times the shift, in cents;
- level and similarity: the output's level change, and the spectral
  convergence ``||(|S| - |R|)|| / ||R||`` of STFT magnitudes (2048/512 Hann)
  between ours, Rubber Band's (``pedalboard.time_stretch``) and librosa's
  offline phase vocoder (``librosa.effects.pitch_shift``/``time_stretch``,
  no phase locking), pairwise: no reference is ground truth, so the three
  distances say how far apart the methods are;
- transients: castanet-like clicks (1 ms decaying noise bursts, 4 per second)
  shifted by +5 and -5 semitones and stretched at rates 0.8 and 1.25: the
  time over which the middle 80 % of each click's output energy arrives
  (0.35 ms in the input), and where half of it has arrived against where the
  click belongs, medians over clicks, for each method;
- pre-echo on three real drum loops (sonic-pi-samples' amen, breakbeat and
  perc1 loops, stereo 44.1 kHz resampled to 48 kHz, each played twice): the
  energy above 2 kHz in the 10 ms before each onset over the 10 ms after, in
  the output against the input, in dB (see :func:`pre_echo_db`).

Run: ``python benchmarks/bench_stretch.py`` (needs scripts/fetch_speech.sh's
packages and pedalboard; librosa for the librosa columns); ``--speed`` runs the
first-use and speed parts only, ``--transients`` the clicks and drum loops
only. Run it again after ``eval "$(python benchmarks/machine.py --avx2-env)"``
(in a subshell) for an AVX2-only target.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from sonicmix.nodes.stretch import PitchShift, TimeStretch  # noqa: E402
from tests.nodes.test_stretch import _clicks, arrival_samples, click_spread_ms, f0_track  # noqa: E402
from tests.reference.speech import music_bed, real_speech  # noqa: E402

FS = 48000
SECONDS = 60.0
RUNS = 5


def material() -> np.ndarray:
    voice = real_speech(FS, dtype=np.float64)
    if voice is None:
        raise SystemExit("needs the codec2-examples recording: run scripts/fetch_speech.sh")
    n = int(SECONDS * FS)
    left = np.resize(voice[0], n)
    left *= 0.1 / np.sqrt(np.mean(left**2))
    right = music_bed(np.random.default_rng(19), SECONDS, FS, channels=1, dtype=np.float64)[0]
    return np.stack([left, right]).astype(np.float32)


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def streamed(node, x: np.ndarray, block: int = 4096) -> np.ndarray:
    state = node.init_state(x.shape[0], FS, x.dtype)
    out = []
    for start in range(0, x.shape[1], block):
        y, state = node.process(x[:, start : start + block], FS, state)
        out.append(y)
    return np.concatenate(out, axis=1)


def speed(x: np.ndarray) -> None:
    import pedalboard

    print(f"\nspeed: {SECONDS:g} s stereo 48 kHz float32, CPU-time median of {RUNS} interleaved runs")
    for semitones in (3.0, -5.0, 12.0):
        ours_node, theirs_node = PitchShift(semitones=semitones), pedalboard.PitchShift(semitones=semitones)
        streamed(ours_node, x[:, : FS // 2])  # load the kernels
        ours, theirs = [], []
        for _ in range(RUNS):
            ours.append(cpu(lambda n=ours_node: streamed(n, x)))
            theirs.append(cpu(lambda n=theirs_node: n(x, FS)))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"  PitchShift {semitones:+g} st: ours streamed {a:.2f} s ({SECONDS / a:.0f}x real time); "
              f"pedalboard offline {b:.2f} s ({SECONDS / b:.0f}x); ours / pedalboard CPU {a / b:.2f}")
    for rate in (0.8, 1.5):
        node = TimeStretch(rate=rate)
        ours, theirs = [], []
        for _ in range(RUNS):
            ours.append(cpu(lambda n=node: n(x, FS)))
            theirs.append(cpu(lambda r=rate: pedalboard.time_stretch(x, FS, stretch_factor=r)))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"  TimeStretch rate {rate:g}: ours {a:.2f} s ({SECONDS / a:.0f}x real time); "
              f"pedalboard.time_stretch {b:.2f} s ({SECONDS / b:.0f}x); ratio {a / b:.2f}")


FIRST_USE = (
    "import time, sys; t = time.perf_counter(); c = time.process_time(); import numpy as np; "
    "from sonicmix.nodes.stretch import PitchShift; "
    "PitchShift(semitones=3.0)(np.zeros((2, 48000), np.float32) + 0.1, 48000); "
    "print(f'{time.perf_counter() - t:.2f} {time.process_time() - c:.2f} {\"librosa\" in sys.modules}')"
)


def first_use() -> None:
    print("\nfirst use in a fresh process (import sonicmix.nodes.stretch + shift 1 s stereo):")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        for label in ("empty numba cache (compiles)", "warm cache", "warm cache, again"):
            out = subprocess.run([sys.executable, "-c", FIRST_USE], env=env, capture_output=True, text=True,
                                 check=True).stdout.split()
            print(f"  {label}: {out[0]} s wall, {out[1]} s CPU; librosa imported: {out[2]}")


def spectral_convergence(a: np.ndarray, ref: np.ndarray) -> float:
    import scipy.signal

    n = min(a.size, ref.size)
    _, _, sa = scipy.signal.stft(a[:n], nperseg=2048, noverlap=1536)
    _, _, sr = scipy.signal.stft(ref[:n], nperseg=2048, noverlap=1536)
    return float(np.linalg.norm(np.abs(sa) - np.abs(sr)) / np.linalg.norm(np.abs(sr)))


def outputs(x: np.ndarray, sample_rate: int, semitones: float = 0.0, rate: float = 1.0) -> dict:
    """Each method's output, lined up with the input (our latency removed)."""
    import pedalboard

    out = {}
    if rate == 1.0:
        node = PitchShift(semitones=semitones)
        latency = node.latency_samples(sample_rate)
        out["ours"] = node(np.pad(x, ((0, 0), (0, latency))), sample_rate)[:, latency:]
    else:
        out["ours"] = TimeStretch(rate=rate)(x, sample_rate)
    out["rubberband"] = pedalboard.time_stretch(x.astype(np.float32), sample_rate, stretch_factor=rate,
                                                pitch_shift_in_semitones=semitones)
    try:
        import librosa
    except ImportError:
        return out
    if rate == 1.0:
        out["librosa"] = librosa.effects.pitch_shift(x, sr=sample_rate, n_steps=semitones)
    else:
        out["librosa"] = librosa.effects.time_stretch(x, rate=rate)
    return out


def quality() -> None:
    voice = real_speech(16000, dtype=np.float64)
    voice = voice / np.sqrt(np.mean(voice**2)) * 0.1
    f_in = f0_track(voice[0], 16000)
    print("\npitch of the voice (YIN, 16 kHz), error against input f0 x shift, cents: median [quartiles]")
    for semitones in (-12.0, -5.0, 3.0, 7.0, 12.0):
        found = outputs(voice, 16000, semitones=semitones)
        parts = []
        for name, y in found.items():
            f_out = f0_track(np.asarray(y[0], np.float64)[: voice.shape[1]], 16000)
            n = min(f_in.size, f_out.size)
            ok = np.isfinite(f_in[:n]) & np.isfinite(f_out[:n])
            cents = 1200 * np.log2(f_out[:n][ok] / f_in[:n][ok]) - 100 * semitones
            q1, q3 = np.percentile(cents, [25, 75])
            level = 10 * np.log10(np.mean(np.asarray(y, np.float64) ** 2) / np.mean(voice**2))
            parts.append(f"{name} {np.median(cents):+.1f} [{q1:+.1f}, {q3:+.1f}] level {level:+.2f} dB")
        print(f"  {semitones:+g} st: " + "; ".join(parts))
    print("\nspectral convergence between methods (voice at 16 kHz; lower = closer)")
    for kind, value in (("semitones", 5.0), ("semitones", -7.0), ("rate", 0.8), ("rate", 1.5)):
        found = outputs(voice, 16000, **{kind: value})
        first = {name: np.asarray(y[0], np.float64) for name, y in found.items()}
        names = list(first)
        pairs = [
            f"{a}-{b} {spectral_convergence(first[a], first[b]):.3f}"
            for i, a in enumerate(names)
            for b in names[i + 1 :]
        ]
        lengths = ", ".join(f"{k} {v.shape[1]}" for k, v in found.items())
        print(f"  {kind} {value:g}: " + "; ".join(pairs) + f" (samples: {lengths}; input {voice.shape[1]})")


def transients() -> None:
    """Clicks: spread and place of each click's energy, for each method (test_stretch's measure)."""
    x, starts = _clicks(seconds=4.0)
    print("\ntransients, 1 ms clicks (4 s, 4 per second): middle 80 % of each click's energy, ms, and where "
          "half of it has arrived against where the click belongs, ms; medians over clicks")
    for kind, value in (("semitones", 5.0), ("semitones", -5.0), ("rate", 0.8), ("rate", 1.25)):
        rate = value if kind == "rate" else 1.0
        found = outputs(x, FS, **{kind: value})
        parts = []
        for name, y in found.items():
            spread, place = click_spread_ms(np.asarray(y, np.float64), starts, rate)
            parts.append(f"{name} {spread:.2f} ({place:+.2f})")
        print(f"  {kind} {value:g}: " + "; ".join(parts))


def onset_timing() -> None:
    """Where PitchShift's clicks land, against where they are in the input, at 8 and 48 kHz."""
    print("\nonset timing, PitchShift (latency removed), 1 ms clicks, 4 per second for 4 s: output minus "
          "input arrival of 10 % / 50 % of each click's energy, in samples: median [min, max] over clicks; "
          "middle-80 % spread, ms (median)")
    for sample_rate in (8000, 48000):
        # 0.2503 s apart: the clicks fall at every offset modulo a 32-sample block
        x, starts = _clicks(seconds=4.0, sample_rate=sample_rate, every_s=0.2503)
        for semitones in (-12.0, -5.0, 5.0, 12.0):
            node = PitchShift(semitones=semitones)
            latency = node.latency_samples(sample_rate)
            y = node(np.pad(x, ((0, 0), (0, latency))), sample_rate)[:, latency:]
            parts = []
            for share in (0.1, 0.5):
                ours, given = (arrival_samples(z, starts, share, sample_rate) for z in (y, x))
                err = ours - given
                parts.append(f"{np.median(err):+.0f} [{err.min():+d}, {err.max():+d}]")
            spread, _ = click_spread_ms(y, starts, sample_rate=sample_rate)
            print(f"  {sample_rate} Hz {semitones:+g} st: 10 % {parts[0]}, 50 % {parts[1]}; "
                  f"spread {spread:.2f} ms")

def _envelope(x: np.ndarray, hop: int) -> np.ndarray:
    e = np.sum(np.asarray(x, np.float64) ** 2, axis=0)
    n = e.size // hop
    return e[: n * hop].reshape(n, hop).sum(axis=1)


def pre_echo_db(x: np.ndarray, y: np.ndarray, rate: float) -> tuple[float, int]:
    """Median over the input's onsets of (energy 10 ms before / energy 10 ms after) in the output
    minus the same in the input, above 2 kHz, dB (0: as sharp as the input; smearing raises it),
    and the count of onsets.

    Above 2 kHz, where a hit's attack is and a kick's body is not. Onsets: 0.25 ms frames whose
    next 10 ms hold 10 times (10 dB) the energy of the 10 ms before, 50 ms apart at least. The
    output's onset is at ``t / rate`` plus one lag for the whole output (the best match of the log
    envelopes within +-5 ms), so that a method's latency does not count.
    """
    import scipy.signal

    sos = scipy.signal.butter(4, 2000.0, "highpass", fs=FS, output="sos")
    hop, w = FS // 4000, 40  # 0.25 ms frames, 10 ms windows
    ex = _envelope(scipy.signal.sosfiltfilt(sos, x, axis=-1), hop)
    ey = _envelope(scipy.signal.sosfiltfilt(sos, y, axis=-1), hop)
    onsets: list[int] = []
    for i in range(w, ex.size - w):
        if ex[i : i + w].sum() > 10 * ex[i - w : i].sum() and (not onsets or i - onsets[-1] > 200):
            onsets.append(i)
    ref = np.interp(np.arange(ey.size) * rate, np.arange(ex.size), ex)
    logs = np.log(ref + 1e-12), np.log(ey + 1e-12)
    lags = np.arange(-20, 21)
    lag = lags[np.argmax([np.dot(logs[0][w:-w], np.roll(logs[1], -k)[w:-w]) for k in lags])]
    wy = max(1, int(round(w / rate)))
    diffs = []
    for i in onsets:
        j = int(round(i / rate)) + lag
        if j - wy < 0 or j + wy > ey.size:
            continue
        before_x, after_x = ex[i - w : i].sum(), ex[i : i + w].sum()
        before_y, after_y = ey[j - wy : j].sum(), ey[j : j + wy].sum()
        diffs.append(10 * np.log10(before_y / after_y) - 10 * np.log10(before_x / after_x))
    return float(np.median(diffs)), len(diffs)


def drum_loops() -> None:
    """Pre-echo on real drum loops (Debian's sonic-pi-samples, CC0), each played twice, stereo."""
    from tests.reference.dialogue import SONIC_PI, load

    if not (SONIC_PI / "loop_amen.flac").is_file():
        print("\ndrum loops: sonic-pi-samples not installed (scripts/fetch_speech.sh); skipped")
        return
    print("\npre-echo on drum loops: energy above 2 kHz 10 ms before each onset over 10 ms after, output "
          "minus input, dB (median over onsets; 0 = as sharp as the input)")
    for loop in ("loop_amen", "loop_breakbeat", "loop_perc1"):
        x = np.tile(load(SONIC_PI / f"{loop}.flac", FS, mono=False), (1, 2))
        for kind, value in (("semitones", 5.0), ("semitones", -5.0), ("rate", 0.8), ("rate", 1.25)):
            rate = value if kind == "rate" else 1.0
            parts = []
            for name, y in outputs(x, FS, **{kind: value}).items():
                db, count = pre_echo_db(x, np.asarray(y, np.float64), rate)
                parts.append(f"{name} {db:+.1f}")
            print(f"  {loop} {kind} {value:g} ({count} onsets): " + "; ".join(parts))


def main() -> None:
    print(describe())
    if "--onsets" in sys.argv[1:]:
        onset_timing()
        return
    if "--transients" in sys.argv[1:]:
        onset_timing()
        transients()
        drum_loops()
        return
    first_use()
    speed(material())
    if "--speed" not in sys.argv[1:]:
        quality()
        transients()
        drum_loops()


if __name__ == "__main__":
    main()
