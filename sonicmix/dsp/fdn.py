"""Feedback delay network (FDN) reverberator: design in numpy, a compiled streaming kernel.

The network follows Jot and Chaigne (1991): sixteen delay lines of mutually
prime lengths, fed back through an orthogonal (hence lossless) 16 x 16
Hadamard matrix, each line followed by an absorption filter whose gain makes
every trip round the loop lose exactly the energy the requested reverberation
time asks for. A line of ``m`` samples must attenuate by
``60 * m / (sample_rate * T60(f))`` dB at frequency ``f``; the filter is a
broadband gain (the mid-band decay) times a low shelf and a high shelf
(Audio EQ Cookbook, slope S = 1) at the two crossovers, whose gains carry the
differences to the low- and high-band decays. Since the attenuation in dB of
every line is proportional to its length, all the network's modes in a band
decay at the same rate, and the decay is exponential with the requested T60.

Around the tank: a pre-delay, a sparse tapped delay line of early reflections
(different taps per channel), a one-pole low-pass ("damping") and four
Schroeder all-pass diffusers per channel that smear each input impulse into a
dense burst before it enters the tank, so that the tail is dense from the
start. Every input channel feeds all sixteen lines with its own
pseudo-random +-1/4 sign pattern; the first four output channels read the
lines with mutually orthogonal +-1/4 patterns that are eigenvectors of the
Hadamard matrix (which keeps each line's recirculation from showing in the
output's autocorrelation more than it must), further channels with
pseudo-random ones. The outputs are thus decorrelated; ``width`` blends them
towards their mean.

Each absorption filter is applied as a sample is written into its line
rather than as it is read (a delay and a filter commute), so the samples read
back are already filtered. The recursion is sequential per sample, but no
value written into a line is read back sooner than the shortest delay, so the
kernel advances in blocks no longer than that. Within a block the tank
works on tiles of eight samples of all sixteen lines: outputs, Hadamard
butterflies and input injection on each line's eight samples as one vector,
then, transposed in registers, the absorption filters on the sixteen lines as
one vector, sample after sample (the only sequential stage), and back into
the lines eight samples at a time. Blocks end on a grid fixed
in absolute time, so the arithmetic does not depend on how the input is split
into calls: the output is bit-identical for any split. Values below 1e-30 are
flushed to zero as they are written into the delay lines, and the filter
memories at each block end, so a dying tail spends at most part of a block
among subnormal numbers (very slow on x86) and silence in gives exact silence
out once the tail has died away.

This module imports numba; import it only when a reverb runs.

References
----------
J.-M. Jot and A. Chaigne, "Digital delay networks for designing artificial
reverberators", 90th AES Convention, preprint 3030, 1991.
J. Dattorro, "Effect design part 1: reverberator and other filters",
J. Audio Eng. Soc. 45(9), 1997 (input diffusion all-passes).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice
from sonicmix.dsp.biquad import _check_freq, _checked, _shelf_rows

__all__ = ["NUM_LINES", "FdnDesign", "FdnState", "design_fdn", "distinct_primes", "new_state", "process"]

#: Number of delay lines in the tank (the Hadamard matrix needs a power of two).
NUM_LINES = 16

#: Tank line lengths, in seconds before rounding to distinct primes: spread
#: geometrically over a factor of three, as in a room's axial mode spacing.
_LINE_TIMES_S = tuple(0.021 * 3.0 ** (k / (NUM_LINES - 1)) for k in range(NUM_LINES))
#: Input diffuser lengths (Dattorro's 142, 107, 379 and 277 samples at 29761 Hz)
#: and their gains relative to ``diffusion``.
_DIFFUSER_TIMES_S = (0.00477, 0.00360, 0.01273, 0.00931)
_DIFFUSER_GAINS = (1.0, 1.0, 0.8333, 0.8333)
#: Early reflections: taps per channel, spread over this span after the pre-delay.
_EARLY_TAPS = 12
_EARLY_SPAN_S = (0.004, 0.065)
#: Early tap gains fall by 1/e every this many seconds.
_EARLY_FALL_S = 0.03
#: Channels with distinct sign patterns and taps; channel c reuses c % _MAX_PATTERNS.
_MAX_PATTERNS = 64
#: Longest block the kernel vectorizes over (it is also bounded by the shortest delay).
_MAX_BLOCK = 1024
#: Magnitudes below this are flushed to zero (see the module notes).
_TINY = 1e-30


@dataclass(frozen=True, slots=True, eq=False)
class FdnDesign:
    """Coefficients of one reverberator at one sample rate, in float64.

    Attributes
    ----------
    line_samples : np.ndarray, shape=(16,), int64
        Tank delay line lengths (distinct primes).
    absorption_sos : np.ndarray, shape=(16, 2, 6)
        Per line: the low shelf (with the broadband gain folded in) and the
        high shelf, scipy ``sos`` rows.
    input_gains, output_gains : np.ndarray, shape=(channels, 16)
        Sign patterns (+-1/4) injecting each channel into the lines and
        reading each channel out of them.
    diffuser_samples : np.ndarray, shape=(channels, 4), int64
        All-pass lengths per channel (distinct primes).
    diffuser_gains : np.ndarray, shape=(channels, 4)
        All-pass gains: ``diffusion`` (0.83 x for the last two), lowered where
        needed so that no all-pass rings longer than a quarter of the decay.
    early_samples : np.ndarray, shape=(channels, taps), int64
        Early reflection delays, pre-delay included.
    early_gains : np.ndarray, shape=(channels, taps)
        Tap gains, unit energy per channel.
    pre_delay_samples : int
    damping_coef : float
        One-pole low-pass coefficient ``1 - exp(-2 pi damping_hz / sample_rate)``.
    late_gain, early_gain, dry_gain, wet_gain, width : float
        Output scaling: late tail normalisation, early level, and the mix.
    """

    line_samples: NDArray[np.int64]
    absorption_sos: NDArray[np.float64]
    input_gains: NDArray[np.float64]
    output_gains: NDArray[np.float64]
    diffuser_samples: NDArray[np.int64]
    diffuser_gains: NDArray[np.float64]
    early_samples: NDArray[np.int64]
    early_gains: NDArray[np.float64]
    pre_delay_samples: int
    damping_coef: float
    late_gain: float
    early_gain: float
    dry_gain: float
    wet_gain: float
    width: float


@dataclass(slots=True, eq=False)
class FdnState:
    """Streaming state: delay memories (linear buffers, compacted when full) and filter memories.

    ``positions`` holds the write index of ``history``, ``diffusers`` and
    ``tank``, then the number of frames processed; ``work`` holds the absorption
    filters' coefficients (rows 0-9) and memories (rows 10-13); ``coefs`` the
    other read-only arrays.
    """

    history: np.ndarray
    diffusers: np.ndarray
    tank: np.ndarray
    work: np.ndarray
    damping_memory: np.ndarray
    positions: np.ndarray
    coefs: tuple[Any, ...]


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    k = 3
    while k * k <= n:
        if n % k == 0:
            return False
        k += 2
    return True


def distinct_primes(targets: list[float] | tuple[float, ...]) -> list[int]:
    """Smallest distinct primes at or above each target (mutually prime delay lengths).

    Examples
    --------
    >>> distinct_primes([10.0, 10.2, 100.0])
    [11, 13, 101]
    """
    return list(_distinct_primes(tuple(float(t) for t in targets)))


@functools.lru_cache(maxsize=64)
def _distinct_primes(targets: tuple[float, ...]) -> tuple[int, ...]:
    # cached: automation redesigns the network every control block, for the same lengths
    used: set[int] = set()
    out = []
    for target in targets:
        p = max(2, math.ceil(target))
        while not _is_prime(p) or p in used:
            p += 1
        used.add(p)
        out.append(p)
    return tuple(out)


def _output_patterns() -> NDArray[np.float64]:
    """Sign patterns of +-1 that are eigenvectors of the 16 x 16 Hadamard matrix.

    A line's output returns ``lines[i]`` samples later scaled by
    ``(H c)_i``, so an output read with gains ``c`` correlates with itself
    at that lag by about ``c_i (H c)_i``. For an eigenvector (``H c = +-c``)
    with gains of +-1/4 that is 1/16 at every line length, the least a
    uniform pattern allows; random signs reach twice that. The 4 x 4
    Hadamard matrix has the +-1 eigenvectors u (eigenvalue 1) and w (-1)
    below, so the Kronecker products give four mutually orthogonal ones
    (decorrelated outputs for up to four channels).
    """
    u = np.array([1.0, 1.0, 1.0, -1.0])
    w = np.array([1.0, -1.0, -1.0, -1.0])
    return np.array([np.kron(u, u), np.kron(w, w), np.kron(u, w), np.kron(w, u)])


_OUTPUT_PATTERNS = _output_patterns()


def design_fdn(
    channels: int,
    sample_rate: int,
    *,
    decay_s: float,
    decay_low_s: float,
    decay_high_s: float,
    crossover_low_hz: float,
    crossover_high_hz: float,
    pre_delay_s: float,
    early_db: float,
    damping_hz: float,
    diffusion: float,
    width: float,
    mix: float,
) -> FdnDesign:
    """Design the reverberator's coefficients (see the module notes for the structure).

    ``decay_s``, ``decay_low_s`` and ``decay_high_s`` are the reverberation
    times (RT60) in the mid band, below ``crossover_low_hz`` and above
    ``crossover_high_hz``. Every input channel feeds every output, so the
    late tail is scaled so that the impulse response from one input channel
    to one output (damping included, early reflections excluded) has energy
    ``1 / channels``: white noise of equal power on every channel gives a
    late tail of that power. Each channel's early reflections have
    ``early_db`` relative to that (their taps have unit energy).
    """
    tank = (sample_rate, decay_s, decay_low_s, decay_high_s, crossover_low_hz, crossover_high_hz)
    late_energy = _late_energy_on_grid(*tank, damping_hz, diffusion)
    return _design(
        channels, *tank, pre_delay_s, damping_hz, diffusion,
        late_gain=1.0 / math.sqrt(late_energy * channels), early_gain=10.0 ** (early_db / 20.0),
        width=width, mix=mix,
    )  # fmt: skip


# Relative step of the decay-time grid on which the late tail's energy is simulated.
_ENERGY_GRID_STEP = 1.02


def _late_energy_on_grid(
    sample_rate: int,
    decay_s: float,
    decay_low_s: float,
    decay_high_s: float,
    crossover_low_hz: float,
    crossover_high_hz: float,
    damping_hz: float,
    diffusion: float,
) -> float:
    """:func:`_late_energy`, interpolated between decay times 2 % apart (same band ratios).

    The energy grows smoothly with the decay time, so interpolating its logarithm
    linearly in log decay time between two simulated neighbours is within 1e-4 of
    a simulation at the value itself (0.0005 dB of late-tail level), and automation
    that sweeps the decay simulates one grid point per 2 % of the sweep instead of
    one per control block.
    """
    position = math.log(decay_s / 0.1, _ENERGY_GRID_STEP)
    k = math.floor(position)
    frac = position - k
    ratios = (decay_low_s / decay_s, decay_high_s / decay_s)

    def at(index: int) -> float:
        d = 0.1 * _ENERGY_GRID_STEP**index
        return _late_energy(
            sample_rate, d, d * ratios[0], d * ratios[1], crossover_low_hz, crossover_high_hz,
            damping_hz, diffusion,
        )  # fmt: skip

    if frac < 1e-12:
        return at(k)
    return math.exp((1.0 - frac) * math.log(at(k)) + frac * math.log(at(k + 1)))


@functools.lru_cache(maxsize=256)
def _late_energy(
    sample_rate: int,
    decay_s: float,
    decay_low_s: float,
    decay_high_s: float,
    crossover_low_hz: float,
    crossover_high_hz: float,
    damping_hz: float,
    diffusion: float,
) -> float:
    """Energy of the unscaled late tail's impulse response (first channel), by simulation.

    No closed form is accurate for short decays (the first trip round the
    loop is already attenuated, and the lines are of unequal lengths), so the
    network is run on an impulse for the longest decay time, after which less
    than a millionth of the energy is left.
    """
    design = _design(
        1, sample_rate, decay_s, decay_low_s, decay_high_s, crossover_low_hz, crossover_high_hz,
        0.0, damping_hz, diffusion, late_gain=1.0, early_gain=0.0, width=1.0, mix=1.0,
    )  # fmt: skip
    n = int(math.ceil((max(decay_s, decay_low_s, decay_high_s) + 0.1) * sample_rate))
    # Not process(): that would compile the float64 kernel for float32 audio too (3.4 s of CPU on an
    # empty cache). _impulse_tail gives the same samples, and they are summed the same way.
    tail = _ImpulseTail(design)
    energy = 0.0
    block = 1 << 16
    y = np.empty((1, min(block, n)))
    for start in range(0, n, block):
        part = y[:, : min(block, n - start)]
        tail.run(part[0])
        energy += float(np.sum(part**2))
    return energy


class _ImpulseTail:
    """The late tail of one channel's impulse response, the float64 network without its early part.

    For a design with one channel, no pre-delay, ``early_gain=0``, ``width=1`` and
    ``mix=1`` (as :func:`_late_energy` makes it), :func:`process` of an impulse
    gives these samples bit for bit (the test suite compares the two), from a
    kernel that takes a fraction of ``_run``'s compile time: scalar loops, circular
    buffers, the same operations in the same order and the same flushes.
    """

    def __init__(self, design: FdnDesign) -> None:
        tank = int(design.line_samples.max()) + _MAX_BLOCK
        size = 1 << (max(tank, int(design.diffuser_samples.max())) - 1).bit_length()
        sos = design.absorption_sos
        coef = np.zeros((10, NUM_LINES))  # as new_state lays out the filters (its work rows 0-9)
        coef[0:3], coef[3:5] = sos[:, 0, 0:3].T, sos[:, 0, 4:6].T
        coef[5:8], coef[8:10] = sos[:, 1, 0:3].T / math.sqrt(NUM_LINES), sos[:, 1, 4:6].T
        self.coefs = (
            np.ascontiguousarray(design.line_samples),
            coef,
            design.input_gains[0] * math.sqrt(NUM_LINES),
            np.ascontiguousarray(design.output_gains[0]),
            np.ascontiguousarray(design.diffuser_samples[0]),
            np.ascontiguousarray(design.diffuser_gains[0]),
            np.array([design.damping_coef, _TINY]),
        )
        self.lines = np.zeros((NUM_LINES, size))
        self.diffusers = np.zeros((design.diffuser_samples.shape[1], size))
        self.memory = np.zeros(4 * NUM_LINES + 1)  # the filters' memories, then the damping's
        # frames done, and the blocks' length: that of process() (flushes on the same samples)
        self.frames = np.array([0, int(min(_MAX_BLOCK, design.line_samples.min()))], dtype=np.int64)

    def run(self, out: np.ndarray) -> None:
        """The next ``len(out)`` samples of the tail into ``out``."""
        _impulse_tail(*self.coefs, self.lines, self.diffusers, self.memory, self.frames, out)


@functools.lru_cache(maxsize=1)
def _patterns() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed random choices: line sign patterns (input, output), early tap times and signs."""
    signs = np.random.default_rng(0x5EED).choice([-1.0, 1.0], size=(2, _MAX_PATTERNS, NUM_LINES))
    signs[1, : len(_OUTPUT_PATTERNS)] = _OUTPUT_PATTERNS
    tap_rng = np.random.default_rng(0xE4)
    times = np.sort(tap_rng.uniform(*_EARLY_SPAN_S, size=(_MAX_PATTERNS, _EARLY_TAPS)), axis=1)
    tap_signs = tap_rng.choice([-1.0, 1.0], size=(_MAX_PATTERNS, _EARLY_TAPS))
    for a in (signs, times, tap_signs):
        a.flags.writeable = False  # shared by every design
    return signs, times, tap_signs


