"""Ambisonics nodes (AmbiX: ACN order, SN3D): encode a source, rotate a scene, decode to loudspeakers.

A chain ``(AmbisonicEncoder(order=3, ...), AmbisonicRotator(order=3, ...),
AmbisonicDecoder(order=3, layout="7.1.4"))`` on a mono track places the source
in a third-order scene, turns the scene (head tracking, a 360-degree video's
orientation) and renders it for a 7.1.4 room; the track leaves as 7.1.4. The
maths is in :mod:`sonicmix.spatial.ambisonics`; :class:`AmbisonicParametricDecoder`
(DirAC, in :mod:`sonicmix.spatial.parametric`) decodes sources as sharply as VBAP pans
them, at the cost of a frame of latency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts import Layout, get_layout
from sonicmix.nodes.base import Chain, Node, check_stream_dtype
from sonicmix.nodes.objectpanner import check_direction, routable_name
from sonicmix.spatial.ambisonics import (
    DecoderMethod,
    Frame,
    channel_count,
    check_order,
    decoder_matrix,
    order_of_channels,
    rotation_matrix,
    spherical_harmonics,
)
from sonicmix.spatial.matrix import GainMatrixNode, MatrixState

__all__ = [
    "AmbisonicEncoder",
    "AmbisonicRotator",
    "AmbisonicDecoder",
    "AmbisonicParametricDecoder",
    "sound_field_problem",
    "takes_scene",
]


def _check_ambisonic_input(node: Node, order: int, channels: int) -> None:
    expected = channel_count(order)
    if channels != expected:
        other = order_of_channels(channels)
        hint = f" (that is order {other}: pass order={other})" if other is not None else ""
        raise LayoutError(
            f"{type(node).__name__}(order={order}) takes {expected} ACN channels but got "
            f"channels={channels}; expected (order + 1) ** 2 = {expected}{hint}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicEncoder(GainMatrixNode):
    """Encode a mono (or stereo) source at a direction into an Ambisonics scene (AmbiX: ACN, SN3D).

    Output channel ``acn`` is the source times the real SN3D spherical
    harmonic of that channel at the direction
    (:func:`~sonicmix.spatial.ambisonics.spherical_harmonics`): W = x, Y = x sin az cos el,
    Z = x sin el, X = x cos az cos el, and so on up to ``order``. A stereo
    source is two sources ``stereo_width_deg`` apart, centred on the direction.

    Parameters
    ----------
    order : int, default 1
        Ambisonics order, 1 to 3: the output has 4, 9 or 16 channels.
    azimuth_deg : float, default 0.0
        Direction in degrees, positive to the left (BS.2051 and AmbiX agree);
        any finite value, taken modulo 360.
    elevation_deg : float, default 0.0
        Degrees above the horizontal plane, -90 to 90.
    stereo_width_deg : float, default 60.0
        Stereo input only: the angle between the two channels, 0 to 180.
    ramp_s : float, default 0.005
        When automation moves the source, the time the encoding gains take to
        glide (linearly, per sample) to the new direction; 0 jumps.

    Raises
    ------
    ParameterError
        For an order other than 1, 2 or 3; an angle not finite or out of range.
    LayoutError
        For input that is not mono or stereo.

    Notes
    -----
    Automation (``docs/automation.md``): ``azimuth_deg``, ``elevation_deg``
    and ``stereo_width_deg``, read every control block, then glided over
    ``ramp_s``. A glide between two directions passes through encodings of no
    single direction (the straight line between two gain vectors), which
    over 5 ms is inaudible; for a fast-moving source, automate in small steps.

    References
    ----------
    C. Nachbar, F. Zotter, E. Deleflie, A. Sontacchi, "AMBIX - a suggested
    Ambisonics format", Ambisonics Symposium 2011.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 3))
    >>> AmbisonicEncoder(order=1, azimuth_deg=90.0)(x, 48000).round(12)   # on the left: W and Y
    array([[1., 1., 1.],
           [1., 1., 1.],
           [0., 0., 0.],
           [0., 0., 0.]])

    Streamed in two blocks, the same samples:

    >>> enc = AmbisonicEncoder(order=3, azimuth_deg=30.0, elevation_deg=20.0)
    >>> x = np.random.default_rng(0).standard_normal((1, 500))
    >>> state = enc.init_state(1, 48000, x.dtype)
    >>> a, state = enc.process(x[:, :123], 48000, state)
    >>> b, state = enc.process(x[:, 123:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), enc(x, 48000)))
    True
    """

    order: int = 1
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    stereo_width_deg: float = 60.0
    ramp_s: float = 0.005

    automatable: ClassVar[frozenset[str]] = frozenset({"azimuth_deg", "elevation_deg", "stereo_width_deg"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of output channels",
        "ramp_s": "it is the length of the glide that automation itself uses",
    }

    def __post_init__(self) -> None:
        check_order(self.order)
        check_direction(self.azimuth_deg, self.elevation_deg)
        check_range(
            "stereo_width_deg",
            self.stereo_width_deg,
            low=0.0,
            high=180.0,
            hint="the angle between a stereo source's two channels",
        )
        check_range("ramp_s", self.ramp_s, low=0.0, high=1.0, hint="0 jumps to a new direction")

    def output_channels(self, channels: int) -> int:
        if channels not in (1, 2):
            raise LayoutError(
                f"AmbisonicEncoder takes a mono or stereo source but got channels={channels}; "
                "expected 1 or 2 "
                "(encode each channel of a multichannel source with its own encoder)"
            )
        return channel_count(self.order)

    def output_layout(self, channels: int) -> str:
        """``"ambix1"`` to ``"ambix3"``: the scene a graph routes into an Ambisonics bus of the order."""
        return f"ambix{self.order}"

    def gains(self, channels: int = 1) -> np.ndarray:
        """The encoding matrix ``((order + 1) ** 2, channels)``."""
        self.output_channels(channels)
        if channels == 1:
            azimuths = np.array([self.azimuth_deg])
        else:
            half = self.stereo_width_deg / 2.0
            azimuths = np.array([self.azimuth_deg + half, self.azimuth_deg - half])
        return spherical_harmonics(self.order, azimuths, np.full(channels, self.elevation_deg)).T

    def _key(self) -> tuple[Any, ...]:
        return (self.azimuth_deg, self.elevation_deg, self.stereo_width_deg)

    def _target(self, inputs: int) -> np.ndarray:
        return self.gains(inputs)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        return MatrixState.fixed(self.gains(channels), key=self._key())


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicRotator(GainMatrixNode):
    """Rotate an Ambisonics scene (ACN, SN3D) by yaw, pitch and roll: head tracking, 360-degree video.

    With ``frame="scene"`` the scene turns: ``yaw_deg=30`` moves a source in
    front to 30 degrees left. With ``frame="head"`` the angles are the
    listener's head orientation (yaw to the left, pitch up, roll lifting the
    left ear, as a head tracker reports them in these signs) and the scene
    turns the other way, so sources stay put in the room while the head moves.
    The rotation is roll about the front axis, then pitch about the left axis,
    then yaw about the vertical (:func:`~sonicmix.spatial.ambisonics.rotation_3x3`).

    Parameters
    ----------
    order : int, default 1
        Order of the input (and output): 4, 9 or 16 channels.
    yaw_deg : float, default 0.0
        Turn about the vertical, positive to the left; any finite value (modulo 360).
    pitch_deg : float, default 0.0
        Tilt of the front upwards, -90 to 90.
    roll_deg : float, default 0.0
        Roll lifting the left side; any finite value (modulo 360).
    frame : {"scene", "head"}, default "scene"
        Whether the angles turn the scene, or are the head's orientation.
    ramp_s : float, default 0.005
        When automation changes the angles, the time the rotation matrix takes
        to glide (linearly, per sample) to the new one; 0 jumps.

    Raises
    ------
    ParameterError
        For an order other than 1 to 3, angles not finite, a pitch out of range,
        an unknown frame.
    LayoutError
        For input with another channel count than ``(order + 1) ** 2``.

    Notes
    -----
    The rotation matrix is exact (numeric projection, see
    :func:`~sonicmix.spatial.ambisonics.rotation_matrix`): a rotated encoding
    equals the encoding at the rotated direction to about 1e-15. Automation
    (``docs/automation.md``): ``yaw_deg``, ``pitch_deg``, ``roll_deg`` every
    control block, glided over ``ramp_s``.

    Examples
    --------
    >>> import numpy as np
    >>> front = AmbisonicEncoder(order=1)(np.ones((1, 1)), 48000)
    >>> AmbisonicRotator(order=1, yaw_deg=90.0)(front, 48000).round(12).ravel() + 0.0  # now on the left
    array([1., 1., 0., 0.])
    >>> AmbisonicRotator(order=1, yaw_deg=90.0, frame="head")(front, 48000).round(12).ravel() + 0.0
    array([ 1., -1.,  0.,  0.])

    Streamed in two blocks, the same samples:

    >>> rot = AmbisonicRotator(order=2, yaw_deg=10.0, pitch_deg=5.0)
    >>> x = np.random.default_rng(0).standard_normal((9, 400))
    >>> state = rot.init_state(9, 48000, x.dtype)
    >>> a, state = rot.process(x[:, :100], 48000, state)
    >>> b, state = rot.process(x[:, 100:], 48000, state)
    >>> bool(np.allclose(np.concatenate([a, b], axis=1), rot(x, 48000), rtol=0, atol=1e-12))
    True
    """

    order: int = 1
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    frame: Frame = "scene"
    ramp_s: float = 0.005

    automatable: ClassVar[frozenset[str]] = frozenset({"yaw_deg", "pitch_deg", "roll_deg"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of channels",
        "frame": "it is a choice, not a number ('scene' or 'head')",
        "ramp_s": "it is the length of the glide that automation itself uses",
    }

    def __post_init__(self) -> None:
        check_order(self.order)
        check_range("yaw_deg", self.yaw_deg, hint="degrees, positive to the left")
        check_range(
            "pitch_deg", self.pitch_deg, low=-90.0, high=90.0, hint="degrees, positive tilts the front up"
        )
        check_range("roll_deg", self.roll_deg, hint="degrees, positive lifts the left side")
        if self.frame not in ("scene", "head"):
            raise ParameterError(f"frame={self.frame!r}; expected 'scene' or 'head'")
        check_range("ramp_s", self.ramp_s, low=0.0, high=1.0, hint="0 jumps to a new rotation")

    def output_channels(self, channels: int) -> int:
        _check_ambisonic_input(self, self.order, channels)
        return channels

    def output_layout(self, channels: int) -> str:
        """``"ambix1"`` to ``"ambix3"``: a rotated scene is still a scene of the order."""
        return f"ambix{self.order}"

    def matrix(self) -> np.ndarray:
        """The rotation matrix ``(C, C)`` applied (``C = (order + 1) ** 2``)."""
        return rotation_matrix(self.order, self.yaw_deg, self.pitch_deg, self.roll_deg, frame=self.frame)

    def _key(self) -> tuple[Any, ...]:
        return (self.yaw_deg, self.pitch_deg, self.roll_deg)

    def _target(self, inputs: int) -> np.ndarray:
        return self.matrix()

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        self.output_channels(channels)
        return MatrixState.fixed(self.matrix(), key=self._key())


class _DecodesToLayout:
    """What both decoders route by: AmbiX of ``order`` in, the loudspeakers of ``layout`` out."""

    __slots__ = ()
    order: int
    layout: str | Layout

    def output_channels(self, channels: int) -> int:
        _check_ambisonic_input(self, self.order, channels)
        return get_layout(self.layout).n_channels

    def output_layout(self, channels: int) -> str | None:
        return routable_name(self.layout)

    def _check_design(self, **design: Any) -> None:
        """The refusals both decoders make, naming the decoder: the order, then the layout
        (:func:`~sonicmix.spatial.ambisonics.decoder_matrix` checks it, and caches the decoder)."""
        check_order(self.order)
        try:
            decoder_matrix(self.order, self.layout, **design)
        except LayoutError as err:
            raise LayoutError(f"{type(self).__name__}(order={self.order}): {err}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicDecoder(_DecodesToLayout, GainMatrixNode):
    """Decode an Ambisonics scene (ACN, SN3D) to a loudspeaker layout, by AllRAD with max-rE weights.

    AllRAD (Zotter & Frank 2012): the scene is decoded to 250 virtual
    loudspeakers on a spherical 21-design, which are then panned to the real
    loudspeakers by VBAP; it suits irregular layouts (5.1, 7.1.4, 22.2) where
    a plain sampling or mode-matching decoder does not. The decoder is scaled
    so that a source's loudspeaker energy, averaged over all directions, is 1,
    as VBAP's is. The LFE channels get nothing. See
    :func:`~sonicmix.spatial.ambisonics.decoder_matrix`.

    Parameters
    ----------
    order : int, default 1
        Order of the input: 4, 9 or 16 channels.
    layout : str or Layout, default "5.1"
        The loudspeaker layout; the output has its channels in its order. A
        :class:`~sonicmix.layouts.Layout` with positions decodes to any
        directions (virtual loudspeakers for binaural rendering).
    method : {"allrad", "sampling"}, default "allrad"
        "sampling" samples the harmonics at the loudspeakers directly: only for
        nearly uniform sets of directions (dense virtual loudspeakers).
    max_re : bool, default True
        Max-rE weights (the narrowest energy spread the order allows); False
        for the basic decoder.

    Raises
    ------
    ParameterError
        For an order other than 1 to 3, or an unknown method.
    LayoutError
        For an unknown layout or one without positions; for input with another
        channel count than ``(order + 1) ** 2``.

    Examples
    --------
    >>> import numpy as np
    >>> scene = AmbisonicEncoder(order=3, azimuth_deg=30.0)(np.ones((1, 1)), 48000)
    >>> feeds = AmbisonicDecoder(order=3, layout="5.1")(scene, 48000)[:, 0]
    >>> int(np.argmax(feeds)), round(float(feeds[3]), 12)          # loudest at L; the LFE silent
    (0, 0.0)
    """

    order: int = 1
    layout: str | Layout = "5.1"
    method: DecoderMethod = "allrad"
    max_re: bool = True

    automatable: ClassVar[frozenset[str]] = frozenset()
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of input channels",
        "layout": "it sets the output channels, which a graph routes once",
        "method": "it is a choice, not a number ('allrad' or 'sampling')",
        "max_re": "it is a choice (True or False), not a number",
    }

    def __post_init__(self) -> None:
        if not isinstance(self.max_re, bool):
            raise ParameterError(f"max_re={self.max_re!r}; expected True or False")
        self._check_design(method=self.method, max_re=self.max_re)

    def matrix(self) -> np.ndarray:
        """The decoding matrix ``(layout channels, (order + 1) ** 2)``."""
        return decoder_matrix(self.order, self.layout, method=self.method, max_re=self.max_re)

    def _target(self, inputs: int) -> np.ndarray:
        return self.matrix()

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        self.output_channels(channels)
        return MatrixState.fixed(self.matrix())


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicParametricDecoder(_DecodesToLayout, Node):
    """Decode an Ambisonics scene (ACN, SN3D) by DirAC: VBAP for its direct sound, AllRAD for the rest.

    Per time-frequency tile (20 ms frames, 75 % overlap) the direction of
    arrival comes from the active intensity of the first-order channels and
    the diffuseness from its time average against the energy. The direct part
    is panned by VBAP to that direction (the gains
    :class:`~sonicmix.nodes.objectpanner.ObjectPanner` uses), the diffuse part
    spread as the AllRAD decoder (:class:`AmbisonicDecoder`) spreads it, each
    by scaling that loudspeaker's AllRAD signal to its share of the tile's
    energy (virtual-microphone DirAC, Vilkamo, Lokki & Pulkki 2009). The
    loudspeakers' energies add up to the scene's: a single plane wave keeps
    its energy and plays as VBAP would pan it, on one loudspeaker alone at a
    loudspeaker's position, where the linear decoders spread it over its
    neighbours. Where several sources or reverberation share a tile, the
    direction is their energy-weighted mean and the diffuseness rises.

    Parameters
    ----------
    order : int, default 1
        Order of the input: 4, 9 or 16 channels. The analysis uses the first
        four; the higher ones sharpen the AllRAD signals that carry the
        diffuse part and the direct part's phase.
    layout : str or Layout, default "5.1"
        The loudspeaker layout; the output has its channels in its order, the
        LFE silent.
    frame_s : float, default 0.02
        STFT frame in seconds (a multiple of 4 samples, hop a quarter of it),
        0.005 to 0.1; the latency is one frame less a sample.
    smoothing_s : float, default 0.05
        Time constant of the averages of intensity, energy and the AllRAD
        signals' powers, in seconds (0 to 1; 0: each frame on its own). Longer
        estimates diffuseness with less bias and keeps the gains steadier
        (less musical noise); shorter follows moving or alternating sources.

    Raises
    ------
    ParameterError
        For an order other than 1 to 3, or a time out of range.
    LayoutError
        For an unknown layout or one without positions; for input with another
        channel count than ``(order + 1) ** 2``.

    See Also
    --------
    sonicmix.spatial.parametric : the analysis and the gains.

    Notes
    -----
    Latency: ``latency_samples(sample_rate)`` is the frame less one sample
    (959 at 48 kHz); the output is the decoded input delayed by that much. No
    parameter can follow automation: the frame sets the latency, and the
    others set the state's buffers or the smoothing's memory.

    References
    ----------
    V. Pulkki, "Spatial sound reproduction with directional audio coding",
    J. Audio Eng. Soc. 55(6), 2007. J. Vilkamo, T. Lokki, V. Pulkki,
    "Directional audio coding: virtual microphone-based synthesis and
    subjective evaluation", J. Audio Eng. Soc. 57(9), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> rate = 48000
    >>> x = np.random.default_rng(0).standard_normal((1, rate // 2))
    >>> scene = AmbisonicEncoder(order=3, azimuth_deg=30.0)(x, rate)      # at L
    >>> dec = AmbisonicParametricDecoder(order=3, layout="7.1.4")
    >>> y = dec(scene, rate)
    >>> d = dec.latency_samples(rate)
    >>> energy = np.sum(y[:, 2 * d :] ** 2, axis=1) / np.sum(x[:, d : -d] ** 2)
    >>> int(np.argmax(energy)), bool(abs(10 * np.log10(energy[0])) < 0.01), bool(np.all(energy[1:] < 1e-12))
    (0, True, True)

    Streamed in two blocks, the same samples:

    >>> state = dec.init_state(16, rate, scene.dtype)
    >>> a, state = dec.process(scene[:, :5000], rate, state)
    >>> b, state = dec.process(scene[:, 5000:], rate, state)
    >>> bool(np.allclose(np.concatenate([a, b], axis=1), y, rtol=0, atol=1e-10))
    True
    """

    order: int = 1
    layout: str | Layout = "5.1"
    frame_s: float = 0.02
    smoothing_s: float = 0.05

    automatable: ClassVar[frozenset[str]] = frozenset()
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of input channels",
        "layout": "it sets the output channels, which a graph routes once",
        "frame_s": "it sets the latency, which a graph compensates once before the render starts",
        "smoothing_s": "it sets the memory of the averages, which a change mid-stream would break",
    }

    def __post_init__(self) -> None:
        check_range("frame_s", self.frame_s, low=0.005, high=0.1, hint="seconds: for 20 ms use 0.02")
        check_range("smoothing_s", self.smoothing_s, low=0.0, high=1.0, hint="seconds, e.g. 0.05")
        self._check_design()  # the AllRAD decoder carries the diffuse part

    def latency_samples(self, sample_rate: int) -> int:
        """The frame less one sample: the output's delay."""
        from sonicmix.spatial.parametric import plan_for

        return plan_for(float(self.frame_s), int(sample_rate)).frame - 1

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> Any:
        from sonicmix.spatial.parametric import init_parametric, panning, plan_for

        self.output_channels(channels)
        speakers = panning(get_layout(self.layout)).channels.size
        return init_parametric(speakers, plan_for(float(self.frame_s), int(sample_rate)), dtype)

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        from sonicmix.spatial.parametric import decode_block, panning, plan_for, prototype_matrix

        check_stream_dtype(self, x, state.pending.dtype)
        layout = get_layout(self.layout)
        plan = plan_for(float(self.frame_s), int(sample_rate))
        pan = panning(layout)
        hop_s = plan.hop / sample_rate
        pole = math.exp(-hop_s / self.smoothing_s) if self.smoothing_s > 0.0 else 0.0
        prototypes = prototype_matrix(self.order, layout, state.pending.dtype)
        y = np.zeros((layout.n_channels, x.shape[1]), x.dtype)
        decode_block(x, state, plan=plan, prototypes=prototypes, pan=pan, pole=pole, out=y)
        return y, state


#: Why a node that is not channel-blind breaks a scene, by class name (the default reason otherwise).
_REFUSALS = {
    "Saturation": "it shapes each channel's waveform on its own (nonlinear): its distortion has no direction",
    "Pan": "it pans loudspeaker channels",
    "Width": "it mixes channels as a stereo pair",
    "ObjectPanner": "it pans into loudspeakers",
    "AmbisonicEncoder": "it encodes a mono or stereo source, not a scene",
    "Reverb": "it gives each channel its own decorrelated reverberation",
    "PluginNode": "sonicmix cannot tell how a plugin treats the channels",
}


def sound_field_problem(node: Node) -> str | None:
    """Why ``node`` would break an Ambisonics scene it processes, or None if it keeps the scene intact.

    A node keeps a scene when it treats every ACN channel alike: then it acts on
    every source in the scene the same way, wherever it is. The rule is an
    explicit list:

    - linear nodes running one filter or gain on every channel: Gain, the EQ
      filters and ParametricEQ, Delay, Fade, DCBlocker, Polarity of every channel;
    - dynamics whose one gain serves every channel: Compressor, KeyedCompressor,
      Gate and DeEsser with ``stereo_link=1``, Limiter and Denoise with
      ``stereo_link=True``, Leveler, Ducker;
    - the Ambisonics nodes that take a scene: AmbisonicRotator, AmbisonicDecoder,
      AmbisonicParametricDecoder, and Binaural of an ambix layout (the last two
      kinds end the scene).

    Every other node is refused: per-channel nonlinearity (Saturation), unlinked
    dynamics (each channel's gain moves sources and changes their width),
    panners, reverberation that decorrelates the channels, plugins. A
    :class:`~sonicmix.nodes.base.Chain` is judged node by node.

    Examples
    --------
    >>> from sonicmix.nodes.dynamics import Compressor
    >>> sound_field_problem(Compressor()) is None
    True
    >>> print(sound_field_problem(Compressor(stereo_link=0.5)))  # doctest: +ELLIPSIS
    Compressor(stereo_link=0.5) gives each channel its own gain, ...; set stereo_link=1.0 (...)
    """
    from sonicmix.nodes import delay, ducking, dynamics, eq, fade, gain, leveler, limiter, utility
    from sonicmix.spatial.binaural import Binaural

    kind = type(node).__name__
    if isinstance(node, Chain):  # a nested chain keeps the scene if each of its nodes does, up to a decoder
        for index, inner in enumerate(node.nodes):
            problem = sound_field_problem(inner)
            if problem is not None:
                return f"Chain.nodes[{index}] {problem}"
            if takes_scene(inner) and not isinstance(inner, AmbisonicRotator):
                return None
        return None
    blind = (gain.Gain, eq._Cascade, eq.ParametricEQ, delay.Delay, fade.Fade, utility.DCBlocker,
             leveler.Leveler, ducking.Ducker, AmbisonicRotator, _DecodesToLayout)  # fmt: skip
    if isinstance(node, blind):
        return None
    if isinstance(node, utility.Polarity):
        if node.channels is None:
            return None
        return f"Polarity(channels={node.channels}) inverts chosen channels, which mirrors or warps the scene"
    linked = getattr(node, "stereo_link", None)
    if isinstance(node, (dynamics._Dynamics, limiter.Limiter)) or kind == "Denoise":
        if linked is True or (not isinstance(linked, bool) and linked == 1.0):
            return None
        wanted = "True" if isinstance(linked, bool) else "1.0"
        return (
            f"{kind}(stereo_link={linked}) gives each channel its own gain, which moves sources in the "
            f"scene; set stereo_link={wanted} (one gain for every channel)"
        )
    if isinstance(node, Binaural):
        layout = node.layout
        if layout is not None and get_layout(layout).is_ambisonic:
            return None
        return "Binaural takes a scene only as Binaural(layout='ambixN'), which decodes it for headphones"
    reason = _REFUSALS.get(kind, "it is not one of the nodes known to treat every channel alike")
    return f"{kind}: {reason}"


def takes_scene(node: Node) -> bool:
    """True for a node whose input is an Ambisonics scene, not loudspeaker feeds.

    The rotator, both decoders and ``Binaural(layout="ambixN")``: on loudspeaker
    feeds with the same channel count (9.1.6 has 16, as a third-order scene) they
    would take loudspeakers for spherical harmonics, so a graph refuses them there.

    Examples
    --------
    >>> takes_scene(AmbisonicRotator(order=3)), takes_scene(AmbisonicEncoder(order=3))
    (True, False)
    """
    from sonicmix.spatial.binaural import Binaural

    if isinstance(node, (AmbisonicRotator, _DecodesToLayout)):
        return True
    return isinstance(node, Binaural) and node.layout is not None and get_layout(node.layout).is_ambisonic
