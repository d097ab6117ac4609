"""Run directories: summary.json appears only for a complete run, written atomically."""

import json

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.output import RunOutput, write_csv


def test_success_writes_summary_last_with_staged_files(shared_tmp):
    comm = MPI.COMM_WORLD
    out = shared_tmp / "run"
    with RunOutput(out, comm, command="demo", config=None) as run:
        write_csv(run.path("table.csv"), ["t", "m"], [(0.0, np.float64(1.5))], comm)
        run.summary(results={"mass_ug": np.float64(2.0), "series": np.arange(3)})
        run.summary(results={"extra": float("nan")})
        assert not (out / "summary.json").exists()
    doc = json.loads((out / "summary.json").read_text())
    assert doc["ranks"] == comm.size
    assert doc["results"] == {"mass_ug": 2.0, "series": [0, 1, 2], "extra": None}
    assert doc["files"] == ["table.csv"]
    assert doc["wall_time_s"] >= 0
    assert (out / "table.csv").read_text().splitlines()[1] == "0.0,1.5"
    assert not list(out.glob(".rhizofem-partial-*"))


def test_failure_leaves_no_summary_and_no_partial_files(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("{}")  # from an earlier run
    with pytest.raises(RuntimeError), RunOutput(out, MPI.COMM_SELF, command="demo") as run:
        write_csv(run.path("table.csv"), ["a"], [(1,)], MPI.COMM_SELF)
        raise RuntimeError("solver blew up")
    assert sorted(p.name for p in out.iterdir()) == []


def test_no_directory_means_no_files():
    with RunOutput(None, MPI.COMM_SELF, command="demo") as run:
        assert run.path("x.csv") is None
        write_csv(run.path("x.csv"), ["a"], [(1,)], MPI.COMM_SELF)
