# # Effective diffusion in a partially saturated sand: mucilage bridges, translation vs mirror
#
# Case study 4 of Schnepf et al. (2022, Plant and Soil 478:5–42) asks how mucilage changes
# the diffusion of a solute through the liquid of an unsaturated sand. Its answer comes from
# periodic homogenization of a segmented image: solid and air do not conduct, water has the
# free diffusivity D_ref = 1, mucilage half of it. This demo repeats the study on rhizofem's
# synthetic sand (a 2D section and a 3D sample, porosity φ = 0.41, water content θ = 0.19,
# mucilage bridges = 10 % of the liquid), with and without mucilage, with the cell made
# periodic by translation and by mirroring, and compares with Millington–Quirk.
#
# ```
# mpiexec -n 2 python demos/demo_homogenization.py --out out/demo_homogenization
# mpiexec -n 2 python demos/demo_homogenization.py --quick --out out/demo_quick   # 3D at 40³
# ```
#
# Each case is an ordinary `rhizofem homogenize` run into its own folder (summary.json,
# D_eff.csv, correctors for ParaView, a figure); the demo adds `eigen_directions_2d.png`
# (the four 2D cases side by side, as in the seed's Fig. 11) and `summary.json` with the table.
# The full run solves the 3D sample at its built-in resolution (120³ voxels, about 0.46 M
# unknowns per case); `--quick` takes the same grains at 40³ voxels.

# +
import argparse
import os

import numpy as np
from mpi4py import MPI

import rhizofem  # noqa: F401  (orders MPI before dolfinx)
from rhizofem.models.homogenization import Config, load_labels, run
from rhizofem.models.homogenization.config import Cell, Image, Mesh, Output
from rhizofem.models.homogenization.figures import draw_eigen_directions_2d, legend_handles, phase_colours
from rhizofem.output import RunOutput
from rhizofem.output.plots import pyplot, save_figure
from rhizofem.parallel import on_root, rank0_print

comm = MPI.COMM_WORLD
os.environ.setdefault("RHIZOFEM_PROGRESS", "0")  # the table below is this demo's report
# -

# ## The samples
#
# `rhizofem.imaging.pores.sand` packs random grains until the solid fills 1 − φ of the image
# (in a 2D section two pixels apart: a plane rarely cuts a grain contact), then lets air
# invade the pores by morphological drainage (a ball of radius R goes wherever it fits) until
# the water left in throats and corners is θ. With mucilage, 10 % of the liquid is mucilage
# instead, filling the narrowest air gaps between liquid bodies: bridges. Everything is
# periodic. The built-in samples are named in the configuration; `[image] resolution` sets
# how many voxels a unit of their grain geometry gets (3 for the 3D sample by default: its
# D_eff is then within 2 % of the value extrapolated to infinitely fine voxels).

SAMPLES = {"2D": ("sand_2d_water", "sand_2d"), "3D": ("sand_3d_water", "sand_3d")}

# ## The cell problems
#
# For each direction e_j, the corrector χ_j solves, in the liquid Y_l of the cell Y,
#
#     −∇·(D (∇χ_j + e_j)) = 0,   D (∇χ_j + e_j)·n = 0 on the liquid's boundary,
#
# periodic across the cell, and the effective tensor per total volume is
#
#     D_eff,ij = (1/|Y|) ∫_{Y_l} D (δ_ij + ∂χ_j/∂y_i) dy.
#
# rhizofem meshes the liquid voxels as they are, one square / cube per voxel with Q1
# (bi/trilinear) elements. Liquid conducts through shared voxel faces only: where two
# liquid voxels meet at an edge or a corner alone, the node there is duplicated, so no flux
# passes through a point (a set of zero area carries none in the continuum). Periodicity is
# a prolongation P from the torus DOFs (Pᵀ A P x = Pᵀ b, one operator for the d right-hand
# sides), whose partners match by position and by copy; one DOF per liquid cluster is
# pinned: every isolated pocket has its own free constant. Mirroring needs no constraint:
# the mirrored cell is solved as χ_j = 0 on the two faces normal to e_j and no flux on the
# others, which gives the mirrored cell's tensor exactly (diagonal) at 2^d times less cost.


def case(sample: str, periodisation: str, out_dir, resolution=None, connectivity="face", files=True):
    config = Config(image=Image(sample=sample, resolution=resolution), cell=Cell(periodisation=periodisation),
                    mesh=Mesh(connectivity=connectivity), output=Output(fields=files, figure=files))
    result = run(config, out_dir=out_dir, comm=comm, report=False)  # the table below reports
    return config, result


# ## Running the cases
#
# The table lists the tensor, its eigenvalues divided by the Millington–Quirk value
# θ^{10/3}/φ² = 2.3457e-2 (the same for all: the mucilage variant keeps θ), and percolation
# per direction through shared faces, on the torus (translation) or between opposite faces
# (mirror). A direction in which the liquid does not percolate gets exactly 0.


