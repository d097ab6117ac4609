"""Radial uptake throughput: segment-days per second for 1 000 and 10 000 segments over 16 days.

    python benchmarks/bench_uptake.py                 # 1 000 and 10 000 segments, 1 and 2 ranks
    python benchmarks/bench_uptake.py --sizes 1000    # only the small case
    mpiexec -n 2 python benchmarks/bench_uptake.py --case 1000   # one case, this launch

The segments are heterogeneous (r0 0.01–0.05 cm, r1 0.2–1.0 cm, length 0.3–1 cm, random but
seeded), all exuding citrate, default physics and numerics of ``rhizofem uptake`` (two solutes,
competitive Langmuir sorption, 16 P1 cells per segment, BDF2 with error control), each
simulated for the full 16 days (``--growing`` lets them start at random times instead).
Printed per case: wall time, segment-days per second (total and per core), the ratio to the
goal of 10 000 segment-days per second per core, and the cost split summed over ranks:
setup (meshes, forms), assembly (residuals and Jacobians), Newton linear algebra (LU
factorisation and solves, SNES), and the Python time loop (step control, bookkeeping).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

GOAL_PER_CORE = 10_000.0
ROOT = Path(__file__).resolve().parents[1]


def segments(n: int, t_end_d: float, growing: bool):
    from rhizofem.models.uptake.batch import SegmentArrays
    from rhizofem.models.uptake.segments import SegmentSet

    rng = np.random.default_rng(20220905)
    r0 = rng.uniform(0.01, 0.05, n)
    start = rng.uniform(0.0, t_end_d, n) if growing else np.zeros(n)
    arrays = SegmentArrays(index=np.arange(n), r0_cm=r0, r1_cm=rng.uniform(0.2, 1.0, n),
                           length_cm=rng.uniform(0.3, 1.0, n), start_s=start * 86400.0,
                           exudation_umol_cm2_s=np.full(n, 3e-6))
    return SegmentSet(arrays, start, np.zeros(n, int), {"source": "benchmark"})


def one_case(n: int, growing: bool) -> dict:
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    from rhizofem.config import load
    from rhizofem.models.uptake import Config
    from rhizofem.models.uptake.physics import build_model
    from rhizofem.models.uptake.run import simulate

    comm = MPI.COMM_WORLD
    cfg = load(Config, {"time": {"t_end_d": 16.0, "output_interval_d": 0.5, "profile_times_d": []},
                        "output": {"plots": False, "compare_without_exudation": False}})
    segset = segments(n, cfg.time.t_end_d, growing)
    model = build_model(cfg)
    comm.barrier()
    t0 = time.perf_counter()
    (series,) = simulate(model, segset, cfg, comm)
    comm.barrier()
    wall = time.perf_counter() - t0
    seg_days = float(np.sum(cfg.time.t_end_d - segset.arrays.start_s / 86400.0))
    st = series.stats
    rel = np.abs(series.mass_balance_error().sum(axis=1)) / series.turnover().sum(axis=1)
    return {"segments": n, "ranks": comm.size, "growing": growing, "wall_s": wall, "segment_days": seg_days,
            "segment_days_per_s": seg_days / wall, "per_core": seg_days / wall / comm.size,
            "ratio_to_goal": seg_days / wall / comm.size / GOAL_PER_CORE,
            "setup_s": sum(st["setup_s"]), "assembly_s": sum(st["assembly_s"]),
            "newton_linear_algebra_s": sum(st["newton_linear_algebra_s"]), "python_s": sum(st["python_s"]),
            "batch_steps_max": max(st["batch_steps"]), "newton_iterations": sum(st["newton_iterations"]),
            "steps_per_segment_mean": float(series.steps.mean()),
            "uptake_P_umol": float(series.uptake_P_umol[:, -1].sum()),
            "mass_balance_error_rel": float(rel.max()),
            "dofs": int(n * (cfg.numerics.cells_per_segment + 1) * len(model.solutes))}


def launch(n: int, ranks: int, growing: bool) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    cmd = [str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--case", str(n)]
    if growing:
        cmd.append("--growing")
    env = {**os.environ, "RHIZOFEM_PROGRESS": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--growing", action="store_true", help="segments start at random times in [0, 16) d")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        result = one_case(args.case, args.growing)
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(result), flush=True)
        return
    print(f"rhizofem uptake benchmark: 16 days, goal {GOAL_PER_CORE:.0f} segment-days/s per core "
          f"({'growing' if args.growing else 'all segments from day 0'})")
    head = (f"{'segments':>9} {'ranks':>5} {'wall s':>8} {'seg-d/s':>9} {'per core':>9} {'x goal':>7} "
            f"{'setup':>7} {'assembly':>9} {'lin.alg':>8} {'python':>7} {'steps':>6} {'newton':>7} {'mass bal':>9}")
    print(head)
    for n in args.sizes:
        for ranks in args.ranks:
            r = launch(n, ranks, args.growing)
            print(f"{r['segments']:>9} {r['ranks']:>5} {r['wall_s']:>8.2f} {r['segment_days_per_s']:>9.0f} "
                  f"{r['per_core']:>9.0f} {r['ratio_to_goal']:>7.2f} {r['setup_s']:>7.2f} {r['assembly_s']:>9.2f} "
                  f"{r['newton_linear_algebra_s']:>8.2f} {r['python_s']:>7.2f} {r["batch_steps_max"]:>6.0f} "
                  f"{r['newton_iterations']:>7.0f} {r['mass_balance_error_rel']:>9.1e}", flush=True)
    print("times in s summed over ranks; steps = batch steps of the busiest rank (all its batches); newton = total "
          "Newton iterations; the machine may be shared (see uptime).")


if __name__ == "__main__":
    main()
