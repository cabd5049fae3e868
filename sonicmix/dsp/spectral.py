"""Spectral noise reduction, as plain functions over arrays and one compiled kernel.

The pieces of :class:`sonicmix.nodes.denoise.Denoise`:

* :func:`stft_plan` -- frame length, hop (a quarter frame: 75 % overlap) and
  the square-root Hann windows, scaled so that analysis times synthesis
  overlap-adds to exactly one (perfect reconstruction at unit gain).
* :func:`frame_spectra` and :func:`overlap_add` -- the frames of a signal as
  one 2-D ``rfft`` (every complete frame of a block at once) and their
  inverse, overlap-added.
* :func:`suppress` -- the sequential part, over frames x bins: the
  noise power tracker, the decision-directed a-priori SNR, the
  log-spectral amplitude gain with its floor, and the removal of isolated
  gain peaks against musical noise (a numba kernel).
* :func:`exp_int` -- the exponential integral ``E1`` that the LSA gain needs.

The noise tracker is the speech-presence-probability estimator of Gerkmann &
Hendriks (2012): the noise power of a bin moves towards the periodogram by
how likely the bin holds no speech (a-posteriori SPP with a fixed a-priori
SNR for speech: the paper's 15 dB makes the estimate unbiased in noise alone;
10 dB here, which errs low by about 1.7 dB in white noise but costs speech
less: STOI stays at or above the noisy input's at 20 dB SNR), with the safety
net against stagnation of the paper. A running minimum of the smoothed periodogram over about 2 s (the
window of minimum statistics, Martin 2001) sets a lower bound, so that the
estimate also climbs after a sudden rise of the noise (or after digital
silence) within that window. Alternatively the noise power is the mean
periodogram of given profile frames. The estimate the gain uses is smoothed
over neighbouring bins (``[1, 2, 1] / 4``), which halves its variance.
The presence probability and the LSA gain's ``exp(E1(v) / 2)`` are read from
tables with linear interpolation (errors below 1e-6) or a fitted polynomial,
so that the kernel calls no ``exp`` per bin.

Gains follow Ephraim & Malah (1985): a-priori SNR by the decision-directed
rule (the smoothing in time that keeps musical noise down), the MMSE
log-spectral amplitude gain, never below the floor ``10 ** (-reduction_db / 20)``.
Then, across frequency, isolated peaks are removed: "musical noise" is the
residue of bins that a random peak of the noise lifts above their
neighbours for a frame or two, short tones at random frequencies. A bin whose
gain is more than twice (6 dB) that of both neighbours while both sit within
6 dB of the floor is such a peak, and its gain becomes the larger
neighbour's. Speech is spared: with the Hann window a partial lifts at least
three bins (the neighbours of its peak bin are at most 6 dB lower), so its
neighbours are never near the floor unless the peak is too. (Plain averaging
of neighbouring gains also lowers the peaks of speech harmonics: it cost 0.5
to 2.5 dB of SI-SDR on the tuning material.)

All state is explicit (:class:`SpectralState`): arrays that the kernel
updates in place, so that a signal processed in blocks gives the samples of
the same signal processed whole. Transforms run in the audio's precision
(float32 or float64); the tracker and the gains are float64 whatever the
audio dtype.

This module imports numba (about 0.25 s), so the node imports it only when it
first processes audio; the kernel is compiled on first use and cached on disk.

References
----------
Y. Ephraim and D. Malah, "Speech enhancement using a minimum mean-square
error log-spectral amplitude estimator", IEEE Trans. ASSP 33(2), 1985.
T. Gerkmann and R. C. Hendriks, "Unbiased MMSE-based noise power estimation
with low complexity and low tracking delay", IEEE Trans. ASLP 20(4), 2012.
R. Martin, "Noise power spectral density estimation based on optimal
smoothing and minimum statistics", IEEE Trans. SAP 9(5), 2001.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = [
    "OVERLAP",
    "StftPlan",
    "SpectralState",
    "stft_plan",
    "init_spectral",
    "frame_spectra",
    "overlap_add",
    "suppress",
    "exp_int",
]

#: Frames per hop: a hop is a quarter frame (75 % overlap).
OVERLAP = 4
# Noise tracker (Gerkmann & Hendriks 2012), time constants from the paper's per-frame values at
# its 16 ms hop (0.8 and 0.9), so that they mean the same at any hop.
_SPEECH_PRIOR_DB = 10.0  # a-priori SNR of a bin that holds speech, for the presence probability
_NOISE_TAU_S = 0.072  # smoothing of the noise update: 0.8 per 16 ms
_PRESENCE_TAU_S = 0.152  # smoothing of the presence probability (stagnation guard): 0.9 per 16 ms
_STUCK = 0.99  # presence probability above which the guard limits it
# Minimum tracking (lower bound of the estimate): smoothed periodogram and a window of subwindows.
_MIN_SMOOTH_TAU_S = 0.04
_MIN_WINDOW_S = 2.0
_SUBWINDOWS = 8
#: Duration over which the first estimate is the plain mean of the periodograms, in seconds.
INIT_S = 0.064
# A-priori SNR (decision-directed) and its lower bound.
_DD_ALPHA = 0.95
_XI_MIN_DB = -25.0
_TINY = 1e-30
_HUGE = 1e300  # "no minimum yet" (finite: the kernel is compiled with fastmath)
# The presence probability 1 / (1 + (1 + xi) exp(-z)) is read from a table over 0 <= z <= 40.
_LOGISTIC_STEPS_PER_UNIT = 128
_LOGISTIC_LAST = 40 * _LOGISTIC_STEPS_PER_UNIT - 1e-9


_LSA_STEPS_PER_UNIT = 256


@functools.lru_cache(maxsize=1)
def _lsa_table() -> NDArray[np.float64]:
    """``exp(E1(v) / 2)`` for ``v = 1, 1 + 1/256, ..., 20 + 1/256`` (the LSA gain over ``xi / (1 + xi)``)."""
    v = 1.0 + np.arange(19 * _LSA_STEPS_PER_UNIT + 2) / _LSA_STEPS_PER_UNIT
    table = np.exp(0.5 * np.array([exp_int(float(x)) for x in v]))
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=4)
def _logistic_table(prior_db: float) -> NDArray[np.float64]:
    odds = 1.0 + 10.0 ** (prior_db / 10.0)
    z = np.arange(40 * _LOGISTIC_STEPS_PER_UNIT + 2) / _LOGISTIC_STEPS_PER_UNIT
    table = 1.0 / (1.0 + odds * np.exp(-z))
    table.setflags(write=False)
    return table


class StftPlan(NamedTuple):
    """Frame and hop in samples, and the analysis/synthesis window (the same)."""

    frame: int
    hop: int
    window: NDArray[np.float64]  # (frame,) sqrt(Hann) / sqrt(2): analysis * synthesis OLAs to 1
    start_weight: NDArray[np.float64]  # (OVERLAP - 1,) window energy of the first, partial frames
    noise_pole: float
    presence_pole: float
    min_pole: float
    subwindow: int  # frames per subwindow of the minimum tracker
    init_frames: int


def stft_plan(frame_s: float, sample_rate: int) -> StftPlan:
    """The framing for a frame of about ``frame_s`` seconds at ``sample_rate``.

    The frame is ``4 * round(frame_s * sample_rate / 4)`` samples, the hop a
    quarter of it. The periodic Hann window's four shifted copies sum to 2,
    so ``window = sqrt(hann / 2)`` used for analysis and synthesis
    reconstructs the input exactly where every gain is 1.

    Examples
    --------
    >>> plan = stft_plan(0.032, 48000)
    >>> plan.frame, plan.hop
    (1536, 384)
    >>> w = plan.window ** 2
    >>> bool(np.allclose(w[:384] + w[384:768] + w[768:1152] + w[1152:], 1.0))
    True
    """
    frame = OVERLAP * max(4, int(round(frame_s * sample_rate / OVERLAP)))
    hop = frame // OVERLAP
    n = np.arange(frame)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame)
    window = np.sqrt(hann / 2.0)
    # Frames that start before the audio (its zero history): fraction of the window's energy on audio.
    energy = hann.sum()
    start_weight = np.array([hann[frame - (m + 1) * hop :].sum() / energy for m in range(OVERLAP - 1)])
    hop_s = hop / sample_rate
    pole = lambda tau: math.exp(-hop_s / tau)  # noqa: E731
    window_frames = max(_SUBWINDOWS, int(round(_MIN_WINDOW_S / hop_s)))
    return StftPlan(
        frame=frame,
        hop=hop,
        window=window,
        start_weight=start_weight,
        noise_pole=pole(_NOISE_TAU_S),
        presence_pole=pole(_PRESENCE_TAU_S),
        min_pole=pole(_MIN_SMOOTH_TAU_S),
        subwindow=max(1, window_frames // _SUBWINDOWS),
        init_frames=max(1, int(round(INIT_S / hop_s))),
    )


@dataclass(slots=True)
class SpectralState:
    """Per gain-group memory of the tracker and the a-priori SNR, shapes ``(groups, bins)``.

    ``counts`` holds the frames seen, the position in the current subwindow,
    the index of the current subwindow in ``minima`` and the number of
    profile frames summed in ``profile``.
    """

    noise: NDArray[np.float64]  # noise power estimate
    presence: NDArray[np.float64]  # smoothed speech presence probability
    clean: NDArray[np.float64]  # |A|^2 of the previous frame (decision-directed SNR)
    smooth: NDArray[np.float64]  # smoothed periodogram (minimum tracking)
    profile: NDArray[np.float64]  # sum of the periodograms of the profile frames seen
    current: NDArray[np.float64]  # minimum within the current subwindow
    minima: NDArray[np.float64]  # (groups, subwindows, bins) minimum of each recent subwindow
    settled: NDArray[np.float64]  # minimum over ``minima`` (updated as a subwindow closes)
    counts: NDArray[np.int64]  # (4,)


def init_spectral(groups: int, bins: int) -> SpectralState:
    """The tracker's state before the first frame."""
    return SpectralState(
        noise=np.zeros((groups, bins)),
        presence=np.zeros((groups, bins)),
        clean=np.zeros((groups, bins)),
        smooth=np.zeros((groups, bins)),
        profile=np.zeros((groups, bins)),
        current=np.full((groups, bins), _HUGE),
        minima=np.full((groups, _SUBWINDOWS, bins), _HUGE),
        settled=np.full((groups, bins), _HUGE),
        counts=np.zeros(4, np.int64),
    )


