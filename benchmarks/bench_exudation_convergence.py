"""How accurate is the released mass for a given voxel size and element? Two cases with exact answers.

    python benchmarks/bench_exudation_convergence.py            # the full table (~10 min on one core)
    python benchmarks/bench_exudation_convergence.py --quick    # 20 and 10 µm only

1. **Voxelised cylinder** (a root of radius a = 300 µm, its whole surface the inlet, held at
   c_in in an unbounded soil, t = 1 h, seed's D and c_in). Carslaw & Jaeger (1959, §13.5) give
   the amount taken up per unit length,

       Q(t) = (8 c_in / π) ∫_0^∞ (1 − exp(−D u² t)) / (u³ [J0(ua)² + Y0(ua)²]) du,

   1.00592 µg/mm at 1 h (evaluated below by quadrature, with the u → 0 tail in closed form).
   The image is a quarter of the root's cross-section (the two cut planes are mirror planes,
   i.e. no-flux), 8 voxels thick (no-flux top and bottom: the problem does not depend on z),
   in a square of soil 2.1 mm wide (5.6 √(DT) beyond the root surface). Its error is that of
   the voxel staircase plus the mesh at the inlet.
2. **Inlet edge** (soil above a plane, left half inlet, right half no-flux wall; 30 s): exact
   M = c_in (2 A √(Dt/π) + l D t / 2) (the l D t / 2 term is the edge's, by self-similarity).
   Its error is the rim leak of a nodal Dirichlet inlet, first order in the element size.

Printed: voxel (or element) size, element, DOFs, relative mass error, the observed order, and
the CPU time of the solve. Time steps are adaptive with time_rtol = 1e-4 (a time error ten
times below the smallest space error here). A third table tries other inlet treatments on the
inlet edge: Nitsche's weak inlet (symmetric, penalty γ D/h), DOLFINx's refinement of the
cells at the rim, and rim nodes held at c_in times the inlet share of their boundary patch
(``--treatments``: that table alone).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import integrate, special

import rhizofem  # noqa: F401
from mpi4py import MPI

from rhizofem.meshing.soil import measure_tags, soil_mesh_from_image
from rhizofem.models.exudation.diffusion import (AdaptiveSteps, assemble_operators, diffusivity_by_cell,
                                                 inlet_facets, simulate)

D = 2.88e-7 * 100.0  # mm²/s
C_IN = 1037.52e-3  # µg/mm³
LU = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def cylinder_uptake_exact(a_mm: float, t_s: float) -> float:
    """Carslaw & Jaeger's Q(t) per unit length (µg/mm) for a cylinder of radius a held at c_in."""
    def integrand(s):  # u = e^s
        u = math.exp(s)
        return -math.expm1(-D * u * u * t_s) / (u * u * (special.j0(u * a_mm) ** 2 + special.y0(u * a_mm) ** 2))

    s0 = -30.0
    body, _ = integrate.quad(integrand, s0, 16.0, limit=1000)
    # below s0: 1 - exp(-D u² t) = D u² t and J0 = 1, Y0 = (2/π)(ln(ua/2) + γ): an arctan in closed form
    x0 = (2 / math.pi) * (s0 + math.log(a_mm / 2) + np.euler_gamma)
    tail = D * t_s * (math.pi / 2) * (math.atan(x0) + math.pi / 2)
    return 8 * C_IN / math.pi * (body + tail)


def cylinder_image(h_um: float, a_um: float = 300.0, width_um: float = 2100.0, layers: int = 8) -> np.ndarray:
    """A quarter root (label 3) at the corner of a square of soil (1), ``layers`` voxels thick."""
    n = int(round(width_um / h_um))
    centres = (np.arange(n) + 0.5) * h_um
    r = np.hypot(centres[:, None], centres[None, :])
    image = np.where(r < a_um, 3, 1).astype(np.uint8)
    return np.repeat(image[:, :, None], layers, axis=2)


