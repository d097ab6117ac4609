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
from rhizofem.output.plots import pyplot, save_figure
from rhizofem.parallel import on_root

__all__ = ["caption", "headline", "summary_sections", "write_outputs"]


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
        "segment_days": result.stats["segment_days_per_run"],
    }
    if result.without_exudation is not None:
        results["uptake_P_without_exudation_umol"] = result.uptake_P_without_exudation_umol
        results["uptake_P_without_exudation_series_umol"] = result.without_exudation.uptake_P_umol.sum(axis=0)
        results["uptake_ratio_with_to_without_exudation"] = result.uptake_ratio
    num = config.numerics
    cells = series.cells
    mesh = {"element": "P1", "grid": ("fixed: cells_per_segment, grading" if num.cells_per_segment is not None
                                      else "first cell = first_cell_fraction · r0, growth ≤ cell_growth"),
            "first_cell_fraction": num.first_cell_fraction, "cell_growth": num.cell_growth,
            "cells_per_segment_min": int(cells.min()), "cells_per_segment_mean": float(cells.mean()),
            "cells_per_segment_max": int(cells.max()), "segments": len(segs),
            "dofs_total": int(((cells + 1) * len(model.solutes)).sum()),
            "mass_lumping": "vertex quadrature for every cell integral"}
    st = series.stats
    solver = {"time_scheme": "BDF2 (variable step, per-segment clocks; BDF1 first step)",
              "steps_per_segment_mean": float(series.steps.mean()), "steps_per_segment_max": int(series.steps.max()),
              "rejected_steps": int(series.rejected.sum()),
              "batch_steps_per_rank": st["batch_steps"], "newton_iterations_per_rank": st["newton_iterations"],
              "newton_failures_per_rank": st["newton_failures"],
              "time_s_per_rank": {k: st[k] for k in ("setup_s", "assembly_s", "newton_linear_algebra_s",
                                                    "python_s", "wall_s")},
              # wall and CPU seconds of the phases before the outputs (the outputs follow; the
              # whole run's wall time is wall_time_s at the top level)
              "time_s": dict(result.stats["time_s"]), "cpu_s_rank0": dict(result.stats["cpu_s_rank0"]),
              "segment_days_per_s_solver": result.stats.get("segment_days_per_s_solver")}
    geometry = dict(result.segments.geometry)
    c0 = [s.initial_umol_cm3 for s in model.solutes]
    derived = {"D_eff_cm2_s": {s.name: s.D_eff_cm2_s for s in model.solutes},
               "initial_buffer_power": {s.name: model.buffer_power(c0, i) for i, s in enumerate(model.solutes)},
               "langmuir_capacity_umol_g": {s.name: s.rho_s_max_umol_cm3 / config.soil.bulk_density_g_cm3
                                            for s in model.solutes if s.isotherm == "langmuir"},
               "competition": model.competition, "uptake_law": model.uptake_law}
    return {"results": results, "mesh": mesh, "solver": solver, "geometry": geometry, "derived": derived}


def caption(result, model, config) -> str:
    """The key parameters of a run, for figure captions."""
    segs = result.segments.arrays
    P, C = config.phosphate, config.citrate
    if model.uptake_law == "michaelis_menten":
        law = f"Michaelis–Menten Imax {P.imax_umol_cm2_s:.3g} µmol/cm²/s, Km {P.km_umol_cm3:.3g} µmol/cm³"
    elif model.uptake_law == "linear":
        law = f"linear uptake α {P.linear_alpha_cm_s:.3g} cm/s"
    else:
        law = "zero sink"
    parts = [f"{len(segs)} segment(s), {segs.length_cm.sum():.3g} cm root, {config.time.t_end_d:g} d",
             f"θ {config.soil.theta:g}", f"P {P.isotherm}" + (f" K {P.langmuir_K_cm3_umol:g}" if P.isotherm == "langmuir"
                                                             else f" b {P.buffer_power:g}"), law]
    if model.has_citrate:
        parts.append(f"citrate {C.isotherm}" + (f" K {C.langmuir_K_cm3_umol:g}" if C.isotherm == "langmuir" else "")
                     + f", E {C.exudation_umol_cm2_s:.2g} µmol/cm²/s, k {C.decomposition_rate_1_s:.3g}/s "
                       f"({C.decomposition_of})")
        parts.append(f"sorption {model.competition}")
    return "; ".join(parts)