def frame_spectra(
    x: NDArray[np.floating],
    plan: StftPlan,
    frames: int,
    *,
    first: int = 0,
    history: NDArray[np.floating] | None = None,
) -> NDArray[np.complexfloating]:
    """Spectra ``(channels, frames, frame // 2 + 1)`` of ``frames`` frames of ``history`` then ``x``.

    Frame ``m`` (from ``first``) is ``line[:, m * hop : m * hop + frame]``
    times the window, where ``line`` is ``history`` (the samples before
    ``x``, none by default) followed by ``x``; the two are read in place, not
    joined. All frames are transformed in one ``rfft`` call, in the precision
    of ``x`` (float32 audio is transformed in float32, twice as fast, and
    comes out float32 anyway).

    Examples
    --------
    >>> plan = stft_plan(0.032, 8000)
    >>> x = np.random.default_rng(0).standard_normal((1, 1000))
    >>> whole = frame_spectra(x, plan, 5)
    >>> split = frame_spectra(x[:, 300:], plan, 3, first=2, history=x[:, :300])
    >>> bool(np.array_equal(whole[:, 2:], split))
    True
    """
    import scipy.fft

    head = np.empty((x.shape[0], 0), x.dtype) if history is None else history.astype(x.dtype, copy=False)
    windowed = np.empty((x.shape[0], frames, plan.frame), x.dtype)
    _frames_kernel(head, x, plan.window, plan.hop, first, windowed)
    return scipy.fft.rfft(windowed, axis=-1, overwrite_x=True)