def edge_image(h_um: float, half_um: float = 150.0, depth_um: float = 150.0) -> np.ndarray:
    """Soil above a plane whose left half (x < 150 µm) is root, right half air: one straight edge."""
    nx, nz = int(round(2 * half_um / h_um)), int(round(depth_um / h_um))
    image = np.ones((nx, 2, nz + 1), dtype=np.uint8)
    image[:, :, 0] = 2
    image[: nx // 2, :, 0] = 3
    return image


def solve(image, h_um, degree, subdivide, t_end, dt_first, rtol=1e-4, **mesh):
    comm = MPI.COMM_SELF
    t0 = time.process_time()
    tm = soil_mesh_from_image(image, h_um, None, comm, inlet_subdivide=subdivide, **mesh)
    ops = assemble_operators(tm, degree, diffusivity_by_cell(tm, D, {}), inlet_facets(tm, ["root"]), C_IN)
    _, hist = simulate(ops, AdaptiveSteps(t_end, rtol=rtol, dt_first=dt_first), c_in=C_IN, petsc_options=LU)
    out = {"mass": hist.mass_ug[-1], "dofs": ops.dofs, "steps": len(hist.steps), "cpu_s": time.process_time() - t0,
           "area": measure_tags(tm)["root_contact"]}
    ops.destroy()
    return out


def nitsche_mass(tm, gamma: float, dts) -> tuple[float, int]:
    """P1 with the inlet imposed weakly (symmetric Nitsche, penalty gamma · D / h), BDF2, LU."""
    import dolfinx.fem.petsc
    import ufl
    from petsc4py import PETSc

    from rhizofem.fem.timestepping import bdf_coefficients
    from rhizofem.meshing.tags import ROOT_CONTACT

    msh = tm.mesh
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    n, h = ufl.FacetNormal(msh), ufl.CellDiameter(msh)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)(ROOT_CONTACT)
    Dc = dolfinx.fem.Constant(msh, D)
    M = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(u * v * ufl.dx))
    M.assemble()
    a = (Dc * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx - Dc * ufl.dot(ufl.grad(u), n) * v * ds
         - Dc * ufl.dot(ufl.grad(v), n) * u * ds + gamma * Dc / h * u * v * ds)
    S = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(a))
    S.assemble()
    f = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form((gamma * Dc / h * v - Dc * ufl.dot(ufl.grad(v), n)) * C_IN * ds))
    ones, mw = M.createVecRight(), M.createVecLeft()
    ones.set(1.0)
    M.mult(ones, mw)
    old, older = M.createVecRight(), M.createVecRight()
    old.zeroEntries()
    older.zeroEntries()
    ksp = PETSc.KSP().create(MPI.COMM_SELF)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    dt_prev = None
    for k, dt in enumerate(dts):
        a0, a1, a2 = (float(c) for c in bdf_coefficients(dt, dt_prev if k else dt, 1 if k == 0 else 2))
        A = M.duplicate(copy=True)
        A.axpy(dt / a0, S)
        w = old.copy()
        w.scale(-a1 / a0)
        if a2:
            w.axpy(-a2 / a0, older)
        b = M.createVecLeft()
        M.mult(w, b)
        b.axpy(dt / a0, f)
        ksp.setOperators(A)
        new = M.createVecRight()
        ksp.solve(b, new)
        older, old, dt_prev = old, new, dt
    return mw.dot(old), V.dofmap.index_map.size_global


def rim_refined(tm, levels: int):
    """Refine the cells at the rim of the inlet (edges shared by an inlet and a no-flux facet) ``levels``
    times with DOLFINx's Plaza refinement, tags carried over."""
    import dolfinx

    from rhizofem.meshing.tags import NO_FLUX, ROOT_CONTACT
    from rhizofem.meshing.to_dolfinx import TaggedMesh

    for _ in range(levels):
        msh = tm.mesh
        tdim = msh.topology.dim
        for a, b in ((tdim - 1, 1), (1, tdim), (tdim, 1)):
            msh.topology.create_connectivity(a, b)
        f2e, e2c, c2e = (msh.topology.connectivity(a, b) for a, b in ((tdim - 1, 1), (1, tdim), (tdim, 1)))
        ft = tm.facet_tags

        def edges_of(value):
            return np.unique(np.concatenate([f2e.links(f) for f in ft.find(value)]))

        rim = np.intersect1d(edges_of(ROOT_CONTACT), edges_of(NO_FLUX))
        cells = np.unique(np.concatenate([e2c.links(e) for e in rim]))
        edges = np.unique(np.concatenate([c2e.links(c) for c in cells])).astype(np.int32)
        new, pc, pf = dolfinx.mesh.refine(msh, edges, option=dolfinx.mesh.RefinementOption.parent_cell_and_facet)
        new.topology.create_connectivity(tdim - 1, tdim)
        tm = TaggedMesh(new, dolfinx.mesh.transfer_meshtag(tm.cell_tags, new, pc, pf),
                        dolfinx.mesh.transfer_meshtag(tm.facet_tags, new, pc, pf), tm.names)
    return tm


