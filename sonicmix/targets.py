"""Loudness targets: what a programme must measure to be delivered somewhere.

A :class:`LoudnessTarget` is a frozen value: an integrated loudness with its
tolerance window, a true-peak ceiling and optional ceilings on loudness range,
short-term and momentary maxima. The named presets in :data:`PRESETS` cite the
text each value comes from; ``docs/targets.md`` records what was checked, where,
and which values could not be confirmed against a primary text.

Custom targets are first-class: construct one, or round-trip one through
:meth:`LoudnessTarget.to_dict` / :meth:`LoudnessTarget.from_dict` (e.g. JSON).

Examples
--------
>>> from sonicmix import targets
>>> targets.EBU_R128.integrated_lufs, targets.EBU_R128.true_peak_dbtp
(-23.0, -1.0)
>>> targets.get_target("atsc-a85").lower_lufs, targets.get_target("atsc-a85").upper_lufs
(-26.0, -22.0)
>>> spot = targets.LoudnessTarget(name="ad-spot", integrated_lufs=-23.0, tolerance_lu=(1.0, 0.5),
...                               true_peak_dbtp=-2.0, max_short_term_lufs=-18.0)
>>> spot.lower_lufs, spot.upper_lufs
(-24.0, -22.5)
>>> targets.LoudnessTarget.from_dict(spot.to_dict()) == spot
True
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Literal

from sonicmix._checks import check_range
from sonicmix.errors import ParameterError

__all__ = [
    "LoudnessTarget",
    "Measurement",
    "PRESETS",
    "get_target",
    "EBU_R128",
    "EBU_R128_QC",
    "EBU_R128_S1",
    "EBU_R128_S4",
    "ATSC_A85",
    "ARIB_TR_B32",
    "OP_59",
    "NETFLIX",
    "NETFLIX_PROGRAMME",
    "APPLE_PODCASTS",
    "SPOTIFY",
    "YOUTUBE",
    "AES_TD1004",
    "AES_TD1008_SPEECH",
    "AES_TD1008_MUSIC",
]

#: How the integrated loudness is gated: ``"programme"`` is all audio gated per
#: ITU-R BS.1770 (-70 LUFS absolute, -10 LU relative); ``"dialogue"`` is
#: loudness measured over the dialogue only (speech-gated, as Dolby's Dialogue
#: Intelligence does), which sonicmix estimates from the dialogue stem when
#: delivering (:func:`sonicmix.deliver.deliver`).
Measurement = Literal["programme", "dialogue"]
_MEASUREMENTS = ("programme", "dialogue")

#: The meter's absolute gate: a target at or below it could never be measured.
_ABSOLUTE_GATE_LUFS = -70.0


def _level(
    name: str, value: object, *, optional: bool = False, low: float = _ABSOLUTE_GATE_LUFS
) -> float | None:
    if value is None and optional:
        return None
    return check_range(
        name, value, low=low, high=0.0, low_inclusive=False, hint="a level in LUFS is negative, e.g. -23.0"
    )


def _tolerance(value: object) -> float | tuple[float, float]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ParameterError(
                f"tolerance_lu={value!r} has {len(value)} items; expected one number (symmetric) or "
                "(below_lu, above_lu)"
            )
        below = check_range("tolerance_lu[0] (below)", value[0], low=0.0, high=20.0)
        above = check_range("tolerance_lu[1] (above)", value[1], low=0.0, high=20.0)
        return (below, above)
    return check_range(
        "tolerance_lu", value, low=0.0, high=20.0, hint="a tolerance is a non-negative width in LU, e.g. 1.0"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoudnessTarget:
    """A loudness specification a programme is normalised to and checked against.

    Parameters
    ----------
    integrated_lufs : float
        Nominal integrated (programme) loudness in LUFS (= LKFS). Must be in
        (-70, 0].
    tolerance_lu : float or (float, float), default 1.0
        Permitted deviation from ``integrated_lufs`` in LU: one number for a
        symmetric window, or ``(below_lu, above_lu)`` where a specification
        gives different limits below and above. Each must be in [0, 20].
    true_peak_dbtp : float, default -1.0
        Maximum true-peak level in dBTP (ITU-R BS.1770 true peak). Must be in
        [-60, 0].
    max_lra_lu : float, optional
        Maximum loudness range (EBU Tech 3342) in LU; ``None`` sets no limit.
    max_short_term_lufs : float, optional
        Maximum short-term (3 s) loudness in LUFS; ``None`` sets no limit.
    max_momentary_lufs : float, optional
        Maximum momentary (400 ms) loudness in LUFS; ``None`` sets no limit.
        Must not be below the lowest integrated loudness the window allows (the
        momentary maximum is never below the integrated loudness).
    measurement : {"programme", "dialogue"}, default "programme"
        ``"programme"``: the integrated loudness is all audio gated per
        BS.1770. ``"dialogue"``: it is the dialogue-gated loudness (speech only),
        which :func:`sonicmix.deliver.deliver` estimates from the dialogue stem;
        see :func:`sonicmix.compliance.evaluate`.
    name : str, default "custom"
        Short identifier; presets use their key in :data:`PRESETS`.
    source : str, default ""
        Citation of the text the values come from.
    recommendation : bool, default False
        True where the values are a platform's recommendation or playback
        normalisation reference rather than a standard's or a client's
        delivery requirement.
    max_ldr_lu : float, optional
        Maximum Loudness-to-Dialogue Ratio in LU (EBU R 128 s4): programme
        loudness minus dialogue loudness. A delivery measures the dialogue from its
        dialogue stem, or with the speech detector where it has none.
    formats : tuple of str, default ()
        The file formats the platform takes, as format specs with their usual
        bitrate (``"mp3:128k"``; see :mod:`sonicmix.delivery.formats`). A format
        asked of a delivery without a bitrate takes the one given here.

    Raises
    ------
    ParameterError
        For any value out of range or of the wrong type; the message names it.

    See Also
    --------
    get_target : a preset by name.
    sonicmix.compliance.evaluate : check a loudness report against a target.

    Examples
    --------
    >>> t = LoudnessTarget(integrated_lufs=-23.0, true_peak_dbtp=-1.0, tolerance_lu=0.5)
    >>> t.lower_lufs, t.upper_lufs, t.contains(-23.4)
    (-23.5, -22.5, True)
    >>> LoudnessTarget(integrated_lufs=23.0)
    Traceback (most recent call last):
    ...
    sonicmix.errors.ParameterError: integrated_lufs=23 is out of range; expected integrated_lufs > -70 and \