def _design(
    channels: int,
    sample_rate: int,
    decay_s: float,
    decay_low_s: float,
    decay_high_s: float,
    crossover_low_hz: float,
    crossover_high_hz: float,
    pre_delay_s: float,
    damping_hz: float,
    diffusion: float,
    *,
    late_gain: float,
    early_gain: float,
    width: float,
    mix: float,
) -> FdnDesign:
    rate = float(sample_rate)
    lines = np.array(distinct_primes([t * rate for t in _LINE_TIMES_S]), dtype=np.int64)
    sos = np.zeros((NUM_LINES, 2, 6))
    q = 1.0 / math.sqrt(2.0)
    seconds = lines / rate
    # Jot: a trip through a line of m samples loses 60 m / (rate T60) dB.
    mid_db = -60.0 * seconds / decay_s
    low_db = -60.0 * seconds * (1.0 / decay_low_s - 1.0 / decay_s)
    high_db = -60.0 * seconds * (1.0 / decay_high_s - 1.0 / decay_s)
    # All lines' shelves at once (automation redesigns them every control block): the scalar
    # designs' checks on the frequencies and Q, then the stability check on every row.
    _check_freq(crossover_low_hz, sample_rate)
    _check_freq(crossover_high_hz, sample_rate)
    sos[:, 0] = _shelf_rows("low", crossover_low_hz, low_db, q, sample_rate)
    sos[:, 0, :3] *= (10.0 ** (mid_db / 20.0))[:, None]
    sos[:, 1] = _shelf_rows("high", crossover_high_hz, high_db, q, sample_rate)
    _checked(sos.reshape(-1, 6), f"the absorption shelves of decay_s={decay_s:g}")

    # Sign patterns and tap times come from fixed seeds, drawn for _MAX_PATTERNS
    # channels whatever the channel count, so channel c is the same in any layout.
    index = np.arange(channels) % _MAX_PATTERNS
    signs, times, tap_signs = _patterns()
    input_gains = signs[0, index] / math.sqrt(NUM_LINES)
    output_gains = signs[1, index] / math.sqrt(NUM_LINES)

    diffuser_samples = np.array(
        [distinct_primes([t * rate * (1.0 + 0.041 * c) for t in _DIFFUSER_TIMES_S]) for c in index],
        dtype=np.int64,
    ).reshape(channels, len(_DIFFUSER_TIMES_S))
    # Each all-pass rings with its own decay; keep it under a quarter of the
    # shortest requested decay so that short reverbs stay short.
    shortest_s = min(decay_s, decay_low_s, decay_high_s)
    ceiling = 10.0 ** (-3.0 * diffuser_samples / (rate * 0.25 * shortest_s))
    diffuser_gains = np.minimum(np.array(_DIFFUSER_GAINS) * diffusion, ceiling)

    pre = int(round(pre_delay_s * rate))
    times, tap_signs = times[index], tap_signs[index]
    gains = np.exp(-times / _EARLY_FALL_S) * tap_signs
    early_gains = gains / np.sqrt(np.sum(gains**2, axis=1, keepdims=True))
    early_samples = pre + np.maximum(1, np.round(times * rate)).astype(np.int64)

    return FdnDesign(
        line_samples=lines,
        absorption_sos=sos,
        input_gains=input_gains,
        output_gains=output_gains,
        diffuser_samples=diffuser_samples,
        diffuser_gains=diffuser_gains,
        early_samples=early_samples,
        early_gains=early_gains,
        pre_delay_samples=pre,
        damping_coef=1.0 - math.exp(-2.0 * math.pi * damping_hz / rate),
        late_gain=late_gain,
        early_gain=early_gain,
        dry_gain=1.0 - mix,
        wet_gain=mix,
        width=width,
    )


