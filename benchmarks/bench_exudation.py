"""Exudation solver throughput: DOFs, steps, wall time and CG iterations per step, 1 and 2 ranks.

    python benchmarks/bench_exudation.py                      # small, medium, large on 1 and 2 ranks
    python benchmarks/bench_exudation.py --sizes small        # only the small case
    python benchmarks/bench_exudation.py --t-end 600          # shorter simulated time (fewer steps)
    mpiexec -n 2 python benchmarks/bench_exudation.py --case large   # one case, this launch
    python benchmarks/bench_exudation.py --amg                # GAMG set-up policies on a slice (~1 min)
    python benchmarks/bench_exudation.py --error-budget       # the default sample's mass under each
                                                              # change of the discretisation (~40 min)

Cases on the built-in default sample (200 × 144 × 40 voxels of 9 µm), hair + root inlet,
default time stepping (BDF2 stages from 0.05 s, 96 steps to 1 h), CG + GAMG:

- small: P1 on the graded mesh (~154 k DOFs);
- medium: P1 with ``inlet_subdivide = 2`` (elements of 2.25 µm at the contact, ~467 k DOFs);
- large: P2 on the graded mesh (~1.15 M DOFs).

Printed per case: DOFs, steps, mesh time (image → distributed mesh), solver time (assembly,
operators and preconditioners, solves), wall time of the solve per step, CG iterations per
step (mean, max), the number of GAMG set-ups, the conservation error, and the speed-up from
1 to 2 ranks of the solver time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "small": {"mesh": {"inlet_subdivide": 0}, "numerics": {"degree": 1}},
    "medium": {"mesh": {"inlet_subdivide": 2}, "numerics": {"degree": 1}},
    "large": {"mesh": {"inlet_subdivide": 0}, "numerics": {"degree": 2}},
}


def one_case(name: str, t_end: float) -> dict:
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    from rhizofem.config import load
    from rhizofem.models.exudation import Config
    from rhizofem.models.exudation.model import load_mesh, run_case
    from rhizofem.models.exudation.profile import ProfileSampler

    comm = MPI.COMM_WORLD
    cfg = load(Config, {**CASES[name], "physics": {"t_end_s": t_end}, "compare_hairless": False,
                        "time": {"output_times_s": []}, "output": {"plots": False, "fields": False}})
    comm.barrier()
    t0 = time.perf_counter()
    tm, distance, geometry = load_mesh(cfg, comm)
    mesh_s = time.perf_counter() - t0
    sampler = ProfileSampler(tm.mesh, distance)
    comm.barrier()
    t0 = time.perf_counter()
    case = run_case(tm, cfg, cfg.inlet.tags, geometry, sampler)
    comm.barrier()
    solve_wall = time.perf_counter() - t0
    s = case.summary()
    return {"case": name, "ranks": comm.size, "dofs": case.dofs, "steps": s["steps"], "mesh_s": mesh_s,
            "solver_wall_s": solve_wall, "per_step_s": solve_wall / s["steps"], **{f"{k}_s": v for k, v in
                                                                                  case.timings_s.items()},
            "its_mean": s["ksp_iterations_per_step"], "its_max": s["ksp_iterations_max"],
            "preconditioners": s["preconditioners_built"], "mass_ug": case.mass_ug,
            "conservation": case.conservation_error_rel}


BUDGET = [  # (label, config changes): one discretisation setting changed at a time
    ("default: P1, inlet_subdivide 1, size_slope 0.5, time_rtol 1e-3", {}),
    ("inlet elements x2: inlet_subdivide 0", {"mesh": {"inlet_subdivide": 0}}),
    ("inlet elements /2: inlet_subdivide 2", {"mesh": {"inlet_subdivide": 2}}),
    ("bulk elements /2: size_slope 0.25", {"mesh": {"size_slope": 0.25}}),
    ("bulk elements x2: size_slope 1", {"mesh": {"size_slope": 1.0}}),
    ("time: time_rtol 1e-4", {"time": {"time_rtol": 1e-4}}),
    ("vertex-connected soil: face_connected false", {"mesh": {"face_connected": False}}),
]


def error_budget(inlet: str) -> None:
    """The default sample's mass after 1 h under each change of the discretisation (one rank)."""
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    from rhizofem.config import load
    from rhizofem.models.exudation import Config, run

    base = {"compare_hairless": False, "inlet": {"tags": inlet.split("+")},
            "numerics": {"space_error_estimate": False}, "output": {"plots": False, "fields": False}}
    print(f"default sample, inlet {inlet}, mass after 1 h; one setting changed at a time (one rank)")
    print("| setting | DOFs | steps | mass (µg) | change from the default |")
    print("|---|---|---|---|---|")
    first = None
    for label, change in BUDGET:
        cfg = {**base, **{k: {**base.get(k, {}), **v} for k, v in change.items()}}
        res = run(load(Config, cfg), comm=MPI.COMM_SELF)
        first = first or res.mass_ug
        print(f"| {label} | {res.dofs} | {len(res.case.steps_s)} | {res.mass_ug:.5f} | "
              f"{100 * (res.mass_ug / first - 1):+.2f} % |", flush=True)


