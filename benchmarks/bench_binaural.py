"""Benchmark: binaural rendering of a 7.1.4 bed with the MIT KEMAR set (issue 17, item 5).

Run with ``python benchmarks/bench_binaural.py [--seconds 60] [--minutes 10 60 120]`` (needs h5py
and libmysofa1's KEMAR set: ``bash scripts/install_tools.sh``). It prints, after the machine:

1. **Speed**: CPU time (``time.process_time``, one thread) of :class:`~sonicmix.spatial.binaural.Binaural`
   on ``--seconds`` of a 7.1.4 bed of float32 noise at 48 kHz, one-shot and streamed in blocks of
   1024, 4096 and 65536 samples, as a real-time factor (programme seconds per CPU second; the
   median of 5 runs after a warm-up); 5.1 and 22.2 for comparison.
2. **Cues** for a source at +90 degrees (left): the interaural level difference over 1-4 kHz (and
   per third octave) and the interaural time difference (cross-correlation peak of the two ear
   signals for 4 s of white noise), left ear louder and earlier when both are positive.
3. **Memory**: peak RSS (Linux ``VmHWM``, reset when the render starts) of streamed renders of
   ``--minutes`` of 7.1.4, each in a fresh process:
   ``stream`` renders blocks of noise (a 10 s loop) through ``Binaural.process`` into a stereo
   24-bit WAV; ``file`` writes a 16-bit 7.1.4 WAV of that length first and renders it with
   ``render_binaural_file`` (only for lengths up to ``--file-minutes``, default 30: a 7.1.4 hour
   is 4 GB). Constant memory shows as the same peak RSS at every length. The CPU time there
   includes dithering and writing the 24-bit output (and reading the source, for ``file``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48_000
RUNS = 5
BLOCKS = (1024, 4096, 65536)


def _cpu_seconds(run) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def _streamed(node, x: np.ndarray, block: int) -> None:
    state = node.init_state(x.shape[0], RATE, x.dtype)
    for i in range(0, x.shape[1], block):
        _, state = node.process(x[:, i : i + block], RATE, state)


def speed(seconds: float) -> None:
    from sonicmix.layouts import get_layout
    from sonicmix.spatial.binaural import Binaural

    rng = np.random.default_rng(1)
    print(f"\nSpeed: {seconds:g} s of float32 noise at {RATE} Hz, CPU time, median of {RUNS} runs")
    print(f"{'layout':8} {'how':18} {'CPU s':>8} {'x real time':>12}")
    for name in ("7.1.4", "5.1", "22.2"):
        layout = get_layout(name)
        x = (0.1 * rng.standard_normal((layout.n_channels, int(seconds * RATE)))).astype(np.float32)
        node = Binaural(layout=name)
        node(x[:, :RATE], RATE)  # warm-up: reads the set, resamples the responses
        cases = [("one-shot", lambda node=node, x=x: node(x, RATE))]
        cases += [(f"blocks of {b}", lambda b=b, node=node, x=x: _streamed(node, x, b)) for b in BLOCKS]
        for how, run in cases:
            cpu = statistics.median(_cpu_seconds(run) for _ in range(RUNS))
            print(f"{name:8} {how:18} {cpu:8.3f} {seconds / cpu:12.0f}")
        if name == "7.1.4":
            print(f"{'':8} (latency {node.latency_samples(RATE)} samples; partition 1024 samples)")


def cues() -> None:
    import scipy.signal

    from sonicmix.spatial.binaural import Binaural

    x = np.random.default_rng(2).standard_normal((1, 4 * RATE))
    node = Binaural(directions_deg=[(90.0, 0.0)])
    choice = node.hrir_choices()[0]
    left, right = node(x, RATE)
    f, p_left = scipy.signal.welch(left, RATE, nperseg=8192)
    _, p_right = scipy.signal.welch(right, RATE, nperseg=8192)

    def ild_db(low_hz: float, high_hz: float) -> float:
        band = (f >= low_hz) & (f <= high_hz)
        return float(10 * np.log10(p_left[band].sum() / p_right[band].sum()))

    c = scipy.signal.correlate(right, left, mode="full", method="fft")
    lags = np.arange(-x.shape[1] + 1, x.shape[1])
    near = np.abs(lags) <= RATE // 1000
    itd_ms = 1000 * lags[near][np.argmax(c[near])] / RATE
    thirds = [1000, 1250, 1600, 2000, 2500, 3150, 4000]
    per_band = ", ".join(f"{fc}: {ild_db(fc * 2 ** (-1 / 6), fc * 2 ** (1 / 6)):.1f}" for fc in thirds)
    print(f"\nCues, white noise from azimuth +90 (KEMAR pair at {choice.hrir_azimuth_deg:g}, "
          f"{choice.hrir_elevation_deg:g}), {RATE} Hz")  # fmt: skip
    print(f"ILD 1-4 kHz: {ild_db(1000, 4000):+.1f} dB (left louder when positive)")
    print(f"ILD per third octave (Hz: dB): {per_band}")
    print(f"ITD: {itd_ms:+.3f} ms (right ear later when positive)")


def _noise_loop(channels: int) -> np.ndarray:
    loop = np.random.default_rng(3).standard_normal((channels, 10 * RATE), dtype=np.float32)
    loop *= 0.05
    return loop


def _rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    """Make VmHWM start again from the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def rss_run(minutes: float, mode: str, folder: str) -> None:
    """One render in this process; prints the peak RSS during the render and the RSS just before
    it (MiB), and the render's CPU time."""
    import sonicmix.io as sio
    from sonicmix.spatial.binaural import Binaural, render_binaural_file

    total = int(minutes * 60 * RATE)
    block = 65536
    loop = _noise_loop(12)
    target = os.path.join(folder, f"ears-{mode}-{minutes:g}.wav")
    source = os.path.join(folder, f"bed-{minutes:g}.wav")

    def blocks():
        done = 0
        while done < total:
            n = min(block, total - done)
            start = done % loop.shape[1]
            if start + n > loop.shape[1]:
                yield loop[:, (start + np.arange(n)) % loop.shape[1]]
            else:
                yield loop[:, start : start + n]
            done += n

    if mode == "file":
        with sio.AudioWriter(source, RATE, 12, subtype="PCM_16", layout="7.1.4", frames=total) as writer:
            for b in blocks():
                writer.write(b, check=False)
    node = Binaural(layout="7.1.4")
    node.init_state(12, RATE, np.float32)  # reads the HRIR set once, before the measurement
    _reset_peak_rss()
    before = _rss_mib("VmRSS")
    start = time.process_time()
    if mode == "file":
        render_binaural_file(source, target, overwrite=True)
    else:
        state = node.init_state(12, RATE, np.float32)
        with sio.AudioWriter(target, RATE, 2, frames=total) as writer:
            for b in blocks():
                y, state = node.process(b, RATE, state)
                writer.write(y)
    cpu = time.process_time() - start
    peak = _rss_mib("VmHWM")
    frames = sio.info(target).frames
    for path in (source, target):
        if os.path.exists(path):
            os.remove(path)
    assert frames == total, (frames, total)
    print(f"{peak:.1f} {before:.1f} {cpu:.2f}")


