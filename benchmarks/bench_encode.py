"""Encoded deliverables (issue 16): speed against the ffmpeg command line, memory, decoded overs.

Run: ``python benchmarks/bench_encode.py [--minutes 60] [--repeats 3] [--only speed,threads,memory,overs]``
Needs PyAV and mutagen (``pip install -e ".[encode]"``), pyebur128, Debian's ``ffmpeg`` package
(``apt-get install -y ffmpeg``) and scripts/fetch_speech.sh's packages for the material. A repeat
at 60 minutes costs about 10 CPU minutes; ``--minutes 1 --trailer-seconds 10`` is a quick look.

Material: a programme of ``--minutes`` (default 60) of stereo 48 kHz 24-bit WAV written block
by block into a temporary folder (never held whole in memory): sections of 20-60 s, each a
recorded music loop from Debian's ``sonic-pi-samples`` (CC0) tiled from a random offset, under
or without speech (Allison's prompts, asterisk-core-sounds-en-wav, CC-BY-SA; see
tests/reference/dialogue.py), with the levels of a mixed programme: speech at -20 dBFS RMS,
a bed under it at -34..-26, music alone at -24..-16; a section whose sample peak passes -1 dBFS
is turned down to it.

1. **speed** (issue goal: sonicmix <= 1.5x ffmpeg). sonicmix: the WAV read once by
   ``sonicmix.io.blocks`` in 65536-frame blocks (deliver()'s block size), each block fed to three
   ``EncodedWriter`` (mp3:128k, aac:128k, opus:96k), committed, then ``measure_decoded`` on each
   file (decode with PyAV, BS.1770 meter: I, LRA, true peak). ffmpeg: Debian's command line
   (``/usr/bin/ffmpeg``), the same encoders and bitrates (libmp3lame -b:a 128k, aac -b:a 128k,
   libopus -b:a 96k) run (a) as one command with three outputs, (b) as three commands; it does
   not verify. Times are CPU time (user + system: ``time.process_time`` for sonicmix,
   ``getrusage(RUSAGE_CHILDREN)`` for ffmpeg), medians of ``--repeats`` runs that alternate
   sonicmix and ffmpeg, with wall times beside them (and each of the three commands' CPU time).
   Then one profiling run (``--only profile`` repeats it on the files a speed run left in
   ``--folder``) splits sonicmix's verification into PyAV's decoder alone, ``decoded_blocks``
   (its frames made float32 blocks), the meter without the true peak and the true peak; and 60 s
   of the programme are encoded by the two builds of LAME (3.100) found here, PyAV's wheel's and
   Debian's, called directly through ctypes with the same settings (CBR 128 kbit/s, quality 3,
   1152-sample calls), which is where MP3's cost comes from.
2. **threads**: can the three encodes run in parallel threads? PyAV wraps
   ``avcodec_send_frame`` and ``avcodec_receive_packet`` in ``with nogil``. The three encodes
   (each reading the WAV itself) run one after another, then in three threads, on
   ``--thread-minutes`` (default 10) of the programme, after a control of two pure-Python
   loops, with the GIL's switch interval at 100 ms. Each thread's wall time is split by
   /proc/self/task/<tid>/schedstat into on a CPU, waiting for a CPU and blocked (the rest; a
   thread that waits for the GIL is blocked): the control's threads are blocked about half the
   time, threads whose encoders release the GIL hardly ever. Wall time only shows the gain
   on free cores: Linux's autogroup scheduler gives a session one share of a busy machine
   however many threads it runs.
3. **memory**: peak RSS (VmHWM) of the speed section's sonicmix work at ``--minutes / 6`` and
   ``--minutes`` of programme, each in a fresh process: over imports and a 1 s warm-up, and
   during the run alone (VmHWM reset after the warm-up). Not ``ru_maxrss``: after exec it
   keeps the peak of the parent the child was forked from.
4. **overs** (issue goal: 0 decoded overs, decoded I within the target's tolerance):
   ``deliver(trailer(seconds=60), LoudnessTarget(integrated_lufs=-14, true_peak_dbtp=c), ...,
   formats=["mp3:128k", "aac:128k", "opus:96k", "vorbis:q5"], stems=[])`` for c in -1 and -2
   dBTP (tests/reference/trailer.py: recorded hits whose peaks reach +7 dBFS over a loop); each
   file decoded by the ffmpeg command line (another FFmpeg build than PyAV's) and measured by
   libebur128 (pyebur128) beside sonicmix's own figures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ctypes  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

RATE = 48_000
BLOCK = 1 << 16
FORMATS = ("mp3:128k", "aac:128k", "opus:96k")
#: the same encoders and bitrates on the ffmpeg command line, and each output's extension
FFMPEG_CODECS = {
    "mp3:128k": (["-c:a", "libmp3lame", "-b:a", "128k"], ".mp3"),
    "aac:128k": (["-c:a", "aac", "-b:a", "128k"], ".m4a"),
    "opus:96k": (["-c:a", "libopus", "-b:a", "96k"], ".opus"),
}
FFMPEG = "/usr/bin/ffmpeg"
LOOPS = (
    "loop_garzul", "loop_mika", "loop_safari", "loop_amen_full", "loop_breakbeat", "loop_tabla",
    "loop_electric", "loop_compus", "loop_industrial", "ambi_piano", "ambi_drone", "guit_em9",
)  # fmt: skip


# ------------------------------------------------------------------------------------ material


def write_programme(path: str, minutes: float, *, seed: int = 3) -> None:
    """The programme described in the module docstring, written section by section (PCM_24)."""
    import sonicmix.io as sio
    from tests.reference import dialogue

    if not dialogue.available():
        raise SystemExit(dialogue.SKIP_REASON)
    rng = np.random.default_rng(seed)
    beds = []
    for name in LOOPS:
        x = dialogue.load(dialogue.SONIC_PI / f"{name}.flac", RATE, mono=False)
        x = np.broadcast_to(x, (2, x.shape[1])) if x.shape[0] == 1 else x[:2]
        beds.append((x / np.sqrt(np.mean(x**2))).astype(np.float32))  # unit RMS
    voice = [(p[0] / np.sqrt(np.mean(p[0] ** 2))).astype(np.float32) for p in dialogue.prompts(64, RATE)]
    total, done = int(minutes * 60 * RATE), 0
    with sio.AudioWriter(path, RATE, 2, subtype="PCM_24") as writer:
        while done < total:
            n = min(total - done, int(rng.uniform(20.0, 60.0) * RATE))
            bed = beds[rng.integers(len(beds))]
            start = int(rng.integers(bed.shape[1]))
            reps = -(-(start + n) // bed.shape[1])
            section = np.tile(bed, (1, reps))[:, start : start + n]
            if rng.uniform() < 0.7:  # speech over a bed
                section = section * np.float32(10 ** (rng.uniform(-34.0, -26.0) / 20))
                at = int(rng.uniform(0.5, 2.0) * RATE)
                while at < n:
                    line = voice[rng.integers(len(voice))][: n - at] * np.float32(10 ** (-20 / 20))
                    section[:, at : at + line.size] += line * np.float32([[0.95], [0.9]])
                    at += line.size + int(rng.uniform(0.3, 1.2) * RATE)
            else:
                section = section * np.float32(10 ** (rng.uniform(-24.0, -16.0) / 20))
            peak = float(np.abs(section).max())
            if peak > 10 ** (-1 / 20):
                section *= np.float32(10 ** (-1 / 20) / peak)
            writer.write(section, check=False)
            done += n


# --------------------------------------------------------------------------------- the work


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sonicmix_encode_verify(wav: str, folder: str) -> dict[str, float]:
    """Read ``wav`` once into three EncodedWriters, commit, measure each decoded file.

    Returns CPU seconds per stage ("read", "encode <spec>", "verify <spec>", "total") and
    "wall"; decoded figures are checked to be finite.
    """
    import sonicmix.io as sio
    from sonicmix.delivery.codecs import EncodedWriter, measure_decoded
    from sonicmix.delivery.formats import parse_format

    cpu, wall0 = time.process_time, time.perf_counter()
    spent: dict[str, float] = {"read": 0.0}
    start = cpu()
    writers = {}
    for spec in FORMATS:
        fmt = parse_format(spec)
        writers[spec] = EncodedWriter(os.path.join(folder, f"s-{fmt.codec}{fmt.extension}"), fmt, RATE, 2)
        spent[f"encode {spec}"] = 0.0
    blocks = sio.blocks(wav, BLOCK)
    while True:
        t = cpu()
        block = next(blocks, None)
        spent["read"] += cpu() - t
        if block is None:
            break
        for spec, writer in writers.items():
            t = cpu()
            writer.write(block)
            spent[f"encode {spec}"] += cpu() - t
    paths = {}
    for spec, writer in writers.items():
        t = cpu()
        paths[spec] = writer.commit()
        spent[f"encode {spec}"] += cpu() - t
    for spec, path in paths.items():
        t = cpu()
        report = measure_decoded(path)
        spent[f"verify {spec}"] = cpu() - t
        assert np.isfinite(report.integrated_lufs) and np.isfinite(report.true_peak_dbtp), spec
    spent["total"] = cpu() - start
    spent["wall"] = time.perf_counter() - wall0
    return spent


def ffmpeg_one_command(wav: str, folder: str) -> list[list[str]]:
    command = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", wav]
    for spec, (options, ext) in FFMPEG_CODECS.items():
        command += ["-map", "0:a", *options, os.path.join(folder, f"f1-{spec.split(':')[0]}{ext}")]
    return [command]


def ffmpeg_three_commands(wav: str, folder: str) -> list[list[str]]:
    return [
        [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", wav, *options,
         os.path.join(folder, f"f3-{spec.split(':')[0]}{ext}")]
        for spec, (options, ext) in FFMPEG_CODECS.items()
    ]  # fmt: skip


def run_ffmpeg(commands: list[list[str]]) -> tuple[float, float, list[float]]:
    """(CPU seconds of the children, wall seconds, CPU seconds of each) of the commands, in turn."""
    cpu0, wall0 = cpu_children(), time.perf_counter()
    each = []
    for command in commands:
        start = cpu_children()
        subprocess.run(command, check=True)
        each.append(cpu_children() - start)
    return cpu_children() - cpu0, time.perf_counter() - wall0, each


# --------------------------------------------------------------------------------- sections


def speed(wav: str, folder: str, repeats: int) -> None:
    runs: dict[str, list[float]] = {}
    for i in range(repeats):
        print(f"  repeat {i + 1}/{repeats}", flush=True)
        for key, value in sonicmix_encode_verify(wav, folder).items():
            runs.setdefault(f"sonicmix {key}", []).append(value)
        for label, make in (("one command", ffmpeg_one_command), ("three commands", ffmpeg_three_commands)):
            cpu, wall, each = run_ffmpeg(make(wav, folder))
            runs.setdefault(f"ffmpeg {label}", []).append(cpu)
            runs.setdefault(f"ffmpeg {label} wall", []).append(wall)
            if len(each) == len(FORMATS):
                for spec, seconds in zip(FORMATS, each, strict=True):
                    runs.setdefault(f"ffmpeg encode {spec}", []).append(seconds)
    med = {key: statistics.median(values) for key, values in runs.items()}

    def spread(key: str) -> str:
        return f"{min(runs[key]):.1f}-{max(runs[key]):.1f}"

    ours = med["sonicmix total"]
    print(f"\nCPU seconds, median of {repeats} (range); wall seconds beside (the machine is shared)")
    print(f"{'':<44} {'CPU s':>8} {'range':>13} {'wall s':>8}")
    for key in ("read", *(f"encode {s}" for s in FORMATS), *(f"verify {s}" for s in FORMATS)):
        print(f"  sonicmix {key:<35} {med['sonicmix ' + key]:8.1f} {spread('sonicmix ' + key):>13}")
    print(
        f"  {'sonicmix total (read, encode, verify)':<44}{ours:8.1f} {spread('sonicmix total'):>13} "
        f"{med['sonicmix wall']:8.1f}"
    )
    for label in ("one command", "three commands"):
        key = f"ffmpeg {label}"
        print(f"  {key + ' (encode only)':<44}{med[key]:8.1f} {spread(key):>13} {med[key + ' wall']:8.1f}")
        if label == "three commands":
            for spec in FORMATS:
                one = f"ffmpeg encode {spec}"
                print(f"    {one:<42}{med[one]:8.1f} {spread(one):>13}")
    for label in ("one command", "three commands"):
        key = f"ffmpeg {label}"
        print(
            f"  ratio sonicmix / {key}: {ours / med[key]:.2f} CPU, "
            f"{med['sonicmix wall'] / med[key + ' wall']:.2f} wall (goal <= 1.5)"
        )
    profile(wav, folder)


def profile(wav: str, folder: str) -> None:
    """Where verification goes (decode, meter, true peak), and the two LAME builds."""
    from sonicmix.delivery.codecs import decoded_blocks, measure_decoded
    from sonicmix.delivery.formats import parse_format
    from sonicmix.loudness import LoudnessMeter

    cpu = time.process_time
    import av

    print(
        "\nverification, one run, CPU seconds: PyAV's decoder alone (frames not converted), decoded_blocks "
        "(frames converted to float32 blocks), the meter without true peak, the true peak"
    )
    for spec in FORMATS:
        fmt = parse_format(spec)
        path = os.path.join(folder, f"s-{fmt.codec}{fmt.extension}")
        t = cpu()
        with av.open(path) as container:
            for _ in container.decode(audio=0):
                pass
        raw = cpu() - t
        t = cpu()
        for _ in decoded_blocks(path):
            pass
        decode = cpu() - t
        t = cpu()
        meter = LoudnessMeter(RATE, channels=2, true_peak=False)
        for block in decoded_blocks(path):
            meter.update(block)
        meter.report()
        no_tp = cpu() - t
        t = cpu()
        measure_decoded(path)
        full = cpu() - t
        print(
            f"  {spec:<9} PyAV decode {raw:6.2f}  decoded_blocks {decode:6.2f}  meter {no_tp - decode:6.2f}  "
            f"true peak {full - no_tp:6.2f}  (measure_decoded {full:6.2f})"
        )
    lame_builds(wav)


def _lame_seconds(library: str, left: np.ndarray, right: np.ndarray) -> float:
    lame = ctypes.CDLL(library)
    lame.lame_init.restype = ctypes.c_void_p
    handle = ctypes.c_void_p(lame.lame_init())
    for setter, value in (("in_samplerate", RATE), ("out_samplerate", RATE), ("num_channels", 2),
                          ("brate", 128), ("VBR", 0), ("quality", 3)):  # fmt: skip
        getattr(lame, f"lame_set_{setter}")(handle, value)
    lame.lame_init_params(handle)
    out = ctypes.create_string_buffer(1 << 16)
    floats = ctypes.POINTER(ctypes.c_float)
    start = time.process_time()
    for i in range(0, left.size, 1152):
        a, b = left[i : i + 1152], right[i : i + 1152]
        lame.lame_encode_buffer_ieee_float(handle, a.ctypes.data_as(floats), b.ctypes.data_as(floats),
                                           a.size, out, 1 << 16)  # fmt: skip
    lame.lame_encode_flush(handle, out, 1 << 16)
    spent = time.process_time() - start
    lame.lame_close(handle)
    return spent


def lame_builds(wav: str) -> None:
    """The same 60 s through PyAV's bundled libmp3lame, lameenc's and Debian's, via ctypes (median of 3).

    sonicmix encodes MP3 with lameenc's LAME where it is installed (sonicmix.delivery.mp3).
    """
    import av
    import soundfile as sf

    try:
        import lameenc

        lameenc_library = lameenc.__file__
    except ImportError:
        lameenc_library = None
    wheel = sorted(glob.glob(os.path.join(os.path.dirname(av.__file__) + ".libs", "libmp3lame*.so*")))
    debian = "/usr/lib/x86_64-linux-gnu/libmp3lame.so.0"
    x, _ = sf.read(wav, frames=60 * RATE, dtype="float32")
    left, right = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    print(f"\nLAME itself, {left.size / RATE:g} s of the programme, CBR 128k q3, CPU s (median of 3):")
    builds = (("PyAV wheel", wheel[0] if wheel else None), ("lameenc", lameenc_library), ("Debian", debian))
    for label, library in builds:
        if library is None or not os.path.exists(library):
            print(f"  {label}: not found")
            continue
        seconds = statistics.median(_lame_seconds(library, left, right) for _ in range(3))
        name = os.path.basename(library)
        print(f"  {label:<11} {seconds:6.2f} s  ({name}; {frame_pointer_share(library)})")


def frame_pointer_share(library: str) -> str:
    """How much of a library's code loads and stores locals through %rbp (unoptimised -O0 code)."""
    if shutil.which("objdump") is None:
        return "objdump missing"
    text = subprocess.run(["objdump", "-d", library], capture_output=True, text=True).stdout
    lines = [line for line in text.splitlines() if line.startswith("  ") and "\t" in line]
    stack = sum("(%rbp)" in line for line in lines)
    return f"{stack} of {len(lines)} instructions address the stack frame through %rbp"


