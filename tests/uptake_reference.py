"""An independent reference for inter-root competition: two parallel roots resolved as holes.

Two vertical roots of radius r0 at distance d in a box with no-flux walls; phosphate with a
linear buffer b diffuses in the soil (D_eff) and is taken up at the root surfaces with the
Michaelis–Menten law. The problem does not depend on z, so the soil is meshed as a 2D
cross-section (Gmsh: a rectangle minus two disks, refined at the root surfaces), extruded
into one layer of prisms of height H, each prism split into three tetrahedra: a 3D DOLFINx
mesh with both roots as holes. P1, BDF2 with a geometric ramp of steps, Newton per step; the
cumulative uptake of each root is the time integral of its surface flux, accumulated with the
same BDF2 recursion as the storage, so amount in soil + uptake is conserved step by step.

This shares no code with rhizofem's uptake model except the physics constants.
"""

from __future__ import annotations

import math

import numpy as np
from mpi4py import MPI


def two_root_section(lx: float, ly: float, centres, r0: float, h_root: float, h_far: float):
    """Gmsh triangulation of the rectangle [0, lx] × [0, ly] minus disks of radius r0 at
    ``centres``; element size h_root at the disks growing to h_far. Returns (points (n, 2),
    triangles (m, 3), per-boundary-edge hole id: dict edge(sorted pair) -> root index)."""
    import gmsh

    gmsh.initialize(["-nt", "1"])
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        gmsh.model.add("two_roots")
        occ = gmsh.model.occ
        rect = occ.addRectangle(0.0, 0.0, 0.0, lx, ly)
        disks = [occ.addDisk(x, y, 0.0, r0, r0) for x, y in centres]
        occ.cut([(2, rect)], [(2, d) for d in disks])
        occ.synchronize()
        curves = gmsh.model.getEntities(1)
        hole_curves = {}
        for _dim, tag in curves:
            x, y, _z = occ.getCenterOfMass(1, tag)
            for k, (cx, cy) in enumerate(centres):
                if math.hypot(x - cx, y - cy) < 1e-6 + 0.5 * r0:
                    hole_curves[tag] = k
        f = gmsh.model.mesh.field
        dist = f.add("Distance")
        f.setNumbers(dist, "CurvesList", list(hole_curves))
        f.setNumber(dist, "Sampling", 200)
        th = f.add("Threshold")
        f.setNumber(th, "InField", dist)
        f.setNumber(th, "SizeMin", h_root)
        f.setNumber(th, "SizeMax", h_far)
        f.setNumber(th, "DistMin", 0.0)
        f.setNumber(th, "DistMax", 0.5)
        f.setAsBackgroundMesh(th)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
        gmsh.model.mesh.generate(2)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        index = {int(t): i for i, t in enumerate(tags)}
        pts = coords.reshape(-1, 3)[:, :2]
        _types, _etags, enodes = gmsh.model.mesh.getElements(2)
        tri = np.array([index[int(t)] for t in enodes[0]]).reshape(-1, 3)
        hole_edges = {}
        for tag, k in hole_curves.items():
            _t, _e, en = gmsh.model.mesh.getElements(1, tag)
            for a, b in np.array([index[int(t)] for t in en[0]]).reshape(-1, 2):
                hole_edges[tuple(sorted((int(a), int(b))))] = k
    finally:
        gmsh.finalize()
    return pts, tri, hole_edges


def extrude_to_tetrahedra(pts, tri, height: float):
    """One layer of prisms over the triangles, each split into 3 tetrahedra with the sorted-
    vertex rule (neighbouring prisms then agree on the diagonals of their shared faces)."""
    n = len(pts)
    x = np.vstack([np.column_stack([pts, np.zeros(n)]), np.column_stack([pts, np.full(n, height)])])
    t = np.sort(tri, axis=1)
    i, j, k = t[:, 0], t[:, 1], t[:, 2]
    tets = np.concatenate([np.stack([i, j, k, k + n], 1), np.stack([i, j, j + n, k + n], 1),
                           np.stack([i, i + n, j + n, k + n], 1)])
    return x, tets


