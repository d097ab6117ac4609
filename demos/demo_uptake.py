# # Phosphate uptake and citrate exudation in radially symmetric rhizospheres
#
# Case study 2 of Schnepf et al. (2022, "Linking rhizosphere processes across scales"):
# roots take up phosphate (P) with Michaelis–Menten kinetics and exude citrate, which
# competes with phosphate for the sorption sites of the soil and so releases sorbed P into
# the soil solution. Does exudation pay? The seed reports that, in a medium-sorption soil,
# citrate exudation more than doubled the P uptake of an oilseed-rape root system over
# 16 days. This demo reproduces that comparison, first for one root segment, then for a
# 16-day oilseed-rape root system with a few hundred segments.
#
# Run it with
#
#     python demos/demo_uptake.py --out out/demo_uptake
#     mpiexec -n 2 python demos/demo_uptake.py --out out/demo_uptake
#
# ## The model
#
# Around each root segment, soil fills the cylinder r0 ≤ r ≤ r1, r0 the root radius and
# r1 = 1/√(π·RLD) half the mean distance between roots at root length density RLD. For the
# solution concentrations c_P (phosphate) and c_C (citrate), with water content θ and the
# Millington–Quirk impedance f(θ),
#
# $$ \partial_t\big(\theta c_i + \rho s_i(c_P, c_C)\big)
#    = \frac{1}{r}\partial_r\big(r D_i \theta f \,\partial_r c_i\big) - k\,\theta c_C\,\delta_{iC}, $$
#
# with the competitive Langmuir isotherm ρ s_i = ρ s_max,i K_i c_i / (1 + K_P c_P + K_C c_C),
# first-order microbial decomposition of citrate in solution, exudation E of citrate and
# uptake Imax c_P/(Km + c_P) of phosphate at r0, zero flux at r1, uniform initial phosphate
# and no citrate at the start. Parameters and their sources are in the configuration's
# comments (`rhizofem uptake --print-config`) and docs/uptake.md.
#
# ## Numerics in one paragraph
#
# DOLFINx solves many segments at once on one 1D mesh of disjoint intervals (one interval per
# segment, P1, graded towards the root, r-weighted weak form, mass-lumped); Newton with PETSc
# SNES; variable-step BDF2 with a local error estimate, where every segment keeps its own
# clock, so a segment starts when the root grows there and young segments never slow old
# ones down. Segments are spread over MPI ranks.

import argparse
from pathlib import Path

import numpy as np
from mpi4py import MPI

import rhizofem  # noqa: F401  (orders MPI before DOLFINx)
from rhizofem.config import load
from rhizofem.models.uptake import Config, run
from rhizofem.parallel import rank0_print

comm = MPI.COMM_WORLD
parser = argparse.ArgumentParser(description="case study 2: P uptake with and without citrate exudation")
parser.add_argument("--out", default="out/demo_uptake", help="output folder")
out = Path(parser.parse_args().out)
root = Path(__file__).resolve().parents[1]

# ## 1. One root segment, with and without citrate exudation
#
# The default configuration is the single segment of the seed: r0 = 0.02 cm, r1 = 0.4 cm
# (RLD ≈ 2 cm cm⁻³), θ = 0.3, exudation 3e-6 µmol cm⁻² s⁻¹ over 16 days. With
# `compare_without_exudation` (on by default) the run repeats itself with exudation switched
# off — the same as setting `[citrate] exudation_umol_cm2_s = 0` — and reports the ratio.

single = load(Config, {"time": {"t_end_d": 16.0, "profile_times_d": [1.0, 4.0, 16.0]}})
res = run(single, out_dir=out / "single_root", comm=comm)

rank0_print(comm, f"single root, 16 d: P uptake {res.uptake_P_umol:.4g} µmol with citrate, "
                  f"{res.uptake_P_without_exudation_umol:.4g} µmol without: ratio {res.uptake_ratio:.2f}")
