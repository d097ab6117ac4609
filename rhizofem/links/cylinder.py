"""The smooth root that releases the same mass: Carslaw & Jaeger's cylinder, inverted.

A cylinder of radius a held at c_in in an unbounded medium of diffusivity D, initially free of
solute, takes up per unit length by time t (Carslaw & Jaeger 1959, §13.5, the region bounded
internally by a circular cylinder, with the flux integrated over time)

    Q(t; a) = (8 c_in / π) ∫_0^∞ (1 − exp(−D u² t)) / (u³ [J0²(au) + Y0²(au)]) du.

For short times Q → 2πa · 2 c_in √(Dt/π) (a flat wall of the cylinder's area, plus D t c_in π
from the curvature); for long times it grows like 4π D c_in t / ln(4Dt/(a²e^{2γ})). The integral
is taken in s = ln(au) with scipy's ``quad`` on panels; below s = −30 the integrand is replaced
by its small-u form D t / (1 + (2/π)²(s − ln 2 + γ)²) (J0 → 1, Y0 → (2/π)(ln(au/2) + γ)),
integrated in closed form (that tail decays only like 1/s² and holds percents of Q at long
times).

The **equivalent radius** of a root in an image is the a for which a cylinder as long as the
root, L, releases the root's mass M by t_end: L·Q(t_end; a) = M, found by Brent's method
(Q increases with a; Q ≥ the flat-wall value 4 a c_in √(π D t) bounds a from above).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special

from rhizofem.errors import InputError

__all__ = ["equivalent_radius", "release_per_length", "root_geometry"]

_S_LOW, _S_HIGH = -30.0, 16.0


def release_per_length(a: float, D: float, c_in: float, t: float) -> float:
    """Q(t; a): amount entering the medium per unit length of a cylinder of radius ``a`` held at
    ``c_in`` for time ``t`` (consistent units: e.g. mm, mm² s⁻¹, µg mm⁻³, s → µg mm⁻¹)."""
    if a <= 0 or D <= 0 or t <= 0:
        return 0.0
    Dt = D * t

    def integrand(s):
        u = math.exp(s) / a
        den = special.j0(a * u) ** 2 + special.y0(a * u) ** 2
        return -math.expm1(-Dt * u * u) / (u * u * den)

    # where exp(−D u² t) switches off (s ≈ ln(a/√(Dt))), the integrand turns from D t-like to
    # decaying: panels around it keep quad accurate over many decades of a/√(Dt)
    knee = math.log(a / math.sqrt(Dt))
    edges = np.unique(np.clip(np.concatenate([np.linspace(_S_LOW, _S_HIGH, 47), knee + np.arange(-6.0, 7.0)]),
                              _S_LOW, max(_S_HIGH, knee + 8.0)))
    body = sum(integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-12, limit=200)[0]
               for lo, hi in zip(edges[:-1], edges[1:], strict=True))
    x = (2.0 / math.pi) * (_S_LOW - math.log(2.0) + np.euler_gamma)
    tail = Dt * (math.pi / 2.0) * (math.atan(x) + math.pi / 2.0)
    return 8.0 * c_in / math.pi * (body + tail)


def equivalent_radius(mass: float, length: float, D: float, c_in: float, t: float) -> float:
    """The radius a with length · Q(t; a) = mass (same units as :func:`release_per_length`)."""
    if mass <= 0 or length <= 0:
        raise InputError(f"equivalent radius: mass {mass} and root length {length} must be > 0.")
    target = mass / length
    a_hi = target / (4.0 * c_in * math.sqrt(math.pi * D * t)) * (1.0 + 1e-9)   # flat wall: Q ≥ 4 a c √(πDt)
    a_lo = 1e-9 * a_hi
    f = lambda a: release_per_length(a, D, c_in, t) - target  # noqa: E731
    if f(a_lo) > 0:
        raise InputError(f"equivalent radius: a cylinder of radius {a_lo:.3g} already releases more than "
                         f"{target:.4g} per unit length (a mass too small to invert).")
    return float(optimize.brentq(f, a_lo, a_hi, xtol=1e-14 * a_hi, rtol=1e-12))


def root_geometry(root: np.ndarray, voxel: float) -> dict:
    """The root's axis, length and radius from a boolean image of its voxels (3D).

    The axis is the image axis along which the root runs: of the axes whose two end faces
    the root touches, the one along which its cross-sections vary least (a root cut by the
    image); without such an axis, the one of largest extent. The length is the root's extent
    along it (voxels × voxel size), the radius √(mean cross-section area / π)."""
    root = np.asarray(root, bool)
    if root.ndim != 3 or not root.any():
        raise InputError("the image has no root voxels (3D): no root length and radius to measure.")
    candidates = []
    for axis in range(3):
        areas = root.sum(axis=tuple(i for i in range(3) if i != axis))
        occupied = np.flatnonzero(areas)
        through = areas[0] > 0 and areas[-1] > 0
        spread = float(np.std(areas[occupied]) / np.mean(areas[occupied]))
        candidates.append((not through, spread, -len(occupied), axis, occupied, areas))
    _, _, _, axis, occupied, areas = min(candidates)
    length = (occupied[-1] - occupied[0] + 1) * voxel
    radius = math.sqrt(float(np.mean(areas[occupied])) * voxel * voxel / math.pi)
    return {"axis": "xyz"[axis], "length": length, "radius": radius,
            "through_image": bool(areas[0] > 0 and areas[-1] > 0)}
