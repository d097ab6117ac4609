"""Soil meshes of label images: DOLFINx integrates exactly the image's volume and tagged areas.

The reference numbers are counts on the image (voxels × voxel volume, faces × face area,
:func:`geometry_metrics`, itself checked face by face in test_imaging_metrics.py). Both mesh
routes put every vertex on the voxel-corner lattice, so they are exact: the tolerance is
the round-off of summing ~10⁵ facet areas (1e-10 relative).
"""

import dataclasses

import numpy as np
import pytest
from conftest import ROOT
from mpi4py import MPI
from scipy import ndimage
from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging.io import Labels
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.imaging.sample import default_sample, remove_hairs, section_2d
from rhizofem.meshing.graded import graded_simplices
from rhizofem.meshing.quality import element_quality, radius_ratio
from rhizofem.meshing.soil import MeshOptions, measure_tags, soil_mesh_from_image, soil_simplices
from rhizofem.meshing.tags import HAIR_CONTACT, NO_FLUX, ROOT_CONTACT

L = Labels()
SMALL = np.load(ROOT / "meshes" / "small_sample.npy")
H_UM = 9.0
EXACT = 1e-10


def assert_matches_image(measured, image, h_um):
    g = geometry_metrics(image, h_um)
    vol, area = ("volume_mm3", "area_mm2") if image.ndim == 3 else ("area_mm2", "length_mm")
    assert measured["soil"] == pytest.approx(g[f"soil_{vol}"], rel=EXACT)
    for name in ("root_contact", "hair_contact", "no_flux"):
        assert measured[name] == pytest.approx(g[f"{name}_{area}"], rel=EXACT, abs=1e-15)
    # conforming: every exterior facet carries a tag (a crack or hanging node between
    # elements would show up as untagged exterior area)
    tagged = measured["root_contact"] + measured["hair_contact"] + measured["no_flux"]
    assert measured["boundary"] == pytest.approx(tagged, rel=EXACT)


OPTIONS = [
    MeshOptions(),
    MeshOptions(inlet_subdivide=1),
    MeshOptions(coarse_surface=False, coarsest_voxels=4),
    MeshOptions(method="voxel"),
]


@pytest.mark.parametrize("options", OPTIONS, ids=["graded", "subdivide", "fine-surface", "voxel"])
def test_mesh_volume_and_tagged_areas_are_the_images(options):
    tm = soil_mesh_from_image(SMALL, H_UM, L, MPI.COMM_SELF, **dataclasses.asdict(options))
    assert_matches_image(measure_tags(tm), SMALL, H_UM)
    assert tm.names == {"soil": (3, 1), "root_contact": (2, 11), "hair_contact": (2, 12), "no_flux": (2, 13)}


def _smooth_random_labels(rng, shape):
    noise = ndimage.gaussian_filter(rng.random(shape), rng.uniform(0.3, 2.5))
    return np.digitize(noise, np.quantile(noise, [0.1, 0.5, 0.8, 0.9])).astype(np.uint8)  # labels 0..4


@pytest.mark.parametrize("options", OPTIONS[:3] + [MeshOptions(coarsest_voxels=16, size_slope=3.0)],
                         ids=["graded", "subdivide", "fine-surface", "coarse16"])
