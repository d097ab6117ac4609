"""Image side of homogenization: clusters and percolation with periodic wrap, the synthetic
sand (porosity, water content and mucilage share met exactly), mirror cells, stored samples.
"""

import numpy as np
import pytest
from conftest import ROOT
from rhizofem.imaging.connectivity import clusters, percolation
from rhizofem.imaging.periodise import mirror_cell, periodic_cell, tile
from rhizofem.imaging.pores import (AIR, MUCILAGE, SOLID, WATER, inclusion_array, laminate, sand,
                                    sand_sample_3d, sand_section_2d)


def staircase(n):
    """A face-connected staircase (0,0), (0,1), (1,1), (1,2), ... that closes on the torus."""
    m = np.zeros((n, n), bool)
    for k in range(n):
        m[k, k] = m[k, (k + 1) % n] = True
    return m


def test_windings_decide_periodic_percolation():
    column = np.zeros((6, 6), bool)
    column[:, 2] = True  # wraps along axis 0 only
    assert percolation(column) == (True, False)
    stairs = staircase(6)  # winds as (1, 1) through faces: conducts along both axes
    assert percolation(stairs) == (True, True)
    assert clusters(stairs).count == 1
    short = np.zeros((6, 6), bool)
    short[1:5, 2] = True
    assert percolation(short) == (False, False)
    # two half-columns offset by one, joined through a face across the border
    zigzag = np.zeros((6, 6), bool)
    zigzag[:3, 1] = zigzag[3:, 2] = True
    zigzag[2, 2] = zigzag[5, 1] = True
    assert percolation(zigzag) == (True, False)
    # touching both faces is not enough on the torus: the path leaves at column 4 and would
    # have to come back in at column 1
    hook = np.zeros((6, 6), bool)
    hook[:5, 1] = True
    hook[4, 1:5] = True
    hook[5, 4] = True
    assert percolation(hook, periodic=False) == (True, False)  # spans the sample
    assert percolation(hook) == (False, False)  # but does not wind


def test_corner_and_edge_contacts_do_not_connect():
    # a chain of pixels touching only at corners: 6 clusters, no percolation, on the torus and
    # between faces; with point connectivity (every corner one node) it is one winding cluster
    diagonal = np.eye(6, dtype=bool)
    for periodic in (True, False):
        assert clusters(diagonal, periodic).count == 6
        assert percolation(diagonal, periodic) == (False, False)
    assert percolation(diagonal, connectivity="point") == (True, True)
    assert clusters(diagonal, connectivity="point").count == 1
    m = np.zeros((5, 5), bool)
    m[0, 0] = m[4, 4] = True  # corner contact across the border
    assert clusters(m).count == 2
    assert clusters(m, connectivity="point").count == 1
    # 3D: voxels along the body diagonal (corner contacts) and along a face diagonal (edge
    # contacts)
    corners = np.zeros((4, 4, 4), bool)
    edges = np.zeros((4, 4, 4), bool)
    for k in range(4):
        corners[k, k, k] = edges[k, k, 1] = True
    for chain in (corners, edges):
        assert clusters(chain).count == 4 and percolation(chain) == (False, False, False)
    assert percolation(corners, connectivity="point") == (True, True, True)
    assert percolation(edges, connectivity="point") == (True, True, False)
    with pytest.raises(ValueError, match="connectivity"):
        clusters(corners, connectivity="edge")


def test_three_dimensional_windings():
    m = np.zeros((5, 5, 5), bool)
    m[:, 0, 0] = True  # a rod along x
    m[2, :, 3] = True  # a rod along y, separate
    c = clusters(m)
    assert c.count == 2
    assert sorted(map(tuple, c.spans.tolist())) == [(False, True, False), (True, False, False)]
    helix = np.zeros((4, 4, 4), bool)
    for k in range(4):  # a face-connected staircase winding as (1, 1, 1)
        helix[k, k, k] = helix[(k + 1) % 4, k, k] = helix[(k + 1) % 4, (k + 1) % 4, k] = True
    assert percolation(helix) == (True, True, True)
    assert clusters(helix).count == 1