def memory(minutes_list: list[float], file_minutes: float) -> None:
    print("\nMemory: peak RSS during streamed 7.1.4 renders at 48 kHz, each in a fresh process")
    print(f"{'mode':7} {'minutes':>8} {'peak RSS MiB':>13} {'RSS before':>11} {'CPU s':>8} {'x RT':>6}")
    with tempfile.TemporaryDirectory(prefix="sonicmix-binaural-") as folder:
        for mode in ("stream", "file"):
            for minutes in minutes_list:
                if mode == "file" and minutes > file_minutes:
                    continue
                out = subprocess.run(
                    [sys.executable, __file__, "--rss-run", str(minutes), "--mode", mode, "--folder", folder],
                    check=True,
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                ).stdout.split()
                peak, before, cpu = (float(v) for v in out[-3:])
                rt = minutes * 60 / cpu
                print(f"{mode:7} {minutes:8g} {peak:13.1f} {before:11.1f} {cpu:8.1f} {rt:6.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="programme length for the speed runs")
    parser.add_argument("--minutes", type=float, nargs="*", default=[10.0, 60.0, 120.0])
    parser.add_argument("--file-minutes", type=float, default=30.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "cues", "memory"])
    parser.add_argument("--rss-run", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="stream", help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_run is not None:
        rss_run(args.rss_run, args.mode, args.folder)
        return
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.machine import describe
    from sonicmix.spatial.sofa import default_sofa_path

    print(describe())
    print(f"HRIR set: {default_sofa_path()}")
    if "speed" not in args.skip:
        speed(args.seconds)
    if "cues" not in args.skip:
        cues()
    if "memory" not in args.skip:
        memory(args.minutes, args.file_minutes)


if __name__ == "__main__":
    main()
