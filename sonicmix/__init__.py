"""sonicmix: audio sound design and mixing to broadcast loudness targets.

Importing the package loads nothing else; each public name is imported from
its module on first use, so ``import sonicmix`` stays fast (scipy.signal
alone takes most of a second to import here, numba a quarter of one). The
renderer lives in ``sonicmix.renderer`` so that no submodule shares a name
with a public function (importing it would replace the function).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "SonicmixError": "sonicmix.errors",
    "ParameterError": "sonicmix.errors",
    "AudioError": "sonicmix.errors",
    "LayoutError": "sonicmix.errors",
    "AudioFileError": "sonicmix.errors",
    "GraphError": "sonicmix.errors",
    # audio files and layouts
    "read": "sonicmix.io",
    "write": "sonicmix.io",
    "AudioWriter": "sonicmix.io",
    "Layout": "sonicmix.layouts",
    # loudness
    "measure": "sonicmix.loudness",
    "LoudnessMeter": "sonicmix.loudness",
    "LoudnessReport": "sonicmix.loudness",
    # nodes
    "Chain": "sonicmix.nodes.base",
    "Gain": "sonicmix.nodes.gain",
    "LowPass": "sonicmix.nodes.eq",
    "HighPass": "sonicmix.nodes.eq",
    "BandPass": "sonicmix.nodes.eq",
    "Notch": "sonicmix.nodes.eq",
    "AllPass": "sonicmix.nodes.eq",
    "Peak": "sonicmix.nodes.eq",
    "LowShelf": "sonicmix.nodes.eq",
    "HighShelf": "sonicmix.nodes.eq",
    "ButterworthLowPass": "sonicmix.nodes.eq",
    "ButterworthHighPass": "sonicmix.nodes.eq",
    "LinkwitzRileyLowPass": "sonicmix.nodes.eq",
    "LinkwitzRileyHighPass": "sonicmix.nodes.eq",
    "ParametricEQ": "sonicmix.nodes.eq",
    "Band": "sonicmix.nodes.eq",
    "Compressor": "sonicmix.nodes.dynamics",
    "KeyedCompressor": "sonicmix.nodes.dynamics",
    "Gate": "sonicmix.nodes.dynamics",
    "DeEsser": "sonicmix.nodes.dynamics",
    "Ducker": "sonicmix.nodes.ducking",
    "ConvolutionReverb": "sonicmix.nodes.reverb",
    "Reverb": "sonicmix.nodes.reverb",
    "ImpulseResponse": "sonicmix.nodes.reverb",
    "Limiter": "sonicmix.nodes.limiter",
    "Pan": "sonicmix.nodes.pan",
    "Width": "sonicmix.nodes.pan",
    "Delay": "sonicmix.nodes.delay",
    "Fade": "sonicmix.nodes.fade",
    "Polarity": "sonicmix.nodes.utility",
    "DCBlocker": "sonicmix.nodes.utility",
    "Saturation": "sonicmix.nodes.saturation",
    "Resample": "sonicmix.nodes.resample",
    "TimeStretch": "sonicmix.nodes.stretch",
    "PitchShift": "sonicmix.nodes.stretch",
    "DeHum": "sonicmix.nodes.dehum",
    "DeClick": "sonicmix.nodes.dehum",
    "Denoise": "sonicmix.nodes.denoise",
    "Leveler": "sonicmix.nodes.leveler",
    "ObjectPanner": "sonicmix.nodes.objectpanner",
    "AmbisonicEncoder": "sonicmix.nodes.ambisonics",
    "AmbisonicRotator": "sonicmix.nodes.ambisonics",
    "AmbisonicDecoder": "sonicmix.nodes.ambisonics",
    "AmbisonicParametricDecoder": "sonicmix.nodes.ambisonics",
    "Binaural": "sonicmix.spatial.binaural",  # HRIRs from a SOFA file: pip install "sonicmix[binaural]"
    "PluginNode": "sonicmix.nodes.plugin",  # needs the optional pedalboard: pip install "sonicmix[plugins]"
    # mix graphs and rendering
    "Automation": "sonicmix.automation",
    "ArraySource": "sonicmix.timeline",
    "FileSource": "sonicmix.timeline",
    "Clip": "sonicmix.timeline",
    "Track": "sonicmix.graph",
    "Bus": "sonicmix.graph",
    "Send": "sonicmix.graph",
    "Graph": "sonicmix.graph",
    "Automix": "sonicmix.automix",
    "render": "sonicmix.renderer",
    # speech detection
    "detect_speech": "sonicmix.speech",
    "SpeechActivity": "sonicmix.speech",
    "SpeechDetector": "sonicmix.speech",
    "render_blocks": "sonicmix.renderer",
    "RenderResult": "sonicmix.renderer",
}

__all__ = [
    "AllPass",
    "AmbisonicDecoder",
    "AmbisonicEncoder",
    "AmbisonicParametricDecoder",
    "AmbisonicRotator",
    "ArraySource",
    "AudioError",
    "AudioFileError",
    "AudioWriter",
    "Automation",
    "Automix",
    "Band",
    "BandPass",
    "Binaural",
    "Bus",
    "ButterworthHighPass",
    "ButterworthLowPass",
    "Chain",
    "Clip",
    "Compressor",
    "ConvolutionReverb",
    "DCBlocker",
    "DeClick",
    "DeEsser",
    "DeHum",
    "Delay",
    "Denoise",
    "Ducker",
    "Fade",
    "FileSource",
    "Gain",
    "Gate",
    "Graph",
    "GraphError",
    "HighPass",
    "HighShelf",
    "ImpulseResponse",
    "KeyedCompressor",
    "Layout",
    "LayoutError",
    "Leveler",
    "Limiter",
    "LinkwitzRileyHighPass",
    "LinkwitzRileyLowPass",
    "LoudnessMeter",
    "LoudnessReport",
    "LowPass",
    "LowShelf",
    "Notch",
    "ObjectPanner",
    "Pan",
    "ParameterError",
    "ParametricEQ",
    "Peak",
    "PitchShift",
    "PluginNode",
    "Polarity",
    "RenderResult",
    "Resample",
    "Reverb",
    "Saturation",
    "Send",
    "SonicmixError",
    "SpeechActivity",
    "SpeechDetector",
    "TimeStretch",
    "Track",
    "Width",
    "__version__",
    "detect_speech",
    "measure",
    "read",
    "render",
    "render_blocks",
    "write",
]

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.automation import Automation
    from sonicmix.automix import Automix
    from sonicmix.errors import (
        AudioError,
        AudioFileError,
        GraphError,
        LayoutError,
        ParameterError,
        SonicmixError,
    )
    from sonicmix.graph import Bus, Graph, Send, Track
    from sonicmix.io import AudioWriter, read, write
    from sonicmix.layouts import Layout
    from sonicmix.loudness import LoudnessMeter, LoudnessReport, measure
    from sonicmix.nodes.ambisonics import (
        AmbisonicDecoder,
        AmbisonicEncoder,
        AmbisonicParametricDecoder,
        AmbisonicRotator,
    )
    from sonicmix.nodes.base import Chain
    from sonicmix.nodes.dehum import DeClick, DeHum
    from sonicmix.nodes.delay import Delay
    from sonicmix.nodes.denoise import Denoise
    from sonicmix.nodes.ducking import Ducker
    from sonicmix.nodes.dynamics import Compressor, DeEsser, Gate, KeyedCompressor
    from sonicmix.nodes.eq import (
        AllPass,
        Band,
        BandPass,
        ButterworthHighPass,
        ButterworthLowPass,
        HighPass,
        HighShelf,
        LinkwitzRileyHighPass,
        LinkwitzRileyLowPass,
        LowPass,
        LowShelf,
        Notch,
        ParametricEQ,
        Peak,
    )
    from sonicmix.nodes.fade import Fade
    from sonicmix.nodes.gain import Gain
    from sonicmix.nodes.leveler import Leveler
    from sonicmix.nodes.limiter import Limiter
    from sonicmix.nodes.objectpanner import ObjectPanner
    from sonicmix.nodes.pan import Pan, Width
    from sonicmix.nodes.plugin import PluginNode
    from sonicmix.nodes.resample import Resample
    from sonicmix.nodes.reverb import ConvolutionReverb, ImpulseResponse, Reverb
    from sonicmix.nodes.saturation import Saturation
    from sonicmix.nodes.stretch import PitchShift, TimeStretch
    from sonicmix.nodes.utility import DCBlocker, Polarity
    from sonicmix.renderer import RenderResult, render, render_blocks
    from sonicmix.spatial.binaural import Binaural
    from sonicmix.speech import SpeechActivity, SpeechDetector, detect_speech
    from sonicmix.timeline import ArraySource, Clip, FileSource


def _html(obj: Any) -> str:
    return importlib.import_module("sonicmix.display").html(obj)


def _loudness_png(report: Any, **kwargs: Any) -> bool:
    return importlib.import_module("sonicmix.plot").write_loudness_png(report, **kwargs)


# The core asks for notebook HTML and report plots through these hooks; display and plot load on first use.
from sonicmix import _hooks  # noqa: E402

_hooks.register(html=_html, loudness_png=_loudness_png)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sonicmix' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