def amg_study() -> None:
    """CPU of the time loop under the preconditioner policies (a 72 µm slice of the default sample,
    53 k DOFs, 10 min, time_rtol 1e-3, one rank): when to rebuild GAMG, when to keep its interpolation."""
    import time as _time

    import numpy as np

    import rhizofem  # noqa: F401
    from mpi4py import MPI

    from rhizofem.imaging.sample import default_sample
    from rhizofem.meshing.soil import soil_mesh_from_image
    from rhizofem.models.exudation.config import EXUDATION_SOLVER
    from rhizofem.models.exudation.diffusion import (AdaptiveSteps, assemble_operators, diffusivity_by_cell,
                                                     goal_weight, inlet_facets, simulate)

    image = np.ascontiguousarray(default_sample()[0][:, :, 16:24])
    tm = soil_mesh_from_image(image, 9.0, None, MPI.COMM_SELF)
    ops = assemble_operators(tm, 1, diffusivity_by_cell(tm, 2.88e-5, {}), inlet_facets(tm, ["root", "hair"]), 1.03752)
    goal = goal_weight(ops, [60.0, 600.0])
    options = {**EXUDATION_SOLVER, "ksp_rtol": 1e-6}
    print("| new GAMG hierarchy when the step changed by | refill, interpolation kept, when changed by | "
          "set-ups | CG its/step | CPU of the time loop (s) |")
    print("|---|---|---|---|---|")
    for pc_ratio, interpolation in ((2.0, None), (4.0, None), (8.0, None), (2.0, 16.0), (4.0, 16.0), (8.0, 64.0)):
        t0 = _time.process_time()
        _, hist = simulate(ops, AdaptiveSteps(600.0, rtol=1e-3, land_at=(60.0,)), c_in=1.03752,
                           petsc_options=options, pc_ratio=pc_ratio, interpolation_ratio=interpolation, goal=goal)
        print(f"| {interpolation or pc_ratio:g}x | {f'{pc_ratio:g}x' if interpolation else 'never'} | "
              f"{hist.preconditioners_built} | {np.mean(hist.iterations):.1f} | {_time.process_time() - t0:.2f} |",
              flush=True)


def launch(name: str, ranks: int, t_end: float) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    cmd = [str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--case", name, "--t-end", str(t_end)]
    env = {**os.environ, "RHIZOFEM_PROGRESS": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--t-end", type=float, default=3600.0, help="simulated time in s (default 1 h)")
    parser.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--error-budget", metavar="INLET", nargs="?", const="root+hair",
                        help="instead: the mass under each change of the discretisation (root+hair or root)")
    parser.add_argument("--amg", action="store_true", help="instead: the GAMG set-up policies compared")
    args = parser.parse_args()
    if args.amg:
        amg_study()
        return
    if args.error_budget:
        error_budget(args.error_budget)
        return
    if args.case is not None:
        result = one_case(args.case, args.t_end)
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(result), flush=True)
        return
    print(f"rhizofem exudation benchmark: default sample, root + hair inlet, {args.t_end:.0f} s simulated")
    print(f"{'case':>7} {'ranks':>5} {'DOFs':>9} {'steps':>5} {'mesh s':>7} {'solver s':>8} {'s/step':>7} "
          f"{'assembly':>8} {'ops+PC':>7} {'solves':>7} {'its/step':>8} {'its max':>7} {'PCs':>4} "
          f"{'cons.':>8} {'speed-up':>8}")
    for name in args.sizes:
        first = None
        for ranks in args.ranks:
            r = launch(name, ranks, args.t_end)
            first = first or r
            speedup = first["solver_wall_s"] / r["solver_wall_s"]
            print(f"{name:>7} {ranks:>5} {r['dofs']:>9} {r['steps']:>5} {r['mesh_s']:>7.1f} {r['solver_wall_s']:>8.1f} "
                  f"{r['per_step_s']:>7.3f} {r['assembly_s']:>8.1f} {r['operators_and_preconditioners_s']:>7.1f} "
                  f"{r['solves_s']:>7.1f} {r['its_mean']:>8.1f} {r['its_max']:>7} {r['preconditioners']:>4} "
                  f"{r['conservation']:>8.1e} {speedup:>8.2f}", flush=True)
    print("speed-up: solver wall time on the first rank count / this one. The machine may be shared "
          "(see uptime): timings of a loaded machine understate the speed-up.")


if __name__ == "__main__":
    main()
