"""``rhizofem liquid``: the CLI round trip (phase images, retention curve, summary.json),
refused inputs, and the same images on 1 and 2 ranks."""

import json
import tomllib

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.cli import main
from rhizofem.config import load
from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging.liquid.samples import sphere_pack
from rhizofem.models.liquid import CONFIG_TITLE, Config, run


def config(tmp, text=""):
    # one file per rank: in the parallel tests ``tmp`` is shared
    path = tmp / f"c{MPI.COMM_WORLD.rank}.toml"
    path.write_text(text)
    return load(Config, path)


def pack_file(tmp, shape=(48, 48), seed=1):
    image = sphere_pack(shape, 0.4, radius=(3.0, 6.0), seed=seed)
    if MPI.COMM_WORLD.rank == 0:
        np.save(tmp / "pack.npy", image)
    MPI.COMM_WORLD.barrier()
    return image


def test_print_config_then_run_writes_images_and_retention(tmp_path, capsys):
    import tifffile

    assert main(["liquid", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# " + CONFIG_TITLE.splitlines()[0])
    defaults = tomllib.loads(text)
    assert defaults["liquid"]["water_content"] == [0.3, 0.2, 0.1]
    assert defaults["liquid"]["mucilage_mg_g"] == 0.0 and defaults["liquid"]["method"] == "drainage"
    image = pack_file(tmp_path)
    (tmp_path / "c.toml").write_text(text.replace('[image]\n', '[image]\npath = "pack.npy"\n', 1))
    assert main(["liquid", str(tmp_path / "c.toml"), "--out", str(tmp_path / "d")]) == 0
    printed = capsys.readouterr().out
    assert printed.count("(capillary, p_c = ") == 3 and "retention.csv" in printed  # the user sees the run
    doc = json.loads((tmp_path / "d" / "summary.json").read_text())
    r = doc["results"]
    assert r["porosity"] == pytest.approx(np.mean(image == 1), abs=1e-12)
    for entry, theta in zip(r["configurations"], (0.3, 0.2, 0.1), strict=True):
        labels = np.load(tmp_path / "d" / entry["file"])
        # water content met to one voxel, the solid untouched, the rest air
        assert int(np.count_nonzero(labels == 2)) == round(theta * image.size) == entry["liquid_voxels"]
        assert np.array_equal(labels == 0, image == 0)
        assert set(np.unique(labels)) <= {0, 1, 2}
        assert np.array_equal(tifffile.imread(tmp_path / "d" / entry["file"].replace(".npy", ".tif")), labels)
        assert entry["capillary_pressure_Pa"] > 0 and entry["stage"] == "capillary"
    pressures = [e["capillary_pressure_Pa"] for e in r["configurations"]]
    assert pressures == sorted(pressures)  # drier needs more suction
    rows = (tmp_path / "d" / "retention.csv").read_text().splitlines()
    assert len(rows) == len(r["retention"]) + 1
    assert [q["water_content"] for q in r["retention"]] == sorted((q["water_content"] for q in r["retention"]),
                                                                  reverse=True)
    assert {"liquid.png", "retention.csv"} <= set(doc["files"])


@pytest.mark.parametrize("text, fragment", [
    ('[liquid]\ntrapping = true\n', "trapping = true needs an inlet"),
    ('[liquid]\ninlet = "all"\ntrapping = true\n', "outlet = \"opposite\" has no faces"),
    ('[liquid]\nperiodic = true\ninlet = ["x-"]\n', "a periodic image has no faces"),
    ('[liquid]\nmethod = "imbibition"\nmucilage_mg_g = 8.0\n', "the mucilage model describes drying"),
    ('[liquid]\nmucilage_mg_g = 8.0\nmucilage_placement = "contacts"\n', "needs mucilage_initial_mg_cm3"),
    ('[liquid]\ninlet = ["w-"]\n', "fits none of"),
    ('[liquid]\nwater_content = [0.3, 1.2]\n', "1.2 must be <= 1.0"),
    ('[liquid]\nwater_content = []\n', "water_content is empty"),
    ('[liquid]\nwater_label = 1\n', "give each phase its own label"),
    ('[liquid]\ncontact_angle_deg = 95.0\n', "must be < 90"),
    ('[liquid]\nmethod = "drying"\n', "is not one of 'drainage', 'imbibition'"),
])
def test_bad_config_is_refused(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as err:
        config(tmp_path, text)
    assert fragment in str(err.value)


@pytest.mark.parametrize("text, fragment", [
    ('[phases]\ndiffusivity = { "0" = 0.0, "2" = 1.0, "3" = 0.5 }\n',
     "[liquid] air_label = 1 is not in [phases.diffusivity]"),
    ('[phases]\ndiffusivity = { "0" = 0.0, "1" = 0.0, "2" = 0.0, "3" = 0.5 }\n',
     "[liquid] water_label = 2 has diffusivity 0.0"),
    ('[liquid]\nwater_content = [0.45]\n', "is above the porosity"),
])
def test_bad_input_is_refused_with_the_fix(tmp_path, text, fragment):
    pack_file(tmp_path)
    with pytest.raises(InputError) as err:
        run(config(tmp_path, '[image]\npath = "pack.npy"\n' + text), comm=MPI.COMM_SELF)
    assert fragment in str(err.value)


def test_unknown_label_fails_through_the_cli_with_exit_code_2(tmp_path, capsys):
    image = pack_file(tmp_path)
    image[0, 0] = 7
    np.save(tmp_path / "pack.npy", image)
    (tmp_path / "c.toml").write_text('[image]\npath = "pack.npy"\n')
    assert main(["liquid", str(tmp_path / "c.toml"), "--out", str(tmp_path / "d")]) == 2
    assert "label(s) 7 (1 voxels) are not in [phases.diffusivity]" in capsys.readouterr().err
    assert not (tmp_path / "d" / "summary.json").exists()


@pytest.mark.mpi
def test_same_images_on_all_ranks(comm, shared_tmp):
    pack_file(shared_tmp, shape=(20, 20, 20), seed=4)
    cfg = config(shared_tmp, '[image]\npath = "pack.npy"\n[liquid]\nwater_content = [0.3, 0.12]\n'
                             'mucilage_mg_g = 8.0\ninlet = ["z+"]\n[output]\nfigure = false\n')
    par = run(cfg, out_dir=shared_tmp / "out", comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    assert par.configurations == ser.configurations  # every rank gets rank 0's report
    doc = json.loads((shared_tmp / "out" / "summary.json").read_text())
    assert doc["ranks"] == comm.size
    for entry, image in zip(doc["results"]["configurations"], ser.images, strict=True):
        assert np.array_equal(np.load(shared_tmp / "out" / entry["file"]), image)
