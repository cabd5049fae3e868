"""What machine a benchmark ran on, printed at the top of every benchmark's output.

Speed figures differ between machines of one kind (AVX-512 or AVX2 only, clocks, caches), so
each figure is quoted with the CPU model, its vector extensions, the numba version, the target
numba compiles for, whether it may use AVX-512, what numpy's own loops may use, and whether a
vector-math runtime (SVML) is in use.

An AVX2-only CPU on a larger one: ``NUMBA_CPU_NAME=haswell`` alone is not enough with numba
0.68 (it still takes the host's features, and ``inspect_asm`` shows zmm registers);
:func:`avx2_only_env` also turns every AVX-512 feature off for numba (``NUMBA_CPU_FEATURES``)
and for numpy's dispatched loops (``NPY_DISABLE_CPU_FEATURES``), with an empty numba cache::

    eval "$(python benchmarks/machine.py --avx2-env)" && python benchmarks/bench_reverb.py
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl")


def describe() -> str:
    """One line: CPU model, cores, vector extensions, numba (version, target, SVML), numpy, Python."""
    import numba
    import numpy as np

    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = " ".join(f for f in _EXTENSIONS if f in flags) or "unknown"
    try:
        from numba.core.config import USING_SVML as svml
    except ImportError:  # pragma: no cover - older numba
        svml = False
    target = os.environ.get("NUMBA_CPU_NAME", "host")
    features = os.environ.get("NUMBA_CPU_FEATURES", "")
    avx512 = "+avx512f" in features or (not features and "avx512f" in flags)
    return (
        f"{model}, {os.cpu_count()} CPUs ({simd}); numba {numba.__version__} for {target} "
        f"(AVX-512 {'allowed' if avx512 else 'off'}), SVML {'in use' if svml else 'not in use'}; "
        f"numpy {np.__version__} ({_numpy_simd()}); Python {platform.python_version()}"
    )


def _numpy_features() -> tuple[dict[str, bool], list[str]]:
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # pragma: no cover - numpy < 2
        from numpy.core import _multiarray_umath as umath
    return umath.__cpu_features__, list(umath.__cpu_dispatch__)


def _numpy_simd() -> str:
    """The widest of numpy's dispatch targets in use (NPY_DISABLE_CPU_FEATURES turns some off)."""
    found, targets = _numpy_features()
    used = [t for t in targets if found.get(t)]
    return f"loops up to {used[-1]}" if used else "baseline loops only"


def avx2_only_env(cache_dir: str | None = None) -> dict[str, str]:
    """Environment variables that make numba and numpy run as on an AVX2-only (Haswell) CPU.

    ``cache_dir``: numba's cache folder (a new empty one by default, so nothing
    compiled for the host is reused).
    """
    import tempfile

    from llvmlite import binding

    host = binding.get_host_cpu_features().flatten().split(",")
    features = ",".join("-" + f[1:] if f.startswith("+avx512") else f for f in host if f)
    return {
        "NUMBA_CPU_NAME": "haswell",
        "NUMBA_CPU_FEATURES": features,
        "NUMBA_CACHE_DIR": cache_dir or tempfile.mkdtemp(prefix="numba-avx2-"),
        "NPY_DISABLE_CPU_FEATURES": _npy_avx512(),
    }


def _npy_avx512() -> str:
    """numpy's dispatch targets beyond AVX2 (X86_V4, AVX512_ICL, ...), to be turned off."""
    found, targets = _numpy_features()
    return " ".join(t for t in targets if found.get(t) and (t.startswith("AVX512") or t == "X86_V4"))


if __name__ == "__main__":
    import shlex
    import sys

    if sys.argv[1:] == ["--avx2-env"]:
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in avx2_only_env().items()))
    elif sys.argv[1:]:
        sys.exit(f"usage: python {sys.argv[0]} [--avx2-env]")
    else:
        print(describe())
