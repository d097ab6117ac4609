"""DOC in the liquid: an implicit finite-volume diffusion step on the liquid voxels, and its sources.

For liquid voxel i of volume V = h³ with concentration c_i (µg C per cm³ of liquid), backward
Euler over a step Δt reads

    V c_i^{n+1} + Δt [ Σ_j g_ij (c_i^{n+1} − c_j^{n+1}) + g_i^out c_i^{n+1} ] = V c_i^*,

where j runs over the liquid voxels that share a *face* with i, g_ij = h · 2 D_i D_j/(D_i + D_j)
(the harmonic mean of the two voxels' diffusivities over the centre distance h, times the face
area h²), g_i^out = 2 D_i h per face on a sink face of the image (c = 0 half a voxel outside),
and c^* is c^n after the step's uptake by bacteria and release by POM, root and necromass
(operator splitting: reactions first, then diffusion). The matrix A = M + Δt K is symmetric
positive definite and the same at every step (a constant Δt): it is factorised once (sparse
Cholesky, MUMPS) and each step is two triangular solves; images too large to factorise use
conjugate gradients with GAMG instead (``[numerics] solver``).

**Conservative update.** With x the solver's answer, the step moves DOC by the fluxes of the
discrete operator evaluated at x, V c^{n+1} = V c^* − Δt K x, i.e. c^{n+1} = x + (V c^* − A x)/V.
The columns of K sum to g^out, so Σ V c^{n+1} = Σ V c^* − Δt Σ g^out x to round-off *whatever
the solver's residual*: the counted outflow Δt Σ g^out x is exactly the DOC that left, and
the solver's accuracy enters only c^{n+1} itself (by the residual over V).

The operator is cell-centred on the voxels, as the image is: a voxel is a control volume,
a face between two liquid voxels is a flux path, an edge or corner contact is none (the face
connectivity of the liquid). docs/microbes.md compares it with DOLFINx Q1 on the same voxels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from rhizofem.fem.solvers import create_ksp, solve
from rhizofem.output.performance import Clock

from .domain import Domain, boundary_faces

__all__ = ["Diffusion", "build_diffusion"]

S_PER_H = 3600.0


@dataclass
class Diffusion:
    """The assembled implicit DOC step of this rank's slab."""

    A: PETSc.Mat
    ksp: PETSc.KSP
    x: PETSc.Vec
    b: PETSc.Vec
    volume_cm3: float
    out_conductance: np.ndarray        # per owned liquid voxel, cm³/h (0 off the sink faces)
    dt_h: float
    ext: PETSc.Vec                     # sequential: the extended (slab + ghost planes) values
    scatter: PETSc.Scatter
    r: PETSc.Vec                       # A x of the last step
    solver: str = ""
    iterations: list = field(default_factory=list)
    solve_s: float = 0.0

    def step(self, c_star: np.ndarray) -> tuple[np.ndarray, float]:
        """c^{n+1} of the owned voxels from c^*, and the mass that left through sink faces (µg C)."""
        t0 = time.perf_counter()
        self.b.array[:] = self.volume_cm3 * c_star
        # CG starts from zero: Δt D/h² ~ 10⁴, so c^{n+1} is close to the mean of c^* over each
        # connected liquid body, and neither c^* nor c^n as a first guess saved iterations
        self.iterations.append(solve(self.ksp, self.b, self.x, "DOC diffusion step"))
        self.A.mult(self.x, self.r)           # conservative update: c = x + (V c* − A x)/V
        c = self.x.array + (self.b.array - self.r.array) / self.volume_cm3
        out = self.dt_h * float(np.dot(self.out_conductance, self.x.array))
        self.solve_s += time.perf_counter() - t0
        return c, out

    def extend(self, owned: np.ndarray) -> np.ndarray:
        """Owned values → values on the slab and its ghost planes (a collective call)."""
        self.x.array[:] = owned
        self.scatter.scatter(self.x, self.ext, addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        return self.ext.array.copy()

    def destroy(self) -> None:
        for obj in (self.ksp, self.A, self.x, self.b, self.r, self.ext, self.scatter):
            obj.destroy()


def conductances(dom: Domain, D_cm2_h: float, sink_faces) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Face conductances of this rank's owned rows: (row, column, g) for liquid–liquid faces in
    global liquid numbers, and g^out per owned voxel."""
    lo, hi = dom.owned
    flat = dom.liquid_flat[lo:hi]
    h = dom.voxel_um * 1e-4
    Di = D_cm2_h * dom.D_factor[lo:hi]
    rows, cols, vals = [], [], []
    for k in range(6):
        nb = dom.neighbour(flat, k)
        ok = dom.is_liquid(nb)
        j = dom.liquid_index[nb[ok]].astype(np.int64)
        Dj = D_cm2_h * dom.D_factor[j]
        rows.append(np.flatnonzero(ok) + lo)
        cols.append(j)
        vals.append(h * 2.0 * Di[ok] * Dj / (Di[ok] + Dj))
    g_out = 2.0 * Di * h * boundary_faces(dom, flat, sink_faces)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), g_out


def build_diffusion(dom: Domain, D_cm2_s: float, dt_h: float, sink_faces, petsc_options: dict,
                    comm: MPI.Comm, clock: Clock | None = None) -> Diffusion:
    """Assemble V + Δt K for the owned rows (global liquid numbering) and its solver
    (``petsc_options``: :meth:`~.config.Numerics.options_for`, or any KSP/PC options)."""
    clock = clock if clock is not None else Clock()
    clock.switch("assembly")
    lo, hi = dom.owned
    n_own, N = hi - lo, dom.n_liquid
    rows, cols, g, g_out = conductances(dom, D_cm2_s * S_PER_H, sink_faces)
    V = dom.voxel_cm3
    diag = V + dt_h * (np.bincount(rows - lo, weights=g, minlength=n_own) + g_out)
    r = np.concatenate([rows, np.arange(lo, hi)])
    c = np.concatenate([cols, np.arange(lo, hi)])
    v = np.concatenate([-dt_h * g, diag])
    order = np.lexsort((c, r))
    r, c, v = r[order] - lo, c[order], v[order]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=n_own)))).astype(PETSc.IntType)
    A = PETSc.Mat().createAIJ(size=((n_own, N), (n_own, N)),
                              csr=(indptr, c.astype(PETSc.IntType), v.astype(PETSc.ScalarType)), comm=comm)
    A.assemble()
    A.setOption(PETSc.Mat.Option.SPD, True)
    ksp = create_ksp(A, petsc_options, name="microbes_doc")
    clock.switch("preconditioner_setup")
    ksp.setUp()  # the AMG hierarchy or the Cholesky factor, built once and kept for every step
    clock.switch(None)
    x, b = A.createVecs()
    r = b.duplicate()
    e0, e1 = dom.extended
    ext = PETSc.Vec().createSeq(e1 - e0, comm=PETSc.COMM_SELF)
    is_from = PETSc.IS().createStride(e1 - e0, first=e0, step=1, comm=PETSc.COMM_SELF)
    scatter = PETSc.Scatter().create(x, is_from, ext, None)
    is_from.destroy()
    solver = ("direct (MUMPS Cholesky, factorised once)" if petsc_options.get("pc_type") in ("cholesky", "lu")
              else f"{petsc_options.get('ksp_type', 'cg')} + {petsc_options.get('pc_type', 'gamg')}")
    return Diffusion(A, ksp, x, b, V, g_out, dt_h, ext, scatter, r, solver)
