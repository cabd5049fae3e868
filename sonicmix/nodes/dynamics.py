"""Dynamics processors: Compressor, KeyedCompressor, Gate and DeEsser.

All of them are feed-forward designs built from the pieces in
:mod:`sonicmix.dsp.envelope` (Giannoulis, Massberg & Reiss, JAES 2012):

    detector signal -> level in dB -> gain computer -> attack/release smoother -> gain

- The *detector signal* is the input itself, the side-chain key
  (:class:`KeyedCompressor`), either one optionally high-passed
  (``key_highpass_hz``), or the sibilance band (:class:`DeEsser`).
- The *level* is ``20 log10 |x|`` sample by sample (``detector="peak"``) or the
  RMS over the last ``rms_s`` seconds (``detector="rms"``, a rectangular window),
  in dB re full scale. A full-scale sine measures 0 dB peak and -3.01 dB RMS.
- The *gain computer* maps the level to a target gain in dB, vectorized.
- The *smoother* is a one-pole filter on the gain in dB whose time constant
  depends on the direction of change (Giannoulis's branching detector, in the
  log domain). ``attack_s`` and ``release_s`` are its time constants: after a
  step in the target gain, the gain covers ``1 - 1/e`` (63.2 %) of the change
  in ``attack_s`` (gain falling, for a compressor) or ``release_s`` (gain
  rising) seconds, and 95 % in three times as long. A time of 0 follows at once.

Stereo link
    ``stereo_link`` (0..1) blends each channel's detector level ``L_c`` (dB)
    with the loudest channel's level ``L_max``:
    ``L_c' = stereo_link * L_max + (1 - stereo_link) * L_c``. At 1 every channel
    gets the same gain, from the loudest channel, so the stereo image does not
    move; at 0 the channels are compressed independently.

Streaming
    The smoother's state (the last gain in dB per channel, float64), the RMS
    window, the filter states and the lookahead delay line are all in the
    state, so block-wise processing gives the samples of one-shot processing.
    Work happens in chunks of a few thousand samples in the audio's dtype; the
    only full-length allocation is the output.

Automation
    In a graph, the parameters each node lists in ``automatable`` may follow
    an envelope; they change at the start of every control block (see
    ``docs/automation.md``). :meth:`~sonicmix.nodes.base.Node.retune` keeps
    the signal memory (the smoothed gain, the gate's hold counter, the RMS
    window, the filter memories, the lookahead line) and redesigns the rest:
    the smoother's poles, the gain curve, the filters. A hold that is running
    is cut to a shorter ``hold_s``. When ``stereo_link`` drops below 1 the
    shared gain is copied to every channel; when it reaches 1 the channels
    keep their own smoothers, fed the same linked level, so they converge
    (with a 1 from the start the node keeps a single gain; both give the same
    samples once the gains meet). Switching ``key_highpass_hz`` on starts that
    filter from rest. ``lookahead_s`` (the latency), ``rms_s`` (the length of
    the RMS window's memory) and the choices ``detector`` and ``mode`` are
    not automatable.

The sequential kernels are compiled by numba on first use and cached on disk;
this module itself imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.dsp.delayline import delayed_copy
from sonicmix.errors import AudioError, ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = ["Compressor", "KeyedCompressor", "Gate", "DeEsser", "DynamicsState"]

#: Samples per channel processed at a time: the chunk's scratch buffers stay in cache.
_CHUNK = 16384


class _Plan(NamedTuple):
    """Everything derived from (parameters, sample_rate, dtype), designed once in init_state."""

    fall: float  # smoother pole while the gain falls
    rise: float  # smoother pole while the gain rises
    hold_samples: int  # gate hold; -1 for no hold stage
    window_samples: int  # RMS window; 0 for the peak detector
    detector_sos: np.ndarray | None  # high-pass on the detector signal, in the audio dtype
    band_sos: np.ndarray | None  # de-esser band-pass, in the audio dtype
    delay_samples: int  # lookahead
    link: float  # stereo link 0..1
    band_only: bool  # de-esser "band" mode: turn down the band, not the whole signal
    hold_threshold_db: float  # level that (re)arms the gate's hold
    makeup_db: float  # makeup gain


@dataclass(slots=True, eq=False)
class DynamicsState:
    """Streaming state of a dynamics node (mutable; see :mod:`sonicmix.nodes.base`).

    Attributes
    ----------
    plan : _Plan
        Coefficients designed from the parameters and the sample rate.
    channels : int
        Audio channels.
    detector_channels : int
        Channels of the detector signal (the key's, for a keyed node; 0 until the first block).
    gain_db : np.ndarray, shape=(gain_channels,), float64
        Last smoothed gain in dB per gain channel (one channel when linked).
    counters : np.ndarray, shape=(gain_channels,), int64
        Gate hold samples left.
    detector_zi, band_zi : np.ndarray or None
        ``sosfilt`` states ``(sections, channels, 2)`` of the detector high-pass and the de-esser band.
    mean_square : MeanSquareState or None
        RMS window.
    delay : np.ndarray or None, shape=(channels, delay_samples)
        Lookahead delay line: the last input samples not yet output.
    dtype : np.dtype
        The audio's dtype, which the filters' coefficients and memories use.
    node : Node or None
        The parameters the plan follows (what ``retune`` compares against).
    """

    plan: _Plan
    channels: int
    detector_channels: int = 0
    gain_db: np.ndarray | None = None
    counters: np.ndarray | None = None
    detector_zi: np.ndarray | None = None
    band_zi: np.ndarray | None = None
    mean_square: Any = None
    delay: np.ndarray | None = None
    dtype: Any = np.float32
    node: Any = None


# --------------------------------------------------------------------------- shared engine

_LOOKAHEAD_REFUSAL = (
    "it sets the lookahead delay, which is the node's latency, and a graph compensates latency once, "
    "before the render starts"
)
_RMS_REFUSAL = (
    "it sets the length of the RMS window, whose memory holds that many past samples; "
    "automate threshold_db or the times instead"
)
_DETECTOR_REFUSAL = "it is a choice, not a number ('peak' or 'rms')"


def _check_time(name: str, value: object, high: float) -> None:
    hint = "seconds"
    if isinstance(value, (int, float)) and math.isfinite(value) and value > high:
        hint = f"seconds: for {value:g} ms use {value / 1000:g}"
    check_range(name, value, low=0.0, high=high, hint=hint)


def _check_below_nyquist(name: str, freq_hz: float, sample_rate: int) -> None:
    if freq_hz >= sample_rate / 2:
        raise ParameterError(
            f"{name}={freq_hz:g} is at or above the Nyquist frequency {sample_rate / 2:g} Hz of "
            f"sample_rate={sample_rate}; expected {name} < {sample_rate / 2:g} (lower it or raise the rate)"
        )


class _Dynamics(Node):
    """The engine shared by the dynamics nodes; subclasses provide the plan and the gain computer."""

    def _make_plan(self, sample_rate: int, dtype: Any) -> _Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    def _target_gain_db(self, level_db: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def _compressor_curve(self) -> dict[str, Any] | None:
        """The arguments of :func:`~sonicmix.dsp.envelope.compressor_gain_db` when that is
        the gain computer (a linked, mono or unlinked detector then takes the fused kernel), else None."""
        return None

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> DynamicsState:
        dtype = np.dtype(dtype)
        plan = self._make_plan(sample_rate, dtype)
        state = DynamicsState(plan=plan, channels=channels, dtype=dtype, node=self)
        if plan.delay_samples:
            state.delay = np.zeros((channels, plan.delay_samples), dtype)
        if plan.band_sos is not None:
            state.band_zi = np.zeros((plan.band_sos.shape[0], channels, 2), dtype)
        if not self.takes_key:
            _allocate_detector(state, channels, dtype)
        return state

    def retune(self, state: DynamicsState, sample_rate: int) -> DynamicsState:
        """Carry a stream over to changed parameters (automation; see the module notes).

        The smoothed gain, hold counters, RMS window, filter memories and
        lookahead line are kept; the plan (poles, filters, link, makeup) is
        redesigned from this node's parameters.
        """
        if state.node == self:
            return state
        old = state.plan
        plan = self._make_plan(sample_rate, state.dtype)
        if plan.delay_samples != old.delay_samples or plan.window_samples != old.window_samples:
            raise ParameterError(
                f"{type(self).__name__}.retune: the lookahead or the RMS window changed "
                f"({old.delay_samples} -> {plan.delay_samples} and {old.window_samples} -> "
                f"{plan.window_samples} samples); expected only automatable parameters to change "
                "(build a new state for a new lookahead_s or rms_s)"
            )
        state.plan, state.node = plan, self
        dc = state.detector_channels
        if not dc:  # a keyed node before its first block: the detector is sized from the new plan
            return state
        if plan.detector_sos is None:
            state.detector_zi = None
        elif state.detector_zi is None or state.detector_zi.shape[0] != plan.detector_sos.shape[0]:
            state.detector_zi = np.zeros((plan.detector_sos.shape[0], dc, 2), state.dtype)
        if state.gain_db.shape[0] == 1 and plan.link < 1.0 and dc == state.channels > 1:
            # unlinking: every channel starts from the shared gain
            state.gain_db = np.repeat(state.gain_db, dc)
            state.counters = np.repeat(state.counters, dc)
        if plan.hold_samples >= 0:
            np.minimum(state.counters, plan.hold_samples, out=state.counters)
        return state

    def process(
        self, x: Audio, sample_rate: int, state: DynamicsState, *, key: Audio | None = None
    ) -> tuple[Audio, DynamicsState]:
        return self._run(x, state, key, None)

    def gain(
        self, x: Audio, sample_rate: int, state: DynamicsState, *, key: Audio | None = None
    ) -> tuple[np.ndarray, DynamicsState]:
        """The linear gain the node applies, sample by sample, and the next state.

        Exactly the gain :meth:`process` multiplies by (makeup included), for the
        same input and state: shape ``(channels, n)``, or ``(1, n)`` when one gain
        serves every channel (linked, or a mono detector). Sample ``i`` of it
        multiplies output sample ``i``, that is input sample ``i -
        latency_samples`` (the lookahead delays the audio, not the gain). In
        ``DeEsser(mode="band")`` it is the gain of the band only.

        Examples
        --------
        >>> import numpy as np
        >>> comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.0, release_s=1.0)
        >>> x = np.full((1, 4800), 0.5, np.float32)  # -6.02 dBFS
        >>> g, _ = comp.gain(x, 48000, comp.init_state(1, 48000, np.float32))
        >>> round(float(20 * np.log10(g[0, -1])), 2)  # (20 - 6.02) * (1 - 1/4) dB of reduction
        -10.48
        """
        curves: list[np.ndarray] = []
        _, state = self._run(x, state, key, curves)
        if not curves:
            return np.ones((state.gain_db.shape[0] if state.detector_channels else 1, 0), x.dtype), state
        return (np.concatenate(curves, axis=1) if len(curves) > 1 else curves[0]), state

    def _run(
        self, x: Audio, state: DynamicsState, key: Audio | None, curves: list[np.ndarray] | None
    ) -> tuple[Audio, DynamicsState]:
        from sonicmix.dsp import envelope as env  # imports numba; loaded on first use
        from sonicmix.dsp.sosfilter import sosfilt

        check_stream_dtype(self, x, state.dtype)
        plan = state.plan
        n = x.shape[1]
        # Without a lookahead the output is written once, as x * gain, rather than copied and scaled.
        y = delayed_copy(x, state.delay) if plan.delay_samples else np.empty_like(x)
        dry = y if plan.delay_samples else x
        source = x
        if self.takes_key:
            if key is None:
                raise ParameterError(f"{type(self).__name__} needs a side-chain key; pass key=")
            source = key.astype(x.dtype, copy=False)
        if state.detector_channels != source.shape[0]:
            _allocate_detector(state, source.shape[0], x.dtype)
        if n == 0:
            return y, state

        dc = state.detector_channels
        gc = state.gain_db.shape[0]
        curve = self._compressor_curve() if plan.hold_samples < 0 else None
        size = min(n, _CHUNK)
        dtype = x.dtype
        det_buf = np.empty(dc * size, dtype)
        lvl_buf = np.empty(gc * size, dtype) if gc != dc else det_buf
        gain_buf = np.empty(gc * size, dtype)
        work_buf = np.empty(gc * size, dtype)
        fused = curve is not None and (gc == 1 or plan.link == 0.0)  # the compressor_gain kernel
        scratch = np.empty(size) if fused else None
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            m = stop - start
            det = raw = source[:, start:stop]
            band = None
            if plan.band_sos is not None:
                band, state.band_zi = sosfilt(plan.band_sos, x[:, start:stop], state.band_zi)
                det = band
            if plan.detector_sos is not None:
                det, state.detector_zi = sosfilt(plan.detector_sos, det, state.detector_zi)
            gain = gain_buf[: gc * m].reshape(gc, m)
            if fused:
                if plan.window_samples:
                    det = _mean_squares(env, det, state, det_buf[: dc * m].reshape(dc, m))
                # the input itself goes whole, with the chunk's columns: as a slice it would be
                # another array type (and another compile) when the signal fits in one chunk
                whole, first = (source, start) if det is raw else (det, 0)
                env.compressor_gain(
                    whole, db_per_decade=10.0 if plan.window_samples else 20.0, fall=plan.fall,
                    rise=plan.rise, state=state.gain_db, makeup_db=plan.makeup_db, linked=gc == 1, out=gain,
                    work=scratch[:m], start=first, stop=first + m, **curve,
                )  # fmt: skip
            else:
                level = _level_db(
                    env, det, state, det_buf[: dc * m].reshape(dc, m), lvl_buf[: gc * m].reshape(gc, m),
                    work_buf[:m],
                )  # fmt: skip
                work = work_buf[: gc * m].reshape(gc, m)
                self._target_gain_db(level, gain, work)
                if plan.hold_samples >= 0:
                    env.smooth_gain_db_hold(
                        gain, level, threshold_db=plan.hold_threshold_db, hold_samples=plan.hold_samples,
                        fall=plan.fall, rise=plan.rise, state=state.gain_db, counters=state.counters,
                        out=gain,
                    )  # fmt: skip
                else:
                    env.smooth_gain_db(gain, fall=plan.fall, rise=plan.rise, state=state.gain_db, out=gain)
                env.db_to_amplitude(gain, makeup_db=plan.makeup_db, out=gain)
            if curves is not None:
                curves.append(gain.copy())
            if plan.band_only:
                # y = x + (g - 1) * band: the band and its complement x - band sum to x when g == 1.
                gain -= 1.0
                band *= gain
                np.add(dry[:, start:stop], band, out=y[:, start:stop])
            else:
                np.multiply(dry[:, start:stop], gain, out=y[:, start:stop])
        return y, state


def _allocate_detector(state: DynamicsState, detector_channels: int, dtype: Any) -> None:
    """Size the detector-side state for the detector's channel count (the key's, when keyed)."""
    if state.detector_channels:
        raise AudioError(
            f"key has {detector_channels} channels but earlier blocks had {state.detector_channels}; "
            "expected the same key channel count for the whole stream"
        )
    from sonicmix.dsp import envelope as env

    plan = state.plan
    dc = detector_channels
    gc = state.channels if (plan.link < 1.0 and dc == state.channels) else 1
    state.detector_channels = dc
    state.gain_db = np.zeros(gc)
    state.counters = np.zeros(gc, np.int64)
    if plan.detector_sos is not None:
        state.detector_zi = np.zeros((plan.detector_sos.shape[0], dc, 2), dtype)
    if plan.window_samples:
        state.mean_square = env.init_mean_square(dc, plan.window_samples)


def _level_db(
    env: Any, det: np.ndarray, state: DynamicsState, buf: np.ndarray, linked: np.ndarray, row: np.ndarray
) -> np.ndarray:
    """Detector level in dB per gain channel, shape (gain_channels, m), after the stereo link."""
    plan = state.plan
    if plan.window_samples:
        _mean_squares(env, det, state, buf)
        floor, scale = env.POWER_FLOOR, 10.0
    else:
        np.abs(det, out=buf)
        floor, scale = env.AMPLITUDE_FLOOR, 20.0
    if linked.shape[0] == 1 and buf.shape[0] > 1:
        np.max(buf, axis=0, out=linked[0], initial=floor)  # max of levels == level of the max
        level = linked
    else:
        level = buf
    env.level_db(level, db_per_decade=scale, floor=floor, out=level)
    if level.shape[0] > 1 and plan.link > 0.0:  # partial link (full link has one gain channel)
        np.max(level, axis=0, out=row)
        row *= plan.link
        level *= 1.0 - plan.link
        level += row
    return level


def _mean_squares(env: Any, det: np.ndarray, state: DynamicsState, buf: np.ndarray) -> np.ndarray:
    """The RMS detector's running mean squares of ``det``, in ``buf``."""
    np.square(det, out=buf)
    return env.moving_mean_square(buf, state.mean_square, out=buf)


