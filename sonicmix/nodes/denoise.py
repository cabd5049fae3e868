"""Denoise: spectral noise reduction for dialogue (STFT, adaptive noise estimate, speech-presence LSA gain).

How it works
------------
The input is cut into frames of ``frame_s`` (32 ms by default; a multiple of
4 samples) with a hop of a quarter frame, windowed by a square-root Hann
window and transformed by one ``rfft`` per block of frames. Per frame and
frequency bin (:mod:`sonicmix.dsp.spectral`):

1. the noise power is tracked from the periodogram by speech presence
   probability (Gerkmann & Hendriks 2012), bounded below by the minimum of
   the smoothed periodogram over 2 s (minimum statistics, Martin 2001);
   frames of digital silence are skipped, so the estimate starts at the
   first frame after a silent head and holds its level across a silent
   gap; so are the frames of a dithered gap (at or under -90 dBFS and far
   under the noise held in most bins), and a tracker that has heard only a
   quiet stretch (a dithered head) starts again once steady sound 30 dB
   above all of it has stood for half a second -- or, with ``profile_s``,
   taken from the frames of a region of noise alone
   (and moved with the tracker where the noise has moved since by more than
   a tolerance); the estimate is smoothed over +-3 neighbouring bins (a triangle);
2. the a-priori SNR follows the decision-directed rule and the gain is the
   MMSE log-spectral amplitude estimator (Ephraim & Malah 1985), weighted
   against the floor ``-reduction_db`` by the probability that the bin holds
   speech, from the a-priori SNR around it in time and frequency (as in
   Cohen's OM-LSA, 2001); bins below ``speech_low_hz`` get the floor; when
   speech stands well above the noise (a long-term SNR of speech frames over
   11-15 dB), the LSA gain takes the a-priori SNR up to 3 dB higher, which
   spares the weak parts of speech;
3. isolated one-bin peaks of the gain in noise-only regions (the seeds of
   musical noise) are brought down to their neighbours' level;
4. the frames are transformed back, windowed again and overlap-added.

Tuning and its material
-----------------------
The constants (decision-directed factor 0.95, speech prior 10 dB for the
presence probability, 2 s minimum window, 15 dB default reduction) were
chosen on Allison's prompts 200-205 and 300-305 (``tests/reference/dialogue.py``)
mixed with recorded vinyl hiss and a 3D printer at 5 and 20 dB SNR. The
speech-presence weighting takes Cohen's published constants; it and the
wider smoothing of the estimate were chosen looking at that material and at
the tests' (the codec2 wideband male voice and prompts 0-4); the high-SNR
factor on all of that and on prompts 20-24, 150-154 and 250-254 (other
stretches of the noise), at 5, 10 and 20 dB SNR. The tolerances by which a
learned profile follows noise that moves were chosen on prompts 200-205 and
300-305 and the two benchmark materials, with 1.5 s of noise before the speech.
The benchmark also reports prompts 100-104 with another stretch of the noise,
held out from all of it.

With ``stereo_link`` (the default) the periodograms of the channels are
averaged and one gain serves every channel, so the stereo image holds still.

Cost
----
The frames of a block are windowed (read in place from the pending samples
and the block), transformed and overlap-added in batches of 64 (one FFT
call each way: scipy's in float32 for float32 audio, numpy's for float64), and the finished
samples are written straight into the output; the sequential part, per frame
over all bins, is one numba kernel that also applies the gains. Figures
(CPU time against noisereduce's default non-stationary gating, in the same
run) are in ``docs/benchmarks.md`` (``benchmarks/bench_denoise.py``).

Latency
-------
A sample's output is final once the last frame that covers it is complete:
``frame - 1`` samples later. The node reports ``latency_samples = frame - 1``
and its output is the input delayed by exactly that (where every gain is 1:
with ``reduction_db=0`` the node is a pure delay, to rounding). Blocks of any
size give the samples of the whole signal processed at once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_audio, check_finite, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node, check_stream_channels

__all__ = ["Denoise", "DenoiseState"]

# Frames transformed per batch: bounds the memory of a long one-shot call and keeps a batch in cache.
_BATCH = 64


@functools.lru_cache(maxsize=32)
def _plan(frame_s: float, sample_rate: int) -> Any:
    from sonicmix.dsp.spectral import stft_plan  # imports numba; loaded on first use

    return stft_plan(frame_s, sample_rate)


@dataclass(slots=True)
class DenoiseState:
    """Streaming state of a :class:`Denoise`.

    ``pending`` holds the input not yet consumed by a complete frame (the
    last ``frame - hop`` samples of the previous frame and up to ``hop - 1``
    new ones), ``tail`` the overlap-add's partial sums after the finished
    samples, ``ready`` finished output not yet returned, ``spectral`` the
    noise tracker and a-priori SNR memory.
    """

    pending: np.ndarray  # (channels, frame - hop + r), float32 for float32 audio, else float64
    tail: np.ndarray  # (channels, frame - hop), float64
    ready: np.ndarray  # (channels, m), float64: finished output beyond what the last block returned
    spectral: Any  # sonicmix.dsp.spectral.SpectralState (it counts the frames)


@dataclass(frozen=True, slots=True, kw_only=True)
class Denoise(Node):
    """Spectral noise reduction for dialogue: adaptive noise estimate, speech-presence-weighted LSA gain.

    Broadband, steady or slowly changing noise (hiss, air conditioning, fans,
    machine noise, rumble) is reduced by up to ``reduction_db`` while speech passes
    with little change. The noise estimate adapts on its own; give
    ``profile_s`` to learn it from a region of noise alone instead.

    Parameters
    ----------
    reduction_db : float, default 15.0
        Largest attenuation of any frequency bin, in dB (the gain floor, which
        also keeps a natural residue of the noise under the speech).
        ``0 <= reduction_db <= 40``; 0 passes the input through, delayed.
    profile_s : (float, float) or None, default None
        ``(start_s, end_s)`` of a region of noise alone (room tone), in
        seconds from the start of the audio. Frames entirely inside the region
        are averaged into a noise profile that is used from the region's start
        on, instead of the adaptive estimate (streamed processing cannot look
        ahead, so the audio before the region uses the adaptive estimate).
        After the region the profile keeps its shape and level but where the
        noise moves away from it: where the adaptive estimate rises more than
        3 dB (or falls more than 0.8 dB) from its own mean over the region,
        the profile follows by the excess, so that noise that changes is
        neither left in nor taken with speech. Frames of digital silence are
        left out of the profile (a region of silence alone leaves the node
        adapting), so a region may start right where the silence of a
        file's head ends. After a dithered or quiet head the tracker starts
        again about 0.75 s into the noise, and what the region learnt up to
        then is dropped: the rest of the region learns the noise again, and a
        region that ended before leaves the node adapting. At least one frame
        must fit:
        ``end_s - start_s >= frame_s``; a region past the end of the audio is
        refused when the audio is processed in one call.
    frame_s : float, default 0.032
        Length of the analysis frame, in seconds (rounded to a multiple of 4
        samples; the hop is a quarter of it). Longer frames resolve frequency
        more finely (better on steady tonal noise) and smear time more; the
        latency is one frame less a sample. ``0.01 <= frame_s <= 0.1``.
    stereo_link : bool, default True
        One gain for all channels (from their average power), so the image
        does not wander; ``False`` treats each channel on its own.
    speech_low_hz : float, default 70.0
        Below this frequency, in Hz, everything is taken as noise and reduced
        by ``reduction_db`` (dialogue has no energy below its lowest
        fundamental; rumble, handling and traffic noise have much). Unlike a
        high-pass filter this shifts no phase. Bins whose centre lies below
        it are affected. ``0 <= speech_low_hz <= 200``; 0 turns it off.

    Raises
    ------
    AudioError
        For audio with a NaN or inf sample, from ``process`` too (the message
        names the channel and the sample's index in the stream), before the
        state is touched: the stream can go on with the block repaired. A NaN
        let into the noise tracker would make every later output NaN.

    See Also
    --------
    sonicmix.dsp.spectral : the framing, the tracker and the gain rule.

    Notes
    -----
    Latency: ``latency_samples(sample_rate)`` is the frame length less one
    sample (1535 samples at 48 kHz with the default frame); the output is
    the input delayed by that much where the gain is 1.

    Smoothing against musical noise: the decision-directed a-priori SNR
    (smoothing factor 0.95 per hop, 8 ms with the default frame) keeps the gain of noise-only bins
    from following the periodogram's random peaks (smoothing in time); the
    speech presence probability, from the a-priori SNR averaged over
    neighbouring frames and bins, takes the gain to the floor where a peak
    stands alone; a gain that still stands alone above both neighbours near
    the floor is brought down to them (in frequency; plain averaging over
    neighbouring bins was tried and cost 0.5 to 2.5 dB of SI-SDR, because it
    also lowers the gain on the peaks of speech harmonics); and the floor
    keeps a little of the noise, which masks what remains. The noise
    tracker's own presence probability keeps the estimate from following speech.

    Automation (in a graph; see ``docs/automation.md``): ``reduction_db`` may
    follow an envelope; a change applies from the next frame that completes.
    ``frame_s`` sets the latency and the state's buffers, ``profile_s`` is a
    region learned once, ``stereo_link`` sets the number of gains and
    ``speech_low_hz`` is a property of the material, so these cannot follow
    automation.

    References
    ----------
    Y. Ephraim and D. Malah, IEEE Trans. ASSP 33(2), 1985 (log-spectral
    amplitude estimator); T. Gerkmann and R. C. Hendriks, IEEE Trans. ASLP
    20(4), 2012 (noise power by speech presence probability); R. Martin,
    IEEE Trans. SAP 9(5), 2001 (minimum statistics); I. Cohen and B. Berdugo,
    Signal Processing 81(11), 2001 (speech presence probability for the gain, OM-LSA).

    Examples
    --------
    >>> import numpy as np
    >>> rate = 16000
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(2 * rate) / rate
    >>> tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (t > 1.0)
    >>> x = (tone + 0.01 * rng.standard_normal(t.size))[np.newaxis]
    >>> denoise = Denoise(reduction_db=20.0)
    >>> y = denoise(x, rate)
    >>> d = denoise.latency_samples(rate)
    >>> before, after = np.std(x[0, 8000:16000 - d]), np.std(y[0, 8000 + d:16000])
    >>> bool(20 * np.log10(before / after) > 10)  # the noise alone: about 17 dB down here
    True

    Streaming in two chunks gives the same samples:

    >>> state = denoise.init_state(1, rate, x.dtype)
    >>> a, state = denoise.process(x[:, :5000], rate, state)
    >>> b, state = denoise.process(x[:, 5000:], rate, state)
    >>> bool(np.allclose(np.concatenate([a, b], axis=1), y, atol=1e-12))
    True
    """

    reduction_db: float = 15.0
    profile_s: tuple[float, float] | None = None
    frame_s: float = 0.032
    stereo_link: bool = True
    speech_low_hz: float = 70.0

    automatable: ClassVar[frozenset[str]] = frozenset({"reduction_db"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "frame_s": (
            "it sets the latency, which a graph compensates once before the render starts, and the "
            "length of the state's buffers"
        ),
        "profile_s": "it is a region of the stream, learned once as the stream passes it",
        "stereo_link": "it is a choice (True or False), not a number, and it sets the number of gains",
        "speech_low_hz": (
            "it describes the material (the lowest frequency of the voice), not a setting to ride"
        ),
    }

    def __post_init__(self) -> None:
        check_range(
            "reduction_db", self.reduction_db, low=0.0, high=40.0, hint="dB of attenuation, e.g. 15.0"
        )
        check_range("frame_s", self.frame_s, low=0.01, high=0.1, hint="seconds: for 32 ms use 0.032")
        check_range(
            "speech_low_hz", self.speech_low_hz, low=0.0, high=200.0, hint="Hz, e.g. 70.0; 0 for none"
        )
        if not isinstance(self.stereo_link, (bool, np.bool_)):
            raise ParameterError(
                f"stereo_link={self.stereo_link!r} is not a bool; expected True (one gain) or False"
            )
        if self.profile_s is not None:
            region = self.profile_s
            if not isinstance(region, (tuple, list)) or len(region) != 2:
                raise ParameterError(
                    f"profile_s={region!r}; expected (start_s, end_s) in seconds, e.g. (0.0, 0.5), or None"
                )
            start = check_range("profile_s[0]", region[0], low=0.0, hint="seconds from the audio's start")
            end = check_range("profile_s[1]", region[1], low=0.0, hint="seconds from the audio's start")
            if end - start < self.frame_s:
                raise ParameterError(
                    f"profile_s=({start:g}, {end:g}) is {end - start:g} s long; expected at least "
                    f"frame_s={self.frame_s:g} s (one analysis frame) of noise alone"
                )
            object.__setattr__(self, "profile_s", (start, end))

    def latency_samples(self, sample_rate: int) -> int:
        """The frame length less one sample: the output's delay."""
        return _plan(float(self.frame_s), int(sample_rate)).frame - 1

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> DenoiseState:
        from sonicmix.dsp.spectral import init_spectral

        plan = _plan(float(self.frame_s), int(sample_rate))
        groups = 1 if self.stereo_link else channels
        return DenoiseState(
            pending=np.zeros((channels, plan.frame - plan.hop)),
            tail=np.zeros((channels, plan.frame - plan.hop)),
            ready=np.zeros((channels, plan.hop - 1)),
            spectral=init_spectral(groups, plan.frame // 2 + 1),
        )

    def _profile_frames(self, sample_rate: int) -> tuple[int, int]:
        """Stream indices of the first and last frame inside the profile region ((1, 0): none)."""
        if self.profile_s is None:
            return (1, 0)
        plan = _plan(float(self.frame_s), int(sample_rate))
        start = int(np.ceil(self.profile_s[0] * sample_rate - 1e-9))
        end = int(np.floor(self.profile_s[1] * sample_rate + 1e-9))
        # frame m covers audio samples m*hop - (frame - hop) ... m*hop + hop - 1
        offset = plan.frame - plan.hop
        first = -(-(start + offset) // plan.hop)
        last = (end - plan.hop) // plan.hop
        return (first, last)

    def __call__(self, audio: Audio, sample_rate: int, *, key: Audio | None = None) -> Audio:
        """Process a whole buffer in one go; refuses a ``profile_s`` region past its end.

        Parameters
        ----------
        audio : np.ndarray, shape=(channels, samples)
            float32 or float64 input; the output has the same dtype.
        sample_rate : int
            Sample rate in Hz.
        """
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        if self.profile_s is not None and x.shape[1] > 0:
            duration = x.shape[1] / rate
            if self.profile_s[1] > duration + 1e-9:
                raise ParameterError(
                    f"profile_s=({self.profile_s[0]:g}, {self.profile_s[1]:g}) ends after the audio, "
                    f"which lasts {duration:g} s; expected a region of noise alone inside the audio"
                )
        return Node.__call__(self, x, rate, key=key)

    def process(
        self, x: Audio, sample_rate: int, state: DenoiseState, *, key: Audio | None = None
    ) -> tuple[Audio, DenoiseState]:
        from sonicmix.dsp.spectral import frame_spectra, overlap_add, suppress

        plan = _plan(float(self.frame_s), int(sample_rate))
        check_stream_channels(self, x, state.pending.shape[0])
        # a NaN in the noise tracker would stay there and make every later output NaN: refused before
        # the state is touched, named by its place in the stream (frames seen, then the pending samples)
        received = int(state.spectral.counts[0]) * plan.hop + state.pending.shape[1] - (plan.frame - plan.hop)
        check_finite(x, "Denoise: the block", int(sample_rate), offset=received)
        channels, n = x.shape
        floor = 10.0 ** (-float(self.reduction_db) / 20.0)
        profile = self._profile_frames(sample_rate)
        low = int(np.ceil(float(self.speech_low_hz) * plan.frame / sample_rate - 1e-9))
        # float32 audio is framed and transformed in float32; gains are computed in float64. The
        # frames are read from the pending samples and the block where they lie (no joined copy of
        # the block), and the finished samples are written straight into the output.
        work = np.float32 if x.dtype == np.float32 else np.float64
        block = x.astype(work, copy=False)
        pending = state.pending.astype(work, copy=False)
        line = pending.shape[1] + n
        total = (line - (plan.frame - plan.hop)) // plan.hop
        out = np.empty((channels, n), x.dtype)
        spill: list[np.ndarray] = []
        filled = 0

        def emit(samples: np.ndarray) -> None:
            nonlocal filled
            take = min(samples.shape[1], n - filled)
            out[:, filled : filled + take] = samples[:, :take]
            filled += take
            if take < samples.shape[1]:
                spill.append(samples[:, take:])

        emit(state.ready)
        for first in range(0, total, _BATCH):
            count = min(_BATCH, total - first)
            spectra = frame_spectra(block, plan, count, first=first, history=pending)
            suppress(spectra, plan, state.spectral, floor=floor, linked=self.stereo_link,
                     profile_frames=profile, low_bins=low)  # fmt: skip
            finished, state.tail = overlap_add(spectra, plan, state.tail)
            emit(finished)
        # what the next frame needs: the line from the next frame's start on
        keep = total * plan.hop
        if keep >= pending.shape[1]:
            state.pending = block[:, keep - pending.shape[1] :].copy()
        else:
            state.pending = np.concatenate([pending[:, keep:], block], axis=1)
        state.ready = np.concatenate(spill, axis=1) if spill else np.zeros((channels, 0))
        return out, state
