"""FEniCSx cross-check: a growing root's plume solved as a transient PDE agrees with superposition.

The root tip releases Q through a Gaussian of width w (a smoothed point source) while it moves
down at v. Superposition of such sources is exact with σ² = 2D's + w² (Gaussian convolved
with Gaussian), so the comparison needs no singular source on the mesh. The box is large
enough (plume ≥ 4σ from the walls) for its no-flux walls to act as unbounded soil.

PDE (divided by θR): ∂c/∂t = D'∇²c − k'c + Q/(θR)·N(x − x_tip(t); w²),  c(0) = 0,
P2 tetrahedra, Crank–Nicolson, direct solve.
"""

import numpy as np
import pytest
import rhizofem  # noqa: F401
import ufl
from dolfinx import fem, mesh
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from rhizofem.fem.solvers import DIRECT, create_ksp, solve
from rhizofem.models.rhizodeposition.superposition import (SourceParams, concentration_at_points, kernels,
                                                           released_mass_ug, resolution_factor, root_trajectories)
from rhizofem.rootsystem.generators import straight_root


def test_growing_root_plume_matches_a_dolfinx_transient_solution():
    comm = MPI.COMM_SELF
    v, T, w = 1.0, 1.5, 0.3
    p = SourceParams("point", 10.0, 0.03, 0.3, 1.0, 0.5, width_cm=w)     # D' = 0.03, k' = 0.5
    z0 = -1.0
    domain = mesh.create_box(comm, [np.array([-2.0, -2.0, -4.5]), np.array([2.0, 2.0, 1.0])], [12, 12, 17],
                             mesh.CellType.tetrahedron)
    V = fem.functionspace(domain, ("Lagrange", 2))
    c, q = ufl.TrialFunction(V), ufl.TestFunction(V)
    c_old = fem.Function(V)
    tip = fem.Constant(domain, np.array([0.0, 0.0, z0]))
    x = ufl.SpatialCoordinate(domain)
    Dp, kp, dt = p.D_eff, p.k_eff, 0.015
    amp = p.release / (p.theta * p.retardation) * (2 * np.pi * w * w) ** -1.5
    source = amp * ufl.exp(-ufl.dot(x - tip, x - tip) / (2 * w * w))
    half = 0.5 * dt
    a = (c * q + half * (Dp * ufl.inner(ufl.grad(c), ufl.grad(q)) + kp * c * q)) * ufl.dx
    L = (c_old * q - half * (Dp * ufl.inner(ufl.grad(c_old), ufl.grad(q)) + kp * c_old * q)
         + dt * source * q) * ufl.dx
    A = fem_petsc.assemble_matrix(fem.form(a))
    A.assemble()
    ksp = create_ksp(A, DIRECT)
    L_form = fem.form(L)
    b = fem_petsc.create_vector(V)
    c_new = fem.Function(V)
    n = int(round(T / dt))
    for step in range(n):
        tip.value[2] = z0 - v * (step + 0.5) * dt          # midpoint rule for the moving source
        with b.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b, L_form)
        solve(ksp, b, c_new.x.petsc_vec)
        c_new.x.scatter_forward()
        c_old.x.array[:] = c_new.x.array
    # superposition at the P2 nodes
    traj = root_trajectories(straight_root(v, T, dx_cm=0.1, origin=(0.0, 0.0, z0)))[0]
    pts = V.tabulate_dof_coordinates()
    sup = concentration_at_points(kernels(traj, p, T, resolution_factor(1e-4), 0.05), pts)
    fem_c = c_old.x.array
    rel_l2 = np.linalg.norm(fem_c - sup) / np.linalg.norm(sup)
    rel_max = np.abs(fem_c - sup).max() / sup.max()
    mass_fem = fem.assemble_scalar(fem.form(c_old * ufl.dx)) * p.theta * p.retardation
    mass_exact = released_mass_ug(traj, p, T)
    print(f"FEniCSx vs superposition: nodal rel. L2 {rel_l2:.2e}, max {rel_max:.2e}, "
          f"mass {mass_fem:.5f} vs {mass_exact:.5f} µg ({mass_fem / mass_exact - 1:.1e})")
    # P2 at h = 0.33 cm on a source of width 0.3 cm, CN dt = 0.015 d: a few percent locally
    assert rel_l2 < 0.03 and rel_max < 0.05
    assert mass_fem == pytest.approx(mass_exact, rel=5e-3)
