"""Progress bars on rank 0 for anything that takes more than a few seconds.

Set ``RHIZOFEM_PROGRESS=0`` to silence them (the test suite does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from mpi4py import MPI
from tqdm.auto import tqdm

__all__ = ["progress", "progress_enabled"]


def progress_enabled(comm: MPI.Comm = MPI.COMM_WORLD) -> bool:
    return comm.rank == 0 and os.environ.get("RHIZOFEM_PROGRESS", "1") not in ("0", "false", "no")


def progress(iterable: Iterable | None = None, *, total: float | None = None, desc: str = "",
             unit: str = "it", comm: MPI.Comm = MPI.COMM_WORLD, **kwargs: Any) -> tqdm:
    """A tqdm bar shown on rank 0 only; on other ranks (or when disabled) a silent one.

    For time stepping, pass ``total=t_end`` and ``unit="s"`` and call ``bar.update(dt)``.
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not progress_enabled(comm),
                file=sys.stderr, mininterval=0.5, dynamic_ncols=True, **kwargs)
