"""Issue 20: what a render farm or a first-time user trips over (items 3, 4, 7, 8, 9).

The single-call refusals (an RF64 file cut short, a FIFO, a session nested 50,000 deep, a delivery
into a folder that holds one, a lock held by a running delivery, ``measure`` without a file,
``normalize``'s NaN message, ``batch`` with a glob that matched nothing, a limiter lookahead too short
at 8 kHz) are rows of the bad-input matrix (``tests/test_bad_inputs.py``). Here are the cases that
need more than one call: a second render, two renders at once, the demo run twice, low sample rates,
``measure --json``, and the heavy-limiting warning.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sonicmix.io as sio
from sonicmix.cli import main
from sonicmix.deliver import deliver
from sonicmix.errors import AudioFileError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.loudness import measure
from sonicmix.timeline import ArraySource, Clip
from tests.reliability.helpers import AUDIO, REPORTS, write_project

ROOT = Path(__file__).resolve().parents[2]
FS = 48_000


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("project"), seconds=3.0)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ------------------------------------------------------------------------ item 7: overwriting


def test_render_refuses_to_replace_a_delivery_unless_forced(project: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["-q", "render", str(project), "-o", str(out)]) == 0
    first = _bytes(out)
    assert sorted(first) == sorted(AUDIO + REPORTS)
    capsys.readouterr()

    # the second render is refused before anything renders: same bytes, no scratch files
    assert main(["-q", "render", str(project), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a delivery of that name is already there" in err and "--force" in err and "Traceback" not in err
    assert str(project) in err
    assert _bytes(out) == first and sorted(os.listdir(out)) == sorted(first)

    # --force replaces it; --name delivers beside it under another name
    assert main(["-q", "render", str(project), "-o", str(out), "--force"]) == 0
    assert sorted(os.listdir(out)) == sorted(first)
    assert main(["-q", "render", str(project), "-o", str(out), "--name", "ep-r128"]) == 0
    named = {n.replace("ep-r128", "ep", 1) for n in os.listdir(out) if n.startswith("ep-r128")}
    assert named == set(first)


def test_deliver_overwrite_true_replaces_and_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    graph = Graph(
        tracks={"dx": Track(clips=(Clip(source=ArraySource(_noise(2.0), FS)),), layout="mono")},
        buses={"master": Bus(layout="mono", output=None)},
    )
    out = tmp_path / "out"
    deliver(graph, "ebu-r128", out, reports=False, bext=False)
    with pytest.raises(AudioFileError, match=r"already there"):
        deliver(graph, "ebu-r128", out, reports=False, bext=False)
    # a lock left by a killed process on this machine (its pid no longer runs) does not block
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    lock = out / ".sonicmix-mix.lock"
    lock.write_text(f"{int(dead.stdout)} {socket.gethostname()}\n")
    delivery = deliver(graph, "ebu-r128", out, reports=False, bext=False, overwrite=True)
    assert delivery.passed and not lock.exists()
    assert sorted(os.listdir(out)) == ["mix.wav"]


def test_two_concurrent_renders_one_delivers_the_other_fails_clearly(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    command = [sys.executable, "-m", "sonicmix", "-q", "render", str(project), "-o", str(out)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]  # fmt: skip
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results  # never both PASSED
    (failed,) = [err for code, _, err in results if code == 2]
    # depending on timing, the second one finds the lock or the finished delivery
    assert "is running there now" in failed or "is already there" in failed, failed
    assert "Traceback" not in failed
    assert sorted(os.listdir(out)) == sorted(AUDIO + REPORTS)


def test_the_demo_twice_into_one_folder_replaces_its_own_output(tmp_path: Path) -> None:
    # README's first command, run twice: the demo may replace its own previous output (documented)
    out = tmp_path / "sonicmix-demo"
    assert main(["-q", "demo", "--out", str(out), "--seconds", "2"]) == 0
    names = sorted(os.listdir(out))
    assert main(["-q", "demo", "--out", str(out), "--seconds", "2"]) == 0
    assert sorted(os.listdir(out)) == names


def test_batch_refuses_existing_deliveries_unless_forced(project: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["-q", "batch", str(project), "-o", str(out), "--jobs", "1"]) == 0
    first = _bytes(out / "ep")
    assert main(["batch", str(project), "-o", str(out), "--jobs", "1"]) == 2
    assert "a delivery of that name is already there" in capsys.readouterr().out
    assert _bytes(out / "ep") == first
    assert main(["-q", "batch", str(project), "-o", str(out), "--jobs", "1", "--force"]) == 0


# ------------------------------------------------------------------------ item 8: CLI edges


def _noise(seconds: float, sample_rate: int = FS, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(20)
    return (level * rng.standard_normal((1, round(seconds * sample_rate)))).astype(np.float32)


@pytest.mark.parametrize("sample_rate", [8000, 11025])
def test_normalize_works_at_low_sample_rates(sample_rate: int, tmp_path: Path, capsys) -> None:
    # 5 ms of lookahead is 40 samples at 8 kHz, 55 at 11.025 kHz; the limiter needs 64 (its true-peak
    # interpolation reaches 12 samples each side at any rate): deliver's default is now max(5 ms, 64 samples)
    source, output = tmp_path / "low.wav", tmp_path / "low-r128.wav"
    t = np.arange(5 * sample_rate) / sample_rate
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3.0 * t))
    sio.write(source, tone[None].astype(np.float32), sample_rate, subtype="PCM_16")
    assert main(["-q", "normalize", str(source), str(output), "--target", "ebu-r128"]) == 0, (
        capsys.readouterr()
    )
    audio, rate = sio.read(output)
    assert rate == sample_rate and audio.shape == (1, 5 * sample_rate)
    report = measure(audio, rate)
    assert abs(report.integrated_lufs + 23.0) <= 0.1 and report.true_peak_dbtp <= -1.0


def test_measure_json_prints_series_only_on_request_and_rounded(tmp_path: Path, capsys) -> None:
    path = tmp_path / "noise.wav"
    sio.write(path, _noise(4.0), FS, subtype="FLOAT")
    assert main(["measure", "--json", str(path)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert "momentary_lufs" not in entry and "short_term_times_s" not in entry
    for key in ("integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs"):
        assert entry[key] == round(entry[key], 2), key  # 0.01 LU / dB: what the meter resolves
    assert main(["measure", "--json", "--series", str(path)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert len(entry["momentary_lufs"]) == len(entry["momentary_times_s"]) > 30
    assert all(v is None or v == round(v, 2) for v in entry["momentary_lufs"])
    # the built-in signal has its own flag
    assert main(["-q", "measure", "--demo"]) == 0
    assert capsys.readouterr().out.startswith("built-in signal:")


# ------------------------------------------------------------------------ item 9: heavy limiting


def _clicks(folder: Path) -> Path:
    """Quiet noise with a loud click every 125 ms: loud targets need several dB of limiting."""
    audio = _noise(4.0, level=0.05)
    audio[0, :: FS // 8] = 0.5
    path = folder / "clicks.wav"
    sio.write(path, audio, FS, subtype="FLOAT")
    return path


def test_heavy_limiting_passes_with_a_warning(tmp_path: Path, capsys) -> None:
    source = _clicks(tmp_path)
    graph = Graph(
        tracks={"dx": Track(clips=(Clip(source=ArraySource(sio.read(source)[0], FS)),), layout="mono")},
        buses={"master": Bus(layout="mono", output=None)},
    )
    delivery = deliver(graph, "spotify", tmp_path / "out", bext=False)
    reduction = delivery.limiter["max_reduction_db"]
    assert delivery.passed and 3.0 < reduction < 12.0
    (warning,) = delivery.warnings
    assert f"{reduction:.1f} dB" in warning and "warn_limiting_db=3" in warning
    report = json.loads((tmp_path / "out" / "mix.report.json").read_text())
    assert report["passed"] is True and report["warnings"] == [warning]
    assert f"warning: {warning}" in (tmp_path / "out" / "mix.report.txt").read_text()
    # the threshold is configurable
    quiet = deliver(graph, "spotify", tmp_path / "out2", bext=False, reports=False, warn_limiting_db=20.0)
    assert quiet.passed and quiet.warnings == ()
    # and the command line shows it, in the one-line form too
    assert main(["-q", "normalize", str(source), str(tmp_path / "o.wav"), "--target", "spotify"]) == 0
    assert "; warning: heavy limiting" in capsys.readouterr().out
    assert main(["-q", "normalize", str(source), str(tmp_path / "p.wav"), "--target", "spotify",
                 "--warn-limiting-db", "20"]) == 0  # fmt: skip
    assert "warning" not in capsys.readouterr().out
