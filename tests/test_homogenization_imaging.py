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


def test_windings_decide_periodic_percolation():
    column = np.zeros((6, 6), bool)
    column[:, 2] = True  # wraps along axis 0 only
    assert percolation(column) == (True, False)
    diagonal = np.eye(6, dtype=bool)  # winds as (1, 1): conducts along both axes
    assert percolation(diagonal) == (True, True)
    assert clusters(diagonal).count == 1
    short = np.zeros((6, 6), bool)
    short[1:5, 2] = True
    assert percolation(short) == (False, False)
    # two half-columns offset by one: joined only through a diagonal contact across the border
    zigzag = np.zeros((6, 6), bool)
    zigzag[:3, 1] = zigzag[3:, 2] = True
    assert percolation(zigzag) == (True, False)
    # touching both faces is not enough on the torus: the path leaves at column 4 and would
    # have to come back in at column 1
    hook = np.zeros((6, 6), bool)
    hook[:5, 1] = True
    hook[4, 1:5] = True
    hook[5, 4] = True
    assert percolation(hook, periodic=False) == (True, False)  # spans the sample
    assert percolation(hook) == (False, False)  # but does not wind


def test_corners_join_across_the_border_and_clusters_merge():
    m = np.zeros((5, 5), bool)
    m[0, 0] = m[4, 4] = True  # one cluster on the torus (corner contact)
    c = clusters(m)
    assert c.count == 1 and c.labels[0, 0] == c.labels[4, 4]
    assert clusters(m, periodic=False).count == 2
    assert list(c.sizes) == [2]


def test_three_dimensional_windings():
    m = np.zeros((5, 5, 5), bool)
    m[:, 0, 0] = True  # a rod along x
    m[2, :, 3] = True  # a rod along y, separate
    c = clusters(m)
    assert c.count == 2
    assert sorted(map(tuple, c.spans.tolist())) == [(False, True, False), (True, False, False)]
    helix = np.zeros((4, 4, 4), bool)
    for k in range(4):
        helix[k, k, k] = True  # winds as (1, 1, 1)
    assert percolation(helix) == (True, True, True)


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


@pytest.mark.parametrize("name, make", [
    ("sand_section_2d.npy", lambda: sand_section_2d(True)),
    ("sand_section_2d_water.npy", lambda: sand_section_2d(False)),
    ("sand_3d.npy", lambda: sand_sample_3d(True)),
    ("sand_3d_water.npy", lambda: sand_sample_3d(False)),
])
def test_stored_samples_are_the_generators_output(name, make):
    stored = np.load(ROOT / "meshes" / name)
    assert np.array_equal(stored, make())


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
