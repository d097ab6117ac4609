# # Effective diffusion in a partially saturated sand: mucilage bridges, translation vs mirror
#
# Case study 4 of Schnepf et al. (2022, Plant and Soil 478:5–42) asks how mucilage changes
# the diffusion of a solute through the liquid of an unsaturated sand. Its answer comes from
# periodic homogenization of a segmented image: solid and air do not conduct, water has the
# free diffusivity D_ref = 1, mucilage half of it. This demo repeats the study on rhizofem's
# synthetic sand (a 2D section and a small 3D sample, porosity φ = 0.41, water content
# θ = 0.19, mucilage bridges = 10 % of the liquid), with and without mucilage, with the cell
# made periodic by translation and by mirroring, and compares with Millington–Quirk.
#
# ```
# mpiexec -n 2 python demos/demo_homogenization.py --out out/demo_homogenization
# ```
#
# Each case is an ordinary `rhizofem homogenize` run into its own folder (summary.json,
# D_eff.csv, correctors for ParaView, a figure); the demo adds `eigen_directions_2d.png`
# (the four 2D cases side by side, as in the seed's Fig. 11) and `summary.json` with the table.

# +
import argparse
import os

import numpy as np
from mpi4py import MPI

import rhizofem  # noqa: F401  (orders MPI before dolfinx)
from rhizofem.models.homogenization import Config, load_labels, run
from rhizofem.models.homogenization.config import Cell, Image, Output
from rhizofem.output import RunOutput
from rhizofem.output.plots import pyplot
from rhizofem.parallel import on_root, rank0_print

comm = MPI.COMM_WORLD
os.environ.setdefault("RHIZOFEM_PROGRESS", "0")  # the table below is this demo's report
# -

# ## The samples
#
# `rhizofem.imaging.pores.sand` packs random grains until the solid fills 1 − φ of the image
# (in a 2D section with a one-voxel gap: a plane rarely cuts a grain contact), then lets air
# invade the pores by morphological drainage (a ball of radius R goes wherever it fits) until
# the water left in throats and corners is θ. With mucilage, 10 % of the liquid is mucilage
# instead, filling the narrowest air gaps between liquid bodies: bridges. Everything is
# periodic. The built-in samples are named in the configuration:

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
# (bi/trilinear) elements (opposite faces match node for node; `[mesh] element = "P1"`
# splits each voxel into Kuhn triangles / tetrahedra instead), imposes periodicity as a
# prolongation P from the torus DOFs (Pᵀ A P x = Pᵀ b, one
# operator for the d right-hand sides) and pins one DOF per liquid cluster: every isolated
# pocket has its own free constant. Mirroring needs no constraint: the mirrored cell is
# solved as χ_j = 0 on the two faces normal to e_j and no flux on the others, which gives
# the mirrored cell's tensor exactly (diagonal) at 2^d times less cost.


def case(sample: str, periodisation: str, out_dir):
    config = Config(image=Image(sample=sample), cell=Cell(periodisation=periodisation),
                    output=Output(fields=True, figure=True))
    result = run(config, out_dir=out_dir, comm=comm)
    return config, result


# ## Running the eight cases
#
# The table lists the tensor, its eigenvalues divided by the Millington–Quirk value
# θ^{10/3}/φ² = 2.3457e-2 (the same for all: the mucilage variant keeps θ), and percolation
# per direction from the image's connectivity on the torus (translation) or between
# opposite faces (mirror).


def table(results) -> list[dict]:
    rows = []
    rank0_print(comm, f"\n{'case':34s} {'D_xx':>10s} {'D_yy':>10s} {'D_zz':>10s} {'D_xy':>10s} "
                      f"{'λ/MQ':>18s}  percolates")
    for name, (config, r) in results.items():
        D = r.D_eff
        diag = [f"{D[i, i]:10.3e}" for i in range(D.shape[0])] + ([f"{'':10s}"] if D.shape[0] == 2 else [])
        ratios = " ".join(f"{abs(x) if abs(x) < 5e-3 else x:.2f}" for x in r.ratio_to_millington_quirk)
        rank0_print(comm, f"{name:34s} {' '.join(diag)} {D[0, 1]:10.3e} {ratios:>18s}  {r.percolates}")
        rows.append({"case": name, "D_eff": D, "eigenvalues": r.eigenvalues, "eigenvectors": r.eigenvectors,
                     "ratio_to_millington_quirk": r.ratio_to_millington_quirk, "percolates": r.percolates,
                     "millington_quirk": r.millington_quirk, "porosity": r.porosity,
                     "liquid_fraction": r.liquid_fraction})
    rank0_print(comm, f"Millington-Quirk θ^(10/3)/φ² = {next(iter(results.values()))[1].millington_quirk:.4e}")
    return rows


