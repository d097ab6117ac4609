"""Pictures of tagged soil meshes and of fields on them, as matplotlib figures.

Three-dimensional views are rendered off-screen by pyvista with a *parallel* projection and
placed into a matplotlib axes, so that a scale bar can say how long a millimetre is (lengths
in the view plane), and sections are drawn by matplotlib itself with axes in millimetres.
Every figure goes through :func:`rhizofem.output.plots.save_figure` (caption of the run's
parameters). Call on the rank that holds the mesh (rank 0).
"""

from __future__ import annotations

import numpy as np

from rhizofem.meshing.soil import SoilSimplices
from rhizofem.meshing.tags import HAIR_CONTACT, NO_FLUX, ROOT_CONTACT

__all__ = ["TAG_COLOURS", "add_scale_bar", "grid", "render", "save_mesh_picture", "section_polygons"]

TAG_COLOURS = {  # facet tag -> (legend, colour)
    NO_FLUX: ("no-flux soil surface (pores, air, image border)", "#b89b72"),
    ROOT_CONTACT: ("root-soil contact (inlet)", "#1f9e3a"),
    HAIR_CONTACT: ("hair-soil contact (inlet)", "#e0302a"),
}


def grid(points: np.ndarray, cells: np.ndarray, cell_type: int):
    """A pyvista UnstructuredGrid of one cell type (points padded to 3D)."""
    import pyvista

    k = cells.shape[1]
    flat = np.hstack([np.full((len(cells), 1), k), cells]).ravel()
    p3 = np.zeros((len(points), 3))
    p3[:, : points.shape[1]] = points
    return pyvista.UnstructuredGrid(flat, np.full(len(cells), cell_type, dtype=np.uint8), p3)


def render(add, *, view=(1.0, -1.0, 1.0), up=(0.0, 0.0, 1.0), size=(1000, 900), zoom: float = 1.0):
    """An off-screen pyvista rendering (parallel projection) as an RGB array and mm per pixel.

    ``add(plotter)`` adds the meshes; the camera looks at their centre from direction ``view``.
    Returns ``(image, mm_per_pixel)``; the scale holds for lengths in the view plane.
    """
    from rhizofem.output.plots import offscreen_plotter

    plotter = offscreen_plotter(window_size=size)
    plotter.set_background("white")
    add(plotter)
    plotter.enable_parallel_projection()
    bounds = np.array(plotter.bounds).reshape(3, 2)
    centre = bounds.mean(axis=1)
    direction = np.asarray(view, float) / np.linalg.norm(view)
    plotter.camera.focal_point = centre
    plotter.camera.position = centre + direction * 4.0 * float(np.max(bounds[:, 1] - bounds[:, 0]))
    plotter.camera.up = up
    plotter.reset_camera()
    plotter.camera.zoom(zoom)
    image = plotter.screenshot(return_img=True)
    mm_per_pixel = 2.0 * plotter.camera.parallel_scale / image.shape[0]
    plotter.close()
    return image, mm_per_pixel


def add_scale_bar(ax, mm_per_pixel: float, image_width_px: int, colour: str = "k") -> None:
    """A scale bar in the lower left of an image axes (pixel coordinates), a round length in mm."""
    target = 0.2 * image_width_px * mm_per_pixel
    length = max(x for x in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0) if x <= max(target, 0.01))
    pixels = length / mm_per_pixel
    h = ax.get_images()[0].get_array().shape[0]
    x0, y0 = 0.05 * image_width_px, 0.95 * h
    ax.plot([x0, x0 + pixels], [y0, y0], color=colour, lw=3, solid_capstyle="butt")
    label = f"{length * 1000:g} µm" if length < 1 else f"{length:g} mm"
    ax.text(x0 + pixels / 2, y0 - 0.015 * h, label, ha="center", va="bottom", fontsize=8, color=colour)


