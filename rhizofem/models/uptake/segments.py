"""The segments to simulate: one from ``[segment]``, or every segment of a root system.

For a root system, each segment's rhizosphere is the cylinder r0 ≤ r ≤ r1 with
r1 = 1/sqrt(π·RLD), RLD the root length density of the voxel holding the segment's midpoint,
computed exactly (segments cut at voxel planes) from the root system at t_end: the soil each
segment shares with its neighbours at the end of the run. Segments created at or after t_end
have no time to take anything up: they count in the RLD at t_end but are not simulated and
not counted among the run's segments; a segment's model starts at its creation time (clipped
to t ≥ 0).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from rhizofem.errors import InputError
from rhizofem.models.uptake.batch import SegmentArrays
from rhizofem.parallel import on_root
from rhizofem.rootsystem.architecture import RootSystem, root_length_density

__all__ = ["SegmentSet", "from_config", "from_root_system"]

_DAY = 86400.0


@dataclass
class SegmentSet:
    """All segments of a run (every rank holds the full, small, arrays)."""

    arrays: SegmentArrays
    created_d: np.ndarray
    order: np.ndarray
    geometry: dict          # for summary.json: where r1 came from, RLD grid, ...


def _r1_from_rld(rld: float) -> float:
    return 1.0 / math.sqrt(math.pi * rld)


def from_config(cfg, comm: MPI.Comm = MPI.COMM_WORLD) -> SegmentSet:
    """The single segment of ``[segment]`` or the segments of ``[rootsystem]``."""
    from rhizofem.links.hairs import radius_factor, with_radius_factor

    exudation = cfg.citrate.exudation_umol_cm2_s if cfg.citrate.enabled else 0.0
    # root hairs as an equivalent radius (docs/links.md): every r0 times the factor
    factor = radius_factor(cfg.hairs.root_radius_from).factor
    if cfg.rootsystem is not None:
        rs = on_root(comm, RootSystem.from_table, cfg.rootsystem.table)
        return from_root_system(with_radius_factor(rs, factor), cfg.rootsystem, cfg.time.t_end_d, exudation)
    seg = dataclasses.replace(cfg.segment, r0_cm=cfg.segment.r0_cm * factor)
    if seg.created_d >= cfg.time.t_end_d:
        raise InputError(f"[segment] created_d = {seg.created_d} d is not before [time] t_end_d = "
                         f"{cfg.time.t_end_d} d: the segment would never take anything up. Fix: an "
                         "earlier created_d or a later t_end_d.")
    r1 = _r1_from_rld(seg.rld_cm_cm3) if seg.rld_cm_cm3 is not None else seg.r1_cm
    if r1 <= seg.r0_cm:
        source = (f"r1 = 1/sqrt(π·{seg.rld_cm_cm3}) = {r1:.4g} cm" if seg.rld_cm_cm3 is not None
                  else f"r1_cm = {r1}")
        raise InputError(f"[segment] {source} is not larger than r0_cm = {seg.r0_cm}. Fix: a larger "
                         "r1_cm or a smaller rld_cm_cm3.")
    arrays = SegmentArrays(index=np.array([0]), r0_cm=np.array([seg.r0_cm]), r1_cm=np.array([r1]),
                           length_cm=np.array([seg.length_cm]),
                           start_s=np.array([seg.created_d * _DAY]),
                           exudation_umol_cm2_s=np.array([exudation]))
    geometry = {"source": "segment", "r1_from": "rld_cm_cm3" if seg.rld_cm_cm3 is not None else "r1_cm",
                "r1_cm": r1, "r0_cm": seg.r0_cm}
    return SegmentSet(arrays, np.array([seg.created_d]), np.array([0]), geometry)


def from_root_system(rs: RootSystem, rcfg, t_end_d: float, exudation: float) -> SegmentSet:
    """Segments of ``rs`` existing at ``t_end_d``, with r1 from the voxel RLD at ``t_end_d``."""
    where = rs.source or "root system"
    rs_end = rs.at_time(t_end_d)
    lengths = rs_end.lengths_cm()
    at_end = rs_end.created_d >= t_end_d
    keep = (lengths > 0) & ~at_end
    if not np.any(keep):
        raise InputError(f"{where}: no segment of positive length exists before t_end = {t_end_d} d. "
                         "Fix: check the created_d column or raise [time] t_end_d.")
    v = rcfg.voxel_cm
    ends = np.concatenate([rs_end.nodes[rs_end.segments[:, 0]], rs_end.nodes[rs_end.segments[:, 1]]])
    if rcfg.domain_min_cm is not None or rcfg.domain_max_cm is not None:
        if rcfg.domain_min_cm is None or rcfg.domain_max_cm is None:
            raise InputError("[rootsystem] give both domain_min_cm and domain_max_cm, or neither.")
        lo, hi = np.array(rcfg.domain_min_cm, float), np.array(rcfg.domain_max_cm, float)
        if np.any(hi <= lo):
            raise InputError(f"[rootsystem] domain_max_cm {tuple(hi)} must exceed domain_min_cm {tuple(lo)}.")
    else:
        lo = np.floor(ends.min(axis=0) / v) * v
        hi = np.ceil(ends.max(axis=0) / v) * v
        hi = np.where(hi > lo, hi, lo + v)
    shape = np.maximum(np.round((hi - lo) / v).astype(int), 1)
    rld = root_length_density(rs_end, lo, v, shape)
    mid = rs_end.midpoints_cm()
    idx = np.floor((mid - lo) / v).astype(int)
    outside = np.any((idx < 0) | (idx >= shape), axis=1) & keep
    if np.any(outside):
        k = int(np.nonzero(outside)[0][0])
        raise InputError(f"{where}: {int(outside.sum())} segment midpoints lie outside the soil domain "
                         f"[{tuple(lo)}, {tuple(lo + shape * v)}] cm (e.g. segment {k} at {tuple(mid[k])}). "
                         "Fix: enlarge [rootsystem] domain_min_cm/domain_max_cm or leave them unset.")
    idx = np.clip(idx, 0, shape - 1)
    seg_rld = rld[idx[:, 0], idx[:, 1], idx[:, 2]]
    r1 = np.where(seg_rld > 0, 1.0 / np.sqrt(np.pi * np.maximum(seg_rld, 1e-300)), np.inf)
    r0 = rs_end.radius_cm
    bad = keep & ~(r1 > 1.05 * r0)
    if np.any(bad):
        k = int(np.nonzero(bad)[0][0])
        raise InputError(f"{where}: {int(bad.sum())} segments have r1 = 1/sqrt(π·RLD) ≤ 1.05 r0 (segment "
                         f"{k}: RLD {seg_rld[k]:.3g} cm/cm³, r1 {r1[k]:.3g} cm, r0 {r0[k]:.3g} cm): the "
                         "voxels hold too much root for a cylinder per segment. Fix: a larger "
                         "[rootsystem] voxel_cm.")
    exuding = np.ones(len(r0), bool) if rcfg.exuding_orders is None else np.isin(rs_end.order,
                                                                                  rcfg.exuding_orders)
    sel = np.nonzero(keep)[0]
    arrays = SegmentArrays(index=np.arange(len(sel)), r0_cm=r0[sel], r1_cm=r1[sel], length_cm=lengths[sel],
                           start_s=np.maximum(rs_end.created_d[sel], 0.0) * _DAY,
                           exudation_umol_cm2_s=np.where(exuding[sel], exudation, 0.0))
    geometry = {"source": where, "r1_from": "voxel RLD at t_end", "voxel_cm": v,
                "domain_min_cm": lo.tolist(), "domain_max_cm": (lo + shape * v).tolist(),
                "voxels": shape.tolist(), "segments_in_table": int(rs.n_segments),
                "segments_simulated": int(len(sel)), "dropped_zero_length": int((lengths <= 0).sum()),
                "not_simulated_created_at_t_end": int((at_end & (lengths > 0)).sum()),
                "root_length_cm": float(lengths[sel].sum()),
                "rld_max_cm_cm3": float(rld.max()), "r1_min_cm": float(r1[sel].min()),
                "r1_max_cm": float(r1[sel].max())}
    return SegmentSet(arrays, rs_end.created_d[sel], rs_end.order[sel], geometry)
