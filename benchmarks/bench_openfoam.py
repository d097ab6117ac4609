"""rhizofem against the seed's own solver: OpenFOAM scalarTransportFoam on the same tagged mesh.

    python benchmarks/bench_openfoam.py                      # default sample, inlet_subdivide 0 1 2, 1 and 2 ranks
    python benchmarks/bench_openfoam.py --quick              # a 72 µm slice of it, 10 min: a few minutes
    python benchmarks/bench_openfoam.py --subdivide 0 1 --ranks 1
    python benchmarks/bench_openfoam.py --crop 8 24               # z slices 8..23 of the sample

Case study 3's physics (Schnepf et al. 2022): D = 2.88e-7 cm² s⁻¹, c = c_in = 1037.52 µg cm⁻³
on the root and hair contact, no flux elsewhere, c = 0 at t = 0, mass in the soil after 1 h.
For each ``inlet_subdivide`` the default sample's soil is meshed once by rhizofem; the same
tetrahedra go to

- rhizofem (``rhizofem exudation`` on the .msh: P1, adaptive BDF2 at several ``time_rtol``, the
  mass at t_end only, first step t_end/100 as OpenFOAM's fixed steps start from t = 0: the error
  of the first steps drains out through the inlet before t_end — on the default mesh the mass at
  1 h moved by 2e-5 from dt_first_s 0.05 s to 36 s, in 17 steps instead of 32);
- OpenFOAM v1912 from Debian's ``openfoam`` package: the mesh as MSH 2.2 ASCII with every
  tetrahedron positively oriented → ``gmshToFoam`` → ``checkMesh`` (must say "Mesh OK");
  ``scalarTransportFoam`` with U = 0, ``Gauss linear corrected`` Laplacian, ``backward``
  (BDF2) time steps of fixed size, GAMG to 1e-8, ``fixedValue`` c_in on the inlet patches,
  ``zeroGradient`` elsewhere; the mass by a ``volFieldValue`` volIntegrate function object.
  Two ranks: ``decomposePar`` (method simple: slabs along x; Debian's build has no scotch)
  and ``mpirun -np 2 scalarTransportFoam -parallel``.

Printed per run: mesh, code, time setting, steps, mass, its distance from the extrapolated
limit, CPU time (all processes, from the operating system; reading the mesh included, converting
it for OpenFOAM not) and wall time. The limit: each code's time-converged masses on the two
finest meshes extrapolated at first order in the element size (M_lim = 2 M_h − M_2h; P1
approaches from above, finite volumes from below) and averaged over the two codes. Each code's
two-mesh extrapolation at every time setting is a run too (CPU: the sum of its two runs).

The CPU ratio at the stated accuracy (``--accuracy``, 0.5 %): each code's cheapest run within it
of the limit; the ratio is printed only when both codes have such a run *and* the two are
within the accuracy of each other (equal accuracy); otherwise the benchmark says why not.
``--report FILE --accuracy 0.0025`` prints the comparison of a finished run at another accuracy.
``--reuse`` keeps the runs already in the working folder; ``--report runs_root+hair.json``
prints the report of a finished run again.

Needs OpenFOAM's binaries on the PATH (``apt-get install openfoam``); without them only
rhizofem runs. Every number is from this machine at the time of the run: run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
D_MM2_S = 2.88e-7 * 100.0
C_IN_UG_MM3 = 1037.52e-3
FOAM_BASHRC = Path("/usr/share/openfoam/etc/bashrc")  # Debian's openfoam package
FOAM_ENV = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C",
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMP_NUM_THREADS": "1"}


def foam_environment() -> dict:
    """OpenFOAM's environment (its bashrc sourced in a clean shell, without this venv's variables)."""
    env = dict(FOAM_ENV)
    if FOAM_BASHRC.is_file():
        out = subprocess.run(["bash", "-c", f"source {FOAM_BASHRC} >/dev/null 2>&1; env -0"], env=FOAM_ENV,
                             capture_output=True).stdout.decode()
        env.update(item.split("=", 1) for item in out.split("\0") if "=" in item)
    return env
HEADER = """FoamFile
{{
    version 2.0;
    format ascii;
    class {cls};
    object {obj};
}}
"""


# ----------------------------------------------------------------------------- meshes


def build_meshes(work: Path, subdivides, crop: slice | None, reuse: bool = False) -> dict:
    """The soil mesh of the default sample for each inlet_subdivide, as .msh (rhizofem) and MSH 2.2."""
    import rhizofem  # noqa: F401
    from rhizofem.imaging.sample import default_sample
    from rhizofem.meshing.gmsh_io import write_soil_msh
    from rhizofem.meshing.soil import MeshOptions, soil_simplices

    image, voxel = default_sample()
    if crop is not None:
        image = np.ascontiguousarray(image[:, :, crop])
    out = {}
    for s in subdivides:
        folder = work / (f"mesh_s{s}" + (f"_z{crop.start}-{crop.stop}" if crop is not None else ""))
        if reuse and (folder / "sizes.json").is_file():
            out[s] = {"msh": folder / "mesh.msh", "msh22": folder / "mesh22.msh",
                      **json.loads((folder / "sizes.json").read_text())}
            print(f"  inlet_subdivide = {s}: {out[s]['cells']} tetrahedra, {out[s]['vertices']} vertices (reused)")
            continue
        folder.mkdir(parents=True, exist_ok=True)
        simplices = soil_simplices(image, voxel, options=MeshOptions(inlet_subdivide=s))
        write_soil_msh(folder / "mesh.msh", simplices)
        write_msh22_positive(folder / "mesh22.msh", simplices)
        sizes = {"cells": len(simplices.cells), "vertices": len(simplices.points_mm)}
        (folder / "sizes.json").write_text(json.dumps(sizes))
        out[s] = {"msh": folder / "mesh.msh", "msh22": folder / "mesh22.msh", **sizes}
        print(f"  inlet_subdivide = {s}: {len(simplices.cells)} tetrahedra, {len(simplices.points_mm)} vertices",
              flush=True)
    return out


def write_msh22_positive(path: Path, s) -> None:
    """MSH 2.2 ASCII (what gmshToFoam reads), every tetrahedron with a positive volume."""
    from rhizofem.meshing.tags import FACET_GROUPS, SOIL

    p = s.points_mm
    cells = s.cells.copy()
    a, b, c, d = (p[cells[:, i]] for i in range(4))
    negative = np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) < 0
    cells[negative, 2], cells[negative, 3] = s.cells[negative, 3], s.cells[negative, 2]
    with open(path, "w", encoding="ascii") as fh:
        fh.write("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$PhysicalNames\n")
        fh.write(f"{len(FACET_GROUPS) + 1}\n")
        for name, value in FACET_GROUPS.items():
            fh.write(f'2 {value} "{name}"\n')
        fh.write(f'3 {SOIL} "soil"\n$EndPhysicalNames\n$Nodes\n{len(p)}\n')
        np.savetxt(fh, np.column_stack([np.arange(1, len(p) + 1), p]), fmt="%d %.12g %.12g %.12g")
        fh.write(f"$EndNodes\n$Elements\n{len(s.facets) + len(cells)}\n")
        n = len(s.facets)
        tri = np.column_stack([np.arange(1, n + 1), np.full(n, 2), np.full(n, 2), s.facet_values, s.facet_values,
                               s.facets + 1])
        np.savetxt(fh, tri, fmt="%d")
        tet = np.column_stack([np.arange(n + 1, n + len(cells) + 1), np.full(len(cells), 4), np.full(len(cells), 2),
                               np.full(len(cells), SOIL), np.full(len(cells), SOIL), cells + 1])
        np.savetxt(fh, tet, fmt="%d")
        fh.write("$EndElements\n")


# ----------------------------------------------------------------------------- OpenFOAM


def foam_available() -> bool:
    return all(shutil.which(b, path=FOAM_ENV["PATH"]) for b in ("gmshToFoam", "checkMesh", "scalarTransportFoam"))


def foam(cmd: list[str], case: Path, log: str) -> tuple[float, float]:
    """Run an OpenFOAM command in ``case``; returns (cpu_s of it and its children, wall_s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(case / log, "w") as fh:
        done = subprocess.run(cmd, cwd=case, env=foam_environment(), stdout=fh, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {case} (see {case / log})")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def foam_mesh(mesh: dict, work: Path) -> Path:
    """An OpenFOAM case with the mesh converted and checked (reused by every run on it)."""
    base = work / f"foam_mesh_{mesh['msh22'].parent.name}"
    if (base / "constant" / "polyMesh" / "boundary").exists():
        return base
    (base / "system").mkdir(parents=True, exist_ok=True)
    (base / "constant").mkdir(exist_ok=True)
    write_foam_system(base, dt=1.0, t_end=1.0, ranks=1)
    foam(["gmshToFoam", str(mesh["msh22"])], base, "log.gmshToFoam")
    foam(["checkMesh"], base, "log.checkMesh")
    log = (base / "log.checkMesh").read_text()
    if "Mesh OK." not in log:
        raise RuntimeError(f"checkMesh did not pass on {mesh['msh22']} (see {base / 'log.checkMesh'})")
    return base


def write_foam_system(case: Path, dt: float, t_end: float, ranks: int) -> None:
    sysdir = case / "system"
    sysdir.mkdir(parents=True, exist_ok=True)
    (sysdir / "controlDict").write_text(HEADER.format(cls="dictionary", obj="controlDict") + f"""
application scalarTransportFoam;
startFrom startTime;
startTime 0;
stopAt endTime;
endTime {t_end};
deltaT {dt};
writeControl runTime;
writeInterval {t_end};
writeFormat binary;
writePrecision 12;
timePrecision 12;
runTimeModifiable false;
functions
{{
    mass
    {{
        type volFieldValue;
        libs (fieldFunctionObjects);
        fields (T);
        operation volIntegrate;
        regionType all;
        writeFields false;
        log false;
        writeControl timeStep;
    }}
}}
""")
    (sysdir / "fvSchemes").write_text(HEADER.format(cls="dictionary", obj="fvSchemes") + """
ddtSchemes { default backward; }
gradSchemes { default Gauss linear; }
divSchemes { default none; div(phi,T) Gauss linear; }
laplacianSchemes { default Gauss linear corrected; }
interpolationSchemes { default linear; }
snGradSchemes { default corrected; }
""")
    (sysdir / "fvSolution").write_text(HEADER.format(cls="dictionary", obj="fvSolution") + """
solvers { T { solver GAMG; smoother GaussSeidel; tolerance 1e-8; relTol 0; } }
SIMPLE { nNonOrthogonalCorrectors 0; }
""")
    (sysdir / "decomposeParDict").write_text(HEADER.format(cls="dictionary", obj="decomposeParDict") + f"""
numberOfSubdomains {ranks};
method simple;
simpleCoeffs {{ n ({ranks} 1 1); delta 0.001; }}
""")


def foam_run(mesh: dict, work: Path, dt: float, t_end: float, inlets: tuple[str, ...], ranks: int,
             reuse: bool = False) -> dict:
    case = work / f"foam_{mesh['msh22'].parent.name}_{'+'.join(inlets)}_dt{dt:g}_t{t_end:g}_np{ranks}"
    if reuse and (case / "result.json").is_file():
        return json.loads((case / "result.json").read_text())
    base = foam_mesh(mesh, work)
    shutil.rmtree(case, ignore_errors=True)
    (case / "constant").mkdir(parents=True)
    shutil.copytree(base / "constant" / "polyMesh", case / "constant" / "polyMesh")
    (case / "constant" / "transportProperties").write_text(
        HEADER.format(cls="dictionary", obj="transportProperties") + f"\nDT DT [0 2 -1 0 0 0 0] {D_MM2_S!r};\n")
    write_foam_system(case, dt, t_end, ranks)
    zero = case / "0"
    zero.mkdir()
    patches = {"root_contact": "root" in inlets, "hair_contact": "hair" in inlets, "no_flux": False}
    bc = "\n".join(f"    {p} {{ type fixedValue; value uniform {C_IN_UG_MM3!r}; }}" if inlet else
                   f"    {p} {{ type zeroGradient; }}" for p, inlet in patches.items())
    (zero / "T").write_text(HEADER.format(cls="volScalarField", obj="T") +
                            f"\ndimensions [0 0 0 1 0 0 0];\ninternalField uniform 0;\nboundaryField\n{{\n{bc}\n}}\n")
    ubc = "\n".join(f"    {p} {{ type fixedValue; value uniform (0 0 0); }}" for p in patches)
    (zero / "U").write_text(HEADER.format(cls="volVectorField", obj="U") +
                            f"\ndimensions [0 1 -1 0 0 0 0];\ninternalField uniform (0 0 0);\nboundaryField\n{{\n{ubc}\n}}\n")
    cpu = wall = 0.0
    if ranks > 1:
        c, w = foam(["decomposePar", "-force"], case, "log.decomposePar")
        cpu, wall = cpu + c, wall + w
        c, w = foam(["mpirun", "-np", str(ranks), "scalarTransportFoam", "-parallel"], case, "log.solve")
    else:
        c, w = foam(["scalarTransportFoam"], case, "log.solve")
    solve_cpu, solve_wall = c, w
    files = sorted((case / "postProcessing" / "mass").rglob("*.dat"))
    rows = [line.split() for line in files[-1].read_text().splitlines() if line and not line.startswith("#")]
    times, masses = np.array([float(r[0]) for r in rows]), np.array([float(r[1]) for r in rows])
    result = {"code": "OpenFOAM", "setting": f"backward, dt {dt:g} s", "steps": int(round(t_end / dt)),
              "mass_ug": float(masses[np.argmin(abs(times - t_end))]), "cpu_s": solve_cpu + cpu,
              "wall_s": solve_wall + wall, "ranks": ranks, "load_avg": os.getloadavg()[0]}
    (case / "result.json").write_text(json.dumps(result))
    return result


# ----------------------------------------------------------------------------- rhizofem


def rhizofem_run(mesh: dict, work: Path, rtol: float, t_end: float, inlets: tuple[str, ...], ranks: int,
                 reuse: bool = False) -> dict:
    out = work / f"rhizofem_{mesh['msh'].parent.name}_{'+'.join(inlets)}_rtol{rtol:g}_t{t_end:g}_np{ranks}"
    if reuse and (out / "result.json").is_file():
        return json.loads((out / "result.json").read_text())
    cfg = work / f"{out.name}.toml"
    cfg.write_text(f'compare_hairless = false\n[mesh]\npath = "{mesh["msh"]}"\n[inlet]\ntags = {list(inlets)!r}\n'
                   f"[physics]\nt_end_s = {t_end!r}\n[time]\ntime_rtol = {rtol!r}\ndt_first_s = {t_end / 100!r}\n"
                   f"output_times_s = [{t_end!r}]\n"
                   "[output]\nplots = false\nfields = false\n".replace("'", '"'))
    mpiexec = Path(sys.executable).with_name("mpiexec")
    cmd = [str(mpiexec), "-n", str(ranks), sys.executable, "-m", "rhizofem.cli", "exudation", str(cfg),
           "--out", str(out)]
    env = {**os.environ, "RHIZOFEM_PROGRESS": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"rhizofem failed:\n{done.stderr[-3000:]}")
    doc = json.loads((out / "summary.json").read_text())
    r = doc["results"]
    solver = sum(max(rank["timings_s"].get(k, 0.0) for rank in doc["performance"]["ranks"])
                 for k in ("assembly", "operators", "preconditioner_setup", "solves", "flux_and_error"))
    result = {"code": "rhizofem", "setting": f"adaptive BDF2, time_rtol {rtol:g}", "steps": r["steps"],
              "mass_ug": r["mass_ug"], "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
              "wall_s": wall, "solver_wall_s": solver, "ranks": ranks, "dofs": r["dofs"],
              "peak_rss_mb": max(rank.get("peak_rss_mb", 0.0) for rank in doc["performance"]["ranks"]),
              "load_avg": os.getloadavg()[0]}
    (out / "result.json").write_text(json.dumps(result))
    return result


# ----------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subdivide", type=int, nargs="+", default=[0, 1, 2], help="inlet_subdivide of the meshes")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--inlets", nargs="+", default=["root+hair"], help="root+hair and/or root")
    parser.add_argument("--dt", type=float, nargs="+", default=[360.0, 180.0, 90.0], help="OpenFOAM time steps, s")
    parser.add_argument("--rtol", type=float, nargs="+", default=[1e-2, 3e-3, 1e-3], help="rhizofem time_rtol")
    parser.add_argument("--t-end", type=float, default=3600.0)
    parser.add_argument("--accuracy", type=float, help="the accuracy of the CPU comparison (default 0.005; "
                        "with --report: the one of the run)")
    parser.add_argument("--quick", action="store_true", help="a 72 µm slice of the sample, 10 min, meshes 0 and 1")
    parser.add_argument("--crop", type=int, nargs=2, metavar=("Z0", "Z1"),
                        help="only the image's z slices Z0..Z1-1 (a crop of the sample)")
    parser.add_argument("--work", default="out/bench_openfoam", help="working folder (meshes, cases, runs)")
    parser.add_argument("--tag", default="", help="appended to the name of the runs file (runs_root+hair<TAG>.json)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the runs already in the working folder (same mesh, setting, ranks, t_end)")
    parser.add_argument("--report", metavar="RUNS_JSON", nargs="+",
                        help="only print the report of previous runs' runs_*.json (several: their runs together)")
    args = parser.parse_args()
    if args.report:
        docs = [json.loads(Path(f).read_text()) for f in args.report]
        runs = [r for doc in docs for r in doc["runs"] if "extrapolated" not in r["setting"]]
        args.ranks = sorted({r["ranks"] for r in runs})
        args.accuracy = args.accuracy or docs[0]["accuracy"]
        levels = sorted({r["mesh"] for r in runs})
        for doc in docs:
            print(f"{doc['title']}; load average {doc.get('load_avg_end', float('nan')):.1f} at the end")
        report(runs + extrapolated(runs, levels), levels, args, docs[0]["inlet"])
        return
    args.accuracy = args.accuracy or 0.005
    crop = slice(*args.crop) if args.crop else None
    if args.quick:
        crop = slice(16, 24)
        args.t_end = 600.0
        args.subdivide = [s for s in args.subdivide if s <= 1] or [0, 1]
        args.dt = [t / 6 for t in args.dt]
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    what = "default sample" + (f" (z slices {crop.start}..{crop.stop - 1})" if crop else "")
    title = (f"rhizofem vs OpenFOAM scalarTransportFoam: {what}, {args.t_end:g} s; "
             f"load average {load[0]:.1f} at the start")
    print(title, flush=True)
    meshes = build_meshes(work, args.subdivide, crop, args.reuse)
    have_foam = foam_available()
    if not have_foam:
        print("OpenFOAM's binaries (gmshToFoam, checkMesh, scalarTransportFoam) are not on the PATH: "
              "rhizofem only (apt-get install openfoam)", flush=True)
    for inlet_name in args.inlets:
        inlets = tuple(inlet_name.split("+"))
        runs = []
        for s, mesh in meshes.items():
            for ranks in args.ranks:
                for rtol in args.rtol:
                    runs.append({"mesh": s, "cells": mesh["cells"],
                                 **rhizofem_run(mesh, work, rtol, args.t_end, inlets, ranks, args.reuse)})
                    print_run(runs[-1])
                if have_foam:
                    for dt in args.dt:
                        runs.append({"mesh": s, "cells": mesh["cells"],
                                     **foam_run(mesh, work, dt, args.t_end, inlets, ranks, args.reuse)})
                        print_run(runs[-1])
        (work / f"runs_{inlet_name}{args.tag}.json").write_text(json.dumps(
            {"title": title, "inlet": inlet_name, "ranks": args.ranks, "accuracy": args.accuracy,
             "load_avg_end": os.getloadavg()[0], "runs": runs}, indent=1))
        report(runs + extrapolated(runs, sorted(meshes)), sorted(meshes), args, inlet_name)


def extrapolated(runs: list[dict], levels: list[int]) -> list[dict]:
    """Each code's mass extrapolated from two meshes, M = 2 M_h − M_2h from inlet_subdivide s + 1 and
    s at the same time setting and ranks (both codes' mesh error is first order at the inlet rim;
    rhizofem's image route reports this estimate next to its mass); its CPU and wall time, and
    steps, are the two runs' sums."""
    out = []
    for s, s1 in zip(levels[:-1], levels[1:], strict=True):
        for a in [r for r in runs if r["mesh"] == s and "extrapolated" not in r["setting"]]:
            b = next((r for r in runs if r["code"] == a["code"] and r["mesh"] == s1 and r["ranks"] == a["ranks"]
                      and r["setting"] == a["setting"]), None)
            if b is not None:
                out.append({**b, "mesh": f"{s}+{s1}", "setting": b["setting"] + ", extrapolated",
                            "mass_ug": 2 * b["mass_ug"] - a["mass_ug"], "cpu_s": a["cpu_s"] + b["cpu_s"],
                            "wall_s": a["wall_s"] + b["wall_s"], "steps": a["steps"] + b["steps"]})
    return out


def print_run(r: dict) -> None:
    print(f"    s={r['mesh']} {r['code']:>9} {r['ranks']} rank(s) {r['setting']:<34} {r['steps']:>4} steps "
          f"M = {r['mass_ug']:.6f} µg  CPU {r['cpu_s']:7.1f} s  wall {r['wall_s']:7.1f} s", flush=True)


def report(runs: list[dict], meshes: dict, args, inlet_name: str) -> None:
    codes = sorted({r["code"] for r in runs})
    # time-converged mass per (code, mesh): the finest time setting, Richardson for OpenFOAM (2nd order)
    converged = {}
    for code in codes:
        for s in meshes:
            serial = [r for r in runs if r["code"] == code and r["mesh"] == s and r["ranks"] == min(args.ranks)]
            if code == "OpenFOAM" and len(serial) >= 2:
                a, b = sorted(serial, key=lambda r: -r["steps"])[:2]  # finest two
                converged[code, s] = a["mass_ug"] + (a["mass_ug"] - b["mass_ug"]) / ((a["steps"] / b["steps"]) ** 2 - 1)
            elif serial:
                converged[code, s] = sorted(serial, key=lambda r: -r["steps"])[0]["mass_ug"]
    levels = sorted(meshes)
    limits = {}
    if len(levels) >= 2:
        h, h2 = levels[-1], levels[-2]
        for code in codes:
            limits[code] = 2 * converged[code, h] - converged[code, h2]
    limit = float(np.mean(list(limits.values()))) if limits else None
    print(f"\n== {inlet_name}: time-converged mass per mesh (µg) and the extrapolated limit ==")
    for code in codes:
        row = "  ".join(f"s={s}: {converged[code, s]:.6f}" for s in levels if (code, s) in converged)
        print(f"  {code:>9}: {row}" + (f"  → limit {limits[code]:.6f}" if code in limits else ""))
    if limit is None:
        return
    spread = (max(limits.values()) - min(limits.values())) / limit if len(limits) > 1 else 0.0
    print(f"  limit used: {limit:.6f} µg (codes' extrapolations differ by {100 * spread:.2f} %)")
    print(f"\n{'mesh':>5} {'code':>9} {'ranks':>5} {'setting':<48} {'steps':>5} {'mass µg':>10} {'vs limit':>9} "
          f"{'CPU s':>7} {'wall s':>7}")
    for r in runs:
        r["error"] = r["mass_ug"] / limit - 1
        print(f"{str(r['mesh']):>5} {r['code']:>9} {r['ranks']:>5} {r['setting']:<48} {r['steps']:>5} {r['mass_ug']:>10.6f} "
              f"{100 * r['error']:>+8.2f}% {r['cpu_s']:>7.1f} {r['wall_s']:>7.1f}")
    print("\nsame mesh, time-converged: distance from the limit")
    for s in levels:
        parts = [f"{code} {100 * (converged[code, s] / limit - 1):+.2f} %" for code in codes if (code, s) in converged]
        print(f"  inlet_subdivide = {s}: " + ", ".join(parts))
    for ranks in args.ranks:
        print(f"\nat {100 * args.accuracy:g} % of the limit, {ranks} rank(s):")
        best = {}
        for code in codes:
            ok = [r for r in runs if r["code"] == code and r["ranks"] == ranks and abs(r["error"]) <= args.accuracy]
            best[code] = min(ok, key=lambda r: r["cpu_s"]) if ok else None
            b = best[code]
            print(f"  {code:>9}: " + (f"{b['cpu_s']:.1f} s CPU, {b['wall_s']:.1f} s wall (mesh {b['mesh']}, "
                                      f"{b['setting']}, {b['steps']} steps, {100 * b['error']:+.2f} %)"
                                      if b else "no run that close to the limit"))
        print("  " + equal_accuracy_ratio(best, args.accuracy), flush=True)


def equal_accuracy_ratio(best: dict, accuracy: float) -> str:
    """The CPU ratio of the two codes' cheapest runs within ``accuracy`` of the limit, printed only
    when those two runs are also within ``accuracy`` of each other: a ratio of two runs of
    different accuracy says nothing about the methods (and pairing a cheap run of one code with
    an over-accurate one of the other can make the ratio anything)."""
    if len(best) < 2:
        return "no ratio: only one code ran"
    missing = [c for c, b in best.items() if b is None]
    if missing:
        return f"no ratio: {' and '.join(missing)} has no run within {100 * accuracy:g} % of the limit"
    a, b = best["OpenFOAM"], best["rhizofem"]
    apart = abs(a["error"] - b["error"])
    if apart > accuracy:
        return (f"no ratio: these two runs are {100 * apart:.2f} % apart, more than the stated accuracy "
                f"{100 * accuracy:g} % (not equally accurate)")
    return (f"CPU ratio OpenFOAM / rhizofem = {a['cpu_s'] / b['cpu_s']:.2f}, wall {a['wall_s'] / b['wall_s']:.2f} "
            f"(both within {100 * accuracy:g} % of the limit and {100 * apart:.2f} % apart)")


if __name__ == "__main__":
    main()
