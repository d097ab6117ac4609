"""Root-system I/O: RSML read/write, CPlantBox import, and the ExudationModel peer's formula."""

import importlib.util
import sys

import numpy as np
import pytest
from rhizofem.errors import InputError
from rhizofem.rootsystem.architecture import RootSystem
from rhizofem.rootsystem.rsml import RSMLDefaultWarning, _polyline, read_rsml, write_rsml

from conftest import ROOT

FIELDS = ("nodes", "segments", "radius_cm", "created_d", "root_id", "order", "root_parent")


def branched_root_system():
    """Tap root (4 segments), a lateral from its node 2, and a lateral of that lateral; nodes
    in the reader's order (roots depth first), coordinates that do not print short."""
    rng = np.random.default_rng(7)
    tap = np.column_stack([rng.normal(0, 0.1, 5), rng.normal(0, 0.1, 5), -np.linspace(0.3, 4.1, 5)])
    lat = tap[2] + np.cumsum(rng.normal([0.4, 0.1, -0.1], 0.05, (3, 3)), axis=0)
    lat2 = lat[1] + np.cumsum(rng.normal([0.0, 0.3, -0.1], 0.05, (2, 3)), axis=0)
    nodes = np.vstack([tap, lat, lat2])  # 5 + 3 + 2 nodes
    segments = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [2, 5], [5, 6], [6, 7], [6, 8], [8, 9]])
    radius = np.array([0.06, 0.06, 0.055, 0.05, 0.03, 0.03, 0.028, 0.02, 0.019]) + rng.uniform(0, 1e-3, 9)
    created = np.array([0.5, 1.1, 1.9, 2.6, 3.1, 3.4, 3.9, 4.2, 4.9]) + rng.uniform(0, 1e-2, 9)
    return RootSystem(nodes, segments, radius, created, np.array([0, 0, 0, 0, 1, 1, 1, 2, 2]),
                      np.array([0, 0, 0, 0, 1, 1, 1, 2, 2]), np.array([-1, 0, 1]), "test")


def test_rsml_round_trip_is_exact(tmp_path):
    rs = branched_root_system()
    write_rsml(rs, tmp_path / "rs.rsml")
    back = read_rsml(tmp_path / "rs.rsml")
    for name in FIELDS:  # repr floats: the same binary numbers come back
        assert np.array_equal(getattr(back, name), getattr(rs, name)), name
    # the emergence times (estimated here: the source gave none) travel on each root's first point
    assert np.array_equal(back.root_start_d, rs.start_times())
    # given emergence times come back as given
    given = RootSystem(*(getattr(rs, n) for n in FIELDS[:6]), rs.root_parent, "t", np.array([0.1, 2.95, 3.8]))
    write_rsml(given, tmp_path / "given.rsml")
    assert np.array_equal(read_rsml(tmp_path / "given.rsml").root_start_d, [0.1, 2.95, 3.8])


LATERAL_MM = """<?xml version="1.0" encoding="UTF-8"?>
<rsml xmlns:po="http://www.plantontology.org/xml-dtd/po.dtd">
  <metadata><version>1</version><unit>{unit}</unit><resolution>{resolution}</resolution></metadata>
  <scene><plant>
    <root ID="tap" label="primary">
      <geometry><polyline>
        <point x="0" y="0" z="0"/><point x="0" y="0" z="-30"/><point x="0" y="0" z="-50"/>
      </polyline></geometry>
      <functions>
        <function name="diameter" domain="polyline"><sample>1.0</sample><sample>1.0</sample><sample>0.8</sample></function>
        <function name="emergence_time" domain="polyline"><sample>0</sample><sample>3</sample><sample>5</sample></function>
      </functions>
      <root ID="lat1" label="lateral">
        <geometry><polyline><point x="0" y="0" z="-30"/><point x="30" y="0" z="-70"/></polyline></geometry>
        <functions>
          <function name="diameter" domain="polyline"><sample value="0.4"/><sample value="0.4"/></function>
          <function name="emergence_time" domain="polyline"><sample>4</sample><sample>6</sample></function>
        </functions>
      </root>
    </root>
  </plant></scene>
</rsml>
"""


def test_hand_written_rsml_with_a_lateral(tmp_path):
    path = tmp_path / "lat.rsml"
    path.write_text(LATERAL_MM.format(unit="mm", resolution="1"))
    rs = read_rsml(path)
    # mm -> cm; tap root 3 + 2 cm; lateral (0,0,-3) -> (3,0,-7): 5 cm (3-4-5 triangle)
    assert np.allclose(rs.lengths_cm(), [3.0, 2.0, 5.0], rtol=1e-15)
    assert rs.total_length_cm() == pytest.approx(10.0, rel=1e-15)
    assert len(rs.nodes) == 4  # the lateral starts on its parent's node (shared)
    assert rs.segments[2, 0] == 1 and np.allclose(rs.nodes[1], [0, 0, -3.0])
    assert list(rs.root_parent) == [-1, 0] and list(rs.order) == [0, 0, 1] and list(rs.root_id) == [0, 0, 1]
    # radius = diameter/2 of each segment's distal point, in cm
    assert np.allclose(rs.radius_cm, [0.05, 0.04, 0.02], rtol=1e-15)
    assert np.array_equal(rs.created_d, [3.0, 5.0, 6.0])


