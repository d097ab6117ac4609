"""rhizofem microbes: the seed-scale run, and the finite-volume DOC step against DOLFINx Q1.

    mpiexec -n 2 python benchmarks/bench_microbes.py scale                  # 128³, 1e5 cells, 10 d
    mpiexec -n 2 python benchmarks/bench_microbes.py scale --days 1         # a shorter one
    mpiexec -n 2 python benchmarks/bench_microbes.py scale --solver iterative   # CG + GAMG every step
    python benchmarks/bench_microbes.py fv-vs-dolfinx                       # accuracy and cost, 1 rank
    mpiexec -n 2 python benchmarks/bench_microbes.py fv-vs-dolfinx

``scale``: the built-in sample (128³ voxels of 10 µm next to a root of 150 µm radius, porosity
0.45, θ = 0.30, four POM fragments), 1e5 cells uniform in the water, default physiology and
exudation (18.7 µg C cm⁻² d⁻¹), steps of 0.5 h, no field output. Printed: wall time and its
split (meshing, assembly, preconditioner set-up, DOC solves, bacteria, motility and migration,
sources, accounting), CPU seconds per rank and per stage, peak memory per rank, the cells
reached, the carbon balance, and the machine's load average (the figure is only comparable
between runs at similar load). ``--solver`` picks the DOC step's solver (default: the
factorisation, reused every step; ``iterative``: CG + GAMG to 1e-12 every step).

``fv-vs-dolfinx``: the same implicit DOC step two ways on the same voxels.
(1) Accuracy: the cosine mode cos(πx/L) in a channel of 48 × 3 × 3 water voxels, decaying
over 60 s, Crank–Nicolson (so that the time error, 3e-5, is below the spatial one), against
the exact exp(−Dπ²t/L²): cell-centred finite volumes on the voxels vs Q1 hexahedra whose
nodes are the voxel corners. (2) Cost: the liquid of the built-in sample at 64³ (or
``--size``): set-up (operator, mesh and forms for Q1, preconditioner) and the time of one
backward-Euler step (right-hand side and CG + GAMG solve to 1e-12), same PETSc options.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

import rhizofem  # noqa: F401  (orders MPI before PETSc)
from mpi4py import MPI

D = 6.7e-6  # cm²/s, DOC (glucose) in water


def load_avg() -> str:
    return "load avg " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def scale(args) -> dict:
    from rhizofem.config import load
    from rhizofem.models.microbes import Config, simulate
    from rhizofem.output.performance import current_rss_mb, performance

    comm = MPI.COMM_WORLD
    cfg = load(Config, {"domain": {"size_voxels": [args.size] * 3},
                        "bacteria": {"initial_cells": args.cells},
                        "run": {"t_end_d": args.days, "dt_h": args.dt_h, "output_times_d": []},
                        "numerics": {"solver": args.solver},
                        "output": {"fields": False, "cells": False, "plots": False}})
    load_before = load_avg()
    rss0 = current_rss_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    res = simulate(cfg, comm)
    wall = time.perf_counter() - t0
    cpu_rank = comm.allgather(time.process_time() - cpu0)
    cpu = sum(cpu_rank)
    perf = performance(comm, res.clock, dofs=res.domain["liquid_voxels"], rss_start_mb=rss0)
    s = res.series
    return {"case": "scale", "ranks": comm.size, "size": args.size, "cells_initial": args.cells, "days": args.days,
            "dt_h": res.stats["dt_h"], "steps": res.stats["steps"], "liquid_voxels": res.domain["liquid_voxels"],
            "doc_solver": res.stats["doc_solver"], "wall_s": wall, "cpu_s_all_ranks": cpu, "cpu_s_per_rank": cpu_rank,
            "timings_s": res.timings_s,
            "cpu_s_per_stage_and_rank": [r["cpu_s"] for r in perf["ranks"]],
            "peak_rss_mb_per_rank": [r["peak_rss_mb"] for r in perf["ranks"]],
            "peak_rss_gb_per_million_liquid_voxels": perf["peak_rss_gb_per_million_dofs"],
            "cells_final": int(s["cells_active"][-1] + s["cells_dormant"][-1]),
            "cells_max": int(np.max(s["cells_active"] + s["cells_dormant"])),
            "biomass_ug_C": res.biomass_ug_C, "respired_ug_C": res.respired_ug_C,
            "carbon_balance_error_rel": res.carbon_balance_error_rel,
            "ksp_iterations_per_step": res.stats["ksp_iterations_per_step"], "migrated": res.stats["migrated"],
            "load_before": load_before, "load_after": load_avg()}


# ---------------------------------------------------------------------------------------------
# finite volumes vs DOLFINx Q1
# ---------------------------------------------------------------------------------------------


def q1_operators(msh, dt_s: float):
    """Assembled M + dt D K and M for P1/Q1 Lagrange on ``msh``."""
    import ufl
    from dolfinx import fem
    from dolfinx.fem.petsc import assemble_matrix

    V = fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    A = assemble_matrix(fem.form(u * v * ufl.dx + dt_s * D * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx))
    A.assemble()
    M = assemble_matrix(fem.form(u * v * ufl.dx))
    M.assemble()
    return V, A, M


def cosine_fv(comm, n: int, t_s: float, steps: int) -> float:
    """Relative amplitude error of the FV cosine mode after t_s (Crank–Nicolson)."""
    from rhizofem.config import load
    from rhizofem.models.microbes import Config
    from rhizofem.models.microbes.carbon import build_diffusion
    from rhizofem.models.microbes.domain import build_domain

    img = np.zeros((n, 5, 5), dtype=np.uint8)
    img[:, 1:-1, 1:-1] = 2
    path = Path(comm.bcast(os.path.abspath(f".bench_microbes_channel_{n}.npy") if comm.rank == 0 else None))
    if comm.rank == 0:
        np.save(path, img)
    comm.barrier()
    cfg = load(Config, {"domain": {"image": str(path), "pom_fragments": 0}})
    dom = build_domain(cfg, comm)
    comm.barrier()
    if comm.rank == 0:
        path.unlink()
    dt_h = t_s / steps / 3600.0
    diff = build_diffusion(dom, D, dt_h / 2, (), cfg.numerics.petsc_options, comm)  # M + Δt/2 K
    lo, hi = dom.owned
    h = dom.voxel_um * 1e-4
    L = n * h
    x = (np.unravel_index(dom.liquid_flat[lo:hi], dom.shape)[0] + 0.5) * h
    mode = np.cos(np.pi * x / L)
    c = mode.copy()
    for _ in range(steps):  # Crank–Nicolson: (M + Δt/2 K)(c¹ + c⁰) = 2 M c⁰
        half, _ = diff.step(c)
        c = 2 * half - c
    diff.destroy()
    amp = comm.allreduce(float(c @ mode), op=MPI.SUM) / comm.allreduce(float(mode @ mode), op=MPI.SUM)
    return amp / math.exp(-D * math.pi**2 / L**2 * t_s) - 1.0


def cosine_q1(comm, n: int, t_s: float, steps: int) -> float:
    import dolfinx

    from rhizofem.fem.solvers import create_ksp, solve
    from rhizofem.models.microbes.config import MICROBES_SOLVER

    h = 10e-4
    L = n * h
    msh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [L, 3 * h, 3 * h]], [n, 3, 3], dolfinx.mesh.CellType.hexahedron)
    dt = t_s / steps
    V, A, M = q1_operators(msh, dt / 2)
    ksp = create_ksp(A, MICROBES_SOLVER, name="bench_q1")
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: np.cos(np.pi * x[0] / L))
    mode = u.x.petsc_vec.copy()
    c = u.x.petsc_vec.copy()
    b, half = c.duplicate(), c.duplicate()
    for _ in range(steps):
        M.mult(c, b)
        solve(ksp, b, half)
        c.axpby(2.0, -1.0, half)  # c¹ = 2 half − c⁰
    Mm = mode.duplicate()
    M.mult(mode, Mm)
    amp = c.dot(Mm) / mode.dot(Mm)
    for obj in (ksp, A, M, mode, c, b, half, Mm):
        obj.destroy()
    return amp / math.exp(-D * math.pi**2 / L**2 * t_s) - 1.0


def cost_fv(comm, size: int, steps: int) -> dict:
    from rhizofem.config import load
    from rhizofem.models.microbes import Config
    from rhizofem.models.microbes.carbon import build_diffusion
    from rhizofem.models.microbes.domain import build_domain

    cfg = load(Config, {"domain": {"size_voxels": [size] * 3}})
    dom = build_domain(cfg, comm)
    comm.barrier()
    t0 = time.perf_counter()
    diff = build_diffusion(dom, D, 0.5, (), cfg.numerics.petsc_options, comm)
    lo, hi = dom.owned
    c = np.random.default_rng(comm.rank).uniform(0, 1, hi - lo)
    c, _ = diff.step(c)  # the first solve builds the preconditioner
    setup = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    comm.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        c, _ = diff.step(c)
    per_step = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX) / steps
    out = {"dofs": dom.n_liquid, "setup_s": setup, "step_s": per_step, "iterations": diff.iterations[-1]}
    diff.destroy()
    return out, dom


def cost_q1(comm, dom, steps: int) -> dict:
    import dolfinx

    from rhizofem.fem.solvers import create_ksp, solve
    from rhizofem.meshing.to_dolfinx import tagged_mesh
    from rhizofem.models.homogenization.cell import voxel_boxes
    from rhizofem.models.microbes.config import MICROBES_SOLVER

    comm.barrier()
    t0 = time.perf_counter()
    if comm.rank == 0:
        mask = dom.liquid_index.reshape(dom.shape) >= 0
        pts, cells, _ = voxel_boxes(mask, dom.voxel_um * 1e-4)
        values = np.ones(len(cells), dtype=np.int32)
    else:
        pts = cells = values = None
    tm = tagged_mesh(comm, pts, cells, values, cell_type="hexahedron", with_facets=False)
    t_mesh = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    t0 = time.perf_counter()
    V, A, M = q1_operators(tm.mesh, 1800.0)
    ksp = create_ksp(A, MICROBES_SOLVER, name="bench_q1_cost")
    u = dolfinx.fem.Function(V)
    u.x.array[:] = np.random.default_rng(comm.rank).uniform(0, 1, u.x.array.size)
    x = u.x.petsc_vec
    b = x.duplicate()
    M.mult(x, b)
    solve(ksp, b, x)
    setup = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    comm.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        M.mult(x, b)
        its = solve(ksp, b, x)
    per_step = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX) / steps
    dofs = V.dofmap.index_map.size_global
    for obj in (ksp, A, M, b):
        obj.destroy()
    return {"dofs": dofs, "mesh_s": t_mesh, "setup_s": setup, "step_s": per_step, "iterations": its}


def fv_vs_dolfinx(args) -> dict:
    comm = MPI.COMM_WORLD
    accuracy = []
    for n in (24, 48, 96):  # h fixed at 10 µm, the channel (and the mode) grows: θ = πh/L shrinks
        t_s = 60.0 * (n / 48) ** 2  # the same decay, exp(−1.7), for every length
        accuracy.append({"voxels_along": n, "t_s": t_s, "fv_rel_error": cosine_fv(comm, n, t_s, 120),
                         "q1_rel_error": cosine_q1(comm, n, t_s, 120)})
    fv, dom = cost_fv(comm, args.size, args.steps)
    q1 = cost_q1(comm, dom, args.steps)
    return {"case": "fv-vs-dolfinx", "ranks": comm.size, "size": args.size, "accuracy": accuracy, "fv": fv, "q1": q1,
            "load": load_avg()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("scale", "fv-vs-dolfinx"))
    parser.add_argument("--size", type=int, default=None, help="image edge in voxels (scale: 128, fv-vs-dolfinx: 64)")
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--dt-h", type=float, default=0.5)
    parser.add_argument("--solver", choices=("auto", "direct", "iterative"), default="auto",
                        help="scale: the DOC step's solver ([numerics] solver; auto = direct at this size)")
    parser.add_argument("--steps", type=int, default=5, help="fv-vs-dolfinx: timed steps")
    parser.add_argument("--out", default="out/bench_microbes", help="folder of the JSON record")
    args = parser.parse_args()
    args.size = args.size or (128 if args.case == "scale" else 64)
    comm = MPI.COMM_WORLD
    record = scale(args) if args.case == "scale" else fv_vs_dolfinx(args)
    if comm.rank == 0:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        tag = f"_{args.solver}" if args.case == "scale" and args.solver != "auto" else ""
        name = out / f"{args.case}_{comm.size}ranks_{args.size}{tag}.json"
        name.write_text(json.dumps(record, indent=2, default=float) + "\n")
        print(json.dumps(record, indent=2, default=float), flush=True)
        print(f"→ {name}", flush=True)


if __name__ == "__main__":
    main()
