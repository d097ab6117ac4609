# # The liquid configuration: D_eff(θ) of a drying sand, with and without mucilage
#
# Case study 4 of Schnepf et al. (2022, Plant and Soil 478:5–42) asks how mucilage changes
# the pore-scale distribution of water when soil dries, and how the altered liquid changes
# effective diffusion. This demo answers it end to end from a solid/pore image:
#
# 1. a random sand pack is drained by full morphology (Hilpert & Miller 2001) to a list of
#    water contents, each met to one voxel, with water only and with 8 mg/g mucilage, and each
#    configuration is homogenized: D_eff(θ) against Millington–Quirk and Moldrup;
# 2. the seed's two-sphere liquid bridge: the water content at which water alone breaks the
#    bridge, and the mucilage gel that keeps the spheres joined below it.
#
# ```
# mpiexec -n 2 python demos/demo_liquid.py --out out/demo_liquid
# ```
#
# `--quick` makes everything small (well under a minute on 2 ranks). Each curve is an ordinary
# `rhizofem homogenize` run with a `[liquid]` stage, written to its own folder (summary.json
# with `results.curve`, curve.csv, a figure); the demo adds `sand_D_eff_theta.png`,
# `bridge.png` and a summary.json with the tables.

# +
import argparse
import os
from dataclasses import replace

import numpy as np
from mpi4py import MPI
from scipy import ndimage

import rhizofem  # noqa: F401  (orders MPI before dolfinx)
from rhizofem.imaging.liquid import LiquidStage, build_sequence, configuration
from rhizofem.imaging.liquid.samples import sphere_pack, two_spheres
from rhizofem.models.homogenization import Config
from rhizofem.models.homogenization.config import Cell, Image, Output
from rhizofem.models.liquid import run_curve
from rhizofem.models.liquid.figures import PHASE_COLOURS, curve_figure
from rhizofem.output import RunOutput
from rhizofem.output.plots import pyplot, save_figure
from rhizofem.parallel import on_root, rank0_print

comm = MPI.COMM_WORLD
os.environ.setdefault("RHIZOFEM_PROGRESS", "0")  # the tables below are this demo's report
VOXEL_UM = 10.0
# -

# ## The drainage
#
# At capillary pressure p the air occupies every ball of radius R = 2σ cos θ_c / p that fits
# in the pores (and, with an inlet, can get there); the water keeps the rest: throats,
# wedges at grain contacts, pendular rings. rhizofem computes the whole drainage at once as
# an order of the pore voxels: the configuration at θ is the first θ·N of them. A water
# content between two pore-size classes drains the next class partly, from the ball centres
# outwards, so any θ is met to one voxel (PoreSpy's drainage jumps from class to class).
#
# ## The mucilage
#
# 8 mg of dry mucilage per g of soil (the seed's example), dissolved in all the pore water of
# the saturated sand: c = M / V_liquid rises as the sand drains. While c < c_gel (50 mg/cm³
# here, a model choice) the solution drains like water; above it the gel no longer drains by
# capillarity: the free water goes first, then the gel dries from its surface but keeps
# every connection it has (filaments and films one voxel thick stay, anchored on the grains).
# The mucilage phase diffuses at half the free-water rate, as in the seed.


def stages(thetas, periodic=True):
    water = LiquidStage(water_content=tuple(thetas), periodic=periodic)
    mucilage = LiquidStage(water_content=tuple(thetas), periodic=periodic, mucilage_mg_g=8.0)
    return {"water only": water, "8 mg/g mucilage": mucilage}


def reachable(image, stage, thetas):
    """The requested water contents this image can reach (the gel cannot thin below its
    one-voxel network)."""
    def lowest():
        seq = build_sequence(image, stage, {1}, VOXEL_UM * 1e-6)
        return seq.info.get("minimum_liquid_voxels", seq.always_liquid()) / seq.size

    floor = on_root(comm, lowest)
    return [t for t in thetas if t >= floor + 1e-9]


def curves(image, name, thetas, out, periodisation="translation"):
    """One `rhizofem homogenize` [liquid] run per stage, on the image saved as `name`.npy."""
    path = out.path(f"{name}.npy")
    on_root(comm, np.save, path, image)
    config = Config(image=Image(path=path, voxel_size_um=VOXEL_UM), cell=Cell(periodisation=periodisation),
                    output=Output(fields=False, figure=True))
    results = {}
    for label, stage in stages(thetas).items():
        kept = reachable(image, stage, thetas)
        stage = replace(stage, water_content=tuple(kept))
        folder = out.path(f"{name}_{'water' if stage.mucilage_mg_g == 0 else 'mucilage'}")
        results[label] = run_curve(config, stage, out_dir=folder, comm=comm)
    return results


