"""Hand-overs on 2 ranks: D_eff in shells, probe histories and a c_in(t) table give the serial
results, and the files of rank 0 hold them."""

import csv
import json

import numpy as np
import pytest
from exudation_cases import slab_image
from mpi4py import MPI
from rhizofem.config import load
from test_links import layered_root_image, rhizodeposition_config, shells_config


@pytest.mark.mpi
def test_shells_on_two_ranks_give_the_serial_profile(shared_tmp):
    # the sub-volumes are dealt to the ranks and each is solved on its rank alone: the same
    # solves as in serial, so the profile agrees to the CG tolerance's noise (1e-12 relative)
    from rhizofem.models.homogenization.shells import radial_profile, run_shells

    comm = MPI.COMM_WORLD
    path = shared_tmp / "layers.npy"
    image = layered_root_image()
    image[1::4, ::3] = 2        # bridges across the layers: every tensor component non-zero
    if comm.rank == 0:
        np.save(path, image)
    comm.barrier()
    cfg = shells_config(path, count=2)
    par = run_shells(cfg, shared_tmp / "out", comm)
    ser = radial_profile(MPI.COMM_SELF, image, cfg)
    for key in ("D_eff", "D_eff_std", "liquid_fraction"):
        assert np.allclose(np.asarray(par[key]), np.asarray(ser[key]), rtol=1e-10, atol=1e-14), key
    assert np.all(np.diag(ser["D_eff"][0]) > 0.01)
    doc = comm.bcast(json.loads((shared_tmp / "out" / "summary.json").read_text()) if comm.rank == 0 else None)
    assert doc["ranks"] == comm.size
    assert np.allclose(doc["results"]["radial_profile"]["D_eff"], np.asarray(ser["D_eff"]), rtol=1e-10, atol=1e-14)


@pytest.mark.mpi
def test_probe_histories_on_two_ranks_are_the_serial_ones(shared_tmp):
    # times are dealt to the ranks; each is the same sum of the same kernels: equal to round-off
    from rhizofem.models.rhizodeposition import run

    comm = MPI.COMM_WORLD
    cfg = rhizodeposition_config(probes={"root": 0, "positions_cm": [0.5, 1.5], "distances_um": [0.0, 300.0],
                                         "points_cm": [[0.1, 0.0, -1.0]], "times_d": [0.5, 1.0, 2.0, 3.0]})
    par = run(cfg, out_dir=shared_tmp / "out", comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    a, b = np.asarray(par.probes["concentration_ug_cm3"]), np.asarray(ser.probes["concentration_ug_cm3"])
    assert a.shape == (5, 4) and np.max(b) > 0
    assert np.allclose(a, b, rtol=1e-12, atol=0)
    rows = comm.bcast(list(csv.reader((shared_tmp / "out" / "probes.csv").read_text().splitlines()))
                      if comm.rank == 0 else None)
    assert rows[0] == ["t_d", *par.probes["csv_columns"]] and len(rows) == 5
    assert np.allclose(np.array(rows[1:], float)[:, 1:], b.T, rtol=1e-12, atol=0)


@pytest.mark.mpi
def test_c_in_table_on_two_ranks_gives_the_serial_mass(shared_tmp):
    # a probe-like history with a jump; LU (MUMPS) on both, so the partition changes only the
    # round-off of the factorisation: the adaptive steps and the mass agree to ~1e-10
    from rhizofem.models.exudation import Config, run

    comm = MPI.COMM_WORLD
    if comm.rank == 0:
        np.save(shared_tmp / "slab.npy", slab_image(25, 3))
        (shared_tmp / "c.csv").write_text("t_s,c\n0,200\n150,1000\n250,1000\n250,400\n600,600\n")
    comm.barrier()
    cfg = load(Config, {"image": {"path": str(shared_tmp / "slab.npy"), "voxel_size_um": 40.0},
                        "physics": {"t_end_s": 600.0, "c_in_table": str(shared_tmp / "c.csv")},
                        "time": {"output_times_s": [60.0]},
                        "numerics": {"space_error_estimate": False,
                                     "petsc_options": {"ksp_type": "preonly", "pc_type": "lu",
                                                       "pc_factor_mat_solver_type": "mumps"}},
                        "output": {"plots": False, "fields": False}, "compare_hairless": False,
                        "inlet": {"tags": ["root"]}})
    par = run(cfg, out_dir=shared_tmp / "out", comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    assert len(par.case.times_s) == len(ser.case.times_s)
    assert par.mass_ug == pytest.approx(ser.mass_ug, rel=1e-9)
    assert 150.0 in par.case.times_s and 250.0 in par.case.times_s     # the steps land on the knots
    doc = comm.bcast(json.loads((shared_tmp / "out" / "summary.json").read_text()) if comm.rank == 0 else None)
    assert doc["inputs"]["inlet_concentration"]["values"]["rows"] == 5


@pytest.mark.mpi
def test_rhizosphere_command_on_two_ranks_writes_the_serial_image(shared_tmp):
    # the image work is done on rank 0 and handed on: 2 ranks must write the very image one rank
    # writes (same seed, same drainage), with one summary — a collective called on one rank would hang
    from rhizofem.links.rhizosphere import Config, run
    from test_links import write_json

    comm = MPI.COMM_WORLD
    rd = shared_tmp / "rd.json"
    if comm.rank == 0:
        write_json(rd, {"command": "rhizodeposition", "results": {"probes": {
            "times_d": [1.0], "root": {"root": 0, "positions_cm": [2.0], "distances_um": [0.0, 100.0, 200.0],
                                       "content_mg_g": [[[3.0, 1.0, 0.5]]]}}}})
    comm.barrier()
    cfg = load(Config, {"sand": {"shape": [24, 24, 8]}, "root": {"radius_um": 60.0},
                        "mucilage": {"profile_from": str(rd)}, "liquid": {"water_content": 0.25}})
    par = run(cfg, shared_tmp / "par", comm)
    if comm.rank == 0:
        ser = run(cfg, shared_tmp / "ser", MPI.COMM_SELF)
        assert np.array_equal(np.load(shared_tmp / "par" / "rhizosphere.npy"),
                              np.load(shared_tmp / "ser" / "rhizosphere.npy"))
        assert par["water_content"] == ser["water_content"] and par["polymer_mg"] == ser["polymer_mg"]
        assert json.loads((shared_tmp / "par" / "summary.json").read_text())["ranks"] == comm.size
    comm.barrier()
