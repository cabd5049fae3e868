"""Committing a delivery over an earlier one: every new file in place, or the old ones byte for byte.

Faults are injected where the commit renames: ``os.replace`` fails (EIO, as a disk error would) on
one chosen file, or an exception stands in for a killed process and the roll-back is skipped, so
that the folder is left as a kill would leave it. The delivery tests run on one second of audio.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.deliver import Version, deliver, deliver_all
from sonicmix.delivery import files
from sonicmix.errors import AudioFileError

pytest.importorskip("av", reason="the AAC deliverable needs PyAV (pip install 'sonicmix[encode]')")

FS = 48000
#: WAV and a lossy format, stems, reports and a version in out/mono/: every kind of file a commit moves
PACKAGE = {
    "formats": "wav,aac:128k",
    "versions": {"mono": Version("ebu-r128", layout="mono")},
    "tail_s": 0.0,
    "bext": False,
}


def graph(seed: int) -> sm.Graph:
    """One second of noise on a mono dialogue stem and a stereo music stem."""
    rng = np.random.default_rng(seed)

    def source(channels: int, level: float) -> sm.ArraySource:
        return sm.ArraySource((level * rng.standard_normal((channels, FS))).astype(np.float32), FS)

    return sm.Graph(
        tracks={
            "dx": sm.Track(
                clips=(sm.Clip(source=source(1, 0.05)),), layout="mono", pan=0.0, output="dialogue"
            ),
            "mx": sm.Track(clips=(sm.Clip(source=source(2, 0.02)),), output="music"),
        },
        buses={"dialogue": sm.Bus(), "music": sm.Bus(), "master": sm.Bus(output=None)},
    )


def snapshot(folder) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``, hidden ones included."""
    found: dict[str, bytes | None] = {}
    for root, dirs, names in os.walk(folder):
        for d in dirs:
            found[os.path.relpath(os.path.join(root, d), folder)] = None
        for n in names:
            with open(os.path.join(root, n), "rb") as fh:
                found[os.path.relpath(os.path.join(root, n), folder)] = fh.read()
    return found


def eio() -> OSError:
    return OSError(errno.EIO, "Input/output error")


class Killed(BaseException):
    """Stands for the process being killed at that point."""


def fail_at(monkeypatch, path, error: BaseException, *, step: str = "place") -> None:
    """Make ``os.replace`` raise ``error`` when the commit moves ``path``'s new file into place
    (``step="place"``), moves its old file aside (``"aside"``) or records itself complete (``"marker"``)."""
    real, target = os.replace, os.path.realpath(path) if path else None

    def replace(src, dst):
        src, dst = os.fspath(src), os.fspath(dst)
        staged = ".replaced" in src or ".replaced" in dst
        hit = {
            "place": not staged and os.path.realpath(dst) == target,
            "aside": staged and os.path.realpath(src) == target,
            "marker": os.path.basename(dst).startswith("committed-"),
        }[step]
        if hit:
            raise error
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def no_roll_back(monkeypatch) -> None:
    """A killed process rolls nothing back: the error goes up and the folder stays as it was left."""
    monkeypatch.setattr(files, "_undo", lambda stagings, marker, name, doing, err: err)


def without_plots() -> pytest.MonkeyPatch:
    """No loudness plot among the reports: drawing it takes most of a second's delivery CPU time."""
    from sonicmix import _hooks

    patch = pytest.MonkeyPatch()
    patch.setattr(_hooks, "loudness_png", lambda *args, **kwargs: False)
    return patch


@pytest.fixture(autouse=True)
def _no_plots():
    patch = without_plots()
    yield
    patch.undo()


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """An earlier delivery (graph 1) to replace, and the files graph 2 gives in an empty folder."""
    old, new = tmp_path_factory.mktemp("old"), tmp_path_factory.mktemp("new")
    patch = without_plots()
    try:
        deliver(graph(1), "ebu-r128", old, **PACKAGE)
        deliver(graph(2), "ebu-r128", new, **PACKAGE)
    finally:
        patch.undo()
    return old, snapshot(old), snapshot(new)


