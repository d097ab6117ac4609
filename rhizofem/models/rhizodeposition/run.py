"""``run(config)``: every root's plume at every output day, summed on the grid; hotspots.

Parallel layout: the roots are dealt out over the ranks (largest expected cost first, each
to the least-loaded rank, deterministic). A rank adds its roots' fields into its own copy of
the grid (sum and largest single-root value); one MPI reduction per day (SUM and MAX) brings
them to rank 0, which computes the hotspot statistics and writes the files. A root's field
does not depend on which rank computes it, so 1 and N ranks agree to summation round-off.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import dolfinx  # noqa: F401  (summary.json reports its version; importing it is collective under MPI)
import numpy as np
from mpi4py import MPI

from rhizofem.errors import ConfigError, InputError
from rhizofem.models.rhizodeposition.hotspots import hotspot_stats, liquid_threshold_ug_cm3, rhizosphere_peclet
from rhizofem.models.rhizodeposition.superposition import (Grid, SourceParams, Trajectory, cutoff_levels, deposit,
                                                           kernels,
                                                           released_mass_ug, resolution_factor,
                                                           root_trajectories)
from rhizofem.output import RunOutput, progress
from rhizofem.parallel import on_root
from rhizofem.rootsystem.architecture import RootSystem

__all__ = ["Result", "field_series", "load_root_system", "run", "source_params"]


@dataclass
class Result:
    """What :func:`run` returns. Scalars on every rank; fields (``final_*``) on rank 0 only."""

    days: np.ndarray
    total_mass_ug: np.ndarray           # in the grid, dissolved + sorbed
    released_mass_ug: np.ndarray        # released and not decayed, whole space (exact)
    max_concentration_ug_cm3: np.ndarray
    hotspot_volume_cm3: np.ndarray
    overlap_share: np.ndarray
    threshold_ug_cm3: float
    n_roots: int
    peclet: dict
    stats: dict = field(default_factory=dict)
    final_total: np.ndarray | None = None
    final_max_single: np.ndarray | None = None
    hotspot_days: np.ndarray | None = None     # per voxel: output days above threshold
    cuts: dict = field(default_factory=dict)   # vertical cuts (x–z at y of the first root's base) per day


def source_params(cfg) -> SourceParams:
    r = cfg.rhizodeposit
    release = r.tip_release_ug_d if r.kind == "point" else r.line_release_ug_cm_d
    return SourceParams(r.kind, release, r.D_cm2_d, cfg.soil.theta, r.retardation, r.decay_rate_d,
                        r.release_length_cm)


def load_root_system(cfg) -> RootSystem:
    """The root system of ``[rootsystem]``: an RSML file or a built-in generator."""
    rcfg = cfg.rootsystem
    if rcfg.rsml is not None:
        try:
            from rhizofem.rootsystem import rsml
        except ImportError:
            raise ConfigError("[rootsystem] rsml: this rhizofem has no RSML reader (rhizofem.rootsystem.rsml). "
                              "Fix: use generator = 'straight' or 'laterals'.") from None
        return rsml.read_rsml(rcfg.rsml)
    from rhizofem.rootsystem import generators

    if rcfg.generator == "vicia_faba":
        from rhizofem.rootsystem.cplantbox import vicia_faba

        return vicia_faba(rcfg.t_end_d)[0]
    if rcfg.generator == "straight":
        return generators.straight_root(rcfg.growth_rate_cm_d, rcfg.t_end_d, dx_cm=rcfg.dx_cm,
                                        origin=rcfg.origin_cm)
    return generators.root_with_laterals(rcfg.t_end_d, rcfg.growth_rate_cm_d, rcfg.lateral_growth_rate_cm_d,
                                         interbranch_cm=rcfg.interbranch_cm, n_laterals_max=rcfg.n_laterals_max,
                                         dx_cm=rcfg.dx_cm, origin=rcfg.origin_cm)


def deal_roots(trajs: list[Trajectory], days, size: int) -> list[list[int]]:
    """Roots per rank: longest expected work first, each to the least-loaded rank."""
    t_last = float(days[-1])
    cost = [(tr.arclength_cm[-1] + 1.0) * max(t_last - tr.times_d[0], 0.0) for tr in trajs]
    load = [0.0] * size
    out: list[list[int]] = [[] for _ in range(size)]
    for i in sorted(range(len(trajs)), key=lambda i: (-cost[i], i)):
        r = int(np.argmin(load))
        out[r].append(i)
        load[r] += cost[i]
    return [sorted(o) for o in out]


def field_series(trajs: list[Trajectory], p: SourceParams, grid: Grid, days, c_thr: float, tol: float,
                 comm: MPI.Comm = MPI.COMM_WORLD, on_day=None, desc: str = "rhizodeposition",
                 average: bool = True):
    """For each day: (sum over roots, max over single roots) on the grid, reduced to rank 0.

    ``on_day(i, day, total, max_single)`` is called on every rank (arrays on rank 0, None
    elsewhere). The kernels' cut-off levels of one root add up to tol·c_thr
    (:func:`cutoff_levels`), so a root misses at most tol·c_thr in any voxel.
    """
    beta = resolution_factor(tol)
    mine = deal_roots(trajs, days, comm.size)[comm.rank]
    stats = {"kernels": 0, "compute_s": 0.0, "reduce_s": 0.0, "beta": beta}
    with progress(total=len(days), desc=desc, unit="day", comm=comm) as bar:
        for i, day in enumerate(days):
            t0 = time.perf_counter()
            total = np.zeros(grid.shape)
            max_single = np.zeros(grid.shape)
            for ri in mine:
                kern = kernels(trajs[ri], p, float(day), beta, grid.h)
                if not len(kern):
                    continue
                stats["kernels"] += len(kern)
                got = deposit(kern, grid, cutoff_levels(kern, tol * c_thr), average)
                if got is None:
                    continue
                lo, f = got
                sl = tuple(slice(int(lo[k]), int(lo[k]) + f.shape[k]) for k in range(3))
                total[sl] += f
                np.maximum(max_single[sl], f, out=max_single[sl])
            t1 = time.perf_counter()
            stats["compute_s"] += t1 - t0
            if comm.size > 1:
                tot = np.zeros_like(total) if comm.rank == 0 else None
                mx = np.zeros_like(max_single) if comm.rank == 0 else None
                comm.Reduce(total, tot, op=MPI.SUM, root=0)
                comm.Reduce(max_single, mx, op=MPI.MAX, root=0)
                total, max_single = tot, mx
            stats["reduce_s"] += time.perf_counter() - t1
            if on_day is not None:
                on_day(i, float(day), total, max_single)
            bar.update(1)
    stats["kernels"] = comm.allreduce(stats["kernels"])
    stats["compute_s_max_rank"] = comm.allreduce(stats["compute_s"], op=MPI.MAX)
    return stats


def peclet_numbers(trajs: list[Trajectory], p: SourceParams) -> dict:
    """Pe = v·L/D' per root: mean elongation rate v, L = √(D/k) (the reach of a static source's
    plume, for k > 0; else the released zone length), D' = D/R."""
    L = math.sqrt(p.D_cm2_d / p.decay_d) if p.decay_d > 0 else p.length_cm
    pe = []
    for tr in trajs:
        dt = tr.times_d[-1] - tr.times_d[0]
        v = tr.arclength_cm[-1] / dt if dt > 0 else 0.0
        pe.append(rhizosphere_peclet(v, L, p.D_eff))
    pe = np.array(pe)
    return {"length_cm": L, "D_eff_cm2_d": p.D_eff, "per_root": pe,
            "main_root": float(pe[0]) if len(pe) else 0.0,
            "median": float(np.median(pe)) if len(pe) else 0.0}


