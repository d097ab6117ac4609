"""The output folder of one run: complete or absent, never half-written, never mixed.

The rule (what a user can rely on)
----------------------------------
A run writes everything into a hidden staging folder next to its output folder DIR, on the
same file system (``PARENT/.NAME.rhizofem-partial-HOST-PID-ID``), and only when every rank
has finished does rank 0 publish it as DIR:

* DIR did not exist: the staging folder is renamed to DIR (one atomic rename);
* DIR exists: its entries are moved aside, the staged ones moved in (summary.json last), and
  the old ones deleted. DIR itself stays (a shell may be working in it, it may be a mount).

So:

* a run that fails or is stopped (an error, Ctrl-C, the SIGTERM of a batch scheduler) leaves
  DIR exactly as it was: no file of its own, an earlier result whole;
* an earlier result is replaced as a whole, and only by a successful run;
* ``DIR/summary.json`` exists only for a complete run, and its ``files`` lists that run's
  files: all of them, nothing else;
* DIR must be new, empty, or hold a complete earlier run of the same command. Anything else
  (another command's run, a user's notes, a file) is refused before any work starts, unless
  overwriting is allowed (``rhizofem ... --overwrite``, :func:`allow_overwrite`, or
  ``RunOutput(..., overwrite=True)``): then the whole content of DIR is replaced when the run
  succeeds (never the folder one works in, nor one with a ``.git``);
* where the parent of DIR cannot be written but DIR can (or DIR is a mount point), the staging
  folder goes inside DIR (``DIR/.rhizofem-partial-...``), same rule;
* a staging folder left by a process that was killed outright (SIGKILL, a second Ctrl-C to
  ``mpiexec``, power loss) is removed by the next run into DIR.

::

    with RunOutput(out_dir, comm, command="exudation", config=cfg) as out:
        ...                                    # every rank computes
        out.require_space(nbytes, "concentration fields (concentration.bp)")  # collective
        write_csv(out.path("mass.csv"), header, rows, comm)
        out.summary(results={...}, mesh={...})
    # DIR now holds the run: summary.json with config, versions, ranks, wall time, sections,
    # files; out.files lists them (on every rank)

With ``out_dir=None`` the object does nothing (library use without files): ``path`` returns
``None`` and callers skip writing.

Failures while writing: a full disk (ENOSPC, EDQUOT, also as reported by ADIOS2) is turned
into :class:`rhizofem.errors.DiskFullError` naming DIR and the file, on the rank that met it;
a refused or unwritable DIR raises :class:`rhizofem.errors.OutputError` on every rank.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import datetime as _dt
import errno
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from rhizofem.config import to_dict
from rhizofem.errors import DiskFullError, OutputError

__all__ = ["RunOutput", "allow_overwrite", "format_bytes", "json_ready", "report_lines", "vtx_bytes",
           "write_csv", "write_json_atomic"]

SUMMARY = "summary.json"
#: hidden names of rhizofem's own folders: ``.NAME.rhizofem-partial-HOST-PID-ID`` beside DIR,
#: ``.rhizofem-partial-HOST-PID-ID`` inside it, and ``...rhizofem-old-...`` for what is replaced
_HIDDEN = re.compile(r"^\.(?:.+\.)?rhizofem-(?:partial|old|trash)-(?P<owner>.*)$")
#: a run refuses to start with less than this free where it writes (summary, tables)
MIN_FREE_BYTES = 1 << 20

_OVERWRITE: contextvars.ContextVar[bool] = contextvars.ContextVar("rhizofem_overwrite", default=False)
#: staging folders of the runs in progress in this process, and the parents they created
_ACTIVE: dict[int, tuple[Path, list[Path]]] = {}


@contextlib.contextmanager
def allow_overwrite(flag: bool = True) -> Iterator[None]:
    """Let the runs started inside replace a folder that holds something else (``--overwrite``)."""
    token = _OVERWRITE.set(flag)
    try:
        yield
    finally:
        _OVERWRITE.reset(token)


class RunOutput:
    """Staged output folder of one run (see the module docstring for the rule)."""

    def __init__(self, out_dir: str | Path | None, comm: MPI.Comm = MPI.COMM_WORLD, *,
                 command: str, config: Any = None, overwrite: bool | None = None):
        self.comm = comm
        self.command = command
        self.config = config
        self.out_dir = Path(out_dir).resolve() if out_dir is not None else None
        self.overwrite = overwrite
        self.staging: Path | None = None
        self.files: list[str] = []
        self._created: list[Path] = []
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
        overwrite = _OVERWRITE.get() if self.overwrite is None else self.overwrite
        from rhizofem.parallel import on_root

        def prepare() -> tuple[str, list[str]]:
            check_out_dir(self.out_dir, self.command, overwrite=overwrite)
            remove_leftovers(self.out_dir)
            created = _make_parents(self.out_dir.parent, self.out_dir)
            staging = None
            try:
                staging = _make_staging(self.out_dir)
                _require_free(staging, 0, "", self.out_dir)
            except BaseException:
                discard(staging)
                _remove_created(created)
                raise
            return str(staging), [str(p) for p in created]

        staging, created = on_root(self.comm, prepare)
        self.staging = Path(staging)
        self._created = [Path(p) for p in created]
        _ACTIVE[id(self)] = (self.staging, self._created)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.out_dir is None:
            return False
        try:
            return self._finish(exc_type, exc)
        finally:
            _ACTIVE.pop(id(self), None)

    def _finish(self, exc_type, exc) -> bool:
        if exc_type is not None:
            full = disk_full_error(exc, self)  # before the clean-up frees the space again
            # any rank that fails cleans up (the others may never get here); a second Ctrl-C
            # must not stop the clean-up half-way
            with signals_ignored():
                discard(self.staging)
                _remove_created(self._created)
            if full is not None:
                raise full from exc
            return False
        self.comm.barrier()  # every rank has closed its field writers
        from rhizofem.parallel import on_root

        def publish() -> list[str]:
            with signals_ignored():
                try:
                    return _publish(self.staging, self.out_dir, self._summary)
                except BaseException as err:
                    full = disk_full_error(err, self)
                    discard(self.staging)
                    _remove_created(self._created)
                    if full is not None:
                        raise full from err
                    if isinstance(err, OSError):
                        raise OutputError(f"could not publish the run into {self.out_dir}: {err}. "
                                          "Nothing of this run was kept.") from err
                    raise

        self.files = on_root(self.comm, publish)
        return False

    # -- while running ---------------------------------------------------------------
    def path(self, name: str) -> Path | None:
        """Where to write the output file ``name`` (inside the staging folder), or None."""
        if self.staging is None:
            return None
        p = self.staging / name
        if self.comm.rank == 0:
            # folders below the staging folder only: once a failing rank has removed it, no
            # other rank may create it again
            for folder in reversed(p.relative_to(self.staging).parents[:-1]):
                (self.staging / folder).mkdir(exist_ok=True)
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

    def require_space(self, nbytes: float, what: str, fix: str = "") -> None:
        """Refuse, on every rank, to write ``nbytes`` more where the run writes if they do not fit.

        Collective. Call it before writing anything big (fields), with the total still to be
        written, e.g. ``out.require_space(vtx_bytes([c], n_writes), "concentration fields
        (concentration.bp)", "set [output] fields = false")``. ``fix`` names a setting that
        writes less. Raises :class:`DiskFullError` (exit status 1); nothing is kept.
        """
        if self.staging is None:
            return
        from rhizofem.parallel import on_root

        on_root(self.comm, _require_free, self.staging, int(nbytes), what, self.out_dir, fix, bcast=False)

    def wall_time(self) -> float:
        return time.perf_counter() - self._t0

    def _summary(self, files: list[str]) -> dict[str, Any]:
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
        doc["files"] = files
        return json_ready(doc)


# -- the output folder: checks, staging, publishing (rank 0) --------------------------


def check_out_dir(out_dir: str | Path, command: str, *, overwrite: bool = False) -> None:
    """Refuse an output folder this run may not use (raises :class:`OutputError`).

    Allowed: a new folder, an empty one, a complete earlier run of ``command`` (replaced as a
    whole at the end), and with ``overwrite`` any folder but the one the user works in.
    Not collective; call it on one rank (the CLI does so before any work starts).
    """
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output folder {out_dir} is an existing file. Fix: give a new or empty "
                          f"folder as --out (e.g. --out {out_dir}-run), or move the file away.")
    for parent in out_dir.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot create the output folder {out_dir}: {parent} is a file. "
                                  "Fix: choose --out in a folder.")
            break
    if not out_dir.exists():
        return
    try:
        entries = [e for e in out_dir.iterdir() if not _HIDDEN.match(e.name)]
    except OSError as err:
        raise OutputError(f"cannot read the output folder {out_dir} ({err.strerror}). "
                          "Fix: choose --out where you may read and write.") from None
    if not entries:
        return
    what, names = _foreign(out_dir, command)
    if not names:
        return
    if overwrite:
        cwd = Path.cwd().resolve()
        if cwd.is_relative_to(out_dir) or out_dir == Path.home().resolve() or (out_dir / ".git").exists():
            raise OutputError(f"refusing to overwrite {out_dir}: it is your working folder, your home, "
                              "or holds a .git repository. Fix: give a dedicated output folder as --out.")
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise OutputError(f"output folder {out_dir} already holds {what} ({shown}). Fix: choose a new or "
                      "empty folder as --out, or add --overwrite to replace its whole content when "
                      "this run succeeds.")


def _foreign(out_dir: Path, command: str) -> tuple[str, list[str]]:
    """What in ``out_dir`` is not a complete earlier run of ``command``: (description, names)."""
    present = sorted(str(p.relative_to(out_dir)) for p in _walk(out_dir))
    try:
        doc = json.loads((out_dir / SUMMARY).read_text(encoding="utf-8"))
        other, listed = doc["command"], set(doc["files"])
    except (OSError, ValueError, TypeError, KeyError):
        return "files that are not a rhizofem run (no summary.json of one)", present
    if other != command:
        return f"the results of another command (`rhizofem {other}`)", present
    extra = [p for p in present if p != SUMMARY and p not in listed]
    return "files that are not part of its earlier run", extra


def _walk(folder: Path) -> Iterator[Path]:
    """Files and empty folders below ``folder`` (rhizofem's hidden folders left out)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _HIDDEN.match(d)]
        if not dirs and not files and Path(root) != folder:
            yield Path(root)
        for f in files:
            yield Path(root) / f


def _owner_alive(name: str) -> bool:
    """Whether the process that made the hidden folder ``name`` may still be running."""
    m = _HIDDEN.match(name)
    parts = m.group("owner").rsplit("-", 2) if m else []
    if len(parts) != 3 or not parts[1].isdigit():
        return False  # an older layout: its run is long over
    host, pid = parts[0], int(parts[1])
    if host != socket.gethostname():
        return True  # cannot tell: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out_dir: Path) -> None:
    """Remove staging folders of ``out_dir`` whose process is gone (killed outright)."""
    places = [(out_dir.parent, f".{out_dir.name}.rhizofem-"), (out_dir, ".rhizofem-")]
    for folder, prefix in places:
        if not folder.is_dir():
            continue
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(prefix) and _HIDDEN.match(entry.name) and not _owner_alive(entry.name):
                shutil.rmtree(entry, ignore_errors=True)


def _token() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _output_error(err: OSError, folder: Path, out_dir: Path) -> OutputError:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left in {folder} for the output folder {out_dir}. Fix: free space "
                             "there or choose --out on a file system with room.")
    reason = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied"}.get(err.errno, err.strerror or str(err))
    return OutputError(f"cannot write the output folder {out_dir}: {folder} is not writable ({reason}). "
                       "Fix: choose --out in a folder you may write to.")


def _make_parents(parent: Path, out_dir: Path) -> list[Path]:
    """Create ``parent`` and its missing ancestors; return those created (outermost first)."""
    missing = []
    p = parent
    while not p.exists():
        missing.append(p)
        p = p.parent
    created = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            _remove_created(created)
            raise _output_error(err, folder.parent, out_dir) from None
        created.append(folder)
    return created


def _remove_created(created: Sequence[Path]) -> None:
    """Remove the parent folders a run created, innermost first, where they are still empty."""
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _make_staging(out_dir: Path) -> Path:
    token = _token()
    beside = out_dir.parent / f".{out_dir.name}.rhizofem-partial-{token}"
    inside = out_dir / f".rhizofem-partial-{token}"
    first_err = None
    # beside DIR, unless DIR is a mount point (a rename across file systems cannot publish)
    if not (out_dir.is_dir() and os.path.ismount(out_dir)):
        try:
            beside.mkdir()
            return beside
        except OSError as err:
            first_err = err
    if out_dir.is_dir():
        try:
            inside.mkdir()
            return inside
        except OSError as err:
            first_err = err
    raise _output_error(first_err, out_dir if out_dir.is_dir() else out_dir.parent, out_dir) from None


def _require_free(folder: Path, nbytes: int, what: str, out_dir: Path | None, fix: str = "") -> None:
    free = shutil.disk_usage(folder).free
    # 5 % and 1 MiB above the estimate: file-system blocks, metadata, summary.json
    if free < 1.05 * nbytes + MIN_FREE_BYTES:
        need = f"{what} need about {format_bytes(nbytes)}" if nbytes else \
            f"a run needs {format_bytes(MIN_FREE_BYTES)} free to start"
        hint = f", {fix}" if fix else ""
        raise DiskFullError(f"not enough space for the output folder {out_dir}: {need}, its file system has "
                            f"{format_bytes(free)} free. Fix: free space there, choose --out on a file system "
                            f"with room{hint}.")


def discard_active() -> None:
    """Remove the staging folders of every run in progress in this process (on a signal)."""
    for staging, created in list(_ACTIVE.values()):
        discard(staging)
        _remove_created(created)
    _ACTIVE.clear()


def discard(staging: Path | None) -> None:
    """Remove a staging folder, also while another rank may still create files in it."""
    if staging is None:
        return
    trash = staging.with_name(staging.name.replace("rhizofem-partial-", "rhizofem-trash-", 1))
    try:
        os.rename(staging, trash)  # new files cannot appear under the old name any more
    except OSError:
        trash = staging
    for _ in range(5):
        shutil.rmtree(trash, ignore_errors=True)
        if not os.path.lexists(trash):
            return
        time.sleep(0.05)


def _publish(staging: Path, out_dir: Path, summary) -> list[str]:
    """Move the complete staged run into ``out_dir``; returns the files of the run."""
    files = sorted(str(p.relative_to(staging)) for p in _walk(staging) if p.is_file())
    write_json_atomic(staging / SUMMARY, summary(files))
    if not os.path.lexists(out_dir) and staging.parent == out_dir.parent:
        try:
            os.rename(staging, out_dir)
            return files
        except OSError:
            pass  # created meanwhile: move entries as below
    beside = staging.parent != out_dir
    old = (staging.parent / staging.name.replace("rhizofem-partial-", "rhizofem-old-", 1)) if beside \
        else out_dir / staging.name.replace("rhizofem-partial-", "rhizofem-old-", 1)
    old.mkdir()
    moved_old: list[str] = []
    moved_new: list[str] = []
    staged = sorted(e.name for e in staging.iterdir() if e.name != SUMMARY) + [SUMMARY]
    try:
        for entry in sorted(out_dir.iterdir()):
            if entry in (staging, old) or (_HIDDEN.match(entry.name) and _owner_alive(entry.name)):
                continue
            os.rename(entry, old / entry.name)
            moved_old.append(entry.name)
        for name in staged:
            os.rename(staging / name, out_dir / name)
            moved_new.append(name)
    except BaseException:
        # put everything back where it was: the earlier run stays whole
        for name in reversed(moved_new):
            with contextlib.suppress(OSError):
                os.rename(out_dir / name, staging / name)
        for name in reversed(moved_old):
            with contextlib.suppress(OSError):
                os.rename(old / name, out_dir / name)
        with contextlib.suppress(OSError):
            old.rmdir()
        raise
    staging.rmdir()
    shutil.rmtree(old, ignore_errors=True)
    return files


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for the block (clean-up and publishing must not stop half-way)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, signal.SIG_IGN)
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


