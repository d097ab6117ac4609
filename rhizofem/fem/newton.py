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
  of different equations; the update norm says directly how many digits the solution has.
  The test also uses the contraction of successive updates, θ_k = |δ_k|/|δ_{k−1}|: the
  iterate is within θ_k/(1 − θ_k)·|δ_k| of the solution (Hairer & Wanner 1996, "Solving
  ODEs II", §IV.8), so the update must satisfy max(1, θ_k/(1 − θ_k))·|δ_k| ≤ tol. This
  matters when the Jacobian is kept over several iterations (chord method): a chord
  iteration that contracts slowly makes small updates long before it is converged. When
  θ_k > 1/2 the Jacobian is rebuilt at the next iteration. With ``residual_atol`` the
  residual must also be below it (or have fallen by :data:`RESIDUAL_DROP`): where the
  residual is nearly discontinuous in the unknowns, tiny updates can leave a large residual;
* :meth:`NewtonSolver.solve` raises :class:`~rhizofem.errors.ConvergenceError` naming the
  SNES reason and the iteration count when Newton fails, so that a time stepper can catch
  it and retry with a smaller step;
* the time spent in residual and Jacobian evaluations is recorded (``timings``), so that a
  caller can split its cost into assembly, linear algebra and its own Python work.
"""

from __future__ import annotations

import contextlib
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
RESIDUAL_DROP = 1e-6   # with residual_atol: or converged once the residual has fallen this much


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
        update_tol: if given, converged once max(1, θ/(1 − θ))·max |δx| is at most
            ``update_tol`` (θ the contraction of the last two updates, 1/2 for the first) and
            (with ``residual_atol``) the residual 2-norm is below ``residual_atol`` or has fallen
            by :data:`RESIDUAL_DROP`; or when the initial residual is exactly zero.
        residual_atol: see ``update_tol``; e.g. the residual an error of ``update_tol`` in
            every unknown would cause in the storage terms.
        name: a word for error messages and the options prefix.
    """

    def __init__(self, residual: Callable | None, jacobian: Callable | None, x: PETSc.Vec | None,
                 J: PETSc.Mat | None, options: Mapping[str, Any] | None = None, *,
                 update_tol: float | None = None, residual_atol: float | None = None, name: str = "newton",
                 _snes: PETSc.SNES | None = None):
        self.name = name
        self.options = {**NEWTON_LU, **(options or {})}
        self.max_it = int(self.options.get("snes_max_it", 50))
        self.timings = {"residual_s": 0.0, "jacobian_s": 0.0, "solve_s": 0.0}
        # a rhizofem.output.performance.Clock, if set: residuals and Jacobians are booked as
        # ``assembly``, the rest of a Newton solve (linear algebra, line search) as ``solves``
        self.clock = None
        self.iterations = 0
        self.solves = 0
        self.x = x
        # the lagged Jacobian (chord method) is done here, not by PETSc's snes_lag_jacobian, so
        # that a slowly contracting iteration can ask for a fresh Jacobian at once
        self._lag = int(self.options.get("snes_lag_jacobian", 1)) if _snes is None else 1
        self._since_jacobian = 0
        self._fresh_jacobian = True
        if _snes is None:
            snes = PETSc.SNES().create(J.getComm())
            timings = self.timings
            petsc_options = {k: v for k, v in self.options.items() if k != "snes_lag_jacobian"}

            def f(_snes, xv, fv):
                t0 = time.perf_counter()
                with self._stage("assembly"):
                    residual(xv.getArray(readonly=True), fv.getArray())
                timings["residual_s"] += time.perf_counter() - t0

            def jac(_snes, xv, Jm, _P):
                # an untouched matrix keeps its state, so PETSc keeps its LU factors
                if not self._fresh_jacobian and self._since_jacobian < self._lag:
                    self._since_jacobian += 1
                    return
                t0 = time.perf_counter()
                with self._stage("assembly"):
                    jacobian(xv.getArray(readonly=True), Jm)
                timings["jacobian_s"] += time.perf_counter() - t0
                self._since_jacobian = 1
                self._fresh_jacobian = False

            self._f = x.duplicate()
            snes.setFunction(f, self._f)
            snes.setJacobian(jac, J, J)
            prefix = f"rhizofem_{name}_{next(_counter)}_"
            set_options(prefix, petsc_options)
            snes.setOptionsPrefix(prefix)
            snes.setFromOptions()
            opts = PETSc.Options()
            for key in petsc_options:  # keep the global options database clean
                opts.delValue(f"{prefix}{key}")
            self._run = lambda: snes.solve(None, self.x)
        else:
            snes = _snes
        self.snes: PETSc.SNES = snes
        self._residual_atol = residual_atol
        if update_tol is not None:
            self._update_tol = float(update_tol)
            self._previous_update = None
            self.snes.setConvergenceTest(self._converged_on_update)

    @classmethod
    def from_form(cls, F, u, options: Mapping[str, Any] | None = None, *, update_tol: float | None = None,
                  name: str = "newton", form_compiler_options: dict | None = None,
                  jit_options: dict | None = None) -> NewtonSolver:
        """Newton for the UFL residual ``F`` in the unknown Function ``u`` (DOLFINx assembly)."""
        import dolfinx.fem.petsc as fem_petsc

        opts = {**NEWTON_LU, **(options or {})}
        if opts.get("pc_type") != "lu":   # the LU defaults would be left unused (and warned about)
            opts = {k: v for k, v in opts.items() if not k.startswith("pc_factor_")}
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
            with self._stage("assembly"):
                fem_petsc.assemble_residual(snes, x, b, **kw)
            timings["residual_s"] += time.perf_counter() - t0

        def jacobian(snes, x, J, P, **kw):
            t0 = time.perf_counter()
            with self._stage("assembly"):
                fem_petsc.assemble_jacobian(snes, x, J, P, **kw)
            timings["jacobian_s"] += time.perf_counter() - t0

        self.snes.setFunction(residual, problem.b, kargs=residual_ctx)
        self.snes.setJacobian(jacobian, problem.A, problem.P_mat, kargs=jacobian_ctx)
        self._run = problem.solve
        return self

    def _stage(self, name: str):
        return self.clock.stage(name) if self.clock is not None else contextlib.nullcontext()

    def _converged_on_update(self, snes, it, norms):
        _xnorm, _ynorm, fnorm = norms
        if fnorm != fnorm:  # NaN
            return PETSc.SNES.ConvergedReason.DIVERGED_FNORM_NAN
        if it == 0:
            self._previous_update = None
            self._fnorm0 = fnorm
            return PETSc.SNES.ConvergedReason.CONVERGED_FNORM_ABS if fnorm == 0.0 else 0
        update = snes.getSolutionUpdate().norm(PETSc.NormType.NORM_INFINITY)
        previous, self._previous_update = self._previous_update, update
        if previous is None:
            theta = 0.5   # no contraction known yet: the update itself must be below the tolerance
        else:
            theta = update / previous if previous > 0 else 0.0
            if theta > 0.5:
                self._fresh_jacobian = True   # slow contraction: a fresh Jacobian next
        # a small update alone is not enough where the residual is nearly discontinuous in the
        # unknowns (e.g. a Michaelis–Menten law with Km many orders below the concentrations):
        # the residual must also be small (absolutely, or against the initial residual)
        residual_small = (self._residual_atol is None or fnorm <= self._residual_atol
                          or fnorm <= RESIDUAL_DROP * self._fnorm0)
        if theta < 1.0 and max(1.0, theta / (1.0 - theta)) * update <= self._update_tol and residual_small:
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
        self._fresh_jacobian = True   # every solve starts with the Jacobian at its initial guess
        with self._stage("solves"):
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
