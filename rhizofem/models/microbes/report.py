"""Files of a microbes run: timeseries.csv, profiles.csv, fields_<t>d.vti (VTK image: labels, DOC,
biomass, necromass per voxel), cells_<t>d.vtp (VTK point cloud: id, mass, dormant), and the
figures timeseries.png and profile.png."""

from __future__ import annotations

import numpy as np

from rhizofem.output import RunOutput, write_csv
from rhizofem.parallel import on_root

from .bacteria import Cells, hash64
from .model import SERIES, Result

__all__ = ["write_fields", "write_report"]


def _tag(t_d: float) -> str:
    return f"{t_d:.4g}".replace(".", "p")


def _gather_voxels(comm, lo: int, values: np.ndarray):
    parts = comm.gather((lo, values), root=0)
    if comm.rank != 0:
        return None
    return np.concatenate([v for _, v in sorted(parts, key=lambda p: p[0])])


def write_fields(out: RunOutput, config, dom, t_d: float, c: np.ndarray, necro: np.ndarray, cells: Cells) -> None:
    """DOC, biomass and necromass per voxel (VTK image) and the cells (VTK points) at time t_d."""
    comm = out.comm
    lo, hi = dom.owned
    local = dom.liquid_index[cells.voxel] - lo
    biomass = np.bincount(local, weights=cells.mass, minlength=hi - lo)
    fields = [_gather_voxels(comm, lo, a) for a in (c, biomass, necro)]
    gathered = comm.gather((cells.id, cells.voxel, cells.mass, cells.dormant), root=0)
    if comm.rank != 0:
        return
    import pyvista

    h_mm = dom.voxel_um * 1e-3
    if config.output.fields:
        grid = pyvista.ImageData(dimensions=np.array(dom.shape) + 1, spacing=(h_mm,) * 3)
        grid.cell_data["label"] = dom.labels.ravel(order="F")
        for name, values in zip(("doc_ug_C_cm3", "biomass_ug_C", "necromass_ug_C"), fields, strict=True):
            full = np.zeros(dom.labels.size)
            full[dom.liquid_flat] = values
            grid.cell_data[name] = full.reshape(dom.shape).ravel(order="F")
        grid.save(str(out.path(f"fields_{_tag(t_d)}d.vti")))
    if config.output.cells:
        ids = np.concatenate([g[0] for g in gathered])
        voxel = np.concatenate([g[1] for g in gathered])
        mass = np.concatenate([g[2] for g in gathered])
        dormant = np.concatenate([g[3] for g in gathered])
        order = np.argsort(ids, kind="stable")
        ids, voxel, mass, dormant = ids[order], voxel[order], mass[order], dormant[order]
        # a fixed jitter per cell inside its voxel, so cells of one voxel do not hide each other
        jitter = np.stack([(hash64(0, ids, 0, 90 + k) >> np.uint64(11)).astype(float) / 2.0**53 for k in range(3)],
                          axis=1)
        pts = (np.array(np.unravel_index(voxel, dom.shape)).T + 0.1 + 0.8 * jitter) * h_mm
        cloud = pyvista.PolyData(pts if len(pts) else np.zeros((0, 3)))
        cloud.point_data["id"] = ids
        cloud.point_data["mass_ug_C"] = mass
        cloud.point_data["dormant"] = dormant.astype(np.uint8)
        cloud.save(str(out.path(f"cells_{_tag(t_d)}d.vtp")))


def write_report(out: RunOutput, config, res: Result) -> None:
    comm = out.comm
    s = res.series
    write_csv(out.path("timeseries.csv"), SERIES, zip(*(s[k] for k in SERIES), strict=True), comm)
    keys = ("biomass_ug_C", "biomass_active_ug_C", "biomass_dormant_ug_C", "respired_ug_C", "cells",
            "liquid_volume_mm3", "doc_ug_C")
    rows = []
    for p in res.profiles:
        for i, d in enumerate(p["distance_um"]):
            rows.append([p["t_d"], d] + [p[k][i] for k in keys])
    write_csv(out.path("profiles.csv"), ("t_d", "distance_um") + keys, rows, comm)
    if config.output.plots:
        caption = _caption(config, res)
        on_root(comm, _plot_series, out.path("timeseries.png"), s, caption, bcast=False)
        on_root(comm, _plot_profile, out.path("profile.png"), res.profiles, caption, bcast=False)


