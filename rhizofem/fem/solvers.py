"""Krylov solvers configured from plain PETSc option dicts, that raise when they fail.

As in the DOLFINx demos, solver choices are PETSc options written as a dict, e.g.
``{"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10}``; a configuration can override
any of them. Each solver gets its own options prefix, so two solvers never share settings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from petsc4py import PETSc

from rhizofem.errors import ConvergenceError

__all__ = ["CG_GAMG", "DIRECT", "configure_ksp", "create_ksp", "set_options", "solve"]

# Symmetric positive definite diffusion operators: conjugate gradients with smoothed
# aggregation AMG (hypre is not in this PETSc build; GAMG is PETSc's own AMG).
CG_GAMG: dict[str, Any] = {
    "ksp_type": "cg",
    "pc_type": "gamg",
    "ksp_rtol": 1.0e-10,
    "ksp_atol": 1.0e-30,
    "ksp_max_it": 1000,
}

# Small problems and references: LU by MUMPS.
DIRECT: dict[str, Any] = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}

_counter = itertools.count()


def set_options(prefix: str, options: Mapping[str, Any]) -> None:
    """Put ``options`` into PETSc's options database under ``prefix`` (None/True: a flag)."""
    opts = PETSc.Options()
    for key, value in options.items():
        if value is None or value is True:
            opts[f"{prefix}{key}"] = "" if value is None else "true"
        elif value is False:
            opts[f"{prefix}{key}"] = "false"
        else:
            opts[f"{prefix}{key}"] = value


def configure_ksp(ksp: PETSc.KSP, options: Mapping[str, Any], name: str = "ksp") -> PETSc.KSP:
    """Apply ``options`` to ``ksp`` under a fresh prefix ``rhizofem_<name>_<n>_``."""
    prefix = f"rhizofem_{name}_{next(_counter)}_"
    set_options(prefix, options)
    ksp.setOptionsPrefix(prefix)
    ksp.setFromOptions()
    opts = PETSc.Options()
    for key in options:  # keep the global options database clean
        opts.delValue(f"{prefix}{key}")
    return ksp


def create_ksp(A: PETSc.Mat, options: Mapping[str, Any] | None = None, name: str = "ksp") -> PETSc.KSP:
    """A KSP on operator ``A`` configured from ``options`` (default :data:`CG_GAMG`)."""
    ksp = PETSc.KSP().create(A.getComm())
    ksp.setOperators(A)
    return configure_ksp(ksp, CG_GAMG if options is None else options, name)


def solve(ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec, what: str = "linear solve") -> int:
    """Solve and return the iteration count; raise :class:`ConvergenceError` on failure.

    Ghost values of ``x`` are not updated: call ``u.x.scatter_forward()`` on the Function.
    """
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    if reason < 0:
        names = {v: k for k, v in vars(PETSc.KSP.ConvergedReason).items() if isinstance(v, int)}
        raise ConvergenceError(
            f"{what} did not converge: {names.get(reason, reason)} after {ksp.getIterationNumber()} "
            f"iterations (residual {ksp.getResidualNorm():.3e}). Fix: check the input for "
            "disconnected or degenerate regions, or set a direct solver in the PETSc options "
            "(ksp_type = \"preonly\", pc_type = \"lu\").")
    return ksp.getIterationNumber()
