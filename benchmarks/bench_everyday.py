"""Everyday nodes against their nearest pedalboard counterparts, same material, same process.

Run: ``python benchmarks/bench_everyday.py [seconds]`` (default 300 s of stereo 48 kHz float32).
Prints the median of 5 runs after a warm-up, in ns per channel-sample, and the ratio
sonicmix / pedalboard where pedalboard has a counterpart:

- Delay(0.25 s, feedback 0.5, mix 0.5)  vs  pedalboard.Delay (same recursion; test_delay.py)
- Saturation(tanh, 12 dB, no oversampling)  vs  pedalboard.Distortion(drive_db=12) (tanh)
- Polarity  vs  pedalboard.Invert;  DCBlocker(10 Hz)  vs  pedalboard.HighpassFilter(10 Hz)
- Resample 48 -> 44.1 kHz (soxr HQ)  vs  pedalboard.io.StreamResampler (its default quality)
- PitchShift(+3 semitones, librosa phase vocoder)  vs  pedalboard.PitchShift (Rubber Band),
  TimeStretch(1.25) vs pedalboard.time_stretch: offline nodes, on the first 30 s only.

Saturation with 4x oversampling, filtered Delay, Pan, Width and Fade have no pedalboard
counterpart and are reported alone. Everything runs single-threaded.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48_000
RUNS = 5
OFFLINE_SECONDS = 30.0


def material(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    env = 0.05 + 0.45 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)) ** 3
    x = np.empty((2, n), np.float32)
    for c in range(2):
        x[c] = env * (0.6 * rng.standard_normal(n) + 0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t))
    return x


def median_ns(fn, x: np.ndarray, runs: int = RUNS) -> float:
    fn(x)  # warm-up: compiles, imports, faults in the allocator's pages
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / x.size * 1e9


def main() -> None:
    import pedalboard
    from pedalboard.io import StreamResampler

    from sonicmix.nodes.delay import Delay
    from sonicmix.nodes.fade import Fade
    from sonicmix.nodes.pan import Pan, Width
    from sonicmix.nodes.resample import Resample
    from sonicmix.nodes.saturation import Saturation
    from sonicmix.nodes.stretch import PitchShift, TimeStretch
    from sonicmix.nodes.utility import DCBlocker, Polarity

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    x = material(seconds)
    short = np.ascontiguousarray(x[:, : int(min(seconds, OFFLINE_SECONDS) * RATE)])

    def pb_resample(a):
        r = StreamResampler(RATE, 44100, a.shape[0])
        return np.concatenate([r.process(a), r.process(None)], axis=1)

    pairs = [
        ("Delay 0.25 s fb 0.5", Delay(time_s=0.25, feedback=0.5, mix=0.5),
         pedalboard.Delay(delay_seconds=0.25, feedback=0.5, mix=0.5), x),
        ("Saturation tanh 12 dB, 1x", Saturation(drive_db=12.0, oversampling=1),
         pedalboard.Distortion(drive_db=12.0), x),
        ("Polarity", Polarity(), pedalboard.Invert(), x),
        ("DCBlocker 10 Hz", DCBlocker(cutoff_hz=10.0),
         pedalboard.HighpassFilter(cutoff_frequency_hz=10.0), x),
        ("Resample 48k->44.1k", Resample(target_rate_hz=44100), pb_resample, x),
        (f"PitchShift +3 st ({short.shape[1] // RATE} s)", PitchShift(semitones=3.0),
         pedalboard.PitchShift(semitones=3.0), short),
        (f"TimeStretch 1.25 ({short.shape[1] // RATE} s)", TimeStretch(rate=1.25),
         lambda a: pedalboard.time_stretch(a, RATE, stretch_factor=1.25), short),
    ]  # fmt: skip
    alone = [
        ("Saturation tanh 12 dB, 4x", Saturation(drive_db=12.0, oversampling=4)),
        ("Delay 0.25 s + LP/HP feedback", Delay(time_s=0.25, feedback=0.5, feedback_lowpass_hz=4000.0,
                                                  feedback_highpass_hz=100.0)),
        ("Pan (stereo balance)", Pan(position=0.3)),
        ("Width 1.5", Width(width=1.5)),
        ("Fade in/out 5 s", Fade(fade_in_s=5.0, fade_out_s=5.0)),
    ]  # fmt: skip

    print(f"{seconds:g} s stereo {RATE} Hz float32; ns per channel-sample, median of {RUNS} runs")
    print(f"{'node':36s} {'sonicmix':>10s} {'pedalboard':>11s} {'ratio':>7s}")
    for name, ours, theirs, audio in pairs:
        a = median_ns(lambda v, ours=ours: ours(v, RATE), audio)
        if isinstance(theirs, pedalboard.Plugin):
            b = median_ns(lambda v, theirs=theirs: theirs.process(v, float(RATE), reset=True), audio)
        else:
            b = median_ns(theirs, audio)
        print(f"{name:36s} {a:10.2f} {b:11.2f} {a / b:7.2f}")
    for name, ours in alone:
        a = median_ns(lambda v, ours=ours: ours(v, RATE), x)
        print(f"{name:36s} {a:10.2f} {'-':>11s} {'-':>7s}")


if __name__ == "__main__":
    main()
