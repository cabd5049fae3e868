"""The parametric (DirAC) Ambisonics decoder against direct VBAP and AllRAD: accuracy and speed.

Run: ``python benchmarks/bench_parametric.py [quality|speed|all]`` (default all). Real audio
where it matters (the codec2 male voice and a Sonic Pi music loop, tests/reference/dialogue.py;
white noise where the corpora are not installed), 48 kHz, float64 for accuracy:

- a source at every loudspeaker of 5.1.4 and 7.1.4 (orders 1 and 3): the energy on that
  loudspeaker (dB re VBAP's, which is all of it) and the loudest other one (dB re it);
- sources between loudspeakers (200 random directions above -30 degrees): the angle between
  the energy vector and VBAP's, and the total energy (dB re VBAP's);
- diffuse input (independent noises from the 250 directions of the 21-design): each
  loudspeaker's energy (dB re the mean), the total (dB re the scene's W energy), and the
  mean coherence between loudspeaker pairs (magnitude-squared, 1-8 kHz);
- two sources at once (the voice at L, the music at the left rear surround): the energy
  on the other loudspeakers relative to the total, and each source's loudspeaker against VBAP;

each compared with AllRAD (``AmbisonicDecoder``, max-rE). Speed: 30 s of noise at order 3 to
7.1.4, float32, CPU time per second of audio (single thread, median of 5, interleaved with
AllRAD; then streamed in blocks of 4096 samples), as "x real time".
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.machine, tests.reference

import numpy as np  # noqa: E402

RATE = 48_000


def sources(seconds: float) -> tuple[np.ndarray, np.ndarray, str]:
    """A voice and a music loop (mono, float64), or two noises where the corpora are missing."""
    n = int(seconds * RATE)
    from tests.reference import dialogue

    if dialogue.available():
        voice = dialogue.wideband_voice(RATE)[:, :n]
        voice = np.tile(voice, (1, -(-n // voice.shape[1])))[:, :n]
        music = dialogue.music("garzul", n, RATE).mean(axis=0, keepdims=True)
        return voice / np.std(voice), music / np.std(music), "codec2 voice, Sonic Pi garzul loop"
    rng = np.random.default_rng(0)
    return rng.standard_normal((1, n)), rng.standard_normal((1, n)), "white noise (corpora missing)"


def energies(decoder, scene: np.ndarray) -> np.ndarray:
    """Each output channel's energy, latency and the first frame's warm-up left out."""
    y = decoder(scene, RATE)
    skip = 2 * (decoder.latency_samples(RATE) + 1)
    return np.sum(y[:, skip:] ** 2, axis=1)


def reference(x: np.ndarray, decoder) -> float:
    """The energy of the input samples that :func:`energies` measures the output of."""
    latency = decoder.latency_samples(RATE)
    return float(np.sum(x[:, latency + 2 : x.shape[1] - latency] ** 2))


def decoders(order: int, layout: str):
    from sonicmix.nodes.ambisonics import AmbisonicDecoder, AmbisonicParametricDecoder

    return {"parametric": AmbisonicParametricDecoder(order=order, layout=layout),
            "allrad": AmbisonicDecoder(order=order, layout=layout)}  # fmt: skip


def at_loudspeakers(order: int, layout: str, x: np.ndarray) -> dict[str, tuple[float, float, float, float]]:
    """Per decoder: worst and best energy on the loudspeaker (dB re VBAP), worst and best other."""
    from sonicmix.layouts import get_layout
    from sonicmix.nodes.ambisonics import AmbisonicEncoder

    lay = get_layout(layout)
    rows: dict[str, list[tuple[float, float]]] = {"parametric": [], "allrad": []}
    for i, p in enumerate(lay.positions):
        if p is None or i in lay.lfe_indices:
            continue
        encoder = AmbisonicEncoder(order=order, azimuth_deg=p.azimuth_deg, elevation_deg=p.elevation_deg)
        scene = encoder(x, RATE)
        for name, dec in decoders(order, layout).items():
            e = energies(dec, scene)
            ref = reference(x, dec)
            others = np.delete(e, i).max()
            rows[name].append((10 * np.log10(e[i] / ref), 10 * np.log10(max(others, 1e-300) / e[i])))
    return {name: (min(r[0] for r in v), max(r[0] for r in v), min(r[1] for r in v), max(r[1] for r in v))
            for name, v in rows.items()}  # fmt: skip


def between(order: int, layout: str, x: np.ndarray, count: int = 200) -> dict[str, tuple[float, ...]]:
    """Per decoder: median and largest energy-vector angle to VBAP's, total energy range (dB)."""
    from sonicmix.layouts import get_layout
    from sonicmix.nodes.ambisonics import AmbisonicEncoder
    from sonicmix.spatial.vbap import unit_vectors, vbap_gains

    lay = get_layout(layout)
    vectors = np.array([unit_vectors(p.azimuth_deg, p.elevation_deg) if p is not None else np.zeros(3)
                        for p in lay.positions])  # fmt: skip
    rng = np.random.default_rng(7)
    az = rng.uniform(-180.0, 180.0, count)
    el = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-30.0)), 1.0, count)))
    out: dict[str, list[tuple[float, float]]] = {"parametric": [], "allrad": []}
    for a, e_ in zip(az, el, strict=True):
        g2 = vbap_gains(layout, a, e_) ** 2
        r_vbap = g2 @ vectors
        scene = AmbisonicEncoder(order=order, azimuth_deg=a, elevation_deg=e_)(x, RATE)
        for name, dec in decoders(order, layout).items():
            e = energies(dec, scene)
            ref = reference(x, dec)
            r = e @ vectors
            cos = r @ r_vbap / (np.linalg.norm(r) * np.linalg.norm(r_vbap))
            out[name].append((np.degrees(np.arccos(min(1.0, cos))), 10 * np.log10(e.sum() / ref)))
    return {name: (float(np.median([v[0] for v in rows])), max(v[0] for v in rows),
                   min(v[1] for v in rows), max(v[1] for v in rows))
            for name, rows in out.items()}  # fmt: skip


