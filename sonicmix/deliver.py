"""Rendering to a loudness target: closed-loop normalisation, true-peak limiting, deliverable files.

:func:`deliver` renders a graph once into temporary float32 files (the mix
and every stem), then works from those files in constant memory:

1. measure the mix and set the gain that brings it to the target;
2. apply the gain and a true-peak :class:`~sonicmix.nodes.limiter.Limiter`
   at the target's ceiling, **re-measure the result**, and correct the gain
   until the integrated loudness is within ``tolerance_lu`` (0.1 LU, or the
   target's own tolerance if tighter) and the true peak is at or under the
   ceiling;
3. write the deliverables: the mix, and every stem multiplied by the *same*
   gain and the *same* limiter gain curve, so the stems sum to the mix
   (they null against it when they cover all sources and the master bus has
   no processing of its own); optionally an M&E mix (every stem but the
   dialogue ones);
4. read every written file back and measure it: the reports describe the
   files as delivered, and the mix is judged against the target.

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
            "elapsed_s": self.elapsed_s,
        }

    def __str__(self) -> str:
        lines = [f"Delivery to {self.target.name}: {'PASSED' if self.passed else 'FAILED'}"]
        lines += [f"  reason: {r}" for r in self.reasons]
        lines.append(
            f"  gain {self.gain_db:+.2f} dB after {self.iterations} pass(es); limiter max reduction "
            f"{self.limiter.get('max_reduction_db', 0.0):.2f} dB"
        )
        if self.compliance is not None:
            lines.append(str(self.compliance))
        for name, path in self.files.items():
            r = self.reports.get(name)
            extra = f"  {r.integrated_lufs:6.1f} LUFS  {r.true_peak_dbtp:6.2f} dBTP" if r else ""
            lines.append(f"  {name:<12} {path}{extra}")
        return "\n".join(lines)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def dialogue_gated_lufs(programme: np.ndarray, dialogue: np.ndarray) -> float:
    """Programme loudness over the blocks where dialogue is active (stem-informed estimate).

    ``programme`` and ``dialogue`` are the 400 ms block powers (momentary
    series, as powers) of the mix and of the dialogue stem. A block counts
    when the dialogue stem's block passes the BS.1770 gates computed on the
    dialogue stem itself (-70 LUFS absolute, -10 LU relative).
    """
    from sonicmix.loudness.meter import gate_blocks

    active, _ = gate_blocks(dialogue)
    power = programme[: active.size][active[: programme.size]]
    return float(-0.691 + 10 * np.log10(power.mean())) if power.size and power.mean() > 0 else -math.inf


def _powers(report: LoudnessReport) -> np.ndarray:
    return 10 ** ((report.momentary_lufs + 0.691) / 10)


class _Files:
    """Temporary float32 renders of the mix and the stems, read back in lockstep."""

    def __init__(self, folder: str, names: Sequence[str]) -> None:
        self.folder = folder
        self.paths = {name: os.path.join(folder, f"{i:02d}.wav") for i, name in enumerate(names)}

    def blocks(self, size: int):
        import soundfile as sf

        handles = {name: sf.SoundFile(path) for name, path in self.paths.items()}
        try:
            while True:
                out = {
                    name: np.ascontiguousarray(h.read(size, dtype="float32", always_2d=True).T)
                    for name, h in handles.items()
                }
                if not next(iter(out.values())).shape[1]:
                    return
                yield out
        finally:
            for h in handles.values():
                h.close()


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
    max_iterations: int = 6,
    release_s: float = 0.05,
    lookahead_s: float = 0.005,
    strict: bool = False,
    block_size: int = 1 << 14,
    tail_s: float = 0.0,
    seed: int = 0,
    inputs: Sequence[str] = (),
    reports: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    threads: int = 1,
) -> Delivery:
    """Render ``graph`` to ``target`` and write the deliverables into ``out_dir``.

    Parameters
    ----------
    graph : Graph
        The mix. Its buses other than the master are the stems.
    target : LoudnessTarget or str
        Target or preset name (see :data:`sonicmix.targets.PRESETS`).
    out_dir : path
        Existing folder for the files: ``<name>.wav``, ``<name>.<stem>.wav``,
        ``<name>.ME.wav`` and, with ``reports``, ``<name>.report.json``,
        ``<name>.report.txt`` and (when matplotlib is installed)
        ``<name>.loudness.png``.
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
    tolerance_lu : float, default 0.1
        The closed loop stops within this distance of the target (or the
        target's own tolerance if tighter).
    max_limiting_db : float, default 12.0
        Largest gain reduction the limiter may apply; needing more fails.
    strict : bool, default False
        Raise :class:`TargetNotMetError` instead of returning a failed delivery.

    Other Parameters
    ----------------
    max_iterations, release_s, lookahead_s, block_size, tail_s, seed, inputs, progress
    threads : int, default 1
        Threads for rendering the graph (see :func:`sonicmix.renderer.render`).

    Returns
    -------
    Delivery
    """
    from sonicmix.compliance import evaluate
    from sonicmix.io import AudioWriter
    from sonicmix.io import blocks as file_blocks
    from sonicmix.nodes.limiter import Limiter
    from sonicmix.renderer import render_blocks

    started = time.perf_counter()
    from sonicmix._checks import check_range

    if not isinstance(graph, Graph):
        raise ParameterError(f"graph={graph!r}; expected a sonicmix.graph.Graph")
    target = get_target(target)
    check_range("tolerance_lu", tolerance_lu, low=0.0, low_inclusive=False, hint="in LU, e.g. 0.1")
    check_range("max_limiting_db", max_limiting_db, low=0.0)
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
        raise ParameterError(f"max_iterations={max_iterations!r}; expected a whole number >= 1")
    out_dir = os.fspath(out_dir)
    if not os.path.isdir(out_dir):
        raise ParameterError(f"out_dir={out_dir!r} is not an existing folder; create it first")
    stem_names = [b for b in graph.buses if b != graph.master] if stems is None else list(stems)
    for stem in stem_names:
        if stem not in graph.buses or stem == graph.master:
            from sonicmix.errors import GraphError
            from sonicmix.graph import _did_you_mean

            raise GraphError(
                f"stem {stem!r} is not a bus of the graph (other than the master)"
                f"{_did_you_mean(stem, [b for b in graph.buses if b != graph.master])}"
            )
    closeness = min(
        tolerance_lu, target.tolerance_below_lu or tolerance_lu, target.tolerance_above_lu or tolerance_lu
    )
    limiter = Limiter(ceiling_dbtp=target.true_peak_dbtp, release_s=release_s, lookahead_s=lookahead_s)
    dialogue_stems = [d for d in dialogue if d in stem_names]
    if target.measurement == "dialogue" and not dialogue_stems:
        raise ParameterError(
            f"target {target.name!r} is dialogue-gated but none of dialogue={tuple(dialogue)!r} is among the "
            f"stems {stem_names}; name the dialogue bus with dialogue=(...)"
        )
    work = tempfile.mkdtemp(prefix=".sonicmix-", dir=out_dir)
    try:
        # 1. render the graph once, to float32 files
        files = _Files(work, ["master", *stem_names])
        writers = {
            n: AudioWriter(p, sample_rate, _channels(graph, n), subtype="FLOAT")
            for n, p in files.paths.items()
        }
        meter = None
        for _, out in render_blocks(
            graph,
            sample_rate=sample_rate,
            block_size=block_size,
            stems=stem_names,
            tail_s=tail_s,
            progress=None,
            threads=threads,
        ):
            if meter is None:
                meter = LoudnessMeter(sample_rate, channels=out["master"].shape[0], true_peak=False)
            meter.update(out["master"])
            for n, w in writers.items():
                w.write(out[n], check=False)
        for w in writers.values():
            w.commit()
        if meter is None:
            raise ParameterError("the graph renders no samples; expected clips on its tracks (or duration_s)")
        before = meter.report()

        # 2. closed loop: gain, limiter, re-measure
        reasons: list[str] = []
        limiter_stats = {"max_reduction_db": 0.0, "time_limiting_percent": 0.0}
        gain_db = math.nan
        iterations = 0
        gate_power = (
            _dialogue_power(files, dialogue_stems, sample_rate) if target.measurement == "dialogue" else None
        )
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
                result, limiter_stats = _limited_pass(files, gain_db, limiter, sample_rate, block_size, None)
                reached = _measured(result, gate_power)
                error = target.integrated_lufs - reached
                if limiter_stats["max_reduction_db"] > max_limiting_db:
                    reasons.append(
                        f"reaching {target.integrated_lufs:g} LUFS needs "
                        f"{limiter_stats['max_reduction_db']:.1f} dB of limiting, more than "
                        f"max_limiting_db={max_limiting_db:g} (the programme's peaks are too high for its "
                        "loudness: compress it, or allow more limiting)"
                    )
                    break
                if abs(error) <= closeness and result.true_peak_dbtp <= target.true_peak_dbtp:
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

        # 3. write the deliverables (all or nothing)
        final = {name: os.path.join(out_dir, f"{name}.wav")}
        final.update({s: os.path.join(out_dir, f"{name}.{s}.wav") for s in stem_names})
        if me_mix:
            final["ME"] = os.path.join(out_dir, f"{name}.ME.wav")
        channels = {name: _channels(graph, "master")}
        channels.update({s: _channels(graph, s) for s in stem_names})
        if me_mix:
            channels["ME"] = _channels(graph, "master")
        outs = {
            k: AudioWriter(
                p, sample_rate, channels[k], subtype=subtype, seed=seed + i, inputs=inputs, open_now=False
            )
            for i, (k, p) in enumerate(final.items())
        }
        try:
            for w in outs.values():
                w.__enter__()
            _limited_pass(
                files,
                gain_db,
                limiter,
                sample_rate,
                block_size,
                (outs, name, stem_names, dialogue_stems, me_mix, graph),
            )
            for w in outs.values():
                w.commit()
        except BaseException:
            for w in outs.values():
                w.abort()
            for p in final.values():  # commit renames one by one: undo those that happened
                if any(w.result and os.fspath(w.result.path) == os.path.realpath(p) for w in outs.values()):
                    os.unlink(p)
            raise

        # 4. read back, measure, judge
        measured_files = {}
        for key, path in final.items():
            m = None
            for block in file_blocks(path, block_size):
                if m is None:
                    m = LoudnessMeter(sample_rate, channels=block.shape[0])
                m.update(block)
            measured_files[key] = m.report()
        mix_report = measured_files[name]
        if target.measurement == "dialogue":
            dialogue_power = sum(_powers(measured_files[d]) for d in dialogue_stems)
            gated = dialogue_gated_lufs(_powers(mix_report), dialogue_power)
            mix_report = dataclasses.replace(mix_report, dialogue_lufs=gated)
            measured_files[name] = mix_report
        compliance = evaluate(mix_report, target)
        if bext:
            from sonicmix.bwf import write_bext

            for key, path in final.items():
                write_bext(
                    path, report=measured_files[key], description=f"sonicmix {name} {key} for {target.name}"
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
        )
        if reports:
            _write_reports(delivery, out_dir, name)
        if strict and not delivery.passed:
            raise TargetNotMetError("; ".join(delivery.reasons) or "the delivery did not meet its target")
        return delivery
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _channels(graph: Graph, bus: str) -> int:
    from sonicmix.layouts import LAYOUTS

    return LAYOUTS[graph.buses[graph.master if bus == "master" else bus].layout].n_channels


def _dialogue_power(files: _Files, dialogue_stems: list[str], sample_rate: int) -> np.ndarray:
    """Summed 400 ms block powers of the dialogue stems (from the renders before gain)."""
    meters: dict[str, LoudnessMeter] = {}
    for out in files.blocks(_BLOCK):
        for d in dialogue_stems:
            meters.setdefault(
                d, LoudnessMeter(sample_rate, channels=out[d].shape[0], true_peak=False)
            ).update(out[d])
    return sum(_powers(m.report()) for m in meters.values())


def _measured(report: LoudnessReport, gate_power: np.ndarray | None) -> float:
    """Integrated loudness, or the dialogue-gated estimate when ``gate_power`` is given."""
    if gate_power is None:
        return report.integrated_lufs
    return dialogue_gated_lufs(_powers(report), gate_power)


def _limited_pass(
    files: _Files, gain_db: float, limiter: Any, sample_rate: int, block_size: int, write: tuple | None
) -> tuple[LoudnessReport, dict[str, float]]:
    """Gain + limiter over the rendered mix; measures the result, and writes the deliverables if asked."""
    from sonicmix.dsp.delayline import DelayLine

    gain = np.float32(10 ** (gain_db / 20))
    latency = limiter.latency_samples(sample_rate)
    state = None
    lines: dict[str, DelayLine] = {}
    meter = None
    min_gain, limiting, total = 1.0, 0, 0
    skip = latency

    def step(block_set: dict[str, np.ndarray]) -> None:
        nonlocal state, meter, min_gain, limiting, total, skip
        master = block_set["master"] * gain
        if state is None:
            state = limiter.init_state(master.shape[0], sample_rate, np.float32)
            meter = LoudnessMeter(sample_rate, channels=master.shape[0])
        g, state = limiter.gain(master, sample_rate, state)
        n = master.shape[1]
        outputs = {}
        for key, block in block_set.items():
            line = lines.setdefault(key, DelayLine(block.shape[0], latency, np.float32))
            outputs[key] = line(block * gain if key != "master" else master) * g
        drop = min(skip, n)
        skip -= drop
        if drop == n:
            return
        outputs = {k: v[:, drop:] for k, v in outputs.items()}
        kept = g[:, drop:]
        min_gain = min(min_gain, float(kept.min()))
        limiting += int(np.count_nonzero(kept.min(axis=0) < 10 ** (-0.1 / 20)))
        total += kept.shape[1]
        meter.update(outputs["master"])
        if write is not None:
            outs, mix_name, stem_names, dialogue_stems, me_mix, _ = write
            outs[mix_name].write(outputs["master"], check=False)
            for s in stem_names:
                outs[s].write(outputs[s], check=False)
            if me_mix:
                me = sum(outputs[s] for s in stem_names if s not in dialogue_stems)
                outs["ME"].write(np.asarray(me, np.float32), check=False)

    last: dict[str, np.ndarray] = {}
    for block_set in files.blocks(block_size):
        step(block_set)
        last = block_set
    if latency and last:  # flush the limiter's lookahead with silence
        step({k: np.zeros((v.shape[0], latency), np.float32) for k, v in last.items()})
    stats = {
        "max_reduction_db": max(0.0, float(-20 * math.log10(min_gain))) if min_gain > 0 else math.inf,
        "time_limiting_percent": 100.0 * limiting / total if total else 0.0,
    }
    return meter.report(), stats


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


def _write_reports(delivery: Delivery, out_dir: str, name: str) -> None:
    from sonicmix.io import _check_target  # atomic text writes next to the audio

    try:  # the loudness plot needs the optional matplotlib
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        import matplotlib.pyplot as plt

        from sonicmix.plot import plot_loudness

        ax = plot_loudness(
            delivery.reports[name],
            target=delivery.target,
            path=os.path.join(out_dir, f"{name}.loudness.png"),
            title=f"{name} ({delivery.target.name})",
        )
        plt.close(ax.figure)

    for suffix, text in (
        (".report.json", json.dumps(delivery.to_dict(), indent=2, allow_nan=False)),
        (".report.txt", str(delivery) + "\n"),
    ):
        path = os.path.join(out_dir, name + suffix)
        _check_target(path, (), True)
        tmp = path + ".partial"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
