"""The loudness loop: gain and a true-peak limiter over the kept render, measured, corrected.

:func:`limited_pass` runs one pass (the mix alone while searching; mix and stems when
writing); :func:`converge` repeats it with a secant step until the mix is within
tolerance of the target at its ceiling.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from sonicmix._threads import Lane, settle_lanes, stop_lanes
from sonicmix.delivery.kept import KeptRender
from sonicmix.loudness import LoudnessMeter, LoudnessReport

#: Blocks a file's lane may hold at once with threads (the block being written and the next).
IN_FLIGHT = 2


def dialogue_gated_lufs(programme: np.ndarray, dialogue: np.ndarray) -> float:
    """Programme loudness over the blocks where dialogue is active (stem-informed estimate).

    ``programme`` and ``dialogue`` are the 400 ms block powers
    (:attr:`LoudnessReport.block_powers`) of the mix and of the dialogue stem. A block counts
    when the dialogue stem's block passes the BS.1770 gates computed on the
    dialogue stem itself (-70 LUFS absolute, -10 LU relative).
    """
    from sonicmix.loudness.meter import gate_blocks

    active, _ = gate_blocks(dialogue)
    power = programme[: active.size][active[: programme.size]]
    return float(-0.691 + 10 * np.log10(power.mean())) if power.size and power.mean() > 0 else -math.inf


def measured_lufs(report: LoudnessReport, gate_power: np.ndarray | None) -> float:
    """Integrated loudness, or the dialogue-gated estimate when ``gate_power`` is given."""
    if gate_power is None:
        return report.integrated_lufs
    return dialogue_gated_lufs(report.block_powers, gate_power)


def limited_pass(
    renders: KeptRender,
    gain_db: float,
    limiter: Any,
    sample_rate: int,
    block_size: int,
    sink: Any,
    tell: Callable[[str, int, int], None],
    names: Sequence[str] | None = None,
    pool: Any = None,
) -> tuple[LoudnessReport, dict[str, float]]:
    """Gain + limiter over the rendered mix, measured; a ``sink`` gets ``{bus: block}`` to write.

    ``names`` are the buses processed (the limiter's gain curve applies to all of them):
    by default the mix alone without a sink, everything with one. Returns the mix's
    report (as stored, when the sink writes the mix as PCM) and the limiter's statistics.

    With a ``pool`` (``sonicmix._threads.pool_for``), a block's meter and files (the sink's
    ``PcmDeliverables.jobs``, else one call of the sink) run in its threads while this thread
    limits the next block, each file in a lane of its own (``sonicmix._threads.Lane``) that may
    hold :data:`IN_FLIGHT` blocks: a file's next block is queued while its previous one is still
    being written, so that no thread waits at the end of every block for the slowest file. The
    files and figures are the same, and ``tell`` is called with the same values in the same order.
    """
    gain = np.float32(10 ** (gain_db / 20))
    latency = limiter.latency_samples(sample_rate)
    if names is None:
        names = renders.channels if sink is not None else ["master"]
    names = [n for n in names if n in renders.paths]
    stored = getattr(sink, "master_meter", None)
    meter = None
    if stored is None:
        master = renders.channels["master"]
        meter = LoudnessMeter(sample_rate, channels=master, layout=renders.layouts.get("master"))
    limit = _Limiting(limiter, gain, sample_rate, {k: renders.channels[k] for k in names})
    stage = "write" if sink is not None else "measure"
    expected = renders.frames
    lanes: list[Lane] = []  # one per file (and the meter), made with the first block
    handed: deque[tuple[int, int]] = deque()  # (block number, frames limited) of the blocks in the lanes
    numbers = itertools.count()

    def settle(keep: int) -> None:  # wait for the handed blocks but the last ``keep``, in order
        while len(handed) > keep:
            index, total = handed[0]
            settle_lanes(lanes, index)
            handed.popleft()
            tell(stage, min(total, expected), expected)

    def hand_over(outputs: dict[str, np.ndarray]) -> None:
        calls = [] if meter is None else [partial(meter.update, outputs["master"])]
        if sink is not None:
            calls += sink.jobs(outputs) if hasattr(sink, "jobs") else [partial(sink, outputs)]
        if not lanes:
            lanes.extend(Lane(pool) for _ in calls)
        settle(IN_FLIGHT - 1)  # memory stays bounded: a lane holds at most IN_FLIGHT blocks
        index = next(numbers)
        for lane, call in zip(lanes, calls, strict=True):
            lane.push(index, call)
        handed.append((index, limit.total))
        if pool is None:
            settle(0)

    try:
        last: dict[str, np.ndarray] = {}
        for block_set in renders.blocks(block_size, names):
            outputs = limit(block_set)
            if outputs is not None:
                hand_over(outputs)
            last = block_set
        if latency and last:  # flush the limiter's lookahead with silence
            outputs = limit({k: np.zeros((v.shape[0], latency), np.float32) for k, v in last.items()})
            if outputs is not None:
                hand_over(outputs)
        settle(0)
    except BaseException:
        stop_lanes(lanes)  # nothing may still write into files the caller removes
        raise
    if hasattr(sink, "flush"):
        sink.flush()
    return (meter if stored is None else stored).report(), limit.stats()


class _Limiting:
    """The pass's gain and true-peak limiter over the mix, its gain curve applied to every bus.

    Calling it with a block of every bus returns the limited blocks, the limiter's lookahead
    taken out (None while that fills), and keeps the figures for :meth:`stats`.
    """

    def __init__(self, limiter: Any, gain: np.float32, sample_rate: int, channels: dict[str, int]) -> None:
        self.limiter, self.gain, self.rate = limiter, gain, sample_rate
        self.state = limiter.init_state(channels["master"], sample_rate, np.float32)
        self.skip = limiter.latency_samples(sample_rate)
        # the gain curve applies to the signals delayed by the limiter's lookahead
        self.history = {k: np.zeros((c, self.skip), np.float32) for k, c in channels.items()}
        self.min_gain, self.limiting, self.total = 1.0, 0, 0

    def __call__(self, block_set: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        from sonicmix.dsp.delayline import delayed_copy

        master = block_set["master"] * self.gain
        g, self.state = self.limiter.gain(master, self.rate, self.state)
        n = master.shape[1]
        outputs = {}
        for key, past in self.history.items():
            delayed = delayed_copy(master if key == "master" else block_set[key] * self.gain, past)
            outputs[key] = np.multiply(delayed, g, out=delayed)
        filling = min(self.skip, n)
        self.skip -= filling
        if filling == n:
            return None
        kept = g[:, filling:]
        self.min_gain = min(self.min_gain, float(kept.min()))
        self.limiting += int(np.count_nonzero(kept.min(axis=0) < 10 ** (-0.1 / 20)))
        self.total += kept.shape[1]
        return {k: v[:, filling:] for k, v in outputs.items()}

    def stats(self) -> dict[str, float]:
        """The largest gain reduction (dB) and the share of the time the limiter worked (%)."""
        min_gain = self.min_gain
        return {
            "max_reduction_db": max(0.0, float(-20 * math.log10(min_gain))) if min_gain > 0 else math.inf,
            "time_limiting_percent": 100.0 * self.limiting / self.total if self.total else 0.0,
        }


@dataclass
class Converged:
    """Where :func:`converge` stopped: the gain, the last pass's limiter figures and report."""

    gain_db: float
    limiter: dict[str, float]
    iterations: int
    report: LoudnessReport | None = None
    written: Any = None
    reasons: list[str] = field(default_factory=list)