@pytest.fixture
def out(delivered, tmp_path):
    """A copy of the earlier delivery, to deliver over."""
    shutil.copytree(delivered[0], tmp_path / "out")
    return tmp_path / "out"


# ------------------------------------------------------------------------------ deliver(overwrite=True)


def test_the_package_holds_every_kind_of_file(delivered):
    _, old, new = delivered
    reports = [".report.json", ".report.txt"]
    expected = {"mix.wav", "mix.m4a", "mix.dialogue.wav", "mix.music.wav", "mono", "mono/mix.wav"}
    expected |= {f"{where}mix{suffix}" for where in ("", "mono/") for suffix in reports}
    assert set(old) == set(new) == expected
    assert all(old[k] != new[k] for k in old if old[k] is not None)


def test_a_successful_commit_replaces_every_file(delivered, out):
    _, old, new = delivered
    deliver(graph(2), "ebu-r128", out, overwrite=True, **PACKAGE)
    now = snapshot(out)
    assert set(now) == set(old)  # no staging folder, lock or temporary file left
    audio = [k for k in new if k.endswith((".wav", ".m4a"))]
    assert {k: now[k] for k in audio} == {k: new[k] for k in audio}  # byte for byte a fresh delivery's
    assert all(now[k] != old[k] for k in now if now[k] is not None)  # the reports too


@pytest.mark.parametrize(
    "path, step, error, match",
    [  # the plain-file tests below fail every step; these are the steps of a real package
        pytest.param("mix.wav", "place", eio(), r"the new '[^']*mix\.wav' into place", id="first-file"),
        pytest.param("mix.m4a", "place", eio(), r"the new '[^']*mix\.m4a' into place", id="lossy"),
        pytest.param(
            "mix.report.json",
            "place",
            OSError(errno.ENOSPC, "No space left"),
            r"report\.json' into place",
            id="report",
        ),
        pytest.param("mono/mix.report.txt", "place", eio(), r"mono/mix\.report\.txt", id="version-last-file"),
        pytest.param(
            "mix.music.wav",
            "aside",
            eio(),
            r"previous '[^']*music\.wav' aside",
            id="set-aside",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            None, "marker", eio(), "recording the commit as complete", id="marker", marks=pytest.mark.slow
        ),
        pytest.param(
            "mono/mix.wav", "place", KeyboardInterrupt(), None, id="interrupt", marks=pytest.mark.slow
        ),
    ],
)
def test_a_failure_anywhere_in_the_commit_leaves_the_earlier_delivery(
    delivered, out, monkeypatch, path, step, error, match
):
    _, old, _ = delivered
    fail_at(monkeypatch, path and out / path, error, step=step)
    if match is None:
        with pytest.raises(KeyboardInterrupt):
            deliver(graph(2), "ebu-r128", out, overwrite=True, **PACKAGE)
    else:
        with pytest.raises(AudioFileError, match=match) as raised:
            deliver(graph(2), "ebu-r128", out, overwrite=True, **PACKAGE)
        assert "the previous files are back under their names" in str(raised.value)
        assert raised.value.__cause__ is error
    assert snapshot(out) == old


def test_deliver_all_commits_its_targets_together(tmp_path, monkeypatch):
    targets = {"ebu-r128": "wav", "spotify": "wav"}
    deliver_all(graph(1), targets, tmp_path, tail_s=0.0, reports=False, bext=False)
    old = snapshot(tmp_path)
    fail_at(monkeypatch, tmp_path / "spotify" / "mix.music.wav", OSError(errno.EIO, "Input/output error"))
    with pytest.raises(AudioFileError, match=r"spotify/mix\.music\.wav' into place failed"):
        deliver_all(graph(2), targets, tmp_path, tail_s=0.0, reports=False, bext=False, overwrite=True)
    assert snapshot(tmp_path) == old  # ebu-r128/, committed first, is back as it was too


