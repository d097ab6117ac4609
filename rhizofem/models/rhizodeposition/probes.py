"""Concentration histories at probe points: the boundary conditions a smaller-scale model takes.

``[probes]`` places probes at given points or along one root's surface (at arclength
positions from its base, at distances from its surface, on the side of the root given by
t × e_z, t the root's local direction; t × e_x for a vertical root), and the run writes the
concentration in the soil water at each probe at ``times_d`` (``probes.csv``, ``results.probes``).
The values are the closed-form superposition itself (:func:`~.superposition.concentration_at_points`
of every root's kernels, no grid and no cut-off), so they do not depend on the grid's voxels;
the quadrature resolves the kernels down to the probes' distance from the root axis.

A root probe stays where it is while the root grows: before the tip has passed, it sees the
plume ahead of the tip (nothing for a point source far ahead). ``rhizofem exudation`` reads a
column of probes.csv as its inlet concentration c_in(t) (``[physics] c_in_table``); the
content per g dry soil, θ R c / ρ_b, is also reported (``content_mg_g``): the mucilage per
distance that ``rhizofem rhizosphere`` places around a root.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from rhizofem.config import param
from rhizofem.errors import ConfigError, InputError

from .superposition import SourceParams, Trajectory, concentration_at_points, kernels, resolution_factor

__all__ = ["ProbeSet", "Probes", "probe_histories", "probe_set"]


@dataclass(frozen=True)
class Probes:
    points_cm: tuple[tuple[float, float, float], ...] = param(
        (), "probe points x, y, z (cm); each gets a column p<k>_ug_cm3 in probes.csv", example=[[0.0, 0.5, -3.0]])
    root: int | None = param(None, "index of the root (0: the first root, the tap or main root of a generated or "
                                   "CPlantBox root system) along whose surface probes sit", ge=0, example=0)
    positions_cm: tuple[float, ...] = param(
        (), "root probes: arclength from the root's base along its final path (cm)", ge=0, example=[2.0, 4.0])
    distances_um: tuple[float, ...] = param(
        (0.0,), "root probes: distances from the root surface outwards (µm); 0 = on the surface", ge=0)
    root_radius_cm: float | None = param(
        None, "root probes: radius of the root surface (cm); unset: the radius of the root's segment there",
        gt=0, example=0.05)
    times_d: tuple[float, ...] | None = param(
        None, "times of the histories (d), increasing; unset: [output] days", ge=0, example=[1.0, 1.5, 2.0])

    def __post_init__(self):
        if (self.root is None) != (not self.positions_cm):
            raise ConfigError("root and positions_cm go together: root probes need both the root and the "
                              "arclength positions along it. Fix: give both, or neither.")
        if self.times_d is not None and (not self.times_d or list(self.times_d) != sorted(set(self.times_d))):
            raise ConfigError("times_d must be increasing without repeats. Fix: e.g. times_d = [1.0, 1.5, 2.0].")

    @property
    def enabled(self) -> bool:
        return bool(self.points_cm) or self.root is not None


@dataclass
class ProbeSet:
    names: list[str]
    points_cm: np.ndarray           # (n, 3)
    axis_distance_cm: np.ndarray    # (n,) distance from the root axis (root probes), inf for points
    root: dict | None = None        # root probes: root, positions, distances, radii


def _normal(t: np.ndarray) -> np.ndarray:
    n = np.cross(t, [0.0, 0.0, 1.0])
    if np.linalg.norm(n) < 1e-6:
        n = np.cross(t, [1.0, 0.0, 0.0])
    return n / np.linalg.norm(n)


def probe_set(cfg: Probes, rs, trajs: list[Trajectory]) -> ProbeSet:
    """The probe points of ``[probes]`` on the root system ``rs`` (with its tip trajectories)."""
    names = [f"p{k}" for k in range(len(cfg.points_cm))]
    points = [np.asarray(p, float) for p in cfg.points_cm]
    axis = [np.inf] * len(points)
    root = None
    if cfg.root is not None:
        by_root = {tr.root_id: tr for tr in trajs}
        if cfg.root not in by_root:
            raise InputError(f"[probes] root = {cfg.root}: the root system ({rs.source or 'no source'}) has roots "
                             f"0..{rs.n_roots - 1} and root {cfg.root} is not one of them with segments. Fix: "
                             "choose one of them.")
        tr = by_root[cfg.root]
        s = tr.arclength_cm
        chain = rs.chain(cfg.root)
        radii = []
        for pos in cfg.positions_cm:
            if pos > s[-1] + 1e-12:
                raise InputError(f"[probes] positions_cm: {pos} cm is beyond root {cfg.root}'s length {s[-1]:.4g} cm. "
                                 "Fix: positions within the root's final length.")
            k = int(np.clip(np.searchsorted(s, pos, side="right") - 1, 0, len(s) - 2))
            tangent = tr.points_cm[k + 1] - tr.points_cm[k]
            tangent = tangent / max(np.linalg.norm(tangent), 1e-300)
            radius = cfg.root_radius_cm if cfg.root_radius_cm is not None else float(rs.radius_cm[chain[k]])
            radii.append(radius)
            centre = tr.at_length(np.array([pos]))[0]
            n = _normal(tangent)
            for d in cfg.distances_um:
                names.append(f"root{cfg.root}_s{pos:g}cm_{d:g}um")
                points.append(centre + (radius + d * 1e-4) * n)
                axis.append(radius + d * 1e-4)
        root = {"root": cfg.root, "positions_cm": list(cfg.positions_cm), "distances_um": list(cfg.distances_um),
                "radius_cm": radii, "side": "t × e_z (t × e_x for a vertical root), t the root's direction"}
    return ProbeSet(names, np.array(points, float).reshape(-1, 3), np.array(axis, float), root)


def probe_histories(probes: ProbeSet, trajs: list[Trajectory], p: SourceParams, times_d, tol: float, h_cm: float,
                    comm: MPI.Comm = MPI.COMM_WORLD) -> np.ndarray:
    """c (µg per cm³ of soil water) at every probe and time, shape (times, probes).

    Times are dealt to the ranks round-robin; each time is the same sum of the same kernels on
    whatever rank computes it, so the result does not depend on the number of ranks. The
    kernels are built at the resolution of the closest probe to a root axis (the quadrature
    resolves a kernel of width σ at a point from about σ/2 on)."""
    times = np.asarray(times_d, float)
    scale = min(h_cm, float(np.min(probes.axis_distance_cm))) if len(probes.names) else h_cm
    beta = resolution_factor(tol)
    local = {}
    for i in range(comm.rank, len(times), comm.size):
        c = np.zeros(len(probes.names))
        for tr in trajs:
            kern = kernels(tr, p, float(times[i]), beta, scale)
            if len(kern):
                c += concentration_at_points(kern, probes.points_cm)
        local[i] = c
    out = np.zeros((len(times), len(probes.names)))
    for part in comm.allgather(local):
        for i, c in part.items():
            out[i] = c
    return out


def probe_results(probes: ProbeSet, times_d, c: np.ndarray, theta_R_over_rho: float) -> dict:
    """``results.probes`` of summary.json."""
    content = c * theta_R_over_rho / 1000.0  # µg per cm³ water → mg per g dry soil
    out = {"names": probes.names, "points_cm": probes.points_cm, "times_d": list(map(float, times_d)),
           "concentration_ug_cm3": c.T, "content_mg_g": content.T,
           "units": "concentration: µg per cm³ of soil water; content: mg per g dry soil (θ R c / ρ_b)",
           "csv_columns": [f"{n}_ug_cm3" for n in probes.names]}
    if probes.root is not None:
        r = probes.root
        n_points = len(probes.names) - len(r["positions_cm"]) * len(r["distances_um"])
        shape = (len(times_d), len(r["positions_cm"]), len(r["distances_um"]))
        out["root"] = {**r, "concentration_ug_cm3": c[:, n_points:].reshape(shape),
                       "content_mg_g": content[:, n_points:].reshape(shape),
                       "index": "[time][position][distance]"}
    return out