def test_graded_mesh_on_random_images_is_exact_and_conforming(options):
    """Odd-sized random images (the hardest case for the closure): every face of the mesh
    belongs to one or two cells, the one-cell faces are the tagged facets, and volume and
    tagged areas (from the coordinates, with numpy) are the image's."""
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 6:
        image = _smooth_random_labels(rng, tuple(rng.integers(3, 20, size=3)))
        g = geometry_metrics(image, 1000.0)  # 1 mm voxels: volumes and areas are counts
        if g["root_contact_area_mm2"] + g["hair_contact_area_mm2"] == 0:
            continue
        s = soil_simplices(image, 1000.0, L, options=options)
        faces = np.sort(np.concatenate([np.delete(s.cells, f, axis=1) for f in range(4)]), axis=1)
        uniq, counts = np.unique(faces, axis=0, return_counts=True)
        assert counts.max() == 2
        assert np.array_equal(uniq[counts == 1], np.unique(np.sort(s.facets, axis=1), axis=0))
        p = s.points_mm[s.cells]
        assert np.abs(np.linalg.det(p[:, 1:] - p[:, :1])).sum() / 6 == pytest.approx(g["soil_volume_mm3"], rel=1e-12)
        q = s.points_mm[s.facets]
        area = np.linalg.norm(np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]), axis=1) / 2
        for value, key in ((ROOT_CONTACT, "root_contact"), (HAIR_CONTACT, "hair_contact"), (NO_FLUX, "no_flux")):
            assert area[s.facet_values == value].sum() == pytest.approx(g[f"{key}_area_mm2"], rel=1e-12, abs=1e-12)
        checked += 1


def test_hairless_mesh_has_the_same_soil_and_no_hair_inlet():
    bare = remove_hairs(SMALL, L)
    measured = measure_tags(soil_mesh_from_image(bare, H_UM, L, MPI.COMM_SELF))
    assert_matches_image(measured, bare, H_UM)
    assert measured["hair_contact"] == 0.0
    assert measured["soil"] == pytest.approx(geometry_metrics(SMALL, H_UM)["soil_volume_mm3"], rel=EXACT)


def test_two_dimensional_section():
    section = section_2d(SMALL, axis=2)
    tm = soil_mesh_from_image(section, H_UM, L, MPI.COMM_SELF)
    assert tm.mesh.topology.dim == 2 and tm.names["root_contact"] == (1, 11)
    assert_matches_image(measure_tags(tm), section, H_UM)


def test_graded_mesh_is_coarse_inside_and_voxel_fine_at_the_inlet():
    """A 32³ soil block around a thin root: fewer cells, voxel-size elements at the contact."""
    image = np.full((32, 32, 32), L.soil, dtype=np.uint8)
    image[15:17, 15:17, :] = L.root
    image[:4, :, :] = L.pore
    voxel = soil_simplices(image, 1.0, L, options=MeshOptions(method="voxel"))
    for subdivide in (0, 1):
        graded = soil_simplices(image, 1.0, L, options=MeshOptions(inlet_subdivide=subdivide))
        assert len(graded.cells) < len(voxel.cells) / (4 if subdivide == 0 else 2)
        # the elements along the inlet are those of a voxel (edge √3 voxels), or of a half voxel
        p = graded.points_mm[graded.cells]
        longest = np.max(np.linalg.norm(p[:, :, None] - p[:, None], axis=-1), axis=(1, 2))
        inlet_nodes = np.unique(graded.facets[graded.facet_values == ROOT_CONTACT])
        at_inlet = np.isin(graded.cells, inlet_nodes).any(axis=1)
        assert longest[at_inlet].max() == pytest.approx(np.sqrt(3) * 1e-3 / 2**subdivide, rel=1e-12)
        # far from the root the edges reach the 8-voxel cubes' (the size field: half the distance)
        assert longest.max() >= 8e-3 * (1 - 1e-12)
        assert len(graded.facets[graded.facet_values == NO_FLUX]) < len(voxel.facets[voxel.facet_values == NO_FLUX])


def test_element_shapes():
    """Kuhn tetrahedra have radius ratio 3 r_in / r_circ = 3 (1/2) / (1 + √2) / (√3/2);
    bisection of Kuhn tetrahedra yields at most three similarity classes (Maubach 1995)."""
    kuhn = 3 * 0.5 / (1 + np.sqrt(2)) / (np.sqrt(3) / 2)
    voxel = soil_simplices(SMALL, H_UM, L, options=MeshOptions(method="voxel"))
    assert radius_ratio(voxel.points_mm, voxel.cells) == pytest.approx(kuhn, rel=1e-12)
    graded = soil_simplices(SMALL, H_UM, L)
    shapes = np.unique(np.round(radius_ratio(graded.points_mm, graded.cells), 9))
    assert len(shapes) <= 3 and kuhn == pytest.approx(shapes.max(), rel=1e-8)
    q = element_quality(graded.points_mm, graded.cells)
    assert q["dihedral_angle_min_deg"] == pytest.approx(45.0) and q["dihedral_angle_max_deg"] == pytest.approx(120.0)
    # a regular triangle has radius ratio 1
    tri = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    assert radius_ratio(tri, np.array([[0, 1, 2]]))[0] == pytest.approx(1.0, rel=1e-12)


