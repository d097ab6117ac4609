"""The coupled model: radial rhizospheres of every root segment inside a 3D soil box.

After Mai et al. (2019, Plant Soil 439:273–292) and Schnepf et al. (2012): the box's soil is
divided into cubic cells (:mod:`.macro`); every root segment is cut at the cell faces into
pieces, and each piece gets a radial model r0 ≤ r ≤ r1 with r1 = 1/√(π·RLD) of *its cell's
current* root length density, so that the pieces' soil cylinders fill their cell exactly
(Σ π r1² L = cell volume). A cell with roots holds its soil in its pieces' radial models; a
cell without roots holds it as one well-mixed value.

**One macro step** (length Δt = ``[macro] dt_h``), sequential operator splitting:

1. *growth*: pieces created before the middle of the step switch on at its start. In each cell that gains root,
   r1 of the cell's pieces shrinks; every existing profile is remapped onto its shorter
   interval conservatively (piecewise-constant totals in the volume coordinate ½ r², so no
   mass is created and none turns negative); what lay beyond the new r1 — and, in a cell
   that had no root, the cell's whole content — is shared out as a uniform profile among the
   new pieces of the cell;
2. *soil between the cells*: one implicit step of diffusion between the cells' mean
   concentrations (citrate decomposing in cells without roots) gives each cell its net
   inflow Q (µmol, Σ Q = 0 to round-off);
3. *radial models*: the inflow of a rooted cell is shared among its pieces in proportion to
   their soil volume and enters each through r1 at a constant rate Q_k/Δt while the radial
   model advances over the step with its own adaptive steps (BDF2 running on across macro
   steps), uptake, exudation, sorption and decomposition. The inflow enters the BDF2 step
   equation as a known cumulative amount, so the amount a piece receives over the macro step
   is exactly the amount the soil gave.

Each cell's content is then the sum of its pieces' contents, and the next step starts from
there. Mass is conserved to round-off: soil + radial domains + uptake − exudation +
decomposition is checked every step (``mass_balance_error_rel``: the largest imbalance over
the steps, relative to the amount the balance sums — the box's phosphate, the citrate
exuded). The splitting error
(inter-cell transport lagging the uptake by one step) is first order in Δt; the docs show its
convergence. Segments are dealt to the rank that owns their cell, so the only communication
per step is the soil solve itself and one reduction of a few numbers for the balance.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from rhizofem.errors import InputError, RhizofemError
from rhizofem.parallel import check_all
from rhizofem.models.uptake.batch import Clocks, RadialBatch, RadialGrid, SegmentArrays, radial_operators
from rhizofem.models.uptake.macro import SoilBox
from rhizofem.models.uptake.physics import RadialModel
from rhizofem.output.performance import Clock

__all__ = ["CoupledResult", "box_of", "cut_into_cells", "remap_profile", "run_coupled"]

_DAY = 86400.0
_TWO_PI = 2.0 * math.pi
EQUIVALENT_RADIUS = 0.2   # r_eq / h of a root in a cell (Peaceman 1978: 0.198 for a square grid)


# ---------------------------------------------------------------------------------------------
# geometry: the box, segments cut at cell faces
# ---------------------------------------------------------------------------------------------

def box_of(rs, mcfg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower corner, size, cells per direction) of the box of ``[macro]``."""
    size = np.asarray(mcfg.box_cm, float)
    n = np.maximum(np.round(size / mcfg.cell_cm).astype(np.int64), 1)
    if mcfg.origin_cm is not None:
        lo = np.asarray(mcfg.origin_cm, float)
    else:
        xy = rs.nodes[:, :2]
        centre = 0.5 * (xy.min(axis=0) + xy.max(axis=0))
        top = 0.0 if rs.nodes[:, 2].max() <= 0.0 else float(rs.nodes[:, 2].max())
        lo = np.array([centre[0] - 0.5 * size[0], centre[1] - 0.5 * size[1], top - size[2]])
    return lo, size, n