def run(config, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD, root_system: RootSystem | None = None) -> Result:
    from rhizofem.models.rhizodeposition import report

    t_start = time.perf_counter()
    rs = root_system if root_system is not None else on_root(comm, load_root_system, config)
    trajs = root_trajectories(rs)
    if not trajs:
        raise InputError(f"the root system {rs.source} has no roots. Fix: check the input file.")
    p = source_params(config)
    g = config.grid
    grid = Grid.make(g.origin_cm, g.spacing_cm, g.shape)
    days = np.array(config.output.days, float)
    c_thr = liquid_threshold_ug_cm3(config.threshold_ug_g(), config.soil.bulk_density_g_cm3, p.theta,
                                    p.retardation)
    theta_R = p.theta * p.retardation
    n = len(days)
    series = {k: np.zeros(n) for k in ("mass", "max", "vol", "share")}
    field_days = set(config.output.field_days or (float(days[-1]),))
    y_cut = float(trajs[0].points_cm[0, 1])
    j_cut = int(np.clip(np.floor((y_cut - grid.origin_cm[1]) / grid.spacing_cm[1]), 0, grid.shape[1] - 1))
    res = Result(days, np.zeros(n), np.array([sum(released_mass_ug(tr, p, d) for tr in trajs) for d in days]),
                 np.zeros(n), np.zeros(n), np.zeros(n), c_thr, len(trajs), peclet_numbers(trajs, p))
    with RunOutput(out_dir, comm, command="rhizodeposition", config=config) as out:
        def on_day(i, day, total, max_single):
            if comm.rank != 0:
                return
            st = hotspot_stats(total, max_single, c_thr, grid.voxel_cm3)
            series["mass"][i] = total.sum() * grid.voxel_cm3 * theta_R
            series["max"][i] = total.max()
            series["vol"][i] = st["hotspot_volume_cm3"]
            series["share"][i] = st["overlap_share"]
            hot = total >= c_thr
            res.hotspot_days = hot.astype(np.int16) if res.hotspot_days is None else res.hotspot_days + hot
            res.cuts[day] = (total[:, j_cut, :].copy(), max_single[:, j_cut, :].copy())
            if config.output.vti and out.enabled and day in field_days:
                report.write_vti(out.path(f"fields/day{day:g}.vti"), grid,
                                 {"concentration_ug_cm3": total, "max_single_root_ug_cm3": max_single,
                                  "content_ug_g": total * theta_R / config.soil.bulk_density_g_cm3,
                                  "hotspot": hot.astype(np.uint8),
                                  "hotspot_by_overlap": (hot & (max_single < c_thr)).astype(np.uint8)})
            if i == n - 1:
                res.final_total, res.final_max_single = total, max_single

        stats = field_series(trajs, p, grid, days, c_thr, config.numerics.tol, comm, on_day,
                             average=g.sampling == "voxel_average")
        for key, arr in (("mass", res.total_mass_ug), ("max", res.max_concentration_ug_cm3),
                         ("vol", res.hotspot_volume_cm3), ("share", res.overlap_share)):
            arr[:] = comm.bcast(series[key], root=0)
        stats["wall_s"] = time.perf_counter() - t_start
        res.stats = stats
        if out.enabled:
            on_root(comm, report.write_outputs, out, config, res, grid, rs, trajs, p, bcast=False)
            out.summary(**report.summary_sections(config, res, grid, rs, p))
    return res