def _check_detector(detector: object) -> None:
    if detector not in ("peak", "rms"):
        raise ParameterError(f"detector={detector!r} is not supported; expected 'peak' or 'rms'")


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True, slots=True, kw_only=True)
class Compressor(_Dynamics):
    """Feed-forward soft-knee compressor (Giannoulis, Massberg & Reiss, JAES 2012).

    The gain computer is the paper's static curve: below the knee the gain is
    0 dB; above it each dB over the threshold comes out as ``1/ratio`` dB;
    inside the knee (``knee_db`` wide, centred on the threshold) a quadratic
    joins the two. The gain is then smoothed in dB with attack and release
    time constants (see :mod:`sonicmix.nodes.dynamics`), and ``makeup_db`` is
    added.

    Parameters
    ----------
    threshold_db : float, default -18.0
        Threshold in dB re full scale, -120 <= threshold_db <= 0, compared with
        the detector level (peak or RMS).
    ratio : float, default 4.0
        Compression ratio, >= 1 (1 = no compression; a large value limits).
    knee_db : float, default 6.0
        Width of the soft knee in dB, 0 <= knee_db <= 48 (0 = hard knee).
    attack_s : float, default 0.005
        Time constant in seconds of the smoother while the gain falls, 0..1:
        after a step up in level, the gain covers 63.2 % of its change in attack_s.
    release_s : float, default 0.1
        Time constant in seconds while the gain rises (the level fell), 0..10.
    makeup_db : float, default 0.0
        Gain in dB added after compression, -48..48.
    detector : {"peak", "rms"}, default "peak"
        Level detector: instantaneous ``|x|``, or RMS over ``rms_s``.
    rms_s : float, default 0.01
        RMS window in seconds (rectangular), 0 < rms_s <= 1; used with ``detector="rms"``.
    stereo_link : float, default 1.0
        0..1: 1 = the same gain on every channel, from the loudest channel's
        level; 0 = independent channels; in between, the levels in dB are blended.
    key_highpass_hz : float, default 0.0
        If > 0, cut-off of a second-order Butterworth high-pass on the detector
        signal (the input, or the key), so that bass does not drive the gain.
        0 (off) or from 1 Hz up to below the Nyquist frequency.
    lookahead_s : float, default 0.0
        Lookahead in seconds, 0..0.1: the audio is delayed by
        ``round(lookahead_s * sample_rate)`` samples (reported by
        :meth:`latency_samples`) while the detector sees it undelayed, so the
        gain starts falling that much before a transient reaches the output.

    Raises
    ------
    ParameterError
        If a parameter is out of range (a ratio below 1 included: use :class:`Gate`
        for expansion), or, at :meth:`init_state`, ``key_highpass_hz`` is at or
        above the Nyquist frequency.

    See Also
    --------
    KeyedCompressor : the same driven by a side-chain key.
    Gate : downward expander and gate.

    Notes
    -----
    The hard-knee gain is ``min(0, (threshold_db - L) * (1 - 1/ratio))``
    with ``L`` the detector level in dB. With the peak detector, a steady
    tone's peaks are compressed exactly along the static curve when
    ``attack_s == 0``; with a finite attack the smoothed gain settles a little
    above the curve (less reduction), since the level is at its peak only
    briefly each cycle. With the RMS detector a steady tone is compressed
    along the curve evaluated at its RMS level.

    References
    ----------
    D. Giannoulis, M. Massberg, J. D. Reiss, "Digital dynamic range compressor
    design: a tutorial and analysis", J. Audio Eng. Soc. 60(6), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> x = np.vstack([0.5 * np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32)
    >>> comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.0, release_s=1.0)
    >>> y = comp(x, 48000)
    >>> round(float(20 * np.log10(np.abs(y[:, 24000:]).max() / 0.5)), 2)  # -6.02 dBFS peaks
    -10.48
    >>> state = comp.init_state(2, 48000, np.float32)
    >>> a, state = comp.process(x[:, :1000], 48000, state)
    >>> b, state = comp.process(x[:, 1000:], 48000, state)
    >>> bool(np.array_equal(np.hstack([a, b]), y))
    True
    """

    threshold_db: float = -18.0
    ratio: float = 4.0
    knee_db: float = 6.0
    attack_s: float = 0.005
    release_s: float = 0.1
    makeup_db: float = 0.0
    detector: Literal["peak", "rms"] = "peak"
    rms_s: float = 0.01
    stereo_link: float = 1.0
    key_highpass_hz: float = 0.0
    lookahead_s: float = 0.0

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"threshold_db", "ratio", "knee_db", "attack_s", "release_s", "makeup_db", "stereo_link",
         "key_highpass_hz"}
    )  # fmt: skip
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "lookahead_s": _LOOKAHEAD_REFUSAL,
        "rms_s": _RMS_REFUSAL,
        "detector": _DETECTOR_REFUSAL,
    }

    def __post_init__(self) -> None:
        check_range("threshold_db", self.threshold_db, low=-120.0, high=0.0, hint="dB re full scale")
        hint = "ratios below 1 expand: use Gate, a downward expander"
        if isinstance(self.ratio, (int, float)) and 0.0 < self.ratio < 1.0:
            hint = f"ratios below 1 expand: use Gate(ratio={1 / self.ratio:g}), a downward expander"
        check_range("ratio", self.ratio, low=1.0, hint=hint)
        check_range("knee_db", self.knee_db, low=0.0, high=48.0)
        _check_time("attack_s", self.attack_s, 1.0)
        _check_time("release_s", self.release_s, 10.0)
        check_range("makeup_db", self.makeup_db, low=-48.0, high=48.0)
        _check_detector(self.detector)
        check_range("rms_s", self.rms_s, low=0.0, high=1.0, low_inclusive=False, hint="seconds")
        check_range("stereo_link", self.stereo_link, low=0.0, high=1.0)
        check_range("key_highpass_hz", self.key_highpass_hz, low=0.0, hint="0 turns the filter off")
        if 0.0 < self.key_highpass_hz < 1.0:
            raise ParameterError(
                f"key_highpass_hz={self.key_highpass_hz!r} is below 1 Hz; expected 0 (off) or a cut-off "
                "of at least 1 Hz, e.g. 80"
            )
        _check_time("lookahead_s", self.lookahead_s, 0.1)

    def _make_plan(self, sample_rate: int, dtype: Any) -> _Plan:
        from sonicmix.dsp import biquad
        from sonicmix.dsp.envelope import one_pole_coefficient

        sos = None
        if self.key_highpass_hz > 0:
            _check_below_nyquist("key_highpass_hz", self.key_highpass_hz, sample_rate)
            sos = biquad.highpass(freq_hz=self.key_highpass_hz, q=math.sqrt(0.5), sample_rate=sample_rate)
            sos = sos.astype(dtype)
        return _Plan(
            fall=one_pole_coefficient(self.attack_s, sample_rate),
            rise=one_pole_coefficient(self.release_s, sample_rate),
            hold_samples=-1,
            window_samples=max(1, round(self.rms_s * sample_rate)) if self.detector == "rms" else 0,
            detector_sos=sos,
            band_sos=None,
            delay_samples=self.latency_samples(sample_rate),
            link=float(self.stereo_link),
            makeup_db=float(self.makeup_db),
            band_only=False,
            hold_threshold_db=0.0,
        )

    def latency_samples(self, sample_rate: int) -> int:
        """Lookahead delay in samples: ``round(lookahead_s * sample_rate)``."""
        return int(round(self.lookahead_s * sample_rate))

    def _target_gain_db(self, level_db: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
        from sonicmix.dsp.envelope import compressor_gain_db

        compressor_gain_db(level_db, out=out, work=work, **self._compressor_curve())

    def _compressor_curve(self) -> dict[str, Any]:
        return {"threshold_db": self.threshold_db, "ratio": self.ratio, "knee_db": self.knee_db}


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyedCompressor(Compressor):
    """A :class:`Compressor` whose gain is computed from a side-chain key.

    Same parameters as :class:`Compressor`; ``process`` and ``__call__``
    require ``key``, an array ``(key_channels, samples)`` with the block's
    number of samples. The detector (and ``key_highpass_hz``) works on the key
    instead of the input. If the key has as many channels as the input, key
    channel ``c`` drives audio channel ``c`` (blended by ``stereo_link``);
    otherwise the loudest key channel drives every channel (a mono key ducks
    all of them alike).

    The side-chain is a separate class rather than a flag because whether a
    node takes a key is a property of its class (``Node.takes_key``), which
    graphs read to route keys.

    Examples
    --------
    >>> import numpy as np
    >>> music = np.full((2, 4800), 0.1, np.float32)
    >>> voice = np.full((1, 4800), 0.5, np.float32)  # -6 dBFS: 12 dB over the threshold
    >>> duck = KeyedCompressor(threshold_db=-18.0, ratio=4.0, knee_db=0.0, attack_s=0.0)
    >>> y = duck(music, 48000, key=voice)
    >>> round(float(20 * np.log10(y[0, -1] / 0.1)), 2)
    -9.0
    >>> state = duck.init_state(2, 48000, np.float32)
    >>> a, state = duck.process(music[:, :100], 48000, state, key=voice[:, :100])
    >>> b, state = duck.process(music[:, 100:], 48000, state, key=voice[:, 100:])
    >>> bool(np.array_equal(np.hstack([a, b]), y))
    True
    """

    takes_key: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate(_Dynamics):
    """Downward expander and noise gate with hold.

    Below ``threshold_db`` each dB of level lost costs ``ratio - 1`` further dB
    of gain, down to ``-range_db``; at or above it the gain is 0 dB. A large
    ratio (the default 10 reaches a 60 dB range 6.7 dB under the threshold)
    makes a gate, a small one (1.5..3) a gentle expander. When the level falls
    below the threshold the gate stays open (0 dB) for ``hold_s``, then closes
    with the ``release_s`` time constant; it opens with ``attack_s``.

    Parameters
    ----------
    threshold_db : float, default -50.0
        Threshold in dB re full scale, -120..0.
    ratio : float, default 10.0
        Expansion ratio, >= 1 (1 = no effect).
    range_db : float, default 60.0
        Largest attenuation in dB, given as a positive number, 0..120: the gain never goes below -range_db.
    attack_s : float, default 0.001
        Time constant in seconds of the gain rising (the gate opening), 0..1.
    hold_s : float, default 0.02
        Time in seconds that the gate stays open after the level falls below the threshold, 0..10.
    release_s : float, default 0.1
        Time constant in seconds of the gain falling (the gate closing), 0..10.
    detector : {"peak", "rms"}, default "peak"
        Level detector; with "peak", a tone's level dips at every zero
        crossing, so keep ``hold_s`` longer than half the period of the lowest
        frequency that should keep the gate open.
    rms_s : float, default 0.01
        RMS window in seconds, 0 < rms_s <= 1; used with ``detector="rms"``.
    stereo_link : float, default 1.0
        0..1, as for :class:`Compressor`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.concatenate([np.full(480, 0.5), np.full(4800, 1e-4)])[np.newaxis].astype(np.float32)
    >>> gate = Gate(threshold_db=-40.0, range_db=60.0, hold_s=0.01, release_s=0.01)
    >>> y = gate(x, 48000)
    >>> bool(np.array_equal(y[:, :480 + 480], x[:, :960]))  # open through the 10 ms hold
    True
    >>> round(float(20 * np.log10(y[0, -1] / x[0, -1])), 1)  # then closed to the range
    -60.0
    >>> state = gate.init_state(1, 48000, np.float32)
    >>> a, state = gate.process(x[:, :700], 48000, state)
    >>> b, state = gate.process(x[:, 700:], 48000, state)
    >>> bool(np.array_equal(np.hstack([a, b]), y))
    True
    """

    threshold_db: float = -50.0
    ratio: float = 10.0
    range_db: float = 60.0
    attack_s: float = 0.001
    hold_s: float = 0.02
    release_s: float = 0.1
    detector: Literal["peak", "rms"] = "peak"
    rms_s: float = 0.01
    stereo_link: float = 1.0

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"threshold_db", "ratio", "range_db", "attack_s", "hold_s", "release_s", "stereo_link"}
    )
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {"rms_s": _RMS_REFUSAL, "detector": _DETECTOR_REFUSAL}

    def __post_init__(self) -> None:
        check_range("threshold_db", self.threshold_db, low=-120.0, high=0.0, hint="dB re full scale")
        check_range("ratio", self.ratio, low=1.0, hint="an expansion ratio; 1 leaves the level unchanged")
        check_range("range_db", self.range_db, low=0.0, high=120.0,
                    hint="the attenuation is positive: for a floor of -40 dB use range_db=40")  # fmt: skip
        _check_time("attack_s", self.attack_s, 1.0)
        _check_time("hold_s", self.hold_s, 10.0)
        _check_time("release_s", self.release_s, 10.0)
        _check_detector(self.detector)
        check_range("rms_s", self.rms_s, low=0.0, high=1.0, low_inclusive=False, hint="seconds")
        check_range("stereo_link", self.stereo_link, low=0.0, high=1.0)

    def _make_plan(self, sample_rate: int, dtype: Any) -> _Plan:
        from sonicmix.dsp.envelope import one_pole_coefficient

        return _Plan(
            fall=one_pole_coefficient(self.release_s, sample_rate),
            rise=one_pole_coefficient(self.attack_s, sample_rate),
            hold_samples=round(self.hold_s * sample_rate),
            window_samples=max(1, round(self.rms_s * sample_rate)) if self.detector == "rms" else 0,
            detector_sos=None,
            band_sos=None,
            delay_samples=0,
            link=float(self.stereo_link),
            makeup_db=0.0,
            band_only=False,
            hold_threshold_db=float(self.threshold_db),
        )

    def _target_gain_db(self, level_db: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
        from sonicmix.dsp.envelope import expander_gain_db

        expander_gain_db(
            level_db, threshold_db=self.threshold_db, ratio=self.ratio, range_db=self.range_db, out=out
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeEsser(_Dynamics):
    """Sibilance reducer: a compressor whose detector hears only the sibilance band.

    The band is the Audio EQ Cookbook band-pass (0 dB at ``freq_hz``, about
    ``freq_hz / q`` wide at -3 dB; at 48 kHz the defaults span 3.8 to 9.0 kHz).
    Its peak level drives a hard-knee compressor curve (``threshold_db``,
    ``ratio``) whose reduction is limited to ``range_db``, smoothed with
    ``attack_s`` and ``release_s``.

    In ``mode="band"`` only the band is turned down: the input is split into
    the band ``b`` and its complement ``x - b`` (the cookbook notch), and the
    output is ``(x - b) + g * b``, which is exactly ``x`` whenever no reduction
    happens (``g == 1``). In ``mode="broadband"`` the whole signal is turned
    down by ``g`` while the band is loud.

    Parameters
    ----------
    freq_hz : float, default 6000.0
        Centre of the sibilance band in Hz, 1000..20000 and below the Nyquist frequency.
    q : float, default 1.0
        Quality factor of the band, 0.1..10.
    threshold_db : float, default -30.0
        Threshold in dB re full scale for the band's peak level, -120..0.
    ratio : float, default 4.0
        Compression ratio of the band level, >= 1.
    range_db : float, default 12.0
        Largest reduction in dB (positive), 0..60.
    attack_s : float, default 0.001
        Time constant in seconds of the reduction setting in, 0..1.
    release_s : float, default 0.05
        Time constant in seconds of the reduction going away, 0..10.
    mode : {"band", "broadband"}, default "band"
        Turn down the band only, or everything.
    stereo_link : float, default 1.0
        0..1, as for :class:`Compressor`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(9600) / 48000
    >>> low = 0.1 * np.sin(2 * np.pi * 200 * t)
    >>> ess = 0.5 * np.sin(2 * np.pi * 6000 * t)  # -6 dBFS peaks: 24 dB over the threshold
    >>> x = (low + ess)[np.newaxis].astype(np.float32)
    >>> y = DeEsser(threshold_db=-30.0, ratio=4.0, range_db=12.0)(x, 48000)
    >>> spectrum = np.abs(np.fft.rfft(y[0, 4800:])) / np.abs(np.fft.rfft(x[0, 4800:]))
    >>> [round(float(20 * np.log10(spectrum[f // 10])), 1) for f in (200, 6000)]
    [0.0, -12.0]
    >>> de = DeEsser()
    >>> state = de.init_state(1, 48000, np.float32)
    >>> a, state = de.process(x[:, :5000], 48000, state)
    >>> b, state = de.process(x[:, 5000:], 48000, state)
    >>> bool(np.array_equal(np.hstack([a, b]), de(x, 48000)))
    True
    """

    freq_hz: float = 6000.0
    q: float = 1.0
    threshold_db: float = -30.0
    ratio: float = 4.0
    range_db: float = 12.0
    attack_s: float = 0.001
    release_s: float = 0.05
    mode: Literal["band", "broadband"] = "band"
    stereo_link: float = 1.0

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"freq_hz", "q", "threshold_db", "ratio", "range_db", "attack_s", "release_s", "stereo_link"}
    )
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "mode": "it is a choice, not a number ('band' or 'broadband'): it changes what the node outputs"
    }

    def __post_init__(self) -> None:
        check_range("freq_hz", self.freq_hz, low=1000.0, high=20000.0, hint="sibilance lies around 4-10 kHz")
        check_range("q", self.q, low=0.1, high=10.0)
        check_range("threshold_db", self.threshold_db, low=-120.0, high=0.0, hint="dB re full scale")
        check_range("ratio", self.ratio, low=1.0)
        check_range("range_db", self.range_db, low=0.0, high=60.0,
                    hint="the reduction is positive: for at most 6 dB of it use range_db=6")  # fmt: skip
        _check_time("attack_s", self.attack_s, 1.0)
        _check_time("release_s", self.release_s, 10.0)
        if self.mode not in ("band", "broadband"):
            raise ParameterError(f"mode={self.mode!r} is not supported; expected 'band' or 'broadband'")
        check_range("stereo_link", self.stereo_link, low=0.0, high=1.0)

    def _make_plan(self, sample_rate: int, dtype: Any) -> _Plan:
        from sonicmix.dsp import biquad
        from sonicmix.dsp.envelope import one_pole_coefficient

        _check_below_nyquist("freq_hz", self.freq_hz, sample_rate)
        sos = biquad.bandpass(freq_hz=self.freq_hz, q=self.q, sample_rate=sample_rate).astype(dtype)
        return _Plan(
            fall=one_pole_coefficient(self.attack_s, sample_rate),
            rise=one_pole_coefficient(self.release_s, sample_rate),
            hold_samples=-1,
            window_samples=0,
            detector_sos=None,
            band_sos=sos,
            delay_samples=0,
            link=float(self.stereo_link),
            makeup_db=0.0,
            band_only=self.mode == "band",
            hold_threshold_db=0.0,
        )

    def _target_gain_db(self, level_db: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
        from sonicmix.dsp.envelope import compressor_gain_db

        compressor_gain_db(level_db, out=out, **self._compressor_curve())

    def _compressor_curve(self) -> dict[str, Any]:
        return {"threshold_db": self.threshold_db, "ratio": self.ratio, "range_db": self.range_db}
