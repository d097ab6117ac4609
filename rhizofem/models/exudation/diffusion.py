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
from rhizofem.fem.timestepping import bdf_coefficients, bdf_increment
from rhizofem.meshing.tags import INLET_GROUPS
from rhizofem.meshing.to_dolfinx import TaggedMesh
from rhizofem.output.progress import progress

__all__ = ["History", "Operators", "assemble_operators", "diffusivity_by_cell", "inlet_facets",
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
    return Operators(V, M, K, owned, rows, g, Mg, Kg, mw, V.dofmap.index_map.size_global,
                     comm.allreduce(len(owned), op=MPI.SUM), time.perf_counter() - t0)


@dataclass
class History:
    """What :func:`simulate` records at every time level (t = 0 first)."""

    times_s: list[float] = field(default_factory=lambda: [0.0])
    mass_ug: list[float] = field(default_factory=lambda: [0.0])
    inlet_flux_mass_ug: list[float] = field(default_factory=lambda: [0.0])  # cumulative
    inlet_flux_ug_s: list[float] = field(default_factory=lambda: [0.0])
    iterations: list[int] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    operators_built: int = 0
    preconditioners_built: int = 0
    solve_s: float = 0.0
    setup_s: float = 0.0

    @property
    def conservation_error_rel(self) -> float:
        """|M(T) − cumulative inlet flux| / M(T)."""
        m = self.mass_ug[-1]
        return abs(m - self.inlet_flux_mass_ug[-1]) / m if m else 0.0


def _operator(ops: Operators, theta: float) -> PETSc.Mat:
    """M + θK with the inlet rows and columns replaced by the identity."""
    A = ops.M.duplicate(copy=True)
    A.axpy(theta, ops.K, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
    A.zeroRowsColumns(ops.inlet_rows, diag=1.0)
    return A


def simulate(ops: Operators, dts: np.ndarray, *, scheme: str = "bdf2",
             petsc_options: Mapping | None = None, c_in: float,
             on_time: Callable[[float, dolfinx.fem.Function], None] | None = None,
             desc: str = "diffusion") -> tuple[dolfinx.fem.Function, History]:
    """Step from c = 0 through the steps ``dts``; returns c at the end and the history.

    ``on_time(t, c)`` is called after every step (e.g. to write fields at output times).
    """
    V = ops.V
    comm = V.mesh.comm
    options = dict(EXUDATION_SOLVER if petsc_options is None else petsc_options)
    u_new = dolfinx.fem.Function(V, name="c")
    x = u_new.x.petsc_vec
    u_n, u_nm1 = x.duplicate(), x.duplicate()  # c(0) = 0
    u_n.zeroEntries()
    u_nm1.zeroEntries()
    w, b, lift, r = x.duplicate(), x.duplicate(), x.duplicate(), x.duplicate()
    hist = History()
    ksp = None
    A = P = None
    theta_A = theta_P = None
    t, dt_prev, prev_increment = 0.0, 0.0, 0.0
    bar = progress(total=float(np.sum(dts)), desc=desc, unit="s", comm=comm)
    try:
        for n, dt in enumerate(dts):
            order = 1 if (n == 0 or scheme == "euler") else 2
            a0, a1, a2 = (float(c) for c in bdf_coefficients(dt, dt_prev if n else dt, order))
            theta = dt / a0
            # the preconditioner of the stage: the operator of its steady steps (ω = 1)
            a0_steady = float(bdf_coefficients(dt, dt, 2 if scheme == "bdf2" else 1)[0])
            theta_pc = dt / a0_steady
            if options.get("ksp_type") == "preonly":
                theta_pc = theta  # a direct solve is exact only with its own operator's factors
            ts = time.perf_counter()
            if theta_pc != theta_P:
                if P is not None and P is not A:
                    P.destroy()
                P, theta_P = _operator(ops, theta_pc), theta_pc
                hist.preconditioners_built += 1
                if ksp is None:
                    ksp = create_ksp(P, options, name="exudation")
                ksp.getPC().setReusePreconditioner(False)
                ksp.setOperators(P, P)
                ksp.setUp()
                ksp.getPC().setReusePreconditioner(True)
                if A is not None:
                    A.destroy()
                A, theta_A = P, theta_P
            if theta != theta_A:
                if A is not P:
                    A.destroy()
                A, theta_A = (P, theta_P) if theta == theta_P else (_operator(ops, theta), theta)
                hist.operators_built += A is not P
                ksp.setOperators(A, P)
            # right-hand side: M w minus the inlet columns of M + θK times c_in; c_in on the inlet
            w.zeroEntries()
            w.axpy(-a1 / a0, u_n)
            if a2:
                w.axpy(-a2 / a0, u_nm1)
            ops.M.mult(w, b)
            lift.waxpy(theta, ops.Kg, ops.Mg)
            b.axpy(-1.0, lift)
            b.array[ops.inlet_owned] = c_in
            # initial guess: extrapolated in time
            x.waxpy(0.0, u_n, u_n)
            if n:
                x.axpy(dt / dt_prev, u_n)
                x.axpy(-dt / dt_prev, u_nm1)
            ksp.setInitialGuessNonzero(ksp.getType() != PETSc.KSP.Type.PREONLY)
            hist.setup_s += time.perf_counter() - ts
            ts = time.perf_counter()
            its = solve(ksp, b, x, what=f"exudation step {n + 1} (t = {t + dt:.4g} s)")
            hist.solve_s += time.perf_counter() - ts
            u_new.x.scatter_forward()
            # reaction at the inlet DOFs of the unconstrained system: the inlet flux (µg/s)
            ops.M.mult(x, r)  # r = M (x - w) + θ K x  (lift is free again: work vector)
            ops.M.mult(w, lift)
            r.axpy(-1.0, lift)
            ops.K.mult(x, lift)
            r.axpy(theta, lift)
            rate = a0 / dt * comm.allreduce(float(np.sum(r.array[ops.inlet_owned])), op=MPI.SUM)
            increment = float(bdf_increment(rate, dt, prev_increment, a0, a2)) if n else dt * rate
            prev_increment = increment
            t += dt
            hist.times_s.append(t)
            hist.mass_ug.append(float(ops.mass_weights.dot(x)))
            hist.inlet_flux_mass_ug.append(hist.inlet_flux_mass_ug[-1] + increment)
            hist.inlet_flux_ug_s.append(rate)
            hist.iterations.append(its)
            hist.steps.append(float(dt))
            u_nm1, u_n = u_n, u_nm1
            x.copy(u_n)
            dt_prev = dt
            bar.update(float(dt))
            if on_time is not None:
                on_time(t, u_new)
    finally:
        bar.close()
        for obj in {id(o): o for o in (A, P, u_n, u_nm1, w, b, lift, r) if o is not None}.values():
            obj.destroy()
        if ksp is not None:
            ksp.destroy()
    return u_new, hist

