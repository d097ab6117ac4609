"""Soil-physical relations shared by the models.

Millington–Quirk (1961) tortuosity for a solute in the liquid phase of a soil with porosity
φ and volumetric water content θ. rhizofem uses the form

    D_eff / D_liquid = θ^(10/3) / φ²          (per total soil volume)

i.e. an impedance factor f(θ) = θ^(7/3) / φ² on the liquid-phase flux θ D ∇c. It is the
form of Millington & Quirk's 1961 paper for partially saturated media, the one the seed
(Schnepf et al. 2022, case study 4) quotes for its unsaturated sand: 2.3457e-2 at θ = 0.19,
φ = 0.41. The seed's "saturated" value 2.2628e-1 equals φ^(5/3) and is no standard form of
the relation (θ^(10/3)/φ² at θ = φ gives φ^(4/3) = 0.3046), so rhizofem does not use it.
"""

from __future__ import annotations

from rhizofem.errors import InputError

__all__ = ["impedance_factor", "millington_quirk", "moldrup"]


def _check(theta: float, phi: float) -> None:
    if not (0.0 < phi <= 1.0):
        raise InputError(f"porosity φ = {phi} must lie in (0, 1].")
    # θ and φ usually come from voxel counts or sums of fractions: allow their round-off
    if not (0.0 <= theta <= phi * (1.0 + 1e-12)):
        raise InputError(f"water content θ = {theta} must lie in [0, φ = {phi}]: water fills pores only.")


def millington_quirk(theta: float, phi: float) -> float:
    """Relative effective diffusivity θ^(10/3)/φ² (per total volume, liquid diffusivity 1)."""
    _check(theta, phi)
    return theta ** (10.0 / 3.0) / phi**2


def impedance_factor(theta: float, phi: float) -> float:
    """Impedance (tortuosity) factor f = θ^(7/3)/φ², so that θ D f = D θ^(10/3)/φ²."""
    _check(theta, phi)
    return theta ** (7.0 / 3.0) / phi**2


def moldrup(theta: float, phi: float, b: float | None) -> float | None:
    """φ² (θ/φ)^(1 + b/3): Moldrup et al. (2003)'s Campbell-type relative diffusivity (per
    total volume), with Campbell's pore-size parameter b (as tabulated by Ogée et al. 2016);
    None without b."""
    if b is None:
        return None
    _check(theta, phi)
    return phi**2 * (theta / phi) ** (1.0 + b / 3.0)
