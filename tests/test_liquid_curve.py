"""D_eff(θ) of liquid configurations through the homogenization's cell problems: the
saturated limit, monotonicity in θ, the mucilage diffusivity, percolation, the written
interface (results.curve), and the same curve on 1 and 2 ranks."""

import json

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.imaging.connectivity import clusters
from rhizofem.imaging.liquid import LiquidStage
from rhizofem.imaging.liquid.mucilage import mackie_meares
from rhizofem.imaging.liquid.samples import sphere_pack
from rhizofem.models.homogenization import Config, run
from rhizofem.models.homogenization.config import Cell, Image, Output
from rhizofem.models.liquid import deff_curve, run_curve
from scipy import ndimage

SOLVER_TOL = 1e-8  # CG to a relative residual of 1e-10 (test_homogenization_validation's figure)
H_UM = 10.0


def homog_config(tmp, image, periodisation="translation", name="pack.npy"):
    if MPI.COMM_WORLD.rank == 0:
        np.save(tmp / name, image)
    MPI.COMM_WORLD.barrier()
    return Config(image=Image(path=tmp / name, voxel_size_um=H_UM), cell=Cell(periodisation=periodisation),
                  output=Output(fields=False, figure=False))


@pytest.fixture(scope="module")
def pack():
    return sphere_pack((18, 18, 18), 0.4, radius=(3.0, 5.0), seed=7)


def test_saturated_limit_is_the_homogenization_of_the_pore_space(tmp_path, pack):
    cfg = homog_config(tmp_path, pack)
    porosity = float(np.mean(pack == 1))
    curve = deff_curve(pack, cfg, LiquidStage(water_content=(porosity,), periodic=True), comm=MPI.COMM_SELF).curve
    # the same pore space, every pore voxel water, through `rhizofem homogenize` itself
    saturated = np.where(pack == 1, 2, 0).astype(np.uint8)
    reference = run(homog_config(tmp_path, saturated, name="saturated.npy"), comm=MPI.COMM_SELF)
    assert curve[0]["water_content"] == pytest.approx(porosity, abs=1e-15)
    assert np.max(np.abs(curve[0]["D_eff"] - reference.D_eff)) < SOLVER_TOL * np.max(reference.D_eff)
    assert curve[0]["millington_quirk"] == pytest.approx(porosity ** (4 / 3), rel=1e-12)  # θ = φ


def test_deff_grows_with_water_content_and_percolation_matches_the_threshold(tmp_path, pack):
    cfg = homog_config(tmp_path, pack)
    thetas = (0.4, 0.3, 0.22, 0.16, 0.12, 0.09, 0.06)
    result = deff_curve(pack, cfg, LiquidStage(water_content=thetas, periodic=True), comm=MPI.COMM_SELF)
    diag = np.array([np.diag(p["D_eff"]) for p in result.curve])
    # drier configurations are subsets of wetter ones, so D_jj cannot grow as θ falls
    # (adding conducting voxels only adds to the energy minimised): a property of the
    # exact and of the discrete problem, up to the solver tolerance
    assert np.all(np.diff(diag, axis=0) <= SOLVER_TOL * diag.max())
    assert diag[0].min() > 10 * diag[-1].max()  # and it really falls
    # percolation: from θ = threshold upwards, never below (the homogenization's own rule)
    thresholds = result.percolation_threshold
    assert thresholds is not None and len(thresholds) == 3
    for p in result.curve:
        for axis in range(3):
            expected = thresholds[axis] is not None and p["water_content"] >= thresholds[axis] - 1e-15
            assert p["percolates"][axis] == expected
            if not expected:  # no path: no flux
                assert abs(p["D_eff"][axis, axis]) < SOLVER_TOL * diag.max()
    for p in result.curve:
        assert p["millington_quirk"] == pytest.approx(p["water_content"] ** (10 / 3) / result.porosity**2, rel=1e-12)
        b = result.campbell_b
        assert p["moldrup"] == pytest.approx(result.porosity**2 * (p["water_content"] / result.porosity)
                                             ** (1 + b / 3), rel=1e-12)


