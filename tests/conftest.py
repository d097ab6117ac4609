"""Shared pytest set-up.

Under ``mpiexec -n 2`` (see scripts/test) every rank runs pytest; rank 1 writes its report
to ``$RHIZOFEM_RANK_LOG_DIR/rank1.log`` so that the terminal shows one report.
Parallel tests compute the same thing on ``MPI.COMM_WORLD`` and on ``MPI.COMM_SELF`` (the
serial result, on every rank) and compare; assertions use values every rank agrees on, so a
failure never leaves one rank waiting in a collective call.
"""

import os
from pathlib import Path

import pytest
import rhizofem  # noqa: F401  (orders MPI before dolfinx)
from mpi4py import MPI

os.environ.setdefault("RHIZOFEM_PROGRESS", "0")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def comm():
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(tmp_path):
    """A temporary folder that is the same on every MPI rank (rank 0's tmp_path)."""
    return Path(MPI.COMM_WORLD.bcast(str(tmp_path), root=0))


def pytest_sessionstart(session):
    # scripts/test launches the parallel run with this set: a wrong mpiexec (one from another
    # MPI) would start independent serial copies that pass every comparison trivially
    expected = os.environ.get("RHIZOFEM_EXPECT_RANKS")
    if expected and MPI.COMM_WORLD.size != int(expected):
        raise pytest.UsageError(
            f"expected {expected} MPI ranks, got {MPI.COMM_WORLD.size}: mpiexec is not the venv's MPICH")
