"""Dialogue ducking: turn a music bed (or anything) down while dialogue is active.

:class:`Ducker` is keyed by the dialogue (a track or bus, ``key=`` in a
:class:`~sonicmix.graph.Graph`). It listens to the key's speech band, decides
when dialogue is active, and turns the programme down with a gain curve in dB
whose ramps have a bounded slope. See ``docs/ducking.md`` for the design, the
measured behaviour and an example mix.

The detector and gain smoother are plain functions in
:mod:`sonicmix.dsp.activity` (a small numba kernel, imported on first use);
this module imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.dsp.delayline import delayed_copy
from sonicmix.errors import AudioError, ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = ["Ducker", "DuckerState", "DuckingAnalysis"]

#: Samples per channel processed at a time: the chunk's scratch buffers stay in cache.
_CHUNK = 16384
_DB_TO_LN = math.log(10.0) / 20.0
#: BS.1770 loudness of a K-weighted mean square p is -0.691 + 10 log10(p).
_LUFS_OFFSET = -0.691


def _check_time(name: str, value: object, *, low: float, high: float) -> None:
    hint = "seconds"
    if isinstance(value, (int, float)) and math.isfinite(value) and value > high:
        hint = f"seconds: for {value:g} ms use {value / 1000:g}"
    check_range(name, value, low=low, high=high, hint=hint)


def _check_below_nyquist(name: str, freq_hz: float, sample_rate: int) -> None:
    if freq_hz >= sample_rate / 2:
        raise ParameterError(
            f"{name}={freq_hz:g} is at or above the Nyquist frequency {sample_rate / 2:g} Hz of "
            f"sample_rate={sample_rate}; expected {name} < {sample_rate / 2:g} (lower it or raise the rate)"
        )


@dataclass(slots=True, eq=False)
class DuckerState:
    """Streaming state of a :class:`Ducker` (mutable; see :mod:`sonicmix.nodes.base`).

    Attributes
    ----------
    plan : ActivityPlan
        Sample-domain constants of the detector and smoother.
    activity : ActivityState
        Detector and gain state (float64 arrays, updated in place).
    key_sos : np.ndarray, shape=(2, 6)
        Speech-band filter of the key (high-pass then low-pass), in the audio dtype.
    band_sos, kweight_sos : np.ndarray or None
        Band-mode filter and K-weighting filter, in the audio dtype.
    delay : np.ndarray, shape=(channels, latency_samples)
        Lookahead delay line: the last input samples not yet output.
    key_channels : int
        Channels of the key (0 until the first block).
    key_zi, band_zi, kweight_key_zi, kweight_zi : np.ndarray or None
        ``sosfilt`` states ``(sections, channels, 2)``.
    node : Ducker or None
        The parameters the plan and filters follow (what :meth:`Ducker.retune` compares against).
    speech : SpeechGate or None
        With ``speech_gate=True``: the speech detector on the key and the delay that aligns
        the key's level with its decisions.
    """

    plan: Any
    activity: Any
    key_sos: np.ndarray
    band_sos: np.ndarray | None
    kweight_sos: np.ndarray | None
    delay: np.ndarray
    key_channels: int = 0
    key_zi: np.ndarray | None = None
    band_zi: np.ndarray | None = None
    kweight_key_zi: np.ndarray | None = None
    kweight_zi: np.ndarray | None = None
    node: Any = None
    speech: Any = None


@dataclass(frozen=True, eq=False)
class DuckingAnalysis:
    """What :meth:`Ducker.analyse` measured: the output, the gain curve and the dialogue.

    Attributes
    ----------
    audio : np.ndarray, shape=(channels, samples)
        The ducked output, as ``Ducker.__call__`` returns it (delayed by the lookahead).
    gain_db : np.ndarray, shape=(samples,), float64
        Gain applied to each output sample, in dB (<= 0). ``gain_db[i]`` applies
        to output sample ``i``, which carries input sample ``i - latency_samples``:
        ``gain_db[latency_samples:]`` lines up with the input (and with the
        timeline of a rendered graph, which compensates the latency). In band
        mode it is the gain of the band, the reduction at the band's centre.
    activity_s : list of (float, float)
        Detected dialogue, ``(start_s, end_s)`` in input (timeline) seconds: pauses
        shorter than ``hold_s`` bridged, the hold not included; within one 10 ms
        detection frame of the key's own timing.
    latency_samples : int
        The node's latency (the lookahead) at this sample rate.
    sample_rate : int
    key_level_db : np.ndarray, shape=(samples,), float64
        Speech-band level of the key over the last 10 ms, in dB re full scale (key time).
    threshold_db : np.ndarray, shape=(samples,), float64
        The activity threshold in force at each sample, in dB re full scale.
    dialogue_lufs, programme_lufs : np.ndarray or None
        Loudness-aware mode only: the key's speech-gated loudness and the
        programme's short-term loudness (3 s) at each sample, in LUFS (key time).
    """

    audio: np.ndarray
    gain_db: np.ndarray
    activity_s: list[tuple[float, float]]
    latency_samples: int
    sample_rate: int
    key_level_db: np.ndarray = field(repr=False)
    threshold_db: np.ndarray = field(repr=False)
    dialogue_lufs: np.ndarray | None = field(default=None, repr=False)
    programme_lufs: np.ndarray | None = field(default=None, repr=False)

    @property
    def reduction_db(self) -> float:
        """Largest reduction applied, in dB (positive)."""
        return float(-self.gain_db.min()) if self.gain_db.size else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Ducker(Node):
    """Dialogue ducker: turns the programme down while the key's dialogue is active.

    The key (a dialogue track or bus) is band-limited to the speech band
    (``key_highpass_hz`` .. ``key_lowpass_hz``, second-order Butterworth each),
    and its power is averaged over channels and over a 10 ms frame. Dialogue
    is *voiced* where that frame level is at or above the threshold, *confirmed*
    once it has been voiced for ``min_speech_s`` without a break (so a click
    does not open the ducker), and *active* from confirmation until ``hold_s``
    after the last confirmed sample (so it does not release between words or
    on short pauses). While active the gain heads for ``-depth_db`` (or the
    loudness-aware target, with ``below_lu``), otherwise for 0 dB, moving
    linearly in dB: a full-depth change takes ``attack_s`` going down and
    ``release_s`` coming back up, so the gain never changes by more than
    ``depth_db / (min(attack_s, release_s) * sample_rate)`` dB per sample.

    The programme is delayed by ``lookahead_s`` (reported by
    :meth:`latency_samples`; graphs compensate it) while the key is not, so
    the duck is in place when the first syllable lands provided
    ``lookahead_s >= min_speech_s + attack_s``.

    Parameters
    ----------
    depth_db : float, default 12.0
        Reduction in dB while dialogue is active, positive: 12 turns the
        programme down to -12 dB. 0..60. With ``below_lu``, the largest reduction.
    attack_s : float, default 0.05
        Time in seconds the gain takes to go down by ``depth_db``, 0.001..5.
    release_s : float, default 0.5
        Time in seconds the gain takes to come back up by ``depth_db`` once the
        hold has expired, 0.001..30.
    hold_s : float, default 0.7
        Time in seconds the ducker stays down after the last detected speech
        reaches the output, 0..10: pauses shorter than this (word gaps, phrase
        pauses) do not release it.
    lookahead_s : float, default 0.1
        Delay in seconds of the programme relative to the key, 0..2.
    threshold_db : float or None, default None
        Activity threshold for the key's 10 ms speech-band level, in dB re full
        scale (a full-scale sine in the band reads -3 dB), -100..0. ``None``
        chooses it automatically: 16 dB below the key's running active speech
        level (the mean power of the 10 ms levels of confirmed speech over about
        2 s, as in ITU-T P.56, whose margin is 15.9 dB; it falls by 1 dB per
        second while no dialogue is active), at least 10 dB above the key's
        running noise floor (the lowest 10 ms level, rising by 5 dB per second;
        taken as -70 dB until heard), and never below -70 dB. Breaths 30 dB
        under the speech and room tone stay under it.
    min_speech_s : float, default 0.03
        Voiced time in seconds needed before dialogue counts as active, 0..1.
        Clicks and bursts shorter than ``min_speech_s - 0.01`` s are ignored.
    key_highpass_hz, key_lowpass_hz : float, default 150.0 and 4000.0
        Speech band of the detector, in Hz (20..2000 and 500..20000, the
        high-pass below the low-pass; the low-pass below the Nyquist frequency).
    mode : {"broadband", "band"}, default "broadband"
        ``"broadband"`` turns the whole programme down. ``"band"`` turns down
        only the band where speech lives: the programme ``x`` is split into
        ``b = H x``, with ``H`` the constant-peak band-pass whose -3 dB edges are
        ``band_low_hz`` and ``band_high_hz``, and ``x - b``; the output is
        ``(x - b) + g * b``, exactly ``x`` when ``g == 1``. The response
        ``1 - (1 - g) H`` lies between ``g`` (at the band centre) and 1: no
        frequency is boosted or cut by more than ``depth_db``.
    band_low_hz, band_high_hz : float, default 300.0 and 4000.0
        Edges of the band in Hz for ``mode="band"`` (20..10000 and 100..20000,
        low below high, high below the Nyquist frequency).
    below_lu : float or None, default None
        Loudness-aware mode, 0..60: while dialogue is active, turn the
        programme down just enough that its short-term loudness is ``below_lu``
        LU below the dialogue's, by at most ``depth_db`` and never up. See Notes.
    speech_gate : bool, default False
        Count the key as active only where the built-in speech detector
        (:class:`sonicmix.speech.SpeechDetector`) hears speech, so that music or
        effects on the key do not duck the programme. The key's level waits
        for the detector's decisions: the latency grows by the detector's
        delay and one 10 ms frame (about 0.14 s). A partial cure: on a music
        loop alone around 12 prompts (docs/ducking.md), two beat-driven loops
        duck 0 % of the time before the speech and 28 % after it, a melodic
        loop about 60 % (without the gate: all of the time).

    Raises
    ------
    ParameterError
        If a parameter is out of range (a negative ``depth_db`` included: the
        depth is a positive reduction), or, at :meth:`init_state`, a filter
        frequency is at or above the Nyquist frequency.

    See Also
    --------
    sonicmix.nodes.dynamics.KeyedCompressor : level-dependent side-chain compression.
    sonicmix.dsp.activity : the detector and smoother as plain functions.

    Notes
    -----
    Loudness-aware mode. With ``z_key`` and ``z_prog`` the K-weighted key and
    programme (ITU-R BS.1770, every channel weighted 1), the *dialogue
    loudness* ``L_dx`` is ``-0.691 + 10 log10`` of the mean of
    ``sum_c z_key**2`` over the voiced samples of the last 3 s, and the
    *programme loudness* ``L_prog`` is the BS.1770 short-term loudness (mean
    over the last 3 s, or since the start if shorter) of the programme as it
    enters the node (undelayed, unducked). Both windows end at the key sample
    that the gain is computed from, i.e. ``lookahead_s`` after the output sample
    it applies to. While active the target gain is
    ``-clip(L_prog - (L_dx - below_lu), 0, depth_db)``; so once the gain has
    settled the ducked programme's short-term loudness is ``L_dx - below_lu``
    or lower, unless that would take more than ``depth_db``.

    The detection times (``activity_s``) and the threshold logic are those of
    :func:`sonicmix.dsp.activity.duck_gain_db`.

    Automation (in a graph; see ``docs/automation.md``): every numeric
    parameter but ``lookahead_s`` may follow an envelope, changing at the
    start of each control block. The detector's memory (its 10 ms frame, the
    running speech and noise levels, the voiced run, the hold), the gain and
    the filter memories carry on; the filters and the detector's constants
    are redesigned. The gain then moves towards its new target at the new
    ``attack_s`` and ``release_s`` slopes, except that a smaller ``depth_db``
    caps the reduction at once (the gain never sits below ``-depth_db``,
    which also keeps a depth of 0 from freezing the gain). A hold that is
    running is cut to a shorter ``hold_s``. ``threshold_db`` and
    ``below_lu`` take numbers when automated: starting from None switches
    to a fixed threshold or the loudness-aware mode, whose 3 s windows then
    start empty. ``lookahead_s`` is the node's latency, and ``mode`` a
    choice, so they are not automatable.

    Examples
    --------
    A podcast: two voices over a music bed, as a graph. The dialogue bus keys
    the ducker on the music track; each voice talks in 0.25 s syllables with
    0.1 s gaps, the host from 1.0 s, the guest from 2.8 s until 4.1 s:

    >>> import numpy as np
    >>> from sonicmix.graph import Bus, Graph, Track
    >>> from sonicmix.renderer import render
    >>> from sonicmix.timeline import ArraySource, Clip
    >>> fs = 48000
    >>> t = np.arange(7 * fs) / fs
    >>> def voice(start_s, stop_s, f0_hz):
    ...     talking = (t >= start_s) & (t < stop_s) & ((t - start_s) % 0.35 < 0.25)
    ...     return (0.3 * np.sin(2 * np.pi * f0_hz * t) * talking)[np.newaxis].astype(np.float32)
    >>> host, guest = voice(1.0, 2.4, 220.0), voice(2.8, 4.2, 330.0)
    >>> bed = (0.1 * np.sin(2 * np.pi * 110 * t))[np.newaxis].astype(np.float32)
    >>> def track(audio, **kwargs):
    ...     return Track(clips=(Clip(source=ArraySource(audio, fs)),), layout="mono", **kwargs)
    >>> graph = Graph(
    ...     tracks={
    ...         "host": track(host, output="dialogue"),
    ...         "guest": track(guest, output="dialogue"),
    ...         "music": track(bed, chain=(Ducker(depth_db=12.0),), key="dialogue", output="music_bus"),
    ...     },
    ...     buses={"dialogue": Bus(layout="mono"), "music_bus": Bus(layout="mono"),
    ...            "master": Bus(layout="mono", output=None)},
    ... )
    >>> mix = render(graph, sample_rate=fs)
    >>> def music_db(a_s, b_s):  # peak level of the ducked bed relative to the bed
    ...     span = mix.stems["music_bus"][0, int(a_s * fs):int(b_s * fs)]
    ...     return round(float(20 * np.log10(np.abs(span).max() / 0.1)), 1)
    >>> music_db(0.0, 0.9), music_db(1.0, 4.8), music_db(5.3, 7.0)  # before, while talking (+ hold), after
    (0.0, -12.0, 0.0)

    The same node on arrays, with the gain curve and the detected dialogue:

    >>> dialogue = host + guest
    >>> duck = Ducker(depth_db=12.0)
    >>> result = duck.analyse(bed, fs, key=dialogue)
    >>> [(round(a_s, 2), round(b_s, 2)) for a_s, b_s in result.activity_s]  # the 0.5 s pause is bridged
    [(1.0, 4.11)]
    >>> result.latency_samples, round(float(result.gain_db[result.latency_samples + int(2 * fs)]), 2)
    (4800, -12.0)

    Streamed in blocks, it gives the same samples:

    >>> state = duck.init_state(1, fs, np.float32)
    >>> a, state = duck.process(bed[:, :70000], fs, state, key=dialogue[:, :70000])
    >>> b, state = duck.process(bed[:, 70000:], fs, state, key=dialogue[:, 70000:])
    >>> bool(np.array_equal(np.hstack([a, b]), result.audio))
    True
    """

    takes_key: ClassVar[bool] = True

    depth_db: float = 12.0
    attack_s: float = 0.05
    release_s: float = 0.5
    hold_s: float = 0.7
    lookahead_s: float = 0.1
    threshold_db: float | None = None
    min_speech_s: float = 0.03
    key_highpass_hz: float = 150.0
    key_lowpass_hz: float = 4000.0
    mode: Literal["broadband", "band"] = "broadband"
    band_low_hz: float = 300.0
    band_high_hz: float = 4000.0
    below_lu: float | None = None
    speech_gate: bool = False

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"depth_db", "attack_s", "release_s", "hold_s", "threshold_db", "min_speech_s", "key_highpass_hz",
         "key_lowpass_hz", "band_low_hz", "band_high_hz", "below_lu"}
    )  # fmt: skip
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "lookahead_s": (
            "it is the node's latency, which a graph compensates once, before the render starts, "
            "and the length of its delay line"
        ),
        "mode": "it is a choice, not a number ('broadband' or 'band')",
        "speech_gate": "it is a choice (True or False), and it sets the node's latency",
    }

    def __post_init__(self) -> None:
        hint = "the depth is a positive reduction: for -12 dB use depth_db=12"
        if isinstance(self.depth_db, (int, float)) and -60.0 <= self.depth_db < 0.0:
            hint = (
                f"the depth is a positive reduction: for {self.depth_db:g} dB use depth_db={-self.depth_db:g}"
            )
        check_range("depth_db", self.depth_db, low=0.0, high=60.0, hint=hint)
        _check_time("attack_s", self.attack_s, low=0.001, high=5.0)
        _check_time("release_s", self.release_s, low=0.001, high=30.0)
        _check_time("hold_s", self.hold_s, low=0.0, high=10.0)
        _check_time("lookahead_s", self.lookahead_s, low=0.0, high=2.0)
        if self.threshold_db is not None:
            check_range("threshold_db", self.threshold_db, low=-100.0, high=0.0,
                        hint="dB re full scale; None sets it from the key's speech level")  # fmt: skip
        _check_time("min_speech_s", self.min_speech_s, low=0.0, high=1.0)
        check_range("key_highpass_hz", self.key_highpass_hz, low=20.0, high=2000.0)
        check_range("key_lowpass_hz", self.key_lowpass_hz, low=500.0, high=20000.0)
        if self.key_highpass_hz >= self.key_lowpass_hz:
            raise ParameterError(
                f"key_highpass_hz={self.key_highpass_hz:g} is not below key_lowpass_hz="
                f"{self.key_lowpass_hz:g}; expected a speech band such as 150..4000 Hz"
            )
        if self.mode not in ("broadband", "band"):
            raise ParameterError(f"mode={self.mode!r} is not supported; expected 'broadband' or 'band'")
        check_range("band_low_hz", self.band_low_hz, low=20.0, high=10000.0)
        check_range("band_high_hz", self.band_high_hz, low=100.0, high=20000.0)
        if self.band_low_hz >= self.band_high_hz:
            raise ParameterError(
                f"band_low_hz={self.band_low_hz:g} is not below band_high_hz={self.band_high_hz:g}; "
                "expected a band such as 300..4000 Hz"
            )
        if self.below_lu is not None:
            check_range("below_lu", self.below_lu, low=0.0, high=60.0,
                        hint="LU under the dialogue; None ducks by a fixed depth_db")  # fmt: skip
        if not isinstance(self.speech_gate, bool):
            raise ParameterError(f"speech_gate={self.speech_gate!r}; expected True or False")

    # ------------------------------------------------------------------------------- node API

    def latency_samples(self, sample_rate: int) -> int:
        """Lookahead delay in samples: ``round(lookahead_s * sample_rate)``, plus the speech
        detector's wait with ``speech_gate``
        (:meth:`sonicmix.speech.SpeechDetector.decision_delay_samples`)."""
        lookahead = int(round(self.lookahead_s * sample_rate))
        if not self.speech_gate:
            return lookahead
        from sonicmix.speech import SpeechDetector

        return lookahead + SpeechDetector().decision_delay_samples(sample_rate)

    def _filters(self, fs: int, dtype: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The key's speech-band filter, the band-mode filter and the K-weighting filter."""
        from sonicmix.dsp import biquad

        _check_below_nyquist("key_lowpass_hz", self.key_lowpass_hz, fs)
        q = math.sqrt(0.5)
        key_sos = biquad.cascade(
            biquad.highpass(freq_hz=self.key_highpass_hz, q=q, sample_rate=fs),
            biquad.lowpass(freq_hz=self.key_lowpass_hz, q=q, sample_rate=fs),
        ).astype(dtype)
        band_sos = None
        if self.mode == "band":
            _check_below_nyquist("band_high_hz", self.band_high_hz, fs)
            band_sos = _band_sos(self.band_low_hz, self.band_high_hz, fs).astype(dtype)
        kweight_sos = None
        if self.below_lu is not None:
            from sonicmix.loudness.kweighting import k_weighting_sos

            kweight_sos = k_weighting_sos(fs).astype(dtype)
        return key_sos, band_sos, kweight_sos

    def _activity(self, fs: int) -> tuple[Any, Any]:
        from sonicmix.dsp import activity

        return activity.init_activity(
            sample_rate=fs, depth_db=self.depth_db, attack_s=self.attack_s, release_s=self.release_s,
            hold_s=self.hold_s, min_speech_s=self.min_speech_s, threshold_db=self.threshold_db,
            below_lu=self.below_lu, lookahead_samples=int(round(self.lookahead_s * fs)),
        )  # fmt: skip

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> DuckerState:
        dtype = np.dtype(dtype)
        fs = int(sample_rate)
        key_sos, band_sos, kweight_sos = self._filters(fs, dtype)
        plan, act = self._activity(fs)
        state = DuckerState(
            plan=plan,
            activity=act,
            key_sos=key_sos,
            band_sos=band_sos,
            kweight_sos=kweight_sos,
            delay=np.zeros((channels, self.latency_samples(fs)), dtype),
            node=self,
            speech=SpeechGate(fs) if self.speech_gate else None,
        )
        if band_sos is not None:
            state.band_zi = np.zeros((band_sos.shape[0], channels, 2), dtype)
        if kweight_sos is not None:
            state.kweight_zi = np.zeros((kweight_sos.shape[0], channels, 2), dtype)
        return state

    def retune(self, state: DuckerState, sample_rate: int) -> DuckerState:
        """Carry a stream over to changed parameters (automation; see the Notes).

        The detector, gain and filter memories are kept; the filters and the
        detector's constants are redesigned. The gain is capped at
        ``-depth_db`` and a running hold at the new ``hold_s``.
        """
        if state.node == self:
            return state
        fs = int(sample_rate)
        dtype = state.delay.dtype
        if state.delay.shape[1] != self.latency_samples(fs):
            raise ParameterError(
                f"Ducker.retune: lookahead_s={self.lookahead_s:g} is {self.latency_samples(fs)} samples but "
                f"the state's delay line holds {state.delay.shape[1]}; expected only automatable parameters "
                "to change (build a new state for a new lookahead_s)"
            )
        key_sos, band_sos, kweight_sos = self._filters(fs, dtype)
        plan, fresh = self._activity(fs)
        act = state.activity
        if act.key_ring.shape != fresh.key_ring.shape:  # loudness-aware mode switched on: empty windows
            act.values[4:6] = 0.0
            act.counts[4:7] = 0
            act.key_ring, act.prog_ring = fresh.key_ring, fresh.prog_ring
        if act.values[3] < -plan.depth_db - 1e-9:  # the gain in dB, capped at the new depth
            act.values[3] = -plan.depth_db
        act.counts[3] = min(act.counts[3], plan.hold_samples)  # hold samples left
        state.plan = plan
        state.key_sos, state.band_sos = key_sos, band_sos
        if kweight_sos is not None and state.kweight_sos is None:
            channels = state.delay.shape[0]
            state.kweight_zi = np.zeros((kweight_sos.shape[0], channels, 2), dtype)
            if state.key_channels:
                state.kweight_key_zi = np.zeros((kweight_sos.shape[0], state.key_channels, 2), dtype)
        state.kweight_sos = kweight_sos
        state.node = self
        return state

    def process(
        self, x: Audio, sample_rate: int, state: DuckerState, *, key: Audio | None = None
    ) -> tuple[Audio, DuckerState]:
        y, state, _ = self._run(x, state, key, diagnostics=False)
        return y, state

    def analyse(self, audio: Audio, sample_rate: int, *, key: Audio) -> DuckingAnalysis:
        """Duck ``audio`` keyed by ``key`` in one go, and return the output with the gain and activity.

        Runs exactly the machinery of :meth:`process` (``result.audio`` equals
        ``node(audio, sample_rate, key=key)``), recording per-sample gain,
        detector level and threshold, and the dialogue intervals.

        Parameters
        ----------
        audio : np.ndarray, shape=(channels, samples)
            The programme to duck, float32 or float64.
        sample_rate : int
            Sample rate in Hz.
        key : np.ndarray, shape=(key_channels, samples)
            The dialogue, aligned with ``audio``.

        Returns
        -------
        DuckingAnalysis
        """
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        k = self._check_key(x, key)
        state = self.init_state(x.shape[0], rate, x.dtype)
        y, state, (gain, flags, diag) = self._run(x, state, k, diagnostics=True)
        from sonicmix.dsp.activity import activity_intervals

        with np.errstate(divide="ignore"):
            level = 10.0 * np.log10(np.maximum(diag[0], 1e-30))
            threshold = 10.0 * np.log10(np.maximum(diag[1], 1e-30))
            loud = self.below_lu is not None
            dialogue = _LUFS_OFFSET + 10.0 * np.log10(diag[2]) if loud else None
            programme = _LUFS_OFFSET + 10.0 * np.log10(diag[3]) if loud else None
        return DuckingAnalysis(
            audio=y,
            gain_db=gain,
            activity_s=activity_intervals(
                flags, min_speech_samples=state.plan.min_speech_samples, sample_rate=rate
            ),
            latency_samples=self.latency_samples(rate),
            sample_rate=rate,
            key_level_db=level,
            threshold_db=threshold,
            dialogue_lufs=dialogue,
            programme_lufs=programme,
        )

    # ------------------------------------------------------------------------------- engine

    def _run(
        self, x: Audio, state: DuckerState, key: Audio | None, *, diagnostics: bool
    ) -> tuple[Audio, DuckerState, Any]:
        from sonicmix.dsp import activity  # imports numba; loaded on first use
        from sonicmix.dsp.sosfilter import sosfilt

        if key is None:
            raise ParameterError("Ducker needs a side-chain key; pass key=<(channels, samples) array>")
        check_stream_dtype(self, x, state.delay.dtype)
        key = key.astype(x.dtype, copy=False)
        if state.key_channels != key.shape[0]:
            _allocate_key(state, key.shape[0], x.dtype)
        n = x.shape[1]
        y = delayed_copy(x, state.delay)
        record = None
        if diagnostics:
            record = (np.empty(n), np.empty(n, np.int8), np.empty((4, n)))
        if n == 0:
            return y, state, record

        dtype = x.dtype
        plan = state.plan
        loud = state.kweight_sos is not None
        size = min(n, _CHUNK)
        gain_buf = np.empty(size)
        lin_buf = np.empty(size, dtype)
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            m = stop - start
            k = key[:, start:stop]
            band_key, state.key_zi = sosfilt(state.key_sos, k, axis=-1, zi=state.key_zi)
            power = activity.frame_power(band_key, out=band_key[0])
            key_loud = prog_loud = None
            if loud:
                zk, state.kweight_key_zi = sosfilt(state.kweight_sos, k, axis=-1, zi=state.kweight_key_zi)
                key_loud = np.einsum("cn,cn->n", zk, zk)
                zx, state.kweight_zi = sosfilt(
                    state.kweight_sos, x[:, start:stop], axis=-1, zi=state.kweight_zi
                )
                prog_loud = np.einsum("cn,cn->n", zx, zx)
            if state.speech is not None:
                power, key_loud, prog_loud = state.speech.gate(k, power, key_loud, prog_loud)
            if record is None:
                gain = activity.duck_gain_db(
                    power, plan, state.activity, key_loudness_power=key_loud, programme_power=prog_loud,
                    out=gain_buf[:m],
                )  # fmt: skip
            else:
                gain = activity.duck_gain_db(
                    power, plan, state.activity, key_loudness_power=key_loud, programme_power=prog_loud,
                    flags=record[1][start:stop], diagnostics=record[2][:, start:stop],
                    out=record[0][start:stop],
                )  # fmt: skip
            lin = lin_buf[:m]
            np.multiply(gain, _DB_TO_LN, out=lin, casting="same_kind")
            np.exp(lin, out=lin)
            block = y[:, start:stop]
            if state.band_sos is None:
                block *= lin
            else:
                # y = x + (g - 1) * band: the band and its complement x - band sum to x when g == 1.
                band, state.band_zi = sosfilt(state.band_sos, block, axis=-1, zi=state.band_zi)
                lin -= 1.0
                band *= lin
                block += band
        return y, state, record


