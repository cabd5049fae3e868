"""Where a delivery's files go: their paths proven inside the output folder, the lock, the commit.

Everything but :func:`commit` runs before the render, so a delivery that cannot be written fails
before any work. :func:`commit` puts the finished files under their names together, replacing an
earlier delivery's files only once every new file is in place (see :func:`staging_folder`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections.abc import Sequence

from sonicmix.delivery.formats import AudioFormat, parse_format
from sonicmix.errors import ParameterError

__all__ = [
    "deliverable_paths",
    "mix_key",
    "lock",
    "unlock",
    "refuse_existing",
    "origination",
    "REPORT_SUFFIXES",
    "staging_folder",
    "commit",
    "recover",
    "clear_leftovers",
    "work_folder",
]

WAV = parse_format("wav")


def _lock_path(out_dir: str, name: str) -> str:
    return os.path.join(out_dir, f".sonicmix-{name}.lock")


def lock(out_dir: str, name: str) -> str:
    """Create the delivery's lock file atomically (``O_EXCL``); return its path.

    It holds ``<pid> <host>``. A lock whose process is gone on this host (a killed
    delivery) is taken over; any other lock means a delivery of ``name`` is running
    in ``out_dir`` now, and a second one would replace its files as it finishes.
    """
    import socket

    from sonicmix.errors import AudioFileError

    path = _lock_path(out_dir, name)
    me = f"{os.getpid()} {socket.gethostname()}\n"
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:  # a concurrent delivery removed the folder it had created, empty
            os.makedirs(out_dir, exist_ok=True)
            continue
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is not None and _is_stale(*holder):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                continue
            who = "another process" if holder is None else f"process {holder[0]} on {holder[1]}"
            raise AudioFileError(
                f"cannot deliver name={name!r} into out_dir={out_dir!r}: a delivery of that name is running "
                f"there now ({who} holds the lock file {path!r}); expected one delivery of a name per "
                "folder at a time (wait for it, or choose another name or folder; if no such process "
                "runs, remove the lock file)"
            ) from None
        except OSError as err:
            raise AudioFileError(
                f"cannot deliver into out_dir={out_dir!r}: cannot create the lock file {path!r} "
                f"({err.strerror or err}); expected a writable folder"
            ) from err
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        return path
    raise AudioFileError(f"cannot deliver into out_dir={out_dir!r}: the lock file {path!r} keeps reappearing")


def _lock_holder(path: str) -> tuple[int, str] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            pid, host = fh.read().split()
        return int(pid), host
    except (OSError, ValueError):  # being written, unreadable, or not ours
        return None


def _is_stale(pid: int, host: str) -> bool:
    """True when ``pid`` was on this machine and no longer runs."""
    import socket

    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, owned by someone else
        return False
    return False


def unlock(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def refuse_existing(final: dict[str, str], out_dir: str, name: str, reports: bool) -> None:
    """Refuse to replace a delivery of ``name`` (any of its files) that is already in ``out_dir``."""
    from sonicmix.errors import AudioFileError

    paths = list(final.values())
    if reports:
        paths += [os.path.join(out_dir, f"{name}{suffix}") for suffix in REPORT_SUFFIXES]
    there = [p for p in paths if os.path.lexists(p)]
    if there:
        more = f" and {len(there) - 1} more of its files" if len(there) > 1 else ""
        raise AudioFileError(
            f"cannot deliver name={name!r} into out_dir={out_dir!r}: a delivery of that name is already "
            f"there ({there[0]!r}{more}); expected overwrite=True to replace it (--force on the command "
            "line), or another name (--name) or folder. Nothing was rendered"
        )


#: The report files a delivery writes beside its audio, ``<name><suffix>``.
REPORT_SUFFIXES = (".report.json", ".report.txt", ".loudness.png")


def origination() -> tuple[str | None, str | None]:
    """The bext origination date and time: ``SOURCE_DATE_EPOCH`` (UTC) when set, else now.

    The reproducible-builds convention: with it set, two deliveries of the same
    inputs are the same files byte for byte.
    """
    from sonicmix._checks import source_date_epoch

    epoch = source_date_epoch()
    if epoch is None:
        return None, None
    import datetime

    try:
        moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ParameterError(
            f"SOURCE_DATE_EPOCH={os.environ['SOURCE_DATE_EPOCH']!r}; expected whole seconds since 1970-01-01 "
            "UTC, e.g. 1767225600"
        ) from None
    return moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")


def mix_key(name: str, fmt: AudioFormat) -> str:
    """The key of the mix in ``fmt`` among a delivery's files: ``name`` for WAV, else ``name.ext``."""
    return name if fmt.codec == "wav" else f"{name}{fmt.extension}"