def diffuse(order: int, layout: str, seconds: float = 4.0) -> dict[str, tuple[float, ...]]:
    """Per decoder: loudspeaker energies (dB re their mean: min, max), total (dB re W), coherence."""
    from scipy.signal import coherence

    from sonicmix.spatial.ambisonics import design_directions, spherical_harmonics

    az, el = design_directions()
    rng = np.random.default_rng(3)
    noise = rng.standard_normal((az.size, int(seconds * RATE))) / np.sqrt(az.size)
    scene = spherical_harmonics(order, az, el).T @ noise
    out = {}
    for name, dec in decoders(order, layout).items():
        y = dec(scene, RATE)
        skip = 2 * (dec.latency_samples(RATE) + 1)
        rows = [i for i in range(y.shape[0]) if y[i].any()]
        e = np.sum(y[rows, skip:] ** 2, axis=1)
        w = reference(scene[:1], dec)
        f, _ = coherence(y[rows[0]], y[rows[1]], fs=RATE, nperseg=1024)
        band = (f >= 1000) & (f <= 8000)
        pairs = [np.mean(coherence(y[i], y[j], fs=RATE, nperseg=1024)[1][band])
                 for k, i in enumerate(rows) for j in rows[k + 1 :]]  # fmt: skip
        level = 10 * np.log10(e / e.mean())
        out[name] = (level.min(), level.max(), 10 * np.log10(e.sum() / w), float(np.mean(pairs)))
    return out


