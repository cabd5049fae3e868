"""Tests for sonicmix.batch: many sessions on a process pool, on dask, or on any executor."""

from __future__ import annotations

import concurrent.futures as cf
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import sonicmix.io as sio
from sonicmix.batch import BatchSummary, SessionOutcome, render_many
from sonicmix.cli import main
from sonicmix.errors import ParameterError
from sonicmix.session import load_session, render_session

SR = 48_000

SESSION = """\
[session]
target = "ebu-r128"
bext = false   # the bext chunk stores the time of writing; without it, files compare byte for byte
[tracks.voice]
layout = "mono"
[[tracks.voice.clips]]
file = "{file}"
[buses.master]
"""


def write_session(folder: Path, name: str, audio_file: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(SESSION.format(file=audio_file), encoding="utf-8")
    return path


def tone(rng: np.random.Generator, freq_hz: float, duration_s: float = 3.0) -> np.ndarray:
    t = np.arange(round(duration_s * SR)) / SR
    return (0.1 * np.sin(2 * np.pi * freq_hz * t) + 0.01 * rng.standard_normal(t.size))[None]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> dict[str, Path]:
    """Two good sessions (3 s of audio each) and one whose audio file is missing."""
    rng = np.random.default_rng(20261127)
    folder = tmp_path_factory.mktemp("sessions")
    sio.write(folder / "a.wav", tone(rng, 440.0), SR, subtype="FLOAT")
    sio.write(folder / "b.wav", tone(rng, 660.0), SR, subtype="FLOAT")
    return {
        "a": write_session(folder, "ep-a", "a.wav"),
        "b": write_session(folder, "ep-b", "b.wav"),
        "broken": write_session(folder, "ep-broken", "missing.wav"),
    }


@pytest.fixture(scope="module")
def pool_batch(sessions, tmp_path_factory) -> tuple[BatchSummary, Path]:
    """One process-pool batch, shared by the tests that look at its outcome and files."""
    out = tmp_path_factory.mktemp("batch")
    order = [sessions["a"], sessions["broken"], sessions["b"]]
    return render_many(order, out, max_workers=2), out


def test_process_pool_renders_the_good_and_reports_the_broken(pool_batch, sessions):
    summary, out = pool_batch
    # Outcomes come in the order given, whatever order the workers finished in.
    assert [o.session for o in summary.outcomes] == [str(sessions[k]) for k in ("a", "broken", "b")]
    assert [o.status for o in summary.outcomes] == ["ok", "error", "ok"]
    assert summary.counts == {"ok": 2, "not-compliant": 0, "error": 1} and summary.exit_code == 2
    broken = summary.outcomes[1]
    assert "missing.wav" in broken.message and str(sessions["broken"]) in broken.message
    for outcome, stem in ((summary.outcomes[0], "ep-a"), (summary.outcomes[2], "ep-b")):
        assert (out / stem / "mix.wav").is_file() and outcome.files["mix"] == str(out / stem / "mix.wav")
        # EBU R 128: -23 LUFS +-1 LU; the delivery's closed loop lands within 0.1 LU.
        assert outcome.integrated_lufs == pytest.approx(-23.0, abs=0.1)
        assert outcome.true_peak_dbtp <= -1.0 and outcome.elapsed_s > 0
    assert not (out / "ep-broken").exists()


def test_batch_output_equals_a_direct_render(pool_batch, sessions, tmp_path):
    _, out = pool_batch
    direct = render_session(load_session(sessions["a"]), tmp_path)
    assert direct.passed
    assert (out / "ep-a" / "mix.wav").read_bytes() == Path(direct.files["mix"]).read_bytes()


def test_summary_prints_and_converts_to_json(pool_batch, sessions):
    summary, _ = pool_batch
    text = str(summary)
    assert text.splitlines()[0].startswith("3 sessions in ") and "2 ok, 0 not compliant, 1 error" in text
    for path in sessions.values():
        assert str(path) in text
    data = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    assert data["exit_code"] == 2 and [s["status"] for s in data["sessions"]] == ["ok", "error", "ok"]


def test_dask_local_cluster(sessions, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        summary = render_many([sessions["a"], sessions["broken"]], tmp_path, executor=client)
    assert [o.status for o in summary.outcomes] == ["ok", "error"] and summary.exit_code == 2
    assert "missing.wav" in summary.outcomes[1].message
    assert (tmp_path / "ep-a" / "mix.wav").is_file()
    assert summary.outcomes[0].integrated_lufs == pytest.approx(-23.0, abs=0.1)  # as above


def test_not_compliant_session_exit_1(tmp_path):
    sio.write(tmp_path / "silence.wav", np.zeros((1, SR)), SR, dither=False)
    session = write_session(tmp_path, "quiet", "silence.wav")
    with cf.ThreadPoolExecutor(1) as pool:
        summary = render_many([session], tmp_path / "out", executor=pool)
    (outcome,) = summary.outcomes
    assert outcome.status == "not-compliant" and "undefined" in outcome.message
    assert outcome.integrated_lufs is None and summary.exit_code == 1


def test_duplicate_stems_are_refused_before_anything_renders(sessions, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    twin = write_session(other, "EP-A", "a.wav")  # same stem, up to case: one folder on macOS/Windows
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match=r"would both render into the folder 'EP-A'"):
        render_many([sessions["a"], twin], out)
    assert not out.exists()


def test_bad_arguments_are_refused_before_anything_renders(sessions, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match=r"sessions is empty"):
        render_many([], out)
    with pytest.raises(ParameterError, match=r"did you mean 'ebu-r128'"):
        render_many([sessions["a"]], out, target="ebu-r129")
    with pytest.raises(ParameterError, match=r"max_workers=0"):
        render_many([sessions["a"]], out, max_workers=0)
    with pytest.raises(ParameterError, match=r"has no submit"):
        render_many([sessions["a"]], out, executor=object())
    with pytest.raises(ParameterError, match=r"Session without a path"):
        session = load_session(sessions["a"])
        render_many([type(session)(graph=session.graph)], out)
    assert not out.exists()


class _FailingExecutor:
    """Returns futures that fail as a dead worker's would."""

    def submit(self, fn, *args):
        future: cf.Future = cf.Future()
        future.set_exception(cf.process.BrokenProcessPool("a worker died"))
        return future


class _LazyFuture:
    """A future from another library: done() and result() only."""

    def __init__(self, fn, args):
        self.value = fn(*args)

    def done(self) -> bool:
        return True

    def result(self):
        return self.value


class _OtherExecutor:
    def submit(self, fn, *args):
        return _LazyFuture(fn, args)


def test_a_dead_worker_is_an_error_outcome(sessions, tmp_path):
    summary = render_many([sessions["a"], sessions["b"]], tmp_path, executor=_FailingExecutor())
    assert [o.status for o in summary.outcomes] == ["error", "error"]
    assert "BrokenProcessPool: a worker died" in summary.outcomes[0].message


def test_any_executor_like_object_with_loaded_sessions(sessions, tmp_path):
    calls = []

    def progress(stage: str, done: int, total: int) -> None:
        calls.append((stage, done, total))

    loaded = load_session(sessions["b"])
    summary = render_many([loaded], tmp_path, executor=_OtherExecutor(), progress=progress)
    assert summary.outcomes[0].status == "ok" and (tmp_path / "ep-b" / "mix.wav").is_file()
    assert calls == [("batch", 0, 1), ("batch", 1, 1)]


def test_exit_code_is_the_worst_outcome():
    def summary(*statuses: str) -> BatchSummary:
        return BatchSummary(tuple(SessionOutcome(f"s{i}.toml", s, "", 0.0) for i, s in enumerate(statuses)))

    assert summary("ok", "ok").exit_code == 0
    assert summary("ok", "not-compliant").exit_code == 1
    assert summary("not-compliant", "error", "ok").exit_code == 2


def test_cli_batch_json_quiet(sessions, tmp_path, capsys):
    # One run (each starts a process pool): --quiet leaves stderr empty, --json is the whole stdout.
    argv = ["batch", str(sessions["a"]), str(sessions["broken"]), "-o", str(tmp_path), "--jobs", "1"]
    assert main(["-q", *argv, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ""
    data = json.loads(captured.out)
    assert [s["status"] for s in data["sessions"]] == ["ok", "error"] and data["exit_code"] == 2
    assert (tmp_path / "ep-a" / "mix.wav").is_file()


def test_cli_batch_usage_errors(sessions, tmp_path, capsys, monkeypatch):
    assert main(["batch", str(sessions["a"]), "-o", str(tmp_path), "--jobs", "0"]) == 2
    assert "below 1" in capsys.readouterr().err
    argv = ["batch", str(sessions["a"]), "-o", str(tmp_path), "--jobs", "2", "--scheduler", "tcp://x:1"]
    assert main(argv) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if dask.distributed were not installed
    assert main(["batch", str(sessions["a"]), "-o", str(tmp_path), "--scheduler", "tcp://x:1"]) == 2
    err = capsys.readouterr().err
    assert "dask.distributed, which is not installed" in err and "sonicmix[cluster]" in err
