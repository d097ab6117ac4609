# # Rhizodeposition hotspots around a growing root system
#
# Case study 1 of Schnepf et al. (2022, "Linking rhizosphere processes across scales"),
# after Landl et al. (2021, in silico Plants 3: diab028): root tips release mucilage, the
# last few centimetres behind each tip release citrate. In the soil both diffuse, sorb
# (retardation R) and decay (rate k). Where is the soil rich enough in rhizodeposits to
# matter ("hotspots"), for how long, and how much of it exists only because the
# rhizospheres of neighbouring roots overlap?
#
# Run it with
#
#     python demos/demo_rhizodeposition.py --out out/demo_rhizodeposition
#     mpiexec -n 2 python demos/demo_rhizodeposition.py --out out/demo_rhizodeposition
#     mpiexec -n 2 python demos/demo_rhizodeposition.py --quick --out out/demo_quick   (seconds)
#
# ## The model
#
# For one root, the liquid concentration c (µg per cm³ of soil water) obeys, in unbounded soil,
#
# $$ \theta R\,\partial_t c = \theta D\,\nabla^2 c - \theta k\, c + Q\,\delta(x - x_{tip}(t)), $$
#
# so every release at time τ spreads as a Gaussian with D' = D/R and decays with k' = k/R:
#
# $$ c(x,t) = \int_{t_0}^{t_1} \frac{Q}{\theta R}\,(4\pi D' s)^{-3/2}
#    \exp\!\Big(-\frac{|x - x_{tip}(\tau)|^2}{4 D' s} - k' s\Big)\,d\tau,\qquad s = t - \tau, $$
#
# with t₁ = min(t, the time the root stopped). A line source (citrate) integrates the same
# kernel over the last l cm of root behind the tip. The root system's field is the sum over
# its roots (superposition). Numerically: u = √s makes the plume equally well resolved at
# every age, each quadrature node is one Gaussian, and Gaussians are separable on the grid
# (docs/rhizodeposition.md).

import argparse
from pathlib import Path

import numpy as np
from mpi4py import MPI

import rhizofem  # noqa: F401  (orders MPI before DOLFINx)
from rhizofem.config import load
from rhizofem.models.rhizodeposition import Config, run
from rhizofem.models.rhizodeposition.hotspots import liquid_threshold_ug_cm3
from rhizofem.models.rhizodeposition.report import elongation_rate_study
from rhizofem.models.rhizodeposition.run import source_params
from rhizofem.parallel import rank0_print

parser = argparse.ArgumentParser(description="rhizodeposition demo: mucilage and citrate around a small root "
                                             "system, and one root at several elongation rates")
parser.add_argument("--out", default="out/demo_rhizodeposition", help="output folder")
parser.add_argument("--days", type=int, default=6, help="growth time of the root system (d)")
parser.add_argument("--quick", action="store_true", help="3 days on 2 mm voxels (a few seconds)")
args = parser.parse_args()
comm = MPI.COMM_WORLD
out = Path(args.out)
n_days = 3 if args.quick else args.days
h = 0.2 if args.quick else 0.1          # voxel edge (cm)

# ## 1. Mucilage around a small root system
#
# A main root growing at 1.5 cm/d with laterals every cm (0.4 cm/d, emerging 2 days after the
# tip passed), the mucilage parameters of CPlantBox's faba scripts (Q = 33.38 µg/d per tip,
# D = 1.04e-3 cm²/d, R = 1, k = 0.22 /d, θ = 0.3) and the threshold of Schnepf et al. 0.33 mg per g dry
# soil: with ρ_b = 1.3 g/cm³ that is c_thr = 330·1.3/(0.3·1) = 1430 µg/cm³ of water.
# Voxels of 1 mm (2 mm with --quick), values are voxel means (exactly integrated, so the grid holds exactly the
# released mass that has not decayed).