@numba.njit(cache=True, nogil=True)
def _frames_kernel(head, x, window, hop, first, out):  # pragma: no cover - compiled
    channels, frames, frame = out.shape
    kept = head.shape[1]
    for c in range(channels):
        for f in range(frames):
            start = (first + f) * hop
            split = min(max(kept - start, 0), frame)  # samples of this frame in `head`
            for j in range(split):
                out[c, f, j] = head[c, start + j] * window[j]
            offset = start - kept
            for j in range(split, frame):
                out[c, f, j] = x[c, offset + j] * window[j]


def overlap_add(
    spectra: NDArray[np.complexfloating], plan: StftPlan, tail: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inverse transforms of ``spectra``, windowed and overlap-added after ``tail``.

    ``tail`` ``(channels, frame - hop)`` holds the partial sums that earlier
    frames left after their finished samples. Returns ``(done, tail)``: the
    ``frames * hop`` samples now complete, and the new partial sums.
    """
    import scipy.fft

    channels, frames, _ = spectra.shape
    hop, frame = plan.hop, plan.frame
    pieces = scipy.fft.irfft(spectra, n=frame, axis=-1, overwrite_x=True)
    out = np.empty((channels, frames * hop + frame - hop))
    _overlap_add_kernel(pieces, plan.window, hop, tail, out)
    return out[:, : frames * hop], out[:, frames * hop :]


@numba.njit(cache=True, nogil=True)
def _overlap_add_kernel(pieces, window, hop, tail, out):  # pragma: no cover - compiled
    channels, frames, frame = pieces.shape
    kept = tail.shape[1]
    for c in range(channels):
        out[c, :kept] = tail[c]
        out[c, kept:] = 0.0
        for f in range(frames):
            start = f * hop
            for j in range(frame):
                out[c, start + j] += pieces[c, f, j] * window[j]


def suppress(
    spectra: NDArray[np.complexfloating],
    plan: StftPlan,
    state: SpectralState,
    *,
    floor: float,
    linked: bool = True,
    profile_frames: tuple[int, int] = (1, 0),
    low_bins: int = 0,
    gains: NDArray[np.float64] | None = None,
) -> NDArray[np.complexfloating]:
    """Multiply ``spectra`` in place by the suppression gains, frame after frame; return them.

    Parameters
    ----------
    spectra : np.ndarray, shape=(channels, frames, bins), complex
        Spectra of consecutive frames (:func:`frame_spectra`); changed in place.
    plan : StftPlan
        The framing (time constants per hop, partial first frames).
    state : SpectralState
        The tracker's memory, ``(groups, bins)``: one group (``linked``) or one
        per channel. Updated in place.
    floor : float
        Smallest gain, ``10 ** (-reduction_db / 20)``.
    linked : bool, default True
        One gain for all channels, from their mean periodogram.
    profile_frames : (int, int), default (1, 0) (none)
        First and last index (counted from the stream's first frame) of the
        frames that make a noise profile. From the first on, the noise power
        is the mean periodogram of the profile frames seen so far, instead of
        the tracker's; after the last it stays fixed.
    low_bins : int, default 0
        Bins below this index are taken as noise alone: their gain is the
        floor (dialogue has nothing below its lowest fundamental).
    gains : np.ndarray, shape=(groups, frames, bins), optional
        If given, receives the gains.

    Examples
    --------
    >>> plan = stft_plan(0.032, 16000)
    >>> rng = np.random.default_rng(0)
    >>> shape = (1, 400, plan.frame // 2 + 1)
    >>> noise = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    >>> out = suppress(noise.copy(), plan, init_spectral(1, noise.shape[2]), floor=0.1)
    >>> residual = np.mean(np.abs(out[:, 100:]) ** 2) / np.mean(np.abs(noise[:, 100:]) ** 2)
    >>> bool(10 * np.log10(residual) < -10)  # noise alone: more than 10 dB down (floor: 20 dB)
    True
    """
    channels, frames, bins = spectra.shape
    groups = 1 if linked else channels
    out = gains if gains is not None else np.empty((0, 0, 0))
    _gains_kernel(
        spectra,
        out,
        bool(linked),
        state.noise,
        state.presence,
        state.clean,
        state.smooth,
        state.profile,
        state.current,
        state.minima,
        state.settled,
        state.counts,
        np.empty((groups, bins)),
        np.empty((groups, bins)),
        np.empty((groups, bins)),
        _logistic_table(_SPEECH_PRIOR_DB),
        _lsa_table(),
        plan.start_weight,
        plan.noise_pole,
        plan.presence_pole,
        plan.min_pole,
        plan.subwindow,
        plan.init_frames,
        10.0 ** (_SPEECH_PRIOR_DB / 10.0),
        _DD_ALPHA,
        10.0 ** (_XI_MIN_DB / 10.0),
        float(floor),
        int(profile_frames[0]),
        int(profile_frames[1]),
        int(low_bins),
    )
    return spectra


@numba.njit(cache=True, nogil=True)
def exp_int(x: float) -> float:  # pragma: no cover - compiled
    """The exponential integral ``E1(x) = int_x^inf exp(-t) / t dt`` for ``x > 0``.

    Abramowitz & Stegun 5.1.53 (a polynomial plus ``-ln x``, error below 2e-7)
    up to 1 and the rational approximation 5.1.56 (relative error below 5e-5)
    above: the gain rule needs a few significant digits, fast.

    Examples
    --------
    >>> round(exp_int(1.0), 5), round(exp_int(0.1), 5), round(exp_int(3.0), 5)
    (0.21938, 1.82292, 0.01305)
    """
    if x <= 0.0:
        return np.inf
    if x <= 1.0:
        poly = -0.57721566 + x * (0.99999193 + x * (-0.24991055 + x * (
            0.05519968 + x * (-0.00976004 + x * 0.00107857))))
        return poly - math.log(x)
    if x > 700.0:
        return 0.0
    num = x * x + 2.334733 * x + 0.250621
    den = x * x + 3.330657 * x + 1.681534
    return math.exp(-x) / x * num / den


# error_model="numpy": no ZeroDivisionError check per division (every divisor is kept >= _TINY or
# is a constant), which lets the loops over bins vectorize: 13 -> 8 ns per bin
@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _gains_kernel(
    spectra, gains_out, linked, noise, presence, clean, smooth, profile, current, minima, settled, counts,
    power, row, scratch, logistic, lsa, start_weight, noise_pole, presence_pole, min_pole, subwindow,
    init_frames,
    speech_prior, dd_alpha, xi_min, floor, profile_first, profile_last, low_bins,
):  # fmt: skip  # pragma: no cover - compiled
    channels, frames, bins = spectra.shape
    groups = noise.shape[0]
    subwindows = minima.shape[1]
    vv = np.empty(bins)
    lsa_gain = np.empty(bins)
    prior_ratio = speech_prior / (1.0 + speech_prior)
    partial = start_weight.shape[0]
    want_gains = gains_out.shape[0] > 0
    inv_channels = 1.0 / channels
    seen = counts[0]
    sub_pos = counts[1]
    sub_index = counts[2]
    profiled = counts[3]
    for f in range(frames):
        # the first frames reach back before the audio (zeros): scale them to a whole frame's power
        scale = 1.0 / start_weight[seen] if seen < partial else 1.0
        in_profile = profile_first <= seen <= profile_last
        if in_profile:
            profiled += 1
        inv_profiled = 1.0 / profiled if profiled > 0 else 0.0
        # periodograms: the channels' mean (linked) or each channel's
        if linked:
            for k in range(bins):
                acc = 0.0
                for c in range(channels):
                    z = spectra[c, f, k]
                    acc += np.float64(z.real) * z.real + np.float64(z.imag) * z.imag
                power[0, k] = acc * inv_channels * scale
        else:
            for c in range(channels):
                for k in range(bins):
                    z = spectra[c, f, k]
                    power[c, k] = (np.float64(z.real) * z.real + np.float64(z.imag) * z.imag) * scale
        for g in range(groups):
            pw = power[g]
            nz = noise[g]
            # --- noise power: the tracker's, always kept up to date
            if seen < init_frames:
                for k in range(bins):
                    nz[k] = (nz[k] * seen + pw[k]) / (seen + 1)
            else:
                pr = presence[g]
                for k in range(bins):  # (vectorizes)
                    z = pw[k] / max(nz[k], _TINY) * prior_ratio * _LOGISTIC_STEPS_PER_UNIT
                    vv[k] = min(z, _LOGISTIC_LAST)
                for k in range(bins):
                    # presence probability 1 / (1 + odds e^-z), from a table (linear interpolation, 1e-6)
                    z = vv[k]
                    i = int(z)
                    vv[k] = logistic[i] + (z - i) * (logistic[i + 1] - logistic[i])
                for k in range(bins):  # (vectorizes)
                    q = vv[k]
                    pres = presence_pole * pr[k] + (1.0 - presence_pole) * q
                    pr[k] = pres
                    q = min(q, _STUCK if pres > _STUCK else 1.0)
                    nk = nz[k]
                    nz[k] = noise_pole * nk + (1.0 - noise_pole) * (q * nk + (1.0 - q) * pw[k])
            # lower bound: minimum of the smoothed periodogram over the last window
            sm_g, cur_g, set_g = smooth[g], current[g], settled[g]
            keep = min_pole if seen > 0 else 0.0
            for k in range(bins):
                sm = keep * sm_g[k] + (1.0 - keep) * pw[k]
                sm_g[k] = sm
                cur_g[k] = min(cur_g[k], sm)
            if seen >= init_frames:
                for k in range(bins):
                    nz[k] = max(nz[k], min(cur_g[k], set_g[k]))
            if in_profile:
                for k in range(bins):
                    profile[g, k] += pw[k]
            if profiled > 0:
                nz = scratch[g]
                for k in range(bins):
                    nz[k] = profile[g, k] * inv_profiled
            # --- gain: decision-directed a-priori SNR, log-spectral amplitude estimator
            # the estimate used by the gain is smoothed over neighbouring bins by [1, 2, 1] / 4: it
            # halves the estimate's variance (a tracker follows single periodograms) for a blur of one bin
            sc = scratch[g] if profiled == 0 else vv
            sc[0] = nz[0]
            sc[bins - 1] = nz[bins - 1]
            for k in range(1, bins - 1):
                sc[k] = 0.5 * nz[k] + 0.25 * (nz[k - 1] + nz[k + 1])
            if profiled == 0:
                nz = sc
            else:
                for k in range(bins):
                    nz[k] = sc[k]
            cl, rw = clean[g], row[g]
            # (the a-priori SNR and the LSA's argument v, branch-free: vectorizes)
            for k in range(bins):
                p = pw[k]
                inv = 1.0 / max(nz[k], _TINY)
                gamma = p * inv
                xi = max(dd_alpha * cl[k] * inv + (1.0 - dd_alpha) * max(gamma - 1.0, 0.0), xi_min)
                ratio = xi / (1.0 + xi)
                rw[k] = ratio
                vv[k] = max(ratio * gamma, 1e-12)
            # the gain as if v <= 1 (noise: most bins), for every bin, branch-free (vectorizes):
            # exp(E1(v) / 2) sqrt(v) is smooth on [0, 1]: a least-squares quintic, 2e-8 relative
            for k in range(bins):
                v = min(vv[k], 1.0)
                h = 0.7493060166 + v * (0.374652287 + v * (8.18214872e-06 + v * (
                    -0.01044635892 + v * (0.002697624728 - v * 0.0002834719849))))
                lsa_gain[k] = rw[k] * h / math.sqrt(v)
            # then where v > 1 (speech): exp(E1(v) / 2) from a table over 1 <= v <= 20 (linear
            # interpolation, 1e-6); above 20, E1(v) < 1e-10 and the gain is the ratio
            for k in range(bins):
                v = vv[k]
                if v > 1.0:
                    if v < 20.0:
                        w = (v - 1.0) * _LSA_STEPS_PER_UNIT
                        i = int(w)
                        lsa_gain[k] = rw[k] * (lsa[i] + (w - i) * (lsa[i + 1] - lsa[i]))
                    else:
                        lsa_gain[k] = rw[k]
            for k in range(bins):
                gain = min(lsa_gain[k], 1.0)
                gain = floor if k < low_bins else gain
                cl[k] = gain * gain * pw[k]
                rw[k] = max(gain, floor)
            # isolated peaks of the gain near the floor (musical noise) come down to their neighbours
            for k in range(1, bins - 1):
                higher = max(rw[k - 1], rw[k + 1])
                if rw[k] > 2.0 * higher and higher < 2.0 * floor:
                    power[g, k] = higher  # (the periodogram is no longer needed: reuse it)
                else:
                    power[g, k] = rw[k]
            power[g, 0] = rw[0]
            power[g, bins - 1] = rw[bins - 1]
            if want_gains:
                for k in range(bins):
                    gains_out[g, f, k] = power[g, k]
        # apply
        for c in range(channels):
            g = 0 if linked else c
            for k in range(bins):
                z = spectra[c, f, k]
                gk = power[g, k]
                spectra[c, f, k] = complex(z.real * gk, z.imag * gk)  # (not a complex product)
        # close a subwindow of the minimum tracker
        sub_pos += 1
        if sub_pos >= subwindow:
            sub_pos = 0
            for g in range(groups):
                for k in range(bins):
                    minima[g, sub_index, k] = current[g, k]
                    current[g, k] = _HUGE
                    low = minima[g, 0, k]
                    for u in range(1, subwindows):
                        low = min(low, minima[g, u, k])
                    settled[g, k] = low
            sub_index = (sub_index + 1) % subwindows
        seen += 1
    counts[0] = seen
    counts[1] = sub_pos
    counts[2] = sub_index
    counts[3] = profiled
