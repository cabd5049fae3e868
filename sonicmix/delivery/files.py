"""Where a delivery's files go: their paths proven inside the output folder, the lock, no replacing.

Everything here runs before the render, so a delivery that cannot be written fails before any work.
"""

from __future__ import annotations

import os
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
