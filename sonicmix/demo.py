"""The built-in demo: a short documentary-style mix rendered to a loudness target.

Everything is synthesised in code (no downloads): two voices (glottal pulse
trains through formant resonances, in syllables, words and sentences), a
music bed (chords with a bass line) and effects (door-slam-like hits and a
swelling noise ambience). The mix runs through EQ, compression, de-essing,
a reverb send and dialogue ducking, and is delivered to EBU R 128 with
stems, an M&E mix and compliance reports.

Examples
--------
>>> graph = demo_session(seconds=4.0)
>>> sorted(graph.buses)
['dialogue', 'effects', 'master', 'music', 'reverb']
"""

from __future__ import annotations

import numpy as np

from sonicmix.graph import Bus, Graph, Send, Track
from sonicmix.timeline import ArraySource, Clip

__all__ = ["demo_session", "run_demo", "warm_common_paths"]


def _voice(rng: np.random.Generator, seconds: float, fs: int, pitch_hz: float, formants_hz) -> np.ndarray:
    import scipy.signal as ss

    n = int(seconds * fs)
    # pitch drifts slowly around the speaker's mean; one glottal pulse per period
    f0 = pitch_hz * (1 + 0.08 * np.sin(2 * np.pi * 0.3 * np.arange(n) / fs + rng.uniform(0, 6)))
    phase = np.cumsum(f0 / fs)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = ss.lfilter([1.0], [1.0, -0.95], pulses)
    voiced = np.zeros(n)
    for f, bw in formants_hz:
        r = np.exp(-np.pi * bw / fs)
        voiced += ss.lfilter([1 - r], [1.0, -2 * r * np.cos(2 * np.pi * f / fs), r * r], source)
    # syllables (80-300 ms) in words, phrases and sentences
    envelope = np.zeros(n)
    t = rng.uniform(0.3, 0.8)
    while t < seconds - 0.5:
        for _ in range(rng.integers(3, 8)):  # words in a phrase
            for _ in range(rng.integers(1, 4)):  # syllables in a word
                length = rng.uniform(0.08, 0.3)
                a, b = int(t * fs), min(n, int((t + length) * fs))
                envelope[a:b] = np.hanning(b - a) ** 0.5 * rng.uniform(0.6, 1.0)
                t += length
            t += rng.uniform(0.05, 0.15)
        t += rng.uniform(0.8, 1.6)
    hiss = ss.lfilter([1.0, -1.0], [1.0], rng.standard_normal(n)) * (envelope > 0.1) * 0.02
    x = (voiced + hiss) * envelope
    return (x / np.max(np.abs(x)) * 0.5)[None].astype(np.float32)


def _music(rng: np.random.Generator, seconds: float, fs: int) -> np.ndarray:
    n = int(seconds * fs)
    t = np.arange(n) / fs
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (196.0, 246.9, 311.1)]
    out = np.zeros((2, n))
    bar = 2.0
    for k in range(int(np.ceil(seconds / bar))):
        a, b = int(k * bar * fs), min(n, int((k + 1) * bar * fs))
        tt = t[a:b] - k * bar
        env = np.minimum(1.0, tt / 0.05) * np.exp(-tt / 1.5)
        for i, f in enumerate(chords[k % 4]):
            pan = (i - 1) * 0.4
            tone = np.sin(2 * np.pi * f * tt) + 0.3 * np.sin(4 * np.pi * f * tt)
            out[0, a:b] += tone * env * (1 - pan) * 0.15
            out[1, a:b] += tone * env * (1 + pan) * 0.15
        bass = np.sin(2 * np.pi * chords[k % 4][0] / 2 * tt) * np.minimum(1.0, tt / 0.01) * np.exp(-tt / 0.8)
        out[:, a:b] += bass * 0.3
    return out.astype(np.float32)


def _effects(rng: np.random.Generator, seconds: float, fs: int) -> np.ndarray:
    import scipy.signal as ss

    n = int(seconds * fs)
    ambience = ss.lfilter([0.02], [1.0, -0.98], rng.standard_normal((2, n)), axis=1)
    ambience *= 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(n) / (seconds * fs))
    for start_s in np.arange(1.7, seconds - 1.0, 5.3):
        a = int(start_s * fs)
        hit = rng.standard_normal((2, 9600)) * np.exp(-np.arange(9600) / 1200.0)
        ambience[:, a : a + 9600] += ss.lfilter([1.0], [1.0, -0.9], hit, axis=1) * 0.15
    return ambience.astype(np.float32)