def test_units_inch_pixels_and_2d(tmp_path):
    mm = tmp_path / "mm.rsml"
    mm.write_text(LATERAL_MM.format(unit="mm", resolution="1"))
    # the same coordinates read as pixels at 300 per inch: scale 2.54/300 cm instead of 0.1 cm
    inch = tmp_path / "inch.rsml"
    inch.write_text(LATERAL_MM.format(unit="inch", resolution="300"))
    a, b = read_rsml(mm), read_rsml(inch)
    assert np.allclose(b.nodes, a.nodes * (2.54 / 300) / 0.1, rtol=1e-14)
    assert np.allclose(b.radius_cm, a.radius_cm * (2.54 / 300) / 0.1, rtol=1e-14)
    px = tmp_path / "px.rsml"
    px.write_text(LATERAL_MM.format(unit="pixel", resolution="1"))
    with pytest.raises(InputError, match="pixel_size_cm"):
        read_rsml(px)
    assert np.allclose(read_rsml(px, pixel_size_cm=0.01).nodes, a.nodes * 0.1, rtol=1e-14)
    # 2D image coordinates (y down) become (x, 0, -y)
    flat = tmp_path / "2d.rsml"
    flat.write_text(LATERAL_MM.format(unit="cm", resolution="1").replace(' z="', ' q="')
                    .replace('y="0" q=', 'y=').replace('q="', 'y="'))
    rs2 = read_rsml(flat)
    assert np.allclose(rs2.nodes[:, 1], 0.0) and np.allclose(rs2.nodes[:, 2], [0, 30, 50, 70])


def test_cplantbox_style_parent_node_and_ages(tmp_path):
    """A lateral written without its first node (CPlantBox style, parent-node = index into the
    parent's polyline) starts from that parent point; ``age`` gives created = t_obs - age."""
    text = """<rsml><metadata><unit>cm</unit></metadata><scene><plant>
      <root ID="1"><geometry><polyline><point x="0" y="0" z="0"/><point x="0" y="0" z="-1"/>
        <point x="0" y="0" z="-2"/></polyline></geometry>
        <functions><function name="age" domain="polyline"><sample>6</sample><sample>4</sample><sample>1</sample></function></functions>
        <root ID="2"><geometry><polyline><point x="0.6" y="0" z="-1.8"/><point x="1.2" y="0" z="-2.6"/></polyline></geometry>
          <properties><parent-node value="1"/><diameter value="0.1"/></properties>
          <functions><function name="age" domain="polyline"><sample>2</sample><sample>0.5</sample></function></functions>
        </root></root></plant></scene></rsml>"""
    path = tmp_path / "cpb.rsml"
    path.write_text(text)
    with pytest.warns(RSMLDefaultWarning, match="IDs 1"):  # the tap root has no diameter
        rs = read_rsml(path, default_radius_cm=0.07)
    # lateral: (0,0,-1) -> (0.6,0,-1.8) -> (1.2,0,-2.6): two 1-cm segments
    assert np.allclose(rs.lengths_cm(), [1, 1, 1, 1], rtol=1e-14)
    assert rs.segments[2, 0] == 1  # joined to the parent's node 1
    assert np.allclose(rs.radius_cm, [0.07, 0.07, 0.05, 0.05])
    assert np.allclose(rs.created_d, [2.0, 5.0, 4.0, 5.5])  # t_obs = 6 (oldest age)
    with pytest.warns(RSMLDefaultWarning):
        rs8 = read_rsml(path, observation_time_d=8.0, default_radius_cm=0.07)
    assert np.allclose(rs8.created_d, rs.created_d + 2.0)


@pytest.mark.parametrize("text, match", [
    ("this is not xml", "not an XML file"),
    ("<rsml><scene><plant/></scene></rsml>", "no <root>"),
    ("<rsml><scene><plant><root ID='r7'><geometry><polyline><point x='0' y='0' z='0'/>"
     "</polyline></geometry></root></plant></scene></rsml>", "root ID=r7 has a polyline with 1 point"),
    ("<rsml><scene><plant><root ID='r8'><geometry><polyline><point x='0' y='0' z='0'/>"
     "<point x='0' y='0' z='-1'/></polyline></geometry><functions><function name='diameter'>"
     "<sample>0.1</sample></function></functions></root></plant></scene></rsml>",
     "root ID=r8: function 'diameter' has 1 samples for 2 polyline points"),
    ("<rsml><metadata><unit>furlong</unit></metadata><scene/></rsml>", "unknown metadata <unit>"),
])
def test_bad_rsml_is_refused_with_file_root_and_fix(tmp_path, text, match):
    path = tmp_path / "bad.rsml"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        read_rsml(path)
    assert "bad.rsml" in str(err.value) and "Fix" in str(err.value)


