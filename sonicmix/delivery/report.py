"""What a delivery did: the :class:`Delivery` record, its text and JSON, the report files."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from sonicmix.errors import SonicmixError
from sonicmix.layouts import AMBISONIC_LAYOUTS
from sonicmix.loudness import LoudnessReport
from sonicmix.targets import LoudnessTarget


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
    stem_ceiling : {"shared", "own"}
        Whether the stems and the M&E share the mix's limiter (and sum to it), or
        were each limited to the ceiling on their own as well.
    stem_limiting_db : dict of str to float
        With ``stem_ceiling="own"``: the gain reduction of each stem's own limiter.
    downmix : tuple of FoldDownCheck
        For a surround or immersive mix: the loudness and true peak of each of its
        fold-downs (7.1.4 -> 7.1 -> 5.1 -> stereo -> mono), measured on the mix as
        written; ``clipped`` flags one over the target's ceiling
        (:mod:`sonicmix.loudness.folddown`). A note names it; it does not fail the delivery.
    encodings : dict of str to Encoding
        For every lossy deliverable (key as in ``files``): the limiter ceiling it was
        encoded with, every encode pass, and its loudness before the codec and as
        decoded (:class:`sonicmix.delivery.encoded.Encoding`). Its ``reports`` entry
        is the decoded measurement, which is what is judged.
    versions : dict of str to Delivery
        The versions delivered with this mix (``deliver(..., versions=...)``): each
        one's own record, files in ``out_dir/<name>/``. ``passed`` is True only when
        every version passed as well.
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
    encodings: dict[str, Any] = field(default_factory=dict)
    stem_ceiling: str = "shared"
    stem_limiting_db: dict[str, float] = field(default_factory=dict)
    downmix: tuple[Any, ...] = ()
    versions: dict[str, Delivery] = field(default_factory=dict)

    @property
    def ldr_lu(self) -> float:
        """Loudness-to-Dialogue Ratio of the mix (EBU R 128 s4), in LU: programme minus dialogue loudness.

        The dialogue loudness is gated by the dialogue stems, or by the speech
        detector where the delivery has none and its target limits the ratio;
        ``nan`` where neither measured it.
        """
        mix = next(iter(self.reports.values()), None)
        if mix is None or not math.isfinite(mix.dialogue_lufs) or not math.isfinite(mix.integrated_lufs):
            return math.nan
        return mix.integrated_lufs - mix.dialogue_lufs

    @property
    def scene_loudness(self) -> str | None:
        """How the loudness of an Ambisonics (AmbiX) mix was measured; None for loudspeaker feeds.

        BS.1770 defines no loudness for a scene: it is measured as the energy of
        the scene's max-rE decode to the virtual loudspeakers of a uniform
        spherical design (:func:`sonicmix.layouts.ambix.loudness_weights`), which
        a reader of the report should know.
        """
        mix = next(iter(self.reports.values()), None)
        if mix is None or mix.layout not in AMBISONIC_LAYOUTS:
            return None
        from sonicmix.spatial.ambisonics import design_directions

        speakers = len(design_directions()[0])
        return (
            f"{mix.layout} scene: loudness measured through its max-rE decode to {speakers} virtual "
            "loudspeakers (a uniform spherical design, each weighted 1), as BS.1770 defines none for "
            "Ambisonics; no side weighting, no fold-down check"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: every measured value, the target, pass/fail per criterion, gains.

        ``scene_loudness`` (:attr:`scene_loudness`) is there for an Ambisonics mix only.
        """
        import sonicmix

        scene_loudness = self.scene_loudness
        scene = {"scene_loudness": scene_loudness} if scene_loudness is not None else {}
        return {
            "sonicmix_version": sonicmix.__version__,
            "target": self.target.to_dict(),
            "passed": self.passed,
            "reasons": list(self.reasons),
            "gain_db": _finite_or_none(self.gain_db),
            "iterations": self.iterations,
            "ldr_lu": _finite_or_none(round(self.ldr_lu, 2)),
            "limiter": {k: _finite_or_none(v) for k, v in self.limiter.items()},
            "files": dict(self.files),
            "compliance": None if self.compliance is None else self.compliance.to_dict(),
            "measurements": {name: r.to_dict(series=False) for name, r in self.reports.items()},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "clip_gains_db": {t: [round(g, 2) for g in gains] for t, gains in self.clip_gains_db.items()},
            "encodings": {key: e.to_dict() for key, e in self.encodings.items()},
            "stem_ceiling": self.stem_ceiling,
            **scene,
            "downmix": [
                {
                    "layout": d.layout,
                    "integrated_lufs": _finite_or_none(round(d.integrated_lufs, 2)),
                    "true_peak_dbtp": _finite_or_none(round(d.true_peak_dbtp, 2)),
                    "clipped": d.clipped,
                }
                for d in self.downmix
            ],
            "stem_limiting_db": {k: round(v, 2) for k, v in self.stem_limiting_db.items()},
            "versions": {
                n: {
                    "target": v.target.name,
                    "passed": v.passed,
                    "reasons": list(v.reasons),
                    "files": dict(v.files),
                    "measurements": {k: r.to_dict(series=False) for k, r in v.reports.items()},
                }
                for n, v in self.versions.items()
            },
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
        if self.scene_loudness is not None:
            lines.append(f"  {self.scene_loudness}")
        if self.stem_limiting_db:
            lines.append(
                "  stems limited on their own (stem_ceiling='own'): "
                + ", ".join(f"{k} {v:.2f} dB" for k, v in self.stem_limiting_db.items())
            )
        for d in self.downmix:
            flag = "  OVER THE CEILING" if d.clipped else ""
            lines.append(
                f"  fold-down to {d.layout}: {d.integrated_lufs:.1f} LUFS, {d.true_peak_dbtp:.2f} dBTP{flag}"
            )
        if math.isfinite(self.ldr_lu):
            lines.append(f"  loudness-to-dialogue ratio {self.ldr_lu:.1f} LU")
        for track, gains in self.clip_gains_db.items():
            lines.append(f"  clip gains of {track!r}: " + ", ".join(f"{g:+.1f}" for g in gains) + " dB")
        for n, v in self.versions.items():
            mix = next(iter(v.reports.values()), None)
            figures = f": {mix.integrated_lufs:.1f} LUFS, {mix.true_peak_dbtp:.2f} dBTP" if mix else ""
            lines.append(
                f"  version {n!r} to {v.target.name}: {'PASSED' if v.passed else 'FAILED'}{figures}"
            )
        if self.compliance is not None:
            lines.append(str(self.compliance))
        width = max((len(str(p)) for p in self.files.values()), default=0)
        for name, path in self.files.items():
            r = self.reports.get(name)
            extra = f"  {r.integrated_lufs:6.1f} LUFS  {r.true_peak_dbtp:6.2f} dBTP" if r else ""
            lines.append(f"  {name:<12} {str(path):<{width}}{extra}")
        for key, e in self.encodings.items():
            if e.before_codec is None or e.decoded is None:
                continue
            lines.append(
                f"  {key}: {e.format.spec}, limiter ceiling {e.ceiling_dbtp:.2f} dBTP after {len(e.passes)} "
                f"encode(s); before the codec {e.before_codec.integrated_lufs:.1f} LUFS "
                f"{e.before_codec.true_peak_dbtp:.2f} dBTP, decoded {e.decoded.integrated_lufs:.1f} LUFS "
                f"{e.decoded.true_peak_dbtp:.2f} dBTP"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        from sonicmix import _hooks

        return _hooks.html(self)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def limiting_warnings(stats: dict[str, float], warn_db: float, target: LoudnessTarget) -> tuple[str, ...]:
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


def failed(
    target: LoudnessTarget,
    reasons: list[str],
    gain_db: float,
    iterations: int,
    limiter_stats: dict[str, float],
    strict: bool,
    started: float,
    encodings: dict[str, Any] | None = None,
) -> Delivery:
    """The record of a delivery that wrote nothing; ``encodings`` keeps the encode passes that led there."""
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
        encodings=dict(encodings or {}),
    )


def write_reports(delivery: Delivery, out_dir: str, name: str) -> list[tuple[str, str]]:
    """Write the report files under temporary names; return ``(temporary, final)`` name pairs."""
    from sonicmix.io import _check_target

    written: list[tuple[str, str]] = []
    try:
        # the loudness plot, where a plotter is registered (sonicmix.plot, with matplotlib)
        from sonicmix import _hooks

        path = os.path.join(out_dir, f"{name}.loudness.png")
        _check_target(path, (), True)
        tmp = os.path.join(out_dir, f".{name}.loudness.partial.png")  # matplotlib goes by the suffix
        mix = delivery.reports[next(iter(delivery.reports))]  # the mix: its first format
        written.append((tmp, path))  # removed below if an error leaves it half written
        title = f"{name} ({delivery.target.name})"
        if not _hooks.loudness_png(mix, target=delivery.target, path=tmp, title=title):
            written.pop()
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