# -- a full disk -------------------------------------------------------------------------

_NO_SPACE = re.compile(r"No space left on device|Disk quota exceeded|errno = (?:28|122)\b")
_FILE_IN_MESSAGE = re.compile(r"file (\S+?)\s*:")
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's tofile on a full disk


def disk_full_error(exc: BaseException, out: RunOutput | None = None) -> DiskFullError | None:
    """A :class:`DiskFullError` naming the output folder and file if ``exc`` is a full disk.

    Recognises OSError (ENOSPC, EDQUOT) anywhere in the exception's chain and the messages of
    ADIOS2 (VTX writers), which arrive as RuntimeError.
    """
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, DiskFullError):
            return None  # already the message to show
        filename = None
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            filename = e.filename
        elif isinstance(e, (OSError, RuntimeError)) and _NO_SPACE.search(str(e)):
            m = _FILE_IN_MESSAGE.search(str(e))
            filename = m.group(1) if m else None
        elif isinstance(e, OSError) and e.errno is None and (_SHORT_WRITE.search(str(e)) or _nearly_full(
                out.staging if out is not None else None)):
            pass  # a short write without errno (numpy's tofile): the file system is full
        else:
            e = e.__cause__ or e.__context__
            continue
        where, what = "the output folder", f" (writing {filename})" if filename else ""
        if out is not None and out.out_dir is not None:
            where = str(out.out_dir)
            if filename and out.staging is not None and Path(filename).is_relative_to(out.staging):
                what = f" (writing {Path(filename).relative_to(out.staging)})"
        return DiskFullError(f"no space left on the device of {where}{what}; nothing of this run was kept. "
                             "Fix: free space there, choose --out on a file system with room, or write "
                             "fewer fields.")
    return None


