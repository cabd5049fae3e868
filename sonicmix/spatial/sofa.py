"""Head-related impulse responses (HRIRs) read from SOFA files (AES69, SimpleFreeFieldHRIR).

A SOFA file (AES69-2022, "Spatially Oriented Format for Acoustics") is a
netCDF-4 file, which is an HDF5 file, and is read here with h5py
(``pip install "sonicmix[binaural]"``). The SimpleFreeFieldHRIR convention
stores, for ``M`` measurements and ``R = 2`` receivers (the ears) of ``N``
taps each:

- ``Data.IR``, shape ``(M, R, N)``: the impulse responses;
- ``Data.SamplingRate``: their sample rate in Hz;
- ``Data.Delay``, shape ``(1, R)`` or ``(M, R)``: a broadband delay in samples
  to add to each response (0 in most files);
- ``SourcePosition``, shape ``(M, 3)``: where the loudspeaker was, in
  spherical coordinates (azimuth and elevation in degrees, distance in metres)
  or cartesian ones (metres);
- ``ReceiverPosition``: where the ears are, which tells left from right.

Directions. SOFA's listener looks along +x with +y to the left and +z up
(``ListenerView = [1, 0, 0]``, ``ListenerUp = [0, 0, 1]``), and its spherical
azimuth runs counterclockwise seen from above: **positive azimuth is to the
left**, as in ITU-R BS.2051. Azimuths in [0, 360) are taken to (-180, 180], so
SOFA's 270 degrees is BS.2051's -90 (right). The ear with the larger ``y``
in ``ReceiverPosition`` is the left ear; an :class:`HrirSet` always holds the
left ear first. On the MIT KEMAR set (libmysofa1's
``MIT_KEMAR_normal_pinna.sofa``, whose receiver 0 is at ``y = +0.09 m``) a
source at azimuth +90 reaches receiver 0 31 samples (0.70 ms at 44.1 kHz)
earlier and 11.8 dB louder: left is positive, left is receiver 0 (the tests
check this on the raw file).

The default set is the MIT KEMAR dummy-head set (Gardner and Martin, MIT Media
Lab, 1994; 710 directions from -40 to +90 degrees elevation, 512 taps at
44.1 kHz) that Debian's libmysofa1 installs. Where it is missing,
:func:`default_sofa_path` says how to get it or how to pass another file.

References
----------
AES69-2022, "AES standard for file exchange - Spatial acoustic data file format".
P. Majdak et al., "Spatially Oriented Format for Acoustics: A Data Exchange Format
Representing Head-Related Transfer Functions", AES 134th Convention, 2013, paper 8880.
B. Gardner and K. Martin, "HRTF Measurements of a KEMAR Dummy-Head Microphone",
MIT Media Lab Perceptual Computing Technical Report 280, 1994.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import sys
from typing import Any

import numpy as np

from sonicmix._checks import check_regular_file, check_sample_rate
from sonicmix.errors import AudioFileError, ParameterError

__all__ = [
    "DEFAULT_SOFA_PATHS",
    "HrirSet",
    "SofaError",
    "default_sofa_path",
    "load_hrirs",
    "read_sofa",
]

#: Where an installed default HRIR set is looked for, in order (Debian's and Ubuntu's libmysofa1).
DEFAULT_SOFA_PATHS: tuple[str, ...] = (
    "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa",
    "/usr/share/libmysofa/default.sofa",
)

#: Leading zeros (at the set's rate) put before responses that are resampled, at least.
_RESAMPLER_ROOM = 256
#: Energy, relative to a response's, that resampling may drop before its first sample (-60 dB).
_PRE_RINGING_LOSS = 1e-6

_INSTALL_H5PY = 'pip install "sonicmix[binaural]" (or pip install h5py)'
_HOW_TO_GET_ONE = (
    "install Debian's or Ubuntu's libmysofa1 (sudo apt-get install libmysofa1), which ships the MIT KEMAR "
    "set as /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa, or pass sofa= the path of a SOFA "
    "SimpleFreeFieldHRIR file (sets are listed at https://www.sofaconventions.org)"
)


class SofaError(AudioFileError):
    """A SOFA file cannot be used: missing, not SOFA, or not a set of HRIRs (an :class:`AudioFileError`)."""


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ImportError(f"reading SOFA files needs h5py, which is not installed; {_INSTALL_H5PY}") from None
    return h5py


# ---------------------------------------------------------------------------------------- HRIR set


def _unit_vectors(directions_deg: np.ndarray) -> np.ndarray:
    az = np.radians(directions_deg[..., 0])
    el = np.radians(directions_deg[..., 1])
    return np.stack((np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)), axis=-1)


class HrirSet:
    """An immutable, hashable set of head-related impulse responses, one pair per direction.

    Parameters
    ----------
    irs : array_like, shape=(directions, 2, taps)
        Finite impulse responses, left ear first, at ``sample_rate``. Copied
        and stored as float64.
    directions_deg : array_like, shape=(directions, 2)
        Azimuth and elevation of each measurement, in degrees, BS.2051 signs:
        azimuth positive to the left, in [-180, 360) (taken to (-180, 180]),
        elevation positive upwards, in [-90, 90].
    sample_rate : int
        Sample rate of the responses, in Hz.

    Other Parameters
    ----------------
    distances_m : array_like, shape=(directions,), optional
        Distance of each measurement's source, in metres (default: all 1.0).
        Only the farthest measurements take part in :meth:`nearest`.
    name : str, default ""
        Where the set comes from (the file a :func:`read_sofa` set was read from).

    Raises
    ------
    ParameterError
        If a shape does not match, a sample is not finite or an angle is out of range.

    Notes
    -----
    Two sets are equal when their responses, directions, distances, rate and
    name are. The ``repr`` spells out every value, so that a node holding a
    set evaluates back to an equal node; for a set read from a file, a node
    holding the file's path instead has a short ``repr``.

    Examples
    --------
    Two directions of a toy "head" whose far ear hears half as much, one sample later:

    >>> import numpy as np
    >>> irs = np.zeros((2, 2, 4))
    >>> irs[0, 0, 0], irs[0, 1, 1] = 1.0, 0.5     # +90 degrees: left ear first and louder
    >>> irs[1, 1, 0], irs[1, 0, 1] = 1.0, 0.5     # -90 degrees: the mirror image
    >>> hrirs = HrirSet(irs, [(90.0, 0.0), (270.0, 0.0)], 48000)
    >>> hrirs.directions_deg.tolist()
    [[90.0, 0.0], [-90.0, 0.0]]
    >>> index, error_deg = hrirs.nearest(80.0, 10.0)
    >>> int(index), round(error_deg, 2)
    (0, 14.11)
    """

    __slots__ = ("_irs", "_directions", "_distances", "_rate", "_name", "_hash", "_vectors", "_far")

    def __init__(
        self,
        irs: Any,
        directions_deg: Any,
        sample_rate: int,
        *,
        distances_m: Any = None,
        name: str = "",
    ) -> None:
        try:
            h = np.array(irs, dtype=np.float64)
            d = np.array(directions_deg, dtype=np.float64)
            r = np.ones(len(d)) if distances_m is None else np.array(distances_m, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(
                "irs, directions_deg and distances_m must be arrays of numbers; expected irs of shape "
                "(directions, 2, taps) and directions_deg of shape (directions, 2)"
            ) from None
        if h.ndim != 3 or h.shape[1] != 2 or h.shape[0] < 1 or h.shape[2] < 1:
            raise ParameterError(
                f"irs.shape={h.shape}; expected (directions, 2, taps): a left and a right response "
                "for every direction"
            )
        if d.shape != (h.shape[0], 2):
            raise ParameterError(
                f"directions_deg.shape={d.shape} but irs holds {h.shape[0]} directions; expected "
                f"({h.shape[0]}, 2): (azimuth_deg, elevation_deg) of each"
            )
        if r.shape != (h.shape[0],) or not np.all(np.isfinite(r)) or np.any(r <= 0):
            raise ParameterError(
                f"distances_m has shape {r.shape}; expected {h.shape[0]} finite distances > 0 in metres"
            )
        if not np.all(np.isfinite(h)):
            m, ear, tap = (int(i[0]) for i in np.nonzero(~np.isfinite(h)))
            raise ParameterError(
                f"irs[{m}, {ear}, {tap}]={h[m, ear, tap]} is not finite; expected finite impulse responses"
            )
        with np.errstate(invalid="ignore"):
            bad = np.stack((~(d[:, 0] >= -180.0) | ~(d[:, 0] < 360.0), ~(np.abs(d[:, 1]) <= 90.0)), axis=1)
        if bad.any():
            m, axis = (int(i[0]) for i in np.nonzero(bad))
            label, expected = (
                ("azimuth_deg", "-180 <= azimuth_deg < 360")
                if axis == 0
                else ("elevation_deg", "-90 <= elevation_deg <= 90")
            )
            raise ParameterError(
                f"directions_deg[{m}] has {label}={float(d[m, axis])!r}; expected {expected} "
                "(azimuth positive to the left, elevation positive upwards)"
            )
        azimuth = np.mod(d[:, 0] + 180.0, 360.0) - 180.0
        azimuth[azimuth == -180.0] = 180.0
        d = np.stack((azimuth, d[:, 1]), axis=1)
        if not isinstance(name, str):
            raise ParameterError(f"name={name!r} is not a string")
        self._irs = h
        self._directions = d
        self._distances = r
        self._rate = check_sample_rate(sample_rate)
        self._name = name
        for array in (h, d, r):
            array.flags.writeable = False
        digest = hashlib.blake2b(repr((h.shape, self._rate, name)).encode(), digest_size=8)
        for array in (h, d, r):
            digest.update(array.tobytes())
        self._hash = int.from_bytes(digest.digest(), "little", signed=True)
        self._vectors = _unit_vectors(d)
        self._far = np.flatnonzero(r >= r.max() - 1e-3)

    @property
    def irs(self) -> np.ndarray:
        """The responses, read-only float64 ``(directions, 2, taps)``, left ear first."""
        return self._irs

    @property
    def directions_deg(self) -> np.ndarray:
        """``(azimuth_deg, elevation_deg)`` of each response, read-only ``(directions, 2)``,
        azimuth in (-180, 180] positive to the left."""
        return self._directions

    @property
    def distances_m(self) -> np.ndarray:
        """Source distance of each response in metres, read-only ``(directions,)``."""
        return self._distances

    @property
    def sample_rate(self) -> int:
        """Sample rate of the responses in Hz."""
        return self._rate

    @property
    def name(self) -> str:
        """Where the set comes from (a file name), or ""."""
        return self._name

    @property
    def taps(self) -> int:
        """Length of each response in samples."""
        return int(self._irs.shape[2])

    def __len__(self) -> int:
        return int(self._irs.shape[0])

    def nearest(self, azimuth_deg: float, elevation_deg: float) -> tuple[int, float]:
        """The measurement closest to a direction, and the angle between them.

        Parameters
        ----------
        azimuth_deg : float
            Azimuth in degrees, positive to the left (BS.2051).
        elevation_deg : float
            Elevation in degrees, positive upwards.

        Returns
        -------
        index : int
            Index into :attr:`irs` of the closest direction (great-circle
            angle; among several distances, the farthest measurements only;
            the first of equally close ones).
        error_deg : float
            The great-circle angle between the two directions, in degrees.
        """
        target = _unit_vectors(np.array([azimuth_deg, elevation_deg], dtype=np.float64))
        cosines = np.clip(self._vectors[self._far] @ target, -1.0, 1.0)
        best = int(np.argmax(cosines))
        return int(self._far[best]), float(np.degrees(np.arccos(cosines[best])))

    def responses(self, indices: Any, sample_rate: int) -> tuple[np.ndarray, int]:
        """The response pairs at ``indices``, at ``sample_rate``, and the delay resampling added.

        Parameters
        ----------
        indices : sequence of int
            Indices into :attr:`irs`.
        sample_rate : int
            Rate to return the responses at, in Hz.

        Returns
        -------
        irs : np.ndarray, shape=(len(indices), 2, taps)
            float64 responses, left ear first.
        delay_samples : int
            Samples of silence added in front of every response (0 at the set's own rate).

        Notes
        -----
        A set at another rate is resampled with soxr (quality "VHQ") and scaled
        by ``self.sample_rate / sample_rate``, so that each response keeps its
        frequency response (at twice the rate a filter has twice the taps, each
        half as large). A band-limited response rings a little *before* its
        first sample; that pre-ringing is kept only as far as dropping it would
        lose more than -60 dB of a response's energy, and what is kept delays
        every response alike (``delay_samples``; their time differences, the
        ITDs, stay). Responses that begin with the sound's travel time, as
        measured sets do, need none: for the MIT KEMAR set at 48 kHz the
        pre-ringing before the first sample is -66 dB, and ``delay_samples`` is 0.
        A response that starts at full level on its first sample needs more (a
        unit impulse at 44.1 kHz: 70 samples at 48 kHz, 140 at 96 kHz).
        """
        h = self._irs[np.asarray(indices, dtype=np.intp)]
        rate = check_sample_rate(sample_rate)
        if rate == self._rate or h.shape[0] == 0:
            return h.copy(), 0
        import soxr

        # Leading zeros give the resampler room for the pre-ringing: a whole number of periods of
        # the two rates' common grid, so that they become a whole number of output samples.
        step_in = self._rate // math.gcd(self._rate, rate)
        pad_in = step_in * -(-_RESAMPLER_ROOM // step_in)
        pad_out = pad_in * rate // self._rate
        flat = np.concatenate((np.zeros((h.shape[0] * 2, pad_in)), h.reshape(-1, h.shape[2])), axis=1)
        out = soxr.resample(np.ascontiguousarray(flat.T), self._rate, rate, quality="VHQ")
        out = np.asarray(out, dtype=np.float64).reshape(-1, flat.shape[0]).T * (self._rate / rate)
        energy = np.maximum(np.sum(out * out, axis=1), np.finfo(float).tiny)
        lost = np.cumsum(out[:, :pad_out] ** 2, axis=1) / energy[:, None]  # lost[:, i]: dropping 0..i
        allowed = np.all(lost <= _PRE_RINGING_LOSS, axis=0)
        keep = pad_out - (int(np.flatnonzero(~allowed)[0]) if not allowed.all() else pad_out)
        out = out[:, pad_out - keep :]
        return np.ascontiguousarray(out).reshape(h.shape[0], 2, -1), keep

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HrirSet):
            return NotImplemented
        return (
            self._rate == other._rate
            and self._name == other._name
            and np.array_equal(self._irs, other._irs)
            and np.array_equal(self._directions, other._directions)
            and np.array_equal(self._distances, other._distances)
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        with np.printoptions(threshold=sys.maxsize, floatmode="unique"):
            return (
                f"HrirSet({self._irs!r}, {self._directions!r}, {self._rate}, "
                f"distances_m={self._distances!r}, name={self._name!r})"
            )


# ------------------------------------------------------------------------------------------- files


def default_sofa_path() -> str:
    """The path of the installed default HRIR set (MIT KEMAR from libmysofa1).

    Returns
    -------
    str
        The first of :data:`DEFAULT_SOFA_PATHS` that exists.

    Raises
    ------
    SofaError
        If none is installed; the message says how to get one.
    """
    for path in DEFAULT_SOFA_PATHS:
        if os.path.isfile(path):
            return path
    raise SofaError(
        f"no default HRIR set is installed (looked for {list(DEFAULT_SOFA_PATHS)}); {_HOW_TO_GET_ONE}"
    )


def _text(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.reshape(()).item())
    return "" if value is None else str(value)


def _to_spherical(xyz: np.ndarray) -> np.ndarray:
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    r = np.sqrt(x * x + y * y + z * z)
    az = np.degrees(np.arctan2(y, x))
    el = np.degrees(np.arctan2(z, np.hypot(x, y)))
    return np.stack((az, el, r), axis=1)


def _to_cartesian(spherical: np.ndarray) -> np.ndarray:
    return _unit_vectors(spherical[:, :2]) * spherical[:, 2:3]


def _positions(file: Any, variable: str, path: str, rows: int | None = None) -> tuple[np.ndarray, str]:
    """A SOFA position variable as ``(rows, 3)`` float64, and its coordinate type."""
    dataset = file[variable]
    values = np.asarray(dataset[()], dtype=np.float64)
    kind = _text(dataset.attrs.get("Type", "cartesian")).strip().lower()
    if kind not in ("cartesian", "spherical"):
        raise SofaError(
            f"{path!r}: {variable} has Type={kind!r}; expected 'spherical' or 'cartesian' (AES69 coordinates)"
        )
    if values.ndim == 3:  # (R, 3, I) or (M, 3, I): a single I
        values = values[:, :, 0]
    if values.ndim != 2 or values.shape[1] != 3 or (rows is not None and values.shape[0] not in (1, rows)):
        want = f"({rows}, 3) or (1, 3)" if rows is not None else "(n, 3)"
        raise SofaError(f"{path!r}: {variable} has shape {values.shape}; expected {want}")
    if not np.all(np.isfinite(values)):
        raise SofaError(f"{path!r}: {variable} holds values that are not finite")
    return values, kind


def read_sofa(path: str | os.PathLike[str]) -> HrirSet:
    """Read the HRIR set of a SOFA file (AES69, SimpleFreeFieldHRIR convention).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.sofa`` file.

    Returns
    -------
    HrirSet
        The responses at the file's rate, left ear first, directions in
        BS.2051 signs (azimuth positive to the left, in (-180, 180]).
        ``Data.Delay`` is applied (whole samples are prepended).

    Raises
    ------
    ImportError
        If h5py is not installed (``pip install "sonicmix[binaural]"``).
    SofaError
        If the file is missing, is not an HDF5 (netCDF-4) file, is not SOFA,
        is SOFA of another convention (SimpleFreeFieldHRTF, MultiSpeakerBRIR,
        ...), or its variables do not have the convention's shapes (two
        receivers, one sample rate, finite responses, a listener looking along
        +x, whole-sample delays). The message names the file and the variable.

    Examples
    --------
    >>> path = default_sofa_path()  # doctest: +SKIP
    >>> read_sofa(path).directions_deg.shape, read_sofa(path).sample_rate  # doctest: +SKIP
    ((710, 2), 44100)
    """
    name = os.fspath(path)
    try:
        check_regular_file(name, what="read the SOFA file")
    except AudioFileError as err:
        raise SofaError(f"{err}; {_HOW_TO_GET_ONE}") from None
    h5py = _h5py()
    try:
        file = h5py.File(name, "r")
    except OSError:
        raise SofaError(
            f"{name!r} is not a SOFA file: it is not a netCDF-4 (HDF5) file; expected an AES69 SOFA file "
            "of the SimpleFreeFieldHRIR convention"
        ) from None
    with file:
        return _read_open_sofa(file, name)


def _read_open_sofa(file: Any, path: str) -> HrirSet:
    if _text(file.attrs.get("Conventions")) != "SOFA":
        raise SofaError(
            f"{path!r} is an HDF5 file but not a SOFA file (its Conventions attribute is "
            f"{_text(file.attrs.get('Conventions')) or 'missing'!r}, not 'SOFA'); expected an AES69 SOFA file"
        )
    convention = _text(file.attrs.get("SOFAConventions"))
    if convention != "SimpleFreeFieldHRIR":
        raise SofaError(
            f"{path!r} is SOFA of the {convention or 'unnamed'!r} convention; expected 'SimpleFreeFieldHRIR' "
            "(head-related impulse responses measured in free field, one source direction per measurement)"
        )
    for variable in ("Data.IR", "Data.SamplingRate", "SourcePosition"):
        if variable not in file:
            raise SofaError(f"{path!r} has no {variable} variable; expected one (SimpleFreeFieldHRIR)")
    irs = np.asarray(file["Data.IR"][()], dtype=np.float64)
    if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[0] < 1 or irs.shape[2] < 1:
        raise SofaError(
            f"{path!r}: Data.IR has shape {irs.shape}; expected (M, 2, N): two receivers (the ears) for "
            "each of M measurements"
        )
    m = irs.shape[0]
    if not np.all(np.isfinite(irs)):
        raise SofaError(f"{path!r}: Data.IR holds samples that are not finite; expected finite responses")
    rates = np.unique(np.asarray(file["Data.SamplingRate"][()], dtype=np.float64).ravel())
    if rates.size != 1 or not math.isfinite(rates[0]) or not rates[0].is_integer():
        raise SofaError(
            f"{path!r}: Data.SamplingRate={rates.tolist()}; expected one whole number of Hz for every "
            "measurement"
        )
    units = _text(file["Data.SamplingRate"].attrs.get("Units", "hertz")).lower()
    if units not in ("hertz", "hz"):
        raise SofaError(f"{path!r}: Data.SamplingRate has Units={units!r}; expected 'hertz'")
    try:
        sample_rate = check_sample_rate(int(rates[0]), "Data.SamplingRate")
    except ParameterError as err:
        raise SofaError(f"{path!r}: {err}") from None
    source, kind = _positions(file, "SourcePosition", path, m)
    if kind == "cartesian":
        source = _to_spherical(source)
    source = np.broadcast_to(source, (m, 3))
    if "ListenerView" in file:
        view, view_kind = _positions(file, "ListenerView", path)
        vectors = _to_cartesian(view) if view_kind == "spherical" else view
        norms = np.linalg.norm(vectors, axis=1)
        if np.any(norms == 0) or not np.allclose(vectors / norms[:, None], [1.0, 0.0, 0.0], atol=1e-6):
            raise SofaError(
                f"{path!r}: ListenerView={view.tolist()}; expected the listener looking along +x "
                "([1, 0, 0], as SimpleFreeFieldHRIR requires), the frame source directions are given in"
            )
    if "ReceiverPosition" in file:
        ears, ears_kind = _positions(file, "ReceiverPosition", path, 2)
        if ears.shape[0] == 2:
            y = (_to_cartesian(ears) if ears_kind == "spherical" else ears)[:, 1]
            if y[1] > y[0]:  # receiver 1 is the left ear (+y is to the left): left first
                irs = irs[:, ::-1, :]
    if "Data.Delay" in file:
        irs = _apply_delay(irs, np.asarray(file["Data.Delay"][()], dtype=np.float64), path, m)
    elevation = source[:, 1]
    if np.any(np.abs(elevation) > 90.0):
        raise SofaError(f"{path!r}: SourcePosition has elevations beyond +-90 degrees; expected -90 to 90")
    azimuth = np.mod(source[:, 0], 360.0)
    try:
        return HrirSet(
            irs, np.stack((azimuth, elevation), axis=1), sample_rate, distances_m=source[:, 2], name=path
        )
    except ParameterError as err:
        raise SofaError(f"{path!r}: {err}") from None


def _apply_delay(irs: np.ndarray, delay: np.ndarray, path: str, m: int) -> np.ndarray:
    """Prepend ``Data.Delay`` (whole samples, shape (1, 2) or (M, 2)) to the responses."""
    if delay.ndim == 3:
        delay = delay[:, :, 0]
    if delay.ndim == 1:
        delay = delay[np.newaxis, :]
    if delay.ndim != 2 or delay.shape[1] != 2 or delay.shape[0] not in (1, m):
        raise SofaError(f"{path!r}: Data.Delay has shape {delay.shape}; expected (1, 2) or ({m}, 2)")
    if not np.any(delay):
        return irs
    if not np.all(np.isfinite(delay)) or np.any(delay < 0) or np.any(delay != np.round(delay)):
        raise SofaError(
            f"{path!r}: Data.Delay holds {delay.ravel()[:4].tolist()}...; expected whole numbers of "
            "samples >= 0 "
            "(fractional delays are not supported: resample the set or fold them into Data.IR)"
        )
    delay = np.broadcast_to(delay.astype(np.intp), (m, 2))
    out = np.zeros((m, 2, irs.shape[2] + int(delay.max())))
    for i in range(m):
        for ear in range(2):
            d = delay[i, ear]
            out[i, ear, d : d + irs.shape[2]] = irs[i, ear]
    return out


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> HrirSet:
    return read_sofa(path)


def load_hrirs(sofa: str | os.PathLike[str] | HrirSet | None) -> HrirSet:
    """The HRIR set ``sofa`` names: a set, a SOFA file's path, or None for the installed default.

    Files are read once per process while they are unchanged (the last four
    are kept, keyed by path, modification time and size).

    Raises
    ------
    SofaError
        As :func:`read_sofa`, and from :func:`default_sofa_path` when ``sofa``
        is None and no default set is installed.
    ParameterError
        If ``sofa`` is of another type.
    """
    if isinstance(sofa, HrirSet):
        return sofa
    if sofa is None:
        sofa = default_sofa_path()
    if not isinstance(sofa, str | os.PathLike):
        raise ParameterError(
            f"sofa={sofa!r:.80} is a {type(sofa).__name__}; expected the path of a SOFA file, an HrirSet, "
            "or None for the installed default"
        )
    name = os.fspath(sofa)
    try:
        info = os.stat(name)
    except OSError:
        return read_sofa(name)  # raises the SofaError that names the problem
    return _read_cached(os.path.realpath(name), info.st_mtime_ns, info.st_size)
