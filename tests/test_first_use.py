"""First use: lazy imports, the compile notice, and no new kernel specializations for new inputs.

Each check runs in a fresh interpreter (``subprocess``), where ``sys.modules``
and numba's dispatchers start empty. ``benchmarks/bench_first_use.py`` times
the same situations.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sonicmix._compile import NOTICE

ROOT = Path(__file__).resolve().parents[1] / "sonicmix"
HEAVY = ("scipy.signal", "numba", "librosa")


def python(code: str, *, cache_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_import_and_building_nodes_load_no_heavy_module():
    done = python(
        f"""
import sys
import numpy as np
import sonicmix as sm
Band = sm.ParametricEQ.Band
eq = sm.ParametricEQ(bands=(Band(kind="high_pass", freq_hz=80.0), Band(kind="peak", freq_hz=250.0)))
chain = sm.Chain((sm.HighPass(cutoff_hz=80.0), eq, sm.Compressor(), sm.DeEsser(), sm.Reverb(), sm.Limiter()))
voice = sm.ArraySource(np.zeros((1, 480), np.float32), 48000, name="voice")
graph = sm.Graph(
    tracks={{"dx": sm.Track(clips=(sm.Clip(source=voice),), layout="mono", chain=chain.nodes, output="mix")}},
    buses={{"mix": sm.Bus(chain=(sm.Ducker(),), key="dx"), "master": sm.Bus(output=None)}},
)
print([name for name in {HEAVY!r} if name in sys.modules])
"""
    )
    assert done.stdout.strip() == "[]", f"loaded at import or construction: {done.stdout.strip()}"


def test_every_module_with_kernels_imports_numba_through_the_notice():
    # a module importing numba directly would compile without the first-run notice
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "_compile.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        if any(n == "numba" or n.startswith("numba.") for n in names) and "sonicmix._compile" not in names:
            missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"import numba as `from sonicmix._compile import numba` in {missing}"


_TINY = """
import numpy as np
from sonicmix import _compile
from sonicmix.loudness._kernels import block_abs_max
for dtype in (np.float32, np.float64):  # two signatures: the notice still comes once
    x = np.arange(8, dtype=dtype).reshape(2, 4)
    out = np.zeros((2, 2))
    block_abs_max(x, 2, out)
print(_compile.notices_shown(), out.tolist())
"""


def test_the_notice_is_printed_once_when_compiling_and_never_from_a_warm_cache(tmp_path):
    empty = python(_TINY, cache_dir=tmp_path)
    assert empty.stderr.count(NOTICE) == 1, empty.stderr
    assert empty.stdout.split()[0] == "1"
    assert "[[1.0, 3.0], [5.0, 7.0]]" in empty.stdout  # the kernel ran
    assert any(tmp_path.rglob("*.nbi")), "nothing was cached"
    warm = python(_TINY, cache_dir=tmp_path)
    assert NOTICE not in warm.stderr, warm.stderr
    assert warm.stdout.split()[0] == "0"


_SIGNATURES = """
import json, sys
import sonicmix as sm
from numba.core.dispatcher import Dispatcher

def signatures():
    found = set()
    for name, module in list(sys.modules.items()):
        if name.startswith("sonicmix."):
            for attr, value in list(vars(module).items()):
                if isinstance(value, Dispatcher):
                    found.update(f"{name}.{attr}{sig}" for sig in value.signatures)
    return found

Band = sm.ParametricEQ.Band
eq = sm.ParametricEQ(bands=(Band(kind="high_pass", freq_hz=80.0),
    Band(kind="peak", freq_hz=250.0, gain_db=-3.0), Band(kind="high_shelf", freq_hz=3000.0, gain_db=2.0)))
chain = sm.Chain((eq, sm.Compressor(threshold_db=-30.0), sm.Reverb(crossover_high_hz=3000.0)))
new = {}
for dtype in ("float32", "float64"):
    x, rate = sm.read(sys.argv[1], dtype=dtype)
    chain(x, rate), sm.measure(x, rate), sm.measure(x[:1], rate)
    before = signatures()
    for path in sys.argv[2:]:
        x, rate = sm.read(path, dtype=dtype)
        chain(x, rate), sm.measure(x, rate), sm.measure(x[:1], rate)
    new[dtype] = sorted(signatures() - before)
