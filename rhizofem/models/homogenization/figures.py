"""Pictures of an effective tensor over its image, and of the convergence studies (rank 0).

2D: the label image with the tensor's eigenvectors, each scaled by its eigenvalue, drawn as
double-headed arrows from the centre (the style of the seed's Fig. 11). 3D: a pyvista
rendering of the liquid voxels with the same arrows, framed by axes in µm, put into a
matplotlib figure for its legend and caption. Every figure is written with
:func:`rhizofem.output.plots.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rhizofem.output.plots import offscreen_plotter, pyplot, save_figure

__all__ = ["ARROW_COLOURS", "PHASE_COLOURS", "draw_eigen_directions_2d", "eigen_directions_2d",
           "eigen_directions_3d", "legend_handles", "phase_colours", "study_figure"]

# solid, air, water, mucilage, then anything else
PHASE_COLOURS = ["#b59b6d", "#f4f4f4", "#6fa8dc", "#93c47d", "#c44e52", "#8172b2", "#ccb974", "#64b5cd"]
# eigenvector 1, 2, 3: dark and saturated, apart from every phase colour
ARROW_COLOURS = ["#b2182b", "#542788", "#000000"]


def phase_colours(labels: np.ndarray) -> dict[int, str]:
    """A colour per label present (the same in every figure of rhizofem homogenize)."""
    return {int(v): PHASE_COLOURS[int(v) % len(PHASE_COLOURS)] for v in np.unique(labels)}


def _arrows(eigenvalues: np.ndarray, eigenvectors: np.ndarray, half_length: float):
    """(vector, half length) of each eigen-direction, scaled by eigenvalue / largest one."""
    top = float(np.max(np.abs(eigenvalues))) or 1.0
    return [(np.asarray(v), half_length * max(float(w), 0.0) / top)
            for w, v in zip(eigenvalues, eigenvectors, strict=True)]


def legend_handles(names: Mapping[int, str], colours: Mapping[int, str], shown: Sequence[int],
                   eigenvalues: np.ndarray | None, D_ref: float = 1.0):
    """Legend entries: a patch per phase shown, a line per eigenvector with its eigenvalue."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=colours[k], edgecolor="0.4", label=names.get(k, f"label {k}")) for k in shown]
    for k, w in enumerate(() if eigenvalues is None else eigenvalues):
        text = f"eigenvector {k + 1}: λ{k + 1}/D_ref = {w / D_ref:.3g}"
        handles.append(Line2D([], [], color=ARROW_COLOURS[k % 3], lw=3,
                              label=text if w > 0 else text + " (no arrow)"))
    return handles


def draw_eigen_directions_2d(ax, labels: np.ndarray, voxel_size_um: float, eigenvalues: np.ndarray,
                             eigenvectors: np.ndarray) -> None:
    """Into ``ax``: the image (axis 0 to the right, axis 1 up, in µm) and the eigenvectors,
    each drawn both ways from the centre with a length proportional to its eigenvalue."""
    from matplotlib import patheffects
    from matplotlib.colors import ListedColormap

    present = [int(v) for v in np.unique(labels)]
    colours = phase_colours(labels)
    index = np.searchsorted(present, labels)
    extent = (0, labels.shape[0] * voxel_size_um, 0, labels.shape[1] * voxel_size_um)
    ax.imshow(index.T, origin="lower", extent=extent, interpolation="nearest",
              cmap=ListedColormap([colours[v] for v in present]), vmin=-0.5, vmax=len(present) - 0.5)
    centre = np.array([extent[1], extent[3]]) / 2
    outline = [patheffects.withStroke(linewidth=7, foreground="white")]
    for k, (vec, length) in enumerate(_arrows(eigenvalues, eigenvectors, 0.45 * min(extent[1], extent[3]))):
        if length <= 0:
            continue
        for sign in (1, -1):
            arrow = ax.annotate("", xy=centre + sign * length * vec, xytext=centre,
                                arrowprops={"arrowstyle": "-|>", "color": ARROW_COLOURS[k % 3], "lw": 3.5,
                                            "mutation_scale": 26, "shrinkA": 0, "shrinkB": 0})
            arrow.arrow_patch.set_path_effects(outline)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")


