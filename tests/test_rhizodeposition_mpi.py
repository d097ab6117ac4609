"""Rhizodeposition on 2 ranks: depth slabs over ranks give the serial fields and files."""

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
    # each rank computes its depth slab with the same kernels; only summation order differs
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
        # the field written slab by slab (one piece per rank) is the serial field
        import pyvista
        img = pyvista.read(shared_tmp / f"out_{kind}" / "fields" / "day5.pvti")
        c = np.asarray(img.point_data["concentration_ug_cm3"]).reshape(cfg.grid.shape, order="F")
        same = same and img.dimensions == cfg.grid.shape and np.allclose(c, ser.final_total, rtol=1e-6, atol=1e-30)
    assert comm.bcast(same, root=0)


@pytest.mark.mpi
def test_short_root_on_two_ranks_releases_the_closed_form_mass():
    # one 0.05 cm segment (shorter than dx), grid split into x-slabs through the root
    comm = MPI.COMM_WORLD
    cfg = load(Config, {"rootsystem": {"generator": "straight", "growth_rate_cm_d": 0.05, "t_end_d": 1.0,
                                       "origin_cm": [0.0, 0.0, -1.0]},
                        "grid": {"origin_cm": [-0.5, -0.5, -1.6], "spacing_cm": 0.05, "shape": [20, 20, 22]},
                        "output": {"days": [1.0], "plots": False, "vti": False}})
    par = run(cfg, comm=comm)
    exact = 33.38 * (1 - np.exp(-0.22)) / 0.22              # Q (1 − e^{−k't})/k', 29.96 µg
    assert par.total_mass_ug[0] == pytest.approx(exact, rel=1e-6)
    assert par.released_mass_ug[0] == pytest.approx(exact, rel=1e-9)


@pytest.mark.mpi
def test_a_grid_missing_the_roots_is_refused_on_every_rank():
    from rhizofem.errors import ConfigError
    cfg = load(Config, {"rootsystem": {"t_end_d": 3.0, "n_laterals_max": 2},
                        "grid": {"origin_cm": [20.0, 20.0, -5.0], "spacing_cm": 0.2, "shape": [10, 10, 10]},
                        "output": {"days": [3.0], "plots": False}})
    with pytest.raises(ConfigError, match="no root's plume reaches"):
        run(cfg, comm=MPI.COMM_WORLD)


@pytest.mark.mpi
@pytest.mark.parametrize("plume", ["evolves", "frozen"])
def test_stopped_roots_on_two_ranks(plume):
    # roots grow for 3 d and stop; seen on day 5 (stopped) and day 3 (the stop itself)
    comm = MPI.COMM_WORLD
    base = {"rootsystem": {"t_end_d": 3.0, "n_laterals_max": 2},
            "rhizodeposit": {"stopped_root_plume": plume},
            "grid": {"origin_cm": [-2.0, -2.0, -6.0], "spacing_cm": 0.1, "shape": [40, 40, 65]},
            "output": {"days": [3.0, 5.0], "plots": False, "vti": False}}
    cfg = load(Config, base)
    par = run(cfg, comm=comm)
    ser = run(cfg, comm=MPI.COMM_SELF)
    for name in ("total_mass_ug", "released_mass_ug", "max_concentration_ug_cm3", "hotspot_volume_cm3"):
        assert np.allclose(getattr(par, name), getattr(ser, name), rtol=1e-12, atol=0), name
    if plume == "frozen":    # a frozen plume on day 5 is the plume of day 3
        assert par.total_mass_ug[1] == pytest.approx(par.total_mass_ug[0], rel=1e-12)
        assert par.hotspot_volume_cm3[1] == par.hotspot_volume_cm3[0]
    else:                    # it decays: released mass × e^{−k'·2 d} (k' = 0.22 d⁻¹)
        assert par.released_mass_ug[1] == pytest.approx(par.released_mass_ug[0] * np.exp(-0.44), rel=1e-9)


@pytest.mark.mpi
def test_elongation_rate_study_on_two_ranks_is_the_serial_one(shared_tmp):
    # collective: a rank-0-only call would hang here (the demo did)
    from rhizofem.models.rhizodeposition.report import elongation_rate_study
    from rhizofem.models.rhizodeposition.superposition import SourceParams
    comm = MPI.COMM_WORLD
    p = SourceParams("point", 33.38, 1.04e-3, 0.3, 1.0, 0.22)
    png = shared_tmp / "rates.png"
    par = elongation_rate_study(p, [0.3, 1.0], 2.0, 1430.0, spacing_cm=0.1, path=png, comm=comm)
    ser = elongation_rate_study(p, [0.3, 1.0], 2.0, 1430.0, spacing_cm=0.1, comm=MPI.COMM_SELF)
    for v in (0.3, 1.0):
        assert par[v][0] == ser[v][0] and par[v][1] == pytest.approx(ser[v][1], rel=1e-12)
    assert par[0.3][0] > 0                    # a hotspot exists: the comparison is not 0 = 0
    comm.barrier()
    assert png.is_file()
