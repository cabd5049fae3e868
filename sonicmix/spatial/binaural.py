"""Binaural rendering: loudspeaker layouts (or any set of directions) for headphones.

Each loudspeaker feed is convolved with the head-related impulse responses
(HRIRs) of its loudspeaker's direction, one for each ear, and the results are
summed into two channels, left ear first: the listener hears the loudspeakers
as the head the HRIRs were measured on heard them, in the free field (an
anechoic room: no reflections are added). The HRIRs come from a SOFA file
(:mod:`sonicmix.spatial.sofa`), by default the MIT KEMAR dummy-head set that
Debian's libmysofa1 installs.

- :class:`Binaural`: the node, from a named layout (``"5.1"``, ``"7.1.4"``,
  ``"22.2"``, a custom :class:`~sonicmix.layouts.Layout`), from a list of
  directions (``directions_deg=``: virtual loudspeakers, e.g. those an
  Ambisonics decoder feeds), or from an AmbiX scene (``"ambix1"`` to
  ``"ambix3"``: the HRIR set fitted in spherical harmonics of the order, equalised);
- :func:`render_binaural`: a whole array at once; :func:`render_binaural_file`:
  a file to a stereo file, block by block in constant memory;
- :func:`virtual_layout`: a :class:`~sonicmix.layouts.Layout` of virtual
  loudspeakers at given directions (what an Ambisonics decoder decodes to
  before :class:`Binaural`).

The convolution is the uniformly partitioned FFT convolution of
:mod:`sonicmix.dsp.convolution`, as a matrix (every input into both ears, the
sum over inputs taken in the frequency domain). It has no latency.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts import Layout, Position, get_layout, resolve_layout
from sonicmix.nodes.base import Node, check_stream_dtype
from sonicmix.spatial.ambisonics import order_of_channels
from sonicmix.spatial.sofa import HrirSet, load_hrirs

if TYPE_CHECKING:
    from sonicmix.dsp.convolution import ConvolverState

__all__ = [
    "Binaural",
    "BinauralState",
    "HrirChoice",
    "render_binaural",
    "render_binaural_file",
    "virtual_layout",
]


def _check_direction(where: str, direction: object) -> tuple[float, float]:
    try:
        azimuth_deg, elevation_deg = direction  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ParameterError(
            f"{where}={direction!r}; expected a pair (azimuth_deg, elevation_deg) in degrees"
        ) from None
    for label, value, limit in (("azimuth_deg", azimuth_deg, 180.0), ("elevation_deg", elevation_deg, 90.0)):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ParameterError(f"{where} has {label}={value!r}; expected a finite number of degrees")
        if not -limit <= value <= limit:
            raise ParameterError(
                f"{where} has {label}={float(value)!r}, out of range; expected -{limit:g} <= {label} <= "
                f"{limit:g} (BS.2051 angles: azimuth positive to the left, elevation positive upwards)"
            )
    return float(azimuth_deg), float(elevation_deg)


def virtual_layout(directions_deg: Sequence[tuple[float, float]], *, name: str = "virtual") -> Layout:
    """A layout of virtual loudspeakers at ``directions_deg``, channels named ``V1``, ``V2``, ...

    What an Ambisonics decoder can decode to before :class:`Binaural` renders
    it for headphones (``Binaural(layout=virtual_layout(...))`` and
    ``Binaural(directions_deg=...)`` are the same renderer).

    Parameters
    ----------
    directions_deg : sequence of (azimuth_deg, elevation_deg)
        Loudspeaker directions in degrees, BS.2051 signs (azimuth positive to
        the left, in [-180, 180]; elevation positive upwards, in [-90, 90]).
    name : str, default "virtual"
        The layout's name.

    Raises
    ------
    ParameterError
        If no direction is given or one is not a pair of finite angles in range.

    Examples
    --------
    >>> lay = virtual_layout([(45.0, 0.0), (-45.0, 0.0), (0.0, 90.0)])
    >>> lay.channels, lay.positions[2]
    (('V1', 'V2', 'V3'), Position(azimuth_deg=0.0, elevation_deg=90.0))
    """
    checked = _check_directions(directions_deg)
    return Layout(
        name,
        tuple(f"V{i + 1}" for i in range(len(checked))),
        positions=tuple(Position(*d) for d in checked),
    )


def _check_directions(directions_deg: object) -> tuple[tuple[float, float], ...]:
    if isinstance(directions_deg, np.ndarray):
        directions_deg = directions_deg.tolist()
    if isinstance(directions_deg, str | bytes) or not isinstance(directions_deg, Sequence):
        raise ParameterError(
            f"directions_deg={directions_deg!r:.80}; expected a sequence of (azimuth_deg, elevation_deg) "
            "pairs"
        )
    if not directions_deg:
        raise ParameterError("directions_deg is empty; expected at least one (azimuth_deg, elevation_deg)")
    return tuple(_check_direction(f"directions_deg[{i}]", d) for i, d in enumerate(directions_deg))


@dataclass(frozen=True, slots=True)
class HrirChoice:
    """Which measured direction renders one input channel (see :meth:`Binaural.hrir_choices`).

    Attributes
    ----------
    channel : str
        The channel's name (``"V1"``, ... for ``directions_deg``).
    azimuth_deg, elevation_deg : float
        The loudspeaker's direction, BS.2051 signs.
    hrir_azimuth_deg, hrir_elevation_deg : float
        The direction of the HRIR pair used (the nearest measured one).
    error_deg : float
        The great-circle angle between the two, in degrees.
    index : int
        The pair's index in the HRIR set.
    """

    channel: str
    azimuth_deg: float
    elevation_deg: float
    hrir_azimuth_deg: float
    hrir_elevation_deg: float
    error_deg: float
    index: int


@dataclass(slots=True, eq=False)
class BinauralState:
    """Stream state of a :class:`Binaural`.

    Attributes
    ----------
    convolver : sonicmix.dsp.convolution.ConvolverState
        The matrix convolution's state (its memory holds the last input blocks).
    inputs : np.ndarray or None
        Indices of the input channels that are convolved (None: all); a
        dropped LFE is left out.
    """

    convolver: ConvolverState
    inputs: np.ndarray | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Binaural(Node):
    """Render a loudspeaker layout for headphones by HRIR convolution: ``(channels, n)`` in, ``(2, n)`` out.

    Every loudspeaker channel is convolved with the pair of head-related
    impulse responses measured nearest to its position (great-circle angle)
    and the pairs' outputs are summed: ``left = sum_c hrir_left[c] * x[c]``,
    ``right = sum_c hrir_right[c] * x[c]``. The responses are used as measured,
    unscaled, so the output carries the head's level differences and the time
    the sound takes to reach each ear.

    An Ambisonics scene (``layout="ambix1"`` to ``"ambix3"``) is rendered with
    one filter pair per ACN channel, made before the stream starts: the least-squares
    fit, in spherical harmonics of the scene's order, of the pairs measured at every
    direction of the set (710 for KEMAR), so that a plane wave from ``d`` gives
    the order's best approximation of the pair measured at ``d``; then one
    equaliser per ear restores the high-frequency energy the order's truncation
    loses, averaged over the directions (diffuse-field equalisation, Ben-Hur et
    al. 2017). Below about ``order x 620`` Hz the ears get the measured pairs'
    level and time differences; above, the level difference and the direction
    blur as the order allows. A third-order scene costs what a 16-channel layout does.

    Parameters
    ----------
    layout : str or Layout or None, default None
        The input's layout: a name (``"stereo"``, ``"5.1"``, ``"7.1.4"``,
        ``"22.2"``, ``"ambix3"``, ...) or a :class:`~sonicmix.layouts.Layout` with
        positions. None means ``"stereo"`` unless ``directions_deg`` is given.
    directions_deg : sequence of (azimuth_deg, elevation_deg), optional
        Instead of a layout: one direction per input channel, in degrees
        (BS.2051 signs), e.g. the virtual loudspeakers an Ambisonics decoder
        feeds. No channel is an LFE. Stored as a tuple of float pairs.
    sofa : str or os.PathLike or HrirSet or None, default None
        The HRIRs: a SOFA file (AES69 SimpleFreeFieldHRIR, read when a stream
        starts), an :class:`~sonicmix.spatial.sofa.HrirSet`, or None for the
        installed default (MIT KEMAR from libmysofa1). A set at another
        sample rate is resampled with soxr ("VHQ").
    lfe_db : float or None, default None
        Gain of the LFE channel(s) into each ear, in dB, -120 <= lfe_db <= 20;
        None drops them, as :func:`sonicmix.layouts.downmix` does. Given, each
        LFE channel is added to both ears unfiltered at this gain, delayed by
        the arrival time of the frontal (0, 0) HRIRs (the sound's travel to the
        ears, so the bass stays in time with the front loudspeakers). A layout
        without an LFE refuses a value.

    Other Parameters
    ----------------
    max_error_deg : float, default 10.0
        Largest angle, in degrees (0 to 180), between a loudspeaker and the
        nearest measured HRIR direction; a loudspeaker farther from every
        measurement is refused when the stream starts (an HRIR set measured
        on the horizontal plane only cannot place a height channel). With
        the KEMAR set the largest angle over every named layout is 2.6 degrees.
    partition_samples : int or None, default None
        FFT partition size, a power of two from 16 to 65536; None chooses one
        from the responses' length (:func:`sonicmix.dsp.convolution.auto_partition`;
        1024 for KEMAR at 48 kHz). It changes speed, never the output.

    Raises
    ------
    ParameterError
        For an invalid parameter, ``layout`` and ``directions_deg`` both
        given, or ``lfe_db`` for a layout without an LFE.
    LayoutError
        For an unknown layout name or one without positions; from
        ``init_state``, an input whose channel count is not the layout's, or a
        loudspeaker farther than ``max_error_deg`` from every HRIR.
    SofaError
        From ``init_state``, if the SOFA file is missing or unusable (the
        message says how to install the default set).

    See Also
    --------
    render_binaural, render_binaural_file, virtual_layout, sonicmix.spatial.sofa.read_sofa

    Notes
    -----
    Latency: the convolution delivers each output sample in the call that
    delivers its input sample, for any block sizes, and the HRIRs are used as
    they are, so ``latency_samples`` is 0. The responses begin with the time
    the sound takes to reach the ears (the frontal KEMAR pair peaks 1.2 ms
    after its first sample; the measurement kept that much of the 4 ms the
    sound travels over 1.4 m), which is part of the rendered scene (the right
    ear hears a source on the left 0.7 ms after the left ear), not a
    processing delay, as a :class:`~sonicmix.nodes.reverb.ConvolutionReverb`
    does not count its pre-delay. A set resampled to the processing rate may
    need a few samples in front for the resampler's pre-ringing; those are
    reported (:meth:`~sonicmix.spatial.sofa.HrirSet.responses`): KEMAR at
    48 or 96 kHz needs none.

    The output has as many samples as the input; the last ``taps - 1``
    samples of the responses' tail (11.6 ms for KEMAR) after the input's end
    are not emitted (feed silence to get them). The state holds two blocks of
    input and the responses' spectra, whatever the programme's length.
    Float32 audio is convolved in single precision.

    Examples
    --------
    A toy HRIR set of two directions, whose far ear hears half as much one sample later:

    >>> import numpy as np
    >>> from sonicmix.spatial.sofa import HrirSet
    >>> irs = np.zeros((2, 2, 3))
    >>> irs[0, 0, 0], irs[0, 1, 1] = 1.0, 0.5      # +30 degrees (left)
    >>> irs[1, 1, 0], irs[1, 0, 1] = 1.0, 0.5      # -30 degrees (right)
    >>> node = Binaural(layout="stereo", sofa=HrirSet(irs, [(30.0, 0.0), (-30.0, 0.0)], 48000))
    >>> x = np.zeros((2, 4), dtype=np.float32)
    >>> x[0, 0] = 1.0                              # a click on the left loudspeaker
    >>> node(x, 48000)
    array([[1. , 0. , 0. , 0. ],
           [0. , 0.5, 0. , 0. ]], dtype=float32)

    Two chunks give the one-shot result:

    >>> state = node.init_state(2, 48000, np.float32)
    >>> a, state = node.process(x[:, :1], 48000, state)
    >>> b, state = node.process(x[:, 1:], 48000, state)
    >>> np.concatenate([a, b], axis=1)
    array([[1. , 0. , 0. , 0. ],
           [0. , 0.5, 0. , 0. ]], dtype=float32)

    With the installed KEMAR set, a 7.1.4 bed for headphones:

    >>> bed = np.zeros((12, 48000), dtype=np.float32)
    >>> Binaural(layout="7.1.4")(bed, 48000).shape  # doctest: +SKIP
    (2, 48000)
    """

    layout: str | Layout | None = None
    directions_deg: tuple[tuple[float, float], ...] | None = None
    sofa: str | HrirSet | None = None
    lfe_db: float | None = None
    max_error_deg: float = 10.0
    partition_samples: int | None = None

    def __post_init__(self) -> None:
        if self.directions_deg is not None:
            if self.layout is not None:
                raise ParameterError(
                    f"layout={_layout_name(self.layout)!r} and directions_deg were both given; expected one "
                    "of them (a layout's positions, or one direction per channel)"
                )
            object.__setattr__(self, "directions_deg", _check_directions(self.directions_deg))
        elif self.layout is not None:
            resolved = get_layout(self.layout)  # LayoutError for an unknown name, with a hint
            if not resolved.positions and not resolved.is_ambisonic:
                raise LayoutError(
                    f"layout={resolved.name!r} has no loudspeaker positions; expected a layout with "
                    "positions (a named one, or Layout(..., positions=...)), or pass directions_deg"
                )
        sofa = self.sofa
        if isinstance(sofa, os.PathLike):
            sofa = os.fspath(sofa)
        if isinstance(sofa, bytes) or not (sofa is None or isinstance(sofa, str | HrirSet)):
            raise ParameterError(
                f"sofa={sofa!r:.80} is a {type(sofa).__name__}; expected the path of a SOFA file (str), "
                "an HrirSet, or None for the installed default"
            )
        if isinstance(sofa, str) and not sofa:
            raise ParameterError("sofa='' is an empty path; expected a SOFA file's path, or None")
        object.__setattr__(self, "sofa", sofa)
        if self.lfe_db is not None:
            check_range("lfe_db", self.lfe_db, low=-120.0, high=20.0, hint="dB into each ear; None drops it")
            if not self._lfe_indices():
                raise ParameterError(
                    f"lfe_db={self.lfe_db!r} was given but {self._describe()} has no LFE channel; expected "
                    "lfe_db=None"
                )
            object.__setattr__(self, "lfe_db", float(self.lfe_db))
        check_range("max_error_deg", self.max_error_deg, low=0.0, high=180.0, hint="degrees")
        object.__setattr__(self, "max_error_deg", float(self.max_error_deg))
        p = self.partition_samples
        if p is not None:
            ok = isinstance(p, int | np.integer) and not isinstance(p, bool) and 16 <= p <= 65536
            if not ok or p & (p - 1):
                raise ParameterError(
                    f"partition_samples={p!r} is invalid; expected a power of two from 16 to 65536, "
                    "or None to choose one from the responses' length"
                )
            object.__setattr__(self, "partition_samples", int(p))

    # -------------------------------------------------------------------------------- the channels

    def _layout(self) -> Layout:
        if self.directions_deg is not None:
            return virtual_layout(self.directions_deg)
        return get_layout("stereo" if self.layout is None else self.layout)

    def _lfe_indices(self) -> tuple[int, ...]:
        return () if self.directions_deg is not None else tuple(sorted(self._layout().lfe_indices))

    def _describe(self) -> str:
        if self.directions_deg is not None:
            return f"directions_deg ({len(self.directions_deg)} directions)"
        return f"layout={self._layout().name!r}"

    @property
    def input_channels(self) -> int:
        """Number of input channels: the layout's, or one per direction."""
        return self._layout().n_channels

    def output_channels(self, channels: int) -> int:
        """Always 2 (left ear, right ear); LayoutError unless ``channels`` is :attr:`input_channels`."""
        expected = self.input_channels
        if channels != expected:
            layout = self._layout()
            names = f" ({' '.join(layout.channels)})" if self.directions_deg is None else ""
            other = order_of_channels(channels) if layout.is_ambisonic else None
            hint = (  # a scene of another order: say which
                f"that is an order-{other} scene: pass layout='ambix{other}'"
                if other is not None
                else "is the audio transposed, or is it another layout?"
            )
            raise LayoutError(
                f"Binaural: the audio has {channels} channels but {self._describe()} has {expected}{names}; "
                f"expected matching channel counts ({hint})"
            )
        return 2

    def output_layout(self, channels: int) -> str:
        """``"stereo"``: the two ears, left first, which a graph routes and meters as a stereo pair."""
        return "stereo"

    def hrir_choices(self) -> tuple[HrirChoice, ...]:
        """The HRIR direction each non-LFE channel is rendered from, and how far off it is.

        Loads the HRIR set (see ``sofa``).

        Examples
        --------
        >>> import numpy as np
        >>> from sonicmix.spatial.sofa import HrirSet
        >>> hrirs = HrirSet(np.ones((2, 2, 1)), [(30.0, 0.0), (-30.0, 0.0)], 48000)
        >>> [(c.channel, c.hrir_azimuth_deg, round(c.error_deg, 1))
        ...  for c in Binaural(directions_deg=[(20.0, 0.0)], sofa=hrirs).hrir_choices()]
        [('V1', 30.0, 10.0)]
        """
        return self._choices(load_hrirs(self.sofa))

    def _choices(self, hrirs: HrirSet) -> tuple[HrirChoice, ...]:
        layout = self._layout()
        if layout.is_ambisonic:  # the fit takes every measured direction (at the farthest distance)
            return tuple(
                HrirChoice(f"V{k + 1}", az, el, az, el, 0.0, int(i))
                for k, (i, (az, el)) in enumerate(_measured(hrirs))
            )
        lfe = set(self._lfe_indices())
        choices = []
        for channel, (name, position) in enumerate(zip(layout.channels, layout.positions, strict=True)):
            if channel in lfe or position is None:
                continue
            index, error_deg = hrirs.nearest(*position)
            azimuth, elevation = hrirs.directions_deg[index]
            choices.append(
                HrirChoice(name, *map(float, position), float(azimuth), float(elevation), error_deg, index)
            )
        return tuple(choices)

    # ------------------------------------------------------------------------------- streaming

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> BinauralState:
        self.output_channels(channels)
        from sonicmix.dsp import convolution  # scipy.fft: only when a stream starts

        matrix, inputs, _ = _responses(self, check_sample_rate(sample_rate))
        state = convolution.new_matrix_state(matrix, dtype, self.partition_samples)
        return BinauralState(state, inputs)

    def latency_samples(self, sample_rate: int) -> int:
        """0 when the HRIRs are at ``sample_rate``; else the few samples resampling may add.

        Loads the HRIR set. See the Notes and :meth:`~sonicmix.spatial.sofa.HrirSet.responses`.
        """
        return _responses(self, check_sample_rate(sample_rate))[2]

    def process(
        self, x: Audio, sample_rate: int, state: BinauralState, *, key: Audio | None = None
    ) -> tuple[Audio, BinauralState]:
        from sonicmix.dsp.convolution import process

        check_stream_dtype(self, x, state.convolver.window.dtype)
        if state.inputs is not None:
            x = x[state.inputs]
        return process(x, state.convolver), state