integrated_lufs <= 0 (a level in LUFS is negative, e.g. -23.0)
    """

    integrated_lufs: float
    tolerance_lu: float | tuple[float, float] = 1.0
    true_peak_dbtp: float = -1.0
    max_lra_lu: float | None = None
    max_short_term_lufs: float | None = None
    max_momentary_lufs: float | None = None
    measurement: Measurement = "programme"
    name: str = "custom"
    source: str = ""
    recommendation: bool = False
    max_ldr_lu: float | None = None
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "integrated_lufs", _level("integrated_lufs", self.integrated_lufs))
        set_(self, "tolerance_lu", _tolerance(self.tolerance_lu))
        set_(
            self,
            "true_peak_dbtp",
            check_range("true_peak_dbtp", self.true_peak_dbtp, low=-60.0, high=0.0, hint="e.g. -1.0"),
        )
        if self.max_lra_lu is not None:
            set_(self, "max_lra_lu", check_range("max_lra_lu", self.max_lra_lu, low=0.0, high=60.0))
        set_(
            self,
            "max_short_term_lufs",
            _level("max_short_term_lufs", self.max_short_term_lufs, optional=True),
        )
        set_(self, "max_momentary_lufs", _level("max_momentary_lufs", self.max_momentary_lufs, optional=True))
        if self.max_momentary_lufs is not None and self.max_momentary_lufs < self.lower_lufs:
            raise ParameterError(
                f"max_momentary_lufs={self.max_momentary_lufs:g} is below the lowest integrated loudness "
                f"allowed ({self.lower_lufs:g} LUFS); expected max_momentary_lufs >= {self.lower_lufs:g} "
                "(the momentary maximum is never below the integrated loudness, so no programme could pass)"
            )
        if self.measurement not in _MEASUREMENTS:
            close = difflib.get_close_matches(str(self.measurement), _MEASUREMENTS, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(
                f"measurement={self.measurement!r} is unknown; expected 'programme' or 'dialogue'{hint}"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise ParameterError(f"name={self.name!r} is invalid; expected a non-empty string")
        if not isinstance(self.source, str):
            raise ParameterError(f"source={self.source!r} is not a string; expected a citation text")
        if self.max_ldr_lu is not None:
            set_(self, "max_ldr_lu", check_range("max_ldr_lu", self.max_ldr_lu, low=0.0, high=30.0))
        if isinstance(self.formats, str) or not all(isinstance(f, str) for f in self.formats):
            raise ParameterError(
                f"formats={self.formats!r}; expected a tuple of format specs such as ('mp3:128k',)"
            )
        from sonicmix.delivery.formats import parse_formats

        set_(self, "formats", tuple(f.spec for f in parse_formats(self.formats)) if self.formats else ())
        if not isinstance(self.recommendation, bool):
            raise ParameterError(
                f"recommendation={self.recommendation!r} is not a bool; expected True or False"
            )

    # ------------------------------------------------------------------ window

    @property
    def tolerance_below_lu(self) -> float:
        """How far below ``integrated_lufs`` the programme may measure, in LU."""
        tol = self.tolerance_lu
        return tol[0] if isinstance(tol, tuple) else tol

    @property
    def tolerance_above_lu(self) -> float:
        """How far above ``integrated_lufs`` the programme may measure, in LU."""
        tol = self.tolerance_lu
        return tol[1] if isinstance(tol, tuple) else tol

    @property
    def lower_lufs(self) -> float:
        """Lowest integrated loudness that complies, in LUFS."""
        return self.integrated_lufs - self.tolerance_below_lu

    @property
    def upper_lufs(self) -> float:
        """Highest integrated loudness that complies, in LUFS."""
        return self.integrated_lufs + self.tolerance_above_lu

    def contains(self, integrated_lufs: float) -> bool:
        """Whether an integrated loudness lies within the tolerance window (bounds included).

        An undefined loudness (``-inf`` or ``nan``) is never within it.
        """
        value = float(integrated_lufs)
        return math.isfinite(value) and self.lower_lufs <= value <= self.upper_lufs

    # --------------------------------------------------------------- plain data

    def to_dict(self) -> dict[str, object]:
        """Return the target as plain JSON-safe values (a tuple tolerance becomes a list).

        Examples
        --------
        >>> LoudnessTarget(integrated_lufs=-16.0, name="pod").to_dict()["tolerance_lu"]
        1.0
        """
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LoudnessTarget:
        """Build a target from :meth:`to_dict`'s output (or any mapping of field names).

        Unknown keys are refused (a misspelt ``"true_peak_dbfs"`` would otherwise
        be silently ignored); missing optional keys take their defaults.

        Raises
        ------
        ParameterError
            For a non-mapping, an unknown key (with a did-you-mean hint), a
            missing ``integrated_lufs`` or any invalid value.

        Examples
        --------
        >>> LoudnessTarget.from_dict({"integrated_lufs": -24, "true_peak_dbfs": -2})
        Traceback (most recent call last):
        ...
        sonicmix.errors.ParameterError: key 'true_peak_dbfs' is not a LoudnessTarget field \