days = [float(d) for d in range(1, n_days + 1)]
box = np.array([6.0, 6.0, 11.5])       # cm: the root system and its plumes, 0.5 cm of soil above z = 0
common = {"rootsystem": {"generator": "laterals", "t_end_d": float(n_days), "n_laterals_max": 8},
          "grid": {"origin_cm": [-3.0, -3.0, -11.0], "spacing_cm": h,
                   "shape": [int(round(b / h)) for b in box]},
          "output": {"days": days, "field_days": sorted({days[len(days) // 2], days[-1]})}}
mucilage = load(Config, common)
res = run(mucilage, out_dir=out / "mucilage", comm=comm)
rank0_print(comm, f"mucilage: {res.n_roots} roots; threshold {res.threshold_ug_cm3:.4g} µg/cm³ water")
rank0_print(comm, " day  mass in grid / released (mg)   max (µg/cm³)  hotspot (cm³)  overlap share")
for d, m, r, c, v, s in zip(res.days, res.total_mass_ug, res.released_mass_ug, res.max_concentration_ug_cm3,
                            res.hotspot_volume_cm3, res.overlap_share, strict=True):
    rank0_print(comm, f"{d:4g}  {m / 1000:10.4f} / {r / 1000:10.4f}   {c:12.4g}  {v:12.4f}  {s:12.3f}")
rank0_print(comm, f"Péclet v·L/D' (L = √(D/k)) of the main root: {res.peclet['main_root']:.3g}")

# ## 2. Citrate: a line source behind each tip, strongly sorbed
#
# Citrate (CPlantBox tutorial example5_2_exudation: q = 18.4 µg/(cm·d), D = 0.171 cm²/d,
# R = 16.7, k = 1.42 /d; released over the 4 cm behind the tip, Schnepf et al.). Their threshold
# of 5 µmol per g soil is, with the molar mass 192.12 g/mol, c_thr = 960.6·1.3/(0.3·16.7)
# ≈ 249 µg/cm³ of water. A single root stays below that with these parameters (its steady
# line-source maximum is ~130 µg/cm³ at 1 mm); hotspots need overlapping roots. We also show
# a lower threshold (1 µmol/g) to see overlap at work (only that one with --quick).

for thr in (1.0,) if args.quick else (5.0, 1.0):
    citrate = load(Config, {**common, "rhizodeposit": {"name": "citrate", "kind": "line", "D_cm2_d": 0.171,
                                                       "retardation": 16.7, "decay_rate_d": 1.42},
                            "hotspot": {"threshold_umol_g": thr},
                            "output": {**common["output"], "plots": True}})
    res_c = run(citrate, out_dir=out / f"citrate_{thr:g}umol", comm=comm)
    rank0_print(comm, f"citrate, threshold {thr} µmol/g: hotspot volume {res_c.hotspot_volume_cm3[-1]:.3f} cm³ "
                      f"on day {days[-1]:g}, share needing overlap {res_c.overlap_share[-1]:.2f}")

# ## 3. One root at several elongation rates
#
# A faster root spreads the same mucilage over a longer path: thinner plume, lower peak. The
# rhizosphere Péclet number Pe = v·L/D' compares elongation with diffusion over the plume's
# reach L = √(D/k). The grid follows each root (z from −L − 1 to +1 cm).

# The study is collective like a run (each rate's grid is split over the ranks); only the
# figure is drawn on rank 0.

p = source_params(mucilage)
c_thr = liquid_threshold_ug_cm3(mucilage.threshold_ug_g(), mucilage.soil.bulk_density_g_cm3, p.theta,
                                p.retardation)
rates, t_rates = ([0.2, 1.0], 3.0) if args.quick else ([0.1, 0.5, 1.0, 2.0], 10.0)
if comm.rank == 0:
    out.mkdir(parents=True, exist_ok=True)
study = elongation_rate_study(p, rates, t_rates, c_thr, spacing_cm=0.1 if args.quick else 0.05,
                              path=out / "elongation_rates.png", threshold="≥ 0.33 mg g⁻¹ dry soil", comm=comm)
for v, (vol, cmax, pe) in study.items():
    rank0_print(comm, f"rate {v:4g} cm/d: Pe = {pe:7.3g}, hotspot volume {vol:.4f} cm³, max {cmax:.4g} µg/cm³")

# Fields for ParaView are in out/.../fields/*.vti (voxel-centred point data: concentration,
# largest single-root value, content per g soil, hotspot flags); hotspot_duration.vti counts
# the output days each voxel was a hotspot.
rank0_print(comm, f"figures and fields in {out}/")