def demo_session(seconds: float = 30.0, sample_rate: int = 48000, seed: int = 2026) -> Graph:
    """The demo's mix graph: two voices, a music bed ducked under them, effects and a reverb send."""
    import sonicmix as sm

    rng = np.random.default_rng(seed)
    fs = sample_rate
    host = ArraySource(
        _voice(rng, seconds, fs, 110.0, ((700, 90), (1200, 110), (2600, 160))), fs, name="host"
    )
    guest = ArraySource(
        _voice(rng, seconds, fs, 210.0, ((850, 90), (1700, 120), (3000, 170))), fs, name="guest"
    )
    music = ArraySource(_music(rng, seconds, fs), fs, name="music")
    effects = ArraySource(_effects(rng, seconds, fs), fs, name="effects")
    voice_chain = (
        sm.ParametricEQ(
            bands=(
                sm.Band(kind="high_pass", freq_hz=90.0),
                sm.Band(kind="peak", freq_hz=300.0, gain_db=-2.0, q=1.2),
                sm.Band(kind="peak", freq_hz=3500.0, gain_db=2.5, q=1.0),
            )
        ),
        sm.Compressor(threshold_db=-24.0, ratio=3.0, attack_s=0.005, release_s=0.12, makeup_db=4.0),
        sm.DeEsser(),
    )
    verb = Send(to="reverb", level_db=-14.0)
    return Graph(
        tracks={
            "host": Track(
                clips=(Clip(source=host),),
                layout="mono",
                chain=voice_chain,
                pan=-0.2,
                output="dialogue",
                sends=(verb,),
            ),
            "guest": Track(
                clips=(Clip(source=guest, start_s=1.0, duration_s=seconds - 1.0),),
                layout="mono",
                chain=voice_chain,
                pan=0.25,
                output="dialogue",
                sends=(verb,),
            ),
            "bed": Track(
                clips=(Clip(source=music, fade_in_s=2.0, fade_out_s=3.0),),
                chain=(sm.LowShelf(freq_hz=120.0, gain_db=-2.0),),
                fader_db=-4.0,
                output="music",
            ),
            "fx": Track(
                clips=(Clip(source=effects),), output="effects", sends=(Send(to="reverb", level_db=-18.0),)
            ),
        },
        buses={
            "dialogue": Bus(),
            "music": Bus(chain=(sm.Ducker(depth_db=10.0, hold_s=0.6),), key="dialogue"),
            "effects": Bus(),
            "reverb": Bus(chain=(sm.Reverb(decay_s=1.6, mix=1.0),)),
            "master": Bus(output=None),
        },
    )


def run_demo(
    out_dir: str, *, target: str = "ebu-r128", seconds: float = 30.0, progress=None, warm: bool = True
):
    """Render the demo session to ``target`` into ``out_dir`` (created if missing); return the Delivery.

    ``progress`` is passed to :func:`sonicmix.deliver.deliver`. The demo replaces its own
    previous output (``demo.*`` files in ``out_dir``), so running it twice works; two demos
    into one folder at the same time are still refused (the delivery's lock). ``warm``
    then runs :func:`warm_common_paths`, so that the first run leaves the kernel cache
    ready for other rates and dtypes too.
    """
    import os

    from sonicmix._checks import check_range
    from sonicmix.deliver import deliver
    from sonicmix.errors import AudioFileError
    from sonicmix.targets import get_target

    chosen = get_target(target)  # checked before anything is created
    check_range("seconds", seconds, low=2.0, high=3600.0, hint="the demo needs a few seconds of material")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as err:
        raise AudioFileError(f"cannot create the output folder {out_dir!r}: {err.strerror or err}") from err
    delivery = deliver(
        demo_session(seconds), chosen, out_dir, name="demo", me_mix=True, progress=progress, overwrite=True
    )
    if warm:
        warm_common_paths()
    return delivery


#: What :func:`warm_common_paths` runs: the other usual rate beside the demo's own. float64 is left
#: out: its kernels would add about a minute of CPU time to the first run.
WARM_SAMPLE_RATES = (44100, 48000)
WARM_DTYPES = ("float32",)


def warm_common_paths() -> None:
    """Run the everyday nodes and the meter once on a short signal, to compile and cache their kernels.

    The demo renders at 48 kHz in float32. This runs EQ, compression, de-essing,
    reverb, the limiter and the meter on 0.5 s of noise at each rate of
    :data:`WARM_SAMPLE_RATES`, mono and stereo, in each dtype of
    :data:`WARM_DTYPES`, so that after the README's first command (install,
    then the demo) a mono or 44.1 kHz file loads its kernels from the cache
    instead of compiling them (float64 audio still compiles on first use). With a warm cache this
    takes a fraction of a second (loading, not compiling).

    Examples
    --------
    >>> WARM_SAMPLE_RATES, WARM_DTYPES
    ((44100, 48000), ('float32',))
    """
    import sonicmix as sm

    band = sm.ParametricEQ.Band
    bands = (band(kind="peak", freq_hz=300.0, gain_db=-2.0), band(kind="high_shelf", freq_hz=8e3, gain_db=2))
    nodes = (sm.HighPass(cutoff_hz=80.0), sm.ParametricEQ(bands=bands), sm.Compressor(), sm.DeEsser())
    chain = sm.Chain((*nodes, sm.Reverb(), sm.Limiter()))
    rumble = sm.HighPass(cutoff_hz=30.0)  # too low for float32 coefficients: float64 sections, float32 audio
    rng = np.random.default_rng(0)
    for rate in WARM_SAMPLE_RATES:
        for dtype in WARM_DTYPES:
            for channels in (1, 2):
                # half a second: longer than the blocks the kernels work in, as most audio is
                x = (rng.standard_normal((channels, rate // 2)) * 0.1).astype(dtype)
                chain(x, rate)
                rumble(x, rate)
                sm.measure(x, rate)
