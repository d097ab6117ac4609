"""A root system as arrays: nodes, segments, radii, creation times, root identity and order.

Units follow the root-architecture models (CPlantBox, RSML): lengths in cm, times in days.
Depth is negative z (the soil surface is z = 0), as in CPlantBox.

Segment ``s`` joins node ``segments[s, 0]`` (towards the root base) to node
``segments[s, 1]`` (towards the tip); ``created_d[s]`` is when its distal node appeared.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rhizofem.errors import InputError

__all__ = ["TABLE_COLUMNS", "RootSystem", "root_length_density"]

TABLE_COLUMNS = ("x0_cm", "y0_cm", "z0_cm", "x1_cm", "y1_cm", "z1_cm", "radius_cm", "created_d",
                 "root_id", "order")


@dataclass(frozen=True)
class RootSystem:
    """Root architecture (see the module docstring for conventions).

    Attributes:
        nodes: (n, 3) node coordinates, cm.
        segments: (m, 2) node indices, base-side node first.
        radius_cm: (m,) segment radii.
        created_d: (m,) creation time of each segment's distal node, days.
        root_id: (m,) the root (axis) each segment belongs to.
        order: (m,) branching order of that root (0 for base roots, 1 for first-order
            laterals, ...).
        root_parent: (n_roots,) parent root of each root id, -1 for base roots.
        source: where the architecture came from (file name or generator), for summaries.
    """

    nodes: np.ndarray
    segments: np.ndarray
    radius_cm: np.ndarray
    created_d: np.ndarray
    root_id: np.ndarray
    order: np.ndarray
    root_parent: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    source: str = ""

    def __post_init__(self):
        m = len(self.segments)
        problems = []
        if self.nodes.ndim != 2 or self.nodes.shape[1] != 3:
            problems.append(f"nodes must be (n, 3), got {self.nodes.shape}")
        if self.segments.ndim != 2 or self.segments.shape[1] != 2:
            problems.append(f"segments must be (m, 2), got {self.segments.shape}")
        for name in ("radius_cm", "created_d", "root_id", "order"):
            if len(getattr(self, name)) != m:
                problems.append(f"{name} has {len(getattr(self, name))} entries for {m} segments")
        if not problems and m:
            if self.segments.min() < 0 or self.segments.max() >= len(self.nodes):
                problems.append("a segment refers to a node that does not exist")
            if not np.all(np.isfinite(self.nodes)):
                problems.append("node coordinates must be finite")
            if np.any(~(self.radius_cm > 0)):
                problems.append(f"{int(np.sum(~(self.radius_cm > 0)))} segment radii are not > 0")
            if np.any(~np.isfinite(self.created_d)):
                problems.append("creation times must be finite")
        if problems:
            where = f" ({self.source})" if self.source else ""
            raise InputError(f"root system{where}: " + "; ".join(problems) + ".")

    # -- derived quantities ---------------------------------------------------------
    @property
    def n_segments(self) -> int:
        return len(self.segments)

    @property
    def n_roots(self) -> int:
        return int(self.root_id.max()) + 1 if self.n_segments else 0

    def lengths_cm(self) -> np.ndarray:
        a, b = self.nodes[self.segments[:, 0]], self.nodes[self.segments[:, 1]]
        return np.linalg.norm(b - a, axis=1)

    def midpoints_cm(self) -> np.ndarray:
        return 0.5 * (self.nodes[self.segments[:, 0]] + self.nodes[self.segments[:, 1]])

    def total_length_cm(self, t_d: float | None = None) -> float:
        keep = slice(None) if t_d is None else self.created_d <= t_d
        return float(self.lengths_cm()[keep].sum())

    def at_time(self, t_d: float) -> RootSystem:
        """The segments that exist at time ``t_d`` (created at or before it)."""
        keep = self.created_d <= t_d
        return RootSystem(self.nodes, self.segments[keep], self.radius_cm[keep], self.created_d[keep],
                          self.root_id[keep], self.order[keep], self.root_parent, self.source)

    # -- plain table I/O -------------------------------------------------------------
    @classmethod
    def from_table(cls, path: str | Path) -> RootSystem:
        """Read a CSV table with one row per segment and the columns :data:`TABLE_COLUMNS`
        (``root_id`` and ``order`` optional, default 0)."""
        path = Path(path)
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as err:
            raise InputError(f"{path}: cannot read root system table ({err}).") from None
        if not rows:
            raise InputError(f"{path}: the root system table has no segments.")
        missing = [c for c in TABLE_COLUMNS[:8] if c not in rows[0]]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}. "
                             f"Fix: the header must be {','.join(TABLE_COLUMNS)}.")
        try:
            data = {c: np.array([float(r.get(c) or 0.0) for r in rows]) for c in TABLE_COLUMNS}
        except ValueError as err:
            raise InputError(f"{path}: a value is not a number ({err}).") from None
        a = np.stack([data["x0_cm"], data["y0_cm"], data["z0_cm"]], axis=1)
        b = np.stack([data["x1_cm"], data["y1_cm"], data["z1_cm"]], axis=1)
        m = len(rows)
        nodes = np.concatenate([a, b])
        segments = np.stack([np.arange(m), np.arange(m, 2 * m)], axis=1)
        root_id = data["root_id"].astype(np.int64)
        return cls(nodes, segments, data["radius_cm"], data["created_d"], root_id,
                   data["order"].astype(np.int64), np.full(root_id.max() + 1, -1), str(path))

    def to_table(self, path: str | Path) -> None:
        a, b = self.nodes[self.segments[:, 0]], self.nodes[self.segments[:, 1]]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(TABLE_COLUMNS)
            for s in range(self.n_segments):
                numbers = [*a[s], *b[s], self.radius_cm[s], self.created_d[s]]
                w.writerow([repr(float(v)) for v in numbers] + [int(self.root_id[s]), int(self.order[s])])


def root_length_density(rs: RootSystem, origin_cm, spacing_cm, shape, t_d: float | None = None
                        ) -> np.ndarray:
    """Root length density (cm root per cm³ soil) on a regular voxel grid.

    Each segment is cut exactly at the grid planes it crosses, so every piece lies in one
    voxel and the lengths add up to the root length inside the grid (no sampling error).
    Parts outside the grid are dropped.
    """
    origin = np.asarray(origin_cm, dtype=float)
    h = np.broadcast_to(np.asarray(spacing_cm, dtype=float), (3,))
    shape = tuple(int(n) for n in shape)
    length = np.zeros(shape)
    if t_d is not None:
        rs = rs.at_time(t_d)
    A = (rs.nodes[rs.segments[:, 0]] - origin) / h  # in voxel units
    B = (rs.nodes[rs.segments[:, 1]] - origin) / h
    true_len = np.linalg.norm((B - A) * h, axis=1)
    for a, b, seg_len in zip(A, B, true_len, strict=True):
        d = b - a
        ts = [np.array([0.0, 1.0])]
        for k in range(3):
            if d[k] != 0.0:
                lo, hi = sorted((a[k], b[k]))
                planes = np.arange(np.ceil(lo), np.floor(hi) + 1)
                ts.append((planes - a[k]) / d[k])
        t = np.unique(np.clip(np.concatenate(ts), 0.0, 1.0))
        mids = a + np.outer(0.5 * (t[:-1] + t[1:]), d)
        pieces = np.diff(t) * seg_len
        idx = np.floor(mids).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < shape), axis=1)
        np.add.at(length, tuple(idx[inside].T), pieces[inside])
    return length / float(np.prod(h))
