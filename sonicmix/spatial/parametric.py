"""Parametric (DirAC) decoding of Ambisonics: direction and diffuseness per time-frequency tile.

The pieces of :class:`sonicmix.nodes.ambisonics.AmbisonicParametricDecoder`, after Pulkki's
Directional Audio Coding with virtual-microphone synthesis (Vilkamo, Lokki & Pulkki 2009):

1. the scene is decoded by the linear AllRAD decoder
   (:func:`~sonicmix.spatial.ambisonics.decoder_matrix`, max-rE) into one *prototype* signal
   per loudspeaker, in the time domain (a small matrix product);
2. the first-order channels (W, Y, Z, X) and the prototypes are cut into frames and
   transformed (the square-root Hann STFT of :mod:`sonicmix.dsp.spectral`, 75 % overlap);
3. per tile, the active intensity ``I = Re(conj(W) [X, Y, Z])`` and the energy
   ``E = (|W|^2 + |X|^2 + |Y|^2 + |Z|^2) / 2`` (SN3D: a plane wave of power ``p`` has
   ``|I| = E = p``, an isotropic diffuse field ``I = 0``, ``E = |W|^2``) and each prototype's
   power are averaged over time by a one-pole smoother (the time constant ``smoothing_s``);
   the diffuseness is ``psi = 1 - |<I>| / <E>`` and the direction of arrival that of ``<I>``;
4. each loudspeaker's target energy is the direct part ``(1 - psi) <E>`` panned by VBAP to
   that direction (:mod:`sonicmix.spatial.vbap`, the gains ObjectPanner uses) plus the diffuse
   part ``psi <E>`` shared as the AllRAD prototypes share it; the prototype is scaled to that
   energy (gain ``sqrt(target / <|prototype|^2>)``, at most :data:`GAIN_CEILING`);
5. the frames are transformed back and overlap-added.

The loudspeakers' energies sum to ``<E>``: a single plane wave keeps its energy, and since its
``psi`` is 0 and every smoothed quantity is the same multiple of its power, it comes out exactly
as VBAP pans it (one loudspeaker at a loudspeaker's position). Smoothing the intensity, energy
and powers (not the gains of single frames) is what keeps the gains from following the random
peaks of each frame, the source of musical noise.

VBAP is evaluated in the kernel from the triangles and inverted bases of the layout's
:class:`~sonicmix.spatial.vbap.VbapSetup` (3-D layouts: VBAP's gains to rounding), or read from
a table of its gains at every degree of azimuth (horizontal layouts: exact at whole degrees,
within :data:`TABLE_ERROR` between them). Where plain VBAP reaches a loudspeaker whose AllRAD
signal is nearly silent (7.1.4's top square is split along a diagonal, so a source near Ltf
puts 7 % of its energy on Rtr), that gain stops at :data:`GAIN_CEILING` and the other
loudspeakers of the tile make up the energy.

References
----------
V. Pulkki, "Spatial sound reproduction with directional audio coding", J. Audio Eng. Soc.
55(6), 503-516, 2007.
J. Vilkamo, T. Lokki, V. Pulkki, "Directional audio coding: virtual microphone-based
synthesis and subjective evaluation", J. Audio Eng. Soc. 57(9), 709-724, 2009.

Examples
--------
>>> import numpy as np
>>> from sonicmix.spatial.ambisonics import spherical_harmonics
>>> b = spherical_harmonics(1, 30.0, 0.0)[:, None] * np.ones((1, 4))   # a plane wave from L
>>> psi, direction = diffuseness(b)
>>> round(psi, 12), direction.round(12)                                # no diffuse part, from L
(0.0, array([0.8660254, 0.5      , 0.       ]))
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba
from sonicmix.dsp.spectral import StftPlan, frame_spectra, overlap_add, stft_plan
from sonicmix.layouts import Layout
from sonicmix.spatial.ambisonics import decoder_matrix
from sonicmix.spatial.vbap import unit_vectors, vbap_setup

__all__ = [
    "GAIN_CEILING",
    "TABLE_ERROR",
    "ParametricState",
    "diffuseness",
    "Panning",
    "panning",
    "init_parametric",
    "decode_block",
]

#: Largest gain applied to a prototype (+20 dB): where the AllRAD prototype of a loudspeaker that
#: VBAP wants is nearly silent, the tile's other loudspeakers make up the energy it cannot carry,
#: rather than that prototype's residue (other sources, noise) being amplified.
GAIN_CEILING = 10.0
#: Bound on the difference between a gain of a horizontal layout's interpolated table and VBAP's
#: (measured on 20,000 random azimuths: 3.2e-4 for 5.1 and 7.1, 5.5e-5 for stereo;
#: tests/spatial/test_parametric.py).
TABLE_ERROR = 1e-3
#: Frames transformed per batch: for 7.1.4 (11 prototypes and 4 analysis channels) in 20 ms frames
#: at 48 kHz, a batch's spectra take 0.9 MB (float32 audio) or 1.8 MB (float64).
BATCH = 16
#: Input samples handled per step of a long call: bounds the time-domain prototypes' buffer.
CHUNK = 8192


def diffuseness(b: NDArray[np.floating]) -> tuple[float, NDArray[np.float64]]:
    """Diffuseness and direction of arrival of a whole Ambisonics signal (broadband, no frames).

    ``psi = 1 - |<I>| / <E>`` with the time averages of the intensity and energy of the
    first-order channels: 0 for one plane wave, 1 for an isotropic diffuse field.

    Parameters
    ----------
    b : np.ndarray, shape=(channels, samples)
        ACN/SN3D signal of any order (its first four channels are used).

    Returns
    -------
    psi : float
    direction : np.ndarray, shape=(3,)
        Unit vector (x front, y left, z up) of the mean intensity; zeros if it vanishes.

    Examples
    --------
    >>> from sonicmix.spatial.ambisonics import design_directions, spherical_harmonics
    >>> az, el = design_directions()                     # independent noises from 250 directions
    >>> noise = np.random.default_rng(0).standard_normal((az.size, 48000))
    >>> psi, _ = diffuseness(spherical_harmonics(1, az, el).T @ noise)
    >>> bool(psi > 0.98)
    True
    """
    w, y, z, x = (np.asarray(b[i], dtype=np.float64) for i in range(4))
    intensity = np.array([np.mean(w * x), np.mean(w * y), np.mean(w * z)])
    energy = 0.5 * np.mean(w * w + x * x + y * y + z * z)
    norm = float(np.linalg.norm(intensity))
    if energy <= 0.0:
        return 1.0, np.zeros(3)
    psi = min(1.0, max(0.0, 1.0 - norm / energy))
    return psi, intensity / norm if norm > 0.0 else np.zeros(3)


class Panning(NamedTuple):
    """What the kernel needs to pan a direction by VBAP (:func:`panning`)."""

    channels: NDArray[np.intp]  # (speakers,) output channel of each loudspeaker
    table: NDArray[np.float64]  # (361, speakers) gains at azimuths 0..360 (horizontal layouts)
    inverses: NDArray[np.float64]  # (triangles, 3, 3) inverted vector bases (3-D layouts)
    triangles: NDArray[np.intp]  # (triangles, 3) loudspeaker indices; from `speakers` on: virtual
    fill: NDArray[np.float64]  # (virtual, speakers) gains of a source at each virtual loudspeaker


@functools.lru_cache(maxsize=32)
def panning(layout: Layout) -> Panning:
    """The VBAP of :func:`~sonicmix.spatial.vbap.vbap_setup` in the form the kernel evaluates.

    A 3-D layout keeps its triangles, their inverted bases and its virtual loudspeakers (nadir,
    then zenith) as the setup made them, so the kernel's gains are VBAP's to rounding. A
    horizontal layout (and mono) is a table of VBAP's gains at every degree of azimuth,
    interpolated linearly and scaled back to unit power: exact at whole degrees (every BS.2051
    loudspeaker), within :data:`TABLE_ERROR` between them.

    Examples
    --------
    >>> from sonicmix.layouts import get_layout
    >>> p = panning(get_layout("5.1"))
    >>> p.channels.tolist(), p.table.shape, p.table[30].tolist(), p.triangles.shape
    ([0, 1, 2, 4, 5], (361, 5), [1.0, 0.0, 0.0, 0.0, 0.0], (0, 3))
    """
    setup = vbap_setup(layout)
    speakers = setup.n_speakers
    channels = np.asarray(setup.channels, dtype=np.intp)
    if setup.kind != "3d":
        table = setup.gains(np.arange(361.0), np.zeros(361))[:, channels]
        none = np.zeros((0, 3), np.intp)
        return Panning(channels, table, np.zeros((0, 3, 3)), none, np.zeros((0, speakers)))
    points = [unit_vectors(setup.azimuth_deg, setup.elevation_deg)]
    poles = [el for el, added in ((-90.0, setup.virtual_nadir), (90.0, setup.virtual_zenith)) if added]
    points += [unit_vectors(0.0, el)[None] for el in poles]
    triangles = np.asarray(setup.triangles, dtype=np.intp)
    inverses = np.linalg.inv(np.vstack(points)[triangles])
    fill = np.array([setup.gains(0.0, el)[channels] for el in poles]).reshape(len(poles), speakers)
    return Panning(channels, np.zeros((0, speakers)), inverses, triangles, fill)


@dataclass(slots=True)
class ParametricState:
    """Stream state: the framing's buffers and the smoothed tile statistics.

    ``pending`` holds the analysis lines (W, Y, Z, X and the prototypes) not yet consumed by a
    complete frame, ``tail`` the overlap-add's partial sums, ``ready`` finished output not yet
    returned; ``energy`` ``(bins,)``, ``intensity`` ``(3, bins)`` and ``power``
    ``(speakers, bins)`` are the smoothed statistics, float64 whatever the audio's dtype;
    ``triangle`` ``(bins,)`` the VBAP triangle each bin's direction was last found in (where
    the search for the next starts).
    """

    pending: NDArray[np.floating]
    tail: NDArray[np.float64]
    ready: NDArray[np.float64]
    energy: NDArray[np.float64]
    intensity: NDArray[np.float64]
    power: NDArray[np.float64]
    triangle: NDArray[np.intp]


@functools.lru_cache(maxsize=32)
def plan_for(frame_s: float, sample_rate: int) -> StftPlan:
    """The framing of :func:`~sonicmix.dsp.spectral.stft_plan` (cached)."""
    return stft_plan(frame_s, sample_rate)


def init_parametric(speakers: int, plan: StftPlan, dtype: Any) -> ParametricState:
    """The state before the first sample, for ``speakers`` loudspeakers (no LFE)."""
    work = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    bins = plan.frame // 2 + 1
    return ParametricState(
        pending=np.zeros((4 + speakers, plan.frame - plan.hop), work),
        tail=np.zeros((speakers, plan.frame - plan.hop)),
        ready=np.zeros((speakers, plan.hop - 1)),
        energy=np.zeros(bins),
        intensity=np.zeros((3, bins)),
        power=np.zeros((speakers, bins)),
        triangle=np.zeros(bins, np.intp),
    )


@functools.lru_cache(maxsize=32)
def prototype_matrix(order: int, layout: Layout, dtype: Any) -> NDArray[np.floating]:
    """AllRAD's rows for the loudspeakers VBAP pans to, ``(speakers, (order + 1) ** 2)``."""
    out = np.ascontiguousarray(decoder_matrix(order, layout)[panning(layout).channels], dtype=dtype)
    out.setflags(write=False)
    return out