def new_state(design: FdnDesign, channels: int, dtype: Any) -> FdnState:
    """Silent state for ``channels`` channels of ``dtype`` audio."""
    dt = np.dtype(dtype)
    hist_len = int(max(design.pre_delay_samples, int(design.early_samples.max(initial=0))))
    diff_len = int(design.diffuser_samples.max(initial=1))
    tank_len = int(design.line_samples.max())
    hist = np.zeros((channels, 2 * hist_len + 4 * _MAX_BLOCK), dt)
    diffusers = np.zeros((channels, design.diffuser_samples.shape[1], 4 * diff_len + 4 * _MAX_BLOCK), dt)
    tank = np.zeros((NUM_LINES, 4 * tank_len + 4 * _MAX_BLOCK), dt)
    positions = np.array([hist_len, diff_len, tank_len, 0], dtype=np.int64)
    block = int(min(_MAX_BLOCK, design.line_samples.min()))
    diffuser_block = int(design.diffuser_samples.min(initial=_MAX_BLOCK))
    sos = design.absorption_sos
    work = np.zeros((14, NUM_LINES), dt)
    work[0:3] = sos[:, 0, 0:3].T
    work[3:5] = sos[:, 0, 4:6].T
    # The kernel applies the Hadamard matrix unnormalised; the 1/4 goes into the filters.
    work[5:8] = sos[:, 1, 0:3].T / math.sqrt(NUM_LINES)
    work[8:10] = sos[:, 1, 4:6].T
    scalars = np.array(
        [design.dry_gain, design.wet_gain, design.width, design.late_gain, design.early_gain,
         design.damping_coef, _TINY, 0.0],
        dtype=dt,
    )  # fmt: skip
    ints = np.array(
        [design.pre_delay_samples, block, hist_len, diff_len, tank_len, diffuser_block], dtype=np.int64
    )
    coefs = (
        ints,
        scalars,
        np.ascontiguousarray(design.early_samples),
        design.early_gains.astype(dt),
        np.ascontiguousarray(design.diffuser_samples),
        np.ascontiguousarray(design.diffuser_gains, dtype=dt),
        design.line_samples.copy(),
        # The filters also scale the injected input by 1/4: pre-compensate it.
        (design.input_gains[:channels] * math.sqrt(NUM_LINES)).astype(dt),
        design.output_gains[:channels].astype(dt),
    )
    return FdnState(
        history=hist,
        diffusers=diffusers,
        tank=tank,
        work=work,
        damping_memory=np.zeros(channels, dt),
        positions=positions,
        coefs=coefs,
    )


