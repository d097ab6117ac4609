"""Shared pytest set-up.

Under ``mpiexec -n 2`` (see scripts/test) every rank runs pytest; rank 1 writes its report
to ``$RHIZOFEM_RANK_LOG_DIR/rank1.log`` so that the terminal shows one report.
Parallel tests compute the same thing on ``MPI.COMM_WORLD`` and on ``MPI.COMM_SELF`` (the
serial result, on every rank) and compare; assertions use values every rank agrees on, so a
failure never leaves one rank waiting in a collective call.
"""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import rhizofem  # noqa: F401  (orders MPI before dolfinx)
from mpi4py import MPI

os.environ.setdefault("RHIZOFEM_PROGRESS", "0")
ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MPIEXEC = VENV_BIN / "mpiexec"
# variables by which an MPI launcher tells a process its rank: a process a test starts must
# not take them from the test's own (possibly parallel) run
_LAUNCHER_VARS = ("PMI_", "PMIX_", "HYDRA_", "MPIR_", "MPI_LOCAL", "OMPI_")


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a command a test runs: this checkout's rhizofem and the venv's tools on
    PATH, no launcher variables, no progress bars, one thread per rank."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_VARS)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PATH"] = os.pathsep.join((str(VENV_BIN), env.get("PATH", "")))
    env.update(RHIZOFEM_PROGRESS="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.update(extra)
    return env


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


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = "4m", read_only: bool = False):
    """A tmpfs of ``size`` mounted at ``path`` for the block (a full disk, a read-only one).

    Skips the test where mounting is not allowed (it needs root, as in the CI container).
    """
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only_folder(path: Path):
    """A folder the test process cannot write into: chmod for a user, a read-only tmpfs for root."""
    if os.geteuid() != 0:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
    else:
        with small_filesystem(path, "1m", read_only=True):
            yield path


def descendants(pid: int) -> list[int]:
    """Processes started by ``pid``, transitively (mpiexec's proxy leaves the process group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def end_process_tree(proc: subprocess.Popen) -> None:
    """Kill a command a test started, with every process it started, if it still runs."""
    if proc.poll() is None:
        for pid in [*descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.communicate()


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path below ``folder`` (hidden ones too) with its content: what a user would find."""
    out: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = os.path.join(root, name)
            out[os.path.relpath(p, folder)] = Path(p).read_bytes() if os.path.isfile(p) else None
    return out