def decode_block(
    x: NDArray[np.floating],
    state: ParametricState,
    *,
    plan: StftPlan,
    prototypes: NDArray[np.floating],
    pan: Panning,
    pole: float,
    out: NDArray[np.floating],
) -> NDArray[np.floating]:
    """Decode one block ``x`` ``(channels, n)`` into the rows ``pan.channels`` of ``out``; return it.

    The output is the decoded input delayed by ``plan.frame - 1`` samples (other rows of
    ``out``, the LFE, are left as they are); ``state`` is updated in place. Long blocks are
    handled :data:`CHUNK` samples at a time, so no full-length intermediate is made.

    Examples
    --------
    >>> from sonicmix.layouts import get_layout
    >>> from sonicmix.spatial.ambisonics import spherical_harmonics
    >>> layout = get_layout("5.1")
    >>> plan, pan = plan_for(0.02, 48000), panning(layout)
    >>> x = spherical_harmonics(1, -110.0, 0.0)[:, None] * np.random.default_rng(0).standard_normal(4000)
    >>> state = init_parametric(pan.channels.size, plan, x.dtype)
    >>> y = decode_block(x, state, plan=plan, prototypes=prototype_matrix(1, layout, x.dtype), pan=pan,
    ...                  pole=0.9, out=np.zeros((6, 4000)))
    >>> energy = np.sum(y[:, 2000:] ** 2, axis=1)
    >>> int(np.argmax(energy)), bool(np.delete(energy, 5).max() < 1e-12 * energy[5])   # Rs alone
    (5, True)
    """
    n = x.shape[1]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        out[pan.channels, start:stop] = _decode_chunk(x[:, start:stop], state, plan, prototypes, pan, pole)
    return out