def headline(result, model) -> list[str]:
    """The lines a user reads at the end of a run."""
    lines = [f"P uptake {result.uptake_P_umol:.4g} µmol by {len(result.segments.arrays)} segment(s) "
             f"({result.segments.arrays.length_cm.sum():.4g} cm of root) over {result.times_d[-1]:g} d"]
    if result.uptake_ratio is not None:
        lines[0] += (f"; {result.uptake_P_without_exudation_umol:.4g} µmol without exudation: "
                     f"ratio {result.uptake_ratio:.3g}")
    if model.has_citrate and result.exuded_citrate_umol > 0:
        lines.append(f"citrate exuded {result.exuded_citrate_umol:.4g} µmol, decomposed "
                     f"{result.decomposed_citrate_umol:.4g} µmol; P held in solution by citrate at the end "
                     f"{result.mobilised_P_umol:.3g} µmol")
    st = result.stats
    lines.append(f"mass balance error {result.mass_balance_error_rel:.1e} (relative); "
                 f"{st['segment_days_per_run']:.4g} segment-days in {st['time_s']['total']:.1f} s "
                 f"(solver {st['time_s']['solver']:.1f} s)")
    return lines


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
        + ["cells", "steps", "rejected_steps"] + (["uptake_P_without_exudation_umol"] if ref is not None else [])
    rows = []
    for k in range(len(seg)):
        row = [int(seg.index[k]), seg.r0_cm[k], seg.r1_cm[k], seg.length_cm[k], segs.created_d[k],
               int(segs.order[k]), seg.exudation_umol_cm2_s[k], series.uptake_P_umol[k, -1],
               series.exuded_C_umol[k, -1], series.decomposed_C_umol[k, -1], series.mobilised_P_umol[k, -1],
               *err[:, k], int(series.cells[k]), int(series.steps[k]), int(series.rejected[k])]
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
        on_root(comm, _plots, out.path("uptake.png"), out.path("profiles.png"), result, model,
                caption(result, model, config))


def _plots(uptake_png, profiles_png, result, model, text) -> None:
    plt = pyplot()
    exuding = model.has_citrate and result.exuded_citrate_umol > 0
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(result.times_d, result.uptake_P_series_umol, "-o", ms=3, color="C0",
            label="with citrate exudation" if exuding else "P uptake")
    if result.without_exudation is not None:
        ax.plot(result.times_d, result.without_exudation.uptake_P_umol.sum(axis=0), "--s", ms=3, color="C1",
                label=f"without exudation (ratio {result.uptake_ratio:.2f} at {result.times_d[-1]:g} d)")
    ax.set_xlabel("time t (d)")
    ax.set_ylabel("cumulative P uptake (µmol)")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, uptake_png, caption=text)

    ncols = 2 if model.has_citrate else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.6 * ncols, 4.4), squeeze=False)
    styles = [("with exudation", "-", result.series.profiles)]
    if result.without_exudation is not None:
        styles.append(("without exudation", ":", result.without_exudation.profiles))
    colors = {}
    for label, style, plist in styles:
        for p in plist:
            key = (p["index"], p["t_s"])
            color = colors.setdefault(key, f"C{len(colors) % 10}")
            name = f"segment {p['index']}, {p['t_s'] / 86400:g} d, {label}"
            axes[0, 0].plot(p["r_cm"], p["c"][0] * 1e3, style, color=color, label=name)
            if ncols == 2 and label == "with exudation":
                axes[0, 1].plot(p["r_cm"], p["c"][1] * 1e3, style, color=color, label=name)
    axes[0, 0].set_ylabel("phosphate in solution c_P (µM)")
    if ncols == 2:
        axes[0, 1].set_ylabel("citrate in solution c_C (µM)")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for ax in axes[0]:
        ax.set_xlabel("distance from the root axis r (cm)")
        ax.set_xscale("log")
        # plain numbers: the default 10^k labels go through mathtext, whose parser costs
        # seconds to build on first use
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3, which="both")
        if ax.lines:
            ax.legend(fontsize=7)
    save_figure(fig, profiles_png, caption=text)
