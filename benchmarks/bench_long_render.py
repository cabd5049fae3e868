"""Peak memory of a long streamed render from file sources (issue: constant memory).

Builds a 5.1 programme of ``--hours`` (default 2) from ~10 tracks whose clips
are read from files on disk (6 mono dialogue/FX tracks, 3 stereo music/FX
tracks and one 5.1 ambience track; each track plays back-to-back clips of a
10-minute source file), streams it block by block through the renderer into
a 24-bit 5.1 WAV, and prints wall time, real-time factor and peak RSS.

    python benchmarks/bench_long_render.py [--hours 2] [--folder /tmp/sonicmix-long]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time

import numpy as np


def make_sources(folder: str, seconds: float, fs: int) -> dict[str, str]:
    import sonicmix.io as sio

    rng = np.random.default_rng(11)
    paths = {}
    for name, channels in (("mono", 1), ("stereo", 2), ("surround", 6)):
        path = os.path.join(folder, f"{name}.wav")
        with sio.AudioWriter(path, fs, channels, subtype="PCM_16") as writer:
            for _ in range(int(seconds)):
                writer.write((rng.standard_normal((channels, fs)) * 0.05).astype(np.float32), check=False)
        paths[name] = path
    return paths


def build_graph(paths: dict[str, str], hours: float, source_s: float):
    from sonicmix.graph import Bus, Graph, Send, Track
    from sonicmix.nodes.gain import Gain
    from sonicmix.timeline import Clip, FileSource

    n_clips = int(np.ceil(hours * 3600 / source_s))

    def clips(kind: str) -> tuple[Clip, ...]:
        return tuple(Clip(source=FileSource(paths[kind]), start_s=i * source_s) for i in range(n_clips))

    tracks = {}
    for i in range(6):
        tracks[f"mono{i}"] = Track(
            clips=clips("mono"),
            layout="mono",
            chain=(Gain(gain_db=-3.0),),
            output="dialogue" if i < 3 else "effects",
        )
    for i in range(3):
        tracks[f"stereo{i}"] = Track(
            clips=clips("stereo"),
            layout="stereo",
            chain=(Gain(gain_db=-6.0),),
            output="music" if i < 2 else "effects",
            sends=(Send(to="effects", level_db=-12.0),),
        )
    tracks["ambience"] = Track(clips=clips("surround"), layout="5.1", output="effects")
    buses = {
        "dialogue": Bus(layout="5.1"),
        "music": Bus(layout="5.1"),
        "effects": Bus(layout="5.1"),
        "master": Bus(layout="5.1", output=None),
    }
    return Graph(tracks=tracks, buses=buses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--block-size", type=int, default=None, help="default: the renderer's own choice")
    args = parser.parse_args()

    import sonicmix.io as sio
    from sonicmix.renderer import default_block_size, render_blocks

    fs, source_s = 48000, 600.0
    folder = args.folder or tempfile.mkdtemp(prefix="sonicmix-long-")
    os.makedirs(folder, exist_ok=True)
    try:
        start = time.perf_counter()
        paths = make_sources(folder, source_s, fs)
        print(f"sources written in {time.perf_counter() - start:.1f} s to {folder}")
        graph = build_graph(paths, args.hours, source_s)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        out_path = os.path.join(folder, "programme.wav")
        blocks = render_blocks(
            graph, sample_rate=fs, block_size=args.block_size, stems=[], duration_s=args.hours * 3600
        )
        with sio.AudioWriter(out_path, fs, 6, subtype="PCM_24", frames=int(args.hours * 3600 * fs)) as writer:
            for _, out in blocks:
                writer.write(out["master"], check=False)
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        seconds = args.hours * 3600
        print(
            f"{args.hours:g} h 5.1 programme, {len(graph.tracks)} tracks from files, "
            f"block {args.block_size or default_block_size(graph)}"
        )
        print(f"  render + write: {elapsed:.1f} s ({seconds / elapsed:.1f}x real time)")
        print(f"  peak RSS: {peak:.0f} MiB (before rendering: {rss_before:.0f} MiB)")
        print(f"  output: {os.path.getsize(out_path) / 2**30:.2f} GiB")
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
