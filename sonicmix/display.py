"""Rich display in notebooks: audio players, loudness tables and mix-graph trees, as plain HTML.

Jupyter shows any object that has a ``_repr_html_`` method as HTML. The
results of sonicmix have one that calls :func:`html`:

- :class:`~sonicmix.renderer.RenderResult`: a table of loudness figures for
  the master and every stem, an audio player for each, and a loudness plot of
  the master;
- :class:`~sonicmix.deliver.Delivery`: pass or fail with the reasons, the
  compliance table, the files with their measurements, a player for each file
  and the loudness plot against the target;
- :class:`~sonicmix.loudness.report.LoudnessReport`: a table;
- :class:`~sonicmix.graph.Graph`: the routing as a tree (tracks into buses
  into the master, with chains, sends and side-chain keys); :func:`tree` gives
  the same tree as text.

:func:`audio` wraps any array in a player, and :func:`binaural` a loudspeaker
programme rendered for headphones. Players embed the audio in the page
as a 16-bit WAV (a ``data:`` URI), at most ``max_duration_s`` seconds of it
(10 s by default) and at most 4 MiB; the players of one result share
4 MiB among its outputs. Saved notebooks stay small that way;
the player says when it holds only the start of the audio. The preview is
not dithered and clips at full scale (and says so); the files a delivery
writes are unaffected. More than two channels are folded down to stereo for
the preview (ITU-R BS.775, see :func:`sonicmix.layouts.conversion_matrix`).

Nothing here needs IPython. The plots need matplotlib (``pip install
sonicmix[plot]``); without it the HTML says so and everything else is shown.
Every name that comes from user data is escaped with :func:`html.escape`.

Examples
--------
>>> import numpy as np
>>> t = np.arange(4800) / 48000
>>> player = audio(0.5 * np.sin(2 * np.pi * 440 * t), 48000, title="A4 <tone>")
>>> page = player._repr_html_()
>>> page.startswith("<div"), "data:audio/wav;base64," in page, "A4 &lt;tone&gt;" in page
(True, True, True)
"""

from __future__ import annotations

import base64
import dataclasses
import html as _html
import io
import math
import os
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix.errors import ParameterError

__all__ = ["AudioPlayer", "audio", "binaural", "html", "node_text", "tree"]

#: Default length of audio embedded in a player, in seconds.
MAX_DURATION_S = 10.0
#: Largest WAV embedded in one player, in bytes (about 21.8 s of 48 kHz stereo at 16 bits).
MAX_WAV_BYTES = 4 * 1024 * 1024
#: Largest total of WAV data in the players of one result (split evenly among its outputs).
MAX_DISPLAY_BYTES = 4 * 1024 * 1024

_STYLE = "font-family: sans-serif; font-size: 13px"
_TABLE = "border-collapse: collapse; margin: 4px 0"
_CELL = "padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left"
_NUM = _CELL.replace("text-align: left", "text-align: right") + "; font-variant-numeric: tabular-nums"


def _e(value: object) -> str:
    return _html.escape(str(value), quote=True)


# ------------------------------------------------------------------------------------------ audio