@pytest.mark.parametrize("model", ["phases", "mackie_meares"])
def test_mucilage_diffusivity_scales_the_saturated_tensor(tmp_path, pack, model):
    cfg = homog_config(tmp_path, pack)
    porosity = float(np.mean(pack == 1))
    water = deff_curve(pack, cfg, LiquidStage(water_content=(porosity,), periodic=True), comm=MPI.COMM_SELF)
    stage = LiquidStage(water_content=(porosity,), periodic=True, mucilage_mg_g=8.0, mucilage_diffusivity=model)
    muc = deff_curve(pack, cfg, stage, comm=MPI.COMM_SELF).curve[0]
    # saturated, the polymer is in all the pore water: the same liquid with one diffusivity
    c = muc["mucilage_concentration_mg_cm3"]
    mass = 8.0 * 2.65 * np.count_nonzero(pack == 0) * (H_UM * 1e-4) ** 3
    assert c == pytest.approx(mass / (np.count_nonzero(pack == 1) * (H_UM * 1e-4) ** 3), rel=1e-12)
    factor = 0.5 if model == "phases" else mackie_meares(c, 1.5)
    assert muc["mucilage_diffusivity"] == pytest.approx(factor, rel=1e-12)
    D0 = water.curve[0]["D_eff"]
    assert np.max(np.abs(muc["D_eff"] - factor * D0)) < SOLVER_TOL * np.max(D0)


