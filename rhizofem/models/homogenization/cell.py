r"""The cell problems of periodic homogenization and the effective tensor.

For a unit cell Y of a label image with liquid part Y_l (the labels of positive
diffusivity D) and each direction j, the corrector χ_j is Y-periodic with

    −∇·(D (∇χ_j + e_j)) = 0  in Y_l,     D (∇χ_j + e_j)·n = 0  on ∂Y_l \ ∂Y,

weakly: find χ_j with  ∫ D ∇χ_j·∇v = −∫ D e_j·∇v  for all periodic v. The effective
tensor per total cell volume (porosity included) is

    D_eff,ij = (1/|Y|) ∫_{Y_l} D (δ_ij + ∂χ_j/∂y_i) dy.

Discretisation: the liquid voxels are the mesh, so opposite faces match node for node and
D is piecewise constant per voxel (a DG0 function from the cell tags = labels). Two elements
on the same nodes (the voxel corners), hence the same DOFs:

* ``"Q1"`` (default): one quadrilateral (2D) / hexahedron (3D) per voxel, bi/trilinear
  Lagrange. The stiffness of an axis-aligned box is a polynomial of degree 2 in each
  coordinate, so 2-point Gauss per axis integrates it exactly (UFL's estimate, degree 5 on
  hexahedra, would take 27 points instead of 8). The element is invariant under all the
  symmetries of the square / cube.
* ``"P1"``: the Kuhn simplices of the voxels (as :func:`rhizofem.meshing.voxel.voxel_simplices`, 2 triangles
  / 6 tetrahedra per voxel), linear Lagrange: six times more cells in 3D, which DOLFINx's
  mesh construction pays for; in 3D invariant under axis permutations and central
  inversion only.

Point contacts: liquid voxels conduct to each other through shared faces only. Where liquid
voxels meet only at an edge or a corner the node there is duplicated, one copy per group of
voxels joined through faces around it (:mod:`.voxels`), so no flux passes through a set of
zero area; clusters and percolation use the same rule (:mod:`rhizofem.imaging.connectivity`).
``connectivity="point"`` keeps one node per corner (a plain voxel mesh), for comparison.

Translation: periodicity is the constraint :class:`rhizofem.fem.periodic.PeriodicConstraint`
(one operator Pᵀ A P, preconditioned once, d right-hand sides); partners match by wrapped
coordinates and by the group label of the copy, so face connectivity holds across the
periodic boundary too.

Mirror: the image mirrored in every direction (side 2L) is symmetric under the reflections
y_i → −y_i about every cell face. Then y_j + χ_j is even in y_i (i ≠ j) and odd in y_j about
the faces: on the original image χ_j = 0 on the two faces normal to e_j and the flux is
zero on the others, and the off-diagonal terms of the mirrored cell's tensor cancel between
mirror images. So the mirrored tensor is diagonal with D_jj the flux of this Dirichlet /
no-flux problem on the image itself: no periodic constraint, 2^d times fewer unknowns,
one operator per direction (the Dirichlet faces differ). The test suite checks this
equality against the explicit mirrored cell.

Null space: each liquid cluster (connected on the torus for translation, in the image for
mirror) carries its own constant; one DOF per cluster without a Dirichlet face is pinned
(:class:`rhizofem.fem.constrained.ConstrainedLinearProblem`). A pocket that does not
percolate then has χ_j = −y_j + c exactly (in P1 and Q1) and carries no flux, and a direction in
which no cluster percolates has D_eff = 0 up to the solver tolerance (``run`` then sets that
row and column to 0 exactly, :func:`.model.zero_non_percolating`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from rhizofem.fem.constrained import ConstrainedLinearProblem
from rhizofem.fem.periodic import PeriodicConstraint
from rhizofem.imaging.connectivity import Clusters, clusters
from rhizofem.meshing.to_dolfinx import contiguous_partitioner, tagged_mesh
from rhizofem.output import progress
from rhizofem.output.performance import Clock

from .voxels import kuhn_corners, voxel_nodes

__all__ = ["ELEMENTS", "CellMesh", "CellTensor", "LiquidMesh", "cell_tensor", "distribute_cell", "liquid_mesh",
           "voxel_boxes"]

ELEMENTS = ("Q1", "P1")
BOX_CELL = {2: "quadrilateral", 3: "hexahedron"}


@dataclass
class LiquidMesh:
    """The liquid voxels of an image as cells, on one rank (before distribution).

    Attributes:
        points: (n_nodes, d) node coordinates in metres.
        cells: (n_cells, 2^d) boxes (Q1, DOLFINx vertex order) or (n_cells, d+1) simplices (P1).
        cell_labels: label of the voxel each cell fills.
        node_cluster: liquid cluster of each node (the null space of the cell problem).
        extent: the cell's side lengths in metres (the image, not only its liquid).
        clusters: the liquid clusters of the image (for percolation).
        node_group: the label that tells copies of one corner apart (periodic partners
            carry the same one), see :mod:`.voxels`.
        connectivity: "face" or "point" (see :func:`liquid_mesh`).
    """

    points: np.ndarray
    cells: np.ndarray
    cell_labels: np.ndarray
    node_cluster: np.ndarray
    extent: np.ndarray
    clusters: Clusters
    element: str = "Q1"
    node_group: np.ndarray | None = None
    connectivity: str = "face"

    @property
    def cell_type(self) -> str:
        """DOLFINx's name of the cells."""
        dim = self.points.shape[1]
        return BOX_CELL[dim] if self.element == "Q1" else ("triangle", "tetrahedron")[dim - 2]