def eigen_directions_2d(path: Path, labels: np.ndarray, names: Mapping[int, str], voxel_size_um: float,
                        D_eff: np.ndarray, eigenvalues: np.ndarray, eigenvectors: np.ndarray,
                        caption: str, D_ref: float = 1.0, title: str = "") -> None:
    """The image with the eigenvectors of ``D_eff`` (:func:`draw_eigen_directions_2d`), a
    legend for the phases and the arrows, the tensor in the title."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 7.2))
    draw_eigen_directions_2d(ax, labels, voxel_size_um, eigenvalues, eigenvectors)
    present = [int(v) for v in np.unique(labels)]
    ax.legend(handles=legend_handles(names, phase_colours(labels), present, eigenvalues, D_ref),
              loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.95, fontsize=8.5,
              title="phases; arrows: length ∝ eigenvalue", title_fontsize=8.5)
    text = "\n".join("  ".join(f"{D_eff[i, j] / D_ref: .3e}" for j in range(D_eff.shape[1]))
                     for i in range(D_eff.shape[0]))
    ax.set_title((title + "\n" if title else "") + "D_eff / D_ref =\n" + text, fontsize=9, family="monospace")
    save_figure(fig, path, caption=caption)


def eigen_directions_3d(path: Path, labels: np.ndarray, liquid_labels: list[int], names: Mapping[int, str],
                        voxel_size_um: float, eigenvalues: np.ndarray, eigenvectors: np.ndarray,
                        caption: str, D_ref: float = 1.0, title: str = "") -> None:
    """Two renderings of the cell from one viewpoint, axes in µm: the liquid voxels
    (translucent, coloured by phase) and the eigenvectors, each drawn both ways from the
    centre with a length proportional to its eigenvalue; legend and caption by matplotlib."""
    import pyvista

    colours = phase_colours(labels)
    side = np.array(labels.shape) * voxel_size_um
    centre = side / 2
    # a view along no axis and no face diagonal, so that no eigenvector points at the camera
    # when the tensor is near diagonal or tilted in a coordinate plane
    view = np.array([0.8, -0.35, 0.5])
    camera = [tuple(centre + 3.2 * float(side.max()) * view / np.linalg.norm(view)), tuple(centre), (0.0, 0.0, 1.0)]

    def frame(plotter):
        plotter.add_mesh(pyvista.Box(bounds=(0, side[0], 0, side[1], 0, side[2])).extract_all_edges(),
                         color="black", line_width=2)
        # VTK's fonts have no µ: "um"
        plotter.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="z (um)", location="outer", font_size=16,
                            color="black", fmt="%.0f")
        plotter.camera_position = camera
        image = plotter.screenshot(return_img=True)
        plotter.close()
        return image

    grid = pyvista.ImageData(dimensions=np.array(labels.shape) + 1, spacing=(voxel_size_um,) * 3)
    grid.cell_data["label"] = labels.ravel(order="F").astype(np.int32)
    plotter = offscreen_plotter(window_size=(1000, 950))  # (depth peeling renders blank off-screen)
    shown = []
    for lab in liquid_labels:
        part = grid.threshold([lab - 0.5, lab + 0.5], scalars="label")
        if part.n_cells:
            plotter.add_mesh(part.extract_surface(algorithm="dataset_surface"), color=colours[int(lab)],
                             opacity=0.3)
            shown.append(int(lab))
    liquid_image = frame(plotter)

    plotter = offscreen_plotter(window_size=(1000, 950))
    radius = 0.018 * float(side.min())  # one shaft thickness for every arrow, whatever its length
    for k, (vec, length) in enumerate(_arrows(eigenvalues, eigenvectors, 0.46 * float(side.min()))):
        if length <= 0:
            continue
        for sign in (1, -1):
            plotter.add_mesh(pyvista.Arrow(start=centre, direction=sign * vec, scale=length,
                                           tip_length=min(0.35, 6 * radius / length),
                                           tip_radius=2.2 * radius / length, shaft_radius=radius / length),
                             color=ARROW_COLOURS[k % 3])
    arrows_image = frame(plotter)

    plt = pyplot()
    fig, grid_axes = plt.subplots(2, 2, figsize=(13, 8.2), gridspec_kw={"height_ratios": [10, 1.7]})
    for ax, image, text in zip(grid_axes[0], (liquid_image, arrows_image),
                               ("liquid phases (translucent)", "eigenvectors of D_eff, length ∝ eigenvalue"),
                               strict=True):
        ax.imshow(image)
        ax.set_axis_off()
        ax.set_title(text + " (axes in µm)", fontsize=10)
    handles = legend_handles(names, colours, shown, eigenvalues, D_ref)
    for h, v in zip(handles[len(shown):], eigenvectors, strict=True):  # the direction in numbers too
        h.set_label(h.get_label() + ", direction (" + ", ".join(f"{c:+.2f}" for c in v) + ")")
    legend_row = fig.add_subplot(grid_axes[1, 0].get_gridspec()[1, :])
    for ax in (*grid_axes[1], legend_row):
        ax.set_axis_off()
    legend_row.legend(handles=handles, loc="center", ncol=2, fontsize=9, framealpha=0.95)
    if title:
        fig.suptitle(title, fontsize=11)
    save_figure(fig, path, caption=caption)


def study_figure(path: Path, resolution: dict | None, size: dict | None, caption: str, D_ref: float = 1.0) -> None:
    """D_ii against voxel size (with the extrapolation to zero) and against sub-volume edge."""
    plt = pyplot()
    panels = [p for p in (resolution, size) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    axes = list(axes[0])
    names = "xyz"
    if resolution:
        ax = axes.pop(0)
        h = np.array(resolution["voxel_size_um"])
        D = np.array(resolution["D_diag"]) / D_ref
        for i in range(D.shape[1]):
            c = f"C{i}"
            ax.plot(h, D[:, i], "o-", color=c, label=f"D_{names[i]}{names[i]}")
            ax.plot([0], [resolution["extrapolated"][i] / D_ref], "*", ms=11, color=c,
                    label=f"extrapolated, order {resolution['order'][i]:.2f}")
        ax.set_xlim(-0.06 * h.max(), 1.06 * h.max())  # the extrapolated values at 0 in view
        ax.set_xlabel("voxel size (µm)")
        ax.set_ylabel("D_eff / D_ref")
        ax.set_title("resolution study", fontsize=10)
        ax.legend(fontsize=8, loc="best")
    if size:
        ax = axes.pop(0)
        D = np.array(size["D_diag"]) / D_ref
        edge = np.array([max(s) for s in size["shape"]], dtype=float) * size.get("voxel_size_um", 1.0)
        for i in range(D.shape[1]):
            ax.plot(edge, D[:, i], "s-", color=f"C{i}", label=f"D_{names[i]}{names[i]} (Dirichlet / no-flux)")
        ax.set_xlabel("edge of the centred sub-volume (µm)")
        ax.set_ylabel("D_eff / D_ref")
        ax.set_title("size (REV) study", fontsize=10)
        ax.legend(fontsize=8)
    save_figure(fig, path, caption=caption)
