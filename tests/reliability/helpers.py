"""What the fault and determinism tests share: a small multi-stem session on disk, and file comparisons."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

import sonicmix.io as sio

FS = 48_000

#: A session with every kind of processing a delivery meets: EQ, dynamics, de-essing, a keyed ducker,
#: saturation, a delay, a reverb return, pan, fader and node automation, four stems and an M&E mix.
SESSION = """\
[session]
sample_rate = 48000
target = "ebu-r128"
name = "ep"
me_mix = true
tail_s = 0.5

[tracks.dx]
layout = "mono"
pan = -0.1
output = "dialogue"
chain = [
    {type = "HighPass", cutoff_hz = 80.0},
    {type = "Compressor", threshold_db = -24.0, ratio = 3.0},
    {type = "DeEsser"},
]
fader_db = {automation = [[0.0, -6.0, "linear"], [1.0, 0.0, "linear"]]}
sends = [{to = "verb", level_db = -12.0}]

[[tracks.dx.clips]]
file = "dx.wav"
start_s = 0.25
fade_in_s = 0.05

[tracks.bed]
output = "music"
chain = [{type = "Saturation", drive_db = 6.0}, {type = "Gain", gain_db = -3.0}]
automation = {"chain[1].gain_db" = {automation = [[0.0, -9.0], [2.0, 0.0]]}}

[[tracks.bed.clips]]
file = "music.wav"
fade_out_s = 1.0

[tracks.hits]
output = "effects"
chain = [{type = "Delay", time_s = 0.125, feedback = 0.4, mix = 0.3}]

[[tracks.hits.clips]]
file = "fx.wav"
start_s = 1.0

[buses.dialogue]

[buses.music]
key = "dialogue"
chain = [{type = "Ducker", depth_db = 8.0}]

[buses.effects]

[buses.verb]
chain = [{type = "Reverb", decay_s = 1.2, mix = 1.0}]

[buses.master]
chain = [{type = "LowShelf", freq_hz = 100.0, gain_db = 1.0}]
"""
NAME = "ep"
STEMS = ("dialogue", "music", "effects", "verb")
#: Every file a complete delivery of SESSION writes (matplotlib is in the test extra: the plot too).
AUDIO = (f"{NAME}.wav", *(f"{NAME}.{s}.wav" for s in STEMS), f"{NAME}.ME.wav")
REPORTS = (f"{NAME}.report.json", f"{NAME}.report.txt", f"{NAME}.loudness.png")


def write_project(folder: Path, seconds: float = 4.0) -> Path:
    """Write the sources (seeded noise bursts, chords, hits) and the session file; return its path."""
    rng = np.random.default_rng(20261127)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    speech = 0.1 * rng.standard_normal(n) * (np.sin(2 * np.pi * 1.3 * t) > 0.0)
    chords = 0.08 * np.stack([np.sin(2 * np.pi * 220.0 * t), np.sin(2 * np.pi * 277.2 * t)])
    hits = 0.3 * rng.standard_normal((2, n // 2)) * (np.sin(2 * np.pi * 2.1 * t[: n // 2]) > 0.9)
    sio.write(folder / "dx.wav", speech[None].astype(np.float32), FS, subtype="FLOAT")
    sio.write(folder / "music.wav", chords.astype(np.float32), FS, subtype="FLOAT")
    sio.write(folder / "fx.wav", hits.astype(np.float32), FS, subtype="FLOAT")
    path = folder / "ep.toml"
    path.write_text(SESSION, encoding="utf-8")
    return path


def masked(path: str | os.PathLike[str]) -> bytes:
    """A WAV file's bytes with the bext OriginationDate and OriginationTime blanked.

    Those 18 bytes hold the wall-clock time the file was written (EBU Tech 3285 offsets 320-337 of
    the chunk's data); everything else must be reproducible.
    """
    data = bytearray(Path(path).read_bytes())
    assert data[:4] in (b"RIFF", b"RF64") and data[8:12] == b"WAVE"
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if chunk == b"bext":
            data[at + 8 + 320 : at + 8 + 338] = b"\0" * 18
        at += 8 + size + (size & 1)
    return bytes(data)


def scratch(folder: str | os.PathLike[str]) -> list[str]:
    """Names in ``folder`` that are not deliverables: the writers' hidden temporary files and folders."""
    return sorted(n for n in os.listdir(folder) if n not in AUDIO + REPORTS)


def is_temporary(name: str) -> bool:
    """The writers' scratch names: ``.sonicmix-*`` work folders and hidden ``.*.partial`` files."""
    return name.startswith(".sonicmix-") or (name.startswith(".") and name.endswith(".partial"))


def report_without_timing(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> dict:
    """The JSON report with its wall-clock field removed and the output folder's path made neutral."""
    text = Path(path).read_text(encoding="utf-8").replace(json.dumps(os.fspath(folder))[1:-1], "<out>")
    data = json.loads(text)
    data.pop("elapsed_s")
    return data
