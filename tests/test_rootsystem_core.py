"""Root system arrays: validation, table round trip, and exact root length density."""

import numpy as np
import pytest
from rhizofem.errors import InputError
from rhizofem.rootsystem.architecture import RootSystem, root_length_density


def two_segment_root():
    nodes = np.array([[0.0, 0.0, 0.0], [0.3, 0.4, -1.2], [0.9, -0.2, -2.5]])
    return RootSystem(nodes, np.array([[0, 1], [1, 2]]), np.array([0.05, 0.04]),
                      np.array([1.0, 2.0]), np.array([0, 0]), np.array([0, 0]), np.array([-1]))


def test_rld_integrates_to_the_root_length_inside_the_grid():
    rs = two_segment_root()
    h = np.array([0.25, 0.3, 0.2])
    rld = root_length_density(rs, origin_cm=[-0.5, -0.5, -3.0], spacing_cm=h, shape=(8, 6, 16))
    # grid covers the whole root: ∫ RLD dV = total length exactly (cutting at planes)
    assert rld.sum() * np.prod(h) == pytest.approx(rs.total_length_cm(), rel=1e-12)
    # only the first segment exists at t = 1.5 d
    rld1 = root_length_density(rs, [-0.5, -0.5, -3.0], h, (8, 6, 16), t_d=1.5)
    assert rld1.sum() * np.prod(h) == pytest.approx(rs.lengths_cm()[0], rel=1e-12)


def test_rld_of_an_axis_aligned_root_in_one_column():
    nodes = np.array([[0.05, 0.05, 0.0], [0.05, 0.05, -1.0]])
    rs = RootSystem(nodes, np.array([[0, 1]]), np.array([0.02]), np.array([0.0]),
                    np.array([0]), np.array([0]))
    rld = root_length_density(rs, [0.0, 0.0, -1.0], 0.1, (2, 2, 10))
    assert np.allclose(rld[0, 0, :], 0.1 / 0.001) and rld[1:, :, :].sum() == 0


def test_table_round_trip(tmp_path):
    rs = two_segment_root()
    rs.to_table(tmp_path / "rs.csv")
    back = RootSystem.from_table(tmp_path / "rs.csv")
    assert np.allclose(back.lengths_cm(), rs.lengths_cm())
    assert np.array_equal(back.created_d, rs.created_d)


def test_bad_radius_is_refused():
    rs = two_segment_root()
    with pytest.raises(InputError, match="radii are not > 0"):
        RootSystem(rs.nodes, rs.segments, np.array([0.05, -1.0]), rs.created_d, rs.root_id, rs.order)
