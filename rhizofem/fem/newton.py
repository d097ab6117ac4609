"""Newton's method through PETSc SNES, with a convergence test on the update and clear errors.

:class:`NewtonSolver` drives a PETSc SNES (Newton with a backtracking line search by
default) in two ways:

* :meth:`NewtonSolver.from_form` — a UFL residual ``F(u; v)`` through DOLFINx 0.11's
  :class:`dolfinx.fem.petsc.NonlinearProblem` (assembly of residual and Jacobian by DOLFINx);
* ``NewtonSolver(residual, jacobian, x, J)`` — residual and Jacobian callbacks of one's own
  on a PETSc vector ``x`` and matrix ``J`` (e.g. constant DOLFINx-assembled operators plus
  nodal terms evaluated with numpy, see :mod:`rhizofem.models.uptake.batch`).

In both:

* PETSc options as a plain dict (default :data:`NEWTON_LU`: Newton, backtracking line
  search, direct solve — right for small or banded systems); any key may be overridden;
* an optional convergence test on the largest change of any unknown (∞-norm of the Newton
  update, in the problem's own — ideally scaled — units). Residual norms mix the magnitudes
  of different equations; the update norm says directly how many digits the solution has;
* :meth:`NewtonSolver.solve` raises :class:`~rhizofem.errors.ConvergenceError` naming the
  SNES reason and the iteration count when Newton fails, so that a time stepper can catch
  it and retry with a smaller step;
* the time spent in residual and Jacobian evaluations is recorded (``timings``), so that a
  caller can split its cost into assembly, linear algebra and its own Python work.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

from petsc4py import PETSc

from rhizofem.errors import ConvergenceError
from rhizofem.fem.solvers import set_options

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
    """SNES Newton solver (see the module docstring).

    Args:
        residual: ``residual(x_array, f_array)`` fills the residual at ``x`` (numpy views).
        jacobian: ``jacobian(x_array, J)`` updates the matrix ``J`` at ``x`` (and assembles it).
        x: the solution vector; its values are the initial guess and, after :meth:`solve`,
            the solution.
        J: the Jacobian matrix (its sparsity is fixed).
        options: PETSc options for SNES, its KSP and PC (merged over :data:`NEWTON_LU`).
        update_tol: if given, converged once ``max |δx| <= update_tol`` after at least one
            iteration (or when the initial residual is exactly zero).
        name: a word for error messages and the options prefix.
    """

    def __init__(self, residual: Callable | None, jacobian: Callable | None, x: PETSc.Vec | None,
                 J: PETSc.Mat | None, options: Mapping[str, Any] | None = None, *,
                 update_tol: float | None = None, name: str = "newton", _snes: PETSc.SNES | None = None):
        self.name = name
        self.options = {**NEWTON_LU, **(options or {})}
        self.max_it = int(self.options.get("snes_max_it", 50))
        self.timings = {"residual_s": 0.0, "jacobian_s": 0.0, "solve_s": 0.0}
        self.iterations = 0
        self.solves = 0
        self.x = x
        if _snes is None:
            snes = PETSc.SNES().create(J.getComm())
            timings = self.timings

            def f(_snes, xv, fv):
                t0 = time.perf_counter()
                residual(xv.getArray(readonly=True), fv.getArray())
                timings["residual_s"] += time.perf_counter() - t0

            def jac(_snes, xv, Jm, _P):
                t0 = time.perf_counter()
                jacobian(xv.getArray(readonly=True), Jm)
                timings["jacobian_s"] += time.perf_counter() - t0

            self._f = x.duplicate()
            snes.setFunction(f, self._f)
            snes.setJacobian(jac, J, J)
            prefix = f"rhizofem_{name}_{next(_counter)}_"
            set_options(prefix, self.options)
            snes.setOptionsPrefix(prefix)
            snes.setFromOptions()
            opts = PETSc.Options()
            for key in self.options:  # keep the global options database clean
                opts.delValue(f"{prefix}{key}")
            self._run = lambda: snes.solve(None, self.x)
        else:
            snes = _snes
        self.snes: PETSc.SNES = snes
        if update_tol is not None:
            self._update_tol = float(update_tol)
            self.snes.setConvergenceTest(self._converged_on_update)

    @classmethod
    def from_form(cls, F, u, options: Mapping[str, Any] | None = None, *, update_tol: float | None = None,
                  name: str = "newton", form_compiler_options: dict | None = None,
                  jit_options: dict | None = None) -> NewtonSolver:
        """Newton for the UFL residual ``F`` in the unknown Function ``u`` (DOLFINx assembly)."""
        import dolfinx.fem.petsc as fem_petsc

        opts = {**NEWTON_LU, **(options or {})}
        problem = fem_petsc.NonlinearProblem(
            F, u, petsc_options_prefix=f"rhizofem_{name}_{next(_counter)}_", petsc_options=opts,
            form_compiler_options=form_compiler_options, jit_options=jit_options)
        self = cls(None, None, None, None, options, update_tol=update_tol, name=name, _snes=problem.solver)
        self.problem = problem
        timings = self.timings
        residual_ctx = {"u": problem.u, "residual": problem.F, "jacobian": problem.J, "bcs": []}
        jacobian_ctx = {"u": problem.u, "jacobian": problem.J, "preconditioner": problem.preconditioner,
                        "bcs": []}

        def residual(snes, x, b, **kw):
            t0 = time.perf_counter()
            fem_petsc.assemble_residual(snes, x, b, **kw)
            timings["residual_s"] += time.perf_counter() - t0

        def jacobian(snes, x, J, P, **kw):
            t0 = time.perf_counter()
            fem_petsc.assemble_jacobian(snes, x, J, P, **kw)
            timings["jacobian_s"] += time.perf_counter() - t0

        self.snes.setFunction(residual, problem.b, kargs=residual_ctx)
        self.snes.setJacobian(jacobian, problem.A, problem.P_mat, kargs=jacobian_ctx)
        self._run = problem.solve
        return self

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
        """Solve from the current iterate (the initial guess); return the iterations.

        Raises :class:`ConvergenceError` (with the SNES reason) when Newton fails; the
        unknown then holds the last iterate.
        """
        t0 = time.perf_counter()
        self._run()
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
