"""Voxel-conforming simplex meshes reproduce the image: volumes, interface areas, conformity.

The reference numbers are counts on the image itself (voxels × voxel volume, voxel faces ×
face area); the mesh is exact for them, so the tolerance is round-off (1e-12 relative).
"""

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from rhizofem.meshing.to_dolfinx import tagged_mesh
from rhizofem.meshing.voxel import interface_facets, voxel_simplices


def random_labels(shape, seed=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3, size=shape)


def image_counts(labels, inside_label, h):
    """Volume of the label and area of its faces towards each other label / the border."""
    inside = labels == inside_label
    dim = labels.ndim
    vol = inside.sum() * h**dim
    areas = {}
    padded = np.pad(labels, 1, constant_values=-1)
    pin = np.pad(inside, 1, constant_values=False)
    for axis in range(dim):
        for side in (-1, 1):
            nb = np.roll(padded, -side, axis=axis)
            nbin = np.roll(pin, -side, axis=axis)
            sel = pin & ~nbin
            for lab, n in zip(*np.unique(nb[sel], return_counts=True), strict=True):
                areas[int(lab)] = areas.get(int(lab), 0.0) + n * h ** (dim - 1)
    return vol, areas


def build(comm, labels, inside_label, h):
    inside = labels == inside_label
    if comm.rank == 0:
        vm = voxel_simplices(inside, h)
        facets, across, _ = interface_facets(vm, labels, inside)
        values = np.where(across < 0, 100, across + 10).astype(np.int32)
        return tagged_mesh(comm, vm.points, vm.cells, np.ones(len(vm.cells), np.int32), facets, values)
    return tagged_mesh(comm, None, None, None)


def measured(tm):
    msh = tm.mesh
    comm = msh.comm
    one = dolfinx.fem.Constant(msh, 1.0)
    vol = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.dx)), op=MPI.SUM)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)
    areas = {}
    for v in sorted(set(np.concatenate(comm.allgather(tm.facet_tags.values)).tolist())):
        a = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ds(int(v)))), op=MPI.SUM)
        areas[int(v)] = a
    total_ext = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.ds)), op=MPI.SUM)
    return vol, areas, total_ext


@pytest.mark.parametrize("shape", [(7, 6), (6, 5, 4)])
def test_kuhn_mesh_is_exact_and_conforming(shape):
    h = 0.37
    labels = random_labels(shape)
    tm = build(MPI.COMM_SELF, labels, 1, h)
    vol, areas, total_ext = measured(tm)
    ref_vol, ref_areas = image_counts(labels, 1, h)
    assert vol == pytest.approx(ref_vol, rel=1e-12)
    expected = {(100 if lab < 0 else lab + 10): a for lab, a in ref_areas.items()}
    assert areas.keys() == expected.keys()
    for k in expected:
        assert areas[k] == pytest.approx(expected[k], rel=1e-12)
    # conforming: the only exterior facets are the tagged interface facets (no cracks
    # between voxels, which would show up as extra untagged exterior area)
    assert total_ext == pytest.approx(sum(expected.values()), rel=1e-12)


def test_opposite_faces_match_node_for_node():
    """The triangulation of x = 0 and x = L is the same (periodic cell problems need this)."""
    vm = voxel_simplices(np.ones((3, 4, 5), bool), 1.0)
    low = vm.points[np.isclose(vm.points[:, 0], 0.0)][:, 1:]
    high = vm.points[np.isclose(vm.points[:, 0], 3.0)][:, 1:]
    assert sorted(map(tuple, low)) == sorted(map(tuple, high))
    labels = np.zeros((3, 4, 5), int)
    facets, across, _ = interface_facets(vm, labels, labels == 0)
    tri = vm.points[facets]  # (n, 3, 3)
    on = lambda x: np.all(np.isclose(tri[:, :, 0], x), axis=1)  # noqa: E731
    key = lambda t: tuple(sorted(map(tuple, np.round(t[:, 1:], 9))))  # noqa: E731
    assert sorted(map(key, tri[on(0.0)])) == sorted(map(key, tri[on(3.0)]))


@pytest.mark.mpi
def test_parallel_mesh_matches_serial(comm):
    labels = random_labels((8, 7, 6), seed=5)
    serial = measured(build(MPI.COMM_SELF, labels, 2, 1.5))
    parallel = measured(build(comm, labels, 2, 1.5))
    assert parallel[0] == pytest.approx(serial[0], rel=1e-12)
    assert parallel[1].keys() == serial[1].keys()
    for k in serial[1]:
        assert parallel[1][k] == pytest.approx(serial[1][k], rel=1e-12)
