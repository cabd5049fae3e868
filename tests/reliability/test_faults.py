"""Interrupted deliveries: nothing under a deliverable's name, and a clean re-run afterwards.

A delivery is interrupted in every way a user or a machine can interrupt it: an exception raised by
the ``progress`` callback while rendering, while measuring a pass of the loudness loop, or while
writing the deliverables; ``KeyboardInterrupt`` at the same points; a process running ``deliver``
killed with SIGKILL; ``sonicmix render`` stopped with Ctrl-C (SIGINT), SIGTERM or SIGKILL. After each,
no deliverable may exist under its final name (temporary files may remain only under the writers'
scratch names, ``.sonicmix-*`` folders and hidden ``*.partial`` files), and delivering again into the
same folder must give files byte-identical to an uninterrupted delivery into a fresh folder (the
BWF origination date and time excepted: they are the wall clock).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sonicmix.cli import main
from sonicmix.session import load_session, render_session
from sonicmix.targets import LoudnessTarget
from tests.reliability.helpers import AUDIO, REPORTS, is_temporary, masked, scratch, write_project

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
#: A loud custom target: the limiter works hard enough that the loop needs a second, measuring pass.
LOUD = LoudnessTarget(integrated_lufs=-10.0, name="loud")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def reference(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Uninterrupted deliveries into fresh folders, per target: the bytes a re-run must reproduce."""
    out = {}
    for key, target in (("session", None), ("loud", LOUD)):
        folder = tmp_path_factory.mktemp(f"reference-{key}")
        delivery = render_session(load_session(project), folder, target=target, max_limiting_db=30.0)
        assert delivery.passed, delivery.reasons
        assert sorted(os.listdir(folder)) == sorted(AUDIO + REPORTS)
        out[key] = {name: masked(folder / name) for name in AUDIO}
    return out


class Stop(Exception):
    """Raised by a progress callback to interrupt a delivery."""


def assert_interrupted_cleanly(folder: Path) -> list[str]:
    """No deliverable under its final name; anything left has a scratch name. Returns what is left."""
    left = sorted(os.listdir(folder)) if folder.exists() else []
    assert not [n for n in left if n in AUDIO + REPORTS], f"deliverables left under their names: {left}"
    assert all(is_temporary(n) for n in left), f"not clearly temporary: {left}"
    return left


def assert_rerun_matches(
    project: Path, folder: Path, reference: dict[str, bytes], target: Any = None
) -> None:
    """Deliver again into the interrupted folder: the audio equals the fresh delivery's, byte for byte."""
    delivery = render_session(load_session(project), folder, target=target, max_limiting_db=30.0)
    assert delivery.passed, delivery.reasons
    for name in AUDIO:
        assert masked(folder / name) == reference[name], name


# ------------------------------------------------------------------------------ in the same process


@pytest.mark.parametrize(
    ("stage", "memory_mb", "target"),
    [
        ("render", 768.0, None),  # the render kept in memory
        ("render", 0.0, None),  # the render spilled to temporary float32 files
        ("write", 768.0, None),  # the deliverables half written (under temporary names)
        ("measure", 768.0, "loud"),  # a second pass of the loudness loop, after a first written pass
    ],
)
@pytest.mark.parametrize("error", [Stop, KeyboardInterrupt])
def test_an_exception_from_progress_stops_the_delivery_cleanly(
    project: Path, reference: Any, tmp_path: Path, stage: str, memory_mb: float, target: Any, error: type
) -> None:
    seen: list[tuple[str, int, int]] = []

    def progress(now: str, done: int, total: int) -> None:
        seen.append((now, done, total))
        if now == stage and 0 < done < total:
            raise error("stop")

    out = tmp_path / "out"
    chosen = LOUD if target == "loud" else None
    with pytest.raises(error):
        render_session(
            load_session(project),
            out,
            target=chosen,
            progress=progress,
            memory_mb=memory_mb,
            max_limiting_db=30.0,
        )
    assert seen[-1][0] == stage  # it was interrupted where intended, mid-stage
    # An exception is caught by the writers: not even scratch files stay.
    assert assert_interrupted_cleanly(out) == []
    assert_rerun_matches(project, out, reference["loud" if target else "session"], chosen)


