"""Radial uptake on 2 ranks: the same per-segment results as on one rank."""

import json

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.config import load
from rhizofem.models.uptake import Config, run
from rhizofem.rootsystem.architecture import RootSystem


def small_root_system(path):
    """Three roots, nine segments with different radii, creation times and orders, spread over
    voxels of different root length density."""
    nodes, segs, radius, created, order, rid = [], [], [], [], [], []
    for root, (x, r, t0, o) in enumerate(((0.2, 0.05, 0.0, 0), (0.7, 0.03, 0.4, 1), (1.6, 0.02, 1.1, 1))):
        base = len(nodes)
        nodes += [[x, 0.3, -0.8 * z] for z in range(4)]
        for s in range(3):
            segs.append([base + s, base + s + 1])
            radius.append(r)
            created.append(t0 + 0.55 * s)
            order.append(o)
            rid.append(root)
    RootSystem(np.array(nodes), np.array(segs), np.array(radius), np.array(created), np.array(rid),
               np.array(order), np.array([-1, 0, 0])).to_table(path)


@pytest.mark.mpi
def test_segments_give_the_same_results_on_one_and_two_ranks(shared_tmp):
    comm = MPI.COMM_WORLD
    table = shared_tmp / "rs.csv"
    if comm.rank == 0:
        small_root_system(table)
    comm.barrier()
    cfg = load(Config, {"rootsystem": {"table": str(table), "voxel_cm": 1.0, "exuding_orders": [0, 1]},
                        "time": {"t_end_d": 3.0, "output_interval_d": 0.5, "profile_times_d": [3.0]},
                        "numerics": {"segments_per_batch": 2},
                        "output": {"plots": False, "compare_without_exudation": True,
                                   "profile_segments": [0, 8]}})
    par = run(cfg, out_dir=shared_tmp / "out", comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    assert len(par.segments.arrays) == 9
    # Segments are independent and each keeps its own clock, so the partition (ranks, batches of
    # 2) changes only how many Newton iterations a batch takes: agreement to ~Newton tolerance.
    worst = 0.0
    for name in ("uptake_P_umol", "exuded_C_umol", "decomposed_C_umol", "mobilised_P_umol"):
        a, b = getattr(par.series, name), getattr(ser.series, name)
        assert np.allclose(a, b, rtol=1e-9, atol=1e-15), name
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30))))
    print(f"1 vs {comm.size} ranks: largest relative difference {worst:.1e}")
    assert np.allclose(par.without_exudation.uptake_P_umol, ser.without_exudation.uptake_P_umol, rtol=1e-9)
    assert np.array_equal(par.series.steps, ser.series.steps)
    assert par.uptake_P_umol == pytest.approx(ser.uptake_P_umol, rel=1e-9)
    assert par.mass_balance_error_rel < 1e-9
    # every segment did something (the comparison is not between zeros)
    assert np.all(par.series.uptake_P_umol[:, -1] > 0)
    assert [p["index"] for p in par.series.profiles] == [0, 8]
    doc = json.loads((shared_tmp / "out" / "summary.json").read_text()) if comm.rank == 0 else None
    doc = comm.bcast(doc, root=0)
    assert doc["ranks"] == comm.size
    assert doc["results"]["uptake_P_umol"] == pytest.approx(ser.uptake_P_umol, rel=1e-9)
