"""A distributed, tagged DOLFINx mesh from cells held on one rank.

The route taken by :func:`dolfinx.io.gmsh.model_to_mesh`, without a Gmsh model in between:
rank 0 holds the nodes, cells, cell values and tagged facets (in input node numbering);
DOLFINx partitions the cells and :func:`dolfinx.io.distribute_entity_data` sends each facet
tag to the rank that owns its entity. Cell values travel by each cell's input index
(``topology.original_cell_index``), which needs no matching of entities by their vertices.

:func:`contiguous_partitioner` skips the graph partitioner: it cuts the cells, in input
order, into one contiguous block per rank. Voxel meshes list their cells voxel by voxel in
C order, so the blocks are slabs of the image; that halves the time of ``create_mesh`` on
a few ranks and is a good partition while the slabs stay thick. With it, the root scatters
each rank's block of cells (and an equal share of the nodes) before ``create_mesh``, which
then moves only the few cells and nodes that cross blocks instead of funnelling the whole
mesh through the root (the partition is the same).

Cells are simplices by default (the type follows from the number of vertices per cell);
``cell_type="quadrilateral"`` or ``"hexahedron"`` takes tensor-product cells, whose vertices
DOLFINx (Basix) lists in lexicographic order, first axis fastest — (0,0,0), (1,0,0),
(0,1,0), (1,1,0), (0,0,1), (1,0,1), (0,1,1), (1,1,1) — not in VTK's counter-clockwise order.
"""

from __future__ import annotations

from dataclasses import dataclass

import basix.ufl
import dolfinx
import numpy as np
import ufl
from dolfinx.io import distribute_entity_data
from mpi4py import MPI

from rhizofem.meshing.contacts import find_rows

__all__ = ["TaggedMesh", "contiguous_partitioner", "tagged_mesh"]

SIMPLEX = {2: "interval", 3: "triangle", 4: "tetrahedron"}  # vertices per cell -> cell
TOPOLOGICAL_DIM = {"interval": 1, "triangle": 2, "tetrahedron": 3, "quadrilateral": 2, "hexahedron": 3}
FACET_VERTICES = {"interval": 1, "triangle": 2, "tetrahedron": 3, "quadrilateral": 2, "hexahedron": 4}


