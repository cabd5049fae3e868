"""The built-in speech detector's frame features and scoring, as a streaming computation.

Per 10 ms frame the detector measures thirteen features of the mono signal and
combines them in a logistic score (weights fitted offline, see
:data:`WEIGHTS`). The stages:

1. *Decimation*: rates of 32 kHz and above are low-passed (6th-order
   Butterworth at 6 kHz) and decimated by ``sample_rate // 16000``, so the
   analysis runs at 16-24 kHz whatever the input: speech below 3.8 kHz is all
   it uses, and the FFTs stay short.
2. *Spectra* (numpy, a block of frames at a time): a Hann window of about 32 ms
   (a power of two) centred on each frame, its power spectrum, and the
   normalised autocorrelation of the 80 Hz - 3.8 kHz part of it (divided by
   the window's own autocorrelation, Boersma 1993), whose maximum over the
   lags of an 80-400 Hz f0 is the frame's pitch strength, and the lag of that
   maximum (refined by a parabola) its pitch period. Skipped when the model
   gives the three pitch features no weight.
3. *Features* (one sequential pass, a small cached numba kernel): energies of
   16 log-spaced bands from 150 Hz to 3.8 kHz (or 0.47 x the analysis rate),
   and from them

   - ``level``: frame level relative to the running speech level (a 3 s
     average of the levels of frames clearly above the noise floor, modulated
     like speech, with a gliding pitch and without a beat: music and effects
     alone never set it), dB, -40..10; -20 until such a frame is heard and
     again 3 s after the last one;
   - ``snr``: mean over bands of the band level above its noise floor, dB,
     clipped to 0..30; the floor is the minimum of the smoothed band power
     over the last 1.5 s (minimum statistics, Martin 2001);
   - ``pitch``: pitch strength, smoothed over about 100 ms;
   - ``flatness``: spectral flatness of the band energies, dB (0 for white
     noise, negative for a peaky, formant-shaped spectrum);
   - ``flux``: mean rise of the band levels from one frame to the next,
     smoothed over about 100 ms, dB;
   - ``modulation``: power of the 2-8 Hz (syllabic) modulation of the band
     levels above their floors, smoothed over about 200 ms, dB;
   - ``above_floor``: frame level above the summed noise floors, dB, 0..40;
   - ``voicing``: mean distance of the pitch strength from its 100 ms average
     over about 1 s (voicing turning on and off at the syllable rate);
   - ``rhythm``: how periodic the onsets are: the largest normalised
     autocorrelation of the frame's spectral flux (less its 1 s mean) at lags
     of 0.25-2 s, over about 3 s, less 0.25 and clipped at 0. A beat or a
     bar repeats (0.2-0.5 for a loop); speech's syllables do not (about 0).
     A lag counts once 25 products are in (``_RHYTHM_MIN_PRODUCTS``): with
     fewer it reads up to 5 on speech;
   - ``shape``: change of the spectral shape from frame to frame (the bands'
     changes above their floors less their common change), over about 1 s;
   - ``glide``: share of frames, over about 0.5 s, whose clear pitch (strength
     above 0.6, in this frame and the one before) moves by 0.2-6 %: speech's
     f0 glides continuously, a note holds and a drum has no clear pitch
     (clean speech about 0.45, music alone about 0.1, effects 0.05); in the
     first seconds, the share of the frames heard so far;
   - ``pause``: how surely the frame is a pause between louder speech: 0 unless
     a speech level is known, the frame is within 6 dB of the noise floor and
     that floor lies more than 10 dB under the speech level; then (1 - level
     above floor / 6 dB) x (floor's depth under the speech level - 10 dB,
     at most 20). The quiet noisy line's hiss in a host's pause scores high;
     a frame at the floor of loud noise (weak speech, perhaps) scores 0;
   - ``modulation_peak``: like ``modulation``, but of the single most
     modulated band, on the band level above its floor clipped at 30 dB:
     speech in loud noise keeps its syllabic modulation in a few bands,
     which the mean over bands dilutes, and the lower clip keeps the steps
     in and out of digital silence around one-shots from outweighing it.

   The running speech level counts (for ``level`` and ``pause``) only once
   :data:`REF_CONFIRM_FRAMES` frames have updated it: a melody's first notes,
   before its beat is heard, can pass the gate for a frame or two and would
   otherwise set a level that lasts 3 s. For the same reason its gate reads
   the rhythm over every lag, however young, and the glide's plain running
   average: at a stream's start both read against speech, which is the
   cautious side there, while the features (young lags left out, the glide
   as a share of the frames heard) let speech from the first sample through.

4. *Score*: ``z = bias + sum(weight * (feature - mean) / scale)``, averaged
   over a centred window of :data:`SMOOTH_FRAMES` frames, and
   ``p = 1 / (1 + exp(-z))``. The centring is what makes the detector
   :data:`SMOOTH_FRAMES` // 2 frames late (see
   :meth:`sonicmix.speech.SpeechDetector.latency_s`).

Everything runs in float64 and all memory is in explicit state arrays, so any
partition of a signal into blocks gives the same probabilities bit for bit.
Logarithms are taken per band and frame (1600 a second), never per sample.

References
----------
E. Scheirer and M. Slaney, "Construction and evaluation of a robust multifeature
speech/music discriminator", Proc. ICASSP 1997 (onset periodicity, the "pulse metric").
R. Martin, "Noise power spectral density estimation based on optimal smoothing
and minimum statistics", IEEE Trans. Speech Audio Process. 9(5), 2001.
P. Boersma, "Accurate short-term analysis of the fundamental frequency and the
harmonics-to-noise ratio of a sampled sound", Proc. Inst. Phonetic Sci. 17, 1993.
T. Houtgast and H. Steeneken, "A review of the MTF concept in room acoustics",
JASA 77(3), 1985 (the 4 Hz syllabic modulation of speech).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = [
    "FEATURES",
    "MEANS",
    "SCALES",
    "WEIGHTS",
    "BIAS",
    "SMOOTH_FRAMES",
    "BANDS",
    "LOW_HZ",
    "HIGH_HZ",
    "REF_CONFIRM_FRAMES",
    "frame_kernel",
]

#: Names of the features, in the order of :data:`MEANS`, :data:`SCALES` and :data:`WEIGHTS`.
FEATURES = ("level", "snr", "pitch", "flatness", "flux", "modulation", "above_floor", "voicing", "rhythm",
            "shape", "glide", "pause", "modulation_peak")
#: Which features are *instant* (describe the frame itself) rather than *context* (smoothed, so late
#: by about DELAY_FRAMES); an instant feature is paired with the context features of DELAY_FRAMES later.
INSTANT = (True, True, False, True, False, False, True, False, False, False, False, True, False)
#: Logistic model, fitted by ``scripts/fit_speech_model.py`` on material the tests do not use
#: (Allison's prompts 200-279 without tt-monkeys, codec2's short clips, other sonic-pi loops, noises
#: and one-shots, music alone and around speech, podcasts built from that material). Each weight's
#: sign is fixed by the feature's meaning; the fit may use level, flux, modulation, rhythm, glide,
#: pause and modulation_peak (``MODEL`` in the script). Features with zero weight are still
#: computed (cheaply) and written for fitting; the pitch FFTs are skipped whenever pitch, voicing
#: and glide all have zero weight.
MEANS = (-12.634, 11.49, 0.671, -9.305, 1.535, 14.281, 15.329, 0.12, 0.11, 1.025, 0.362, 1.799, 16.072)
SCALES = (12.039, 9.569, 0.226, 5.468, 0.671, 5.625, 13.374, 0.036, 0.208, 0.299, 0.21, 4.813, 4.404)
WEIGHTS = (0.944, 0.0, 0.0, 0.0, 0.167, 0.587, 0.0, 0.0, -0.619, 0.0, 0.711, -0.534, 1.15)
BIAS = 0.207
#: Width of the centred window over which the frame scores are averaged, in frames (odd).
SMOOTH_FRAMES = 15
#: The context features (pitch, flux, modulation, ...: smoothed, so late by about this much)
#: are paired with the instant features (level, snr, flatness, above_floor, pause) of this many frames before.
DELAY_FRAMES = 5
#: Number of bands, and their span in Hz (the top is at most 0.47 x the analysis rate).
BANDS = 16
LOW_HZ = 150.0
HIGH_HZ = 3800.0
#: Envelope periodicity (the rhythm feature): lags from RHYTHM_MIN_LAG to RHYTHM_MAX_LAG frames
#: (0.25-2.0 s: beats and bars at 30-240 per minute).
RHYTHM_MIN_LAG = 25
RHYTHM_MAX_LAG = 200
#: The running speech level is used (by the level and pause features) only once this many frames
#: have updated it since it was last forgotten.
REF_CONFIRM_FRAMES = 10

# Constants of the feature stage (frame rate 100 Hz; time constants as one-pole coefficients).
_EPS = 1e-10  # power added to every band: digital silence is -100 dB, not -inf
_FLOOR_SMOOTH = 0.8  # band power smoothing before minimum statistics (about 45 ms)
_MIN_SUBWINDOWS = 5  # minimum statistics: 5 sub-windows of 30 frames = 1.5 s
_MIN_SUBWINDOW_FRAMES = 30
_REF_GATE_DB = 6.0  # frames whose mean band SNR exceeds this update the running speech level (after
# the first 2 * RHYTHM_MIN_LAG frames, when the rhythm is first known),
_REF_MOD_GATE_DB = 10.0  # if their modulation also exceeds this (stationary noise: 0-7 dB, speech: ~20 dB)
_REF_RHYTHM_GATE = 0.3  # ... and if their rhythm is below this (speech: 0.1-0.2, a beat: 0.4-0.8)
_REF_HOLD_FRAMES = 300  # the speech level is forgotten after 3 s without a frame that would update it
_REF_GLIDE_GATE = 0.15  # ... and if their glide is above this (speech: 0.15-0.65, music: 0-0.1)
_LEVEL_UNSET_DB = -20.0  # the level feature until a speech level has been heard
_REF_POLE = 1.0 - 1.0 / 300.0  # 3 s
_PITCH_POLE = 0.9  # 100 ms
_FLUX_POLE = 0.9
_MOD_POLE = 0.95  # 200 ms
_MOD_EPS = 1e-2
_MOD_RANGE_DB = 60.0  # the band level above its floor is clipped to 0..this for the modulation
_PEAK_RANGE_DB = 30.0  # ... and to 0..this for the peak modulation
_VOICING_POLE = 0.99  # 1 s: mean |pitch strength - its 100 ms average| (voicing turning on and off)
_RHYTHM_POLE = 1.0 - 1.0 / 300.0  # 3 s: the onset strength's autocorrelation
_RHYTHM_EARLY_FRAMES = 3000  # after 30 s, 1 - pole ** n is 1 to 1e-4
_RHYTHM_MIN_PRODUCTS = 25  # the rhythm feature counts a lag once this many products are in (0.25 s)
_BEAT_FROM = 0.25  # the rhythm feature is the periodicity above this (speech: 0.1-0.2, a beat: 0.4-0.8)
_ENV_MEAN_POLE = 0.99  # 1 s: the onset strength's running mean, removed before the autocorrelation
_SHAPE_POLE = 0.99  # 1 s: change of the spectral shape (frame to frame)
_GLIDE_POLE = 0.98  # 0.5 s: share of frames whose clear pitch glides (speech) rather than holds or jumps
_GLIDE_STRENGTH = 0.6  # a pitch strength above this is a clear pitch
_GLIDE_MIN = 0.002  # a clear pitch that moves by more than this fraction from the frame before, and
_GLIDE_MAX = 0.06  # by less than this, glides
_GLIDE_EARLY_FRAMES = 1000  # the glide's share is corrected while its average is young (0.98 ** 1000: 2e-9)
_PAUSE_FLOOR_DB = 6.0  # pause: a frame less than this above the noise floor is near it (weight 1 at 0 dB),
_PAUSE_GAP_DB = 10.0  # and the floor more than this under the running speech level counts,
_PAUSE_GAP_RANGE_DB = 20.0  # by up to this many dB

# Slots of the kernel's scalar state (float64) and counters (int64).
_V_REF, _V_PITCH, _V_FLUX, _V_MOD, _V_VOICE, _V_ENV_MEAN, _V_SHAPE, _V_LAG, _V_GLIDE = range(9)
_V_SIZE = 9
_C_FRAMES, _C_SUB, _C_RING, _C_HAS_REF, _C_OUT, _C_SCORED, _C_REF_AGE, _C_REF_COUNT = range(8)
_C_SIZE = 8
# Rows of the per-band state (float64, shape (_B_SIZE, bands)).
_B_SMOOTH, _B_MIN, _B_PREV, _B_Z1, _B_Z2, _B_LEVEL, _B_FLOOR, _B_SHAPE, _B_PZ1, _B_PZ2, _B_PEAK = range(11)
_B_SIZE = 11
# Rows of the rhythm state (float64, shape (2, RHYTHM_MAX_LAG + 1)): envelope ring, autocorrelation.
_R_ENV, _R_ACF = range(2)


def modulation_sos(frame_rate_hz: float) -> NDArray[np.float64]:
    """The 2-8 Hz band-pass run over each band's level sequence (first-order Butterworth band-pass)."""
    from scipy.signal import butter

    return np.asarray(butter(1, [2.0, 8.0], btype="bandpass", fs=frame_rate_hz, output="sos"))[0]


