"""Parallel efficiency 1 → 2 ranks of every model: the same problem, the command as a user runs it.

    python benchmarks/bench_parallel.py                                  # every model, 1 and 2 ranks
    python benchmarks/bench_parallel.py --models homogenize microbes     # some of them
    python benchmarks/bench_parallel.py --json out/bench_parallel.json   # keep the record
    python benchmarks/bench_parallel.py --summaries exudation=RUN1,RUN2  # add two runs made elsewhere
                                                                         # (1 and 2 ranks, their summary.json)

Each model runs ``rhizofem <command> CONFIG --out DIR`` in a fresh process under ``mpiexec -n 1``
and ``mpiexec -n 2`` on the problem below (sizes chosen so that a serial run takes 10–60 s on
a 2-core machine), and the ``performance`` section of its summary.json is read:

==================  ===========================================================================
uptake              the 16-day oilseed rape (meshes/rootsystem_rapeseed_16d.csv) × 40 plants,
                    1-cm voxels, default physics, no comparison run, no figures
uptake_coupled      the 16-day oilseed rape in its rhizotron (…_rhizotron_16d.csv), soil box of
                    0.5-cm cells, 3-h macro steps, 16 days, no per-segment comparison
rhizodeposition     the generated faba bean (vicia_faba generator), 21 days, mucilage point
                    sources, the default grid (200 × 200 × 450 voxels of 1 mm), every day 1–21,
                    no field files
homogenize          periodic Q1 cell problem on a 112³ synthetic sand (porosity 0.41, θ 0.19)
liquid              drainage of a 160³ sphere pack (porosity 0.4) to θ = 0.3, 0.2, 0.1
microbes            the built-in sample at 64³, 2·10⁴ cells, 5 days in 0.5-h steps, no fields
==================  ===========================================================================

Printed per model: the run's wall time (summary.json ``wall_time_s``: the model, without
interpreter start-up) on 1 and 2 ranks and the speed-up; the process CPU seconds of each rank
(imports included); then per stage the slowest rank's wall seconds on 1 and 2 ranks, the CPU
seconds of each rank, and the efficiency E = T₁ / (2 T₂) (1: perfect halving; 0.5: no gain);
E_CPU = C₁ / (2 max C₂) from the CPU seconds (C₁ the serial run's, C₂ each rank's): how well the
work splits, whatever else the machine runs (a rank waiting in an MPI call spins, so its
waiting counts as CPU time: E_CPU falls with load imbalance, not with a descheduled rank);
the 1-minute load average before and after each run; a headline result on 1 and 2 ranks (it
must agree to the solver tolerance: the benchmark stops when it does not). On a machine
shared with other jobs the efficiencies are measured under that load (see the load column).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _uptake(work: Path) -> tuple[str, str]:
    from bench_uptake import plants_table

    plants_table(40, work / "plants.csv")
    return "uptake", (f'[rootsystem]\ntable = "{work / "plants.csv"}"\nvoxel_cm = 1.0\n'
                      "[output]\nplots = false\ncompare_without_exudation = false\n")


def _uptake_coupled(work: Path) -> tuple[str, str]:
    table = ROOT / "meshes" / "rootsystem_rapeseed_rhizotron_16d.csv"
    return "uptake", (f'[rootsystem]\ntable = "{table}"\nvoxel_cm = 1.0\n[time]\nt_end_d = 16.0\n'
                      "[macro]\nenabled = true\nbox_cm = [21.0, 2.5, 46.0]\n"
                      "cell_cm = 0.5\ndt_h = 3.0\ncompare_per_segment = false\noutput_days = []\n"
                      "[output]\nplots = false\ncompare_without_exudation = false\n")


def _rhizodeposition(work: Path) -> tuple[str, str]:
    return "rhizodeposition", ('[rootsystem]\ngenerator = "vicia_faba"\nt_end_d = 21.0\n'
                               "[output]\ndays = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0]\nvti = false\nplots = false\n")


def _homogenize(work: Path) -> tuple[str, str]:
    from rhizofem.imaging.pores import sand

    np.save(work / "sand112.npy", sand((112, 112, 112), 0.41, 0.19, 0.1, grain_radius_px=(3.0, 6.0), seed=3))
    return "homogenize", f'[image]\npath = "{work / "sand112.npy"}"\n[output]\nfigure = false\nfields = false\n'


def _liquid(work: Path) -> tuple[str, str]:
    from rhizofem.imaging.liquid.samples import sphere_pack

    np.save(work / "pack160.npy", sphere_pack((160, 160, 160), 0.4, radius=(4.0, 8.0), seed=1))
    return "liquid", (f'[image]\npath = "{work / "pack160.npy"}"\n[liquid]\nwater_content = [0.3, 0.2, 0.1]\n'
                      "[output]\nfigure = false\n")


def _microbes(work: Path) -> tuple[str, str]:
    return "microbes", ("[domain]\nsize_voxels = [64, 64, 64]\n[bacteria]\ninitial_cells = 20000\n"
                        "[run]\nt_end_d = 5.0\ndt_h = 0.5\noutput_times_d = []\n"
                        "[output]\nfields = false\ncells = false\nplots = false\n")


MODELS = {"uptake": _uptake, "uptake_coupled": _uptake_coupled, "rhizodeposition": _rhizodeposition,
          "homogenize": _homogenize, "liquid": _liquid, "microbes": _microbes}


def headline(doc: dict) -> float:
    """One result of the run that must not depend on the number of ranks."""
    r = doc["results"]
    command = doc["command"]
    if command == "uptake":
        return r["uptake_P_umol"]
    if command == "rhizodeposition":
        return r["hotspot_volume_cm3"][-1]
    if command == "homogenize":
        return float(np.trace(np.asarray(r["D_eff"])))
    if command == "liquid":
        return float(sum(c["water_content"] for c in r["configurations"]))
    if command == "microbes":
        return r["biomass_ug_C"]
    if command == "exudation":
        return r.get("mass_released_ug", [float("nan")])[-1] if isinstance(r.get("mass_released_ug"), list) \
            else float("nan")
    return float("nan")


#: relative agreement of the headline between 1 and 2 ranks: Krylov solvers converged to 1e-8–1e-12,
#: sums in another order; individual bacteria draw from per-rank random streams only in their
#: own slab (the microbes model is built to give the same cells on any number of ranks)
AGREEMENT = 1e-6


def run_command(command: str, config: Path, out: Path, ranks: int) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = {**os.environ, "RHIZOFEM_PROGRESS": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run([str(mpiexec), "-n", str(ranks), sys.executable, "-m", "rhizofem.cli", command, str(config),
                    "--out", str(out), "--overwrite"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    doc = json.loads((out / "summary.json").read_text())
    doc["_bench"] = {"process_wall_s": wall, "load_before": load0, "load_after": os.getloadavg()[0]}
    return doc


def from_summary(path: str) -> dict:
    doc = json.loads((Path(path) / "summary.json").read_text())
    doc["_bench"] = {"process_wall_s": float("nan"), "load_before": float("nan"), "load_after": float("nan")}
    return doc


def compare(name: str, one: dict, two: dict) -> dict:
    """The efficiency record of a model from its 1- and 2-rank summaries (and print it)."""
    p1, p2 = one["performance"], two["performance"]
    w1, w2 = one["wall_time_s"], two["wall_time_s"]
    stages = sorted(set(p1["stage_wall_s_max"]) | set(p2["stage_wall_s_max"]),
                    key=lambda k: -p1["stage_wall_s_max"].get(k, 0.0))
    rows = []
    for k in stages:
        t1, t2 = p1["stage_wall_s_max"].get(k, 0.0), p2["stage_wall_s_max"].get(k, 0.0)
        rows.append({"stage": k, "wall_1_s": t1, "wall_2_s": t2,
                     "cpu_1_s": [r["cpu_s"].get(k, 0.0) for r in p1["ranks"]],
                     "cpu_2_s": [r["cpu_s"].get(k, 0.0) for r in p2["ranks"]],
                     "efficiency": t1 / (2 * t2) if t2 > 0 else None})
        c1, c2 = sum(rows[-1]["cpu_1_s"]), max(rows[-1]["cpu_2_s"])
        rows[-1]["cpu_efficiency"] = c1 / (2 * c2) if c2 > 0 else None
    h1, h2 = headline(one), headline(two)
    agree = (math.isnan(h1) and math.isnan(h2)) or abs(h1 - h2) <= AGREEMENT * max(abs(h1), 1e-300)
    rec = {"model": name, "command": one["command"], "wall_1_s": w1, "wall_2_s": w2, "speed_up": w1 / w2,
           "efficiency": w1 / (2 * w2),
           "process_cpu_s_1": [r["cpu_total_s"] for r in p1["ranks"]],
           "process_cpu_s_2": [r["cpu_total_s"] for r in p2["ranks"]],
           "peak_rss_mb_1": p1["peak_rss_mb_max"], "peak_rss_mb_2": p2["peak_rss_mb_max"],
           "dofs": p1.get("dofs"), "load_1": [one["_bench"]["load_before"], one["_bench"]["load_after"]],
           "load_2": [two["_bench"]["load_before"], two["_bench"]["load_after"]],
           "headline_1": h1, "headline_2": h2, "stages": rows}
    print(f"\n== {name} (rhizofem {one['command']}): wall {w1:.2f} s on 1 rank, {w2:.2f} s on 2 ranks, speed-up "
          f"{w1 / w2:.2f}, efficiency {w1 / (2 * w2):.2f}; load avg {rec['load_1'][0]:.1f}→{rec['load_1'][1]:.1f} "
          f"(1 rank), {rec['load_2'][0]:.1f}→{rec['load_2'][1]:.1f} (2 ranks)")
    print(f"   process CPU s per rank (imports included): 1 rank {_list(rec['process_cpu_s_1'])}, "
          f"2 ranks {_list(rec['process_cpu_s_2'])}; peak memory {rec['peak_rss_mb_1']:.0f} MB (1 rank), "
          f"{rec['peak_rss_mb_2']:.0f} MB per rank at most (2 ranks)"
          + (f"; {rec['dofs']} DOFs" if rec["dofs"] else ""))
    print(f"   {'stage':<24} {'wall 1':>8} {'wall 2':>8} {'CPU 1':>8} {'CPU 2 (per rank)':>18} {'E':>6} {'E_CPU':>6}")
    for r in rows:
        e = f"{r['efficiency']:.2f}" if r["efficiency"] is not None else "  -"
        ec = f"{r['cpu_efficiency']:.2f}" if r["cpu_efficiency"] is not None else "  -"
        print(f"   {r['stage']:<24} {r['wall_1_s']:>8.2f} {r['wall_2_s']:>8.2f} {_list(r['cpu_1_s']):>8} "
              f"{_list(r['cpu_2_s']):>18} {e:>6} {ec:>6}" + ("  < 0.8" if r["efficiency"] is not None
                                                               and r["efficiency"] < 0.8 and r["wall_1_s"] > 0.05
                                                               else ""))
    print(f"   headline result: {h1:.10g} (1 rank), {h2:.10g} (2 ranks)" + ("" if agree else "  DIFFERENT"))
    if not agree:
        raise SystemExit(f"{name}: 1 and 2 ranks differ beyond {AGREEMENT:g}: no efficiency is reported for "
                         "runs that do not compute the same thing")
    return rec


def _list(values) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--work", default="out/bench_parallel", help="folder for inputs and runs")
    parser.add_argument("--json", help="write the records here")
    parser.add_argument("--summaries", nargs="*", default=[], metavar="NAME=RUN1,RUN2",
                        help="also compare two runs made elsewhere (output folders on 1 and 2 ranks)")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    print(f"machine: {os.cpu_count()} cores, load avg {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start; "
          "E = T1 / (2 T2) per stage from the slowest rank's wall seconds", flush=True)
    records = []
    for name in args.models:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        command, text = MODELS[name](folder)
        (folder / "config.toml").write_text(text)
        one = run_command(command, folder / "config.toml", folder / "ranks1", 1)
        two = run_command(command, folder / "config.toml", folder / "ranks2", 2)
        records.append(compare(name, one, two))
        sys.stdout.flush()
    for spec in args.summaries:
        name, runs = spec.split("=", 1)
        a, b = runs.split(",")
        records.append(compare(name, from_summary(a), from_summary(b)))
    print(f"\nload avg {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"command": "python benchmarks/bench_parallel.py "
                                               + " ".join(argv if argv is not None else sys.argv[1:]),
                                               "cores": os.cpu_count(), "records": records}, indent=2))


if __name__ == "__main__":
    main()