def two_sources(
    order: int, layout: str, voice: np.ndarray, music: np.ndarray
) -> dict[str, tuple[float, ...]]:
    """Voice at L (30, 0), music at the left rear surround: leakage and each one's loudspeaker."""
    from sonicmix.layouts import get_layout
    from sonicmix.nodes.ambisonics import AmbisonicEncoder

    lay = get_layout(layout)
    rear = next(i for i, p in enumerate(lay.positions)
                if p is not None and p.elevation_deg == 0.0 and p.azimuth_deg >= 110.0)  # fmt: skip
    scene = (AmbisonicEncoder(order=order, azimuth_deg=30.0)(voice, RATE)
             + AmbisonicEncoder(order=order, azimuth_deg=lay.positions[rear].azimuth_deg)(music, RATE))
    out = {}
    for name, dec in decoders(order, layout).items():
        e = energies(dec, scene)
        ref_v, ref_m = reference(voice, dec), reference(music, dec)
        leak = np.delete(e, [0, rear]).sum() / e.sum()
        out[name] = (10 * np.log10(leak), 10 * np.log10(e[0] / ref_v), 10 * np.log10(e[rear] / ref_m))
    return out


def quality() -> None:
    voice, music, what = sources(3.0)
    print(f"material: {what}")
    for order in (1, 3):
        for layout in ("5.1.4", "7.1.4"):
            print(f"\norder {order}, {layout}")
            for name, row in at_loudspeakers(order, layout, voice).items():
                print(f"  at loudspeakers  {name:10s} on it {row[0]:+.2f}..{row[1]:+.2f} dB, "
                      f"loudest other {row[2]:+.1f}..{row[3]:+.1f} dB")  # fmt: skip
            for name, row in between(order, layout, voice[:, : RATE // 2]).items():
                print(f"  between          {name:10s} r_E angle to VBAP median {row[0]:.1f}, "
                      f"max {row[1]:.1f} deg; "
                      f"total {row[2]:+.2f}..{row[3]:+.2f} dB")  # fmt: skip
            for name, row in diffuse(order, layout).items():
                print(f"  diffuse          {name:10s} loudspeakers {row[0]:+.1f}..{row[1]:+.1f} dB re mean, "
                      f"total {row[2]:+.2f} dB, mean coherence {row[3]:.3f}")  # fmt: skip
            for name, row in two_sources(order, layout, voice, music).items():
                print(f"  two sources      {name:10s} leakage {row[0]:+.1f} dB, voice on L {row[1]:+.2f} dB, "
                      f"music on its loudspeaker {row[2]:+.2f} dB")  # fmt: skip


def cpu_s(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def speed(seconds: float = 30.0, runs: int = 5) -> None:
    from sonicmix.nodes.ambisonics import AmbisonicEncoder

    n = int(seconds * RATE)
    mono = (0.1 * np.random.default_rng(1).standard_normal((1, n))).astype(np.float32)
    scene = AmbisonicEncoder(order=3, azimuth_deg=40.0, elevation_deg=10.0)(mono, RATE)
    decs = decoders(3, "7.1.4")
    for dec in decs.values():
        dec(scene[:, :RATE], RATE)  # warm-up: compile or load the kernels, build the tables
    times: dict[str, list[float]] = {name: [] for name in decs}
    for _ in range(runs):
        for name, dec in decs.items():
            times[name].append(cpu_s(lambda dec=dec: dec(scene, RATE)))
    for name, t in times.items():
        median = statistics.median(t)
        print(f"{name:10s} order 3 -> 7.1.4, float32: {seconds / median:7.1f} x real time "
              f"(median CPU {median:.3f} s for {seconds:g} s)")
    ratio = statistics.median(times["parametric"]) / statistics.median(times["allrad"])
    print(f"parametric / allrad CPU time: {ratio:.1f}")
    parametric = decs["parametric"]

    def streamed(block: int = 4096) -> None:
        state = parametric.init_state(16, RATE, np.float32)
        for start in range(0, n, block):
            _, state = parametric.process(scene[:, start : start + block], RATE, state)

    median = statistics.median(cpu_s(streamed) for _ in range(runs))
    print(f"parametric streamed in blocks of 4096: {seconds / median:7.1f} x real time")


if __name__ == "__main__":
    from benchmarks.machine import describe

    print(describe())
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("quality", "all"):
        quality()
    if what in ("speed", "all"):
        speed()