def test_meshing_is_deterministic():
    a = soil_simplices(SMALL, H_UM, L)
    b = soil_simplices(SMALL.copy(), H_UM, L)
    for field in ("points_mm", "cells", "facets", "facet_values"):
        assert np.array_equal(getattr(a, field), getattr(b, field))


def test_default_sample_mesh():
    """The default sample: exact volume and areas, within the size budget of the exudation demo."""
    image, voxel = default_sample()
    tm = soil_mesh_from_image(image, voxel, L, MPI.COMM_SELF)
    assert_matches_image(measure_tags(tm), image, voxel)
    vertices = tm.mesh.topology.index_map(0).size_global
    cells = tm.mesh.topology.index_map(3).size_global
    # inlet_subdivide = 1 (the default): 201 787 vertices, 849 212 cells against 2.8 M voxel tetrahedra
    assert vertices < 250_000 and cells < 0.35 * 6 * np.count_nonzero(image == L.soil)


@pytest.mark.parametrize("image, fragment", [
    (np.full((4, 4, 4), L.pore), "no soil voxels"),
    (np.full((4, 4, 4), L.soil), "the inlet would be empty"),
    (np.full((4, 4, 4), 17), "label value(s) 17 (64 voxels)"),
])
def test_unusable_images_are_refused(image, fragment):
    with pytest.raises(InputError) as err:
        soil_mesh_from_image(image, 1.0, L, MPI.COMM_SELF)
    assert fragment in str(err.value) and "Fix" in str(err.value)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="coarsest_voxels = 6 is not a power of 2"):
        soil_mesh_from_image(SMALL, H_UM, L, MPI.COMM_SELF, coarsest_voxels=6)
    with pytest.raises(ConfigError, match="Valid options"):
        soil_mesh_from_image(SMALL, H_UM, L, MPI.COMM_SELF, smoothing=True)
    with pytest.raises(ValueError, match="3D"):
        graded_simplices(np.ones((3, 3), bool))


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["graded", "voxel"])
def test_parallel_mesh_matches_serial_and_image(comm, method):
    serial = measure_tags(soil_mesh_from_image(SMALL, H_UM, L, MPI.COMM_SELF, method=method))
    image = SMALL if comm.rank == 0 else None  # only rank 0 needs the image
    tm = soil_mesh_from_image(image, H_UM, L, comm, method=method)
    parallel = measure_tags(tm)
    assert parallel.keys() == serial.keys()
    for k in serial:
        assert parallel[k] == pytest.approx(serial[k], rel=EXACT, abs=1e-15)
    assert_matches_image(parallel, SMALL, H_UM)
    # the mesh is really shared: every rank owns cells
    owned = comm.allgather(tm.mesh.topology.index_map(3).size_local)
    assert min(owned) > 0 and sum(owned) == tm.mesh.topology.index_map(3).size_global


@pytest.mark.mpi
def test_bad_image_raises_on_every_rank(comm):
    image = np.full((4, 4, 4), 17) if comm.rank == 0 else None
    with pytest.raises(InputError, match="label value"):
        soil_mesh_from_image(image, 1.0, L, comm)


# --------------------------------------------------------------------------------------
# Face connectivity: no conduction through voxels that touch only at an edge or a corner
# --------------------------------------------------------------------------------------