def rim_weights(V, facets: np.ndarray) -> np.ndarray:
    """(A tried inlet treatment.) The inlet share φ of every owned inlet DOF's boundary patch in the inlet's own plane (P1).

    A nodal inlet holds c_in on every node of an inlet facet, so at the rim of a contact patch
    the source reaches into the no-flux facets around the rim node: the Dirichlet region is half
    an element wider than the inlet all along its rim, a mass error first order in the element
    size. The value held at an inlet node is c_in · φ, φ the inlet area of the node's boundary
    patch (a third of each facet touching it) over the area of that patch *in the inlet's
    plane*: each no-flux facet counts with max(0, n·n_in), n_in the mean inlet normal at the
    node. Inside an inlet patch φ = 1; on a straight rim in a flat surface φ = 1/2, so the P1
    trace loses on the inlet side (c_in → c_in/2 over the last inlet element) what it gains on
    the no-flux side: the inlet's area, and so the source, is counted exactly. A no-flux wall
    at a right angle to the inlet is a mirror plane for it (the solution is smooth there, c_in
    at the rim is exact) and does not count. Returns φ for the owned inlet DOFs in the order of
    :func:`dolfinx.fem.locate_dofs_topological` sorted (P1 only).

    Tried and measured (the table of inlet treatments): the rim value c_in/2 over-corrects. The
    exact solution is c_in − O(√r) on the no-flux side of the rim, so the source there is nearly
    c_in; the P1 error comes from the √r singularity, not from the rim node's value.
    """
    import dolfinx

    msh = V.mesh
    top = msh.topology
    tdim, fdim = top.dim, top.dim - 1
    imap = V.dofmap.index_map
    n_owned = imap.size_local
    top.create_connectivity(fdim, tdim)
    top.create_connectivity(tdim, 0)
    dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facets)
    owned = np.sort(dofs[dofs < n_owned])
    # vertex -> DOF and vertex coordinates through the cells (P1: cell DOF k sits on cell vertex k)
    c2v = top.connectivity(tdim, 0).array.reshape(-1, tdim + 1)
    n_vertices = top.index_map(0).size_local + top.index_map(0).num_ghosts
    vertex_dof = np.empty(n_vertices, dtype=np.int64)
    vertex_dof[c2v] = V.dofmap.list
    X = np.empty((n_vertices, 3))
    X[c2v] = msh.geometry.x[msh.geometry.dofmaps[0]]
    # owned boundary facets (each exterior facet is counted once, by its owner), their outward normals
    f2c = top.connectivity(fdim, tdim)
    exterior = dolfinx.mesh.exterior_facet_indices(top)
    exterior = exterior[exterior < top.index_map(fdim).size_local]
    is_inlet = np.isin(exterior, facets)
    cells = f2c.array[f2c.offsets[exterior]]
    cv = c2v[cells]
    top.create_connectivity(fdim, 0)
    f2v = top.connectivity(fdim, 0)
    fv = f2v.array.reshape(-1, tdim)[exterior]
    opposite = cv[~(cv[:, :, None] == fv[:, None, :]).any(axis=2)]
    a, b, c = (X[fv[:, i]] for i in range(3))
    n = 0.5 * np.cross(b - a, c - a)  # area-weighted normal
    n *= np.where(np.einsum("ij,ij->i", n, X[opposite] - a) > 0, -1.0, 1.0)[:, None]  # outward
    share = n / 3.0  # a third of each facet to each of its vertices
    area = np.linalg.norm(share, axis=1)

    def accumulate(rows, values, bs):
        vec = dolfinx.la.vector(imap, bs=bs)
        data = vec.array.reshape(-1, bs)
        for k in range(3):
            np.add.at(data, vertex_dof[rows[:, k]], values)
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        return vec.array.reshape(-1, bs).copy()

    inlet = accumulate(fv[is_inlet], np.column_stack([area[is_inlet], share[is_inlet]]), 4)
    n_in = inlet[:, 1:] / np.maximum(np.linalg.norm(inlet[:, 1:], axis=1), 1e-300)[:, None]
    nf = fv[~is_inlet]
    nf_share = share[~is_inlet]
    vec = dolfinx.la.vector(imap, bs=1)
    for k in range(3):
        d = vertex_dof[nf[:, k]]
        np.add.at(vec.array, d, np.maximum(0.0, np.einsum("ij,ij->i", nf_share, n_in[d])))
    vec.scatter_reverse(dolfinx.la.InsertMode.add)
    coplanar = vec.array
    A_in = inlet[owned, 0]
    return np.where(A_in > 0, A_in / np.maximum(A_in + coplanar[owned], 1e-300), 1.0)


