r"""The nodes of a voxel mesh of one phase, with point contacts cut.

On a voxel mesh whose nodes are the voxel corners, two voxels that meet only at an edge or a
corner would share the nodes there, and a nodal finite-element field would conduct through
that edge or point. In the continuum the two voxels touch in a set of zero area: no flux
passes. So a corner is not one node but one node *per group of the voxels around it that
are joined through shared faces*:

* the 2^d voxels around a corner form a 2×2(×2) block; two of them are face neighbours
  when their offsets in the block differ along one axis only;
* the selected voxels of the block are split into face-connected groups (at most 2 in 2D —
  the two voxels of a diagonal pair — and 4 in 3D — a checkerboard), and each group gets
  its own copy of the node.

Two voxels sharing a face share its 2^(d-1) corners (they are face neighbours in the block
of each), so the mesh stays conforming across every face; voxels that meet only at an
edge get distinct copies of the edge's nodes, voxels that meet only at a corner distinct
copies of that corner. Voxels that are face-connected *around* the corner (A–C–B, with A
and B diagonal) keep one node there: their flux runs through C's faces.

The groups depend on the 2^d voxels of the block only: a table over the 2^(2^d) patterns
(16 in 2D, 256 in 3D) gives, for each pattern and position, the group's label (its
smallest position in the block; :func:`rhizofem.meshing.contacts.block_groups`, the same
table that splits the soil meshes' nodes). A node is therefore named by (corner, group label).

Periodic (translation) cells: the block of a corner on the image border wraps around the
image, so the copies of a torus point at x = 0 and at x = L carry the same group label,
and a periodic constraint that matches (wrapped coordinates, group label) joins exactly
the copies that belong together: face connectivity across the periodic boundary too.
Without wrap (the mirror cell, solved on the image itself) voxels outside the image are
not selected.

``connectivity="point"`` puts every selected voxel of a block into one group: the plain
voxel mesh, where every corner is one node (kept for comparison with codes that mesh so).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from rhizofem.meshing.contacts import block_groups

__all__ = ["VoxelNodes", "block_groups", "kuhn_corners", "voxel_nodes"]


@dataclass(frozen=True)
class VoxelNodes:
    """The nodes of the selected voxels of an image.

    Attributes:
        points: (n_nodes, d) coordinates (corner index × voxel size).
        corner_nodes: (n_voxels, 2^d) node of each selected voxel's corners, corner k at
            offset ((k >> a) & 1 along axis a) from the voxel's lowest corner (DOLFINx's
            lexicographic order of quadrilateral / hexahedron vertices).
        voxels: (n_voxels,) flat (C-order) index of each selected voxel.
        node_corner: (n_nodes,) flat index of each node's corner on the (shape + 1) grid.
        node_group: (n_nodes,) the node's group label at its corner (0 .. 2^d − 1): copies
            of one point are told apart by it, periodic partners carry the same label.
    """

    points: np.ndarray
    corner_nodes: np.ndarray
    voxels: np.ndarray
    node_corner: np.ndarray
    node_group: np.ndarray


def voxel_nodes(mask: np.ndarray, voxel_size: float, periodic: bool = False,
                connectivity: str = "face") -> VoxelNodes:
    """Nodes of the voxels where ``mask`` is true, one per face-connected group of voxels at
    each corner (module docstring); ``periodic``: the blocks wrap around the image."""
    mask = np.asarray(mask, dtype=bool)
    dim, shape = mask.ndim, mask.shape
    size = 2**dim
    table = block_groups(dim, connectivity)
    corner_shape = tuple(n + 1 for n in shape)
    # padded[p] is voxel p − 1 (wrapped, or unselected outside the image): the block of
    # corner c holds padded[c + o] at position k(o) = Σ o_a 2^a
    padded = np.pad(mask, 1, mode="wrap" if periodic else "constant")
    pattern = np.zeros(corner_shape, dtype=np.uint16)
    for k in range(size):
        offset = [(k >> a) & 1 for a in range(dim)]
        pattern |= padded[tuple(slice(o, o + n) for o, n in zip(offset, corner_shape, strict=True))
                          ].astype(np.uint16) << k
    pattern = pattern.ravel()

    voxels = np.flatnonzero(mask)
    strides = np.array([np.prod(corner_shape[a + 1:], dtype=np.int64) for a in range(dim)])
    corner_offset = np.array([sum(((k >> a) & 1) * strides[a] for a in range(dim)) for k in range(size)])
    base = np.ravel_multi_index(np.unravel_index(voxels, shape), corner_shape)
    corners = base[:, None] + corner_offset[None, :]  # (n_voxels, 2^d) corner-grid index
    # the voxel sits in its corner k's block at the opposite position, 2^d − 1 − k
    group = table[pattern[corners], (size - 1) - np.arange(size)[None, :]].astype(np.int64)
    key = corners * size + group
    n_keys = int(np.prod(corner_shape, dtype=np.int64)) * size
    if n_keys <= 200_000_000:  # number the used keys in order without a sort
        used = np.zeros(n_keys, dtype=bool)
        used[key.ravel()] = True
        node = np.cumsum(used, dtype=np.int64) - 1
        corner_nodes = node[key]
        keys = np.flatnonzero(used)
    else:
        keys, inverse = np.unique(key.ravel(), return_inverse=True)
        corner_nodes = inverse.reshape(key.shape).astype(np.int64)
    node_corner, node_group = keys // size, keys % size
    points = np.stack(np.unravel_index(node_corner, corner_shape), axis=1) * float(voxel_size)
    return VoxelNodes(points, corner_nodes, voxels, node_corner, node_group.astype(np.int32))


def kuhn_corners(dim: int) -> np.ndarray:
    """(d!, d+1) corner numbers (as in :attr:`VoxelNodes.corner_nodes`) of the Kuhn
    simplices of a voxel, in the order of :func:`rhizofem.meshing.voxel.voxel_simplices`:
    simplex π walks from corner 0 to corner 2^d − 1 adding one axis at a time in the order
    of the permutation π."""
    rows = []
    for perm in itertools.permutations(range(dim)):
        k, path = 0, [0]
        for a in perm:
            k |= 1 << a
            path.append(k)
        rows.append(path)
    return np.array(rows, dtype=np.int64)
