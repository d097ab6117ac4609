"""Benchmark: the 3D effective tensor at three sizes up to ~1 M DOFs, on 1 and 2 ranks.

    python benchmarks/bench_homogenization.py                 # sizes 48 80 112, ranks 1 2
    python benchmarks/bench_homogenization.py --sizes 32 48 --ranks 2
    python benchmarks/bench_homogenization.py --elements Q1 P1   # boxes vs Kuhn tetrahedra
    python benchmarks/bench_homogenization.py --resolution-study  # built-in 3D sands at 1-4 voxels/unit

The cell is one period of a simple cubic array of non-conducting spheres (volume fraction
0.3) in water, voxelised with N³ voxels: N = 112 gives ~1.0 M DOFs. Each run goes from the
image to the tensor: mesh of the liquid voxels on rank 0 (Q1: one hexahedron per voxel, the
default; P1: six Kuhn tetrahedra), distribution, periodic constraint,
assembly, Pᵀ A P, pinning of the cluster constants, CG + GAMG set-up once, three solves
(one per direction), flux integrals. The script launches one ``mpiexec -n R`` per rank
count and prints every stage, the KSP iterations per size (the goal: nearly flat under
refinement) and the ratio of the time of a ~1 M-DOF tensor on 2 ranks to the goal of one
minute. The machine's load is printed alongside: timings on a shared machine are upper
bounds.

``--resolution-study`` is the accuracy study of the built-in 3D samples instead: the same
grains rasterised with 1, 2, 3 and 4 voxels per unit (40³ to 160³ voxels; water and mucilage
placed again at each), the translation tensor at each (serially, one process), and the
Richardson extrapolation of the last three levels (:func:`rhizofem.models.homogenization.
model.richardson`) with the relative error of every level. It takes about half an hour.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 60.0
STAGES = ("image_and_voxel_mesh", "mesh", "constraint", "assemble", "reduce", "pin", "setup", "solves", "flux")


def worker(sizes: list[int], fraction: float, element: str) -> None:
    import numpy as np
    import rhizofem  # noqa: F401
    from mpi4py import MPI
    from rhizofem.imaging.pores import SOLID, WATER, inclusion_array
    from rhizofem.models.homogenization import cell_tensor, distribute_cell, liquid_mesh

    comm = MPI.COMM_WORLD
    diffusivity = {SOLID: 0.0, WATER: 1.0}
    for n in sizes:
        comm.barrier()
        t0 = time.perf_counter()
        lm = None
        if comm.rank == 0:
            lm = liquid_mesh(inclusion_array(n, fraction, 3), diffusivity, 1e-5, periodic=True, element=element)
        t_image = time.perf_counter() - t0
        cell = distribute_cell(comm, lm, diffusivity)
        del lm
        result = cell_tensor(cell, "translation")
        comm.barrier()
        total = time.perf_counter() - t0
        if comm.rank == 0:
            timings = {"image_and_voxel_mesh": t_image, **result.timings}
            row = {"n": n, "ranks": comm.size, "element": element, "load": os.getloadavg()[0],
                   "dofs": result.num_dofs, "iterations": result.iterations,
                   "timings": timings, "total": total, "D": float(np.trace(result.D_eff) / 3),
                   "remote_partners": result.num_remote_partners}
            print("ROW " + json.dumps(row), flush=True)
        del cell, result


def resolution_study(levels: list[int]) -> None:
    import numpy as np
    import rhizofem  # noqa: F401
    from mpi4py import MPI
    from rhizofem.imaging.pores import sand_sample_3d
    from rhizofem.models.homogenization.model import richardson, solve_image

    diffusivity = {0: 0.0, 1: 0.0, 2: 1.0, 3: 0.5}
    for mucilage in (False, True):
        name = "sand_3d" if mucilage else "sand_3d_water"
        diag = []
        for r in levels:
            t0 = time.perf_counter()
            labels = sand_sample_3d(mucilage=mucilage, resolution=r)
            t_image = time.perf_counter() - t0
            solved = solve_image(MPI.COMM_SELF, labels, diffusivity, 10e-6 / r, "translation")
            diag.append(np.diag(solved.D_eff))
            print(f"{name} resolution {r} ({labels.shape[0]}³, {solved.tensor.num_dofs:,} DOFs): D_xx, D_yy, D_zz = "
                  + ", ".join(f"{d:.5f}" for d in diag[-1])
                  + f"  (image {t_image:.0f} s, tensor {solved.seconds:.0f} s, load {os.getloadavg()[0]:.1f})",
                  flush=True)
        h = 1.0 / np.array(levels, dtype=float)
        limit, order, notes = richardson(h, np.array(diag))
        print(f"{name} extrapolated from resolutions {levels[-3:]}: " + ", ".join(f"{d:.5f}" for d in limit)
              + "  (order " + ", ".join(f"{p:.2f}" for p in order) + ")" + ("; " + "; ".join(notes) if notes else ""))
        for r, d in zip(levels, diag, strict=True):
            print(f"  resolution {r}: error " + ", ".join(f"{e:+.1%}" for e in d / limit - 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 80, 112])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fraction", type=float, default=0.3, help="sphere volume fraction")
    parser.add_argument("--elements", nargs="+", default=["Q1"], choices=["Q1", "P1"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--resolution-study", action="store_true",
                        help="accuracy of the built-in 3D samples against voxels per grain unit")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3, 4], help="resolutions of the study")
    args = parser.parse_args()
    if args.resolution_study:
        resolution_study(args.levels)
        return 0
    if args.worker:
        worker(args.sizes, args.fraction, args.elements[0])
        return 0

    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = {**os.environ, "RHIZOFEM_PROGRESS": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    rows = []
    print(f"load average before: {os.getloadavg()}  (2 cores shared with other work: upper bounds)")
    for element in args.elements:
        for ranks in args.ranks:
            cmd = [str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--worker", "--elements", element,
                   "--fraction", str(args.fraction), "--sizes", *map(str, args.sizes)]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                return proc.returncode
            rows += [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("ROW ")]
    print(f"load average after:  {os.getloadavg()}")

    head = f"{'elem':>4} {'load':>4} {'ranks':>5} {'N':>4} {'DOFs':>9} {'iters':>10} " + \
        " ".join(f"{s[:9]:>9}" for s in STAGES) + \
        f" {'per rhs':>8} {'solver':>8} {'total':>8}  D_eff/D"
    print("\nseconds per stage (solver = constraint+assemble+reduce+pin+setup+3 solves+flux)")
    print(head)
    for r in rows:
        t = r["timings"]
        cells = [sum(t[s]) if s == "solves" else t[s] for s in STAGES]
        solver = sum(cells[2:])
        print(f"{r['element']:>4} {r['load']:4.1f} {r['ranks']:>5} {r['n']:>4} {r['dofs']:>9} "
              f"{str(r['iterations']):>10} "
              + " ".join(f"{c:9.2f}" for c in cells)
              + f" {sum(t['solves']) / len(t['solves']):8.2f} {solver:8.2f} {r['total']:8.2f}  {r['D']:.5f}")

    for element in args.elements:
        for ranks in args.ranks:
            its = [max(r["iterations"]) for r in rows if r["ranks"] == ranks and r["element"] == element]
            print(f"{element}: iterations under refinement on {ranks} rank(s): {its}  "
                  f"(max/min = {max(its) / min(its):.2f})")
    for element in args.elements:
        big = [r for r in rows if r["ranks"] == max(args.ranks) and r["element"] == element]
        r = max(big, key=lambda row: row["dofs"])
        t = r["timings"]
        solver = sum(sum(t[s]) if s == "solves" else t[s] for s in STAGES[2:])
        print(f"\n{element}, largest cell on {r['ranks']} rank(s): {r['dofs']:,} DOFs")
        print(f"  image -> tensor: {r['total']:.1f} s = {r['total'] / GOAL_S:.2f} x the {GOAL_S:.0f} s goal")
        print(f"  tensor from the distributed mesh (solver part): {solver:.1f} s = {solver / GOAL_S:.2f} x the goal")
        if r["dofs"] < 1_000_000:
            print("  (below 1 M DOFs: run with --sizes ... 112 for the goal size)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
