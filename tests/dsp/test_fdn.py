"""The feedback delay network's design rules and kernel invariants."""

from __future__ import annotations

import copy
import math
from itertools import combinations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal

from sonicmix.dsp import fdn

_PARAMS = dict(
    decay_s=1.5,
    decay_low_s=3.0,
    decay_high_s=0.75,
    crossover_low_hz=250.0,
    crossover_high_hz=4000.0,
    pre_delay_s=0.0,
    early_db=-6.0,
    damping_hz=10000.0,
    diffusion=0.75,
    width=1.0,
    mix=1.0,
)


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % k for k in range(2, math.isqrt(n) + 1))


def _run(design, x, sizes):
    state = fdn.new_state(design, x.shape[0], x.dtype)
    out, start, i = [], 0, 0
    while start < x.shape[1]:
        stop = min(x.shape[1], start + sizes[i % len(sizes)])
        out.append(fdn.process(x[:, start:stop], state))
        start, i = stop, i + 1
    return np.concatenate(out, axis=1), state


def test_distinct_primes_are_primes_at_or_above_their_targets():
    targets = [10.0, 10.2, 10.9, 100.0, 7919.0]
    primes = fdn.distinct_primes(targets)
    assert len(set(primes)) == len(primes)
    assert all(_is_prime(p) and p >= t for p, t in zip(primes, targets, strict=True))


@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000, 96000, 192000])
def test_delay_lines_are_mutually_prime_and_span_21_to_63_ms(sample_rate):
    design = fdn.design_fdn(2, sample_rate, **_PARAMS)
    lines = [int(m) for m in design.line_samples]
    assert all(math.gcd(a, b) == 1 for a, b in combinations(lines, 2))
    # Targets 21..63 ms, each rounded up to a prime (prime gaps here are well under 1 %).
    assert 0.021 * sample_rate <= min(lines) and max(lines) <= 0.064 * sample_rate


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
def test_absorption_filters_follow_jots_rule(sample_rate):
    # Each trip through a line of m samples must lose 60 m / (rate T60) dB in every band.
    design = fdn.design_fdn(1, sample_rate, **_PARAMS)
    for m, sos in zip(design.line_samples, design.absorption_sos, strict=True):
        seconds = m / sample_rate
        freqs = [0.0, math.sqrt(250.0 * 4000.0), sample_rate / 2]
        _, h = scipy.signal.sosfreqz(sos, worN=freqs, fs=sample_rate)
        got_db = 20 * np.log10(np.abs(h))
        want_db = [-60 * seconds / _PARAMS[k] for k in ("decay_low_s", "decay_s", "decay_high_s")]
        # DC and Nyquist are the shelves' exact asymptotes; at 1 kHz, two octaves from each
        # crossover, a second-order shelf is within 2 % of its asymptote.
        np.testing.assert_allclose(got_db[[0, 2]], np.array(want_db)[[0, 2]], rtol=1e-9)
        assert got_db[1] == pytest.approx(want_db[1], rel=0.03)


def test_output_patterns_are_orthogonal_hadamard_eigenvectors():
    h = scipy.linalg.hadamard(fdn.NUM_LINES) / math.sqrt(fdn.NUM_LINES)
    patterns = fdn._OUTPUT_PATTERNS
    np.testing.assert_array_equal(np.abs(patterns), 1.0)
    np.testing.assert_allclose(patterns @ patterns.T, fdn.NUM_LINES * np.eye(len(patterns)))
    for p in patterns:
        product = h @ p
        assert np.allclose(product, p) or np.allclose(product, -p)


