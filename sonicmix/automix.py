"""Automixing: gain sharing across open microphones, as a bus option.

``Bus(automix=Automix())`` makes a bus an automixer (Dugan's Speech System):
the signals routed to it, the *mics*, are gain-shared before they are summed.
Each mic's gain is its share of the total level, so the mics' power gains
always sum to one (0 dB): the mic that talks is open, the others drop by as
much as they are quieter, and nothing gates. The DSP is in
:mod:`sonicmix.dsp.automix`; the renderer wires it in (``docs/automix.md``).

What feeds the detector, and where the gains apply: each mic is one track or
bus routed to the automix bus (by its output or a send), taken *as it arrives
at the bus*: after its chain, fader, pan, send level, layout conversion and
latency alignment. The detector hears exactly the signal the gain scales, so
the fader sets how much say a mic has, as on a console with the automixer
inserted post-fader. Several routes from one source form one mic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sonicmix._checks import check_range
from sonicmix.errors import ParameterError

__all__ = ["Automix"]

#: Time constant of the decay of the recent peak level that scales the last-hold bias: the hold
#: fades by about 20 dB over 10 s of silence, so a long pause returns to equal shares.
HOLD_MEMORY_S = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Automix:
    """Gain sharing (Dugan-style automixing) of the mics routed to a bus.

    Parameters
    ----------
    attack_s : float, default 0.005
        Time constant of the level detector while a mic's level rises, in
        seconds (>= 0). Levels are smoothed in dB, so a gain in dB moves at
        most as fast as a level in dB can.
    release_s : float, default 0.1
        Time constant while the level falls, in seconds (>= attack_s).
    weights_db : dict of str to float, optional
        Extra say for some mics, by the name of the track or bus that feeds
        the automix bus: a mic with +6 dB wins against another talking 6 dB
        louder (a chairperson's mic, or a negative weight for a noisy one).
        Between -40 and 40 dB; mics not named have 0 dB.
    last_hold : bool, default True
        In pauses, keep the last talker's mic open instead of letting every
        mic settle at -10 log10(mics) dB.
    hold_s : float, default 0.5
        A mic becomes the last talker once its gain has stayed above -3 dB
        (more than half the power) for this long (Dugan's criterion).
    hold_db : float, default -30.0
        Level of the last-hold bias relative to the recent peak level of all
        the mics, in dB (< 0): far below speech, so it changes nothing while
        anybody talks, and above the room's noise, so it decides the pauses.

    Notes
    -----
    The power gains ``g_i**2`` sum to 1 at every sample (see
    :mod:`sonicmix.dsp.automix`); uncorrelated noise from all the mics adds
    up to one mic's worth. Sharing amplitude gains instead (``g_i = p_i /
    sum p``) would drop a quieter mic by twice its level difference and put
    four idle mics at -12 dB each rather than Dugan's -6 dB.

    Examples
    --------
    >>> from sonicmix.graph import Bus
    >>> Bus(automix=Automix(weights_db={"host": 3.0})).automix.weights_db
    {'host': 3.0}
    >>> Bus(automix=True).automix == Automix()
    True
    """

    attack_s: float = 0.005
    release_s: float = 0.1
    weights_db: Mapping[str, float] = field(default_factory=dict)
    last_hold: bool = True
    hold_s: float = 0.5
    hold_db: float = -30.0

    def __post_init__(self) -> None:
        check_range("attack_s", self.attack_s, low=0.0, high=10.0)
        check_range(
            "release_s",
            self.release_s,
            low=self.attack_s,
            high=10.0,
            hint="the release is the slower of the two time constants",
        )
        if not isinstance(self.weights_db, Mapping):
            raise ParameterError(
                f"weights_db={self.weights_db!r}; expected a mapping of mic (track or bus) names to dB"
            )
        weights = {}
        for name, value in self.weights_db.items():
            if not isinstance(name, str) or not name:
                raise ParameterError(f"weights_db has the key {name!r}; expected a track or bus name")
            weights[name] = check_range(f"weights_db[{name!r}]", value, low=-40.0, high=40.0)
        object.__setattr__(self, "weights_db", weights)
        if not isinstance(self.last_hold, bool):
            raise ParameterError(f"last_hold={self.last_hold!r}; expected True or False")
        check_range("hold_s", self.hold_s, low=0.0, high=60.0)
        check_range("hold_db", self.hold_db, low=-120.0, high=0.0, high_inclusive=False)

    def kernel_arguments(self, mics: Sequence[str], sample_rate: int) -> dict[str, Any]:
        """Keyword arguments of :func:`sonicmix.dsp.automix.share_gains` for these mics, in order."""
        from sonicmix.dsp.envelope import one_pole_coefficient

        return {
            "weights": np.array([10.0 ** (self.weights_db.get(m, 0.0) / 10.0) for m in mics]),
            "fall": one_pole_coefficient(self.release_s, sample_rate),
            "rise": one_pole_coefficient(self.attack_s, sample_rate),
            "last_hold": self.last_hold,
            "hold_samples": max(1, round(self.hold_s * sample_rate)),
            "bias": 10.0 ** (self.hold_db / 10.0),
            "memory_pole": one_pole_coefficient(HOLD_MEMORY_S, sample_rate),
            # the bias moves to a new last talker as smoothly as a level falls
            "hold_pole": one_pole_coefficient(self.release_s, sample_rate),
        }
