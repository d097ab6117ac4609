"""Pictures of an effective tensor over its image (drawn on rank 0).

2D: the label image with the tensor's eigenvectors, each scaled by its eigenvalue, drawn as
double-headed arrows from the centre (the style of the seed's Fig. 11). 3D: a pyvista
rendering of the liquid voxels with the same arrows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rhizofem.output.plots import offscreen_plotter, pyplot

__all__ = ["eigen_directions_2d", "eigen_directions_3d"]

# solid, air, water, mucilage, then anything else
_COLOURS = ["#8c6d46", "#f2f2f2", "#3a78c2", "#47a047", "#c44e52", "#8172b2", "#ccb974", "#64b5cd"]


def _colour_table(labels: np.ndarray) -> dict[int, str]:
    return {int(v): _COLOURS[int(v) % len(_COLOURS)] for v in np.unique(labels)}


def _arrows(eigenvalues: np.ndarray, eigenvectors: np.ndarray, half_length: float):
    """(vector, length) of each eigen-direction scaled by eigenvalue / largest eigenvalue."""
    top = float(np.max(np.abs(eigenvalues))) or 1.0
    return [(np.asarray(v), half_length * float(w) / top) for w, v in zip(eigenvalues, eigenvectors, strict=True)]


def eigen_directions_2d(path: Path, labels: np.ndarray, names: Mapping[int, str], voxel_size_um: float,
                        D_eff: np.ndarray, eigenvalues: np.ndarray, eigenvectors: np.ndarray,
                        title: str = "") -> None:
    """The image (axis 0 to the right, axis 1 up) with the scaled eigenvectors of ``D_eff``."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = pyplot()
    present = np.unique(labels)
    colours = _colour_table(labels)
    index = np.searchsorted(present, labels)
    extent = (0, labels.shape[0] * voxel_size_um, 0, labels.shape[1] * voxel_size_um)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(index.T, origin="lower", extent=extent, interpolation="nearest",
              cmap=ListedColormap([colours[int(v)] for v in present]), vmin=-0.5, vmax=len(present) - 0.5)
    centre = np.array([extent[1], extent[3]]) / 2
    for k, (vec, length) in enumerate(_arrows(eigenvalues, eigenvectors, 0.45 * min(extent[1], extent[3]))):
        if length <= 0:
            continue
        for sign in (1, -1):
            ax.annotate("", xy=centre + sign * length * vec, xytext=centre,
                        arrowprops={"arrowstyle": "-|>", "color": "#d62728" if k == 0 else "#ff7f0e",
                                    "lw": 3, "mutation_scale": 18})
    ax.legend(handles=[Patch(color=colours[int(v)], label=names.get(int(v), f"label {v}")) for v in present],
              loc="upper right", framealpha=0.9, fontsize=9)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    text = "\n".join("  ".join(f"{D_eff[i, j]: .3e}" for j in range(D_eff.shape[1])) for i in range(D_eff.shape[0]))
    ax.set_title((title + "\n" if title else "") + "D_eff =\n" + text, fontsize=9, family="monospace")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def eigen_directions_3d(path: Path, labels: np.ndarray, liquid_labels: list[int], names: Mapping[int, str],
                        voxel_size_um: float, eigenvalues: np.ndarray, eigenvectors: np.ndarray,
                        title: str = "") -> None:
    """The liquid voxels (coloured by phase) and the scaled eigenvectors, rendered off-screen."""
    import pyvista

    grid = pyvista.ImageData(dimensions=np.array(labels.shape) + 1, spacing=(voxel_size_um,) * 3)
    grid.cell_data["label"] = labels.ravel(order="F").astype(np.int32)
    colours = _colour_table(labels)
    plotter = offscreen_plotter(window_size=(1000, 900))
    for lab in liquid_labels:
        part = grid.threshold([lab - 0.5, lab + 0.5], scalars="label")
        if part.n_cells:
            plotter.add_mesh(part, color=colours[int(lab)], opacity=0.3,
                             label=names.get(int(lab), f"label {lab}"))
    plotter.add_mesh(grid.outline(), color="black")
    centre = np.array(labels.shape) * voxel_size_um / 2
    for vec, length in _arrows(eigenvalues, eigenvectors, 0.45 * min(labels.shape) * voxel_size_um):
        if length <= 0:
            continue
        for sign in (1, -1):
            plotter.add_mesh(pyvista.Arrow(start=centre, direction=sign * vec, scale=length, tip_length=0.2,
                                           tip_radius=0.08, shaft_radius=0.035), color="#d62728")
    plotter.add_legend(bcolor="white", size=(0.2, 0.15))
    if title:
        plotter.add_text(title, font_size=10)
    plotter.show_axes()
    plotter.camera_position = "iso"
    plotter.screenshot(str(path))
    plotter.close()
