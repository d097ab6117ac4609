"""rhizofem microbes on 2 ranks: the same cells, biomass, respiration and carbon balance as on one."""

import json

import numpy as np
import pytest
from mpi4py import MPI

from microbes_cases import channel, everything_on
from rhizofem.config import load
from rhizofem.models.microbes import Config, run, simulate
from test_microbes import cosine_mode_error, monod_ode


@pytest.mark.mpi
def test_same_seed_same_result_on_one_and_two_ranks(shared_tmp):
    comm = MPI.COMM_WORLD
    # every process on: motility with chemotaxis and division move cells across the slab border
    cfg = everything_on()
    par = run(cfg, out_dir=shared_tmp / "par", comm=comm)
    ser = simulate(cfg, MPI.COMM_SELF)
    if comm.size > 1:
        assert par.stats["migrated"] > 0  # cells did cross between ranks
        assert min(par.stats["cells_per_rank"]) > 0
    # cells are keyed by id and draw their random numbers by (id, step): the same cells live,
    # divide and die on any partition; only the DOC solve (CG to 1e-12) and the order of global
    # sums differ, so the series agree to ~1e-10
    for key in ("cells_active", "cells_dormant", "births", "deaths"):
        assert np.array_equal(par.series[key], ser.series[key]), key
    for key in ("biomass_active_ug_C", "biomass_dormant_ug_C", "doc_ug_C", "pom_ug_C", "co2_ug_C",
                "necromass_ug_C", "outflow_ug_C", "exuded_ug_C"):
        assert np.allclose(par.series[key], ser.series[key], rtol=1e-8, atol=1e-18), key
    ids = np.sort(np.concatenate(comm.allgather(par.cells.id)))
    assert np.array_equal(ids, np.sort(ser.cells.id))
    mass = dict(zip(np.concatenate(comm.allgather(par.cells.id)), np.concatenate(comm.allgather(par.cells.mass)),
                    strict=True))
    assert np.allclose([mass[i] for i in ser.cells.id], ser.cells.mass, rtol=1e-8)
    # the balance holds on every partition
    assert par.carbon_balance_error_rel < 1e-9 and ser.carbon_balance_error_rel < 1e-9
    for key in ("biomass_ug_C", "respired_ug_C"):
        assert np.allclose(par.profile[key], ser.profile[key], rtol=1e-8, atol=1e-18), key
    doc = json.loads((shared_tmp / "par" / "summary.json").read_text()) if comm.rank == 0 else None
    doc = comm.bcast(doc, root=0)
    assert doc["ranks"] == comm.size
    assert doc["results"]["biomass_ug_C"] == pytest.approx(ser.biomass_ug_C, rel=1e-8)


@pytest.mark.mpi
def test_diffusion_across_the_slab_border_matches_the_discrete_solution(shared_tmp):
    comm = MPI.COMM_WORLD
    path = shared_tmp / "channel.npy"
    if comm.rank == 0:
        np.save(path, channel(48))
    comm.barrier()
    cfg = load(Config, {"domain": {"image": str(path), "pom_fragments": 0}})
    err, rel, predicted = cosine_mode_error(cfg, comm, 60, 1.0 / 3600.0)
    # the slab border cuts the channel: the distributed operator is the same voxel Laplacian
    assert err < 1e-9
    assert rel == pytest.approx(predicted, rel=0.05)


@pytest.mark.mpi
def test_well_mixed_limit_on_two_ranks(shared_tmp):
    """The batch culture split over two slabs: the Monod ODE as serially, the same numbers as one rank."""
    comm = MPI.COMM_WORLD
    path = shared_tmp / "cube.npy"
    if comm.rank == 0:
        np.save(path, np.full((6, 6, 6), 2, dtype=np.uint8))
    comm.barrier()
    cfg = load(Config, {"domain": {"image": str(path), "pom_fragments": 0},
                        "carbon": {"D_doc_cm2_s": 1e-3, "initial_doc_ug_cm3": 200.0},
                        "root": {"exudation_ug_C_cm2_d": 0.0},
                        "bacteria": {"initial_cells": 60, "dormancy": False, "death_mass_ug_C": 0.0,
                                     "maintenance_per_h": 0.02},
                        "run": {"t_end_d": 0.5, "dt_h": 0.1, "seed": 2, "output_times_d": []}})
    par = simulate(cfg, comm)
    ser = simulate(cfg, MPI.COMM_SELF)
    s = par.series
    B = s["biomass_active_ug_C"] + s["biomass_dormant_ug_C"]
    B_ode, C_ode, co2_ode = monod_ode(cfg, B[0], s["doc_ug_C"][0], 216 * (10e-4) ** 3, s["t_d"] * 24)
    err = max(np.max(np.abs(B - B_ode)), np.max(np.abs(s["doc_ug_C"] - C_ode)),
              np.max(np.abs(s["co2_ug_C"] - co2_ode))) / (s["doc_ug_C"][0] + B[0])
    assert err < 0.01  # as serially: the splitting error at Δt = 0.1 h (measured 0.2-0.3 %)
    assert np.array_equal(s["cells_active"], ser.series["cells_active"])
    assert np.allclose(B, ser.series["biomass_active_ug_C"], rtol=1e-9)
