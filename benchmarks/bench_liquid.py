"""Benchmark: time and memory of the liquid stage on an N³ sand pack (N = 200 by default).

    mpiexec -n 2 python benchmarks/bench_liquid.py                       # 200³, water and 8 mg/g
    mpiexec -n 2 python benchmarks/bench_liquid.py --mucilage 8           # one case: its own peak memory
    mpiexec -n 2 python benchmarks/bench_liquid.py --size 100 --thetas 0.3 0.15
    python benchmarks/bench_liquid.py --size 64 --no-homogenize         # image work only

The image is a periodic random sphere pack (porosity 0.40, grain radii 6-10 voxels of
10 µm). For water only and with 8 mg/g mucilage it measures: the drainage sequence (and the
mucilage drying) on rank 0, the configurations and percolation thresholds, and each
configuration's homogenization (translation cell, Q1, CG + GAMG) on all ranks; then the peak
resident memory of every rank. CPU seconds are given beside wall seconds: on a
shared machine the wall time is an upper bound; the load average is printed with the table.
One JSON line per case (prefix ``ROW``) for the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--thetas", type=float, nargs="+", default=[0.4, 0.3, 0.2, 0.12, 0.08])
    parser.add_argument("--mucilage", type=float, nargs="+", default=[0.0, 8.0],
                        help="mucilage contents (mg/g) to run, each a case; peak memory is the process's "
                             "(a later case's includes what an earlier one left)")
    parser.add_argument("--no-homogenize", action="store_true", help="image work only (serial)")
    args = parser.parse_args()

    import rhizofem  # noqa: F401
    from mpi4py import MPI
    from rhizofem.imaging.liquid import LiquidStage
    from rhizofem.output.performance import peak_rss_mb
    from rhizofem.imaging.liquid.samples import sphere_pack
    from rhizofem.models.homogenization import Config
    from rhizofem.models.homogenization.config import Image
    from rhizofem.models.liquid import configurations, deff_curve

    comm = MPI.COMM_WORLD
    n = args.size
    t = time.process_time()
    pack = sphere_pack((n,) * 3, 0.4, radius=(6.0, 10.0), seed=1) if comm.rank == 0 else None
    cpu_pack = time.process_time() - t
    config = Config(image=Image(sample="sand_3d", voxel_size_um=10.0))  # only the voxel size, phases, cell are used
    for mucilage in args.mucilage:
        label = "water only" if mucilage == 0 else f"{mucilage:g} mg/g mucilage"
        stage = LiquidStage(water_content=tuple(args.thetas), periodic=True, mucilage_mg_g=mucilage)
        comm.barrier()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if args.no_homogenize:
            if comm.rank == 0:
                _, confs, _, _, thresholds, porosity, info = configurations(pack, config, stage, "pack")
            row = {"curve": None}
        else:
            result = deff_curve(pack, config, stage, comm, source=f"sphere pack {n}^3")
            info = result.sequence
            row = {"curve": [{"theta": p["water_content"], "D_diag": np.diag(p["D_eff"]).tolist(),
                              "dofs": p["dofs"], "iterations": p["iterations"], "wall_s": p["seconds"]}
                             for p in result.curve]}
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        rss = comm.gather(peak_rss_mb(), root=0)
        cpus = comm.gather(cpu, root=0)
        if comm.rank == 0:
            row.update({"case": label, "size": n, "ranks": comm.size, "load": os.getloadavg()[0],
                        "wall_s": wall, "cpu_s_per_rank": cpus, "peak_rss_mb_per_rank": rss,
                        "cpu_s_sphere_pack": cpu_pack,
                        "cpu_s_sequence_rank0": info.get("cpu_s_sequence"),
                        "cpu_s_percolation_rank0": info.get("cpu_s_percolation"),
                        "classes": info.get("classes"), "lowest_water_content": info.get("lowest_water_content")})
            print("ROW " + json.dumps(row), flush=True)
            print(f"{label}: {wall:.1f} s wall (load {row['load']:.1f}), CPU per rank "
                  f"{', '.join(f'{c:.1f}' for c in cpus)} s; sequence {row['cpu_s_sequence_rank0']:.1f} s CPU, "
                  f"percolation {row['cpu_s_percolation_rank0']:.1f} s CPU; peak memory per rank "
                  f"{', '.join(f'{r:.0f}' for r in rss)} MB", flush=True)


if __name__ == "__main__":
    main()