def _nearly_full(folder: Path | None) -> bool:
    try:
        return folder is not None and shutil.disk_usage(folder).free < MIN_FREE_BYTES
    except OSError:
        return False


def vtx_bytes(functions: Sequence[Any], n_writes: int, *, mesh_every_write: bool = True) -> int:
    """Bytes that a DOLFINx VTXWriter of ``functions`` writes for ``n_writes`` time points.

    The estimate that :meth:`RunOutput.require_space` wants before fields are written: per
    write the values of each function at the nodes of its (Lagrange) element, and, with the
    default mesh policy, the mesh again (node coordinates and cells). Not collective.
    """
    V = functions[0].function_space
    mesh = V.mesh
    cells = mesh.topology.index_map(mesh.topology.dim).size_global
    nodes = V.dofmap.index_map.size_global
    nodes_per_cell = V.dofmap.dof_layout.num_dofs
    real = np.dtype(functions[0].x.array.dtype).itemsize
    # measured on DOLFINx 0.11 / ADIOS2 BP4: per node its coordinates, an int64 global index
    # and a uint8 ghost flag; per cell its int64 node list with a count; about 2 kB per write
    # and 8 kB of metadata
    mesh_bytes = nodes * (3 * mesh.geometry.x.dtype.itemsize + 9) + cells * (nodes_per_cell + 1) * 8
    values = sum(f.function_space.dofmap.index_map.size_global * f.function_space.dofmap.index_map_bs
                 for f in functions) * real
    meshes = n_writes if mesh_every_write else 1
    return int(meshes * mesh_bytes + n_writes * (values + 2048) + 8192)


