"""Element quality of simplex meshes: radius ratio, dihedral angles, edge lengths.

The radius ratio is ``d * r_in / r_circ`` (d the dimension): 1 for the regular simplex,
0 for a degenerate one. A Kuhn tetrahedron (a sixth of a cube) has 0.7174 and dihedral
angles of 45°, 60° and 90°; bisection of Kuhn tetrahedra produces only a few shapes like it,
so graded meshes keep that quality.
"""

from __future__ import annotations

import numpy as np

__all__ = ["element_quality", "radius_ratio"]


def _volumes_and_faces(p: np.ndarray):
    """Volume (area in 2D) and the (d+1) facet measures of each simplex p: (n, d+1, d)."""
    d = p.shape[2]
    e = p[:, 1:] - p[:, :1]  # (n, d, d)
    vol = np.abs(np.linalg.det(e)) / (2.0 if d == 2 else 6.0)
    faces = []
    for i in range(d + 1):
        q = np.delete(p, i, axis=1)
        if d == 3:
            faces.append(0.5 * np.linalg.norm(np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]), axis=1))
        else:
            faces.append(np.linalg.norm(q[:, 1] - q[:, 0], axis=1))
    return vol, np.stack(faces, axis=1)


def radius_ratio(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``d * r_in / r_circ`` of each simplex (triangles and tetrahedra)."""
    p = np.asarray(points, dtype=np.float64)[np.asarray(cells)]
    d = p.shape[2]
    vol, faces = _volumes_and_faces(p)
    r_in = d * vol / faces.sum(axis=1)
    # circumcentre c - p0 solves 2 (p_i - p0) · x = |p_i - p0|^2
    e = p[:, 1:] - p[:, :1]
    rhs = 0.5 * np.einsum("nij,nij->ni", e, e)
    centre = np.linalg.solve(e, rhs[..., None])[..., 0]
    r_circ = np.linalg.norm(centre, axis=1)
    return d * r_in / r_circ


def _dihedral_angles_deg(p: np.ndarray) -> np.ndarray:
    """The 6 dihedral angles of each tetrahedron, in degrees."""
    normals = []
    for i in range(4):
        q = np.delete(p, i, axis=1)
        n = np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0])
        # orient outwards: away from the vertex left out
        side = np.einsum("ni,ni->n", n, p[:, i] - q[:, 0])
        n *= -np.sign(side)[:, None]
        normals.append(n / np.linalg.norm(n, axis=1)[:, None])
    angles = []
    for i in range(4):
        for j in range(i + 1, 4):
            c = np.einsum("ni,ni->n", normals[i], normals[j]).clip(-1, 1)
            angles.append(180.0 - np.degrees(np.arccos(c)))
    return np.stack(angles, axis=1)


def element_quality(points: np.ndarray, cells: np.ndarray) -> dict:
    """Statistics of the radius ratio, dihedral angles (3D) and edge lengths of a mesh."""
    points = np.asarray(points, dtype=np.float64)
    cells = np.asarray(cells)
    rr = radius_ratio(points, cells)
    p = points[cells]
    k = cells.shape[1]
    edges = np.stack([np.linalg.norm(p[:, a] - p[:, b], axis=1) for a in range(k) for b in range(a + 1, k)], axis=1)
    out = {
        "radius_ratio_min": float(rr.min()),
        "radius_ratio_mean": float(rr.mean()),
        "radius_ratio_max": float(rr.max()),
        "edge_length_min": float(edges.min()),
        "edge_length_max": float(edges.max()),
        "edge_length_mean": float(edges.mean()),
    }
    if cells.shape[1] == 4:
        dihedral = _dihedral_angles_deg(p)
        out["dihedral_angle_min_deg"] = float(dihedral.min())
        out["dihedral_angle_max_deg"] = float(dihedral.max())
    return out