print(json.dumps(new))
"""


def _new_signatures(tmp_path: Path, files: list[tuple[str, int, float]], *nodes: str) -> dict[str, list[str]]:
    """Signatures the later files add after the first one went through the chain (and ``nodes``)."""
    sf = pytest.importorskip("soundfile")
    rng = np.random.default_rng(7)
    paths = []
    for name, rate, seconds in files:
        x = rng.standard_normal((int(seconds * rate), 2)) * 0.1
        sf.write(tmp_path / name, x, rate, **({"subtype": "PCM_16"} if name.endswith(".wav") else {}))
        paths.append(str(tmp_path / name))
    reverb = "sm.Reverb(crossover_high_hz=3000.0)"
    code = _SIGNATURES.replace(reverb, ", ".join((reverb, *nodes)))
    done = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_another_sample_rate_or_format_compiles_no_new_specialization(tmp_path):
    # 3 s: longer than the blocks the kernels work in at every rate (see the test below)
    new = _new_signatures(tmp_path, [("a.wav", 48000, 3.0), ("b.ogg", 8000, 3.0), ("c.wav", 44100, 3.0)])
    assert new == {"float32": [], "float64": []}, f"compiled again for 8 kHz OGG / 44.1 kHz WAV: {new}"


def test_a_short_signal_compiles_no_new_specialization(tmp_path):
    # 0.25 s fits in one of the Compressor's 16384-sample chunks: a column slice of it would be a
    # contiguous array, of a longer signal a strided one (two numba types); the kernel takes columns
    new = _new_signatures(tmp_path, [("long.wav", 48000, 3.0), ("short.wav", 48000, 0.25)])
    assert new == {"float32": [], "float64": []}, f"compiled again for 0.25 s: {new}"


@pytest.mark.slow  # compiles the limiter's kernels on a cold cache (tens of seconds)
def test_the_limiter_at_another_sample_rate_compiles_no_new_specialization(tmp_path):
    # 3 s at 8 kHz fit in one of the limiter's 65536-sample chunks, at 48 kHz they do not: the output
    # went to lookahead._finish as a column slice, contiguous for one chunk and strided otherwise
    files = [("a.wav", 48000, 3.0), ("b.ogg", 8000, 3.0), ("c.wav", 44100, 3.0)]
    new = _new_signatures(tmp_path, files, "sm.Limiter(lookahead_s=0.01)")
    assert new == {"float32": [], "float64": []}, f"compiled again for 8 kHz OGG / 44.1 kHz WAV: {new}"


_ONCE = """
import sys
import numpy as np
import sonicmix as sm
from numba.core.dispatcher import Dispatcher

Band = sm.ParametricEQ.Band
eq = sm.ParametricEQ(bands=(Band(kind="high_pass", freq_hz=80.0),
    Band(kind="peak", freq_hz=250.0, gain_db=-3.0), Band(kind="peak", freq_hz=2000.0, gain_db=2.0, q=2.0),
    Band(kind="high_shelf", freq_hz=3000.0, gain_db=3.0)))
chain = sm.Chain((eq, sm.Compressor(threshold_db=-20.0), sm.Reverb(crossover_high_hz=3000.0)))
chain((np.random.default_rng(0).standard_normal((2, 48000)) * 0.1).astype(np.float32), 48000)
for name, module in list(sys.modules.items()):
    if name.startswith("sonicmix."):
        for attr, value in list(vars(module).items()):
            if isinstance(value, Dispatcher):
                for sig in value.signatures:
                    print(f"{name}.{attr}{sig}")
"""


def _kernels(signatures: list[str]) -> list[str]:
    """The kernels that have more than one signature."""
    names = [s.split("(", 1)[0] for s in signatures]
    return sorted({name for name in names if names.count(name) > 1})


def test_the_chain_on_float32_runs_no_float64_network():
    # The reverb's level calibration simulated the network in float64, which compiled (or loaded)
    # the float64 kernel for float32 audio: 3.4 s of a cold start. Checked on the warm cache.
    signatures = python(_ONCE).stdout.splitlines()
    assert signatures and not _kernels(signatures), signatures
    assert not [s for s in signatures if s.startswith("sonicmix.dsp.fdn._run") and "float64" in s]


@pytest.mark.slow  # compiles the chain's kernels on an empty cache (8 s of CPU)
def test_the_chain_compiles_each_kernel_once_on_an_empty_cache(tmp_path):
    # Callees show only when compiled, not when loaded with their caller from the cache. Before:
    # 34 signatures, among them the cascade's six passes for Literal[int](0) as well as int64 (a
    # callee's argument from a counter started at 0, or the literal itself: 24 compiles for 6) and
    # fdn._compact for 2-D and 3-D buffers; now 13, each kernel once.
    signatures = python(_ONCE, cache_dir=tmp_path).stdout.splitlines()
    assert len(signatures) > 6 and not [s for s in signatures if "Literal[" in s], signatures
    assert not _kernels(signatures), signatures