def deliverable_paths(
    out_dir: str,
    name: str,
    stems: Sequence[str],
    me_mix: bool,
    reports: bool,
    formats: Sequence[AudioFormat] = (),
) -> dict[str, str]:
    """The deliverables' paths by key, proven to be distinct files directly inside ``out_dir``.

    Checked before anything is rendered or written: every name that becomes part of
    a file name is one harmless path component, and every resolved path (symbolic
    links followed) has ``out_dir`` itself as its folder.
    """
    from sonicmix._checks import file_name_problem

    problem = file_name_problem(name)
    if problem:
        raise ParameterError(f"name={name!r} {problem}; expected a plain file name such as 'episode-01'")
    for stem in stems:  # a graph checks its names; this guards callers that pass stems= by hand
        problem = file_name_problem(stem)
        if problem:
            raise ParameterError(f"stem {stem!r} {problem}; expected a plain bus name")
    keys = [name, *stems, *(["ME"] if me_mix else [])]
    if len(set(keys)) != len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise ParameterError(
            f"{twice!r} would name two deliverables (the delivery name={name!r}, the stems {list(stems)}"
            f"{' and the M&E mix ME' if me_mix else ''}); expected distinct names"
        )
    final = {mix_key(name, f): os.path.join(out_dir, f"{name}{f.extension}") for f in formats or [WAV]}
    final.update({s: os.path.join(out_dir, f"{name}.{s}.wav") for s in stems})
    if me_mix:
        final["ME"] = os.path.join(out_dir, f"{name}.ME.wav")
    extra = [f"{name}{suffix}" for suffix in REPORT_SUFFIXES] if reports else []
    folder = os.path.realpath(out_dir)
    for path in [*final.values(), *(os.path.join(out_dir, e) for e in extra)]:
        if os.path.dirname(os.path.realpath(path)) != folder:
            raise ParameterError(
                f"deliverable {path!r} resolves to {os.path.realpath(path)!r}, outside out_dir={out_dir!r}; "
                "expected every file directly inside the output folder (a name or a symbolic link "
                "points elsewhere)"
            )
    return final


# ------------------------------------------------------------------------------------------ commit

_MANIFEST = "manifest.json"
_logger = logging.getLogger(__name__)


def staging_folder(out_dir: str, name: str) -> str:
    """The hidden folder ``<out_dir>/.sonicmix-<name>.replaced`` that holds replaced files during a commit.

    A commit (:func:`commit`) moves each file it replaces, an earlier delivery's
    with ``overwrite=True``, into this folder, and deletes it only once every new
    file is under its name. A process killed mid-commit leaves the folder behind,
    with the previous files in it under their own names and a record of the commit
    (``manifest.json``); the next delivery of ``name`` into ``out_dir`` finishes or
    undoes that commit before anything else (:func:`recover`).

    Examples
    --------
    >>> staging_folder("out", "episode-01") == os.path.join("out", ".sonicmix-episode-01.replaced")
    True
    """
    return os.path.join(out_dir, f".sonicmix-{name}.replaced")


