"""Peer for the rhizodeposition benchmark: CPlantBox's ExudationModel (Landl et al. 2021).

    python benchmarks/cplantbox_peer.py                  # faba 10 d, citrate line source, n0 = 40, timing
    python benchmarks/cplantbox_peer.py --check          # + numpy re-evaluation of the formula

(The accuracy and speed comparison with rhizofem is benchmarks/bench_rhizodeposition.py.)

``plantbox.ExudationModel`` (CPlantBox ``src/functional/ExudationModel.h``, wheel cplantbox
2.1.1) is the implementation behind Landl, Haupenthal, Leitner, Kroener, Vetterlein, Bol,
Vereecken, Vanderborght & Schnepf (2021), "Simulating rhizodeposition patterns around growing
and exuding root systems", in silico Plants 3(2) diab028. :func:`exudation_model` runs it and
returns the concentration as numpy. :func:`reference` re-evaluates the same formula in numpy
(used by ``--check`` and tests/test_rootsystem_io.py to confirm that this docstring describes
what the compiled code does).

Grid (``EquidistantGrid3D(length, width, depth, nx, ny, nz)``)
----------------------------------------------------------------
Point values at grid NODES (not cell averages), endpoints included::

    x_i = -length/2 + i * length/(nx-1),  i = 0..nx-1     (np.linspace(-length/2, length/2, nx))
    y_j = -width/2  + j * width/(ny-1),   j = 0..ny-1
    z_k = -depth    + k * depth/(nz-1),   k = 0..nz-1     (z = 0 is the soil surface)

The flat result has index ``i*ny*nz + j*nz + k``, i.e. C order with shape (nx, ny, nz); this
module returns it reshaped to (nx, ny, nz) with the axes x, y, z. Units: cm, days, and the
concentration in (unit of Q) per cm³ of soil solution, µg cm⁻³ for the LANDL_2021 values.

Parameters (attributes of the model object; all roots share them)
-----------------------------------------------------------------
- ``Q``: release rate. Point source (``mps``, ``mps_straight``): mass per day per root tip
  (µg d⁻¹). Line source (``mls``): mass per day per cm of the line (µg d⁻¹ cm⁻¹), the line
  being the last ``l`` cm behind the tip (so a root releases ``Q*min(l, length)`` per day).
- ``Dl``: diffusion coefficient in the soil liquid including impedance, cm² d⁻¹.
- ``theta``: volumetric water content, cm³ cm⁻³.
- ``R``: retardation factor (1 + buffer power / theta), dimensionless.
- ``k``: first-order decay rate, d⁻¹; it acts as ``exp(-k t / R)`` (decay of the dissolved
  phase only, so the total decays at k/R).
- ``l``: line-source length behind the tip, cm (``mls`` only).
- ``type``: ``IntegrationType.mps`` (moving point source following the tip's true path),
  ``mps_straight`` (point source moving on the straight line from the final tip to the base at
  the mean speed), ``mls`` (moving line source).
- ``n0``: Gauss points per cm of root: each root uses ``n = int(n0 * root length)`` Gauss–Legendre
  points in time (``mls``: an n×n tensor rule in time × distance behind the tip).
- ``observationRadius`` (cm, default 5): a grid point receives a root's contribution only if its
  distance to that root's surface (segments as capsules of the root's radius, searched in a cube
  of half-edge observationRadius) is below observationRadius; 0 disables the limit (every point,
  exact but slow).
- ``calc13`` (bool) and ``thresh13``: Eqn 13 for roots that stopped growing, see below.

Formula (per root, summed over roots; ``calculate(tend)``)
------------------------------------------------------------
With ``ct0`` the creation time of the root's first node, ``ctN`` that of its last node, the
root's release time ``age = min(ctN, tend) - ct0`` (roots with age ≤ 0 give nothing), and
``tip(a)`` the point along the root at age a (linear interpolation between the nodes by their
creation times; the last node once the root is older than its last node)::

    Eqn 11 (mps):  c(x) = ∫_0^age  Q / (θ R) · (R / (4π Dl s))^{3/2}
                              · exp(-R |x - tip(age - s)|² / (4 Dl s) - k s / R)  ds

i.e. the code's ``Q sqrt(R) / (8 θ (π Dl s)^{3/2}) exp(...)``: every release at the tip at time
ct0 + age - s has diffused for s days with effective diffusivity Dl/R and decayed with k/R.
``mls`` adds an integral over the distance λ ∈ [0, l] behind the tip: the source point is the
point at arc length L(age - s) - λ, with L(a) = ``root.calcLength(a)`` the length the growth
function gives at age a (not the simulated length when soil impedance slowed the root); points
where L(age - s) < λ contribute 0. ``mps_straight`` replaces tip(age - s) by tip_final + v s with
v = (base - tip_final) / (ctN - ct0).

Note ``tend``: for a root that is still growing at ``tend`` the source stops at its last node,
so call ``calculate(tend)`` with tend equal to the CPlantBox simulation time (or less).

Eqn 13 (only if calc13, for a root that is not active and whose ``ctN`` lies in (0, tend)): the
field g of Eqn 11 at the stop time (age = ctN - ct0) is diffused for dt = tend - ctN::

    c(x) += Σ_y (R / (4π Dl dt))^{3/2} exp(-R |x - y|² / (4 Dl dt) - k dt / R) g(y) dV

summed over all grid nodes y, evaluated only at nodes x where g(x) > thresh13, with
dV = (length/nx)(width/ny)(depth/nz) (the node spacing is length/(nx-1): the quadrature weight
is (nx-1)/nx (ny-1)/ny (nz-1)/nz times the node volume). The code ADDS this to g instead of
replacing g by it, so a stopped root counts its stop-time field twice (g + diffused g). Keep
calc13 = False when comparing with an analytical model unless that quirk is wanted.

Checked against the wheel (cplantbox 2.1.1) with :func:`reference`: Eqn 11 for mps,
mps_straight and mls on the 3-day faba tap root (relative difference ≤ 7e-11), mps on the 8-day
faba (54 roots, 5.6e-13), Eqn 13 including the added-not-replaced quirk and the dV weight on
the 21-day faba (206 of 458 roots stopped, 1e-12); observationRadius = 0.8 cm leaves points
farther than 0.8 cm from every root at exactly 0 and changes nearer points by ≤ 1.3e-6 of the
maximum (the contributions of roots farther than 0.8 from that point).

Other facts: ``ExudationModel`` accepts only ``plantbox.RootSystem`` (not ``Plant``); its
per-root Gauss rule uses the root's final length for n, so roots shorter than 1/n0 cm get n = 0
points (no contribution); the C++ code prints a line per root (silenced here).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

#: Landl et al. (2021) parameters as set in CPlantBox's scripts for that paper. The paper's
#: Table 1 itself could not be consulted while writing this; every value says where it is from.
LANDL_2021 = {
    "mucilage": {
        "source_type": "point (IntegrationType.mps), released at each root tip",
        "release_rate_ug_per_d_per_tip": 33.38,
        "diffusion_cm2_per_d": 3.64e-3,
        "diffusion_with_impedance_cm2_per_d": 1.04e-3,
        "retardation_factor": 1.0,
        "decay_rate_per_d": 0.22,
        "water_content_cm3_per_cm3": 0.3,
        "sources": "CPlantBox repository, exudation application scripts for the faba bean "
                   "(model.Q = 33.38 # µg/d/tip; model.Dl = 3.64e-3 cm2/d in the Faba_exudation "
                   "run, 1.04e-3 '# cm2/d - with impedance factor' in the day-by-day runs; "
                   "R = 1; k = 0.22 d-1; theta = 0.3; n0 = 10; observationRadius = 5).",
    },
    "citrate": {
        "source_type": "line (IntegrationType.mls) over the last line_length_cm behind the tip",
        "release_rate_ug_per_d_per_cm": 18.4,
        "diffusion_cm2_per_d": 0.171,
        "retardation_factor": 16.7,
        "decay_rate_per_d": 1.42,
        "water_content_cm3_per_cm3": 0.3,
        "line_length_cm": 5.0,
        "sources": "CPlantBox tutorial/chapter5_carbon/example5_2_exudation.py (Faba_synMRI, "
                   "'Citrate exudation rate (mu g/d/cm root)' 18.4, Dl 0.171 cm2/d, theta 0.3, "
                   "R 16.7, k 1.42 d-1, 'Citrate deposition length behind the root tip' l = 5 cm, "
                   "n0 = 10) and the faba_citrate application script (same values, l = 5). "
                   "The older Anagallis example uses l = 4 cm with other Q, Dl, k; the task "
                   "brief's 4 cm was not confirmed from the paper here.",
    },
    "soil": {
        "bulk_density_g_per_cm3": None,
        "sources": "not set in CPlantBox's scripts (the model needs only theta and R; R already "
                   "holds the buffer power and bulk density); the paper's value not verified.",
    },
    "hotspot_thresholds": {
        "mucilage_ug_per_cm3": None,
        "citrate_ug_per_cm3": None,
        "sources": "not in CPlantBox's scripts (they count C > 0); the paper's thresholds not "
                   "verified here.",
    },
}

TYPES = ("mps_straight", "mps", "mls")


@dataclass(frozen=True)
class PeerResult:
    """Concentration c[i, j, k] at the grid nodes (x[i], y[j], z[k]); wall and CPU seconds of
    ``calculate``."""
    c: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    wall_s: float
    cpu_s: float = float("nan")


def grid_nodes(length_cm, width_cm, depth_cm, nx, ny, nz):
    """The nodes of CPlantBox's EquidistantGrid3D (see the module docstring)."""
    return (np.linspace(-length_cm / 2, length_cm / 2, nx), np.linspace(-width_cm / 2, width_cm / 2, ny),
            np.linspace(-depth_cm, 0.0, nz))