def model_vector() -> tuple[NDArray[np.float64], float]:
    """Effective weights per raw feature and the bias, the standardisation folded in."""
    w = np.asarray(WEIGHTS) / np.asarray(SCALES)
    return w, float(BIAS - np.sum(w * np.asarray(MEANS)))


def needs_pitch() -> bool:
    """Whether the model uses pitch strength (else its FFTs are skipped)."""
    return any(WEIGHTS[FEATURES.index(name)] != 0.0 for name in ("pitch", "voicing", "glide"))


@numba.njit(cache=True, nogil=True)
def frame_kernel(
    power, pitch, lag, band_lo, band_hi, power_scale, mod_coef, weights, bias, smooth, delay, instant,
    values, counts, band_state, min_ring, rhythm, feat_ring, score_ring, out, features,
):  # fmt: skip  # pragma: no cover - compiled
    """Features, score and smoothed probability of each frame of ``power`` (frames, bins).

    Frame ``m`` is scored once frame ``m + delay`` is in (its instant features
    with the context features of ``m + delay``), and its probability is
    written to ``out`` once frame ``m + smooth // 2`` is scored. Returns how
    many probabilities were written. Writes the features each scored frame
    used to ``features`` (by frame index) when that has rows.
    """
    frames = power.shape[0]
    bands = band_lo.shape[0]
    b0 = mod_coef[0]
    b1 = mod_coef[1]
    b2 = mod_coef[2]
    a1 = mod_coef[4]
    a2 = mod_coef[5]
    lags = rhythm.shape[1]
    written = 0
    for i in range(frames):
        first = counts[_C_FRAMES] == 0
        total = 0.0
        level_sum = 0.0
        for b in range(bands):
            e = _EPS
            for k in range(band_lo[b], band_hi[b]):
                e += power[i, k] * power_scale
            level = 10.0 * math.log10(e)
            band_state[_B_LEVEL, b] = level
            total += e
            level_sum += level
            # minimum statistics on the smoothed band power
            if first:
                s = e
            else:
                s = _FLOOR_SMOOTH * band_state[_B_SMOOTH, b] + (1.0 - _FLOOR_SMOOTH) * e
            band_state[_B_SMOOTH, b] = s
            if s < band_state[_B_MIN, b]:
                band_state[_B_MIN, b] = s
            floor = band_state[_B_MIN, b]
            for u in range(min_ring.shape[0]):
                if min_ring[u, b] < floor:
                    floor = min_ring[u, b]
            band_state[_B_FLOOR, b] = floor
        level_total = 10.0 * math.log10(total)
        level_mean = level_sum / bands
        snr = 0.0
        floor_total = 0.0
        flux = 0.0
        mod = 0.0
        shape = 0.0
        shape_common = 0.0
        mod_peak = 0.0
        for b in range(bands):
            level = band_state[_B_LEVEL, b]
            floor = band_state[_B_FLOOR, b]
            floor_total += floor
            d = level - 10.0 * math.log10(floor)
            d = 0.0 if d < 0.0 else (_MOD_RANGE_DB if d > _MOD_RANGE_DB else d)
            snr += 30.0 if d > 30.0 else d
            if not first:
                r = level - band_state[_B_PREV, b]
                flux += 0.0 if r < 0.0 else (20.0 if r > 20.0 else r)
                # change of the level above the floor; less the common change (below), the change
                # of the spectral shape, which the bands' level above their floor is blind to in noise
                r = d - band_state[_B_SHAPE, b]
                shape += abs(r)
                shape_common += r
            band_state[_B_PREV, b] = level
            band_state[_B_SHAPE, b] = d
            # syllabic modulation: a band-pass over the band's level above its floor (0..30 dB, so
            # neither the recording's level nor a step out of digital silence weighs in); transposed
            # direct form II
            y = b0 * d + band_state[_B_Z1, b]
            band_state[_B_Z1, b] = b1 * d - a1 * y + band_state[_B_Z2, b]
            band_state[_B_Z2, b] = b2 * d - a2 * y
            mod += y * y
            # the same per band on the level above the floor clipped at _PEAK_RANGE_DB, smoothed: the
            # most modulated band. In loud noise speech stands out in a few bands only, which the
            # mean over bands dilutes; the lower clip keeps steps out of digital silence (one-shots
            # between gaps) from outweighing syllables
            d = _PEAK_RANGE_DB if d > _PEAK_RANGE_DB else d
            y = b0 * d + band_state[_B_PZ1, b]
            band_state[_B_PZ1, b] = b1 * d - a1 * y + band_state[_B_PZ2, b]
            band_state[_B_PZ2, b] = b2 * d - a2 * y
            if first:
                band_state[_B_PEAK, b] = y * y
            else:
                band_state[_B_PEAK, b] = _MOD_POLE * band_state[_B_PEAK, b] + (1.0 - _MOD_POLE) * y * y
            if band_state[_B_PEAK, b] > mod_peak:
                mod_peak = band_state[_B_PEAK, b]
        snr /= bands
        flux /= bands
        mod /= bands
        shape = (shape - abs(shape_common)) / bands
        flatness = level_mean - 10.0 * math.log10(total / bands)
        d = level_total - 10.0 * math.log10(floor_total)
        above_floor = 0.0 if d < 0.0 else (40.0 if d > 40.0 else d)

        if first:
            values[_V_PITCH] = pitch[i]
            values[_V_FLUX] = flux
            values[_V_MOD] = mod
            values[_V_VOICE] = 0.0
            values[_V_ENV_MEAN] = flux
            values[_V_SHAPE] = shape
            values[_V_LAG] = lag[i]
            values[_V_GLIDE] = 0.0
        else:
            values[_V_PITCH] = _PITCH_POLE * values[_V_PITCH] + (1.0 - _PITCH_POLE) * pitch[i]
            values[_V_FLUX] = _FLUX_POLE * values[_V_FLUX] + (1.0 - _FLUX_POLE) * flux
            values[_V_MOD] = _MOD_POLE * values[_V_MOD] + (1.0 - _MOD_POLE) * mod
            values[_V_VOICE] = (_VOICING_POLE * values[_V_VOICE]
                                + (1.0 - _VOICING_POLE) * abs(pitch[i] - values[_V_PITCH]))  # fmt: skip
            values[_V_ENV_MEAN] = _ENV_MEAN_POLE * values[_V_ENV_MEAN] + (1.0 - _ENV_MEAN_POLE) * flux
            values[_V_SHAPE] = _SHAPE_POLE * values[_V_SHAPE] + (1.0 - _SHAPE_POLE) * shape
            # pitch glide: a clear pitch (this frame's and the one before) that moves a little
            glide = 0.0
            if pitch[i] > _GLIDE_STRENGTH and values[_V_LAG] > 0.0:
                move = abs(lag[i] - values[_V_LAG]) / lag[i]
                glide = 1.0 if _GLIDE_MIN < move < _GLIDE_MAX else 0.0
            values[_V_GLIDE] = _GLIDE_POLE * values[_V_GLIDE] + (1.0 - _GLIDE_POLE) * glide
            values[_V_LAG] = lag[i] if pitch[i] > _GLIDE_STRENGTH else 0.0
        # rhythm: the running autocorrelation of the onset strength (the frame's spectral flux less
        # its running mean) at lags of 0..RHYTHM_MAX_LAG frames; the feature is its largest
        # normalised value over the lags of a beat. Speech's onsets are irregular; a beat's are not.
        n = counts[_C_FRAMES]
        env = flux - values[_V_ENV_MEAN]
        slot = n % lags
        rhythm[_R_ENV, slot] = env
        # (early on, each lag's sum is divided by its weight so far, 1 - pole ** (products so far):
        # otherwise the long lags, with fewer products, would read low)
        # (``best`` over every lag gates the speech level; ``sure``, the feature, only over lags with
        # _RHYTHM_MIN_PRODUCTS products: fewer read 0.5-5 on speech, which hid speech at a stream's start)
        best = 0.0
        sure = 0.0
        early = n < _RHYTHM_EARLY_FRAMES
        for k in range(lags):
            past = rhythm[_R_ENV, (n - k) % lags] if n >= k else 0.0
            rhythm[_R_ACF, k] = _RHYTHM_POLE * rhythm[_R_ACF, k] + (1.0 - _RHYTHM_POLE) * env * past
            if k >= RHYTHM_MIN_LAG and n >= k:
                v = rhythm[_R_ACF, k]
                if early:
                    v /= 1.0 - _RHYTHM_POLE ** (n - k + 1)
                if v > best:
                    best = v
                if v > sure and n - k + 1 >= _RHYTHM_MIN_PRODUCTS:
                    sure = v
        zero = rhythm[_R_ACF, 0]
        if early:
            zero /= 1.0 - _RHYTHM_POLE ** (n + 1)
        periodicity = best / (zero + 1e-3)
        beat = sure / (zero + 1e-3) - _BEAT_FROM
        beat = 0.0 if beat < 0.0 else beat
        # running speech level: follows frames clearly above the noise floor and syllabically modulated
        # (stationary noise never sets it, so in noise alone the level feature stays at _LEVEL_UNSET_DB)
        # and with a gliding pitch and without a beat (so that music and effects alone never set it)
        if (snr > _REF_GATE_DB and 10.0 * math.log10(values[_V_MOD] + _MOD_EPS) > _REF_MOD_GATE_DB
                and periodicity < _REF_RHYTHM_GATE and values[_V_GLIDE] > _REF_GLIDE_GATE
                and n >= 2 * RHYTHM_MIN_LAG):  # fmt: skip
            if counts[_C_HAS_REF] == 1:
                values[_V_REF] = _REF_POLE * values[_V_REF] + (1.0 - _REF_POLE) * level_total
            else:
                values[_V_REF] = level_total
                counts[_C_HAS_REF] = 1
                counts[_C_REF_COUNT] = 0
            counts[_C_REF_COUNT] += 1
            counts[_C_REF_AGE] = 0
        elif counts[_C_HAS_REF] == 1:
            counts[_C_REF_AGE] += 1
            if counts[_C_REF_AGE] > _REF_HOLD_FRAMES:
                counts[_C_HAS_REF] = 0
        rel = _LEVEL_UNSET_DB
        pause = 0.0
        if counts[_C_HAS_REF] == 1 and counts[_C_REF_COUNT] >= REF_CONFIRM_FRAMES:
            rel = level_total - values[_V_REF]
            rel = -40.0 if rel < -40.0 else (10.0 if rel > 10.0 else rel)
            # a pause: the frame is at the noise floor and that floor lies far under the speech level
            # (a quiet line's hiss after a loud talker); in loud noise the floor is near the speech
            # level, and there a frame at the floor may still be weak speech
            near = 1.0 - above_floor / _PAUSE_FLOOR_DB
            gap = above_floor - rel - _PAUSE_GAP_DB
            if near > 0.0 and gap > 0.0:
                pause = near * (_PAUSE_GAP_RANGE_DB if gap > _PAUSE_GAP_RANGE_DB else gap)

        r = n % feat_ring.shape[0]
        feat_ring[r, 0] = rel
        feat_ring[r, 1] = snr
        feat_ring[r, 2] = values[_V_PITCH]
        feat_ring[r, 3] = flatness
        feat_ring[r, 4] = values[_V_FLUX]
        feat_ring[r, 5] = 10.0 * math.log10(values[_V_MOD] + _MOD_EPS)
        feat_ring[r, 6] = above_floor
        feat_ring[r, 7] = values[_V_VOICE]
        feat_ring[r, 8] = beat
        feat_ring[r, 9] = values[_V_SHAPE]
        # while the glide's average is young, the share of the frames heard so far (its weight is
        # 1 - pole ** n): counting the frames before the stream as frames that do not glide made
        # speech at a stream's start look like music for half a second
        glide = values[_V_GLIDE]
        if 0 < n < _GLIDE_EARLY_FRAMES:
            glide /= 1.0 - _GLIDE_POLE**n
        feat_ring[r, 10] = glide
        feat_ring[r, 11] = pause
        feat_ring[r, 12] = 10.0 * math.log10(mod_peak + _MOD_EPS)
        # minimum statistics: close a sub-window every _MIN_SUBWINDOW_FRAMES frames
        counts[_C_SUB] += 1
        if counts[_C_SUB] == _MIN_SUBWINDOW_FRAMES:
            counts[_C_SUB] = 0
            u = counts[_C_RING]
            for b in range(bands):
                min_ring[u, b] = band_state[_B_MIN, b]
                band_state[_B_MIN, b] = np.inf
            counts[_C_RING] = (u + 1) % min_ring.shape[0]

        counts[_C_FRAMES] = n + 1
        m = n - delay  # the frame scored now
        if m >= 0:
            written += _score(m, n, feat_ring, instant, weights, bias, features, score_ring, smooth, out,
                              written, counts)
    return written