def test_writing_a_branched_root_id_is_refused():
    rs = branched_root_system()
    bad = RootSystem(rs.nodes, rs.segments, rs.radius_cm, rs.created_d, np.where(rs.root_id == 2, 1, rs.root_id),
                     rs.order, rs.root_parent, "t")
    with pytest.raises(InputError, match="not a single unbranched chain"):
        write_rsml(bad, "unused.rsml")


# -- CPlantBox ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def faba():
    pytest.importorskip("plantbox")
    from rhizofem.rootsystem.cplantbox import vicia_faba
    return vicia_faba(t_end_d=10.0, seed=1)


def test_cplantbox_import_matches_cplantbox(faba):
    import plantbox as pb
    rs, cpb = faba
    sa = pb.SegmentAnalyser(cpb)
    # same segments, so the same total length up to summation order
    assert rs.n_segments == len(cpb.getSegments()) == 1067
    assert rs.total_length_cm() == pytest.approx(sa.getSummed("length"), rel=1e-12)
    assert np.allclose(np.sort(rs.radius_cm), np.sort(sa.getParameter("radius")), rtol=0, atol=0)
    assert rs.n_roots == len(cpb.getRoots()) and rs.root_parent[0] == -1
    for r in range(rs.n_roots):
        chain = _polyline(rs, r)  # base-to-tip chain: raises unless the root is one polyline
        assert np.all(np.diff(rs.created_d[chain]) >= 0), f"creation times not monotone on root {r}"
        p = rs.root_parent[r]
        assert (p == -1) == (rs.order[chain[0]] == 0)
        if p >= 0:  # a lateral starts on a node of its parent
            assert rs.segments[chain[0], 0] in rs.segments[rs.root_id == p]
            assert rs.order[chain[0]] == rs.order[rs.root_id == p][0] + 1


def test_emergence_times_are_cplantbox_own_for_every_root(faba, tmp_path):
    """Each root's tip path starts at CPlantBox's creation time of the root's first node, also
    for roots of one segment (whose first node is the parent's node, created days earlier),
    whether the root system is imported, read from CPlantBox's RSML or from rhizofem's."""
    from rhizofem.models.rhizodeposition.superposition import root_trajectories
    from rhizofem.rootsystem.cplantbox import quiet_stdout
    rs, cpb = faba
    roots = sorted((r for r in cpb.getRoots() if r.getNumberOfNodes() > 1), key=lambda r: r.getId())
    emergence = np.array([r.getNodeCT(0) for r in roots])
    # the case that was wrong: one-segment laterals whose parent node appeared much earlier
    one_segment = [k for k, r in enumerate(roots) if r.getNumberOfNodes() == 2
                   and r.getParent().getNodeCT(r.parentNI) < r.getNodeCT(0) - 1.0]
    assert len(one_segment) >= 1
    with quiet_stdout():
        cpb.write(str(tmp_path / "cpb.rsml"))
    write_rsml(rs, tmp_path / "ours.rsml")
    for source, system, atol in (("import", rs, 0.0), ("rhizofem RSML", read_rsml(tmp_path / "ours.rsml"), 0.0),
                                 # CPlantBox prints 8 significant digits (age and times ≤ 10 d)
                                 ("CPlantBox RSML", read_rsml(tmp_path / "cpb.rsml"), 1e-6)):
        start = np.array([tr.times_d[0] for tr in root_trajectories(system)])
        assert len(start) == len(roots), source
        assert np.allclose(start, emergence, rtol=0, atol=atol), (source, np.abs(start - emergence).max())


def test_released_mass_of_a_cplantbox_root_system_is_the_closed_form(faba):
    """Mass released by every tip and not decayed: Σ_roots Q (1 − e^{−k'(t1 − t0)}) e^{−k'(t − t1)}/k',
    t0 = CPlantBox's emergence, t1 = its last node (the root stopped) or t; an independent sum."""
    from rhizofem.models.rhizodeposition.superposition import SourceParams, released_mass_ug, root_trajectories
    rs, cpb = faba
    p = SourceParams("point", 33.38, 1.04e-3, 0.3, 1.0, 0.22)
    t, k = 10.0, p.k_eff
    exact = 0.0
    for r in cpb.getRoots():
        n = r.getNumberOfNodes()
        if n > 1:
            t0, t1 = r.getNodeCT(0), min(r.getNodeCT(n - 1), t)
            exact += p.release * (1 - np.exp(-k * (t1 - t0))) * np.exp(-k * (t - t1)) / k
    got = sum(released_mass_ug(tr, p, t) for tr in root_trajectories(rs))
    assert got == pytest.approx(exact, rel=1e-10)


