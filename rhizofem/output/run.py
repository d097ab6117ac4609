"""The output directory of one run, written so that a failed run leaves nothing half-done.

Everything a run writes (fields, CSV tables, figures) goes first to a hidden staging folder
inside DIR. When the run succeeds, rank 0 moves each staged file into DIR and writes
DIR/summary.json last, atomically (temporary name, then rename), so a summary.json in DIR
always belongs to a complete run. When the run fails, the staging folder is removed and DIR
keeps no summary.json from this run (an older one is removed when the run starts).

::

    with RunOutput(out_dir, comm, command="exudation", config=cfg) as out:
        ...                              # every rank computes
        write_csv(out.path("mass.csv"), header, rows, comm)
        out.summary(results={...}, mesh={...})
    # DIR/summary.json now exists, with config, version, ranks, wall time and the sections

With ``out_dir=None`` the object does nothing (library use without files): ``path`` returns
``None`` and callers skip writing.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import platform
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from rhizofem.config import to_dict

__all__ = ["RunOutput", "json_ready", "write_csv", "write_json_atomic"]

SUMMARY = "summary.json"
_STAGING_PREFIX = ".rhizofem-partial-"


class RunOutput:
    """Staged output directory of one run (see the module docstring)."""

    def __init__(self, out_dir: str | Path | None, comm: MPI.Comm = MPI.COMM_WORLD, *,
                 command: str, config: Any = None):
        self.comm = comm
        self.command = command
        self.config = config
        self.out_dir = Path(out_dir).resolve() if out_dir is not None else None
        self.staging: Path | None = None
        self._sections: dict[str, Any] = {}
        self._t0 = time.perf_counter()
        self._started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")

    @property
    def enabled(self) -> bool:
        return self.out_dir is not None

    # -- context -------------------------------------------------------------------
    def __enter__(self) -> RunOutput:
        self._t0 = time.perf_counter()
        if self.out_dir is None:
            return self
        name = None
        if self.comm.rank == 0:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            # a stale summary would claim a run that this one replaces
            (self.out_dir / SUMMARY).unlink(missing_ok=True)
            for stale in self.out_dir.glob(_STAGING_PREFIX + "*"):
                shutil.rmtree(stale, ignore_errors=True)
            name = _STAGING_PREFIX + uuid.uuid4().hex[:8]
            (self.out_dir / name).mkdir()
        name = self.comm.bcast(name, root=0)
        self.staging = self.out_dir / name
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.out_dir is None:
            return False
        if exc_type is not None:
            # any rank that fails cleans up: the others may never get here
            shutil.rmtree(self.staging, ignore_errors=True)
            return False
        self.comm.barrier()  # every rank has closed its field writers
        if self.comm.rank == 0:
            for item in sorted(self.staging.iterdir()):
                target = self.out_dir / item.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(item, target)
            self.staging.rmdir()
            write_json_atomic(self.out_dir / SUMMARY, self._summary())
        self.comm.barrier()
        return False

    # -- while running ---------------------------------------------------------------
    def path(self, name: str) -> Path | None:
        """Where to write the output file ``name`` (inside the staging folder), or None."""
        if self.staging is None:
            return None
        p = self.staging / name
        if self.comm.rank == 0:
            p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def final_path(self, name: str) -> Path | None:
        """Where ``name`` will be once the run has succeeded (for messages to the user)."""
        return None if self.out_dir is None else self.out_dir / name

    def summary(self, **sections: Any) -> None:
        """Add sections to summary.json (e.g. ``results=``, ``mesh=``, ``geometry=``).

        Called again with the same section, the dictionaries are merged.
        """
        for key, value in sections.items():
            if isinstance(value, Mapping) and isinstance(self._sections.get(key), Mapping):
                self._sections[key] = {**self._sections[key], **value}
            else:
                self._sections[key] = value

    def wall_time(self) -> float:
        return time.perf_counter() - self._t0

    def _summary(self) -> dict[str, Any]:
        from rhizofem import __version__

        doc = {
            "command": self.command,
            "rhizofem_version": __version__,
            "ranks": self.comm.size,
            "wall_time_s": self.wall_time(),
            "started_utc": self._started,
            "versions": _versions(),
            "config": to_dict(self.config) if self.config is not None else None,
        }
        doc.update(self._sections)
        doc["files"] = sorted(
            str(p.relative_to(self.out_dir)) for p in self.out_dir.rglob("*")
            if p.is_file() and p.name != SUMMARY and not p.name.startswith(".")
        )
        return json_ready(doc)


def _versions() -> dict[str, str]:
    # Only modules already loaded: importing dolfinx or petsc4py initialises PETSc, which is
    # collective, and this runs on rank 0 alone (a 2-rank run would hang here).
    out = {"python": platform.python_version(), "numpy": np.__version__}
    dolfinx = sys.modules.get("dolfinx")
    if dolfinx is not None:
        out["dolfinx"] = dolfinx.__version__
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None:
        out["petsc"] = ".".join(str(v) for v in petsc.Sys.getVersion())
    return out


def json_ready(obj: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays to Python, paths to strings, NaN/inf to None."""
    if isinstance(obj, Mapping):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        return json_ready(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename (call on one rank)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(json_ready(data), fh, indent=2, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_csv(path: Path | None, header: Sequence[str], rows: Iterable[Sequence[Any]],
              comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Write a CSV table from rank 0 (``rows`` must be the same data on rank 0)."""
    if path is None or comm.rank != 0:
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])


def _csv_cell(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, np.generic):
        return v.item()
    return v