def _decode_chunk(
    x: NDArray[np.floating],
    state: ParametricState,
    plan: StftPlan,
    prototypes: NDArray[np.floating],
    pan: Panning,
    pole: float,
) -> NDArray[np.float64]:
    speakers, n = prototypes.shape[0], x.shape[1]
    work = state.pending.dtype
    lines = np.empty((4 + speakers, n), work)
    lines[:4] = x[:4]
    np.matmul(prototypes, x, out=lines[4:])
    pending = state.pending
    total = (pending.shape[1] + n - (plan.frame - plan.hop)) // plan.hop
    out = np.empty((speakers, n))
    filled = min(n, state.ready.shape[1])
    out[:, :filled] = state.ready[:, :filled]
    spill = [state.ready[:, filled:]]
    for first in range(0, total, BATCH):
        count = min(BATCH, total - first)
        spectra = frame_spectra(lines, plan, count, first=first, history=pending)
        _tiles_kernel(spectra, pole, state.energy, state.intensity, state.power, state.triangle,
                      pan.table, pan.inverses, pan.triangles, pan.fill, GAIN_CEILING)  # fmt: skip
        finished, state.tail = overlap_add(spectra[4:], plan, state.tail)
        take = min(finished.shape[1], n - filled)
        out[:, filled : filled + take] = finished[:, :take]
        filled += take
        spill.append(finished[:, take:])
    keep = total * plan.hop  # the next frame starts there on the line (pending, then this chunk)
    if keep >= pending.shape[1]:
        state.pending = lines[:, keep - pending.shape[1] :].copy()
    else:
        state.pending = np.concatenate([pending[:, keep:], lines], axis=1)
    state.ready = np.concatenate(spill, axis=1)
    return out