def table(results) -> list[dict]:
    rows = []
    rank0_print(comm, f"\n{'case':42s} {'D_xx':>10s} {'D_yy':>10s} {'D_zz':>10s} {'D_xy':>10s} "
                      f"{'λ/MQ':>18s}  percolates")
    for name, (config, r) in results.items():
        D = r.D_eff
        diag = [f"{D[i, i]:10.3e}" for i in range(D.shape[0])] + ([f"{'':10s}"] if D.shape[0] == 2 else [])
        ratios = " ".join(f"{x:.2f}" for x in r.ratio_to_millington_quirk)
        axes = "".join(a for a, p in zip("xyz", r.percolates, strict=False) if p) or "none"
        rank0_print(comm, f"{name:42s} {' '.join(diag)} {D[0, 1]:10.3e} {ratios:>18s}  {axes}")
        rows.append({"case": name, "D_eff": D, "eigenvalues": r.eigenvalues, "eigenvectors": r.eigenvectors,
                     "ratio_to_millington_quirk": r.ratio_to_millington_quirk, "percolates": r.percolates,
                     "millington_quirk": r.millington_quirk, "porosity": r.porosity,
                     "liquid_fraction": r.liquid_fraction, "image_resolution": config.image.resolution,
                     "connectivity": config.mesh.connectivity})
    rank0_print(comm, f"Millington-Quirk θ^(10/3)/φ² = {next(iter(results.values()))[1].millington_quirk:.4e}")
    return rows


# ## Eigen-directions over the image (the seed's Fig. 11)
#
# Each eigenvector of D_eff, scaled by its eigenvalue, is drawn as a double arrow over the
# section. Without mucilage the water conducts along x only (the vertical eigenvalue is zero:
# no liquid path crosses the section vertically through shared faces); the bridges open
# vertical paths and, with translation, tilt the principal directions (off-diagonal terms);
# mirroring makes the tensor diagonal by construction.


def figure_2d(path, results):
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 12))
    names = {0: "solid", 1: "air", 2: "water", 3: "mucilage"}
    for ax, (name, (config, r)) in zip(axes.ravel(), results.items(), strict=True):
        labels, _ = load_labels(config.image)
        draw_eigen_directions_2d(ax, labels, config.image.voxel_size_um, r.eigenvalues, r.eigenvectors)
        ax.set_title(f"{name}\nλ1/D_ref = {r.eigenvalues[0]:.3g}, λ2/D_ref = {r.eigenvalues[1]:.3g}", fontsize=10)
    handles = legend_handles(names, phase_colours(np.arange(4)), [0, 1, 2, 3], None)
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], color=c, lw=3, label=f"eigenvector {k + 1}, length ∝ eigenvalue")
                for k, c in enumerate(("#b2182b", "#542788"))]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, 0.025))
    config = next(iter(results.values()))[0]
    save_figure(fig, path, caption=f"built-in 2D sand section, 160x160 pixels of {config.image.voxel_size_um:g} µm, "
                                   "phi = 0.41, theta = 0.19 (with mucilage: 10 % of the liquid, D = 0.5 D_ref); "
                                   "Q1, face connectivity; D relative to free water")


# ## Putting it together

# +
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="case study 4: mucilage and effective diffusion")
    parser.add_argument("--out", default="out/demo_homogenization", help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="the 3D sample at 40³ voxels instead of 120³ (well under a minute on 2 ranks)")
    args = parser.parse_args()

    with RunOutput(args.out, comm, command="demo_homogenization") as out:
        runs = {}
        for dim, (water, mucilage) in SAMPLES.items():
            quick_3d = dim == "3D" and args.quick  # 40³, and no fields or pictures
            for sample, what in ((water, "water only"), (mucilage, "with mucilage")):
                for mode in ("translation", "mirror"):
                    name = f"{dim} {what}, {mode}"
                    runs[name] = case(sample, mode, out.path(f"{sample}_{mode}"), 1 if quick_3d else None,
                                      files=not quick_3d)
        # the same 3D water with point contacts conducting (every voxel corner one node):
        # what a plain voxel mesh would report
        runs["3D water only, mirror, point contacts"] = case(
            "sand_3d_water", "mirror", out.path("sand_3d_water_mirror_point"), 1 if args.quick else None, "point",
            files=False)
        rows = table(runs)
        on_root(comm, figure_2d, out.path("eigen_directions_2d.png"),
                {k: v for k, v in runs.items() if k.startswith("2D")})
        out.summary(results={"cases": rows, "quick": args.quick})
    rank0_print(comm, f"\nwritten to {out.final_path('')}")
# -

# ## What to look for
#
# * 2D water only: D_yy = 0 exactly, `percolates` = (True, False); the seed's ≈1e-11 for
#   this direction was the regularisation of its solver, not physics.
# * 2D with mucilage: both directions conduct, the translation tensor has off-diagonal
#   terms (tilted eigenvectors), the mirror tensor none.
# * The eigenvalues relative to Millington–Quirk spread well beyond one factor: a single
#   θ–φ relation cannot carry the structure of the liquid.
# * In 3D the liquid percolates in every direction with or without mucilage; at the same θ
#   the mucilage (D = 0.5) lowers the tensor a little, and mirroring lowers it by a few per
#   cent (the mirrored cell closes paths that cross the image faces).
# * Point contacts conducting (the last row) overestimate D_eff: the liquid of a partly
#   saturated sand touches itself at many edges and corners that carry no flux.
