"""The PCM deliverables of a pass (mix, stems, M&E as WAV or FLAC), written and measured as stored."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
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
        own_limiter: Any = None,
        layouts: dict[str, str] | None = None,
        ceiling_dbtp: float = 0.0,
    ) -> None:
        from sonicmix.io import AudioWriter

        self.pool = pool
        self.final, self.mix_keys = final, list(mix_keys)
        self.stem_names, self.dialogue_stems = stem_names, dialogue_stems
        self.names = ["master", *stem_names]
        self.writers: dict[str, Any] = {}
        self.meters = {
            k: LoudnessMeter(sample_rate, channels=channels[bus], layout=(layouts or {}).get(bus))
            for k in final
            for bus in ["master" if k in (*mix_keys, "ME") else k]
        }
        # the mix's fold-downs (an immersive or surround master), measured as the stored mix plays
        self.downmix = None
        master_layout = (layouts or {}).get("master")
        if self.mix_keys and master_layout is not None and channels["master"] > 2:
            from sonicmix.layouts import fold_down_chain

            if fold_down_chain(master_layout):
                from sonicmix.loudness.folddown import DownmixMeter

                self.downmix = DownmixMeter(sample_rate, master_layout, ceiling_dbtp=ceiling_dbtp)
        # stem_ceiling="own": each stem and the M&E through a limiter of its own, after the mix's curve
        self.own = {
            k: _OwnLimit(own_limiter, channels[k if k in channels else "master"], sample_rate)
            for k in final
            if own_limiter is not None and k not in self.mix_keys
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
                    layout=(layouts or {}).get("master" if k in (*self.mix_keys, "ME") else k),
                )
        except BaseException:
            self.abort()
            raise

    def __call__(self, outputs: dict[str, np.ndarray]) -> None:
        jobs = self.jobs(outputs)
        if self.pool is None:
            for job in jobs:
                job()
        else:
            for future in [self.pool.submit(job) for job in jobs]:
                future.result()

    def jobs(self, outputs: dict[str, np.ndarray]) -> list[Callable[[], None]]:
        """A block's work as one call per file (dither, write, measure as stored).

        Each file's calls must run one at a time in block order; different files' may run
        side by side (``limited_pass`` in sonicmix.delivery.loop runs them in its threads).
        """
        blocks = {k: outputs["master"] for k in self.mix_keys}
        blocks.update({s: outputs[s] for s in self.stem_names})
        if "ME" in self.final:
            me = sum(outputs[s] for s in self.stem_names if s not in self.dialogue_stems)
            blocks["ME"] = np.asarray(me, np.float32)

        def store(k: str) -> None:  # each file has its own writer (and dither) and meter
            block = self.own[k](blocks[k]) if k in self.own else blocks[k]
            if block.shape[1]:
                writer = self.writers[k]
                stored = writer.write(block, check=False, stored=True)
                if writer.all_finite:  # known finite (the float writer looked; PCM holds no NaN or inf)
                    self.meters[k]._update_checked(stored)
                else:  # the meter's error names the first NaN or inf, as it always did
                    self.meters[k].update(stored)
                if self.downmix is not None and k == self.mix_keys[0]:
                    self.downmix.update(stored)

        return [partial(store, k) for k in blocks]

    def flush(self) -> None:
        """The last lookahead of the stems' own limiters (their outputs end with the mix's)."""
        for k, own in self.own.items():
            tail = own.flush()
            if tail.shape[1]:
                self.meters[k].update(self.writers[k].write(tail, check=False, stored=True))

    @property
    def limiting_db(self) -> dict[str, float]:
        """Gain reduction of each stem's own limiter, in dB (with stem_ceiling="own")."""
        return {k: own.reduction_db for k, own in self.own.items()}

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

    def abort(self) -> None:
        """Remove every temporary file; the final names stay as they were (the package commit moves)."""
        for w in self.writers.values():
            w.abort()


class _OwnLimit:
    """A true-peak limiter on one deliverable, its lookahead taken out so it stays aligned with the mix."""

    def __init__(self, limiter: Any, channels: int, sample_rate: int) -> None:
        self.limiter, self.rate = limiter, sample_rate
        self.state = limiter.init_state(channels, sample_rate, np.float32)
        self.skip = self.latency = limiter.latency_samples(sample_rate)
        self.history = np.zeros((channels, self.latency), np.float32)  # the delay the gain curve aligns to
        self.min_gain = 1.0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from sonicmix.dsp.delayline import delayed_copy

        g, self.state = self.limiter.gain(block, self.rate, self.state)
        if g.size:
            self.min_gain = min(self.min_gain, float(g.min()))
        y = delayed_copy(np.asarray(block, np.float32), self.history)
        np.multiply(y, g, out=y)
        drop = min(self.skip, y.shape[1])
        self.skip -= drop
        return y[:, drop:]

    def flush(self) -> np.ndarray:
        """The last lookahead's worth of output: the limiter fed silence."""
        return self(np.zeros_like(self.history))

    @property
    def reduction_db(self) -> float:
        return max(0.0, -20 * math.log10(self.min_gain)) if self.min_gain > 0 else math.inf
