"""Periodic function spaces as a constraint of their own: a PETSc prolongation P.

A function on the box [lower, upper] that is periodic along some axes takes one value at all
the DOFs that sit at one point of the torus: a DOF on the face x_i = upper_i is the same
unknown as its partner on x_i = lower_i, an edge DOF is one unknown with its 3 partners, a
corner DOF with its 7. :class:`PeriodicConstraint` numbers these unknowns (the *reduced*
DOFs) and builds the prolongation

    P : R^{n_reduced} → R^{n_full},   u = P x,   P_kj = 1 if DOF k is reduced DOF j,

one entry per row. A problem a(u, v) = L(v) on the periodic space is then the Galerkin
system Pᵀ A P x = Pᵀ b (see :class:`rhizofem.fem.constrained.ConstrainedLinearProblem`,
which is handed a constraint and does not know how it was built, as in dolfinx_mpc).

Matching partners. Every DOF coordinate on a periodic face is *wrapped all at once*: each
coordinate at an upper bound is moved to the lower bound, so that a corner maps straight
to the origin corner and an edge to its lowest copy; no face map is chained after another.
DOFs whose wrapped coordinates coincide form one class: a torus point. This holds whatever
DOFs exist: on a pore mesh, a corner may exist at (L, L) and (0, L) but not at (0, 0), and
the two existing copies still become one unknown. The representative of a class is its
DOF with the smallest global index; the reduced DOFs are the representatives, owned by the
rank that owns them.

Parallel. Only DOFs on periodic faces take part in the matching. Each is sent, with its
wrapped coordinates (rounded on a grid of a quarter of the smallest DOF spacing on the
faces), to a "home" rank chosen by a hash of those coordinates; the home rank groups a
class and returns its representative. A second exchange asks the owner of each
representative for its reduced index. Partners on different ranks, ghosts and corners
need no special case: P has rows for owned DOFs only, PETSc's PtAP does the
communication, and :meth:`PeriodicConstraint.prolong` updates ghosts by a forward scatter.

Coincident DOFs. A mesh may hold several DOFs at one point that are *not* one unknown (the
copies of a voxel corner at which liquid voxels meet only at an edge or a corner, see
:mod:`rhizofem.models.homogenization.voxels`). ``tags`` gives each DOF an integer; DOFs
are partners only when their wrapped coordinates *and* their tags agree.

Requirement: partners coincide after wrapping to within a small fraction of the DOF
spacing (matching meshes, e.g. the voxel meshes of :mod:`rhizofem.meshing.voxel`, or a
structured box). :attr:`PeriodicConstraint.num_unmatched` counts face DOFs left without a
partner, which on a full box means that the faces do not match.
"""

from __future__ import annotations

from collections.abc import Sequence

import dolfinx
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

__all__ = ["PeriodicConstraint"]


