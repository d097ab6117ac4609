"""Exudation on 2 ranks: the same mass, flux, profile and 1 % distance as on one rank."""

import json

import numpy as np
import pytest
from exudation_cases import small_sample, small_sample_config
from mpi4py import MPI
from rhizofem.config import load
from rhizofem.models.exudation import Config, run


@pytest.mark.mpi
def test_same_result_on_one_and_two_ranks(shared_tmp):
    comm = MPI.COMM_WORLD
    path = shared_tmp / "sample.npy"
    if comm.rank == 0:
        np.save(path, small_sample())
    comm.barrier()
    # a tight linear solve (the default follows time_rtol: 1e-6), so that the comparison sees the
    # partition's effect on the solver only, and the step controller takes the same steps
    tight = {"numerics": {"petsc_options": {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10,
                                            "pc_gamg_aggressive_square_graph": False}}}
    cfg = load(Config, small_sample_config(path, output={"plots": True, "fields": True}, **tight))
    par = run(cfg, out_dir=shared_tmp / "out", comm=comm)
    ser = run(load(Config, small_sample_config(path, **tight)), comm=MPI.COMM_SELF)
    # the same mesh, partitioned differently: CG + GAMG at rtol 1e-10 on both, so the
    # results agree to ~1e-9 (the preconditioner differs with the partition)
    diffs = {}
    for name in ("mass_ug", "inlet_flux_mass_ug", "distance_1pct_mm"):
        a, b = getattr(par.case, name), getattr(ser.case, name)
        diffs[name] = abs(a - b) / abs(b)
    for case_par, case_ser in ((par.case, ser.case), (par.hairless, ser.hairless)):
        # at the output times (every run lands on them), the masses agree to the solver tolerance
        for t in (60.0, 600.0):
            a, b = (c.mass_series_ug[np.argmin(abs(c.times_s - t))] for c in (case_par, case_ser))
            assert a == pytest.approx(b, rel=1e-8)  # measured 4e-10
        assert np.allclose(case_par.profile.mean_ug_cm3, case_ser.profile.mean_ug_cm3, rtol=1e-7, atol=1e-9,
                           equal_nan=True)
        # the same adaptive steps, up to the solver noise in the error estimates: a third divided
        # difference of solutions amplifies CG's 1e-10 to 1e-8..1e-7 in the step sizes
        assert len(case_par.times_s) == len(case_ser.times_s)
        assert np.allclose(case_par.times_s, case_ser.times_s, rtol=1e-6)
    if comm.rank == 0:
        print(f"1 vs {comm.size} ranks: relative differences {({k: f'{v:.1e}' for k, v in diffs.items()})}")
    assert max(diffs.values()) < 1e-8
    assert par.dofs == ser.dofs
    assert par.conservation_error_rel < 1e-7
    doc = comm.bcast(json.loads((shared_tmp / "out" / "summary.json").read_text()) if comm.rank == 0 else None)
    assert doc["ranks"] == comm.size
    assert doc["results"]["mass_ug"] == pytest.approx(ser.mass_ug, rel=1e-8)
    assert doc["results"]["hairless"]["mass_ug"] == pytest.approx(ser.hairless.mass_ug, rel=1e-8)
    assert {"mass.png", "profile.png", "concentration_3d.png", "comparison.csv"} <= set(doc["files"])
    # mass.csv: one row per case and time level (the cases take different adaptive steps)
    rows = comm.bcast((shared_tmp / "out" / "mass.csv").read_text().splitlines() if comm.rank == 0 else None)
    assert rows[0] == "inlet,t_s,mass_ug,inlet_flux_mass_ug,inlet_flux_ug_s"
    assert len(rows) - 1 == len(par.case.times_s) + len(par.hairless.times_s)


@pytest.mark.mpi
def test_msh_route_on_two_ranks(shared_tmp):
    """A ready .msh read on 2 ranks gives the serial mass (the mesh's extent is reduced over ranks)."""
    from rhizofem.meshing.gmsh_io import write_soil_msh
    from rhizofem.meshing.soil import soil_simplices

    comm = MPI.COMM_WORLD
    msh = shared_tmp / "s.msh"
    if comm.rank == 0:
        write_soil_msh(msh, soil_simplices(small_sample(), 9.0))
    comm.barrier()
    cfg = {"mesh": {"path": str(msh)}, "compare_hairless": False, "physics": {"t_end_s": 60.0},
           "time": {"output_times_s": [60.0]}, "output": {"plots": False, "fields": False},
           "numerics": {"petsc_options": {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10}}}
    par = run(load(Config, cfg), comm=comm)
    ser = run(load(Config, cfg), comm=MPI.COMM_SELF)
    assert par.mass_ug == pytest.approx(ser.mass_ug, rel=1e-7)  # CG rtol 1e-10 on both, other partitions
