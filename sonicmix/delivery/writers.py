"""The PCM deliverables of a pass (mix, stems, M&E as WAV or FLAC), written and measured as stored."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from sonicmix.loudness import LoudnessMeter, LoudnessReport


class PcmDeliverables:
    """The PCM files of one pass, written under temporary names and measured as stored.

    ``final`` maps each key (the mix's lossless formats in ``mix_keys``, stems,
    ``"ME"``) to its path; the mix keys and the M&E take the master's channels.
    """

    def __init__(
        self,
        final: dict[str, str],
        mix_keys: Sequence[str],
        stem_names: list[str],
        dialogue_stems: list[str],
        channels: dict[str, int],
        sample_rate: int,
        subtype: str,
        seed: int,
        inputs: Sequence[str],
        pool: Any = None,
        *,
        reserve_bext: bool = False,
    ) -> None:
        from sonicmix.io import AudioWriter

        self.pool = pool
        self.final, self.mix_keys = final, list(mix_keys)
        self.stem_names, self.dialogue_stems = stem_names, dialogue_stems
        self.names = ["master", *stem_names]
        self.writers: dict[str, Any] = {}
        self.meters = {
            k: LoudnessMeter(sample_rate, channels=channels["master" if k in (*mix_keys, "ME") else k])
            for k in final
        }
        try:
            for i, (k, p) in enumerate(final.items()):
                ch = channels["master" if k in (*mix_keys, "ME") else k]
                # with room for the bext chunk, step 5 writes it in place instead of copying the file
                self.writers[k] = AudioWriter(
                    p,
                    sample_rate,
                    ch,
                    subtype=subtype,
                    seed=seed + i,
                    inputs=inputs,
                    reserve_bext=reserve_bext and p.endswith(".wav"),
                )
        except BaseException:
            self.abort()
            raise

    def __call__(self, outputs: dict[str, np.ndarray]) -> None:
        blocks = {k: outputs["master"] for k in self.mix_keys}
        blocks.update({s: outputs[s] for s in self.stem_names})
        if "ME" in self.final:
            me = sum(outputs[s] for s in self.stem_names if s not in self.dialogue_stems)
            blocks["ME"] = np.asarray(me, np.float32)

        def store(k: str) -> None:  # each file has its own writer (and dither) and meter
            self.meters[k].update(self.writers[k].write(blocks[k], check=False, stored=True))

        if self.pool is None:
            for k in blocks:
                store(k)
        else:
            for job in [self.pool.submit(store, k) for k in blocks]:
                job.result()

    @property
    def master_meter(self) -> LoudnessMeter | None:
        """The meter of the mix as stored (its first lossless format), if this pass writes one."""
        return self.meters[self.mix_keys[0]] if self.mix_keys else None

    def finish(self) -> dict[str, LoudnessReport]:
        """Complete every file under its temporary name; return their reports."""
        for w in self.writers.values():
            w.finish()
        return {k: m.report() for k, m in self.meters.items()}

    def pending(self) -> dict[str, str]:
        """Temporary name of every finished file."""
        return {k: w.finish() for k, w in self.writers.items()}

    def commit(self) -> None:
        """Move every file under its final name (all or nothing, short of a killed process)."""
        try:
            for w in self.writers.values():
                w.commit()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()
        for k, p in self.final.items():  # commit renames one by one: undo those that happened
            w = self.writers.get(k)
            if w is not None and w.result is not None and os.path.exists(p):
                os.unlink(p)