rank0_print(comm, f"  citrate exuded {res.exuded_citrate_umol:.4g} µmol, decomposed "
                  f"{res.decomposed_citrate_umol:.4g} µmol; phosphate held in solution by citrate at 16 d "
                  f"{res.mobilised_P_umol:.3g} µmol")
rank0_print(comm, f"  mass balance error (relative to the amount moved): "
                  f"{res.mass_balance_error_rel_by_solute}")

# The exudate works through the sorption sites: near the root, where citrate reaches a few
# hundred µM, it holds phosphate in solution that would otherwise be sorbed, so the solution
# concentration at the root surface stays higher and uptake — which follows c_P at r0 —
# is faster. The radial profiles (profiles.png, profiles.csv) show c_P and c_C at 1, 4 and
# 16 days with and without exudation.

for p_on, p_off in zip(res.series.profiles, res.without_exudation.profiles, strict=True):
    rank0_print(comm, f"  t = {p_on['t_s'] / 86400:4.1f} d: c_P(r0) = {p_on['c'][0][0] * 1e3:6.2f} µM with, "
                      f"{p_off['c'][0][0] * 1e3:6.2f} µM without; citrate(r0) = {p_on['c'][1][0] * 1e3:6.1f} µM")

# ## 2. An oilseed-rape root system after 16 days
#
# meshes/rootsystem_rapeseed_16d.csv is a CPlantBox simulation with the Brassica napus
# parameters of Leitner et al. (2010) (regenerate with meshes/make_rootsystem_rapeseed.py).
# Each segment gets its own rhizosphere: r0 its radius, r1 from the root length density of
# the 1-cm voxel holding it (computed on the final root system, exactly, by cutting segments
# at voxel planes), and its model starts when the segment appears. All roots exude.

system = load(Config, {"rootsystem": {"table": str(root / "meshes" / "rootsystem_rapeseed_16d.csv"),
                                      "voxel_cm": 1.0},
                       "time": {"t_end_d": 16.0, "profile_times_d": [16.0]},
                       "output": {"profile_segments": [0, 100]}})
rs = run(system, out_dir=out / "root_system", comm=comm)

geometry = rs.segments.geometry
rank0_print(comm, f"root system: {geometry['segments_simulated']} segments, {geometry['root_length_cm']:.0f} cm; "
                  f"r1 from {geometry['r1_min_cm']:.2f} to {geometry['r1_max_cm']:.2f} cm")
rank0_print(comm, f"  16-day P uptake {rs.uptake_P_umol:.4g} µmol with citrate, "
                  f"{rs.uptake_P_without_exudation_umol:.4g} µmol without: ratio {rs.uptake_ratio:.2f} "
                  "(the seed: 'more than doubled')")

# Where does the benefit come from? Grouped by creation time, old segments (near the base)
# gain most: their citrate zone had time to fill the rhizosphere and hold phosphate in
# solution all the way out to r1. Young segments near the tips gain less, but still about
# double their uptake within their first days.

created = rs.segments.created_d
with_c = rs.series.uptake_P_umol[:, -1]
without_c = rs.without_exudation.uptake_P_umol[:, -1]
for lo, hi in ((0, 4), (4, 8), (8, 12), (12, 16)):
    sel = (created >= lo) & ((created < hi) | (hi == 16))
    if np.any(sel):
        bracket = "]" if hi == 16 else ")"
        rank0_print(comm, f"  segments created in [{lo:2d}, {hi:2d}{bracket} d: {sel.sum():3d}, uptake {with_c[sel].sum():.3g} "
                          f"vs {without_c[sel].sum():.3g} µmol (ratio {with_c[sel].sum() / without_c[sel].sum():.2f})")

rank0_print(comm, f"  mass balance error: {rs.mass_balance_error_rel:.1e}; "
                  f"{rs.stats['segment_days']:.0f} segment-days in {rs.stats['wall_s']:.1f} s")
rank0_print(comm, f"outputs (summary.json, timeseries.csv, segments.csv, profiles.csv, figures) in {out}/")