@numba.njit(cache=True, nogil=True)
def _tiles_kernel(spectra, pole, energy, intensity, power, last, table, inverses, triangles, fill,
                  ceiling):  # pragma: no cover - compiled
    """Scale the prototypes' spectra ``spectra[4:]`` in place, tile by tile (module docstring).

    Frame by frame, each step a loop over the bins (contiguous, so the compiler vectorises all
    but the panning).
    """
    channels, frames, bins = spectra.shape
    speakers = channels - 4
    new = 1.0 - pole
    limit = ceiling * ceiling
    direct = np.empty(bins)
    share = np.empty(bins)
    total_power = np.empty(bins)
    delivered = np.empty(bins)
    scale = np.empty(bins)
    gains = np.empty((speakers, bins))
    g = np.empty(speakers)
    for f in range(frames):
        for k in range(bins):
            w, y, z, x = spectra[0, f, k], spectra[1, f, k], spectra[2, f, k], spectra[3, f, k]
            e = 0.5 * (w.real * w.real + w.imag * w.imag + x.real * x.real + x.imag * x.imag
                       + y.real * y.real + y.imag * y.imag + z.real * z.real + z.imag * z.imag)
            energy[k] = pole * energy[k] + new * e
            intensity[0, k] = pole * intensity[0, k] + new * (w.real * x.real + w.imag * x.imag)
            intensity[1, k] = pole * intensity[1, k] + new * (w.real * y.real + w.imag * y.imag)
            intensity[2, k] = pole * intensity[2, k] + new * (w.real * z.real + w.imag * z.imag)
            share[k] = 0.0
        for s in range(speakers):
            for k in range(bins):
                a = spectra[4 + s, f, k]
                p = pole * power[s, k] + new * (a.real * a.real + a.imag * a.imag)
                power[s, k] = p
                share[k] += p
        for k in range(bins):
            ix, iy, iz = intensity[0, k], intensity[1, k], intensity[2, k]
            big_e, total = energy[k], share[k]
            total_power[k] = total
            norm = math.sqrt(ix * ix + iy * iy + iz * iz)
            d = min(1.0, norm / big_e) if big_e > 1e-30 and total > 1e-30 else 0.0  # 1 - diffuseness
            direct[k] = big_e * d
            share[k] = big_e * (1.0 - d) / total if total > 1e-30 else 0.0  # 0: silence
            if d <= 0.0:
                for s in range(speakers):
                    gains[s, k] = 0.0
            elif triangles.shape[0] > 0:
                px, py, pz = ix / norm, iy / norm, iz / norm
                last[k] = _vbap_3d(inverses, triangles, fill, px, py, pz, last[k], gains, k)
            else:
                _vbap_table(table, ix, iy, g)
                for s in range(speakers):
                    gains[s, k] = g[s]
        for k in range(bins):
            delivered[k] = 0.0
        for s in range(speakers):
            for k in range(bins):
                p = power[s, k]
                v = gains[s, k]
                target = direct[k] * v * v + share[k] * p
                gain = math.sqrt(min(target / (p + 1e-300), limit))
                gains[s, k] = gain
                delivered[k] += gain * gain * p
        for k in range(bins):
            # where a gain hit the ceiling, the others make up the energy it could not deliver
            wanted = direct[k] + share[k] * total_power[k]
            scale[k] = math.sqrt(wanted / delivered[k]) if 0.0 < delivered[k] < wanted * (1.0 - 1e-9) else 1.0
        for s in range(speakers):
            for k in range(bins):
                spectra[4 + s, f, k] *= gains[s, k] * scale[k]


