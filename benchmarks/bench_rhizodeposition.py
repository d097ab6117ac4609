"""rhizofem rhizodeposition against CPlantBox's ExudationModel, both checked against quadrature.

    python benchmarks/bench_rhizodeposition.py                       # faba 10 d, mucilage, 1 mm, n0 = 80
    python benchmarks/bench_rhizodeposition.py --days 21 --json out/bench_21d.json
    mpiexec -n 2 python benchmarks/bench_rhizodeposition.py --no-peer  # rhizofem alone on 2 ranks
    python benchmarks/bench_rhizodeposition.py --study voxels          # hotspot volume vs voxel size
    python benchmarks/bench_rhizodeposition.py --study stopped         # stopped roots: evolves vs frozen

One run, one root system, one grid, one problem for both codes:

* Root system: the faba bean of Landl et al. (2021) (CPlantBox ``Faba_synMRI``, seed 1) grown
  for ``--days``; CPlantBox evaluates its own object, rhizofem imports it
  (``rhizofem.rootsystem.cplantbox.vicia_faba``).
* Problem: mucilage, a moving point source at every tip (Q = 33.38 µg d⁻¹, D = 1.04e-3 cm² d⁻¹,
  θ = 0.3, R = 1, k = 0.22 d⁻¹), the field at t = ``--days``. CPlantBox keeps the plume of a
  root that stopped growing as it was at the stop (its Eqn 13 off); rhizofem runs with the same
  convention (``stopped_root_plume = "frozen"``) so that both solve the same equations.
* Grid: the nodes of CPlantBox's ``EquidistantGrid3D`` over 20 × 20 × 45 cm (the seed's domain),
  ``--spacing`` apart; rhizofem's voxel centres sit on those nodes and it samples the centres.
* Accuracy: an independent reference, adaptive Gauss–Kronrod quadrature (``scipy.integrate.
  quad_vec``) of each root's Eqn 11 integral from CPlantBox's own node positions and creation
  times, at check points (the largest values of either field, points near the hotspot threshold
  and random points inside the plumes). Reported: the largest point error of each code relative
  to the peak, and the hotspot voxels on which the codes disagree.
* Cost: wall and CPU seconds of the field computation alone (root system grown beforehand), on
  this machine at its load average (printed); the speed ratio is printed only when both codes
  are within ``--accuracy`` of the reference.

Everything is printed as one JSON document (also written with ``--json``): settings, machine,
load, times, accuracy, ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rhizofem  # noqa: E402,F401
from rhizofem.models.rhizodeposition.hotspots import liquid_threshold_ug_cm3  # noqa: E402
from rhizofem.models.rhizodeposition.run import field_series  # noqa: E402
from rhizofem.models.rhizodeposition.superposition import Grid, SourceParams, root_trajectories  # noqa: E402

#: Landl et al. (2021) mucilage as set in CPlantBox's faba scripts; threshold 0.33 mg g⁻¹ dry
#: soil (Schnepf et al. 2022) at ρ_b = 1.3 g cm⁻³ (rhizofem.models.rhizodeposition.config)
MUCILAGE = dict(Q=33.38, Dl=1.04e-3, theta=0.3, R=1.0, k=0.22)
THRESHOLD_UG_G, BULK_DENSITY = 330.0, 1.3
DOMAIN_CM = (20.0, 20.0, 45.0)


def cpb_grid(spacing: float) -> tuple[Grid, tuple[int, int, int]]:
    """rhizofem's grid whose voxel centres are CPlantBox's grid nodes (linspace, ends included)."""
    L, W, D = DOMAIN_CM
    n = tuple(int(round(e / spacing)) + 1 for e in DOMAIN_CM)
    h = np.array([L / (n[0] - 1), W / (n[1] - 1), D / (n[2] - 1)])
    return Grid.make([-L / 2 - h[0] / 2, -W / 2 - h[1] / 2, -D - h[2] / 2], h, n), n


def root_paths(cpb) -> list[tuple[np.ndarray, np.ndarray]]:
    """(node creation times, node positions) of every CPlantBox root with a segment."""
    out = []
    for r in cpb.getRoots():
        n = r.getNumberOfNodes()
        if n > 1:
            out.append((np.array([r.getNodeCT(i) for i in range(n)]),
                        np.array([np.array(r.getNode(i)) for i in range(n)])))
    return out


def reference(paths, X: np.ndarray, t_d: float, par: dict, rel: float = 1e-9) -> np.ndarray:
    """Eqn 11 at the points X by adaptive quadrature, each root evaluated at min(t, its last node
    time) (the frozen convention). In u = √s, s = t − τ the integrand is smooth:

        c = Σ_roots ∫ 2u · Q/(θR) · (4πD'u²)^{-3/2} · exp(−|x − tip(t − u²)|²/(4D'u²) − k'u²) du

    with tip(τ) linear between nodes by their creation times. Breakpoints at every node time.
    """
    from scipy.integrate import quad_vec

    Dp, kp = par["Dl"] / par["R"], par["k"] / par["R"]
    amp = 2 * par["Q"] / (par["theta"] * par["R"]) * (4 * np.pi * Dp) ** -1.5
    c = np.zeros(len(X))
    lo, hi = X.min(axis=0), X.max(axis=0)
    for ct, nodes in paths:
        t_eval = min(t_d, ct[-1])
        if t_eval <= ct[0]:
            continue
        # roots whose plume cannot reach the points: e^{-40} below their peak at the points' box
        reach = np.sqrt(4 * Dp * (t_eval - ct[0]) * 40.0)
        if np.any(nodes.min(axis=0) - reach > hi) or np.any(nodes.max(axis=0) + reach < lo):
            continue
        keep = np.concatenate([[True], np.diff(ct) > 0])
        tk, pk = ct[keep], nodes[keep]

        def f(u, tk=tk, pk=pk, t_eval=t_eval):
            if u <= 0:
                return np.zeros(len(X))
            tau = t_eval - u * u
            tip = np.array([np.interp(tau, tk, pk[:, i]) for i in range(3)])
            d2 = np.sum((X - tip) ** 2, axis=1)
            return amp / (u * u) * np.exp(-d2 / (4 * Dp * u * u) - kp * u * u)

        u_max = np.sqrt(t_eval - ct[0])
        breaks = np.sqrt(np.clip(t_eval - ct[(ct > ct[0]) & (ct < t_eval)], 0, None))
        val, _ = quad_vec(f, 0.0, u_max, epsabs=0.0, epsrel=rel, norm="max", points=np.unique(breaks),
                          limit=20000)
        c += val
    return c


def check_points(fields: list[np.ndarray], grid: Grid, c_thr: float, n_top=300, n_near=300, n_random=600,
                 seed=0) -> np.ndarray:
    """Flat grid indices where both codes are checked: each field's largest values, voxels near
    the threshold in either, random voxels inside either plume (c > 10⁻³ of its peak)."""
    rng = np.random.default_rng(seed)
    picks = []
    for f in fields:
        flat = f.ravel()
        picks.append(np.argpartition(flat, -n_top)[-n_top:])
        near = np.flatnonzero(np.abs(flat / c_thr - 1) < 0.1)
        picks.append(rng.choice(near, min(n_near, near.size), replace=False))
        inside = np.flatnonzero(flat > 1e-3 * flat.max())
        picks.append(rng.choice(inside, min(n_random, inside.size), replace=False))
    return np.unique(np.concatenate(picks))


def accuracy(c: np.ndarray, ref: np.ndarray, c_thr: float) -> dict:
    err = np.abs(c - ref)
    above = ref >= 0.1 * c_thr
    return {"max_point_error_of_peak": float(err.max() / ref.max()),
            "max_relative_error_where_c_ge_0.1_threshold": float(np.max(err[above] / ref[above])) if above.any()
            else None}


def timed(fn, *args, **kwargs):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w, time.process_time() - c


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average_1_5_15_min": list(os.getloadavg())}


def voxel_study(days: float, lo, hi, spacings=(0.1, 0.05, 0.025)) -> list[dict]:
    """Mucilage hotspot volume of the faba bean at ``days`` inside the box [lo, hi] (cm) for
    voxel edges ``spacings``, voxel centres and voxel averages (no cut-off of the box's plumes:
    the box is the grid)."""
    from rhizofem.rootsystem.cplantbox import vicia_faba

    rs, _ = vicia_faba(days)
    trajs = root_trajectories(rs)
    par = MUCILAGE
    p = SourceParams("point", par["Q"], par["Dl"], par["theta"], par["R"], par["k"])
    c_thr = liquid_threshold_ug_cm3(THRESHOLD_UG_G, BULK_DENSITY, p.theta, p.retardation)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    rows = []
    for h in spacings:
        grid = Grid.make(lo, h, tuple(int(round(e)) for e in (hi - lo) / h))
        for sampling in ("centre", "voxel_average"):
            got = {}
            field_series(trajs, p, grid, [days], c_thr, 1e-3, MPI.COMM_SELF, average=sampling == "voxel_average",
                         on_day=lambda i, d, tot, mx: got.update(n=int(np.count_nonzero(tot >= c_thr))))
            rows.append({"days": days, "box_cm": [lo.tolist(), hi.tolist()], "voxel_cm": h, "sampling": sampling,
                         "hotspot_volume_cm3": got["n"] * grid.voxel_cm3})
    return rows


def stopped_study(days: float, spacing: float) -> dict:
    """Stopped roots' plumes evolving or frozen (CPlantBox's convention) on CPlantBox's grid."""
    from rhizofem.models.rhizodeposition.superposition import released_mass_ug
    from rhizofem.rootsystem.cplantbox import vicia_faba

    rs, _ = vicia_faba(days)
    trajs = root_trajectories(rs)
    grid, _ = cpb_grid(spacing)
    par = MUCILAGE
    out = {"days": days, "roots": len(trajs), "stopped_roots": int(sum(t.times_d[-1] < days - 1e-9 for t in trajs)),
           "grid_nodes": list(grid.shape), "sampling": "centre"}
    for plume, frozen in (("evolves", False), ("frozen", True)):
        p = SourceParams("point", par["Q"], par["Dl"], par["theta"], par["R"], par["k"], freeze_stopped=frozen)
        c_thr = liquid_threshold_ug_cm3(THRESHOLD_UG_G, BULK_DENSITY, p.theta, p.retardation)
        got = {}
        field_series(trajs, p, grid, [days], c_thr, 1e-3, MPI.COMM_SELF, average=False,
                     on_day=lambda i, d, tot, mx: got.update(n=int(np.count_nonzero(tot >= c_thr))))
        out[plume] = {"hotspot_volume_cm3": got["n"] * grid.voxel_cm3,
                      "released_mass_mg": sum(released_mass_ug(t, p, days) for t in trajs) / 1000}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=10.0, help="growth time and time of the field (d)")
    ap.add_argument("--spacing", type=float, default=0.1, help="grid node spacing (cm)")
    ap.add_argument("--n0", type=int, default=80, help="CPlantBox Gauss points per cm of root (at 1 mm, 40 leaves "
                                                       "2 %% point errors, 80 is within 1e-4 of the peak)")
    ap.add_argument("--observation-radius", type=float, default=0.5, help="CPlantBox observationRadius (cm)")
    ap.add_argument("--tol", type=float, default=1e-3, help="rhizofem [numerics] tol")
    ap.add_argument("--accuracy", type=float, default=0.01,
                    help="largest point error (fraction of the peak) for a speed ratio to be printed")
    ap.add_argument("--no-peer", action="store_true", help="rhizofem alone (e.g. under mpiexec)")
    ap.add_argument("--json", help="also write the numbers to this file")
    ap.add_argument("--study", choices=["voxels", "stopped"],
                    help="instead of the comparison: hotspot volume against voxel size (faba 7 d around the root "
                         "system, 21 d in a box at 21–31 cm depth), or stopped roots evolving vs frozen (faba 21 d)")
    args = ap.parse_args(argv)
    comm = MPI.COMM_WORLD
    if args.study:
        if comm.rank == 0:
            res = (voxel_study(7.0, [-2.0, -2.0, -16.0], [2.0, 2.0, 0.0]) +
                   voxel_study(21.0, [-3.0, -3.0, -31.0], [3.0, 3.0, -21.0])) if args.study == "voxels" \
                else stopped_study(21.0, args.spacing)
            print(json.dumps(res, indent=2), flush=True)
            if args.json:
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps(res, indent=2))
        return None
    from rhizofem.rootsystem.cplantbox import vicia_faba

    par = MUCILAGE
    rs, cpb = vicia_faba(args.days)
    trajs = root_trajectories(rs)
    grid, n = cpb_grid(args.spacing)
    p = SourceParams("point", par["Q"], par["Dl"], par["theta"], par["R"], par["k"], freeze_stopped=True)
    c_thr = liquid_threshold_ug_cm3(THRESHOLD_UG_G, BULK_DENSITY, p.theta, p.retardation)
    out = {"command": "python benchmarks/bench_rhizodeposition.py " + " ".join(argv or sys.argv[1:]),
           "problem": "mucilage point sources, Landl et al. 2021 parameters, stopped roots frozen (CPlantBox)",
           "days": args.days, "roots": len(trajs), "stopped_roots": int(sum(tr.times_d[-1] < args.days - 1e-9
                                                                            for tr in trajs)),
           "root_length_cm": rs.total_length_cm(), "grid_nodes": list(n), "spacing_cm": grid.spacing_cm.tolist(),
           "threshold_ug_cm3": c_thr, "ranks": comm.size, "machine": machine()}

    got = {}
    comm.barrier()
    stats, wall, cpu = timed(field_series, trajs, p, grid, [args.days], c_thr, args.tol, comm, average=False,
                             on_day=lambda i, d, tot, mx: got.update(tot=tot))
    cpu_ranks = comm.gather(cpu, root=0)
    out["rhizofem"] = {"tol": args.tol, "sampling": "centre", "wall_s": comm.allreduce(wall, op=MPI.MAX),
                       "cpu_s_per_rank": cpu_ranks, "kernels": stats["kernels"]}
    if comm.rank == 0:
        out["rhizofem"]["max_ug_cm3"] = float(got["tot"].max())
        out["rhizofem"]["hotspot_volume_cm3"] = float(np.count_nonzero(got["tot"] >= c_thr) * grid.voxel_cm3)
    if comm.rank == 0 and not args.no_peer:
        from cplantbox_peer import exudation_model

        peer = exudation_model(cpb, args.days, Q=par["Q"], Dl_cm2_d=par["Dl"],
                               theta=par["theta"], R=par["R"], k_per_d=par["k"], type="mps",
                               length_cm=DOMAIN_CM[0], width_cm=DOMAIN_CM[1], depth_cm=DOMAIN_CM[2],
                               nx=n[0], ny=n[1], nz=n[2], n0=args.n0,
                               observation_radius_cm=args.observation_radius, calc13=False)
        assert np.allclose(peer.x, grid.axis(0)) and np.allclose(peer.z, grid.axis(2))
        out["cplantbox"] = {"version": _cplantbox_version(), "n0": args.n0,
                            "observation_radius_cm": args.observation_radius,
                            "wall_s": peer.wall_s, "cpu_s": peer.cpu_s}
        tot = got["tot"]
        idx = check_points([tot, peer.c], grid, c_thr)
        X = np.stack(np.unravel_index(idx, tot.shape), axis=1)
        X = np.stack([grid.axis(k)[X[:, k]] for k in range(3)], axis=1)
        ref, wall_r, _ = timed(reference, root_paths(cpb), X, args.days, par)
        out["reference"] = {"method": "scipy quad_vec per root, rel. 1e-9", "check_points": int(len(idx)),
                            "wall_s": wall_r}
        out["cplantbox"]["max_ug_cm3"] = float(peer.c.max())
        out["cplantbox"]["hotspot_volume_cm3"] = float(np.count_nonzero(peer.c >= c_thr) * grid.voxel_cm3)
        for name, field in (("rhizofem", tot), ("cplantbox", peer.c)):
            out[name].update(accuracy(field.ravel()[idx], ref, c_thr))
        out["hotspot_voxels_disagreeing"] = int(np.count_nonzero((tot >= c_thr) != (peer.c >= c_thr)))
        ok = all(out[k]["max_point_error_of_peak"] <= args.accuracy for k in ("rhizofem", "cplantbox"))
        out["accuracy_required_of_peak"] = args.accuracy
        if ok:
            out["speed_ratio_wall"] = peer.wall_s / out["rhizofem"]["wall_s"]
            out["speed_ratio_cpu"] = peer.cpu_s / sum(cpu_ranks)
        else:
            out["speed_ratio_wall"] = out["speed_ratio_cpu"] = None
            out["note"] = (f"no speed ratio: a code is off the reference by more than {args.accuracy:g} of the "
                           "peak; raise --n0 (CPlantBox) or lower --tol (rhizofem)")
    out["machine"]["load_average_after"] = list(os.getloadavg())
    if comm.rank == 0:
        print(json.dumps(out, indent=2), flush=True)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=2))
    return out


def _cplantbox_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cplantbox")
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
