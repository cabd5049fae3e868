"""Streaming time stretch and pitch shift: a phase vocoder with identity phase locking.

The stretch is a phase vocoder (Flanagan & Golden 1966; Dolson 1986) with
the identity phase locking of Laroche & Dolson, "Improved phase vocoder
time-scale modification of audio", IEEE Trans. Speech and Audio Processing
7(3), 1999. Frames of ``N`` samples (Hann window) are read from the input
every ``hop / stretch`` samples and overlap-added every ``hop`` samples. In
each frame the spectral peaks (bins louder than their two neighbours on each
side) have their phase advanced at their measured instantaneous frequency;
every bin in a peak's region of influence (up to half-way to the next peak)
is rotated by the same angle as its peak, which keeps the phase relations
inside a partial's main lobe and removes most of the plain vocoder's
"phasiness". One rotation per region means one ``cos``/``sin`` per peak, and
``atan2`` only at peaks.

Carried from frame to frame, phases smear an onset (a drum hit, a pluck, a
consonant) over the frame (43 ms at 48 kHz); at onsets the phases start
afresh instead (a phase reset, as in Rubber Band's "crisp" transients and
Röbel's transient-preserving phase vocoder, DAFx 2003). A frame is an onset
when at least 35 % of its bins above 150 Hz gained 3 dB since the frame
before, and that share grew by a tenth (Rubber Band's "percussive" measure
and its real-time rule): the first frame the onset enters, decided from the
frame's own samples, so the latency is unchanged. The regions above 150 Hz
whose peak gained 3 dB, the onset's own, take their analysis phases, all
delayed so that the onset (found in the frame to the sample) lands at its
stretched time, on an output sample; the others (a note held under a drum,
the bass) keep their phase track, which a reset would break. Until the onset has left the frame,
the reset bins advance each at its own frequency: a peak's region would
spread the onset again.

A windowed-sinc resampler (Kaiser window, 24 zero crossings each side,
linear interpolation in a table) then reads the stretched signal at
``ratio`` samples per output sample, which moves the pitch by ``ratio``.
Stretch by ``2 ** (s / 12)`` and read at that ratio: the duration is kept
and the pitch moves by ``s`` semitones (:class:`~sonicmix.nodes.stretch.PitchShift`);
stretch by ``1 / rate`` and read at ratio 1: the duration changes and the
pitch is kept (a clip's ``rate``).

Everything is a function of absolute positions: analysis frame ``m`` is
centred on input sample ``round(m * hop / stretch)``, output sample ``j`` reads the
stretched signal at ``j * ratio``. How the input arrives (one buffer, or
blocks of any size) changes nothing but the order of the work, so streamed
output equals the one-shot output. Output ``j`` lines up with input ``j``:
:func:`input_needed` says how many input samples it takes to produce a
given number of outputs.

This module imports numba, so import it only where stretching happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = [
    "VocoderPlan",
    "VocoderState",
    "vocoder_plan",
    "init_vocoder",
    "input_needed",
    "outputs_ready",
    "shift_latency",
    "push",
    "pull",
]

#: Zero crossings of the resampler's sinc on each side, and its Kaiser window's beta (sidelobes near
#: -80 dB, transition band about 0.1 of the stretched signal's sample rate).
_ZEROS, _KAISER_BETA = 24, 8.0
#: Resampler table points per zero crossing (linear interpolation error near -100 dB).
_TABLE_STEPS = 512
#: Passband of the resampler, as a fraction of the lower of the two Nyquist frequencies.
_CUTOFF = 0.9
#: Bins below this frequency keep their phase track at onsets: a reset there would click in the bass.
_SPLIT_HZ = 150.0
#: Longest stretch of output computed at once, in samples: the buffers stay cache-sized.
_CHUNK = 4096


@dataclass(frozen=True, eq=False)
class VocoderPlan:
    """What a stream computes: frame, hops, stretch, resampling ratio and table (see :func:`vocoder_plan`)."""

    frame: int  # N, samples per analysis frame
    hop: int  # synthesis hop, in stretched samples
    stretch: float  # duration factor of the vocoder (1.0: no vocoder)
    ratio: float  # stretched samples read per output sample (1.0: no resampler)
    half_width: float  # the resampler's reach each side, in stretched samples
    table: np.ndarray  # the resampler's kernel, _TABLE_STEPS points per zero crossing
    table_scale: float  # table index per stretched sample of distance
    window: np.ndarray  # analysis window (periodic Hann)
    synthesis: np.ndarray  # synthesis window, with the overlap-add normalisation in it
    split: int  # first bin whose phases are reset at onsets (frame // 2 + 1: never)


def vocoder_plan(stretch: float, ratio: float, sample_rate: int) -> VocoderPlan:
    """Plan a stream that stretches by ``stretch`` then reads at ``ratio``.

    Parameters
    ----------
    stretch : float
        Duration factor of the phase vocoder (2.0 doubles the duration); exactly
        1.0 skips the vocoder.
    ratio : float
        Stretched samples per output sample (2.0 halves the duration and
        doubles the pitch); exactly 1.0 skips the resampler.
    sample_rate : int
        Sample rate in Hz; the frame is about 43 ms (2048 samples at 44.1 and 48 kHz).

    Returns
    -------
    VocoderPlan

    Examples
    --------
    >>> plan = vocoder_plan(2.0, 2.0, 48000)  # an octave up
    >>> plan.frame, plan.hop
    (2048, 512)
    """
    frame = 2 ** max(7, round(math.log2(0.0427 * sample_rate)))
    hop = frame // 4
    if stretch < 1.0:
        # The analysis hop hop / stretch must stay within a quarter frame, or the phase
        # advance of a Hann window's main lobe (+-2 bins) becomes ambiguous.
        hop = max(1, frame // (4 * 2 ** math.ceil(math.log2(1.0 / stretch) - 1e-9)))
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(frame) / frame)
    # sum over m of window**2 at hops dividing frame / 4 is 3 * frame / (8 * hop)
    synthesis = window * (8.0 * hop / (3.0 * frame))
    cutoff = _CUTOFF * min(1.0, 1.0 / ratio)
    return VocoderPlan(
        frame=frame,
        hop=hop,
        stretch=float(stretch),
        ratio=float(ratio),
        half_width=0.0 if ratio == 1.0 else _ZEROS / cutoff,
        table=_kernel_table(cutoff),
        table_scale=cutoff * _TABLE_STEPS,
        window=window,
        synthesis=synthesis,
        split=min(frame // 2 + 1, math.ceil(_SPLIT_HZ * frame / sample_rate)),
    )


def _kernel_table(cutoff: float) -> np.ndarray:
    """The resampler's kernel against distance in zero crossings ``u``: ``cutoff * sinc(u) *
    kaiser(u / _ZEROS)``, ``_TABLE_STEPS`` points per crossing, then zeros for the interpolation."""
    u = np.arange(_ZEROS * _TABLE_STEPS + 1) / _TABLE_STEPS
    kaiser = np.i0(_KAISER_BETA * np.sqrt(np.maximum(0.0, 1.0 - (u / _ZEROS) ** 2))) / np.i0(_KAISER_BETA)
    return np.append(cutoff * np.sinc(u) * kaiser, [0.0, 0.0])


@dataclass
class VocoderState:
    """A stream's memory; every position is an absolute sample index.

    ``x`` holds input from ``x_base`` on (what frames still to come read), ``s``
    the stretched signal from ``s_base`` on (overlap-added, final below
    ``frame_next * hop - frame // 2``), ``prev`` and ``theta`` the last
    frame's spectrum and the rotation each bin was given, ``onset`` per
    channel the last frame's onset measure, the frames the last onset stays
    in view and where it belongs from the last frame's synthesis centre,
    ``fresh`` the bins that onset reset, ``out`` the next output sample.
    """

    x: np.ndarray
    x_base: int
    s: np.ndarray
    s_base: int
    frame_next: int
    prev: np.ndarray
    theta: np.ndarray
    onset: np.ndarray
    fresh: np.ndarray
    out: int = 0

    @property
    def received(self) -> int:
        """Input samples pushed so far."""
        return self.x_base + self.x.shape[1]


def init_vocoder(plan: VocoderPlan, channels: int) -> VocoderState:
    """The state before the first sample: silence before it, no frame yet.

    Examples
    --------
    >>> state = init_vocoder(vocoder_plan(1.5, 1.0, 48000), 2)
    >>> state.received, state.out
    (0, 0)
    """
    half = plan.frame // 2 if plan.stretch != 1.0 else 0
    s_base = -half - math.ceil(plan.half_width) - 1
    bins = plan.frame // 2 + 1
    return VocoderState(
        x=np.zeros((channels, half)),
        x_base=-half,
        s=np.zeros((channels, 0)),
        s_base=s_base,
        frame_next=0,
        prev=np.zeros((channels, 2 * bins)),
        theta=np.zeros((channels, bins)),
        onset=np.zeros((channels, 3)),
        fresh=np.zeros((channels, bins), np.bool_),
    )


def _centre(plan: VocoderPlan, m: np.ndarray | int) -> np.ndarray:
    """Input sample on which analysis frame ``m`` is centred: ``round(m * hop / stretch)``."""
    return np.floor(np.asarray(m) * (plan.hop / plan.stretch) + 0.5).astype(np.int64)


def _stretched_needed(plan: VocoderPlan, j_end: int) -> int:
    """Stretched samples (from 0) that outputs ``[0, j_end)`` read."""
    if plan.ratio == 1.0:
        return j_end
    return math.floor((j_end - 1) * plan.ratio + plan.half_width) + 1


def _last_frame(plan: VocoderPlan, k_end: int) -> int:
    """Last frame that overlaps stretched samples below ``k_end``."""
    return (k_end - 1 + plan.frame // 2) // plan.hop


def input_needed(plan: VocoderPlan, j_end: int) -> int:
    """Input samples (from 0) it takes to produce outputs ``[0, j_end)``.

    Examples
    --------
    >>> plan = vocoder_plan(1.0, 2.0, 48000)  # no vocoder, read twice as fast
    >>> round(plan.half_width, 1)  # the resampler's reach, in input samples here
    53.3
    >>> input_needed(plan, 100)  # output 99 reads input up to 2 * 99 + 53.3
    252
    """
    if j_end <= 0:
        return 0
    k_end = _stretched_needed(plan, j_end)
    if plan.stretch == 1.0:
        return max(0, k_end)
    return max(0, int(_centre(plan, _last_frame(plan, k_end))) + plan.frame // 2)


def push(state: VocoderState, x: np.ndarray) -> None:
    """Append input samples ``x``, shape ``(channels, n)``, to the stream."""
    if x.shape[1]:
        state.x = np.concatenate([state.x, x.astype(np.float64, copy=False)], axis=1)


def pull(plan: VocoderPlan, state: VocoderState, n: int) -> np.ndarray:
    """The next ``n`` output samples, float64 ``(channels, n)``.

    The input pushed so far must reach ``input_needed(plan, state.out + n)``.

    Examples
    --------
    >>> import numpy as np
    >>> plan = vocoder_plan(2.0, 2.0, 48000)  # an octave up, same duration
    >>> state = init_vocoder(plan, 1)
    >>> x = np.sin(np.arange(20000) * 0.05)[None]
    >>> push(state, x)
    >>> pull(plan, state, 20000 - shift_latency(plan)).shape  # all that 20000 inputs allow
    (1, 18436)
    """
    if state.received < input_needed(plan, state.out + n):
        raise RuntimeError("vocoder stream pulled past its input")  # a bug in the caller, not user input
    y = np.empty((state.x.shape[0], n))
    step = max(256, min(_CHUNK, int(16 * plan.hop / plan.ratio)))
    for i in range(0, n, step):
        m = min(step, n - i)
        k_end = _stretched_needed(plan, state.out + m)
        _stretch_to(plan, state, k_end)
        y[:, i : i + m] = _read(plan, state, m)
        state.out += m
        _trim(plan, state)
    return y


def _stretch_to(plan: VocoderPlan, state: VocoderState, k_end: int) -> None:
    """Make the stretched signal final below ``k_end``."""
    have = state.s_base + state.s.shape[1]
    if plan.stretch == 1.0:  # no vocoder: the stretched signal is the input
        if k_end > have:
            lead = np.zeros((state.s.shape[0], max(0, min(0, k_end) - have)))
            start = max(0, have)
            new = state.x[:, start - state.x_base : k_end - state.x_base]
            state.s = np.concatenate([state.s, lead, new], axis=1)
        return
    last = _last_frame(plan, k_end)
    if last < state.frame_next:
        return
    half, n = plan.frame // 2, plan.frame
    frames = np.arange(state.frame_next, last + 1)
    centres = _centre(plan, np.arange(state.frame_next - 1, last + 1))
    starts = centres[1:] - half - state.x_base
    windows = np.lib.stride_tricks.sliding_window_view(state.x, n, axis=1)  # a view, no copy
    segments = windows[:, starts] * plan.window  # (channels, frames, n)
    spec = scipy.fft.rfft(segments, axis=-1)
    hops = np.diff(centres).astype(np.float64)
    pairs = spec.view(np.float64)  # (channels, frames, 2 * bins), real and imaginary parts
    synth = (frames * plan.hop).astype(np.float64)
    lags = centres[1:] * plan.stretch - synth
    _lock_phases(pairs, state.prev, state.theta, state.onset, state.fresh, hops, lags, synth, float(plan.hop),
                 plan.stretch, plan.ratio, plan.split, state.frame_next == 0, segments, plan.window)
    grains = scipy.fft.irfft(spec, n=n, axis=-1)
    grains *= plan.synthesis
    grow = last * plan.hop + half - have
    if grow > 0:
        state.s = np.concatenate([state.s, np.zeros((state.s.shape[0], grow))], axis=1)
    for i, m in enumerate(frames):
        a = m * plan.hop - half - state.s_base
        state.s[:, a : a + n] += grains[:, i]
    state.frame_next = last + 1


def _read(plan: VocoderPlan, state: VocoderState, n: int) -> np.ndarray:
    """Outputs ``[state.out, state.out + n)`` from the stretched signal."""
    if plan.ratio == 1.0:
        a = state.out - state.s_base
        return state.s[:, a : a + n]
    y = np.empty((state.s.shape[0], n))
    # C order always (a trimmed buffer is a strided view): one compiled specialisation, not two
    s = np.ascontiguousarray(state.s)
    _resample(s, state.s_base, state.out, n, plan.ratio, plan.half_width, plan.table, plan.table_scale, y)
    return y


def _trim(plan: VocoderPlan, state: VocoderState) -> None:
    """Forget input and stretched samples that no later output reads."""
    if plan.ratio == 1.0:
        keep_s = state.out
    else:
        keep_s = math.floor(state.out * plan.ratio - plan.half_width)
    drop = keep_s - state.s_base
    if drop > 0:
        state.s, state.s_base = state.s[:, drop:], keep_s
    if plan.stretch == 1.0:
        keep_x = state.s_base + state.s.shape[1]
    else:
        keep_x = int(_centre(plan, state.frame_next)) - plan.frame // 2
    drop = keep_x - state.x_base
    if drop > 0:
        state.x, state.x_base = state.x[:, drop:], keep_x


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lock_phases(spec, prev, theta, onset, fresh, hops, lags, synth, hop, stretch, ratio, split, first,
                 segments, window):  # pragma: no cover - compiled
    """Rotate each frame of ``spec`` in place: identity phase locking, phase resets at onsets.

    ``spec`` is (channels, frames, 2 * bins): the frames' spectra as float
    pairs (real, imaginary), which numba compiles faster than complex arrays.
    ``prev`` (channels, 2 * bins) and ``theta`` (channels, bins) hold the frame
    before (its spectrum, and the rotation each bin was given), ``onset``
    (channels, 3) the frame before's onset function, the frames for which
    the last onset stays in view and where it belongs from the frame's
    synthesis centre, ``fresh`` (channels, bins) the bins that onset reset;
    all four are updated. ``hops[f]`` is the analysis hop into
    frame ``f``, ``synth[f]`` its synthesis centre (in stretched samples) and
    ``lags[f]`` how far that falls short of its analysis centre times
    ``stretch``, ``hop`` the synthesis hop, ``ratio`` the stretched samples
    per output sample, ``segments`` (channels, frames, n) the windowed frames.
    The first frame of a stream (``first``) keeps its phases.
    """
    channels, frames, bins = spec.shape[0], spec.shape[1], spec.shape[2] // 2
    half = segments.shape[2] // 2
    bin_step = 2.0 * np.pi / (2 * (bins - 1))
    power = np.empty(bins)
    peaks = np.empty(bins, np.int64)
    turn = np.empty(bins)
    rot = np.empty(bins)
    for c in range(channels):
        for f in range(frames):
            row = spec[c, f]
            if first and f == 0:
                prev[c, :] = row
                theta[c, :] = 0.0
                continue
            ha = hops[f]
            flux = _rise(row, prev[c], power, split)
            reset = flux >= _ONSET_FRACTION and flux > _ONSET_RISE * onset[c, 0]
            onset[c, 0] = flux
            count = _find_peaks(power, peaks)
            _peak_turns(row, prev[c], theta[c], peaks, count, turn, bin_step, ha, hop)
            if reset:
                # the onset's own bins start afresh, all delayed alike so that the onset lands where
                # the stretch puts it, on an output sample: a click between two would spread over both
                at = _onset_offset(segments[c, f], window)
                place = np.floor((lags[f] + synth[f] + stretch * at) / ratio + 0.5) * ratio
                delay = place - synth[f] - at
                _mark_fresh(power, prev[c], peaks, count, split, fresh[c])
                for k in range(bins):
                    rot[k] = -k * bin_step * delay
                onset[c, 1] = np.ceil((at + half) / ha)
                onset[c, 2] = at + delay
            elif onset[c, 1] > 0.0:
                # until the onset leaves the frame its bins follow their own phase, which keeps it
                # in one place; a peak's region would smear it
                _free_turns(row, prev[c], theta[c], fresh[c], rot, bin_step, ha, hop)
                onset[c, 1] -= 1.0
                onset[c, 2] -= hop
            active = reset or onset[c, 1] > 0.0
            prev[c, :] = row
            _turn_regions(row, theta[c], peaks, count, turn, fresh[c], active)
            if active:
                # where the onset belongs outside this frame (a stretch moves it further than the
                # frame reaches), its bins would wrap it round to the wrong end: they stay silent
                outside = onset[c, 2] >= half or onset[c, 2] < -half
                _turn_bins(row, theta[c], rot, fresh[c], outside)


#: A frame is an onset when at least this fraction of its bins above the split rose by 3 dB or more
#: since the frame before (Rubber Band's "percussive" measure) ...
_ONSET_FRACTION = 0.35
#: ... and that fraction grew by this factor since the frame before (the onset's first frame).
_ONSET_RISE = 1.1
#: At an onset, a region starts afresh where its peak's power grew by this factor (3 dB: the onset
#: brought at least half of it); the others keep their phase track, which a reset would break.
_RESET_RISE = 2.0
#: Power below which a bin's rise is not counted, times bins squared (a sine near -135 dBFS).
_FLOOR = 1e-14


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _rise(row, before, power, split):  # pragma: no cover - compiled
    """Fill ``power`` with the bins' power; return the fraction of bins from ``split`` up whose power
    at least doubled since ``before``."""
    bins = power.shape[0]
    rising = 0
    for k in range(bins):
        p = row[2 * k] * row[2 * k] + row[2 * k + 1] * row[2 * k + 1]
        power[k] = p
        if k >= split:
            q = before[2 * k] * before[2 * k] + before[2 * k + 1] * before[2 * k + 1]
            if p > 2.0 * q and p > _FLOOR * bins * bins:
                rising += 1
    return rising / max(1, bins - split)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _find_peaks(power, peaks):  # pragma: no cover - compiled
    """Bins louder than two neighbours on each side, into ``peaks``; their count. Silence has no
    peaks: every bin is then its own."""
    bins = power.shape[0]
    count = 0
    for k in range(bins):
        p = power[k]
        if (p > 0.0 and (k < 1 or p > power[k - 1]) and (k < 2 or p > power[k - 2])
                and (k + 1 >= bins or p >= power[k + 1]) and (k + 2 >= bins or p >= power[k + 2])):
            peaks[count] = k
            count += 1
    if count == 0:
        for k in range(bins):
            peaks[k] = k
        count = bins
    return count


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _mark_fresh(power, before, peaks, count, split, fresh):  # pragma: no cover - compiled
    """Mark the regions (a peak and the bins that turn with it) from ``split`` up whose peak's power
    grew by ``_RESET_RISE`` since ``before``: the onset's own, whose phases start afresh. A whole
    region or none, so that a partial's main lobe keeps its shape."""
    bins = power.shape[0]
    lo = 0
    for i in range(count):
        hi = bins if i + 1 == count else (peaks[i] + peaks[i + 1]) // 2 + 1
        k = peaks[i]
        q = before[2 * k] * before[2 * k] + before[2 * k + 1] * before[2 * k + 1]
        rose = power[k] > _RESET_RISE * q
        for j in range(lo, hi):
            fresh[j] = rose and j >= split
        lo = hi


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _advance(row, before, theta, k, bin_step, ha, hop):  # pragma: no cover - compiled
    """Bin ``k``'s rotation: its phase advanced over the synthesis hop at its measured frequency."""
    two_pi = 2.0 * np.pi
    phase = np.arctan2(row[2 * k + 1], row[2 * k])
    last = np.arctan2(before[2 * k + 1], before[2 * k])
    omega = k * bin_step
    deviation = phase - last - omega * ha
    deviation -= two_pi * np.floor(deviation / two_pi + 0.5)
    rotation = last + theta[k] + (omega + deviation / ha) * hop - phase
    return rotation - two_pi * np.floor(rotation / two_pi + 0.5)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _peak_turns(row, before, theta, peaks, count, turn, bin_step, ha, hop):  # pragma: no cover - compiled
    for i in range(count):
        turn[i] = _advance(row, before, theta, peaks[i], bin_step, ha, hop)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _free_turns(row, before, theta, fresh, rot, bin_step, ha, hop):  # pragma: no cover - compiled
    for k in range(theta.shape[0]):
        if fresh[k]:
            rot[k] = _advance(row, before, theta, k, bin_step, ha, hop)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _turn_regions(row, theta, peaks, count, turn, fresh, active):  # pragma: no cover - compiled
    """Every bin turns with the peak whose region (half-way to the next peak) holds it; while an
    onset is ``active``, its ``fresh`` bins are left to :func:`_turn_bins`."""
    bins = theta.shape[0]
    lo = 0
    for i in range(count):
        hi = bins if i + 1 == count else (peaks[i] + peaks[i + 1]) // 2 + 1
        co, si = np.cos(turn[i]), np.sin(turn[i])
        for k in range(lo, hi):
            if active and fresh[k]:
                continue
            theta[k] = turn[i]
            re, im = row[2 * k], row[2 * k + 1]
            row[2 * k] = re * co - im * si
            row[2 * k + 1] = re * si + im * co
        lo = hi


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _turn_bins(row, theta, rot, fresh, silent):  # pragma: no cover - compiled
    """The ``fresh`` bins turn by their own ``rot`` (or, ``silent``, keep the turn and sound nothing)."""
    for k in range(theta.shape[0]):
        if fresh[k]:
            theta[k] = rot[k]
            if silent:
                row[2 * k] = 0.0
                row[2 * k + 1] = 0.0
                continue
            co, si = np.cos(rot[k]), np.sin(rot[k])
            re, im = row[2 * k], row[2 * k + 1]
            row[2 * k] = re * co - im * si
            row[2 * k + 1] = re * si + im * co


#: Block of samples in which an onset is found inside its frame, before it is placed to the sample.
_ONSET_BLOCK = 32
#: The onset's sample: where this fraction of the first difference's power rising above _ONSET_FLOOR
#: times the quietest of the four blocks before has arrived, in the onset's block and its neighbours.
_ONSET_SHARE = 0.1
_ONSET_FLOOR = 4.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _onset_offset(segment, window):  # pragma: no cover - compiled
    """Where in a windowed frame the onset is, in samples from the frame's centre.

    First the block (from a quarter of the frame on, and after four blocks) whose power of the first
    difference (high frequencies, where an attack stands out of what was
    sounding) most exceeds the four blocks before it; then, in that block and
    its two neighbours, the sample by which a tenth of the power rising above
    that background has arrived: a click's first sample or the next. A block
    with no such rise gives its middle.
    """
    n = segment.shape[0]
    blocks = n // _ONSET_BLOCK
    level = np.empty(blocks)
    for b in range(blocks):
        e, w = 0.0, 1e-30
        for i in range(max(1, b * _ONSET_BLOCK), (b + 1) * _ONSET_BLOCK):
            d = segment[i] - segment[i - 1]
            e += d * d
            w += window[i] * window[i]
        level[b] = e / w
    # from a quarter of the frame on, but not before block 4 (at 8 kHz a quarter is block 2, whose
    # four blocks before would wrap round to the frame's end); the 128-sample frames below 4.5 kHz
    # have 4 blocks, and their last, where an onset enters, has three before it
    first = min(max(4, blocks // 4), blocks - 1)
    best, where = -1.0, first
    for b in range(first, blocks):
        score = level[b] / (_before(level, b)[0] + 1e-30)
        if score > best:
            best, where = score, b
    floor = _ONSET_FLOOR * _before(level, where)[1]
    lo, hi = max(1, (where - 1) * _ONSET_BLOCK), min(n, (where + 2) * _ONSET_BLOCK)
    rise = np.empty(hi - lo)
    total = 0.0
    for i in range(lo, hi):
        # windowed, as the samples are: dividing by the window would blow noise up at the frame's end
        d = segment[i] - segment[i - 1]
        rise[i - lo] = max(0.0, d * d - floor * window[i] * window[i])
        total += rise[i - lo]
    if total <= 0.0:
        return where * _ONSET_BLOCK + _ONSET_BLOCK // 2 - n // 2
    part = 0.0
    for i in range(lo, hi):
        part += rise[i - lo]
        if part >= _ONSET_SHARE * total:
            return i - n // 2
    return hi - 1 - n // 2


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _before(level, b):  # pragma: no cover - compiled
    """The sum and the least of ``level`` over the (up to four) blocks before block ``b``, nearest first."""
    total, least = level[b - 1], level[b - 1]
    for j in range(b - 2, max(-1, b - 5), -1):
        total += level[j]
        least = min(least, level[j])
    return total, least


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _resample(s, s_base, j0, n, ratio, half, table, scale, y):  # pragma: no cover - compiled
    """``y[c, i] = sum_k s[c, k - s_base] * h(x - k)`` with ``x = (j0 + i) * ratio``, ``|x - k| < half``."""
    channels = s.shape[0]
    taps = np.empty(int(2.0 * half) + 3)
    for i in range(n):
        x = (j0 + i) * ratio
        lo = int(np.floor(x - half)) + 1
        count = int(np.floor(x + half)) - lo + 1
        for t in range(count):
            d = abs(x - (lo + t)) * scale
            idx = int(d)
            taps[t] = table[idx] + (d - idx) * (table[idx + 1] - table[idx])
        base = lo - s_base
        for c in range(channels):
            acc = 0.0
            for t in range(count):
                acc += taps[t] * s[c, base + t]
            y[c, i] = acc


def outputs_ready(plan: VocoderPlan, received: int) -> int:
    """How many outputs (from 0) ``received`` input samples are enough for.

    Examples
    --------
    >>> plan = vocoder_plan(1.0, 0.5, 48000)  # no vocoder, read at half speed
    >>> j = outputs_ready(plan, 1000)
    >>> input_needed(plan, j) <= 1000 < input_needed(plan, j + 1)
    True
    """
    lo, hi = 0, int(received * max(1.0, plan.stretch / plan.ratio)) + 2 * plan.frame + 16
    while lo < hi:  # input_needed never decreases: the last j it allows, by bisection
        mid = (lo + hi + 1) // 2
        if input_needed(plan, mid) <= received:
            lo = mid
        else:
            hi = mid - 1
    return lo


def shift_latency(plan: VocoderPlan) -> int:
    """Delay of a pitch shift (``ratio == stretch``): ``input_needed(plan, j) <= j + delay`` for all ``j``.

    Output ``j`` reads stretched samples up to ``j * ratio + half_width``,
    made by frames centred up to ``(j * ratio + half_width + frame / 2) /
    stretch`` on the input, each reaching ``frame / 2`` further: so ``(half_width
    + frame / 2) / stretch + frame / 2`` past ``j``, plus a sample for the roundings.

    Examples
    --------
    >>> shift_latency(vocoder_plan(2.0, 2.0, 48000))  # an octave up: 33 ms
    1564
    """
    if plan.stretch == 1.0 and plan.ratio == 1.0:
        return 0
    half = plan.frame // 2
    return math.ceil((plan.half_width + half) / plan.stretch + half - 0.5) + 1