@numba.njit(cache=True, nogil=True, inline="always")
def _vbap_3d(inverses, triangles, fill, px, py, pz, hint, gains, k):  # pragma: no cover - compiled
    """VBAP gains of the unit vector ``p`` into ``gains[:, k]`` (unit power, virtual ones dropped).

    The triangle is the one ``p`` lies in: ``hint`` if it does, else the one whose smallest gain
    is largest (as :class:`~sonicmix.spatial.vbap.VbapSetup` chooses). Returns the triangle.
    """
    best, best_min = hint, -1e300
    for step in range(triangles.shape[0] + 1):
        t = hint if step == 0 else step - 1
        m = inverses[t]
        smallest = min(px * m[0, 0] + py * m[1, 0] + pz * m[2, 0],
                       px * m[0, 1] + py * m[1, 1] + pz * m[2, 1],
                       px * m[0, 2] + py * m[1, 2] + pz * m[2, 2])  # fmt: skip
        if smallest > best_min:
            best, best_min = t, smallest
        if smallest >= -1e-12:
            best = t
            break
    speakers = gains.shape[0]
    m = inverses[best]
    a, b, c = triangles[best, 0], triangles[best, 1], triangles[best, 2]
    ga = max(0.0, px * m[0, 0] + py * m[1, 0] + pz * m[2, 0])
    gb = max(0.0, px * m[0, 1] + py * m[1, 1] + pz * m[2, 1])
    gc = max(0.0, px * m[0, 2] + py * m[1, 2] + pz * m[2, 2])
    # virtual loudspeakers (index >= speakers) are dropped; the largest one's neighbours stand in
    # for a source right at it
    top, top_gain = -1, -1.0
    if a >= speakers:
        top, top_gain, ga = a, ga, 0.0
    if b >= speakers:
        if gb > top_gain:
            top, top_gain = b, gb
        gb = 0.0
    if c >= speakers:
        if gc > top_gain:
            top, top_gain = c, gc
        gc = 0.0
    for s in range(speakers):
        gains[s, k] = 0.0
    total = ga * ga + gb * gb + gc * gc
    if total <= 1e-300:  # at a virtual loudspeaker: on its neighbours, as VBAP plays it
        for s in range(speakers):
            gains[s, k] = fill[top - speakers, s]
        return best
    # unit power, rounding residue (a neighbour's 1e-17 at a loudspeaker) zeroed, unit power again
    scale = 1.0 / math.sqrt(total)
    ga = ga * scale if ga * scale >= 1e-12 else 0.0
    gb = gb * scale if gb * scale >= 1e-12 else 0.0
    gc = gc * scale if gc * scale >= 1e-12 else 0.0
    scale = 1.0 / math.sqrt(ga * ga + gb * gb + gc * gc)
    if ga > 0.0:
        gains[a, k] = ga * scale
    if gb > 0.0:
        gains[b, k] = gb * scale
    if gc > 0.0:
        gains[c, k] = gc * scale
    return best


@numba.njit(cache=True, nogil=True, inline="always")
def _vbap_table(table, ix, iy, g):  # pragma: no cover - compiled
    """VBAP gains of a horizontal layout at the azimuth of ``(ix, iy)``, linear in the table."""
    az = math.degrees(math.atan2(iy, ix))
    if az < 0.0:
        az += 360.0
    i = min(int(az), table.shape[0] - 2)
    t = az - i
    for s in range(g.shape[0]):
        g[s] = (1.0 - t) * table[i, s] + t * table[i + 1, s]
    _unit_power(g)


@numba.njit(cache=True, nogil=True, inline="always")
def _unit_power(g):  # pragma: no cover - compiled
    """Scale ``g`` to unit sum of squares, zeroing rounding residue (VBAP's ``_unit_power``)."""
    total = 0.0
    for s in range(g.shape[0]):
        total += g[s] * g[s]
    if total <= 1e-300:
        g[:] = 0.0
        return
    scale = 1.0 / math.sqrt(total)
    total = 0.0
    for s in range(g.shape[0]):
        g[s] = g[s] * scale if g[s] * scale >= 1e-12 else 0.0
        total += g[s] * g[s]
    scale = 1.0 / math.sqrt(total)
    for s in range(g.shape[0]):
        g[s] *= scale