@pytest.mark.parametrize("where", ["bext", "reports"])
def test_an_interruption_after_the_audio_is_committed_leaves_no_deliverable(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import sonicmix.bwf
    import sonicmix.delivery.pipeline

    if where == "bext":
        real = sonicmix.bwf.write_bext
        calls: list[Any] = []

        def write_bext(path: Any, **kwargs: Any) -> Any:
            calls.append(path)
            if len(calls) == 2:  # the mix has its bext chunk, the first stem not yet
                raise KeyboardInterrupt
            return real(path, **kwargs)

        monkeypatch.setattr(sonicmix.bwf, "write_bext", write_bext)
    else:

        def write_reports(*args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(sonicmix.delivery.pipeline, "write_reports", write_reports)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        render_session(load_session(project), out)
    assert_interrupted_cleanly(out)


# ------------------------------------------------------------------------------ killed processes

# Runs a delivery and stops inside the progress callback at the chosen stage (or inside the second
# bext write), printing READY so the test knows where the process is when it sends the signal.
CHILD = textwrap.dedent(
    """
    import sys, time
    from sonicmix.session import load_session, render_session

    session, out, stage, memory_mb = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

    def pause():
        print("READY", flush=True)
        time.sleep(120)

    def progress(now, done, total):
        if now == stage and 0 < done < total:
            pause()

    if stage == "bext":
        import sonicmix.bwf as bwf
        real, calls = bwf.write_bext, []

        def write_bext(path, **kwargs):
            calls.append(path)
            if len(calls) == 2:
                pause()
            return real(path, **kwargs)

        bwf.write_bext = write_bext
    render_session(load_session(session), out, progress=progress, memory_mb=memory_mb)
    print("DONE", flush=True)
    """
)
# `sonicmix render` itself (cli.main), paused in the third block written to a deliverable.
CLI_CHILD = textwrap.dedent(
    """
    import sys, time
    import sonicmix.io as sio

    real, count = sio.AudioWriter.write, [0]

    def write(self, block, **kwargs):
        if self.subtype != "FLOAT":
            count[0] += 1
            if count[0] == 3:
                print("READY", flush=True)
                time.sleep(120)
        return real(self, block, **kwargs)

    sio.AudioWriter.write = write
    from sonicmix.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


def start_and_wait(tmp_path: Path, code: str, *args: str) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter and return once it printed READY (60 s at most)."""
    script = tmp_path / "child.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 60.0)
    line = proc.stdout.readline() if ready else ""
    if line.strip() != "READY":
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"the child did not reach its pause point (printed {line!r}); stderr:\n{err}")
    return proc


@POSIX
@pytest.mark.parametrize(
    ("stage", "memory_mb"),
    [("render", 0.0), ("write", 768.0)],  # render spilled to scratch files; deliverables half written
)
def test_a_delivery_killed_with_sigkill_leaves_only_scratch_files(
    project: Path, reference: Any, tmp_path: Path, stage: str, memory_mb: float
) -> None:
    out = tmp_path / "out"
    proc = start_and_wait(tmp_path, CHILD, str(project), str(out), stage, str(memory_mb))
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    left = assert_interrupted_cleanly(out)
    # What SIGKILL leaves (no cleanup can run): the work folder, and in the write stage the hidden
    # partial deliverables, all named for the delivery, and its lock.
    assert any(n.startswith(".sonicmix-ep.work-") for n in left)
    if stage == "write":
        assert {n.split(".")[1] for n in left if n.endswith(".partial")} == {"ep"}
        assert len([n for n in left if n.endswith(".partial")]) == len(AUDIO)
    assert ".sonicmix-ep.lock" in left
    # The re-run takes the lock over (its process is gone) and removes what the killed one left.
    assert_rerun_matches(project, out, reference["session"])
    assert scratch(out) == []


@POSIX
def test_a_delivery_killed_while_writing_bext_leaves_no_deliverable(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start_and_wait(tmp_path, CHILD, str(project), str(out), "bext", "768")
    proc.kill()
    proc.communicate(timeout=30)
    assert_interrupted_cleanly(out)


@POSIX
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_sonicmix_render_interrupted(project: Path, reference: Any, tmp_path: Path, sig: int) -> None:
    out = tmp_path / "out"
    proc = start_and_wait(tmp_path, CLI_CHILD, "render", str(project), "-o", str(out))
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    left = assert_interrupted_cleanly(out)
    if sig in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C raises KeyboardInterrupt inside the delivery, SIGTERM the CLI's own exception: the
        # writers clean up everything, and the CLI exits with the shell's status (128 + signal)
        # and a one-line message.
        assert left == []
        assert proc.returncode == 128 + sig
        assert "Traceback" not in err
    else:
        # SIGKILL: no Python code runs, the scratch files stay.
        assert proc.returncode == -sig
    assert main(["render", str(project), "-o", str(out)]) == 0  # the re-run, into the same folder
    for name in AUDIO:
        assert masked(out / name) == reference["session"][name], name