# ---------------------------------------------------------------------------------- a killed commit


def test_a_commit_killed_half_way_is_undone_by_the_next_delivery(delivered, out, monkeypatch):
    _, old, _ = delivered
    fail_at(monkeypatch, out / "mono" / "mix.wav", Killed())  # the printmaster's files are in place by then
    no_roll_back(monkeypatch)
    with pytest.raises(Killed):
        deliver(graph(2), "ebu-r128", out, overwrite=True, **PACKAGE)
    staging = out / ".sonicmix-mix.replaced"
    assert (staging / "mix.wav").read_bytes() == old["mix.wav"]  # the old files wait there, recoverable
    assert (out / "mix.wav").read_bytes() != old["mix.wav"]
    monkeypatch.undo()
    with pytest.raises(AudioFileError, match="a delivery of that name is already there"):
        deliver(graph(2), "ebu-r128", out, **PACKAGE)  # the old delivery is back, so it is refused
    assert snapshot(out) == old


@pytest.mark.slow  # the plain-file tests cover it at every step
def test_a_commit_killed_after_completing_is_finished_by_the_next_delivery(delivered, out, monkeypatch):
    _, _, new = delivered
    real = files._Staging.discard

    def killed_while_clearing(self):
        if self.path == os.path.join(os.path.realpath(out), ".sonicmix-mix.replaced"):
            raise Killed()  # the version's folder was cleared; the printmaster's is not
        real(self)

    monkeypatch.setattr(files._Staging, "discard", killed_while_clearing)
    with pytest.raises(Killed):
        deliver(graph(2), "ebu-r128", out, overwrite=True, **PACKAGE)
    assert (out / ".sonicmix-mix.replaced" / "mix.wav").exists()
    monkeypatch.undo()
    with pytest.raises(AudioFileError, match="a delivery of that name is already there"):
        deliver(graph(2), "ebu-r128", out, **PACKAGE)
    now = snapshot(out)
    audio = [k for k in new if k.endswith((".wav", ".m4a"))]
    assert set(now) == set(new) and {k: now[k] for k in audio} == {k: new[k] for k in audio}


# ------------------------------------------------------------------- files.commit on plain files


@pytest.fixture
def no_fsync():
    """The plain-file tests check what is where, not durability: fsync waits for the disk, for seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", lambda fd: None)
        yield


def plain(tmp_path) -> tuple[list[tuple[str, str]], dict, dict]:
    """Old files in a folder and its subfolder, and a commit's moves that replace two and add one."""
    sub = tmp_path / "v"
    sub.mkdir()
    for path, text in [("a.wav", "old a"), ("b.m4a", "old b"), ("v/a.wav", "old va"), ("keep.txt", "mine")]:
        (tmp_path / path).write_text(text)
    moves = []
    for path, text in [("a.wav", "new a"), ("b.m4a", "new b"), ("c.txt", "new c"), ("v/a.wav", "new va")]:
        tmp = tmp_path / os.path.dirname(path) / f".{os.path.basename(path)}.partial"
        tmp.write_text(text)
        moves.append((str(tmp), str(tmp_path / path)))
    old = {k: v for k, v in snapshot(tmp_path).items() if ".partial" not in k}
    new = {**old, "a.wav": b"new a", "b.m4a": b"new b", "c.txt": b"new c", "v/a.wav": b"new va"}
    return moves, old, new


def calls_of(monkeypatch, kill_at: int | None, error: BaseException) -> list[str]:
    """Count the commit's file system steps (rename, unlink, mkdir, rmdir); raise ``error`` at one."""
    done: list[str] = []
    for fn in ("replace", "unlink", "mkdir", "rmdir"):
        real = getattr(os, fn)

        def step(*args, _real=real, _fn=fn, **kwargs):
            done.append(f"{_fn} {args[0]}")
            if len(done) - 1 == kill_at:  # once: the roll-back's own steps then work
                raise error
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, fn, step)
    return done


