"""Rendering to loudness targets: :func:`deliver` and :func:`deliver_all`.

The delivery is built in stages in :mod:`sonicmix.delivery`; this module is its
front door, the names ``sonicmix.deliver.deliver`` and friends have always had.

1. the graph is rendered once and kept (in memory while it fits in ``memory_mb``,
   otherwise in temporary float32 files, so memory stays constant);
2. for each target, gain and a true-peak :class:`~sonicmix.nodes.limiter.Limiter`
   at its ceiling; the result is **re-measured** and the gain corrected until the
   integrated loudness is within ``tolerance_lu`` (0.1 LU, or the target's own
   tolerance if tighter) and the true peak is at or under the ceiling;
3. the deliverables: the mix in each format asked for, and every stem multiplied
   by the *same* gain and the *same* limiter gain curve, so the stems sum to the
   mix (they null against it when they cover all sources and the master bus has
   no processing of its own); optionally an M&E mix (every stem but the dialogue
   ones);
4. every deliverable is measured as a listener receives it: WAV and FLAC on the
   samples exactly as the files store them (after dither and quantisation),
   MP3, AAC, Opus and Vorbis decoded. An encode whose decoded true peak is over
   the ceiling is made again with the limiter's ceiling lowered by the overshoot.

Nothing is written under a deliverable's name unless every file of the
delivery succeeds. Where the target cannot be met (a silent programme, more
limiting than ``max_limiting_db``, a codec that overshoots after every pass)
the report says exactly why, no file is written, and ``strict=True`` raises
:class:`TargetNotMetError`.

Dialogue-gated measurement (for targets with ``measurement="dialogue"``) is
stem-informed: the programme's 400 ms blocks count only where the dialogue
stem's own block is above its BS.1770 relative gate. This is an estimate of
speech-gated loudness, not a replacement for Dolby Dialogue Intelligence.
"""

from __future__ import annotations

from sonicmix.delivery.loop import dialogue_gated_lufs
from sonicmix.delivery.pipeline import deliver, deliver_all
from sonicmix.delivery.report import Delivery, TargetNotMetError
from sonicmix.delivery.versions import Version

__all__ = ["deliver", "deliver_all", "Delivery", "TargetNotMetError", "Version", "dialogue_gated_lufs"]
