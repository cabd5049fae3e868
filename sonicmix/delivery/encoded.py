"""Encoded deliverables verified after the codec: encode, decode, measure, lower the ceiling, again.

A lossy codec does not keep the waveform: its decoded output can peak above
the true-peak ceiling the limiter held before the encoder (by about 1 dB for
AAC and Opus at common bitrates on limited material). :func:`encode_verified`
therefore judges every encoded deliverable on its decoded samples, as a listener
receives them. When the decoded true peak is over the target's ceiling, that
format's limiter ceiling is lowered by the overshoot plus ``margin_db`` (from the true peak the
limiter actually reached, where that is under its ceiling), the
gain is corrected for the new ceiling (the loudness loop again) and the file is
encoded again, at most ``max_passes`` times. A codec also changes the loudness (MP3
and AAC at 128 kbit/s drop the top octave, 1.6 LU of white noise): the change
measured in one pass is aimed off in the next, so the decoded file lands on the
target within the loop's tolerance where the passes allow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sonicmix.delivery.codecs import EncodedWriter, measure_decoded
from sonicmix.delivery.formats import AudioFormat
from sonicmix.delivery.kept import KeptRender
from sonicmix.delivery.loop import converge, dialogue_gated_lufs, limited_pass, measured_lufs
from sonicmix.loudness import LoudnessReport

__all__ = ["Encoding", "encode_verified"]


@dataclass
class Encoding:
    """One encoded deliverable: its figures before the codec and as decoded, and how it got there.

    Attributes
    ----------
    format : AudioFormat
    path : str
        The deliverable's final name.
    ceiling_dbtp : float
        The limiter ceiling the file was encoded with (the target's, or lower).
    gain_db : float
        Gain applied before the limiter for this format.
    passes : list of dict
        Every encode: its ceiling, true peak before the codec and decoded, decoded loudness.
    before_codec, decoded : LoudnessReport
        The last encode's input, and its decoded output (what is judged).
    reasons : list of str
        Why the format cannot meet its target after the codec, if it cannot.
    """

    format: AudioFormat
    path: str
    ceiling_dbtp: float
    gain_db: float
    limiter: dict[str, float] = field(default_factory=dict)
    passes: list[dict[str, float]] = field(default_factory=list)
    before_codec: LoudnessReport | None = None
    decoded: LoudnessReport | None = None
    reasons: list[str] = field(default_factory=list)
    writer: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary of the encode passes and the final figures."""

        def rounded(value: float) -> float | None:
            return round(float(value), 3) if np.isfinite(value) else None

        return {
            "format": self.format.spec,
            "ceiling_dbtp": rounded(self.ceiling_dbtp),
            "gain_db": rounded(self.gain_db),
            "passes": [{k: rounded(v) for k, v in p.items()} for p in self.passes],
            "before_codec": None if self.before_codec is None else self.before_codec.to_dict(series=False),
            "decoded": None if self.decoded is None else self.decoded.to_dict(series=False),
            "reasons": list(self.reasons),
        }


class _EncodeSink:
    """Feeds the limited mix to the encoder (the pass's own meter measures it before the codec)."""

    def __init__(self, writer: EncodedWriter) -> None:
        self.writer = writer

    def __call__(self, outputs: dict[str, np.ndarray]) -> None:
        self.writer.write(outputs["master"])


def encode_verified(
    renders: KeptRender,
    fmt: AudioFormat,
    path: str,
    target: Any,
    limiter: Any,
    gain_db: float,
    *,
    gate_power: np.ndarray | None,
    loop: dict[str, Any],
    writer_options: dict[str, Any],
    margin_db: float,
    max_passes: int,
    tell: Callable[[str, int, int], None],
) -> Encoding:
    """Encode the kept render's mix into ``path`` until its decoded true peak is under the ceiling.

    ``limiter`` and ``gain_db`` are where the loudness loop converged at the
    target's ceiling; ``loop`` holds :func:`~sonicmix.delivery.loop.converge`'s
    options for a lowered ceiling. The file is left finished under its temporary
    name (``Encoding.writer``) for the caller to tag and commit, or abort.
    """
    out = Encoding(fmt, path, limiter.ceiling_dbtp, gain_db)
    ceiling, offset_lu, over = target.true_peak_dbtp, 0.0, math.inf
    for attempt in range(1, max_passes + 1):
        if attempt > 1:
            limiter = dataclasses.replace(limiter, ceiling_dbtp=ceiling)
            again = converge(
                renders,
                target,
                limiter,
                out.gain_db,
                gate_power=gate_power,
                tell=tell,
                offset_lu=offset_lu,
                **loop,
            )
            out.limiter = again.limiter
            if again.reasons:
                out.reasons += [f"{fmt.spec}: {r} (the ceiling lowered for the codec)" for r in again.reasons]
                return out
            out.gain_db = again.gain_db
        writer = EncodedWriter(path, fmt, renders.sample_rate, renders.channels["master"], **writer_options)
        try:
            out.before_codec, out.limiter = limited_pass(
                renders,
                out.gain_db,
                limiter,
                renders.sample_rate,
                loop["block_size"],
                _EncodeSink(writer),
                tell,
                names=["master"],
            )
            decoded = measure_decoded(writer.finish(), layout=renders.layouts.get("master"))
        except BaseException:
            writer.abort()
            raise
        if gate_power is not None:
            decoded = dataclasses.replace(
                decoded, dialogue_lufs=dialogue_gated_lufs(decoded.block_powers, gate_power)
            )
        out.ceiling_dbtp, out.decoded, out.writer = ceiling, decoded, writer
        heard, fed = measured_lufs(decoded, gate_power), measured_lufs(out.before_codec, gate_power)
        out.passes.append(
            {
                "ceiling_dbtp": ceiling,
                "true_peak_before_codec_dbtp": out.before_codec.true_peak_dbtp,
                "true_peak_decoded_dbtp": decoded.true_peak_dbtp,
                "integrated_before_codec_lufs": fed,
                "integrated_decoded_lufs": heard,
            }
        )
        over = decoded.true_peak_dbtp - target.true_peak_dbtp
        on_target = abs(heard - target.integrated_lufs) <= loop["closeness"]
        if (over <= 0 and on_target) or attempt == max_passes:
            break
        writer.abort()
        out.writer = None
        # the codec's own loudness change (it drops what it cannot afford, high frequencies first)
        # is measured, and the next pass aims under or over the target by as much
        offset_lu = heard - fed if math.isfinite(heard - fed) else 0.0
        if over > 0:  # from the peak the limiter reached (it may sit under its ceiling), by the overshoot
            ceiling = min(ceiling, out.before_codec.true_peak_dbtp) - (over + margin_db)
    if over > 0:
        out.reasons.append(
            f"{fmt.spec}: the decoded true peak is {out.decoded.true_peak_dbtp:.2f} dBTP, over the "
            f"{target.true_peak_dbtp:g} dBTP ceiling after {max_passes} encodes (the limiter's ceiling went "
            f"down to {ceiling:.2f} dBTP); expected a higher bitrate, or more passes (max_codec_passes)"
        )
    return out
