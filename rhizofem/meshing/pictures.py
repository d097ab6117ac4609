"""Pictures of tagged soil meshes (pyvista, off-screen, on the rank that holds the mesh)."""

from __future__ import annotations

import numpy as np

from rhizofem.meshing.soil import SoilSimplices
from rhizofem.meshing.tags import HAIR_CONTACT, NO_FLUX, ROOT_CONTACT

__all__ = ["TAG_COLOURS", "save_mesh_picture"]

TAG_COLOURS = {  # facet tag -> (legend, colour)
    NO_FLUX: ("no-flux soil surface", "#b89b72"),
    ROOT_CONTACT: ("root contact (inlet)", "#1f9e3a"),
    HAIR_CONTACT: ("hair contact (inlet)", "#e0302a"),
}


def _grid(points: np.ndarray, cells: np.ndarray, cell_type: int):
    import pyvista

    k = cells.shape[1]
    flat = np.hstack([np.full((len(cells), 1), k), cells]).ravel()
    p3 = np.zeros((len(points), 3))
    p3[:, : points.shape[1]] = points
    return pyvista.UnstructuredGrid(flat, np.full(len(cells), cell_type, dtype=np.uint8), p3)


def _legend(plotter) -> None:
    # coloured words in the corner (pyvista's legend box clips its labels inside subplots)
    for i, (label, colour) in enumerate(reversed(list(TAG_COLOURS.values()))):
        plotter.add_text(label, position=(12, 12 + 26 * i), color=colour, font_size=12)


def save_mesh_picture(path, mesh: SoilSimplices, title: str = "") -> None:
    """Two views of a 3D soil mesh coloured by tag, or one view of a 2D mesh, as a PNG.

    Left: the soil surface seen from above the root channel, facets coloured by tag (the
    inlet lines the channel's wall). Right: a section across the root showing the elements (fine at
    the contact, coarse inside aggregates).
    """
    from pyvista import CellType

    from rhizofem.output.plots import offscreen_plotter

    dim = mesh.dim
    facet_type = CellType.TRIANGLE if dim == 3 else CellType.LINE
    surface = _grid(mesh.points_mm, mesh.facets, facet_type)
    surface.cell_data["tag"] = mesh.facet_values
    volume = _grid(mesh.points_mm, mesh.cells, CellType.TETRA if dim == 3 else CellType.TRIANGLE)
    lo, hi = mesh.points_mm.min(axis=0), mesh.points_mm.max(axis=0)
    centre = np.zeros(3)
    centre[:dim] = 0.5 * (lo + hi)

    plotter = offscreen_plotter(shape=(1, 2) if dim == 3 else (1, 1), window_size=(1600, 800))
    if dim == 3:
        for value, (label, colour) in TAG_COLOURS.items():
            part = surface.extract_cells(np.flatnonzero(mesh.facet_values == value))
            if part.n_cells:
                plotter.add_mesh(part, color=colour, label=label)
        _legend(plotter)
        plotter.add_text(title or "soil surface: the inlet lines the root channel", font_size=11)
        # look down into the root channel, whose wall carries the contact
        view = np.array([0.0, -0.9, 1.6])
        plotter.camera.focal_point = centre
        plotter.camera.position = centre + view / np.linalg.norm(view) * 1.8 * float(np.max(hi - lo))
        plotter.camera.up = (0.0, 0.0, 1.0)
        plotter.subplot(0, 1)
        section = volume.slice(normal="z", origin=centre)
        plotter.add_mesh(section, color="#d9c4a0", show_edges=True, edge_color="#3b2f20", line_width=0.5)
        plotter.add_text("section across the root: elements", font_size=11)
        plotter.view_xy()
    else:
        plotter.add_mesh(volume, color="#d9c4a0", show_edges=True, edge_color="#3b2f20", line_width=0.5)
        for value, (label, colour) in TAG_COLOURS.items():
            part = surface.extract_cells(np.flatnonzero(mesh.facet_values == value))
            if part.n_cells:
                plotter.add_mesh(part, color=colour, label=label, line_width=3)
        _legend(plotter)
        plotter.add_text(title or "2D soil mesh", font_size=11)
        plotter.view_xy()
    plotter.screenshot(str(path))
    plotter.close()
