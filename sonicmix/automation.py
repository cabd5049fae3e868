"""Parameter automation: breakpoint envelopes in seconds.

The model is the Web Audio ``AudioParam`` one: an envelope is a list of
points ``(time_s, value, shape)``, and ``shape`` says how the value travels
from the previous point to this one:

- ``"linear"``: a straight line (``linearRampToValueAtTime``);
- ``"exponential"``: a geometric ramp, constant ratio per second
  (``exponentialRampToValueAtTime``); both ends must be non-zero and of
  the same sign;
- ``"step"``: hold the previous value, jump at ``time_s`` (``setValueAtTime``).

Before the first point the value is the first point's value, after the last
point it is the last point's. Evaluation is vectorized and exact at every
sample, so it does not depend on how a render is split into blocks.

Examples
--------
>>> import numpy as np
>>> fade = Automation(((0.0, -60.0), (1.0, 0.0), (2.0, -6.0, "step")))
>>> fade.values(np.array([0.0, 0.5, 1.5, 2.0, 9.0])).tolist()
[-60.0, -30.0, 0.0, -6.0, -6.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from sonicmix.errors import ParameterError

__all__ = ["Automation", "Shape", "Value", "value_at", "values_for_block"]

Shape = Literal["linear", "exponential", "step"]
_SHAPES = ("linear", "exponential", "step")


@dataclass(frozen=True, slots=True)
class Automation:
    """A breakpoint envelope ``((time_s, value[, shape]), ...)``; see the module docs.

    Parameters
    ----------
    points : tuple of tuples
        ``(time_s, value)`` or ``(time_s, value, shape)``, in non-decreasing
        time order; ``shape`` defaults to ``"linear"`` and describes the
        segment that ends at the point.
    """

    points: tuple[tuple[float, float, Shape], ...]
    _times: np.ndarray = field(init=False, repr=False, compare=False, hash=False)
    _values: np.ndarray = field(init=False, repr=False, compare=False, hash=False)
    _shapes: np.ndarray = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.points, (str, bytes)) or not hasattr(self.points, "__iter__"):
            raise ParameterError(f"points={self.points!r}; expected a sequence of (time_s, value[, shape])")
        normalised = []
        previous_time = -math.inf
        for i, point in enumerate(self.points):
            if not isinstance(point, (tuple, list)) or len(point) not in (2, 3):
                raise ParameterError(
                    f"points[{i}]={point!r}; expected (time_s, value) or (time_s, value, shape)"
                )
            try:
                if any(isinstance(v, (bool, str, bytes)) for v in point[:2]):  # float() would take them
                    raise TypeError
                time_s, value = float(point[0]), float(point[1])
            except (TypeError, ValueError):
                raise ParameterError(f"points[{i}]={point!r}; expected numbers (time_s, value)") from None
            shape = point[2] if len(point) == 3 else "linear"
            if not (math.isfinite(time_s) and math.isfinite(value)):
                raise ParameterError(f"points[{i}]={point!r} is not finite")
            if time_s < previous_time:
                raise ParameterError(
                    f"points[{i}] has time_s={time_s:g} before the previous point's {previous_time:g}; "
                    "expected points in time order"
                )
            if shape not in _SHAPES:
                raise ParameterError(f"points[{i}] has shape={shape!r}; expected one of {_SHAPES}")
            if shape == "exponential" and normalised:
                before = normalised[-1][1]
                if before == 0.0 or value == 0.0 or (before > 0) != (value > 0):
                    raise ParameterError(
                        f"points[{i}] ramps exponentially from {before:g} to {value:g}; expected two "
                        "non-zero values of the same sign (for a fade in dB, ramp the dB value linearly)"
                    )
            normalised.append((time_s, value, shape))
            previous_time = time_s
        if not normalised:
            raise ParameterError("points=() is empty; expected at least one (time_s, value)")
        object.__setattr__(self, "points", tuple(normalised))
        object.__setattr__(self, "_times", np.array([p[0] for p in normalised]))
        object.__setattr__(self, "_values", np.array([p[1] for p in normalised]))
        object.__setattr__(self, "_shapes", np.array([_SHAPES.index(p[2]) for p in normalised]))

    def __repr__(self) -> str:
        return f"Automation({self.points!r})"

    def overflow_problem(self) -> str | None:
        """Why some values between two finite points are not finite, or None if all are.

        A linear ramp whose ends are more than the largest float apart (-1e308
        to 1e308), or an exponential one whose ratio overflows (1e-300 to
        1e10), gives inf or nan at every time strictly between its points.

        Examples
        --------
        >>> print(Automation(((0.0, -1e308), (2.0, 1e308))).overflow_problem())
        its linear ramp from points[0] (-1e+308 at 0 s) to points[1] (1e+308 at 2 s) overflows: \