@numba.njit(cache=True, nogil=True)
def _score(m, latest, feat_ring, instant, weights, bias, features, score_ring, smooth, out, written,
           counts):  # fmt: skip  # pragma: no cover - compiled
    """Score frame ``m`` from its instant features and the context features of frame ``latest``;
    write the probability of frame ``m - smooth // 2`` if that is now complete. Returns 0 or 1."""
    size = feat_ring.shape[0]
    r = m % size
    q = latest % size
    z = bias
    keep = features.shape[0] > m
    for k in range(feat_ring.shape[1]):
        f = feat_ring[r, k] if instant[k] else feat_ring[q, k]
        z += weights[k] * f
        if keep:
            features[m, k] = f
    size = score_ring.shape[0]
    score_ring[m % size] = z
    counts[_C_SCORED] = m + 1
    half = smooth // 2
    t = m - half
    if t < 0:
        return 0
    lo = t - half
    if lo < 0:
        lo = 0
    acc = 0.0
    for k in range(lo, m + 1):
        acc += score_ring[k % size]
    out[written] = 1.0 / (1.0 + math.exp(-acc / (m + 1 - lo)))
    counts[_C_OUT] = t + 1
    return 1


def finish(smooth, delay, instant, counts, feat_ring, score_ring, weights, bias, total):  # type: ignore[no-untyped-def]
    """Probabilities of the frames still pending once all ``total`` frames are computed.

    The last ``delay`` frames are scored with the latest context features, and
    the scores of the last ``smooth // 2`` frames are averaged over the frames there are.
    """
    size = score_ring.shape[0]
    rows = feat_ring.shape[0]
    q = (total - 1) % rows
    for m in range(int(counts[_C_SCORED]), total):
        r = m % rows
        z = bias
        for k in range(feat_ring.shape[1]):
            z += weights[k] * (feat_ring[r, k] if instant[k] else feat_ring[q, k])
        score_ring[m % size] = z
    counts[_C_SCORED] = max(int(counts[_C_SCORED]), total)
    half = smooth // 2
    out = []
    for t in range(int(counts[_C_OUT]), total):
        lo, hi = max(0, t - half), min(total, t + half + 1)
        acc = 0.0
        for k in range(lo, hi):
            acc += float(score_ring[k % size])
        out.append(1.0 / (1.0 + math.exp(-acc / (hi - lo))))
    counts[_C_OUT] = max(int(counts[_C_OUT]), total)
    return np.asarray(out, np.float32)
