"""The kept render: a graph rendered once, held for every pass and target that follows.

Blocks stay in memory while they fit in ``memory_mb``; past that everything goes to
temporary float32 files, so a long programme is delivered in constant memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from sonicmix.graph import Graph


def bus_layout(graph: Graph, bus: str) -> str:
    """The layout a bus delivers: its chain's output (a Binaural on a 7.1.4 bus makes it stereo)."""
    return graph.output_layout(graph.master if bus == "master" else bus)


def bus_channels(graph: Graph, bus: str) -> int:
    from sonicmix.layouts import get_layout

    return get_layout(bus_layout(graph, bus)).n_channels


class KeptRender:
    """The rendered mix and stems (float32), kept for the closed loop's passes.

    Blocks stay in memory while their total size is within ``memory_mb``;
    past that, everything goes to temporary float32 files in ``folder``, so a
    long programme is delivered in constant memory.
    """

    def __init__(
        self,
        folder: str,
        channels: dict[str, int],
        sample_rate: int,
        memory_mb: float,
        layouts: dict[str, str] | None = None,
    ) -> None:
        self.folder, self.channels, self.sample_rate = folder, channels, sample_rate
        #: each bus's layout name (its loudness weights and channel mask)
        self.layouts = layouts if layouts is not None else {}
        self.budget = memory_mb * 2**20
        self.held: list[dict[str, np.ndarray]] = []
        self.size = 0
        self.frames = 0
        self.writers: dict[str, Any] | None = None
        self.paths = {n: os.path.join(folder, f"{i:02d}.wav") for i, n in enumerate(channels)}

    def append(self, out: dict[str, np.ndarray]) -> None:
        self.frames += out["master"].shape[1]
        if self.writers is None:
            size = sum(b.shape[0] * b.shape[1] * 4 for b in out.values())
            if self.size + size <= self.budget:
                # the renderer's blocks are new arrays that nothing overwrites (render_blocks), so a
                # float32 C block is held as it is: a copy would fault in the programme's memory
                # again (a pool thread's malloc arena gives it back after every delivery)
                self.held.append({n: np.ascontiguousarray(b, np.float32) for n, b in out.items()})
                self.size += size
                return
            self._spill()
        for n, w in self.writers.items():
            w.write(out[n], check=False)

    def _spill(self) -> None:
        from sonicmix.io import AudioWriter

        self.writers = {
            n: AudioWriter(p, self.sample_rate, self.channels[n], subtype="FLOAT", peak_time=0)  # scratch
            for n, p in self.paths.items()
        }
        for block_set in self.held:
            for n, w in self.writers.items():
                w.write(block_set[n], check=False)
        self.held = []

    def commit(self) -> None:
        for w in (self.writers or {}).values():
            w.commit()

    def blocks(self, size: int, names: Sequence[str]):
        """Yield ``{name: block}`` for ``names`` in order (the render's block size when in memory)."""
        if self.writers is None:
            for block_set in self.held:
                yield {n: block_set[n] for n in names}
            return
        import soundfile as sf

        handles = {n: sf.SoundFile(self.paths[n]) for n in names}
        try:
            while True:
                out = {
                    n: np.ascontiguousarray(h.read(size, dtype="float32", always_2d=True).T)
                    for n, h in handles.items()
                }
                if not next(iter(out.values())).shape[1]:
                    return
                yield out
        finally:
            for h in handles.values():
                h.close()
