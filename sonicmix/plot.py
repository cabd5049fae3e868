"""Plots for reports and notebooks (needs matplotlib: ``pip install sonicmix[plot]``).

matplotlib is imported inside the functions, with the non-interactive Agg
backend when no figure is given, so these work on servers and in CI.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from sonicmix.loudness.report import LoudnessReport

__all__ = ["plot_loudness"]


def plot_loudness(
    report: LoudnessReport,
    *,
    target: Any = None,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Any:
    """Momentary and short-term loudness over time, against a target's band and ceiling.

    Parameters
    ----------
    report : LoudnessReport
        A measurement (its 100 ms series are plotted).
    target : LoudnessTarget or str, optional
        Draws the integrated-loudness band (target +- tolerance) and, on the
        right axis, the true-peak ceiling next to the measured true peak.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    path : path, optional
        Save the figure as PNG there (atomically: a temporary file, then a rename).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.loudness import measure
    >>> t = np.arange(10 * 48000) / 48000
    >>> report = measure(np.tile(0.1 * np.sin(2 * np.pi * 1000 * t), (2, 1)), 48000)
    >>> ax = plot_loudness(report, target="ebu-r128")
    >>> ax.get_ylabel()
    'loudness (LUFS)'
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    else:
        fig = ax.figure
    floor = -60.0
    momentary = np.maximum(report.momentary_lufs, floor)
    short_term = np.maximum(report.short_term_lufs, floor)
    ax.plot(report.momentary_times_s, momentary, lw=0.6, color="0.6", label="momentary (400 ms)")
    ax.plot(report.short_term_times_s, short_term, lw=1.4, color="C0", label="short-term (3 s)")
    if np.isfinite(report.integrated_lufs):
        ax.axhline(
            report.integrated_lufs,
            color="C0",
            ls="--",
            lw=1,
            label=f"integrated {report.integrated_lufs:.1f} LUFS",
        )
    if target is not None:
        from sonicmix.targets import get_target

        t = get_target(target)
        ax.axhspan(t.lower_lufs, t.upper_lufs, color="C2", alpha=0.15, label=f"{t.name} target band")
        ax.axhline(t.integrated_lufs, color="C2", lw=1)
        ax.axhline(t.true_peak_dbtp, color="C3", lw=1, label=f"ceiling {t.true_peak_dbtp:g} dBTP")
    if np.isfinite(report.true_peak_dbtp):
        ax.axhline(
            report.true_peak_dbtp,
            color="C3",
            ls=":",
            lw=1,
            label=f"true peak {report.true_peak_dbtp:.2f} dBTP",
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("loudness (LUFS)")
    ax.set_ylim(floor, 3.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncol=2)
    if title:
        ax.set_title(title)
    if path is not None:
        path = os.fspath(path)
        tmp = path + ".partial.png"
        fig.savefig(tmp, format="png", bbox_inches="tight")
        os.replace(tmp, path)
    return ax