def converge(
    renders: KeptRender,
    target: Any,
    limiter: Any,
    gain_db: float,
    *,
    closeness: float,
    max_iterations: int,
    max_limiting_db: float,
    gate_power: np.ndarray | None,
    block_size: int,
    tell: Callable[[str, int, int], None],
    sink_factory: Callable[[], Any] | None = None,
    offset_lu: float = 0.0,
    pool: Any = None,
) -> Converged:
    """Correct ``gain_db`` until the limited mix measures within ``closeness`` LU of the target.

    The first pass gives its blocks to ``sink_factory()``'s sink (the deliverables,
    under temporary names): when it lands within tolerance, as it does unless the
    limiter works hard, it is the last pass and :attr:`Converged.written` holds it.
    Later passes measure the mix only. A pass needing more than ``max_limiting_db``
    of gain reduction, or no convergence in ``max_iterations``, gives the reason.
    ``offset_lu`` is how much louder than its input a codec plays the mix: the loop
    then aims that much under the target, so the decoded file lands on it. ``pool``: see
    :func:`limited_pass`.
    """
    rate = renders.sample_rate
    out = Converged(gain_db, {"max_reduction_db": 0.0, "time_limiting_percent": 0.0}, 0)
    previous: tuple[float, float] | None = None
    error = math.nan
    for out.iterations in range(1, max_iterations + 1):  # noqa: B020 - the count is reported
        sink = sink_factory() if out.iterations == 1 and sink_factory is not None else None
        try:
            out.report, out.limiter = limited_pass(
                renders, out.gain_db, limiter, rate, block_size, sink, tell, pool=pool
            )
        except BaseException:
            if sink is not None:
                sink.abort()
            raise
        reached = measured_lufs(out.report, gate_power)
        error = target.integrated_lufs - offset_lu - reached
        ceiling = limiter.ceiling_dbtp
        done = abs(error) <= closeness and out.report.true_peak_dbtp <= ceiling
        if done and out.limiter["max_reduction_db"] <= max_limiting_db:
            out.written = sink
            return out
        if sink is not None:
            sink.abort()
        if out.limiter["max_reduction_db"] > max_limiting_db:
            out.reasons.append(
                f"reaching {target.integrated_lufs:g} LUFS under a {ceiling:g} dBTP ceiling needs "
                f"{out.limiter['max_reduction_db']:.1f} dB of limiting, more than "
                f"max_limiting_db={max_limiting_db:g} (the programme's peaks are too high for its "
                "loudness: compress it, or allow more limiting)"
            )
            return out
        # Secant step: limiting makes loudness grow slower than the gain (slope <= 1).
        slope = 1.0
        if previous is not None and out.gain_db != previous[0]:
            slope = min(1.0, max(0.2, (reached - previous[1]) / (out.gain_db - previous[0])))
        previous = (out.gain_db, reached)
        out.gain_db += error / slope
    out.reasons.append(
        f"the loudness did not converge within {max_iterations} passes (last error {error:+.2f} LU)"
    )
    return out
