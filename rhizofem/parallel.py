"""Small MPI helpers: work on one rank with errors that reach every rank; stopping together.

A file is read, or a picture drawn, on rank 0 only; if that fails, every rank must raise
the same error, or the others would wait forever in the next collective call. A run that is
stopped (a signal) or fails on some ranks only ends with one line and one exit status
(:func:`stop_on_signals`, :func:`leave_together`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from mpi4py import MPI

from rhizofem.errors import RhizofemError

T = TypeVar("T")

__all__ = ["check_all", "leave_together", "on_root", "rank0_print", "signal_name", "stop_on_signals"]


def on_root(comm: MPI.Comm, fn: Callable[..., T], *args: Any, root: int = 0, bcast: bool = True,
            **kwargs: Any) -> T | None:
    """Run ``fn(*args, **kwargs)`` on ``root`` only and return its result on every rank.

    An exception raised by ``fn`` is raised on every rank (rhizofem's own errors as they
    are; any other as a RuntimeError naming it). With ``bcast=False`` the result stays on
    ``root`` and the other ranks get ``None``.
    """
    result, error, cause = None, None, None
    if comm.rank == root:
        try:
            result = fn(*args, **kwargs)
        except RhizofemError as err:
            error = err
        except Exception as err:  # noqa: BLE001 - re-raised on every rank below
            error, cause = RuntimeError(f"{type(err).__name__} on rank {root}: {err}"), err
    # the original goes along as the cause where it can (a full disk is recognised by it)
    sent = cause if cause is None or _picklable(cause) else None
    error, received = comm.bcast((error, sent), root=root)
    if error is not None:
        if comm.rank == root and cause is not None:
            raise error from cause
        if received is not None:
            raise error from received
        raise error
    return comm.bcast(result, root=root) if bcast else result


def _picklable(obj: Any) -> bool:
    import pickle

    try:
        pickle.dumps(obj)
    except Exception:  # noqa: BLE001 - anything that cannot travel stays behind
        return False
    return True


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


# -- stopping: signals and failures on some ranks --------------------------------------


def signal_name(signum: int) -> str:
    """``SIGINT (Ctrl-C)``, ``SIGTERM``, ... for messages."""
    import signal

    name = signal.Signals(signum).name
    return f"{name} (Ctrl-C)" if signum == signal.SIGINT else name


@contextlib.contextmanager
def stop_on_signals(comm: MPI.Comm, message: Callable[[int], str], cleanup: Callable[[], None] | None = None,
                    *, wait_s: float = 2.0) -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM end the process cleanly on every rank.

    On the first signal a rank ignores any further one (a second Ctrl-C cannot stop the
    clean-up half-way), runs ``cleanup()`` (e.g. removing its staging folder), and leaves
    with :func:`leave_together`: one line ``message(signum)`` and exit status 128 + signal.
    The process ends there, without unwinding: a ``finally`` that calls a collective
    operation (closing a parallel field writer) would wait forever for ranks that stopped.

    ``comm`` must be used for nothing else (see :func:`leave_together`). Main thread only
    (elsewhere the block runs without handlers). Under ``mpiexec`` (MPICH), Ctrl-C and a
    SIGTERM sent to ``mpiexec`` reach every rank; a second Ctrl-C makes ``mpiexec`` kill the
    ranks outright (the next run into the same folder removes what they left).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    saved = {s: signal.getsignal(s) for s in signals}

    def handler(signum, _frame):
        for s in signals:
            signal.signal(s, signal.SIG_IGN)
        try:
            if cleanup is not None:
                cleanup()
        finally:
            leave_together(comm, message(signum), 128 + signum, wait_s=wait_s, exit_now=True)

    for s in signals:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, previous in saved.items():
            signal.signal(s, signal.SIG_DFL if previous is None else previous)


def leave_together(comm: MPI.Comm, line: str, code: int, *, wait_s: float = 5.0, exit_now: bool = False) -> int:
    """End a failed or stopped run with one line and exit status ``code``, on every rank.

    Called by each rank that stops. If all ranks arrive within ``wait_s`` (an error raised on
    every rank, a signal that reached every rank), rank 0 prints ``line`` to stderr and each
    returns ``code`` (or exits at once with ``exit_now``). If some rank does not arrive (it
    waits in a collective call for a rank that stopped, or computes on), this rank prints the
    line and ends the process with ``os._exit(code)``: the MPI launcher then ends the others.
    ``comm`` must be a communicator used for nothing else (a ``Dup`` made at start), so that
    this barrier cannot pair with a collective call of the computation.
    """
    import os
    import sys
    import time

    def barrier_within(seconds: float) -> bool:
        """Whether every rank reached this barrier within ``seconds`` (never blocks longer)."""
        request = comm.Ibarrier()
        deadline = time.monotonic() + seconds
        while not request.Test():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    together = barrier_within(wait_s)
    if comm.rank == 0 or not together:
        print(line, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if together:
        # no rank leaves before rank 0 has written the line: the launcher ends the other ranks
        # as soon as one exits with an error, and it could end rank 0 before its print
        barrier_within(wait_s)
    if exit_now or not together:
        # no interpreter shutdown: destructors of half-written field writers may abort it
        os._exit(code)
    return code