def _components(points, cells) -> int:
    """Connected components of the mesh's node graph (shared nodes connect simplices)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(points)
    i = np.repeat(cells[:, 0], cells.shape[1] - 1)
    return connected_components(coo_matrix((np.ones(len(i)), (i, cells[:, 1:].ravel())), shape=(n, n)),
                                directed=False)[0]


def _contacts_image(dim: int) -> np.ndarray:
    """Soil voxels that touch only at corners (a diagonal chain) or along an edge, next to a root."""
    if dim == 2:
        image = np.full((4, 4), L.pore, dtype=np.uint8)
        image[0, :] = L.root
        image[1, 0] = image[2, 1] = image[3, 2] = L.soil  # corner to corner
        return image
    image = np.full((4, 4, 4), L.pore, dtype=np.uint8)
    image[0] = L.root
    image[1, 0, 0] = image[2, 1, 1] = image[3, 2, 2] = L.soil  # corner to corner
    image[1, 3, 3] = image[2, 2, 3] = L.soil  # along an edge (x, y differ; same z)
    return image


@pytest.mark.parametrize("dim, method, subdivide", [(3, "graded", 0), (3, "graded", 1), (3, "voxel", 0),
                                                   (2, "voxel", 0)])
def test_voxels_touching_at_a_point_are_not_connected(dim, method, subdivide):
    """The mesh falls apart into the image's face-connected components (6 in 3D, 4 in 2D: each
    soil voxel here is its own), and stays exact and conforming; without face connectivity the
    shared nodes join them into one."""
    image = _contacts_image(dim)
    structure = ndimage.generate_binary_structure(dim, 1)
    n_face = ndimage.label(image == L.soil, structure)[1]
    n_point = ndimage.label(image == L.soil, np.ones((3,) * dim))[1]
    face = soil_simplices(image, H_UM, options=MeshOptions(method=method, inlet_subdivide=subdivide))
    vertex = soil_simplices(image, H_UM, options=MeshOptions(method=method, inlet_subdivide=subdivide,
                                                              face_connected=False))
    assert (n_face, n_point) == ((5, 1) if dim == 3 else (3, 1))
    assert _components(face.points_mm, face.cells) == n_face
    assert _components(vertex.points_mm, vertex.cells) == n_point
    assert len(face.points_mm) > len(vertex.points_mm) and len(face.cells) == len(vertex.cells)
    tm = soil_mesh_from_image(image, H_UM, None, MPI.COMM_SELF, method=method, inlet_subdivide=subdivide)
    assert_matches_image(measure_tags(tm), image, H_UM)


def test_no_exudate_passes_an_edge_contact():
    """A soil voxel on the root and a second one touching it only along an edge, in a closed box:
    the first fills to c_in, the second stays empty (M → c_in |first|); with shared nodes at
    the edge the second fills too (M → c_in (|first| + |second|))."""
    from rhizofem.models.exudation.diffusion import (assemble_operators, diffusivity_by_cell, inlet_facets,
                                                     simulate, step_sizes)

    image = np.full((3, 2, 2), L.pore, dtype=np.uint8)
    image[0] = L.root
    image[1, 0, 0] = L.soil  # on the root
    image[2, 1, 0] = L.soil  # its edge neighbour (differs along x and y)
    D, c_in, volume = 2.88e-5, 1.0, (H_UM * 1e-3) ** 3
    masses = {}
    for face_connected in (True, False):
        tm = soil_mesh_from_image(image, H_UM, None, MPI.COMM_SELF, method="voxel", face_connected=face_connected)
        ops = assemble_operators(tm, 1, diffusivity_by_cell(tm, D, {}), inlet_facets(tm, ["root"]), c_in)
        _, hist = simulate(ops, step_sizes(100.0, 0.01, 6, 2.0, 10.0), c_in=c_in,
                           petsc_options={"ksp_type": "preonly", "pc_type": "lu"})
        masses[face_connected] = hist.mass_ug[-1] / (c_in * volume)
    print(f"filled voxels: face-connected {masses[True]:.6f}, shared edge nodes {masses[False]:.6f}")
    assert masses[True] == pytest.approx(1.0, rel=1e-9)  # L²/D = 3 ms: filled after 100 s
    assert masses[False] == pytest.approx(2.0, rel=1e-6)
