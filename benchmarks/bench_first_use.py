"""Benchmark: the first use of sonicmix in a new process, on an empty and on a warm kernel cache.

Each case runs in fresh Python processes whose ``NUMBA_CACHE_DIR`` is a new,
empty temporary folder: the first run compiles the kernels into it (the
empty-cache figure), the next ones load them (warm: the median is quoted).
Figures are the wall time of the whole process as the parent sees it
(interpreter start-up and imports included) and its CPU time (user + system,
from the resource usage of the finished children); on a shared machine the CPU time is the steadier one. A run
"compiled" when it printed sonicmix's first-run notice, which numba's compile
event triggers only for a kernel it did not find in the cache.

- ``chain``: ``Chain(ParametricEQ (4 bands), Compressor, Reverb)`` on 30 s of
  stereo 48 kHz float32 noise, imports included (the figure of issue 18 item 7).
- ``demo``: ``python -m sonicmix demo`` (the README's first command after the install).
- ``chain 8 kHz WAV`` / ``chain 44.1 kHz OGG``: the chain on a file read with
  ``sonicmix.read``, run with the cache the 48 kHz chain left: a new sample
  rate or format must not compile again.
- ``normalize 8 kHz WAV`` / ``normalize 44.1 kHz OGG``: ``sonicmix normalize``
  (meter, limiter, PCM writer) after ``normalize`` of a 48 kHz WAV.

Run: ``python benchmarks/bench_first_use.py`` (``--warm 5``, ``--cases chain,demo``); add
``--haswell`` to repeat everything compiled for an AVX2-only CPU (``machine.avx2_only_env``:
``NUMBA_CPU_NAME=haswell`` with the AVX-512 features off).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import avx2_only_env, describe  # noqa: E402

NOTICE = "compiling kernels (first run only)"

CHAIN = """
import sys, time
start_wall, start_cpu = time.perf_counter(), time.process_time()
import numpy as np
import sonicmix as sm
Band = sm.ParametricEQ.Band
eq = sm.ParametricEQ(bands=(Band(kind="high_pass", freq_hz=80.0),
    Band(kind="peak", freq_hz=250.0, gain_db=-3.0, q=1.0),
    Band(kind="peak", freq_hz=2000.0, gain_db=2.0, q=2.0),
    Band(kind="high_shelf", freq_hz=3000.0, gain_db=3.0)))
chain = sm.Chain((eq, sm.Compressor(threshold_db=-20.0, ratio=4.0), sm.Reverb(crossover_high_hz=3000.0)))
if len(sys.argv) > 1:
    x, rate = sm.read(sys.argv[1])
else:
    rate = 48000
    x = (np.random.default_rng(0).standard_normal((2, 30 * rate)) * 0.1).astype(np.float32)
y = chain(x, rate)
print(f"in-process: imports + first call {time.perf_counter() - start_wall:.3f} s wall, "
      f"{time.process_time() - start_cpu:.3f} s CPU")
