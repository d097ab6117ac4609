"""``rhizofem microbes``: image → liquid numbering and slabs → time loop (bacteria, sources,
implicit DOC step) → time series, profiles against distance from the root, fields, cells.

One step of length Δt, in this order (operator splitting, every part conservative):

1. motility sub-steps (lattice jumps, cells migrate to the owner of their new voxel);
2. dormancy / reactivation from the DOC at each cell's voxel;
3. uptake, growth, maintenance: DOC leaves the voxel, CO₂ is counted;
4. division (daughters to nearby liquid voxels, migrated), death to necromass;
5. sources: POM hydrolysis into the liquid that touches it, root exudation through the
   root–liquid faces, necromass return;
6. implicit DOC diffusion (:mod:`.carbon`), outflow through sink faces counted.

The carbon balance DOC + POM + biomass + necromass + CO₂ − exuded + outflow is checked after
every step; its largest relative departure from the initial carbon is
``results.carbon_balance_error_rel``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from rhizofem.output import RunOutput, progress
from rhizofem.output.performance import Clock, recorded
from rhizofem.parallel import rank0_print

from . import bacteria as bac
from .carbon import build_diffusion
from .config import Config
from .domain import Domain, build_domain, contact_faces, describe
from .sources import exudation_schedule, first_order_released, hydrolysed

__all__ = ["Result", "run", "simulate"]

SERIES = ("t_d", "biomass_active_ug_C", "biomass_dormant_ug_C", "cells_active", "cells_dormant", "doc_ug_C",
          "pom_ug_C", "necromass_ug_C", "co2_ug_C", "exuded_ug_C", "outflow_ug_C", "respiration_ug_C_d",
          "births", "deaths")


@dataclass
class Result:
    """What :func:`run` returns (the same numbers as summary.json's ``results``)."""

    series: dict[str, np.ndarray]
    profile: dict
    profiles: list
    domain: dict
    carbon_balance_error_rel: float
    timings_s: dict
    stats: dict
    summary: dict = field(default_factory=dict)
    cells: bac.Cells | None = None  # this rank's cells at the end
    clock: Clock | None = None      # this rank's time split

    @property
    def biomass_ug_C(self) -> float:
        return float(self.series["biomass_active_ug_C"][-1] + self.series["biomass_dormant_ug_C"][-1])

    @property
    def respired_ug_C(self) -> float:
        return float(self.series["co2_ug_C"][-1])


class _Pom:
    """POM voxels of this rank's slab and the liquid voxels each one feeds."""

    def __init__(self, dom: Domain, config: Config):
        L = config.domain.labels
        p0, p1 = dom.planes[dom.rank], dom.planes[dom.rank + 1]
        ps = dom.plane_size
        flat = np.flatnonzero(dom.labels.ravel()[p0 * ps:p1 * ps] == L.pom) + p0 * ps
        h_cm = dom.voxel_um * 1e-4
        rows, cols = [], []
        for k in range(6):
            nb = dom.neighbour(flat, k)
            ok = dom.is_liquid(nb)
            rows.append(np.flatnonzero(ok))
            cols.append(dom.liquid_index[nb[ok]].astype(np.int64))
        self.rows = np.concatenate(rows)       # POM voxel (local) of each contact
        self.cols = np.concatenate(cols)       # liquid number it feeds
        self.n_contacts = np.bincount(self.rows, minlength=flat.size)
        self.mass = np.full(flat.size, config.carbon.pom_carbon_ug_cm3 * h_cm**3)
        self.k_per_h = config.carbon.hydrolysis_per_d / 24.0
        self.enzyme = config.carbon.hydrolysis == "enzyme"
        self.K_B = config.carbon.enzyme_half_biomass_ug_C
        self.accessible = self.n_contacts > 0

    def release(self, dt_h: float, biomass_ext: np.ndarray | None, e0: int) -> tuple[np.ndarray, np.ndarray]:
        """(liquid numbers, masses) that POM hydrolysis adds to DOC this step; POM mass drops by them."""
        if self.mass.size == 0 or self.k_per_h <= 0:
            return np.empty(0, np.int64), np.empty(0)
        k = np.where(self.accessible, self.k_per_h, 0.0)
        if self.enzyme:
            near = np.bincount(self.rows, weights=biomass_ext[self.cols - e0], minlength=self.mass.size)
            k = k * near / (self.K_B + near)
        out = hydrolysed(self.mass, k, dt_h)
        self.mass -= out
        per_contact = out[self.rows] / np.maximum(self.n_contacts[self.rows], 1)
        return self.cols, per_contact


def _profile_bins(dom: Domain, width_um: float) -> tuple[np.ndarray, int]:
    d = dom.distance_um
    if np.all(np.isnan(d)):
        return np.zeros(d.size, dtype=np.int64), 1
    b = np.floor(np.maximum(np.nan_to_num(d, nan=0.0), 0.0) / width_um).astype(np.int64)
    return b, int(b.max()) + 1


def simulate(config: Config, comm: MPI.Comm = MPI.COMM_WORLD, out: RunOutput | None = None,
             dom: Domain | None = None, clock: Clock | None = None) -> Result:
    """Run the model; write fields and cells at the output times into ``out`` if given; the
    time split into ``clock`` (a new one if None)."""
    clock = clock if clock is not None else Clock()
    clock.switch("meshing")  # the image, its liquid numbering and the slabs
    dom = dom if dom is not None else build_domain(config, comm)
    clock.switch("setup")
    run, b, cc = config.run, config.bacteria, config.carbon
    n_steps = max(1, math.ceil(run.t_end_d * 24.0 / run.dt_h - 1e-9))
    dt = run.t_end_d * 24.0 / n_steps
    seed = run.seed
    lo, hi = dom.owned
    e0, e1 = dom.extended
    V = dom.voxel_cm3
    h_cm = dom.voxel_um * 1e-4
    L = config.domain.labels

    clock.switch(None)
    diff = build_diffusion(dom, cc.D_doc_cm2_s, dt, config.domain.sink_faces, config.numerics.options_for(dom.n_liquid),
                           comm, clock)
    clock.switch("setup")
    src = diff.A.createVecLeft()
    c = np.full(hi - lo, cc.initial_doc_ug_cm3)
    necro = np.zeros(hi - lo)
    pom = _Pom(dom, config)
    root_faces = contact_faces(dom, dom.liquid_flat[lo:hi], L.root).astype(float)
    contact_cm2 = comm.allreduce(float(root_faces.sum()), op=MPI.SUM) * h_cm * h_cm
    exud = exudation_schedule(config.root, run.t_end_d * 24.0)
    if config.root.exudation_ug_C_cm2_d > 0 and contact_cm2 == 0 and exud.source == "constant":
        rank0_print(comm, "rhizofem microbes: note: no face is shared by root and liquid, so nothing is exuded")
    phys = bac.Physiology.from_config(b)
    mot = bac.Motility.from_config(b, dom.voxel_um, dt)
    cells = bac.initial_cells(dom, b, seed).sorted()
    bins, nbins = _profile_bins(dom, config.output.profile_bin_um)
    bins_own = bins[lo:hi]
    respired_bin = np.zeros(nbins)
    liquid_bin = np.bincount(bins_own, minlength=nbins) * V
    out_steps = {min(n_steps, max(1, round(t * 24.0 / dt))) for t in run.output_times_d if t <= run.t_end_d + 1e-12}
    out_steps.add(n_steps)

    totals = {"exuded": 0.0, "outflow": 0.0, "co2": 0.0, "births": 0, "deaths": 0, "migrated": 0}
    series = {k: [] for k in SERIES}
    profiles: list = []
    stats = {"motility_substeps": mot.substeps, "motility_effective_cm2_s": mot.D_eff_cm2_s}

    def record(t_h: float, co2_step: float, births: int, deaths: int) -> np.ndarray:
        act = ~cells.dormant
        local = np.array([cells.mass[act].sum(), cells.mass[~act].sum(), act.sum(), (~act).sum(),
                          V * c.sum(), pom.mass.sum(), necro.sum(), totals["co2"], totals["exuded"],
                          totals["outflow"], co2_step, births, deaths])
        g = np.zeros_like(local)
        comm.Allreduce(local, g, op=MPI.SUM)
        series["t_d"].append(t_h / 24.0)
        for k, v in zip(SERIES[1:], g, strict=True):
            series[k].append(v)
        return g

    def profile_now(t_h: float) -> dict:
        local_bin = bins[dom.liquid_index[cells.voxel]]
        act = ~cells.dormant
        parts = [np.bincount(local_bin[act], weights=cells.mass[act], minlength=nbins),
                 np.bincount(local_bin[~act], weights=cells.mass[~act], minlength=nbins),
                 np.bincount(local_bin, minlength=nbins).astype(float), respired_bin, liquid_bin,
                 np.bincount(bins_own, weights=c * V, minlength=nbins)]
        g = [comm.allreduce(p, op=MPI.SUM) for p in parts]
        width = config.output.profile_bin_um
        return {"t_d": t_h / 24.0, "distance_um": (np.arange(nbins) + 0.5) * width,
                "biomass_ug_C": g[0] + g[1], "biomass_active_ug_C": g[0], "biomass_dormant_ug_C": g[1],
                "cells": g[2], "respired_ug_C": g[3].copy(), "liquid_volume_mm3": g[4] * 1e3,
                "doc_ug_C": g[5]}

    g0 = record(0.0, 0.0, 0, 0)
    initial_carbon = g0[0] + g0[1] + g0[4] + g0[5] + g0[6]
    worst = 0.0
    iters: list[int] = []
    clock.switch(None)
    bar = progress(total=n_steps, desc="microbes", unit="step", comm=comm)
    try:
        for step in range(1, n_steps + 1):
            t0_h, t1_h = (step - 1) * dt, step * dt
            clock.switch("motility_and_migration")
            # 1. motility
            if mot.substeps:
                c_ext = diff.extend(c) if mot.chemotaxis > 0 else None
                for sub in range(mot.substeps):
                    bac.jump(cells, dom, c_ext, e0, mot, phys.Ks, seed, step, sub)
                    cells, moved = bac.migrate(cells, dom, comm)
                    totals["migrated"] += moved
            clock.switch("bacteria")
            # 2.-4. states, metabolism, division and death
            local = dom.liquid_index[cells.voxel] - lo
            bac.switch_states(cells, c[local], phys, dt, seed, step)
            co2 = bac.metabolise(cells, c, local, V, phys, dt)
            respired_bin += np.bincount(bins_own[local], weights=co2, minlength=nbins)
            co2_step = float(co2.sum())
            totals["co2"] += co2_step
            cells, births = bac.divide(cells, dom, phys, seed, step)
            cells, dead = bac.die(cells, phys)
            if len(dead):
                np.add.at(necro, dom.liquid_index[dead.voxel] - lo, dead.mass)
            clock.switch("motility_and_migration")
            cells, moved = bac.migrate(cells, dom, comm)
            totals["migrated"] += moved
            clock.switch("sources")
            # 5. sources
            src.set(0.0)
            biomass_ext = None
            if pom.enzyme:
                act = ~cells.dormant
                bm = np.bincount(dom.liquid_index[cells.voxel[act]] - lo, weights=cells.mass[act], minlength=hi - lo)
                biomass_ext = diff.extend(bm)
            cols, masses = pom.release(dt, biomass_ext, e0)
            if cols.size:
                src.setValues(cols.astype(PETSc.IntType), masses, addv=PETSc.InsertMode.ADD_VALUES)
            src.assemblyBegin()
            src.assemblyEnd()
            exuded = root_faces * (h_cm * h_cm) * exud.mass_per_cm2(t0_h, t1_h)
            totals["exuded"] += float(exuded.sum())  # this rank's share; record() sums
            back = first_order_released(necro, cc.necromass_to_doc_per_d / 24.0, dt)
            necro -= back
            c += (src.array + exuded + back) / V
            clock.switch("solves")
            # 6. diffusion
            c, outflow = diff.step(c)
            iters.append(diff.iterations[-1])
            totals["outflow"] += outflow
            clock.switch("accounting")
            g = record(t1_h, co2_step / dt * 24.0, births, len(dead))
            totals["births"] += births
            totals["deaths"] += len(dead)
            carbon = g[0] + g[1] + g[4] + g[5] + g[6] + g[7]
            worst = max(worst, abs(carbon - g[8] + g[9] - initial_carbon) / max(initial_carbon + g[8], 1e-300))
            if step in out_steps:
                profiles.append(profile_now(t1_h))
            clock.switch("output")
            if out is not None and out.enabled and step in out_steps:
                from .report import write_fields

                write_fields(out, config, dom, t1_h / 24.0, c, necro, cells)
            clock.switch(None)
            bar.update(1)
            bar.set_postfix_str(f"t = {t1_h / 24.0:.2f} d, cells {int(g[2] + g[3])}", refresh=False)
    finally:
        clock.switch(None)
        bar.close()
        diff.destroy()
        src.destroy()
    series_arr = {k: np.asarray(v, dtype=float) for k, v in series.items()}
    stages = ("meshing", "setup", "assembly", "preconditioner_setup", "motility_and_migration", "bacteria", "sources",
              "solves", "accounting", "output")
    timings = {k: comm.allreduce(clock.seconds.get(k, 0.0), op=MPI.MAX) for k in stages}
    stats.update({
        "steps": n_steps, "dt_h": dt, "doc_solver": diff.solver, "ksp_iterations_total": int(np.sum(iters)),
        "ksp_iterations_per_step": float(np.mean(iters)), "ksp_iterations_max": int(np.max(iters)),
        "births": int(comm.allreduce(totals["births"], op=MPI.SUM)),
        "deaths": int(comm.allreduce(totals["deaths"], op=MPI.SUM)),
        "migrated": int(comm.allreduce(totals["migrated"], op=MPI.SUM)),
        "cells_per_rank": comm.allgather(len(cells)),
        "root_liquid_contact_cm2": contact_cm2, "exudation_source": exud.source, "inputs": exud.inputs,
        "initial_carbon_ug_C": initial_carbon,
    })
    final = profiles[-1]
    profile = {k: final[k] for k in ("distance_um", "biomass_ug_C", "biomass_active_ug_C", "biomass_dormant_ug_C",
                                     "respired_ug_C", "cells", "liquid_volume_mm3", "doc_ug_C")}
    return Result(series_arr, profile, profiles, describe(dom, config), float(worst), timings, stats, cells=cells,
                  clock=clock)


def run(config: Config | None = None, out_dir: str | Path | None = None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Build the domain, simulate, write the report (summary.json, CSV tables, figures)."""
    config = config if config is not None else Config()
    t_start = time.perf_counter()
    note = "DOFs: liquid voxels; meshing: the image and its liquid numbering on every rank"
    with RunOutput(out_dir, comm, command="microbes", config=config) as out, recorded(out, comm, note) as clock:
        res = simulate(config, comm, out, clock=clock)
        clock.dofs = res.domain["liquid_voxels"]
        res.timings_s["total"] = time.perf_counter() - t_start
        results = results_section(res)
        res.summary = results
        out.summary(results=results, domain=res.domain, timings_s=res.timings_s, stats=res.stats,
                    inputs=res.stats.get("inputs", {}),
                    units={"carbon": "µg C", "time": "d", "distance": "µm from the root surface",
                           "concentration": "µg C per cm³ of liquid"})
        if out.enabled:
            from .report import write_report

            tic = time.perf_counter()
            with res.clock.stage("output"):
                write_report(out, config, res)
            res.timings_s["report"] = comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
            out.summary(timings_s=res.timings_s)
    if out.enabled:
        rank0_print(comm, summary_line(res) + f"\n  → {out.out_dir}")
    return res


def results_section(res: Result) -> dict:
    s = res.series
    return {
        "biomass_ug_C": res.biomass_ug_C,
        "biomass_active_ug_C": float(s["biomass_active_ug_C"][-1]),
        "biomass_dormant_ug_C": float(s["biomass_dormant_ug_C"][-1]),
        "biomass_initial_ug_C": float(s["biomass_active_ug_C"][0] + s["biomass_dormant_ug_C"][0]),
        "respired_ug_C": res.respired_ug_C,
        "exuded_ug_C": float(s["exuded_ug_C"][-1]),
        "doc_ug_C": float(s["doc_ug_C"][-1]),
        "pom_ug_C": float(s["pom_ug_C"][-1]),
        "necromass_ug_C": float(s["necromass_ug_C"][-1]),
        "outflow_ug_C": float(s["outflow_ug_C"][-1]),
        "cells": int(s["cells_active"][-1] + s["cells_dormant"][-1]),
        "cells_active": int(s["cells_active"][-1]),
        "cells_dormant": int(s["cells_dormant"][-1]),
        "carbon_balance_error_rel": res.carbon_balance_error_rel,
        "respiration_peak_ug_C_d": float(np.max(s["respiration_ug_C_d"])),
        "respiration_peak_t_d": float(s["t_d"][int(np.argmax(s["respiration_ug_C_d"]))]),
        "profile": res.profile,
        "profiles": res.profiles,
    }


def summary_line(res: Result) -> str:
    s = res.series
    t = s["t_d"][-1]
    b0 = s["biomass_active_ug_C"][0] + s["biomass_dormant_ug_C"][0]
    lines = [
        f"rhizofem microbes: after {t:.3g} d: biomass {res.biomass_ug_C:.4g} µg C (from {b0:.4g}; "
        f"{s['biomass_dormant_ug_C'][-1] / max(res.biomass_ug_C, 1e-300):.0%} dormant), "
        f"{int(s['cells_active'][-1] + s['cells_dormant'][-1])} cells, respired {res.respired_ug_C:.4g} µg C, "
        f"exuded {s['exuded_ug_C'][-1]:.4g} µg C, DOC {s['doc_ug_C'][-1]:.4g} µg C, POM {s['pom_ug_C'][-1]:.4g} µg C",
        f"  carbon balance error {res.carbon_balance_error_rel:.1e}; {res.stats['steps']} steps of "
        f"{res.stats['dt_h']:.3g} h, {res.domain['liquid_voxels']} liquid voxels, "
        f"DOC step {res.stats['doc_solver']}"
        + (f" ({res.stats['ksp_iterations_per_step']:.1f} iterations per step); " if res.stats["ksp_iterations_max"] > 1
           else "; ")
        + f"time {res.timings_s.get('total', 0.0):.1f} s (DOC solves {res.timings_s['solves']:.1f} s, "
        f"bacteria {res.timings_s['bacteria']:.1f} s)",
    ]
    return "\n".join(lines)
