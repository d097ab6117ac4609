# # Bacteria around a root at the pore scale: exudates, DOC diffusion and individual cells
#
# Case study 5 of Schnepf et al. (2022, "Linking rhizosphere processes across scales")
# proposes a pore-scale model that ties the others together: on a 3D image of soil next to a
# root, particulate organic matter (POM) is hydrolysed to dissolved organic carbon (DOC), DOC
# diffuses in the water, the root releases exudate carbon through its contact with the water,
# and individual bacteria take DOC up, grow, divide, respire, go dormant and die. It asks for
# biomass and respiration as functions of distance from the root surface and of time, and
# shows (its Fig. 13) that a small exudate dose gives a short respiration pulse without
# growth while a large one starts a growth phase. This demo runs both questions.
#
#     python demos/demo_microbes.py --out out/demo_microbes
#     mpiexec -n 2 python demos/demo_microbes.py --quick --out out/demo_microbes
#
# ## The model
#
# In the liquid voxels of the image (water and mucilage), DOC c (µg C per cm³ of liquid)
# obeys
#
# $$ \partial_t c = \nabla\cdot(D\nabla c) - \text{uptake} + \text{hydrolysis} + \text{necromass return},
#    \qquad -D\nabla c\cdot\nu = J(t) \text{ on root–liquid faces}, $$
#
# with no flux elsewhere (or c = 0 beyond chosen "sink" faces of the image). DOC moves only
# through faces shared by two liquid voxels: an edge or corner contact carries nothing. The
# discretisation is a finite volume per voxel, implicit in time (backward Euler), solved
# with conjugate gradients and algebraic multigrid on all MPI ranks.
#
# A bacterium is a voxel and a carbon mass m. Active, it takes up DOC at v_max m c/(K_s + c),
# turns the fraction Y into biomass and respires the rest, and respires a m for maintenance;
# when uptake cannot pay maintenance it goes dormant (maintenance β a m, no uptake) and wakes
# at rate k_r once the DOC would pay again; at the critical mass it divides, the daughter
# taking a random neighbouring liquid voxel; below the death mass it becomes necromass.
# Every random choice is a hash of (seed, cell id, step), so a run gives the same cells on
# 1 or N ranks.

import argparse
from pathlib import Path

import numpy as np
from mpi4py import MPI

import rhizofem  # noqa: F401  (orders MPI before PETSc)
from rhizofem.config import load
from rhizofem.models.microbes import Config, run
from rhizofem.output.plots import pyplot, save_figure
from rhizofem.parallel import on_root, rank0_print

comm = MPI.COMM_WORLD
parser = argparse.ArgumentParser(description="case study 5: bacteria around a root, exudate doses")
parser.add_argument("--out", default="out/demo_microbes", help="output folder")
parser.add_argument("--quick", action="store_true", help="small sample and short runs (well under a minute)")
args = parser.parse_args()
out = Path(args.out)
quick = args.quick

# ## 1. A sand around a root at two water contents
#
# The built-in sample is a synthetic sand (porosity 0.45) next to a root whose axis runs along
# the image's first axis just outside one face; water is kept in the narrowest pores by
# morphological drainage. The sample reaches 1.28 mm (0.64 mm and half a day with `--quick`) away from the
# root. The root exudes 18.7 µg C cm⁻² d⁻¹ (the citrate flux of case study 2 counted as
# carbon); cells start clustered and swim slowly up the DOC gradient. We compare a wet
# (θ = 0.30) and a dry (θ = 0.12) configuration of the same sand.

shape = [32, 64, 32] if quick else [64, 128, 64]
profiles = {}
for theta in (0.30, 0.12):
    cfg = load(Config, {
        "domain": {"size_voxels": shape, "root_radius_um": 100.0 if quick else 150.0, "water_content": theta,
                   "pom_fragments": 0},
        "bacteria": {"initial_cells": 3000 if quick else 20000, "distribution": "clustered",
                     "clusters": 30 if quick else 200, "motility_cm2_s": 1e-9, "chemotaxis": 2.0},
        "run": {"t_end_d": 0.5 if quick else 3.0, "output_times_d": [0.25] if quick else [1.0]},
    })
    res = run(cfg, out_dir=out / f"around_root_theta_{theta:.2f}", comm=comm)
    profiles[theta] = res.profile