STEPS = 23  # a commit of plain() takes 21 steps (checked above); the last failures fall after the end


def test_commit_steps_are_counted(no_fsync, tmp_path, monkeypatch):
    moves, _, new = plain(tmp_path)
    done = calls_of(monkeypatch, None, Killed())
    files.commit("mix", moves)
    monkeypatch.undo()
    assert snapshot(tmp_path) == new  # keep.txt, which no move names, is left alone
    print(len(done))
    assert len(done) > 15


@pytest.mark.parametrize("at", range(STEPS))
def test_a_failure_at_any_step_puts_the_old_files_back(no_fsync, tmp_path, monkeypatch, at):
    moves, old, new = plain(tmp_path)
    calls_of(monkeypatch, at, OSError(errno.EIO, "Input/output error"))
    try:
        files.commit("mix", moves)
    except AudioFileError as err:
        assert "the previous files are back under their names" in str(err)
        monkeypatch.undo()
        assert {k: v for k, v in snapshot(tmp_path).items() if ".partial" not in k} == old
    else:  # the failure came in the clearing after the commit was complete: it is only logged
        monkeypatch.undo()
        assert {k: v for k, v in snapshot(tmp_path).items() if ".replaced" not in k} == new
        files.recover(str(tmp_path), "mix")
        assert snapshot(tmp_path) == new


@pytest.mark.parametrize("at", range(STEPS))
@pytest.mark.parametrize("first", ["root", "version"])
def test_a_kill_at_any_step_is_finished_or_undone_as_a_whole(no_fsync, tmp_path, monkeypatch, at, first):
    """Whichever folder's delivery comes next recovers both folders: never a mix of old and new."""
    moves, old, new = plain(tmp_path)
    no_roll_back(monkeypatch)
    done = calls_of(monkeypatch, at, Killed())
    try:
        files.commit("mix", moves)
    except Killed:
        pass
    monkeypatch.undo()
    marked = any("committed-" in step and step.startswith("replace") for step in done[:at])
    folders = [str(tmp_path), str(tmp_path / "v")]
    for folder in folders if first == "root" else folders[::-1]:
        files.recover(folder, "mix")
    after = {k: v for k, v in snapshot(tmp_path).items() if ".partial" not in k}
    assert after == (new if marked else old)


def test_a_stale_staging_folder_that_is_not_a_commit_is_refused_and_kept(tmp_path):
    staging = tmp_path / ".sonicmix-mix.replaced"
    staging.mkdir()
    (staging / "manifest.json.tmp").write_text("{")  # killed while writing its record: nothing moved
    files.recover(str(tmp_path), "mix")
    assert not staging.exists()
    staging.mkdir()
    (staging / "mix.wav").write_text("someone's")
    with pytest.raises(AudioFileError, match=r"\.sonicmix-mix\.replaced' left by a killed delivery"):
        files.recover(str(tmp_path), "mix")
    assert (staging / "mix.wav").read_text() == "someone's"


# ------------------------------------------------------------------- what a killed delivery leaves