class SpeechGate:
    """The key's speech detector, and delay lines that hold the key's level until it has decided.

    Every per-sample series of the key (band power, and with ``below_lu`` the
    K-weighted key and programme powers) is delayed by the detector's
    :meth:`~sonicmix.speech.SpeechDetector.decision_delay_samples`, and the band
    power is zeroed where the detector heard no speech: the activity detector
    then sees silence there.
    """

    def __init__(self, sample_rate: int) -> None:
        from sonicmix.speech import SpeechDetector

        self.detector = SpeechDetector()
        self.sample_rate = sample_rate
        self.state = self.detector.init_state(sample_rate)
        self.hop = self.detector.hop_samples(sample_rate)
        self.wait = self.detector.decision_delay_samples(sample_rate)
        self.probabilities = np.zeros(0, np.float32)
        self.first_frame = 0  # frame index of probabilities[0]
        self.seen = 0  # key samples fed so far
        self.lines: dict[str, np.ndarray] = {}

    def _delayed(self, name: str, series: np.ndarray | None) -> np.ndarray | None:
        if series is None:
            return None
        line = self.lines.setdefault(name, np.zeros((1, self.wait), series.dtype))
        return delayed_copy(series[np.newaxis], line)[0]

    def gate(
        self, key: np.ndarray, power: np.ndarray, key_loud: np.ndarray | None, prog_loud: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The block's series delayed by the wait, the power zeroed where there is no speech."""
        from sonicmix.speech.activity import THRESHOLD

        new, self.state = self.detector.process(key, self.sample_rate, self.state)
        self.probabilities = np.concatenate([self.probabilities, new])
        n = power.shape[0]
        power = self._delayed("power", power)
        key_loud, prog_loud = self._delayed("key", key_loud), self._delayed("programme", prog_loud)
        at = np.arange(self.seen, self.seen + n) - self.wait  # key sample each delayed value belongs to
        self.seen += n
        live = at >= 0
        if live.any():
            frames = at[live] // self.hop - self.first_frame
            power[live] *= self.probabilities[frames] >= THRESHOLD
            drop = int(frames[-1])  # frames before the last one used are done with
            self.probabilities = self.probabilities[drop:]
            self.first_frame += drop
        return power, key_loud, prog_loud


def _band_sos(low_hz: float, high_hz: float, sample_rate: int) -> np.ndarray:
    """Constant-peak band-pass whose -3 dB edges are exactly ``low_hz`` and ``high_hz`` (digital).

    The cookbook band-pass is the bilinear transform of ``(s/Q) / (s**2 + s/Q + 1)``
    prewarped at its centre, so digital frequency ``f`` maps to
    ``tan(pi f / fs) / tan(pi f0 / fs)``. Its -3 dB points are where that is
    ``r`` and ``1/r`` with ``r - 1/r = 1/Q``; so the centre's warped frequency is
    the geometric mean of the edges' and ``Q`` their ratio to its difference.
    """
    from sonicmix.dsp import biquad

    w_lo = math.tan(math.pi * low_hz / sample_rate)
    w_hi = math.tan(math.pi * high_hz / sample_rate)
    w0 = math.sqrt(w_lo * w_hi)
    f0 = math.atan(w0) * sample_rate / math.pi
    return biquad.bandpass(freq_hz=f0, q=w0 / (w_hi - w_lo), sample_rate=sample_rate)


def _allocate_key(state: DuckerState, key_channels: int, dtype: Any) -> None:
    if state.key_channels:
        raise AudioError(
            f"key has {key_channels} channels but earlier blocks had {state.key_channels}; "
            "expected the same key channel count for the whole stream"
        )
    state.key_channels = key_channels
    state.key_zi = np.zeros((state.key_sos.shape[0], key_channels, 2), dtype)
    if state.kweight_sos is not None:
        state.kweight_key_zi = np.zeros((state.kweight_sos.shape[0], key_channels, 2), dtype)
