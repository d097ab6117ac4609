"""Where DOC comes from: root exudation through the root–liquid faces, POM hydrolysis into the
liquid that touches the POM, and (optionally) necromass returning to DOC.

Exudation is a flux J(t) (µg C cm⁻² d⁻¹) per face shared by a root voxel and a liquid voxel
(h² each): constant (``[root] exudation_ug_C_cm2_d``, optionally until ``exudation_until_d``),
or a table J(t) read from a CSV file or from a ``rhizofem exudation`` run's summary.json (its
inlet flux per contact area). The mass a step adds is the exact integral of the piecewise-linear
J over the step, and the same number is counted as exuded, so the carbon balance is exact.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rhizofem.errors import InputError

from .config import Root

__all__ = ["Exudation", "exudation_schedule"]


@dataclass(frozen=True)
class Exudation:
    """J(t) as a piecewise-linear table (times in h, flux in µg C cm⁻² h⁻¹), held beyond its ends."""

    t_h: np.ndarray
    flux_h: np.ndarray
    source: str
    inputs: dict = field(default_factory=dict)

    def mass_per_cm2(self, t0: float, t1: float) -> float:
        """∫ J dt over [t0, t1] (µg C cm⁻²), exact for the piecewise-linear table."""
        t, J = self.t_h, self.flux_h
        knots = np.unique(np.concatenate(([t0, t1], t[(t > t0) & (t < t1)])))
        values = np.interp(knots, t, J)
        return float(np.sum(0.5 * (values[1:] + values[:-1]) * np.diff(knots)))


def _from_csv(path: Path, scale: float) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise InputError(f"{path}: cannot read the exudation table ({err}).") from None
    if not rows or not {"t_d", "flux_ug_C_cm2_d"} <= set(rows[0]):
        raise InputError(f"{path}: the exudation table needs the columns t_d and flux_ug_C_cm2_d "
                         f"(found {sorted(rows[0]) if rows else 'no rows'}). Fix: name the columns so.")
    try:
        t = np.array([float(r["t_d"]) for r in rows]) * scale
        J = np.array([float(r["flux_ug_C_cm2_d"]) for r in rows])
    except ValueError as err:
        raise InputError(f"{path}: a value of the exudation table is not a number ({err}).") from None
    return t, J


def _from_summary(path: Path, scale: float) -> tuple[np.ndarray, np.ndarray, dict]:
    from rhizofem.links import Upstream

    up = Upstream(path, command="exudation", role="exudation run whose inlet flux is the root's exudation")
    try:
        t_s = np.asarray(up.get("results.times_s"), dtype=float)
        rate = np.asarray(up.get("results.inlet_flux_rate_ug_s"), dtype=float)
        area = up.number("results.inlet_area_mm2", positive=True)
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: results.times_s or inlet_flux_rate_ug_s is not a list of numbers ({err}). "
                         "Fix: give the summary.json of a `rhizofem exudation` run.") from None
    flux = rate / (area * 1e-2) * 86400.0  # µg s⁻¹ / cm² → µg cm⁻² d⁻¹
    up.take("inlet_area_mm2", area)
    up.take("points", int(t_s.size))
    up.take("time_scale", scale)
    return t_s / 86400.0 * scale, flux, {"exudation_summary": up.record()}


def exudation_schedule(root: Root, t_end_h: float) -> Exudation:
    """J(t) from the ``[root]`` section."""
    inputs: dict = {}
    if root.exudation_table is not None or root.exudation_summary is not None:
        if root.exudation_table is not None:
            t_d, J_d = _from_csv(root.exudation_table, root.exudation_time_scale)
            source = f"table {root.exudation_table}"
        else:
            t_d, J_d, inputs = _from_summary(root.exudation_summary, root.exudation_time_scale)
            source = f"exudation run {root.exudation_summary}"
        if t_d.size == 0 or np.any(np.diff(t_d) <= 0) or not np.all(np.isfinite(J_d)) or np.any(J_d < 0):
            raise InputError(f"{source}: times must increase strictly and fluxes be finite and >= 0.")
        return Exudation(t_d * 24.0, J_d / 24.0, source, inputs)
    J = root.exudation_ug_C_cm2_d / 24.0
    if root.exudation_until_d is None:
        return Exudation(np.array([0.0, max(t_end_h, 1.0)]), np.array([J, J]), "constant")
    t1 = root.exudation_until_d * 24.0
    eps = 1e-9 * max(t1, 1.0)  # a step, resolved by a knot on each side
    return Exudation(np.array([0.0, t1, t1 + eps, max(t_end_h, t1 + 2 * eps)]), np.array([J, J, 0.0, 0.0]),
                     f"constant until {root.exudation_until_d} d")


def hydrolysed(pom: np.ndarray, k_per_h: np.ndarray | float, dt_h: float) -> np.ndarray:
    """POM carbon released over a step by first-order decay at rate k (exact)."""
    return -pom * np.expm1(-np.asarray(k_per_h) * dt_h)


def first_order_released(pool: np.ndarray, k_per_h: float, dt_h: float) -> np.ndarray:
    return -pool * math.expm1(-k_per_h * dt_h) if k_per_h > 0 else np.zeros_like(pool)
