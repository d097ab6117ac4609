"""A linear problem on a constrained space, with one operator for many right-hand sides.

    a(u, v) = L_k(v)   for all v in V_c,   k = 1, 2, ...

where V_c = {P x} is the space a constraint describes (:class:`~rhizofem.fem.periodic.
PeriodicConstraint`, or none: V_c = V). The operator Pᵀ A P is assembled, reduced and
preconditioned once; each :meth:`ConstrainedLinearProblem.solve` assembles one right-hand
side, restricts it (Pᵀ b), solves, and prolongs the solution (u = P x). The problem only
uses the constraint's ``reduce``/``restrict``/``prolong``/``reduced_index``: it does not know
how the constraint was built (the dolfinx_mpc way of handing a constraint to a problem).

Constant modes. A pure-Neumann or periodic diffusion problem is singular: its null space is
spanned by the indicator of each connected component of the domain (each "cluster": on a
pore mesh, every pocket of liquid is one). Given the cluster index of every DOF
(``constant_modes``), the problem pins one reduced DOF of each cluster that touches no
Dirichlet DOF (its row and column replaced by the identity, its right-hand side by 0).
That fixes the free constant of each cluster and leaves every gradient untouched, so
the system is symmetric positive definite and CG with algebraic multigrid applies; no
artificial conductivity is added anywhere.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import dolfinx
import numpy as np
from dolfinx.fem.petsc import apply_lifting, assemble_matrix, assemble_vector, set_bc
from mpi4py import MPI
from petsc4py import PETSc

from rhizofem.fem.solvers import CG_GAMG, create_ksp, solve

__all__ = ["ConstrainedLinearProblem"]


class ConstrainedLinearProblem:
    """a(u, v) = L(v) on the space of ``constraint`` (or on V with Dirichlet ``bcs``).

    Args:
        a: the bilinear form (symmetric for the default CG).
        constraint: an object with ``reduce(A)``, ``restrict(b)``, ``prolong(x, u)`` and
            ``reduced_index()`` (e.g. a :class:`~rhizofem.fem.periodic.PeriodicConstraint`),
            or None for the unconstrained space.
        bcs: Dirichlet conditions (only without a constraint).
        constant_modes: cluster index (≥ 0) of each owned DOF of V, or None when the problem
            is not singular. One DOF per cluster without a Dirichlet DOF is pinned.
        petsc_options: PETSc options (default :data:`rhizofem.fem.solvers.CG_GAMG`).
        name: options prefix stem, also used in error messages.

    Attributes:
        timings: seconds spent in ``assemble``, ``reduce``, ``pin`` and ``setup`` (the
            preconditioner), and per solve in ``solves``.
        iterations: KSP iterations of each solve.
        rhs: the right-hand side of the last solve in the full space (assembled, ghosts
            accumulated, Dirichlet values set), e.g. for functionals b·u.
        num_dofs: global size of the solved system.
        num_pinned: how many constant modes were pinned.
    """

    def __init__(self, a: dolfinx.fem.Form, constraint=None, bcs: Sequence[dolfinx.fem.DirichletBC] = (),
                 constant_modes: np.ndarray | None = None,
                 petsc_options: Mapping[str, Any] | None = None, name: str = "constrained", clock=None):
        # clock: a rhizofem.output.performance.Clock that books this problem's assembly,
        # preconditioner set-up and solves (None: only ``timings``)
        self._clock = clock
        if constraint is not None and bcs:
            raise ValueError("ConstrainedLinearProblem: Dirichlet conditions together with a constraint "
                             "are not supported; express both in the constraint.")
        self.a, self.constraint, self.bcs, self.name = a, constraint, list(bcs), name
        V = a.function_spaces[0]
        self.V = V
        comm = V.mesh.comm
        self.timings: dict[str, Any] = {"solves": []}
        self.iterations: list[int] = []

        t = time.perf_counter()
        with self._stage("assembly"):
            A = assemble_matrix(a, bcs=self.bcs)
            A.assemble()
        self.timings["assemble"] = time.perf_counter() - t
        t = time.perf_counter()
        with self._stage("assembly"):
            self.A = constraint.reduce(A) if constraint is not None else A
        self.timings["reduce"] = time.perf_counter() - t

        t = time.perf_counter()
        with self._stage("setup"):
            self.pinned = self._pins(constant_modes) if constant_modes is not None else np.empty(0, PETSc.IntType)
            self.num_pinned = comm.allreduce(len(self.pinned), op=MPI.SUM)
            if self.num_pinned:
                self.A.zeroRowsColumns(self.pinned, diag=1.0)
        self.timings["pin"] = time.perf_counter() - t
        self.num_dofs = self.A.getSize()[0]

        t = time.perf_counter()
        with self._stage("preconditioner_setup"):
            self.A.setOption(PETSc.Mat.Option.SPD, True)
            self.ksp = create_ksp(self.A, CG_GAMG if petsc_options is None else petsc_options, name)
            self.ksp.setUp()
        self.timings["setup"] = time.perf_counter() - t

    def _stage(self, name: str):
        return self._clock.stage(name) if self._clock is not None else contextlib.nullcontext()

    def _pins(self, constant_modes: np.ndarray) -> np.ndarray:
        """The reduced DOF of smallest global index of each cluster free of Dirichlet DOFs."""
        comm = self.V.mesh.comm
        n_owned = self.V.dofmap.index_map.size_local * self.V.dofmap.index_map_bs
        cluster = np.asarray(constant_modes, dtype=np.int64)[:n_owned]
        count = comm.allreduce(int(cluster.max(initial=-1)) + 1, op=MPI.MAX)
        if count == 0:
            return np.empty(0, dtype=PETSc.IntType)
        if self.constraint is not None:
            index = np.asarray(self.constraint.reduced_index(), dtype=np.int64)
        else:
            index = self.V.dofmap.index_map.local_range[0] * self.V.dofmap.index_map_bs + np.arange(n_owned)
        has_bc = np.zeros(count, dtype=np.int8)
        for bc in self.bcs:
            dofs, first_ghost = bc.dof_indices()
            owned = dofs[:first_ghost]
            owned = owned[cluster[owned] >= 0]
            has_bc[cluster[owned]] = 1
        comm.Allreduce(MPI.IN_PLACE, has_bc, op=MPI.MAX)
        first = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
        inside = cluster >= 0
        np.minimum.at(first, cluster[inside], index[inside])
        comm.Allreduce(MPI.IN_PLACE, first, op=MPI.MIN)
        lo, hi = self.A.getOwnershipRange()
        pins = first[(has_bc == 0) & (first >= lo) & (first < hi)]
        return np.unique(pins).astype(PETSc.IntType)

    def solve(self, L: dolfinx.fem.Form, u: dolfinx.fem.Function) -> int:
        """Solve for one right-hand side into ``u``; returns the KSP iteration count."""
        t = time.perf_counter()
        with self._stage("assembly"):
            b = assemble_vector(L)
            if self.bcs:
                apply_lifting(b, [self.a], bcs=[self.bcs])
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            if self.bcs:
                set_bc(b, self.bcs)
            self.rhs = b
            rhs = self.constraint.restrict(b) if self.constraint is not None else b
            if len(self.pinned):
                rhs.setValues(self.pinned, np.zeros(len(self.pinned)))
            rhs.assemble()
        with self._stage("solves"):
            x = self.A.createVecRight()
            x.set(0.0)
            its = solve(self.ksp, rhs, x, what=f"{self.name} solve")
            if self.constraint is not None:
                self.constraint.prolong(x, u)
            else:
                x.copy(u.x.petsc_vec)
                u.x.scatter_forward()
        self.iterations.append(its)
        self.timings["solves"].append(time.perf_counter() - t)
        return its