def _schedstat() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of the calling thread (Linux)."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as fh:
        on_cpu, waiting = fh.read().split()[:2]
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def _accounted(fn, *args) -> tuple[float, float, float, float]:
    """Run ``fn(*args)`` in this thread: wall, on a CPU, waiting for a CPU, blocked (the rest)."""
    cpu0, queue0 = _schedstat()
    wall0 = time.perf_counter()
    fn(*args)
    wall = time.perf_counter() - wall0
    cpu1, queue1 = _schedstat()
    return wall, cpu1 - cpu0, queue1 - queue0, wall - (cpu1 - cpu0) - (queue1 - queue0)


def threads(wav: str, folder: str, minutes: float) -> None:
    """The three encodes one after another, then in three threads (each reads the WAV itself).

    Each thread's time is split into on a CPU, waiting for a CPU (runnable) and blocked (the
    rest: a thread waiting for the GIL sleeps on it); two pure-Python loops, which hold the
    GIL, are the control (module docstring, item 2).
    """
    import sonicmix.io as sio
    from sonicmix.delivery.codecs import EncodedWriter
    from sonicmix.delivery.formats import parse_format

    frames = int(minutes * 60 * RATE)

    def encode(spec: str) -> None:
        fmt = parse_format(spec)
        writer = EncodedWriter(os.path.join(folder, f"t-{fmt.codec}{fmt.extension}"), fmt, RATE, 2)
        done = 0
        for block in sio.blocks(wav, BLOCK):
            writer.write(block[:, : frames - done])
            done += block.shape[1]
            if done >= frames:
                break
        writer.commit()

    def python_loop(_: str) -> None:
        total = 0
        for i in range(30_000_000):
            total += i

    def threaded(fn, names) -> dict[str, tuple[float, float, float, float]]:
        out: dict[str, tuple[float, float, float, float]] = {}

        def run(name: str) -> None:
            out[name] = _accounted(fn, name)

        workers = [threading.Thread(target=run, args=(name,)) for name in names]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return out

    print(
        f"\nthreads: {minutes:g} min of the programme encoded; per thread: wall, on a CPU, waiting for a "
        "CPU, blocked (share of wall)"
    )
    cases = (
        ("control: 2 pure-Python loops (hold the GIL)", python_loop, ("loop 1", "loop 2")),
        ("serial: the 3 encodes one after another", None, FORMATS),
        ("3 threads: the 3 encodes at once", encode, FORMATS),
    )
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.1)  # a thread that holds the GIL keeps it 100 ms: waiting for it shows
    for label, fn, names in cases:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if fn is None:
            rows = {name: _accounted(encode, name) for name in names}
        else:
            rows = threaded(fn, names)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        print(f"  {label}: wall {wall:.1f} s, process CPU {cpu:.1f} s (CPU / wall {cpu / wall:.2f})")
        for name, (w, on, queued, blocked) in rows.items():
            print(
                f"    {name:<9} wall {w:7.1f}  on a CPU {on:7.1f}  waiting for a CPU {queued:7.1f}  "
                f"blocked {blocked:6.1f} ({blocked / w:.0%})"
            )
    sys.setswitchinterval(interval)
    print(f"  load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def memory(wav_short: str, wav_long: str, folder: str, short: float, long: float) -> None:
    print(
        "\nmemory of sonicmix's encode + verify, a fresh process each (VmHWM, the peak RSS of the process's "
        "own memory; ru_maxrss would also count the parent's, which the child is forked from): the peak "
        "over imports and a 1 s warm-up, the RSS after it, and the peak during the run (VmHWM reset "
        "through /proc/self/clear_refs)"
    )
    for minutes, wav in ((short, wav_short), (long, wav_long)):
        out = subprocess.run(
            [sys.executable, __file__, "--child", wav, folder], check=True, capture_output=True, text=True
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        print(
            f"  {minutes:5g} min: peak over imports and warm-up {figures['warm_hwm_mib']:5.0f} MiB, after it "
            f"{figures['warm_rss_mib']:5.0f} MiB; peak during the run {figures['run_hwm_mib']:5.0f} MiB; "
            f"CPU {figures['total']:.1f} s"
        )


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(wav: str, folder: str) -> None:
    """Memory probe: warm up on 1 s (imports, compiled kernels, codecs), then the whole work."""
    import sonicmix.io as sio

    warm = os.path.join(folder, "warm.wav")
    sio.write(warm, next(sio.blocks(wav, RATE)), RATE, overwrite=True)
    sonicmix_encode_verify(warm, folder)
    warm_rss, warm_hwm = _status_mib("VmRSS"), _status_mib("VmHWM")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current RSS
    figures = sonicmix_encode_verify(wav, folder)
    figures["warm_rss_mib"], figures["warm_hwm_mib"] = warm_rss, warm_hwm
    figures["run_hwm_mib"] = _status_mib("VmHWM")
    print(json.dumps(figures))


def ffmpeg_decode(path: str) -> tuple[np.ndarray, int]:
    """Decode with the ffmpeg command line at the file's own rate and channels (float64)."""
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
            check=True, capture_output=True, text=True,
        ).stdout
    )["streams"][0]  # fmt: skip
    channels, rate = int(probe["channels"]), int(probe["sample_rate"])
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", path, "-f", "f64le", "-acodec", "pcm_f64le", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.float64).reshape(-1, channels).T.copy(), rate


