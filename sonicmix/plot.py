"""Plots for reports, nodes and notebooks (needs matplotlib: ``pip install sonicmix[plot]``).

- :func:`plot_loudness`: momentary and short-term loudness over time against a
  target's tolerance band and true-peak ceiling;
- :func:`plot_gain_reduction`: the gain a dynamics node applies over time
  (:class:`~sonicmix.nodes.dynamics.Compressor`, ``KeyedCompressor``,
  :class:`~sonicmix.nodes.dynamics.Gate`, broadband ``DeEsser``,
  :class:`~sonicmix.nodes.limiter.Limiter`, :class:`~sonicmix.nodes.ducking.Ducker`),
  with the curve itself from :func:`gain_reduction_db`;
- :func:`plot_response`: magnitude (and optionally phase) response of a filter
  node, a chain of them or second-order sections, from :func:`frequency_response`.

Every plot function takes ``ax=`` to draw into existing axes and returns the
axes it drew on. Without ``ax`` a new figure is made: through pyplot (so that
notebooks show it and ``plt.show()`` works; on a machine without a display
matplotlib picks its non-interactive Agg backend itself), or, when the plot
is only saved to ``path``, as a bare :class:`matplotlib.figure.Figure` that
touches no global state and is safe in threads. No backend is ever switched
here. matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import errno
import os
import secrets
from typing import Any

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix.errors import ParameterError
from sonicmix.loudness.report import LoudnessReport

__all__ = [
    "plot_loudness",
    "plot_gain_reduction",
    "plot_response",
    "gain_reduction_db",
    "frequency_response",
]


def _new_axes(what: str, figsize: tuple[float, float], *, detached: bool = False) -> Any:
    """Axes of a new figure: pyplot's, or a bare Figure's when ``detached`` (nothing global)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"{what} needs matplotlib, which is not installed; install it with "
            "pip install 'sonicmix[plot]' (or pip install matplotlib)"
        ) from err
    if detached:
        from matplotlib.figure import Figure

        return Figure(figsize=figsize, dpi=100, layout="constrained").subplots()
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, dpi=100, layout="constrained")
    return ax


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    """Save as PNG atomically: a temporary file, then a rename; a failure leaves neither behind.

    The temporary is unique and hidden (``.<name>.<random>.partial.png`` beside ``path``), so
    plots saved to one name at once, from threads or processes, do not write into each other's
    file: the last rename wins with a whole PNG. A file system error is raised as
    :class:`~sonicmix.errors.AudioFileError` naming ``path``.
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = None
    doing = f"creating a temporary file in {folder or os.curdir!r}"
    try:
        tmp = _hidden_temporary(folder, name)
        doing = f"writing {tmp!r}"
        fig.savefig(tmp, format="png", bbox_inches="tight")
        doing = f"renaming {tmp!r} to it"
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:  # already gone
                pass
        if not isinstance(err, OSError):  # an interrupt, or matplotlib's own error
            raise
        from sonicmix.errors import AudioFileError

        raise AudioFileError(
            f"cannot save the plot to path={path!r}: {doing} failed ({err.strerror or err}); expected a "
            "writable file path (no temporary file was left)"
        ) from err


def _hidden_temporary(folder: str, name: str) -> str:
    """Create an empty ``.<name>.<random>.partial.png`` in ``folder`` and return its path.

    Opened with mode 0o666 and ``O_EXCL``, so the umask applies as to any new file, without
    reading or setting it (mkstemp's 0o600 would make the plot private; ``os.fchmod`` is missing
    on Windows before Python 3.13, and setting the umask to read it races other threads).
    """
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.partial.png")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name after 100 tries", folder or os.curdir)


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
        Where to draw; a new figure otherwise (see the module notes).
    path : path, optional
        Save the figure as PNG there (atomically: a temporary file, then a rename).
        Without ``ax``, the figure is then a bare Figure, not one of pyplot's.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed (the message names the ``plot`` extra).
    AudioFileError
        If ``path`` cannot be written (no temporary file is left).

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
    if ax is None:
        ax = _new_axes("plot_loudness", (10.0, 4.0), detached=path is not None)
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
        _save(fig, path)
    return ax


# ------------------------------------------------------------------------------------ gain reduction


def gain_reduction_db(
    node: Any, audio: np.ndarray, sample_rate: int, *, key: np.ndarray | None = None
) -> np.ndarray:
    """The gain a dynamics node applies to ``audio`` at each sample, in dB, aligned with the input.

    The curve is the one the node computes, obtained from the node itself:

    - :class:`~sonicmix.nodes.limiter.Limiter`: its :meth:`~sonicmix.nodes.limiter.Limiter.gain`;
    - :class:`~sonicmix.nodes.ducking.Ducker`: ``gain_db`` of its
      :meth:`~sonicmix.nodes.ducking.Ducker.analyse` (in band mode, the gain of the band);
    - :class:`~sonicmix.nodes.dynamics.Compressor`, ``KeyedCompressor``,
      :class:`~sonicmix.nodes.dynamics.Gate` and
      :class:`~sonicmix.nodes.dynamics.DeEsser`: their
      :meth:`~sonicmix.nodes.dynamics.Compressor.gain`, with the compressor's
      ``makeup_db`` taken out (the curve is the reduction only); for
      ``DeEsser(mode="band")`` it is the gain of the band.

    The input is followed by ``latency_samples`` zeros so that the lookahead
    is flushed; sample ``i`` of the curve is the gain applied to input sample
    ``i`` (its output appears ``latency_samples`` later).

    Parameters
    ----------
    node : Compressor, KeyedCompressor, Gate, DeEsser, Limiter or Ducker
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 input of the node.
    sample_rate : int
        Sample rate in Hz.
    key : np.ndarray, shape=(key_channels, samples), optional
        Side-chain key, for the nodes that take one (KeyedCompressor, Ducker).

    Returns
    -------
    np.ndarray, shape=(curves, samples), float64
        Gain in dB: 0 for none, -6 for 6 dB of reduction. One curve when every
        channel gets the same gain (a linked node, a mono input, a mono key),
        else one per channel.

    Raises
    ------
    ParameterError
        For a node that is not one of the above, a missing or unexpected key,
        or ``DeEsser(mode="band")``.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.nodes.dynamics import Compressor
    >>> t = np.arange(48000) / 48000
    >>> x = (0.5 * np.sin(2 * np.pi * 1000 * t))[np.newaxis].astype(np.float32)  # -6.02 dBFS peaks
    >>> comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.0, release_s=1.0,
    ...                   makeup_db=3.0)
    >>> gain = gain_reduction_db(comp, x, 48000)
    >>> gain.shape, round(float(np.nanmin(gain[:, 24000:])), 2)  # (20 - 6.02) * (1 - 1/4)
    ((1, 48000), -10.48)
    """
    from sonicmix.nodes.ducking import Ducker
    from sonicmix.nodes.dynamics import Compressor, DeEsser, Gate
    from sonicmix.nodes.limiter import Limiter

    supported = (Compressor, Gate, DeEsser, Limiter, Ducker)
    if not isinstance(node, supported):
        raise ParameterError(
            f"node={type(node).__name__} has no gain curve to show; expected a Compressor, KeyedCompressor, "
            "Gate, DeEsser, Limiter or Ducker"
        )
    x = check_audio(audio, "audio", min_samples=0)
    rate = check_sample_rate(sample_rate)
    k = node._check_key(x, key)
    lag = node.latency_samples(rate)

    def flushed(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, lag))) if lag else a

    if isinstance(node, Ducker):
        analysis = node.analyse(flushed(x), rate, key=flushed(k))
        return np.asarray(analysis.gain_db[lag:], np.float64)[np.newaxis]
    # the gain at output sample i + lag is the one applied to input sample i
    state = node.init_state(x.shape[0], rate, x.dtype)
    if isinstance(node, Limiter):
        g, _ = node.gain(flushed(x), rate, state)
    else:
        g, _ = node.gain(flushed(x), rate, state, key=None if k is None else flushed(k))
    with np.errstate(divide="ignore"):
        curves = 20.0 * np.log10(g[:, lag:].astype(np.float64))
    return curves - float(getattr(node, "makeup_db", 0.0))


def plot_gain_reduction(
    node: Any,
    audio: np.ndarray,
    sample_rate: int,
    *,
    key: np.ndarray | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Gain reduction of a dynamics node over time, in dB against seconds.

    Draws :func:`gain_reduction_db` (see it for how each node's curve is
    obtained): 0 dB is no reduction, -6 dB is 6 dB of it.

    Parameters
    ----------
    node : Compressor, KeyedCompressor, Gate, DeEsser, Limiter or Ducker
    audio : np.ndarray, shape=(channels, samples)
    sample_rate : int
    key : np.ndarray, shape=(key_channels, samples), optional
        Side-chain key, for KeyedCompressor and Ducker.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    title : str, optional
        Default: ``"<node type> gain reduction"``.

    Returns
    -------
    matplotlib.axes.Axes
        One line per curve; the x data are seconds, the y data dB.

    Raises
    ------
    ParameterError
        As :func:`gain_reduction_db`.
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.nodes.limiter import Limiter
    >>> x = np.ones((2, 4800), np.float32)
    >>> ax = plot_gain_reduction(Limiter(ceiling_dbtp=-6.0), x, 48000)
    >>> line = ax.get_lines()[0]
    >>> float(line.get_xdata()[-1]), bool(line.get_ydata()[-1] <= -6.0)
    (0.09997916666666666, True)
    """
    curves = gain_reduction_db(node, audio, sample_rate, key=key)
    if ax is None:
        ax = _new_axes("plot_gain_reduction", (10.0, 3.0))
    t = np.arange(curves.shape[1]) / int(sample_rate)
    for c, curve in enumerate(curves):
        label = "all channels" if curves.shape[0] == 1 else f"channel {c}"
        ax.plot(t, curve, lw=1.0, label=label)
    lowest = float(np.nanmin(curves)) if np.isfinite(curves).any() else 0.0
    ax.set_ylim(min(lowest * 1.1, lowest - 1.0, -1.0), 0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("gain reduction (dB)")
    ax.grid(alpha=0.3)
    if curves.shape[0] > 1:
        ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title if title is not None else f"{type(node).__name__} gain reduction")
    return ax


