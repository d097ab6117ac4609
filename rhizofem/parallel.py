"""Small MPI helpers: work on one rank with errors that reach every rank.

A file is read, or a picture drawn, on rank 0 only; if that fails, every rank must raise
the same error, or the others would wait forever in the next collective call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mpi4py import MPI

from rhizofem.errors import RhizofemError

T = TypeVar("T")

__all__ = ["check_all", "on_root", "rank0_print"]


def on_root(comm: MPI.Comm, fn: Callable[..., T], *args: Any, root: int = 0, bcast: bool = True,
            **kwargs: Any) -> T | None:
    """Run ``fn(*args, **kwargs)`` on ``root`` only and return its result on every rank.

    An exception raised by ``fn`` is raised on every rank (rhizofem's own errors as they
    are; any other as a RuntimeError naming it). With ``bcast=False`` the result stays on
    ``root`` and the other ranks get ``None``.
    """
    result, error = None, None
    if comm.rank == root:
        try:
            result = fn(*args, **kwargs)
        except RhizofemError as err:
            error = err
        except Exception as err:  # noqa: BLE001 - re-raised on every rank below
            error = RuntimeError(f"{type(err).__name__} on rank {root}: {err}")
            error.__cause__ = err
    error = comm.bcast(error, root=root)
    if error is not None:
        if comm.rank == root and error.__cause__ is not None and not isinstance(error, RhizofemError):
            raise error from error.__cause__
        raise error
    return comm.bcast(result, root=root) if bcast else result


def check_all(comm: MPI.Comm, ok: bool, message: str, error: type[Exception] = RhizofemError) -> None:
    """Raise ``error`` on every rank if ``ok`` is false on any rank.

    The message of the lowest failing rank is used, so every rank reports the same thing.
    """
    messages = comm.allgather(None if ok else message)
    failed = [m for m in messages if m is not None]
    if failed:
        raise error(failed[0])


def rank0_print(comm: MPI.Comm, *args: Any, **kwargs: Any) -> None:
    """print() on rank 0 only (flushed, so that output under mpiexec stays in order)."""
    if comm.rank == 0:
        print(*args, **kwargs, flush=True)
