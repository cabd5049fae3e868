"""The result of a loudness measurement."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from sonicmix.errors import ParameterError

__all__ = ["LoudnessReport"]


def _db_text(value: float, unit: str) -> str:
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return f"-inf {unit}"
    return f"{value:.1f} {unit}" if unit in ("LUFS", "LU") else f"{value:.2f} {unit}"


def _json_safe(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, (tuple, list)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, eq=False)
class LoudnessReport:
    """Loudness, loudness range and peaks of a programme (ITU-R BS.1770-5, EBU Mode).

    Levels that are undefined (silence, or audio shorter than one 400 ms
    block) are ``-inf``; an undefined loudness range is ``nan``. ``notes``
    says why whenever a value is undefined. Series hold one value per
    ``hop_s`` (100 ms unless the measurement asked for another hop), with the
    end time of each window in seconds.

    Attributes
    ----------
    integrated_lufs : float
        Gated programme loudness (BS.1770-5 §2.8: -70 LUFS absolute, -10 LU relative gate).
    lra_lu : float
        Loudness range (EBU Tech 3342).
    true_peak_dbtp, sample_peak_dbfs : float
        Maximum over all channels.
    momentary_max_lufs, short_term_max_lufs : float
        Maxima of 400 ms and 3 s windows ending at every sample (exact, not on a 100 ms grid).
    momentary_lufs, short_term_lufs : np.ndarray
        400 ms and 3 s loudness every ``hop_s``; ``momentary_times_s`` and
        ``short_term_times_s`` are the window end times.
    hop_s : float
        Seconds between the series' windows (0.1 by default; the integrated
        loudness and LRA use the 100 ms grid whatever it is).
    """

    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    momentary_max_lufs: float
    short_term_max_lufs: float
    sample_rate: int
    channels: int
    layout: str
    duration_s: float
    true_peak_per_channel_dbtp: tuple[float, ...]
    sample_peak_per_channel_dbfs: tuple[float, ...]
    relative_gate_lufs: float
    lra_low_lufs: float
    lra_high_lufs: float
    oversampling: int
    momentary_lufs: np.ndarray = field(repr=False)
    momentary_times_s: np.ndarray = field(repr=False)
    short_term_lufs: np.ndarray = field(repr=False)
    short_term_times_s: np.ndarray = field(repr=False)
    notes: tuple[str, ...] = ()
    #: Dialogue-gated integrated loudness, when a delivery measured it (see :mod:`sonicmix.deliver`).
    dialogue_lufs: float = math.nan
    #: Seconds between the windows of the momentary and short-term series.
    hop_s: float = 0.1

    @property
    def block_powers(self) -> np.ndarray:
        """Weighted mean-square power of each 400 ms block (``momentary_lufs`` as power).

        What BS.1770 gating works on; sums of these (of the stems that hold
        dialogue, say) gate other measurements (:func:`sonicmix.deliver.dialogue_gated_lufs`).
        Only a report on the 100 ms grid has them: with another ``hop_s`` the
        momentary series is not the gating blocks, and this raises
        :class:`~sonicmix.errors.ParameterError`.
        """
        if self.hop_s != 0.1:
            raise ParameterError(
                f"block_powers of a report with hop_s={self.hop_s:g}: the momentary series is not the "
                "400 ms gating blocks, which are 0.1 s apart; expected a report measured with hop_s=0.1 "
                "(measure the programme again with the default hop for gating)"
            )
        return 10 ** ((self.momentary_lufs + 0.691) / 10)

    def to_dict(self, *, series: bool = True) -> dict[str, object]:
        """Return the report as plain Python values, safe for ``json.dumps``.

        Non-finite numbers (undefined levels) become ``None``; ``notes`` says why.
        With ``series=False`` the time series are left out.
        """
        out: dict[str, object] = {}
        for f in fields(self):
            if not series and f.name in (
                "momentary_lufs",
                "momentary_times_s",
                "short_term_lufs",
                "short_term_times_s",
            ):
                continue
            out[f.name] = _json_safe(getattr(self, f.name))
        return out

    def __str__(self) -> str:
        rows = [
            ("Integrated", _db_text(self.integrated_lufs, "LUFS")),
            ("Loudness range", _db_text(self.lra_lu, "LU")),
            ("True peak", _db_text(self.true_peak_dbtp, "dBTP")),
            ("Sample peak", _db_text(self.sample_peak_dbfs, "dBFS")),
            ("Momentary max", _db_text(self.momentary_max_lufs, "LUFS")),
            ("Short-term max", _db_text(self.short_term_max_lufs, "LUFS")),
        ]
        head = (
            f"Loudness report: {self.duration_s:.3f} s, {self.channels} ch ({self.layout}), "
            f"{self.sample_rate} Hz"
        )
        lines = [head] + [f"  {name:<15} {value}" for name, value in rows]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        from sonicmix import _hooks

        return _hooks.html(self)
