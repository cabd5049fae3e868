"""Rendering to a loudness target: closed-loop normalisation, true-peak limiting, deliverable files.

:func:`deliver` renders a graph once (kept in memory while it fits in
``memory_mb``, otherwise in temporary float32 files, so memory stays
constant), then:

1. measures the mix and sets the gain that brings it to the target;
2. applies the gain and a true-peak :class:`~sonicmix.nodes.limiter.Limiter`
   at the target's ceiling, **re-measures the result**, and corrects the gain
   until the integrated loudness is within ``tolerance_lu`` (0.1 LU, or the
   target's own tolerance if tighter) and the true peak is at or under the
   ceiling;
3. writes the deliverables: the mix, and every stem multiplied by the *same*
   gain and the *same* limiter gain curve, so the stems sum to the mix
   (they null against it when they cover all sources and the master bus has
   no processing of its own); optionally an M&E mix (every stem but the
   dialogue ones). The first pass of step 2 already writes them under
   temporary names, and is the last pass when it lands within tolerance;
4. measures every deliverable on the samples exactly as the file stores them
   (after dither and quantisation): the reports describe the files as
   delivered, and the mix is judged against the target.

Nothing is written under a deliverable's name unless every file of the
delivery succeeds. Where the target cannot be met (a silent programme, or
more limiting than ``max_limiting_db``) the report says exactly why, no file
is written, and ``strict=True`` raises :class:`TargetNotMetError`.

Dialogue-gated measurement (for targets with ``measurement="dialogue"``) is
stem-informed: the programme's 400 ms blocks count only where the dialogue
stem's own block is above its BS.1770 relative gate. This is an estimate of
speech-gated loudness, not a replacement for Dolby Dialogue Intelligence.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from sonicmix.errors import ParameterError, SonicmixError
from sonicmix.graph import Graph
from sonicmix.loudness import LoudnessMeter, LoudnessReport
from sonicmix.targets import LoudnessTarget, get_target

__all__ = ["deliver", "Delivery", "TargetNotMetError"]

_BLOCK = 1 << 15


class TargetNotMetError(SonicmixError):
    """A delivery could not meet its loudness target (raised only with ``strict=True``)."""


@dataclass(frozen=True, eq=False)
class Delivery:
    """What :func:`deliver` did: files, measurements, compliance, and why it failed if it did.

    Attributes
    ----------
    passed : bool
        True when the mix meets the target and every file was written.
    reasons : tuple of str
        Why not, when ``passed`` is False.
    gain_db : float
        Gain applied to the mix and to every stem before limiting.
    iterations : int
        Measure-and-correct passes the closed loop took.
    limiter : dict
        Gain-reduction statistics of the master limiter (max reduction in dB,
        share of time reducing by more than 0.1 dB).
    files : dict of str to str
        Deliverable name to path (empty when nothing was written).
    reports : dict of str to LoudnessReport
        Measurement of every written file, read back from disk.
    compliance : Compliance or None
        The mix judged against the target.
    notes : tuple of str
        What a reviewer should know that does not fail the delivery: stems
        or the M&E mix whose true peak is over the target's ceiling (they
        carry the mix's gain and limiter curve so that they sum to it, and a
        stem may peak higher than the mix it is part of).
    warnings : tuple of str
        What passes but deserves a look: the master limiter reduced the gain by
        more than ``warn_limiting_db`` (the peaks are high for the loudness, and
        heavy limiting is audible).
    clip_gains_db : dict of str to tuple of float
        For tracks with ``clip_loudness_lufs``: the gain chosen for each of their clips.
    """

    target: LoudnessTarget
    passed: bool
    reasons: tuple[str, ...]
    gain_db: float
    iterations: int
    limiter: dict[str, float]
    files: dict[str, str] = field(default_factory=dict)
    reports: dict[str, LoudnessReport] = field(default_factory=dict)
    compliance: Any = None
    elapsed_s: float = 0.0
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    clip_gains_db: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: every measured value, the target, pass/fail per criterion, gains."""
        import sonicmix

        return {
            "sonicmix_version": sonicmix.__version__,
            "target": self.target.to_dict(),
            "passed": self.passed,
            "reasons": list(self.reasons),
            "gain_db": _finite_or_none(self.gain_db),
            "iterations": self.iterations,
            "limiter": {k: _finite_or_none(v) for k, v in self.limiter.items()},
            "files": dict(self.files),
            "compliance": None if self.compliance is None else self.compliance.to_dict(),
            "measurements": {name: r.to_dict(series=False) for name, r in self.reports.items()},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "clip_gains_db": {t: [round(g, 2) for g in gains] for t, gains in self.clip_gains_db.items()},
            "elapsed_s": self.elapsed_s,
        }

    def __str__(self) -> str:
        lines = [f"Delivery to {self.target.name}: {'PASSED' if self.passed else 'FAILED'}"]
        lines += [f"  reason: {r}" for r in self.reasons]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(
            f"  gain {self.gain_db:+.2f} dB after {self.iterations} pass(es); limiter max reduction "
            f"{self.limiter.get('max_reduction_db', 0.0):.2f} dB"
        )
        for track, gains in self.clip_gains_db.items():
            lines.append(f"  clip gains of {track!r}: " + ", ".join(f"{g:+.1f}" for g in gains) + " dB")
        if self.compliance is not None:
            lines.append(str(self.compliance))
        width = max((len(str(p)) for p in self.files.values()), default=0)
        for name, path in self.files.items():
            r = self.reports.get(name)
            extra = f"  {r.integrated_lufs:6.1f} LUFS  {r.true_peak_dbtp:6.2f} dBTP" if r else ""
            lines.append(f"  {name:<12} {str(path):<{width}}{extra}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from sonicmix.display import html

        return html(self)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def dialogue_gated_lufs(programme: np.ndarray, dialogue: np.ndarray) -> float:
    """Programme loudness over the blocks where dialogue is active (stem-informed estimate).

    ``programme`` and ``dialogue`` are the 400 ms block powers
    (:attr:`LoudnessReport.block_powers`) of the mix and of the dialogue stem. A block counts
    when the dialogue stem's block passes the BS.1770 gates computed on the
    dialogue stem itself (-70 LUFS absolute, -10 LU relative).
    """
    from sonicmix.loudness.meter import gate_blocks

    active, _ = gate_blocks(dialogue)
    power = programme[: active.size][active[: programme.size]]
    return float(-0.691 + 10 * np.log10(power.mean())) if power.size and power.mean() > 0 else -math.inf


def deliver(
    graph: Graph,
    target: LoudnessTarget | str,
    out_dir: str | os.PathLike[str],
    *,
    sample_rate: int = 48000,
    name: str = "mix",
    stems: Sequence[str] | None = None,
    dialogue: Sequence[str] = ("dialogue",),
    me_mix: bool = False,
    subtype: Literal["PCM_24", "PCM_16", "FLOAT"] = "PCM_24",
    bext: bool = True,
    tolerance_lu: float = 0.1,
    max_limiting_db: float = 12.0,
    warn_limiting_db: float = 3.0,
    max_iterations: int = 6,
    release_s: float = 0.05,
    lookahead_s: float | None = None,
    strict: bool = False,
    block_size: int = 1 << 16,
    tail_s: float = 0.0,
    seed: int = 0,
    inputs: Sequence[str] = (),
    reports: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    threads: int = 1,
    memory_mb: float = 768.0,
    overwrite: bool = False,
) -> Delivery:
    """Render ``graph`` to ``target`` and write the deliverables into ``out_dir``.

    Parameters
    ----------
    graph : Graph
        The mix. Its buses other than the master are the stems.
    target : LoudnessTarget or str
        Target or preset name (see :data:`sonicmix.targets.PRESETS`).
    out_dir : path
        Folder for the files (created if missing): ``<name>.wav``, ``<name>.<stem>.wav``,
        ``<name>.ME.wav`` and, with ``reports``, ``<name>.report.json``,
        ``<name>.report.txt`` and (when matplotlib is installed)
        ``<name>.loudness.png``. A delivery of the same ``name`` already there is
        refused (before anything is rendered) unless ``overwrite=True``, and two
        deliveries of one name into one folder cannot run at once (see ``overwrite``).
    sample_rate : int, default 48000
    stems : sequence of str, optional
        Buses delivered as stems (default: every bus but the master).
    dialogue : sequence of str, default ("dialogue",)
        Stems that hold dialogue: they gate dialogue-gated measurement and are
        left out of the M&E mix.
    me_mix : bool, default False
        Also deliver the M&E mix (music and effects: every stem but dialogue).
    subtype : {"PCM_24", "PCM_16", "FLOAT"}, default "PCM_24"
        Sample format (PCM with seeded TPDF dither).
    bext : bool, default True
        Add a BWF ``bext`` chunk with the EBU Tech 3285 loudness fields (WAV, PCM or float).
        Its origination date and time are now, or ``SOURCE_DATE_EPOCH`` (seconds,
        UTC) when that environment variable is set, for byte-identical re-deliveries.
    tolerance_lu : float, default 0.1
        The closed loop stops within this distance of the target (or the
        target's own tolerance if tighter).
    max_limiting_db : float, default 12.0
        Largest gain reduction the limiter may apply; needing more fails.
    warn_limiting_db : float, default 3.0
        A delivery whose limiter reduces the gain by more than this many dB
        still passes, with a warning in :attr:`Delivery.warnings` (and the reports).
    overwrite : bool, default False
        Replace the files of a delivery of the same ``name`` in ``out_dir``.
        Without it, any of them existing raises :class:`~sonicmix.errors.AudioFileError`
        before the render starts. Either way a lock file ``.sonicmix-<name>.lock``
        (created atomically, removed at the end) keeps a second delivery of the
        same name out of the folder while one runs: the second one raises
        ``AudioFileError`` at once. A lock left by a killed process on this
        machine is taken over.
    strict : bool, default False
        Raise :class:`TargetNotMetError` instead of returning a failed delivery.

    Other Parameters
    ----------------
    max_iterations, release_s, block_size, tail_s, seed, inputs
    lookahead_s : float, optional
        The true-peak limiter's lookahead: by default 5 ms, or 64 samples where
        that is longer (below 12.8 kHz; see
        :meth:`sonicmix.nodes.limiter.Limiter.min_lookahead_s`). A given value shorter
        than 64 samples at ``sample_rate`` is refused before the render.
    threads : int, default 1
        Threads for rendering the graph (see :func:`sonicmix.renderer.render`)
        and for writing and measuring the deliverables file by file. The
        files are identical whatever the number.
    memory_mb : float, default 768
        The render (mix and stems, float32) stays in memory for the closed
        loop while it fits in this many MiB; a longer one goes to temporary
        files next to the deliverables, so memory stays constant.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` with ``stage`` one of
        ``"render"``, ``"measure"`` (a pass of the loop) and ``"write"``,
        ``done`` and ``total`` in samples.

    Returns
    -------
    Delivery
    """
    from sonicmix.compliance import evaluate
    from sonicmix.nodes.limiter import Limiter
    from sonicmix.renderer import render_blocks

    started = time.perf_counter()
    from sonicmix._checks import check_range

    if not isinstance(graph, Graph):
        raise ParameterError(f"graph={graph!r}; expected a sonicmix.graph.Graph")
    target = get_target(target)
    check_range("tolerance_lu", tolerance_lu, low=0.0, low_inclusive=False, hint="in LU, e.g. 0.1")
    check_range("max_limiting_db", max_limiting_db, low=0.0)
    check_range("warn_limiting_db", warn_limiting_db, low=0.0, hint="dB of gain reduction, e.g. 3.0")
    check_range("memory_mb", memory_mb, low=0.0, hint="in MiB; 0 keeps nothing in memory")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
        raise ParameterError(f"max_iterations={max_iterations!r}; expected a whole number >= 1")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ParameterError(
            f"out_dir={out_dir!r} is not an existing folder but a file; expected a folder "
            "(one that does not exist yet is created)"
        )
    stem_names = [b for b in graph.buses if b != graph.master] if stems is None else list(stems)
    for stem in stem_names:
        if stem not in graph.buses or stem == graph.master:
            from sonicmix.errors import GraphError
            from sonicmix.graph import _did_you_mean

            raise GraphError(
                f"stem {stem!r} is not a bus of the graph (other than the master)"
                f"{_did_you_mean(stem, [b for b in graph.buses if b != graph.master])}"
            )
    final = _deliverable_paths(out_dir, name, stem_names, me_mix, reports)
    closeness = min(
        tolerance_lu, target.tolerance_below_lu or tolerance_lu, target.tolerance_above_lu or tolerance_lu
    )
    if lookahead_s is None:  # 5 ms, but at least the 64 samples the limiter needs at low rates
        lookahead_s = max(0.005, Limiter.min_lookahead_s(sample_rate))
    limiter = Limiter(ceiling_dbtp=target.true_peak_dbtp, release_s=release_s, lookahead_s=lookahead_s)
    limiter.margin_db(sample_rate)  # a lookahead too short at this rate fails here, before the render
    dialogue_stems = [d for d in dialogue if d in stem_names]
    if target.measurement == "dialogue" and not dialogue_stems:
        raise ParameterError(
            f"target {target.name!r} is dialogue-gated but none of dialogue={tuple(dialogue)!r} is among the "
            f"stems {stem_names}; name the dialogue bus with dialogue=(...)"
        )
    names = ["master", *stem_names]
    channels = {n: _channels(graph, n) for n in names}
    tell = progress if progress is not None else (lambda stage, done, total: None)
    origination = _origination() if bext else (None, None)  # a bad SOURCE_DATE_EPOCH fails before work
    if subtype == "FLOAT":  # ... and so it does for float files' PEAK chunk (32 bits)
        from sonicmix._wav import peak_timestamp

        peak_timestamp()
    created = not os.path.exists(out_dir)
    if created:  # removed again below if the delivery leaves nothing in it
        os.makedirs(out_dir)
    lock = _lock(out_dir, name)  # one delivery of a name in a folder at a time
    try:
        if not overwrite:
            _refuse_existing(final, out_dir, name, reports)
        work = tempfile.mkdtemp(prefix=".sonicmix-", dir=out_dir)
    except BaseException:
        _unlock(lock)
        if created and not os.listdir(out_dir):
            os.rmdir(out_dir)
        raise
    pool = None
    if threads > 1:  # the deliverables are written and measured file by file in parallel
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sonicmix-deliver")
    try:
        # 1. render the graph once; keep it (in memory while it fits) for the closed loop
        renders = _Renders(work, channels, sample_rate, memory_mb)
        meter = None
        dialogue_meters: dict[str, LoudnessMeter] = {}
        blocks = render_blocks(
            graph,
            sample_rate=sample_rate,
            block_size=block_size,
            stems=stem_names,
            tail_s=tail_s,
            progress=lambda done, total: tell("render", done, total),
            threads=threads,
        )
        for _, out in blocks:
            if meter is None:
                meter = LoudnessMeter(sample_rate, channels=channels["master"], true_peak=False)
            meter.update(out["master"])
            if target.measurement == "dialogue":
                for d in dialogue_stems:
                    dialogue_meters.setdefault(
                        d, LoudnessMeter(sample_rate, channels=channels[d], true_peak=False)
                    ).update(out[d])
            renders.append(out)
        renders.commit()
        if meter is None:
            raise ParameterError("the graph renders no samples; expected clips on its tracks (or duration_s)")
        before = meter.report()
        # dialogue gate: summed 400 ms block powers of the dialogue stems, before gain
        gate_power = None
        if dialogue_meters:
            gate_power = sum(m.report().block_powers for m in dialogue_meters.values())

        # 2. closed loop: gain, limiter, re-measure. The first pass also writes the deliverables
        # (under temporary names): when it lands within tolerance, as it does unless the limiter
        # works hard, it is the last pass. Later passes measure the mix only.
        if me_mix:
            channels["ME"] = channels["master"]

        def deliverables() -> _Deliverables:
            return _Deliverables(
                final,
                name,
                stem_names,
                dialogue_stems,
                channels,
                sample_rate,
                subtype,
                seed,
                inputs,
                pool,
                reserve_bext=bext,
            )

        reasons: list[str] = []
        limiter_stats = {"max_reduction_db": 0.0, "time_limiting_percent": 0.0}
        gain_db = math.nan
        iterations = 0
        written: _Deliverables | None = None
        measured = _measured(before, gate_power)
        if not math.isfinite(measured):
            reasons.append(
                "the programme is silent or shorter than one 400 ms block: its loudness is undefined, "
                "so no gain can bring it to the target"
            )
        else:
            gain_db = target.integrated_lufs - measured
            previous: tuple[float, float] | None = None
            for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported below
                sink = deliverables() if iterations == 1 else None
                try:
                    result, limiter_stats = _limited_pass(
                        renders, gain_db, limiter, sample_rate, block_size, sink, tell
                    )
                except BaseException:
                    if sink is not None:
                        sink.abort()
                    raise
                reached = _measured(result, gate_power)
                error = target.integrated_lufs - reached
                done = abs(error) <= closeness and result.true_peak_dbtp <= target.true_peak_dbtp
                if done and limiter_stats["max_reduction_db"] <= max_limiting_db:
                    written = sink
                    break
                if sink is not None:
                    sink.abort()
                if limiter_stats["max_reduction_db"] > max_limiting_db:
                    reasons.append(
                        f"reaching {target.integrated_lufs:g} LUFS needs "
                        f"{limiter_stats['max_reduction_db']:.1f} dB of limiting, more than "
                        f"max_limiting_db={max_limiting_db:g} (the programme's peaks are too high for its "
                        "loudness: compress it, or allow more limiting)"
                    )
                    break
                # Secant step: limiting makes loudness grow slower than the gain (slope <= 1).
                slope = 1.0
                if previous is not None and gain_db != previous[0]:
                    slope = min(1.0, max(0.2, (reached - previous[1]) / (gain_db - previous[0])))
                previous = (gain_db, reached)
                gain_db += error / slope
            else:
                reasons.append(
                    f"the loudness did not converge within {max_iterations} passes "
                    f"(last error {error:+.2f} LU)"
                )
        if reasons:
            return _failed(target, reasons, gain_db, iterations, limiter_stats, strict, started)

        # 3. the deliverables: written by the converged pass, or by one more pass at its gain
        if written is None:
            written = deliverables()
            try:
                _limited_pass(renders, gain_db, limiter, sample_rate, block_size, written, tell)
            except BaseException:
                written.abort()
                raise
        try:
            measured_files = written.finish()

            # 4. judge the mix as written (the meters saw the samples the files hold)
            mix_report = measured_files[name]
            if target.measurement == "dialogue":
                dialogue_power = sum(measured_files[d].block_powers for d in dialogue_stems)
                gated = dialogue_gated_lufs(mix_report.block_powers, dialogue_power)
                mix_report = dataclasses.replace(mix_report, dialogue_lufs=gated)
                measured_files[name] = mix_report
            compliance = evaluate(mix_report, target)
            notes = tuple(
                f"{key} peaks at {r.true_peak_dbtp:.2f} dBTP, over the {target.true_peak_dbtp:g} dBTP "
                "ceiling (stems share the mix's gain and limiter so they sum to it; limit the stem itself "
                "if it must comply on its own)"
                for key, r in measured_files.items()
                if key != name and r.true_peak_dbtp > target.true_peak_dbtp
            )
            warnings = _limiting_warnings(limiter_stats, warn_limiting_db, target)
            if strict and not compliance.passed:
                reasons_text = "; ".join(str(c.reason) for c in compliance.failures)
                raise TargetNotMetError(
                    f"{reasons_text or 'the delivery did not meet its target'} (nothing was written)"
                )
            # 5. finish every file under its temporary name (bext, reports), then move them all.
            # The writers left room for the bext chunk: write_bext fills it in place (no copy of the file).
            if bext:
                from sonicmix.bwf import ascii_rendition, write_bext

                date, clock = origination
                for key, pending in written.pending().items():
                    write_bext(
                        pending,
                        report=measured_files[key],
                        description=ascii_rendition(f"sonicmix {name} {key} for {target.name}"),
                        origination_date=date,
                        origination_time=clock,
                    )
            delivery = Delivery(
                target=target,
                passed=compliance.passed,
                reasons=tuple(str(c.reason) for c in compliance.failures),
                gain_db=gain_db,
                iterations=iterations,
                limiter=limiter_stats,
                files=final,
                reports=measured_files,
                compliance=compliance,
                elapsed_s=time.perf_counter() - started,
                notes=notes + blocks.notes,
                warnings=warnings,
                clip_gains_db=blocks.clip_gains_db,
            )
            if reports:
                written.extra.extend(_write_reports(delivery, out_dir, name))
            written.commit()
        except BaseException:
            written.abort()
            raise
        return delivery
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pool is not None:
            pool.shutdown()
        _unlock(lock)
        if created and not os.listdir(out_dir):
            os.rmdir(out_dir)


def _limiting_warnings(stats: dict[str, float], warn_db: float, target: LoudnessTarget) -> tuple[str, ...]:
    """A warning when the master limiter worked harder than ``warn_db`` (the delivery still passes)."""
    reduction = stats.get("max_reduction_db", 0.0)
    if not reduction > warn_db:
        return ()
    return (
        f"heavy limiting: up to {reduction:.1f} dB of true-peak limiting "
        f"({stats.get('time_limiting_percent', 0.0):.0f} % of the time) for {target.integrated_lufs:g} LUFS, "
        f"more than warn_limiting_db={warn_db:g} (the peaks are high for the loudness: compress or limit "
        "in the mix, or raise warn_limiting_db if intended)",
    )


def _lock_path(out_dir: str, name: str) -> str:
    return os.path.join(out_dir, f".sonicmix-{name}.lock")


def _lock(out_dir: str, name: str) -> str:
    """Create the delivery's lock file atomically (``O_EXCL``); return its path.

    It holds ``<pid> <host>``. A lock whose process is gone on this host (a killed
    delivery) is taken over; any other lock means a delivery of ``name`` is running
    in ``out_dir`` now, and a second one would replace its files as it finishes.
    """
    import socket

    from sonicmix.errors import AudioFileError

    path = _lock_path(out_dir, name)
    me = f"{os.getpid()} {socket.gethostname()}\n"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
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


def _unlock(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _refuse_existing(final: dict[str, str], out_dir: str, name: str, reports: bool) -> None:
    """Refuse to replace a delivery of ``name`` (any of its files) that is already in ``out_dir``."""
    from sonicmix.errors import AudioFileError

    paths = list(final.values())
    if reports:
        paths += [os.path.join(out_dir, f"{name}{suffix}") for suffix in _REPORT_SUFFIXES]
    there = [p for p in paths if os.path.lexists(p)]
    if there:
        more = f" and {len(there) - 1} more of its files" if len(there) > 1 else ""
        raise AudioFileError(
            f"cannot deliver name={name!r} into out_dir={out_dir!r}: a delivery of that name is already "
            f"there ({there[0]!r}{more}); expected overwrite=True to replace it (--force on the command "
            "line), or another name (--name) or folder. Nothing was rendered"
        )


#: The report files a delivery writes beside its audio, ``<name><suffix>``.
_REPORT_SUFFIXES = (".report.json", ".report.txt", ".loudness.png")


def _origination() -> tuple[str | None, str | None]:
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


def _channels(graph: Graph, bus: str) -> int:
    from sonicmix.layouts import LAYOUTS

    return LAYOUTS[graph.buses[graph.master if bus == "master" else bus].layout].n_channels


class _Renders:
    """The rendered mix and stems (float32), kept for the closed loop's passes.

    Blocks stay in memory while their total size is within ``memory_mb``;
    past that, everything goes to temporary float32 files in ``folder``, so a
    long programme is delivered in constant memory.
    """

    def __init__(self, folder: str, channels: dict[str, int], sample_rate: int, memory_mb: float) -> None:
        self.folder, self.channels, self.sample_rate = folder, channels, sample_rate
        self.budget = memory_mb * 2**20
        self.held: list[dict[str, np.ndarray]] = []
        self.size = 0
        self.frames = 0
        self.writers: dict[str, Any] | None = None
        self.paths = {n: os.path.join(folder, f"{i:02d}.wav") for i, n in enumerate(channels)}

    def append(self, out: dict[str, np.ndarray]) -> None:
        self.frames += out["master"].shape[1]
        if self.writers is None:
            size = sum(b.shape[0] * b.shape[1] * 4 for b in out.values())
            if self.size + size <= self.budget:
                # copies: a block handed out by the renderer is not ours to keep
                self.held.append({n: np.array(b, np.float32) for n, b in out.items()})
                self.size += size
                return
            self._spill()
        for n, w in self.writers.items():
            w.write(out[n], check=False)

    def _spill(self) -> None:
        from sonicmix.io import AudioWriter

        self.writers = {
            n: AudioWriter(p, self.sample_rate, self.channels[n], subtype="FLOAT", peak_time=0)  # scratch
            for n, p in self.paths.items()
        }
        for block_set in self.held:
            for n, w in self.writers.items():
                w.write(block_set[n], check=False)
        self.held = []

    def commit(self) -> None:
        for w in (self.writers or {}).values():
            w.commit()

    def blocks(self, size: int, names: Sequence[str]):
        """Yield ``{name: block}`` for ``names`` in order (the render's block size when in memory)."""
        if self.writers is None:
            for block_set in self.held:
                yield {n: block_set[n] for n in names}
            return
        import soundfile as sf

        handles = {n: sf.SoundFile(self.paths[n]) for n in names}
        try:
            while True:
                out = {
                    n: np.ascontiguousarray(h.read(size, dtype="float32", always_2d=True).T)
                    for n, h in handles.items()
                }
                if not next(iter(out.values())).shape[1]:
                    return
                yield out
        finally:
            for h in handles.values():
                h.close()


class _Deliverables:
    """The deliverable files of one pass, written under temporary names and measured as stored."""

    def __init__(
        self,
        final: dict[str, str],
        mix_name: str,
        stem_names: list[str],
        dialogue_stems: list[str],
        channels: dict[str, int],
        sample_rate: int,
        subtype: str,
        seed: int,
        inputs: Sequence[str],
        pool: Any = None,
        *,
        reserve_bext: bool = False,
    ) -> None:
        from sonicmix.io import AudioWriter

        self.pool = pool
        self.final, self.mix_name = final, mix_name
        self.stem_names, self.dialogue_stems = stem_names, dialogue_stems
        self.extra: list[tuple[str, str]] = []  # report files: (temporary name, final name)
        self.moved: list[str] = []
        self.names = ["master", *stem_names]
        self.writers: dict[str, Any] = {}
        self.meters = {
            k: LoudnessMeter(sample_rate, channels=channels["master" if k in (mix_name, "ME") else k])
            for k in final
        }
        try:
            for i, (k, p) in enumerate(final.items()):
                ch = channels["master" if k in (mix_name, "ME") else k]
                # with room for the bext chunk, step 5 writes it in place instead of copying the file
                self.writers[k] = AudioWriter(
                    p,
                    sample_rate,
                    ch,
                    subtype=subtype,
                    seed=seed + i,
                    inputs=inputs,
                    reserve_bext=reserve_bext,
                )
        except BaseException:
            self.abort()
            raise

    def __call__(self, outputs: dict[str, np.ndarray]) -> None:
        blocks = {self.mix_name: outputs["master"], **{s: outputs[s] for s in self.stem_names}}
        if "ME" in self.final:
            me = sum(outputs[s] for s in self.stem_names if s not in self.dialogue_stems)
            blocks["ME"] = np.asarray(me, np.float32)

        def store(k: str) -> None:  # each file has its own writer (and dither) and meter
            self.meters[k].update(self.writers[k].write(blocks[k], check=False, stored=True))

        if self.pool is None:
            for k in blocks:
                store(k)
        else:
            for job in [self.pool.submit(store, k) for k in blocks]:
                job.result()

    @property
    def master_meter(self) -> LoudnessMeter:
        return self.meters[self.mix_name]

    def finish(self) -> dict[str, LoudnessReport]:
        """Complete every file under its temporary name; return their reports."""
        for w in self.writers.values():
            w.finish()
        return {k: m.report() for k, m in self.meters.items()}

    def pending(self) -> dict[str, str]:
        """Temporary name of every finished file."""
        return {k: w.finish() for k, w in self.writers.items()}

    def commit(self) -> None:
        """Move every file under its final name (all or nothing, short of a killed process)."""
        try:
            for w in self.writers.values():
                w.commit()
            for tmp, path in self.extra:
                os.replace(tmp, path)
                self.moved.append(path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()
        for k, p in self.final.items():  # commit renames one by one: undo those that happened
            w = self.writers.get(k)
            if w is not None and w.result is not None and os.path.exists(p):
                os.unlink(p)
        for path in [tmp for tmp, _ in self.extra] + self.moved:
            if os.path.exists(path):
                os.unlink(path)
        self.extra, self.moved = [], []


def _measured(report: LoudnessReport, gate_power: np.ndarray | None) -> float:
    """Integrated loudness, or the dialogue-gated estimate when ``gate_power`` is given."""
    if gate_power is None:
        return report.integrated_lufs
    return dialogue_gated_lufs(report.block_powers, gate_power)


def _limited_pass(
    renders: _Renders,
    gain_db: float,
    limiter: Any,
    sample_rate: int,
    block_size: int,
    sink: _Deliverables | None,
    tell: Callable[[str, int, int], None],
) -> tuple[LoudnessReport, dict[str, float]]:
    """Gain + limiter over the rendered mix, measured; with a ``sink``, the stems too, written.

    Without a sink only the mix is processed (the loop's measuring passes).
    Returns the mix's report (as stored, when written) and the limiter's statistics.
    """
    from sonicmix.dsp.delayline import delayed_copy

    gain = np.float32(10 ** (gain_db / 20))
    latency = limiter.latency_samples(sample_rate)
    names = renders.channels if sink is not None else ["master"]
    names = [n for n in names if n in renders.paths]
    state = limiter.init_state(renders.channels["master"], sample_rate, np.float32)
    # the gain curve applies to the signals delayed by the limiter's lookahead
    history = {k: np.zeros((renders.channels[k], latency), np.float32) for k in names}
    meter = LoudnessMeter(sample_rate, channels=renders.channels["master"]) if sink is None else None
    min_gain, limiting, total = 1.0, 0, 0
    skip = latency
    stage = "write" if sink is not None else "measure"
    expected = renders.frames

    def step(block_set: dict[str, np.ndarray]) -> None:
        nonlocal state, min_gain, limiting, total, skip
        master = block_set["master"] * gain
        g, state = limiter.gain(master, sample_rate, state)
        n = master.shape[1]
        outputs = {}
        for key, past in history.items():
            delayed = delayed_copy(master if key == "master" else block_set[key] * gain, past)
            outputs[key] = np.multiply(delayed, g, out=delayed)
        drop = min(skip, n)
        skip -= drop
        if drop == n:
            return
        outputs = {k: v[:, drop:] for k, v in outputs.items()}
        kept = g[:, drop:]
        min_gain = min(min_gain, float(kept.min()))
        limiting += int(np.count_nonzero(kept.min(axis=0) < 10 ** (-0.1 / 20)))
        total += kept.shape[1]
        if sink is None:
            meter.update(outputs["master"])
        else:
            sink(outputs)
        tell(stage, min(total, expected), expected)

    last: dict[str, np.ndarray] = {}
    for block_set in renders.blocks(block_size, names):
        step(block_set)
        last = block_set
    if latency and last:  # flush the limiter's lookahead with silence
        step({k: np.zeros((v.shape[0], latency), np.float32) for k, v in last.items()})
    stats = {
        "max_reduction_db": max(0.0, float(-20 * math.log10(min_gain))) if min_gain > 0 else math.inf,
        "time_limiting_percent": 100.0 * limiting / total if total else 0.0,
    }
    return (meter if sink is None else sink.master_meter).report(), stats


def _failed(
    target: LoudnessTarget,
    reasons: list[str],
    gain_db: float,
    iterations: int,
    limiter_stats: dict[str, float],
    strict: bool,
    started: float,
) -> Delivery:
    if strict:
        raise TargetNotMetError("; ".join(reasons) + " (nothing was written)")
    return Delivery(
        target=target,
        passed=False,
        reasons=tuple(reasons),
        gain_db=gain_db,
        iterations=iterations,
        limiter=limiter_stats,
        elapsed_s=time.perf_counter() - started,
    )


def _deliverable_paths(
    out_dir: str, name: str, stems: Sequence[str], me_mix: bool, reports: bool
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
    final = {name: os.path.join(out_dir, f"{name}.wav")}
    final.update({s: os.path.join(out_dir, f"{name}.{s}.wav") for s in stems})
    if me_mix:
        final["ME"] = os.path.join(out_dir, f"{name}.ME.wav")
    extra = [f"{name}.report.json", f"{name}.report.txt", f"{name}.loudness.png"] if reports else []
    folder = os.path.realpath(out_dir)
    for path in [*final.values(), *(os.path.join(out_dir, e) for e in extra)]:
        if os.path.dirname(os.path.realpath(path)) != folder:
            raise ParameterError(
                f"deliverable {path!r} resolves to {os.path.realpath(path)!r}, outside out_dir={out_dir!r}; "
                "expected every file directly inside the output folder (a name or a symbolic link "
                "points elsewhere)"
            )
    return final


def _write_reports(delivery: Delivery, out_dir: str, name: str) -> list[tuple[str, str]]:
    """Write the report files under temporary names; return ``(temporary, final)`` name pairs."""
    from sonicmix.io import _check_target

    written: list[tuple[str, str]] = []
    try:
        try:  # the loudness plot needs the optional matplotlib
            import matplotlib  # noqa: F401
        except ImportError:
            pass
        else:
            import matplotlib.pyplot as plt

            from sonicmix.plot import plot_loudness

            path = os.path.join(out_dir, f"{name}.loudness.png")
            _check_target(path, (), True)
            tmp = os.path.join(out_dir, f".{name}.loudness.partial.png")  # matplotlib goes by the suffix
            written.append((tmp, path))
            ax = plot_loudness(
                delivery.reports[name],
                target=delivery.target,
                path=tmp,
                title=f"{name} ({delivery.target.name})",
            )
            plt.close(ax.figure)
        for suffix, text in (
            (".report.json", json.dumps(delivery.to_dict(), indent=2, allow_nan=False)),
            (".report.txt", str(delivery) + "\n"),
        ):
            path = os.path.join(out_dir, name + suffix)
            _check_target(path, (), True)
            tmp = os.path.join(out_dir, f".{name}{suffix}.partial")
            written.append((tmp, path))
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        for tmp, _ in written:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return written