def test_feedback_mixing_is_lossless():
    # With the absorption filters replaced by the identity, the energy held in the delay
    # lines must stay constant once the input has stopped: the mixing is orthogonal.
    design = fdn.design_fdn(1, 48000, **{**_PARAMS, "diffusion": 0.0})
    state = fdn.new_state(design, 1, np.float64)
    state.work[:] = 0.0
    state.work[0] = 1.0
    state.work[5] = 1.0 / math.sqrt(fdn.NUM_LINES)  # the kernel's unnormalised Hadamard needs 1/4
    x = np.zeros((1, 20000))
    x[0, 0] = 1.0
    fdn.process(x[:, :5000], state)  # the damping filter's memory has died away

    def held_energy() -> float:
        tw = state.positions[2]
        return sum(float(np.sum(state.tank[i, tw - m : tw] ** 2)) for i, m in enumerate(design.line_samples))

    before = held_energy()
    for _ in range(3):
        fdn.process(x[:, 5000:10000], state)
        # Relative 1e-12: float64 rounding over a few thousand passes of additions.
        assert held_energy() == pytest.approx(before, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_any_split_gives_bit_identical_output(dtype, rng):
    design = fdn.design_fdn(6, 48000, **{**_PARAMS, "pre_delay_s": 0.013})
    x = (0.3 * rng.standard_normal((6, 30000))).astype(dtype)
    whole, _ = _run(design, x, (30000,))
    for sizes in [(1,), (2,), (63, 64, 65), (4097,), tuple(rng.integers(1, 3000, 7))]:
        parts, _ = _run(design, x, sizes)
        np.testing.assert_array_equal(parts, whole)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silence_gives_silence_and_tails_die_to_exact_zero(dtype, rng):
    design = fdn.design_fdn(2, 48000, **{**_PARAMS, "decay_s": 0.1, "decay_low_s": 0.1, "decay_high_s": 0.1})
    y, _ = _run(design, np.zeros((2, 5000), dtype), (5000,))
    assert not y.any()
    x = np.zeros((2, 4 * 48000), dtype)
    x[:, :2000] = rng.standard_normal((2, 2000))
    y, _ = _run(design, x, (4096,))
    # 3 s after the burst the tail is 30 decay times (1800 dB) down: flushed to exact zeros,
    # and no value on the way was a (slow) subnormal number.
    assert not y[:, 3 * 48000 :].any()
    tiny = np.finfo(dtype).tiny
    assert np.all((y == 0) | (np.abs(y) >= tiny))


def test_late_tail_energy_is_calibrated_in_every_channel():
    # The calibration simulates channel 0; channels 1-3 have other diffusers and sign
    # patterns, so their energy is an independent check (10 %: their own diffusers and
    # output patterns colour the response slightly differently).
    params = {**_PARAMS, "early_db": -120.0}
    design = fdn.design_fdn(4, 48000, **params)
    x = np.zeros((4, 6 * 48000))
    y = np.zeros_like(x)
    for c in range(4):
        impulse = np.zeros_like(x)
        impulse[c, 0] = 1.0
        y[c] = _run(design, impulse, (48000,))[0][c]
    # Scaled to 1 / channels per input channel (every input feeds every output).
    energy = 4 * np.sum(y**2, axis=1)
    assert energy[0] == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(energy[1:], 1.0, rtol=0.1)


def test_state_is_independent_after_deepcopy(rng):
    design = fdn.design_fdn(2, 48000, **_PARAMS)
    x = rng.standard_normal((2, 6000))
    state = fdn.new_state(design, 2, np.float64)
    fdn.process(x[:, :3000], state)
    branch = copy.deepcopy(state)
    a = fdn.process(x[:, 3000:], state)
    b = fdn.process(x[:, 3000:], branch)
    np.testing.assert_array_equal(a, b)


def _reference(x: np.ndarray, state: fdn.FdnState) -> np.ndarray:
    """The network sample by sample in plain numpy, from the state's coefficients: an oracle for
    the compiled kernel's blocks, tiles and transposes (the flushes of values below 1e-30 are
    left out: nothing here is that small)."""
    ints, scalars, er_d, er_g, ap_l, ap_g, lines, gin, gout = state.coefs
    dry, wet, width, late_gain, early_gain, damp_coef = scalars[:6]
    b = state.work[:10].astype(np.float64)
    channels, n = x.shape
    hadamard = scipy.linalg.hadamard(fdn.NUM_LINES)
    padded = np.concatenate((np.zeros((channels, int(ints[2]))), x), axis=1)  # history before t = 0
    damp = np.zeros(channels)
    diffusers = [[np.zeros(n + int(m)) for m in row] for row in ap_l]
    tank = np.zeros((fdn.NUM_LINES, n + int(lines.max())))
    z = np.zeros((4, fdn.NUM_LINES))
    y = np.empty_like(x)
    for t in range(n):
        now = t + int(ints[2])
        early = np.array([er_g[c] @ padded[c, now - er_d[c]] for c in range(channels)])
        damp = (1.0 - damp_coef) * damp + damp_coef * padded[:, now - int(ints[0])]
        diffused = damp.copy()
        for c in range(channels):
            for q, (m, g) in enumerate(zip(ap_l[c], ap_g[c], strict=True)):
                line = diffusers[c][q]
                old = line[t]  # written m samples ago (line index = time + m)
                v = diffused[c] + g * old
                line[t + m] = v
                diffused[c] = old - g * v
        taps = np.array([tank[i, t] for i in range(fdn.NUM_LINES)])  # written lines[i] samples ago
        late = gout @ taps
        o = hadamard @ taps + gin.T @ diffused
        v1 = b[0] * o + z[0]
        z[0], z[1] = b[1] * o - b[3] * v1 + z[1], b[2] * o - b[4] * v1
        v2 = b[5] * v1 + z[2]
        z[2], z[3] = b[6] * v1 - b[8] * v2 + z[3], b[7] * v1 - b[9] * v2
        tank[np.arange(fdn.NUM_LINES), t + lines] = v2
        w = late_gain * late + early_gain * early
        y[:, t] = dry * x[:, t] + wet * width * w + wet * (1.0 - width) * w.mean()
    return y


def test_kernel_matches_a_per_sample_reference(rng):
    # 16 kHz: lines of 337-1009 samples, so 5000 samples cross 14 blocks of 337 (337 = 42 tiles
    # of 8 and one single sample); three channels, pre-delay, partial width and mix.
    params = {**_PARAMS, "pre_delay_s": 0.005, "width": 0.6, "mix": 0.7}
    design = fdn.design_fdn(3, 16000, **params)
    x = rng.standard_normal((3, 5000))
    state = fdn.new_state(design, 3, np.float64)
    want = _reference(x, fdn.new_state(design, 3, np.float64))
    got = fdn.process(x, state)
    # float64, operations in another order (fused multiply-adds): rounding, measured 5e-15 of the peak.
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * np.abs(want).max())
    single = fdn.process(x.astype(np.float32), fdn.new_state(design, 3, np.float32))
    # float32 all the way: measured 2e-6 of the peak (float32 rounding through the recursion).
    np.testing.assert_allclose(single, want, rtol=0, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("sample_rate", [16000, 44100])
def test_impulse_tail_is_process_of_an_impulse_bit_for_bit(sample_rate):
    # The level calibration's own kernel (so that float32 audio never compiles the float64 network)
    # must give what the network gives, to the last bit: the late level, hence every output sample,
    # is then the same as when the calibration ran the network. 2.5 s of a short tail: two or more
    # 65536-sample calls, hundreds of flushes at block ends, and the last samples flushed to 0.
    tank = (sample_rate, 0.1, 0.15, 0.05, 250.0, 4000.0)
    design = fdn._design(
        1, *tank, 0.0, 10000.0, 0.75, late_gain=1.0, early_gain=0.0, width=1.0, mix=1.0
    )  # fmt: skip
    n = int(2.5 * sample_rate)
    impulse = np.zeros((1, n))
    impulse[0, 0] = 1.0
    want = _run(design, impulse, (65536,))[0][0]
    tail = fdn._ImpulseTail(design)
    got = np.empty(n)
    for start in range(0, n, 65536):
        tail.run(got[start : start + 65536])
    np.testing.assert_array_equal(got, want)
    assert want[-1] == 0.0 and np.count_nonzero(want) > n // 4
    energy = fdn._late_energy.__wrapped__(*tank, 10000.0, 0.75)
    assert energy == float(np.sum(want[: math.ceil(0.25 * sample_rate)] ** 2))