def commit(name: str, moves: Sequence[tuple[str, str]]) -> None:
    """Move finished files ``(temporary, final)`` under their final names: all of them, or none.

    In every folder the moves touch, the files about to be replaced first go aside
    into :func:`staging_folder`; then every new file is renamed into place, a marker
    records that the commit is complete, and only then are the files set aside
    deleted. On any failure the new files already placed are removed and the old
    ones put back; a file system error is raised as an
    :class:`~sonicmix.errors.AudioFileError` that names the file at fault. Files of
    the folders that no move names are left alone. The caller holds the lock of
    every folder (:func:`lock`).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> def made(file_name, text):
    ...     with open(os.path.join(folder.name, file_name), "w") as fh:
    ...         _ = fh.write(text)
    ...     return os.path.join(folder.name, file_name)
    >>> final = made("mix.txt", "old")
    >>> commit("mix", [(made(".mix.txt.partial", "new"), final)])
    >>> open(final).read(), os.listdir(folder.name)
    ('new', ['mix.txt'])
    >>> folder.cleanup()
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for tmp, final in moves:
        real = os.path.realpath(final)  # as the writers did: a symbolic link's target is what is replaced
        groups.setdefault(os.path.dirname(real), []).append((tmp, os.path.basename(real)))
    if not groups:
        return
    token = secrets.token_hex(8)
    stagings = [_Staging(staging_folder(f, name), token, [n for _, n in g]) for f, g in groups.items()]
    marker = os.path.join(stagings[0].path, f"committed-{token}")
    current = stagings[0]
    try:
        for current in stagings:
            current.begin(marker, [s.path for s in stagings])
        for current in stagings:
            current.set_aside()
        for current, group in zip(stagings, groups.values(), strict=True):
            current.place(group)
        current = stagings[0]
        current.doing = f"recording the commit as complete in {marker!r}"
        _write_durably(marker, token)
    except BaseException as err:
        error = _undo(stagings, marker, name, current.doing, err)
        if error is err:  # an interrupt, say
            raise
        raise error from err
    try:
        for current in [*stagings[1:], stagings[0]]:  # the marker goes last: it says the commit is complete
            current.discard()
    except OSError as err:  # the delivery is in place; the next one of its name clears what is left
        _logger.warning("could not remove %s after a complete commit: %s", current.path, err)


def recover(out_dir: str, name: str) -> None:
    """Clear up after a delivery of ``name`` into ``out_dir`` that a killed process left half done.

    Call it holding the lock of ``name`` in ``out_dir`` (:func:`lock`), before
    anything else. First a half-done commit: where the killed commit had recorded
    itself complete, the previous files set aside are deleted; otherwise the new
    files it placed are removed and the previous ones put back, in every folder of
    that commit. Then the killed delivery's scratch files (:func:`clear_leftovers`).
    Nothing to do when neither is there.
    """
    _recover_commit(out_dir, name)
    clear_leftovers(out_dir, name)


def _recover_commit(out_dir: str, name: str) -> None:
    path = staging_folder(out_dir, name)
    if not os.path.isdir(path):
        return
    from sonicmix.errors import AudioFileError

    try:
        found = _Staging.load(path)
        if found is None:  # killed before it moved anything, or when all but the marker was gone
            _Staging(path, "", []).discard()
            return
        token, marker, group = found[0].token, found[1], found[2]
        complete = os.path.exists(marker)
        stagings = []
        for where in filter(os.path.isdir, group):  # this folder's, and those of the same commit
            other = _Staging.load(where)
            if other is None:  # without a record: its clearing was cut short, or it holds nothing yet
                stagings.append(_Staging(where, token, [], []))
                stagings[-1].begun = True
            elif other[0].token == token:
                stagings.append(other[0])
        stagings.sort(key=lambda s: s.path == os.path.dirname(marker))  # the marker's folder last
        for staging in stagings:
            if complete:
                staging.discard()
            else:
                staging.roll_back()
    except (OSError, ValueError, KeyError) as err:  # unreadable, or a record that is not ours
        raise AudioFileError(
            f"cannot deliver name={name!r} into out_dir={out_dir!r}: the staging folder {path!r} left by a "
            f"killed delivery cannot be cleared ({getattr(err, 'strerror', None) or err!r}); expected to "
            "finish or undo its commit (the files in it are the previous delivery's: move them back by "
            "hand, then remove the folder)"
        ) from err
    _logger.warning(
        "%s: a delivery of %r was killed while committing; %s",
        out_dir,
        name,
        "its commit was complete: removed the replaced files" if complete else "put the previous files back",
    )


def work_folder(out_dir: str, name: str) -> str:
    """Create the hidden folder where a delivery of ``name`` keeps its render; return its path.

    ``<out_dir>/.sonicmix-<name>.work-<random>``: the name says whose it is, so
    that :func:`clear_leftovers` can remove it once a killed delivery left it.
    The caller holds the lock of ``name`` in ``out_dir`` until it has removed it.

    Examples
    --------
    >>> import shutil, tempfile
    >>> out = tempfile.mkdtemp()
    >>> work = work_folder(out, "episode-01")
    >>> os.path.basename(work).startswith(".sonicmix-episode-01.work-")
    True
    >>> shutil.rmtree(out)
    """
    import tempfile

    return tempfile.mkdtemp(prefix=f".sonicmix-{name}.work-", dir=out_dir)


#: What the writers add to a final file name for their temporary file: ``io`` (``.<final>.<12 hex
#: digits>.partial``), the reports (``.<final>.partial``, the plot ``.<name>.loudness.partial.png``
#: and, from ``sonicmix.plot``, that name again ``+ .partial.png``) and ``bwf``'s copy of a file it
#: cannot fill in place (``.<that temporary file>.<8 characters>.partial``).
_SCRATCH = (
    re.compile(r"\.(?P<final>.+)\.[0-9a-f]{12}\.partial"),
    re.compile(r"\.(?P<final>.+\.report\.(?:json|txt))\.partial"),
    re.compile(r"\.(?P<name>.+)\.loudness\.partial\.png(?:\.partial\.png)?"),
)
_BEXT_COPY = re.compile(r"\.(?P<inner>\..+\.partial)\.[a-z0-9_]{8}\.partial")
#: The random part of :func:`work_folder`'s name: ``tempfile.mkdtemp``'s 8 characters, exactly, so
#: that a folder someone named in the scheme by hand (``.sonicmix-ep.work-old``) is not removed.
_WORK_TAIL = re.compile(r"[a-z0-9_]{8}")


def _scratch_final(file_name: str) -> str | None:
    """The final file name a writer's temporary ``file_name`` stands for, or None."""
    copy = _BEXT_COPY.fullmatch(file_name)
    if copy:
        return _scratch_final(copy["inner"])
    for pattern in _SCRATCH:
        found = pattern.fullmatch(file_name)
        if found:
            return found["final"] if "final" in pattern.groupindex else f"{found['name']}.loudness.png"
    return None