def _layout_name(layout: str | Layout) -> str:
    return layout.name if isinstance(layout, Layout) else str(layout)


def _responses(node: Binaural, sample_rate: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """The node's response matrix ``(2, inputs, taps)`` at ``sample_rate``, the inputs it takes,
    and the delay in samples that resampling the HRIRs added (see :meth:`HrirSet.responses`)."""
    return _matrix(node, load_hrirs(node.sofa), sample_rate)


@functools.lru_cache(maxsize=16)
def _matrix(node: Binaural, hrirs: HrirSet, sample_rate: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    layout = node._layout()
    lfe = node._lfe_indices()
    choices = node._choices(hrirs)
    if layout.is_ambisonic:
        return _ambisonic_matrix(layout.ambisonic_order, choices, hrirs, sample_rate)
    for choice in choices:
        if choice.error_deg > node.max_error_deg:
            raise LayoutError(
                f"channel {choice.channel!r} at azimuth {choice.azimuth_deg:g}, elevation "
                f"{choice.elevation_deg:g} degrees: the nearest HRIR of {hrirs.name or 'the set'!r} is at "
                f"({choice.hrir_azimuth_deg:g}, {choice.hrir_elevation_deg:g}), {choice.error_deg:.1f} "
                f"degrees away; expected one within max_error_deg={node.max_error_deg:g} (use an HRIR set "
                "measured there, or allow a larger max_error_deg)"
            )
    pairs, delay = hrirs.responses([c.index for c in choices], sample_rate)  # (speakers, 2, taps)
    taps = pairs.shape[2]
    lfe_gain = None if node.lfe_db is None else 10.0 ** (node.lfe_db / 20.0)
    used = [i for i in range(layout.n_channels) if i not in lfe or lfe_gain is not None]
    matrix = np.zeros((2, len(used), taps))
    by_name = {c.channel: pairs[i] for i, c in enumerate(choices)}
    arrival = 0
    if lfe_gain is not None:  # the frontal pair's main arrival, at the set's rate, then at ours
        front = hrirs.irs[hrirs.nearest(0.0, 0.0)[0]]
        peak_s = float(np.mean(np.argmax(np.abs(front), axis=1))) / hrirs.sample_rate
        arrival = int(round(peak_s * sample_rate)) + delay
        if arrival >= taps:
            matrix = np.concatenate((matrix, np.zeros((2, len(used), arrival + 1 - taps))), axis=2)
    for column, channel in enumerate(used):
        if channel in lfe:
            matrix[:, column, arrival] = lfe_gain
        else:
            matrix[:, column, :taps] = by_name[layout.channels[channel]]
    matrix.flags.writeable = False
    inputs = None if len(used) == layout.n_channels else np.array(used, dtype=np.intp)
    return matrix, inputs, delay


def _measured(hrirs: HrirSet) -> list[tuple[int, tuple[float, float]]]:
    """``(index, (azimuth_deg, elevation_deg))`` of each distinct direction measured farthest out."""
    far = np.flatnonzero(hrirs.distances_m == hrirs.distances_m.max())
    seen: dict[tuple[float, float], int] = {}
    for i in far:
        az, el = (float(v) for v in hrirs.directions_deg[i])
        key = (0.0, el) if abs(el) == 90.0 else (round(az, 6), round(el, 6))  # the poles have one direction
        seen.setdefault(key, int(i))
    return [(i, tuple(float(v) for v in hrirs.directions_deg[i])) for i in seen.values()]  # type: ignore[misc]


def _ambisonic_matrix(
    order: int, choices: tuple[HrirChoice, ...], hrirs: HrirSet, sample_rate: int
) -> tuple[np.ndarray, None, int]:
    """One filter pair per ACN channel: the HRIR set fitted in spherical harmonics, then equalised.

    Least squares over the measured directions: ``sum_c Y_c(d) H_c`` is the order's best
    approximation of the pair measured at ``d`` (exact where the HRTFs have no higher-order
    part: below about ``order x 620`` Hz for a head of 8.75 cm radius). Truncating the order
    loses high-frequency energy, which one equaliser per ear restores on average over the
    directions (the diffuse-field spectral equalisation of Ben-Hur et al., JASA 141(6), 2017).
    """
    from sonicmix.layouts.ambix import spherical_harmonics

    directions = np.array([(c.azimuth_deg, c.elevation_deg) for c in choices])
    pairs, delay = hrirs.responses([c.index for c in choices], sample_rate)  # (directions, 2, taps)
    k, _, taps = pairs.shape
    harmonics = spherical_harmonics(order, directions[:, 0], directions[:, 1])  # (directions, C)
    fit = (np.linalg.pinv(harmonics) @ pairs.reshape(k, -1)).reshape(-1, 2, taps)  # least squares
    n = 2 * taps  # room for the equaliser's response without wrapping onto the pairs'
    spectra = np.fft.rfft(fit, n)  # (C, 2, bins)
    measured = np.mean(np.abs(np.fft.rfft(pairs, n)) ** 2, axis=0)  # (2, bins): the diffuse field
    rebuilt = np.abs(harmonics @ spectra.reshape(spectra.shape[0], -1)).reshape(k, 2, -1)  # each direction
    rebuilt = np.mean(rebuilt**2, axis=0)
    equaliser = np.sqrt(measured / np.maximum(rebuilt, np.finfo(float).tiny))
    matrix = np.ascontiguousarray(np.fft.irfft(spectra * equaliser, n).transpose(1, 0, 2))  # (2, C, n)
    matrix.flags.writeable = False
    return matrix, None, delay


# ------------------------------------------------------------------------------------ one-shot and files


def render_binaural(
    audio: Audio,
    sample_rate: int,
    *,
    layout: str | Layout | None = None,
    sofa: str | os.PathLike[str] | HrirSet | None = None,
    lfe_db: float | None = None,
) -> Audio:
    """Render a loudspeaker programme for headphones: ``(channels, n)`` in, ``(2, n)`` out.

    Parameters
    ----------
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 loudspeaker feeds in the layout's channel order; the
        output has the same dtype.
    sample_rate : int
        Sample rate in Hz.
    layout : str or Layout, optional
        The input's layout. By default the one assumed for the channel count
        (mono, stereo, 5.0, 5.1, 7.1); immersive layouts are never guessed.
    sofa : str or os.PathLike or HrirSet, optional
        The HRIRs (default: the installed MIT KEMAR set).
    lfe_db : float, optional
        LFE gain into each ear in dB; None (default) drops the LFE (see :class:`Binaural`).

    Returns
    -------
    np.ndarray, shape=(2, samples)
        Left ear, right ear.

    Raises
    ------
    AudioError
        If ``audio`` is not float audio of shape (channels, samples), or holds NaN or inf.
    LayoutError
        If the layout is unknown, has another channel count, or cannot be guessed.
    SofaError
        If the HRIR set cannot be found or read.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> bed = np.zeros((12, t.size), np.float32)
    >>> bed[6] = 0.5 * np.sin(2 * np.pi * 1000.0 * t)       # Lss, the left side surround at +90
    >>> ears = render_binaural(bed, 48000, layout="7.1.4")  # doctest: +SKIP
    >>> ears.shape, bool(np.abs(ears[0]).max() > 2 * np.abs(ears[1]).max())  # doctest: +SKIP
    ((2, 48000), True)
    """
    x = check_audio(audio, "audio", min_samples=0)
    rate = check_sample_rate(sample_rate)
    resolved = resolve_layout(layout, x.shape[0], name="audio")
    node = Binaural(
        layout=resolved if isinstance(layout, Layout) else resolved.name, sofa=sofa, lfe_db=lfe_db
    )
    return node(x, rate)


def render_binaural_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    layout: str | Layout | None = None,
    sofa: str | os.PathLike[str] | HrirSet | None = None,
    lfe_db: float | None = None,
    subtype: Literal["PCM_16", "PCM_24", "FLOAT"] = "PCM_24",
    overwrite: bool = False,
    block_size: int = 65536,
) -> Any:
    """Render a loudspeaker file for headphones into a stereo file, block by block, in constant memory.

    Parameters
    ----------
    source : str or os.PathLike
        A WAV, RF64 or FLAC file of loudspeaker feeds.
    target : str or os.PathLike
        The stereo ``.wav`` or ``.flac`` to write (atomically: it appears only
        when complete).
    layout : str or Layout, optional
        The source's layout; by default the one its WAVE channel mask names,
        else the one assumed for its channel count (see :func:`sonicmix.io.file_layout`).
    sofa, lfe_db
        As in :class:`Binaural`.
    subtype : {"PCM_24", "PCM_16", "FLOAT"}, default "PCM_24"
        Sample format of the target (PCM is dithered, as :func:`sonicmix.io.write` does).
    overwrite : bool, default False
        Replace an existing ``target``.
    block_size : int, default 65536
        Frames read, rendered and written at a time; memory holds a few blocks,
        whatever the programme's length. It does not change the output.

    Returns
    -------
    sonicmix.io.WriteResult
        What was written (path, frames, clipped samples).

    Raises
    ------
    AudioFileError
        If the source cannot be read or the target exists and ``overwrite`` is False.
    LayoutError
        If the layout does not match the file (channel count or channel mask).
    AudioError
        If the source holds NaN or inf (nothing is written).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> bed = os.path.join(folder.name, "bed.wav")
    >>> _ = sio.write(bed, np.zeros((12, 4800), np.float32), 48000, layout="7.1.4")
    >>> result = render_binaural_file(bed, os.path.join(folder.name, "bed.binaural.wav"))  # doctest: +SKIP
    >>> result.channels, result.frames  # doctest: +SKIP
    (2, 4800)
    >>> folder.cleanup()
    """
    from sonicmix._checks import check_finite
    from sonicmix.io import AudioWriter, blocks, file_layout, info

    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer) or block_size < 1:
        raise ParameterError(f"block_size={block_size!r}; expected a whole number of frames >= 1")
    found = info(source)
    resolved = file_layout(source, layout)
    node = Binaural(layout=resolved, sofa=sofa, lfe_db=lfe_db)
    state = node.init_state(found.channels, found.sample_rate, np.float32)
    done = 0
    with AudioWriter(
        target,
        found.sample_rate,
        2,
        subtype=subtype,
        inputs=(source,),
        overwrite=overwrite,
        frames=found.frames,
    ) as writer:
        for block in blocks(source, int(block_size), dtype="float32"):
            check_finite(block, f"file {os.fspath(source)!r}", found.sample_rate, offset=done)
            y, state = node.process(block, found.sample_rate, state)
            writer.write(y)
            done += block.shape[1]
    return writer.result
