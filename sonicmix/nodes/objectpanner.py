"""Object panning: a mono or stereo source placed anywhere around the listener in any layout, by VBAP."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix.errors import LayoutError
from sonicmix.layouts import LAYOUTS, Layout, get_layout
from sonicmix.spatial.matrix import GainMatrixNode, MatrixState
from sonicmix.spatial.vbap import vbap_setup

__all__ = ["ObjectPanner", "check_direction", "routable_name"]


def routable_name(layout: str | Layout) -> str:
    """The name a graph routes a layout by: a catalogue name, or a description a graph refuses.

    A custom :class:`~sonicmix.layouts.Layout` (even one that borrows a
    catalogue name) is not one a graph can route: buses take named layouts.

    Examples
    --------
    >>> routable_name("7.1.4")
    '7.1.4'
    """
    resolved = get_layout(layout)
    if LAYOUTS.get(resolved.name) == resolved:
        return resolved.name
    return f"custom layout {resolved.name!r} (not in sonicmix.layouts.LAYOUTS)"


def check_direction(azimuth_deg: object, elevation_deg: object, *, where: str = "") -> tuple[float, float]:
    """Validate a direction: any finite azimuth (taken modulo 360), an elevation in [-90, 90].

    An azimuth beyond +-180 is allowed so that automation can go round more
    than once, or cross the back the short way (170 -> 190 passes behind;
    170 -> -170 sweeps 340 degrees through the front). Returns the azimuth
    wrapped into (-180, 180] and the elevation.

    Raises
    ------
    ParameterError
        For an angle that is not a finite real number, or an elevation out of range.

    Examples
    --------
    >>> check_direction(190.0, 10.0)
    (-170.0, 10.0)
    """
    az = check_range(f"{where}azimuth_deg", azimuth_deg, hint="degrees, positive to the left")
    el = check_range(
        f"{where}elevation_deg",
        elevation_deg,
        low=-90.0,
        high=90.0,
        hint="degrees, positive upwards; -90 is straight down, 90 straight up",
    )
    wrapped = -((-az + 180.0) % 360.0 - 180.0)  # into (-180, 180]
    return wrapped, el


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectPanner(GainMatrixNode):
    """Pan a mono or stereo source to a direction in a loudspeaker layout (3-D VBAP with MDAP spread).

    The output has the layout's channels, in its order: a mono track whose
    chain ends with ``ObjectPanner(layout="7.1.4")`` leaves as 7.1.4 and is
    routed into a 7.1.4 bus as it is. Each input channel is panned by VBAP over
    the layout's loudspeakers (Pulkki 1997; the triangulation, the virtual
    loudspeaker under layouts with nothing below, and the 2-D rule for layouts
    with no heights are in :mod:`sonicmix.spatial.vbap`): the gains are >= 0
    with a sum of squares of 1, and a source at a loudspeaker's position plays
    on that loudspeaker alone. A stereo source is two sources,
    ``stereo_width_deg`` apart, centred on the direction (left channel on the
    left). The LFE gets nothing unless ``lfe_db`` is given.

    Parameters
    ----------
    layout : str or Layout, default "5.1"
        The layout panned into (a name: "stereo", "5.1", "7.1", "7.1.4", "22.2", ...).
    azimuth_deg : float, default 0.0
        Direction, in degrees, 0 in front, **positive to the left** (BS.2051).
        Any finite value, taken modulo 360: automation may go round and round.
    elevation_deg : float, default 0.0
        Degrees above ear height, -90 to 90.
    spread_deg : float, default 0.0
        Angular size of the source, 0 (a point) to 180: MDAP's 37 virtual
        sources over a cone of this diameter, their gains summed and scaled
        to unit power (Pulkki 1999).
    stereo_width_deg : float, default 60.0
        Stereo input only: the angle between the two channels' directions, 0 to
        180 (60: a standard stereo pair).
    lfe_db : float, optional
        Level of the source sent to each LFE channel, in dB (at most +10);
        None sends nothing. No low-pass is applied (bass management's job, or a
        LowPass before the panner on a send). A stereo source sends both
        channels.
    ramp_s : float, default 0.005
        When automation moves the source, the time the gains take to reach
        the new position (one straight-line step per sample, kept at unit
        power): no zipper noise from the 256-sample control blocks. 0 jumps.

    Raises
    ------
    ParameterError
        For an angle that is not finite, an elevation, spread or width out of
        range, or an ``lfe_db`` over +10.
    LayoutError
        For an unknown layout or one without positions; for input that is not
        mono or stereo.

    See Also
    --------
    sonicmix.spatial.vbap.vbap_gains : The gains, as a function.
    AmbisonicEncoder : Place a source in an Ambisonics scene instead.

    Notes
    -----
    Automation (in a graph; see ``docs/automation.md``): ``azimuth_deg``,
    ``elevation_deg``, ``spread_deg``, ``stereo_width_deg`` and ``lfe_db`` are
    read every control block (256 samples); the gains then glide to the new
    ones over ``ramp_s``, per sample, at constant power. ``layout`` and
    ``ramp_s`` cannot follow automation.

    References
    ----------
    V. Pulkki, "Virtual sound source positioning using vector base amplitude
    panning", J. Audio Eng. Soc. 45(6), 1997; "Uniform spreading of amplitude
    panned virtual sources", IEEE WASPAA 1999.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 4), dtype=np.float32)
    >>> y = ObjectPanner(layout="7.1.4", azimuth_deg=90.0)(x, 48000)   # at Lss
    >>> y.shape, y[6].tolist()
    ((12, 4), [1.0, 1.0, 1.0, 1.0])
    >>> y = ObjectPanner(layout="5.1", azimuth_deg=-70.0)(x, 48000)    # between R and Rs
    >>> np.flatnonzero(y[:, 0]), float(np.sum(y[:, 0].astype(float) ** 2).round(6))
    (array([1, 5]), 1.0)

    Streamed in two blocks, the same samples:

    >>> panner = ObjectPanner(layout="5.1", azimuth_deg=20.0, spread_deg=30.0)
    >>> x = np.random.default_rng(0).standard_normal((1, 1000))
    >>> state = panner.init_state(1, 48000, x.dtype)
    >>> a, state = panner.process(x[:, :300], 48000, state)
    >>> b, state = panner.process(x[:, 300:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), panner(x, 48000)))
    True
    """

    layout: str | Layout = "5.1"
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    spread_deg: float = 0.0
    stereo_width_deg: float = 60.0
    lfe_db: float | None = None
    ramp_s: float = 0.005

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"azimuth_deg", "elevation_deg", "spread_deg", "stereo_width_deg", "lfe_db"}
    )
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "layout": "it sets the output channels, which a graph routes once",
        "ramp_s": "it is the length of the glide that automation itself uses",
    }

    def __post_init__(self) -> None:
        vbap_setup(self.layout)  # an unknown layout, or one without positions, raises LayoutError
        check_direction(self.azimuth_deg, self.elevation_deg)
        check_range("spread_deg", self.spread_deg, low=0.0, high=180.0, hint="0 is a point source")
        check_range(
            "stereo_width_deg",
            self.stereo_width_deg,
            low=0.0,
            high=180.0,
            hint="the angle between a stereo source's two channels",
        )
        if self.lfe_db is not None:
            check_range("lfe_db", self.lfe_db, high=10.0, hint="None sends nothing to the LFE")
        check_range("ramp_s", self.ramp_s, low=0.0, high=1.0, hint="0 jumps to a new position")

    def output_channels(self, channels: int) -> int:
        if channels not in (1, 2):
            raise LayoutError(
                f"ObjectPanner takes a mono or stereo source but got channels={channels}; expected 1 or 2 "
                "(pan each channel of a multichannel source with its own panner, or downmix it first)"
            )
        return get_layout(self.layout).n_channels

    def output_layout(self, channels: int) -> str | None:
        return routable_name(self.layout)

    def gains(self, channels: int = 1) -> np.ndarray:
        """The gain matrix ``(layout channels, channels)`` at the node's parameters.

        Examples
        --------
        >>> ObjectPanner(layout="stereo", azimuth_deg=0.0).gains().round(4)
        array([[0.7071],
               [0.7071]])
        """
        self.output_channels(channels)
        layout = get_layout(self.layout)
        setup = vbap_setup(layout)
        if channels == 1:
            azimuths = [self.azimuth_deg]
        else:
            half = self.stereo_width_deg / 2.0
            azimuths = [self.azimuth_deg + half, self.azimuth_deg - half]
        elevation = [self.elevation_deg] * len(azimuths)
        matrix = setup.gains(np.array(azimuths), np.array(elevation), self.spread_deg).T
        if self.lfe_db is not None:
            matrix[list(layout.lfe_indices)] = math.pow(10.0, self.lfe_db / 20.0)
        return matrix

    def _key(self) -> tuple[Any, ...]:
        return (self.azimuth_deg, self.elevation_deg, self.spread_deg, self.stereo_width_deg, self.lfe_db)

    def _unit_rows(self) -> np.ndarray:
        layout = get_layout(self.layout)
        rows = np.ones(layout.n_channels, dtype=bool)
        rows[list(layout.lfe_indices)] = False
        return rows

    def _target(self, inputs: int) -> np.ndarray:
        return self.gains(inputs)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        return MatrixState.fixed(self.gains(channels), key=self._key(), unit_rows=self._unit_rows())