@dataclass(frozen=True, eq=False)
class AudioPlayer:
    """An HTML audio player for an array (what :func:`audio` returns).

    Attributes
    ----------
    audio : np.ndarray, shape=(channels, samples)
    sample_rate : int
    title : str
    max_duration_s : float
        At most this much of the start of ``audio`` is embedded.
    max_bytes : int
        And at most this many bytes of samples.
    """

    audio: np.ndarray
    sample_rate: int
    title: str = ""
    max_duration_s: float = MAX_DURATION_S
    max_bytes: int = MAX_WAV_BYTES

    def wav(self) -> tuple[bytes, list[str]]:
        """The embedded WAV file (16-bit PCM, at most two channels) and notes on what it leaves out."""
        x = self.audio
        notes: list[str] = []
        channels, n = x.shape
        if channels > 2:
            from sonicmix.errors import LayoutError
            from sonicmix.layouts import conversion_matrix, default_layout

            try:
                layout = default_layout(channels)
            except LayoutError:  # no named layout for this count: average the channels
                x = x.mean(axis=0, keepdims=True)
                notes.append(f"{channels} channels averaged to mono for the preview")
            else:
                x = conversion_matrix(layout, "stereo") @ x
                notes.append(f"{layout.name} folded down to stereo (ITU-R BS.775) for the preview")
        out_channels = x.shape[0]
        frames = min(
            n,
            int(round(self.max_duration_s * self.sample_rate)),
            self.max_bytes // (2 * out_channels),
        )
        if frames < n:
            notes.append(f"the first {frames / self.sample_rate:.1f} s of {n / self.sample_rate:.1f} s")
        x = np.asarray(x[:, :frames], dtype=np.float64)
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, 0.0, x)
            notes.append(f"{int(bad.sum())} non-finite samples played as silence")
        peak = float(np.abs(x).max()) if x.size else 0.0
        if peak > 1.0:
            notes.append(f"peaks of {20 * math.log10(peak):+.1f} dBFS clipped to full scale in the preview")
        pcm = np.clip(np.round(x * 32767.0), -32767, 32767).astype("<i2")
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as w:
            w.setnchannels(out_channels)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(np.ascontiguousarray(pcm.T).tobytes())
        return buffer.getvalue(), notes

    def to_html(self) -> str:
        """The player as an HTML fragment."""
        data, notes = self.wav()
        channels, n = self.audio.shape
        head = f"{channels} ch, {self.sample_rate} Hz, {n / self.sample_rate:.2f} s"
        title = f"<b>{_e(self.title)}</b> " if self.title else ""
        uri = "data:audio/wav;base64," + base64.b64encode(data).decode("ascii")
        note = f"<br><small>preview: {_e('; '.join(notes))}</small>" if notes else ""
        return (
            f'<div style="{_STYLE}; margin: 4px 0">{title}<small>{_e(head)}</small><br>'
            f'<audio controls preload="none" src="{uri}"></audio>{note}</div>'
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def audio(
    array: Any, sample_rate: int, *, title: str = "", max_duration_s: float = MAX_DURATION_S
) -> AudioPlayer:
    """Wrap audio in an object that notebooks show as a player.

    Parameters
    ----------
    array : np.ndarray, shape=(channels, samples) or (samples,)
        float32 or float64, full scale = 1.0. A 1-D array is mono.
    sample_rate : int
        Sample rate in Hz.
    title : str, optional
        Shown above the player (escaped).
    max_duration_s : float, default 10.0
        Embed at most this many seconds (from the start), and at most 4 MiB of WAV.

    Returns
    -------
    AudioPlayer
        Its ``_repr_html_`` is the player; ``wav()`` gives the embedded file.

    Raises
    ------
    AudioError
        For arrays that are not float audio (integer PCM, more than 2 dimensions, ...).
    ParameterError
        For a bad ``sample_rate`` or ``max_duration_s``.

    Examples
    --------
    >>> import numpy as np
    >>> player = audio(np.zeros((2, 48000 * 60), np.float32), 48000)
    >>> data, notes = player.wav()
    >>> len(data), notes
    (1920044, ['the first 10.0 s of 60.0 s'])
    """
    x = np.asarray(array) if not isinstance(array, np.ndarray) else array
    if x.ndim == 1:
        x = x[np.newaxis]
    x = check_audio(x, "array", min_samples=0, finite=False)
    rate = check_sample_rate(sample_rate)
    check_range("max_duration_s", max_duration_s, low=0.0, low_inclusive=False, hint="seconds")
    if not isinstance(title, str):
        raise ParameterError(f"title={title!r} is not a string; expected text for the player's heading")
    return AudioPlayer(audio=x, sample_rate=rate, title=title, max_duration_s=float(max_duration_s))


def binaural(
    array: Any,
    sample_rate: int,
    *,
    layout: Any = None,
    sofa: Any = None,
    lfe_db: float | None = None,
    title: str = "",
    max_duration_s: float = MAX_DURATION_S,
) -> AudioPlayer:
    """A player of a loudspeaker programme rendered for headphones.

    The rendering is :func:`sonicmix.spatial.binaural.render_binaural`'s.
    Only the start the player embeds (``max_duration_s``) is rendered, so a
    long programme costs no more than a short one; the title says how much
    of it the player holds. Non-finite samples are rendered as silence, as
    :func:`audio` plays them, and the title says so.

    Parameters
    ----------
    array : np.ndarray, shape=(channels, samples)
        float32 or float64 loudspeaker feeds.
    sample_rate : int
        Sample rate in Hz.
    layout, sofa, lfe_db
        As in :class:`sonicmix.spatial.binaural.Binaural` (``layout`` by
        default the one assumed for the channel count: mono to 7.1).
    title : str, optional
        Shown above the player; by default the layout and the HRIR set.
    max_duration_s : float, default 10.0
        Render and embed at most this many seconds from the start.

    Returns
    -------
    AudioPlayer
        Two channels (left ear, right ear).

    Raises
    ------
    LayoutError, SofaError, AudioError
        As :func:`sonicmix.spatial.binaural.render_binaural`.

    Examples
    --------
    >>> import numpy as np
    >>> bed = np.zeros((12, 48000 * 60), np.float32)
    >>> player = binaural(bed, 48000, layout="7.1.4")  # doctest: +SKIP
    >>> player.audio.shape, player.title  # doctest: +SKIP
    ((2, 480000), '7.1.4 for headphones (MIT_KEMAR_normal_pinna.sofa), the first 10.0 s of 60.0 s')
    """
    from sonicmix.layouts import resolve_layout
    from sonicmix.spatial.binaural import render_binaural
    from sonicmix.spatial.sofa import load_hrirs

    x = check_audio(array, "array", min_samples=0, finite=False)
    rate = check_sample_rate(sample_rate)
    check_range("max_duration_s", max_duration_s, low=0.0, low_inclusive=False, hint="seconds")
    resolved = resolve_layout(layout, x.shape[0], name="array")
    n = x.shape[1]
    frames = min(n, int(round(max_duration_s * rate)))
    head = x[:, :frames]
    notes = []
    bad = ~np.isfinite(head)
    if bad.any():
        head = np.where(bad, 0.0, head).astype(x.dtype)
        notes.append(f"{int(bad.sum())} non-finite samples rendered as silence")
    hrirs = load_hrirs(sofa)
    ears = render_binaural(head, rate, layout=resolved, sofa=hrirs, lfe_db=lfe_db)
    if frames < n:
        notes.insert(0, f"the first {frames / rate:.1f} s of {n / rate:.1f} s")
    if not title:
        title = f"{resolved.name} for headphones ({os.path.basename(hrirs.name) or 'HRIR set'})"
    title = ", ".join([title, *notes])
    return AudioPlayer(audio=ears, sample_rate=rate, title=title, max_duration_s=float(max_duration_s))


# ------------------------------------------------------------------------------------------ tables


def _num(value: float, unit: str, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    if math.isinf(value):
        return f"{'-' if value < 0 else ''}inf {unit}"
    return f"{value:.{digits}f} {unit}"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], numeric: tuple[int, ...] = ()) -> str:
    head = "".join(f'<th style="{_CELL}">{_e(h)}</th>' for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td style="{_NUM if i in numeric else _CELL}">{cell}</td>' for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


_LOUDNESS_HEADER = ("", "integrated", "LRA", "true peak", "sample peak", "short-term max", "momentary max")


def _loudness_row(name: str, r: Any) -> tuple[str, ...]:
    return (
        f"<code>{_e(name)}</code>",
        _e(_num(r.integrated_lufs, "LUFS")),
        _e(_num(r.lra_lu, "LU")),
        _e(_num(r.true_peak_dbtp, "dBTP", 2)),
        _e(_num(r.sample_peak_dbfs, "dBFS", 2)),
        _e(_num(r.short_term_max_lufs, "LUFS")),
        _e(_num(r.momentary_max_lufs, "LUFS")),
    )


def _report_html(report: Any) -> str:
    rows = [
        ("Integrated", _num(report.integrated_lufs, "LUFS")),
        ("Loudness range", _num(report.lra_lu, "LU")),
        ("True peak", _num(report.true_peak_dbtp, "dBTP", 2)),
        ("Sample peak", _num(report.sample_peak_dbfs, "dBFS", 2)),
        ("Short-term max", _num(report.short_term_max_lufs, "LUFS")),
        ("Momentary max", _num(report.momentary_max_lufs, "LUFS")),
    ]
    if not math.isnan(report.dialogue_lufs):
        rows.insert(1, ("Dialogue-gated", _num(report.dialogue_lufs, "LUFS")))
    if report.channels > 1:
        per_channel = ", ".join(_num(v, "", 2).strip() for v in report.true_peak_per_channel_dbtp)
        rows.append(("True peak per channel", f"{per_channel} dBTP"))
    head = (
        f"Loudness report: {report.duration_s:.3f} s, {report.channels} ch ({report.layout}), "
        f"{report.sample_rate} Hz"
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    return (
        f'<div style="{_STYLE}"><b>{_e(head)}</b>'
        + _table(("measure", "value"), [(_e(a), _e(b)) for a, b in rows], numeric=(1,))
        + (f"<ul>{notes}</ul>" if notes else "")
        + "</div>"
    )


def _loudness_png(report: Any, target: Any = None, title: str | None = None) -> str:
    """An <img> of the loudness plot, or a note when matplotlib is missing or nothing can be drawn."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return (
            "<p><small>Install matplotlib (<code>pip install sonicmix[plot]</code>) "
            "for a loudness plot.</small></p>"
        )
    if not report.momentary_lufs.size:
        return ""
    from sonicmix.plot import plot_loudness

    fig = Figure(figsize=(7.5, 2.8), dpi=80)
    ax = fig.subplots()
    plot_loudness(report, target=target, ax=ax, title=title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = _e(title or "loudness over time")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


def _render_result_html(result: Any) -> str:
    from sonicmix.loudness import measure

    rate = result.sample_rate
    outputs = {"mix": result.master}
    same = []  # stems with the mix's very samples (the master bus's own, and any bus that is all of it)
    for name, stem in result.stems.items():
        if stem.shape == result.master.shape and np.array_equal(stem, result.master):
            same.append(name)
        else:
            outputs[name] = stem
    reports = {}
    for name, x in outputs.items():
        reports[name] = measure(x, rate) if x.shape[1] else None
    head = (
        f"RenderResult: {result.duration_s:.3f} s at {rate} Hz, {result.master.shape[0]} ch; "
        f"latency {result.latency_samples} samples (compensated); rendered in {result.elapsed_s:.2f} s"
    )
    rows = [_loudness_row(name, r) for name, r in reports.items() if r is not None]
    parts = [f'<div style="{_STYLE}"><b>{_e(head)}</b>']
    parts.append(_table(_LOUDNESS_HEADER, rows, numeric=(1, 2, 3, 4, 5, 6)))
    notes = [f"identical to the mix: {', '.join(same)}"] if same else []
    notes += [f"resampled: {s}" for s in result.resampled] + list(result.notes)
    for name, r in reports.items():
        notes += [f"{name}: {n}" for n in (r.notes if r is not None else ("no samples",))]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    if reports["mix"] is not None:
        parts.append(_loudness_png(reports["mix"], title="mix"))
    for name, x in outputs.items():
        if x.shape[1]:
            player = AudioPlayer(x, rate, title=name, max_bytes=MAX_DISPLAY_BYTES // len(outputs))
            parts.append(player.to_html())
    parts.append("</div>")
    return "".join(parts)


def _read_start(path: str, seconds: float) -> tuple[np.ndarray, int] | None:
    """The first ``seconds`` of a deliverable: libsndfile, else decoded as a player would (AAC, Opus)."""
    try:
        import soundfile as sf

        with sf.SoundFile(path) as f:
            rate = f.samplerate
            data = f.read(int(round(seconds * rate)), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), rate
    except (OSError, RuntimeError):  # moved, or a format libsndfile does not read (soundfile: RuntimeError)
        pass
    try:
        from sonicmix.delivery.codecs import decoded_blocks, decoded_rate

        rate = decoded_rate(path)
        wanted, parts = int(round(seconds * rate)), []
        for block in decoded_blocks(path, block_size=rate):
            parts.append(block)
            if sum(p.shape[1] for p in parts) >= wanted:
                break
        return (np.concatenate(parts, axis=1)[:, :wanted], rate) if parts else None
    except Exception:  # noqa: BLE001 - no PyAV, or not decodable: the page says it has no player
        return None


def _delivery_html(delivery: Any) -> str:
    status = "PASSED" if delivery.passed else "FAILED"
    colour = "#1a7f37" if delivery.passed else "#cf222e"
    parts = [
        f'<div style="{_STYLE}"><b>Delivery to {_e(delivery.target.name)}: '
        f'<span style="color: {colour}">{status}</span></b>'
    ]
    if delivery.reasons:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in delivery.reasons) + "</ul>")
    warnings = getattr(delivery, "warnings", ())
    if warnings:
        parts.append("<ul>" + "".join(f"<li>warning: {_e(w)}</li>" for w in warnings) + "</ul>")
    limiting = delivery.limiter.get("max_reduction_db", 0.0)
    gain = "undefined" if not math.isfinite(delivery.gain_db) else f"{delivery.gain_db:+.2f} dB"
    parts.append(
        f"<p>gain {_e(gain)} after {delivery.iterations} pass(es); limiter max reduction "
        f"{limiting:.2f} dB, limiting {delivery.limiter.get('time_limiting_percent', 0.0):.1f} % "
        "of the time; "
        f"{delivery.elapsed_s:.2f} s</p>"
    )
    if delivery.compliance is not None:
        rows = []
        for c in delivery.compliance.criteria:
            unit = "dB" if c.unit == "dBTP" else "LU"
            margin = "undefined" if math.isnan(c.margin) else f"{c.margin:+.2f} {unit}"
            result = "pass" if c.passed else f'<b style="color: #cf222e">FAIL</b>: {_e(c.reason)}'
            rows.append((_e(c.name), _e(_num(c.measured, c.unit, 2)), _e(c.limit_text), _e(margin), result))
        parts.append(_table(("criterion", "measured", "limit", "margin", "result"), rows, numeric=(1, 3)))
    if delivery.files:
        rows = []
        for name, path in delivery.files.items():
            r = delivery.reports.get(name)
            row = _loudness_row(name, r) if r is not None else (f"<code>{_e(name)}</code>",) + ("",) * 6
            rows.append(row + (f"<code>{_e(os.path.basename(path))}</code>",))
        parts.append(_table(_LOUDNESS_HEADER + ("file",), rows, numeric=(1, 2, 3, 4, 5, 6)))
        mix = next(iter(delivery.files))
        if mix in delivery.reports:
            title = f"{mix} ({delivery.target.name})"
            parts.append(_loudness_png(delivery.reports[mix], delivery.target, title=title))
        for name, path in delivery.files.items():
            loaded = _read_start(path, MAX_DURATION_S)
            if loaded is None:
                parts.append(f"<p><small>{_e(path)}: cannot be read back for a player</small></p>")
            else:
                title = f"{name}: {os.path.basename(path)}"
                share = MAX_DISPLAY_BYTES // len(delivery.files)
                player = AudioPlayer(loaded[0], loaded[1], title=title, max_bytes=share)
                parts.append(player.to_html())
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------ graphs


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple) and value and all(dataclasses.is_dataclass(v) for v in value):
        return f"<{len(value)}>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def node_text(node: Any) -> str:
    """A node as ``Type(parameter=value, ...)`` with only the parameters that differ from the defaults.

    Examples
    --------
    >>> from sonicmix.nodes.dynamics import Compressor
    >>> node_text(Compressor(threshold_db=-24.0, ratio=3.0))
    'Compressor(threshold_db=-24, ratio=3)'
    """
    if not dataclasses.is_dataclass(node):
        return type(node).__name__
    changed = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        try:
            same = bool(value == default)
        except (ValueError, TypeError):  # arrays compare element-wise
            same = False
        if not same:
            changed.append(f"{f.name}={_short(value)}")
    return f"{type(node).__name__}({', '.join(changed)})"


def _level(value: Any) -> str:
    return "automated" if not isinstance(value, (int, float)) else f"{value:+g} dB"


def _strip_facts(graph: Any, name: str) -> tuple[list[str], str, list[str]]:
    """(facts, chain, routing notes) of a track or bus, as plain text."""
    from sonicmix.graph import Track

    strip = graph.strip(name)
    is_track = isinstance(strip, Track)
    facts = ["track" if is_track else "bus", strip.layout]
    if is_track:
        facts.append(f"{len(strip.clips)} clip{'s' if len(strip.clips) != 1 else ''}")
    if not isinstance(strip.fader_db, (int, float)) or strip.fader_db != 0.0:
        facts.append(f"fader {_level(strip.fader_db)}")
    if is_track and strip.pan is not None:
        facts.append("pan automated" if not isinstance(strip.pan, (int, float)) else f"pan {strip.pan:+g}")
    if strip.mute:
        facts.append("muted")
    if is_track and strip.solo:
        facts.append("solo")
    chain = " > ".join(node_text(n) for n in strip.chain)
    routing = []
    if strip.key is not None:
        routing.append(f"key: {strip.key}")
    for send in strip.sends:
        where = " pre-fader" if send.pre_fader else ""
        routing.append(f"send to {send.to} {_level(send.level_db)}{where}")
    senders = [s for s, d, kind in graph.edges() if d == name and kind == "send"]
    if senders:
        routing.append(f"sends in from {', '.join(senders)}")
    if strip.automation:
        routing.append(f"automated: {', '.join(strip.automation)}")
    return facts, chain, routing


def _children(graph: Any, name: str) -> list[str]:
    return [s for s, d, kind in graph.edges() if d == name and kind == "output"]


def _unrouted(graph: Any) -> list[str]:
    reached: set[str] = set()
    stack = [graph.master]
    while stack:
        n = stack.pop()
        reached.add(n)
        stack += [c for c in _children(graph, n) if c not in reached]
    return [n for n in [*graph.tracks, *graph.buses] if n not in reached]


def tree(graph: Any) -> str:
    """The routing of a graph as a text tree: the master, the buses feeding it, and their tracks.

    Each line names a track or bus, then its kind, layout, clips, fader and
    pan, its chain (``Type(changed parameters)`` joined by ``>``) and its
    routing: side-chain key, sends out, sends in. Tracks and buses that do not
    reach the master are listed at the end.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.graph import Bus, Graph, Send, Track
    >>> from sonicmix.nodes.dynamics import Compressor
    >>> from sonicmix.nodes.ducking import Ducker
    >>> from sonicmix.timeline import ArraySource, Clip
    >>> voice = Clip(source=ArraySource(np.zeros((1, 4800), np.float32), 48000))
    >>> graph = Graph(
    ...     tracks={
    ...         "host": Track(clips=(voice,), layout="mono", pan=-0.2, output="dialogue",
    ...                       chain=(Compressor(ratio=3.0),), sends=(Send(to="room", level_db=-14.0),)),
    ...         "bed": Track(clips=(voice,), fader_db=-4.0, output="music"),
    ...     },
    ...     buses={"dialogue": Bus(), "music": Bus(chain=(Ducker(depth_db=10.0),), key="dialogue"),
    ...            "room": Bus(), "master": Bus(output=None)},
    ... )
    >>> print(tree(graph))
    master  bus, stereo
    ├── dialogue  bus, stereo
    │   └── host  track, mono, 1 clip, pan -0.2 | Compressor(ratio=3) | send to room -14 dB
    ├── music  bus, stereo | Ducker(depth_db=10) | key: dialogue
    │   └── bed  track, stereo, 1 clip, fader -4 dB
    └── room  bus, stereo | sends in from host
    """
    from sonicmix.graph import Graph

    if not isinstance(graph, Graph):
        raise ParameterError(f"graph={graph!r}; expected a sonicmix.graph.Graph")
    lines: list[str] = []

    def line(name: str) -> str:
        facts, chain, routing = _strip_facts(graph, name)
        return "  ".join([name, " | ".join([", ".join(facts)] + ([chain] if chain else []) + routing)])

    def walk(name: str, prefix: str, seen: frozenset[str]) -> None:
        kids = [c for c in _children(graph, name) if c not in seen]
        for i, child in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(prefix + ("└── " if last else "├── ") + line(child))
            walk(child, prefix + ("    " if last else "│   "), seen | {child})

    lines.append(line(graph.master))
    walk(graph.master, "", frozenset({graph.master}))
    rest = _unrouted(graph)
    if rest:
        lines.append("not routed to the master:")
        lines += ["    " + line(n) for n in rest]
    return "\n".join(lines)


def _graph_html(graph: Any) -> str:
    def item(name: str) -> str:
        facts, chain, routing = _strip_facts(graph, name)
        out = f"<code><b>{_e(name)}</b></code> <small>{_e(', '.join(facts))}</small>"
        if chain:
            out += f"<br><small>chain: <code>{_e(chain)}</code></small>"
        if routing:
            out += f"<br><small>{_e('; '.join(routing))}</small>"
        return out

    def walk(name: str, seen: frozenset[str]) -> str:
        kids = [c for c in _children(graph, name) if c not in seen]
        if not kids:
            return ""
        inner = "".join(f"<li>{item(c)}{walk(c, seen | {c})}</li>" for c in kids)
        return f'<ul style="margin: 2px 0">{inner}</ul>'

    top = item(graph.master) + walk(graph.master, frozenset({graph.master}))
    body = f'<ul style="margin: 2px 0"><li>{top}</li></ul>'
    rest = _unrouted(graph)
    if rest:
        listed = "".join(f"<li>{item(n)}</li>" for n in rest)
        body += f"<p>not routed to the master:</p><ul>{listed}</ul>"
    head = f"Graph: {len(graph.tracks)} tracks, {len(graph.buses)} buses, master {graph.master!r}"
    return f'<div style="{_STYLE}"><b>{_e(head)}</b>{body}</div>'


# ------------------------------------------------------------------------------------------ dispatch


def html(obj: Any) -> str:
    """The HTML that notebooks show for a sonicmix result, report, graph or player.

    Raises
    ------
    ParameterError
        For other objects.
    """
    from sonicmix.deliver import Delivery
    from sonicmix.graph import Graph
    from sonicmix.loudness.report import LoudnessReport
    from sonicmix.renderer import RenderResult

    if isinstance(obj, RenderResult):
        return _render_result_html(obj)
    if isinstance(obj, Delivery):
        return _delivery_html(obj)
    if isinstance(obj, LoudnessReport):
        return _report_html(obj)
    if isinstance(obj, Graph):
        return _graph_html(obj)
    if isinstance(obj, AudioPlayer):
        return obj.to_html()
    raise ParameterError(
        f"cannot show a {type(obj).__name__} as HTML; expected a RenderResult, Delivery, LoudnessReport, "
        "Graph or AudioPlayer (for an array use sonicmix.display.audio(array, sample_rate))"
    )