def _caption(config, res: Result) -> str:
    d = res.domain
    b = config.bacteria
    return (f"{d['source']}, {d['shape'][0]}×{d['shape'][1]}×{d['shape'][2]} voxels of {d['voxel_size_um']:g} µm, "
            f"θ = {d['water_content_of_soil']:.2f}; exudation {res.stats['exudation_source']} "
            f"{config.root.exudation_ug_C_cm2_d:g} µg C cm⁻² d⁻¹ on {res.stats['root_liquid_contact_cm2']:.3g} cm²; "
            f"{b.initial_cells} cells ({b.distribution}), v_max {b.uptake_max_per_h:g} h⁻¹, K_s "
            f"{b.half_saturation_ug_cm3:g} µg cm⁻³, Y {b.growth_yield:g}, a {b.maintenance_per_h:g} h⁻¹; "
            f"dt {res.stats['dt_h']:.3g} h, seed {config.run.seed}")


def _plot_series(path, s: dict, caption: str) -> None:
    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    t = s["t_d"]
    fig, ax = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    a = ax[0, 0]
    a.plot(t, s["biomass_active_ug_C"], label="active")
    a.plot(t, s["biomass_dormant_ug_C"], label="dormant")
    a.plot(t, s["biomass_active_ug_C"] + s["biomass_dormant_ug_C"], "k--", lw=1, label="total")
    a.set_ylabel("bacterial biomass (µg C)")
    a.legend(fontsize=8)
    a = ax[0, 1]
    a.plot(t, s["cells_active"], label="active")
    a.plot(t, s["cells_dormant"], label="dormant")
    a.set_ylabel("number of cells")
    a.legend(fontsize=8)
    a = ax[1, 0]
    for key, label in (("doc_ug_C", "DOC"), ("pom_ug_C", "POM"), ("necromass_ug_C", "necromass"),
                       ("exuded_ug_C", "exuded (cumulative)")):
        a.plot(t, s[key], label=label)
    a.set_yscale("symlog", linthresh=1e-6)
    a.set_ylabel("carbon (µg C)")
    a.set_xlabel("time (d)")
    a.legend(fontsize=8)
    a = ax[1, 1]
    a.plot(t[1:], s["respiration_ug_C_d"][1:], color="tab:red", label="respiration rate")
    a.set_ylabel("respiration (µg C d⁻¹)")
    a.set_xlabel("time (d)")
    a2 = a.twinx()
    a2.plot(t, s["co2_ug_C"], color="0.3", ls="--", label="CO₂ (cumulative)")
    a2.set_ylabel("CO₂ released (µg C)")
    h1, l1 = a.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()
    a.legend(h1 + h2, l1 + l2, fontsize=8)
    for a in ax.ravel():
        a.grid(alpha=0.3)
    save_figure(fig, path, caption)


def _plot_profile(path, profiles: list, caption: str) -> None:
    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.4))
    for p in profiles:
        vol = np.maximum(p["liquid_volume_mm3"], 1e-30)
        ok = p["liquid_volume_mm3"] > 0
        ax[0].plot(p["distance_um"][ok], p["biomass_ug_C"][ok] / vol[ok], marker=".", label=f"t = {p['t_d']:.3g} d")
        ax[1].plot(p["distance_um"][ok], p["respired_ug_C"][ok] / vol[ok], marker=".", label=f"until {p['t_d']:.3g} d")
    ax[0].set_ylabel("biomass per liquid volume (µg C mm⁻³)")
    ax[1].set_ylabel("CO₂ respired per liquid volume (µg C mm⁻³)")
    for a in ax:
        a.set_xlabel("distance from the root surface (µm)")
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    save_figure(fig, path, caption)