def face_percolates(liquid):
    """Percolation on the torus with face connectivity, by an independent route: a cluster
    winds around axis i iff it crosses a slab of 3 copies of the cell along i that is
    periodic along the other axes (the slab's periodic faces joined by a union of labels)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    out = []
    structure = ndimage.generate_binary_structure(liquid.ndim, 1)
    for axis in range(liquid.ndim):
        slab = np.concatenate([liquid] * 3, axis=axis)
        lab, n = ndimage.label(slab, structure)
        pairs = [(np.take(lab, 0, axis=j).ravel(), np.take(lab, -1, axis=j).ravel())
                 for j in range(liquid.ndim) if j != axis]
        a = np.concatenate([p[0] for p in pairs])
        b = np.concatenate([p[1] for p in pairs])
        keep = (a > 0) & (b > 0)
        graph = coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(n + 1, n + 1))
        comp = connected_components(graph, directed=False)[1]
        first, last = comp[np.take(lab, 0, axis=axis)], comp[np.take(lab, -1, axis=axis)]
        first, last = first[np.take(lab, 0, axis=axis) > 0], last[np.take(lab, -1, axis=axis) > 0]
        out.append(bool(np.intersect1d(first, last).size))
    return out


def test_point_contacts_carry_no_flux_along_the_curve(tmp_path):
    # needs the homogenization's face-connected rule; with full connectivity (voxels meeting
    # at an edge or corner joined) dry configurations percolate through point contacts
    chain = np.zeros((4, 4, 4), dtype=bool)
    chain[np.arange(4), np.arange(4), 0] = True  # a diagonal chain: corners and edges only
    if clusters(chain, periodic=True).percolates[0]:
        pytest.xfail("the homogenization still joins voxels through edges and corners (face "
                     "connectivity lands with the homogenization's point-contact fix)")
    image = sphere_pack((24, 24, 24), 0.4, radius=(3.0, 5.0), seed=11)
    cfg = homog_config(tmp_path, image)
    result = deff_curve(image, cfg, LiquidStage(water_content=(0.12, 0.08, 0.06, 0.04), periodic=True),
                        comm=MPI.COMM_SELF, keep_images=True)
    for p, labels in zip(result.curve, result.images, strict=True):
        assert p["percolates"] == face_percolates(labels == 2)
        for axis in range(3):
            if not p["percolates"][axis]:
                assert p["D_eff"][axis, axis] == 0.0


def test_run_curve_writes_results_curve(tmp_path, pack):
    cfg = homog_config(tmp_path, pack)
    cfg = Config(image=cfg.image, cell=cfg.cell, output=Output(fields=False, figure=True))
    stage = LiquidStage(water_content=(0.3, 0.15), periodic=True, mucilage_mg_g=8.0)
    run_curve(cfg, stage, out_dir=tmp_path / "out", comm=MPI.COMM_SELF)
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert doc["command"] == "homogenize"
    curve = doc["results"]["curve"]
    assert [round(p["target"], 12) for p in curve] == [0.3, 0.15]
    for p in curve:
        assert set(p) >= {"water_content", "D_eff", "percolates", "millington_quirk", "moldrup", "eigenvalues"}
        assert np.array(p["D_eff"]).shape == (3, 3)
        assert abs(p["water_content"] - p["target"]) <= 0.5 / pack.size
    assert {"curve.csv", "D_eff_theta.png"} <= set(doc["files"])
    rows = (tmp_path / "out" / "curve.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("water_content,D_xx,D_yy,D_zz")


@pytest.mark.mpi
@pytest.mark.parametrize("mode", ["translation", "mirror"])
def test_same_curve_on_all_ranks(comm, shared_tmp, pack, mode):
    cfg = homog_config(shared_tmp, pack, periodisation=mode)
    stage = LiquidStage(water_content=(0.35, 0.2, 0.1), periodic=mode == "translation", mucilage_mg_g=8.0)
    par = deff_curve(pack if comm.rank == 0 else None, cfg, stage, comm=comm)
    ser = deff_curve(pack, cfg, stage, comm=MPI.COMM_SELF)
    for a, b in zip(par.curve, ser.curve, strict=True):
        assert a["water_content"] == b["water_content"] and a["percolates"] == b["percolates"]
        assert np.max(np.abs(a["D_eff"] - b["D_eff"])) < SOLVER_TOL * max(np.max(np.abs(b["D_eff"])), 1e-300)
    assert par.percolation_threshold == ser.percolation_threshold


def test_homogenize_command_with_a_liquid_section_writes_results_curve(tmp_path, capsys):
    from dataclasses import fields

    from rhizofem.cli import main

    if "liquid" not in {f.name for f in fields(Config)}:
        pytest.skip("the [liquid] section of `rhizofem homogenize` is wired in when the branches meet")
    image = sphere_pack((16, 16, 16), 0.4, radius=(3.0, 5.0), seed=8)
    np.save(tmp_path / "solid_pore.npy", image)  # a solid/pore image: 0 solid, 1 air (no liquid)
    (tmp_path / "c.toml").write_text('[image]\npath = "solid_pore.npy"\n[output]\nfigure = false\nfields = false\n'
                                     '[liquid]\nwater_content = [0.35, 0.1]\nperiodic = true\n')
    assert main(["homogenize", str(tmp_path / "c.toml"), "--out", str(tmp_path / "d")]) == 0
    assert "D_eff(θ)" in capsys.readouterr().out
    doc = json.loads((tmp_path / "d" / "summary.json").read_text())
    curve = doc["results"]["curve"]
    porosity = float(np.mean(image == 1))
    for p, theta in zip(curve, (0.35, 0.1), strict=True):
        assert abs(p["water_content"] - theta) <= 0.5 / image.size
        assert p["millington_quirk"] == pytest.approx(p["water_content"] ** (10 / 3) / porosity**2, rel=1e-12)
        assert len(p["percolates"]) == 3 and np.array(p["D_eff"]).shape == (3, 3)
    # wetter conducts more; an axis the face-connected water does not span is exactly 0
    assert np.trace(curve[0]["D_eff"]) > np.trace(curve[1]["D_eff"]) >= 0
    assert any(curve[0]["percolates"])
    for p in curve:
        D = np.array(p["D_eff"])
        for axis, spans in enumerate(p["percolates"]):
            assert spans or (not D[axis].any() and not D[:, axis].any())
    assert doc["config"]["liquid"]["water_content"] == [0.35, 0.1]  # what ran is echoed
