"""Compute the 250-point spherical 21-design that AllRAD decodes to, and write sonicmix/spatial/_design.py.

A spherical t-design is a set of points over which every polynomial of degree
<= t averages to its mean over the sphere: every spherical harmonic of degree
1 to t sums to 0 over the points. Zotter and Frank's AllRAD uses a 21-design
(Hardin and Sloane's table has one of 240 points, found by a symmetric search);
rather than copy a table, this script computes a 21-design of 250 points,
enough angles (500, less 3 for a rotation) to satisfy the 483 equations without
the symmetry a 240-point design needs:

1. start from the 250-point Fibonacci (golden-angle) sphere;
2. minimise the design energy ``sum_ij sum_{n=1..t} (2n + 1) P_n(x_i . x_j)``
   (zero exactly for a t-design) with L-BFGS, a few hundred iterations;
3. solve ``sum_i Y_nm(x_i) = 0`` for every n = 1..t and m (483 real equations
   in 500 angles) by Gauss-Newton steps of least norm, with the analytic
   Jacobian, to rounding.

Run: ``python scripts/make_t_design.py`` (a few minutes on one core). It
prints the largest residual ``|mean_i Y_nm(x_i)|`` over degrees 1 to 21, and
refuses to write the table unless it is below 1e-12.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from numpy.polynomial import legendre
from scipy.optimize import minimize
from scipy.special import sph_harm_y

POINTS = 250
DEGREE = 21
OUT = Path(__file__).resolve().parents[1] / "sonicmix" / "spatial" / "_design.py"


def fibonacci_sphere(n: int) -> np.ndarray:
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    phi = np.pi * (1.0 + 5.0**0.5) * k
    r = np.sqrt(1.0 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def design_energy(flat: np.ndarray, n: int, t: int) -> tuple[float, np.ndarray]:
    x = flat.reshape(n, 3)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    u = x / norm
    c = np.clip(u @ u.T, -1.0, 1.0)
    coef = np.zeros(t + 1)
    coef[1:] = 2 * np.arange(1, t + 1) + 1
    energy = legendre.legval(c, coef).sum() / n**2
    grad = 2.0 * (legendre.legval(c, legendre.legder(coef)) @ u) / n**2
    grad = (grad - (grad * u).sum(1, keepdims=True) * u) / norm
    return float(energy), grad.ravel()


def solve(n: int, t: int) -> np.ndarray:
    t0 = time.process_time()
    result = minimize(design_energy, fibonacci_sphere(n).ravel(), args=(n, t), jac=True, method="L-BFGS-B",
                      options={"maxiter": 500, "ftol": 1e-30, "gtol": 1e-16})
    x = result.x.reshape(n, 3)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cpu_s = time.process_time() - t0
    print(f"L-BFGS: energy {result.fun:.3g} after {result.nit} iterations, {cpu_s:.0f} s CPU")

    degree = np.array([d for d in range(1, t + 1) for m in range(d + 1)])
    order = np.array([m for d in range(1, t + 1) for m in range(d + 1)])
    positive = order > 0
    up = np.sqrt((degree - order) * (degree + order + 1))[:, None]

    def harmonics(theta, phi, m=order):
        return sph_harm_y(degree[:, None], m[:, None], theta[None, :], phi[None, :])

    def residuals(p):
        s = harmonics(p[:n], p[n:]).sum(axis=1)
        return np.concatenate([s.real, s.imag[positive]])

    def jacobian(p):
        theta, phi = p[:n], p[n:]
        y = harmonics(theta, phi)
        y_up = np.where(up > 0, harmonics(theta, phi, np.minimum(order + 1, degree)), 0.0)
        d_theta = order[:, None] / np.tan(theta)[None, :] * y + up * np.exp(-1j * phi)[None, :] * y_up
        d_phi = 1j * order[:, None] * y
        return np.concatenate([
            np.concatenate([d_theta.real, d_phi.real], axis=1),
            np.concatenate([d_theta.imag[positive], d_phi.imag[positive]], axis=1),
        ])

    p = np.concatenate([np.arccos(np.clip(x[:, 2], -1, 1)), np.arctan2(x[:, 1], x[:, 0])])
    t0 = time.process_time()
    r = residuals(p)
    steps = 0
    while steps < 100:
        steps += 1
        delta = np.linalg.lstsq(jacobian(p), -r, rcond=None)[0]  # the least-norm Gauss-Newton step
        scale = 1.0
        while True:  # halve a step that does not reduce the residual
            trial = residuals(p + scale * delta)
            if np.linalg.norm(trial) < np.linalg.norm(r) or scale < 1e-6:
                break
            scale /= 2.0
        p, r = p + scale * delta, trial
        if np.abs(r).max() < 1e-13:
            break
    cpu_s = time.process_time() - t0
    print(f"Gauss-Newton: residual {np.abs(r).max():.3g} after {steps} steps, {cpu_s:.0f} s CPU")
    theta, phi = p[:n], p[n:]
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=1)


def worst_residual(points: np.ndarray, t: int) -> float:
    theta = np.arccos(np.clip(points[:, 2], -1, 1))
    phi = np.arctan2(points[:, 1], points[:, 0])
    worst = 0.0
    for d in range(1, t + 1):
        for m in range(d + 1):
            worst = max(worst, float(np.abs(sph_harm_y(d, m, theta, phi).mean())))
    return worst


def main() -> int:
    points = solve(POINTS, DEGREE)
    worst = worst_residual(points, DEGREE)
    print(f"largest |mean of Y_nm| over degrees 1..{DEGREE}: {worst:.3g}")
    if worst > 1e-12:
        print("not a design to rounding: table not written", file=sys.stderr)
        return 1
    rows = "\n".join(f"    ({x!r}, {y!r}, {z!r})," for x, y, z in points.tolist())
    OUT.write_text(
        '"""A spherical 21-design of 250 points (unit vectors x front, y left, z up).\n\n'
        "Generated by scripts/make_t_design.py (do not edit): every spherical harmonic of degree 1 to 21\n"
        f'sums to 0 over these points (largest |mean| {worst:.1e}).\n"""\n\n'
        f"DESIGN: tuple[tuple[float, float, float], ...] = (  # {POINTS} points, degree {DEGREE}\n"
        + rows
        + "\n)\n"
    )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