(did you mean 'true_peak_dbtp'?); expected keys among ['integrated_lufs', 'tolerance_lu', \
'true_peak_dbtp', 'max_lra_lu', 'max_short_term_lufs', 'max_momentary_lufs', 'measurement', \
'name', 'source', 'recommendation', 'max_ldr_lu', 'formats']
        """
        if not isinstance(data, Mapping):
            raise ParameterError(
                f"data is a {type(data).__name__}; expected a mapping like LoudnessTarget.to_dict() returns"
            )
        names = [f.name for f in fields(cls)]
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ParameterError(
                    f"key {key!r} is not a LoudnessTarget field{hint}; expected keys among {names}"
                )
        if "integrated_lufs" not in data:
            raise ParameterError("data has no 'integrated_lufs'; expected the nominal loudness in LUFS")
        kwargs = dict(data)
        if isinstance(kwargs.get("tolerance_lu"), list):
            kwargs["tolerance_lu"] = tuple(kwargs["tolerance_lu"])  # type: ignore[arg-type]
        if isinstance(kwargs.get("formats"), list):
            kwargs["formats"] = tuple(kwargs["formats"])  # type: ignore[arg-type]
        return cls(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- presets
# Values and their sources are discussed in docs/targets.md; keep the two in step.

EBU_R128 = LoudnessTarget(
    name="ebu-r128",
    integrated_lufs=-23.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    source=(
        "EBU R 128 v4.0 (2020): Programme Loudness -23.0 LUFS, tolerance +-1.0 LU in production "
        "(+-0.5 LU in v3.0, 2014); Maximum True Peak Level -1 dBTP in production"
    ),
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""EBU R 128 v4.0 (2020): -23.0 LUFS +-1.0 LU (production), true peak <= -1 dBTP."""