# ## Eigen-directions over the image (the seed's Fig. 11)
#
# Each eigenvector of D_eff, scaled by its eigenvalue, is drawn as a double arrow over the
# section. Without mucilage the water conducts along x only (the vertical eigenvalue is zero:
# no liquid path crosses the section vertically); the bridges open vertical paths and, with
# translation, tilt the principal directions (off-diagonal terms); mirroring makes the
# tensor diagonal by construction.


def figure_2d(path, results):
    from matplotlib.colors import ListedColormap

    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 11))
    colours = ListedColormap(["#8c6d46", "#f2f2f2", "#3a78c2", "#47a047"])
    for ax, (name, (config, r)) in zip(axes.ravel(), results.items(), strict=True):
        labels, _ = load_labels(config.image)
        size = np.array(labels.shape) * config.image.voxel_size_um
        ax.imshow(labels.T, origin="lower", cmap=colours, vmin=-0.5, vmax=3.5, interpolation="nearest",
                  extent=(0, size[0], 0, size[1]))
        top = max(r.eigenvalues.max(), 1e-30)
        for k, (w, v) in enumerate(zip(r.eigenvalues, r.eigenvectors, strict=True)):
            if w > 1e-9 * top:
                arrow = 0.45 * size.min() * w / top * v
                for sign in (1, -1):
                    ax.annotate("", xy=size / 2 + sign * arrow, xytext=size / 2,
                                arrowprops={"arrowstyle": "-|>", "lw": 3, "mutation_scale": 18,
                                            "color": "#d62728" if k == 0 else "#ff7f0e"})
        ax.set_title(f"{name}\nλ = {r.eigenvalues[0]:.2e}, {r.eigenvalues[1]:.2e}", fontsize=10)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
    fig.suptitle("Eigenvectors of D_eff scaled by eigenvalue (solid brown, air white, water blue, "
                 "mucilage green)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ## Putting it together

# +
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="case study 4: mucilage and effective diffusion")
    parser.add_argument("--out", default="out/demo_homogenization", help="output folder")
    parser.add_argument("--skip-3d", action="store_true", help="only the 2D section (quick)")
    args = parser.parse_args()

    with RunOutput(args.out, comm, command="demo_homogenization") as out:
        runs = {}
        for dim, (water, mucilage) in SAMPLES.items():
            if dim == "3D" and args.skip_3d:
                continue
            for sample, what in ((water, "water only"), (mucilage, "with mucilage")):
                for mode in ("translation", "mirror"):
                    name = f"{dim} {what}, {mode}"
                    folder = out.path(f"{sample}_{mode}")
                    runs[name] = case(sample, mode, folder)
        rows = table(runs)
        on_root(comm, figure_2d, out.path("eigen_directions_2d.png"),
                {k: v for k, v in runs.items() if k.startswith("2D")})
        out.summary(results={"cases": rows})
        rank0_print(comm, f"\nwritten to {out.final_path('')}")
# -

# ## What to look for
#
# * 2D water only: D_yy = 0 to solver tolerance, `percolates` = (True, False); the seed's
#   ≈1e-11 for this direction was the regularisation of its solver, not physics.
# * 2D with mucilage: both directions conduct, the translation tensor has off-diagonal
#   terms (tilted eigenvectors), the mirror tensor none.
# * The eigenvalues relative to Millington–Quirk spread well beyond one factor: a single
#   θ–φ relation cannot carry the structure of the liquid.
# * In 3D the liquid percolates in every direction with or without mucilage; at the same θ
#   the mucilage (D = 0.5) lowers the tensor, and mirroring changes it by 5–15 %: the
#   mirrored cell joins pores that translation leaves apart, and the other way round.