def voxel_boxes(mask: np.ndarray, voxel_size: float, periodic: bool = False,
                connectivity: str = "face") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One quadrilateral / hexahedron per voxel where ``mask`` is true (2D or 3D).

    Returns ``(points, cells, cell_voxel)``: the nodes (:func:`.voxels.voxel_nodes`: one per
    face-connected group of voxels at a corner, so voxels that meet only at an edge or a
    corner share no node there), each voxel's 2^d nodes in DOLFINx's lexicographic order
    (axis 0 fastest: (0,0,0), (1,0,0), (0,1,0), (1,1,0), (0,0,1), ...), and the flat index
    of the voxel of each cell.
    """
    vn = voxel_nodes(mask, voxel_size, periodic, connectivity)
    return vn.points, vn.corner_nodes, vn.voxels


def liquid_mesh(labels: np.ndarray, diffusivity: Mapping[int, float], voxel_size_m: float,
                periodic: bool, element: str = "Q1", connectivity: str = "face") -> LiquidMesh:
    """The mesh of the voxels whose label has a positive diffusivity: boxes for ``"Q1"``,
    Kuhn simplices for ``"P1"`` (module docstring), on the nodes of
    :func:`.voxels.voxel_nodes`.

    ``periodic`` sets how liquid clusters and the nodes at the image border are found: with
    wrap (translation cell) or without (mirror cell, solved on the image itself).
    ``connectivity``: ``"face"`` (default) — liquid connects through shared voxel faces
    only, no flux through edge or corner contacts; ``"point"`` — every voxel corner is one
    node, as on a plain voxel mesh (for comparison).
    """
    if element not in ELEMENTS:
        raise ValueError(f"element must be one of {ELEMENTS}, got {element!r}")
    labels = np.asarray(labels)
    liquid_labels = [lab for lab, d in diffusivity.items() if d > 0]
    liquid = np.isin(labels, liquid_labels)
    found = clusters(liquid, periodic=periodic, connectivity=connectivity)
    vn = voxel_nodes(liquid, voxel_size_m, periodic, connectivity)
    if element == "Q1":
        cells, cell_voxel = vn.corner_nodes, vn.voxels
    else:
        kuhn = kuhn_corners(labels.ndim)
        cells = vn.corner_nodes[:, kuhn].reshape(-1, labels.ndim + 1)
        cell_voxel = np.repeat(vn.voxels, len(kuhn))
    cell_labels = labels.ravel()[cell_voxel].astype(np.int32)
    node_cluster = np.empty(len(vn.points), dtype=np.int32)
    # every cell of a voxel lies in that voxel's cluster; a node is shared only by voxels
    # joined through faces around it (one cluster), so any writer gives the same value
    node_cluster[cells.ravel()] = np.repeat(found.labels.ravel()[cell_voxel], cells.shape[1])
    extent = np.asarray(labels.shape, dtype=np.float64) * voxel_size_m
    return LiquidMesh(vn.points, cells, cell_labels, node_cluster, extent, found, element,
                      node_group=vn.node_group, connectivity=connectivity)


@dataclass
class CellMesh:
    """A distributed liquid mesh with its diffusivity and the cluster of each DOF."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    V: dolfinx.fem.FunctionSpace
    D: dolfinx.fem.Function
    dof_cluster: np.ndarray
    extent: np.ndarray
    seconds: float = 0.0
    dof_group: np.ndarray | None = None  # copies of one corner told apart (see .voxels)

    @property
    def dx(self) -> ufl.Measure:
        """The cell measure with a quadrature exact for the cell problems' forms (module
        docstring): 2 Gauss points per axis on boxes, UFL's estimate on simplices."""
        if self.mesh.topology.cell_type in (dolfinx.mesh.CellType.quadrilateral, dolfinx.mesh.CellType.hexahedron):
            return ufl.dx(domain=self.mesh, metadata={"quadrature_degree": 2})
        return ufl.dx(domain=self.mesh)

    @property
    def volume(self) -> float:
        """|Y|: the whole cell's volume (area in 2D), liquid or not."""
        return float(np.prod(self.extent))