def inlet_treatments(sizes) -> None:
    """The inlet edge with other inlet treatments than a nodal P1 inlet (fixed steps, LU)."""
    from rhizofem.models.exudation.diffusion import step_sizes

    T = 30.0
    dts = step_sizes(T, 0.002, 8, 2.0, 1.0)
    print("\ninlet edge, other inlet treatments (mass after 30 s, relative error)\n")
    print("| element at the inlet (µm) | treatment | DOFs | mass error |")
    print("|---|---|---|---|")
    for h in sizes:
        image = edge_image(h)
        tm = soil_mesh_from_image(image, h, None, MPI.COMM_SELF, inlet_subdivide=0)
        area, length = measure_tags(tm)["root_contact"], image.shape[1] * h * 1e-3
        exact = C_IN * (2 * area * math.sqrt(D * T / math.pi) + length * D * T / 2)
        rows = []
        for levels in (0, 1, 2, 3):
            t = rim_refined(tm, levels)
            ops = assemble_operators(t, 1, diffusivity_by_cell(t, D, {}), inlet_facets(t, ["root"]), C_IN)
            _, hist = simulate(ops, dts, c_in=C_IN, petsc_options=LU)
            name = "P1, nodal inlet" if levels == 0 else f"P1, nodal, rim cells refined {levels}×"
            rows.append((name, ops.dofs, hist.mass_ug[-1]))
            ops.destroy()
        ops = assemble_operators(tm, 1, diffusivity_by_cell(tm, D, {}), inlet_facets(tm, ["root"]), C_IN)
        ops.g.array[ops.inlet_owned] *= rim_weights(ops.V, inlet_facets(tm, ["root"]))
        ops.M.mult(ops.g, ops.Mg)
        ops.K.mult(ops.g, ops.Kg)
        _, hist = simulate(ops, dts, c_in=C_IN, petsc_options=LU)
        rows.append(("P1, nodal, rim nodes at c_in x inlet share of their patch", ops.dofs, hist.mass_ug[-1]))
        ops.destroy()
        for gamma in (4.0, 10.0):
            mass, dofs = nitsche_mass(tm, gamma, dts)
            rows.append((f"P1, Nitsche inlet, penalty {gamma:g} D/h", dofs, mass))
        for name, dofs, mass in rows:
            print(f"| {h:g} | {name} | {dofs} | {100 * (mass / exact - 1):+.2f} % |", flush=True)


def table(rows, title):
    print(f"\n{title}\n")
    print("| voxel (µm) | element | inlet_subdivide | DOFs | steps | mass error | order | CPU (s) |")
    print("|---|---|---|---|---|---|---|---|")
    last = {}
    for r in rows:
        key = (r["degree"], r["subdivide"])
        order = ""
        if key in last:
            h0, e0 = last[key]
            order = f"{math.log(abs(e0) / abs(r['error'])) / math.log(h0 / r['h']):.2f}"
        last[key] = (r["h"], r["error"])
        print(f"| {r['h']:g} | P{r['degree']} | {r['subdivide']} | {r['dofs']} | {r['steps']} | "
              f"{100 * r['error']:+.2f} % | {order} | {r['cpu_s']:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the two coarser voxel sizes only")
    parser.add_argument("--treatments", action="store_true", help="only the table of inlet treatments")
    args = parser.parse_args()
    sizes = (20.0, 10.0) if args.quick else (20.0, 10.0, 5.0)
    if args.treatments:
        inlet_treatments(tuple(s / 2 for s in sizes))
        return
    variants = ((1, 0), (1, 1), (2, 0))

    exact = cylinder_uptake_exact(0.3, 3600.0)
    print(f"cylinder a = 300 µm, 1 h: Carslaw & Jaeger {exact:.5f} µg per mm of root")
    rows = []
    for h in sizes:
        image = cylinder_image(h)
        length = image.shape[2] * h * 1e-3
        for degree, subdivide in variants:
            r = solve(image, h, degree, subdivide, 3600.0, 0.05)
            rows.append({"h": h, "degree": degree, "subdivide": subdivide, **r,
                         "error": 4 * r["mass"] / length / exact - 1})
    table(rows, "voxelised cylinder (whole surface inlet, no rim), mass per mm of root after 1 h")

    rows = []
    for h in tuple(s / 2 for s in sizes):
        image = edge_image(h)
        area, length = None, image.shape[1] * h * 1e-3
        for degree, subdivide in variants:
            r = solve(image, h, degree, subdivide, 30.0, 0.002)
            exact_edge = C_IN * (2 * r["area"] * math.sqrt(D * 30.0 / math.pi) + length * D * 30.0 / 2)
            rows.append({"h": h, "degree": degree, "subdivide": subdivide, **r, "error": r["mass"] / exact_edge - 1})
    table(rows, "inlet edge (flat inlet next to a coplanar no-flux wall), mass after 30 s")
    inlet_treatments(tuple(s / 2 for s in sizes))


if __name__ == "__main__":
    main()