"""


def run(args: list[str], env: dict[str, str], cwd: str) -> dict[str, object]:
    """Run one process; its wall and CPU seconds, whether it compiled, and its last output line."""
    start = time.perf_counter()
    pipe = subprocess.PIPE
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=pipe, stderr=pipe, text=True)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode not in (0, 1):  # 1: a delivery judged not compliant, still a full run
        raise RuntimeError(f"{' '.join(args)} failed ({process.returncode}):\n{err[-2000:]}")
    lines = [line for line in out.splitlines() if line.strip()]
    return {"wall": wall, "compiled": NOTICE in err, "last": lines[-1] if lines else ""}


def timed(args: list[str], env: dict[str, str], cwd: str) -> dict[str, object]:
    """:func:`run` with the CPU time of the process (resource usage of the children, before and after)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run(args, env, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def make_inputs(folder: Path) -> dict[str, Path]:
    """30 s stereo noise files: 48 kHz WAV, 8 kHz WAV (16-bit) and 44.1 kHz OGG Vorbis."""
    import numpy as np
    import soundfile as sf

    files = {}
    kinds = (("48k.wav", 48000, "PCM_16"), ("8k.wav", 8000, "PCM_16"), ("44k.ogg", 44100, None))
    for name, rate, fmt in kinds:
        x = np.random.default_rng(rate).standard_normal((30 * rate, 2)) * 0.1
        path = folder / name
        sf.write(path, x, rate, subtype=fmt) if fmt else sf.write(path, x, rate)
        files[name] = path
    return files


def show(label: str, first: dict[str, object], warm: list[dict[str, object]]) -> None:
    line = f"  {label:28} empty cache {first['wall']:6.2f} s wall {first['cpu']:6.2f} s CPU"
    line += " (compiled)" if first["compiled"] else " (NO compile: was it warm?)"
    if warm:
        walls = [float(r["wall"]) for r in warm]
        cpus = [float(r["cpu"]) for r in warm]
        again = sum(bool(r["compiled"]) for r in warm)
        line += f" | warm median {statistics.median(walls):5.2f} s wall {statistics.median(cpus):5.2f} s CPU"
        line += f" (n={len(warm)}{f', COMPILED AGAIN x{again}' if again else ''})"
    print(line, flush=True)
    if first["last"].startswith("in-process"):
        print(f"      empty: {first['last']}")
        if warm:
            print(f"      warm:  {warm[-1]['last']}")


def show_input(label: str, result: dict[str, object]) -> None:
    verdict = "COMPILED AGAIN" if result["compiled"] else "no compile"
    print(f"  {label:28} {result['wall']:6.2f} s wall {result['cpu']:6.2f} s CPU ({verdict})", flush=True)


def bench(cases: list[str], warm_runs: int, env: dict[str, str], work: Path, files: dict[str, Path]) -> None:
    python = sys.executable
    chain = [python, "-c", CHAIN]
    if "chain" in cases or "inputs" in cases:
        cache = tempfile.mkdtemp(prefix="numba-cache-", dir=work)
        e = dict(env, NUMBA_CACHE_DIR=cache)
        first = timed(chain, e, str(work))
        show("chain (48 kHz, in memory)", first, [timed(chain, e, str(work)) for _ in range(warm_runs)])
        if "inputs" in cases:
            show_input("chain 8 kHz WAV", timed([*chain, str(files["8k.wav"])], e, str(work)))
            show_input("chain 44.1 kHz OGG", timed([*chain, str(files["44k.ogg"])], e, str(work)))
    if "normalize" in cases:
        cache = tempfile.mkdtemp(prefix="numba-cache-", dir=work)
        e = dict(env, NUMBA_CACHE_DIR=cache)

        def normalize(name: str) -> list[str]:
            out = work / f"normalized-{name}.wav"
            return [python, "-m", "sonicmix", "normalize", str(files[name]), str(out), "--target", "ebu-r128"]

        first = timed(normalize("48k.wav"), e, str(work))
        warm = [timed(normalize("48k.wav"), e, str(work)) for _ in range(warm_runs)]
        show("normalize 48 kHz WAV", first, warm)
        show_input("normalize 8 kHz WAV", timed(normalize("8k.wav"), e, str(work)))
        show_input("normalize 44.1 kHz OGG", timed(normalize("44k.ogg"), e, str(work)))
    if "demo" in cases:
        cache = tempfile.mkdtemp(prefix="numba-cache-", dir=work)
        e = dict(env, NUMBA_CACHE_DIR=cache)
        demo = [python, "-m", "sonicmix", "demo", "--out", str(work / "demo")]
        first = timed(demo, e, str(work))
        show("demo", first, [timed(demo, e, str(work)) for _ in range(max(1, warm_runs // 2))])
        # what the demo left in the cache for the other common paths
        show_input("after demo: chain 48 kHz", timed(chain, e, str(work)))
        show_input("after demo: chain 44.1 kHz OGG", timed([*chain, str(files["44k.ogg"])], e, str(work)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm runs per case (default 3)")
    parser.add_argument("--cases", default="chain,inputs,normalize,demo", help="comma-separated cases")
    parser.add_argument("--haswell", action="store_true", help="also compile for an AVX2-only CPU")
    parser.add_argument("--haswell-only", action="store_true", help="only compile for an AVX2-only CPU")
    parser.add_argument("--tree", help="folder holding the sonicmix package to run (default: installed)")
    options = parser.parse_args()
    cases = [c.strip() for c in options.cases.split(",") if c.strip()]
    print(describe())
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("NUMBA_CACHE_DIR", None)
    if options.tree:  # e.g. a frozen copy of the tree, while others edit the kernels' sources
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [options.tree, env.get("PYTHONPATH")]))
    targets = [] if options.haswell_only else [("host", None)]
    targets += [("haswell", "haswell")] if options.haswell or options.haswell_only else []
    with tempfile.TemporaryDirectory(prefix="sonicmix-first-use-") as folder:
        work = Path(folder)
        files = make_inputs(work)
        for label, cpu_name in targets:
            e = dict(env)
            if cpu_name:  # haswell alone would still emit AVX-512: turn its features off too
                e.update({k: v for k, v in avx2_only_env().items() if k != "NUMBA_CACHE_DIR"})
            else:
                e.pop("NUMBA_CPU_NAME", None)
            print(f"numba target: {label} (NUMBA_CPU_NAME={cpu_name or 'unset'})", flush=True)
            bench(cases, options.warm, e, work, files)


if __name__ == "__main__":
    main()
