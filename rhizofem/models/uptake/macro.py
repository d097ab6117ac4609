"""The 3D soil of the coupled model: phosphate and citrate diffusing between the cells of a box.

A box with no-flux walls, divided into nx × ny × nz cubic cells (a DOLFINx structured
hexahedral mesh, distributed over the MPI ranks). The unknowns are the cells' mean solution
concentrations c_i (one value per cell and solute: DG0); the scheme is the cell-centred
finite-volume scheme with two-point fluxes, implicit Euler: for cell K and solute i,

    φ_K |K| (T_i(c_K) − T_i,K^old) / Δt + Σ_F D_i |F| (c_i,K − c_i,L) / h_F
        + χ_K |K| k T_d(c_K) δ_iC = 0,

T the same competitive isotherm as the radial models, D_i = θ f D_i,liquid, h_F the distance
of the two cell centres across the face F, φ_K the soil fraction of the cell (1 − root
volume / cell volume), χ_K = 1 in cells without roots (in rooted cells the radial models
decompose citrate).

The flux term is linear and constant: DOLFINx assembles it once, as the form
Σ_i ∫ D_i/h_F [u_i][v_i] dS on DG0 (the facet integral of the jumps *is* the two-point flux).
The rest is cell-wise. Newton therefore needs no re-assembly: its residual is A u plus
cell-wise terms evaluated with numpy (the same :mod:`.physics` functions as the radial
models), its Jacobian A + a 2×2 block per cell (complex-step derivatives), applied as a PETSc
shell matrix inside GMRES preconditioned by the cells' blocks (including A's diagonal) —
exact up to the weak coupling between cells, so GMRES needs a few iterations.

The amounts exchanged between cells are what the coupling needs: each cell receives
Q_K = −Δt (A c)_K at the new concentrations. A's rows sum to zero (each face adds
[[k, −k], [−k, k]]), so Σ_K Q_K = 0 to round-off whatever the Newton and Krylov tolerances;
the cells' contents are updated from Q (not from T(c)), so the soil conserves mass exactly.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from rhizofem.errors import ConvergenceError
from rhizofem.models.uptake.physics import RadialModel

__all__ = ["SoilBox"]

_COMPLEX_STEP = 1e-30


def layer_slabs(layer_work, nparts: int) -> np.ndarray | None:
    """The rank of each horizontal layer of cells: contiguous slabs whose summed work is as
    equal as whole layers allow (a layer goes to the rank where the middle of its work falls).
    None when some rank would get no layer (fewer layers than ranks, or one layer holding
    nearly all the work)."""
    w = np.asarray(layer_work, float)
    if len(w) < nparts or not np.all(np.isfinite(w)) or w.sum() <= 0:
        return None
    middle = np.cumsum(w) - 0.5 * w
    part = np.minimum((middle / w.sum() * nparts).astype(np.int64), nparts - 1)
    return part if len(np.unique(part)) == nparts else None


def layer_partitioner(n, layer_work):
    """A DOLFINx cell partitioner for ``mesh.create_box`` that deals the box's horizontal layers
    of cells to the ranks in slabs of equal work (:func:`layer_slabs`); DOLFINx's graph
    partitioner where the layers cannot be dealt so."""
    import dolfinx
    from dolfinx import mesh

    n = np.asarray(n, dtype=np.int64)
    fallback = mesh.create_cell_partitioner(mesh.GhostMode.shared_facet, 2)  # as create_box's default
    plane = int((n[0] + 1) * (n[1] + 1))

    def partition(comm, nparts, cell_types, cells):
        part = layer_slabs(layer_work, nparts)
        c = np.asarray(cells[0], dtype=np.int64).reshape(-1, 8)
        # create_box numbers the vertices x fastest, then y, then z: a cell's lowest vertex gives
        # its layer, and its highest is one plane, one row and one vertex further
        lowest = c.min(axis=1)
        regular = bool(np.all(c.max(axis=1) - lowest == plane + int(n[0]) + 2))
        if part is None or not comm.allreduce(regular, op=MPI.LAND):
            return fallback(comm, nparts, cell_types, cells)
        # owner first, then the ranks that keep the cell as a ghost: the owner of the layer above
        # or below where it differs (they share a facet; the flux form integrates over it)
        layer = lowest // plane
        owner = part[layer]
        below = np.where(layer > 0, part[np.maximum(layer - 1, 0)], owner)
        above = np.where(layer < len(part) - 1, part[np.minimum(layer + 1, len(part) - 1)], owner)
        rows = [[o] + sorted({int(b), int(t)} - {int(o)}) for o, b, t in zip(owner, below, above, strict=True)]
        offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.int32)
        data = np.array([d for r in rows for d in r], dtype=np.int32)
        return dolfinx.graph.adjacencylist(data, offsets)._cpp_object

    return partition


class SoilBox:
    """The box's cells, their contents and the inter-cell exchange (see the module docstring)."""

    def __init__(self, model: RadialModel, comm: MPI.Comm, lo, size, n, *, newton_tol: float = 1e-9,
                 ksp_rtol: float = 1e-12, layer_work=None):
        import ufl
        from dolfinx import fem, mesh
        from dolfinx.fem import petsc as fem_petsc

        self.model, self.comm = model, comm
        self.nsp = nsp = len(model.solutes)
        self.lo = np.asarray(lo, float)
        self.n = np.asarray(n, dtype=np.int64)
        self.h = np.asarray(size, float) / self.n
        self.volume = float(np.prod(self.h))
        self.newton_tol = newton_tol
        # layer_work: the work of each horizontal layer of cells (soil and root pieces); the ranks
        # then get contiguous slabs of layers with equal work (see layer_partitioner)
        partitioner = None if layer_work is None or comm.size == 1 else layer_partitioner(self.n, layer_work)
        self.mesh = msh = mesh.create_box(comm, [self.lo, self.lo + np.asarray(size, float)], [int(k) for k in self.n],
                                          cell_type=mesh.CellType.hexahedron,
                                          ghost_mode=mesh.GhostMode.shared_facet, partitioner=partitioner)
        imap = msh.topology.index_map(3)
        self.n_owned = n_owned = imap.size_local
        mids = mesh.compute_midpoints(msh, 3, np.arange(n_owned, dtype=np.int32))
        self.ijk = np.clip(np.floor((mids - self.lo) / self.h).astype(np.int64), 0, self.n - 1)
        self.linear_index = self.ijk[:, 0] + self.n[0] * (self.ijk[:, 1] + self.n[1] * self.ijk[:, 2])
        self._local_of = {int(k): i for i, k in enumerate(self.linear_index)}

        self.V = V = fem.functionspace(msh, ("DG", 0, (nsp,)))
        self.S = fem.functionspace(msh, ("DG", 0))
        self.block = np.asarray(V.dofmap.list[:n_owned, 0], dtype=np.int64)   # owned cell -> block
        self.sblock = np.asarray(self.S.dofmap.list[:n_owned, 0], dtype=np.int64)
        if np.any(self.block >= V.dofmap.index_map.size_local):
            raise RuntimeError("DG0: an owned cell has a ghost dof")
        self._identity = bool(np.array_equal(self.block, np.arange(n_owned)))
        self.c_ref = np.array([s.c_ref_umol_cm3 for s in model.solutes])

        # the two-point flux operator, assembled once (rows and unknowns scaled by c_ref)
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        nrm = ufl.FacetNormal(msh)
        h_F = sum(abs(nrm("+")[d]) * float(self.h[d]) for d in range(3))
        a = sum(s.D_eff_cm2_s / h_F * ufl.jump(u[i]) * ufl.jump(v[i]) for i, s in enumerate(model.solutes)) * ufl.dS
        self.A = fem_petsc.assemble_matrix(fem.form(a))
        self.A.assemble()
        self._x = self.A.createVecRight()
        self._r = self.A.createVecLeft()
        self._dx = self.A.createVecRight()
        diag = self.A.getDiagonal()
        self._A_diag = diag.array_r.reshape(-1, nsp)[self.block].copy()   # (cells, solutes)
        diag.destroy()

        J = PETSc.Mat().createPython(self.A.getSizes(), comm=comm)
        J.setPythonContext(_Jacobian(self))
        J.setUp()
        self._J = J
        self.ksp = PETSc.KSP().create(comm)
        self.ksp.setOperators(J)
        self.ksp.setType("gmres")
        self.ksp.setTolerances(rtol=ksp_rtol, atol=1e-30, max_it=200)
        pc = self.ksp.getPC()
        pc.setType("python")
        pc.setPythonContext(_BlockJacobi(self))
        self.ksp.setFromOptions()

        self.content = np.zeros((n_owned, nsp))     # µmol per owned cell
        self.root_volume = np.zeros(n_owned)         # cm³ of root in each owned cell
        self.rooted = np.zeros(n_owned, dtype=bool)
        self.c = np.full((n_owned, nsp), np.nan)     # current cell concentrations (µmol cm⁻³)
        self._T_old = np.zeros((n_owned, nsp))
        self._blocks = np.zeros((n_owned, nsp, nsp))
        self.iterations = {"newton": 0, "krylov": 0}

    # -- cells ---------------------------------------------------------------------------------
    def local_cells(self, linear: np.ndarray) -> np.ndarray:
        """Local index of the owned cells with structured (linear) indices ``linear``; −1 where
        another rank owns the cell."""
        return np.array([self._local_of.get(int(k), -1) for k in np.asarray(linear).ravel()], dtype=np.int64)

    def linear_of_points(self, x: np.ndarray) -> np.ndarray:
        """Structured (linear) index of the cell holding each point; −1 outside the box."""
        ijk = np.floor((np.asarray(x, float) - self.lo) / self.h).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < self.n), axis=1)
        lin = ijk[:, 0] + self.n[0] * (ijk[:, 1] + self.n[1] * ijk[:, 2])
        return np.where(inside, lin, -1)

    def soil_volume(self) -> np.ndarray:
        return self.volume - self.root_volume

    # -- state ---------------------------------------------------------------------------------
    def fill(self, c0: list[float]) -> None:
        """Uniform initial solution concentrations (and the matching contents)."""
        T = self.model.total([np.full(self.n_owned, float(ci)) for ci in c0])
        self.set_contents(np.stack([t * self.soil_volume() for t in T], axis=-1))

    def set_contents(self, content: np.ndarray) -> None:
        """Contents (µmol per owned cell): the state the next macro step starts from."""
        self.content = np.array(content, float)
        self._T_old = self.content / self.soil_volume()[:, None]
        # (the last concentrations are a close guess: Newton then needs one or two iterations)
        c = self.model.concentrations_from_totals([self._T_old[:, i] for i in range(self.nsp)],
                                                  guess=[self.c[:, i] for i in range(self.nsp)])
        self.c = np.stack(c, axis=-1)

    # -- one macro step ----------------------------------------------------------------------------
    def _cellwise(self, U: np.ndarray, dt_s: float, source: np.ndarray | None = None) -> np.ndarray:
        """The cell-wise part of the residual (cells, solutes), rows scaled by 1/c_ref; U scaled
        unknowns, real or complex."""
        c = [U[:, i] * self.c_ref[i] for i in range(self.nsp)]
        T = self.model.total(c)
        Vs = self.soil_volume()
        out = np.empty(U.shape, dtype=U.dtype)
        for i in range(self.nsp):
            out[:, i] = Vs * (T[i] - self._T_old[:, i]) / dt_s
        if self.model.has_citrate:
            out[:, 1] += np.where(self.rooted, 0.0, Vs) * self.model.decomposition(c)
        if source is not None:
            out = out - source
        return out / self.c_ref

    def exchange(self, dt_s: float, offset: np.ndarray | None = None,
                 source: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Solve one implicit step of inter-cell diffusion (and citrate decomposition in cells
        without roots); return the inflow Q of every owned cell (cells, solutes; µmol, Σ Q = 0)
        and the citrate decomposed in cells without roots (µmol per cell).

        ``offset`` (cells, solutes; µmol cm⁻³, held over the step) is added to the cells'
        concentrations in the fluxes only: the rooted cells' flux value differs from their mean
        (see :mod:`.coupled`). ``source`` (cells, solutes; µmol s⁻¹) is what the roots are
        expected to add (exudation) or take (uptake, and decomposition in their cylinders)
        during the step, so that the cells' concentrations in the fluxes feel it. A's rows sum
        to zero, so Σ Q = 0 whatever the offset and source."""
        nsp, blk = self.nsp, self.block
        U = self.c / self.c_ref
        x, r, dx = self._x, self._r, self._dx
        shift = np.zeros_like(U) if offset is None else offset / self.c_ref
        for it in range(30):
            x.array.reshape(-1, nsp)[blk] = U + shift
            self.A.mult(x, r)
            res = r.array.reshape(-1, nsp)
            res[blk] += self._cellwise(U, dt_s, source)
            # cell blocks of the Jacobian by complex step
            Uc = U.astype(complex)
            for j in range(nsp):
                Uc[:, j] += 1j * _COMPLEX_STEP
                self._blocks[:, :, j] = self._cellwise(Uc, dt_s, source).imag / _COMPLEX_STEP
                Uc[:, j] -= 1j * _COMPLEX_STEP
            self._factor_blocks()
            r.scale(-1.0)
            self.ksp.solve(r, dx)
            if self.ksp.getConvergedReason() < 0:
                raise ConvergenceError(f"soil box: GMRES did not converge ({self.ksp.getConvergedReason()}). "
                                       "Fix: a smaller [macro] dt_h.")
            self.iterations["krylov"] += self.ksp.getIterationNumber()
            self.iterations["newton"] += 1
            step = dx.array.reshape(-1, nsp)[blk]
            U = U + step
            change = self.comm.allreduce(float(np.max(np.abs(step))) if len(step) else 0.0, op=MPI.MAX)
            if change <= self.newton_tol:
                break
        else:
            raise ConvergenceError("soil box: Newton did not converge in 30 iterations. Fix: a smaller "
                                   "[macro] dt_h.")
        self.c = U * self.c_ref
        x.array.reshape(-1, nsp)[blk] = U + shift
        self.A.mult(x, r)
        Q = -dt_s * r.array.reshape(-1, nsp)[blk] * self.c_ref   # rows were scaled by 1/c_ref
        decayed = np.zeros(self.n_owned)
        if self.model.has_citrate:
            rate = np.asarray(self.model.decomposition([self.c[:, i] for i in range(nsp)]), float)
            decayed = np.where(self.rooted, 0.0, dt_s * rate * self.soil_volume())
        return Q, decayed

    def _factor_blocks(self) -> None:
        """Inverses of the cells' Jacobian blocks plus A's diagonal (the preconditioner), in closed
        form for one or two solutes (batched LAPACK on 2×2 systems is far slower)."""
        B = self._blocks.copy()
        idx = np.arange(self.nsp)
        B[:, idx, idx] += self._A_diag
        if self.nsp == 1:
            self._inv = 1.0 / B
        else:
            det = B[:, 0, 0] * B[:, 1, 1] - B[:, 0, 1] * B[:, 1, 0]
            inv = np.empty_like(B)
            inv[:, 0, 0], inv[:, 1, 1] = B[:, 1, 1] / det, B[:, 0, 0] / det
            inv[:, 0, 1], inv[:, 1, 0] = -B[:, 0, 1] / det, -B[:, 1, 0] / det
            self._inv = inv

    def _owned(self, vec) -> np.ndarray:
        """A vector's owned values as (cells, solutes), in the order of the owned cells."""
        a = vec.array_r.reshape(-1, self.nsp)
        return a if self._identity else a[self.block]

    # -- output ------------------------------------------------------------------------------------
    def cell_field(self, name: str, values: np.ndarray):
        """A DG0 scalar field with ``values`` on the owned cells (for XDMF/VTX)."""
        from dolfinx import fem

        f = fem.Function(self.S, name=name)
        f.x.array[self.sblock] = values
        f.x.scatter_forward()
        return f


def _block_mult(B: np.ndarray, x: np.ndarray) -> np.ndarray:
    """B_k x_k for every cell k (B: cells × n × n, x: cells × n), written out for speed."""
    out = B[:, :, 0] * x[:, :1]
    for j in range(1, x.shape[1]):
        out = out + B[:, :, j] * x[:, j:j + 1]
    return out


class _Jacobian:
    """J x = A x + (cell blocks) x, a PETSc shell matrix."""

    def __init__(self, soil: SoilBox):
        self.soil = soil

    def mult(self, _mat, x, y):
        s = self.soil
        s.A.mult(x, y)
        extra = _block_mult(s._blocks, s._owned(x))
        if s._identity:
            y.array.reshape(-1, s.nsp)[:] += extra
        else:
            y.array.reshape(-1, s.nsp)[s.block] += extra


class _BlockJacobi:
    """Inverse of each cell's block of J (cell block + A's diagonal), a PETSc shell PC."""

    def __init__(self, soil: SoilBox):
        self.soil = soil

    def setUp(self, _pc):
        pass

    def apply(self, _pc, x, y):
        s = self.soil
        out = _block_mult(s._inv, s._owned(x))
        if s._identity:
            y.array.reshape(-1, s.nsp)[:] = out
        else:
            y.array.reshape(-1, s.nsp)[s.block] = out
