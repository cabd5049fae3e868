"""The reference mix: sonicmix against what a user writes today with pedalboard + pyloudnorm + numpy.

8 stems x 300 s at 48 kHz (2 music stereo, 2 dialogue mono, 4 effects
stereo), each with a high-pass, two peak EQ bands and a compressor; a reverb
bus fed by sends at -12 dB; music ducked under dialogue; the master
normalised to -23 LUFS and true-peak limited at -1 dBTP. Both run single-
threaded in the same process on the same material. Prints ns per
stem-sample, real-time factors, and whether each result meets EBU R 128
(integrated within 0.1 LU of -23 LUFS and true peak <= -1 dBTP, measured by
libebur128 on the output).

sonicmix runs twice: "mix", the same work as the pedalboard version (the
master, normalised and limited; sonicmix also writes it to a float WAV and
measures it as written), and "mix + stems", which also delivers the four bus
stems (dialogue, music, effects, reverb) through the same gain and limiter,
each written and fully measured (I, LRA, maxima, true peak).

    python benchmarks/bench_reference_mix.py [--seconds 300] [--runs 3] [--threads 2] [--threads-only]

Times are wall-clock medians (what threads=2 is about) with the CPU-time
(``time.process_time``) medians beside them: on a shared machine the wall
time also counts waiting for the CPU, the CPU time does not (and for threads=2
it sums both threads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402

FS = 48000


def material(seconds: float, seed: int = 3) -> dict[str, np.ndarray]:
    """Speech-like bursts for dialogue, slow-moving noise beds for music, sparse hits for effects."""
    import scipy.signal as ss

    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    stems = {}
    for i in range(2):
        voiced = (np.sin(2 * np.pi * (0.31 + 0.07 * i) * t + i) > 0.1) & (np.sin(2 * np.pi * 3.1 * t) > -0.5)
        x = ss.lfilter([1.0], [1.0, -1.3, 0.6], rng.standard_normal(n)) * voiced * 0.08
        stems[f"dx{i}"] = x[None].astype(np.float32)
    for i in range(2):
        bed = ss.lfilter([0.05], [1.0, -0.95], rng.standard_normal((2, n)), axis=1) * (
            0.6 + 0.4 * np.sin(0.1 * t)
        )
        stems[f"music{i}"] = (bed * 0.3).astype(np.float32)
    for i in range(4):
        hits = np.zeros((2, n))
        for start in rng.integers(0, n - FS, size=int(seconds / 4)):
            hits[:, start : start + 4800] += rng.standard_normal((2, 4800)) * np.exp(-np.arange(4800) / 800)
        stems[f"fx{i}"] = (hits * 0.2).astype(np.float32)
    return stems


def sonicmix_mix(stems: dict[str, np.ndarray], out_dir: str, threads: int = 1, with_stems: bool = True):
    import sonicmix as sm
    from sonicmix.deliver import deliver

    def strip(name: str) -> tuple:
        return (
            sm.HighPass(cutoff_hz=80.0, q=0.7071),
            sm.Peak(freq_hz=250.0, gain_db=-3.0, q=1.0),
            sm.Peak(freq_hz=3000.0, gain_db=2.0, q=1.0),
            sm.Compressor(threshold_db=-20.0, ratio=3.0, attack_s=0.005, release_s=0.1),
        )

    tracks = {}
    for name, audio in stems.items():
        layout = "mono" if audio.shape[0] == 1 else "stereo"
        bus = "dialogue" if name.startswith("dx") else "music" if name.startswith("music") else "effects"
        tracks[name] = sm.Track(
            clips=(sm.Clip(source=sm.ArraySource(audio, FS, name=name)),),
            layout=layout,
            chain=strip(name),
            pan=0.0 if layout == "mono" else None,
            output=bus,
            sends=(sm.Send(to="reverb", level_db=-12.0),),
        )
    from sonicmix.nodes.reverb import Reverb

    graph = sm.Graph(
        tracks=tracks,
        buses={
            "dialogue": sm.Bus(),
            "music": sm.Bus(chain=(sm.Ducker(depth_db=10.0),), key="dialogue"),
            "effects": sm.Bus(),
            "reverb": sm.Bus(chain=(Reverb(decay_s=1.8, mix=1.0),)),
            "master": sm.Bus(output=None),
        },
    )
    return deliver(
        graph,
        "ebu-r128",
        out_dir,
        stems=["dialogue", "music", "effects", "reverb"] if with_stems else [],
        bext=False,
        reports=False,
        subtype="FLOAT",
        threads=threads,
    )


def pedalboard_mix(stems: dict[str, np.ndarray]) -> np.ndarray:
    """What a user writes today: pedalboard per stem, numpy routing and ducking, pyloudnorm to normalise."""
    import pedalboard as pb
    import pyloudnorm

    chain = pb.Pedalboard(
        [
            pb.HighpassFilter(cutoff_frequency_hz=80.0),
            pb.PeakFilter(cutoff_frequency_hz=250.0, gain_db=-3.0, q=1.0),
            pb.PeakFilter(cutoff_frequency_hz=3000.0, gain_db=2.0, q=1.0),
            pb.Compressor(threshold_db=-20.0, ratio=3.0, attack_ms=5.0, release_ms=100.0),
        ]
    )
    n = next(iter(stems.values())).shape[1]
    buses = {
        "dialogue": np.zeros((2, n), np.float32),
        "music": np.zeros((2, n), np.float32),
        "effects": np.zeros((2, n), np.float32),
    }
    sends = np.zeros((2, n), np.float32)
    for name, audio in stems.items():
        y = chain(audio, FS)
        if y.shape[0] == 1:
            y = np.vstack([y, y]) * np.float32(0.7071)
        bus = "dialogue" if name.startswith("dx") else "music" if name.startswith("music") else "effects"
        buses[bus] += y
        sends += y * np.float32(10 ** (-12 / 20))
    # hand-rolled ducking: 10 ms RMS envelope of the dialogue, gate at -40 dBFS, smoothed gain
    hop = 480
    frames = buses["dialogue"][:, : n // hop * hop].reshape(2, -1, hop)
    rms_db = 10 * np.log10(np.mean(frames**2, axis=(0, 2)) + 1e-12)
    target = np.where(rms_db > -40.0, 10 ** (-10 / 20), 1.0)
    smooth = np.empty_like(target)
    g = 1.0
    for i, v in enumerate(target):  # per 10 ms frame: 30000 iterations for 300 s
        g = v if v < g else g + (v - g) * 0.1
        smooth[i] = g
    gain = np.repeat(smooth, hop)
    buses["music"][:, : gain.size] *= gain.astype(np.float32)
    verb = pb.Reverb(room_size=0.5, wet_level=1.0, dry_level=0.0)(sends, FS)
    mix = buses["dialogue"] + buses["music"] + buses["effects"] + verb
    meter = pyloudnorm.Meter(FS)
    loudness = meter.integrated_loudness(mix.T.astype(np.float64))
    mix = pyloudnorm.normalize.loudness(mix.T, loudness, -23.0).T.astype(np.float32)
    return pb.Limiter(threshold_db=-1.0, release_ms=100.0)(mix, FS)


def ebur128(audio: np.ndarray) -> tuple[float, float]:
    import pyebur128

    mode = pyebur128.MeasurementMode
    state = pyebur128.R128State(audio.shape[0], FS, mode.MODE_I | mode.MODE_TRUE_PEAK)
    state.add_frames(np.ascontiguousarray(audio.T, dtype=np.float64).ravel(), audio.shape[1])
    peak = max(pyebur128.get_true_peak(state, c) for c in range(audio.shape[0]))
    return pyebur128.get_loudness_global(state), 20 * np.log10(peak)


_EPILOG = """\
the threads comparison (issue 18: threads=2 at least 1.6x as fast as one thread, wall clock), on a
quiet machine (a second thread cannot show its worth while other jobs hold the CPUs: the load
average is printed beside the figures), compiled for an AVX2-only CPU:

  (eval "$(python benchmarks/machine.py --avx2-env)"; \\
   python benchmarks/bench_reference_mix.py --threads-only --threads 2 --runs 5)

