"""Reverbs: convolution with a measured impulse response, and an algorithmic (FDN) reverb.

Both are zero-latency, dry/wet crossfaded nodes:
``y = (1 - mix) * x + mix * wet``.

- :class:`ConvolutionReverb` convolves with an impulse response given as an
  array or a file, by uniformly partitioned FFT convolution
  (:mod:`sonicmix.dsp.convolution`).
- :class:`Reverb` is a 16-line feedback delay network with a reverberation
  time per band (:mod:`sonicmix.dsp.fdn`).

Both import their engines (scipy.fft, numba) only when a state is built.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = ["ImpulseResponse", "ConvolutionReverb", "Reverb", "ReverbState"]


class ImpulseResponse:
    """An immutable, hashable impulse response ``(channels, taps)``, float32 or float64.

    It is what :class:`ConvolutionReverb` stores when given an array, so that
    the node stays a frozen, hashable value. It compares equal to another
    impulse response with the same shape, dtype and samples. Its ``repr`` is
    the numpy ``array(...)`` literal of its samples, written out in full with
    every value exact (shortest round-trip digits), so a node's ``repr``
    evaluates back to an equal node (for a long response, that text is long:
    a 2 s stereo response at 48 kHz gives about 2 MB).

    Parameters
    ----------
    samples : array_like, shape=(channels, taps) or (taps,)
        Finite float32 or float64 samples (a 1-D array is one channel;
        other sequences are converted to float64). They are copied.

    Examples
    --------
    >>> import numpy as np
    >>> ir = ImpulseResponse(np.array([[1.0, 0.5, 0.25]], dtype=np.float32))
    >>> ir
    array([[1.  , 0.5 , 0.25]], dtype=float32)
    >>> ir.channels, ir.taps, ir == ImpulseResponse(ir.samples)
    (1, 3, True)
    """

    __slots__ = ("_data", "_shape", "_dtype", "_hash")

    def __init__(self, samples: Any) -> None:
        if isinstance(samples, ImpulseResponse):
            samples = samples.samples
        if not isinstance(samples, np.ndarray):
            try:
                samples = np.asarray(samples, dtype=np.float64)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"impulse_response={samples!r:.80} is not an array of numbers; expected a "
                    "(channels, taps) float array or the path of an audio file"
                ) from None
        if samples.ndim == 1:
            samples = samples[np.newaxis, :]
        x = check_audio(samples, "impulse_response")
        x = np.ascontiguousarray(x)
        self._data = x.tobytes()
        self._shape = x.shape
        self._dtype = x.dtype.str
        # A digest, not hash(): str hashes change between processes, and a pickled value keeps this.
        digest = hashlib.blake2b(repr((x.shape, x.dtype.str)).encode(), digest_size=8)
        digest.update(self._data)
        self._hash = int.from_bytes(digest.digest(), "little", signed=True)

    @property
    def samples(self) -> np.ndarray:
        """The samples, as a read-only ``(channels, taps)`` array."""
        return np.frombuffer(self._data, dtype=np.dtype(self._dtype)).reshape(self._shape)

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self._shape[0])

    @property
    def taps(self) -> int:
        """Length in samples."""
        return int(self._shape[1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImpulseResponse):
            return NotImplemented
        return (self._shape, self._dtype, self._data) == (other._shape, other._dtype, other._data)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        with np.printoptions(threshold=sys.maxsize, floatmode="unique"):
            return repr(self.samples)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvolutionReverb(Node):
    """Convolve with an impulse response (a measured room, plate, cabinet, ...), with no latency.

    The wet signal is the exact linear convolution of the input with the
    impulse response, unscaled, after ``pre_delay_s`` of silence; the output
    is ``y = (1 - mix) * x + mix * wet``. A one-channel response is applied
    to every channel; a response with as many channels as the input applies
    channel ``c`` to channel ``c`` (a stereo response on a stereo input).
    Any other channel count is refused (there is no true-stereo, 2-in 4-out
    mode; upmix or split the input first).

    Parameters
    ----------
    impulse_response : array_like or str or os.PathLike
        The response as a ``(channels, taps)`` float array (a 1-D array is one
        channel), or the path of an audio file read with :func:`sonicmix.io.read`
        when the state is built. Arrays are stored as an :class:`ImpulseResponse`.
    ir_sample_rate : int or None, default None
        Sample rate in Hz of an array response. If it differs from the rate
        the node runs at, the response is resampled with soxr ("VHQ") when the
        state is built; None means the response is already at the processing
        rate. Must be None for a file, whose header gives the rate (a file is
        resampled the same way).
    pre_delay_s : float, default 0.0
        Silence before the response, in seconds, 0 <= pre_delay_s <= 1.
    mix : float, default 1.0
        Wet share of the output, 0 (dry only) to 1 (wet only), as in
        pedalboard's ``Convolution``.

    Other Parameters
    ----------------
    partition_samples : int or None, default None
        FFT partition size, a power of two from 16 to 65536; None chooses
        one from the response's length (:func:`sonicmix.dsp.convolution.auto_partition`).
        It changes speed, never the output (beyond float rounding): whole
        partitions cost two FFTs each; shorter blocks also pay for a partial
        convolution of up to one partition, so for small streaming blocks a
        smaller partition is faster.

    Raises
    ------
    ParameterError
        For an invalid parameter, or an impulse response that is not a finite
        float array or a path.
    LayoutError
        From ``init_state``, if the response's channel count is neither 1
        nor the input's.
    AudioFileError
        From ``init_state``, if the file cannot be read.

    See Also
    --------
    Reverb : an algorithmic reverb with adjustable decay times.

    Notes
    -----
    Latency is zero: each output sample is computed in the call that
    delivers its input sample, for any block sizes (see
    :mod:`sonicmix.dsp.convolution`). The state holds the spectra of the
    response and of as much past input, about ``(ir_channels + channels) *
    (taps + pre-delay)`` complex values, whatever the programme's length.
    Float32 audio is convolved in single precision (error around 1e-7 of
    the output's peak).

    Automation (in a graph; see ``docs/automation.md``): ``mix`` may follow
    an envelope, changing at the start of each control block. The response,
    its rate, ``pre_delay_s`` and ``partition_samples`` fix the partitioned
    spectra and their memory, so they cannot.

    The ``repr`` of a node built from an array spells out every sample
    (see :class:`ImpulseResponse`); build nodes for long responses from files
    if a compact ``repr`` matters.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 6), dtype=np.float32)
    >>> x[0, 0], x[0, 3] = 1.0, 2.0
    >>> node = ConvolutionReverb(impulse_response=np.array([[1.0, 0.0, -0.5]]))
    >>> node(x, 48000)
    array([[ 1. ,  0. , -0.5,  2. ,  0. , -1. ]], dtype=float32)

    Two chunks give the one-shot result:

    >>> state = node.init_state(1, 48000, np.float32)
    >>> a, state = node.process(x[:, :4], 48000, state)
    >>> b, state = node.process(x[:, 4:], 48000, state)
    >>> np.concatenate([a, b], axis=1)
    array([[ 1. ,  0. , -0.5,  2. ,  0. , -1. ]], dtype=float32)
    """

    impulse_response: ImpulseResponse | str
    ir_sample_rate: int | None = None
    pre_delay_s: float = 0.0
    mix: float = 1.0
    partition_samples: int | None = None

    automatable: ClassVar[frozenset[str]] = frozenset({"mix"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "impulse_response": "the response is transformed into partitioned spectra when the stream starts",
        "ir_sample_rate": "the response is resampled once, when the stream starts",
        "pre_delay_s": (
            "the pre-delay is part of the partitioned response, whose memory holds as much past input"
        ),
        "partition_samples": "it sets the FFT size and the layout of the convolution's memory",
    }

    def __post_init__(self) -> None:
        ir = self.impulse_response
        if isinstance(ir, os.PathLike):
            ir = os.fspath(ir)
        if isinstance(ir, bytes):
            raise ParameterError("impulse_response is bytes; expected a str path or a float array")
        if isinstance(ir, str):
            if not ir:
                raise ParameterError("impulse_response='' is an empty path; expected an audio file's path")
            if self.ir_sample_rate is not None:
                raise ParameterError(
                    f"ir_sample_rate={self.ir_sample_rate!r} was given with a file; expected None "
                    "(the file's header gives its rate)"
                )
        elif not isinstance(ir, ImpulseResponse):
            ir = ImpulseResponse(ir)
        object.__setattr__(self, "impulse_response", ir)
        if self.ir_sample_rate is not None:
            rate = check_sample_rate(self.ir_sample_rate, "ir_sample_rate")
            object.__setattr__(self, "ir_sample_rate", rate)
        check_range("pre_delay_s", self.pre_delay_s, low=0.0, high=1.0, hint="seconds: for 20 ms use 0.02")
        check_range("mix", self.mix, low=0.0, high=1.0)
        p = self.partition_samples
        if p is not None:
            ok = isinstance(p, (int, np.integer)) and not isinstance(p, bool) and 16 <= p <= 65536
            if not ok or p & (p - 1):
                raise ParameterError(
                    f"partition_samples={p!r} is invalid; expected a power of two from 16 to 65536, "
                    "or None to choose one from the response's length"
                )
            object.__setattr__(self, "partition_samples", int(p))

    def _response(self, sample_rate: int) -> np.ndarray:
        """The impulse response at ``sample_rate``, float64, pre-delay included."""
        ir = self.impulse_response
        if isinstance(ir, str):
            from sonicmix.io import read

            h, file_rate = read(ir, dtype="float64")
            h = _resample(h, file_rate, sample_rate)
        else:
            h = _resampled(ir, self.ir_sample_rate or sample_rate, sample_rate)
        delay = int(round(self.pre_delay_s * sample_rate))
        if delay:
            h = np.concatenate((np.zeros((h.shape[0], delay)), h), axis=1)
        return h

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> Any:
        from sonicmix.dsp import convolution

        h = self._response(sample_rate)
        if h.shape[0] not in (1, channels):
            raise LayoutError(
                f"impulse_response has {h.shape[0]} channels but the audio has {channels}; expected "
                f"1 (applied to every channel) or {channels} (one per channel)"
            )
        return convolution.new_state(h, channels, dtype, self.partition_samples)

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        from sonicmix.dsp import convolution

        check_stream_dtype(self, x, state.window.dtype)
        y = convolution.process(x, state)
        if self.mix != 1.0:
            y *= x.dtype.type(self.mix)
            y += x.dtype.type(1.0 - self.mix) * x
        return y, state


@functools.lru_cache(maxsize=8)
def _resampled(ir: ImpulseResponse, from_rate: int, to_rate: int) -> np.ndarray:
    return _resample(ir.samples.astype(np.float64), from_rate, to_rate)


def _resample(h: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """An impulse response at another rate: soxr ("VHQ"), scaled by ``from_rate / to_rate``.

    Resampling keeps a signal's amplitude, but an impulse response is a filter
    whose taps are summed once per output sample: at twice the rate there are
    twice the taps, so they must be halved for the filter's gain (its
    frequency response) to stay the same.
    """
    if from_rate == to_rate:
        return h
    import soxr

    out = soxr.resample(np.ascontiguousarray(h.T), from_rate, to_rate, quality="VHQ")
    out = np.asarray(out, dtype=np.float64).reshape(-1, h.shape[0]).T * (from_rate / to_rate)
    return np.ascontiguousarray(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reverb(Node):
    """Algorithmic reverb: a 16-line feedback delay network with a decay time per band.

    The input goes through a pre-delay, then splits: a sparse tapped delay
    gives early reflections (over 4-65 ms, different taps per channel), and
    a one-pole low-pass ("damping") followed by four all-pass diffusers
    feeds the late reverberation, a feedback delay network (Jot) of sixteen
    lines of mutually prime lengths (21-63 ms) mixed by a Hadamard matrix.
    Each line's absorption filter loses exactly the energy that gives the
    requested reverberation time (RT60) per band: ``decay_low_s`` below
    ``crossover_low_hz``, ``decay_s`` between the crossovers and
    ``decay_high_s`` above ``crossover_high_hz`` (second-order shelves, so
    each transition spans about an octave). Every channel feeds the whole
    network and reads it back with its own sign pattern, so the outputs are
    decorrelated; ``width`` blends them towards their mean. The output is
    ``y = (1 - mix) * x + mix * wet``.

    Parameters
    ----------
    decay_s : float, default 2.0
        Reverberation time (RT60, time to decay by 60 dB) between the
        crossovers, in seconds, 0.1 <= decay_s <= 60.
    decay_low_s : float or None, default None
        RT60 below ``crossover_low_hz``; None for ``decay_s``. Same range.
    decay_high_s : float or None, default None
        RT60 above ``crossover_high_hz``; None for ``decay_s``. Same range.
    pre_delay_s : float, default 0.0
        Delay before the first reflection, in seconds, 0 <= pre_delay_s <= 1.
    mix : float, default 0.3
        Wet share of the output, 0 (dry only) to 1 (wet only).

    Other Parameters
    ----------------
    crossover_low_hz : float, default 250.0
        Crossover between the low and mid bands, 20 <= crossover_low_hz <= 5000.
    crossover_high_hz : float, default 4000.0
        Crossover between the mid and high bands, at least an octave above
        ``crossover_low_hz`` and at most 20 kHz; it must lie below the
        Nyquist frequency of the sample rate in use.
    early_db : float, default -6.0
        Level of the early reflections relative to the late tail, in dB,
        -120 <= early_db <= 12 (-120 leaves them out in practice).
    damping_hz : float, default 10000.0
        Cut-off of the one-pole low-pass that darkens the sound entering the
        late reverberation, 20 <= damping_hz <= 100000 (far above the
        Nyquist frequency it does almost nothing). It sets the tone of the
        tail; ``decay_high_s`` sets how fast the highs die away.
    diffusion : float, default 0.75
        Gain of the input all-pass diffusers, 0 (none) <= diffusion <= 0.9:
        higher values smear each attack into a denser onset. For short decays
        the gains are lowered so that no diffuser rings longer than a quarter
        of the shortest decay time.
    width : float, default 1.0
        Stereo (multichannel) width of the wet signal: 1 keeps the channels'
        decorrelated reverbs, 0 gives every channel their mean.

    Raises
    ------
    ParameterError
        For a parameter out of range, and from ``init_state`` if
        ``crossover_high_hz`` is not below the Nyquist frequency.

    See Also
    --------
    ConvolutionReverb : the reverb of a measured impulse response.

    Notes
    -----
    Level: the late tail is scaled (by simulating its impulse response once
    per design) so that white noise of equal power on every input channel
    gives a late tail of the same power on every output, damping included;
    the early reflections add ``early_db`` on top. Bands with longer decays
    carry proportionally more energy, as in a room.

    The measured RT60 (Schroeder backward integration, T30 fit) matches
    ``decay_s`` to within a few per cent from 0.2 s to 30 s, and each band's
    decay in octave bands two octaves or more from the crossovers.

    Latency is zero. The network runs in a compiled kernel (numba, in the
    audio's precision) that steps block by block no longer than the shortest
    delay, so the output is identical for any split of the input into calls.

    Automation (in a graph; see ``docs/automation.md``): every parameter
    but ``pre_delay_s`` may follow an envelope, changing at the start of
    each control block. The delay lines, diffusers and filter memories carry
    on; only coefficients change. ``mix``, ``width`` and ``early_db`` are
    output gains and cost nothing to change. The decay times, crossovers,
    ``damping_hz`` and ``diffusion`` redesign the network's filters and
    re-normalise the late level (the tail's power for the new design), which
    costs a simulation of the network the first time a value is seen (about
    12 ms for a 2 s decay at 48 kHz; 64 designs are cached): a ramp over
    many values renders slower than real time while it moves. The tail
    already in the network is rescaled with the late level when it changes.
    ``pre_delay_s`` sets the length of the input history and the early
    reflection taps, so it is not automatable.

    References
    ----------
    J.-M. Jot and A. Chaigne, "Digital delay networks for designing artificial
    reverberators", 90th AES Convention, preprint 3030, 1991.
    M. R. Schroeder, "New method of measuring reverberation time",
    J. Acoust. Soc. Am. 37, 409 (1965).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 4800), dtype=np.float32)
    >>> x[:, 0] = 1.0
    >>> node = Reverb(decay_s=0.5, mix=1.0)
    >>> y = node(x, 48000)
    >>> y.shape, y.dtype
    ((2, 4800), dtype('float32'))

    Two chunks give the one-shot result:

    >>> state = node.init_state(2, 48000, np.float32)
    >>> a, state = node.process(x[:, :1000], 48000, state)
    >>> b, state = node.process(x[:, 1000:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), y))
    True
    """

    decay_s: float = 2.0
    decay_low_s: float | None = None
    decay_high_s: float | None = None
    pre_delay_s: float = 0.0
    mix: float = 0.3
    crossover_low_hz: float = 250.0
    crossover_high_hz: float = 4000.0
    early_db: float = -6.0
    damping_hz: float = 10000.0
    diffusion: float = 0.75
    width: float = 1.0

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"decay_s", "decay_low_s", "decay_high_s", "mix", "crossover_low_hz", "crossover_high_hz",
         "early_db", "damping_hz", "diffusion", "width"}
    )  # fmt: skip
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "pre_delay_s": (
            "it sets the length of the input history and where the early reflections tap it; "
            "automate mix or early_db instead"
        ),
    }

    def __post_init__(self) -> None:
        hint = "RT60 in seconds: for 1500 ms use 1.5"
        check_range("decay_s", self.decay_s, low=0.1, high=60.0, hint=hint)
        for name in ("decay_low_s", "decay_high_s"):
            value = getattr(self, name)
            if value is not None:
                check_range(name, value, low=0.1, high=60.0, hint=hint + "; or None for decay_s")
        check_range("pre_delay_s", self.pre_delay_s, low=0.0, high=1.0, hint="seconds: for 20 ms use 0.02")
        check_range("mix", self.mix, low=0.0, high=1.0)
        check_range("crossover_low_hz", self.crossover_low_hz, low=20.0, high=5000.0)
        check_range(
            "crossover_high_hz",
            self.crossover_high_hz,
            low=2.0 * float(self.crossover_low_hz),
            high=20000.0,
            hint=f"at least an octave above crossover_low_hz={self.crossover_low_hz:g}",
        )
        check_range("early_db", self.early_db, low=-120.0, high=12.0)
        check_range("damping_hz", self.damping_hz, low=20.0, high=100000.0)
        check_range("diffusion", self.diffusion, low=0.0, high=0.9, hint="all-pass gains of 0.9 or more ring")
        check_range("width", self.width, low=0.0, high=1.0)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> ReverbState:
        from sonicmix.dsp import fdn

        return ReverbState(node=self, fdn=fdn.new_state(self._design(channels, sample_rate), channels, dtype))

    def retune(self, state: ReverbState, sample_rate: int) -> ReverbState:
        """Carry a stream over to changed parameters (automation; see the Notes).

        The network's memories are kept; its coefficients are redesigned, or
        only the output gains are replaced when nothing else changed.
        """
        from sonicmix.dsp import fdn

        old = state.node
        if old == self:
            return state
        changed = {f.name for f in fields(self) if getattr(self, f.name) != getattr(old, f.name)}
        if "pre_delay_s" in changed:
            raise ParameterError(
                f"Reverb.retune: pre_delay_s changed ({old.pre_delay_s:g} -> {self.pre_delay_s:g}); "
                "expected only automatable parameters to change (build a new state for a new pre-delay)"
            )
        net = state.fdn
        channels = net.damping_memory.shape[0]
        dtype = net.work.dtype
        scalars = net.coefs[1]
        if changed <= {"mix", "width", "early_db"}:
            # output gains only: the values new_state derives from the design's mix, width and early_db
            scalars = scalars.copy()
            scalars[0] = 1.0 - self.mix
            scalars[1] = self.mix
            scalars[2] = self.width
            scalars[4] = 10.0 ** (self.early_db / 20.0)
            net.coefs = (net.coefs[0], scalars, *net.coefs[2:])
        else:
            fresh = fdn.new_state(self._design(channels, sample_rate), channels, dtype)
            net.coefs = fresh.coefs
            net.work[:10] = fresh.work[:10]  # the absorption filters' coefficients; rows 10-13 are memory
        state.node = self
        return state

    def _design(self, channels: int, sample_rate: int) -> Any:
        from sonicmix.dsp import fdn

        if self.crossover_high_hz >= sample_rate / 2:
            raise ParameterError(
                f"crossover_high_hz={self.crossover_high_hz:g} is not below the Nyquist frequency "
                f"{sample_rate / 2:g} Hz of sample_rate={sample_rate}; lower crossover_high_hz"
            )
        return fdn.design_fdn(
            channels,
            sample_rate,
            decay_s=float(self.decay_s),
            decay_low_s=float(self.decay_s if self.decay_low_s is None else self.decay_low_s),
            decay_high_s=float(self.decay_s if self.decay_high_s is None else self.decay_high_s),
            crossover_low_hz=float(self.crossover_low_hz),
            crossover_high_hz=float(self.crossover_high_hz),
            pre_delay_s=float(self.pre_delay_s),
            early_db=float(self.early_db),
            damping_hz=float(self.damping_hz),
            diffusion=float(self.diffusion),
            width=float(self.width),
            mix=float(self.mix),
        )

    def process(
        self, x: Audio, sample_rate: int, state: ReverbState, *, key: Audio | None = None
    ) -> tuple[Audio, ReverbState]:
        from sonicmix.dsp import fdn

        check_stream_dtype(self, x, state.fdn.work.dtype)
        return fdn.process(x, state.fdn), state


@dataclass(slots=True, eq=False)
class ReverbState:
    """Streaming state of a :class:`Reverb`: the network's state and the node it was designed for.

    Attributes
    ----------
    node : Reverb
        The parameters the coefficients in ``fdn`` follow (what :meth:`Reverb.retune` compares against).
    fdn : sonicmix.dsp.fdn.FdnState
        Delay memories, filter memories and coefficients.
    """

    node: Reverb
    fdn: Any