def reference_uptake(d_cm: float, *, lx=4.0, ly=2.0, height=0.5, r0=0.02, b=10.0, D_eff=6.43e-7,
                     c0=5e-3, imax=3.21e-7, km=5.45e-3, t_end_d=4.0, out_days=(1.0, 2.0, 4.0),
                     h_root=None, h_far=0.1, steps=160, comm=MPI.COMM_SELF):
    """Cumulative P uptake per cm of each root (µmol cm⁻¹) at ``out_days`` for two roots at
    distance ``d_cm`` centred in the box (x = lx/2 ∓ d/2 + 0.125, y = ly/2 + 0.125)."""
    import basix.ufl
    import ufl
    from dolfinx import fem, mesh
    from dolfinx.fem import petsc as fem_petsc

    from rhizofem.fem.newton import NewtonSolver
    from rhizofem.fem.timestepping import bdf_coefficients, bdf_increment

    centres = [(0.5 * lx - 0.5 * d_cm + 0.125, 0.5 * ly + 0.125), (0.5 * lx + 0.5 * d_cm + 0.125, 0.5 * ly + 0.125)]
    h_root = h_root or r0 / 4
    pts, tri, hole_edges = two_root_section(lx, ly, centres, r0, h_root, h_far)
    x, tets = extrude_to_tetrahedra(pts, tri, height)
    domain = ufl.Mesh(basix.ufl.element("Lagrange", "tetrahedron", 1, shape=(3,)))
    msh = mesh.create_mesh(comm, tets.astype(np.int64), domain, x)
    fdim = 2
    msh.topology.create_entities(fdim)
    msh.topology.create_connectivity(fdim, 3)
    bfacets = mesh.exterior_facet_indices(msh.topology)
    mids = mesh.compute_midpoints(msh, fdim, bfacets)
    tags = np.zeros(len(bfacets), dtype=np.int32)
    for k, (cx, cy) in enumerate(centres):
        on = np.hypot(mids[:, 0] - cx, mids[:, 1] - cy) < 1.5 * r0
        tags[on] = k + 1
    sel = tags > 0
    mt = mesh.meshtags(msh, fdim, bfacets[sel].astype(np.int32), tags[sel])
    ds = ufl.Measure("ds", domain=msh, subdomain_data=mt)
    V = fem.functionspace(msh, ("Lagrange", 1))
    u, u1, u2 = fem.Function(V), fem.Function(V), fem.Function(V)
    for f in (u, u1, u2):
        f.x.array[:] = 1.0                               # c / c0
    v = ufl.TestFunction(V)
    a0, a1, a2, dt = (fem.Constant(msh, 0.0) for _ in range(4))
    flux = imax * c0 * u / (km + abs(c0 * u))             # µmol cm⁻² s⁻¹
    F = (b * (a0 * u + a1 * u1 + a2 * u2) * v + dt * D_eff * ufl.inner(ufl.grad(u), ufl.grad(v))) * ufl.dx \
        + dt * flux / c0 * v * (ds(1) + ds(2))
    solver = NewtonSolver.from_form(F, u, {"ksp_type": "preonly", "pc_type": "lu",
                                           "pc_factor_mat_solver_type": "mumps", "snes_max_it": 25},
                                    update_tol=1e-11, name="two_roots")
    rates = [fem.form(flux * ds(k)) for k in (1, 2)]
    t_end = t_end_d * 86400.0
    # geometric ramp: first step 1 s, ratio so that `steps` steps reach t_end, output days as stops
    q = _ratio(1.0, t_end, steps)
    times = np.cumsum(1.0 * q ** np.arange(steps))
    times = np.unique(np.concatenate([times[times < t_end], [t_end], np.asarray(out_days) * 86400.0]))
    t_prev, dt_prev = 0.0, None
    cum, prev_inc = np.zeros(2), np.zeros(2)
    out = {}
    for n, t_new in enumerate(times):
        h = t_new - t_prev
        order = 1 if n == 0 else 2
        c = bdf_coefficients(h, dt_prev if dt_prev else 1.0, order)
        a0.value, a1.value, a2.value, dt.value = float(c[0]), float(c[1]), float(c[2]), h
        solver.solve(f"step {n}")
        r = np.array([comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM) for f in rates]) / height
        inc = bdf_increment(r, h, prev_inc, float(c[0]), float(c[2]))
        cum += inc
        prev_inc = inc
        u2.x.array[:] = u1.x.array
        u1.x.array[:] = u.x.array
        t_prev, dt_prev = t_new, h
        for day in out_days:
            if abs(t_new - day * 86400.0) < 1e-6:
                out[day] = cum.copy()
    return out, {"cells": msh.topology.index_map(3).size_global, "dofs": V.dofmap.index_map.size_global}


def _ratio(first: float, total: float, steps: int) -> float:
    lo, hi = 1.0 + 1e-12, 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        s = first * (mid**steps - 1) / (mid - 1)
        lo, hi = (mid, hi) if s < total else (lo, mid)
    return 0.5 * (lo + hi)
