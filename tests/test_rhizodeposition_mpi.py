"""Rhizodeposition on 2 ranks: roots dealt out over ranks give the serial fields."""

import json

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.config import load
from rhizofem.models.rhizodeposition import Config, run


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["point", "line"])
def test_one_and_two_ranks_give_the_same_fields(shared_tmp, kind):
    comm = MPI.COMM_WORLD
    rd = {"kind": kind} if kind == "point" else {"kind": "line", "D_cm2_d": 0.171, "retardation": 16.7,
                                                 "decay_rate_d": 1.42, "release_length_cm": 2.0}
    cfg = load(Config, {"rootsystem": {"t_end_d": 5.0, "n_laterals_max": 4},
                        "rhizodeposit": rd, "hotspot": {"threshold_mg_g": 0.05},
                        "grid": {"origin_cm": [-2.5, -2.5, -8.0], "spacing_cm": 0.1, "shape": [50, 50, 85]},
                        "output": {"days": [2.0, 5.0], "plots": False}})
    par = run(cfg, out_dir=shared_tmp / f"out_{kind}", comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    assert par.n_roots == 5
    # each rank computes its block of x-planes with the same kernels; only summation order differs
    for name in ("total_mass_ug", "max_concentration_ug_cm3", "hotspot_volume_cm3", "overlap_share"):
        assert np.allclose(getattr(par, name), getattr(ser, name), rtol=1e-12, atol=0), name
    assert par.hotspot_volume_cm3[-1] > 0
    same = None
    if comm.rank == 0:
        same = (np.allclose(par.final_total, ser.final_total, rtol=1e-12, atol=1e-300)
                and np.allclose(par.final_max_single, ser.final_max_single, rtol=1e-12, atol=1e-300)
                and np.array_equal(par.hotspot_days, ser.hotspot_days))
        doc = json.loads((shared_tmp / f"out_{kind}" / "summary.json").read_text())
        same = same and doc["ranks"] == comm.size
    assert comm.bcast(same, root=0)
