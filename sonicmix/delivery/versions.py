"""Versions delivered with a printmaster: fold-downs and a binaural render, each to its own target.

An immersive delivery is a printmaster (7.1.4, say) and its stems, together with versions made
from it: a stereo or 5.1 fold-down, a binaural render for headphones. Each version is derived
from the kept render of the printmaster *before* its gain and limiter, and then goes through a
loudness loop of its own to its own target. A fold-down does not keep the printmaster's loudness
or peaks (correlated channels summed into the front pair add level, independent ones folded in at
-3 dB lose some, the LFE and BS.1770's surround weighting drop out), and head-related filters lift
the presence band, so the printmaster's gain would deliver a version off target.
:func:`sonicmix.delivery.deliver` takes the versions as ``versions={name: Version(...)}`` and
writes each into ``out_dir/<name>/``.

Examples
--------
>>> Version("apple-podcasts", layout="stereo").describe()
'stereo fold-down'
>>> Version("spotify", binaural=True).describe()
'binaural render (MIT KEMAR)'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sonicmix.delivery.formats import AudioFormat
from sonicmix.delivery.kept import KeptRender
from sonicmix.errors import ParameterError
from sonicmix.loudness import LoudnessMeter, LoudnessReport
from sonicmix.targets import LoudnessTarget, get_target

__all__ = ["Version", "check_versions", "Derived", "derive", "layout_channels", "transforms"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Version:
    """A version of the printmaster, delivered beside it to its own target.

    Parameters
    ----------
    target : LoudnessTarget or str
        The version's target or preset name; it may differ from the printmaster's
        (a binaural render for a music service, a stereo fold-down for broadcast).
    layout : str, default "stereo"
        The layout the printmaster (and its stems, with ``stems=True``) is folded
        down to, with the coefficients of :func:`sonicmix.layouts.conversion_matrix`.
        Must be ``"stereo"`` for a binaural version.
    binaural : bool, default False
        Render every loudspeaker of the printmaster for headphones by HRIR
        convolution (:class:`sonicmix.spatial.Binaural`) instead of folding it down.
    sofa : path, optional
        The HRIR set of a binaural version (a SOFA file); by default the MIT
        KEMAR set that Debian's libmysofa1 installs.
    formats : str or sequence of str, optional
        The version's formats, as for :func:`~sonicmix.delivery.deliver` (default
        ``"wav"``; a spec without a bitrate takes the version's target's).
    stems : bool, default False
        Deliver the stems (and the M&E mix, when the printmaster has one) as
        versions too, each folded down or rendered the same way.
    lfe_db : float, optional
        Gain of the LFE channel into the version, in dB; by default it is dropped
        (ITU-R BS.775). See :func:`sonicmix.layouts.downmix` and :class:`~sonicmix.spatial.Binaural`.

    Examples
    --------
    >>> v = Version("ebu-r128", layout="5.1", stems=True)
    >>> v.layout, v.stems
    ('5.1', True)
    """

    target: LoudnessTarget | str
    layout: str = "stereo"
    binaural: bool = False
    sofa: str | os.PathLike[str] | None = None
    formats: str | Sequence[str | AudioFormat] | None = None
    stems: bool = False
    lfe_db: float | None = None

    def __post_init__(self) -> None:
        from sonicmix.layouts import get_layout

        object.__setattr__(self, "target", get_target(self.target))
        for key in ("binaural", "stems"):
            if not isinstance(getattr(self, key), (bool, np.bool_)):
                raise ParameterError(f"Version {key}={getattr(self, key)!r}; expected True or False")
        layout = get_layout(self.layout)  # an unknown name is a LayoutError naming the known ones
        object.__setattr__(self, "layout", layout.name)
        if self.binaural and layout.name != "stereo":
            raise ParameterError(
                f"Version(binaural=True, layout={self.layout!r}); a binaural render is two ears: "
                "leave layout at 'stereo'"
            )
        if self.sofa is not None and not self.binaural:
            raise ParameterError("Version sofa= is given for a fold-down; expected binaural=True with it")

    def describe(self) -> str:
        """How the version is made, in a few words (for reports)."""
        if self.binaural:
            hrirs = "MIT KEMAR" if self.sofa is None else os.path.basename(os.fspath(self.sofa))
            return f"binaural render ({hrirs})"
        return f"{self.layout} fold-down"


def check_versions(versions: Mapping[str, Version] | None) -> dict[str, Version]:
    """The versions by name, checked: each name is a plain folder name, each value a :class:`Version`."""
    if versions is None:
        return {}
    if not isinstance(versions, Mapping):
        raise ParameterError(
            f"versions={versions!r}; expected a mapping of names to Version, e.g. "
            "{'stereo': Version('ebu-r128', layout='stereo')}"
        )
    for name, version in versions.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ParameterError(
                f"versions name {name!r} is not a plain folder name; expected letters, digits, '.', '_' "
                "or '-', starting with a letter or digit (each version is written into out_dir/<name>/)"
            )
        if not isinstance(version, Version):
            raise ParameterError(
                f"versions[{name!r}]={version!r}; expected a sonicmix.delivery.versions.Version"
            )
    return dict(versions)


class _Transform:
    """One bus of the printmaster turned into the version: a fold-down matrix or a binaural stream."""

    def __init__(self, version: Version, layout: str, channels: int, sample_rate: int) -> None:
        self.version, self.source, self.rate = version, layout, sample_rate
        if version.binaural:
            from sonicmix.spatial import Binaural

            self.node: Any = Binaural(layout=layout, sofa=version.sofa, lfe_db=version.lfe_db)
            # the HRIRs are read here, so a missing SOFA file fails before the render
            self.state = self.node.init_state(channels, sample_rate, np.float32)
        else:
            from sonicmix.layouts import downmix

            downmix(np.zeros((channels, 1), np.float32), layout, version.layout, lfe_db=version.lfe_db)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self.version.binaural:
            out, self.state = self.node.process(block, self.rate, self.state)
            return out
        from sonicmix.layouts import downmix

        return downmix(block, self.source, self.version.layout, lfe_db=self.version.lfe_db)

    @property
    def layout(self) -> str:
        return "stereo" if self.version.binaural else self.version.layout


def transforms(
    version: Version, layouts: Mapping[str, str], channels: Mapping[str, int], sample_rate: int
) -> dict[str, _Transform]:
    """A transform for each bus (checked: layouts convertible, HRIRs readable), before any render.

    A fold-down must be one of the printmaster's (``"master"``'s) fold-downs; a stem of
    another layout is converted to it (a mono dialogue stem placed in the centre).
    """
    if not version.binaural:
        from sonicmix.errors import LayoutError
        from sonicmix.layouts import fold_down_chain

        chain = fold_down_chain(layouts["master"])
        if version.layout not in chain:
            expected = f"expected one of {list(chain)} or binaural=True" if chain else "it has no fold-down"
            raise LayoutError(
                f"Version(layout={version.layout!r}) is not a fold-down of the {layouts['master']!r} "
                f"printmaster; {expected}"
            )
    return {n: _Transform(version, layouts[n], channels[n], sample_rate) for n in channels}


@dataclass
class Derived:
    """A version's render, kept like the printmaster's, with its measurement before gain."""

    kept: KeptRender
    before: LoudnessReport
    gate_power: np.ndarray | None


def derive(
    kept: KeptRender,
    steps: dict[str, _Transform],
    keep: Sequence[str],
    gate: Sequence[str],
    folder: str,
    memory_mb: float,
    block_size: int,
) -> Derived:
    """Stream the printmaster's kept render through ``steps`` into a kept render of the version.

    ``keep`` names the buses the version delivers (``"master"`` first); the version's
    mix is measured on the way, and the buses in ``gate`` (the dialogue stems, kept
    or not) give its dialogue gate: their summed 400 ms block powers.
    """
    rate = kept.sample_rate
    os.makedirs(folder, exist_ok=True)
    layouts = {n: steps[n].layout for n in steps}
    channels = {n: layout_channels(layouts[n]) for n in keep}
    into = KeptRender(folder, channels, rate, memory_mb, {n: layouts[n] for n in keep})
    meter = LoudnessMeter(rate, layout=layouts["master"], true_peak=False)
    gates = {d: LoudnessMeter(rate, layout=layouts[d], true_peak=False) for d in gate}
    for blocks in kept.blocks(block_size, list(steps)):
        out = {n: step(blocks[n]) for n, step in steps.items()}
        meter.update(out["master"])
        for d, m in gates.items():
            m.update(out[d])
        into.append({n: out[n] for n in keep})
    into.commit()
    power = sum(m.report().block_powers for m in gates.values()) if gates else None
    return Derived(into, meter.report(), power)


def layout_channels(layout: str) -> int:
    """Channel count of a named layout (a version's mix and stems)."""
    from sonicmix.layouts import get_layout

    return get_layout(layout).n_channels
