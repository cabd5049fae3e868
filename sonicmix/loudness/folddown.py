"""The fold-down check: loudness and true peak of every fold-down of a programme, clipping flagged.

A 7.1.4 printmaster is also heard as 7.1, 5.1, stereo and mono, folded down by
a player or an encoder with fixed coefficients (:mod:`sonicmix.layouts.conversion`).
Correlated content that sums in a fold-down can make it louder than the
original and push its true peak over full scale. :class:`DownmixMeter` folds
each block of the programme down to every layout of its chain and meters each
fold-down to ITU-R BS.1770-5 (integrated loudness and 4x-oversampled true
peak), in one pass and constant memory; :func:`downmix_check` does the same for
a whole array.

Examples
--------
A 7.1 bed whose side and rear left surrounds carry the same tone peaking at
-1.9 dBFS: the 5.1 fold-down adds them at -3 dB each, so Ls peaks 3 dB higher,
at +1.1 dBTP, and is flagged (the stereo and mono fold-downs fold Ls at -3 dB
again).

>>> import numpy as np
>>> from sonicmix.loudness.folddown import downmix_check
>>> t = np.arange(5 * 48000) / 48000
>>> bed = np.zeros((8, t.size), np.float32)
>>> bed[4] = bed[6] = 0.8 * np.sin(2 * np.pi * 997.0 * t)   # Lrs and Lss
>>> for row in downmix_check(bed, 48000, "7.1"):
...     print(f"{row.layout:6} {row.integrated_lufs:6.1f} LUFS {row.true_peak_dbtp:5.1f} dBTP {row.clipped}")
5.1      -0.4 LUFS   1.1 dBTP True
stereo   -4.9 LUFS  -1.9 dBTP False
mono     -8.0 LUFS  -4.9 dBTP False
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix.errors import LayoutError
from sonicmix.layouts import Layout, fold_down_chain, get_layout
from sonicmix.layouts.conversion import downmix
from sonicmix.loudness.meter import LoudnessMeter

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix._typing import Audio

__all__ = ["FoldDownCheck", "DownmixMeter", "downmix_check"]


@dataclass(frozen=True, slots=True)
class FoldDownCheck:
    """Loudness and peaks of one fold-down of a programme.

    Parameters
    ----------
    layout : str
        The fold-down's layout, e.g. ``"5.1"``.
    integrated_lufs : float
        Its integrated loudness (ITU-R BS.1770-5, gated), ``-inf`` if undefined.
    true_peak_dbtp : float
        Its true peak over all channels (BS.1770-5 Annex 2), in dBTP.
    sample_peak_dbfs : float
        Its largest absolute sample, in dBFS.
    clipped : bool
        True when ``true_peak_dbtp`` exceeds ``ceiling_dbtp``: the fold-down
        would clip in a player or encoder (at a ceiling of 0 dBTP), or breaks
        the delivery's true-peak limit (at the target's ceiling).
    ceiling_dbtp : float
        The ceiling ``clipped`` was judged against, in dBTP.
    """

    layout: str
    integrated_lufs: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    clipped: bool
    ceiling_dbtp: float


class DownmixMeter:
    """Meter every fold-down of a programme, block by block, in one pass.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the programme, in Hz.
    layout : str or Layout
        The programme's named layout, e.g. ``"7.1.4"``.

    Other Parameters
    ----------------
    layouts : sequence of str, optional
        The fold-downs to meter, each in :func:`sonicmix.layouts.fold_down_chain`
        of ``layout``; by default all of them (none for 22.2, which has no
        defined fold-down).
    lfe_db : float, optional
        Level at which the LFE enters the fold-downs that have no LFE channel
        (stereo, mono; see :func:`sonicmix.layouts.downmix`); by default it is
        dropped, as ITU-R BS.775 does. Fold-downs with an LFE channel carry it
        at unity.
    ceiling_dbtp : float, default 0.0
        True-peak level above which a fold-down is flagged ``clipped``; at most
        0 dBTP (pass a delivery target's ceiling, e.g. -1.0, to judge against it).
    dtype : {"float32", "float64"}, default "float32"
        Precision of the fold-downs and of the meters' true-peak filters.

    Raises
    ------
    LayoutError
        For an unknown or custom layout, or a requested fold-down not in the chain.
    ParameterError
        For an invalid ``sample_rate``, ``lfe_db`` or ``ceiling_dbtp``.

    Examples
    --------
    Blocks of any size give the result of the whole array:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> bed = (0.05 * rng.standard_normal((12, 3 * 48000))).astype(np.float32)
    >>> meter = DownmixMeter(48000, "7.1.4", layouts=("stereo",))
    >>> for block in np.array_split(bed, 7, axis=1):
    ...     meter.update(block)
    >>> meter.report() == downmix_check(bed, 48000, "7.1.4", layouts=("stereo",))
    True
    """

    def __init__(
        self,
        sample_rate: int,
        layout: str | Layout,
        *,
        layouts: tuple[str, ...] | list[str] | None = None,
        lfe_db: float | None = None,
        ceiling_dbtp: float = 0.0,
        dtype: str | np.dtype = "float32",
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self.layout = get_layout(layout)
        chain = fold_down_chain(self.layout)
        if layouts is None:
            targets = chain
        else:
            targets = tuple(get_layout(name).name for name in layouts)
            stray = [name for name in targets if name not in chain]
            if stray:
                raise LayoutError(
                    f"layouts={list(layouts)!r}: {stray} are not fold-downs of {self.layout.name!r}; "
                    f"expected names from its fold-down chain {list(chain)}"
                )
        if lfe_db is not None:
            check_range("lfe_db", lfe_db, high=0.0)
        self.lfe_db = lfe_db
        self.ceiling_dbtp = check_range("ceiling_dbtp", ceiling_dbtp, high=0.0)
        self.dtype = np.dtype(dtype)
        self.targets = targets
        self._meters = {
            name: LoudnessMeter(self.sample_rate, layout=name, dtype=self.dtype) for name in targets
        }
        # lfe_db applies to the fold-downs without an LFE channel; the others carry it at unity
        self._lfe = {name: None if get_layout(name).lfe_indices else lfe_db for name in targets}

    def update(self, audio: Audio) -> None:
        """Fold the next ``(channels, samples)`` block down to every target and meter it."""
        x = check_audio(audio, "audio", channels=self.layout.n_channels, min_samples=0, finite=False)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        for name, meter in self._meters.items():
            meter.update(downmix(x, self.layout, name, lfe_db=self._lfe[name]))

    def report(self) -> list[FoldDownCheck]:
        """One :class:`FoldDownCheck` per fold-down, widest first."""
        rows = []
        for name, meter in self._meters.items():
            found = meter.report()
            peak = found.true_peak_dbtp
            rows.append(
                FoldDownCheck(
                    layout=name,
                    integrated_lufs=found.integrated_lufs,
                    true_peak_dbtp=peak,
                    sample_peak_dbfs=found.sample_peak_dbfs,
                    clipped=bool(math.isfinite(peak) and peak > self.ceiling_dbtp),
                    ceiling_dbtp=self.ceiling_dbtp,
                )
            )
        return rows


def downmix_check(
    audio: Audio,
    sample_rate: int,
    layout: str | Layout,
    *,
    layouts: tuple[str, ...] | list[str] | None = None,
    lfe_db: float | None = None,
    ceiling_dbtp: float = 0.0,
) -> list[FoldDownCheck]:
    """Loudness and true peak of every fold-down of ``audio``, clipping flagged.

    Parameters
    ----------
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 programme in ``layout``.
    sample_rate : int
        Sample rate in Hz.
    layout : str or Layout
        The programme's named layout.

    Other Parameters
    ----------------
    layouts, lfe_db, ceiling_dbtp
        As for :class:`DownmixMeter`.

    Returns
    -------
    list of FoldDownCheck
        One per fold-down, widest first (:func:`sonicmix.layouts.fold_down_chain`);
        empty for 22.2.

    Raises
    ------
    AudioError
        For audio that is not float ``(channels, samples)`` with ``layout``'s
        channel count, or holds NaN or inf.
    LayoutError, ParameterError
        As :class:`DownmixMeter`.

    See Also
    --------
    DownmixMeter : the same, block by block.
    sonicmix.layouts.downmix : one fold-down's samples.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> bed = (0.1 * rng.standard_normal((16, 2 * 48000))).astype(np.float32)
    >>> [row.layout for row in downmix_check(bed, 48000, "9.1.6")]
    ['7.1.4', '7.1', '5.1', 'stereo', 'mono']
    """
    dtype = audio.dtype if isinstance(audio, np.ndarray) and audio.dtype == np.float64 else np.float32
    meter = DownmixMeter(
        sample_rate, layout, layouts=layouts, lfe_db=lfe_db, ceiling_dbtp=ceiling_dbtp, dtype=dtype
    )
    meter.update(audio)
    return meter.report()