# ------------------------------------------------------------------------------------ responses


def _stages(obj: Any, sample_rate: int) -> list[tuple[str, Any]]:
    """A filter as stages: ("sos", sections), ("fir", taps) or ("gain", factor)."""
    from sonicmix.nodes.base import Chain, Node
    from sonicmix.nodes.gain import Gain

    if isinstance(obj, Chain):
        return [stage for node in obj.nodes for stage in _stages(node, sample_rate)]
    if isinstance(obj, Gain):
        return [("gain", 10.0 ** (obj.gain_db / 20.0))]
    if isinstance(obj, Node):
        sections = obj.sections(sample_rate)
        if sections is not None:
            return [("sos", np.asarray(sections, np.float64))]
        fir = getattr(obj, "fir", None)
        if callable(fir):
            return [("fir", np.asarray(fir(sample_rate), np.float64))]
        raise ParameterError(
            f"node={type(obj).__name__} is not a linear filter with a known response; expected an EQ or "
            "filter node (sections() or fir()), a Gain, a Chain of them, or second-order sections"
        )
    sos = np.asarray(obj, dtype=np.float64)
    if sos.ndim == 1 and sos.size == 6:
        sos = sos[np.newaxis]
    if sos.ndim != 2 or sos.shape[1] != 6 or not sos.shape[0]:
        raise ParameterError(
            f"sos.shape={sos.shape}; expected second-order sections of shape (sections, 6) "
            "as scipy.signal designs them with output='sos', or a filter node"
        )
    if not np.all(np.isfinite(sos)) or np.any(sos[:, 3] == 0):
        raise ParameterError("sos has non-finite coefficients or a section with a0 == 0; expected a0 != 0")
    return [("sos", sos)]