def distribute_cell(comm: MPI.Comm, lm: LiquidMesh | None, diffusivity: Mapping[int, float]) -> CellMesh:
    """Distribute a :class:`LiquidMesh` held on rank 0 (other ranks pass None)."""
    t0 = time.perf_counter()
    root = comm.rank == 0
    # voxel order is C order: contiguous blocks are slabs of the image, so on two ranks the
    # faces x = 0 and x = L, periodic partners, lie on different ranks
    tm = tagged_mesh(comm, lm.points if root else None, lm.cells if root else None,
                     lm.cell_labels if root else None, partitioner=contiguous_partitioner,
                     cell_type=comm.bcast(lm.cell_type if root else None, root=0), with_facets=False)
    node_cluster = comm.bcast(lm.node_cluster if root else None, root=0)
    node_group = comm.bcast(lm.node_group if root else None, root=0)
    extent = comm.bcast(lm.extent if root else None, root=0)
    msh = tm.mesh
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    # first-order DOFs and geometry nodes are listed in the same cell-local order
    dof_node = np.empty(V.dofmap.index_map.size_local + V.dofmap.index_map.num_ghosts, dtype=np.int64)
    dof_node[V.dofmap.list.ravel()] = msh.geometry.dofmaps[0].ravel()
    dof_input = msh.geometry.input_global_indices[dof_node]
    dof_cluster = node_cluster[dof_input]
    dof_group = None if node_group is None else node_group[dof_input]

    Q = dolfinx.fem.functionspace(msh, ("DG", 0))
    D = dolfinx.fem.Function(Q, name="diffusivity")
    labels = np.array(sorted(diffusivity), dtype=np.int64)  # a table lookup, not a loop per cell
    table = np.array([diffusivity[k] for k in labels], dtype=np.float64)
    D.x.array[tm.cell_tags.indices] = table[np.searchsorted(labels, tm.cell_tags.values)]
    D.x.scatter_forward()
    return CellMesh(msh, tm.cell_tags, V, D, dof_cluster, np.asarray(extent), time.perf_counter() - t0,
                    dof_group=dof_group)


@dataclass
class CellTensor:
    """The effective tensor and what it took to compute it."""

    D_eff: np.ndarray
    correctors: list[dolfinx.fem.Function]
    iterations: list[int]
    num_dofs: int
    num_pinned: int
    num_remote_partners: int
    timings: dict[str, Any] = field(default_factory=dict)


