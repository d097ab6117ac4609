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


def test_layers_are_dealt_in_slabs_of_equal_work():
    from rhizofem.models.uptake.macro import layer_slabs

    # whole layers, contiguous, each rank's share as equal as whole layers allow
    assert layer_slabs([1, 1, 1, 1, 10, 10], 2).tolist() == [0, 0, 0, 0, 0, 1]   # 14 against 10
    assert layer_slabs([5, 1, 1, 1, 1, 1], 2).tolist() == [0, 1, 1, 1, 1, 1]
    assert layer_slabs([1.0] * 9, 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert layer_slabs([1, 100, 1], 3).tolist() == [0, 1, 2]
    assert layer_slabs([100, 1, 1], 3) is None    # rank 0 would get nothing: DOLFINx's partitioner
    assert layer_slabs([1, 1], 3) is None


@pytest.mark.mpi
def test_soil_box_ranks_own_the_slabs_of_equal_work(shared_tmp):
    """The box's cells are dealt to the ranks in horizontal slabs that balance soil cells and
    root pieces (the radial models of a piece run on the rank that owns its cell): each rank
    owns exactly its slab's layers, so the partitioner read create_box's cells right and did
    not fall back to the graph partitioner."""
    from rhizofem.models.uptake.coupled import box_of, layer_work
    from rhizofem.models.uptake.macro import SoilBox, layer_slabs
    from rhizofem.models.uptake.physics import build_model
    from rhizofem.rootsystem.architecture import RootSystem

    comm = MPI.COMM_WORLD
    table = shared_tmp / "rs_slabs.csv"
    if comm.rank == 0:
        growing_roots(table)
    comm.barrier()
    cfg = macro_config(table, [1.0, 1.0, 1.5], [0.0, 0.0, -1.5], 0.25, time={"t_end_d": 2.0})
    rs = RootSystem.from_table(table)
    lo, size, n = box_of(rs, cfg.macro)
    work = layer_work(rs, lo, size / n, n, cfg.time.t_end_d)
    # the roots make some layers much heavier than their soil alone (4 × 4 cells a layer)
    assert work.min() >= 16 and work.max() > 10 * 16
    soil = SoilBox(build_model(cfg), comm, lo, size, n, layer_work=work)
    owned = set(np.unique(soil.ijk[:, 2]).tolist())
    slabs = layer_slabs(work, comm.size)
    expected = set(range(n[2])) if comm.size == 1 else set(np.nonzero(slabs == comm.rank)[0].tolist())
    assert owned == expected
    assert comm.allreduce(soil.n_owned) == int(np.prod(n))
