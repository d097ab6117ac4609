"""Newton's method through PETSc SNES, with a convergence test on the update and clear errors.

:class:`NewtonSolver` wraps :class:`dolfinx.fem.petsc.NonlinearProblem` (DOLFINx 0.11):

* PETSc options as a plain dict (default :data:`NEWTON_LU`: Newton with a backtracking line
  search and a direct solve, which suits the small, banded systems of 1D problems); any key
  may be overridden;
* an optional convergence test on the largest change of any unknown (∞-norm of the Newton
  update, in the problem's own — ideally scaled — units). Residual norms mix the magnitudes
  of different equations; the update norm says directly how many digits the solution has;
* :meth:`NewtonSolver.solve` raises :class:`~rhizofem.errors.ConvergenceError` naming the
  SNES reason and the iteration count when Newton fails, so that a time stepper can catch
  it and retry with a smaller step;
* the time spent assembling residuals and Jacobians is recorded (``timings``), so that a
  caller can split its cost into assembly, linear algebra and its own Python work.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any

import dolfinx.fem.petsc as fem_petsc
from petsc4py import PETSc

from rhizofem.errors import ConvergenceError

__all__ = ["NEWTON_LU", "NewtonSolver", "snes_reason_name"]

NEWTON_LU: dict[str, Any] = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "bt",
    "snes_max_it": 12,
    "ksp_type": "preonly",
    "pc_type": "lu",
    # PETSc's own LU: the factorisation of a banded 1D system is cheap and needs no MUMPS set-up
    "pc_factor_mat_solver_type": "petsc",
    "pc_factor_mat_ordering_type": "natural",
}

_counter = itertools.count()


def snes_reason_name(reason: int) -> str:
    names = {v: k for k, v in vars(PETSc.SNES.ConvergedReason).items() if isinstance(v, int)}
    return names.get(reason, str(reason))


class NewtonSolver:
    """SNES Newton solver for ``F(u; v) = 0`` (see the module docstring).

    Args:
        F: residual form (UFL).
        u: the unknown Function.
        options: PETSc options for SNES, its KSP and PC (merged over :data:`NEWTON_LU`).
        update_tol: if given, converged once ``max |δu| <= update_tol`` after at least one
            iteration (or when the initial residual is exactly zero). SNES's own tolerances
            still apply to the line search.
        name: a word for error messages and the options prefix.
        form_compiler_options, jit_options: passed to DOLFINx.
    """

    def __init__(self, F, u, options: Mapping[str, Any] | None = None, *, update_tol: float | None = None,
                 name: str = "newton", form_compiler_options: dict | None = None,
                 jit_options: dict | None = None):
        opts = {**NEWTON_LU, **(options or {})}
        self.name = name
        self.max_it = int(opts.get("snes_max_it", 50))
        self.problem = fem_petsc.NonlinearProblem(
            F, u, petsc_options_prefix=f"rhizofem_{name}_{next(_counter)}_", petsc_options=opts,
            form_compiler_options=form_compiler_options, jit_options=jit_options)
        self.snes: PETSc.SNES = self.problem.solver
        self.timings = {"residual_s": 0.0, "jacobian_s": 0.0, "solve_s": 0.0}
        self.iterations = 0
        self.solves = 0
        self._wrap_callbacks()
        if update_tol is not None:
            self._update_tol = float(update_tol)
            self.snes.setConvergenceTest(self._converged_on_update)

    def _wrap_callbacks(self):
        p = self.problem
        residual_ctx = {"u": p.u, "residual": p.F, "jacobian": p.J, "bcs": []}
        jacobian_ctx = {"u": p.u, "jacobian": p.J, "preconditioner": p.preconditioner, "bcs": []}
        timings = self.timings

        def residual(snes, x, b, **kw):
            t0 = time.perf_counter()
            fem_petsc.assemble_residual(snes, x, b, **kw)
            timings["residual_s"] += time.perf_counter() - t0

        def jacobian(snes, x, J, P, **kw):
            t0 = time.perf_counter()
            fem_petsc.assemble_jacobian(snes, x, J, P, **kw)
            timings["jacobian_s"] += time.perf_counter() - t0

        self.snes.setFunction(residual, p.b, kargs=residual_ctx)
        self.snes.setJacobian(jacobian, p.A, p.P_mat, kargs=jacobian_ctx)

    def _converged_on_update(self, snes, it, norms):
        _xnorm, _ynorm, fnorm = norms
        if fnorm != fnorm:  # NaN
            return PETSc.SNES.ConvergedReason.DIVERGED_FNORM_NAN
        if it == 0:
            return PETSc.SNES.ConvergedReason.CONVERGED_FNORM_ABS if fnorm == 0.0 else 0
        if snes.getSolutionUpdate().norm(PETSc.NormType.NORM_INFINITY) <= self._update_tol:
            return PETSc.SNES.ConvergedReason.CONVERGED_SNORM_RELATIVE
        if it >= self.max_it:
            return PETSc.SNES.ConvergedReason.DIVERGED_MAX_IT
        return 0

    def solve(self, what: str = "") -> int:
        """Solve from the current value of ``u`` (the initial guess); return the iterations.

        Raises :class:`ConvergenceError` (with the SNES reason) when Newton fails; ``u`` then
        holds the last iterate.
        """
        t0 = time.perf_counter()
        self.problem.solve()
        self.timings["solve_s"] += time.perf_counter() - t0
        its = self.snes.getIterationNumber()
        self.iterations += its
        self.solves += 1
        reason = self.snes.getConvergedReason()
        if reason <= 0:
            raise ConvergenceError(
                f"Newton ({self.name}{', ' + what if what else ''}) did not converge: "
                f"{snes_reason_name(reason)} after {its} iterations. Fix: reduce the time step, "
                "or check the parameters for unphysical values.")
        return its
