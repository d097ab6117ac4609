"""Soil meshes as Gmsh ``.msh`` files: written and read through the Gmsh API.

rhizofem writes the volume ("soil") and the facet groups ("root_contact", "hair_contact",
"no_flux") as discrete Gmsh entities carrying named physical groups at the fixed numbers of
:mod:`rhizofem.meshing.tags`, coordinates in millimetres, MSH 4.1 binary.

:func:`read_soil_msh` reads any Gmsh mesh whose groups carry those *names*, whatever their
numbers (a mesh from another tool, a ``.geo`` meshed by hand), renumbers them to the fixed
numbers, and rescales the coordinates to millimetres. Rank 0 checks the file first (it
exists, Gmsh can read it, it has a "soil" group of the mesh's dimension tagging every cell,
and each requested inlet group exists and is not empty) and the verdict reaches every rank, so a bad
file raises the same :class:`~rhizofem.errors.InputError` on every rank instead of a hang.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from mpi4py import MPI

from rhizofem.errors import InputError
from rhizofem.meshing.soil import SoilSimplices
from rhizofem.meshing.tags import ALL_GROUPS, FACET_GROUPS, INLET_GROUPS, SOIL
from rhizofem.meshing.to_dolfinx import TaggedMesh
from rhizofem.parallel import on_root

__all__ = ["LENGTH_UNITS_MM", "read_soil_msh", "write_soil_msh"]

LENGTH_UNITS_MM = {"m": 1e3, "cm": 10.0, "mm": 1.0, "um": 1e-3, "µm": 1e-3, "nm": 1e-6}

_GMSH_SIMPLEX = {3: 4, 2: 2, 1: 1}  # dimension -> Gmsh element type (tet, triangle, line)


@contextlib.contextmanager
def _gmsh_model(name: str):
    """A fresh Gmsh model; Gmsh is initialised (quietly) if needed and finalised if we did."""
    import gmsh

    ours = not gmsh.isInitialized()
    if ours:
        gmsh.initialize(interruptible=False)  # no signal handler: safe inside other programs
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add(name)
    try:
        yield gmsh
    finally:
        gmsh.model.remove()
        if ours:
            gmsh.finalize()


def write_soil_msh(path: str | Path, mesh: SoilSimplices, *, binary: bool = True) -> Path:
    """Write a tagged soil mesh (held on this rank) to a Gmsh ``.msh`` file; call on one rank.

    Every physical group is written, also an empty one (a hairless mesh has an empty
    "hair_contact"), so that a reader finds the same names in every rhizofem mesh.
    """
    path = Path(path)
    dim = mesh.dim
    points = np.zeros((len(mesh.points_mm), 3))
    points[:, :dim] = mesh.points_mm
    with _gmsh_model("rhizofem soil") as gmsh:
        volume = 1
        gmsh.model.addDiscreteEntity(dim, volume)
        gmsh.model.mesh.addNodes(dim, volume, np.arange(1, len(points) + 1), points.ravel())
        gmsh.model.mesh.addElementsByType(volume, _GMSH_SIMPLEX[dim], [], (mesh.cells + 1).ravel())
        gmsh.model.addPhysicalGroup(dim, [volume], SOIL, name="soil")
        for name, value in FACET_GROUPS.items():
            gmsh.model.addDiscreteEntity(dim - 1, value)
            facets = mesh.facets[mesh.facet_values == value]
            if len(facets):
                gmsh.model.mesh.addElementsByType(value, _GMSH_SIMPLEX[dim - 1], [], (facets + 1).ravel())
            gmsh.model.addPhysicalGroup(dim - 1, [value], value, name=name)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.Binary", int(binary))
        gmsh.write(str(path))
    return path


def _inlet_group_names(inlet: Sequence[str]) -> list[str]:
    names = []
    for item in inlet:
        name = INLET_GROUPS.get(item, item)
        if name not in FACET_GROUPS:
            valid = ", ".join(list(INLET_GROUPS) + list(FACET_GROUPS))
            raise InputError(f"unknown inlet group '{item}'. Fix: one of {valid}.")
        names.append(name)
    return names


def _read_msh(path: Path, inlet_names: list[str], scale: float):
    """Open ``path`` in Gmsh (rank 0), check it and return its arrays: points (mm), cells, cell
    values, facets, facet values (0-based node numbers), and ``names`` (group -> (dim, value)) with
    the fixed numbers of :mod:`~rhizofem.meshing.tags` for the four known names (other groups keep
    theirs, or move past them)."""
    import gmsh

    if not path.is_file():
        raise InputError(f"{path}: mesh file not found. Fix: correct [mesh] path, or mesh an image "
                         "with `rhizofem mesh CONFIG.toml --out DIR` (it writes DIR/mesh.msh).")
    try:
        gmsh.merge(str(path))
    except Exception as err:  # noqa: BLE001 - Gmsh raises plain Exceptions
        raise InputError(f"{path}: Gmsh cannot read this file ({err}). It is corrupt, truncated or "
                         "not a mesh. Fix: write it again (gmsh -3 file.geo -o file.msh).") from None
    groups = {gmsh.model.getPhysicalName(d, t): (d, t) for d, t in gmsh.model.getPhysicalGroups()}
    element_dims = [d for d in range(4) if len(gmsh.model.mesh.getElementTypes(d))]
    if not element_dims:
        raise InputError(f"{path}: the file holds no mesh elements. Fix: mesh the geometry first "
                         "(gmsh -3 file.geo -o file.msh).")
    tdim = max(element_dims)
    found = ", ".join(f"'{n}' (dim {d})" for n, (d, _) in groups.items()) or "none"
    if "soil" not in groups or groups["soil"][0] != tdim:
        raise InputError(
            f"{path}: no physical group named 'soil' of dimension {tdim} (groups found: {found}). "
            "Fix: name the soil volume's physical group \"soil\", e.g. Physical Volume(\"soil\") = {...}; "
            "in the .geo file.")
    if len(gmsh.model.mesh.getElementTypes(tdim)) != 1:
        raise InputError(f"{path}: cells of more than one type. Fix: mesh with tetrahedra only (triangles in 2D).")
    for name in inlet_names:
        if name not in groups or groups[name][0] != tdim - 1:
            raise InputError(
                f"{path}: no physical group named '{name}' of dimension {tdim - 1} (groups found: {found}). "
                f"Fix: name the inlet surface's group \"{name}\" in the mesh, or leave it out of [inlet] tags.")
    # the fixed numbers for the known names; other groups keep theirs, or move past them
    renumber: dict[int, dict[int, int]] = {tdim: {}, tdim - 1: {}}
    names: dict[str, tuple[int, int]] = {}
    for name, (d, t) in sorted(groups.items(), key=lambda g: g[0] not in ALL_GROUPS):
        if d not in renumber:
            continue
        taken = set(renumber[d].values())
        new = ALL_GROUPS.get(name, t)
        while new in taken or (name not in ALL_GROUPS and new in ALL_GROUPS.values()):
            new += 1000
        renumber[d][t] = new
        names[name] = (d, new)
    for name in FACET_GROUPS:  # an absent facet group is empty, not unknown
        names.setdefault(name, (tdim - 1, FACET_GROUPS[name]))
    # node numbers 0..N-1 in the order of the coordinates
    tags, coords, _ = gmsh.model.mesh.getNodes()
    node = np.empty(int(tags.max()) + 1, dtype=np.int64)
    node[tags.astype(np.int64)] = np.arange(len(tags))
    points = coords.reshape(-1, 3)[:, :tdim] * scale

    def group_elements(d: int) -> tuple[np.ndarray, np.ndarray]:
        blocks, values = [], []
        for (gd, t), value in ((groups[n], v) for n, (_, v) in names.items() if n in groups):
            if gd != d:
                continue
            for entity in gmsh.model.getEntitiesForPhysicalGroup(d, t):
                for etype, _, nodes in zip(*gmsh.model.mesh.getElements(d, entity), strict=True):
                    n_vertices = gmsh.model.mesh.getElementProperties(etype)[3]
                    blocks.append(node[np.asarray(nodes, dtype=np.int64)].reshape(-1, n_vertices))
                    values.append(np.full(len(blocks[-1]), value, dtype=np.int32))
        if not blocks:
            return np.empty((0, d + 1), dtype=np.int64), np.empty(0, dtype=np.int32)
        return np.concatenate(blocks), np.concatenate(values)

    cells, cell_values = group_elements(tdim)
    n_cells = len(gmsh.model.mesh.getElementsByType(gmsh.model.mesh.getElementTypes(tdim)[0])[0])
    if len(cells) != n_cells:
        volume_groups = [n for n, (d, _) in groups.items() if d == tdim]
        raise InputError(
            f"{path}: {n_cells} cells of dimension {tdim}, but the volume groups "
            f"({', '.join(volume_groups)}) hold {len(cells)}. Fix: put every cell in exactly one volume group.")
    facets, facet_values = group_elements(tdim - 1)
    for name in inlet_names:
        if not np.any(facet_values == names[name][1]):
            raise InputError(
                f"{path}: the inlet group '{name}' is empty (no facets). Fix: tag the inlet surface, or "
                f"leave '{name}' out of [inlet] tags (a hairless sample has no hair contact).")
    return points, cells, cell_values, facets, facet_values, names


def read_soil_msh(path: str | Path, comm: MPI.Comm = MPI.COMM_WORLD, length_unit: str = "mm", *,
                  inlet: Sequence[str] = ("root",)) -> TaggedMesh:
    """Load a soil mesh from a Gmsh file on every rank of ``comm``, groups resolved by name.

    Args:
        path: the ``.msh`` file (read on rank 0, then distributed).
        comm: the communicator of the mesh.
        length_unit: the unit of the file's coordinates (m, cm, mm, um); the mesh returned
            is in millimetres.
        inlet: groups that must exist and hold facets: "root"/"root_contact",
            "hair"/"hair_contact" (an ``[inlet] tags`` list of the exudation model).

    Returns:
        The mesh with cell and facet tags renumbered to :mod:`rhizofem.meshing.tags`'s
        fixed numbers for the four known names (other groups keep theirs unless they
        collide) and ``names`` mapping every group name to (dimension, value).

    Rank 0 reads the file into arrays and hands them to :func:`~rhizofem.meshing.to_dolfinx.tagged_mesh`,
    the route of the image meshes: cell values travel by each cell's input index, only the facet
    tags by their vertices (``dolfinx.io.gmsh.model_to_mesh`` sends both by vertices, which took
    a third of the reading time of a 600 k-cell mesh).
    """
    from rhizofem.meshing.to_dolfinx import tagged_mesh

    path = Path(path)
    if length_unit not in LENGTH_UNITS_MM:
        raise InputError(f"unknown length_unit '{length_unit}'. Fix: one of {', '.join(LENGTH_UNITS_MM)}.")
    inlet_names = _inlet_group_names(inlet)

    def read():
        with _gmsh_model("rhizofem read"):
            return _read_msh(path, inlet_names, LENGTH_UNITS_MM[length_unit])

    arrays = on_root(comm, read, bcast=False)
    if comm.rank == 0:
        return tagged_mesh(comm, *arrays)
    return tagged_mesh(comm, None, None, None)
