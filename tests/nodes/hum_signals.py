"""Synthetic mains hum with drift and vinyl clicks, and measurements of what a repair leaves of them.

Used by tests/nodes/test_dehum.py and benchmarks/bench_dehum.py. The ground
truth is the synthesis itself: the hum's phase trajectory and each harmonic's
amplitude are known, so a residual is measured *along the true trajectory*
(demodulated by the known phase of harmonic k and averaged over Hann-weighted
windows), never from the node's own estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass
class Hum:
    """A hum signal and its truth: ``signal = sum_k amplitudes[k-1] * cos(k * phase + offsets[k-1])``."""

    signal: np.ndarray  # (samples,)
    phase: np.ndarray  # (samples,) fundamental phase, radians
    amplitudes: np.ndarray  # (harmonics,)
    offsets: np.ndarray  # (harmonics,)
    fundamental_hz: np.ndarray  # (samples,) instantaneous frequency


def mains_hum(
    samples: int,
    sample_rate: int,
    *,
    fundamental_hz: float = 50.0,
    drift_hz: float = 0.3,
    drift_period_s: float = 25.0,
    harmonics: int = 20,
    level_dbfs: float = -30.0,
    buzz: bool = False,
    seed: int = 0,
) -> Hum:
    """Hum whose fundamental wanders sinusoidally by ``+-drift_hz`` around ``fundamental_hz``.

    Harmonic levels fall as ``k**-0.8`` with +-6 dB of random unevenness; a
    ``buzz`` (rectifier, SCR dimmer) has its odd harmonics 20 dB above its
    even ones. The RMS of the whole is ``level_dbfs``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / sample_rate
    f = fundamental_hz + drift_hz * np.sin(2 * np.pi * t / drift_period_s + 0.3)
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    k = np.arange(1, harmonics + 1)
    amplitudes = k**-0.8 * 10 ** (rng.uniform(-6, 6, harmonics) / 20)
    if buzz:
        amplitudes = np.where(k % 2 == 1, 3.0 * amplitudes, 0.3 * amplitudes)
    offsets = rng.uniform(0, 2 * np.pi, harmonics)
    signal = np.zeros(samples)
    for i in range(harmonics):
        signal += amplitudes[i] * np.cos(k[i] * phase + offsets[i])
    gain = 10 ** (level_dbfs / 20) / np.sqrt(np.mean(signal**2))
    return Hum(signal * gain, phase, amplitudes * gain, offsets, f)


def harmonic_levels_db(residual: np.ndarray, hum: Hum, start: int, stop: int, sample_rate: int) -> np.ndarray:
    """Level of each harmonic left in ``residual[start:stop]`` relative to the hum's, in dB.

    ``residual`` is aligned with the hum (sample i of both is the same time).
    Harmonic k is demodulated by its true phase and averaged over 0.5 s
    Hann windows hopped by 0.25 s (a 4 Hz wide analysis that follows the
    drift exactly); the result is the RMS of those window amplitudes over
    the harmonic's amplitude.
    """
    width = int(0.5 * sample_rate)
    hop = width // 2
    window = np.hanning(width)
    window /= window.sum()
    r = residual[start:stop]
    phase = hum.phase[start:stop]
    starts = np.arange(0, r.size - width + 1, hop)
    out = np.empty(hum.amplitudes.size)
    for i, amplitude in enumerate(hum.amplitudes):
        z = r * np.exp(-1j * ((i + 1) * phase + hum.offsets[i]))
        a = np.array([2 * np.dot(z[s : s + width], window) for s in starts])
        out[i] = 20 * np.log10(np.sqrt(np.mean(np.abs(a) ** 2)) / amplitude)
    return out


def same_filter(x, trace, harmonics, step, gates=None):
    """The canceller of sonicmix.dsp.hum with its oscillator and gate trajectories given: a linear filter.

    Given the phasor ``trace[i]`` and the step gate ``gates[i]`` (0 to 1) of
    each sample, ``y = x - sum_k Re(a_k u**k)`` with ``a_k += gates[i] *
    step_k * y * conj(u**k)`` is linear in ``x``; ``step_k = step * max(1,
    k/4)**0.5`` as documented (the notches widen above the 4th harmonic),
    and the output is ``y * (1 - gates[i] * sum(step_k) / 2)`` (flat between
    the notches). ``gates=None`` is a gate always open. Running the clean
    speech through the filter that the hummy input produced, and subtracting,
    isolates what is left of the hum alone, even while speech covers it.
    Written here from the equations, independently of the kernel under test.
    """
    k = np.arange(1, harmonics + 1)
    steps = step * np.maximum(1.0, k / 4.0) ** 0.5
    g = np.ones(x.size) if gates is None else np.asarray(gates, np.float64)
    return _same_filter(x, trace, harmonics, steps, g) * (1.0 - 0.5 * g * np.sum(steps))