def frequency_response(node_or_sos: Any, sample_rate: int, freqs_hz: Any) -> np.ndarray:
    """Complex frequency response of a filter node, a chain of them, or second-order sections.

    Parameters
    ----------
    node_or_sos : Node or array_like, shape=(sections, 6)
        An EQ or filter node (anything whose ``sections`` gives a biquad
        cascade, a linear-phase :class:`~sonicmix.nodes.eq.ParametricEQ`), a
        :class:`~sonicmix.nodes.gain.Gain`, a :class:`~sonicmix.nodes.base.Chain`
        of these, or ``sos`` coefficients ``[b0, b1, b2, a0, a1, a2]`` per row.
    sample_rate : int
        Sample rate in Hz the node runs at.
    freqs_hz : array_like
        Frequencies in Hz, 0 <= f <= sample_rate / 2.

    Returns
    -------
    np.ndarray, complex128, shape like ``freqs_hz``
        ``H(exp(j 2 pi f / sample_rate))``, the product over all sections and stages.

    Examples
    --------
    >>> from sonicmix.nodes.eq import Peak
    >>> h = frequency_response(Peak(freq_hz=1000.0, gain_db=6.0, q=1.0), 48000, [1000.0])
    >>> round(float(20 * np.log10(abs(h[0]))), 6)
    6.0
    """
    rate = check_sample_rate(sample_rate)
    f = np.asarray(freqs_hz, dtype=np.float64)
    if not np.all(np.isfinite(f)) or np.any(f < 0) or np.any(f > rate / 2):
        raise ParameterError(
            f"freqs_hz has values outside 0..{rate / 2:g} Hz; expected frequencies up to the Nyquist "
            f"frequency of sample_rate={rate}"
        )
    z1 = np.exp(-2j * np.pi * f / rate)  # z**-1 on the unit circle
    z2 = z1 * z1
    h = np.ones(f.shape, np.complex128)
    for kind, value in _stages(node_or_sos, rate):
        if kind == "gain":
            h *= value
        elif kind == "sos":
            for b0, b1, b2, a0, a1, a2 in value:
                h *= (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
        else:
            from scipy.signal import freqz

            h *= freqz(value, [1.0], worN=f.ravel(), fs=rate)[1].reshape(f.shape)
    return h


def plot_response(
    node_or_sos: Any,
    sample_rate: int,
    *,
    n: int = 2048,
    low_hz: float = 10.0,
    phase: bool = False,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Magnitude response in dB against log frequency, and optionally the phase.

    Parameters
    ----------
    node_or_sos : Node or array_like, shape=(sections, 6)
        What :func:`frequency_response` accepts.
    sample_rate : int
        Sample rate in Hz the filter runs at.
    n : int, default 2048
        Number of frequencies, spaced logarithmically from ``low_hz`` to the
        Nyquist frequency.
    low_hz : float, default 10.0
        Lowest frequency drawn, in Hz, 0 < low_hz < sample_rate / 2.
    phase : bool, default False
        Also draw the phase in degrees on a second y axis (the axes' twin,
        ``ax.figure.axes[-1]``). The constant delay of linear-phase FIR
        stages is removed from it and the label says by how much.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    title : str, optional
        Default: the node's type name.

    Returns
    -------
    matplotlib.axes.Axes
        The magnitude axes; its first line holds the frequencies (Hz) and
        the magnitude (dB) drawn.

    Raises
    ------
    ParameterError
        For something that is not a linear filter, bad sections, ``n`` or ``low_hz``.
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> from sonicmix.nodes.eq import HighPass
    >>> ax = plot_response(HighPass(cutoff_hz=100.0), 48000, n=512)
    >>> f, db = ax.get_lines()[0].get_data()
    >>> len(f), float(f[0]), float(f[-1])
    (512, 10.0, 24000.0)
    """
    rate = check_sample_rate(sample_rate)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ParameterError(f"n={n!r}; expected a whole number of frequencies >= 2")
    check_range("low_hz", low_hz, low=0.0, high=rate / 2, low_inclusive=False, high_inclusive=False,
                hint="the lowest frequency drawn, in Hz")  # fmt: skip
    f = np.geomspace(float(low_hz), rate / 2, int(n))
    h = frequency_response(node_or_sos, rate, f)
    with np.errstate(divide="ignore"):
        magnitude_db = 20.0 * np.log10(np.abs(h))
    if ax is None:
        ax = _new_axes("plot_response", (8.0, 4.0))
    ax.plot(f, magnitude_db, color="C0", lw=1.4, label="magnitude")
    ax.set_xscale("log")
    ax.set_xlim(f[0], f[-1])
    finite = magnitude_db[np.isfinite(magnitude_db)]
    if finite.size:
        top = float(finite.max())
        bottom = max(float(finite.min()), top - 100.0)  # deep notches and stop bands would flatten the rest
        span = max(top - bottom, 6.0)
        ax.set_ylim(bottom - 0.05 * span, top + 0.05 * span + (3.0 if span == 6.0 else 0.0))
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("magnitude (dB)")
    ax.grid(alpha=0.3, which="both")
    if phase:
        delay = sum((len(v) - 1) / 2 for kind, v in _stages(node_or_sos, rate) if kind == "fir")
        shown = h * np.exp(2j * np.pi * f * delay / rate) if delay else h
        degrees = np.degrees(np.unwrap(np.angle(shown)))
        twin = ax.twinx()
        twin.plot(f, degrees, color="C1", lw=1.0, ls="--", label="phase")
        label = "phase (degrees)" if not delay else f"phase (degrees, {delay:g}-sample delay removed)"
        twin.set_ylabel(label)
    name = type(node_or_sos).__name__ if not isinstance(node_or_sos, (np.ndarray, list, tuple)) else "sos"
    ax.set_title(title if title is not None else f"{name} response at {rate} Hz")
    return ax


def write_loudness_png(report: LoudnessReport, *, target: Any, path: str, title: str) -> bool:
    """Save :func:`plot_loudness` of ``report`` to ``path`` (PNG); False when matplotlib is not installed.

    The delivery's report plot (registered with :mod:`sonicmix._hooks` by ``import sonicmix``).
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    import matplotlib.pyplot as plt

    ax = plot_loudness(report, target=target, path=path, title=title)
    plt.close(ax.figure)
    return True