def libebur128(audio: np.ndarray, rate: int) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) by libebur128."""
    import pyebur128 as ebu

    modes = ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_TRUE_PEAK
    state = ebu.R128State(audio.shape[0], rate, modes)
    state.add_frames(np.ascontiguousarray(audio.T).reshape(-1), audio.shape[1])
    peak = max(ebu.get_true_peak(state, c) for c in range(audio.shape[0]))
    return ebu.get_loudness_global(state), 20 * np.log10(peak)


def overs(folder: str, seconds: float) -> None:
    from sonicmix.delivery import deliver
    from sonicmix.delivery.formats import parse_format
    from sonicmix.targets import LoudnessTarget
    from tests.reference.trailer import trailer

    specs = ["mp3:128k", "aac:128k", "opus:96k", "vorbis:q5"]
    graph = trailer(RATE, seconds)
    print(f"\nhot trailer, {seconds:g} s (peaks +7 dBFS before the limiter), target -14 LUFS")
    print(
        "| format | ceiling dBTP | encodes | limiter ceiling used dBTP | decoded TP sonicmix | decoded TP "
        "libebur128 | decoded I sonicmix | decoded I libebur128 | over? | I within tolerance? |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    overs_found, off_target, failed = 0, 0, 0
    for ceiling in (-1.0, -2.0):
        target = LoudnessTarget(integrated_lufs=-14.0, true_peak_dbtp=ceiling, name=f"hot{-ceiling:g}")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        delivery = deliver(graph, target, os.path.join(folder, f"hot{-ceiling:g}"), formats=specs, stems=[])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        tolerance = target.tolerance_lu
        below, above = (tolerance, tolerance) if np.isscalar(tolerance) else tolerance
        if not delivery.encodings:  # a failed delivery writes nothing
            print(f"| all | {ceiling:g} | delivery failed: {'; '.join(delivery.reasons)} |")
            failed += 1
        for spec in specs if delivery.encodings else ():
            key = "mix" + parse_format(spec).extension
            encoding = delivery.encodings[key]
            integrated, peak = libebur128(*ffmpeg_decode(delivery.files[key]))
            over = peak > ceiling
            within = -below <= integrated - target.integrated_lufs <= above
            overs_found += over
            off_target += not within
            decoded = encoding.decoded
            print(
                f"| {spec} | {ceiling:g} | {len(encoding.passes)} | {encoding.ceiling_dbtp:.2f} | "
                f"{decoded.true_peak_dbtp:.2f} | {peak:.2f} | {decoded.integrated_lufs:.2f} | "
                f"{integrated:.2f} | {'OVER' if over else 'no'} | {'yes' if within else 'NO'} |"
            )
        passed = delivery.passed
        print(f"  (deliver() at {ceiling:g} dBTP: passed={passed}, CPU {cpu:.1f} s, wall {wall:.1f} s)")
    print(
        f"decoded overs (libebur128 on ffmpeg's decode): {overs_found}; I off target: {off_target}; "
        f"failed deliveries: {failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--thread-minutes", type=float, default=10.0)
    parser.add_argument("--trailer-seconds", type=float, default=60.0)
    parser.add_argument("--only", default="speed,threads,memory,overs")
    parser.add_argument("--folder", default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--child", nargs=2, metavar=("WAV", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    import av

    from benchmarks.machine import describe

    print(describe())
    version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    libavcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    print(f"PyAV {av.__version__} (libavcodec {libavcodec}); {version}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    sections = set(args.only.split(","))
    folder = args.folder or tempfile.mkdtemp(prefix="sonicmix-encode-")
    os.makedirs(folder, exist_ok=True)
    try:
        wav = os.path.join(folder, f"programme-{args.minutes:g}min.wav")
        if sections & {"speed", "profile", "threads", "memory"} and not os.path.exists(wav):
            t = time.perf_counter()
            write_programme(wav, args.minutes)
            spent = time.perf_counter() - t
            print(f"programme: {args.minutes:g} min stereo {RATE} Hz PCM_24 written in {spent:.0f} s")
        if "speed" in sections:
            print(f"\n1. speed: {args.minutes:g} min into {', '.join(FORMATS)}")
            speed(wav, folder, args.repeats)
        if "profile" in sections and "speed" not in sections:  # on the files a speed run left in --folder
            profile(wav, folder)
        if "threads" in sections:
            threads(wav, folder, min(args.thread_minutes, args.minutes))
        if "memory" in sections:
            short_minutes = args.minutes / 6
            short = os.path.join(folder, f"programme-{short_minutes:g}min.wav")
            if not os.path.exists(short):
                write_programme(short, short_minutes)
            memory(short, wav, folder, short_minutes, args.minutes)
        if "overs" in sections:
            overs(folder, args.trailer_seconds)
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