@numba.njit(cache=True)
def _same_filter(x, trace, harmonics, steps, gates):  # pragma: no cover - compiled
    n = x.size
    a = np.zeros(harmonics, np.complex128)
    p = np.empty(harmonics, np.complex128)
    y = np.empty(n)
    for i in range(n):
        u = trace[i]
        q = u
        h = 0.0
        for k in range(harmonics):
            p[k] = q
            h += (a[k] * q).real
            q = q * u
        e = x[i] - h
        y[i] = e
        for k in range(harmonics):
            a[k] += gates[i] * steps[k] * e * np.conj(p[k])
    return y


def dense_dialogue(voices: list, sample_rate: int, *, seed: int = 3) -> tuple[np.ndarray, np.ndarray, list]:
    """Dense dialogue and a buzz's phase: ``(voice, phase, pauses)`` at ``sample_rate``.

    The mono recordings ``voices`` (Allison's prompts), each at -20 dBFS RMS +-4 dB, with 0.4-1.2 s
    of digital silence after each, after 2 s of silence. ``phase`` is that of a 50 Hz fundamental
    drifting +-0.2 Hz (20 s period). The pauses are the runs of silence after the first 2 s and
    longer than 0.3 s, 20 ms in from either end.
    """
    rng = np.random.default_rng(seed)
    parts = [np.zeros(2 * sample_rate)]
    for recording in voices:
        voice = recording * 1.0  # a copy, scaled below
        voice *= 10 ** ((rng.uniform(-4, 4) - 20) / 20) / np.sqrt(np.mean(voice**2))
        parts += [voice, np.zeros(int(rng.uniform(0.4, 1.2) * sample_rate))]
    voice = np.concatenate(parts)
    t = np.arange(voice.size) / sample_rate
    phase = 2 * np.pi * np.cumsum(50.0 + 0.2 * np.sin(2 * np.pi * t / 20)) / sample_rate  # +-0.2 Hz
    silent = np.concatenate([[False], voice == 0, [False]])
    edges = np.flatnonzero(silent[1:] != silent[:-1])
    trim = int(0.02 * sample_rate)
    runs = zip(edges[::2], edges[1::2], strict=True)
    pauses = [(a + trim, b - trim) for a, b in runs if a >= 2 * sample_rate and b - a > 0.3 * sample_rate]
    return voice, phase, pauses


