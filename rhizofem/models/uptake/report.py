"""Files of an uptake run: time series, per-segment table, radial profiles, figures, summary.

* ``timeseries.csv`` — summed over all segments at the output times: cumulative P uptake,
  citrate exuded and decomposed, P mobilised (sorbed P held off the sites by citrate), solute
  contents; with the run without exudation beside it when it was made.
* ``segments.csv`` — one row per segment: geometry, start, cumulative amounts, mass balance
  errors, steps.
* ``profiles.csv`` — c_P, c_C (and sorbed P) against r for the chosen segments and times.
* ``uptake.png``, ``profiles.png`` — the figures.
"""

from __future__ import annotations

import numpy as np

from rhizofem.output import write_csv
from rhizofem.output.plots import pyplot
from rhizofem.parallel import on_root

__all__ = ["summary_sections", "write_outputs"]


def summary_sections(result, model, config) -> dict:
    series = result.series
    segs = result.segments.arrays
    results = {
        "uptake_P_umol": result.uptake_P_umol,
        "exuded_citrate_umol": result.exuded_citrate_umol,
        "decomposed_citrate_umol": result.decomposed_citrate_umol,
        "mobilised_P_umol": result.mobilised_P_umol,
        "mass_balance_error_rel": result.mass_balance_error_rel,
        "mass_balance_error_rel_by_solute": result.mass_balance_error_rel_by_solute,
        "mass_balance_error_umol_by_solute": dict(zip(
            [s.name for s in model.solutes], series.mass_balance_error().sum(axis=1).tolist(), strict=True)),
        "times_d": result.times_d,
        "uptake_P_series_umol": result.uptake_P_series_umol,
        "exuded_citrate_series_umol": result.exuded_citrate_series_umol,
        "decomposed_citrate_series_umol": result.decomposed_citrate_series_umol,
        "mobilised_P_series_umol": result.mobilised_P_series_umol,
        "n_segments": len(segs),
        "root_length_cm": float(segs.length_cm.sum()),
    }
    if result.without_exudation is not None:
        results["uptake_P_without_exudation_umol"] = result.uptake_P_without_exudation_umol
        results["uptake_P_without_exudation_series_umol"] = result.without_exudation.uptake_P_umol.sum(axis=0)
        results["uptake_ratio_with_to_without_exudation"] = result.uptake_ratio
    N = config.numerics.cells_per_segment
    mesh = {"element": "P1", "cells_per_segment": N, "grading": config.numerics.grading,
            "dofs_per_segment": (N + 1) * len(model.solutes), "segments": len(segs),
            "dofs_total": (N + 1) * len(model.solutes) * len(segs),
            "mass_lumping": "vertex quadrature for every cell integral"}
    st = series.stats
    solver = {"time_scheme": "BDF2 (variable step, per-segment clocks; BDF1 first step)",
              "steps_per_segment_mean": float(series.steps.mean()), "steps_per_segment_max": int(series.steps.max()),
              "rejected_steps": int(series.rejected.sum()),
              "batch_steps_per_rank": st["batch_steps"], "newton_iterations_per_rank": st["newton_iterations"],
              "newton_failures_per_rank": st["newton_failures"],
              "time_s_per_rank": {k: st[k] for k in ("setup_s", "assembly_s", "newton_linear_algebra_s",
                                                    "python_s", "wall_s")},
              "segment_days_per_s": result.stats.get("segment_days_per_s")}
    geometry = dict(result.segments.geometry)
    c0 = [s.initial_umol_cm3 for s in model.solutes]
    derived = {"D_eff_cm2_s": {s.name: s.D_eff_cm2_s for s in model.solutes},
               "initial_buffer_power": {s.name: model.buffer_power(c0, i) for i, s in enumerate(model.solutes)}}
    return {"results": results, "mesh": mesh, "solver": solver, "geometry": geometry, "derived": derived}


