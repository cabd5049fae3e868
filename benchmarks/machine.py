"""What machine a benchmark ran on, printed at the top of every benchmark's output.

Speed figures differ between machines of one kind (AVX-512 or AVX2 only, clocks, caches), so
each figure is quoted with the CPU model, its vector extensions, the numba version, the target
numba compiles for (``NUMBA_CPU_NAME=haswell`` compiles for an AVX2-only CPU on a larger one)
and whether a vector-math runtime (SVML) is in use.
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
    return (
        f"{model}, {os.cpu_count()} CPUs ({simd}); numba {numba.__version__} for {target}, SVML "
        f"{'in use' if svml else 'not in use'}; numpy {np.__version__}; Python {platform.python_version()}"
    )


if __name__ == "__main__":
    print(describe())
