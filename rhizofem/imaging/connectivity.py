"""Connected clusters of one phase of a label image, with or without periodic wrap, and
percolation per direction.

Connectivity is by *faces* by default: two voxels of the phase are neighbours when they share
a face (4-neighbourhood in 2D, 6 in 3D). Voxels that meet only at an edge or a corner touch
in a set of zero area, through which no diffusive flux passes in the continuum; the cell
problems of :mod:`rhizofem.models.homogenization` are meshed so that they do not conduct
there either, so percolation reported here is exactly the condition under which a cell
problem conducts. ``connectivity="point"`` (8-neighbourhood in 2D, 26 in 3D) is the rule of
a voxel mesh whose voxels share every corner node; it is kept for comparison only.

Periodic wrap (the image repeated by translation, the torus): a cluster *percolates along
axis i* when, on the torus, it contains a closed path that winds around axis i, i.e. a
path through the infinite periodic medium from one cell to a copy of itself shifted by a
lattice vector w with w_i ≠ 0. A diagonal channel that winds as (1, 1) conducts along both
axes. The windings are found with a union-find over the clusters of the unwrapped image
that carries, for each cluster, the lattice shift of its copy relative to the root
(a "weighted" union-find): joining two copies of the same cluster with a non-zero shift
is a winding.

Without wrap (the cell used for mirror periodisation, or a sample between two plates), a
cluster percolates along axis i when it touches both faces normal to axis i.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["CONNECTIVITIES", "Clusters", "clusters", "neighbour_offsets", "percolation", "structure"]

CONNECTIVITIES = ("face", "point")


def structure(dim: int, connectivity: str = "face") -> np.ndarray:
    """The neighbourhood of :func:`scipy.ndimage.label`: faces only, or faces, edges and corners."""
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be one of {CONNECTIVITIES}, got {connectivity!r}")
    return ndimage.generate_binary_structure(dim, 1 if connectivity == "face" else dim)


def neighbour_offsets(dim: int, connectivity: str = "face") -> list[tuple[int, ...]]:
    """The offsets of a voxel's neighbours, each unordered pair of directions once."""
    kept = []
    for off in itertools.product((-1, 0, 1), repeat=dim):
        if not any(off) or off < (0,) * dim:
            continue
        if connectivity == "face" and sum(map(abs, off)) != 1:
            continue
        kept.append(off)
    return kept


@dataclass(frozen=True)
class Clusters:
    """Connected clusters of a phase.

    Attributes:
        labels: int32 image, -1 outside the phase, else the cluster index 0..count-1. With
            wrap, voxels connected across the image border carry one index.
        count: number of clusters.
        spans: (count, dim) booleans: cluster c percolates along axis i.
        periodic: whether the clusters were found with periodic wrap.
    """

    labels: np.ndarray
    count: int
    spans: np.ndarray
    periodic: bool

    @property
    def percolates(self) -> tuple[bool, ...]:
        """Per axis: does any cluster percolate along it?"""
        return tuple(bool(v) for v in self.spans.any(axis=0)) if self.count else (False,) * self.labels.ndim

    @property
    def sizes(self) -> np.ndarray:
        """Number of voxels in each cluster."""
        return np.bincount(self.labels[self.labels >= 0].ravel(), minlength=self.count)


def clusters(mask: np.ndarray, periodic: bool = True, connectivity: str = "face") -> Clusters:
    """Connected clusters of the voxels where ``mask`` is true.

    ``connectivity``: ``"face"`` (default; voxels sharing a face) or ``"point"`` (sharing a
    face, an edge or a corner), see the module docstring.
    """
    mask = np.asarray(mask, dtype=bool)
    dim = mask.ndim
    lab, n = ndimage.label(mask, structure=structure(dim, connectivity))  # 1..n, 0 outside
    if not periodic:
        spans = np.zeros((n, dim), dtype=bool)
        for c, sl in enumerate(ndimage.find_objects(lab)):
            spans[c] = [sl[i].start == 0 and sl[i].stop == mask.shape[i] for i in range(dim)]
        return Clusters((lab - 1).astype(np.int32), int(n), spans, False)

    parent = np.arange(n + 1)
    shift = np.zeros((n + 1, dim), dtype=np.int64)  # lattice shift of a cluster's copy relative to its parent
    windings: list[tuple[int, np.ndarray]] = []

    def find(x: int) -> tuple[int, np.ndarray]:
        path = []
        while parent[x] != x:
            path.append(x)
            x = parent[x]
        root, acc = x, np.zeros(dim, dtype=np.int64)
        for node in reversed(path):  # compress, turning each shift into one relative to the root
            acc = acc + shift[node]
            parent[node], shift[node] = root, acc
        return root, (shift[path[0]].copy() if path else np.zeros(dim, dtype=np.int64))

    for a, b, s in _wrap_edges(lab, connectivity):
        ra, pa = find(a)
        rb, pb = find(b)
        if ra == rb:
            w = pa + s - pb
            if np.any(w):
                windings.append((ra, w))
        else:
            parent[rb] = ra
            shift[rb] = pa + s - pb

    roots = np.array([find(c)[0] for c in range(n + 1)])
    final, index = np.unique(roots[1:], return_inverse=True) if n else (np.empty(0, int), np.empty(0, int))
    spans = np.zeros((len(final), dim), dtype=bool)
    where = {int(r): i for i, r in enumerate(final)}
    for r, w in windings:
        spans[where[find(r)[0]]] |= w != 0
    relabel = np.concatenate(([-1], index)).astype(np.int32)
    return Clusters(relabel[lab], len(final), spans, True)


def _wrap_edges(lab: np.ndarray, connectivity: str):
    """Unique (cluster a, cluster b, shift s) of voxel pairs that touch across the border
    (neighbours by ``connectivity``).

    ``s`` is the lattice shift of b's voxel relative to a's: the pair touches when b's
    voxel is moved by s image lengths.
    """
    shape = np.array(lab.shape)
    dim = lab.ndim
    rows = []
    for off in neighbour_offsets(dim, connectivity):
        off = np.array(off)
        crossing = np.zeros(lab.shape, dtype=bool)
        for i in range(dim):
            if off[i]:
                sl = [slice(None)] * dim
                sl[i] = -1 if off[i] > 0 else 0
                crossing[tuple(sl)] = True
        idx = np.array(np.nonzero(crossing & (lab > 0)))  # (dim, m)
        if idx.size == 0:
            continue
        nb = idx + off[:, None]
        s = np.floor_divide(nb, shape[:, None])
        nbw = nb - s * shape[:, None]
        a = lab[tuple(idx)]
        b = lab[tuple(nbw)]
        keep = b > 0
        rows.append(np.column_stack([a[keep], b[keep], s[:, keep].T]))
    if not rows:
        return []
    uniq = np.unique(np.concatenate(rows), axis=0)
    return [(int(r[0]), int(r[1]), r[2:]) for r in uniq]


def percolation(mask: np.ndarray, periodic: bool = True, connectivity: str = "face") -> tuple[bool, ...]:
    """Per axis: does the phase ``mask`` percolate along it (see the module docstring)?"""
    return clusters(mask, periodic, connectivity).percolates