def dead_pid() -> int:
    """The id of a process that has ended (it is not reused this soon)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leave(folder, names: list[str]) -> None:
    for n in names:
        if n.endswith("/"):
            os.makedirs(folder / n, exist_ok=True)
            (folder / n / ".00.wav.0123456789ab.partial").write_bytes(b"spilled render")
        else:
            (folder / n).write_bytes(b"left")


#: What deliveries of "mix" killed while rendering and while writing leave (the writers' scratch names)
KILLED = [
    ".sonicmix-mix.work-k2_x9abc/",
    ".mix.wav.0123456789ab.partial",
    ".mix.dialogue.wav.00ff00ff00ff.partial",
    ".mix.m4a.abcdefabcdef.partial",
    ".mix.report.json.partial",
    ".mix.report.txt.partial",
    ".mix.loudness.partial.png",
    ".mix.loudness.partial.png.partial.png",
    "..mix.wav.0123456789ab.partial.ab_cd123.partial",  # bwf's copy of a file it could not fill in place
]
#: Names a delivery of "mix" must leave alone: another name's scratch, other schemes, anyone's files
OTHERS = [
    ".sonicmix-mixer.work-k2_x9abc/",
    ".sonicmix-mix.work-old/",  # a folder someone named in the scheme: not tempfile's 8 characters
    ".sonicmix-mix.work-k2_x9abc12/",
    ".sonicmix-k2_x9abc/",
    ".mixer.wav.0123456789ab.partial",
    ".mix.wav.partial",
    ".mix.wav.0123456789AB.partial",
    ".mix.notes.txt",
    "mix.wav.0123456789ab.partial",
    "notes.txt",
]


def test_recover_removes_only_the_scratch_files_of_its_own_name(tmp_path):
    leave(tmp_path, KILLED + OTHERS)
    link = ".mix.flac.0123456789ab.partial"
    (tmp_path / link).symlink_to(tmp_path / "notes.txt")  # not a file a writer made
    files.recover(str(tmp_path), "mix")
    assert sorted(os.listdir(tmp_path)) == sorted([n.rstrip("/") for n in OTHERS] + [link])
    assert (tmp_path / "notes.txt").read_bytes() == b"left"


def test_leftovers_are_not_looked_for_in_a_folder_that_cannot_be_listed(tmp_path, monkeypatch, caplog):
    """A drop folder one may write into but not list (mode 0333): the leftovers cannot be looked for,
    which is logged, and the delivery goes on as it did before they were cleared (it raised a bare
    PermissionError). Root lists any folder, so the listing is made to fail."""
    real = os.scandir

    def unlisted(path="."):
        if os.fspath(path) == str(tmp_path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", unlisted)
    with caplog.at_level("WARNING", logger="sonicmix"):
        assert files.clear_leftovers(str(tmp_path), "mix") == []
    assert "cannot look for what a killed delivery of 'mix' left" in caplog.text


def test_a_name_another_running_delivery_could_own_is_left_to_it(tmp_path):
    """``mix.stem.wav`` is the stem "stem" of "mix" or the mix of "mix.stem": while a delivery of
    "mix.stem" holds its lock there, its file is kept; once that process is gone, it is cleared."""
    leave(tmp_path, [".mix.stem.wav.0123456789ab.partial", ".mix.wav.0123456789ab.partial"])
    lock = tmp_path / ".sonicmix-mix.stem.lock"
    lock.write_text(f"{os.getpid()} {socket.gethostname()}\n")
    assert files.clear_leftovers(str(tmp_path), "mix") == [".mix.wav.0123456789ab.partial"]
    lock.write_text(f"{dead_pid()} {socket.gethostname()}\n")
    assert files.clear_leftovers(str(tmp_path), "mix") == [".mix.stem.wav.0123456789ab.partial"]


def test_the_next_delivery_clears_what_a_killed_one_left(delivered, out):
    """A delivery killed mid-render: its lock (process gone), work folder and scratch files stay; the
    next delivery of the name takes the lock over and removes them, and only them."""
    _, old, new = delivered
    leave(out, [".sonicmix-mix.lock", *KILLED, *OTHERS])
    (out / ".sonicmix-mix.lock").write_text(f"{dead_pid()} {socket.gethostname()}\n")
    leave(out / "mono", [".mix.wav.0123456789ab.partial"])  # the version's folder too
    deliver(graph(2), "ebu-r128", out, overwrite=True, **PACKAGE)
    assert set(snapshot(out)) == set(old) | {n.rstrip("/") for n in OTHERS} | {
        os.path.join(n.rstrip("/"), ".00.wav.0123456789ab.partial") for n in OTHERS if n.endswith("/")
    }
