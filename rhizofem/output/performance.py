"""Where a run spends its time and memory, per MPI rank: the ``performance`` section of summary.json.

Every command times its stages with one :class:`Clock` per rank and ends with
``out.summary(performance=performance(comm, clock, dofs=...))``. The section holds, for every
rank, the wall and CPU seconds of each stage and the peak resident memory, so that a stage
where one rank works while the others wait shows as a wall time without CPU time on the
waiting ranks. Stage names follow one vocabulary where they apply:

``meshing``               image → mesh (or liquid numbering), distribution over the ranks
``setup``                 everything else built once: spaces, constraints, samplers, sources
``assembly``              matrices and right-hand sides
``preconditioner_setup``  AMG hierarchies or factorisations
``solves``                Krylov iterations / triangular solves
``output``                fields, tables, figures

and a model adds its own (``bacteria``, ``kernels``, ...). Memory is the peak resident set
(``VmHWM``) of the process, so it includes the interpreter and the libraries (about
250 MB with DOLFINx imported); ``rss_at_start_mb`` is what the process held before the run.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator, Mapping
from typing import Any

from mpi4py import MPI

__all__ = ["Clock", "current_rss_mb", "peak_rss_mb", "performance", "recorded"]


class Clock:
    """Wall and CPU seconds per stage on this rank, each second counted in one stage only.

    ``with clock.stage("solves"): ...`` times a block; ``clock.switch("kernels")`` ends the
    current stage and starts the next (for loops that alternate between stages;
    ``clock.switch(None)`` stops); ``clock.add("solves", s)`` adds seconds measured elsewhere.
    A stage opened inside another (a solver's ``solves`` inside a run's ``stepping``) pauses the
    outer one until it closes, so the stages never overlap and their sum is at most the wall
    time of the run.

    ``dofs``: the global number of unknowns of the run's largest problem, set by the model for
    the memory per DOF of :func:`performance` (None: not a DOF-based model).
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.dofs: int | None = None
        self._open: list[tuple[str, bool]] = []   # (stage, opened by switch) innermost last
        self._w = self._c = 0.0

    def add(self, stage: str, seconds: float, cpu_seconds: float | None = None) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + float(seconds)
        if cpu_seconds is not None:
            self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + float(cpu_seconds)

    def _charge(self) -> None:
        """Book the time since the last mark to the innermost open stage."""
        w, c = time.perf_counter(), time.process_time()
        if self._open:
            self.add(self._open[-1][0], w - self._w, c - self._c)
        self._w, self._c = w, c

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._charge()
        depth = len(self._open)
        self._open.append((name, False))
        try:
            yield
        finally:
            self._charge()
            del self._open[depth:]   # with any stage switched on inside and left open

    def switch(self, name: str | None) -> None:
        self._charge()
        if self._open and self._open[-1][1]:
            self._open.pop()
        if name is not None:
            self._open.append((name, True))

    def merge(self, seconds: Mapping[str, float], prefix: str = "") -> None:
        """Add wall seconds kept elsewhere (a solver's own timings dict)."""
        for key, value in seconds.items():
            if isinstance(value, (int, float)):
                self.add(prefix + key, value)

    def mark(self) -> tuple[dict[str, float], dict[str, float]]:
        """The wall and CPU seconds so far, for :meth:`since` (the time split of one part of a run)."""
        self._charge()
        return dict(self.seconds), dict(self.cpu_seconds)

    def since(self, mark: tuple[dict[str, float], dict[str, float]], stages, cpu: bool = False) -> dict[str, float]:
        """Seconds (wall, or CPU with ``cpu``) booked to each of ``stages`` since ``mark``."""
        self._charge()
        now, then = (self.cpu_seconds, mark[1]) if cpu else (self.seconds, mark[0])
        return {k: now.get(k, 0.0) - then.get(k, 0.0) for k in stages}

    def total(self) -> float:
        """Wall seconds booked to any stage."""
        return sum(self.seconds.values())


@contextlib.contextmanager
def recorded(out, comm: MPI.Comm, note: str = "") -> Iterator[Clock]:
    """A :class:`Clock` for a run that writes into ``out`` (a :class:`~rhizofem.output.RunOutput`);
    when the block ends without an error, the ``performance`` section goes into its summary.

    ``with RunOutput(...) as out, recorded(out, comm) as clock:`` — then ``clock.switch(...)`` /
    ``clock.stage(...)`` around the stages and ``clock.dofs = ...`` once known. Collective at
    the end (skipped for a run without an output folder).
    """
    clock = Clock()
    rss_start = current_rss_mb()
    yield clock
    clock.switch(None)
    if out.enabled:
        out.summary(performance=performance(comm, clock, dofs=clock.dofs, rss_start_mb=rss_start, note=note))


def current_rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far.

    Linux /proc ``VmHWM`` where available: ``ru_maxrss`` survives ``exec``, so a process started
    by a large parent (a test runner that has loaded Gmsh and VTK) would report the parent's
    size at the fork as its own peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def performance(comm: MPI.Comm, clock: Clock, dofs: int | None = None, rss_start_mb: float | None = None,
                note: str = "") -> dict[str, Any]:
    """The ``performance`` section: per rank time split (wall and CPU) and peak memory.

    Collective (an allgather of a few numbers per rank). ``dofs``: the global number of
    unknowns of the largest problem, for memory per million DOFs *of a rank* (dofs / ranks).
    """
    mine = {"timings_s": _rounded(clock.seconds), "cpu_s": _rounded(clock.cpu_seconds),
            "peak_rss_mb": round(peak_rss_mb(), 1), "cpu_total_s": round(time.process_time(), 3)}
    if rss_start_mb is not None:
        mine["rss_at_start_mb"] = round(rss_start_mb, 1)
    per_rank = comm.allgather(mine)
    peak = max(r["peak_rss_mb"] for r in per_rank)
    out: dict[str, Any] = {"ranks": per_rank, "peak_rss_mb_max": peak}
    stages = sorted({k for r in per_rank for k in r["timings_s"]})
    out["stage_wall_s_max"] = {k: max(r["timings_s"].get(k, 0.0) for r in per_rank) for k in stages}
    if dofs:
        per_million = dofs / 1e6 / comm.size
        out["dofs"] = int(dofs)
        out["peak_rss_gb_per_million_dofs"] = peak / 1024.0 / per_million
        if rss_start_mb is not None:
            growth = max(r["peak_rss_mb"] - r.get("rss_at_start_mb", 0.0) for r in per_rank)
            out["peak_rss_growth_gb_per_million_dofs"] = growth / 1024.0 / per_million
    out["note"] = ("wall and CPU seconds per stage and peak resident memory of each rank (cpu_total_s: the "
                   "process's CPU time, imports included); per million DOFs of a rank (DOFs / ranks); 'growth' "
                   "leaves out what the process held when the run started (Python, DOLFINx, PETSc: about 250 MB)"
                   + (f"; {note}" if note else ""))
    return out


def _rounded(seconds: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in seconds.items()}