def section_polygons(volume, normal: str, origin, scalars: str | None = None):
    """A pyvista grid cut by the plane through ``origin`` normal to axis ``normal``.

    Returns ``(points, polygons, values)``: the cut's points in the plane's two coordinates
    (x, y for a z cut), its polygons as index arrays, and the point data ``scalars`` (or None).
    """
    cut = volume.slice(normal=normal, origin=origin)
    axes = {"x": [1, 2], "y": [0, 2], "z": [0, 1]}[normal]
    pts = np.asarray(cut.points)[:, axes]
    faces = np.asarray(cut.faces)
    polys, i = [], 0
    while i < len(faces):
        k = int(faces[i])
        polys.append(faces[i + 1:i + 1 + k])
        i += k + 1
    values = np.asarray(cut.point_data[scalars]) if scalars is not None else None
    return pts, polys, values


def save_mesh_picture(path, mesh: SoilSimplices, title: str = "", caption: str | None = None) -> None:
    """The soil surface coloured by tag (3D view with scale bar) and a section across the root
    showing the elements (axes in mm), as a PNG; a 2D mesh in one panel."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch
    from pyvista import CellType

    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    dim = mesh.dim
    facet_type = CellType.TRIANGLE if dim == 3 else CellType.LINE
    surface = grid(mesh.points_mm, mesh.facets, facet_type)
    volume = grid(mesh.points_mm, mesh.cells, CellType.TETRA if dim == 3 else CellType.TRIANGLE)
    lo, hi = mesh.points_mm.min(axis=0), mesh.points_mm.max(axis=0)
    centre = np.zeros(3)
    centre[:dim] = 0.5 * (lo + hi)
    handles = [Patch(facecolor=colour, edgecolor="none", label=label) for label, colour in TAG_COLOURS.values()]
    if dim == 3:
        fig, (ax3, ax2) = plt.subplots(1, 2, figsize=(12.0, 5.6), gridspec_kw={"width_ratios": [1.0, 1.15]})

        def add(plotter):
            for value, (label, colour) in TAG_COLOURS.items():
                part = surface.extract_cells(np.flatnonzero(mesh.facet_values == value))
                if part.n_cells:
                    plotter.add_mesh(part, color=colour, ambient=0.35, diffuse=0.7)

        # looking down the root channel, whose wall carries the contact
        image, mm_px = render(add, view=(0.0, -0.55, 1.0), up=(0.0, 1.0, 0.0), zoom=1.1)
        ax3.imshow(image)
        ax3.set_axis_off()
        add_scale_bar(ax3, mm_px, image.shape[1])
        ax3.set_title(title or "soil surface by boundary group, seen into the root channel", fontsize=10)
        ax3.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
        pts, polys, _ = section_polygons(volume, "z", centre)
        ax2.add_collection(PolyCollection([pts[p] for p in polys], facecolors="#d9c4a0", edgecolors="#3b2f20", linewidths=0.15))
        ax2.set_xlim(lo[0], hi[0])
        ax2.set_ylim(lo[1], hi[1])
        ax2.set_aspect("equal")
        ax2.set_xlabel("x (mm)")
        ax2.set_ylabel("y (mm)")
        ax2.set_title(f"elements in a section across the root (z = {centre[2]:.3f} mm)", fontsize=10)
    else:
        fig, ax2 = plt.subplots(figsize=(7.0, 6.0))
        tri = mesh.points_mm[mesh.cells]
        ax2.add_collection(PolyCollection(tri, facecolors="#d9c4a0", edgecolors="#3b2f20", linewidths=0.15))
        for value, (label, colour) in TAG_COLOURS.items():
            for seg in mesh.points_mm[mesh.facets[mesh.facet_values == value]]:
                ax2.plot(seg[:, 0], seg[:, 1], color=colour, lw=1.5)
        ax2.set_xlim(lo[0], hi[0])
        ax2.set_ylim(lo[1], hi[1])
        ax2.set_aspect("equal")
        ax2.set_xlabel("x (mm)")
        ax2.set_ylabel("y (mm)")
        ax2.set_title(title or "2D soil mesh, boundary coloured by group", fontsize=10)
        ax2.legend(handles=handles, loc="upper right", fontsize=8)
    n_cells = len(mesh.cells)
    save_figure(fig, path, caption=caption or f"{mesh.method} mesh: {n_cells} cells, {len(mesh.points_mm)} vertices; "
                                               "coordinates in mm")
