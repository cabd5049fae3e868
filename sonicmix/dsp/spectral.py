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
  log-spectral amplitude gain weighted by the speech presence probability
  against its floor, and the removal of isolated gain peaks against musical
  noise (a numba kernel).
* :func:`exp_int` -- the exponential integral ``E1`` of the LSA gain (the
  kernel evaluates ``exp(E1(v) / 2)`` by approximations of its own, below).

The noise tracker is the speech-presence-probability estimator of Gerkmann &
Hendriks (2012): the noise power of a bin moves towards the periodogram by
how likely the bin holds no speech (a-posteriori SPP with a fixed a-priori
SNR for speech: the paper's 15 dB makes the estimate unbiased in noise alone;
10 dB here, which errs low by about 1.7 dB in white noise but costs speech
less: STOI stays at or above the noisy input's at 20 dB SNR), with the safety
net against stagnation of the paper. A running minimum of the smoothed periodogram over about 2 s (the
window of minimum statistics, Martin 2001) sets a lower bound, so that the
estimate also climbs after a sudden rise of the noise within that window.
A frame of digital silence (every bin exactly 0) holds no noise: it changes
neither the tracker nor the minimum nor a profile, so that after a silent
head the estimate starts at the first frame heard, as at the start of a
stream, and across a silent gap it keeps its level. (Before, the zeros took
the estimate and the minimum to 0, and the estimate woke over seconds.) The
silence of a dithered file is treated alike: a frame whose mean square is
at or under -90 dBFS (16-bit TPDF dither is -96.3 dBFS) and which lies more
than 10 dB under the minimum tracker's level in most bins is skipped (a
dithered gap), and a tracker that has heard only a quiet stretch starts
again when steady sound 30 dB above everything it heard has stood for half
a second in most bins (a dithered or quiet head: the minimum would let the
estimate up only as its 2 s window passed the head). A recording whose own
noise lies under -90 dBFS is heard as a loud one: its frames are not far
under what the tracker holds.
Alternatively the noise power is the mean
periodogram of given profile frames, which moves with the tracker where the
noise has moved since: scaled by the tracker's estimate now over its mean
in the profile frames, beyond a tolerance (above 2x, or below 1/1.2x; both
smoothed over bins as below), so that a profile of noise that changes
neither leaves it where it got louder nor cuts speech where it got quieter,
and keeps its advantage on steady noise (a region of digital silence alone
leaves no profile: the tracker's estimate is used). The estimate the gain uses is smoothed
over +-3 bins by a triangle (``1 2 3 4 3 2 1``), which lowers its variance
and keeps a tone that drifts by a bin or two (machine noise) under it.
The LSA gain's ``exp(E1(v) / 2)`` is a fitted polynomial below ``v = 1`` and,
above, the series of ``exp`` over Abramowitz & Stegun's rational form of
``E1`` (relative error below 1.3e-5 in all), and ``exp(-v)`` is a polynomial
raised to the 64th power by squaring (relative error below 7e-5), so that the
kernel calls no ``exp`` per bin and its loops vectorize. (sonicmix's envelope
exponential, exact to rounding, made this kernel 10 % slower: a probability
needs no more than four digits.)

Gains follow Ephraim & Malah (1985): a-priori SNR by the decision-directed
rule (the smoothing in time that keeps musical noise down) and the MMSE
log-spectral amplitude gain ``G_H``. That gain is weighted by the
probability ``p`` that the bin holds speech, as in Cohen's optimally-modified
LSA (Cohen & Berdugo 2001; Cohen 2003): the a-priori SNR, averaged over time
(0.7 per 8 ms), over 3 bins (local) and over about +-500 Hz (global), is
mapped to ``P_local`` and ``P_global`` between 0 and 1 (-10 to -5 dB), the
probability that speech is absent is ``q = min(1 - P_local P_global, 0.95)``,
and ``p = 1 / (1 + q / (1 - q) (1 + xi) e^-v)``. The gain is
``p G_H + (1 - p) G_min`` with ``G_min = 10 ** (-reduction_db / 20)``, never
below ``G_min``: a peak of the noise that lifts one bin, or a few neighbours,
is not taken for speech unless the a-priori SNR around it is high too, which
a voice's harmonics and formants are and a machine's tones mostly are not.
(OM-LSA proper takes the geometric mean ``G_H^p G_min^(1-p)``; the arithmetic
one needs no ``log`` and ``exp`` per bin and gave SI-SDR within 0.01 dB of it;
Cohen's third, frame-level term cost STOI at 20 dB SNR and is left out.)
At a high SNR that gain takes the a-priori SNR up to 3 dB higher: a factor
rising from 1 to 2 as the long-term SNR of speech frames (frames more than
3 dB above the noise estimate, averaged in dB over about a second) goes from
11 to 15 dB. There the residual noise under speech is far below the speech,
and the LSA gain's attenuation of weak speech components (the estimate leans
1-3 dB high under speech) cost STOI; at 5 dB SNR the factor stays 1.
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
I. Cohen and B. Berdugo, "Speech enhancement for non-stationary noise
environments", Signal Processing 81(11), 2001; I. Cohen, "Noise spectrum
estimation in adverse environments: improved minima controlled recursive
averaging", IEEE Trans. SAP 11(5), 2003.
"""

from __future__ import annotations

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
# Speech presence for the gain (Cohen & Berdugo 2001): a recursive average of the a-priori SNR (0.7
# per 8 ms hop, as in the paper), over 3 bins (local) and over the blocks of 4 bins within about 469 Hz
# (global: the paper's 31 bins of 31.25 Hz; 9 blocks, 36 bins, with the default frame), mapped to 0..1
# between -10 and -5 dB; the speech absence probability at most 0.95.
_PRESENCE_XI_TAU_S = 0.0224
_GLOBAL_HALF_HZ = 469.0
_PRESENCE_LOW_DB = -10.0
_PRESENCE_HIGH_DB = -5.0
_ABSENCE_MAX = 0.95
_PRESENCE_XI_CAP = 1e3  # the average needs no more (it saturates at -5 dB) and stays well conditioned


# At a high SNR the LSA gain takes the a-priori SNR up to 3 dB higher (a factor of 2), which spares
# the weak parts of speech that STOI counts: the factor rises from 1 to 2 as the long-term SNR of
# speech frames goes from 11 to 15 dB. That SNR is the average over about a second, in dB, of the
# frames whose SNR (over the bins above speech_low_hz) exceeds 3 dB.
_LEVEL_TAU_S = 1.0
_LEVEL_GATE_DB = 3.0
_HIGH_SNR_LOW_DB = 11.0
_HIGH_SNR_HIGH_DB = 15.0
_HIGH_SNR_BOOST = 2.0

# A learned profile follows the noise where the noise has moved since the profile region: the profile is
# scaled by d, the tracker's estimate now over its mean in the region, by the part of d beyond a
# tolerance: above _PROFILE_RISE (3 dB) or below 1 / _PROFILE_FALL (0.8 dB). The rise tolerance is
# the wider because the tracker leans 1-3 dB high under speech; a fall is followed almost at once
# because a profile above the noise cuts speech (STOI). Chosen on prompts 200-205 and 300-305 and the
# benchmark's male voice and prompts 0-4, 1.5 s of noise before the speech (vinyl hiss, 3D printer,
# 5-20 dB SNR): a fall tolerance of 1.4 (1.5 dB) left STOI 0.0001 above the input's at worst, 1.0
# (none) cost 0.1-0.15 dB of SI-SDR on the hiss, a rise tolerance of 2.5 (4 dB) STOI.
_PROFILE_RISE = 2.0
_PROFILE_FALL = 1.2

# Frames that hold no sound that was recorded, beside exact digital silence: a frame whose mean square
# is at or under _QUIET_DBFS and whose periodogram lies more than _QUIET_UNDER_DB under the minimum
# tracker's level (its minimum over the last 2 s) in more than half of the bins from low_bins up is
# skipped as digital silence is: the dithered gap of a 16-bit file (TPDF dither of +-1 LSB, rounded:
# -96.3 dBFS; 6 dB above that for the spread of a frame's power) or of a 24-bit one (-144.5 dBFS).
# Both conditions: a recording whose own noise lies under -90 dBFS (24 bits, a quiet room) is heard as
# a loud one, its frames being within a few dB of what the tracker holds; only a drop far under that,
# and under anything a 16-bit file holds, is skipped. Bin by bin, not summed: a sum is the loud bins'
# (a steady tone's), and the end of the tone would make the noise after it look like a gap.
_QUIET_DBFS = -90.0
_QUIET_UNDER_DB = 10.0
# A tracker that has heard only a quiet stretch (a dithered head, a head 60 dB under what follows)
# starts again when steady sound far above all of it comes: when, in more than half of the bins from
# low_bins up, the minima of the smoothed periodogram over each of the last two subwindows of the
# minimum tracker (0.25 s each) agree within _STEADY (6 dB) and lie more than _RISE_DB above the
# largest minimum of every subwindow before the last three since the tracker started (``loudest``;
# the third may hold the rise itself). Then the tracker, its minimum, its long-term SNR of speech
# frames and any profile learnt so far are cleared, as if the quiet stretch had not been heard.
# Otherwise only the 2 s minimum window passing the quiet stretch let the estimate up (the guard
# against stagnation lifts it by a thousandth of the periodogram per frame), and the frames meanwhile,
# far above the estimate, took the long-term SNR of speech frames so high that the high-SNR gain stayed
# open in the noise for good (only frames above the noise update that SNR). Against all it heard, not
# against the window's minimum: the benchmark's prompts, joined by digital silence, hold fades whose
# minima lie far under their speech, and their long final vowel restarted the tracker on the speech.
# 30 dB: no restart on the speech checked (the male voice, prompts 0-4 and 100-104, alone and over
# noise at -80 to -130 dBFS, at 16 and 48 kHz); lagging a subwindow less, 20 dB restarted on prompts
# 0-4 at 16 kHz, and 40 dB missed 10 of the benchmark's 18 noises after a dithered head (a restart
# needs half the bins, and a noise's upper band lies less far above the dither).
_RISE_DB = 30.0
_STEADY = 4.0


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
    presence_xi_pole: float  # recursive average of the a-priori SNR for the speech presence
    global_half: int  # half-width of the global average of that, in blocks of 4 bins
    level_pole: float  # long-term SNR of speech frames (the high-SNR gain)
    power_scale: float  # a frame's periodogram summed over bins, per unit mean square of white noise


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
        presence_xi_pole=pole(_PRESENCE_XI_TAU_S),
        global_half=max(1, int(round(_GLOBAL_HALF_HZ * frame / sample_rate / 4))),
        level_pole=pole(_LEVEL_TAU_S),
        power_scale=float((frame // 2 + 1) * np.sum(window**2)),
    )


@dataclass(slots=True)
class SpectralState:
    """Per gain-group memory of the tracker and the a-priori SNR, shapes ``(groups, bins)``.

    ``counts`` holds the frames seen, the position in the current subwindow
    and the index of the current subwindow in ``minima``; ``heard`` holds, per
    group, the frames that were not digital silence (the tracker's own count,
    0 again after a restart), of those the profile frames summed in
    ``profile``, and the frames heard since the start or the last silent frame
    (counted up to ``OVERLAP - 1``). ``loudest`` is the largest minimum of the
    subwindows before the last three, per bin (0: none yet): the level a
    restart must rise far above.
    """

    noise: NDArray[np.float64]  # noise power estimate
    presence: NDArray[np.float64]  # smoothed speech presence probability
    clean: NDArray[np.float64]  # |A|^2 of the previous frame (decision-directed SNR)
    smooth: NDArray[np.float64]  # smoothed periodogram (minimum tracking)
    profile: NDArray[np.float64]  # sum of the profile frames' periodograms; after them, the mean smoothed
    current: NDArray[np.float64]  # minimum within the current subwindow
    minima: NDArray[np.float64]  # (groups, subwindows, bins) minimum of each recent subwindow
    settled: NDArray[np.float64]  # minimum over ``minima`` (updated as a subwindow closes)
    zeta: NDArray[np.float64]  # recursive average of the a-priori SNR (speech presence)
    level: NDArray[np.float64]  # (groups,) long-term SNR of speech frames, in dB
    counts: NDArray[np.int64]  # (3,)
    heard: NDArray[np.int64]  # (groups, 3)
    tracked: NDArray[np.float64]  # sum of the tracker's smoothed estimate there; after them, 1 / its mean
    loudest: NDArray[np.float64]  # largest subwindow minimum before the last three (0: none yet)


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
        zeta=np.zeros((groups, bins)),
        level=np.zeros(groups),
        counts=np.zeros(3, np.int64),
        heard=np.zeros((groups, 3), np.int64),
        tracked=np.zeros((groups, bins)),
        loudest=np.zeros((groups, bins)),
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
    if windowed.dtype == np.float64:  # numpy's pocketfft is 5 % faster in double precision here, scipy's
        return np.fft.rfft(windowed, axis=-1)  # twice as fast in single (numpy 2.4, scipy 1.17)
    return scipy.fft.rfft(windowed, axis=-1, overwrite_x=True)


@numba.njit(cache=True, nogil=True)
def _frames_kernel(head, x, window, hop, first, out):  # pragma: no cover - compiled
    # The loops index 1-D slices from 0: an index that might be negative (``offset + j``) makes numba
    # check it for wrap-around, which kept these loops from vectorizing (3.2 -> 0.4 ms on 10.8 s).
    channels, frames, frame = out.shape
    kept = head.shape[1]
    for c in range(channels):
        for f in range(frames):
            start = (first + f) * hop
            split = min(max(kept - start, 0), frame)  # samples of this frame in `head`
            row = out[c, f]
            if split > 0:
                early = head[c, start : start + split]
                for j in range(split):
                    row[j] = early[j] * window[j]
            source = x[c, start - kept + split : start - kept + frame]
            rest = row[split:]
            weights = window[split:]
            for j in range(frame - split):
                rest[j] = source[j] * weights[j]


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
    if spectra.dtype == np.complex128:  # (as in frame_spectra)
        pieces = np.fft.irfft(spectra, n=frame, axis=-1)
    else:
        pieces = scipy.fft.irfft(spectra, n=frame, axis=-1, overwrite_x=True)
    out = np.empty((channels, frames * hop + frame - hop))
    _overlap_add_kernel(pieces, plan.window, hop, tail, out)
    return out[:, : frames * hop], out[:, frames * hop :]


@numba.njit(cache=True, nogil=True)
def _overlap_add_kernel(pieces, window, hop, tail, out):  # pragma: no cover - compiled
    channels, frames, frame = pieces.shape
    kept = tail.shape[1]
    for c in range(channels):
        line = out[c]
        line[:kept] = tail[c]
        line[kept:] = 0.0
        for f in range(frames):
            target = line[f * hop : f * hop + frame]  # (indexed from 0: vectorizes, see _frames_kernel)
            piece = pieces[c, f]
            for j in range(frame):
                target[j] += piece[j] * window[j]


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
        the tracker's; after the last it is fixed but for where the tracker's
        estimate moves away from its mean over the profile frames by more than
        a tolerance (the profile is then scaled by the excess). Frames of
        digital silence, or of a dithered gap, are left out of the profile as
        of the tracker; while no profile frame has been heard, and in a bin
        whose profile is zero, the tracker's estimate is used. A restart of
        the tracker after a quiet head drops the profile learnt so far (the
        rest of the region, if any, learns it again).
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
        state.zeta,
        state.level,
        state.counts,
        state.heard,
        state.tracked,
        state.loudest,
        np.empty((groups, bins)),
        np.empty((groups, bins)),
        np.empty((groups, bins)),
        plan.start_weight,
        plan.noise_pole,
        plan.presence_pole,
        plan.min_pole,
        plan.subwindow,
        plan.init_frames,
        plan.presence_xi_pole,
        plan.global_half,
        plan.level_pole,
        10.0 ** (_PRESENCE_LOW_DB / 10.0),
        10.0 ** (_PRESENCE_HIGH_DB / 10.0),
        _ABSENCE_MAX,
        10.0 ** (_SPEECH_PRIOR_DB / 10.0),
        _DD_ALPHA,
        10.0 ** (_XI_MIN_DB / 10.0),
        float(floor),
        int(profile_frames[0]),
        int(profile_frames[1]),
        int(low_bins),
        _PROFILE_RISE,
        _PROFILE_FALL,
        10.0 ** (_QUIET_DBFS / 10.0) * plan.power_scale,
        10.0 ** (_QUIET_UNDER_DB / 10.0),
        10.0 ** (_RISE_DB / 10.0),
        _STEADY,
    )
    return spectra


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _triangle(src, dst):  # pragma: no cover - compiled
    """``src`` smoothed over +-3 bins by the triangle ``1 2 3 4 3 2 1`` into ``dst`` (edges renormalised)."""
    bins = src.shape[0]
    for k in range(3, bins - 3):
        dst[k] = (4.0 * src[k] + 3.0 * (src[k - 1] + src[k + 1]) + 2.0 * (src[k - 2] + src[k + 2])
                  + (src[k - 3] + src[k + 3])) * 0.0625
    for e in range(6):
        k = e if e < 3 else bins - 6 + e
        acc = 0.0
        total = 0.0
        for j in range(max(k - 3, 0), min(k + 4, bins)):
            w = 4.0 - abs(j - k)
            acc += w * src[j]
            total += w
        dst[k] = acc / total


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


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy", inline="always")
def _exp_neg(v):  # pragma: no cover - compiled
    """``exp(-v)`` for ``v >= 0``, branch-free so that loops over bins vectorize (no SVML here).

    ``(exp(-v / 64)) ** 64``: a degree-7 Taylor polynomial on ``[0, 0.625]`` and six squarings,
    relative error below 7e-5; 0 from ``v = 40`` on (below 5e-18).
    """
    u = min(v, 40.0) * 0.015625
    e = 1.0 - u * (1.0 - u * (0.5 - u * (1.0 / 6.0 - u * (1.0 / 24.0 - u * (
        1.0 / 120.0 - u * (1.0 / 720.0 - u * (1.0 / 5040.0)))))))
    e *= e
    e *= e
    e *= e
    e *= e
    e *= e
    e *= e
    return e if v < 40.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _restart(
    g, noise, presence, minima, settled, snr_level, heard, profile, tracked, partial
):  # pragma: no cover - compiled
    """Group ``g``'s tracker as before its first frame, but that its next frames reach back into sound."""
    noise[g] = 0.0
    presence[g] = 0.0
    minima[g] = _HUGE
    settled[g] = _HUGE
    snr_level[g] = 0.0
    heard[g, 0] = 0
    heard[g, 2] = partial
    # a profile learnt so far was measured against a tracker that had not heard the noise yet: what is
    # left of the region (if any) learns it again; after the region the noise is left to the tracker
    heard[g, 1] = 0
    profile[g] = 0.0
    tracked[g] = 0.0


# error_model="numpy": no ZeroDivisionError check per division (every divisor is kept >= _TINY or
# is a constant), which lets the loops over bins vectorize: 13 -> 8 ns per bin
@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _gains_kernel(
    spectra, gains_out, linked, noise, presence, clean, smooth, profile, current, minima, settled, zeta,
    snr_level, counts, heard, tracked, loudest, power, row, scratch, start_weight, noise_pole, presence_pole,
    min_pole, subwindow, init_frames, zeta_pole, global_half, level_pole, zeta_low, zeta_high, absence_max,
    speech_prior, dd_alpha, xi_min, floor, profile_first, profile_last, low_bins, profile_rise,
    profile_fall, quiet, quiet_under, rise, steady_span,
):  # fmt: skip  # pragma: no cover - compiled
    channels, frames, bins = spectra.shape
    groups = noise.shape[0]
    subwindows = minima.shape[1]
    vv = np.empty(bins)
    lsa_gain = np.empty(bins)
    follow = np.empty(bins)
    xis = np.empty(bins)
    ev = np.empty(bins)
    local = np.empty(bins)
    wide = np.empty(bins)
    inv_span = 1.0 / (zeta_high - zeta_low)
    nblocks = -(-bins // 4)
    blocks = np.empty(nblocks)
    inv_width = 0.25 / (2 * global_half + 1)
    prior_ratio = speech_prior / (1.0 + speech_prior)
    odds = 1.0 + speech_prior
    partial = start_weight.shape[0]
    want_gains = gains_out.shape[0] > 0
    inv_channels = 1.0 / channels
    seen = counts[0]
    sub_pos = counts[1]
    sub_index = counts[2]
    for f in range(frames):
        in_profile = profile_first <= seen <= profile_last
        # periodograms: the channels' mean (linked) or each channel's. A group's first frames after
        # the start or after digital silence reach back into zeros: they are scaled to a whole frame's
        # power (after silence as if the sound began on a hop: never above its power)
        if linked:
            scale = 1.0 / start_weight[heard[0, 2]] if heard[0, 2] < partial else 1.0
            for k in range(bins):
                acc = 0.0
                for c in range(channels):
                    z = spectra[c, f, k]
                    acc += np.float64(z.real) * z.real + np.float64(z.imag) * z.imag
                power[0, k] = acc * inv_channels * scale
        else:
            for c in range(channels):
                scale = 1.0 / start_weight[heard[c, 2]] if heard[c, 2] < partial else 1.0
                for k in range(bins):
                    z = spectra[c, f, k]
                    power[c, k] = (np.float64(z.real) * z.real + np.float64(z.imag) * z.imag) * scale
        for g in range(groups):
            pw = power[g]
            nz = noise[g]
            # A frame of digital silence holds no noise: it changes neither the tracker nor the minimum
            # nor the profile, so that the estimate starts at the first frame heard, as at the start,
            # and holds its level across a silent gap. (Zeros took the estimate and the minimum to 0;
            # from there only the guard against stagnation moved the estimate, by a thousandth of the
            # periodogram per frame, until the 2 s minimum window had passed the silence.)
            # A frame under the floor of 16-bit dither and far under the noise the minimum tracker holds
            # (a dithered gap) holds no noise that was recorded either (see _QUIET_DBFS).
            heard_g = heard[g, 0]
            sm_g, cur_g, set_g = smooth[g], current[g], settled[g]
            # (against the frame's own power: a frame after a skipped one is scaled as if it reached back
            # into zeros)
            limit = quiet / start_weight[heard[g, 2]] if heard[g, 2] < partial else quiet
            acc = 0.0
            for k in range(bins):  # (a frame that is heard stops within its first bins, almost always)
                acc += pw[k]
                if acc > limit:
                    break
            silent = acc == 0.0
            if not silent and acc <= limit and heard_g > 0:
                under = 0
                for k in range(low_bins, bins):
                    under += 1 if pw[k] * quiet_under < min(cur_g[k], set_g[k]) else 0
                silent = 2 * under > bins - low_bins
            heard[g, 2] = 0 if silent else min(heard[g, 2] + 1, partial)
            if in_profile and not silent:
                heard[g, 1] += 1
            profiled = heard[g, 1]
            inv_profiled = 1.0 / profiled if profiled > 0 else 0.0
            # --- noise power: the tracker's, always kept up to date
            if silent:
                pass
            elif heard_g < init_frames:
                for k in range(bins):
                    nz[k] = (nz[k] * heard_g + pw[k]) / (heard_g + 1)
            else:
                pr = presence[g]
                for k in range(bins):  # presence probability 1 / (1 + odds e^-z) (vectorizes)
                    z = pw[k] / max(nz[k], _TINY) * prior_ratio
                    vv[k] = 1.0 / (1.0 + odds * _exp_neg(z))
                for k in range(bins):  # (vectorizes)
                    q = vv[k]
                    pres = presence_pole * pr[k] + (1.0 - presence_pole) * q
                    pr[k] = pres
                    q = min(q, _STUCK if pres > _STUCK else 1.0)
                    nk = nz[k]
                    nz[k] = noise_pole * nk + (1.0 - noise_pole) * (q * nk + (1.0 - q) * pw[k])
            # lower bound: minimum of the smoothed periodogram over the last window
            if not silent:
                keep = min_pole if heard_g > 0 else 0.0
                for k in range(bins):
                    sm = keep * sm_g[k] + (1.0 - keep) * pw[k]
                    sm_g[k] = sm
                    cur_g[k] = min(cur_g[k], sm)
                if heard_g >= init_frames:
                    for k in range(bins):
                        nz[k] = max(nz[k], min(cur_g[k], set_g[k]))
                heard[g, 0] = heard_g + 1
                if in_profile:
                    for k in range(bins):
                        profile[g, k] += pw[k]
            # after the region the profile is held smoothed (in `profile`) and is not smoothed again
            frozen = profiled > 0 and seen > profile_last
            if profiled > 0 and not frozen:
                nz = scratch[g]
                for k in range(bins):
                    nz[k] = profile[g, k] * inv_profiled
            # --- gain: decision-directed a-priori SNR, log-spectral amplitude estimator
            # the estimate used by the gain is smoothed over +-3 bins by a triangle (1 2 3 4 3 2 1) / 16:
            # a tracker follows single periodograms, and a tone that drifts by a bin or two (machine
            # noise) stays under the estimate ([1, 2, 1] / 4 before: 0.1-0.2 dB less SI-SDR on the 3D
            # printer at 5 dB SNR)
            sc = scratch[g] if profiled == 0 else vv
            if not frozen:
                for k in range(3, bins - 3):  # (vectorizes; bins >= 9)
                    sc[k] = (4.0 * nz[k] + 3.0 * (nz[k - 1] + nz[k + 1]) + 2.0 * (nz[k - 2] + nz[k + 2])
                             + (nz[k - 3] + nz[k + 3])) * 0.0625
                for e in range(6):  # the edges: the weights of the bins that exist
                    k = e if e < 3 else bins - 6 + e
                    acc = 0.0
                    total = 0.0
                    for j in range(max(k - 3, 0), min(k + 4, bins)):
                        w = 4.0 - abs(j - k)
                        acc += w * nz[j]
                        total += w
                    sc[k] = acc / total
            if profiled == 0:
                nz = sc
            else:
                # where the noise has moved since the profile region (the tracker now against its mean
                # there), the profile moves with it beyond a tolerance: a fixed profile of changing noise
                # leaves noise where the noise got louder and cuts speech where it got quieter. A bin whose
                # profile holds no noise (exactly 0 in every profile frame heard) tells nothing about the
                # noise after it, and no factor moves a zero: there the tracker's estimate stands
                nz = scratch[g]
                held = profile[g]
                tr_g = tracked[g]
                _triangle(noise[g], follow)
                if frozen:  # (tracked holds the inverse of the tracker's mean over the region)
                    for k in range(bins):  # (vectorizes)
                        d = follow[k] * tr_g[k]
                        moved = held[k] * min(max(1.0, d / profile_rise), d * profile_fall)
                        nz[k] = moved if held[k] >= _TINY else follow[k]
                else:
                    if in_profile and not silent:
                        for k in range(bins):
                            tr_g[k] += follow[k]
                    for k in range(bins):  # (vectorizes)
                        d = follow[k] * profiled / max(tr_g[k], _TINY)
                        moved = sc[k] * min(max(1.0, d / profile_rise), d * profile_fall)
                        nz[k] = moved if sc[k] >= _TINY else follow[k]
                    if seen == profile_last:  # the region's last frame: hold what no later frame changes
                        for k in range(bins):
                            held[k] = sc[k]
                            tr_g[k] = profiled / max(tr_g[k], _TINY)
            # the factor on the a-priori SNR in the gain (1 to 2), from the long-term SNR of speech
            # frames up to the previous frame
            high = (snr_level[g] - _HIGH_SNR_LOW_DB) / (_HIGH_SNR_HIGH_DB - _HIGH_SNR_LOW_DB)
            boost = 1.0 + min(max(high, 0.0), 1.0) * (_HIGH_SNR_BOOST - 1.0)
            cl, rw, zt = clean[g], row[g], zeta[g]
            # (the a-priori SNR and the LSA's argument v, branch-free: vectorizes)
            for k in range(bins):
                p = pw[k]
                inv = 1.0 / max(nz[k], _TINY)
                gamma = p * inv
                xi = max(dd_alpha * cl[k] * inv + (1.0 - dd_alpha) * max(gamma - 1.0, 0.0), xi_min)
                xis[k] = xi
                zt[k] = zeta_pole * zt[k] + (1.0 - zeta_pole) * min(xi, _PRESENCE_XI_CAP)
                ratio = xi * boost / (1.0 + xi * boost)
                rw[k] = ratio
                vv[k] = max(ratio * gamma, 1e-12)
            # G = ratio exp(E1(v) / 2), branch-free (vectorizes): exp(E1(v) / 2) sqrt(v) is smooth on
            # [0, 1] (a least-squares quintic, 2e-8 relative); above 1, E1(v) = e^-v R(v) with the
            # rational R of Abramowitz & Stegun 5.1.56 (5e-5 relative) and exp(E1 / 2) is its series to
            # the 4th power (E1 <= 0.22 there): 1.3e-5 relative in all, with e^-v's error. A table read
            # per speech bin (a branch, not vectorized) cost 2 ms more on 10.8 s; e^-v serves p below.
            for k in range(bins):
                v = vv[k]
                e = _exp_neg(v)
                ev[k] = e
                u = min(v, 1.0)
                h = 0.7493060166 + u * (0.374652287 + u * (8.18214872e-06 + u * (
                    -0.01044635892 + u * (0.002697624728 - u * 0.0002834719849))))
                low = h / math.sqrt(u)
                w = max(v, 1.0)
                e1 = e * (w * (w + 2.334733) + 0.250621) / (w * (w * (w + 3.330657) + 1.681534))
                high = 1.0 + e1 * (0.5 + e1 * (0.125 + e1 * (1.0 / 48.0 + e1 * (1.0 / 384.0))))
                lsa_gain[k] = rw[k] * (low if v <= 1.0 else high)
            total = 0.0
            noise_total = 0.0
            for k in range(bins):
                p = pw[k]
                gain = min(lsa_gain[k], 1.0)
                above = k >= low_bins
                gain = gain if above else floor
                cl[k] = gain * gain * p
                lsa_gain[k] = gain
                total += p if above else 0.0
                noise_total += nz[k] if above else 0.0
            # the frame's SNR over the bins from low_bins up, in dB (one log10 per frame), joins the
            # long-term average when it exceeds the gate (a frame with speech)
            snr_db = 10.0 * math.log10(max(total / max(noise_total, _TINY) - 1.0, 1e-3))
            if snr_db > _LEVEL_GATE_DB:
                snr_level[g] = level_pole * snr_level[g] + (1.0 - level_pole) * snr_db
            # speech presence probability p (Cohen & Berdugo 2001): the a-priori SNR averaged in time, over
            # 3 bins and over about 1 kHz; speech is taken as absent with probability
            # q = 1 - P_local P_global (at most 0.95), and p = 1 / (1 + q / (1 - q) (1 + xi) e^-v)
            local[0] = zt[0]
            local[bins - 1] = zt[bins - 1]
            for k in range(1, bins - 1):
                local[k] = 0.5 * zt[k] + 0.25 * (zt[k - 1] + zt[k + 1])
            # the global average, on blocks of 4 bins (a running sum over all bins is a chain of
            # dependent additions: about 1 ms on the 10.8 s voice): the mean of the 2 global_half + 1
            # blocks around a bin's block, the edge blocks repeated; the inputs are capped, so the
            # sum's rounding stays far below them
            full = bins // 4
            for b in range(full):  # (vectorizes)
                blocks[b] = zt[4 * b] + zt[4 * b + 1] + zt[4 * b + 2] + zt[4 * b + 3]
            for b in range(full, nblocks):  # the last, partial block: its bins, the last repeated
                acc = 0.0
                for j in range(4 * b, 4 * b + 4):
                    acc += zt[min(j, bins - 1)]
                blocks[b] = acc
            acc = 0.0
            for j in range(-global_half, global_half + 1):
                acc += blocks[min(max(j, 0), nblocks - 1)]
            for b in range(nblocks):
                if b > 0:
                    acc += blocks[min(b + global_half, nblocks - 1)] - blocks[max(b - global_half - 1, 0)]
                level = acc * inv_width
                for j in range(4 * b, min(4 * b + 4, bins)):
                    wide[j] = level
            # the gain: the LSA gain where speech is present, the floor where it is absent, weighted by p
            # (the arithmetic mean of the two, where OM-LSA takes the geometric: SI-SDR within 0.01 dB
            # on the benchmark's 5 dB cases, without a log and an exp per bin)
            for k in range(bins):  # (vectorizes)
                p_local = min(max((local[k] - zeta_low) * inv_span, 0.0), 1.0)
                p_wide = min(max((wide[k] - zeta_low) * inv_span, 0.0), 1.0)
                q = min(1.0 - p_local * p_wide, absence_max)
                p = (1.0 - q) / (1.0 - q + q * (1.0 + xis[k]) * ev[k])
                rw[k] = max(p * lsa_gain[k] + (1.0 - p) * floor, floor)
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
            previous = (sub_index + subwindows - 1) % subwindows
            older = (sub_index + subwindows - 2) % subwindows
            for g in range(groups):
                risen = 0
                top = loudest[g]
                for k in range(bins):
                    now = current[g, k]
                    before = minima[g, previous, k]
                    steady = now * steady_span > before and before * steady_span > now
                    risen += 1 if k >= low_bins and steady and 0.0 < rise * top[k] < now < _HUGE else 0
                    # (the loudest minimum of the subwindows before the last three: the one before the
                    # steady two may hold the rise)
                    oldest = minima[g, older, k]
                    top[k] = max(top[k], oldest) if oldest < _HUGE else top[k]
                    minima[g, sub_index, k] = now
                    current[g, k] = _HUGE
                    low = minima[g, 0, k]
                    for u in range(1, subwindows):
                        low = min(low, minima[g, u, k])
                    settled[g, k] = low
                if 2 * risen > bins - low_bins and heard[g, 0] >= init_frames:
                    for k in range(bins):  # (a later restart needs a rise far above this level)
                        now = minima[g, sub_index, k]
                        before = minima[g, previous, k]
                        top[k] = max(now, before) if now < _HUGE and before < _HUGE else top[k]
                    _restart(g, noise, presence, minima, settled, snr_level, heard, profile, tracked, partial)
            sub_index = (sub_index + 1) % subwindows
        seen += 1
    counts[0] = seen
    counts[1] = sub_pos
    counts[2] = sub_index
