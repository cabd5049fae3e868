"""Spatial audio: positions, VBAP, Ambisonics, HRIR sets from SOFA files and binaural rendering.

- :mod:`sonicmix.spatial.sofa`: HRIR sets read from SOFA files (AES69), :class:`HrirSet`;
- :mod:`sonicmix.spatial.binaural`: :class:`Binaural`, any layout (a set of directions, or
  an AmbiX scene) rendered for headphones, :func:`render_binaural`, :func:`render_binaural_file`;
- :mod:`sonicmix.spatial.vbap`: vector base amplitude panning into any layout,
  :func:`vbap_gains`, :class:`VbapSetup`;
- :mod:`sonicmix.spatial.ambisonics`: AmbiX (ACN, SN3D) encoding, rotation and
  AllRAD decoding, :func:`spherical_harmonics`, :func:`rotation_matrix`,
  :func:`decoder_matrix`, and panned tracks encoded into Ambisonics buses;
- :mod:`sonicmix.spatial.parametric`: the parametric (DirAC-style) Ambisonic
  decoder's analysis and synthesis, behind ``AmbisonicParametricDecoder``.

The nodes are in :mod:`sonicmix.nodes.objectpanner` and :mod:`sonicmix.nodes.ambisonics`.
"""

from __future__ import annotations

from sonicmix.spatial.ambisonics import decoder_matrix, rotation_matrix, spherical_harmonics
from sonicmix.spatial.binaural import Binaural, render_binaural, render_binaural_file, virtual_layout
from sonicmix.spatial.sofa import HrirSet, SofaError, default_sofa_path, read_sofa
from sonicmix.spatial.vbap import VbapSetup, vbap_gains, vbap_setup

__all__ = [
    "Binaural",
    "render_binaural",
    "render_binaural_file",
    "virtual_layout",
    "HrirSet",
    "SofaError",
    "default_sofa_path",
    "read_sofa",
    "VbapSetup",
    "vbap_gains",
    "vbap_setup",
    "spherical_harmonics",
    "rotation_matrix",
    "decoder_matrix",
]
