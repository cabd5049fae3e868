"""Delivery: render a graph once and deliver it to loudness targets, in any format, verified.

- :func:`deliver` and :func:`deliver_all` (:mod:`~sonicmix.delivery.pipeline`): the stages in order;
- :mod:`~sonicmix.delivery.kept`: the render kept for every pass;
- :mod:`~sonicmix.delivery.loop`: gain and true-peak limiter, measured and corrected;
- :mod:`~sonicmix.delivery.writers`: WAV and FLAC deliverables, measured as stored;
- :mod:`~sonicmix.delivery.formats`, :mod:`~sonicmix.delivery.codecs`,
  :mod:`~sonicmix.delivery.encoded`, :mod:`~sonicmix.delivery.tags`: MP3, AAC, Opus,
  Vorbis encodes verified on their decoded samples, with loudness tags;
- :mod:`~sonicmix.delivery.versions`: fold-downs and binaural renders delivered with a printmaster;
- :mod:`~sonicmix.delivery.report`: the :class:`Delivery` record and report files;
- :mod:`~sonicmix.delivery.files`: paths, lock, never replacing a delivery unasked.

The names below load on first use, so :mod:`sonicmix.targets` can read format specs
without importing the renderer.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "deliver",
    "deliver_all",
    "Delivery",
    "TargetNotMetError",
    "dialogue_gated_lufs",
    "AudioFormat",
    "parse_format",
    "Version",
]

_WHERE = {
    "deliver": "pipeline",
    "deliver_all": "pipeline",
    "Delivery": "report",
    "TargetNotMetError": "report",
    "dialogue_gated_lufs": "loop",
    "AudioFormat": "formats",
    "parse_format": "formats",
    "Version": "versions",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'sonicmix.delivery' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"sonicmix.delivery.{_WHERE[name]}"), name)
