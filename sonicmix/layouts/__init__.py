"""Named channel layouts, their positions, BS.1770 loudness weights, channel masks and fold-downs.

- :mod:`sonicmix.layouts.catalog`: :class:`Layout`, the named layouts (mono
  to 9.1.6 and 22.2, ITU-R BS.2051 positions) and the BS.1770-5 weights by position;
- :mod:`sonicmix.layouts.ambix`: the AmbiX layouts' harmonics, channel names and
  loudness weights (``"ambix1"`` to ``"ambix3"``, in :data:`AMBISONIC_LAYOUTS`);
- :mod:`sonicmix.layouts.masks`: WAVE_FORMAT_EXTENSIBLE channel masks;
- :mod:`sonicmix.layouts.conversion`: fold-downs with documented coefficients
  (ITU-R BS.775 and the immersive steps), :func:`conversion_matrix`, :func:`downmix`.

Examples
--------
>>> from sonicmix.layouts import get_layout, fold_down_chain
>>> get_layout("5.1").channels
('L', 'R', 'C', 'LFE', 'Ls', 'Rs')
>>> get_layout("5.1").loudness_weights
(1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
>>> fold_down_chain("7.1.4")
('7.1', '5.1', 'stereo', 'mono')
"""

from __future__ import annotations

from sonicmix.layouts.catalog import (
    AMBISONIC_LAYOUTS,
    LAYOUTS,
    Layout,
    Position,
    bs1770_weight,
    default_layout,
    get_layout,
    resolve_layout,
)
from sonicmix.layouts.conversion import FOLD_DOWN_STEPS, conversion_matrix, downmix, fold_down_chain
from sonicmix.layouts.masks import check_channel_mask, layout_for_mask

__all__ = [
    "Layout",
    "Position",
    "LAYOUTS",
    "AMBISONIC_LAYOUTS",
    "get_layout",
    "default_layout",
    "resolve_layout",
    "bs1770_weight",
    "FOLD_DOWN_STEPS",
    "fold_down_chain",
    "conversion_matrix",
    "downmix",
    "layout_for_mask",
    "check_channel_mask",
]
