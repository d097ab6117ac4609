"""A root system as arrays: nodes, segments, radii, creation times, root identity and order.

Units follow the root-architecture models (CPlantBox, RSML): lengths in cm, times in days.
Depth is negative z (the soil surface is z = 0), as in CPlantBox.

Segment ``s`` joins node ``segments[s, 0]`` (towards the root base) to node
``segments[s, 1]`` (towards the tip); ``created_d[s]`` is when its distal node appeared.
A root's first node belongs to its parent (a lateral branches from a parent node), so the time
the root itself started, its emergence, is not a segment time: it is ``root_start_d[r]``
(NaN where the source did not give it; :meth:`RootSystem.start_times` then estimates it).
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
#: optional table column: creation time of the segment's base node (on a root's first segment,
#: the root's emergence time)
START_COLUMN = "created0_d"


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
        root_start_d: (n_roots,) emergence time of each root, days: when its tip left its
            first node (CPlantBox's ``getNodeCT(0)``, an RSML root's first-point time); NaN
            (or an empty array) where unknown.
    """

    nodes: np.ndarray
    segments: np.ndarray
    radius_cm: np.ndarray
    created_d: np.ndarray
    root_id: np.ndarray
    order: np.ndarray
    root_parent: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    source: str = ""
    root_start_d: np.ndarray = field(default_factory=lambda: np.empty(0))

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
            n_roots = int(self.root_id.max()) + 1
            if len(self.root_start_d) and len(self.root_start_d) < n_roots:
                problems.append(f"root_start_d has {len(self.root_start_d)} entries for {n_roots} roots")
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
                          self.root_id[keep], self.order[keep], self.root_parent, self.source, self.root_start_d)

    # -- roots as chains of segments -------------------------------------------------
    def chain(self, r: int) -> np.ndarray:
        """Segment indices of root ``r`` from base to tip (empty if it has none); InputError
        unless they form one unbranched chain."""
        segs = np.flatnonzero(self.root_id == r)
        if segs.size == 0:
            return segs
        by_base = {int(self.segments[s, 0]): int(s) for s in segs}
        distal = {int(self.segments[s, 1]) for s in segs}
        starts = [s for s in segs if int(self.segments[s, 0]) not in distal]
        chain = [int(starts[0])] if len(starts) == 1 and len(by_base) == segs.size else []
        while chain and int(self.segments[chain[-1], 1]) in by_base and len(chain) <= segs.size:
            chain.append(by_base[int(self.segments[chain[-1], 1])])
        if len(chain) != segs.size:
            raise InputError(f"root system ({self.source or 'no source'}): root {r} is not a single unbranched "
                             f"chain of segments ({len(starts)} starting nodes). Fix: give each branch its own "
                             "root_id (with root_parent).")
        return np.array(chain, dtype=np.int64)

    def start_times(self) -> np.ndarray:
        """Emergence time of every root (days): ``root_start_d`` where known, else estimated.

        Estimate, for a root whose source gave no start time: its first segment's duration
        from the second segment's speed (t0 = t1 − len1·Δt2/len2, the tip moving at a steady
        rate), not earlier than the time its base node appeared on the parent; a one-segment
        root with an unknown start cannot be estimated and is refused (it would release
        nothing, silently). Roots without segments get NaN.
        """
        n = self.n_roots
        known = np.full(n, np.nan)
        if len(self.root_start_d):
            known[:] = np.asarray(self.root_start_d, float)[:n]
        base_time = np.full(len(self.nodes), np.nan)
        base_time[self.segments[:, 1]] = self.created_d
        out = np.full(n, np.nan)
        unknown = []
        lengths = self.lengths_cm()
        for r in range(n):
            chain = self.chain(r)
            if chain.size == 0:
                continue
            t1 = float(self.created_d[chain[0]])
            if np.isfinite(known[r]):
                if known[r] > t1 + 1e-9 * max(1.0, abs(t1)):
                    raise InputError(f"root system ({self.source or 'no source'}): root {r} starts at "
                                     f"{known[r]:g} d, after its first segment was created ({t1:g} d). "
                                     "Fix: the emergence time must not be later than the first node time.")
                out[r] = min(known[r], t1)
                continue
            on_parent = base_time[self.segments[chain[0], 0]]
            if chain.size > 1 and self.created_d[chain[1]] > t1 and lengths[chain[1]] > 0:
                t0 = t1 - lengths[chain[0]] * (self.created_d[chain[1]] - t1) / lengths[chain[1]]
                out[r] = min(max(t0, on_parent), t1) if np.isfinite(on_parent) else t0
            elif np.isfinite(on_parent):
                out[r] = min(on_parent, t1)
            else:
                unknown.append(r)
        if unknown:
            raise InputError(f"root system ({self.source or 'no source'}): the emergence time of root(s) "
                             f"{unknown[:5]} is unknown and cannot be estimated (one segment, no parent node "
                             "time). Fix: give it (RSML: a creation time on the root's first point; table: "
                             f"column {START_COLUMN}; Python: RootSystem(..., root_start_d=...)).")
        return out

    # -- plain table I/O -------------------------------------------------------------
    @classmethod
    def from_table(cls, path: str | Path) -> RootSystem:
        """Read a CSV table with one row per segment and the columns :data:`TABLE_COLUMNS`
        (``root_id`` and ``order`` optional, default 0; optional ``created0_d``, the creation
        time of the segment's base node, gives each root's emergence time on its earliest
        segment)."""
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
        start = np.full(int(root_id.max()) + 1, np.nan)
        if START_COLUMN in rows[0]:
            # a root's start is the base-node time of its earliest segment
            for r in np.unique(root_id):
                rr = np.flatnonzero(root_id == r)
                value = (rows[int(rr[np.argmin(data["created_d"][rr])])].get(START_COLUMN) or "").strip()
                try:
                    start[r] = float(value) if value else np.nan
                except ValueError:
                    raise InputError(f"{path}: column {START_COLUMN} of root {r}: {value!r} is not a number.") \
                        from None
        return cls(nodes, segments, data["radius_cm"], data["created_d"], root_id,
                   data["order"].astype(np.int64), np.full(root_id.max() + 1, -1), str(path), start)

    def to_table(self, path: str | Path) -> None:
        """Write the CSV table (:data:`TABLE_COLUMNS` and ``created0_d``, the time of each
        segment's base node: a root's start on its first segment)."""
        a, b = self.nodes[self.segments[:, 0]], self.nodes[self.segments[:, 1]]
        base_time = np.full(len(self.nodes), np.nan)
        base_time[self.segments[:, 1]] = self.created_d
        created0 = base_time[self.segments[:, 0]]
        if len(self.root_start_d):
            # a root's first segment: its base node is no distal node of the same root
            distal_of = dict(zip(map(int, self.segments[:, 1]), map(int, self.root_id), strict=True))
            for s in range(self.n_segments):
                r = int(self.root_id[s])
                if distal_of.get(int(self.segments[s, 0])) != r and np.isfinite(self.root_start_d[r]):
                    created0[s] = self.root_start_d[r]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow((*TABLE_COLUMNS, START_COLUMN))
            for s in range(self.n_segments):
                numbers = [*a[s], *b[s], self.radius_cm[s], self.created_d[s]]
                w.writerow([repr(float(v)) for v in numbers] + [int(self.root_id[s]), int(self.order[s]),
                                                                repr(float(created0[s])) if np.isfinite(created0[s])
                                                                else ""])


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
