"""``run(config)``: simulate every segment, add up, write tables, figures and summary.json.

Parallel layout: segments are dealt to the ranks round-robin in order of cell count and start
time (:func:`deal_segments`); each rank solves its share in batches (one DOLFINx mesh on
``MPI.COMM_SELF`` per batch, see :mod:`.batch`). Segments do not
interact, so ranks never communicate during the time loop — no ghost exchange, no collective
per step, no waiting for the slowest rank at every step — and a segment's result does not
depend on the rank or batch it lands in. Results are gathered once at the end.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from rhizofem.errors import ConfigError, ConvergenceError, RhizofemError
from rhizofem.fem.timestepping import StepController
from rhizofem.models.uptake.batch import BatchResult, RadialBatch, RadialGrid
from rhizofem.models.uptake.physics import RadialModel, build_model
from rhizofem.models.uptake.segments import SegmentSet, from_config
from rhizofem.output import RunOutput, progress, write_csv
from rhizofem.output.performance import Clock, recorded
from rhizofem.parallel import check_all, rank0_print

__all__ = ["Result", "run", "simulate"]

_DAY = 86400.0


@dataclass
class Series:
    """Per-segment results of one simulation, all segments, ordered by segment index."""

    times_d: np.ndarray
    uptake_P_umol: np.ndarray          # (n_seg, n_times)
    exuded_C_umol: np.ndarray
    decomposed_C_umol: np.ndarray
    mobilised_P_umol: np.ndarray
    content_umol: np.ndarray           # (n_species, n_seg, n_times)
    initial_content_umol: np.ndarray   # (n_species, n_seg)
    cells: np.ndarray
    steps: np.ndarray
    rejected: np.ndarray
    profiles: list
    stats: dict

    def mass_balance_error(self) -> np.ndarray:
        """initial + exuded − uptake − decomposed − final content, (n_species, n_seg) in µmol."""
        final = self.content_umol[..., -1]
        err = [self.initial_content_umol[0] - self.uptake_P_umol[:, -1] - final[0]]
        if len(final) > 1:
            err.append(self.initial_content_umol[1] + self.exuded_C_umol[:, -1]
                       - self.decomposed_C_umol[:, -1] - final[1])
        return np.array(err)

    def turnover(self) -> np.ndarray:
        """The amount each solute moved (P taken up, citrate exuded), the scale of its balance."""
        out = [self.uptake_P_umol[:, -1]]
        if len(self.content_umol) > 1:
            out.append(self.exuded_C_umol[:, -1])
        return np.array(out)


@dataclass
class Result:
    """What :func:`run` returns (on every rank)."""

    times_d: np.ndarray
    uptake_P_umol: float
    exuded_citrate_umol: float
    decomposed_citrate_umol: float
    mobilised_P_umol: float
    mass_balance_error_rel: float
    mass_balance_error_rel_by_solute: dict
    uptake_P_series_umol: np.ndarray
    exuded_citrate_series_umol: np.ndarray
    decomposed_citrate_series_umol: np.ndarray
    mobilised_P_series_umol: np.ndarray
    segments: SegmentSet
    series: Series
    without_exudation: Series | None = None
    uptake_P_without_exudation_umol: float | None = None
    stats: dict = field(default_factory=dict)

    @property
    def uptake_ratio(self) -> float | None:
        """P uptake with exudation / without (None if the comparison was not run)."""
        if self.uptake_P_without_exudation_umol is None or self.uptake_P_without_exudation_umol <= 0:
            return None
        return self.uptake_P_umol / self.uptake_P_without_exudation_umol


def output_times_d(t_end_d: float, interval_d: float) -> np.ndarray:
    n = int(np.floor(t_end_d / interval_d + 1e-9))
    times = np.arange(n + 1) * interval_d
    return np.unique(np.append(times[times < t_end_d - 1e-9], t_end_d))


def controller_of(numerics) -> StepController:
    return StepController(rtol=numerics.time_rtol, atol=numerics.time_atol, dt_min=numerics.dt_min_s,
                          dt_max=numerics.dt_max_s)


def deal_segments(segs, grid: RadialGrid, comm: MPI.Comm, per_batch: int) -> list[tuple[int, np.ndarray]]:
    """This rank's batches (cells, segment indices).

    Segments are sorted by cell count, then by start time, and dealt round-robin to the
    ranks, so that every rank gets the same mix of old and young segments (the work of a
    segment grows with its exposure time). On each rank, consecutive segments of one cell
    count form a batch: similar start times in one batch, so few segments sit finished
    (dt = 0) in a batch that is still stepping. A segment's grid depends on its own r0 and r1
    only and every segment keeps its own clock, so its result does not depend on the batch
    or rank it lands in (to the Newton tolerance)."""
    cells = grid.cells_for(segs.r0_cm, segs.r1_cm)
    order = np.lexsort((np.arange(len(cells)), segs.start_s, cells))
    mine = order[comm.rank::comm.size]
    out = []
    for n in np.unique(cells[mine]):
        group = mine[cells[mine] == n]
        out += [(int(n), group[i:i + per_batch]) for i in range(0, len(group), per_batch)]
    return out


def simulate(model: RadialModel, segset: SegmentSet, config, comm: MPI.Comm = MPI.COMM_WORLD,
             exudation_runs: tuple[bool, ...] = (True,), clock: Clock | None = None) -> list[Series]:
    """Run every segment (this rank's block, in batches) once per entry of ``exudation_runs``
    (True: exudation as configured, False: off); gather on every rank. ``clock`` books
    ``setup`` (batches), ``time_stepping`` (step control, storage terms), the Newton solver's
    ``assembly`` and ``solves``, and ``gather``."""
    clock = clock if clock is not None else Clock()
    num, tm = config.numerics, config.time
    segs = segset.arrays
    t_end_s = tm.t_end_d * _DAY
    times_d = output_times_d(tm.t_end_d, tm.output_interval_d)
    profile_d = np.array(sorted(t for t in tm.profile_times_d if t <= tm.t_end_d))
    grid = RadialGrid.from_numerics(num)
    batches = deal_segments(segs, grid, comm, num.segments_per_batch)
    results: list[list[BatchResult]] = [[] for _ in exudation_runs]
    error: RhizofemError | None = None
    t_setup = 0.0
    # Progress counts batch steps (rank 0's own; ranks never talk while stepping). The total is
    # unknown until rank 0's first batch has finished; from then on it is extrapolated from
    # the steps that batch took. The postfix shows the simulated time of the slowest segment.
    n_runs = len(exudation_runs) * len(batches)
    with progress(total=None, desc="uptake", unit="step", comm=comm) as bar:
        steps_done = [0, 0]   # steps in this batch, in finished batches

        def on_step(finished: int, t_s: float, label: str) -> None:
            steps_done[0] += 1
            bar.update(1)
            bar.set_postfix_str(f"{label}, t = {t_s / _DAY:.3g}/{tm.t_end_d:g} d, "
                                f"{finished} segments done", refresh=False)

        try:
            k = 0
            for cells, sel in batches:
                t0 = time.perf_counter()
                clock.switch("setup")
                batch = RadialBatch(model, segs.take(sel), cells=cells, grid=grid,
                                    controller=controller_of(num), dt_initial_s=num.dt_initial_s,
                                    newton_tol=num.newton_tol, petsc_options=dict(num.petsc_options))
                batch.newton.clock = clock
                clock.switch("time_stepping")
                t_setup += time.perf_counter() - t0
                local_profiles = np.nonzero(np.isin(sel, config.output.profile_segments))[0]
                for q, on in enumerate(exudation_runs):
                    k += 1
                    label = (f"batch {k}/{n_runs} ({len(sel)} segments)" if n_runs > 1 else
                             f"{len(sel)} segment{'s' if len(sel) > 1 else ''}")
                    if len(exudation_runs) > 1:
                        label += ", " + ("with exudation" if on else "without exudation")
                    results[q].append(batch.run(
                        t_end_s, times_d * _DAY, profile_d * _DAY, local_profiles, exudation_on=on,
                        progress=lambda f, t, label=label: on_step(f, t, label)))
                    steps_done[1] += steps_done[0]
                    steps_done[0] = 0
                    if bar.total is None and k < n_runs:
                        bar.total = round(steps_done[1] / k * n_runs)
                    elif bar.total is not None:
                        bar.total = max(bar.total, steps_done[1] + round(steps_done[1] / k * (n_runs - k)))
                    bar.refresh()
            bar.total = bar.n
            bar.refresh()
        except RhizofemError as err:
            error = err
    clock.switch("gather")
    check_all(comm, error is None, str(error), ConvergenceError if isinstance(error, ConvergenceError)
              else RhizofemError)
    gathered = [_gather(res, times_d, comm, t_setup) for res in results]
    clock.switch(None)
    return gathered


def _gather(local: list[BatchResult], times_d: np.ndarray, comm: MPI.Comm, t_setup: float) -> Series:
    def cat(name, axis=0, empty_shape=(0,)):
        parts = [getattr(r, name) for r in local]
        return np.concatenate(parts, axis=axis) if parts else np.zeros(empty_shape)

    n_t = len(times_d)
    stats_keys = ("batch_steps", "newton_iterations", "newton_solves", "newton_failures", "wall_s",
                  "assembly_s", "newton_linear_algebra_s", "python_s")
    mine = {
        "index": cat("index", empty_shape=(0,)).astype(np.int64),
        "uptake": cat("uptake_P_umol", empty_shape=(0, n_t)),
        "exuded": cat("exuded_C_umol", empty_shape=(0, n_t)),
        "decomposed": cat("decomposed_C_umol", empty_shape=(0, n_t)),
        "mobilised": cat("mobilised_P_umol", empty_shape=(0, n_t)),
        "content": np.concatenate([r.content_umol for r in local], axis=1) if local else None,
        "content0": np.concatenate([r.initial_content_umol for r in local], axis=1) if local else None,
        "cells": cat("cells").astype(np.int64), "steps": cat("steps").astype(np.int64), "rejected": cat("rejected").astype(np.int64),
        "profiles": [p for r in local for p in r.profiles],
        "stats": {k: float(sum(r.stats[k] for r in local)) for k in stats_keys} | {"setup_s": t_setup},
    }
    everyone = comm.allgather(mine)
    index = np.concatenate([d["index"] for d in everyone])
    order = np.argsort(index)

    def merge(key, axis=0):
        parts = [d[key] for d in everyone if d[key] is not None and len(d["index"])]
        return np.concatenate(parts, axis=axis).take(order, axis=axis)

    stats = {k: [d["stats"][k] for d in everyone] for k in everyone[0]["stats"]}
    return Series(times_d=times_d, uptake_P_umol=merge("uptake"), exuded_C_umol=merge("exuded"),
                  decomposed_C_umol=merge("decomposed"), mobilised_P_umol=merge("mobilised"),
                  content_umol=merge("content", axis=1), initial_content_umol=merge("content0", axis=1),
                  cells=merge("cells"), steps=merge("steps"), rejected=merge("rejected"),
                  profiles=sorted((p for d in everyone for p in d["profiles"]),
                                  key=lambda p: (p["index"], p["t_s"])),
                  stats=stats)


def _relative_balance(series: Series) -> np.ndarray:
    """Mass balance error of the whole root system per solute, relative to the turnover."""
    err = series.mass_balance_error().sum(axis=1)
    scale = series.turnover().sum(axis=1)
    fallback = series.initial_content_umol.sum(axis=1)
    scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
    return np.abs(err) / scale


def _since_process_start() -> float | None:
    """Seconds since this process started (Linux /proc), for the start-up share of a run."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = float(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None


def run(config, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Run the radial uptake model of ``config`` (see :mod:`rhizofem.models.uptake`); with
    ``[macro] enabled = true`` the coupled model (:func:`rhizofem.models.uptake.coupled.run_macro`)."""
    if config.macro.enabled:
        from rhizofem.models.uptake.coupled import run_macro

        return run_macro(config, out_dir, comm)
    startup = _since_process_start()
    cpu_start = time.process_time()   # CPU seconds of this process so far: its start-up
    t_start = time.perf_counter()
    with (RunOutput(out_dir, comm, command="uptake", config=config) as out,
          recorded(out, comm, "segments dealt round-robin over the ranks; gather: the results to every rank")
          as clock):
        clock.switch("setup")
        model = build_model(config)
        segset = from_config(config, comm)
        n = len(segset.arrays)
        bad = [k for k in config.output.profile_segments if k >= n]
        if bad:
            raise ConfigError(f"[output] profile_segments {bad} do not exist: the run has {n} segment(s) "
                              f"(indices 0..{n - 1}). Fix: choose indices below {n}.")
        compare = (config.output.compare_without_exudation and model.has_citrate
                   and bool(np.any(segset.arrays.exudation_umol_cm2_s > 0)))
        t0, cpu0 = time.perf_counter(), time.process_time()
        runs = simulate(model, segset, config, comm, (True, False) if compare else (True,), clock)
        t1, cpu1 = time.perf_counter(), time.process_time()
        clock.switch("output")
        main = runs[0]
        rel = _relative_balance(main)
        names = [s.name for s in model.solutes]
        result = Result(
            times_d=main.times_d,
            uptake_P_umol=float(main.uptake_P_umol[:, -1].sum()),
            exuded_citrate_umol=float(main.exuded_C_umol[:, -1].sum()),
            decomposed_citrate_umol=float(main.decomposed_C_umol[:, -1].sum()),
            mobilised_P_umol=float(main.mobilised_P_umol[:, -1].sum()),
            mass_balance_error_rel=float(rel.max()),
            mass_balance_error_rel_by_solute=dict(zip(names, map(float, rel), strict=True)),
            uptake_P_series_umol=main.uptake_P_umol.sum(axis=0),
            exuded_citrate_series_umol=main.exuded_C_umol.sum(axis=0),
            decomposed_citrate_series_umol=main.decomposed_C_umol.sum(axis=0),
            mobilised_P_series_umol=main.mobilised_P_umol.sum(axis=0),
            segments=segset, series=main,
            without_exudation=runs[1] if compare else None,
            uptake_P_without_exudation_umol=float(runs[1].uptake_P_umol[:, -1].sum()) if compare else None,
        )
        seg_days = float(np.sum(config.time.t_end_d - np.minimum(segset.arrays.start_s / _DAY,
                                                                  config.time.t_end_d)))
        solver = t1 - t0
        batch_setup = max(main.stats["setup_s"])
        result.stats = {"segment_days_per_run": seg_days, "runs": len(runs),
                        "time_s": {"startup": startup, "input": t0 - t_start, "solver": solver,
                                   "of_which_batch_setup": batch_setup},
                        "cpu_s_rank0": {"startup": cpu_start, "input": cpu0 - cpu_start, "solver": cpu1 - cpu0},
                        "segment_days_per_s_solver": seg_days * len(runs) / solver if solver > 0 else None}
        if out.enabled:
            from rhizofem.links import links_inputs
            from rhizofem.models.uptake.report import write_outputs

            out.summary(inputs=links_inputs(config))

            write_outputs(out, result, model, config, comm)
    t_end = time.perf_counter()
    result.stats["time_s"]["outputs"] = t_end - t1
    result.stats["cpu_s_rank0"]["outputs"] = time.process_time() - cpu1
    result.stats["time_s"]["total"] = t_end - t_start + (startup or 0.0)
    result.stats["segment_days_per_s_command"] = seg_days * len(runs) / result.stats["time_s"]["total"]
    if out.enabled:
        from rhizofem.models.uptake.report import headline

        rank0_print(comm, "\n".join(["rhizofem uptake: " + line if i == 0 else "  " + line
                                     for i, line in enumerate(headline(result, model))]
                                    + [f"  → {out.out_dir}/ (summary.json, timeseries.csv, segments.csv, "
                                       f"profiles.csv{', uptake.png, profiles.png' if config.output.plots else ''})"]))
    return result