def process(x: np.ndarray, state: FdnState) -> np.ndarray:
    """Run the reverberator over ``x`` (channels, n); returns the mixed output, updates ``state``."""
    y = np.empty(x.shape, x.dtype)
    if x.shape[1]:
        (ints, scalars, er_d, er_g, ap_l, ap_g, lines, gin, gout) = state.coefs
        _run(
            np.ascontiguousarray(x), y, ints, scalars,
            state.history, er_d, er_g, state.damping_memory,
            state.diffusers, ap_l, ap_g,
            state.tank, lines, gin, gout, state.work, state.positions,
        )  # fmt: skip
    return y


# ----------------------------------------------------------------------------- compiled kernel
#
# Numba vectorizes only innermost loops with a runtime trip count whose indices
# are plain range variables and that touch few distinct arrays (it cannot prove
# arrays distinct, and checks at run time only a few pairs). Hence the shape of
# the code below: slices taken before each inner loop, row-wise ("lines-major",
# time innermost) stages everywhere the recursion allows. The tank is the
# exception: its filters must step sample by sample across the sixteen lines,
# and there numba's vectorizer fails (its SLP vectorizer is off, and it keeps
# loop-carried memories in arrays): the lines-major block had to be transposed
# on the way in and out with scalar loads and stores, which cost more than the
# filtering, and that stage took 59 % of the kernel's time. `_feedback` writes
# the tank in LLVM IR instead (numba's `intrinsic`, compiled into the kernel and
# cached with it): 8 x 8 shuffle transposes, the filter memories in registers,
# fused multiply-adds on the recursion, and no arrays between the stages.


