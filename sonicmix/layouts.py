"""Named channel layouts and their BS.1770 loudness weights.

Channel order follows the WAVE / SMPTE ST 2036-2 convention that files use
(L R C LFE Ls Rs ...). Weights follow ITU-R BS.1770-5, Table 3: 1.0 for
front channels, 1.41 (+1.5 dB) for surround channels at 60-120 degrees of
azimuth, 1.0 for rear surrounds beyond 120 degrees, and the LFE channel is
left out of the measurement (weight 0).

Examples
--------
>>> from sonicmix.layouts import get_layout
>>> get_layout("5.1").channels
('L', 'R', 'C', 'LFE', 'Ls', 'Rs')
>>> get_layout("5.1").loudness_weights
(1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from sonicmix.errors import LayoutError

__all__ = ["Layout", "LAYOUTS", "get_layout", "default_layout"]


@dataclass(frozen=True, slots=True)
class Layout:
    """A named channel layout.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"stereo"`` or ``"5.1"``.
    channels : tuple of str
        Channel labels in file order.
    loudness_weights : tuple of float
        BS.1770 weight of each channel (0 leaves the channel out).
    """

    name: str
    channels: tuple[str, ...]
    loudness_weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.loudness_weights):
            raise LayoutError(
                f"layout {self.name!r} has {len(self.channels)} channels but "
                f"{len(self.loudness_weights)} loudness weights; expected one weight per channel"
            )
        if any(w < 0 for w in self.loudness_weights):
            raise LayoutError(f"layout {self.name!r} has a negative loudness weight; expected weights >= 0")

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channels)


_S = 1.41  # BS.1770-5 Table 3: surround channels at 60..120 degrees azimuth

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("mono", ("C",), (1.0,)),
        Layout("stereo", ("L", "R"), (1.0, 1.0)),
        Layout("5.0", ("L", "R", "C", "Ls", "Rs"), (1.0, 1.0, 1.0, _S, _S)),
        Layout("5.1", ("L", "R", "C", "LFE", "Ls", "Rs"), (1.0, 1.0, 1.0, 0.0, _S, _S)),
        # 7.1 as WAVE order: FL FR FC LFE BL BR SL SR. The side surrounds sit at
        # +-90 degrees (weight 1.41), the rear ones at +-135..150 degrees (1.0).
        Layout(
            "7.1",
            ("L", "R", "C", "LFE", "Lrs", "Rrs", "Lss", "Rss"),
            (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, _S, _S),
        ),
    )
}

_DEFAULT_BY_COUNT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}


def get_layout(layout: str | Layout) -> Layout:
    """Return the Layout called ``layout`` (or ``layout`` itself if it is one)."""
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, str) and layout in LAYOUTS:
        return LAYOUTS[layout]
    close = difflib.get_close_matches(str(layout), list(LAYOUTS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise LayoutError(f"layout={layout!r} is unknown; expected one of {sorted(LAYOUTS)}{hint}")


def default_layout(n_channels: int, *, name: str = "audio") -> Layout:
    """Return the layout assumed for ``n_channels`` channels, or raise LayoutError."""
    if n_channels in _DEFAULT_BY_COUNT:
        return LAYOUTS[_DEFAULT_BY_COUNT[n_channels]]
    raise LayoutError(
        f"{name} has {n_channels} channels and no layout was given; a layout is assumed only for "
        f"{sorted(_DEFAULT_BY_COUNT)} channels. Pass layout= with a name from {sorted(LAYOUTS)} "
        "or a sonicmix.layouts.Layout with one loudness weight per channel"
    )


def resolve_layout(layout: str | Layout | None, n_channels: int, *, name: str = "audio") -> Layout:
    """Return the layout for audio with ``n_channels`` channels, checking they agree."""
    resolved = default_layout(n_channels, name=name) if layout is None else get_layout(layout)
    if resolved.n_channels != n_channels:
        raise LayoutError(
            f"layout={resolved.name!r} has {resolved.n_channels} channels but {name} has {n_channels}; "
            f"expected matching channel counts (is the audio transposed, or is it another layout?)"
        )
    return resolved


# --- Conversions between layouts ---------------------------------------------------------------
#
# Down-mixes follow ITU-R BS.775 (Table 2): the centre and each surround enter the front pair at
# -3 dB (0.7071) and the LFE channel is dropped, as BS.775 leaves it out of every down-mix; a
# stereo pair folds to mono as 0.7071 * (L + R). 7.1 predates BS.775: the common fold-down sends
# each rear surround into the side surround of its side at unity. Up-mixes only place channels:
# mono goes to the centre (or, into stereo, to both sides at -3 dB, a phantom centre of the same
# power); stereo goes to L and R; nothing is synthesised for the other channels.

_H = 0.7071067811865476  # -3.01 dB


def _matrix(src: str, dst: str, pairs: dict[tuple[str, str], float]) -> np.ndarray:
    s, d = LAYOUTS[src].channels, LAYOUTS[dst].channels
    m = np.zeros((len(d), len(s)))
    for (out_name, in_name), gain in pairs.items():
        m[d.index(out_name), s.index(in_name)] = gain
    return m


def _identity_pairs(src: str, dst: str) -> dict[tuple[str, str], float]:
    common = set(LAYOUTS[src].channels) & set(LAYOUTS[dst].channels)
    return {(c, c): 1.0 for c in common}


_FIVE_TO_STEREO = {
    ("L", "L"): 1.0,
    ("R", "R"): 1.0,
    ("L", "C"): _H,
    ("R", "C"): _H,
    ("L", "Ls"): _H,
    ("R", "Rs"): _H,
}

_EDGES: dict[tuple[str, str], dict[tuple[str, str], float]] = {
    ("mono", "stereo"): {("L", "C"): _H, ("R", "C"): _H},
    ("stereo", "mono"): {("C", "L"): _H, ("C", "R"): _H},
    ("mono", "5.0"): {("C", "C"): 1.0},
    ("mono", "5.1"): {("C", "C"): 1.0},
    ("stereo", "5.0"): {("L", "L"): 1.0, ("R", "R"): 1.0},
    ("stereo", "5.1"): {("L", "L"): 1.0, ("R", "R"): 1.0},
    ("5.0", "stereo"): _FIVE_TO_STEREO,
    ("5.1", "stereo"): _FIVE_TO_STEREO,  # the LFE is dropped
    ("5.0", "5.1"): _identity_pairs("5.0", "5.1"),
    ("5.1", "5.0"): _identity_pairs("5.1", "5.0"),
    ("5.1", "7.1"): {**_identity_pairs("5.1", "7.1"), ("Lss", "Ls"): 1.0, ("Rss", "Rs"): 1.0},
    ("7.1", "5.1"): {
        **_identity_pairs("7.1", "5.1"),
        ("Ls", "Lss"): 1.0,
        ("Rs", "Rss"): 1.0,
        ("Ls", "Lrs"): 1.0,
        ("Rs", "Rrs"): 1.0,
    },
}


def conversion_matrix(src: str | Layout, dst: str | Layout) -> np.ndarray:
    """Matrix ``(dst_channels, src_channels)`` converting audio from one named layout to another.

    Conversions chain the documented steps above along the shortest path
    (7.1 to mono goes through 5.1 and stereo). Custom layouts convert only
    to themselves.

    Examples
    --------
    >>> conversion_matrix("5.1", "stereo").round(4)
    array([[1.    , 0.    , 0.7071, 0.    , 0.7071, 0.    ],
           [0.    , 1.    , 0.7071, 0.    , 0.    , 0.7071]])
    """
    a, b = get_layout(src), get_layout(dst)
    if a == b:
        return np.eye(a.n_channels)
    if a.name not in LAYOUTS or b.name not in LAYOUTS or LAYOUTS[a.name] != a or LAYOUTS[b.name] != b:
        raise LayoutError(
            f"no conversion from layout {a.name!r} to {b.name!r}; custom layouts convert only to themselves"
        )
    # breadth-first search over the documented steps
    paths: dict[str, list[str]] = {a.name: [a.name]}
    frontier = [a.name]
    while frontier and b.name not in paths:
        nxt = []
        for node in frontier:
            for s, d in _EDGES:
                if s == node and d not in paths:
                    paths[d] = paths[node] + [d]
                    nxt.append(d)
        frontier = nxt
    if b.name not in paths:  # pragma: no cover - every named layout is connected today
        raise LayoutError(f"no conversion from layout {a.name!r} to {b.name!r}")
    path = paths[b.name]
    m = np.eye(a.n_channels)
    for s, d in zip(path, path[1:], strict=False):
        m = _matrix(s, d, _EDGES[(s, d)]) @ m
    return m
