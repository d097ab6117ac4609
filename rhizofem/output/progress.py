"""What a user sees while a run works: progress on rank 0, stage lines, readable durations.

::

    from rhizofem.output.progress import progress, simulated_time, stage

    with stage(comm, "meshing the soil phase"):        # "meshing the soil phase ..." now,
        mesh = build_mesh()                             # "meshing the soil phase: done in 31 s" after

    with progress(total=len(dts), desc="exudation (root+hair)", unit="step", comm=comm) as bar:
        for dt in dts:
            ...                                         # one time step
            t += dt
            bar.set_postfix_str(simulated_time(t, t_end), refresh=False)   # "t = 12.5 min of 1 h"
            bar.update()

Count steps (or segments, roots, days), never simulated seconds: steps that grow
geometrically make a bar of seconds show nonsense rates and remaining times. The simulated
time belongs in the postfix, formatted with :func:`format_duration` (``0.05 s``, ``12.5 min``,
``16 d``: three significant digits, the unit that fits).

Where it goes (stderr, rank 0 only; every rank must still call ``progress`` and ``stage``
alike, neither communicates):

* stderr is a terminal: a tqdm bar;
* stderr is a file or a pipe (a batch job's log): one plain line at the start, at every
  10 % and at least every minute, and at the end, each flushed at once (no carriage returns);
* ``RHIZOFEM_PROGRESS=0`` silences bars and stage lines (the test suite does);
  ``RHIZOFEM_PROGRESS=lines`` asks for plain lines on a terminal too.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from mpi4py import MPI
from tqdm.std import tqdm

__all__ = ["format_duration", "progress", "progress_enabled", "simulated_time", "stage"]

#: a plain progress line at least this often (seconds) when the output is a log
LOG_INTERVAL_S = 60.0


def _setting() -> str:
    return os.environ.get("RHIZOFEM_PROGRESS", "1").strip().lower()


def progress_enabled(comm: MPI.Comm = MPI.COMM_WORLD) -> bool:
    return comm.rank == 0 and _setting() not in ("0", "false", "no", "off")


def _as_lines() -> bool:
    if _setting() == "lines":
        return True
    try:
        return not sys.stderr.isatty()
    except (AttributeError, ValueError):
        return True


def progress(iterable: Iterable | None = None, *, total: float | None = None, desc: str = "",
             unit: str = "step", comm: MPI.Comm = MPI.COMM_WORLD, **kwargs: Any) -> tqdm:
    """A progress bar on rank 0 (a silent one elsewhere or when disabled); see the module docstring.

    Takes tqdm's arguments; use it as a context manager or call ``close()``. ``update(n)``
    never counts past ``total`` (rounding of float totals used to warn and show negative
    remaining times).
    """
    enabled = progress_enabled(comm)
    cls = _LogBar if enabled and _as_lines() else _Bar
    options = {"file": sys.stderr, "mininterval": 0.5, "dynamic_ncols": True, **kwargs}
    return cls(iterable, total=total, desc=desc, unit=unit, disable=not enabled, **options)


class _Bar(tqdm):
    """tqdm that clamps its count to the total."""

    def update(self, n: float = 1) -> bool | None:
        if not self.disable and self.total is not None and self.n + n > self.total:
            n = max(self.total - self.n, 0)
        return super().update(n)


class _LogBar(_Bar):
    """Plain lines for logs: at the start, every 10 %, at least every LOG_INTERVAL_S, at the end."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._next_fraction = 0.0
        self._last_line_t = -math.inf
        self._shown_n: float | None = None
        kwargs.setdefault("bar_format", "{desc}: {percentage:3.0f}% ({n_fmt}/{total_fmt} {unit}), "
                                        "{elapsed} elapsed, {remaining} left{postfix}"
                          if kwargs.get("total") is not None or _has_len(args) else
                          "{desc}: {n_fmt} {unit}, {elapsed} elapsed{postfix}")
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg == "" or self.disable:
            return False  # a request to clear: lines in a log stay as written
        now = self._time()
        fraction = self.n / self.total if self.total else None
        due = (self._shown_n is None or now - self._last_line_t >= LOG_INTERVAL_S
               or (fraction is not None and fraction >= self._next_fraction))
        if due and self.n != self._shown_n:
            self._line(now, fraction)
        return True

    def _line(self, now: float, fraction: float | None) -> None:
        self.fp.write(self.__str__() + "\n")
        self.fp.flush()
        self._shown_n, self._last_line_t = self.n, now
        if fraction is not None:
            self._next_fraction = (math.floor(fraction * 10 + 1e-9) + 1) / 10

    def close(self) -> None:
        if not self.disable and getattr(self, "_shown_n", None) != self.n:
            self._line(self._time(), None)
        self.leave = False  # nothing to clear and no bar to leave behind
        super().close()


def _has_len(args: tuple) -> bool:
    return bool(args) and hasattr(args[0], "__len__")


@contextlib.contextmanager
def stage(comm: MPI.Comm, what: str) -> Iterator[None]:
    """Say on rank 0 that a long step without a bar starts, and when it is done.

    ``what`` is the step in the user's words ("meshing the soil phase"). Prints
    ``what ...`` at once and ``what: done in 31 s`` at the end (nothing more if it fails).
    """
    show = progress_enabled(comm)
    if show:
        print(f"{what} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    yield
    if show:
        print(f"{what}: done in {format_duration(time.perf_counter() - t0)}", file=sys.stderr, flush=True)


def format_duration(seconds: float) -> str:
    """A duration for people: ``0.05 s``, ``42 s``, ``12.5 min``, ``1.5 h``, ``16 d``.

    Three significant digits in the largest unit that keeps the number at least 1 (seconds
    below a minute), so that rounding noise such as 59.999999999999986 s reads ``60 s``.
    """
    if not math.isfinite(seconds):
        return f"{seconds} s"
    s = abs(seconds)
    for unit, size, below in (("s", 1.0, 60.0), ("min", 60.0, 3600.0), ("h", 3600.0, 86400.0)):
        if s < below:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds / 86400.0:.3g} d"


def simulated_time(t_s: float, t_end_s: float | None = None) -> str:
    """``t = 12.5 min of 1 h``: the simulated time for a bar's postfix."""
    text = f"t = {format_duration(t_s)}"
    return text if t_end_s is None else f"{text} of {format_duration(t_end_s)}"