_CHUNK = 8  # samples per transposed tile (an 8 x 8 shuffle transpose); NUM_LINES is two tiles wide
_I32, _I64 = ir.IntType(32), ir.IntType(64)


def _transpose8(builder: Any, rows: list[Any]) -> list[Any]:
    """IR: transpose eight 8-element vectors.

    The usual AVX sequence, in shuffles any x86 target lowers well: interleave
    pairs of rows within 128-bit halves, then pairs of pairs, then swap halves.
    """

    def mix(x: Any, y: Any, mask: list[int]) -> Any:
        return builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(_I32, 8), mask))

    pairs = [
        mix(rows[k], rows[k + 1], mask)
        for k in range(0, 8, 2)
        for mask in ([0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15])
    ]
    quads = [
        mix(pairs[g + a], pairs[g + a + 2], mask)
        for g in (0, 4)
        for a in (0, 1)
        for mask in ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15])
    ]
    low = [mix(quads[k], quads[k + 4], [0, 1, 2, 3, 8, 9, 10, 11]) for k in range(4)]
    high = [mix(quads[k], quads[k + 4], [4, 5, 6, 7, 12, 13, 14, 15]) for k in range(4)]
    return low + high


class _FeedbackIR:
    """Emits the IR of :func:`_feedback`, ``width`` samples at a time (8, or 1 for a block's end).

    Per tile the sixteen lines' taps are loaded as rows of ``width`` samples
    ("lines-major"); the late outputs, the Hadamard butterflies and the input
    injection work on these rows, element by element in the scalar kernel's
    order; the rows are then transposed into one 16-lane vector per sample for
    the absorption filters, and back for the stores.
    """

    def __init__(self, context: Any, builder: Any, arrays: dict[str, Any], scalars: dict[str, Any]) -> None:
        self.b, self.s = builder, scalars
        self.p = {
            name: context.make_array(ty)(context, builder, value).data for name, (ty, value) in arrays.items()
        }
        gin_type, gin_value = arrays["gin"]
        self.channels = builder.sdiv(
            context.make_array(gin_type)(context, builder, gin_value).nitems, self.i64(NUM_LINES)
        )
        self.ty = context.get_value_type(arrays["tank"][0].dtype)
        self.align = context.get_abi_sizeof(self.ty)
        self.vec = ir.VectorType(self.ty, NUM_LINES)
        self.coef = [self.load(self.p["coef"], self.i64(k * NUM_LINES), NUM_LINES) for k in range(10)]
        self.minus = [builder.fneg(self.coef[k]) for k in (3, 4, 8, 9)]  # the shelves' a1, a2
        self.memory = [
            cgutils.alloca_once_value(builder, self.load(self.p["mem"], self.i64(k * NUM_LINES), NUM_LINES))
            for k in range(4)
        ]
        self.held = [cgutils.alloca_once(builder, ir.VectorType(self.ty, _CHUNK)) for _ in range(NUM_LINES)]
        self.held_one = [cgutils.alloca_once(builder, ir.VectorType(self.ty, 1)) for _ in range(NUM_LINES)]
        rows = [builder.mul(self.i64(i), scalars["t_stride"]) for i in range(NUM_LINES)]
        lengths = [builder.load(builder.gep(self.p["lines"], [self.i64(i)])) for i in range(NUM_LINES)]
        self.writes = [builder.add(r, scalars["tw"]) for r in rows]
        self.taps = [builder.sub(w, m) for w, m in zip(self.writes, lengths, strict=True)]

    # ------------------------------------------------------------------ small helpers
    @staticmethod
    def i64(k: int) -> Any:
        return ir.Constant(_I64, k)

    def load(self, ptr: Any, index: Any, width: int) -> Any:
        kind = ir.VectorType(self.ty, width).as_pointer()
        return self.b.load(self.b.bitcast(self.b.gep(ptr, [index]), kind), align=self.align)

    def store(self, value: Any, ptr: Any, index: Any) -> None:
        kind = value.type.as_pointer()
        self.b.store(value, self.b.bitcast(self.b.gep(ptr, [index]), kind), align=self.align)

    def splat(self, value: Any, width: int) -> Any:
        one = self.b.insert_element(
            ir.Constant(ir.VectorType(self.ty, width), None), value, ir.Constant(_I32, 0)
        )
        return self.b.shuffle_vector(one, one, ir.Constant(ir.VectorType(_I32, width), [0] * width))

    def fma(self, a: Any, b: Any, c: Any) -> Any:
        kind = a.type
        name = f"llvm.fma.v{kind.count}f{8 * self.align}"
        fn = cgutils.get_or_insert_function(self.b.module, ir.FunctionType(kind, [kind] * 3), name)
        return self.b.call(fn, [a, b, c])

    # ------------------------------------------------------------------ stages
    def tile(self, t: Any, width: int) -> None:
        """Samples t .. t + width - 1 of the block, all stages."""
        b = self.b
        raw = [self.load(self.p["tank"], b.add(tap, t), width) for tap in self.taps]
        mixed = raw
        for span in (8, 4, 2, 1):  # unnormalised Hadamard butterflies, row by row
            mixed = list(mixed)
            for j in range(NUM_LINES):
                if not j & span:
                    lo, hi = mixed[j], mixed[j + span]
                    mixed[j], mixed[j + span] = b.fadd(lo, hi), b.fsub(lo, hi)
        mixed = self.channels_in_and_out(raw, mixed, t, width)
        samples = self.to_samples(mixed, width)
        rows = self.to_rows([self.filter(v) for v in samples], width)
        for write, row in zip(self.writes, rows, strict=True):
            self.store(row, self.p["tank"], b.add(write, t))

    def channels_in_and_out(self, raw: list[Any], mixed: list[Any], t: Any, width: int) -> list[Any]:
        """Late outputs from the taps (``late[c] = sum_i gout[c, i] tap_i``) and the input
        injection (``mixed_i += gin[c, i] diffused[c]``), channel after channel."""
        b, p = self.b, self.p
        held = self.held if width == _CHUNK else self.held_one
        for h, v in zip(held, mixed, strict=True):
            b.store(v, h)
        with cgutils.for_range(b, self.channels) as ch:
            gains = b.mul(ch.index, self.i64(NUM_LINES))
            d = self.load(p["diffused"], b.add(b.mul(ch.index, self.s["d_stride"]), t), width)
            acc = ir.Constant(d.type, [0.0] * width)
            for i, h in enumerate(held):
                index = b.add(gains, self.i64(i))
                acc = self.fma(self.splat(b.load(b.gep(p["gout"], [index])), width), raw[i], acc)
                b.store(self.fma(self.splat(b.load(b.gep(p["gin"], [index])), width), d, b.load(h)), h)
            self.store(acc, p["late"], b.add(b.mul(ch.index, self.s["d_stride"]), t))
        return [b.load(h) for h in held]

    def to_samples(self, rows: list[Any], width: int) -> list[Any]:
        """Sixteen rows of ``width`` samples -> ``width`` vectors of the sixteen lines."""
        b = self.b
        if width == 1:
            v = ir.Constant(self.vec, None)
            for i, row in enumerate(rows):
                v = b.insert_element(v, b.extract_element(row, ir.Constant(_I32, 0)), ir.Constant(_I32, i))
            return [v]
        joined = ir.Constant(ir.VectorType(_I32, NUM_LINES), list(range(NUM_LINES)))
        low, high = _transpose8(b, rows[:_CHUNK]), _transpose8(b, rows[_CHUNK:])
        return [b.shuffle_vector(x, y, joined) for x, y in zip(low, high, strict=True)]

    def to_rows(self, samples: list[Any], width: int) -> list[Any]:
        """The inverse of :meth:`to_samples`."""
        b = self.b
        if width == 1:
            one = ir.VectorType(self.ty, 1)
            return [
                b.insert_element(ir.Constant(one, None), b.extract_element(samples[0], ir.Constant(_I32, i)),
                                 ir.Constant(_I32, 0))
                for i in range(NUM_LINES)
            ]  # fmt: skip
        halves = [ir.Constant(ir.VectorType(_I32, _CHUNK), list(range(k, k + _CHUNK))) for k in (0, _CHUNK)]
        return [r for h in halves for r in _transpose8(b, [b.shuffle_vector(v, v, h) for v in samples])]

    def filter(self, o: Any) -> Any:
        """Absorption filters on one sample of the sixteen lines; flushed below ``tiny``.

        Direct form II transposed, low shelf then high shelf. Each memory is one
        fused multiply-add after the output it depends on, so a sample waits on
        two fma latencies, not five operations.
        """
        b, c, minus = self.b, self.coef, self.minus
        z0, z1, z2, z3 = (b.load(m) for m in self.memory)
        v1 = self.fma(c[0], o, z0)
        n0 = self.fma(minus[0], v1, self.fma(c[1], o, z1))
        n1 = self.fma(minus[1], v1, b.fmul(c[2], o))
        v2 = self.fma(c[5], v1, z2)
        n2 = self.fma(minus[2], v2, self.fma(c[6], v1, z3))
        n3 = self.fma(minus[3], v2, b.fmul(c[7], v1))
        for m, v in zip(self.memory, (n0, n1, n2, n3), strict=True):
            b.store(v, m)
        fabs = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(self.vec, [self.vec]), f"llvm.fabs.v{NUM_LINES}f{8 * self.align}"
        )
        keep = b.fcmp_ordered(">=", b.call(fabs, [v2]), self.splat(self.s["tiny"], NUM_LINES))
        return b.select(keep, v2, ir.Constant(self.vec, [0.0] * NUM_LINES))

    def finish(self) -> None:
        for k, m in enumerate(self.memory):
            self.store(self.b.load(m), self.p["mem"], self.i64(k * NUM_LINES))