def _held_by_other(out_dir: str, final: str, name: str) -> bool:
    """Whether a delivery of another name that could own ``final`` runs in ``out_dir`` now.

    A final name ``a.b.wav`` is the mix of a delivery ``a.b`` or the stem ``b`` of a
    delivery ``a``: every such name's live lock keeps its files. A lock that cannot
    be read, or is held from another machine, counts as live."""
    for i, char in enumerate(final):
        other = final[:i]
        if char != "." or not other or other == name or not os.path.lexists(_lock_path(out_dir, other)):
            continue
        holder = _lock_holder(_lock_path(out_dir, other))
        if holder is None or not _is_stale(*holder):
            return True
    return False


def clear_leftovers(out_dir: str, name: str) -> list[str]:
    """Remove the scratch files that killed deliveries of ``name`` left in ``out_dir``; return their names.

    A delivery killed (``SIGKILL``, a power cut) while it rendered or wrote leaves
    its work folder (:func:`work_folder`) and the hidden temporary files of its
    deliverables (``.<name>.wav.<hex>.partial``, ``.<name>.<stem>.wav...``, the
    reports'). Only names of that scheme for this ``name`` are removed, files and
    the work folder, never anything else.

    Call it holding the lock of ``name`` in ``out_dir`` (:func:`lock`): then no
    other delivery of ``name`` is writing there, so every such file is a killed
    one's. A file name can belong to two delivery names (``ep.dialogue.wav``: the
    stem ``dialogue`` of ``ep``, or the mix of ``ep.dialogue``); it stays while a
    delivery of the other name holds its lock in ``out_dir`` (a lock from another
    machine, or unreadable, counts as held). A program other than a delivery that
    writes ``<name>.*`` files into ``out_dir`` at the same time is not seen. What
    cannot be removed, or a folder that cannot be listed, is logged and left:
    nothing reads those names.

    Examples
    --------
    >>> import shutil, tempfile
    >>> out = tempfile.mkdtemp()
    >>> for left in (".ep.wav.0123456789ab.partial", ".ep.report.json.partial", ".epic.wav.1f.partial"):
    ...     open(os.path.join(out, left), "w").close()
    >>> clear_leftovers(out, "ep")
    ['.ep.report.json.partial', '.ep.wav.0123456789ab.partial']
    >>> os.listdir(out)
    ['.epic.wav.1f.partial']
    >>> shutil.rmtree(out)
    """
    import shutil

    work = f".sonicmix-{name}.work-"
    removed: list[str] = []
    try:
        entries = sorted(os.scandir(out_dir), key=lambda e: e.name)
    except OSError as err:  # a folder one may write into but not list: leftovers harm no delivery
        _logger.warning("%s: cannot look for what a killed delivery of %r left: %s", out_dir, name, err)
        return removed
    for entry in entries:
        if entry.name.startswith(work) and _WORK_TAIL.fullmatch(entry.name[len(work) :]):
            if not entry.is_dir(follow_symlinks=False):
                continue
            remove = shutil.rmtree
        else:
            final = _scratch_final(entry.name)
            if not (final and final.startswith(f"{name}.") and entry.is_file(follow_symlinks=False)):
                continue
            if _held_by_other(out_dir, final, name):
                continue
            remove = os.unlink
        try:
            remove(entry.path)
        except FileNotFoundError:
            continue
        except OSError as err:
            _logger.warning("%s: could not remove %s (a killed delivery's): %s", out_dir, entry.name, err)
            continue
        removed.append(entry.name)
    if removed:
        _logger.warning(
            "%s: removed what a killed delivery of %r left: %s", out_dir, name, ", ".join(removed)
        )
    return removed


