"""A time-varying inlet concentration c_in(t) from a table: rhizodeposition as the boundary
condition of the single-root model.

``rhizofem rhizodeposition`` with ``[probes]`` writes ``probes.csv``: a time column ``t_d`` and
one column per probe (µg per cm³ of soil water). ``rhizofem exudation`` with ``[physics]
c_in_table = "probes.csv"`` and ``c_in_column`` holds its inlet at that history:

* the time column is the first of ``t_s``, ``t_h``, ``t_d`` (seconds, hours, days) the table
  has; ``c_in_table_t0_s`` is the table time at which the run starts (the run's time t reads
  the table at t0 + t);
* between rows c_in is linear in time; two rows with the same time make a jump (the value at
  that instant is the earlier one, right after it the later one); beyond the table's ends the
  end values hold;
* the table's kinks and jumps inside the run become times the time steps land on.

Provenance: the table's path and sha256, and, when the table sits beside the summary.json of
the run that wrote it, that summary's record too.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rhizofem.errors import InputError

from .upstream import Upstream

__all__ = ["InletTable", "ScaledInlet", "inlet_table"]

TIME_COLUMNS = {"t_s": 1.0, "t_h": 3600.0, "t_d": 86400.0}


@dataclass
class InletTable:
    """c_in(t) in µg cm⁻³ against the run's time t (s)."""

    path: Path
    column: str
    times_s: np.ndarray          # table times minus t0, increasing (equal pairs: jumps)
    values: np.ndarray           # µg cm⁻³
    sha256: str
    t0_s: float = 0.0
    upstream: Upstream | None = None
    time_column: str = "t_s"
    notes: list = field(default_factory=list)

    def __call__(self, t: float) -> float:
        """c_in at the run's time ``t`` (s): linear between rows, the earlier value at a jump."""
        times, values = self.times_s, self.values
        if t <= times[0]:
            return float(values[0])
        if t >= times[-1]:
            return float(values[-1])
        j = int(np.searchsorted(times, t, side="left"))   # times[j-1] < t <= times[j]
        w = (t - times[j - 1]) / (times[j] - times[j - 1])
        # v0 + w (v1 − v0): exactly v0 between equal rows (a constant table is the constant c_in)
        return float(values[j - 1] + w * (values[j] - values[j - 1]))

    def scaled(self, factor: float) -> "ScaledInlet":
        """c_in(t) · factor (a unit change, e.g. µg/cm³ → µg/mm³), keeping the jump times."""
        return ScaledInlet(self, factor)

    @property
    def jumps_s(self) -> list[float]:
        """The run times at which c_in jumps (two rows with the same time): the solver restarts
        its steps there (:func:`rhizofem.models.exudation.diffusion.simulate`)."""
        same = np.flatnonzero(np.diff(self.times_s) == 0)
        return [float(self.times_s[i]) for i in same if self.values[i] != self.values[i + 1]]

    def knots_between(self, t_start: float, t_end: float) -> list[float]:
        """The table's times strictly inside (t_start, t_end): kinks and jumps of c_in."""
        return sorted({float(t) for t in self.times_s if t_start < t < t_end})

    def maximum(self, t_end: float) -> float:
        """The largest c_in over [0, t_end]."""
        inside = [self(0.0), self(t_end)] + [float(v) for t, v in zip(self.times_s, self.values, strict=True) if 0.0 < t < t_end]
        return max(inside)

    def inputs(self) -> dict:
        record = {"path": str(self.path), "sha256": self.sha256,
                  "values": {"column": self.column, "time_column": self.time_column, "t0_s": self.t0_s,
                             "rows": int(len(self.times_s)), "c_in_first_ug_cm3": float(self.values[0]),
                             "c_in_last_ug_cm3": float(self.values[-1])}}
        if self.upstream is not None:
            record["written_by"] = self.upstream.record()
        return {"inlet_concentration": record}


@dataclass(frozen=True)
class ScaledInlet:
    """An inlet table in other units: what the exudation solver calls (c_in(t), jumps_s)."""

    table: InletTable
    factor: float

    def __call__(self, t: float) -> float:
        return self.table(t) * self.factor

    @property
    def jumps_s(self) -> list[float]:
        return self.table.jumps_s


def inlet_table(physics) -> InletTable:
    """The table of ``[physics] c_in_table`` / ``c_in_column`` / ``c_in_table_t0_s``."""
    path = Path(physics.c_in_table).resolve()
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read the inlet concentration table ([physics] c_in_table): {err}. "
                         "Fix: run the step that writes it (rhizofem rhizodeposition with [probes]) or correct "
                         "the path.") from None
    rows = list(csv.reader(raw.decode("utf-8", errors="replace").splitlines()))
    if len(rows) < 2:
        raise InputError(f"{path}: the inlet concentration table needs a header and at least one row.")
    header = [h.strip() for h in rows[0]]
    time_column = next((c for c in TIME_COLUMNS if c in header), None)
    if time_column is None:
        raise InputError(f"{path}: no time column (one of {', '.join(TIME_COLUMNS)}) in the header {header}. "
                         "Fix: name the time column t_s, t_h or t_d.")
    data_columns = [c for c in header if c not in TIME_COLUMNS]
    column = physics.c_in_column
    if column is None:
        if len(data_columns) != 1:
            raise InputError(f"{path}: [physics] c_in_column is not set and the table has {len(data_columns)} "
                             f"concentration columns ({', '.join(data_columns)}). Fix: set c_in_column to one of them.")
        column = data_columns[0]
    if column not in header:
        raise InputError(f"{path}: no column '{column}' ([physics] c_in_column); the table has "
                         f"{', '.join(data_columns)}. Fix: choose one of them.")
    it, ic = header.index(time_column), header.index(column)
    try:
        t = np.array([float(r[it]) for r in rows[1:] if r], float) * TIME_COLUMNS[time_column]
        c = np.array([float(r[ic]) for r in rows[1:] if r], float)
    except (ValueError, IndexError) as err:
        raise InputError(f"{path}: a value in column {time_column} or {column} is not a number ({err}).") from None
    if np.any(~np.isfinite(t)) or np.any(~np.isfinite(c)) or np.any(c < 0):
        raise InputError(f"{path}: column {column} must hold finite concentrations >= 0 and {time_column} finite times.")
    steps = np.diff(t)
    if np.any(steps < 0) or np.any((steps[1:] == 0) & (steps[:-1] == 0)):
        raise InputError(f"{path}: times in {time_column} must increase (two equal times mark a jump, three are "
                         "one too many).")
    if not np.any(c > 0):
        raise InputError(f"{path}: column {column} is zero throughout: nothing would enter the soil. Fix: choose "
                         "a probe the rhizodeposit reaches, or other times.")
    summary = path.parent / "summary.json"
    upstream = Upstream(summary, role="run that wrote the inlet table") if summary.is_file() else None
    return InletTable(path, column, t - physics.c_in_table_t0_s, c, hashlib.sha256(raw).hexdigest(),
                      float(physics.c_in_table_t0_s), upstream, time_column)
