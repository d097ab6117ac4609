"""Deterministic root systems for tests, demos and the rhizodeposition model.

Each generator returns a :class:`~rhizofem.rootsystem.architecture.RootSystem` whose nodes
are laid down by a tip that grows at a constant rate: node ``i`` of a root appears at
``emergence + i·dx/rate``, which is its segment's ``created_d``; ``emergence`` is the root's
``root_start_d``. The first node of a lateral is the parent's node at the branching point. Units: cm and d, depth is negative z.
"""

from __future__ import annotations

import math

import numpy as np

from rhizofem.errors import InputError
from rhizofem.rootsystem.architecture import RootSystem

__all__ = ["root_with_laterals", "straight_root"]


def _unit(direction) -> np.ndarray:
    d = np.asarray(direction, dtype=float)
    n = float(np.linalg.norm(d))
    if d.shape != (3,) or not n > 0:
        raise InputError(f"root direction must be a non-zero 3-vector, got {direction!r}.")
    return d / n


def _axis(origin, direction, rate_cm_d: float, t0_d: float, t_end_d: float, dx_cm: float):
    """Nodes and node times of a straight axis growing from ``origin`` from t0 to t_end."""
    length = rate_cm_d * max(t_end_d - t0_d, 0.0)
    n = max(int(math.ceil(length / dx_cm - 1e-9)), 1)
    s = np.minimum(np.arange(n + 1) * dx_cm, length)
    nodes = np.asarray(origin, dtype=float) + np.outer(s, _unit(direction))
    times = t0_d + s / rate_cm_d
    return nodes, times


def straight_root(growth_rate_cm_d: float, t_end_d: float, radius_cm: float = 0.05,
                  dx_cm: float = 0.1, origin=(0.0, 0.0, 0.0), direction=(0.0, 0.0, -1.0),
                  emergence_d: float = 0.0) -> RootSystem:
    """One straight root growing at ``growth_rate_cm_d`` from ``emergence_d`` to ``t_end_d``,
    segments of ``dx_cm`` (the last one shorter)."""
    if not growth_rate_cm_d > 0 or not dx_cm > 0 or not radius_cm > 0:
        raise InputError("straight_root: growth_rate_cm_d, dx_cm and radius_cm must be > 0.")
    if not t_end_d > emergence_d:
        raise InputError(f"straight_root: t_end_d = {t_end_d} must be after emergence_d = {emergence_d}.")
    nodes, times = _axis(origin, direction, growth_rate_cm_d, emergence_d, t_end_d, dx_cm)
    m = len(nodes) - 1
    segs = np.stack([np.arange(m), np.arange(1, m + 1)], axis=1)
    return RootSystem(nodes, segs, np.full(m, radius_cm), times[1:], np.zeros(m, np.int64),
                      np.zeros(m, np.int64), np.array([-1]),
                      f"straight_root({growth_rate_cm_d} cm/d, {t_end_d} d)", np.array([float(emergence_d)]))


def root_with_laterals(t_end_d: float = 10.0, main_rate_cm_d: float = 1.5, lateral_rate_cm_d: float = 0.4,
                       branching_delay_d: float = 2.0, interbranch_cm: float = 1.0,
                       basal_zone_cm: float = 1.0, n_laterals_max: int = 20,
                       lateral_angle_deg: float = 70.0, main_radius_cm: float = 0.05,
                       lateral_radius_cm: float = 0.025, dx_cm: float = 0.1,
                       origin=(0.0, 0.0, -0.5)) -> RootSystem:
    """A vertical main root with first-order laterals (deterministic, no randomness).

    Laterals branch every ``interbranch_cm`` below ``basal_zone_cm``; each emerges
    ``branching_delay_d`` after the main tip passed its branching point, grows straight at
    ``lateral_rate_cm_d`` at ``lateral_angle_deg`` from the vertical, and consecutive
    laterals turn by the golden angle (137.5°) around the main axis.
    """
    if not (main_rate_cm_d > 0 and lateral_rate_cm_d > 0 and interbranch_cm > 0 and dx_cm > 0):
        raise InputError("root_with_laterals: rates, interbranch_cm and dx_cm must be > 0.")
    main_nodes, main_times = _axis(origin, (0, 0, -1), main_rate_cm_d, 0.0, t_end_d, dx_cm)
    nodes = [main_nodes]
    segs = [np.stack([np.arange(len(main_nodes) - 1), np.arange(1, len(main_nodes))], axis=1)]
    radius = [np.full(len(main_nodes) - 1, main_radius_cm)]
    created = [main_times[1:]]
    rid = [np.zeros(len(main_nodes) - 1, np.int64)]
    order = [np.zeros(len(main_nodes) - 1, np.int64)]
    parents = [-1]
    starts = [0.0]
    n_nodes = len(main_nodes)
    main_len = main_rate_cm_d * t_end_d
    golden = math.radians(137.5)
    angle = math.radians(lateral_angle_deg)
    for j in range(n_laterals_max):
        s = basal_zone_cm + j * interbranch_cm
        if s > main_len:
            break
        emergence = s / main_rate_cm_d + branching_delay_d
        if emergence >= t_end_d:
            break
        # the branching node: the main-root node nearest to arclength s (nodes are dx apart)
        k = int(round(s / dx_cm))
        k = min(k, len(main_nodes) - 1)
        phi = j * golden
        direction = (math.sin(angle) * math.cos(phi), math.sin(angle) * math.sin(phi), -math.cos(angle))
        lat_nodes, _ = _axis(main_nodes[k], direction, lateral_rate_cm_d, emergence, t_end_d, dx_cm)
        lat_times = emergence + np.linalg.norm(lat_nodes - main_nodes[k], axis=1) / lateral_rate_cm_d
        m = len(lat_nodes) - 1
        ids = np.concatenate([[k], n_nodes + np.arange(m)])   # first node is the parent's node
        nodes.append(lat_nodes[1:])
        segs.append(np.stack([ids[:-1], ids[1:]], axis=1))
        radius.append(np.full(m, lateral_radius_cm))
        created.append(lat_times[1:])
        rid.append(np.full(m, len(parents), np.int64))
        order.append(np.ones(m, np.int64))
        parents.append(0)
        starts.append(emergence)
        n_nodes += m
    return RootSystem(np.concatenate(nodes), np.concatenate(segs), np.concatenate(radius),
                      np.concatenate(created), np.concatenate(rid), np.concatenate(order),
                      np.array(parents), f"root_with_laterals({t_end_d} d)", np.array(starts))