def exudation_model(cpb_rootsystem, t_end_d, *, Q, Dl_cm2_d, theta, R, k_per_d, l_cm=0.1,
                    type="mps", length_cm, width_cm, depth_cm, nx, ny, nz, n0=10,
                    observation_radius_cm=0.0, calc13=False, thresh13=1e-15) -> PeerResult:
    """Run ``plantbox.ExudationModel`` on a grown ``plantbox.RootSystem`` (parameters as in the
    module docstring) and return the concentration as a (nx, ny, nz) array."""
    import plantbox as pb

    from rhizofem.rootsystem.cplantbox import quiet_stdout

    if type not in TYPES:
        raise ValueError(f"type={type!r}; use one of {TYPES}")
    with quiet_stdout():
        model = pb.ExudationModel(float(length_cm), float(width_cm), float(depth_cm), int(nx), int(ny),
                                  int(nz), cpb_rootsystem)
        model.Q, model.Dl, model.theta, model.R, model.k, model.l = Q, Dl_cm2_d, theta, R, k_per_d, l_cm
        model.type = getattr(pb.IntegrationType, type)
        model.n0 = int(n0)
        model.observationRadius = float(observation_radius_cm)
        model.calc13 = bool(calc13)
        model.thresh13 = float(thresh13)
        t0, c0 = time.perf_counter(), time.process_time()
        c = np.array(model.calculate(float(t_end_d)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return PeerResult(c.reshape(nx, ny, nz), *grid_nodes(length_cm, width_cm, depth_cm, nx, ny, nz), wall, cpu)


# -- the same formula in numpy (Eqn 11, no observation radius, no Eqn 13) -------------------

def _point_at_age(root, a):
    """CPlantBox's ExudationModel::pointAtAge for an array of ages."""
    n = root.getNumberOfNodes()
    ct = np.array([root.getNodeCT(i) for i in range(n)])
    nodes = np.array([np.array(root.getNode(i)) for i in range(n)])
    et = ct[0] + np.maximum(a, 0.0)
    i = np.searchsorted(ct, et, side="right")  # first node created after et
    last = i >= n
    i = np.clip(i, 1, n - 1)
    w = ((et - ct[i - 1]) / (ct[i] - ct[i - 1]))[:, None]
    p = nodes[i - 1] * (1 - w) + nodes[i] * w
    p[last] = nodes[-1]
    return p


def reference(cpb_rootsystem, t_end_d, x, y, z, *, Q, Dl_cm2_d, theta, R, k_per_d, l_cm=0.1,
              type="mps", n0=10, calc13=False, thresh13=1e-15):
    """Eqns 11 and 13 of the module docstring evaluated in numpy at the nodes x × y × z of
    CPlantBox's grid (every point, i.e. observationRadius = 0). Eqn 13 is O(points²)."""
    X = np.stack(np.meshgrid(x, y, z, indexing="ij"), axis=-1).reshape(-1, 3)
    # CPlantBox's Eqn 13 volume weight: extent / number of nodes per axis
    dV = (np.ptp(x) / len(x)) * (np.ptp(y) / len(y)) * (np.ptp(z) / len(z))
    c = np.zeros(len(X))
    for root in cpb_rootsystem.getRoots():
        g = _eqn11(root, t_end_d, X, Q, Dl_cm2_d, theta, R, k_per_d, l_cm, type, n0)
        c += g
        stop = root.getNodeCT(root.getNumberOfNodes() - 1)
        if calc13 and not root.isActive() and 0 < stop < t_end_d and np.any(g > thresh13):
            dt = t_end_d - stop
            hot = g > thresh13
            d2 = np.sum((X[hot, None, :] - X[None, :, :]) ** 2, axis=2)
            kernel = (R / (4 * np.pi * Dl_cm2_d * dt)) ** 1.5 * np.exp(
                -R * d2 / (4 * Dl_cm2_d * dt) - k_per_d * dt / R)
            c[hot] += kernel @ g * dV  # added to g, as CPlantBox does
    return c.reshape(len(x), len(y), len(z))


def _eqn11(root, t_end_d, X, Q, Dl_cm2_d, theta, R, k_per_d, l_cm, type, n0):
    """One root's Eqn 11 at the points X (m, 3)."""
    c = np.zeros(len(X))
    nn = root.getNumberOfNodes()
    if nn < 2:
        return c
    ct0, ctn = root.getNodeCT(0), root.getNodeCT(nn - 1)
    age = min(ctn, t_end_d) - ct0
    n = int(n0 * root.getLength())
    if age <= 0 or n <= 0:
        return c
    g, w = np.polynomial.legendre.leggauss(n)
    s, ws = 0.5 * age * (g + 1), 0.5 * age * w
    if type == "mls":
        lam, wl = 0.5 * l_cm * (g + 1), 0.5 * l_cm * w
        S, LAM = np.meshgrid(s, lam, indexing="ij")
        W = np.outer(ws, wl).ravel()
        tl = np.array([root.calcLength(age - si) for si in S.ravel()])
        inside = tl >= LAM.ravel()
        agel = np.array([root.calcAge(v) for v in np.where(inside, tl - LAM.ravel(), 0.0)])
        src = _point_at_age(root, agel)
        s_all, W = S.ravel(), W * inside
    elif type == "mps":
        src, s_all, W = _point_at_age(root, age - s), s, ws
    else:  # mps_straight
        tip = np.array(root.getNode(nn - 1))
        v = (np.array(root.getNode(0)) - tip) / (ctn - ct0)
        src, s_all, W = tip + np.outer(s, v), s, ws
    amp = Q * np.sqrt(R) / (8 * theta * (np.pi * Dl_cm2_d * s_all) ** 1.5)
    for q in range(len(s_all)):
        if W[q] == 0:
            continue
        d2 = np.sum((X - src[q]) ** 2, axis=1)
        c += W[q] * amp[q] * np.exp(-R * d2 / (4 * Dl_cm2_d * s_all[q]) - k_per_d * s_all[q] / R)
    return c


def main(argv=None):
    import rhizofem  # noqa: F401
    from rhizofem.rootsystem.cplantbox import vicia_faba

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=float, default=10.0)
    ap.add_argument("--h", type=float, default=0.3, help="grid spacing, cm")
    ap.add_argument("--solute", choices=("citrate", "mucilage"), default="citrate")
    ap.add_argument("--observation-radius", type=float, default=0.8)
    ap.add_argument("--n0", type=int, default=40, help="Gauss points per cm of root (CPlantBox's default 10 "
                                                       "has point errors of the order of the peak at 1 mm)")
    ap.add_argument("--check", action="store_true", help="compare with the numpy formula on a small grid")
    args = ap.parse_args(argv)

    rs, cpb = vicia_faba(args.days, seed=1)
    p = LANDL_2021[args.solute]
    params = dict(Q=p.get("release_rate_ug_per_d_per_cm", p.get("release_rate_ug_per_d_per_tip")),
                  Dl_cm2_d=p["diffusion_cm2_per_d"], theta=p["water_content_cm3_per_cm3"],
                  R=p["retardation_factor"], k_per_d=p["decay_rate_per_d"],
                  l_cm=p.get("line_length_cm", 0.1), type="mls" if args.solute == "citrate" else "mps")
    lo, hi = rs.nodes.min(axis=0), rs.nodes.max(axis=0)
    width = float(max(abs(lo[:2]).max(), abs(hi[:2]).max()) * 2 + 6)
    depth = float(abs(lo[2]) + 3)
    nx, nz = int(width / args.h), int(depth / args.h)
    out = exudation_model(cpb, args.days, **params, length_cm=width, width_cm=width, depth_cm=depth,
                          nx=nx, ny=nx, nz=nz, observation_radius_cm=args.observation_radius, n0=args.n0)
    print(f"faba {args.days:g} d: {rs.n_roots} roots, {rs.total_length_cm():.1f} cm; grid {nx}x{nx}x{nz} "
          f"nodes, h = {args.h} cm; {args.solute} ({params['type']}, n0 = {args.n0}, observation radius "
          f"{args.observation_radius} cm): max c = {out.c.max():.4g} µg/cm³, wall {out.wall_s:.2f} s, "
          f"CPU {out.cpu_s:.2f} s (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.check:
        x, y, z = grid_nodes(4.0, 4.0, 6.0, 9, 9, 13)
        for typ in TYPES:
            prm = {**params, "type": typ}
            peer = exudation_model(cpb, args.days, **prm, length_cm=4.0, width_cm=4.0, depth_cm=6.0,
                                   nx=9, ny=9, nz=13)
            ref = reference(cpb, args.days, x, y, z, **prm)
            err = np.abs(peer.c - ref).max() / np.abs(ref).max()
            print(f"  {typ:13s} max |CPlantBox - numpy formula| / max = {err:.2e}")


if __name__ == "__main__":
    main()
