"""Face connectivity for voxel-conforming meshes: split the nodes where voxels touch at a point.

Two voxels of a phase that share only an edge or a corner (not a face) touch along a line
or at a point, where the continuum carries no flux. A voxel-conforming simplex mesh puts a
node there, shared by the simplices of both voxels, and nodal finite elements then conduct
through that node: diffusion (or an exudate) passes between regions that are not connected.
:func:`split_point_contacts` gives every such node one copy per group of voxels around it
that *are* connected through faces, so the mesh is connected exactly where the phase is
connected through faces (6-connectivity in 3D, 4 in 2D; image-analysis tools such as
TauFactor, PoreSpy and OpenPNM, and cell-centred finite volumes, use the same rule).

Which nodes: a node on the voxel-corner lattice (3D: a corner, or a point on a voxel edge
when the mesh is finer than the voxels) has 2^d voxels around it (fewer distinct ones on an
edge). Their face-adjacency graph (two of them adjacent when they differ along one axis) on
the voxels of the phase splits into components; with more than one, the node is split. A
simplex at the node takes the copy of the component of the voxel it lies in near the node:
the voxel in the direction of its centroid seen from the node (a voxel-conforming simplex
lies in the phase, and the point just off the node towards its centroid lies inside it).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from rhizofem.imaging.connectivity import CONNECTIVITIES

__all__ = ["block_groups", "find_rows", "remap_facets", "split_point_contacts"]


@functools.cache
def block_groups(dim: int, connectivity: str = "face") -> np.ndarray:
    """(2^(2^d), 2^d) table: for each occupancy pattern of the 2^d voxels around a lattice point
    (a 2×2(×2) block; bit k set when the voxel at block position k is occupied, k = Σ o_a 2^a for
    the offsets o_a ∈ {0, 1} along each axis), the group label of each position: the smallest
    position of its face-connected group (two positions are face neighbours when they differ
    along one axis), −1 where no voxel is occupied.

    ``connectivity="point"`` puts every occupied voxel of a block into one group (the plain
    voxel mesh, where every corner is one node). The one table behind the split nodes of the
    soil meshes (:func:`split_point_contacts`) and of the homogenization's voxel meshes
    (:func:`rhizofem.models.homogenization.voxels.voxel_nodes`).
    """
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be one of {CONNECTIVITIES}, got {connectivity!r}")
    size = 2**dim
    table = np.full((2**size, size), -1, dtype=np.int8)
    for pattern in range(2**size):
        present = [k for k in range(size) if pattern >> k & 1]
        label = {k: k for k in present}
        changed = True
        while changed:  # propagate the smallest label through face neighbours (≤ 4 rounds)
            changed = False
            for k in present:
                joined = (present if connectivity == "point"
                          else [k ^ (1 << a) for a in range(dim) if pattern >> (k ^ (1 << a)) & 1])
                for m in joined:
                    if label[m] < label[k]:
                        label[k], changed = label[m], True
        for k in present:
            table[pattern, k] = label[k]
    return table


def _octant_bits(offset: np.ndarray) -> np.ndarray:
    """Octant index from per-axis bits (..., d) of 0/1 (bit a = axis a)."""
    return np.sum(offset.astype(np.int64) << np.arange(offset.shape[-1]), axis=-1)


def split_point_contacts(phase: np.ndarray, nodes: np.ndarray, cells: np.ndarray, unit: int = 1,
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Duplicate the nodes where voxels of ``phase`` meet only at an edge or a corner.

    Args:
        phase: boolean image (2D or 3D) of the meshed voxels.
        nodes: (n, d) integer lattice coordinates of the mesh nodes, in units of 1/``unit``
            voxel (node (i, j, k) · unit is the corner of voxel (i, j, k)).
        cells: (m, d+1) node indices of the simplices (each inside one voxel of the phase,
            or inside a box of phase voxels).
        unit: lattice points per voxel edge.

    Returns:
        ``(cells, parent)``: the simplices on the split nodes, and for each new node the index
        of the node it copies (``nodes[parent]`` are the new nodes' coordinates). Nodes that
        are not split keep their number; the extra copies are numbered after them.
    """
    phase = np.asarray(phase, dtype=bool)
    dim = phase.ndim
    nodes = np.asarray(nodes, dtype=np.int64)
    cells = np.asarray(cells, dtype=np.int64)
    n_nodes = len(nodes)
    on_plane = nodes % unit == 0  # (n, d): on a lattice plane of voxel faces, per axis
    candidates = np.flatnonzero(on_plane.sum(axis=1) >= dim - 1)  # corners (and edge points in 3D)
    padded = np.pad(phase, 1)  # voxel (i, j, k) at padded[i+1, j+1, k+1]; outside is empty
    table = block_groups(dim)
    size = 2**dim
    mask = np.zeros(n_nodes, dtype=np.int64)
    base = nodes[candidates] // unit  # the voxel above (or containing) the node along each axis
    plane = on_plane[candidates]
    for octant in itertools.product((0, 1), repeat=dim):
        offset = np.array(octant)
        # on a plane: the voxel below (offset 0) or above (1); off it the node is inside one voxel
        voxel = base + np.where(plane, offset - 1, 0) + 1
        occupied = padded[tuple(voxel.T)]
        mask[candidates] |= occupied.astype(np.int64) << _octant_bits(offset)
    labels = table[mask]  # (n, 2^d): group label per octant, -1 where no phase voxel
    first = np.where(labels >= 0, labels, size).min(axis=1)  # the group that keeps the node's number
    split = np.any(labels > first[:, None], axis=1)
    if not split.any():
        return cells, np.arange(n_nodes)

    # the octant of every (cell, vertex) pair at a split node: the centroid's side of the node
    at_split = split[cells]
    rows, cols = np.nonzero(at_split)
    v = cells[rows, cols]
    direction = nodes[cells[rows]].sum(axis=1) - (dim + 1) * nodes[v]  # (dim+1) × (centroid - node)
    offset = direction >= 0  # a tie: the simplex spans both sides, both voxels are in one component
    component = table[mask[v], _octant_bits(offset)].astype(np.int64)
    if np.any(component < 0):
        raise ValueError("a simplex lies outside the phase at a split node: the mesh is not voxel-conforming")
    # the group of the lowest octant keeps the node's number, the other groups' copies are appended
    extra = component != first[v]
    keys = v[extra] * size + component[extra]
    unique, inverse = np.unique(keys, return_inverse=True)
    new_cells = cells.copy()
    new_cells[rows[extra], cols[extra]] = n_nodes + inverse
    parent = np.concatenate([np.arange(n_nodes), unique // size])
    return new_cells, parent


def find_rows(table: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``rows`` (m, k), the index of an equal row of ``table`` (n, k), and whether there
    is one (entities given by their sorted vertices; one sort of both, no hashing)."""
    k = table.shape[1]
    both = np.concatenate([table, rows])
    source = np.concatenate([np.zeros(len(table), np.int8), np.ones(len(rows), np.int8)])
    order = np.lexsort((source,) + tuple(both[:, c] for c in range(k - 1, -1, -1)))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    at = position[len(table):]  # where each row sorted; an equal row of the table sorts just before it
    index = order[np.maximum(at - 1, 0)]
    found = (at > 0) & (index < len(table))
    found[found] = np.all(both[index[found]] == rows[found], axis=1)
    return np.where(found, index, -1), found


def remap_facets(facets: np.ndarray, cells: np.ndarray, new_cells: np.ndarray) -> np.ndarray:
    """Boundary facets (node indices of ``cells``) in the numbering of ``new_cells``.

    Each boundary facet is a face of exactly one simplex; it takes that simplex's copies of
    its nodes (:func:`split_point_contacts` changes node numbers, never the simplices).
    """
    facets = np.asarray(facets, dtype=np.int64)
    if len(facets) == 0:
        return facets
    m, k = cells.shape  # k = d + 1 vertices, k faces per simplex
    local = np.array([[i for i in range(k) if i != f] for f in range(k)])  # vertices of face f
    faces = np.sort(cells[:, local], axis=2).reshape(m * k, k - 1)
    before, found = find_rows(faces, np.sort(facets, axis=1))
    if not np.all(found):
        raise ValueError("a boundary facet is not a face of the simplices")
    cell, face = before // k, before % k
    old = cells[cell[:, None], local[face]]  # the face's nodes, in the simplex's order
    new = new_cells[cell[:, None], local[face]]
    out = np.empty_like(facets)
    for j in range(k - 1):  # each facet node's copy, in the facet's own order
        out[:, j] = new[np.arange(len(facets)), np.argmax(old == facets[:, j:j + 1], axis=1)]
    return out
