"""Voxel-conforming simplex meshes of a label image (the core every image mesh uses).

Each selected voxel (pixel in 2D) is split into simplices along its main diagonal: the
Kuhn (Freudenthal) triangulation, 6 tetrahedra per voxel in 3D, 2 triangles per pixel in 2D.
This triangulation is the same in every voxel, so neighbouring voxels share their faces
exactly (the mesh is conforming), the mesh reproduces the segmentation voxel for voxel
(volumes and interface areas are those of the image), and the triangulation of opposite
faces of the image matches node for node (what periodic cell problems need).

Nodes sit on the voxel corners, at ``origin + index * voxel_size`` along axis 0, 1, 2 of the
image (axis 0 → x). Only the corners of selected voxels become nodes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["VoxelMesh", "interface_facets", "voxel_simplices"]


def _kuhn_simplices(dim: int, axes: list[int] | None = None) -> np.ndarray:
    """Corner offsets (0/1 per axis) of the Kuhn simplices spanned by ``axes`` (default all).

    Simplex π walks from the origin corner to the far corner, adding one axis at a time in
    the order of the permutation π. With all axes these are the dim! simplices of the unit
    cube; with the dim-1 axes of a face, the facets that triangulate that face.
    """
    simplices = []
    for perm in itertools.permutations(range(dim) if axes is None else axes):
        corner = np.zeros(dim, dtype=np.int64)
        path = [corner.copy()]
        for axis in perm:
            corner[axis] = 1
            path.append(corner.copy())
        simplices.append(path)
    return np.array(simplices)  # (n!, n+1, dim) for n axes


@dataclass(frozen=True)
class VoxelMesh:
    """Simplices of the selected voxels of an image.

    Attributes:
        points: (n_nodes, dim) node coordinates.
        cells: (n_cells, dim+1) node indices of each simplex.
        cell_voxel: (n_cells,) flat (C-order) index of the voxel each simplex fills.
        node_grid: (n_nodes,) flat index of each node on the (shape+1) corner grid, which
            locates nodes for facet extraction and periodic matching.
        shape: the image shape.
        voxel_size: edge length of a voxel (the unit of ``points``).
    """

    points: np.ndarray
    cells: np.ndarray
    cell_voxel: np.ndarray
    node_grid: np.ndarray
    shape: tuple[int, ...]
    voxel_size: float

    def node_index(self, corner_flat: np.ndarray) -> np.ndarray:
        """Mesh node index of corner-grid nodes (given as flat corner-grid indices)."""
        idx = np.searchsorted(self.node_grid, corner_flat)
        if np.any(idx >= len(self.node_grid)) or np.any(self.node_grid[np.minimum(idx, len(self.node_grid) - 1)] != corner_flat):
            raise ValueError("corner is not a node of this mesh")
        return idx


def voxel_simplices(mask: np.ndarray, voxel_size: float = 1.0,
                    origin: tuple[float, ...] | None = None) -> VoxelMesh:
    """Kuhn simplices of the voxels where ``mask`` is true (2D or 3D)."""
    mask = np.asarray(mask, dtype=bool)
    dim = mask.ndim
    if dim not in (2, 3):
        raise ValueError(f"mask must be 2D or 3D, got shape {mask.shape}")
    shape = mask.shape
    corner_shape = tuple(n + 1 for n in shape)
    voxels = np.flatnonzero(mask)
    vidx = np.stack(np.unravel_index(voxels, shape), axis=1)  # (nv, dim)

    kuhn = _kuhn_simplices(dim)  # (ns, dim+1, dim)
    # corner-grid index of every simplex vertex: (nv, ns, dim+1)
    corners = vidx[:, None, None, :] + kuhn[None, :, :, :]
    flat = np.ravel_multi_index(tuple(np.moveaxis(corners, -1, 0)), corner_shape)
    node_grid, inverse = np.unique(flat.ravel(), return_inverse=True)
    cells = inverse.reshape(-1, dim + 1).astype(np.int64)
    cell_voxel = np.repeat(voxels, kuhn.shape[0])

    ijk = np.stack(np.unravel_index(node_grid, corner_shape), axis=1).astype(np.float64)
    points = ijk * float(voxel_size)
    if origin is not None:
        points += np.asarray(origin, dtype=np.float64)
    return VoxelMesh(points, cells, cell_voxel, node_grid, shape, float(voxel_size))


def interface_facets(mesh: VoxelMesh, labels: np.ndarray, inside: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary facets of the meshed region, with the label found across each facet.

    Args:
        mesh: the mesh of the voxels where ``inside`` is true.
        labels: the label image (same shape).
        inside: the boolean mask that was meshed.

    Returns:
        ``(facets, across, voxel)``: facets as (n, dim) node indices; the label of the voxel on
        the other side, or -1 where the facet lies on the image border; and the flat index of
        the meshed voxel the facet belongs to. Each voxel face gives dim-1 facets (2 triangles
        in 3D, 1 segment in 2D), matching the faces of the Kuhn simplices.
    """
    labels = np.asarray(labels)
    inside = np.asarray(inside, dtype=bool)
    dim = inside.ndim
    shape = inside.shape
    corner_shape = tuple(n + 1 for n in shape)
    facets_all, across_all, voxel_all = [], [], []
    padded = np.pad(inside, 1, constant_values=False)
    padded_labels = np.pad(labels.astype(np.int64), 1, constant_values=-1)
    for axis in range(dim):
        for side in (-1, 1):
            # voxels inside whose neighbour across this face is outside the meshed region
            nb = np.roll(padded, -side, axis=axis)
            sl = tuple(slice(1, -1) for _ in range(dim))
            face_mask = inside & ~nb[sl]
            vox = np.flatnonzero(face_mask)
            if vox.size == 0:
                continue
            across = np.roll(padded_labels, -side, axis=axis)[sl].ravel()[vox]
            vidx = np.stack(np.unravel_index(vox, shape), axis=1)
            base = vidx.copy()
            if side == 1:
                base[:, axis] += 1
            # the face's own Kuhn triangulation: monotone paths from its low corner
            paths = _kuhn_simplices(dim, [a for a in range(dim) if a != axis])  # (nf, dim, dim)
            corners = base[:, None, None, :] + paths[None]
            flat = np.ravel_multi_index(tuple(np.moveaxis(corners, -1, 0)), corner_shape)
            facets_all.append(mesh.node_index(flat.reshape(-1)).reshape(-1, dim))
            across_all.append(np.repeat(across, len(paths)))
            voxel_all.append(np.repeat(vox, len(paths)))
    if not facets_all:
        return (np.empty((0, dim), np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    return (np.concatenate(facets_all), np.concatenate(across_all), np.concatenate(voxel_all))