@dataclass
class TaggedMesh:
    """A mesh with its cell tags, facet tags and the names of the tag values."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    names: dict[str, tuple[int, int]]  # name -> (dimension, tag value)


def contiguous_partitioner(comm, nparts, cell_types, cells):
    """A DOLFINx cell partitioner: block k of the input cells (in order) goes to rank k."""
    num = len(cells[0]) // (dolfinx.cpp.mesh.cell_num_vertices(cell_types[0]))
    start = comm.exscan(num) or 0
    total = comm.allreduce(num)
    dest = ((start + np.arange(num, dtype=np.int64)) * nparts // max(total, 1)).astype(np.int32)
    return dolfinx.graph.adjacencylist(dest)._cpp_object


def _blocks(comm: MPI.Comm, rows: np.ndarray, root: int) -> np.ndarray:
    """Rank k's block of rows held on root: the rows i with i * size // len(rows) = k, those
    :func:`contiguous_partitioner` gives rank k."""
    parts = None
    if comm.rank == root:
        cuts = -(-np.arange(comm.size + 1) * len(rows) // comm.size)  # ceil(k n / size)
        parts = [rows[cuts[k]:cuts[k + 1]] for k in range(comm.size)]
    return comm.scatter(parts, root=root)


def tagged_mesh(comm: MPI.Comm, points: np.ndarray | None, cells: np.ndarray | None,
                cell_values: np.ndarray | None, facets: np.ndarray | None = None,
                facet_values: np.ndarray | None = None, names: dict | None = None,
                root: int = 0, partitioner=None, cell_type: str | None = None,
                with_facets: bool = True) -> TaggedMesh:
    """Distribute a mesh given on ``root`` (other ranks pass ``None``).

    ``partitioner``: a DOLFINx cell partitioner (default: DOLFINx's graph partitioner), e.g.
    :func:`contiguous_partitioner`. ``cell_type``: ``"quadrilateral"`` or ``"hexahedron"``
    (vertices in DOLFINx's lexicographic order, see the module docstring); default: simplices.
    Facets are given by their vertices (2 for a quadrilateral's edge, 4 for a hexahedron's face).
    ``with_facets=False`` (no facets to tag): the facets are not built and ``facet_tags`` is
    empty, which saves a few seconds per million cells.
    """
    if comm.rank == root:
        cell_name = cell_type or SIMPLEX[int(cells.shape[1])]
        gdim = int(points.shape[1])
    else:
        cell_name = gdim = None
    cell_name, gdim = comm.bcast((cell_name, gdim), root=root)
    dim, facet_size = TOPOLOGICAL_DIM[cell_name], FACET_VERTICES[cell_name]
    element = basix.ufl.element("Lagrange", cell_name, 1, shape=(gdim,))
    domain = ufl.Mesh(element)
    if comm.rank != root:
        points = np.empty((0, gdim), dtype=np.float64)
        cells = np.empty((0, dolfinx.cpp.mesh.cell_num_vertices(dolfinx.mesh.to_type(cell_name))),
                         dtype=np.int64)
        cell_values = np.empty(0, dtype=np.int32)
        facets = np.empty((0, facet_size), dtype=np.int64)
        facet_values = np.empty(0, dtype=np.int32)
    if facets is None:
        facets = np.empty((0, facet_size), dtype=np.int64)
        facet_values = np.empty(0, dtype=np.int32)
    cells = np.asarray(cells, dtype=np.int64)
    points = np.asarray(points, dtype=np.float64)
    if partitioner is contiguous_partitioner and comm.size > 1:
        # create_mesh numbers cells and nodes globally in rank order of the input blocks:
        # rank k's share continues where rank k-1's ends, as on the root
        cells, points = _blocks(comm, cells, root), _blocks(comm, points, root)
    mesh = dolfinx.mesh.create_mesh(comm, cells, domain, points,
                                    partitioner=partitioner if comm.size > 1 else None)

    # cell values by input index: every rank asks the root for the values of its cells
    original = np.asarray(mesh.topology.original_cell_index, dtype=np.int64)
    wanted = comm.gather(original, root=root)
    if comm.rank == root:
        values = np.asarray(cell_values, dtype=np.int32)
        parts = [values[w] for w in wanted]
    local_values = comm.scatter(parts if comm.rank == root else None, root=root)
    num_cells = mesh.topology.index_map(dim).size_local + mesh.topology.index_map(dim).num_ghosts
    cell_tags = dolfinx.mesh.meshtags(mesh, dim, np.arange(num_cells, dtype=np.int32), local_values)

    if comm.bcast(with_facets or len(facets) > 0 if comm.rank == root else None, root=root):
        local_entities, local_values = distribute_entity_data(
            mesh, dim - 1, np.asarray(facets, dtype=np.int64), np.asarray(facet_values, dtype=np.int32))
        facet_tags = _facet_tags(mesh, local_entities, local_values.astype(np.int32))
    else:
        facet_tags = dolfinx.mesh.meshtags(mesh, dim - 1, np.empty(0, np.int32), np.empty(0, np.int32))
    tags = [cell_tags, facet_tags]
    tags[0].name, tags[1].name = "cell_tags", "facet_tags"
    names = comm.bcast(names if comm.rank == root else None, root=root) or {}
    return TaggedMesh(mesh, tags[0], tags[1], names)


def _facet_tags(mesh: dolfinx.mesh.Mesh, entities: np.ndarray, values: np.ndarray) -> dolfinx.mesh.MeshTags:
    """Facet tags from facets given by their (local) vertices.

    Tagged facets are mostly boundary facets: they are matched among the exterior facets by their
    sorted vertices (a sort of the few boundary facets), and only the rest goes through
    ``meshtags_from_entities``, which builds a vertex-to-facet map of *all* facets (400 MB for
    the 4.7 M facets of a 2.3 M-cell mesh, the peak of the whole run). A facet whose vertices
    this rank holds without holding the facet is left out, as by ``meshtags_from_entities``.
    """
    top = mesh.topology
    fdim = top.dim - 1
    top.create_connectivity(fdim, top.dim)
    top.create_connectivity(fdim, 0)
    k = dolfinx.cpp.mesh.cell_num_vertices(dolfinx.cpp.mesh.cell_entity_type(top.cell_type, fdim, 0))
    entities = np.asarray(entities, dtype=np.int32).reshape(len(values), k)  # a rank may hold none
    exterior = dolfinx.mesh.exterior_facet_indices(top)
    known = np.sort(top.connectivity(fdim, 0).array.reshape(-1, k)[exterior], axis=1) if len(exterior) else \
        np.empty((0, k), dtype=np.int32)
    index, found = find_rows(known, np.sort(entities, axis=1))
    indices = exterior[index[found]].astype(np.int32)
    tag_values = values[found]
    if np.any(~found):  # interior facets (a foreign mesh's internal surface), or facets of another rank
        adj = dolfinx.graph.adjacencylist(np.ascontiguousarray(entities[~found]))
        rest = dolfinx.mesh.meshtags_from_entities(mesh, fdim, adj, np.ascontiguousarray(values[~found]))
        indices = np.concatenate([indices, rest.indices.astype(np.int32)])
        tag_values = np.concatenate([tag_values, rest.values.astype(np.int32)])
    indices, first = np.unique(indices, return_index=True)
    return dolfinx.mesh.meshtags(mesh, fdim, indices, tag_values[first])