class PeriodicConstraint:
    """u(x) = u(x + k (upper − lower)) along ``axes``, as a prolongation matrix :attr:`P`.

    Args:
        V: the (Lagrange) function space to constrain.
        lower, upper: corners of the periodic box.
        axes: the periodic axes (default: all of the geometric dimension).
        tags: optional integer per DOF (block) of V, owned and ghost: DOFs are partners only
            when their tags agree too (copies of one point that are different unknowns).

    Attributes:
        P: the prolongation (full ← reduced), a PETSc AIJ matrix.
        num_reduced: global number of reduced DOFs (blocks × block size).
        num_constrained: global number of DOFs that are copies of another (blocks).
        num_remote: how many of those have their representative on another rank.
        num_unmatched: DOFs on an upper face with no partner on the opposite faces. Zero on a
            full box with matching faces; on a pore mesh, where a phase may touch one face
            of the image but not the opposite one, they are legitimate.
    """

    def __init__(self, V: dolfinx.fem.FunctionSpace, lower: Sequence[float], upper: Sequence[float],
                 axes: Sequence[int] | None = None, tags: np.ndarray | None = None):
        self.V = V
        comm = V.mesh.comm
        self.comm = comm
        imap = V.dofmap.index_map
        bs = V.dofmap.index_map_bs
        gdim = V.mesh.geometry.dim
        n_owned = imap.size_local
        start = imap.local_range[0]
        lower = np.asarray(lower, dtype=np.float64)[:gdim]
        upper = np.asarray(upper, dtype=np.float64)[:gdim]
        axes = tuple(range(gdim)) if axes is None else tuple(int(a) for a in axes)
        period = upper - lower
        x = V.tabulate_dof_coordinates()[:n_owned, :gdim]

        spacing = _face_spacing(V, lower, upper, axes)
        on_face = np.zeros(n_owned, dtype=bool)
        wrapped = x.copy()
        for a in axes:
            at_upper = x[:, a] > upper[a] - 0.5 * spacing
            at_lower = x[:, a] < lower[a] + 0.5 * spacing
            on_face |= at_upper | at_lower
            wrapped[at_upper, a] -= period[a]
        grid = 0.25 * spacing
        face = np.flatnonzero(on_face)
        keys = np.rint((wrapped[face] - lower) / grid).astype(np.int64)
        if tags is not None:
            keys = np.column_stack([keys, np.asarray(tags, dtype=np.int64)[:n_owned][face]])
        width = keys.shape[1]
        self_global = start + np.arange(n_owned, dtype=np.int64)

        # -- 1. rendezvous: the home rank of each torus point picks its representative
        rep = self_global.copy()
        home = _hash_rows(keys) % comm.size
        copied = np.any(wrapped[face] != x[face], axis=1).astype(np.int64)  # on an upper face
        recv, back = _exchange(comm, home, np.column_stack([keys, self_global[face], copied]))
        answer = np.empty(len(recv), dtype=np.int64)
        unmatched = 0
        if len(recv):
            order = np.lexsort(recv[:, :width].T[::-1])
            sorted_keys = recv[order, :width]
            new_group = np.ones(len(order), dtype=bool)
            new_group[1:] = np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)
            group = np.cumsum(new_group) - 1
            group_min = np.full(group[-1] + 1, np.iinfo(np.int64).max)
            np.minimum.at(group_min, group, recv[order, width])
            answer[order] = group_min[group]
            size = np.bincount(group)
            unmatched = int(np.sum((size[group] == 1) & (recv[order, width + 1] == 1)))
        rep[face] = back(answer)

        # -- 2. reduced numbering: representatives, counted on the rank that owns them
        is_rep = rep == self_global
        n_red = int(is_rep.sum())
        red_start = comm.exscan(n_red) or 0
        red_of_rep = np.full(n_owned, -1, dtype=np.int64)
        red_of_rep[is_rep] = red_start + np.arange(n_red, dtype=np.int64)
        ranges = np.array(comm.allgather(imap.local_range[1]), dtype=np.int64)
        copies = np.flatnonzero(~is_rep)
        owner = np.searchsorted(ranges, rep[copies], side="right")
        recv, back = _exchange(comm, owner, rep[copies, None])
        looked_up = red_of_rep[recv[:, 0] - start] if len(recv) else np.empty(0, np.int64)
        if np.any(looked_up < 0):
            raise RuntimeError("periodic constraint: a representative is itself a copy (internal error)")
        reduced = red_of_rep.copy()
        reduced[copies] = back(looked_up)
        self._reduced_block = reduced  # global reduced block index of each owned block
        self.num_constrained = comm.allreduce(len(copies), op=MPI.SUM)
        self.num_unmatched = comm.allreduce(unmatched, op=MPI.SUM)
        self.num_remote = comm.allreduce(int(np.sum(owner != comm.rank)), op=MPI.SUM)
        self.spacing = spacing
        self.bs = bs
        self.num_reduced = comm.allreduce(n_red, op=MPI.SUM) * bs

        # -- 3. P: one unit entry per owned row
        cols = (reduced[:, None] * bs + np.arange(bs)).ravel().astype(PETSc.IntType)
        indptr = np.arange(n_owned * bs + 1, dtype=PETSc.IntType)
        P = PETSc.Mat().createAIJ(
            size=((n_owned * bs, imap.size_global * bs), (n_red * bs, self.num_reduced)),
            csr=(indptr, cols, np.ones(n_owned * bs, dtype=PETSc.ScalarType)), comm=comm)
        P.assemble()
        self.P = P
        self._rep_local = np.flatnonzero(is_rep)  # owned blocks that are representatives

    # -- the constrained space -------------------------------------------------------------
    def reduced_index(self) -> np.ndarray:
        """Global reduced index of each owned DOF of V (blocks expanded)."""
        return (self._reduced_block[:, None] * self.bs + np.arange(self.bs)).ravel()

    def reduce(self, A: PETSc.Mat) -> PETSc.Mat:
        """Pᵀ A P: the operator on the periodic space."""
        return A.PtAP(self.P)

    def restrict(self, b: PETSc.Vec) -> PETSc.Vec:
        """Pᵀ b for an assembled (ghost-accumulated) right-hand side of V."""
        br = self.P.createVecRight()
        self.P.multTranspose(b, br)
        return br

    def prolong(self, x: PETSc.Vec, u: dolfinx.fem.Function) -> None:
        """u = P x, owned and ghost values."""
        self.P.mult(x, u.x.petsc_vec)
        u.x.scatter_forward()

    def inject(self, u: dolfinx.fem.Function) -> PETSc.Vec:
        """The reduced vector holding u's values at the representatives (u periodic ⇒ P x = u)."""
        x = self.P.createVecRight()
        owned = (self._rep_local[:, None] * self.bs + np.arange(self.bs)).ravel()
        x.array[:] = u.x.array[owned]
        return x