def cut_into_cells(a: np.ndarray, b: np.ndarray, lo: np.ndarray, h: np.ndarray,
                   shortest: float) -> list[tuple[float, float]]:
    """Parameter intervals [t0, t1] ⊂ [0, 1] of the segment a→b between the planes of a grid
    with lower corner ``lo`` and spacing ``h``; pieces shorter than ``shortest`` (cm) are
    merged into a neighbour (a sliver of root in a cell corner would get a radial model of
    its own otherwise)."""
    d = b - a
    length = float(np.linalg.norm(d))
    ts = [0.0, 1.0]
    for ax in range(3):
        if d[ax] == 0.0:
            continue
        lo_j = math.floor((min(a[ax], b[ax]) - lo[ax]) / h[ax]) + 1
        hi_j = math.ceil((max(a[ax], b[ax]) - lo[ax]) / h[ax]) - 1
        for j in range(lo_j, hi_j + 1):
            t = (lo[ax] + j * h[ax] - a[ax]) / d[ax]
            if 0.0 < t < 1.0:
                ts.append(t)
    ts = sorted(set(ts))
    while len(ts) > 2:
        lengths = np.diff(ts) * length
        k = int(np.argmin(lengths))
        if lengths[k] >= shortest:
            break
        # remove the cut point shared with the shorter neighbour
        if k == 0:
            del ts[1]
        elif k == len(lengths) - 1:
            del ts[-2]
        else:
            del ts[k if lengths[k - 1] <= lengths[k + 1] else k + 1]
    return list(zip(ts[:-1], ts[1:], strict=True))


@dataclass
class Pieces:
    """The root pieces this rank owns (one radial model each)."""

    parent: np.ndarray        # segment index in the root-system table
    cell: np.ndarray          # local index of the owned soil cell
    r0: np.ndarray
    length: np.ndarray
    start_s: np.ndarray       # when the piece switches on (its segment's creation time)
    exudation: np.ndarray     # µmol cm⁻² s⁻¹
    midpoint: np.ndarray      # (k, 3)


def pieces_of(rs, soil: SoilBox, exudation: np.ndarray, t_end_d: float) -> Pieces:
    """Cut every segment created before ``t_end_d`` at the cell faces; keep this rank's pieces.
    Every rank reads the same (small) root system and keeps what falls in its cells."""
    shortest = 0.05 * float(soil.h.min())
    parent, mids, lengths = [], [], []
    for k in range(rs.n_segments):
        if rs.created_d[k] >= t_end_d:
            continue
        a, b = rs.nodes[rs.segments[k, 0]], rs.nodes[rs.segments[k, 1]]
        seg_len = float(np.linalg.norm(b - a))
        if seg_len <= 0.0:
            continue
        for t0, t1 in cut_into_cells(a, b, soil.lo, soil.h, shortest):
            parent.append(k)
            mids.append(a + 0.5 * (t0 + t1) * (b - a))
            lengths.append((t1 - t0) * seg_len)
    parent = np.asarray(parent, dtype=np.int64)
    mids = np.asarray(mids, float).reshape(-1, 3)
    linear = soil.linear_of_points(mids)
    if np.any(linear < 0):
        k = int(parent[np.nonzero(linear < 0)[0][0]])
        raise InputError(f"root segment {k} (at {tuple(np.round(mids[linear < 0][0], 3))} cm) lies outside the "
                         f"soil box [{tuple(soil.lo)}, {tuple(soil.lo + soil.n * soil.h)}] cm. Fix: enlarge "
                         "[macro] box_cm or move it with [macro] origin_cm.")
    local = soil.local_cells(linear)
    mine = local >= 0
    sel = parent[mine]
    return Pieces(parent=sel, cell=local[mine], r0=rs.radius_cm[sel], length=np.asarray(lengths)[mine],
                  start_s=np.maximum(rs.created_d[sel], 0.0) * _DAY, exudation=exudation[sel],
                  midpoint=mids[mine])


#: the work of one root piece's radial model in soil cells' work, for dealing the box's layers to
#: the ranks. Calibrated on the rhizotron problem of benchmarks/bench_parallel.py run for 8 days
#: (19 320 cells, 2 ranks): 100, 200, 400 and 1000 gave the radial models 0.69/1.63, 1.18/1.96,
#: 1.41/1.29 and 1.25/0.79 CPU-s on ranks 0/1 (the graph partitioner: 2.03/0.43). Over 16 days
#: it gives 10.4/6.2: young pieces cost more per step than the time they are alive says.
PIECE_WORK_CELLS = 400.0


def layer_work(rs, lo: np.ndarray, h: np.ndarray, n: np.ndarray, t_end_d: float) -> np.ndarray:
    """Estimated work of each horizontal layer of the box's cells over the run: its cells, and
    its root pieces weighted by the share of the run they are alive (for dealing the layers
    to the ranks, see :func:`rhizofem.models.uptake.macro.layer_partitioner`)."""
    work = np.full(int(n[2]), float(n[0] * n[1]))
    shortest = 0.05 * float(np.min(h))
    for k in range(rs.n_segments):
        alive = 1.0 - max(float(rs.created_d[k]), 0.0) / t_end_d
        if alive <= 0.0:
            continue
        a, b = rs.nodes[rs.segments[k, 0]], rs.nodes[rs.segments[k, 1]]
        if np.linalg.norm(b - a) <= 0.0:
            continue
        for t0, t1 in cut_into_cells(a, b, lo, h, shortest):
            z = (a + 0.5 * (t0 + t1) * (b - a))[2]
            layer = int(np.clip(np.floor((z - lo[2]) / h[2]), 0, n[2] - 1))
            work[layer] += PIECE_WORK_CELLS * alive
    return work


