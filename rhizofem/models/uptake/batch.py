"""Many radial rhizospheres solved at once: one Newton system for a batch of segments.

Nothing couples two segments, so each keeps its **own clock**: its model starts at its
creation time, and its time step follows its own local error estimate (variable-step BDF2,
:mod:`rhizofem.fem.timestepping`). A batch step advances every unfinished segment by its own
dt in the same Newton solve; finished segments get dt = 0 (the equation then reads
T(c) = T(c_old)). Young segments with their fast start-up transients therefore never force
small steps on old ones, and step sequences — hence results — do not depend on how segments
are grouped into batches or ranks.

Weak form (:meth:`UFLForm.residual`), for each solute i, test function v_i, per radian and per
cm of root:

    ∫ (a0 T_i(c) + a1 T_i(c_n) + a2 T_i(c_{n−1})) v_i r dr          (storage, BDF)
  + dt ∫ D_i ∂c_i/∂r ∂v_i/∂r r dr                                  (diffusion)
  + dt ∫ k_C T_C v_C r dr                                          (citrate decomposition)
  + dt r0 U(c_P(r0)) v_P(r0)                                        (uptake, root surface)
  − dt r0 E v_C(r0)                                                 (exudation, root surface)
  − dt q_i r1 v_i(r1)                                               (inflow at r1; 0 = no flux)
  = 0,

with P1 elements and the vertex quadrature rule for every cell integral; U the uptake law of
:mod:`.physics` (a zero sink replaces the P row of the root node by c_P(r0) = 0). The vertex
rule lumps the storage and decomposition terms — the discrete diffusion operator stays an
M-matrix, no undershoots from the storage term — and is exact for the diffusion term
(constant gradients times a linear r).

How it is solved fast. Under the vertex rule every nonlinear term is *nodal*: node j of a
segment contributes w_j g(c_j) with w_j = ∫ φ_j r dr, and the boundary terms live on the end
nodes alone. So the residual is

    R(u) = dt ⊙ (K u) + nodal terms(u),       K = Σ_i D_i ∫ ∂φ ∂φ r dr,

with K, the weights w and the root-surface weights r0 built once per batch in closed form
(:func:`radial_operators`: no mesh, no form compilation, microseconds per segment). Newton's
Jacobian is dt ⊙ K plus 2×2 (solute × solute) blocks on the node diagonal, whose entries come
from complex-step differentiation of the very same :mod:`.physics` functions (exact to
round-off, no hand-written derivatives). Each Newton iteration is then a sparse mat-vec, a few
vectorised numpy evaluations and one sparse LU of a block-tridiagonal matrix. The statement of
the discretisation is the UFL form of :class:`UFLForm` on a DOLFINx mesh of disjoint intervals
(one per segment); ``tests/test_uptake.py`` checks that residual and Jacobian equal DOLFINx's
assembly of that form to round-off. Unknowns are ordered segment by segment, node by node
(from the root outwards), solute by solute: the layout of every numpy array here,
``(segments, nodes, solutes)``, is the PETSc vector itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from mpi4py import MPI
from petsc4py import PETSc

from rhizofem.errors import ConvergenceError
from rhizofem.fem.newton import NewtonSolver
from rhizofem.fem.timestepping import (StepController, bdf_coefficients, bdf_increment,
                                       bdf_local_error, extrapolate)
from rhizofem.models.uptake.physics import RadialModel, complex_abs, numpy_abs

__all__ = ["BatchResult", "RadialBatch", "RadialGrid", "SegmentArrays", "graded_radii"]

ROOT_SURFACE = 1
OUTER_BOUNDARY = 2
CELL_CLASS = 8   # cells per segment are rounded up to a multiple of this (few batch classes)
_X, _DT, _A0, _E = range(4)   # components of the cell-wise segment data (UFL form); then inflows
_TWO_PI = 2.0 * np.pi
_COMPLEX_STEP = 1e-30
# Newton per time step: the Jacobian (and its LU) of the first iteration is kept for the later
# ones (chord method, PETSc's lagged Jacobian). From the predictor's initial guess the step is
# a small correction, so the chord iterations converge in a few cheap residual evaluations and
# triangular solves; measured 2x faster than a fresh Jacobian per iteration, same results.
NEWTON_OPTIONS = {"snes_lag_jacobian": 50, "snes_max_it": 25}


@dataclass
class SegmentArrays:
    """Per-segment inputs (one entry per segment)."""

    index: np.ndarray          # global segment id
    r0_cm: np.ndarray
    r1_cm: np.ndarray
    length_cm: np.ndarray
    start_s: np.ndarray        # when the segment's model starts (creation time, ≥ 0)
    exudation_umol_cm2_s: np.ndarray

    def __len__(self):
        return len(self.index)

    def take(self, sel) -> SegmentArrays:
        return SegmentArrays(*(getattr(self, f)[sel] for f in self.__dataclass_fields__))


@dataclass
class BatchResult:
    """Per-segment results of one batch (arrays of length m, or (m, n_out))."""

    index: np.ndarray
    uptake_P_umol: np.ndarray           # (m, n_out) cumulative, at the output times
    exuded_C_umol: np.ndarray
    decomposed_C_umol: np.ndarray
    content_umol: np.ndarray            # (n_species, m, n_out)
    initial_content_umol: np.ndarray    # (n_species, m)
    mobilised_P_umol: np.ndarray        # (m, n_out)
    cells: np.ndarray                   # P1 cells of each segment's interval
    steps: np.ndarray                   # accepted steps per segment
    rejected: np.ndarray                # rejected steps per segment
    profiles: list = field(default_factory=list)   # dicts: index, t_s, r_cm, c (n_species, N+1)
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RadialGrid:
    """The cells of each segment's interval r0 ≤ r ≤ r1: geometric widths growing outwards.

    Default rule: the first cell is ``first_cell_fraction`` · r0 wide and neighbouring widths
    grow by at most ``cell_growth``, so a segment gets as many cells as its r1/r0 needs (the
    cell at the root resolves the depletion zone whatever r0 is; the cells per decade of r
    are bounded whatever r1 is), rounded up to a multiple of :data:`CELL_CLASS` (the widths
    then grow a little less than ``cell_growth``). With ``cells`` and ``grading`` set instead: ``cells`` cells,
    outermost/innermost width ``grading`` (a fixed family for convergence studies).
    """

    first_cell_fraction: float = 0.03
    cell_growth: float = 1.2
    cells: int | None = None
    grading: float | None = None

    @classmethod
    def from_numerics(cls, num) -> RadialGrid:
        return cls(num.first_cell_fraction, num.cell_growth, num.cells_per_segment, num.grading)

    def cells_for(self, r0: np.ndarray, r1: np.ndarray) -> np.ndarray:
        """Number of cells of each segment (a property of the segment alone, so that its
        result never depends on the batch or rank it is solved in)."""
        r0, r1 = np.asarray(r0, float), np.asarray(r1, float)
        if self.cells is not None:
            return np.full(r0.shape, int(self.cells), dtype=np.int64)
        h1 = self.first_cell_fraction * r0
        q = self.cell_growth
        # h1 (q^N − 1)/(q − 1) ≥ r1 − r0, rounded up to a multiple of CELL_CLASS so that the
        # segments of a root system fall into a few classes, each solved in large batches
        n = np.ceil(np.log1p((r1 - r0) * (q - 1.0) / h1) / np.log(q) - 1e-9)
        return (np.ceil(np.maximum(n, 2) / CELL_CLASS) * CELL_CLASS).astype(np.int64)

    def radii(self, r0: np.ndarray, r1: np.ndarray, cells: int) -> np.ndarray:
        """Node radii (m, cells+1) of segments that all have ``cells`` cells."""
        r0, r1 = np.asarray(r0, float), np.asarray(r1, float)
        length = r1 - r0
        if self.cells is not None and self.grading is not None:
            q = np.full(r0.shape, self.grading ** (1.0 / (cells - 1)) if cells > 1 else 1.0)
        else:
            q = _growth_for_first_cell(self.first_cell_fraction * r0 / length, cells)
        k = np.arange(cells + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = np.where(np.abs(q[:, None] - 1.0) > 1e-12, (q[:, None] ** k - 1.0) / (q[:, None] ** cells - 1.0),
                          k / cells)
        return r0[:, None] + length[:, None] * xi


def _growth_for_first_cell(h: np.ndarray, cells: int) -> np.ndarray:
    """Ratio q ≥ 1 with h (q^N − 1)/(q − 1) = 1 (first width h of a unit interval in N
    geometric cells); q = 1 (uniform) when N h ≥ 1. Bisection on ln q (in logarithms, no
    overflow), vectorised."""
    h = np.asarray(h, float)

    def log_expm1(x):
        x = np.maximum(x, 1e-300)
        return np.where(x > 30.0, x + np.log1p(-np.exp(-np.minimum(x, 700.0))), np.log(np.expm1(np.minimum(x, 30.0))))

    lo, hi = np.zeros_like(h), np.full_like(h, np.log(1.0 / h.min()) + 1.0)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        too_big = np.log(h) + log_expm1(cells * mid) - log_expm1(mid) > 0.0
        hi = np.where(too_big, mid, hi)
        lo = np.where(too_big, lo, mid)
    return np.where(cells * h >= 1.0, 1.0, np.exp(0.5 * (lo + hi)))


def graded_radii(r0: np.ndarray, r1: np.ndarray, cells: int, grading: float) -> np.ndarray:
    """Node radii (m, cells+1), ``cells`` geometric cells, outermost/innermost width ``grading``."""
    return RadialGrid(cells=cells, grading=grading).radii(r0, r1, cells)


class RadialBatch:
    """A batch of segments with the same number of cells (see the module docstring); node radii
    from ``grid`` or given as ``radii`` (segments, cells + 1)."""

    def __init__(self, model: RadialModel, segs: SegmentArrays, *, cells: int, grid: RadialGrid | None = None,
                 controller: StepController, dt_initial_s: float, newton_tol: float,
                 petsc_options: dict | None = None, radii: np.ndarray | None = None):
        self.model, self.segs, self.N = model, segs, cells
        self.controller, self.dt_initial = controller, dt_initial_s
        self.nsp = nsp = len(model.solutes)
        m = len(segs)
        t0 = time.perf_counter()

        # -- the grid and the constant operators, in closed form (see radial_operators) ------
        self.r = grid.radii(segs.r0_cm, segs.r1_cm, cells) if radii is None else np.asarray(radii, float)
        self.c_ref = np.array([s.c_ref_umol_cm3 for s in model.solutes])
        self.w, self.r_surface, K = radial_operators(self.r, [s.D_eff_cm2_s for s in model.solutes],
                                                     model.radial_profile)
        self._build_jacobian_structure(K)
        self._ufl = None

        # -- Newton on the layout vector --------------------------------------------------
        self._x_array = np.zeros(m * (cells + 1) * nsp)
        self._x = PETSc.Vec().createWithArray(self._x_array, comm=MPI.COMM_SELF)
        # residual scale: what an error of newton_tol in every scaled unknown does to the storage
        # rows (lumped weight × initial buffer power per scaled unit)
        c_init = [np.full(1, s.initial_umol_cm3) for s in model.solutes]
        slopes = np.array([max(model.buffer_power([float(c[0]) for c in c_init], i), model.theta)
                           for i in range(nsp)])
        storage = (self.w[..., None] * slopes).ravel()
        self.newton = NewtonSolver(self.residual, self.jacobian, self._x, self._J,
                                   {**NEWTON_OPTIONS, **(petsc_options or {})}, update_tol=newton_tol,
                                   residual_atol=newton_tol * float(np.linalg.norm(storage)),
                                   name="uptake")
        self.setup_s = time.perf_counter() - t0

    # -- the UFL statement of the discretisation (built on demand) ---------------------------
    @property
    def ufl(self) -> UFLForm:
        """The same discretisation as a DOLFINx mesh of disjoint intervals and a UFL form (for
        verification: DOLFINx's assembly of it must equal :meth:`residual`/:meth:`jacobian`)."""
        if self._ufl is None:
            self._ufl = UFLForm(self)
        return self._ufl

    # -- the nodal Newton system -------------------------------------------------------------------
    def _build_jacobian_structure(self, K: sp.spmatrix) -> None:
        """K (in the layout ordering) with room for the solute × solute block of every node."""
        m, n1, nsp = len(self.segs), self.N + 1, self.nsp
        n = m * n1 * nsp
        K_lay = K.tocoo()
        node = np.arange(m * n1)
        bi, bj = np.meshgrid(np.arange(nsp), np.arange(nsp), indexing="ij")
        rows = np.concatenate([K_lay.row, (node[:, None, None] * nsp + bi[None]).ravel()])
        cols = np.concatenate([K_lay.col, (node[:, None, None] * nsp + bj[None]).ravel()])
        vals = np.concatenate([K_lay.data, np.zeros(m * n1 * nsp * nsp)])
        S = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        S.sum_duplicates()
        S.sort_indices()
        self._K = S                                     # K in the layout, with the block pattern
        self._indptr = S.indptr.astype(PETSc.IntType)
        self._indices = S.indices.astype(PETSc.IntType)
        self._kvals = S.data.copy()
        entry_row = np.repeat(np.arange(n), np.diff(S.indptr))
        self._entry_seg = entry_row // (n1 * nsp)
        keys = entry_row.astype(np.int64) * n + S.indices
        target = ((node[:, None, None] * nsp + bi[None]).astype(np.int64) * n + (node[:, None, None] * nsp + bj[None]))
        self._block_pos = np.searchsorted(keys, target.reshape(m, n1, nsp, nsp))
        self._jvals = np.zeros_like(self._kvals)
        self._J = PETSc.Mat().createAIJWithArrays((n, n), (self._indptr, self._indices, self._jvals),
                                                  comm=MPI.COMM_SELF)
        self._row_seg = np.arange(n) // (n1 * nsp)
        # zero sink: the P row of every root node is the Dirichlet row u = 0
        self._root_rows = np.arange(m) * n1 * nsp
        starts, ends = S.indptr[self._root_rows], S.indptr[self._root_rows + 1]
        self._root_entries = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        self._root_diag = self._block_pos[:, 0, 0, 0]
        self._step = {"dt": np.zeros(m), "a0": np.ones(m), "history": np.zeros((m, n1, nsp)),
                      "E": self.segs.exudation_umol_cm2_s.copy(), "inflow": np.zeros((m, nsp))}

    def set_step(self, dt: np.ndarray, a0: np.ndarray, history: np.ndarray, exudation: np.ndarray,
                 inflow: np.ndarray | None = None) -> None:
        """The per-segment step data of the next solve: dt, a0, the history term, exudation rates
        E (µmol cm⁻² s⁻¹) and ``inflow`` (segments, solutes), the rate at which each solute
        enters the segment's soil cylinder through r1 (µmol s⁻¹; 0 = zero flux)."""
        self._step = {"dt": dt, "a0": a0, "history": history, "E": exudation,
                      "inflow": np.zeros((len(dt), self.nsp)) if inflow is None else inflow}
        if self._ufl is not None:
            self._ufl.set_step(self._step)

    def _nodal(self, U: np.ndarray, absolute) -> np.ndarray:
        """The nodal part of the residual, layout (segments, nodes, solutes); works on complex U.
        Without the root-surface P term under a zero sink (its row is replaced, see residual)."""
        model, st = self.model, self._step
        c = [U[..., i] * self.c_ref[i] for i in range(self.nsp)]
        T = model.total(c)
        w, dt = self.w, st["dt"][:, None]
        out = np.empty(U.shape, dtype=U.dtype)
        for i in range(self.nsp):
            out[..., i] = w * (st["a0"][:, None] * T[i] + st["history"][..., i])
        rs = st["dt"] * self.r_surface
        if not model.zero_sink:
            out[:, 0, 0] += rs * model.uptake_flux(c[0][:, 0], absolute)
        if model.has_citrate:
            out[..., 1] += dt * w * model.decomposition(c)
            out[:, 0, 1] -= rs * st["E"]
        # inflow through r1, per radian and cm of root
        out[:, -1, :] -= (st["dt"] / (_TWO_PI * self.segs.length_cm))[:, None] * st["inflow"]
        return out / self.c_ref

    def free_residual(self, x: np.ndarray, f: np.ndarray) -> None:
        """The residual without the zero-sink rows: for a zero sink, minus its P row at the root
        node is the (scaled) amount the sink takes in the step — the flux of the Dirichlet
        condition, consistent with the discrete balance."""
        m, n1 = len(self.segs), self.N + 1
        f[:] = self._K @ x
        f *= self._step["dt"][self._row_seg]
        f += self._nodal(x.reshape(m, n1, self.nsp), numpy_abs).ravel()

    def residual(self, x: np.ndarray, f: np.ndarray) -> None:
        self.free_residual(x, f)
        if self.model.zero_sink:
            f[self._root_rows] = x[self._root_rows]

    def jacobian(self, x: np.ndarray, J: PETSc.Mat) -> None:
        m, n1, nsp = len(self.segs), self.N + 1, self.nsp
        jv = self._jvals
        np.multiply(self._kvals, self._step["dt"][self._entry_seg], out=jv)
        U = x.reshape(m, n1, nsp).astype(complex)
        for j in range(nsp):
            U[..., j] += 1j * _COMPLEX_STEP
            column = self._nodal(U, complex_abs).imag / _COMPLEX_STEP     # ∂(nodal_i)/∂u_j
            U[..., j] -= 1j * _COMPLEX_STEP
            for i in range(nsp):
                jv[self._block_pos[..., i, j]] += column[..., i]
        if self.model.zero_sink:
            jv[self._root_entries] = 0.0
            jv[self._root_diag] = 1.0
        J.assemble()   # the values changed in place: mark the matrix as new for the LU

    # -- per-segment amounts (µmol) ---------------------------------------------------------------
    def _integrate(self, density: np.ndarray, sel) -> np.ndarray:
        """∫ density dV over the soil cylinders of segments ``sel`` (lumped rule, as in the
        residual); ``density`` has shape (len(sel), N+1)."""
        return _TWO_PI * self.segs.length_cm[sel] * np.sum(self.w[sel] * density, axis=1)

    def concentrations(self, U: np.ndarray) -> list[np.ndarray]:
        """Concentrations (µmol cm⁻³) per solute from scaled unknowns U (…, N+1, nsp)."""
        return [U[..., i] * self.c_ref[i] for i in range(self.nsp)]

    def contents(self, U: np.ndarray, sel=slice(None)) -> np.ndarray:
        """Amount of each solute (n_species, len(sel)) in segments ``sel`` with state U."""
        return np.array([self._integrate(Ti, sel) for Ti in self.model.total(self.concentrations(U))])

    def mobilised_P(self, U: np.ndarray, sel=slice(None)) -> np.ndarray:
        return self._integrate(self.model.mobilised_P(self.concentrations(U)), sel)

    def rates(self, U: np.ndarray, exudation: np.ndarray, sel) -> np.ndarray:
        """Rates (3, len(sel)) in µmol s⁻¹ at the end of the step just solved (state U of the
        segments ``sel``, all with dt > 0): P uptake, citrate exudation, citrate decomposition."""
        c = self.concentrations(U)
        area = _TWO_PI * self.segs.length_cm[sel] * self.r_surface[sel]
        out = np.zeros((3, len(area)))
        if self.model.zero_sink:
            # the Dirichlet flux: what the free P row at the root node leaves over
            f = np.empty_like(self._x_array)
            self.free_residual(self._x_array, f)
            free = f[self._root_rows][sel]
            out[0] = -_TWO_PI * self.segs.length_cm[sel] * self.c_ref[0] * free / self._step["dt"][sel]
        else:
            out[0] = area * self.model.uptake_flux(c[0][:, 0], numpy_abs)
        if self.model.has_citrate:
            out[1] = area * exudation[sel]
            out[2] = self._integrate(self.model.decomposition(c), sel)
        return out

    # -- time loop ---------------------------------------------------------------------------------
    def run(self, t_end_s: float, output_s: np.ndarray, profile_s: np.ndarray = np.empty(0),
            profile_segments: np.ndarray = np.empty(0, int), exudation_on: bool = True,
            progress: Callable[[int, float], None] | None = None) -> BatchResult:
        """Advance every segment from its start to ``t_end_s``; record the cumulative amounts at
        ``output_s`` and radial profiles of ``profile_segments`` (local indices) at ``profile_s``.
        ``progress(segments_finished, t_s)`` is called after every batch step, t_s the clock of
        the segment furthest behind."""
        t_wall = time.perf_counter()
        newton_t0 = dict(self.newton.timings)
        its0, solves0 = self.newton.iterations, self.newton.solves
        m, nsp, ctl = len(self.segs), self.nsp, self.controller
        exudation = self.segs.exudation_umol_cm2_s * (1.0 if exudation_on else 0.0)

        output_s = np.asarray(output_s, float)
        stops = np.unique(np.concatenate([output_s, np.asarray(profile_s, float), [t_end_s]]))
        stops = stops[stops <= t_end_s]
        start = np.minimum(self.segs.start_s, t_end_s)
        U0 = np.zeros((m, self.N + 1, nsp))
        for i, s in enumerate(self.model.solutes):
            U0[..., i] = s.initial_umol_cm3 / s.c_ref_umol_cm3
        U1, U2 = U0.copy(), U0.copy()
        T0, T1, T2 = start.copy(), start.copy(), start.copy()
        t = start.copy()
        dt_prop = np.full(m, min(self.dt_initial, ctl.dt_max))
        dt_prev = np.full(m, np.inf)
        n_acc = np.zeros(m, dtype=np.int64)
        rejected = np.zeros(m, dtype=np.int64)
        done = t >= t_end_s
        next_stop = np.searchsorted(stops, t, side="right")

        content0 = self.contents(U0)
        cum = np.zeros((3, m))            # uptake P, exuded C, decomposed C
        prev_inc = np.zeros((3, m))
        n_out = len(output_s)
        rec = {"cum": np.zeros((3, m, n_out)), "content": np.repeat(content0[..., None], n_out, axis=2),
               "mobilised": np.zeros((m, n_out))}
        profiles: list[dict] = []

        def record(sel: np.ndarray, U_sel: np.ndarray):
            """Store the state of segments ``sel``, which sit exactly on a stop (an output
            and/or a profile time)."""
            if len(sel) == 0:
                return
            j = np.searchsorted(output_s, t[sel])
            hit = (j < n_out) & (output_s[np.minimum(j, n_out - 1)] == t[sel])
            if np.any(hit):
                k, j = sel[hit], j[hit]
                rec["cum"][:, k, j] = cum[:, k]
                rec["content"][:, k, j] = self.contents(U_sel[hit], k)
                rec["mobilised"][k, j] = self.mobilised_P(U_sel[hit], k)
            for n in np.nonzero(np.isin(sel, profile_segments) & np.isin(t[sel], profile_s))[0]:
                k = sel[n]
                c = self.concentrations(U_sel[n][None])
                profiles.append({"index": int(self.segs.index[k]), "t_s": float(t[k]),
                                 "r_cm": self.r[k].copy(), "c": np.array([ci[0] for ci in c])})

        at_start = np.isin(start, stops)
        record(np.nonzero(at_start)[0], U0[at_start])

        batch_steps = newton_failures = stalled = 0
        ratio_max = 2.2   # variable-step BDF2 is zero-stable for ω < 1 + √2
        while not np.all(done):
            act = ~done
            # -- this step's dt per segment: land on the next stop without slivers ------------
            stop = stops[np.minimum(next_stop, len(stops) - 1)]
            remaining = stop - t
            # (never longer than proposed: a rejected step must come back shorter)
            dt = np.where(remaining <= dt_prop, remaining,
                          np.where(remaining < 2.0 * dt_prop, 0.5 * remaining, dt_prop))
            dt = np.where(n_acc >= 1, np.minimum(dt, ratio_max * dt_prev), dt)
            dt = np.where(act, dt, 0.0)
            order = np.where(act & (n_acc >= 1), 2, 1)
            a0, a1, a2 = bdf_coefficients(dt, np.where(n_acc >= 1, dt_prev, 1.0), order)
            T_n, T_nm1 = self.model.total(self.concentrations(U0)), self.model.total(self.concentrations(U1))
            hist = np.stack([a1[:, None] * T_n[i] + a2[:, None] * T_nm1[i] for i in range(nsp)], axis=-1)
            self.set_step(dt, a0, hist, exudation)
            # predictor (Newton's initial guess): extrapolation through the accepted states
            self._x_array[:] = predictor(t + dt, act, n_acc, (T0, T1, T2), (U0, U1, U2)).ravel()
            batch_steps += 1
            try:
                self.newton.solve(f"batch step {batch_steps}")
            except ConvergenceError as err:
                newton_failures += 1
                dt_prop = np.where(act, dt * ctl.newton_shrink, dt_prop)
                too_small = act & (dt_prop < ctl.dt_min)
                if np.any(too_small):
                    k = int(np.nonzero(too_small)[0][0])
                    raise ConvergenceError(
                        f"segment {int(self.segs.index[k])} at t = {t[k] / 86400:.6g} d: no time step "
                        f"above dt_min = {ctl.dt_min:g} s converges ({err}). Fix: check the "
                        "parameters (e.g. very large Langmuir K or exudation), or lower "
                        "[numerics] dt_min_s / raise cells_per_segment.") from None
                continue
            U = self._x_array.reshape(m, self.N + 1, nsp).copy()

            # -- local error per segment and step-size control ----------------------------------
            err = np.zeros(m)
            p = np.ones(m)
            for sel, est_order in ((act & (n_acc == 1), 1), (act & (n_acc >= 2), 2)):
                if not np.any(sel):
                    continue
                tn = (t + dt)[sel, None, None]
                times = [tn, T0[sel, None, None], T1[sel, None, None], T2[sel, None, None]]
                values = [U[sel], U0[sel], U1[sel], U2[sel]]
                e = bdf_local_error(times, values, est_order)
                err[sel] = ctl.weighted_error(e, U[sel], axes=(1, 2))
                p[sel] = est_order
            accepted, dt_next = ctl.next_step(err, dt, p)
            accepted &= act
            rejected += act & ~accepted
            dt_prop = np.where(act, dt_next, dt_prop)

            acc = np.nonzero(accepted)[0]
            stalled = 0 if len(acc) else stalled + 1
            if stalled > 60:   # every step shrinks by ≥ 5x on rejection: 60 means no progress
                k = int(np.nonzero(act)[0][0])
                raise ConvergenceError(
                    f"time stepping stalled: 60 batch steps without an accepted step (segment "
                    f"{int(self.segs.index[k])} at t = {t[k] / 86400:.6g} d, dt = {dt[k]:.3g} s). Fix: "
                    "relax [numerics] time_rtol/time_atol or lower dt_min_s.")
            if len(acc):
                rates = self.rates(U[acc], exudation, acc)
                for q in range(3):
                    inc = bdf_increment(rates[q], dt[acc], prev_inc[q, acc], a0[acc], a2[acc])
                    cum[q, acc] += inc
                    prev_inc[q, acc] = inc
                U2[acc], U1[acc], U0[acc] = U1[acc], U0[acc], U[acc]
                T2[acc], T1[acc] = T1[acc], T0[acc]
                t[acc] = t[acc] + dt[acc]
                # snap to the stop it was meant to land on (rounding)
                landed = np.isclose(t[acc], stop[acc], rtol=1e-12, atol=1e-6)
                t[acc[landed]] = stop[acc[landed]]
                T0[acc] = t[acc]
                dt_prev[acc] = dt[acc]
                n_acc[acc] += 1
                record(acc[landed], U[acc[landed]])
                next_stop[acc] = np.searchsorted(stops, t[acc] + 1e-6, side="right")
                done[acc] = t[acc] >= t_end_s - 1e-6
            if progress is not None:
                progress(int(done.sum()), float(t[~done].min()) if not np.all(done) else t_end_s)

        final_content = self.contents(U0)
        timings = {k: self.newton.timings[k] - newton_t0[k] for k in self.newton.timings}
        wall = time.perf_counter() - t_wall
        stats = {
            "batch_steps": batch_steps, "newton_iterations": self.newton.iterations - its0,
            "newton_solves": self.newton.solves - solves0, "newton_failures": newton_failures,
            "wall_s": wall, "assembly_s": timings["residual_s"] + timings["jacobian_s"],
            "newton_linear_algebra_s": timings["solve_s"] - timings["residual_s"] - timings["jacobian_s"],
            "python_s": wall - timings["solve_s"], "setup_s": self.setup_s,
            "final_content_umol": final_content,
        }
        return BatchResult(index=self.segs.index.copy(), uptake_P_umol=rec["cum"][0],
                           exuded_C_umol=rec["cum"][1], decomposed_C_umol=rec["cum"][2],
                           content_umol=rec["content"], initial_content_umol=content0,
                           mobilised_P_umol=rec["mobilised"], cells=np.full(m, self.N), steps=n_acc, rejected=rejected,
                           profiles=profiles, stats=stats)


    # -- advancing over an interval with an inflow at r1 (coupled to a soil model) ---------------
    def new_clocks(self, U: np.ndarray, t_s: float) -> Clocks:
        """Clocks without history for the states ``U`` (segments, nodes, solutes) at ``t_s``."""
        m = len(self.segs)
        return Clocks(U0=U.copy(), U1=U.copy(), U2=U.copy(), T0=np.full(m, float(t_s)), T1=np.full(m, float(t_s)),
                      T2=np.full(m, float(t_s)), dt_prop=np.full(m, min(self.dt_initial, self.controller.dt_max)),
                      dt_prev=np.full(m, np.inf), n_acc=np.zeros(m, dtype=np.int64),
                      prev_inc=np.zeros((m, 3 + self.nsp)))

    def advance(self, clocks: Clocks, t_end_s: float, inflow: np.ndarray, exudation: np.ndarray) -> dict:
        """Advance every segment of ``clocks`` (all at the same time) to ``t_end_s`` with a
        constant ``inflow`` (segments, solutes; µmol s⁻¹ through r1) and exudation rates.

        Each segment keeps its own steps (error control as in :meth:`run`), and BDF2 runs on
        across calls. The inflow enters as a known cumulative amount I(t), piecewise linear:
        its BDF2 term is a0 (I_{n+1} − I_n) − a2 (I_n − I_{n−1}) rather than dt·R(t_{n+1}), so
        the step equation stays consistent when R changes between calls, and the amount the
        segment receives over the call is exactly R·(t_end − t) — what the soil model hands
        over. Returns the amounts of the call per segment: ``uptake``, ``exuded``,
        ``decomposed`` (m,), ``inflow`` (m, solutes), and counters."""
        m, nsp, ctl = len(self.segs), self.nsp, self.controller
        c = clocks
        t = c.T0.copy()
        processes = 3 + nsp          # uptake P, exuded C, decomposed C, inflow of each solute
        cum = np.zeros((processes, m))
        done = t >= t_end_s * (1 - 1e-15) - 1e-9
        steps = newton_failures = stalled = 0
        ratio_max = 2.2
        while not np.all(done):
            act = ~done
            remaining = t_end_s - t
            dt = np.where(remaining <= c.dt_prop, remaining,
                          np.where(remaining < 2.0 * c.dt_prop, 0.5 * remaining, c.dt_prop))
            dt = np.where(c.n_acc >= 1, np.minimum(dt, ratio_max * c.dt_prev), dt)
            dt = np.where(act, dt, 0.0)
            order = np.where(act & (c.n_acc >= 1), 2, 1)
            a0, a1, a2 = bdf_coefficients(dt, np.where(order == 2, c.dt_prev, 1.0), order)
            T_n = self.model.total(self.concentrations(c.U0))
            T_nm1 = self.model.total(self.concentrations(c.U1))
            hist = np.stack([a1[:, None] * T_n[i] + a2[:, None] * T_nm1[i] for i in range(nsp)], axis=-1)
            inflow_inc = dt[:, None] * inflow
            with np.errstate(divide="ignore", invalid="ignore"):
                effective = np.where(act[:, None] & (dt[:, None] > 0),
                                     (a0[:, None] * inflow_inc - a2[:, None] * c.prev_inc[:, 3:]) / dt[:, None], 0.0)
            self.set_step(dt, a0, hist, exudation, effective)
            self._x_array[:] = predictor(t + dt, act, c.n_acc, (c.T0, c.T1, c.T2), (c.U0, c.U1, c.U2)).ravel()
            steps += 1
            try:
                self.newton.solve(f"coupled step {steps}")
            except ConvergenceError as err:
                newton_failures += 1
                c.dt_prop = np.where(act, dt * ctl.newton_shrink, c.dt_prop)
                if np.any(act & (c.dt_prop < ctl.dt_min)):
                    k = int(np.nonzero(act & (c.dt_prop < ctl.dt_min))[0][0])
                    raise ConvergenceError(
                        f"segment {int(self.segs.index[k])} at t = {t[k] / 86400:.6g} d: no time step above "
                        f"dt_min = {ctl.dt_min:g} s converges ({err}). Fix: check the parameters, or a "
                        "smaller [macro] dt_h.") from None
                continue
            U = self._x_array.reshape(m, self.N + 1, nsp).copy()
            err = np.zeros(m)
            p = np.ones(m)
            for sel, est_order in ((act & (c.n_acc == 1), 1), (act & (c.n_acc >= 2), 2)):
                if not np.any(sel):
                    continue
                times = [(t + dt)[sel, None, None], c.T0[sel, None, None], c.T1[sel, None, None],
                         c.T2[sel, None, None]]
                values = [U[sel], c.U0[sel], c.U1[sel], c.U2[sel]]
                err[sel] = ctl.weighted_error(bdf_local_error(times, values, est_order), U[sel], axes=(1, 2))
                p[sel] = est_order
            accepted, dt_next = ctl.next_step(err, dt, p)
            accepted &= act
            c.dt_prop = np.where(act, dt_next, c.dt_prop)
            acc = np.nonzero(accepted)[0]
            stalled = 0 if len(acc) else stalled + 1
            if stalled > 60:
                raise ConvergenceError("coupled radial models: 60 steps without an accepted step. Fix: relax "
                                       "[numerics] time_rtol/time_atol or use a smaller [macro] dt_h.")
            if len(acc):
                rates = self.rates(U[acc], exudation, acc)
                for q in range(3):
                    inc = bdf_increment(rates[q], dt[acc], c.prev_inc[acc, q], a0[acc], a2[acc])
                    cum[q, acc] += inc
                    c.prev_inc[acc, q] = inc
                cum[3:, acc] += inflow_inc[acc].T
                c.prev_inc[acc, 3:] = inflow_inc[acc]
                c.U2[acc], c.U1[acc], c.U0[acc] = c.U1[acc], c.U0[acc], U[acc]
                c.T2[acc], c.T1[acc] = c.T1[acc], c.T0[acc]
                t[acc] = t[acc] + dt[acc]
                landed = np.isclose(t[acc], t_end_s, rtol=1e-12, atol=1e-6)
                t[acc[landed]] = t_end_s
                c.T0[acc] = t[acc]
                c.dt_prev[acc] = dt[acc]
                c.n_acc[acc] += 1
                done[acc] = landed
        return {"uptake": cum[0], "exuded": cum[1], "decomposed": cum[2], "inflow": cum[3:].T.copy(),
                "batch_steps": steps, "newton_failures": newton_failures}


@dataclass
class Clocks:
    """The time-stepping state of a batch's segments between calls of :meth:`RadialBatch.advance`:
    the last three accepted states and times, the proposed and previous steps, how many steps
    have been accepted since the history began (the predictor and the error estimate use up to
    3 and 4 of them), and the last step's increments of every process."""

    U0: np.ndarray
    U1: np.ndarray
    U2: np.ndarray
    T0: np.ndarray
    T1: np.ndarray
    T2: np.ndarray
    dt_prop: np.ndarray
    dt_prev: np.ndarray
    n_acc: np.ndarray
    prev_inc: np.ndarray       # (segments, processes): the last step's increments (BDF2 bookkeeping)

    def take(self, sel) -> Clocks:
        return Clocks(*(getattr(self, f)[sel].copy() for f in self.__dataclass_fields__))


def predictor(t_new: np.ndarray, active: np.ndarray, n_acc: np.ndarray, times, states) -> np.ndarray:
    """Newton's initial guess per segment: extrapolation through the last accepted states
    (quadratic with 3 of them, linear with 2, the last state otherwise)."""
    guess = states[0].copy()
    t_new = t_new[:, None, None]
    for sel, k in ((active & (n_acc >= 2), 3), (active & (n_acc == 1), 2)):
        if np.any(sel):
            guess[sel] = extrapolate(t_new[sel], [T[sel, None, None] for T in times[:k]],
                                     [U[sel] for U in states[:k]])
    return guess


def radial_operators(radii: np.ndarray, D: list[float], profile=None):
    """The constant operators of P1 in r with the vertex quadrature rule, in closed form.

    For segments with node radii ``radii`` (m, N+1) and solutes with effective diffusion
    coefficients ``D``: the lumped weights w_j = ∫ φ_j r dr = Σ_cells h/2 · r_j (m, N+1), the
    root-surface weight r0 (m,), and the stiffness Σ_i D_i ∫ φ'_j φ'_k r dr as a sparse matrix
    in the layout (segments, nodes, solutes): each cell [r_a, r_b] adds D_i (r_a + r_b)/(2h) ·
    [[1, −1], [−1, 1]] (the vertex rule is exact here: a constant gradient times a linear r).
    ``tests/test_uptake.py`` checks them against DOLFINx's assembly of the UFL form.

    With a radial ``profile`` (:class:`rhizofem.links.diffusion.RadialProfile`, D(r) in layers
    from the root surface) each cell's D_i is multiplied by the profile's cell factor: the
    layers' series conductance over the cell (exactly 1 for a uniform soil)."""
    m, n1 = radii.shape
    nsp = len(D)
    h = np.diff(radii, axis=1)
    w = np.zeros((m, n1))
    w[:, :-1] += 0.5 * h * radii[:, :-1]
    w[:, 1:] += 0.5 * h * radii[:, 1:]
    k = 0.5 * (radii[:, :-1] + radii[:, 1:]) / h                      # (m, N)
    if profile is not None:
        k = k * profile.cell_factors(radii)
    node = np.arange(m)[:, None] * n1 + np.arange(n1 - 1)[None, :]     # left node of each cell
    rows, cols, vals = [], [], []
    for i, Di in enumerate(D):
        a, b = (node * nsp + i).ravel(), ((node + 1) * nsp + i).ravel()
        kk = (Di * k).ravel()
        rows += [a, b, a, b]
        cols += [a, b, b, a]
        vals += [kk, kk, -kk, -kk]
    n = m * n1 * nsp
    K = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return w, radii[:, 0].copy(), K


class UFLForm:
    """A batch's discretisation as a DOLFINx mesh of disjoint intervals and a UFL form.

    Segment k is the interval [X_k + r0_k, X_k + r1_k] of a 1D mesh (X_k an offset that keeps
    the intervals apart); the radius is r = x − X_k with X a cell-wise (DG0) field, so one form
    serves every segment."""

    def __init__(self, batch: RadialBatch):
        import basix.ufl
        import ufl
        from dolfinx import fem
        from dolfinx import mesh as dmesh

        self.batch = batch
        segs, m, cells, nsp = batch.segs, len(batch.segs), batch.N, batch.nsp
        offsets = np.concatenate([[0.0], np.cumsum(segs.r1_cm + 1.0)[:-1]])
        x = (offsets[:, None] + batch.r).reshape(-1, 1)
        base = np.arange(cells)
        local = np.stack([base, base + 1], axis=1)
        topology = (np.arange(m)[:, None, None] * (cells + 1) + local[None]).reshape(-1, 2)
        coord_el = basix.ufl.element("Lagrange", "interval", 1, shape=(1,))
        msh = dmesh.create_mesh(MPI.COMM_SELF, topology.astype(np.int64), ufl.Mesh(coord_el), x)
        self.mesh = msh
        cell_seg = np.asarray(msh.topology.original_cell_index, dtype=np.int64) // cells
        # cell-wise (DG0) data per segment, one vector-valued function: X, dt, a0, E, inflow
        W0 = fem.functionspace(msh, ("DG", 0, (4 + nsp,)))
        self._cell_dof, self._cell_seg, self._ncw = W0.dofmap.list[:, 0], cell_seg, 4 + nsp
        self.cellwise = fem.Function(W0, name="segment_data")
        self._set_cellwise(_X, offsets)
        # D(r)/D_bulk per cell (a radial profile of the soil's diffusivity; 1 for a uniform soil)
        self.D_factor = fem.Function(fem.functionspace(msh, ("DG", 0)), name="D_factor")
        if batch.model.radial_profile is not None:
            factors = batch.model.radial_profile.cell_factors(batch.r).ravel()
            original = np.asarray(msh.topology.original_cell_index, dtype=np.int64)
            self.D_factor.x.array[self.D_factor.function_space.dofmap.list[:, 0]] = factors[original]
        else:
            self.D_factor.x.array[:] = 1.0
        V = fem.functionspace(msh, ("Lagrange", 1, (nsp,)))
        self.V = V
        node_x = V.tabulate_dof_coordinates()[:, 0]
        node_seg = np.empty(len(node_x), dtype=np.int64)
        node_seg[V.dofmap.list.ravel()] = np.repeat(cell_seg, 2)
        node_r = node_x - offsets[node_seg]
        order = np.lexsort((node_r, node_seg))
        self.dof_order = (order[:, None] * nsp + np.arange(nsp)).ravel()  # layout dof -> DOLFINx dof
        # end facets: root surface (r = r0) and outer boundary (r = r1)
        msh.topology.create_connectivity(0, 1)
        bfacets = dmesh.exterior_facet_indices(msh.topology)
        f2c = msh.topology.connectivity(0, 1)
        fcell = f2c.array[f2c.offsets[bfacets]]
        fx = msh.geometry.x[dmesh.entities_to_geometry(msh, 0, bfacets)[:, 0], 0]
        fseg = cell_seg[fcell]
        is_root = np.abs(fx - offsets[fseg] - segs.r0_cm[fseg]) < 1e-9 * (1.0 + segs.r1_cm[fseg])
        tags = np.where(is_root, ROOT_SURFACE, OUTER_BOUNDARY).astype(np.int32)
        sort = np.argsort(bfacets)
        self.tags = dmesh.meshtags(msh, 0, bfacets[sort].astype(np.int32), tags[sort])
        self.set_step(batch._step)

    def _set_cellwise(self, component: int, values: np.ndarray) -> None:
        self.cellwise.x.array[self._ncw * self._cell_dof + component] = values[self._cell_seg]

    def set_step(self, step: dict) -> None:
        self._set_cellwise(_DT, step["dt"])
        self._set_cellwise(_A0, step["a0"])
        self._set_cellwise(_E, step["E"])
        for i in range(self.batch.nsp):
            self._set_cellwise(_E + 1 + i, step["inflow"][:, i] / (_TWO_PI * self.batch.segs.length_cm))

    def radius(self):
        """r = x − X_segment as a UFL expression."""
        import ufl

        return ufl.SpatialCoordinate(self.mesh)[0] - self.cellwise[_X]

    def measures(self):
        import ufl

        # One quadrature rule for every cell integral. It must be the only one: FFCx 0.11 mixes
        # up a vertex rule and a default degree-1 rule in the same form (the storage term was
        # then integrated with the wrong rule and the mass balance failed by a few percent).
        dx = ufl.Measure("dx", domain=self.mesh, metadata={"quadrature_rule": "vertex",
                                                            "quadrature_degree": 1})
        ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.tags)
        return dx, ds

    def residual(self, u, history):
        """The full nonlinear residual as a UFL form (the statement of the discretisation; the
        solver evaluates the same thing node-wise, see the module docstring). ``u`` holds the
        scaled unknowns, ``history`` the nodal a1 T(c_n) + a2 T(c_{n−1}); dt, a0, E and the
        inflow are taken from the step data (:meth:`RadialBatch.set_step`)."""
        import ufl

        model = self.batch.model
        v = ufl.TestFunction(self.V)
        r = self.radius()
        dx, ds = self.measures()
        dt, a0, E = self.cellwise[_DT], self.cellwise[_A0], self.cellwise[_E]
        c = [float(s.c_ref_umol_cm3) * u[i] for i, s in enumerate(model.solutes)]
        T = model.total(c)
        F = 0
        for i, s in enumerate(model.solutes):
            scale = 1.0 / s.c_ref_umol_cm3   # rows in units of the scaled unknown
            F += scale * (a0 * T[i] + history[i]) * v[i] * r * dx
            F += scale * dt * s.D_eff_cm2_s * self.D_factor * ufl.grad(c[i])[0] * ufl.grad(v[i])[0] * r * dx
            F -= scale * dt * self.cellwise[_E + 1 + i] * v[i] * ds(OUTER_BOUNDARY)
        sP = 1.0 / model.solutes[0].c_ref_umol_cm3
        if not model.zero_sink:   # (a zero sink is the Dirichlet row c_P(r0) = 0 of the solver)
            F += sP * dt * r * model.uptake_flux(c[0], abs) * v[0] * ds(ROOT_SURFACE)
        if model.has_citrate:
            sC = 1.0 / model.solutes[1].c_ref_umol_cm3
            F += sC * dt * model.decomposition(c) * v[1] * r * dx
            F -= sC * dt * r * E * v[1] * ds(ROOT_SURFACE)
        return F

    def to_dolfinx(self, layout: np.ndarray, out: np.ndarray) -> None:
        """Copy a layout array (segments, nodes, solutes) into a DOLFINx dof array."""
        out[self.dof_order] = np.asarray(layout).ravel()

    def from_dolfinx(self, values: np.ndarray) -> np.ndarray:
        """A DOLFINx dof array (or PETSc vector array) in the layout (segments, nodes, solutes)."""
        b = self.batch
        return np.asarray(values)[self.dof_order].reshape(len(b.segs), b.N + 1, b.nsp)
