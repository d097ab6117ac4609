"""``rhizofem homogenize``: the CLI round trip, the summary.json interface, refused inputs,
and the same tensor on 1 and 2 ranks (periodic partners on different ranks)."""

import json
import tomllib

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.cli import main
from rhizofem.config import load
from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging.pores import sand
from rhizofem.models.homogenization import CONFIG_TITLE, Config, run
from rhizofem.models.homogenization.model import richardson
from rhizofem.soil import millington_quirk

SOLVER_TOL = 1e-8  # CG to a relative residual of 1e-10 (see test_homogenization_validation)


def config(tmp, text=""):
    # one file per rank: in the parallel tests ``tmp`` is shared, and a rank reading the file
    # while another rewrites it would get an empty (default) config
    path = tmp / f"c{MPI.COMM_WORLD.rank}.toml"
    path.write_text(text)
    return load(Config, path)


def test_print_config_then_run_writes_the_interface(tmp_path, capsys):
    assert main(["homogenize", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# " + CONFIG_TITLE.splitlines()[0])
    (tmp_path / "c.toml").write_text(text)
    assert tomllib.loads(text)["cell"]["periodisation"] == "translation"
    assert tomllib.loads(text)["mesh"]["element"] == "Q1"
    assert main(["homogenize", str(tmp_path / "c.toml"), "--out", str(tmp_path / "d")]) == 0
    doc = json.loads((tmp_path / "d" / "summary.json").read_text())
    r = doc["results"]
    D = np.array(r["D_eff"])
    assert D.shape == (2, 2)
    assert len(r["eigenvalues"]) == 2 and np.array(r["eigenvectors"]).shape == (2, 2)
    assert r["percolates"] == [True, True] and all(isinstance(p, bool) for p in r["percolates"])
    # the built-in section has the seed's porosity and water content, hence its
    # Millington-Quirk value 2.3457e-2 (Schnepf et al. 2022, case study 4)
    assert r["porosity"] == pytest.approx(0.41, abs=1e-12)
    assert r["liquid_fraction"] == pytest.approx(0.19, abs=1e-12)
    assert r["millington_quirk"] == pytest.approx(2.3457e-2, rel=5e-5)
    assert sum(r["liquid_fraction_per_phase"].values()) == pytest.approx(0.19, abs=1e-12)
    assert r["liquid_fraction_per_phase"]["mucilage"] == pytest.approx(0.019, abs=1 / 160**2)
    # eigen-pairs of D, ratio to Millington-Quirk, symmetry defect: recomputed here
    w = np.array(r["eigenvalues"])
    for lam, vec in zip(w, np.array(r["eigenvectors"]), strict=True):
        assert np.allclose(D @ vec, lam * vec, atol=1e-10)
    assert np.allclose(r["ratio_to_millington_quirk"], w / millington_quirk(0.19, 0.41), rtol=1e-12)
    assert r["symmetry_defect"] == pytest.approx(np.linalg.norm(D - D.T) / np.linalg.norm(D), abs=1e-14)
    assert r["symmetry_defect"] < SOLVER_TOL
    assert doc["solver"]["iterations"] and doc["mesh"]["dofs"] > 0
    assert doc["mesh"]["element"] == "Q1" and doc["mesh"]["cell_type"] == "quadrilateral"
    assert {f.split("/")[0] for f in doc["files"]} == {"D_eff.csv", "eigen_directions.png", "correctors.bp"}
    rows = (tmp_path / "d" / "D_eff.csv").read_text().splitlines()
    assert float(rows[1].split(",")[2]) == pytest.approx(D[0, 1], rel=1e-12)


def test_library_run_without_output_and_mirror(tmp_path):
    cfg = config(tmp_path, '[cell]\nperiodisation = "mirror"\n[output]\nfigure = false\nfields = false\n')
    result = run(cfg, comm=MPI.COMM_SELF)
    assert result.D_eff[0, 1] == 0.0 and result.D_eff[0, 0] > 0
    assert result.periodisation == "mirror"


def test_element_from_the_config_sets_the_cells_not_the_unknowns(tmp_path):
    image = sand((12, 10, 8), 0.41, 0.19, 0.1, grain_radius_px=(2.5, 4.0), seed=5)  # percolates along x, y, z
    np.save(tmp_path / "s.npy", image)
    liquid = int(np.isin(image, [2, 3]).sum())
    docs = {}
    for element in ("Q1", "P1"):
        run(config(tmp_path, f'[image]\npath = "s.npy"\n[mesh]\nelement = "{element}"\n'
                             '[output]\nfigure = false\nfields = false\n'),
            out_dir=tmp_path / element, comm=MPI.COMM_SELF)
        docs[element] = json.loads((tmp_path / element / "summary.json").read_text())
    q1, p1 = docs["Q1"]["mesh"], docs["P1"]["mesh"]
    assert (q1["cell_type"], q1["cells"]) == ("hexahedron", liquid)  # one box per liquid voxel
    assert (p1["cell_type"], p1["cells"]) == ("tetrahedron", 6 * liquid)  # six Kuhn tetrahedra
    assert q1["nodes"] == p1["nodes"] and q1["dofs"] == p1["dofs"]  # the same voxel corners
    # two discretisations of the same image, so not the same numbers: the element really
    # changed (measured 7-16 % apart on this coarse sand, where one-voxel throats dominate)
    a, b = (np.diag(docs[e]["results"]["D_eff"]) for e in ("Q1", "P1"))
    assert np.all(np.abs(a / b - 1) > 0.01), (a, b)


def test_image_file_3d_and_units_do_not_change_the_tensor(tmp_path):
    image = sand((12, 12, 12), 0.41, 0.19, 0.1, grain_radius_px=(2.5, 4.0), seed=4)
    np.save(tmp_path / "s.npy", image)
    texts = ['[image]\npath = "s.npy"\nvoxel_size_um = 10.0\n[output]\nfigure = false\nfields = false\n',
             '[image]\npath = "s.npy"\nvoxel_size_um = 250.0\n[output]\nfigure = false\nfields = false\n']
    a, b = (run(config(tmp_path, t), comm=MPI.COMM_SELF).D_eff for t in texts)
    assert a.shape == (3, 3)
    # D_eff is a ratio of fluxes: independent of the voxel size
    assert np.max(np.abs(a - b)) < SOLVER_TOL * np.max(a)


@pytest.mark.parametrize("text, fragment", [
    ('[phases]\ndiffusivity = { "0" = 0.0, "1" = -0.5, "2" = 1.0 }\n', "[phases.diffusivity] 1: -0.5 must be >= 0"),
    ('[phases]\ndiffusivity = { "solid" = 0.0, "2" = 1.0 }\n', "label 'solid' is not an integer"),
    ('[phases]\ndiffusivity = { "0" = 0.0, "2" = 0.0 }\n', "no label has a diffusivity > 0"),
    ('[phases]\nsolid = ["2"]\n', "solid label '2' has diffusivity 1.0 > 0"),
    ('[phases]\nsolid = ["9"]\n', "solid label '9' is not in [phases.diffusivity]"),
    ('[phases]\nreference_label = "1"\n', "reference_label '1' has no positive diffusivity"),
    ('[cell]\nperiodisation = "translate"\n', "Did you mean 'translation'"),
    ('[mesh]\nelement = "Q2"\n', "[mesh] element: 'Q2' is not one of 'Q1', 'P1'"),
    ('[image]\nsample = "sand2d"\n', "Did you mean 'sand_2d'"),
    ('[image]\npath = "missing.npy"\n', "file 'missing.npy' not found"),
    ('[image]\nvoxel_size_um = 0\n', "voxel_size_um: 0.0 must be > 0"),
])
def test_bad_config_is_refused(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as err:
        config(tmp_path, text)
    assert fragment in str(err.value)


def test_label_missing_from_the_table_is_refused(tmp_path):
    image = np.full((6, 6), 2, np.uint8)
    image[1, 1] = 7
    np.save(tmp_path / "s.npy", image)
    with pytest.raises(InputError, match=r"label\(s\) 7 \(1 voxels\) are not in \[phases.diffusivity\]"):
        run(config(tmp_path, '[image]\npath = "s.npy"\n'), comm=MPI.COMM_SELF)


def test_image_without_liquid_is_refused(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((5, 5), np.uint8))
    with pytest.raises(InputError, match="no voxel has a label of positive diffusivity"):
        run(config(tmp_path, '[image]\npath = "s.npy"\n'), comm=MPI.COMM_SELF)


def test_cli_reports_bad_input_with_exit_code_2(tmp_path, capsys):
    (tmp_path / "c.toml").write_text('[phases]\ndiffusivity = { "2" = 1.0 }\nsolid = []\n')
    assert main(["homogenize", str(tmp_path / "c.toml"), "--out", str(tmp_path / "d")]) == 2
    assert "label(s) 0" in capsys.readouterr().err
    assert not (tmp_path / "d" / "summary.json").exists()


# ---------------------------------------------------------------------------------------
# parallel: the same tensor on every number of ranks
# ---------------------------------------------------------------------------------------


def both(cfg, comm):
    par = run(cfg, comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    return par, ser


@pytest.mark.mpi
@pytest.mark.parametrize("sample, mode, element", [
    ("sand_2d", "translation", "Q1"), ("sand_2d_water", "translation", "Q1"), ("sand_2d", "mirror", "Q1"),
    ("sand_2d", "translation", "P1")])
def test_same_tensor_on_all_ranks_2d(comm, shared_tmp, sample, mode, element):
    cfg = config(shared_tmp, f'[image]\nsample = "{sample}"\n[cell]\nperiodisation = "{mode}"\n'
                             f'[mesh]\nelement = "{element}"\n')
    par, ser = both(cfg, comm)
    assert np.max(np.abs(par.D_eff - ser.D_eff)) < SOLVER_TOL * np.max(np.abs(ser.D_eff))
    assert par.percolates == ser.percolates
    if mode == "translation" and comm.size > 1:
        # the slabs put x = 0 and x = L on different ranks: partners are really remote
        assert par.tensor.num_remote_partners > 0


@pytest.mark.mpi
def test_same_tensor_on_all_ranks_3d_with_outputs(comm, shared_tmp):
    image = sand((16, 14, 12), 0.41, 0.19, 0.1, grain_radius_px=(3.0, 5.0), seed=6)
    if comm.rank == 0:
        np.save(shared_tmp / "s.npy", image)
    comm.barrier()
    cfg = config(shared_tmp, '[image]\npath = "s.npy"\n')
    par = run(cfg, out_dir=shared_tmp / "out", comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    assert np.max(np.abs(par.D_eff - ser.D_eff)) < SOLVER_TOL * np.max(np.abs(ser.D_eff))
    assert comm.size == 1 or par.tensor.num_remote_partners > 0
    doc = json.loads((shared_tmp / "out" / "summary.json").read_text())
    assert doc["ranks"] == comm.size
    assert np.allclose(doc["results"]["D_eff"], par.D_eff, rtol=0, atol=0)
    assert "liquid_3d.png" in doc["files"]


def test_petsc_options_from_the_config_reach_the_solver(tmp_path):
    base = '[output]\nfigure = false\nfields = false\n'
    iterative = run(config(tmp_path, base), comm=MPI.COMM_SELF)
    direct = run(config(tmp_path, base + '[solver]\npetsc_options = { ksp_type = "preonly", pc_type = "lu", '
                                          'pc_factor_mat_solver_type = "mumps" }\n'), comm=MPI.COMM_SELF)
    assert direct.tensor.iterations == [1, 1]  # LU: one application, as asked
    assert min(iterative.tensor.iterations) > 5
    assert np.max(np.abs(direct.D_eff - iterative.D_eff)) < SOLVER_TOL * np.max(direct.D_eff)


@pytest.mark.mpi
@pytest.mark.parametrize("cell_type", [None, "hexahedron"])
def test_cell_labels_reach_their_cells_on_every_rank(comm, cell_type):
    # tagged_mesh sends cell values by original cell index: each cell's tag must be the label
    # of the voxel its midpoint lies in, wherever the partitioner put it (Kuhn tetrahedra, or
    # one hexahedron per voxel)
    import dolfinx
    import ufl
    from rhizofem.meshing.to_dolfinx import contiguous_partitioner, tagged_mesh
    from rhizofem.meshing.voxel import voxel_simplices
    from rhizofem.models.homogenization import voxel_boxes

    image = np.random.default_rng(3).integers(0, 4, (7, 6, 5))
    ok = []
    for partitioner in (None, contiguous_partitioner):
        if comm.rank == 0:
            if cell_type is None:
                vm = voxel_simplices(image > 0, 1.0)
                points, cells, cell_voxel = vm.points, vm.cells, vm.cell_voxel
            else:
                points, cells, cell_voxel = voxel_boxes(image > 0, 1.0)
            tm = tagged_mesh(comm, points, cells, image.ravel()[cell_voxel], partitioner=partitioner,
                             cell_type=cell_type)
        else:
            tm = tagged_mesh(comm, None, None, None, partitioner=partitioner, cell_type=cell_type)
        x = tm.mesh.geometry.x
        mid = x[tm.mesh.geometry.dofmaps[0]].mean(axis=1)
        voxel = np.floor(mid[tm.cell_tags.indices]).astype(int)
        ok.append(bool(np.all(image[tuple(voxel.T)] == tm.cell_tags.values)))
        ok.append(len(tm.cell_tags.indices) == tm.mesh.topology.index_map(3).size_local)
        if cell_type is not None:
            # DOLFINx's vertex order (lexicographic): a unit cube of volume 1 per voxel, which
            # VTK's order would twist
            volume = dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ufl.dx(domain=tm.mesh)))
            ok.append(tm.mesh.topology.cell_type == dolfinx.mesh.CellType.hexahedron)
            ok.append(comm.allreduce(volume) == pytest.approx(np.count_nonzero(image), rel=1e-12))
    assert all(comm.allgather(all(ok)))


# ---------------------------------------------------------------------------------------
# what the command reports
# ---------------------------------------------------------------------------------------


def test_saturated_image_is_accepted(tmp_path):
    # 11 of 20 rows solid: φ = 1 − 0.55 would be 0.44999999999999996 < θ = 0.45 in floating
    # point; fractions from voxel counts give θ = φ exactly
    image = np.full((20, 20), 2, np.uint8)
    image[:, :11] = 0
    np.save(tmp_path / "s.npy", image)
    result = run(config(tmp_path, '[image]\npath = "s.npy"\n'), comm=MPI.COMM_SELF)
    assert result.liquid_fraction == result.porosity == 0.45
    assert result.millington_quirk == pytest.approx(0.45 ** (4 / 3), rel=1e-14)  # θ^(10/3)/φ² at θ = φ
    # water layers along x: D_xx = water fraction exactly, none across
    assert result.D_eff[0, 0] == pytest.approx(0.45, rel=SOLVER_TOL)
    assert result.percolates == (True, False) and result.D_eff[1, 1] == 0.0


def test_non_percolating_direction_is_exactly_zero_and_says_why(tmp_path, capsys):
    (tmp_path / "c.toml").write_text('[image]\nsample = "sand_2d_water"\n[output]\nfields = false\n')
    assert main(["homogenize", str(tmp_path / "c.toml"), "--out", str(tmp_path / "d")]) == 0
    printed = capsys.readouterr().out
    doc = json.loads((tmp_path / "d" / "summary.json").read_text())
    r = doc["results"]
    D = np.array(r["D_eff"])
    assert r["percolates"] == [True, False]
    assert D[1, 1] == 0.0 and D[0, 1] == 0.0 and D[1, 0] == 0.0 and D[0, 0] > 0.01
    assert r["eigenvalues"][1] == 0.0
    assert "no liquid path along y" in r["non_percolating"]["y"]
    # the solver's own value is round-off, kept for the record
    raw = np.array(doc["solver"]["D_eff_before_zeroing"])
    assert 0 < np.max(np.abs(raw[1])) < SOLVER_TOL * D[0, 0]
    # the command ends with the headline results and where the files are
    assert "percolates: x yes, y no" in printed
    assert "no liquid path along y" in printed
    assert f"D_xx {D[0, 0]:.4g}" in printed and "Millington-Quirk" in printed
    assert str(tmp_path / "d") in printed and "eigen_directions.png" in printed


def test_richardson_recovers_order_and_limit():
    h = np.array([4.0, 2.0, 1.0])
    values = np.stack([1 + 0.5 * h**1.5, 2 - 0.1 * h**0.5], axis=1)
    limit, order, notes = richardson(h, values)
    assert np.allclose(limit, [1.0, 2.0], rtol=1e-12) and np.allclose(order, [1.5, 0.5], rtol=1e-9)
    assert not notes
    # not monotone: first order assumed, and said
    limit, order, notes = richardson(h, np.array([[1.0], [1.2], [1.1]]))
    assert order[0] == 1.0 and limit[0] == pytest.approx(1.1 - 0.1) and notes
    # faster than second order: 2 used, and said
    limit, order, notes = richardson(h, (3 - h**3)[:, None])
    assert order[0] == 2.0 and limit[0] == pytest.approx(2 + 7 / 3) and notes


def test_resolution_and_size_studies(tmp_path):
    # layers of water and mucilage: split voxels change nothing (Q1 is exact on layers), so
    # the estimated discretisation error is 0; every centred sub-volume of a laminate has the
    # same layer fractions only when it holds whole periods (edges 12 and 24 of 24 do)
    from rhizofem.imaging.pores import laminate

    image = laminate((24, 12), 1, (2, 1), (2, 3))
    np.save(tmp_path / "s.npy", image)
    text = ('[image]\npath = "s.npy"\n[study]\nresolution = [2, 3]\nsizes = [0.5]\n'
            '[output]\nfields = false\nfigure = false\n')
    run(config(tmp_path, text), out_dir=tmp_path / "d", comm=MPI.COMM_SELF)
    doc = json.loads((tmp_path / "d" / "summary.json").read_text())
    res, rev = doc["results"]["resolution_study"], doc["results"]["size_study"]
    along, across = (2 + 0.5) / 3, 3 / (2 / 1 + 1 / 0.5)
    assert res["resolution"] == [1, 2, 3] and res["shape"][2] == [72, 36]
    assert np.allclose(res["D_diag"], [[along, across]] * 3, rtol=SOLVER_TOL)
    assert np.max(np.abs(res["relative_error"])) < SOLVER_TOL
    assert rev["shape"] == [[12, 6], [24, 12]] and rev["edge_fraction"] == [0.5, 1.0]
    assert np.allclose(rev["D_diag"], [[along, across]] * 2, rtol=SOLVER_TOL)
    assert {"resolution_study.csv", "size_study.csv", "convergence.png"} <= set(doc["files"])
    # factors that give no whole number of voxel splits are refused before any work
    with pytest.raises(ConfigError, match=r"factor 1.5 times \[image\] resolution = 1"):
        run(config(tmp_path, '[image]\npath = "s.npy"\n[study]\nresolution = [1.5]\n'), comm=MPI.COMM_SELF)


def test_built_in_sample_resolution_study_regenerates_the_grains(tmp_path):
    from rhizofem.imaging.pores import sand_section_2d

    fine = sand_section_2d(mucilage=False, resolution=2)
    coarse = sand_section_2d(mucilage=False)
    assert fine.shape == (320, 320)
    # the same grains, re-rasterised (not the coarse pixels split): solid fractions equal to
    # a pixel, the pictures differ at grain borders only
    assert np.mean(fine == 0) == pytest.approx(np.mean(coarse == 0), abs=1 / fine.size)
    split = np.repeat(np.repeat(coarse, 2, 0), 2, 1)
    assert 0 < np.mean((split == 0) != (fine == 0)) < 0.05
