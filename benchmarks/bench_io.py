"""Writing WAV: sonicmix.io.AudioWriter against soundfile (libsndfile) directly, and the bext step.

Run: ``python benchmarks/bench_io.py [seconds]`` (default 300 s of stereo 48 kHz float32).
Writes in 16384-frame blocks, as ``deliver`` does, to a temporary folder, and prints the median
of 5 runs in ns per sample (channel-sample):

- ``write``: the loop of block writes alone (conversion, interleaving, ``write(2)``);
- ``total``: with opening and closing, and the ``fsync`` both sides do before the file counts.

AudioWriter dithers PCM_24 (seeded TPDF, as every sonicmix write does); soundfile gets the
float32 frames and only rounds, so the PCM_24 ratio includes the dither. soundfile is fed
``np.ascontiguousarray(block.T)``, the (frames, channels) copy it needs.

Then the BWF ``bext`` step on a finished PCM_24 file of the same length: ``write_bext`` rewriting
the file (one without room for the chunk) against filling the room ``AudioWriter(...,
reserve_bext=True)`` leaves; and ``deliver`` of a one-track graph (60 s, median of 3) with and
without ``bext``. Run the script with ``PYTHONPATH`` pointing at an older checkout to compare
with it (the in-place row needs this version).
"""

from __future__ import annotations

import inspect
import os
import statistics
import sys
import tempfile
import time

import numpy as np

RATE = 48_000
BLOCK = 16_384
RUNS = 5
DELIVER_SECONDS = 60.0


def material(seconds: float) -> np.ndarray:
    """White noise within +-0.9: PCM never clips (as after a limiter); the content costs nothing else."""
    return np.random.default_rng(1).uniform(-0.9, 0.9, (2, int(seconds * RATE))).astype(np.float32)


def with_sonicmix(path: str, x: np.ndarray, subtype: str, **options) -> float:
    """Seconds spent in the block writes; the file is committed (fsync, rename) afterwards."""
    from sonicmix.io import AudioWriter

    writer = AudioWriter(path, RATE, x.shape[0], subtype=subtype, **options)
    with writer:
        t0 = time.perf_counter()
        for start in range(0, x.shape[1], BLOCK):
            writer.write(x[:, start : start + BLOCK], check=False)
        return time.perf_counter() - t0


def with_soundfile(path: str, x: np.ndarray, subtype: str) -> float:
    import soundfile as sf

    with open(path, "wb") as fh:
        with sf.SoundFile(fh, "w", RATE, x.shape[0], subtype, format="WAV") as handle:
            t0 = time.perf_counter()
            for start in range(0, x.shape[1], BLOCK):
                handle.write(np.ascontiguousarray(x[:, start : start + BLOCK].T))
            spent = time.perf_counter() - t0
        fh.flush()
        os.fsync(fh.fileno())
    return spent


def medians(fn, runs: int = RUNS) -> tuple[float, float]:
    """Median (loop, total) seconds of ``fn()`` after a warm-up run."""
    fn()
    loops, totals = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        loops.append(fn())
        totals.append(time.perf_counter() - t0)
    return statistics.median(loops), statistics.median(totals)


def median_s(fn, runs: int, setup=lambda: None) -> float:
    """Median seconds of ``fn()`` after a warm-up run; ``setup()`` runs untimed before each."""
    times = []
    for _ in range(runs + 1):
        setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def main() -> None:
    import soundfile as sf

    import sonicmix as sm
    from sonicmix.bwf import write_bext
    from sonicmix.deliver import deliver
    from sonicmix.io import AudioWriter

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    x = material(seconds)
    print(f"sonicmix from {os.path.dirname(sm.__file__)}, libsndfile {sf.__libsndfile_version__}")
    print(
        f"{seconds:g} s stereo {RATE} Hz float32, blocks of {BLOCK} frames; ns per sample, median of {RUNS}"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.wav")
        print(f"{'subtype':<8} {'':<10} {'sonicmix':>9} {'soundfile':>9} {'ratio':>6}")
        for subtype in ("FLOAT", "PCM_24"):
            ours = medians(lambda subtype=subtype: with_sonicmix(path, x, subtype))
            theirs = medians(lambda subtype=subtype: with_soundfile(path, x, subtype))
            for label, a, b in (("write", ours[0], theirs[0]), ("total", ours[1], theirs[1])):
                a_ns, b_ns = a / x.size * 1e9, b / x.size * 1e9
                print(f"{subtype:<8} {label:<10} {a_ns:9.2f} {b_ns:9.2f} {a_ns / b_ns:6.2f}")

        # the bext step on a finished file: rewritten (no room) or filled in place
        bext = {"origination_date": "2026-01-01", "origination_time": "00:00:00", "description": "bench"}
        # (a fresh file each time: a bext chunk of the same size is replaced in place)
        rewrite = median_s(lambda: write_bext(path, **bext), RUNS, lambda: with_sonicmix(path, x, "PCM_24"))
        size_mib = os.path.getsize(path) / 2**20
        print(f"write_bext on a {size_mib:.0f} MiB PCM_24 file, rewriting it:     {rewrite * 1e3:8.1f} ms")
        if "reserve_bext" in inspect.signature(AudioWriter).parameters:
            in_place = median_s(
                lambda: write_bext(path, **bext),
                RUNS,
                lambda: with_sonicmix(path, x, "PCM_24", reserve_bext=True),
            )
            print(
                f"write_bext on a {size_mib:.0f} MiB PCM_24 file, in its room:      {in_place * 1e3:8.1f} ms"
            )

        # a whole delivery: one stereo track straight to the master
        n = int(DELIVER_SECONDS * RATE)
        source = sm.ArraySource(0.3 * x[:, :n], RATE)
        graph = sm.Graph(
            tracks={"t": sm.Track(clips=(sm.Clip(source=source),))}, buses={"master": sm.Bus(output=None)}
        )
        for with_bext in (False, True):
            spent = median_s(
                lambda b=with_bext: deliver(
                    graph, "ebu-r128", os.path.join(folder, "d"), bext=b, reports=False
                ),
                3,
            )
            print(f"deliver {DELIVER_SECONDS:g} s, PCM_24, bext={with_bext!s:<5}: {spent:6.3f} s")


if __name__ == "__main__":
    main()