def table(title, results):
    rank0_print(comm, f"\n{title}\n{'case':18s} {'θ':>7s} {'D_xx':>10s} {'D_yy':>10s} {'D_zz':>10s} "
                      f"{'MQ':>10s} {'Moldrup':>10s} {'c (mg/cm³)':>10s}  stage")
    rows = []
    for label, r in results.items():
        for p in r.curve:
            d = np.diag(p["D_eff"])
            c = p["mucilage_concentration_mg_cm3"]
            rank0_print(comm, f"{label:18s} {p['water_content']:7.4f} {d[0]:10.3e} {d[1]:10.3e} {d[2]:10.3e} "
                              f"{p['millington_quirk']:10.3e} {p['moldrup'] or float('nan'):10.3e} "
                              f"{c if c else 0:10.1f}  {p['stage']}")
            rows.append({"case": label, **{k: p[k] for k in ("water_content", "D_eff", "eigenvalues", "percolates",
                                                             "millington_quirk", "moldrup", "stage",
                                                             "mucilage_concentration_mg_cm3")}})
        rank0_print(comm, f"{label:18s} percolation threshold per axis: {r.percolation_threshold}")
    return rows


# ## The seed's two-sphere bridge
#
# Two spheres a few voxels apart hold a pendular ring. The mucilage here is exuded at the
# contact: a solution of 20 mg/cm³ (a choice) filling the smallest pores (the liquid that
# drainage keeps longest), 1 mg per g of the spheres. Water only, the ring shrinks as the
# capillary pressure rises until its neck pinches off; with mucilage, the solution drains
# with the water until it reaches c_gel, then the gel thins but keeps joining the spheres.
# Joined means one face-connected liquid cluster touches both spheres; configurations are
# nested, so the water content at which the bridge breaks is found by bisection.


def joined(liquid, top, bottom):
    structure = ndimage.generate_binary_structure(3, 1)
    lab, _ = ndimage.label(liquid, structure)
    a = np.unique(lab[ndimage.binary_dilation(top, structure) & liquid])
    b = np.unique(lab[ndimage.binary_dilation(bottom, structure) & liquid])
    return bool(np.intersect1d(a[a > 0], b[b > 0]).size)