EBU_R128_S4 = LoudnessTarget(
    name="ebu-r128-s4",
    integrated_lufs=-23.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    max_ldr_lu=5.0,
    source=(
        "EBU R 128 s4 (2023), Loudness normalisation of Cinematic Content: the R 128 programme loudness "
        "and true peak, with the Loudness-to-Dialogue Ratio (programme minus dialogue loudness) not above "
        "5 LU; the 5 LU figure is from secondary summaries of s4, not confirmed against its text"
    ),
    formats=("wav",),
)
"""EBU R 128 s4 (2023), cinematic content: R 128, and LDR <= 5 LU (figure from summaries)."""

EBU_R128_QC = LoudnessTarget(
    name="ebu-r128-qc",
    integrated_lufs=-23.0,
    tolerance_lu=0.2,
    true_peak_dbtp=-1.0,
    source="EBU R 128 v4.0 (2020): Programme Loudness -23.0 LUFS, +-0.2 LU tolerance for QC measurements",
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""EBU R 128 v4.0 (2020), quality-control tolerance: -23.0 LUFS +-0.2 LU, <= -1 dBTP."""

EBU_R128_S1 = LoudnessTarget(
    name="ebu-r128-s1",
    integrated_lufs=-23.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    max_short_term_lufs=-18.0,
    source=(
        "EBU R 128 s1 (short-form content, 2016 revision): R 128 loudness and true peak, plus Maximum "
        "Short-term Loudness -18 LUFS; LRA not used for short-form content"
    ),
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""EBU R 128 s1 (short-form, e.g. commercials): R 128 plus max short-term loudness -18 LUFS."""

ATSC_A85 = LoudnessTarget(
    name="atsc-a85",
    integrated_lufs=-24.0,
    tolerance_lu=2.0,
    true_peak_dbtp=-2.0,
    source="ATSC A/85:2013 (US, referenced by the CALM Act): target -24 LKFS +-2 dB; true peak -2 dBTP",
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""ATSC A/85:2013: -24 LKFS +-2 dB, true peak <= -2 dBTP."""

ARIB_TR_B32 = LoudnessTarget(
    name="arib-tr-b32",
    integrated_lufs=-24.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    source="ARIB TR-B32 (Japan; NAB-J T032 follows it): target -24 LKFS, operating tolerance +-1 dB; "
    "true peak -1 dBTP",
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""ARIB TR-B32 (Japan): -24 LKFS +-1 dB, true peak <= -1 dBTP."""

OP_59 = LoudnessTarget(
    name="op-59",
    integrated_lufs=-24.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-2.0,
    source="Free TV Australia OP-59: target -24 LKFS (confirmed); tolerance +-1 LU and true peak -2 dBTP "
    "are NOT confirmed against the OP-59 text (see docs/targets.md)",
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""Free TV Australia OP-59: -24 LKFS; tolerance and true-peak values unconfirmed (see docs)."""

NETFLIX = LoudnessTarget(
    name="netflix",
    integrated_lufs=-27.0,
    tolerance_lu=2.0,
    true_peak_dbtp=-2.0,
    measurement="dialogue",
    source="Netflix Sound Mix Specifications & Best Practices v1.4: -27 LKFS +-2 LU dialogue-gated "
    "(ITU-R BS.1770-1 with speech gating), true peak -2 dBTP",
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""Netflix: -27 LKFS +-2 LU dialogue-gated, true peak <= -2 dBTP."""

NETFLIX_PROGRAMME = LoudnessTarget(
    name="netflix-programme",
    integrated_lufs=-24.0,
    tolerance_lu=2.0,
    true_peak_dbtp=-2.0,
    source="Netflix Sound Mix Specifications v1.4: -24 LKFS +-2 LU programme loudness (BS.1770-3/4) "
    "for mixes with 15 % dialogue or less; true peak -2 dBTP",
    formats=("wav",),  # broadcast and streaming-service masters: BWF
)
"""Netflix, low-dialogue mixes: -24 LKFS +-2 LU programme-gated, true peak <= -2 dBTP."""

APPLE_PODCASTS = LoudnessTarget(
    name="apple-podcasts",
    integrated_lufs=-16.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    recommendation=True,
    source="Apple Podcasts for Creators, Audio requirements: -16 LKFS +-1 dB, true peak not above -1 dB",
    # Apple Podcasts Connect takes WAV, FLAC or MP3 (stereo MP3: 128-256 kbit/s recommended);
    # RSS feeds take MP3 or AAC
    formats=("mp3:128k", "aac:128k", "flac", "wav"),
)
"""Apple Podcasts: -16 LKFS +-1 dB, true peak <= -1 dBTP (recommendation)."""

SPOTIFY = LoudnessTarget(
    name="spotify",
    integrated_lufs=-14.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    recommendation=True,
    source="Spotify for Artists, Loudness normalization: playback reference -14 LUFS integrated, keep "
    "true peak below -1 dBTP (-2 dBTP for masters louder than -14 LUFS); Spotify states no tolerance, "
    "the +-1 LU window is sonicmix's choice",
    # lossless masters to ingest; Ogg Vorbis (q5, about 160 kbit/s) and AAC as streamed
    formats=("flac", "wav", "vorbis:q5", "aac:256k"),
)
"""Spotify: -14 LUFS playback reference, true peak <= -1 dBTP; tolerance is sonicmix's choice."""

YOUTUBE = LoudnessTarget(
    name="youtube",
    integrated_lufs=-14.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    recommendation=True,
    source="YouTube: about -14 LUFS playback reference, from measurements; YouTube publishes no figure, "
    "no tolerance and no true-peak limit (the -1 dBTP ceiling is AES TD1008's codec-input recommendation)",
    formats=("aac:384k", "flac", "wav"),  # YouTube's recommended upload audio: AAC-LC, stereo 384 kbit/s
)
"""YouTube: about -14 LUFS (measured, not published by YouTube); see docs/targets.md."""

AES_TD1004 = LoudnessTarget(
    name="aes-td1004",
    integrated_lufs=-18.0,
    tolerance_lu=2.0,
    true_peak_dbtp=-1.0,
    recommendation=True,
    source="AES TD1004.1.15-10 (2015): stream Target Loudness not above -16 LUFS and not below -20 LUFS "
    "(the window -18 +-2 LU); maximum peak -1.0 dBTP",
)
"""AES TD1004 (2015): -20 to -16 LUFS, true peak <= -1 dBTP (recommendation)."""

AES_TD1008_SPEECH = LoudnessTarget(
    name="aes-td1008-speech",
    integrated_lufs=-18.0,
    tolerance_lu=2.0,
    true_peak_dbtp=-1.0,
    measurement="dialogue",
    recommendation=True,
    source="AES TD1008 (2021): speech-anchored content -18 LUFS measured on dialogue; Maximum True Peak "
    "-1 dBTP at the codec input; the +-2 LU tolerance is from secondary summaries, not confirmed",
)
"""AES TD1008 (2021), speech: -18 LUFS dialogue, <= -1 dBTP (tolerance unconfirmed)."""

AES_TD1008_MUSIC = LoudnessTarget(
    name="aes-td1008-music",
    integrated_lufs=-16.0,
    tolerance_lu=1.0,
    true_peak_dbtp=-1.0,
    recommendation=True,
    source="AES TD1008 (2021): music track-normalised to -16 LUFS (album-normalised: loudest track "
    "-14 LUFS); Maximum True Peak -1 dBTP at the codec input; the +-1 LU tolerance is sonicmix's choice",
)
"""AES TD1008 (2021), music: -16 LUFS track-normalised, <= -1 dBTP (tolerance is sonicmix's choice)."""

_ALL = (
    EBU_R128,
    EBU_R128_S4,
    EBU_R128_QC,
    EBU_R128_S1,
    ATSC_A85,
    ARIB_TR_B32,
    OP_59,
    NETFLIX,
    NETFLIX_PROGRAMME,
    APPLE_PODCASTS,
    SPOTIFY,
    YOUTUBE,
    AES_TD1004,
    AES_TD1008_SPEECH,
    AES_TD1008_MUSIC,
)

#: Every preset by its short name (read-only).
PRESETS: Mapping[str, LoudnessTarget] = MappingProxyType({t.name: t for t in _ALL})


def get_target(name: str | LoudnessTarget) -> LoudnessTarget:
    """Return the preset called ``name`` (case-insensitive); a target passes through unchanged.

    Raises
    ------
    ParameterError
        For an unknown name, with the closest preset names as a hint.

    Examples
    --------
    >>> get_target("EBU-R128").integrated_lufs
    -23.0
    >>> get_target("netflx")
    Traceback (most recent call last):
    ...
    sonicmix.errors.ParameterError: target 'netflx' is unknown (did you mean 'netflix'?); \
expected a preset name (see `sonicmix targets`) among ['aes-td1004', 'aes-td1008-music', \
'aes-td1008-speech', 'apple-podcasts', 'arib-tr-b32', 'atsc-a85', 'ebu-r128', 'ebu-r128-qc', \
'ebu-r128-s1', 'ebu-r128-s4', 'netflix', 'netflix-programme', 'op-59', 'spotify', 'youtube'], or a \
LoudnessTarget
    """
    if isinstance(name, LoudnessTarget):
        return name
    if not isinstance(name, str):
        raise ParameterError(
            f"target={name!r} is a {type(name).__name__}; expected a preset name or a LoudnessTarget"
        )
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in PRESETS:
        return PRESETS[key]
    close = difflib.get_close_matches(key, list(PRESETS), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ParameterError(
        f"target {name!r} is unknown{hint}; expected a preset name (see `sonicmix targets`) among "
        f"{sorted(PRESETS)}, or a LoudnessTarget"
    )