def test_rsml_written_by_cplantbox_reads_back(faba, tmp_path):
    import plantbox as pb
    from rhizofem.rootsystem.cplantbox import quiet_stdout
    rs, cpb = faba
    with quiet_stdout():
        cpb.write(str(tmp_path / "faba.rsml"))
    back = read_rsml(tmp_path / "faba.rsml")
    assert back.n_segments == rs.n_segments and back.n_roots == rs.n_roots
    # CPlantBox prints 8 significant digits: lengths agree to ~1e-8 relative
    assert back.total_length_cm() == pytest.approx(pb.SegmentAnalyser(cpb).getSummed("length"), rel=1e-7)
    assert np.allclose(np.sort(back.created_d), np.sort(rs.created_d), rtol=1e-12)
    assert np.allclose(np.sort(back.radius_cm), np.sort(rs.radius_cm), rtol=1e-7)
    assert np.array_equal(np.bincount(back.order), np.bincount(rs.order))
    # and rhizofem's own writer keeps CPlantBox's segments
    write_rsml(rs, tmp_path / "ours.rsml")
    ours = read_rsml(tmp_path / "ours.rsml")
    assert ours.total_length_cm() == pytest.approx(rs.total_length_cm(), rel=1e-13)
    assert np.array_equal(np.sort(ours.created_d), np.sort(rs.created_d))
    # CPlantBox's own RSML reader reads rhizofem's file to the same length (it adds a
    # zero-length parent-node -> first-point segment per lateral) and finds both functions
    from plantbox.rsml import rsml_reader
    polylines, props, funcs, _ = rsml_reader.read_rsml(str(tmp_path / "ours.rsml"))
    nodes, segs = rsml_reader.get_segments(polylines, props)
    length = np.linalg.norm(nodes[segs[:, 1]] - nodes[segs[:, 0]], axis=1).sum()
    assert length == pytest.approx(rs.total_length_cm(), rel=1e-13)
    assert len(segs) == rs.n_segments + rs.n_roots - 1
    assert {"diameter", "node_creation_time"} <= set(funcs)


def test_plant_class_is_imported_too():
    pb = pytest.importorskip("plantbox")
    from rhizofem.rootsystem.cplantbox import from_cplantbox, parameter_file, quiet_stdout
    with quiet_stdout():
        plant = pb.Plant()
        plant.readParameters(str(parameter_file("Faba_synMRI")))
        plant.setSeed(3)
        plant.initialize(False)
        plant.simulate(6.0, False)
    rs = from_cplantbox(plant)
    assert rs.total_length_cm() == pytest.approx(plant.getSummed("length"), rel=1e-12)
    with pytest.raises(InputError, match="not found"):
        parameter_file("No_such_plant_2099")


def _peer_module():
    spec = importlib.util.spec_from_file_location("cplantbox_peer", ROOT / "benchmarks" / "cplantbox_peer.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks its module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("kind", ["mps", "mls"])
def test_exudation_peer_formula_is_what_cplantbox_computes(kind):
    """The docstring of benchmarks/cplantbox_peer.py (Eqn 11, grid nodes, axis order) is what
    the compiled ExudationModel evaluates: a numpy re-evaluation agrees to round-off."""
    pytest.importorskip("plantbox")
    from rhizofem.rootsystem.cplantbox import vicia_faba
    peer = _peer_module()
    _, cpb = vicia_faba(t_end_d=3.0, seed=1)  # one tap root, 6.2 cm
    c = peer.LANDL_2021["citrate"]
    prm = dict(Q=c["release_rate_ug_per_d_per_cm"], Dl_cm2_d=c["diffusion_cm2_per_d"],
               theta=c["water_content_cm3_per_cm3"], R=c["retardation_factor"],
               k_per_d=c["decay_rate_per_d"], l_cm=c["line_length_cm"], type=kind)
    out = peer.exudation_model(cpb, 3.0, **prm, length_cm=2.0, width_cm=2.0, depth_cm=8.0, nx=5, ny=5, nz=17)
    ref = peer.reference(cpb, 3.0, out.x, out.y, out.z, **prm)
    assert out.c.shape == (5, 5, 17) and out.c.max() > 1.0
    assert np.abs(out.c - ref).max() <= 1e-9 * np.abs(ref).max()  # Gauss rules equal; round-off only
    assert np.allclose(out.z, np.linspace(-8.0, 0.0, 17))