# ---------------------------------------------------------------------------------------------
# conservative remap of a radial profile onto a shorter interval
# ---------------------------------------------------------------------------------------------

def remap_profile(model: RadialModel, r_old: np.ndarray, c_old: list[np.ndarray], w_old: np.ndarray,
                  r_new: np.ndarray, w_new: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Concentrations on the nodes ``r_new`` (r_new[0] = r_old[0], r_new[-1] ≤ r_old[-1]) and the
    amount left beyond r_new[-1] (per radian and cm of root, per solute).

    Node j of a lumped P1 profile holds the amount w_j T_j (w_j its lumped weight); placing it
    on the interval [W_{j−1}, W_j] of the volume coordinate W = Σ_{i≤j} w_i (= ½(r² − r0²) at the
    ends) with the constant density T_j and integrating over the new nodes' intervals is
    exactly conservative and keeps every amount non-negative."""
    T_old = model.total(c_old)
    W_old = np.concatenate([[0.0], np.cumsum(w_old)])
    W_new = np.concatenate([[0.0], np.cumsum(w_new)])
    out, left = [], []
    for Ti in T_old:
        M = np.concatenate([[0.0], np.cumsum(w_old * Ti)])
        M_new = np.interp(W_new, W_old, M)
        out.append(np.diff(M_new) / w_new)
        left.append(M[-1] - M_new[-1])
    return model.concentrations_from_totals(out), np.array(left)


# ---------------------------------------------------------------------------------------------
# the coupled run
# ---------------------------------------------------------------------------------------------

@dataclass
class CoupledResult:
    times_d: np.ndarray
    uptake_P_series_umol: np.ndarray
    exuded_series_umol: np.ndarray
    decomposed_series_umol: np.ndarray
    uptake_P_per_segment_umol: np.ndarray       # (n_segments of the table,) summed over pieces
    mass_balance_error_rel: float
    mass_balance_error_rel_by_step: np.ndarray
    n_pieces: int
    n_cells: int
    time_s: dict
    fields: dict                                 # day -> (linear cell index, total P, total C, RLD) on rank 0
    steps: int


class _Coupling:
    """State of the coupled model on one rank (see the module docstring)."""

    def __init__(self, model: RadialModel, config, rs, exudation: np.ndarray, comm: MPI.Comm):
        m = config.macro
        self.model, self.config, self.comm = model, config, comm
        self.nsp = len(model.solutes)
        lo, size, n = box_of(rs, m)
        self.soil = SoilBox(model, comm, lo, size, n,
                            layer_work=layer_work(rs, lo, size / n, n, config.time.t_end_d))
        self.pieces = pieces_of(rs, self.soil, exudation, config.time.t_end_d)
        self.grid = RadialGrid.from_numerics(config.numerics)
        num = config.numerics
        self.batch_args = dict(controller=_controller(num), dt_initial_s=num.dt_initial_s,
                               newton_tol=num.newton_tol, petsc_options=dict(num.petsc_options))
        k = len(self.pieces.parent)
        self.active = np.zeros(k, dtype=bool)
        self.r1 = np.zeros(k)
        self.cells = np.zeros(k, dtype=np.int64)
        self.states: dict[int, np.ndarray] = {}      # piece -> scaled state (nodes, solutes)
        self.radii: dict[int, np.ndarray] = {}
        self.clock_rows: dict[int, Clocks] = {}
        self.batches: list[tuple[np.ndarray, RadialBatch, Clocks]] = []
        self.cum = {"uptake": np.zeros(k), "exuded": np.zeros(k), "decomposed": np.zeros(k)}
        self.decomposed_soil = 0.0
        self._root_source = np.zeros((self.soil.n_owned, len(model.solutes)))
        self.soil.fill([s.initial_umol_cm3 for s in model.solutes])

    # -- growth ----------------------------------------------------------------------------------
    def _r1_of_cells(self, cells: np.ndarray) -> np.ndarray:
        length = np.zeros(self.soil.n_owned)
        np.add.at(length, self.pieces.cell[self.active], self.pieces.length[self.active])
        return np.sqrt(self.soil.volume / (math.pi * length[cells]))

    def grow(self, t_s: float, dt_s: float = 0.0, initial: bool = False) -> bool:
        """Switch on the pieces created before the middle of the step [t_s, t_s + dt_s] (so a
        piece starts at most half a step early or late); redistribute in the cells they enter."""
        p = self.pieces
        new = np.nonzero(~self.active & (p.start_s <= t_s + 0.5 * dt_s + 1e-6))[0]
        if len(new) == 0:
            return False
        self._collect_batches()
        changed_cells = np.unique(p.cell[new])
        old_in_cells = [np.nonzero(self.active & (p.cell == c))[0] for c in changed_cells]
        self.active[new] = True
        r1_cells = self._r1_of_cells(changed_cells)
        model, soil = self.model, self.soil
        content = soil.content.copy()
        for cell, r1, old in zip(changed_cells, r1_cells, old_in_cells, strict=True):
            members = np.nonzero(self.active & (p.cell == cell))[0]
            if np.any(r1 <= 1.05 * p.r0[members]):
                raise InputError(f"soil cell {int(soil.linear_index[cell])} holds so much root that r1 = "
                                 f"1/sqrt(π·RLD) = {r1:.3g} cm is not larger than 1.05 r0 (r0 up to "
                                 f"{p.r0[members].max():.3g} cm). Fix: larger [macro] cell_cm.")
            pool = np.zeros(self.nsp)
            if len(old) == 0 and initial:
                # roots present from the start occupy their volume from the start: the cell's
                # soil (and so its initial content) is the cell minus the roots
                root_vol = float(np.pi * np.sum(p.r0[members] ** 2 * p.length[members]))
                T0 = model.total([np.array([s.initial_umol_cm3]) for s in model.solutes])
                pool += np.array([float(Ti[0]) for Ti in T0]) * (soil.volume - root_vol)
                soil.content[cell] = pool
            elif len(old) == 0:
                # a root growing into a cell takes the place of soil; the solutes of that soil
                # stay in the cell, shared out among the soil that is left
                pool += content[cell]
            for k in old:                                     # shorter cylinders: remap
                radii = self.grid.radii(p.r0[[k]], np.array([r1]), int(self.grid.cells_for(p.r0[[k]],
                                                                                             np.array([r1]))[0]))[0]
                w_old = _weights(self.radii[k])
                w_new = _weights(radii)
                c_old = [self.states[k][:, i] * s.c_ref_umol_cm3 for i, s in enumerate(model.solutes)]
                c_new, left = remap_profile(model, self.radii[k], c_old, w_old, radii, w_new)
                pool += left * _TWO_PI * p.length[k]
                self.states[k] = np.stack([ci / s.c_ref_umol_cm3 for ci, s in zip(c_new, model.solutes,
                                                                                   strict=True)], axis=-1)
                self.radii[k] = radii
                old_clock = self.clock_rows.get(k)
                self.clock_rows[k] = _fresh_clock(self.states[k], t_s,
                                                  (old_clock.dt_prop[0] / 4.0) if old_clock is not None
                                                  else self.batch_args["dt_initial_s"])
                self.r1[k] = r1
            fresh = np.setdiff1d(members, old)
            volume = np.pi * (r1**2 - p.r0[fresh] ** 2) * p.length[fresh]
            T_new = pool / volume.sum()
            c_new = model.concentrations_from_totals([np.array([Ti]) for Ti in T_new])
            for k in fresh:
                n = int(self.grid.cells_for(p.r0[[k]], np.array([r1]))[0])
                self.radii[k] = self.grid.radii(p.r0[[k]], np.array([r1]), n)[0]
                self.states[k] = np.tile([float(ci[0]) / s.c_ref_umol_cm3 for ci, s in
                                          zip(c_new, model.solutes, strict=True)], (n + 1, 1))
                self.clock_rows[k] = _fresh_clock(self.states[k], t_s, self.batch_args["dt_initial_s"])
                self.r1[k] = r1
            soil.root_volume[cell] = float(np.pi * np.sum(p.r0[members] ** 2 * p.length[members]))
            soil.rooted[cell] = True
        self._build_batches()
        return True

    def _collect_batches(self) -> None:
        """Pieces' states and clocks back from the batches (before the batches change)."""
        for members, batch, clocks in self.batches:
            for row, k in enumerate(members):
                self.states[k] = clocks.U0[row].copy()
                self.clock_rows[k] = clocks.take([row])

    def _build_batches(self) -> None:
        act = np.nonzero(self.active)[0]
        ncells = np.array([len(self.radii[k]) - 1 for k in act], dtype=np.int64)
        per = self.config.numerics.segments_per_batch
        self.batches = []
        p = self.pieces
        for n in np.unique(ncells):
            group = act[ncells == n]
            for i in range(0, len(group), per):
                members = group[i:i + per]
                segs = SegmentArrays(index=members, r0_cm=p.r0[members], r1_cm=self.r1[members],
                                     length_cm=p.length[members], start_s=p.start_s[members],
                                     exudation_umol_cm2_s=p.exudation[members])
                radii = np.stack([self.radii[k] for k in members])
                batch = RadialBatch(self.model, segs, cells=int(n), radii=radii, **self.batch_args)
                clocks = _concat([self.clock_rows[k] for k in members])
                self.batches.append((members, batch, clocks))

    # -- one macro step --------------------------------------------------------------------------
    def flux_offset(self) -> np.ndarray:
        """Per owned cell: the concentration the cell shows its neighbours minus its mean (zero
        in cells without roots).

        In a rooted cell the radial profiles are far from uniform, and a two-point flux needs
        the value that stands for the cell, not the mean. Phosphate, which the roots take up,
        has the logarithmic depletion profile of line sinks: a line sink in a cell of side h
        exchanges with its neighbours like its radial profile at the equivalent radius
        r_eq ≈ 0.2 h (Peaceman 1978, the well index of reservoir simulation). For the cell's
        pieces together — a cluster of line sinks filling the cell, whose edge is the soil
        between them at r1 — the same argument gives

            c_cell = c_P(r1) − ln(R/r_eq) Σ_k s_k L_k / h,    R = h/√π (the cell's circle),

        s_k = dc_P/d ln r of piece k near r1, L_k its length (for one root this is c_P(r_eq)).
        Citrate, released at the root and decomposed within millimetres, reaches the
        neighbours only through the soil at the cylinders' edge: c_C(r1). Both averaged over
        the cell's pieces by length. (Two roots 0.5 cm apart in 0.25-cm cells, against the
        resolved reference: the mean took up 6 % too little P, c_P(r1) 10 % too little; see
        docs/uptake.md for the table.)"""
        soil, p = self.soil, self.pieces
        h = float(np.mean(soil.h))
        log_ratio = math.log(1.0 / (math.sqrt(math.pi) * EQUIVALENT_RADIUS))   # ln(R_cell / r_eq)
        edge = np.zeros((soil.n_owned, self.nsp))
        slope = np.zeros(soil.n_owned)
        weight = np.zeros(soil.n_owned)
        for members, batch, clocks in self.batches:
            c = batch.concentrations(clocks.U0)
            r1 = self.r1[members]
            for i in range(self.nsp):
                ci = np.array([np.interp(r1[k], batch.r[k], c[i][k]) for k in range(len(members))])
                np.add.at(edge[:, i], p.cell[members], ci * p.length[members])
            half = np.array([np.interp(0.5 * r1[k], batch.r[k], c[0][k]) for k in range(len(members))])
            s_k = (c[0][:, -1] - half) / math.log(2.0)            # dc_P/d ln r near r1
            np.add.at(slope, p.cell[members], s_k * p.length[members])
            np.add.at(weight, p.cell[members], p.length[members])
        value = np.zeros((soil.n_owned, self.nsp))
        rooted = weight > 0
        value[rooted] = edge[rooted] / weight[rooted, None]
        value[rooted, 0] -= log_ratio * slope[rooted] / h
        # a concentration is never negative (a steep profile can extrapolate below zero)
        value = np.maximum(value, 0.0)
        return np.where(rooted[:, None], value - soil.c, 0.0)

    def step(self, t_a: float, t_b: float, clock: Clock) -> None:
        soil, p = self.soil, self.pieces
        clock.switch("soil_solve")
        offset = self.flux_offset()
        # the roots' P uptake of the last step, as the estimate for this one: the cells'
        # concentrations in the fluxes then feel the uptake of the step they exchange in.
        # (Not for citrate: its exchange value is the cylinders' edge, which the exudation of
        # one step hardly reaches; raising the mean by it exported citrate the edge did not have.)
        source = np.where(soil.rooted[:, None], self._root_source, 0.0)
        source[:, 1:] = 0.0
        Q, decayed = soil.exchange(t_b - t_a, offset, source)
        clock.switch("coupling")
        content = soil.content.copy()
        unrooted = ~soil.rooted
        content[unrooted] += Q[unrooted]
        if self.model.has_citrate:
            content[unrooted, 1] -= decayed[unrooted]
        self.decomposed_soil += float(decayed[unrooted].sum())
        # share of each piece in its cell's inflow: its soil volume
        vol = np.zeros(len(p.parent))
        act = self.active
        vol[act] = np.pi * (self.r1[act] ** 2 - p.r0[act] ** 2) * p.length[act]
        cell_vol = np.zeros(soil.n_owned)
        np.add.at(cell_vol, p.cell[act], vol[act])
        clock.switch("radial")
        self._root_source = np.zeros((soil.n_owned, self.nsp))
        for members, batch, clocks in self.batches:
            share = vol[members] / cell_vol[p.cell[members]]
            inflow = Q[p.cell[members]] * share[:, None] / (t_b - t_a)
            res = batch.advance(clocks, t_b, inflow, p.exudation[members])
            self.cum["uptake"][members] += res["uptake"]
            self.cum["exuded"][members] += res["exuded"]
            self.cum["decomposed"][members] += res["decomposed"]
            np.add.at(self._root_source[:, 0], p.cell[members], -res["uptake"] / (t_b - t_a))
        clock.switch("coupling")
        rooted_content = np.zeros((soil.n_owned, self.nsp))
        for members, batch, clocks in self.batches:
            np.add.at(rooted_content, p.cell[members], batch.contents(clocks.U0).T)
        content[soil.rooted] = rooted_content[soil.rooted]
        soil.set_contents(content)
        clock.switch(None)

    def totals(self) -> np.ndarray:
        """Local amounts (solutes): soil without roots + radial domains."""
        soil = self.soil
        return soil.content.sum(axis=0)

    def cell_fields(self) -> dict:
        soil, p = self.soil, self.pieces
        length = np.zeros(soil.n_owned)
        np.add.at(length, p.cell[self.active], p.length[self.active])
        return {"total_P_umol_cm3": soil.content[:, 0] / soil.volume,
                "total_citrate_umol_cm3": (soil.content[:, 1] / soil.volume if self.nsp > 1
                                           else np.zeros(soil.n_owned)),
                "rld_cm_cm3": length / soil.volume}


def _weights(radii: np.ndarray) -> np.ndarray:
    """Lumped weights ∫ φ_j r dr of one piece's nodes (as in the radial models)."""
    return radial_operators(radii[None, :], [1.0])[0][0]


def _fresh_clock(U: np.ndarray, t_s: float, dt: float) -> Clocks:
    return Clocks(U0=U[None].copy(), U1=U[None].copy(), U2=U[None].copy(), T0=np.array([t_s]),
                  T1=np.array([t_s]), T2=np.array([t_s]), dt_prop=np.array([dt]), dt_prev=np.array([np.inf]),
                  n_acc=np.zeros(1, dtype=np.int64), prev_inc=np.zeros((1, 3 + U.shape[-1])))


def _concat(rows: list[Clocks]) -> Clocks:
    return Clocks(*(np.concatenate([getattr(r, f) for r in rows]) for f in Clocks.__dataclass_fields__))


def _controller(num):
    from rhizofem.fem.timestepping import StepController

    return StepController(rtol=num.time_rtol, atol=num.time_atol, dt_min=num.dt_min_s, dt_max=num.dt_max_s)


def run_coupled(model: RadialModel, config, rs, exudation: np.ndarray, comm: MPI.Comm,
                on_output=None, progress=None, clock: Clock | None = None) -> CoupledResult:
    """Run the coupled model (see the module docstring). ``on_output(day, coupling)`` is called
    (collectively) at the output days; ``progress(step, n_steps, t_s)`` after every macro step.
    ``clock`` books ``setup``, ``growth``, ``soil_solve``, ``radial``, ``coupling`` and ``output``."""
    clock = clock if clock is not None else Clock()
    start = clock.mark()
    clock.switch("setup")
    cp = _Coupling(model, config, rs, exudation, comm)
    t_end = config.time.t_end_d * _DAY
    dt = config.macro.dt_h * 3600.0
    n_steps = max(int(math.ceil(t_end / dt - 1e-9)), 1)
    times = np.minimum(np.arange(n_steps + 1) * dt, t_end)
    out_days = sorted({d for d in config.macro.output_days if 0 < d <= config.time.t_end_d})
    out_steps = {int(np.argmin(np.abs(times - d * _DAY))): d for d in out_days}
    nsp = cp.nsp
    error = None
    try:
        cp.grow(0.0, initial=True)                   # the roots of t = 0, before the balance starts
    except RhizofemError as err:
        error = err
    check_all(comm, error is None, str(error), type(error) if error is not None else RhizofemError)
    cp.soil.set_contents(cp.soil.content)
    initial = comm.allreduce(cp.totals(), op=MPI.SUM)
    series = np.zeros((3, n_steps + 1))
    errors = np.zeros(n_steps)
    for step in range(n_steps):
        t_a, t_b = times[step], times[step + 1]
        clock.switch("growth")
        error = None
        try:
            changed = cp.grow(t_a, t_b - t_a)
        except RhizofemError as err:          # raised on this rank only: tell every rank
            error, changed = err, False
        check_all(comm, error is None, str(error), type(error) if error is not None else RhizofemError)
        if comm.allreduce(changed, op=MPI.LOR):
            cp.soil.set_contents(cp.soil.content)   # root volumes and rooted flags changed
        try:
            cp.step(t_a, t_b, clock)
        except RhizofemError as err:
            error = err
        check_all(comm, error is None, str(error), type(error) if error is not None else RhizofemError)
        local = np.array([cp.cum["uptake"].sum(), cp.cum["exuded"].sum(), cp.cum["decomposed"].sum()
                          + cp.decomposed_soil])
        totals = comm.allreduce(np.concatenate([cp.totals(), local]), op=MPI.SUM)
        amount, (up, ex, dec) = totals[:nsp], totals[nsp:]
        series[:, step + 1] = (up, ex, dec)
        # relative to the amount each balance sums: the box's phosphate, the citrate exuded
        balance = [initial[0] - up - amount[0]]
        scale = [initial[0] if initial[0] > 0 else 1.0]
        if nsp > 1:
            balance.append(initial[1] + ex - dec - amount[1])
            scale.append(initial[1] + ex if initial[1] + ex > 0 else 1.0)
        errors[step] = max(abs(b) / s for b, s in zip(balance, scale, strict=True))
        if step + 1 in out_steps and on_output is not None:
            with clock.stage("output"):
                on_output(out_steps[step + 1], cp)
        if progress is not None:
            progress(step + 1, n_steps, t_b)
    per_segment = np.zeros(rs.n_segments)
    np.add.at(per_segment, cp.pieces.parent, cp.cum["uptake"])
    per_segment = comm.allreduce(per_segment, op=MPI.SUM)
    n_pieces = comm.allreduce(int(cp.active.sum()), op=MPI.SUM)
    clock.switch(None)
    # the slowest rank's seconds, under the names of the model's parts
    parts = {"setup": "setup", "macro_solve": "soil_solve", "radial": "radial", "coupling": "coupling",
             "growth": "growth"}
    spent = clock.since(start, parts.values())
    timing = {k: comm.allreduce(spent[v], op=MPI.MAX) for k, v in parts.items()}
    return CoupledResult(times_d=times / _DAY, uptake_P_series_umol=series[0], exuded_series_umol=series[1],
                         decomposed_series_umol=series[2], uptake_P_per_segment_umol=per_segment,
                         mass_balance_error_rel=float(errors.max()) if len(errors) else 0.0,
                         mass_balance_error_rel_by_step=errors, n_pieces=n_pieces,
                         n_cells=int(np.prod(cp.soil.n)), time_s=timing, fields={}, steps=n_steps)


# ---------------------------------------------------------------------------------------------
# `rhizofem uptake` with [macro] enabled = true
# ---------------------------------------------------------------------------------------------

@dataclass
class MacroResult:
    """What :func:`run_macro` returns (on every rank)."""

    uptake_P_umol: float
    uptake_P_per_segment_model_umol: float | None
    exuded_citrate_umol: float
    decomposed_citrate_umol: float
    mass_balance_error_rel: float
    coupled: CoupledResult
    per_segment: object | None          # the per-segment Result (rhizofem.models.uptake.run)
    n_segments: int
    root_length_cm: float
    stats: dict


def run_macro(config, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD) -> MacroResult:
    """The coupled model of ``config`` (``[macro] enabled = true``), its outputs, and the
    per-segment model on the same root system for comparison."""
    from rhizofem.errors import ConfigError
    from rhizofem.models.uptake.physics import build_model
    from rhizofem.models.uptake.report_macro import MacroOutput
    from rhizofem.output import RunOutput, progress
    from rhizofem.parallel import on_root, rank0_print
    from rhizofem.rootsystem.architecture import RootSystem

    if config.rootsystem is None:
        raise ConfigError("[macro] enabled = true needs a root system: give [rootsystem] table (the per-segment "
                          "model of a single [segment] has no soil box around it).")
    from rhizofem.output.performance import recorded

    t_start = time.perf_counter()
    with (RunOutput(out_dir, comm, command="uptake", config=config) as out,
          recorded(out, comm, "coupled model: soil_solve (the soil box), radial (the root pieces' cylinders), "
                   "coupling, growth") as clock):
        clock.switch("setup")
        model = build_model(config)
        rs = on_root(comm, RootSystem.from_table, config.rootsystem.table)
        from rhizofem.links import hairs, links_inputs

        rs = hairs.with_radius_factor(rs, hairs.radius_factor(config.hairs.root_radius_from).factor)
        out.summary(inputs=links_inputs(config))
        rcfg = config.rootsystem
        rate = config.citrate.exudation_umol_cm2_s if config.citrate.enabled else 0.0
        exuding = np.ones(rs.n_segments, bool) if rcfg.exuding_orders is None else np.isin(rs.order,
                                                                                             rcfg.exuding_orders)
        exudation = np.where(exuding, rate, 0.0)
        writer = MacroOutput(out, config, rs, comm)
        with progress(total=None, desc="uptake (coupled)", unit="step", comm=comm) as bar:
            def on_step(step, n_steps, t_s):
                if bar.total is None:
                    bar.total = n_steps
                bar.update(1)
                bar.set_postfix_str(f"t = {t_s / _DAY:.3g}/{config.time.t_end_d:g} d", refresh=False)

            t0 = time.perf_counter()
            coupled = run_coupled(model, config, rs, exudation, comm, on_output=writer.fields, progress=on_step,
                                  clock=clock)
            t_coupled = time.perf_counter() - t0
        per_segment = None
        t_per = 0.0
        if config.macro.compare_per_segment:
            from rhizofem.models.uptake.run import run as run_per_segment
            import dataclasses

            t1 = time.perf_counter()
            per_cfg = dataclasses.replace(config, macro=dataclasses.replace(config.macro, enabled=False),
                                          output=dataclasses.replace(config.output, plots=False,
                                                                     compare_without_exudation=False))
            with clock.stage("per_segment_model"):
                per_segment = run_per_segment(per_cfg, None, comm)
            t_per = time.perf_counter() - t1
        kept = rs.created_d < config.time.t_end_d
        result = MacroResult(
            uptake_P_umol=float(coupled.uptake_P_series_umol[-1]),
            uptake_P_per_segment_model_umol=None if per_segment is None else per_segment.uptake_P_umol,
            exuded_citrate_umol=float(coupled.exuded_series_umol[-1]),
            decomposed_citrate_umol=float(coupled.decomposed_series_umol[-1]),
            mass_balance_error_rel=coupled.mass_balance_error_rel, coupled=coupled, per_segment=per_segment,
            n_segments=int(np.sum(kept & (rs.lengths_cm() > 0))),
            root_length_cm=float(rs.lengths_cm()[kept].sum()),
            stats={"time_s": {**coupled.time_s, "coupled_total": t_coupled, "per_segment_model": t_per}})
        result.stats["time_s"]["before_outputs"] = time.perf_counter() - t_start
        if out.enabled:
            with clock.stage("output"):
                writer.finish(result, model)
    result.stats["time_s"]["total"] = time.perf_counter() - t_start
    if out.enabled:
        lines = [f"rhizofem uptake (coupled to the soil box): P uptake {result.uptake_P_umol:.4g} µmol by "
                 f"{result.n_segments} segments ({result.root_length_cm:.4g} cm of root) over "
                 f"{config.time.t_end_d:g} d"]
        if result.uptake_P_per_segment_model_umol is not None:
            lines.append(f"  per-segment model on the same root system: {result.uptake_P_per_segment_model_umol:.4g} "
                         f"µmol (coupled / per-segment = "
                         f"{result.uptake_P_umol / result.uptake_P_per_segment_model_umol:.3f})")
        ts = result.stats["time_s"]
        lines.append(f"  mass balance error {result.mass_balance_error_rel:.1e} (largest over steps); "
                     f"{coupled.n_cells} soil cells, {coupled.n_pieces} root pieces, {coupled.steps} steps; "
                     f"{ts['total']:.1f} s (soil {ts['macro_solve']:.1f}, radial {ts['radial']:.1f}, coupling "
                     f"{ts['coupling'] + ts['growth']:.1f}, per-segment model {ts['per_segment_model']:.1f})")
        lines.append(f"  → {out.out_dir}/ (summary.json, timeseries.csv, segments.csv, fields.xdmf"
                     f"{', rhizotron.png, uptake.png' if config.output.plots else ''})")
        rank0_print(comm, "\n".join(lines))
    return result
