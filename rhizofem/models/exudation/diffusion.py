"""Transient diffusion with a Dirichlet inlet: assembled once, stepped in stages, flux by reaction.

The problem, in the soil phase Ω (lengths in mm, c in µg/mm³, time in s):

    ∂c/∂t = ∇·(D ∇c) in Ω,   c = c_in on Γ_D (inlet),   D ∇c·ν = 0 elsewhere,   c(0) = 0.

**Space**: Lagrange P1 or P2; M = (u, v) and K = (D ∇u, ∇v) are assembled once, *without*
boundary conditions (D may differ per volume group: a DG0 coefficient).

**Time**: variable-step BDF2 (:func:`rhizofem.fem.timestepping.bdf_coefficients`) after one
backward-Euler step, or backward Euler throughout. Divided by a0, a step reads

    (M + θ K) u_{n+1} = M w,   θ = dt/a0,   w = −(a1 u_n + a2 u_{n−1})/a0,

with c = c_in imposed on the inlet DOFs by zeroing their rows and columns (identity on the
diagonal) and moving the known column into the right-hand side ("lifting"). The steps come in
*stages* of equal size (:func:`step_sizes`): every stage reuses one operator M + θK and its
preconditioner (CG + GAMG by default); a stage's first step has a different a0 (step ratio
ω ≠ 1), so it gets its own operator (a cheap axpy) but keeps the stage's preconditioner.

**Inlet flux, residual-consistent**: the reaction at the inlet DOFs of the *unconstrained*
system, R = (M (a0 u_{n+1} + a1 u_n + a2 u_{n−1})/dt + K u_{n+1}) restricted to Γ_D, summed.
Summed over *all* DOFs this is the BDF derivative of the mass 1ᵀM u (K annihilates
constants), and the free rows are zero up to the solver's residual, so the cumulative inlet
flux (accumulated with :func:`~rhizofem.fem.timestepping.bdf_increment`, the same recursion
as the scheme) equals M(t) = ∫ c dx to solver tolerance: a conservation check that tests the
solver, the lifting and the bookkeeping together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from rhizofem.errors import ConfigError, InputError
from rhizofem.fem.solvers import create_ksp, solve
from rhizofem.models.exudation.config import EXUDATION_SOLVER
from rhizofem.fem.timestepping import bdf_coefficients, bdf_increment, bdf_local_error
from rhizofem.meshing.tags import INLET_GROUPS
from rhizofem.meshing.to_dolfinx import TaggedMesh
from rhizofem.output.progress import progress

__all__ = ["AdaptiveSteps", "History", "goal_weight", "Operators", "assemble_operators", "diffusivity_by_cell", "inlet_facets",
           "simulate", "step_sizes"]

CM2_TO_MM2 = 100.0
UG_CM3_TO_UG_MM3 = 1e-3


def step_sizes(t_end: float, dt_first: float, steps_per_stage: int, growth: float, dt_max: float,
               land_at: Sequence[float] = ()) -> np.ndarray:
    """Time steps: stages of ``steps_per_stage`` equal steps, each stage ``growth`` times the last.

    The step never exceeds ``dt_max``; a stage that would pass one of the times ``land_at``
    (or ``t_end``) is cut into equal steps that end on it exactly (no step larger than the
    stage's). Returns the step sizes; their cumulative sum ends at ``t_end``.
    """
    marks = sorted({float(t) for t in land_at if 0 < t < t_end} | {float(t_end)})
    dts: list[float] = []
    t, dt = 0.0, min(dt_first, dt_max)
    for mark in marks:
        while t < mark * (1 - 1e-12):
            remaining = mark - t
            if steps_per_stage * dt >= remaining * (1 - 1e-12):
                m = max(1, int(np.ceil(remaining / dt - 1e-9)))
                dts += [remaining / m] * m
                t = mark
                if m == steps_per_stage:  # a whole stage: the next one grows
                    dt = min(dt * growth, dt_max)
                break
            dts += [dt] * steps_per_stage
            t += steps_per_stage * dt
            dt = min(dt * growth, dt_max)
    return np.asarray(dts)


def inlet_facets(tm: TaggedMesh, inlet: Sequence[str]) -> np.ndarray:
    """Local facet indices of the inlet groups ("root", "hair" or facet group names).

    Raises :class:`InputError` on every rank if a group is unknown or holds no facet.
    """
    comm = tm.mesh.comm
    fdim = tm.mesh.topology.dim - 1
    found = []
    for item in inlet:
        name = INLET_GROUPS.get(item, item)
        if name not in tm.names or tm.names[name][0] != fdim:
            groups = ", ".join(n for n, (d, _) in tm.names.items() if d == fdim)
            raise InputError(f"inlet '{item}': the mesh has no facet group '{name}' (facet groups: {groups}). "
                             "Fix: name the group in the mesh or leave it out of [inlet] tags.")
        facets = tm.facet_tags.find(tm.names[name][1])
        if comm.allreduce(len(facets), op=MPI.SUM) == 0:
            raise InputError(f"inlet '{item}': the facet group '{name}' is empty (no {item}-soil contact "
                             "in this mesh). Fix: leave it out of [inlet] tags, or check the image labels.")
        found.append(facets)
    return np.unique(np.concatenate(found)).astype(np.int32)


def diffusivity_by_cell(tm: TaggedMesh, D_default: float, D_by_tag: Mapping[str, float]) -> dolfinx.fem.Function:
    """A DG0 diffusivity: ``D_default`` everywhere, ``D_by_tag[key]`` on the cells of a volume group.

    ``key`` is a group name ("soil") or its number as a string ("1").
    """
    msh = tm.mesh
    tdim = msh.topology.dim
    Q = dolfinx.fem.functionspace(msh, ("DG", 0))
    D = dolfinx.fem.Function(Q, name="D")
    D.x.array[:] = D_default
    volume_groups = {n: v for n, (d, v) in tm.names.items() if d == tdim}
    for key, value in D_by_tag.items():
        if value <= 0 or not np.isfinite(value):
            raise ConfigError(f"D_by_tag '{key}' = {value}: a diffusion coefficient must be > 0. "
                              "Fix: give a positive value (a phase without diffusion is not meshed).")
        if key in volume_groups:
            tag = volume_groups[key]
        else:
            try:
                tag = int(key)
            except ValueError:
                tag = None
            if tag is None or tag not in volume_groups.values():
                listed = ", ".join(f"{n} ({v})" for n, v in volume_groups.items())
                raise ConfigError(f"D_by_tag: '{key}' is no volume group of the mesh (groups: {listed}). "
                                  "Fix: key by a group name or number.")
        cells = tm.cell_tags.find(tag)
        D.x.array[cells] = value  # DG0: one DOF per cell, cell index = DOF index
    D.x.scatter_forward()
    return D


@dataclass
class Operators:
    """The unconstrained M and K, the inlet DOFs and what the steps need from them."""

    V: dolfinx.fem.FunctionSpace
    M: PETSc.Mat
    K: PETSc.Mat
    inlet_owned: np.ndarray  # owned inlet DOFs (local indices of the owned block)
    inlet_rows: np.ndarray  # the same as global row numbers
    g: PETSc.Vec  # c_in on the inlet DOFs, 0 elsewhere
    Mg: PETSc.Vec
    Kg: PETSc.Vec
    mass_weights: PETSc.Vec  # M·1: ∫ u dx = mass_weights·u
    dofs: int
    inlet_dofs: int
    assembly_s: float
    D_min: float  # the smallest diffusion coefficient (mm²/s)

    def destroy(self):
        for obj in (self.M, self.K, self.g, self.Mg, self.Kg, self.mass_weights):
            obj.destroy()


def assemble_operators(tm: TaggedMesh, degree: int, D: dolfinx.fem.Function, facets: np.ndarray,
                       c_in: float) -> Operators:
    """Assemble M and K (no boundary conditions) and locate the inlet DOFs."""
    t0 = time.perf_counter()
    msh = tm.mesh
    tdim = msh.topology.dim
    V = dolfinx.fem.functionspace(msh, ("Lagrange", degree))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    M = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(u * v * ufl.dx))
    M.assemble()
    K = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(ufl.inner(D * ufl.grad(u), ufl.grad(v)) * ufl.dx))
    K.assemble()
    msh.topology.create_connectivity(tdim - 1, tdim)
    dofs = dolfinx.fem.locate_dofs_topological(V, tdim - 1, facets)
    n_owned = V.dofmap.index_map.size_local
    owned = np.sort(dofs[dofs < n_owned]).astype(np.int32)
    rows = (owned + V.dofmap.index_map.local_range[0]).astype(PETSc.IntType)
    g = M.createVecRight()
    g.array[owned] = c_in
    Mg, Kg, ones, mw = M.createVecLeft(), K.createVecLeft(), M.createVecRight(), M.createVecLeft()
    M.mult(g, Mg)
    K.mult(g, Kg)
    ones.set(1.0)
    M.mult(ones, mw)
    ones.destroy()
    comm = msh.comm
    D_min = comm.allreduce(float(D.x.array.min()) if len(D.x.array) else np.inf, op=MPI.MIN)
    return Operators(V, M, K, owned, rows, g, Mg, Kg, mw, V.dofmap.index_map.size_global,
                     comm.allreduce(len(owned), op=MPI.SUM), time.perf_counter() - t0, D_min)


def goal_weight(ops: Operators, goals: Sequence[float]) -> Callable[[float], np.ndarray]:
    """z(x, t): how much of a local error at x and time t is still in the mass at the next goal time.

    The exact weight is the solution of the adjoint (backward) diffusion problem for the mass at
    the goal time T: z(T) = 1, z = 0 on the inlet (its values are given), no flux elsewhere. It is
    approximated by the half-space solution z = erf(d / (2 √(D (T − t)))), d the distance from the
    nearest inlet DOF and D the smallest diffusion coefficient (the larger, conservative z): an
    error made near the inlet long before T drains out through the inlet and hardly reaches M(T),
    one made just before T stays in it. Returns ``z(t)`` for the owned DOFs.
    """
    from scipy.special import erf
    from scipy.spatial import cKDTree

    V = ops.V
    n_owned = V.dofmap.index_map.size_local
    X = V.tabulate_dof_coordinates()[:n_owned]
    inlet = np.concatenate(V.mesh.comm.allgather(X[ops.inlet_owned]))
    # sliding-midpoint tree: faster for points on a surface queried from afar (profile.py)
    if len(inlet):
        d = cKDTree(inlet, balanced_tree=False, compact_nodes=False).query(X)[0]
    else:
        d = np.full(n_owned, np.inf)
    goals = sorted(float(g) for g in goals)

    def z(t: float) -> np.ndarray:
        T = next((g for g in goals if g >= t * (1 - 1e-12)), goals[-1])
        return erf(d / (2.0 * np.sqrt(ops.D_min * max(T - t, 1e-12 * T))))

    return z


@dataclass(frozen=True)
class AdaptiveSteps:
    """Steps chosen on the way by a local error estimate (see :func:`simulate`).

    Attributes:
        t_end: the end time (s).
        rtol: the tolerance on the time-discretisation error of the mass, relative to M(t).
        dt_first: the first step (s); the next steps grow by ``max_growth`` until the error
            estimate is available (from the fourth step on).
        dt_max: the largest step (s).
        land_at: times the steps land on exactly (output times).
        max_growth: the largest step ratio (variable-step BDF2 is zero-stable below 1 + √2).
        safety: the controller's safety factor.
    """

    t_end: float
    rtol: float = 1e-3
    dt_first: float = 0.05
    dt_max: float = np.inf
    land_at: tuple[float, ...] = ()
    max_growth: float = 2.0
    safety: float = 0.8


@dataclass
class History:
    """What :func:`simulate` records at every time level (t = 0 first)."""

    times_s: list[float] = field(default_factory=lambda: [0.0])
    mass_ug: list[float] = field(default_factory=lambda: [0.0])
    inlet_flux_mass_ug: list[float] = field(default_factory=lambda: [0.0])  # cumulative
    inlet_flux_ug_s: list[float] = field(default_factory=lambda: [0.0])  # mean over the step
    local_error_ug: list[float] = field(default_factory=lambda: [0.0])  # |∫ z e dx| of the step (µg)
    iterations: list[int] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    rejected: int = 0
    operators_built: int = 0
    preconditioners_built: int = 0
    timings_s: dict = field(default_factory=lambda: {"operators": 0.0, "preconditioner_setup": 0.0,
                                                       "solves": 0.0, "flux_and_error": 0.0})

    @property
    def conservation_error_rel(self) -> float:
        """Solver check: |M(T) − cumulative inlet flux| / M(T) (see the module docstring)."""
        m = self.mass_ug[-1]
        return abs(m - self.inlet_flux_mass_ug[-1]) / m if m else 0.0

    @property
    def time_error_estimate_ug(self) -> float:
        """Sum of the steps' estimated local errors of the mass, each weighted by how much of it
        reaches the goal time (:func:`goal_weight`): an estimate of the time-discretisation error
        of M at the goal (measured 1.0–1.5 × the true error); the first steps have no estimate."""
        return float(np.sum(self.local_error_ug))

    @property
    def setup_s(self) -> float:
        return self.timings_s["operators"] + self.timings_s["preconditioner_setup"]

    @property
    def solve_s(self) -> float:
        return self.timings_s["solves"]


def _operator(ops: Operators, theta: float, out: PETSc.Mat | None = None) -> PETSc.Mat:
    """M + θK with the inlet rows and columns replaced by the identity (into ``out`` if given)."""
    if out is None:
        A = ops.M.duplicate(copy=True)
    else:
        A = out
        ops.M.copy(A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
    A.axpy(theta, ops.K, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
    A.zeroRowsColumns(ops.inlet_rows, diag=1.0)
    return A


class _Stepper:
    """The linear solver of the steps: an operator M + θK per step size, and a preconditioner
    rebuilt only when θ has moved by more than ``pc_ratio`` from the θ it was built for."""

    def __init__(self, ops: Operators, options: Mapping, hist: History, pc_ratio: float,
                 interpolation_ratio: float | None = None):
        self.ops, self.options, self.hist, self.pc_ratio = ops, dict(options), hist, pc_ratio
        self.direct = self.options.get("ksp_type") == "preonly"
        # GAMG: refill the preconditioner's matrix and keep its interpolation while θ stays within
        # interpolation_ratio of the θ the interpolation was built for (only the coarse operators
        # are recomputed); a new hierarchy beyond
        self.interpolation_ratio = None if self.direct else interpolation_ratio
        if self.interpolation_ratio is not None:
            self.options["pc_gamg_reuse_interpolation"] = True
        self.ksp = None
        self.A = self.P = None
        self.theta_A = self.theta_P = self.theta_interpolation = None

    def operators_for(self, theta: float) -> None:
        ops, hist = self.ops, self.hist
        if self.direct or self.P is None or not (1 / self.pc_ratio <= theta / self.theta_P <= self.pc_ratio):
            if theta == self.theta_P:
                return
            # a direct solve is exact only with its own operator's factors
            ts = time.perf_counter()
            if self.A is not None and self.A is not self.P:
                self.A.destroy()
            refill = (self.interpolation_ratio is not None and self.P is not None
                      and 1 / self.interpolation_ratio <= theta / self.theta_interpolation <= self.interpolation_ratio)
            if refill:
                _operator(ops, theta, self.P)
            else:
                if self.P is not None:
                    self.P.destroy()
                self.P = _operator(ops, theta)
            self.A, self.theta_A, self.theta_P = self.P, theta, theta
            hist.operators_built += 1
            hist.timings_s["operators"] += time.perf_counter() - ts
            ts = time.perf_counter()
            if self.ksp is None:
                self.ksp = create_ksp(self.P, self.options, name="exudation")
            elif not refill:
                self.ksp.getPC().reset()  # a new hierarchy, interpolation included
            if not refill:
                self.theta_interpolation = theta
            self.ksp.getPC().setReusePreconditioner(False)
            self.ksp.setOperators(self.P, self.P)
            self.ksp.setUp()
            self.ksp.getPC().setReusePreconditioner(True)
            hist.preconditioners_built += 1
            hist.timings_s["preconditioner_setup"] += time.perf_counter() - ts
            return
        if theta != self.theta_A:
            ts = time.perf_counter()
            if theta == self.theta_P:
                if self.A is not self.P:
                    self.A.destroy()
                self.A = self.P
            else:
                # an operator of its own (a copy and an axpy), the preconditioner of θ_P kept: CG
                # still solves this operator, with at most max(θ/θ_P, θ_P/θ) times its condition number
                self.A = _operator(self.ops, theta, None if self.A is self.P else self.A)
                hist.operators_built += 1
            self.theta_A = theta
            self.ksp.setOperators(self.A, self.P)
            hist.timings_s["operators"] += time.perf_counter() - ts

    def destroy(self):
        for obj in {id(o): o for o in (self.A, self.P) if o is not None}.values():
            obj.destroy()
        if self.ksp is not None:
            self.ksp.destroy()


def _landing(t: float, dt: float, marks: list[float]) -> float:
    """The step from t: ``dt``, cut to land on the next mark without leaving a sliver."""
    mark = next(m for m in marks if m > t * (1 + 1e-12))
    remaining = mark - t
    if dt >= remaining * (1 - 1e-9):
        return remaining
    if dt > 0.6 * remaining:  # two steps of half the rest rather than a full one and a sliver
        return 0.5 * remaining
    return dt


def simulate(ops: Operators, steps: np.ndarray | Sequence[float] | AdaptiveSteps, *, scheme: str = "bdf2",
             petsc_options: Mapping | None = None, c_in: float | Callable[[float], float],
             on_time: Callable[[float, dolfinx.fem.Function], None] | None = None,
             desc: str = "diffusion", pc_ratio: float = 4.0, interpolation_ratio: float | None = 16.0,
             goal: Callable[[float], np.ndarray] | None = None) -> tuple[dolfinx.fem.Function, History]:
    """Step from c = 0; returns c at the end and the history.

    ``steps``: the step sizes (a fixed sequence, e.g. :func:`step_sizes`), or
    :class:`AdaptiveSteps` (sizes chosen by the error estimate). ``on_time(t, c)`` is called
    after every accepted step (e.g. to write fields at output times).

    Local error estimate (every step from the fourth on, no extra solve): the BDF2 error
    constant times dt³ times the third derivative of c from the third divided difference of the
    last four solutions (:func:`~rhizofem.fem.timestepping.bdf_local_error`; backward Euler:
    dt² times the second divided difference), weighted by ``goal`` (default
    :func:`goal_weight` for the output times, or t_end) and integrated: η = |∫ z e dx|, the part
    of the step's error that reaches the mass at the goal. With :class:`AdaptiveSteps` a step
    is accepted when η ≤ rtol · M(t_{n+1}) · dt/(2 t_{n+1}) (error per unit step: with M growing
    like √t the errors of all steps add up to about rtol · M), and the next step is dt · clip(safety · (η/allowed)^(-1/p),
    0.2, max_growth), p the order. Steps land on the output times.
    """
    V = ops.V
    comm = V.mesh.comm
    options = dict(EXUDATION_SOLVER if petsc_options is None else petsc_options)
    options.setdefault("ksp_rtol", 1e-10)  # library default; runs tie it to the time tolerance
    adaptive = isinstance(steps, AdaptiveSteps)
    # a c_in(t) that jumps (e.g. a table, rhizofem.links.tables) names its jump times in
    # ``c_in.jumps_s``: the steps land on them and restart there as at t = 0 (below)
    jumps = sorted(float(t) for t in getattr(c_in, "jumps_s", ()))
    if adaptive:
        t_end = float(steps.t_end)
        marks = sorted({float(t) for t in (*steps.land_at, *jumps) if 0 < t < t_end} | {t_end})
        dt_proposed = min(steps.dt_first, steps.dt_max, t_end)
        total = _expected_steps(steps)
    else:
        dts = np.asarray(steps, dtype=float)
        t_end, total = float(np.sum(dts)), len(dts)
    order_max = 1 if scheme == "euler" else 2
    u_new = dolfinx.fem.Function(V, name="c")
    x = u_new.x.petsc_vec
    past = [x.duplicate() for _ in range(3)]  # the last three solutions, newest first; c(0) = 0
    for v in past:
        v.zeroEntries()
    past_t = [0.0]
    w, b, lift, r = x.duplicate(), x.duplicate(), x.duplicate(), x.duplicate()
    hist = History()
    stepper = _Stepper(ops, options, hist, pc_ratio, interpolation_ratio)
    if goal is None:
        goal = goal_weight(ops, marks if adaptive else [t_end])
    free = np.ones(len(ops.mass_weights.array), dtype=bool)
    free[ops.inlet_owned] = False
    weights_free = ops.mass_weights.array[free]  # ∫ z e dx ≈ Σ (M·1)_i z_i e_i
    # c_in may vary in time, a callable t -> c_in(t) (µg/mm³): a step's inlet values are c_in at its
    # end, the assembled inlet vector g scaled by c_in(t)/c_g, c_g the value g was assembled with
    c_g = comm.allreduce(float(np.max(ops.g.array[ops.inlet_owned], initial=0.0)), op=MPI.MAX)

    def inlet_scale(t_next: float) -> float:
        return float(c_in(t_next)) / c_g if callable(c_in) else 1.0

    # k: steps since the start or since the last jump of c_in. A jump of the inlet value is a new
    # start (c jumps at the inlet): one backward-Euler step, no error estimate on a stencil
    # through it and, adaptive, dt_first again.
    t, dt_prev, prev_increment, n, k = 0.0, 0.0, 0.0, 0, 0
    bar = progress(total=total, desc=desc, unit="step", comm=comm)
    try:
        while t < t_end * (1 - 1e-12):
            dt = _landing(t, dt_proposed, marks) if adaptive else float(dts[n])
            order = 1 if (k == 0 or order_max == 1) else 2
            a0, a1, a2 = (float(c) for c in bdf_coefficients(dt, dt_prev if k else dt, order))
            theta = dt / a0
            stepper.operators_for(theta)
            ts = time.perf_counter()
            # right-hand side: M w minus the inlet columns of M + θK times c_in; c_in on the inlet
            u_n, u_nm1 = past[0], past[1]
            w.zeroEntries()
            w.axpy(-a1 / a0, u_n)
            if a2:
                w.axpy(-a2 / a0, u_nm1)
            ops.M.mult(w, b)
            lift.waxpy(theta, ops.Kg, ops.Mg)
            scale = inlet_scale(t + dt)
            b.axpy(-scale, lift)
            b.array[ops.inlet_owned] = scale * ops.g.array[ops.inlet_owned]  # the inlet values (c_in)
            # initial guess: extrapolated in time
            x.waxpy(0.0, u_n, u_n)
            if k:
                x.axpy(dt / dt_prev, u_n)
                x.axpy(-dt / dt_prev, u_nm1)
            stepper.ksp.setInitialGuessNonzero(not stepper.direct)
            hist.timings_s["operators"] += time.perf_counter() - ts
            ts = time.perf_counter()
            its = solve(stepper.ksp, b, x, what=f"exudation step {n + 1} (t = {t + dt:.4g} s)")
            hist.timings_s["solves"] += time.perf_counter() - ts
            ts = time.perf_counter()
            # local error estimate from the last four solutions; none on a stencil through t = 0,
            # where c jumps to c_in at the inlet
            local_error = None
            if k >= order + 1:
                times = [t + dt] + past_t[: order + 1]
                values = [x.array[free]] + [p.array[free] for p in past[: order + 1]]
                e = bdf_local_error(times, values, order)
                local_error = abs(comm.allreduce(float(np.dot(weights_free * goal(t + dt)[free], e)), op=MPI.SUM))
            mass = comm.allreduce(float(np.dot(ops.mass_weights.array, x.array)), op=MPI.SUM)
            if adaptive:
                if local_error is None:
                    factor = steps.max_growth
                else:
                    # error per unit step: the steps' shares add up to rtol·M(T) when M grows like √t
                    # (the sum of M(t) dt / t is 2 M(T); hence dt / (2 t))
                    allowed = steps.rtol * max(mass, 1e-300) * dt / (2.0 * (t + dt))
                    ratio = local_error / allowed
                    factor = float(np.clip(steps.safety * max(ratio, 1e-12) ** (-1.0 / order), 0.2,
                                           steps.max_growth))
                    if ratio > 1.0 and dt > 1e-9 * t_end:
                        hist.rejected += 1
                        dt_proposed = dt * factor
                        hist.timings_s["flux_and_error"] += time.perf_counter() - ts
                        continue
                dt_proposed = min(dt * factor, steps.dt_max)  # never more than max_growth × this step
            u_new.x.scatter_forward()
            # reaction at the inlet DOFs of the unconstrained system: the inlet flux (µg/s)
            ops.M.mult(x, r)  # r = M (x - w) + θ K x  (lift is free again: work vector)
            ops.M.mult(w, lift)
            r.axpy(-1.0, lift)
            ops.K.mult(x, lift)
            r.axpy(theta, lift)
            rate = a0 / dt * comm.allreduce(float(np.sum(r.array[ops.inlet_owned])), op=MPI.SUM)
            increment = float(bdf_increment(rate, dt, prev_increment, a0, a2)) if k else dt * rate
            prev_increment = increment
            t += dt
            hist.times_s.append(t)
            hist.mass_ug.append(mass)
            hist.inlet_flux_mass_ug.append(hist.inlet_flux_mass_ug[-1] + increment)
            # the rate the scheme gives over the step: the change of the cumulative flux divided
            # by the step (the BDF2 reaction at t_{n+1} alone can dip below 0 in the first steps)
            hist.inlet_flux_ug_s.append(increment / dt)
            hist.local_error_ug.append(0.0 if local_error is None else local_error)
            hist.iterations.append(its)
            hist.steps.append(float(dt))
            past = [past[2]] + past[:2]
            x.copy(past[0])
            past_t = [t] + past_t[:2]
            dt_prev = dt
            n += 1
            k += 1
            if any(abs(t - tj) <= 1e-9 * t_end for tj in jumps):
                k = 0
                if adaptive:
                    dt_proposed = min(steps.dt_first, steps.dt_max)
            hist.timings_s["flux_and_error"] += time.perf_counter() - ts
            if adaptive and n >= bar.total:
                bar.total = n + _expected_steps(steps, t, dt_proposed)
            bar.set_postfix_str(f"t = {_clock(t)} of {_clock(t_end)}, dt = {_clock(dt)}", refresh=False)
            bar.update(1)
            if on_time is not None:
                on_time(t, u_new)
        if adaptive:  # the guess of the total was only a guess: the bar ends full
            bar.total = n
            bar.refresh()
    finally:
        bar.close()
        for obj in (*past, w, b, lift, r):
            obj.destroy()
        stepper.destroy()
    return u_new, hist


def _expected_steps(steps: AdaptiveSteps, t: float = 0.0, dt: float | None = None) -> int:
    """A guess of the steps still to come, for the progress bar (updated on the way): growth
    by ``max_growth`` from ``dt`` up to a tenth of the end time, then steps of that size."""
    dt = steps.dt_first if dt is None else dt
    target = max(min(0.1 * steps.t_end, steps.dt_max), dt)
    ramp = int(np.ceil(np.log(target / dt) / np.log(steps.max_growth))) if target > dt else 0
    return max(1, ramp + int(np.ceil(max(steps.t_end - t, 0.0) / target)))


def _clock(seconds: float) -> str:
    """A time for people: 0.05 s, 12.5 s, 3.2 min, 1.5 h."""
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"
