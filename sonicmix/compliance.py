"""Checking a loudness measurement against a delivery target.

:func:`evaluate` compares a :class:`~sonicmix.loudness.LoudnessReport` with a
:class:`~sonicmix.targets.LoudnessTarget` criterion by criterion and returns a
:class:`Compliance`: each criterion has the measured value, its limit, the
margin and a pass/fail with a reason; the whole passes only if every criterion
does. Values are compared unrounded (a meter that displays 0.1 LU steps may
show a value on the limit that fails here by a few hundredths).

Examples
--------
>>> import numpy as np
>>> from sonicmix.loudness import measure
>>> t = np.arange(10 * 48_000) / 48_000
>>> tone = 0.1 * np.sin(2 * np.pi * 997.0 * t)
>>> result = evaluate(measure(np.stack([tone, tone]), 48_000), "ebu-r128")
>>> result.passed, [c.name for c in result.criteria if not c.passed]
(False, ['integrated'])
>>> round(result["integrated"].measured, 1), round(result["integrated"].margin, 1)
(-20.0, -2.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sonicmix.targets import LoudnessTarget, get_target

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.loudness import LoudnessReport

__all__ = ["Criterion", "Compliance", "evaluate"]

#: Name of the report attribute a future dialogue-gated measurement will fill.
DIALOGUE_FIELD = "dialogue_lufs"


def _num(value: float | None) -> float | None:
    """JSON-safe number: non-finite values (undefined levels) become None."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return f"{'-' if value < 0 else '+'}inf {unit}"
    return f"{value:.2f} {unit}"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One requirement of a target and how the measurement fared against it.

    Attributes
    ----------
    name : str
        ``"integrated"``, ``"true_peak"``, ``"lra"``, ``"short_term_max"`` or
        ``"momentary_max"``.
    measured : float
        The measured value (``-inf`` for silence, ``nan`` if undefined).
    unit : str
        ``"LUFS"``, ``"dBTP"`` or ``"LU"``.
    low, high : float or None
        The permitted range; ``low`` is None for a maximum-only criterion.
    target : float or None
        The nominal value (integrated loudness only).
    margin : float
        Distance to the nearest limit in dB (= LU): positive inside the limits
        (headroom), negative outside (by how much the limit is missed); ``nan``
        when the measurement is undefined.
    passed : bool
        Whether the requirement is met.
    reason : str
        One sentence saying why it passed or failed.
    """

    name: str
    measured: float
    unit: str
    low: float | None
    high: float | None
    target: float | None
    margin: float
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-safe values; undefined numbers become None."""
        return {
            "name": self.name,
            "measured": _num(self.measured),
            "unit": self.unit,
            "low": _num(self.low),
            "high": _num(self.high),
            "target": _num(self.target),
            "margin": _num(self.margin),
            "passed": self.passed,
            "reason": self.reason,
        }

    @property
    def limit_text(self) -> str:
        """The limit as text, e.g. ``"-24.00 .. -22.00 LUFS"`` or ``"<= -1.00 dBTP"``."""
        if self.low is not None:
            return f"{self.low:.2f} .. {_fmt(self.high, self.unit)}"
        return f"<= {_fmt(self.high, self.unit)}"