def cell_tensor(cell: CellMesh, periodisation: str = "translation",
                petsc_options: Mapping[str, Any] | None = None, clock: Clock | None = None) -> CellTensor:
    """Solve the d cell problems and integrate the effective tensor (see the module docstring).
    ``clock``: books set-up, assembly, preconditioner set-up and solves (see
    :mod:`rhizofem.output.performance`)."""
    clock = clock if clock is not None else Clock()
    msh, V, D, dx = cell.mesh, cell.V, cell.D, cell.dx
    dim = msh.geometry.dim
    comm = msh.comm
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = dolfinx.fem.form(D * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx)
    e_j = dolfinx.fem.Constant(msh, np.zeros(dim))
    L = dolfinx.fem.form(-D * ufl.inner(e_j, ufl.grad(v)) * dx)
    lower, upper = np.zeros(dim), np.asarray(cell.extent, dtype=np.float64)
    timings: dict[str, Any] = {"mesh": cell.seconds}
    correctors = [dolfinx.fem.Function(V, name=f"chi_{'xyz'[j]}") for j in range(dim)]
    iterations: list[int] = []
    rhs = []

    if periodisation == "translation":
        t = time.perf_counter()
        # partners match by wrapped coordinates and group label: the copies of a corner cut
        # apart at a point contact stay apart across the periodic boundary too
        with clock.stage("setup"):
            constraint = PeriodicConstraint(V, lower, upper, tags=cell.dof_group)
        timings["constraint"] = time.perf_counter() - t
        problem = ConstrainedLinearProblem(a, constraint, constant_modes=cell.dof_cluster,
                                           petsc_options=petsc_options, name="cell_problem", clock=clock)
        for j in progress(range(dim), desc="cell problems", unit="rhs", comm=comm):
            e_j.value[:] = np.eye(dim)[j]
            iterations.append(problem.solve(L, correctors[j]))
            rhs.append(problem.rhs)
        problems = [problem]
        remote, pinned, dofs = constraint.num_remote, problem.num_pinned, problem.num_dofs
    elif periodisation == "mirror":
        problems = []
        for j in progress(range(dim), desc="cell problems", unit="rhs", comm=comm):
            with clock.stage("setup"):
                faces = dolfinx.fem.locate_dofs_geometrical(
                    V, lambda x, j=j: np.isclose(x[j], lower[j], rtol=0, atol=1e-9 * upper[j])
                    | np.isclose(x[j], upper[j], rtol=0, atol=1e-9 * upper[j]))
                bc = dolfinx.fem.dirichletbc(0.0, faces, V)
            problem = ConstrainedLinearProblem(a, bcs=[bc], constant_modes=cell.dof_cluster,
                                               petsc_options=petsc_options, name="cell_problem", clock=clock)
            e_j.value[:] = np.eye(dim)[j]
            iterations.append(problem.solve(L, correctors[j]))
            rhs.append(problem.rhs)  # zero on this direction's Dirichlet DOFs, where χ_j = 0
            problems.append(problem)
        remote, pinned, dofs = 0, sum(p.num_pinned for p in problems), problems[0].num_dofs
    else:
        raise ValueError(f"periodisation must be 'translation' or 'mirror', got {periodisation!r}")

    for key in ("assemble", "reduce", "pin", "setup"):
        timings[key] = sum(p.timings[key] for p in problems)
    timings["solves"] = [s for p in problems for s in p.timings["solves"]]

    t = time.perf_counter()
    with clock.stage("assembly"):
        total_D = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(D * dx)), op=MPI.SUM)
        D_eff = np.zeros((dim, dim))
        for j, chi in enumerate(correctors):
            for i in range(dim):
                if periodisation == "mirror" and i != j:
                    continue  # cancels between mirror images (module docstring)
                D_eff[i, j] = ((i == j) * total_D - rhs[i].dot(chi.x.petsc_vec)) / cell.volume
    timings["flux"] = time.perf_counter() - t
    return CellTensor(D_eff, correctors, iterations, dofs, pinned, remote, timings)
