"""Radial uptake benchmarks: what the command delivers, what citrate gains, how accurate the grid is.

    python benchmarks/bench_uptake.py throughput        # the command on 1, 10, 100 plants
    python benchmarks/bench_uptake.py throughput --plants 1 10 --ranks 1
    python benchmarks/bench_uptake.py citrate-gain      # 16-day gain by isotherm form, K_C, decay
    python benchmarks/bench_uptake.py grid              # zero sink vs Carslaw & Jaeger, r1/r0 20–250
    python benchmarks/bench_uptake.py two-roots         # coupled vs per-segment vs resolved reference
    python benchmarks/bench_uptake.py splitting         # coupled model: convergence in the macro step

**throughput** runs ``rhizofem uptake CONFIG --out DIR`` as a user does (a fresh process under
``mpiexec -n R``, the default config: two solutes, comparison run without exudation, figures)
on root systems of 1, 10 and 100 oilseed-rape plants (``meshes/rootsystem_rapeseed_16d.csv``,
CPlantBox, Leitner et al. 2010 parameters, 16 days, 344 segments per plant, copies placed side
by side 40 cm apart so that their rhizospheres do not share voxels). Printed per case:
segments simulated, segment-days (both runs), wall time of the command and its split (process
start-up and imports, input and RLD, solver, outputs and figures), CPU seconds of all ranks,
segment-days per second of the command and of the solver, and the load average of the machine
before and after (other jobs on a shared machine slow every figure).

**citrate-gain** runs one segment (defaults: r0 0.02 cm, r1 0.4 cm, 16 days) with and without
exudation for each competitive isotherm form, citrate affinity K_C and decomposed pool, and
prints the ratio of 16-day P uptake (the table of docs/uptake.md).

**grid** compares the cumulative uptake of a zero sink (linear buffer b = 163, r0 = 0.02 cm)
with the closed form of Carslaw & Jaeger for r1/r0 = 20, 50, 250 at 1, 4 and 16 days, with the
default grid and with the former fixed grid (16 cells, outer/inner width 40).

**two-roots** puts two parallel vertical roots (r0 0.02 cm) at distances 0.2–2 cm in a
4 × 2 × 1 cm box (phosphate alone, linear buffer b, Michaelis–Menten uptake, 4 days) and
compares the P uptake per root of the coupled model (`[macro]`, 0.25- and 0.5-cm cells, 1-h
steps) and of the per-segment model (1-cm voxels) with a reference that resolves both roots as
holes in a 3D DOLFINx mesh (tests/uptake_reference.py).

**splitting** runs the coupled model on the 16-day oilseed rape in its rhizotron
(meshes/rootsystem_rapeseed_rhizotron_16d.csv, 0.5-cm cells, 8 days) with macro steps from
12 h down to 0.75 h and prints the P uptake, citrate decomposed and their change against the
smallest step (the splitting error), with the wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PLANT = ROOT / "meshes" / "rootsystem_rapeseed_16d.csv"
SPACING_CM = 40.0


def plants_table(n_plants: int, path: Path) -> None:
    """``n_plants`` copies of the rapeseed root system on a square grid, 40 cm apart."""
    with open(PLANT, newline="") as fh:
        rows = list(csv.DictReader(fh))
    side = math.ceil(math.sqrt(n_plants))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for p in range(n_plants):
            dx, dy = SPACING_CM * (p % side), SPACING_CM * (p // side)
            for r in rows:
                q = dict(r)
                for k in ("x0_cm", "x1_cm"):
                    q[k] = float(r[k]) + dx
                for k in ("y0_cm", "y1_cm"):
                    q[k] = float(r[k]) + dy
                q["root_id"] = int(r["root_id"]) + 1000 * p
                w.writerow(q)


def throughput(args) -> None:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = {**os.environ, "RHIZOFEM_PROGRESS": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    print("rhizofem uptake, the command on oilseed-rape root systems (16 d, default config: two solutes, "
          "comparison run without exudation, figures)")
    head = (f"{'plants':>6} {'ranks':>5} {'segments':>8} {'seg-days':>9} {'wall s':>7} {'startup':>7} {'input':>6} "
            f"{'solver':>7} {'outputs':>7} {'CPU s':>7} {'seg-d/s cmd':>11} {'seg-d/s solver':>14} {'load':>9}")
    print(head, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.plants:
            table = Path(tmp) / f"plants_{n}.csv"
            plants_table(n, table)
            cfg = Path(tmp) / f"uptake_{n}.toml"
            cfg.write_text(f'[rootsystem]\ntable = "{table}"\nvoxel_cm = 1.0\n')
            for ranks in args.ranks:
                out = Path(tmp) / f"out_{n}_{ranks}"
                load0 = os.getloadavg()[0]
                cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run([str(mpiexec), "-n", str(ranks), sys.executable, "-m", "rhizofem.cli", "uptake",
                                str(cfg), "--out", str(out)], check=True, env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL)
                wall = time.perf_counter() - t0
                cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
                load1 = os.getloadavg()[0]
                doc = json.loads((out / "summary.json").read_text())
                ts = doc["solver"]["time_s"]
                seg_days = doc["results"]["segment_days"] * (2 if "uptake_ratio_with_to_without_exudation"
                                                             in doc["results"] else 1)
                outputs = wall - (ts["startup"] or 0.0) - ts["input"] - ts["solver"]
                print(f"{n:>6} {ranks:>5} {doc['results']['n_segments']:>8} {seg_days:>9.0f} {wall:>7.2f} "
                      f"{ts['startup'] or float('nan'):>7.2f} {ts['input']:>6.2f} {ts['solver']:>7.2f} {outputs:>7.2f} "
                      f"{cpu:>7.1f} {seg_days / wall:>11.0f} {seg_days / ts['solver']:>14.0f} "
                      f"{load0:>4.1f}/{load1:<4.1f}", flush=True)
    print("wall = the whole command (mpiexec to exit); startup = process start to the model (interpreter, "
          "imports); outputs = the rest (tables, figures, summary, MPI start/stop). load = 1-min load "
          "average before/after (the machine has", os.cpu_count(), "cores).")


def citrate_gain(args) -> None:
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    from rhizofem.config import load
    from rhizofem.models.uptake import Config, run

    print(f"16-day P uptake gain from citrate exudation, one segment (r0 0.02 cm, r1 0.4 cm, 1 cm), "
          f"defaults otherwise; {args.days:g} d")
    print(f"{'isotherm form':>21} {'S_P':>5} {'S_C':>5} {'K_C':>5} {'decays':>9} {'uptake with':>12} "
          f"{'without':>9} {'gain':>6}")
    forms = [("shared_sites", None, None), ("separate_capacities", 10.0, 0.18)]
    for form, sp, sc in forms:
        for kc in args.kc:
            for decays in ("solution", "total"):
                data = {"sorption": {"competition": form},
                        "citrate": {"langmuir_K_cm3_umol": kc, "decomposition_of": decays},
                        "time": {"t_end_d": args.days, "profile_times_d": []}, "output": {"plots": False}}
                if sp is not None:
                    data["phosphate"] = {"s_max_umol_g": sp}
                    data["citrate"]["s_max_umol_g"] = sc
                res = run(load(Config, data), comm=MPI.COMM_SELF)
                print(f"{form:>21} {sp or 10.0:>5g} {sc or 10.0:>5g} {kc:>5g} {decays:>9} "
                      f"{res.uptake_P_umol:>12.4g} {res.uptake_P_without_exudation_umol:>9.4g} "
                      f"{res.uptake_ratio:>6.2f}", flush=True)


def grid(args) -> None:
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    sys.path.insert(0, str(ROOT / "tests"))
    from test_uptake_laws import B_P, C0, D_EFF, carslaw_jaeger_zero_sink

    from rhizofem.config import load
    from rhizofem.models.uptake import Config, run

    print("zero sink (linear buffer b = 163, r0 = 0.02 cm, default P diffusion) against Carslaw & Jaeger: "
          "relative error of cumulative uptake")
    print(f"{'grid':>28} {'r1/r0':>6} {'cells':>5} {'1 d':>8} {'4 d':>8} {'16 d':>8} {'steps':>6}")
    for label, numerics in (("default", {}), ("16 cells, grading 40", {"cells_per_segment": 16, "grading": 40.0})):
        for ratio in (20, 50, 250):
            r0 = 0.02
            res = run(load(Config, {"segment": {"r0_cm": r0, "r1_cm": ratio * r0},
                                    "phosphate": {"isotherm": "linear", "buffer_power": B_P, "initial_umol_cm3": C0,
                                                  "uptake": "zero_sink"},
                                    "citrate": {"enabled": False}, "numerics": numerics,
                                    "time": {"t_end_d": 16.0, "output_interval_d": 1.0, "profile_times_d": []},
                                    "output": {"plots": False, "compare_without_exudation": False}}),
                      comm=MPI.COMM_SELF)
            errs = [res.uptake_P_series_umol[int(np.argmin(abs(res.times_d - d)))]
                    / carslaw_jaeger_zero_sink(r0, D_EFF, B_P, C0, d * 86400) - 1 for d in (1, 4, 16)]
            print(f"{label:>28} {ratio:>6} {int(res.series.cells[0]):>5} "
                  + " ".join(f"{100 * e:>+7.2f}%" for e in errs) + f" {int(res.series.steps[0]):>6}", flush=True)


def two_roots(args) -> None:
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    sys.path.insert(0, str(ROOT / "tests"))
    from test_uptake_coupled import vertical_roots
    from uptake_reference import reference_uptake

    from rhizofem.config import load
    from rhizofem.models.uptake import Config, run

    print(f"two parallel roots in a 4 x 2 x 1 cm box, phosphate with linear buffer b = {args.b:g}, "
          f"Michaelis-Menten uptake; P uptake per root (µmol per cm) at {args.days:g} d")
    print(f"{'d (cm)':>7} {'reference':>10} {'coupled 0.25':>13} {'coupled 0.5':>12} {'per-segment':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for d in args.distances:
            ref, info = reference_uptake(d, height=1.0, b=args.b, h_far=0.1, h_root=0.005, steps=80,
                                         t_end_d=args.days, out_days=(args.days,))
            r = float(np.mean(ref[args.days]))
            xy = [(2.0 - 0.5 * d + 0.125, 1.125), (2.0 + 0.5 * d + 0.125, 1.125)]
            table = Path(tmp) / f"two_{d}.csv"
            vertical_roots(table, xy)
            row = {}
            for cell in (0.25, 0.5):
                cfg = load(Config, {"rootsystem": {"table": str(table), "voxel_cm": 1.0,
                                                   "domain_min_cm": [0, 0, -1], "domain_max_cm": [4, 2, 0]},
                                    "phosphate": {"isotherm": "linear", "buffer_power": args.b},
                                    "citrate": {"enabled": False},
                                    "time": {"t_end_d": args.days, "output_interval_d": 1.0},
                                    "macro": {"enabled": True, "box_cm": [4, 2, 1], "origin_cm": [0, 0, -1],
                                              "cell_cm": cell, "dt_h": 1.0, "output_days": []},
                                    "output": {"plots": False, "compare_without_exudation": False}})
                res = run(cfg, comm=MPI.COMM_SELF)
                row[cell] = res.uptake_P_umol / 2
                row["per"] = res.uptake_P_per_segment_model_umol / 2

            def f(v):
                return f"{v:.5g} ({100 * (v / r - 1):+.1f}%)"

            print(f"{d:>7g} {r:>10.5g} {f(row[0.25]):>13} {f(row[0.5]):>12} {f(row['per']):>12}   "
                  f"(reference: {info['cells']} tetrahedra)", flush=True)


def splitting(args) -> None:
    import rhizofem  # noqa: F401
    from mpi4py import MPI

    from rhizofem.config import load
    from rhizofem.models.uptake import Config, run

    comm = MPI.COMM_WORLD
    rows = []
    for dt in args.dt_h:
        cfg = load(Config, {"rootsystem": {"table": str(ROOT / "meshes" / "rootsystem_rapeseed_rhizotron_16d.csv")},
                            "time": {"t_end_d": args.days},
                            "macro": {"enabled": True, "cell_cm": args.cell, "dt_h": dt, "output_days": [],
                                      "compare_per_segment": False},
                            "output": {"plots": False}})
        t0 = time.perf_counter()
        res = run(cfg, comm=comm)
        rows.append((dt, res.uptake_P_umol, res.decomposed_citrate_umol, res.mass_balance_error_rel,
                     time.perf_counter() - t0, res.coupled.n_cells, res.coupled.n_pieces))
    if comm.rank == 0:
        print(f"coupled model, rapeseed rhizotron, {args.days:g} d, {args.cell:g}-cm cells, {comm.size} rank(s); "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"{'dt (h)':>7} {'P uptake':>10} {'vs finest':>10} {'citrate decomposed':>19} {'vs finest':>10} "
              f"{'mass bal.':>9} {'wall s':>7}")
        ref = rows[-1]
        for dt, up, dec, mb, wall, cells, pieces in rows:
            print(f"{dt:>7g} {up:>10.5g} {100 * (up / ref[1] - 1):>+9.2f}% {dec:>19.5g} {100 * (dec / ref[2] - 1):>+9.2f}% "
                  f"{mb:>9.1e} {wall:>7.1f}")
        print(f"({rows[0][5]} soil cells, {rows[0][6]} root pieces)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--plants", type=int, nargs="+", default=[1, 10, 100])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p = sub.add_parser("citrate-gain")
    p.add_argument("--kc", type=float, nargs="+", default=[0.36, 2.0, 20.0])
    p.add_argument("--days", type=float, default=16.0)
    sub.add_parser("grid")
    p = sub.add_parser("two-roots")
    p.add_argument("--distances", type=float, nargs="+", default=[0.2, 0.5, 1.0, 2.0])
    p.add_argument("--b", type=float, default=2.0, help="buffer power of phosphate (linear isotherm)")
    p.add_argument("--days", type=float, default=4.0)
    p = sub.add_parser("splitting")
    p.add_argument("--dt-h", type=float, nargs="+", default=[12.0, 6.0, 3.0, 1.5, 0.75])
    p.add_argument("--days", type=float, default=8.0)
    p.add_argument("--cell", type=float, default=0.5)
    args = parser.parse_args()
    {"throughput": throughput, "citrate-gain": citrate_gain, "grid": grid, "two-roots": two_roots,
     "splitting": splitting}[args.what](args)


if __name__ == "__main__":
    main()
