"""Type aliases shared across the package."""

from __future__ import annotations

import os
from typing import Union

import numpy as np
from numpy.typing import NDArray

#: Audio as ``(channels, samples)``, float32 or float64, time on the last axis.
Audio = NDArray[np.floating]

#: Anything accepted where a file path is expected.
PathLike = Union[str, "os.PathLike[str]"]