def format_bytes(n: float) -> str:
    """``1.5 MB``-style sizes (powers of 1000, as file managers show them)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.3g} TB"


# -- the final lines ----------------------------------------------------------------------


def report_lines(command: str, headline: str, details: Sequence[str] = (), out: RunOutput | None = None,
                 ) -> list[str]:
    """The lines a command ends with: ``rhizofem CMD: headline``, indented details, the files.

    Print them with :func:`rhizofem.parallel.rank0_print` after the ``with RunOutput`` block,
    e.g. ``rank0_print(comm, *report_lines("uptake", "P uptake 2.6x with citrate", [...], out),
    sep="\\n")``.
    """
    lines = [f"rhizofem {command}: {headline}"] + [f"  {d}" for d in details]
    if out is not None and out.enabled and out.files:
        entries: dict[str, int] = {}  # top-level entry -> number of files in it
        for f in [*out.files, SUMMARY]:
            head, sep, _ = f.partition("/")
            entries[head + sep] = entries.get(head + sep, 0) + 1
        # a VTX .bp folder is one data set; other folders show how many files they hold
        names = [k[:-1] if k.endswith(".bp/") else (f"{k} ({n} files)" if k.endswith("/") else k)
                 for k, n in entries.items()]
        lines.append(f"  files in {out.out_dir}: {', '.join(names)}")
    return lines


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
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(json_ready(data), fh, indent=2, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