# Where do the bacteria grow? The profiles bin the liquid voxels by the distance of their
# centre from the root surface. In the wet sand the water is one connected body, DOC spreads
# over the 1.3 mm in well under an hour and the biomass grows almost evenly. In the dry sand
# the water breaks into films and pockets connected to the root only through thin throats,
# or not at all: exudate stays near the root and so do growth and respiration — a
# rhizosphere that is made by the liquid configuration, not by the distance alone.

for theta, p in profiles.items():
    ok = p["liquid_volume_mm3"] > 0
    density = p["biomass_ug_C"][ok] / p["liquid_volume_mm3"][ok]
    text = ", ".join(f"{d:.0f} µm: {b:.2g}" for d, b in list(zip(p["distance_um"][ok], density, strict=True))[::2])
    rank0_print(comm, f"  θ = {theta:.2f}: biomass per liquid volume (µg C mm⁻³) at {text}")

# ## 2. The seed's Fig. 13: four exudate doses on starving soil
#
# The same sample without POM and without DOC at the start, every cell dormant (starved).
# The root exudes for 6 hours at 0.01, 0.1, 1 and 10 µg C cm⁻² d⁻¹; we follow respiration
# and biomass for two days (`--quick`: one day in steps of 1 h).

doses = (0.01, 0.1, 1.0, 10.0)
series = []
for J in doses:
    dose_cfg = load(Config, {
        "domain": {"size_voxels": [24, 24, 24] if quick else [48, 48, 48], "root_radius_um": 80.0,
                   "pom_fragments": 0},
        "carbon": {"initial_doc_ug_cm3": 0.0},
        "root": {"exudation_ug_C_cm2_d": J, "exudation_until_d": 0.25},
        "bacteria": {"initial_cells": 1500 if quick else 12000, "initial_dormant_fraction": 1.0},
        "run": {"t_end_d": 1.0 if quick else 2.0, "dt_h": 1.0 if quick else 0.5, "output_times_d": []},
        "output": {"fields": False, "cells": False, "plots": False},
    })
    r = run(dose_cfg, out_dir=out / f"dose_{J:g}", comm=comm)
    s = r.series
    B = s["biomass_active_ug_C"] + s["biomass_dormant_ug_C"]
    series.append((J, s, B))
    rank0_print(comm, f"  dose {J:5g} µg C cm⁻² d⁻¹ for 6 h ({s['exuded_ug_C'][-1]:.2g} µg C): biomass ×{B.max() / B[0]:.2f} "
                      f"at most, respiration peak {s['respiration_ug_C_d'].max():.2g} µg C d⁻¹ at "
                      f"{s['t_d'][int(np.argmax(s['respiration_ug_C_d']))]:.2f} d, CO₂ {s['co2_ug_C'][-1]:.2g} µg C")

# The two lowest doses wake some cells: they respire what they take up and their own
# maintenance, then fall dormant again — a respiration pulse of a few hours, biomass flat.
# The two highest doses start a growth phase: the biomass multiplies, and respiration peaks
# later and higher because there are more cells to breathe.


def dose_figure(path, series):
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.2))
    for J, s, B in series:
        ax[0].plot(s["t_d"][1:], s["respiration_ug_C_d"][1:], label=f"{J:g} µg C cm⁻² d⁻¹")
        ax[1].plot(s["t_d"], B / B[0], label=f"{J:g} µg C cm⁻² d⁻¹")
    ax[0].set_yscale("log")
    ax[0].set_ylabel("respiration rate (µg C d⁻¹)")
    ax[1].set_ylabel("biomass / initial biomass")
    ax[1].set_yscale("log")
    for a in ax:
        a.set_xlabel("time (d)")
        a.axvspan(0, 0.25, color="0.9", label="exudation (6 h)")
        a.grid(alpha=0.3)
        a.legend(fontsize=8, title="exudation flux")
    save_figure(fig, path, caption=f"dormant cells ({'1500' if quick else '12000'}), no POM, no initial DOC; "
                                   f"{'24' if quick else '48'}³ voxels of 10 µm next to a root of 80 µm radius; "
                                   f"doses 0.01-10 µg C cm⁻² d⁻¹ for 6 h; dt {1.0 if quick else 0.5} h, seed 1")



on_root(comm, dose_figure, out / "doses.png", series, bcast=False)
rank0_print(comm, f"outputs in {out}/ (around_root_theta_*/: summary.json, timeseries, profiles, fields, cells; "
                  "dose_*/; doses.png)")
