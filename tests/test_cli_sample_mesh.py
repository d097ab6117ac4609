"""`rhizofem sample` and `rhizofem mesh`, run in-process through the CLI's main()."""

import json
import tomllib

import numpy as np
import pytest
from conftest import ROOT
from mpi4py import MPI
from rhizofem.cli import main
from rhizofem.config import load
from rhizofem.imaging import sample as sample_cmd
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.meshing import pipeline as mesh_cmd
from rhizofem.meshing.gmsh_io import read_soil_msh
from rhizofem.meshing.soil import measure_tags

SMALL_TOML = ROOT / "meshes" / "small_sample.toml"
INTERFACE_KEYS = ["soil_volume_mm3", "epidermis_area_mm2", "root_contact_area_mm2", "hair_contact_area_mm2",
                  "contact_fraction_root", "contact_fraction_root_hairs"]


def test_sample_command_writes_the_image_and_its_metrics(shared_tmp):
    out = shared_tmp / "sample"
    assert main(["sample", str(SMALL_TOML), "--out", str(out)]) == 0
    doc = json.loads((out / "summary.json").read_text())
    image = np.load(out / "sample.npy")
    params = load(sample_cmd.Config, SMALL_TOML).sample
    assert np.array_equal(image, sample_cmd.generate_sample(params))
    g = geometry_metrics(image, params.voxel_size_um)
    for key in INTERFACE_KEYS:
        assert doc["geometry"][key] == pytest.approx(g[key], rel=1e-12)
    assert doc["ranks"] == MPI.COMM_WORLD.size and doc["wall_time_s"] > 0 and doc["rhizofem_version"]
    assert sorted(doc["files"]) == ["mesh.toml", "sample.npy", "sample.png", "section.npy"]
    assert np.array_equal(np.load(out / "section.npy"), image[:, :, image.shape[2] // 2])
    # the mesh config written next to the sample meshes it with the right voxel size
    cfg = load(mesh_cmd.Config, out / "mesh.toml")
    assert cfg.image.path == (out / "sample.npy").resolve() and cfg.image.voxel_size_um == params.voxel_size_um


def test_mesh_command_on_an_image(shared_tmp):
    out = shared_tmp / "mesh"
    (shared_tmp / "mesh.toml").write_text(
        f'hairs = true\n[image]\npath = "{ROOT / "meshes" / "small_sample.npy"}"\nvoxel_size_um = 9.0\n')
    assert main(["mesh", str(shared_tmp / "mesh.toml"), "--out", str(out)]) == 0
    doc = json.loads((out / "summary.json").read_text())
    assert sorted(doc["files"]) == ["mesh.h5", "mesh.msh", "mesh.png", "mesh.xdmf"]
    # the XDMF file (for ParaView) holds the same mesh and tags as the .msh
    from dolfinx.io import XDMFFile

    with XDMFFile(MPI.COMM_WORLD, str(out / "mesh.xdmf"), "r") as xdmf:
        msh = xdmf.read_mesh(name="mesh")
        msh.topology.create_connectivity(2, 3)
        facet_tags = xdmf.read_meshtags(msh, name="facet_tags")
    owned = facet_tags.indices < msh.topology.index_map(2).size_local
    facets = {v: MPI.COMM_WORLD.allreduce(int(np.count_nonzero(owned & (facet_tags.values == v))))
              for v in (11, 12, 13)}
    assert facets == {11: doc["mesh"]["facets"]["root_contact"], 12: doc["mesh"]["facets"]["hair_contact"],
                      13: doc["mesh"]["facets"]["no_flux"]}
    assert MPI.COMM_WORLD.allreduce(msh.topology.index_map(3).size_local) == doc["mesh"]["cells"]
    assert doc["mesh"]["cells"] > 0 and doc["mesh"]["vertices"] > 0
    image = np.load(ROOT / "meshes" / "small_sample.npy")
    g = geometry_metrics(image, 9.0)
    for key in INTERFACE_KEYS:
        assert doc["geometry"][key] == pytest.approx(g[key], rel=1e-12)
    assert doc["check"]["max_relative_difference"] < 1e-10
    tm = read_soil_msh(out / "mesh.msh", MPI.COMM_WORLD, inlet=("root", "hair"))
    assert measure_tags(tm)["soil"] == pytest.approx(g["soil_volume_mm3"], rel=1e-10)
    q = doc["mesh"]["quality"]
    assert 0.6 < q["radius_ratio_min"] <= q["radius_ratio_max"] < 0.72


def test_mesh_command_hairless_in_library_use():
    cfg = load(mesh_cmd.Config, {"hairs": False, "picture": False,
                                 "image": {"path": str(ROOT / "meshes" / "small_sample.npy"), "voxel_size_um": 9.0}})
    result = mesh_cmd.run(cfg, out_dir=None, comm=MPI.COMM_SELF)
    assert result.geometry["hair_contact_area_mm2"] == 0.0
    assert result.check["hair_contact_area_mm2"]["dolfinx"] == 0.0
    assert result.mesh is not None and result.check["max_relative_difference"] < 1e-10


def test_failing_run_leaves_no_summary(shared_tmp, capsys):
    bad = shared_tmp / "bad.npy"
    if MPI.COMM_WORLD.rank == 0:
        np.save(bad, np.full((3, 3, 3), 9, dtype=np.uint8))
    MPI.COMM_WORLD.barrier()
    # one config file per rank: a rank must not read the shared file while another rewrites it
    cfg = shared_tmp / f"bad{MPI.COMM_WORLD.rank}.toml"
    cfg.write_text(f'[image]\npath = "{bad}"\nvoxel_size_um = 10.0\n')
    out = shared_tmp / "out"
    assert main(["mesh", str(cfg), "--out", str(out)]) == 2
    assert not (out / "summary.json").exists() and not list(out.glob("*.msh"))
    if MPI.COMM_WORLD.rank == 0:
        assert "label value(s) 9 (27 voxels)" in capsys.readouterr().err


def test_bad_config_is_refused_before_work(tmp_path, capsys):
    (tmp_path / "c.toml").write_text("[sample]\nhair_radius_um = -9\n")
    assert main(["sample", str(tmp_path / "c.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "[sample] hair_radius_um: -9.0 must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command, module", [("sample", sample_cmd), ("mesh", mesh_cmd)])
def test_printed_config_loads(command, module, capsys):
    assert main([command, "--print-config"]) == 0
    text = capsys.readouterr().out
    assert load(module.Config, tomllib.loads(text)) == module.Config()
    assert text.startswith(f"# rhizofem {command}:")


@pytest.mark.mpi
def test_commands_on_two_ranks_match_serial(comm, shared_tmp):
    assert main(["sample", str(SMALL_TOML), "--out", str(shared_tmp / "s")]) == 0
    parallel = json.loads((shared_tmp / "s" / "summary.json").read_text())
    serial = sample_cmd.run(load(sample_cmd.Config, SMALL_TOML), comm=MPI.COMM_SELF)
    assert parallel["ranks"] == comm.size
    for key in INTERFACE_KEYS:
        assert parallel["geometry"][key] == serial.geometry[key]
    cfg = shared_tmp / f"m{comm.rank}.toml"  # one per rank (see above)
    cfg.write_text(f'[image]\npath = "{shared_tmp / "s" / "sample.npy"}"\nvoxel_size_um = 9.0\n')
    assert main(["mesh", str(cfg), "--out", str(shared_tmp / "m")]) == 0
    doc = json.loads((shared_tmp / "m" / "summary.json").read_text())
    assert doc["check"]["max_relative_difference"] < 1e-10
    assert doc["geometry"]["soil_volume_mm3"] == serial.geometry["soil_volume_mm3"]