def pause_levels_db(
    y: np.ndarray, phase: np.ndarray, pauses: list, k: np.ndarray, amplitudes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What is left of a buzz ``sum amplitudes * sin(k phase + k)`` in the pauses of ``y``, in dB.

    Each harmonic is measured by a lock-in on its known phase in each pause (those within
    ``y``); returns ``(rms, worst)``: the length-weighted RMS over the pauses and the worst pause,
    each relative to the harmonic's amplitude.
    """
    kept = [(a, b) for a, b in pauses if b <= y.size]
    levels = np.array(
        [
            [2 * abs(np.mean(y[a:b] * np.exp(-1j * (h * phase[a:b] + h - np.pi / 2)))) for h in k]
            for a, b in kept
        ]
    )
    lengths = np.array([b - a for a, b in kept])[:, np.newaxis]
    rms = 10 * np.log10(np.sum(lengths * levels**2, axis=0) / np.sum(lengths) / amplitudes**2)
    worst = 20 * np.log10(np.max(levels / amplitudes, axis=0))
    return rms, worst


def band_level_db(x: np.ndarray, sample_rate: int, low_hz: float = 200.0, high_hz: float = 4000.0) -> float:
    """Energy of ``x`` between ``low_hz`` and ``high_hz`` (one FFT over the whole signal), dB."""
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / sample_rate)
    band = (f >= low_hz) & (f <= high_hz)
    return float(10 * np.log10(np.sum(np.abs(spectrum[band]) ** 2)))


def vinyl_clicks(
    samples: int, sample_rate: int, *, kind: str = "crackle", per_s: float = 10.0, seed: int = 0
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Clicks to add to a signal, and their ``(start, stop)`` sample spans.

    ``"crackle"``: impulses up to 0.2 ms long, alternating in sign and
    decaying (a stylus hitting dust); ``"pop"``: 0.02-0.8 ms of one-signed
    exponential decay (a scratch). Peaks are 0.05 to 0.5 of full scale,
    positions uniformly random, ``per_s`` a second.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(samples)
    spans = []
    margin = sample_rate // 10
    positions = np.sort(
        rng.choice(np.arange(margin, samples - margin), int(per_s * samples / sample_rate), replace=False)
    )
    for p in positions:
        amplitude = rng.uniform(0.05, 0.5) * rng.choice([-1.0, 1.0])
        if kind == "crackle":
            length = int(rng.integers(1, max(2, int(2e-4 * sample_rate)) + 1))
            k = np.arange(length)
            shape = amplitude * (-0.7) ** k * (1 + 0.2 * rng.standard_normal(length))
        else:
            length = int(rng.integers(max(1, sample_rate // 48000), max(2, int(8e-4 * sample_rate))))
            k = np.arange(length)
            shape = amplitude * np.exp(-k / max(length / 3, 0.5)) * (1 + 0.3 * rng.standard_normal(length))
        out[p : p + length] += shape
        spans.append((int(p), int(p) + length))
    return out, spans


def click_recall(
    repaired: np.ndarray, clean: np.ndarray, clicks: np.ndarray, spans, *, margin: int = 5
) -> float:
    """Share of clicks repaired: the error left around each is below a tenth of the click's energy.

    ``repaired`` is aligned with ``clean`` (the node's latency removed).
    """
    found = total = 0
    for start, stop in spans:
        if stop + margin > repaired.size:
            continue
        total += 1
        left = np.sum((repaired[start - margin : stop + margin] - clean[start - margin : stop + margin]) ** 2)
        found += left < 0.1 * np.sum(clicks[start:stop] ** 2)
    return found / total


def changed_runs(y: np.ndarray, x: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of samples where ``y`` differs from ``x``: what a repair node touched."""
    changed = np.flatnonzero(y != x)
    if not changed.size:
        return []
    breaks = np.flatnonzero(np.diff(changed) > 1)
    starts, stops = np.r_[changed[0], changed[breaks + 1]], np.r_[changed[breaks], changed[-1]] + 1
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def lock_in_db(residual: np.ndarray, hum: Hum, phase: np.ndarray, start_s: float, stop_s: float, rate: int):
    """Each harmonic left in ``residual`` from ``start_s`` to ``stop_s``, dB re its amplitude in ``hum``.

    A lock-in on the true phase ``phase`` (which may differ from ``hum.phase``: a jump), Hann-weighted.
    """
    i, j = int(round(start_s * rate)), int(round(stop_s * rate))
    w = np.hanning(j - i)
    w /= w.sum()
    k = np.arange(1, hum.amplitudes.size + 1)[:, np.newaxis]
    z = 2 * np.sum(residual[i:j] * w * np.exp(-1j * (k * phase[i:j] + hum.offsets[:, np.newaxis])), axis=1)
    return 20 * np.log10(np.abs(z) / hum.amplitudes + 1e-30)


def switched_hum(
    n: int,
    rate: int,
    *,
    on_s: float,
    off_s: float | None = None,
    jump_s: float | None = None,
    jump_rad: float = 0.0,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray, Hum]:
    """``mains_hum(n, rate, **kwargs)`` on from ``on_s`` to ``off_s``, its phase turned by ``jump_rad`` at
    ``jump_s`` (harmonic k by ``k * jump_rad``, as an edit between two recordings does): ``(signal, phase,
    hum)``."""
    hum = mains_hum(n, rate, **kwargs)
    t = np.arange(n) / rate
    phase = hum.phase + (jump_rad * (t >= jump_s) if jump_s is not None else 0.0)
    k = np.arange(1, hum.amplitudes.size + 1)[:, np.newaxis]
    signal = np.sum(hum.amplitudes[:, np.newaxis] * np.cos(k * phase + hum.offsets[:, np.newaxis]), axis=0)
    signal *= (t >= on_s) & (t < (np.inf if off_s is None else off_s))
    return signal, phase, hum


def transition_figures(
    node,
    bed: np.ndarray,
    rate: int,
    *,
    on_s: float,
    off_s: float | None = None,
    jump_s: float | None = None,
    jump_rad: float = 0.0,
    **kwargs,
) -> dict[str, float]:
    """A hum that starts, stops or jumps over ``bed`` (``switched_hum``), through ``node``.

    ``"+0.5"`` and ``"+1.5"``: the worst harmonic left 0.5-1.0 s and 1.5-2.5 s after the jump (or the
    start), dB re the hum's; ``"stop"``: what the node adds 0.5-1.5 s after the stop (its output less
    ``bed``), its RMS in dB re the hum's RMS over the second before the stop.
    """
    signal, phase, hum = switched_hum(
        bed.size, rate, on_s=on_s, off_s=off_s, jump_s=jump_s, jump_rad=jump_rad, **kwargs
    )
    lag = node.latency_samples(rate)
    r = node((bed + signal)[np.newaxis], rate)[0][lag:] - bed[: bed.size - lag]
    at = on_s if jump_s is None else jump_s
    out = {
        "+0.5": float(lock_in_db(r, hum, phase, at + 0.5, at + 1.0, rate).max()),
        "+1.5": float(lock_in_db(r, hum, phase, at + 1.5, at + 2.5, rate).max()),
    }
    if off_s is not None:
        i, j = int((off_s + 0.5) * rate), int((off_s + 1.5) * rate)
        before = signal[int((off_s - 1.0) * rate) : int(off_s * rate)]
        out["stop"] = float(10 * np.log10(np.mean(r[i:j] ** 2) / np.mean(before**2)))
    return out
