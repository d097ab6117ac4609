"""The soil-aggregate mesh of a segmented image, with its inlet tagged.

:func:`soil_simplices` (on one rank) turns a label image into simplices of its soil phase
and tagged boundary facets; :func:`soil_mesh_from_image` distributes them as a DOLFINx mesh.
Coordinates are in **millimetres**: voxel ``[i, j, k]`` covers
``[i, i+1] × [j, j+1] × [k, k+1]`` voxel sizes from the origin (axis 0 → x).

Tags (:mod:`rhizofem.meshing.tags`): cells ``SOIL``; facets ``ROOT_CONTACT`` (soil faces
towards root voxels), ``HAIR_CONTACT`` (towards hair voxels) and ``NO_FLUX`` (towards pore,
outside, or on the image border). Two routes, both voxel-conforming (every mesh vertex on the
voxel-corner lattice, so volumes and tagged areas are exactly the image's):

- ``"graded"`` (3D default, :mod:`rhizofem.meshing.graded`): voxel-fine at the root and hair
  contact, coarse inside aggregates, by conforming bisection of a coarse Kuhn mesh;
- ``"voxel"`` (2D, or on request, :mod:`rhizofem.meshing.voxel`): every soil voxel split
  into 6 Kuhn tetrahedra (2 triangles in 2D).

The label image is never smoothed: thin hairs (2-4 voxels across) keep every contact face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from rhizofem.config import param
from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging.io import Labels
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.meshing.contacts import remap_facets, split_point_contacts
from rhizofem.meshing.graded import graded_simplices
from rhizofem.meshing.tags import FACET_GROUPS, HAIR_CONTACT, NO_FLUX, ROOT_CONTACT, SOIL, VOLUME_GROUPS
from rhizofem.meshing.to_dolfinx import TaggedMesh, tagged_mesh
from rhizofem.meshing.voxel import interface_facets, voxel_simplices
from rhizofem.parallel import on_root

__all__ = [
    "MeshOptions",
    "SoilSimplices",
    "distribute",
    "geometry_metrics",
    "measure_tags",
    "soil_mesh_from_image",
    "soil_simplices",
]


@dataclass(frozen=True)
class MeshOptions:
    """The ``[mesh]`` section: how the soil phase of an image is meshed."""

    method: Literal["graded", "voxel"] = param(
        "graded", "graded: fine at the inlet, coarse inside aggregates (3D); voxel: 6 tets per soil voxel")
    coarsest_voxels: int = param(8, "graded: the largest elements fill cubes of this many voxels (a power of 2)", ge=1)
    size_slope: float = param(
        0.5, "graded: longest element edge at most this times the distance to the root/hair contact", gt=0)
    inlet_subdivide: int = param(
        1, "graded: split the elements at the contact into 2**n per voxel edge (1: half-voxel elements; a nodal "
           "inlet leaks half an element into the no-flux wall at every contact rim, first order in this size)",
        ge=0, le=2)
    coarse_surface: bool = param(
        True, "graded: let large elements meet flat no-flux soil surfaces (false: whole soil surface voxel-fine)")
    face_connected: bool = param(
        True, "soil voxels connect through shared faces only: nodes where they meet only at an edge or a corner "
              "are split (no flux through a point); false: one shared node there (the continuum has no such path)")

    def __post_init__(self):
        if self.coarsest_voxels & (self.coarsest_voxels - 1):
            raise ConfigError(f"coarsest_voxels = {self.coarsest_voxels} is not a power of 2. Fix: 1, 2, 4, 8 or 16.")

    @property
    def levels(self) -> int:
        return self.coarsest_voxels.bit_length() - 1


@dataclass
class SoilSimplices:
    """A tagged simplex mesh held on one rank (coordinates in mm)."""

    points_mm: np.ndarray  # (n, d)
    cells: np.ndarray  # (m, d+1)
    facets: np.ndarray  # (k, d)
    facet_values: np.ndarray  # (k,) ROOT_CONTACT, HAIR_CONTACT or NO_FLUX
    method: str

    @property
    def dim(self) -> int:
        return self.cells.shape[1] - 1

    @property
    def cell_values(self) -> np.ndarray:
        return np.full(len(self.cells), SOIL, dtype=np.int32)

    @property
    def names(self) -> dict[str, tuple[int, int]]:
        return {**{k: (self.dim, v) for k, v in VOLUME_GROUPS.items()},
                **{k: (self.dim - 1, v) for k, v in FACET_GROUPS.items()}}


def _facet_values(across: np.ndarray, labels: Labels) -> np.ndarray:
    values = np.full(len(across), NO_FLUX, dtype=np.int32)
    values[across == labels.root] = ROOT_CONTACT
    values[across == labels.hair] = HAIR_CONTACT
    return values


def soil_simplices(image: np.ndarray, voxel_size_um: float, labels: Labels | None = None, *,
                   options: MeshOptions | None = None, require_inlet: bool = True) -> SoilSimplices:
    """Simplices of the soil phase of ``image`` with tagged boundary facets (one rank).

    Refuses an image with a label the map does not name, without soil, or (with
    ``require_inlet``) where no soil touches root or hair.
    """
    labels = labels if labels is not None else Labels()
    options = options if options is not None else MeshOptions()
    image = np.asarray(image)
    metrics = geometry_metrics(image, voxel_size_um, labels)  # also checks the labels
    soil = image == labels.soil
    if not soil.any():
        raise InputError(f"the image has no soil voxels (label {labels.soil}). "
                         "Fix: check [image.labels] soil against the image's values.")
    unit = "area_mm2" if image.ndim == 3 else "length_mm"
    if require_inlet and metrics[f"root_contact_{unit}"] + metrics[f"hair_contact_{unit}"] == 0:
        raise InputError(
            f"no soil voxel touches root (label {labels.root}) or hair (label {labels.hair}): the inlet "
            "would be empty. Fix: check [image.labels] root and hair against the image.")
    h_mm = float(voxel_size_um) * 1e-3
    method = options.method if image.ndim == 3 else "voxel"  # 2D meshes are small: uniform
    if method == "graded":
        inlet = (image == labels.root) | (image == labels.hair)
        gm = graded_simplices(soil, inlet, levels=options.levels, size_slope=options.size_slope,
                              subdivide=options.inlet_subdivide, coarse_surface=options.coarse_surface,
                              face_connected=options.face_connected)
        vox = gm.facet_voxel
        inside = np.all((vox >= 0) & (vox < np.array(image.shape)), axis=1)
        across = np.full(len(vox), -1, dtype=np.int64)
        across[inside] = image[tuple(vox[inside].T)]
        points = gm.points * (h_mm / gm.unit)
        return SoilSimplices(points, gm.cells, gm.facets, _facet_values(across, labels), method)
    vm = voxel_simplices(soil, h_mm)
    facets, across, _ = interface_facets(vm, image, soil)
    points, cells = vm.points, vm.cells
    if options.face_connected:
        lattice = np.stack(np.unravel_index(vm.node_grid, tuple(n + 1 for n in soil.shape)), axis=1)
        cells, parent = split_point_contacts(soil, lattice, vm.cells)
        facets = remap_facets(facets, vm.cells, cells)
        points = vm.points[parent]
    return SoilSimplices(points, cells, facets, _facet_values(across, labels), method)


def soil_mesh_from_image(image: np.ndarray | None, voxel_size_um: float, labels: Labels | None,
                         comm: MPI.Comm, **options) -> TaggedMesh:
    """The distributed soil mesh of a label image (coordinates in mm).

    The image is needed on rank 0 only (other ranks may pass ``None``); the mesh is built
    there and distributed. ``options`` are the fields of :class:`MeshOptions` and
    ``require_inlet``. Errors (unknown labels, no soil, empty inlet) reach every rank.
    """
    require_inlet = options.pop("require_inlet", True)
    try:
        mesh_options = MeshOptions(**options)
    except TypeError as err:
        raise ConfigError(f"soil_mesh_from_image: {err}. Valid options: {list(MeshOptions.__dataclass_fields__)}.") from None
    simplices = on_root(comm, soil_simplices, image, voxel_size_um, labels, options=mesh_options,
                        require_inlet=require_inlet, bcast=False)
    return distribute(simplices, comm)


def distribute(simplices: SoilSimplices | None, comm: MPI.Comm) -> TaggedMesh:
    """A DOLFINx mesh from :class:`SoilSimplices` held on rank 0 (``None`` elsewhere)."""
    if comm.rank == 0:
        s = simplices
        return tagged_mesh(comm, s.points_mm, s.cells, s.cell_values, s.facets, s.facet_values, s.names)
    return tagged_mesh(comm, None, None, None)


def measure_tags(tm: TaggedMesh) -> dict[str, float]:
    """Volume (area in 2D) of each cell group and area (length) of each facet group, by DOLFINx.

    Assembled over every rank and summed, so every rank gets the same numbers; in mm³/mm².
    """
    msh = tm.mesh
    comm = msh.comm
    one = dolfinx.fem.Constant(msh, dolfinx.default_scalar_type(1.0))
    dx = ufl.Measure("dx", domain=msh, subdomain_data=tm.cell_tags)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)
    tdim = msh.topology.dim
    out = {}
    for name, (dim, value) in tm.names.items():
        measure = dx if dim == tdim else ds if dim == tdim - 1 else None
        if measure is None:
            continue
        local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * measure(int(value))))
        out[name] = comm.allreduce(float(local), op=MPI.SUM)
    local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.ds(domain=msh)))
    out["boundary"] = comm.allreduce(float(local), op=MPI.SUM)
    return out