@dataclass(frozen=True, slots=True)
class Compliance:
    """The result of :func:`evaluate`: every criterion, and whether all of them passed.

    ``str(compliance)`` is a readable table; :meth:`to_dict` is JSON-safe.
    Index by criterion name (``compliance["true_peak"]``) to get one criterion.
    """

    target: LoudnessTarget
    criteria: tuple[Criterion, ...]

    @property
    def passed(self) -> bool:
        """True only if every criterion passed."""
        return all(c.passed for c in self.criteria)

    @property
    def failures(self) -> tuple[Criterion, ...]:
        """The criteria that failed, in table order."""
        return tuple(c for c in self.criteria if not c.passed)

    def __getitem__(self, name: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.name == name:
                return criterion
        raise KeyError(f"{name!r} is not a criterion here; expected one of {[c.name for c in self.criteria]}")

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-safe values: the target, ``passed`` and each criterion."""
        return {
            "target": self.target.to_dict(),
            "passed": self.passed,
            "criteria": [c.to_dict() for c in self.criteria],
        }

    def __str__(self) -> str:
        labels = {
            "integrated": "Integrated",
            "true_peak": "True peak",
            "ldr": "Loudness/dialogue",
            "lra": "Loudness range",
            "short_term_max": "Short-term max",
            "momentary_max": "Momentary max",
        }
        gated = " (dialogue-gated)" if self.target.measurement == "dialogue" else ""
        kind = ", recommendation" if self.target.recommendation else ""
        head = f"Compliance with {self.target.name}{gated}{kind}: {'PASS' if self.passed else 'FAIL'}"
        rows = [("criterion", "measured", "limit", "margin", "result")]
        for c in self.criteria:
            margin_unit = "dB" if c.unit == "dBTP" else "LU"
            margin = "undefined" if math.isnan(c.margin) else f"{c.margin:+.2f} {margin_unit}"
            result = "pass" if c.passed else "FAIL"
            rows.append((labels.get(c.name, c.name), _fmt(c.measured, c.unit), c.limit_text, margin, result))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [head]
        lines += [
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        lines += [f"  {labels.get(c.name, c.name)}: {c.reason}" for c in self.failures]
        return "\n".join(lines)


def _window(name: str, measured: float, unit: str, low: float, high: float, target: float) -> Criterion:
    if math.isnan(measured) or math.isinf(measured):
        return Criterion(
            name,
            measured,
            unit,
            low,
            high,
            target,
            math.nan,
            False,
            f"the loudness is undefined ({_fmt(measured, unit)}: silence, or shorter than one 400 ms block), "
            "so it cannot be within the window",
        )
    margin = min(measured - low, high - measured)
    passed = low <= measured <= high
    if passed:
        reason = f"{measured:.2f} {unit} is within {low:.2f} .. {high:.2f} {unit} (target {target:.2f})"
    elif measured < low:
        reason = f"{measured:.2f} {unit} is {low - measured:.2f} LU below the lower limit {low:.2f} {unit}"
    else:
        reason = f"{measured:.2f} {unit} is {measured - high:.2f} LU above the upper limit {high:.2f} {unit}"
    return Criterion(name, measured, unit, low, high, target, margin, passed, reason)


def _maximum(name: str, what: str, measured: float, unit: str, limit: float, undefined: str) -> Criterion:
    if math.isnan(measured):
        return Criterion(
            name, measured, unit, None, limit, None, math.nan, False, f"{what} is undefined ({undefined})"
        )
    margin = limit - measured
    passed = measured <= limit
    if math.isinf(measured) and measured < 0:
        reason = f"{what} is -inf ({undefined}); nothing exceeds {limit:.2f} {unit}"
    elif passed:
        reason = f"{what} {measured:.2f} {unit} is {margin:.2f} below the limit {limit:.2f} {unit}"
    else:
        reason = f"{what} {measured:.2f} {unit} exceeds the limit {limit:.2f} {unit} by {-margin:.2f}"
    return Criterion(name, measured, unit, None, limit, None, margin, passed, reason)


def evaluate(report: LoudnessReport, target: LoudnessTarget | str) -> Compliance:
    """Check a loudness report against a target, criterion by criterion.

    Parameters
    ----------
    report : LoudnessReport
        The measurement, e.g. from :func:`sonicmix.loudness.measure`.
    target : LoudnessTarget or str
        A target, or a preset name (see :data:`sonicmix.targets.PRESETS`).

    Returns
    -------
    Compliance
        Criteria in this order: ``integrated`` and ``true_peak`` always, then
        ``ldr`` (loudness-to-dialogue ratio), ``lra``, ``short_term_max`` and
        ``momentary_max`` when the target sets them.

    Raises
    ------
    ParameterError
        For an unknown preset name.

    Notes
    -----
    - Integrated loudness passes if ``lower_lufs <= measured <= upper_lufs``;
      an undefined loudness (silence: ``-inf``) fails with a reason.
    - Maxima pass if ``measured <= limit``. A maximum of ``-inf`` (silence, or a
      programme shorter than the 3 s short-term window) passes, since nothing
      exceeds the limit; an undefined loudness range (``nan``: shorter than 3 s)
      fails when the target limits it, since compliance cannot be shown.
    - A ``measurement="dialogue"`` target needs the dialogue-gated loudness. It
      is read from the report's ``dialogue_lufs`` attribute, which
      :func:`sonicmix.deliver.deliver` fills from the dialogue stem; a plain
      :func:`~sonicmix.loudness.measure` leaves it undefined, and the
      integrated criterion then fails with a reason saying so (evaluate against
      ``dataclasses.replace(target, measurement="programme")`` for the
      programme-gated approximation, and say so in the delivery notes).

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.loudness import measure
    >>> report = measure(np.zeros((2, 48_000)), 48_000)
    >>> result = evaluate(report, "atsc-a85")
    >>> result.passed, result["integrated"].reason.split(" (")[0]
    (False, 'the loudness is undefined')
    >>> result.to_dict()["criteria"][0]["measured"] is None
    True
    """
    target = get_target(target)
    criteria: list[Criterion] = []

    if target.measurement == "dialogue":
        dialogue = getattr(report, DIALOGUE_FIELD, None)
        if dialogue is None or (isinstance(dialogue, float) and math.isnan(dialogue)):
            criteria.append(
                Criterion(
                    "integrated",
                    math.nan,
                    "LUFS",
                    target.lower_lufs,
                    target.upper_lufs,
                    target.integrated_lufs,
                    math.nan,
                    False,
                    "the target is dialogue-gated but the report has no dialogue-gated loudness "
                    f"(programme loudness is {_fmt(report.integrated_lufs, 'LUFS')}); measure it from the "
                    "dialogue stem with sonicmix.deliver",
                )
            )
        else:
            criteria.append(
                _window(
                    "integrated",
                    float(dialogue),
                    "LUFS",
                    target.lower_lufs,
                    target.upper_lufs,
                    target.integrated_lufs,
                )
            )
    else:
        criteria.append(
            _window(
                "integrated",
                float(report.integrated_lufs),
                "LUFS",
                target.lower_lufs,
                target.upper_lufs,
                target.integrated_lufs,
            )
        )

    criteria.append(
        _maximum(
            "true_peak", "true peak", float(report.true_peak_dbtp), "dBTP", target.true_peak_dbtp, "silence"
        )
    )
    if target.max_ldr_lu is not None:
        criteria.append(_ldr(report, target.max_ldr_lu))
    if target.max_lra_lu is not None:
        criteria.append(
            _maximum(
                "lra",
                "loudness range",
                float(report.lra_lu),
                "LU",
                target.max_lra_lu,
                "the programme is shorter than one 3 s window, or silent",
            )
        )
    if target.max_short_term_lufs is not None:
        criteria.append(
            _maximum(
                "short_term_max",
                "short-term maximum",
                float(report.short_term_max_lufs),
                "LUFS",
                target.max_short_term_lufs,
                "silence, or a programme shorter than 3 s",
            )
        )
    if target.max_momentary_lufs is not None:
        criteria.append(
            _maximum(
                "momentary_max",
                "momentary maximum",
                float(report.momentary_max_lufs),
                "LUFS",
                target.max_momentary_lufs,
                "silence, or a programme shorter than 400 ms",
            )
        )
    return Compliance(target=target, criteria=tuple(criteria))


def _ldr(report: LoudnessReport, limit_lu: float) -> Criterion:
    """Loudness-to-Dialogue Ratio (EBU R 128 s4): programme minus dialogue loudness, at most ``limit_lu``."""
    dialogue = getattr(report, DIALOGUE_FIELD, None)
    if dialogue is None or not math.isfinite(float(dialogue)) or not math.isfinite(report.integrated_lufs):
        return Criterion(
            "ldr",
            math.nan,
            "LU",
            None,
            limit_lu,
            None,
            math.nan,
            False,
            "the loudness-to-dialogue ratio needs the dialogue loudness, which the report does not have "
            "(sonicmix.deliver measures it from the dialogue stem, or with the speech detector)",
        )
    return _maximum(
        "ldr",
        "loudness-to-dialogue ratio",
        float(report.integrated_lufs) - float(dialogue),
        "LU",
        limit_lu,
        "no dialogue",
    )
