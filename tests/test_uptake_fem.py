"""Shared time-stepping pieces (rhizofem.fem.timestepping): the BDF formulas are exact where
they must be, the local error estimate is the true truncation error, the bookkeeping
telescopes, and the Newton wrapper reports failure."""

import numpy as np
import pytest
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI
from rhizofem.errors import ConvergenceError
from rhizofem.fem.newton import NewtonSolver
from rhizofem.fem.timestepping import (StepController, bdf_coefficients, bdf_increment,
                                       bdf_local_error, extrapolate)


@pytest.mark.parametrize("ratio", [0.3, 1.0, 2.0])
def test_variable_step_bdf2_is_exact_for_quadratics(ratio):
    # a0 u(t+h) + a1 u(t) + a2 u(t-h/ω) = h u'(t+h) holds exactly for u = t², t, 1
    h = 0.7
    t1, t0 = 2.0, 2.0 - h / ratio
    t2 = t1 + h
    a0, a1, a2 = bdf_coefficients(h, h / ratio, 2)
    for u, du in ((lambda t: t * t, lambda t: 2 * t), (lambda t: t, lambda t: 1.0), (lambda t: 1.0, lambda t: 0.0)):
        assert a0 * u(t2) + a1 * u(t1) + a2 * u(t0) == pytest.approx(h * du(t2), abs=1e-13)


@pytest.mark.parametrize("ratio", [0.5, 1.0, 1.8])
def test_bdf2_error_estimate_equals_the_truncation_error_of_a_cubic(ratio):
    # u = t³ (u''' = 6): one BDF2 step on u' = 3t² from exact history gives
    # u_num − u = (h u'(t+h) − a0 u − a1 u_n − a2 u_{n−1}) / a0 exactly; the estimate from 4
    # exact points of a cubic must reproduce it to round-off.
    h = 0.4
    t = np.array([3.0 + h, 3.0, 3.0 - h / ratio, 3.0 - h / ratio - 0.5])
    u = t**3
    a0, a1, a2 = bdf_coefficients(h, h / ratio, 2)
    error = (h * 3 * t[0] ** 2 - a0 * u[0] - a1 * u[1] - a2 * u[2]) / a0
    estimate = bdf_local_error(list(t), list(u), 2)
    assert abs(error) > 1e-3 and estimate == pytest.approx(error, rel=1e-10)
    # BDF1 on u' = 2t from the exact u_n: u_num − u = h u'(t+h) − (u − u_n) = h² = dt²/2 u''
    assert bdf_local_error(list(t[:3]), list(t[:3] ** 2), 1) == pytest.approx(h * h, rel=1e-12)


def test_bdf_bookkeeping_telescopes_to_the_content_change():
    # dM/dt = -k M with variable steps: the accumulated decay equals M0 - M_N to round-off
    k, M, t = 0.8, [1.0], 0.0
    dts = [0.05, 0.1, 0.18, 0.3, 0.2, 0.45]
    prev_inc, total, dt_prev = 0.0, 0.0, None
    for n, dt in enumerate(dts):
        a0, a1, a2 = bdf_coefficients(dt, dt_prev or 1.0, 1 if n == 0 else 2)
        history = a1 * M[-1] + (a2 * M[-2] if n else 0.0)
        M_new = -history / (a0 + dt * k)
        inc = bdf_increment(k * M_new, dt, prev_inc, a0, a2)
        total, prev_inc, dt_prev = total + inc, inc, dt
        M.append(M_new)
    assert total == pytest.approx(M[0] - M[-1], rel=1e-13)
    assert M[-1] == pytest.approx(np.exp(-k * sum(dts)), rel=2e-2)  # and it is a decay


def test_extrapolation_is_exact_for_polynomials_of_its_degree():
    times = [np.array(1.0), np.array(0.5), np.array(0.2)]
    values = [t**2 - 3 * t for t in times]
    assert extrapolate(np.array(1.7), times, values) == pytest.approx(1.7**2 - 3 * 1.7, rel=1e-12)


def test_controller_accepts_shrinks_and_grows():
    ctl = StepController(max_growth=2.0, min_shrink=0.2)
    accepted, dt = ctl.next_step(np.array([0.0, 0.5, 8.0, 1e6]), np.full(4, 10.0), np.array([2, 2, 2, 2]))
    assert accepted.tolist() == [True, True, False, False]
    assert dt[0] == 20.0 and 10.0 < dt[1] < 20.0 and dt[2] == pytest.approx(10 * 0.9 * 8 ** (-1 / 3))
    assert dt[3] == 2.0   # shrinks by at most min_shrink


def test_newton_failure_raises_with_the_reason():
    msh = mesh.create_unit_interval(MPI.COMM_SELF, 4)
    V = fem.functionspace(msh, ("Lagrange", 1))
    u, v = fem.Function(V), ufl.TestFunction(V)
    F = (ufl.exp(10 * u) - 2.0) * v * ufl.dx          # root u = ln 2 / 10, far from u = 5
    u.x.array[:] = 5.0
    solver = NewtonSolver.from_form(F, u, {"snes_max_it": 2, "snes_linesearch_type": "basic"}, update_tol=1e-12)
    with pytest.raises(ConvergenceError, match="DIVERGED_MAX_IT after 2 iterations"):
        solver.solve("test")
    u.x.array[:] = 0.05
    solver = NewtonSolver.from_form(F, u, {"snes_max_it": 20}, update_tol=1e-12)
    solver.solve()
    assert np.allclose(u.x.array, np.log(2.0) / 10, rtol=1e-12)
    assert solver.timings["jacobian_s"] > 0 and solver.iterations >= 2


def test_newton_with_callbacks_solves_a_coupled_system():
    # x_i² + x_{i+1} = b_i (coupled, nonlinear), Jacobian from callbacks on a PETSc matrix
    from petsc4py import PETSc

    n = 6
    target = np.linspace(1.0, 2.0, n)
    b = target**2 + np.append(target[1:], 0.0)
    x_arr = np.full(n, 1.0)
    x = PETSc.Vec().createWithArray(x_arr, comm=MPI.COMM_SELF)
    J = PETSc.Mat().createAIJ((n, n), nnz=2, comm=MPI.COMM_SELF)

    def residual(xa, f):
        f[:] = xa**2 + np.append(xa[1:], 0.0) - b

    def jacobian(xa, Jm):
        for i in range(n):
            Jm.setValue(i, i, 2 * xa[i])
            if i + 1 < n:
                Jm.setValue(i, i + 1, 1.0)
        Jm.assemble()

    solver = NewtonSolver(residual, jacobian, x, J, update_tol=1e-13)
    its = solver.solve()
    assert np.allclose(x_arr, target, rtol=1e-12) and 2 <= its <= 8
    assert solver.timings["residual_s"] > 0 and solver.timings["jacobian_s"] > 0