--threads-only times the mix and four stems at one thread and at --threads threads, each delivery
in a fresh process (after a warm-up delivery in that process), the two alternating and their order
swapped every run; it skips pedalboard and the mix alone. Separate processes keep each figure
free of what the process did before: glibc gives each pool thread its own malloc arena, and until
the render's aligned blocks were C arrays of their own (2026-12-08), a threaded delivery run after
a one-thread one in the same process faulted 77-86 thousand pages in again (300 s; none now, in
either order). Without it, every variant and pedalboard run in one process, as before."""


def one_delivery(threads: int, seconds: float) -> dict[str, float]:
    """Warm up, then time one delivery of the mix and stems in this process (for --threads-only)."""
    import resource

    import sonicmix as sm

    stems = material(seconds)
    with tempfile.TemporaryDirectory() as out_dir:
        sonicmix_mix(stems, out_dir, threads=threads)
    with tempfile.TemporaryDirectory() as out_dir:
        before = resource.getrusage(resource.RUSAGE_SELF)
        start, start_cpu = time.perf_counter(), time.process_time()
        delivery = sonicmix_mix(stems, out_dir, threads=threads)
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before.ru_minflt
        loudness, peak = ebur128(sm.read(delivery.files["mix"])[0])
    return {"wall": elapsed, "cpu": elapsed_cpu, "faults": faults, "loudness": loudness, "peak": peak}


def threads_in_processes(args: argparse.Namespace) -> None:
    """--threads-only: one and ``args.threads`` threads, each delivery in its own process, alternating."""
    import json
    import subprocess

    counts = (1, args.threads)
    runs: dict[int, list[dict[str, float]]] = {count: [] for count in counts}
    loads = [os.getloadavg()[0]]
    for run in range(args.runs):
        for count in counts if run % 2 == 0 else counts[::-1]:
            command = [sys.executable, __file__, "--one-delivery", str(count), "--seconds", str(args.seconds)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs[count].append(json.loads(out.strip().splitlines()[-1]))
        loads.append(os.getloadavg()[0])
    print(describe())
    print(
        f"reference mix and four stems: {len(material(1.0))} stems x {args.seconds:g} s at {FS} Hz, each "
        f"delivery in a fresh process after a warm-up, median of {args.runs} runs; load average (1 min) "
        f"{min(loads):.2f} to {max(loads):.2f} on {os.cpu_count()} CPUs"
    )
    for count in counts:
        values = runs[count]
        t, c = (statistics.median(r[key] for r in values) for key in ("wall", "cpu"))
        ok = all(abs(r["loudness"] + 23.0) <= 0.1 and r["peak"] <= -1.0 for r in values)
        label = f"{count} thread{'s' if count > 1 else ''}"
        faults = statistics.median(r["faults"] for r in values)
        print(
            f"  {label:<10} {t:7.2f} s (CPU {c:6.2f} s, {c / t:4.2f} CPUs busy)  page faults {faults:8.0f}  "
            f"{'compliant' if ok else 'NOT compliant'}"
        )
        walls = ", ".join(f"{r['wall']:.2f}" for r in values)
        print(f"    wall s run by run: {walls}")
    one, many = ([r["wall"] for r in runs[count]] for count in counts)
    pairs = [a / b for a, b in zip(one, many, strict=True)]
    ratio = statistics.median(one) / statistics.median(many)
    print(
        f"  {args.threads} threads / 1 thread: {ratio:.2f}x faster "
        f"(wall clock, medians; run by run {', '.join(f'{p:.2f}x' for p in pairs)}; median of the runs' "
        f"ratios {statistics.median(pairs):.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the programme (default 300)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each variant, after a warm-up run")
    parser.add_argument("--threads", type=int, default=2, help="threads of the threaded variant (default 2)")
    parser.add_argument(
        "--threads-only", action="store_true", help="only the mix and stems at 1 and --threads threads"
    )
    parser.add_argument("--one-delivery", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_delivery is not None:
        import json

        print(json.dumps(one_delivery(args.one_delivery, args.seconds)))
        return
    if args.threads_only:
        threads_in_processes(args)
        return
    stems = material(args.seconds)
    stem_samples = len(stems) * int(args.seconds * FS)
    import sonicmix as sm

    threaded = f"sonicmix m+s {args.threads} thr"
    variants = {  # name: (threads, with_stems)
        "sonicmix mix": (1, False),
        "sonicmix mix+stems": (1, True),
        threaded: (args.threads, True),
    }
    peers = ["pedalboard"]
    times: dict[str, list[float]] = {name: [] for name in (*variants, *peers)}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    results = {}
    loads = [os.getloadavg()[0]]
    for run in range(args.runs + 1):  # the first run warms up (numba compile, caches)
        for name, (threads, with_stems) in variants.items():
            with tempfile.TemporaryDirectory() as out_dir:
                start, start_cpu = time.perf_counter(), time.process_time()
                delivery = sonicmix_mix(stems, out_dir, threads=threads, with_stems=with_stems)
                elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
                results[name] = ebur128(sm.read(delivery.files["mix"])[0])
            if run:
                times[name].append(elapsed)
                cpu[name].append(elapsed_cpu)
        if peers:
            start, start_cpu = time.perf_counter(), time.process_time()
            mix = pedalboard_mix(stems)
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            results["pedalboard"] = ebur128(mix)
            if run:
                times["pedalboard"].append(elapsed)
                cpu["pedalboard"].append(elapsed_cpu)
        loads.append(os.getloadavg()[0])
    print(describe())
    print(
        f"reference mix: {len(stems)} stems x {args.seconds:g} s at {FS} Hz, median of {args.runs} runs; "
        f"load average (1 min) {min(loads):.2f} to {max(loads):.2f} on {os.cpu_count()} CPUs"
    )
    for name, values in times.items():
        t, c = statistics.median(values), statistics.median(cpu[name])
        loud, peak = results[name]
        ok = abs(loud + 23.0) <= 0.1 and peak <= -1.0
        print(
            f"  {name:<18} {t:7.2f} s (CPU {c:6.2f} s, {c / t:4.2f} CPUs busy)  "
            f"{t / stem_samples * 1e9:6.1f} ns/stem-sample  "
            f"{args.seconds / t:5.1f}x real time  I {loud:6.2f} LUFS  TP {peak:6.2f} dBTP  "
            f"{'compliant' if ok else 'NOT compliant'}"
        )
    for name in variants:
        ratio = statistics.median(times["pedalboard"]) / statistics.median(times[name])
        ratio_cpu = statistics.median(cpu["pedalboard"]) / statistics.median(cpu[name])
        print(f"  {name} is {ratio:.2f}x as fast as the pedalboard version (CPU time: {ratio_cpu:.2f}x)")
    one, many = (statistics.median(times[name]) for name in ("sonicmix mix+stems", threaded))
    pairs = [a / b for a, b in zip(times["sonicmix mix+stems"], times[threaded], strict=True)]
    print(
        f"  {args.threads} threads / 1 thread, mix+stems: {one / many:.2f}x faster (wall clock, medians; "
        f"run by run {', '.join(f'{p:.2f}x' for p in pairs)}; median of the runs' ratios "
        f"{statistics.median(pairs):.2f}x)"
    )
    for name in ("sonicmix mix+stems", threaded):  # a second thread's cost shows in the CPU time
        print(f"  CPU s run by run, {name}: {', '.join(f'{c:.2f}' for c in cpu[name])}")


if __name__ == "__main__":
    main()