def _face_spacing(V, lower, upper, axes) -> float:
    """Shortest cell edge among cells with a vertex on a periodic face, divided by the degree:
    a lower bound of the distance between two distinct DOFs on a face."""
    mesh = V.mesh
    tdim = mesh.topology.dim
    xg = mesh.geometry.x[:, : len(lower)]
    vertices = mesh.geometry.dofmaps[0][:, : tdim + 1]
    tol = 1e-9 * float(np.max(upper - lower))
    near = np.zeros(len(xg), dtype=bool)
    for a in axes:
        near |= (np.abs(xg[:, a] - lower[a]) < tol) | (np.abs(xg[:, a] - upper[a]) < tol)
    cells = vertices[np.any(near[vertices], axis=1)]
    local = np.inf
    for i in range(tdim + 1):
        for j in range(i + 1, tdim + 1):
            if len(cells):
                local = min(local, float(np.min(np.linalg.norm(xg[cells[:, i]] - xg[cells[:, j]], axis=1))))
    spacing = mesh.comm.allreduce(local, op=MPI.MIN)
    if not np.isfinite(spacing):  # no DOF on any periodic face: any positive number will do
        spacing = float(np.max(upper - lower))
    return spacing / max(V.element.basix_element.degree, 1)


def _hash_rows(keys: np.ndarray) -> np.ndarray:
    """A non-negative hash of integer rows (the home rank of a torus point)."""
    h = np.zeros(len(keys), dtype=np.uint64)
    for col, prime in zip(keys.T, (73856093, 19349663, 83492791, 2654435761), strict=False):
        h ^= col.astype(np.uint64) * np.uint64(prime)
    return (h % np.uint64(2**31 - 1)).astype(np.int64)


def _exchange(comm: MPI.Comm, dest: np.ndarray, rows: np.ndarray):
    """Send row k of ``rows`` (int64) to rank ``dest[k]``.

    Returns the rows received (grouped by source rank) and ``back(answers)``, which sends one
    int64 answer per received row back to its sender and returns them in the order of the
    rows sent.
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    width = rows.shape[1]
    order = np.argsort(dest, kind="stable")
    send_counts = np.bincount(dest, minlength=comm.size).astype(np.int64)
    recv_counts = np.array(comm.alltoall(send_counts.tolist()), dtype=np.int64)
    send = np.ascontiguousarray(rows[order])
    recv = np.empty((int(recv_counts.sum()), width), dtype=np.int64)
    comm.Alltoallv([send, (send_counts * width, _displ(send_counts) * width), MPI.INT64_T],
                   [recv, (recv_counts * width, _displ(recv_counts) * width), MPI.INT64_T])

    def back(answers: np.ndarray) -> np.ndarray:
        answers = np.ascontiguousarray(answers, dtype=np.int64)
        got = np.empty(len(order), dtype=np.int64)
        comm.Alltoallv([answers, (recv_counts, _displ(recv_counts)), MPI.INT64_T],
                       [got, (send_counts, _displ(send_counts)), MPI.INT64_T])
        out = np.empty_like(got)
        out[order] = got
        return out

    return recv, back


def _displ(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
