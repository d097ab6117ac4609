"""rhizofem rhizodeposition against CPlantBox's ExudationModel on the same faba root system.

    python benchmarks/bench_rhizodeposition.py                      # mucilage, faba 21 d, 0.5 cm grid
    python benchmarks/bench_rhizodeposition.py --kind line          # citrate
    mpiexec -n 2 python benchmarks/bench_rhizodeposition.py --no-peer   # rhizofem speed-up on 2 ranks

Same root system (``rhizofem.rootsystem.cplantbox.vicia_faba``: CPlantBox grows it, rhizofem
imports it with ``from_cplantbox``; the tip paths agree node by node), same parameters
(Landl et al. 2021 as set in CPlantBox's scripts, see rhizofem.models.rhizodeposition.config),
same grid: CPlantBox evaluates at the nodes of ``EquidistantGrid3D`` (linspace, endpoints
included), so rhizofem's voxel centres are placed on those nodes and it samples the centres
(``sampling = "centre"``). Both compute the field at the final day only (CPlantBox's
``calculate(t)`` gives one time). CPlantBox runs with Eqn 13 off (its stopped-root term adds
the stop-time field twice, see benchmarks/cplantbox_peer.py) and with its own quadrature
(``n0`` Gauss points per cm of root) and observation radius.

Printed: wall times and their ratio, relative differences in total mass (Σ c θR dV), maximum
and hotspot volume, and the same for a converged CPlantBox run (n0 raised) on a sub-box to
show which of the two is off when they differ. Timings on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rhizofem  # noqa: E402,F401
from rhizofem.models.rhizodeposition.hotspots import liquid_threshold_ug_cm3  # noqa: E402
from rhizofem.models.rhizodeposition.run import field_series  # noqa: E402
from rhizofem.models.rhizodeposition.superposition import (  # noqa: E402
    Grid, SourceParams, deposit, kernels, resolution_factor, root_trajectories)

PARAMS = {   # Landl et al. 2021 via CPlantBox scripts (see rhizodeposition.config), thresholds from the seed
    "point": dict(name="mucilage", Q=33.38, Dl=1.04e-3, theta=0.3, R=1.0, k=0.22, l=0.1, type="mps",
                  threshold_ug_g=330.0),
    "line": dict(name="citrate", Q=18.4, Dl=0.171, theta=0.3, R=16.7, k=1.42, l=4.0, type="mls",
                 threshold_ug_g=5.0 * 192.12),
}
BULK_DENSITY = 1.3


def run_rhizofem(trajs, par, grid, day, tol, comm, average=False):
    p = SourceParams("point" if par["type"] == "mps" else "line", par["Q"], par["Dl"], par["theta"], par["R"],
                     par["k"], par["l"])
    c_thr = liquid_threshold_ug_cm3(par["threshold_ug_g"], BULK_DENSITY, p.theta, p.retardation)
    got = {}
    comm.barrier()
    t0 = time.perf_counter()
    stats = field_series(trajs, p, grid, [day], c_thr, tol, comm, average=average,
                         on_day=lambda i, d, tot, mx: got.update(tot=tot, mx=mx))
    wall = time.perf_counter() - t0
    return got.get("tot"), got.get("mx"), wall, c_thr, stats


def run_like_cplantbox(trajs, par, grid, day, tol, c_thr):
    """Each root's field at min(its last node time, day), as CPlantBox's Eqn 11 without Eqn 13
    computes it (a root that stopped keeps its stop-time plume, undecayed and unspread)."""
    p = SourceParams("point" if par["type"] == "mps" else "line", par["Q"], par["Dl"], par["theta"], par["R"],
                     par["k"], par["l"])
    beta = resolution_factor(tol)
    total = np.zeros(grid.shape)
    for tr in trajs:
        kern = kernels(tr, p, min(day, float(tr.times_d[-1])), beta, grid.h)
        if len(kern):
            got = deposit(kern, grid, tol * c_thr / len(kern), average=False)
            if got is not None:
                lo, f = got
                total[tuple(slice(int(lo[k]), int(lo[k]) + f.shape[k]) for k in range(3))] += f
    return total


def measures(c, par, dV, c_thr):
    return {"total_mass_ug": float(c.sum() * dV * par["theta"] * par["R"]), "max": float(c.max()),
            "hotspot_volume_cm3": float(np.count_nonzero(c >= c_thr) * dV)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=["point", "line"], default="point")
    ap.add_argument("--days", type=float, default=21.0)
    ap.add_argument("--spacing", type=float, default=0.5, help="grid spacing (cm)")
    ap.add_argument("--width", type=float, default=20.0)
    ap.add_argument("--depth", type=float, default=45.0)
    ap.add_argument("--n0", type=int, default=10, help="CPlantBox Gauss points per cm of root")
    ap.add_argument("--observation-radius", type=float, default=2.0, help="CPlantBox observationRadius (cm)")
    ap.add_argument("--tol", type=float, default=1e-3, help="rhizofem tolerance")
    ap.add_argument("--no-peer", action="store_true", help="time rhizofem only (e.g. under mpiexec)")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)
    comm = MPI.COMM_WORLD
    par = PARAMS[args.kind]
    from rhizofem.rootsystem.cplantbox import vicia_faba

    rs, cpb = vicia_faba(args.days)
    trajs = root_trajectories(rs)
    nx = ny = int(round(args.width / args.spacing)) + 1
    nz = int(round(args.depth / args.spacing)) + 1
    h = np.array([args.width / (nx - 1), args.width / (ny - 1), args.depth / (nz - 1)])
    # voxel centres on CPlantBox's grid nodes
    grid = Grid.make([-args.width / 2 - h[0] / 2, -args.width / 2 - h[1] / 2, -args.depth - h[2] / 2], h,
                     (nx, ny, nz))
    dV = float(np.prod(h))
    out = {"kind": args.kind, "rhizodeposit": par["name"], "days": args.days, "roots": len(trajs),
           "root_length_cm": rs.total_length_cm(), "grid": [nx, ny, nz], "spacing_cm": h.tolist(),
           "ranks": comm.size}
    tot, mx, wall, c_thr, stats = run_rhizofem(trajs, par, grid, args.days, args.tol, comm)
    out["rhizofem"] = {"wall_s": wall, "kernels": stats["kernels"], "tol": args.tol}
    if comm.rank == 0:
        out["rhizofem"].update(measures(tot, par, dV, c_thr))
        out["threshold_ug_cm3"] = c_thr
    if not args.no_peer and comm.rank == 0:
        from cplantbox_peer import exudation_model

        peer = exudation_model(cpb, args.days, Q=par["Q"], Dl_cm2_d=par["Dl"], theta=par["theta"], R=par["R"],
                               k_per_d=par["k"], l_cm=par["l"], type=par["type"], length_cm=args.width,
                               width_cm=args.width, depth_cm=args.depth, nx=nx, ny=ny, nz=nz, n0=args.n0,
                               observation_radius_cm=args.observation_radius, calc13=False)
        assert np.allclose(peer.x, grid.axis(0)) and np.allclose(peer.z, grid.axis(2))
        out["cplantbox"] = {"wall_s": peer.wall_s, "n0": args.n0, "observation_radius_cm": args.observation_radius}
        out["cplantbox"].update(measures(peer.c, par, dV, c_thr))
        out["speedup"] = peer.wall_s / wall
        out["relative_difference"] = {k: out["rhizofem"][k] / out["cplantbox"][k] - 1 if out["cplantbox"][k] else None
                                      for k in ("total_mass_ug", "max", "hotspot_volume_cm3")}
        # CPlantBox (Eqn 13 off) leaves roots that stopped at their stop-time field: the same on our side
        like = run_like_cplantbox(trajs, par, grid, args.days, args.tol, c_thr)
        out["rhizofem_like_cplantbox"] = measures(like, par, dV, c_thr)
        out["relative_difference_like_cplantbox"] = {
            k: out["rhizofem_like_cplantbox"][k] / out["cplantbox"][k] - 1 if out["cplantbox"][k] else None
            for k in ("total_mass_ug", "max", "hotspot_volume_cm3")}
        out["stopped_roots"] = int(sum(tr.times_d[-1] < args.days - 1e-9 for tr in trajs))
        both = (tot >= c_thr) | (peer.c >= c_thr)
        out["hotspot_voxels_disagreeing"] = int(np.count_nonzero((tot >= c_thr) != (peer.c >= c_thr)))
        out["hotspot_voxels_union"] = int(np.count_nonzero(both))
    if comm.rank == 0:
        print(json.dumps(out, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