@pytest.mark.parametrize("mucilage", [0.0, 0.1])
def test_sand_meets_porosity_water_and_mucilage_exactly(mucilage):
    shape = (64, 48)
    image = sand(shape, 0.41, 0.19, mucilage, gap_px=1.0, seed=5)
    n = image.size
    assert abs(np.sum(image != SOLID) - 0.41 * n) <= 1  # one voxel: rounding of the count
    assert abs(np.sum((image == WATER) | (image == MUCILAGE)) - 0.19 * n) <= 1
    assert abs(np.sum(image == MUCILAGE) - round(mucilage * round(0.19 * n))) <= 1
    assert set(np.unique(image)) <= {SOLID, AIR, WATER, MUCILAGE}
    assert np.array_equal(image, sand(shape, 0.41, 0.19, mucilage, gap_px=1.0, seed=5))  # deterministic


def test_mucilage_bridges_join_liquid():
    # the bridges fill gaps between liquid bodies: fewer liquid clusters than with water alone
    water = sand_section_2d(mucilage=False)
    bridged = sand_section_2d(mucilage=True)
    n_water = clusters(np.isin(water, [WATER, MUCILAGE])).count
    n_bridged = clusters(np.isin(bridged, [WATER, MUCILAGE])).count
    assert n_bridged < n_water
    assert clusters(np.isin(bridged, [WATER, MUCILAGE])).percolates == (True, True)
    assert clusters(np.isin(water, [WATER, MUCILAGE])).percolates == (True, False)


@pytest.mark.parametrize("name, make", [
    ("sand_section_2d.npy", lambda: sand_section_2d(True)),
    ("sand_section_2d_water.npy", lambda: sand_section_2d(False)),
    pytest.param("sand_3d.npy", lambda: sand_sample_3d(True), marks=pytest.mark.slow),
    pytest.param("sand_3d_water.npy", lambda: sand_sample_3d(False), marks=pytest.mark.slow),
])
def test_stored_samples_are_the_generators_output(name, make):
    # `rhizofem homogenize` reads the stored image of a built-in sample when it is there
    # (the 160³ samples take 10-30 s to generate)
    stored = np.load(ROOT / "meshes" / name)
    assert np.array_equal(stored, make())


@pytest.mark.parametrize("mucilage", [False, True])
def test_built_in_samples_percolate_as_documented(mucilage):
    # the 2D section: water alone along x only, the mucilage bridges open y (the seed's
    # story), on the torus and between faces alike; the 3D sample: along every axis
    name = "sand_section_2d.npy" if mucilage else "sand_section_2d_water.npy"
    liquid = np.isin(np.load(ROOT / "meshes" / name), [WATER, MUCILAGE])
    expected = (True, True) if mucilage else (True, False)
    assert percolation(liquid) == percolation(liquid, periodic=False) == expected
    liquid = np.isin(np.load(ROOT / "meshes" / name.replace("section_2d", "3d")), [WATER, MUCILAGE])
    assert percolation(liquid) == percolation(liquid, periodic=False) == (True, True, True)
    assert liquid.shape == (160, 160, 160)


def test_inclusion_array_and_laminate():
    disc = inclusion_array(64, 0.3, 2)
    assert np.mean(disc == SOLID) == pytest.approx(0.3, abs=0.01)  # voxelised disc area
    sphere = inclusion_array(32, 0.2, 3)
    assert np.mean(sphere == SOLID) == pytest.approx(0.2, abs=0.01)
    lam = laminate((6, 4), 0, (2, 1), (5, 7))
    assert lam[:, 0].tolist() == [5, 5, 7, 5, 5, 7] and np.all(lam == lam[:, :1])


def test_mirror_cell_is_symmetric_and_periodic():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4, (3, 4, 2))
    cell = mirror_cell(image)
    assert cell.shape == (6, 8, 4)
    for axis in range(3):
        assert np.array_equal(cell, np.flip(cell, axis))  # symmetric about its mid-planes
    assert np.array_equal(cell[:3, :4, :2], image)
    assert np.array_equal(periodic_cell(image, "translation"), image)
    assert tile(image, 2).shape == (6, 8, 4)
    with pytest.raises(ValueError, match="periodisation"):
        periodic_cell(image, "rotation")
