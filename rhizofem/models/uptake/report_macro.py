"""Files of a coupled run (``[macro] enabled = true``).

* ``fields.xdmf`` (+ ``.h5``) — per soil cell, at ``[macro] output_days``: total P and total
  citrate per soil volume (µmol cm⁻³: solution + sorbed; in rooted cells the mean over the
  cell's radial models) and the root length density (cm cm⁻³). XDMF opens in a stock ParaView.
* ``timeseries.csv`` — cumulative P uptake, citrate exuded and decomposed (coupled), and the
  per-segment model's P uptake on the same root system, at the macro steps.
* ``segments.csv`` — per root segment: P uptake coupled and per-segment model.
* ``rhizotron.png`` — the rhizotron plane at the end (like the seed's Fig. 6): root age, total
  P and total citrate averaged through the box's thickness (y); ``uptake.png`` — cumulative
  P uptake, coupled and per-segment.
"""

from __future__ import annotations

import numpy as np

from rhizofem.output import write_csv
from rhizofem.output.plots import pyplot, save_figure
from rhizofem.parallel import on_root

__all__ = ["MacroOutput"]


class MacroOutput:
    def __init__(self, out, config, rs, comm):
        self.out, self.config, self.rs, self.comm = out, config, rs, comm
        self.xdmf = None
        self.snapshots: dict[float, dict] = {}     # day -> gathered fields (rank 0)
        self.box = None

    def fields(self, day: float, cp) -> None:
        """Write the cell fields of day ``day`` (collective)."""
        soil = cp.soil
        values = cp.cell_fields()
        if self.out.enabled:
            from dolfinx import io

            if self.xdmf is None:
                self.xdmf = io.XDMFFile(self.comm, str(self.out.path("fields.xdmf")), "w")
                self.xdmf.write_mesh(soil.mesh)
            for name, v in values.items():
                self.xdmf.write_function(soil.cell_field(name, v), float(day))
        gathered = self.comm.gather((soil.linear_index, values), root=0)
        self.box = (soil.lo.copy(), soil.h.copy(), soil.n.copy())
        if self.comm.rank == 0:
            idx = np.concatenate([g[0] for g in gathered])
            self.snapshots[day] = {name: _to_grid(idx, np.concatenate([g[1][name] for g in gathered]), soil.n)
                                   for name in values}

    def finish(self, result, model) -> None:
        if self.xdmf is not None:
            self.xdmf.close()
        out, config, comm = self.out, self.config, self.comm
        cpl, per = result.coupled, result.per_segment
        results = {
            "uptake_P_umol": result.uptake_P_umol,
            "uptake_P_per_segment_model_umol": result.uptake_P_per_segment_model_umol,
            "coupled_to_per_segment_ratio": (result.uptake_P_umol / result.uptake_P_per_segment_model_umol
                                             if result.uptake_P_per_segment_model_umol else None),
            "exuded_citrate_umol": result.exuded_citrate_umol,
            "decomposed_citrate_umol": result.decomposed_citrate_umol,
            "mass_balance_error_rel": result.mass_balance_error_rel,
            "times_d": cpl.times_d, "uptake_P_series_umol": cpl.uptake_P_series_umol,
            "n_segments": result.n_segments, "root_length_cm": result.root_length_cm,
        }
        lo, h, n = self.box if self.box is not None else (None, None, None)
        macro = {"box_cm": list(config.macro.box_cm), "origin_cm": None if lo is None else lo.tolist(),
                 "cells": None if n is None else n.tolist(), "cell_cm": None if h is None else h.tolist(),
                 "n_cells": cpl.n_cells, "root_pieces": cpl.n_pieces, "macro_steps": cpl.steps,
                 "dt_h": config.macro.dt_h,
                 "scheme": "sequential splitting per macro step: growth and redistribution, implicit "
                           "inter-cell diffusion (finite volumes, two-point fluxes), radial models with "
                           "the cell's inflow through r1"}
        solver = {"time_s": result.stats["time_s"],
                  "mass_balance_error_rel_by_step_max": float(np.max(cpl.mass_balance_error_rel_by_step))}
        out.summary(results=results, macro=macro, solver=solver)
        header = ["t_d", "uptake_P_umol", "exuded_citrate_umol", "decomposed_citrate_umol"]
        cols = [cpl.times_d, cpl.uptake_P_series_umol, cpl.exuded_series_umol, cpl.decomposed_series_umol]
        write_csv(out.path("timeseries.csv"), header, zip(*cols, strict=True), comm)
        rs = self.rs
        per_seg = None
        if per is not None:
            per_seg = np.zeros(rs.n_segments)
            kept = np.nonzero((rs.created_d < config.time.t_end_d) & (rs.lengths_cm() > 0))[0]
            per_seg[kept] = per.series.uptake_P_umol[:, -1]
        rows = [[k, rs.created_d[k], rs.radius_cm[k], rs.lengths_cm()[k], int(rs.order[k]),
                 cpl.uptake_P_per_segment_umol[k]] + ([per_seg[k]] if per_seg is not None else [])
                for k in range(rs.n_segments) if rs.created_d[k] < config.time.t_end_d]
        write_csv(out.path("segments.csv"), ["segment", "created_d", "radius_cm", "length_cm", "order",
                                             "uptake_P_coupled_umol"]
                  + (["uptake_P_per_segment_model_umol"] if per_seg is not None else []), rows, comm)
        if config.output.plots:
            on_root(comm, self._plots, result, bcast=False)

    def _plots(self, result) -> None:
        config, rs = self.config, self.rs
        plt = pyplot()
        t_end = config.time.t_end_d
        cap = (f"coupled model: box {tuple(config.macro.box_cm)} cm, cells {config.macro.cell_cm:g} cm, "
               f"Δt {config.macro.dt_h:g} h, {result.n_segments} segments, {result.root_length_cm:.0f} cm root, "
               f"{t_end:g} d; sorption {config.sorption.competition}")
        # cumulative uptake
        cpl = result.coupled
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        ax.plot(cpl.times_d, cpl.uptake_P_series_umol, "-", color="C0", label="coupled to the soil box")
        if result.per_segment is not None:
            ps = result.per_segment
            ax.plot(ps.times_d, ps.uptake_P_series_umol, "--", color="C1", label="per-segment model")
        ax.set_xlabel("time t (d)")
        ax.set_ylabel("cumulative P uptake of the root system (µmol)")
        ax.grid(alpha=0.3)
        ax.legend()
        save_figure(fig, self.out.path("uptake.png"), caption=cap)
        if not self.snapshots:
            return
        day = max(self.snapshots)
        snap = self.snapshots[day]
        lo, h, n = self.box
        extent = [lo[0], lo[0] + n[0] * h[0], lo[2], lo[2] + n[2] * h[2]]
        fig, axes = plt.subplots(1, 3, figsize=(13.5, 6.0), sharey=True)
        from matplotlib.collections import LineCollection

        kept = rs.created_d <= day
        a, b = rs.nodes[rs.segments[kept, 0]], rs.nodes[rs.segments[kept, 1]]
        lines = LineCollection(np.stack([a[:, [0, 2]], b[:, [0, 2]]], axis=1), cmap="viridis", linewidths=1.2)
        lines.set_array(day - rs.created_d[kept])
        axes[0].add_collection(lines)
        axes[0].set_xlim(extent[0], extent[1])
        axes[0].set_ylim(extent[2], extent[3])
        fig.colorbar(lines, ax=axes[0], label="root age (d)", shrink=0.8)
        axes[0].set_title(f"roots at {day:g} d")
        for ax, name, label, cmap in ((axes[1], "total_P_umol_cm3", "total P (µmol cm⁻³ soil)", "magma"),
                                      (axes[2], "total_citrate_umol_cm3", "total citrate (µmol cm⁻³ soil)",
                                       "cividis")):
            plane = snap[name].mean(axis=1).T            # mean through the thickness (y), rows = z
            im = ax.imshow(plane, origin="lower", extent=extent, cmap=cmap, aspect="equal",
                           interpolation="nearest")
            fig.colorbar(im, ax=ax, label=label, shrink=0.8)
            ax.set_title(f"{label.split(' (')[0]}, mean over y, {day:g} d")
        for ax in axes:
            ax.set_xlabel("x (cm)")
        axes[0].set_ylabel("z (cm)")
        save_figure(fig, self.out.path("rhizotron.png"), caption=cap)


def _to_grid(idx: np.ndarray, values: np.ndarray, n) -> np.ndarray:
    grid = np.zeros(int(np.prod(n)))
    grid[idx] = values
    return grid.reshape(int(n[2]), int(n[1]), int(n[0])).transpose(2, 1, 0)   # (x, y, z)
