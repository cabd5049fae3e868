"""Repair nodes: :class:`DeHum` removes mains hum and its harmonics, following drift;
:class:`DeClick` finds impulsive clicks and interpolates over them.

The maths is in :mod:`sonicmix.dsp.hum`: an adaptive sinusoid canceller per
channel (one LMS amplitude per harmonic, subtracted from the signal) locked to
the hum by a third-order phase-locked loop. For a fixed fundamental it is a
comb of notches ``bandwidth_hz`` wide at their -3 dB points (widening as
``sqrt(k/4)`` above the 4th harmonic) and flat elsewhere; the loop moves the
whole comb with the mains frequency. The amplitudes learn only while the
output is near its floor (the hum, or steady noise): speech freezes them, and
the comb then holds still while the loop follows the hum's phase. Where the
estimate explains more than there is at the harmonics (the hum stopped, or its
phase jumped) it is released, and what is still there is learnt again at once.

That canceller is the first stage, the tracker: it measures the hum's phase
every 10 ms. A second canceller, the same comb, runs about half a second
behind it along the phase fitted through a centred second of those
measurements, which speech, pulling single frames, no longer jitters.

Importing this module loads numpy only; numba is imported when a node first reports
its latency or processes audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from sonicmix._checks import check_finite, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.dsp.delayline import delayed_copy
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = ["DeHum", "DeHumState", "DeClick", "DeClickState"]

#: Audio analysed to find the fundamental when it is not given (the latency then).
DETECT_S = 1.0
#: Where the fundamental is searched for: 50 and 60 Hz mains +- 5 Hz.
SEARCH_HZ = (45.0, 65.0)
#: Given fundamentals must lie here (mains is 50 or 60 Hz; tape and varispeed move it).
FUNDAMENTAL_RANGE_HZ = (40.0, 70.0)
_MAX_HARMONICS = 200
#: Passes of the canceller over the analysed second before the output starts
#: (backwards, forwards, backwards: odd, so that it ends at the first sample
#: and starts there converged).
_PRIMING_PASSES = 3


@dataclass(slots=True)
class DeHumState:
    """Stream state of :class:`DeHum`.

    Attributes
    ----------
    hum : HumState or None
        The canceller (:class:`sonicmix.dsp.hum.HumState`); None until the
        fundamental has been found.
    loop : HumLoop or None
        Its constants (:class:`sonicmix.dsp.hum.HumLoop`).
    history : np.ndarray, shape=(channels, latency), or None
        The delay line (and, during the first ``latency`` samples, the audio
        analysed for the fundamental) when ``fundamental_hz`` is None.
    seen : int
        Samples received so far.
    fundamental_hz : float or None
        The fundamental the canceller started from (given or found).
    refined : RefinedStage or None
        The second stage, which cancels the hum along the refined phase.
    dtype : np.dtype or None
        The stream's dtype (``init_state``'s): blocks of another are refused.
    """

    hum: Any
    loop: Any
    history: np.ndarray | None
    seen: int = 0
    fundamental_hz: float | None = None
    refined: RefinedStage | None = None
    dtype: Any = None


@dataclass(slots=True)
class RefinedStage:
    """The lookahead stage of :class:`DeHum`: the tracker's frames, smoothed, and a canceller on them.

    The tracker (:func:`sonicmix.dsp.hum.cancel_hum`) runs on each sample as it
    comes in and measures the hum's phase frame by frame; the phase fitted
    through a centred window of those measurements (:func:`sonicmix.dsp.hum.refine_phase`)
    drives a second canceller (:func:`sonicmix.dsp.hum.synthesise_hum`) on the
    input ``latency`` samples back.

    Attributes
    ----------
    refine : RefineState
        The phase fit's window and references.
    amplitudes : np.ndarray, shape=(channels, harmonics), complex128
        The second canceller's amplitudes.
    pending : np.ndarray, shape=(channels, m), float64
        Input not yet given out, from stream sample ``start``.
    deviation, gates : np.ndarray, shape=(channels, frames), float64
        Refined phase deviations and gates of the frames from ``first`` on.
    releases : np.ndarray, shape=(channels, frames, harmonics), float64
        The tracker's releases of each harmonic in the same frames.
    start, first, seen : int
        Stream index of ``pending[:, 0]``, frame index of ``deviation[:, 0]``,
        samples received.
    latency : int
        Output sample ``i`` is input sample ``i - latency`` cleaned.
    """

    refine: Any
    amplitudes: np.ndarray
    pending: np.ndarray
    deviation: np.ndarray
    gates: np.ndarray
    releases: np.ndarray
    latency: int
    start: int = 0
    first: int = 0
    seen: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeHum(Node):
    """Remove mains hum (50/60 Hz and harmonics), following the drift of its frequency.

    Each harmonic ``k * f0`` is cancelled by subtracting an adaptive estimate
    of it (Widrow's adaptive noise canceller with a sinusoidal reference): a
    notch ``bandwidth_hz`` wide at -3 dB, exact at the tracked frequency and
    flat between harmonics, so speech between them passes untouched. The
    amplitudes learn in the pauses and hold still while speech (anything
    well above the output's floor of the last seconds) is present, so dense
    dialogue with short pauses does not drag them off the hum. A
    phase-locked loop follows the fundamental within ``max_drift_hz`` (mains
    wanders by +-0.2 Hz, tape and drifting clocks by more), through the
    speech too; it weighs every harmonic by its own signal-to-noise ratio and
    measures the hum's phase every 10 ms. The comb that cleans the output
    runs about 0.54 s behind, along the phase fitted (a weighted local
    quadratic) through the centred second of those measurements: under
    speech the loop's phase jitters by milliradians, which harmonic ``k``
    feels ``k`` times; the fitted phase, which speech pulls far less, keeps
    the top harmonics as far down under the speech as in the pauses.

    Parameters
    ----------
    fundamental_hz : float or None, default None
        Mains frequency in Hz, 40 to 70 (50.0 in Europe, 60.0 in the
        Americas). None finds it from the first ``DETECT_S`` = 1 s of audio
        by a harmonic sum over a long FFT, between 45 and 65 Hz, among the
        fundamentals whose low harmonics hold hum's lines (a lone tone, such
        as a 1 kHz line-up tone, is no hum; without hum the node runs 50 or
        60 Hz, whichever comb keeps away from the lines; see
        :func:`sonicmix.dsp.hum.detect_fundamental`); the node then has 1 s
        more latency (:meth:`latency_samples`), and the canceller is
        converged on that second before the first sample comes out.
    harmonics : int, default 20
        Number of harmonics removed, ``f0`` included, 1 to 200 (20 reaches
        1 kHz at 50 Hz; a buzz has strong odd harmonics further up). The
        highest, ``harmonics * (f0 + max_drift_hz)``, must be below the
        Nyquist frequency (checked when the stream starts).
    bandwidth_hz : float, default 2.0
        Width of the notches at -3 dB, in Hz, 0.1 to 20, at the first four
        harmonics; above, harmonic ``k``'s notch is ``sqrt(k/4)`` times wider
        (4.5 Hz at the 20th), because harmonic ``k`` feels ``k`` times the
        tracked phase's jitter. Wider notches lock on faster (time constant
        ``1 / (pi * bandwidth_hz)`` s: 0.16 s) and take away more of
        steady programme (the comb holds still under speech, which keeps its
        level within 0.01 dB in 200 Hz - 4 kHz).
    max_drift_hz : float, default 1.0
        How far the fundamental is followed from its starting value, Hz, 0 to
        5; 0 fixes it (then a drifting hum is followed only by the
        amplitudes, in the pauses: on dense dialogue that is not enough).
    tracking_hz : float, default 1.0
        Natural frequency of the tracking loop, Hz, 0.1 to 10: how fast it
        follows a change of the mains frequency (for its first seconds the
        loop runs up to 4 times faster, at most 3 Hz, to pull in). Raise it
        for tape wow; below about 0.5 it lags a mains drift of +-0.2 Hz
        through long speech.
    follow_changes : bool, default True
        Release the estimate where it explains more than the input holds at
        the harmonics (a hum that stops or jumps in phase: a switched source,
        an edit between takes), instead of holding it for the floor's seconds.
        A steady tone at about the hum's level on the mains fundamental (a
        bass note at 49-50 or 60 Hz over steady hum) can look the same and
        be partly released; set False for music over steady hum.

    See Also
    --------
    sonicmix.dsp.hum.cancel_hum : The canceller.
    sonicmix.dsp.hum.detect_fundamental : How the fundamental is found.

    Notes
    -----
    Latency: the phase fit's lookahead, half of its second and a 10 ms frame,
    plus the 32 ms lag of the measurements' smoothing, 0.54 s at any sample
    rate (26008 samples at 48 kHz); 1 s more when the fundamental is found.

    Measured (``benchmarks/bench_dehum.py``): on a male voice with hum 7 dB
    below it drifting by +-0.3 Hz, every harmonic is more than 49 dB down in
    the pauses; on dense female dialogue (80 % speech, pauses of 0.4-1.2 s)
    over a buzz 23-44 dB below it drifting by +-0.2 Hz, more than 49 dB down
    over the pauses and 39 dB in the worst one, fundamental given or found.
    Under the speech, where the amplitudes hold still, what the comb leaves
    of the hum alone is 31 dB down at the top harmonic of the male voice's
    hum and buzz (the median harmonic 36-37 dB), 31-50 dB on a held-out
    female voice with hum 3 to 17 dB under it; along the tracker's own
    phase, before the fit, 21 and 24-39 dB. The level of speech in 200 Hz -
    4 kHz moves by less than 0.01 dB. A hum that stops, or whose phase
    jumps (an edit), leaves an estimate that puts more at the harmonics than
    the input has: it is released, and a jumped hum learnt again at once
    (over noise at 48 kHz, what is left 0.5-1.5 s after a stop is 50 dB under
    the hum that was, and a jump of a quarter or half turn is 33 dB down
    0.5-1 s after it; under speech less, see ``docs/repair.md``). A hum that
    appears later is taken up once the floor's memory has passed, in the
    pauses (over noise it is learnt 6-8 s after it starts; until then the
    tracking loop, with nothing to follow, holds at its starting fundamental):
    a start is not detected, since a held note steady on the comb would be;
    held notes on the harmonics pass unchanged where there is no hum, and
    over steady hum unless they sit on the mains fundamental at about the
    hum's level (see ``follow_changes``). Arithmetic is float64;
    float32 audio comes out as float32. Channels are cancelled independently
    (the fundamental, when found, is found from all of them together).

    References
    ----------
    B. Widrow et al., "Adaptive noise cancelling: principles and
    applications", Proc. IEEE 63(12), 1975.

    Examples
    --------
    >>> import numpy as np
    >>> rate = 16000
    >>> t = np.arange(4 * rate) / rate
    >>> hum = 0.05 * np.sin(2 * np.pi * 50.2 * t) + 0.02 * np.sin(2 * np.pi * 150.6 * t + 1.0)
    >>> x = hum[np.newaxis].astype(np.float32)
    >>> node = DeHum(fundamental_hz=50.0, harmonics=4)
    >>> y = node(x, rate)  # delayed by node.latency_samples(rate), 0.54 s
    >>> bool(np.sqrt(np.mean(y[:, -rate:] ** 2)) < 0.001)  # the last second: > 30 dB down
    True
    >>> state = node.init_state(1, rate, np.float32)
    >>> a, state = node.process(x[:, :1000], rate, state)
    >>> b, state = node.process(x[:, 1000:], rate, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), y))
    True
    """

    fundamental_hz: float | None = None
    harmonics: int = 20
    bandwidth_hz: float = 2.0
    max_drift_hz: float = 1.0
    tracking_hz: float = 1.0
    follow_changes: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.follow_changes, (bool, np.bool_)):
            raise ParameterError(f"follow_changes={self.follow_changes!r}; expected True or False")
        if self.fundamental_hz is not None:
            low, high = FUNDAMENTAL_RANGE_HZ
            check_range(
                "fundamental_hz",
                self.fundamental_hz,
                low=low,
                high=high,
                hint="mains hum is at 50.0 or 60.0 Hz; use None to find it in the audio",
            )
        if isinstance(self.harmonics, bool) or not isinstance(self.harmonics, Integral):
            raise ParameterError(
                f"harmonics={self.harmonics!r} is not an integer; expected 1 <= harmonics <= {_MAX_HARMONICS}"
            )
        if not 1 <= int(self.harmonics) <= _MAX_HARMONICS:
            raise ParameterError(
                f"harmonics={self.harmonics} is out of range; expected 1 <= harmonics <= {_MAX_HARMONICS} "
                "(the fundamental counts as the first)"
            )
        check_range(
            "bandwidth_hz",
            self.bandwidth_hz,
            low=0.1,
            high=20.0,
            hint="the -3 dB width of the notches; 2.0 settles in 0.16 s",
        )
        check_range("max_drift_hz", self.max_drift_hz, low=0.0, high=5.0, hint="0 fixes the fundamental")
        check_range("tracking_hz", self.tracking_hz, low=0.1, high=10.0)

    def latency_samples(self, sample_rate: int) -> int:
        """The phase fit's lookahead (about 0.54 s), and the analysed second when the fundamental is found."""
        from sonicmix.dsp import hum

        rate = check_sample_rate(sample_rate)
        loop = self._loop(self.fundamental_hz or 50.0, rate)
        found = 0 if self.fundamental_hz is not None else int(round(DETECT_S * rate))
        return found + hum.refined_latency(loop, rate)

    def _check_rate(self, sample_rate: int) -> None:
        """Refuse harmonics above the Nyquist frequency, and a comb too wide for the sample rate."""
        from sonicmix.dsp import hum

        top = self.harmonics * ((self.fundamental_hz or SEARCH_HZ[1]) + self.max_drift_hz)
        if top >= sample_rate / 2:
            f0 = "up to 65 Hz (found)" if self.fundamental_hz is None else f"{self.fundamental_hz:g} Hz"
            raise ParameterError(
                f"harmonics={self.harmonics} of a fundamental {f0} plus max_drift_hz={self.max_drift_hz:g} "
                f"reach {top:g} Hz; expected below the Nyquist frequency {sample_rate / 2:g} Hz of "
                f"sample_rate={sample_rate} (use fewer harmonics)"
            )
        # the notches' LMS steps add up; past 1 (2 diverges) the comb is no longer a comb of notches
        total = hum.total_step(self.harmonics, self.bandwidth_hz, sample_rate)
        if total > 1.0:
            raise ParameterError(
                f"harmonics={self.harmonics} notches of bandwidth_hz={self.bandwidth_hz:g} at "
                f"sample_rate={sample_rate} add up to an LMS step of {total:.3g}; expected at most 1 "
                "(use fewer harmonics or narrower notches)"
            )

    def _loop(self, fundamental_hz: float, sample_rate: int) -> Any:
        from sonicmix.dsp import hum  # imports numba; loaded on first use

        return hum.hum_loop(
            fundamental_hz=fundamental_hz,
            bandwidth_hz=self.bandwidth_hz,
            max_drift_hz=self.max_drift_hz,
            tracking_hz=self.tracking_hz,
            sample_rate=sample_rate,
            follow_changes=bool(self.follow_changes),
        )

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> DeHumState:
        """The canceller at the given fundamental, or an empty delay line to find it in."""
        rate = check_sample_rate(sample_rate)
        self._check_rate(rate)
        if self.fundamental_hz is None:
            latency = int(round(DETECT_S * rate))
            return DeHumState(None, None, np.zeros((channels, latency), dtype), dtype=np.dtype(dtype))
        from sonicmix.dsp import hum

        state = hum.init_hum_state(channels, self.harmonics, self.fundamental_hz, rate)
        loop = self._loop(self.fundamental_hz, rate)
        refined = _refined_stage(channels, self.harmonics, loop, rate)
        return DeHumState(state, loop, None, 0, float(self.fundamental_hz), refined, np.dtype(dtype))

    def process(
        self, x: Audio, sample_rate: int, state: DeHumState, *, key: Audio | None = None
    ) -> tuple[Audio, DeHumState]:
        """Cancel the hum in one block, delayed by the latency."""
        n = x.shape[1]
        check_stream_dtype(self, x, state.dtype)
        # one NaN would stay in the canceller's amplitudes for good: refused, naming the stream's sample
        check_finite(x, "DeHum input", sample_rate, offset=state.seen)
        if state.history is None:
            y = self._cancel(x, state, sample_rate)
            state.seen += n
            return y, state
        latency = state.history.shape[1]
        if state.hum is None:
            # Still filling the analysed second: the delay line gives zeros.
            take = min(n, latency - state.seen)
            head = delayed_copy(x[:, :take], state.history)
            state.seen += take
            if state.seen < latency:
                return head, state
            self._start(state, sample_rate)
            if take == n:
                return head, state
            tail, state = self.process(x[:, take:], sample_rate, state)
            return np.concatenate([head, tail], axis=1), state
        delayed = delayed_copy(x, state.history)
        state.seen += n
        return self._cancel(delayed, state, sample_rate), state

    def _cancel(self, x: Audio, state: DeHumState, sample_rate: int) -> Audio:
        """Track and measure on ``x``; give out the input ``latency`` samples back, cleaned."""
        from sonicmix.dsp import hum

        stage, loop = state.refined, state.loop
        assert stage is not None  # the stage exists once the canceller does
        n = x.shape[1]
        x64 = np.asarray(x, dtype=np.float64)
        hop = loop.hop
        # the kernel writes a frame row at every tick that is a multiple of hop: sized from the same count
        if int(state.hum.count[0]) != stage.seen:
            at = int(state.hum.count[0])
            raise RuntimeError(f"DeHum's canceller is at sample {at}, its stage at {stage.seen}")
        ending = (stage.seen + n) // hop - stage.seen // hop  # frames that end in this block
        frames = np.empty((x.shape[0], ending, hum.frame_width(self.harmonics)))
        hum.cancel_hum(x64, state.hum, loop, out=np.empty_like(x64), frames=frames)
        stage.seen += n
        fitted = hum.refine_phase(frames, stage.refine, hum.fit_half_frames(hop, sample_rate))
        stage.deviation = np.concatenate([stage.deviation, fitted], axis=1)
        stage.gates = np.concatenate([stage.gates, frames[:, :, 1]], axis=1)
        stage.releases = np.concatenate([stage.releases, frames[:, :, 2 + 3 * self.harmonics :]], axis=1)
        stage.pending = np.concatenate([stage.pending, x64], axis=1)
        # give out samples start .. seen - latency (zeros before the stream's first)
        stop = stage.seen - stage.latency
        y = np.zeros(x.shape, x.dtype)
        if stop > stage.start:
            count = stop - stage.start
            block = np.ascontiguousarray(stage.pending[:, :count])
            hum.synthesise_hum(
                block, stage.start, stage.deviation, stage.gates, stage.first, stage.amplitudes, loop,
                releases=stage.releases,
            )  # fmt: skip
            y[:, n - count :] = block
            stage.pending = stage.pending[:, count:]
            stage.start = stop
            # keep the frames the next samples need: the segment of the next one, its gate's frame
            lag = hum.measurement_lag(loop)
            keep = max(0, min(int(np.floor((stop - (hop - 1.0 - lag)) / hop)), stop // hop))
            drop = max(0, keep - stage.first)
            stage.deviation = stage.deviation[:, drop:]
            stage.gates = stage.gates[:, drop:]
            stage.releases = stage.releases[:, drop:]
            stage.first += drop
        return y

    def _start(self, state: DeHumState, sample_rate: int) -> None:
        """Find the fundamental in the analysed second and converge the canceller on it."""
        from sonicmix.dsp import hum

        assert state.history is not None  # only called with a delay line
        analysed = np.ascontiguousarray(state.history, dtype=np.float64)
        low, high = SEARCH_HZ
        # the search pools 20 harmonics whatever number is removed: the higher ones pin the
        # fundamental down 20 times finer than its own line does
        f0 = hum.detect_fundamental(analysed, sample_rate, low_hz=low, high_hz=high, harmonics=20)
        canceller = hum.init_hum_state(analysed.shape[0], self.harmonics, f0, sample_rate)
        loop = self._loop(f0, sample_rate)
        backwards = np.ascontiguousarray(analysed[:, ::-1])
        scratch = np.empty_like(analysed)
        for i in range(_PRIMING_PASSES):
            hum.cancel_hum(backwards if i % 2 == 0 else analysed, canceller, loop, out=scratch)
            hum.reverse_hum_state(canceller)
        # the stream starts at tick 0, as with a given fundamental: the frame rows (one every hop
        # from the stream's first sample) and the stage's count of them must agree at every rate
        canceller.count[0] = 0
        state.hum, state.loop, state.fundamental_hz = canceller, loop, f0
        state.refined = _refined_stage(analysed.shape[0], self.harmonics, loop, sample_rate)
        # both start from the primed amplitudes: the hum's content in the oscillator's frame is half of them
        state.refined.amplitudes[:] = canceller.amplitudes
        state.refined.refine.reference[:] = 0.5 * canceller.amplitudes
        state.refined.refine.learnt[:] = 1.0


def _refined_stage(channels: int, harmonics: int, loop: Any, sample_rate: int) -> RefinedStage:
    """The lookahead stage before its first sample."""
    from sonicmix.dsp import hum

    half = hum.fit_half_frames(loop.hop, sample_rate)
    return RefinedStage(
        hum.init_refine_state(channels, harmonics, half),
        np.zeros((channels, harmonics), np.complex128),
        np.zeros((channels, 0)),
        np.zeros((channels, 0)),
        np.zeros((channels, 0)),
        np.zeros((channels, 0, harmonics)),
        hum.refined_latency(loop, sample_rate),
    )


# --------------------------------------------------------------------------- DeClick

#: DeClick analyses audio in frames of this length on a fixed grid from the first sample.
CLICK_FRAME_S = 0.02
#: Detection passes per frame (each on the audio repaired by the previous ones).
CLICK_PASSES = 2
#: Cost of each sample declared part of a click, in units of the local prediction-error variance:
#: a sample joins a click only if interpolating it too saves 16 times that (a 4-sigma saving).
CLICK_PENALTY = 16.0
#: Smallest score (error energy saved less the penalties, in units of the local variance) of a click.
CLICK_MIN_SCORE = 50.0
#: Largest misfit of a click: the error left over the rows its interpolation touches, in units of
#: the local variance per row it cannot absorb. A click is additive (the programme goes on as
#: before it); a transient of the programme (a percussive attack into a new sound) is not.
CLICK_MAX_MISFIT = 10.0
#: Largest rise of the signal's level across a click (15 dB): a note, stroke or word that starts is not one.
CLICK_MAX_RISE = 10.0**1.5
#: Span on each side of a click over which the local error scale and the level are measured.
CLICK_LOCAL_S = 0.004
#: Floor of the robust error scale (digital silence has none; any click stands out above it).
CLICK_MIN_SCALE = 1e-7


@dataclass(slots=True)
class DeClickState:
    """Stream state of :class:`DeClick`.

    Attributes
    ----------
    pending : np.ndarray, shape=(channels, m), float64
        Input not yet repaired, from ``context`` samples before the next frame.
    ready : np.ndarray, shape=(channels, k)
        Repaired output not yet given out (the delay line, zeros at first).
    """

    pending: np.ndarray
    ready: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class DeClick(Node):
    """Find impulsive clicks (vinyl crackle, digital ticks) and interpolate over them.

    Each 20 ms frame, with context on both sides, gets an autoregressive
    model; samples whose prediction error stands out by ``threshold_db``
    above the error's robust level are candidates. Each candidate's extent
    is the run whose interpolation saves the most prediction-error energy
    against a cost per sample, measured in the error's local level (a
    penalised likelihood); it is a click if that saving is large, if the
    programme after it is predicted as well as before it, and if it does not
    start a louder passage. The samples under each click are replaced by
    the least-squares AR interpolation from the good samples around it
    (Godsill & Rayner). Clean audio passes unchanged unless something in it
    is as unpredictable, and as brief, as a click.

    Parameters
    ----------
    threshold_db : float, default 26.0
        How far above its robust level (1.4826 times its median absolute
        value) the prediction error must rise to make a sample a candidate,
        in dB, 6 to 40. Lower finds quieter clicks and takes more transients
        of the programme for clicks (at 20 dB clean speech comes out at
        37.5 dB SI-SDR instead of unchanged, and percussive music loses more).
    max_click_s : float, default 0.002
        Longest click, in seconds, 0.0001 to 0.01 (the run repaired is at
        most this plus 0.2 ms); longer disturbances are left alone.
    order : int, default 32
        Order of the AR model, 4 to 128.

    Notes
    -----
    Measured on real speech with 10 synthetic clicks a second
    (``benchmarks/bench_dehum.py``): short crackle (up to 0.2 ms) is found and
    repaired with a recall of 0.98, pops with smooth decays (up to 0.8 ms)
    with 0.92, and clean speech passes unchanged (no sample touched). Music
    with sharp percussion loses some of its attacks, as to any de-clicker:
    see ``docs/repair.md``. Latency is one frame plus the context,
    ``latency_samples``: 20 ms plus ``max_click_s`` and ``2 * order``
    samples and 0.1 ms. Channels are independent. Arithmetic is float64;
    float32 audio comes out as float32.

    References
    ----------
    S. J. Godsill and P. J. W. Rayner, "Digital Audio Restoration",
    Springer 1998, ch. 5 (detection, interpolation) and ch. 9 (the Bayesian
    detector whose penalised form scores a click's extent); S. V. Vaseghi and P. J. W. Rayner, "Detection and
    suppression of impulsive noise in speech communication systems", IEE
    Proc. I 137(1), 1990.

    Examples
    --------
    >>> import numpy as np
    >>> rate = 16000
    >>> t = np.arange(rate) / rate
    >>> x = 0.3 * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 3 * t)
    >>> clicked = x.copy()
    >>> clicked[5000:5003] += [0.5, -0.3, 0.2]
    >>> node = DeClick()
    >>> y = node(clicked[np.newaxis], rate)[0]
    >>> lag = node.latency_samples(rate)
    >>> bool(np.max(np.abs(y[lag:] - x[: rate - lag])) < 0.01)
    True
    >>> state = node.init_state(1, rate, np.float64)
    >>> a, state = node.process(clicked[np.newaxis, :7000], rate, state)
    >>> b, state = node.process(clicked[np.newaxis, 7000:], rate, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1)[0], y))
    True
    """

    threshold_db: float = 26.0
    max_click_s: float = 0.002
    order: int = 32

    def __post_init__(self) -> None:
        check_range(
            "threshold_db",
            self.threshold_db,
            low=6.0,
            high=40.0,
            hint="dB of prediction error above its robust level; 26 finds vinyl crackle and spares speech",
        )
        check_range("max_click_s", self.max_click_s, low=0.0001, high=0.01, hint="in seconds: 2 ms is 0.002")
        if isinstance(self.order, bool) or not isinstance(self.order, Integral):
            raise ParameterError(f"order={self.order!r} is not an integer; expected 4 <= order <= 128")
        if not 4 <= int(self.order) <= 128:
            raise ParameterError(f"order={self.order} is out of range; expected 4 <= order <= 128")

    def _sizes(self, sample_rate: int) -> tuple[int, int, int, int]:
        """Frame, context, longest click and padding, in samples."""
        frame = int(round(CLICK_FRAME_S * sample_rate))
        longest = max(1, int(round(self.max_click_s * sample_rate)))
        pad = max(2, int(round(1e-4 * sample_rate)))
        return frame, longest + pad + 2 * self.order, longest, pad

    def latency_samples(self, sample_rate: int) -> int:
        """One frame and the context after it."""
        frame, context, _, _ = self._sizes(check_sample_rate(sample_rate))
        return frame + context

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> DeClickState:
        """Context of zeros before the first frame; the delay line full of zeros."""
        rate = check_sample_rate(sample_rate)
        _, context, _, _ = self._sizes(rate)
        return DeClickState(
            np.zeros((channels, context)), np.zeros((channels, self.latency_samples(rate)), dtype)
        )

    def process(
        self, x: Audio, sample_rate: int, state: DeClickState, *, key: Audio | None = None
    ) -> tuple[Audio, DeClickState]:
        """Repair the frames this block completes; give out as many samples as came in."""
        check_stream_dtype(self, x, state.ready.dtype)
        frame, context, longest, pad = self._sizes(sample_rate)
        window = frame + 2 * context
        pending = np.concatenate([state.pending, x.astype(np.float64)], axis=1)
        done = (pending.shape[1] - window) // frame + 1 if pending.shape[1] >= window else 0
        repaired = np.empty((x.shape[0], done * frame), x.dtype)
        local = max(8, int(round(CLICK_LOCAL_S * sample_rate)))
        for j in range(done):
            for c in range(x.shape[0]):
                segment = pending[c, j * frame : j * frame + window]
                repaired[c, j * frame : (j + 1) * frame] = self._repair(
                    segment, context, frame, longest, pad, local
                )
        state.pending = pending[:, done * frame :].copy()
        ready = np.concatenate([state.ready, repaired], axis=1)
        n = x.shape[1]
        state.ready = ready[:, n:].copy()
        return ready[:, :n].copy(), state

    def _repair(
        self, segment: np.ndarray, context: int, frame: int, longest: int, pad: int, local: int
    ) -> np.ndarray:
        """The frame ``segment[context : context + frame]`` with its clicks interpolated."""
        from sonicmix.dsp import click

        p = self.order
        a = click.ar_coefficients(segment, p)
        if a is None:
            return segment[context : context + frame]
        threshold = 10.0 ** (self.threshold_db / 20.0)
        span = longest + 2 * pad  # longest run searched (the tail `pad` comes on top)
        fixed = segment
        model = a
        found: list[tuple[int, int]] = []
        # A second pass looks again at the repaired window: a click next to a bigger one hides in
        # the bigger one's smear. Every click in the window is repaired (a clean context helps the
        # frame's own), as far as `order` good samples on both sides allow; only the frame is kept.
        for _ in range(CLICK_PASSES):
            candidates = click.detect_clicks(
                click.prediction_error(fixed, model),
                click.prediction_error(fixed, model, backward=True),
                threshold=threshold,
                max_samples=span,
                pad_samples=pad,
                smear_samples=2 * p,
                min_scale=CLICK_MIN_SCALE,
            )
            candidates = [(s, t) for s, t in candidates if s >= p and t <= segment.size - p]
            if not candidates:
                break
            # the model that scores and interpolates is fitted without the candidates' samples
            # (a click biases a model fitted over it towards its own spectrum)
            scorer = _refit(segment, a, _merge(found + candidates))
            error = click.prediction_error(fixed, scorer)
            frame_scale = click.robust_scale(error[p:])
            chol = click.gap_cholesky(scorer, span + pad)
            new = []
            for s, t in candidates:
                scale = max(frame_scale, CLICK_MIN_SCALE)
                # the error's level just around the candidate: speech onsets and plosives raise it
                for side in (error[max(p, s - local) : s], error[t + p : t + p + local]):
                    if side.size >= local // 2:
                        scale = max(scale, click.robust_scale(side))
                # a candidate made only of the backward error's smear lies up to `order` samples
                # before its click: starts are searched from the candidate's to `order` past its end
                fit = click.click_extent(
                    error, scorer, s, t + p, max_samples=span, penalty=CLICK_PENALTY,
                    variance=scale * scale, tail_samples=pad, chol=chol,
                )  # fmt: skip
                if fit is None or fit.score <= CLICK_MIN_SCORE or fit.misfit > CLICK_MAX_MISFIT:
                    continue
                if click.onset_ratio(fixed, fit.start, fit.stop, local) > CLICK_MAX_RISE:
                    continue
                new.append((fit.start, fit.stop))
            if not new:
                break
            found = _merge(found + new)
            model = _refit(segment, a, found)
            fixed = segment.copy()
            for start, stop in found:
                fixed[start:stop] = click.interpolate_gap(fixed, model, start, stop)
        return fixed[context : context + frame]


def _refit(segment: np.ndarray, a: np.ndarray, runs: list[tuple[int, int]]) -> np.ndarray:
    """The AR model of ``segment`` fitted without ``runs``, or ``a`` where that fit is not sane.

    The covariance method does not guarantee a stable model on near-silence: a refit whose
    coefficients exceed four times the largest of ``a`` is not used.
    """
    from sonicmix.dsp import click

    refit = click.ar_coefficients_around(segment, a.size - 1, runs)
    if refit is None or not np.max(np.abs(refit)) <= np.max(np.abs(a)) * 4.0:
        return a
    return refit


def _merge(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, overlapping or touching runs joined."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(runs):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
    return out
