"""The coupled model on 2 ranks: the soil box split between the ranks, every root piece on the
rank that owns its cell; the same results as serially and the mass balance every step."""

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.models.uptake import run
from test_uptake_coupled import growing_roots, macro_config


@pytest.mark.mpi
def test_coupled_model_on_two_ranks_equals_the_serial_run(shared_tmp):
    comm = MPI.COMM_WORLD
    table = shared_tmp / "rs.csv"
    if comm.rank == 0:
        growing_roots(table)
    comm.barrier()
    cfg = macro_config(table, [1.0, 1.0, 1.5], [0.0, 0.0, -1.5], 0.25, time={"t_end_d": 2.0},
                       macro={"dt_h": 3.0, "compare_per_segment": False})
    par = run(cfg, comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    # The partition changes only the order of sums (soil fluxes, reductions) and the Krylov
    # iterates of the soil solve (converged to 1e-12): 1e-8 leaves room above those.
    assert par.uptake_P_umol == pytest.approx(ser.uptake_P_umol, rel=1e-8)
    assert par.decomposed_citrate_umol == pytest.approx(ser.decomposed_citrate_umol, rel=1e-8)
    assert np.allclose(par.coupled.uptake_P_per_segment_umol, ser.coupled.uptake_P_per_segment_umol,
                       rtol=1e-8, atol=1e-18)
    assert np.allclose(par.coupled.uptake_P_series_umol, ser.coupled.uptake_P_series_umol, rtol=1e-8, atol=1e-18)
    worst = float(np.max(np.abs(par.coupled.uptake_P_per_segment_umol / ser.coupled.uptake_P_per_segment_umol - 1)))
    print(f"coupled, 1 vs {comm.size} ranks: largest relative difference per segment {worst:.1e}")
    # the mass balance every step, on the split box
    assert par.coupled.mass_balance_error_rel_by_step.max() < 1e-9
    # both ranks own cells and pieces (the test exercises the split)
    owned = comm.allgather(par.coupled.n_pieces)
    assert owned[0] == ser.coupled.n_pieces