def write_outputs(out, result, model, config, comm) -> None:
    out.summary(**summary_sections(result, model, config))
    series, ref = result.series, result.without_exudation
    t = result.times_d
    header = ["t_d", "uptake_P_umol", "exuded_citrate_umol", "decomposed_citrate_umol", "mobilised_P_umol",
              "content_P_umol"] + (["content_citrate_umol"] if model.has_citrate else [])
    cols = [t, result.uptake_P_series_umol, result.exuded_citrate_series_umol,
            result.decomposed_citrate_series_umol, result.mobilised_P_series_umol,
            *series.content_umol.sum(axis=1)]
    if ref is not None:
        header.append("uptake_P_without_exudation_umol")
        cols.append(ref.uptake_P_umol.sum(axis=0))
    write_csv(out.path("timeseries.csv"), header, zip(*cols, strict=True), comm)

    segs, seg = result.segments, result.segments.arrays
    err = series.mass_balance_error()
    header = ["segment", "r0_cm", "r1_cm", "length_cm", "created_d", "order", "exudation_umol_cm2_s",
              "uptake_P_umol", "exuded_citrate_umol", "decomposed_citrate_umol", "mobilised_P_umol",
              "mass_balance_error_P_umol"] + (["mass_balance_error_citrate_umol"] if model.has_citrate else []) \
        + ["steps", "rejected_steps"] + (["uptake_P_without_exudation_umol"] if ref is not None else [])
    rows = []
    for k in range(len(seg)):
        row = [int(seg.index[k]), seg.r0_cm[k], seg.r1_cm[k], seg.length_cm[k], segs.created_d[k],
               int(segs.order[k]), seg.exudation_umol_cm2_s[k], series.uptake_P_umol[k, -1],
               series.exuded_C_umol[k, -1], series.decomposed_C_umol[k, -1], series.mobilised_P_umol[k, -1],
               *err[:, k], int(series.steps[k]), int(series.rejected[k])]
        if ref is not None:
            row.append(ref.uptake_P_umol[k, -1])
        rows.append(row)
    write_csv(out.path("segments.csv"), header, rows, comm)

    rows = []
    for label, s in (("on", series), ("off", ref)):
        if s is None:
            continue
        for p in s.profiles:
            c = p["c"]
            sorbed_P = model.sorbed(list(c))[0]
            for j, r in enumerate(p["r_cm"]):
                rows.append([p["index"], label, p["t_s"] / 86400.0, r, c[0][j],
                             c[1][j] if model.has_citrate else 0.0, sorbed_P[j]])
    write_csv(out.path("profiles.csv"), ["segment", "exudation", "t_d", "r_cm", "c_P_umol_cm3",
                                         "c_citrate_umol_cm3", "sorbed_P_umol_cm3"], rows, comm)
    if config.output.plots:
        on_root(comm, _plots, out.path("uptake.png"), out.path("profiles.png"), result, model)


def _plots(uptake_png, profiles_png, result, model) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(result.times_d, result.uptake_P_series_umol, "-o", ms=3, label="with citrate exudation"
            if model.has_citrate and result.exuded_citrate_umol > 0 else "P uptake")
    if result.without_exudation is not None:
        ax.plot(result.times_d, result.without_exudation.uptake_P_umol.sum(axis=0), "--s", ms=3,
                label=f"without exudation (ratio {result.uptake_ratio:.2f} at {result.times_d[-1]:g} d)")
    ax.set_xlabel("time (d)")
    ax.set_ylabel("cumulative P uptake (µmol)")
    ax.set_title(f"{len(result.segments.arrays)} segment(s), "
                 f"{result.segments.arrays.length_cm.sum():.3g} cm of root")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(uptake_png, dpi=150)
    plt.close(fig)

    profiles = [("with exudation", "-", result.series.profiles)]
    if result.without_exudation is not None:
        profiles.append(("without", ":", result.without_exudation.profiles))
    ncols = 2 if model.has_citrate else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 4.0), squeeze=False)
    colors = {}
    for label, style, plist in profiles:
        for p in plist:
            key = (p["index"], p["t_s"])
            color = colors.setdefault(key, f"C{len(colors) % 10}")
            name = f"seg {p['index']}, {p['t_s'] / 86400:g} d ({label})"
            axes[0, 0].plot(p["r_cm"], p["c"][0] * 1e3, style, color=color, label=name)
            if ncols == 2 and label != "without":
                axes[0, 1].plot(p["r_cm"], p["c"][1] * 1e3, style, color=color, label=name)
    axes[0, 0].set_ylabel("c_P in solution (µM)")
    if ncols == 2:
        axes[0, 1].set_ylabel("citrate in solution (µM)")
    for ax in axes[0]:
        ax.set_xlabel("r (cm)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(profiles_png, dpi=150)
    plt.close(fig)