_FEEDBACK_ARGS = ("tank", "t_stride", "tw", "lines", "diffused", "d_stride", "gin", "gout", "late", "coef",
                  "mem", "size", "tiny")  # fmt: skip
_FEEDBACK_ARRAYS = ("tank", "lines", "diffused", "gin", "gout", "late", "coef", "mem")


@intrinsic
def _feedback(
    typingctx, tank, t_stride, tw, lines, diffused, d_stride, gin, gout, late, coef, mem, size, tiny
):
    """The network's recursion over one block, compiled from :class:`_FeedbackIR` (see above).

    Line ``i`` of ``tank`` starts at ``i * t_stride``; its taps, ``lines[i]``
    samples before the write position ``tw``, give the late outputs
    (``late``: channel ``c`` at ``c * d_stride``; ``gout``: 16 gains per channel)
    and, through the Hadamard matrix, the input injection (``diffused`` and
    ``gin`` likewise) and the absorption filters (``coef`` 10 x 16, ``mem`` 4 x 16,
    flat, in ``work``'s row order), the samples written from ``tw`` on, flushed to
    zero below ``tiny``. Needs ``size <= min(lines)``.
    """
    sig = types.void(tank, t_stride, tw, lines, diffused, d_stride, gin, gout, late, coef, mem, size, tiny)

    def codegen(context, builder, signature, args):  # pragma: no cover - runs in the compiler
        named = dict(zip(_FEEDBACK_ARGS, zip(signature.args, args, strict=True), strict=True))
        arrays = {name: named.pop(name) for name in _FEEDBACK_ARRAYS}
        scalars = {name: value for name, (_, value) in named.items()}
        code = _FeedbackIR(context, builder, arrays, scalars)
        size = code.s["size"]
        tiles = builder.sdiv(size, code.i64(_CHUNK))
        with cgutils.for_range(builder, tiles) as loop:
            code.tile(builder.mul(loop.index, code.i64(_CHUNK)), _CHUNK)
        with cgutils.for_range(builder, size, start=builder.mul(tiles, code.i64(_CHUNK))) as loop:
            code.tile(loop.index, 1)  # the last size % 8 samples: the same arithmetic, one at a time
        code.finish()
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma``), as ``_feedback`` computes it."""

    def codegen(context, builder, signature, args):  # pragma: no cover - runs in the compiler
        kind = args[0].type
        name = f"llvm.fma.f{8 * context.get_abi_sizeof(kind)}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(kind, [kind] * 3), name)
        return builder.call(fn, list(args))

    return a(a, a, a), codegen


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _impulse_tail(
    lines, coef, gin, gout, ap_l, ap_g, scalars, tank, ap_buf, memory, frames, out
):  # pragma: no cover - compiled
    # One sample at a time, in _run's order of operations: the input stage as _run writes it
    # (contracted alike), the tank as _feedback emits it (explicit fused multiply-adds). The
    # loops over the lines gather, filter (a loop LLVM vectorizes) and scatter separately.
    damp_coef, tiny = scalars[0], scalars[1]
    keep = 1.0 - damp_coef
    mask = tank.shape[1] - 1
    raw = np.empty(NUM_LINES)
    mixed = np.empty(NUM_LINES)
    z = memory[: 4 * NUM_LINES].reshape(4, NUM_LINES)
    block = frames[1]
    left = block - frames[0] % block  # samples to the next block end, where process() flushes
    for t in range(out.shape[0]):
        w = frames[0] + t
        d = damp_coef * (1.0 if w == 0 else 0.0)  # the impulse
        s = keep * memory[4 * NUM_LINES] + d
        memory[4 * NUM_LINES] = s
        d = s
        for q in range(ap_l.shape[0]):
            g = ap_g[q]
            old = ap_buf[q, (w - ap_l[q]) & mask]
            v = d + g * old
            v = v if abs(v) >= tiny else 0.0
            ap_buf[q, w & mask] = v
            d = old - g * v
        for i in range(NUM_LINES):
            raw[i] = tank[i, (w - lines[i]) & mask]
        acc = 0.0
        for i in range(NUM_LINES):
            acc = _fma(gout[i], raw[i], acc)
        out[t] = acc
        mixed[:] = raw
        span = NUM_LINES // 2
        while span:  # the Hadamard butterflies
            for base in range(0, NUM_LINES, 2 * span):
                for j in range(base, base + span):
                    lo, hi = mixed[j], mixed[j + span]
                    mixed[j], mixed[j + span] = lo + hi, lo - hi
            span //= 2
        for i in range(NUM_LINES):
            o = _fma(gin[i], d, mixed[i])
            v1 = _fma(coef[0, i], o, z[0, i])
            z[0, i] = _fma(-coef[3, i], v1, _fma(coef[1, i], o, z[1, i]))
            z[1, i] = _fma(-coef[4, i], v1, coef[2, i] * o)
            v2 = _fma(coef[5, i], v1, z[2, i])
            z[2, i] = _fma(-coef[8, i], v2, _fma(coef[6, i], v1, z[3, i]))
            z[3, i] = _fma(-coef[9, i], v2, coef[7, i] * v1)
            mixed[i] = v2 if abs(v2) >= tiny else 0.0
        for i in range(NUM_LINES):
            tank[i, w & mask] = mixed[i]
        left -= 1
        if left == 0:
            left = block
            for k in range(4 * NUM_LINES + 1):
                if abs(memory[k]) < tiny:
                    memory[k] = 0.0
    frames[0] += out.shape[0]


@numba.njit(cache=True, nogil=True)
def _compact(buf, pos, keep, need):  # pragma: no cover - compiled
    """Move the last ``keep`` samples of every row of ``buf`` (2-D) to the front if ``need`` more do not fit.

    Always called with 2-D arrays (the diffusers' 3-D buffer as rows): one compile per dtype.
    """
    if pos + need <= buf.shape[1]:
        return pos
    start = pos - keep
    for r in range(buf.shape[0]):
        row = buf[r]
        source = row[start:pos]
        for k in range(keep):
            row[k] = source[k]
    return keep


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _run(x, y, ints, scalars, hist, er_d, er_g, damp, ap_buf, ap_l, ap_g,
         tank, lines, gin, gout, work, positions):  # fmt: skip  # pragma: no cover - compiled
    channels, n = x.shape
    n_ap = ap_l.shape[1]
    n_er = er_d.shape[1]
    pre = ints[0]
    block_max = ints[1]
    ap_block = ints[5]
    dry = scalars[0]
    wet_gain = scalars[1]
    width = scalars[2]
    late_gain = scalars[3]
    early_gain = scalars[4]
    damp_coef = scalars[5]
    keep = scalars.dtype.type(1.0) - damp_coef
    tiny = scalars[6]
    zero = scalars[7]
    one = scalars.dtype.type(1.0)
    side = wet_gain * width
    common = wet_gain * (one - width) * (one / scalars.dtype.type(channels))
    dt = x.dtype
    early = np.empty((channels, block_max), dt)
    late = np.empty((channels, block_max), dt)
    diffused = np.empty((channels, block_max), dt)
    # The absorption filters' coefficients and memories, flat (written back at the end).
    coef = work[:10].copy().reshape(-1)
    memory = work[10:].copy().reshape(-1)
    middle = np.empty(block_max, dt)
    start = 0
    while start < n:
        # Blocks end on multiples of block_max in absolute time, whatever the
        # calls' sizes, so that the flushes at block ends fall on the same samples.
        size = min(block_max - positions[3] % block_max, n - start)
        hw = _compact(hist, positions[0], ints[2], size)
        aw = _compact(ap_buf.reshape(-1, ap_buf.shape[2]), positions[1], ints[3], size)
        tw = _compact(tank, positions[2], ints[4], size)
        # Input stage, per channel: pre-delay, early reflections, damping, diffusion.
        for c in range(channels):
            # Slices first: indexing them from 0 spares numba's negative-index
            # handling, which would keep the loops from being vectorized.
            source = x[c, start : start + size]
            row = hist[c]
            into = row[hw : hw + size]
            for t in range(size):
                into[t] = source[t]
            acc = early[c, :size]
            for t in range(size):
                acc[t] = zero
            for j in range(n_er):
                g = er_g[c, j]
                base = hw - er_d[c, j]
                tap = row[base : base + size]
                for t in range(size):
                    acc[t] += g * tap[t]
            d = diffused[c, :size]
            tap = row[hw - pre : hw - pre + size]
            for t in range(size):
                d[t] = damp_coef * tap[t]
        # Damping: a one-pole low-pass per channel, memories in registers, two
        # channels at a time so that their recursions overlap.
        for c in range(0, channels, 2):
            d0 = diffused[c, :size]
            d1 = diffused[min(c + 1, channels - 1), :size]
            s0 = damp[c]
            s1 = damp[min(c + 1, channels - 1)]
            if c + 1 < channels:
                for t in range(size):
                    s0 = keep * s0 + d0[t]
                    s1 = keep * s1 + d1[t]
                    d0[t] = s0
                    d1[t] = s1
                damp[c + 1] = s1
            else:
                for t in range(size):
                    s0 = keep * s0 + d0[t]
                    d0[t] = s0
            damp[c] = s0
        for c in range(channels):
            d = diffused[c, :size]
            for q in range(n_ap):
                g = ap_g[c, q]
                line = ap_buf[c, q]
                length = ap_l[c, q]
                sub = 0
                while sub < size:
                    m = min(ap_block, size - sub)
                    tap = line[aw + sub - length : aw + sub - length + m]
                    into = line[aw + sub : aw + sub + m]
                    seg = d[sub : sub + m]
                    for t in range(m):
                        old = tap[t]
                        v = seg[t] + g * old
                        v = v if abs(v) >= tiny else zero
                        into[t] = v
                        seg[t] = old - g * v
                    sub += m
        # Tank: the late outputs from the delay lines' taps; the taps through the
        # Hadamard matrix (unnormalised; the 1/4 is in the filters), the input
        # injected, the absorption filters, written back.
        _feedback(tank.reshape(-1), tank.shape[1], tw, lines, diffused.reshape(-1), block_max,
                  gin.reshape(-1), gout.reshape(-1), late.reshape(-1), coef, memory, size, tiny)  # fmt: skip
        # Output: late + early, width (blend towards the channels' mean), mix.
        mid = middle[:size]
        for t in range(size):
            mid[t] = zero
        for c in range(channels):
            w = late[c, :size]
            e = early[c, :size]
            for t in range(size):
                v = late_gain * w[t] + early_gain * e[t]
                w[t] = v
                mid[t] += v
        for c in range(channels):
            source = x[c, start : start + size]
            out = y[c, start : start + size]
            w = late[c, :size]
            for t in range(size):
                out[t] = dry * source[t] + side * w[t] + common * mid[t]
        positions[0] = hw + size
        positions[1] = aw + size
        positions[2] = tw + size
        positions[3] += size
        start += size
        if positions[3] % block_max == 0:
            # Flush the recursive filters' memories at block ends. Within a
            # block they may dip into subnormals while a tail dies away, but
            # only for part of one block.
            for k in range(4 * NUM_LINES):
                if abs(memory[k]) < tiny:
                    memory[k] = zero
            for c in range(channels):
                if abs(damp[c]) < tiny:
                    damp[c] = zero
    for k in range(4 * NUM_LINES):
        work[10 + k // NUM_LINES, k % NUM_LINES] = memory[k]
