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
    assert np.isnan(back.root_start_d).all()        # not given, not written
    started = RootSystem(rs.nodes, rs.segments, rs.radius_cm, rs.created_d, rs.root_id, rs.order, rs.root_parent,
                         "t", np.array([0.25]))
    started.to_table(tmp_path / "started.csv")
    assert np.array_equal(RootSystem.from_table(tmp_path / "started.csv").root_start_d, [0.25])


def test_emergence_given_estimated_or_refused():
    rs = two_segment_root()
    # not given: the first segment took as long per cm as the second (1 d for 1.45 cm)
    l0, l1 = rs.lengths_cm()
    assert rs.start_times()[0] == pytest.approx(1.0 - l0 * (2.0 - 1.0) / l1, rel=1e-14)
    given = RootSystem(rs.nodes, rs.segments, rs.radius_cm, rs.created_d, rs.root_id, rs.order, rs.root_parent,
                       "t", np.array([0.5]))
    assert given.start_times()[0] == 0.5
    one = RootSystem(rs.nodes[:2], rs.segments[:1], rs.radius_cm[:1], rs.created_d[:1], rs.root_id[:1],
                     rs.order[:1], rs.root_parent, "one segment")
    with pytest.raises(InputError, match=r"emergence time of root\(s\) \[0\] is unknown.*Fix"):
        one.start_times()
    late = RootSystem(rs.nodes, rs.segments, rs.radius_cm, rs.created_d, rs.root_id, rs.order, rs.root_parent,
                      "late", np.array([1.5]))
    with pytest.raises(InputError, match="after its first segment"):
        late.start_times()


def test_bad_radius_is_refused():
    rs = two_segment_root()
    with pytest.raises(InputError, match="radii are not > 0"):
        RootSystem(rs.nodes, rs.segments, np.array([0.05, -1.0]), rs.created_d, rs.root_id, rs.order)