class _Staging:
    """One folder's part of a commit: its old files set aside, and the record to finish or undo it."""

    def __init__(self, path: str, token: str, names: list[str], replaced: list[str] | None = None) -> None:
        self.path, self.folder, self.token, self.names = path, os.path.dirname(path), token, names
        if replaced is None:  # decided before anything moves, and recorded
            replaced = [n for n in names if os.path.lexists(os.path.join(self.folder, n))]
        self.replaced = replaced
        self.begun = False
        self.doing = f"creating the staging folder {path!r}"

    @classmethod
    def load(cls, path: str) -> tuple[_Staging, str, list[str]] | None:
        """The staging folder at ``path`` as recorded, its marker's path and its commit's staging folders."""
        try:
            with open(os.path.join(path, _MANIFEST), encoding="utf-8") as fh:
                record = json.load(fh)
        except FileNotFoundError:
            return None
        staging = cls(path, record["token"], record["files"], record["replaced"])
        staging.begun = True
        where = [os.path.normpath(os.path.join(path, p)) for p in (record["marker"], *record["group"])]
        return staging, where[0], where[1:]

    def _at(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def begin(self, marker: str, group: list[str]) -> None:
        os.mkdir(self.path)  # exists: another commit is under way or was left (a FileExistsError)
        self.begun = True
        record = {
            "token": self.token,
            "files": self.names,
            "replaced": self.replaced,
            "marker": os.path.relpath(marker, self.path),  # relative: the tree may be moved before recovery
            "group": [os.path.relpath(g, self.path) for g in group],
        }
        self.doing = f"writing the commit's record in {self.path!r}"
        _write_durably(os.path.join(self.path, _MANIFEST), json.dumps(record, indent=1))

    def set_aside(self) -> None:
        from sonicmix.io import _fsync_folder

        for n in self.replaced:
            self.doing = f"moving the previous {self._at(n)!r} aside into {self.path!r}"
            os.replace(self._at(n), os.path.join(self.path, n))
        _fsync_folder(self.path)
        _fsync_folder(self.folder)

    def place(self, moves: list[tuple[str, str]]) -> None:
        from sonicmix.io import _fsync_folder

        for tmp, n in moves:
            self.doing = f"moving the new {self._at(n)!r} into place"
            os.replace(tmp, self._at(n))
        _fsync_folder(self.folder)

    def roll_back(self) -> None:
        """Remove the new files placed, put the old ones back, then remove the staging folder."""
        if not self.begun:
            return
        for n in self.names:
            kept = os.path.join(self.path, n)
            if n in self.replaced:
                if os.path.lexists(kept):  # else it never moved
                    os.replace(kept, self._at(n))
            elif os.path.lexists(self._at(n)):  # nothing was there before this commit
                os.unlink(self._at(n))
        self.discard()

    def discard(self) -> None:
        """Delete the staging folder, its record last but the marker (a kill midway leaves it readable)."""
        for n in self.names:
            _unlink(os.path.join(self.path, n))
        _unlink(os.path.join(self.path, _MANIFEST))
        try:
            left = os.listdir(self.path)
        except FileNotFoundError:
            return
        for n in left:  # a manifest half written, the marker: what a killed commit leaves without a record
            if n.startswith("committed-") or n == f"{_MANIFEST}.tmp":
                _unlink(os.path.join(self.path, n))
        os.rmdir(self.path)  # anything else in it is not ours: an OSError


def _undo(stagings: list[_Staging], marker: str, name: str, doing: str, err: BaseException) -> BaseException:
    """Roll every folder back after ``err``; return the error to raise (naming the step at fault)."""
    from sonicmix.errors import AudioFileError

    stuck = []
    try:
        _unlink(marker)  # written just before an interrupt, it would make a recovery keep the new files
    except OSError as problem:
        stuck.append(f"{marker!r} ({problem.strerror or problem})")
    for staging in stagings if not stuck else []:
        try:
            staging.roll_back()
        except OSError as problem:  # noqa: PERF203 - every folder is tried
            stuck.append(f"{staging.path!r} ({problem.strerror or problem})")
    if stuck:
        outcome = (
            f"putting the previous files back failed too: they are in {', '.join(stuck)}; the next delivery "
            f"of name={name!r} there puts them back (or move them back by hand)"
        )
    else:
        outcome = "the previous files are back under their names and none of the new ones is left"
    if not isinstance(err, OSError):
        return err
    cause = err.strerror or str(err) or type(err).__name__
    return AudioFileError(f"cannot commit the delivery name={name!r}: {doing} failed ({cause}); {outcome}")


def _write_durably(path: str, text: str) -> None:
    from sonicmix.io import _fsync_folder

    with open(f"{path}.tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(f"{path}.tmp", path)
    _fsync_folder(os.path.dirname(path))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
