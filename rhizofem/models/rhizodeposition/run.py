"""``run(config)``: every root's plume at every output day, summed on the grid; hotspots.

Parallel layout: the grid is split into slabs of planes along depth, one per rank, balanced by
voxels and root length; each rank builds and adds every root whose plume reaches its slab,
clipped to the slab (the kernels depend on the whole grid's spacing only, so they are the
same on every rank). Per day, the hotspot statistics
are a few scalar reductions; fields travel to rank 0 only on days they are written. A voxel's
value does not depend on the number of ranks beyond summation round-off.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from rhizofem.errors import ConfigError, InputError
from rhizofem.models.rhizodeposition.hotspots import liquid_threshold_ug_cm3, rhizosphere_peclet
from rhizofem.models.rhizodeposition.superposition import (Grid, SourceParams, Trajectory, cutoff_levels, deposit,
                                                           kernels,
                                                           released_mass_ug, resolution_factor,
                                                           root_trajectories)
from rhizofem.output import RunOutput, progress, write_csv
from rhizofem.parallel import on_root, rank0_print
from rhizofem.rootsystem.architecture import RootSystem
from rhizofem.output.performance import Clock, recorded

__all__ = ["Result", "field_series", "load_root_system", "run", "source_params"]


@dataclass
class Result:
    """What :func:`run` returns. Scalars on every rank; fields (``final_*``, ``hotspot_days``,
    ``cuts``) on rank 0 only."""

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
    cut_y_cm: float = 0.0                      # y of that x–z plane (voxel centre)
    warnings: list = field(default_factory=list)
    probes: dict | None = None                 # [probes]: histories at probe points (results.probes)

    @property
    def mass_in_grid_share(self) -> np.ndarray:
        """Share of the released (not decayed) mass that lies inside the grid, per day."""
        rel = np.asarray(self.released_mass_ug, float)
        return np.divide(self.total_mass_ug, rel, out=np.zeros_like(rel), where=rel > 0)


def source_params(cfg) -> SourceParams:
    from rhizofem.links.diffusion import soil_diffusion
    from rhizofem.links.hairs import release_factor

    r = cfg.rhizodeposit
    release = r.tip_release_ug_d if r.kind == "point" else r.line_release_ug_cm_d
    # root hairs as a release factor; the soil's D from a homogenization run: θ D = D_liquid · D_eff/D_0
    # is the diffusivity per total volume in both (docs/links.md)
    release *= release_factor(cfg.hairs.root_radius_from).factor
    D = r.D_cm2_d
    diffusion = soil_diffusion(cfg.soil, cfg.soil.theta)
    if diffusion.relative is not None:
        D = r.D_liquid_cm2_d * diffusion.relative / cfg.soil.theta
    return SourceParams(r.kind, release, D, cfg.soil.theta, r.retardation, r.decay_rate_d,
                        r.release_length_cm, freeze_stopped=r.stopped_root_plume == "frozen")


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


#: share of the work that goes with the number of voxels (clearing the grid, statistics);
#: the rest goes with the roots (kernels added to the grid). Measured on the 21-day faba
#: bean at 1 mm: about 2 s of 9.5 s CPU in per-voxel passes, 7.5 s in kernels.
VOXEL_WORK_SHARE = 0.25


def depth_slabs(grid: Grid, trajs: list[Trajectory], days, size: int) -> np.ndarray:
    """Plane indices along z that split the grid into ``size`` blocks of about equal work.

    Depth slabs, because roots branch from a few axes that run down through the soil: a cut
    across depth is crossed by few roots, a vertical cut by nearly every lateral (on the
    21-day faba bean a cut at x = 0 is reached by 349 of 458 roots). The work of a plane is
    :data:`VOXEL_WORK_SHARE` in proportion to its voxels and the rest in proportion to the
    root length (summed over the output days) whose midpoints lie in it. The same on every rank.
    """
    nz = grid.shape[2]
    edges = np.linspace(0, nz, size + 1).round().astype(int)
    if size == 1 or nz == 0:
        return edges
    roots = np.zeros(nz)
    for tr in trajs:
        mid = 0.5 * (tr.points_cm[1:, 2] + tr.points_cm[:-1, 2])
        length = np.linalg.norm(np.diff(tr.points_cm, axis=0), axis=1)
        k = np.clip(np.floor((mid - grid.origin_cm[2]) / grid.spacing_cm[2]).astype(int), 0, nz - 1)
        alive = np.count_nonzero(tr.times_d[1:, None] <= np.asarray(days, float)[None, :], axis=1)
        np.add.at(roots, k, length * alive)
    work = np.full(nz, VOXEL_WORK_SHARE / nz)
    if roots.sum() > 0:
        work += (1 - VOXEL_WORK_SHARE) * roots / roots.sum()
    cum = np.concatenate([[0.0], np.cumsum(work)])
    cuts = np.searchsorted(cum, np.arange(1, size) / size * cum[-1])
    return np.concatenate([[0], np.clip(cuts, 0, nz), [nz]]).astype(int)


def slab_grid(grid: Grid, k0: int, k1: int) -> Grid:
    """The planes k0 ≤ k < k1 along z of ``grid``."""
    origin = grid.origin_cm.copy()
    origin[2] += k0 * grid.spacing_cm[2]
    return Grid(origin, grid.spacing_cm, (grid.shape[0], grid.shape[1], k1 - k0))


def reaches(tr: Trajectory, p: SourceParams, t_d: float, grid: Grid) -> bool:
    """Whether the root's plume at t_d can touch ``grid``: the path's box widened by 9 widths
    of its oldest release plus a voxel (kernels are cut within σ√(2 ln(A/ε)) ≤ 9σ for A/ε ≤ e^40)."""
    if min(grid.shape) == 0:
        return False
    reach = 9 * np.sqrt(2 * p.D_eff * max(t_d - tr.times_d[0], 0.0) + p.width_cm ** 2) + grid.h
    lo = grid.origin_cm
    hi = lo + np.array(grid.shape) * grid.spacing_cm
    return bool(np.all(tr.points_cm.min(axis=0) - reach < hi) and np.all(tr.points_cm.max(axis=0) + reach > lo))


def gather_z(local: np.ndarray, k0: int, shape, comm: MPI.Comm) -> np.ndarray | None:
    """The full grid array on rank 0 from every rank's depth slab (its planes from ``k0``; None
    on the other ranks); a new array (the slabs are reused from day to day)."""
    if comm.size == 1:
        return local.copy()
    counts = np.array(comm.allgather(local.size))
    firsts = comm.gather(k0, root=0)
    flat = np.empty(int(counts.sum()), dtype=local.dtype) if comm.rank == 0 else None
    comm.Gatherv(np.ascontiguousarray(local).ravel(),
                 [flat, counts, np.concatenate([[0], np.cumsum(counts)[:-1]]), MPI._typedict[local.dtype.char]]
                 if comm.rank == 0 else None, root=0)
    if comm.rank != 0:
        return None
    full = np.empty(shape, dtype=local.dtype)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for r, k in enumerate(firsts):
        nk = counts[r] // (shape[0] * shape[1]) if shape[0] * shape[1] else 0
        full[:, :, k:k + nk] = flat[offsets[r]:offsets[r + 1]].reshape(shape[0], shape[1], nk)
    return full


def field_series(trajs: list[Trajectory], p: SourceParams, grid: Grid, days, c_thr: float, tol: float,
                 comm: MPI.Comm = MPI.COMM_WORLD, on_day=None, desc: str = "rhizodeposition",
                 average: bool = True, gather: bool = True, clock: Clock | None = None):
    """For each day: the sum over roots and the largest single-root value on the grid.

    Collective on ``comm`` (call it on every rank). Parallel layout: each rank owns a slab of
    grid planes along depth (:func:`depth_slabs`, balanced by voxels and root length), builds
    the kernels of every root whose plume reaches it and adds them, clipped to its slab. The
    kernels depend on the grid spacing only (a root reaching two slabs is built the same on
    both), so a voxel's value does not depend on the number of ranks beyond summation
    round-off; the ranks meet once per day, in ``on_day``.
    ``on_day(i, day, total, max_single)``: with ``gather=True`` the full arrays on rank 0
    (None elsewhere); with ``gather=False`` this rank's slab, on every rank, and a fifth
    argument, the slab's first z index. The kernels' cut-off levels of one root add up to
    tol·c_thr (:func:`cutoff_levels`), so a root misses at most tol·c_thr in any voxel.

    Returns statistics: the number of kernels built (summed over ranks) and per phase
    (``zero``: clearing the slab, ``kernels``: building them, ``deposit``: adding them to the
    slab, ``on_day``: statistics, reductions, files) the wall and CPU seconds of every rank.
    """
    beta = resolution_factor(tol)
    edges = depth_slabs(grid, trajs, days, comm.size)
    k0, k1 = int(edges[comm.rank]), int(edges[comm.rank + 1])
    local = slab_grid(grid, k0, k1)
    stats = {"beta": beta}
    n_kernels = 0
    clock = clock if clock is not None else Clock()
    before = clock.mark()
    total = np.empty(local.shape)
    max_single = np.empty(local.shape)
    with progress(total=len(days), desc=desc, unit="day", comm=comm) as bar:
        for i, day in enumerate(days):
            clock.switch("zero")
            total.fill(0.0)
            max_single.fill(0.0)
            # each rank builds the kernels of the roots that reach its slab: across depth few
            # roots reach two slabs (on the 21-day faba bean 18 % of the kernels are built twice
            # on 2 ranks), cheaper than sharing them and no communication
            for tr in trajs:
                if not reaches(tr, p, float(day), local):
                    continue
                clock.switch("kernels")
                kern = kernels(tr, p, float(day), beta, grid.h)
                clock.switch("deposit")
                if not len(kern):
                    continue
                n_kernels += len(kern)
                got = deposit(kern, local, cutoff_levels(kern, tol * c_thr), average)
                if got is None:
                    continue
                lo, f = got
                sl = tuple(slice(int(lo[k]), int(lo[k]) + f.shape[k]) for k in range(3))
                total[sl] += f
                np.maximum(max_single[sl], f, out=max_single[sl])
            clock.switch("on_day")
            if on_day is not None:
                if gather:
                    on_day(i, float(day), gather_z(total, k0, grid.shape, comm),
                           gather_z(max_single, k0, grid.shape, comm))
                else:
                    on_day(i, float(day), total, max_single, k0)
            clock.switch(None)
            bar.update(1)
    stats["kernels"] = comm.allreduce(n_kernels, op=MPI.SUM)
    phases = ("zero", "kernels", "deposit", "on_day")
    wall, cpu = clock.since(before, phases), clock.since(before, phases, cpu=True)
    stats["phases"] = {name: {"wall_s": comm.allgather(wall[name]), "cpu_s": comm.allgather(cpu[name])}
                       for name in phases}
    stats["depth_slab_planes"] = edges.tolist()
    stats["cpu_s_per_rank"] = [sum(v["cpu_s"][r] for v in stats["phases"].values()) for r in range(comm.size)]
    stats["wall_s_per_rank"] = [sum(v["wall_s"][r] for v in stats["phases"].values()) for r in range(comm.size)]
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


def check_grid_covers_roots(trajs: list[Trajectory], p: SourceParams, grid: Grid, t_d: float, g) -> None:
    """ConfigError (on every rank) when no root's plume can reach the grid by ``t_d``: the run
    would report an empty soil and no hotspot, which is never what was meant."""
    if any(reaches(tr, p, t_d, grid) for tr in trajs):
        return
    pts = np.concatenate([tr.points_cm for tr in trajs])
    lo, hi = grid.origin_cm, grid.origin_cm + np.array(grid.shape) * grid.spacing_cm
    box = lambda a, b: ", ".join(f"{n} ∈ [{x:.3g}, {y:.3g}]" for n, x, y in zip("xyz", a, b, strict=True))  # noqa: E731
    raise ConfigError(f"[grid] origin_cm = {list(g.origin_cm)}, shape = {list(g.shape)}, spacing_cm = {g.spacing_cm} "
                      f"covers {box(lo, hi)} cm, which no root's plume reaches by day {t_d:g} (the roots span "
                      f"{box(pts.min(axis=0), pts.max(axis=0))} cm): nothing would be released into the grid. "
                      "Fix: move origin_cm or enlarge shape so that the grid covers the root system.")


#: below this share of the released mass inside the grid a run warns that its hotspot figures
#: miss part of the plumes (voxel averages hold the mass exactly, so a lower share is the domain)
MASS_SHARE_WARNING = 0.9


def run(config, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD, root_system: RootSystem | None = None) -> Result:
    """The rhizodeposit field of the configured root system on the grid, every output day.

    Collective on ``comm``. Writes DIR/summary.json, series.csv, figures and fields when
    ``out_dir`` is given, and then prints the headline results on rank 0.
    """
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
    check_grid_covers_roots(trajs, p, grid, float(days[-1]), g)
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
    res.cut_y_cm = float(grid.axis(1)[j_cut])
    with (RunOutput(out_dir, comm, command="rhizodeposition", config=config) as out,
          recorded(out, comm, "per day: zero, kernels, deposit (the depth slab of each rank), on_day "
                   "(statistics, reductions, field files)") as clock):
        def on_day(i, day, total, max_single, k0):
            # this rank's depth slab: statistics by reductions, fields written slab by slab
            # few passes over the block (memory bandwidth is what two ranks share): hotspots are
            # a small part of the soil, so they are handled by their flat indices
            hot = np.flatnonzero(total >= c_thr)
            n_over_local = np.count_nonzero(max_single.ravel()[hot] < c_thr)
            n_hot, n_over, mass = comm.allreduce(np.array([hot.size, n_over_local,
                                                           total.sum() * grid.voxel_cm3 * theta_R]), op=MPI.SUM)
            series["mass"][i] = mass
            series["max"][i] = comm.allreduce(float(total.max()) if total.size else 0.0, op=MPI.MAX)
            series["vol"][i] = n_hot * grid.voxel_cm3
            series["share"][i] = n_over / n_hot if n_hot else 0.0
            if duration[0] is None:
                duration[0] = np.zeros(total.shape, np.int16)
                k0_of_rank[0] = k0
            duration[0].ravel()[hot] += 1
            parts = comm.gather((k0, total[:, j_cut, :].copy(), max_single[:, j_cut, :].copy()), root=0)
            if comm.rank == 0:
                parts.sort(key=lambda q: q[0])
                res.cuts[day] = (np.concatenate([q[1] for q in parts], axis=1),
                                 np.concatenate([q[2] for q in parts], axis=1))
            if config.output.vti and out.enabled and day in field_days:
                # every rank writes its slab (compression is the costly part of writing)
                over = (total >= c_thr) & (max_single < c_thr)
                report.write_fields(out.path(f"fields/day{day:g}.pvti"), grid, k0, k0 + total.shape[2],
                                    {"concentration_ug_cm3": total, "max_single_root_ug_cm3": max_single,
                                     "content_ug_g": total * (theta_R / config.soil.bulk_density_g_cm3),
                                     "hotspot": (total >= c_thr).astype(np.uint8),
                                     "hotspot_by_overlap": over.astype(np.uint8)}, comm)
            if i == n - 1:
                res.final_total = gather_z(total, k0, grid.shape, comm)
                res.final_max_single = gather_z(max_single, k0, grid.shape, comm)

        duration, k0_of_rank = [None], [0]
        stats = field_series(trajs, p, grid, days, c_thr, config.numerics.tol, comm, on_day,
                             average=g.sampling == "voxel_average", gather=False, clock=clock)
        clock.switch("output")
        res.hotspot_days = gather_z(duration[0], k0_of_rank[0], grid.shape, comm)
        if config.output.vti and out.enabled:
            report.write_fields(out.path("fields/hotspot_duration.pvti"), grid, k0_of_rank[0],
                                k0_of_rank[0] + duration[0].shape[2], {"hotspot_days": duration[0]}, comm)
        if config.probes.enabled:
            from rhizofem.models.rhizodeposition.probes import probe_histories, probe_results, probe_set

            probes = probe_set(config.probes, rs, trajs)
            times = config.probes.times_d or tuple(days)
            c = probe_histories(probes, trajs, p, times, config.numerics.tol, grid.h, comm)
            res.probes = probe_results(probes, times, c, theta_R / config.soil.bulk_density_g_cm3)
            write_csv(out.path("probes.csv"), ["t_d", *res.probes["csv_columns"]],
                      [(t, *row) for t, row in zip(times, c, strict=True)], comm)
        res.total_mass_ug[:], res.max_concentration_ug_cm3[:] = series["mass"], series["max"]
        res.hotspot_volume_cm3[:], res.overlap_share[:] = series["vol"], series["share"]
        share = res.mass_in_grid_share
        if res.released_mass_ug[-1] > 0 and share[-1] < MASS_SHARE_WARNING:
            res.warnings.append(
                f"only {100 * share[-1]:.3g} % of the released mass ({res.released_mass_ug[-1] / 1000:.4g} mg) is "
                f"inside the grid on day {days[-1]:g}: plumes leave the grid (or cross the soil surface z = 0), so "
                "hotspot volumes and shares miss them. Fix: enlarge [grid] shape or move origin_cm.")
        stats["wall_s"] = time.perf_counter() - t_start
        res.stats = stats
        if out.enabled:
            on_root(comm, report.write_outputs, out, config, res, grid, rs, trajs, p, bcast=False)
            out.summary(**report.summary_sections(config, res, grid, rs, p))
            from rhizofem.links import links_inputs

            out.summary(inputs=links_inputs(config), soil_diffusion={"D_cm2_d": p.D_cm2_d, "release": p.release})
            if res.probes is not None:
                out.summary(results={"probes": res.probes})
    for w in res.warnings:
        rank0_print(comm, f"rhizofem rhizodeposition: WARNING: {w}", file=sys.stderr)
    if out.enabled:
        written = ["summary.json", "series.csv"] + (["cut.png", "series.png"] if config.output.plots else []) \
            + (["probes.csv"] if res.probes is not None else []) + (["fields/*.pvti"] if config.output.vti else [])
        rank0_print(comm, report.headline(config, res) + f"\n  → {out.out_dir}  ({', '.join(written)})")
    return res