def bridge_study(radius, gap):
    """Water-only and mucilage drying of the two spheres (rank 0): the break and the images."""
    image, _, z = two_spheres(radius, gap, margin=int(radius))
    top, bottom = (image == 0) & (z > 0), (image == 0) & (z < 0)
    h = VOXEL_UM * 1e-6
    water = LiquidStage(water_content=(0.0,))
    mucilage = LiquidStage(water_content=(0.0,), mucilage_mg_g=1.0, mucilage_placement="contacts",
                           mucilage_initial_mg_cm3=20.0)
    out = {"image": image}
    for label, stage in (("water only", water), ("mucilage", mucilage)):
        seq = build_sequence(image, stage, {1}, h)
        lo = seq.info.get("minimum_liquid_voxels", seq.always_liquid())
        a, b = lo, seq.n_pore
        if joined(seq.liquid(a), top, bottom):
            b = a
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (a, mid) if joined(seq.liquid(mid), top, bottom) else (mid, b)
        out[label] = {"sequence": seq, "fewest_joined": b, "lowest": lo, "stage": stage}
    n_break = out["water only"]["fewest_joined"]
    # three configurations: wet, just above the water's break, below it (the mucilage only)
    counts = [4 * n_break, n_break, max(out["mucilage"]["lowest"], n_break // 2)]
    for label in ("water only", "mucilage"):
        entry = out[label]
        entry["images"] = [configuration(entry["sequence"], n / image.size, image, entry["stage"], h).labels
                           if n >= entry["lowest"] else None for n in counts]
        entry["joined"] = [joined(entry["sequence"].liquid(n), top, bottom) if n >= entry["lowest"] else None
                           for n in counts]
        del entry["sequence"], entry["stage"]
    out["counts"] = counts
    return out


def bridge_figure(path, study, caption):
    plt = pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap([PHASE_COLOURS[k] for k in ("solid", "air", "water", "mucilage")])
    fig, axes = plt.subplots(2, 3, figsize=(11, 7.5))
    size = study["image"].size
    for row, label in enumerate(("water only", "mucilage")):
        for ax, n, image, ok in zip(axes[row], study["counts"], study[label]["images"], study[label]["joined"],
                                    strict=True):
            if image is None:
                ax.set_axis_off()
                ax.set_title(f"{label}: θ = {n / size:.2e} is below\nthe lowest it reaches", fontsize=9)
                continue
            section = image[:, image.shape[1] // 2, :].T
            ax.imshow(section, cmap=cmap, vmin=-0.5, vmax=3.5, origin="lower", interpolation="nearest",
                      extent=[0, section.shape[1] * VOXEL_UM, 0, section.shape[0] * VOXEL_UM])
            ax.set_title(f"{label}, θ = {n / size:.2e}: {'joined' if ok else 'broken'}", fontsize=9)
            ax.set_xlabel("x (µm)")
            ax.set_ylabel("z (µm)")
    handles = [Patch(color=PHASE_COLOURS[k], label=k) for k in ("solid", "air", "water", "mucilage")]
    axes[0, -1].legend(handles=handles, fontsize=8, loc="upper right")
    save_figure(fig, path, caption=caption)


# ## Putting it together

# +
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="case study 4: the liquid configuration and D_eff(θ)")
    parser.add_argument("--out", default="out/demo_liquid", help="output folder")
    parser.add_argument("--quick", action="store_true", help="small images (well under a minute on 2 ranks)")
    args = parser.parse_args()
    n = 32 if args.quick else 64
    radius = (3.0, 5.0) if args.quick else (6.0, 10.0)
    thetas = [0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.08] if args.quick else \
        [0.4, 0.35, 0.3, 0.25, 0.2, 0.17, 0.14, 0.12, 0.1, 0.08, 0.07, 0.06]
    a, gap = (12, 8) if args.quick else (20, 12)

    with RunOutput(args.out, comm, command="demo_liquid") as out:
        pack = sphere_pack((n,) * 3, 0.4, radius=radius, seed=2)
        sand = curves(pack, "sand", thetas, out)
        rows = table(f"sand pack {n}³ voxels of {VOXEL_UM:g} µm, φ = 0.40: D_eff(θ) / D₀", sand)
        caption = (f"random sphere pack {n}³ voxels of {VOXEL_UM:g} µm, grain radius {radius[0]:g}-{radius[1]:g} voxels, "
                   "φ = 0.40, drainage without inlet (periodic), translation cell, Q1; mucilage 8 mg/g, "
                   "c_gel = 50 mg/cm³, D_mucilage = 0.5 D₀")
        on_root(comm, curve_figure, out.path("sand_D_eff_theta.png"), {k: r.curve for k, r in sand.items()},
                sand["water only"].porosity, sand["water only"].campbell_b, caption)

        study = on_root(comm, bridge_study, a, gap, bcast=False)
        on_root(comm, lambda: bridge_figure(out.path("bridge.png"), study, (
            f"two spheres of radius {a} voxels, gap {gap} voxels, voxel {VOXEL_UM:g} µm, drainage without inlet; "
            "mucilage 1 mg/g at the contact, initial 20 mg/cm³, c_gel = 50 mg/cm³; section through the axis")))
        bridge = comm.bcast({label: {k: study[label][k] / study["image"].size for k in ("fewest_joined", "lowest")}
                             for label in ("water only", "mucilage")} if comm.rank == 0 else None, root=0)
        rank0_print(comm, f"\ntwo-sphere bridge (radius {a}, gap {gap} voxels): water alone breaks below "
                          f"θ = {bridge['water only']['fewest_joined']:.3e}; with mucilage the gel still joins the "
                          f"spheres at θ = {bridge['mucilage']['lowest']:.3e}, the thinnest it gets at this voxel size")
        out.summary(results={"sand": rows, "bridge": bridge},
                    settings={"quick": args.quick, "sand_voxels": n, "grain_radius_voxels": radius,
                              "sphere_radius_voxels": a, "gap_voxels": gap, "voxel_size_um": VOXEL_UM})
        rank0_print(comm, f"\nwritten to {out.final_path('')}")
# -

# ## What to look for
#
# * Water only, D_eff(θ) falls faster than Millington–Quirk at low θ and reaches 0 along an
#   axis once no water path crosses the cell (the percolation threshold printed per axis).
# * With mucilage the tensor is halved while the mucilage is a liquid (same configuration,
#   D_mucilage = 0.5 D₀); below the gel point it no longer falls to zero: the gel keeps the
#   liquid connected where water breaks up, and D_eff crosses over the water-only curve.
# * The bridge: the water ring pinches off at a water content close to where the toroidal
#   approximation's neck vanishes (s/2 + s²/8a); the gel, anchored on both spheres, thins to
#   a filament one voxel thick that still joins them, at a lower liquid content.