every value after 0 s and before 2 s is inf or nan
        >>> Automation(((0.0, -6.0), (2.0, 0.0))).overflow_problem() is None
        True
        """
        v0, v1 = self._values[:-1], self._values[1:]
        with np.errstate(all="ignore"):  # the overflow is what is looked for
            linear = (self._shapes[1:] == 0) & ~np.isfinite(v1 - v0)
            exponential = (self._shapes[1:] == 1) & ~np.isfinite(v1 / np.where(v0 == 0.0, 1.0, v0))
        # a segment of zero length has no time strictly inside it, where the values go wrong
        bad = np.flatnonzero((linear | exponential) & (self._times[1:] > self._times[:-1]))
        if not bad.size:
            return None
        i = int(bad[0]) + 1
        (t0, a, _), (t1, b, shape) = self.points[i - 1], self.points[i]
        return (
            f"its {shape} ramp from points[{i - 1}] ({a:g} at {t0:g} s) to points[{i}] ({b:g} at {t1:g} s) "
            f"overflows: every value after {t0:g} s and before {t1:g} s is inf or nan"
        )

    @property
    def range(self) -> tuple[float, float]:
        """Smallest and largest value the envelope takes."""
        values = [p[1] for p in self.points]
        return min(values), max(values)

    def values(self, times_s: np.ndarray) -> np.ndarray:
        """Envelope values (float64) at the given times in seconds."""
        t = np.asarray(times_s, dtype=np.float64)
        times, vals = self._times, self._values
        if len(times) == 1:
            return np.full_like(t, vals[0])
        # segment k ends at point k: time in (times[k-1], times[k]]
        k = np.searchsorted(times, t, side="left")
        out = np.empty_like(t)
        before = k == 0
        after = k == len(times)
        out[before] = vals[0]
        out[after] = vals[-1]
        inside = ~(before | after)
        if inside.any():
            ki = k[inside]
            t0, t1 = times[ki - 1], times[ki]
            v0, v1 = vals[ki - 1], vals[ki]
            ti = t[inside]
            span = t1 - t0
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(span > 0, (ti - t0) / np.where(span > 0, span, 1.0), 1.0)
            shapes = self._shapes[ki]
            result = v0 + (v1 - v0) * frac  # linear
            exponential = shapes == 1
            if exponential.any():
                ratio = v1[exponential] / v0[exponential]
                result[exponential] = v0[exponential] * ratio ** frac[exponential]
            step = shapes == 2
            result[step] = np.where(ti[step] >= t1[step], v1[step], v0[step])
            # a point exactly at t takes the point's value
            result = np.where(ti == t1, v1, result)
            out[inside] = result
        return out


#: A parameter value that may be automated.
Value = float | Automation


def value_at(value: Value, time_s: float) -> float:
    """The value of a constant or an automation at one time."""
    if isinstance(value, Automation):
        return float(value.values(np.array([time_s]))[0])
    return float(value)


def values_for_block(value: Value, start: int, n: int, sample_rate: int) -> float | np.ndarray:
    """Per-sample values for samples ``start .. start + n - 1``, or a float for a constant."""
    if isinstance(value, Automation):
        return value.values((start + np.arange(n)) / sample_rate)
    return float(value)
