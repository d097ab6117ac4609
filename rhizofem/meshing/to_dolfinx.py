"""A distributed, tagged DOLFINx mesh from simplices held on one rank.

The route taken by :func:`dolfinx.io.gmsh.model_to_mesh`, without a Gmsh model in between:
rank 0 holds the nodes, cells, cell values and tagged facets (in input node numbering);
DOLFINx partitions the cells and :func:`dolfinx.io.distribute_entity_data` sends each tag to
the rank that owns its entity.
"""

from __future__ import annotations

from dataclasses import dataclass

import basix.ufl
import dolfinx
import numpy as np
import ufl
from dolfinx.io import distribute_entity_data
from mpi4py import MPI

__all__ = ["TaggedMesh", "tagged_mesh"]


@dataclass
class TaggedMesh:
    """A mesh with its cell tags, facet tags and the names of the tag values."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    names: dict[str, tuple[int, int]]  # name -> (dimension, tag value)


def tagged_mesh(comm: MPI.Comm, points: np.ndarray | None, cells: np.ndarray | None,
                cell_values: np.ndarray | None, facets: np.ndarray | None = None,
                facet_values: np.ndarray | None = None, names: dict | None = None,
                root: int = 0) -> TaggedMesh:
    """Distribute a simplex mesh given on ``root`` (other ranks pass ``None``)."""
    if comm.rank == root:
        dim = int(cells.shape[1] - 1)
        gdim = int(points.shape[1])
    else:
        dim = gdim = None
    dim, gdim = comm.bcast((dim, gdim), root=root)
    cell_name = {1: "interval", 2: "triangle", 3: "tetrahedron"}[dim]
    element = basix.ufl.element("Lagrange", cell_name, 1, shape=(gdim,))
    domain = ufl.Mesh(element)
    if comm.rank != root:
        points = np.empty((0, gdim), dtype=np.float64)
        cells = np.empty((0, dim + 1), dtype=np.int64)
        cell_values = np.empty(0, dtype=np.int32)
        facets = np.empty((0, dim), dtype=np.int64)
        facet_values = np.empty(0, dtype=np.int32)
    if facets is None:
        facets = np.empty((0, dim), dtype=np.int64)
        facet_values = np.empty(0, dtype=np.int32)
    cells = np.asarray(cells, dtype=np.int64)
    mesh = dolfinx.mesh.create_mesh(comm, cells, domain, np.asarray(points, dtype=np.float64))

    tags = []
    for d, entities, values in ((dim, cells, cell_values), (dim - 1, facets, facet_values)):
        local_entities, local_values = distribute_entity_data(
            mesh, d, np.asarray(entities, dtype=np.int64), np.asarray(values, dtype=np.int32))
        mesh.topology.create_connectivity(d, dim)
        adj = dolfinx.graph.adjacencylist(local_entities)
        tags.append(dolfinx.mesh.meshtags_from_entities(mesh, d, adj, local_values.astype(np.int32)))
    tags[0].name, tags[1].name = "cell_tags", "facet_tags"
    names = comm.bcast(names if comm.rank == root else None, root=root) or {}
    return TaggedMesh(mesh, tags[0], tags[1], names)
