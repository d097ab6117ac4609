"""Files of a rhizodeposition run: VTK image data, CSV, figures, summary.json sections.

Everything here runs on rank 0 with the reduced fields.
"""

from __future__ import annotations

import numpy as np

from rhizofem.config import to_dict
from rhizofem.output import write_csv
from rhizofem.output.plots import pyplot

__all__ = ["elongation_rate_study", "plot_cut", "summary_sections", "write_outputs", "write_vti"]


def write_vti(path, grid, fields: dict) -> None:
    """Fields on the voxel centres as VTK image data (.vti, point data, float32) for ParaView."""
    import pyvista

    img = pyvista.ImageData(dimensions=grid.shape, spacing=tuple(grid.spacing_cm),
                            origin=tuple(grid.origin_cm + 0.5 * grid.spacing_cm))
    for name, f in fields.items():
        data = f.astype(np.float32) if f.dtype.kind == "f" else f
        img.point_data[name] = data.ravel(order="F")     # VTK: x varies fastest
    img.save(str(path))


def plot_cut(ax, cut: np.ndarray, grid, c_thr: float, title: str = "", vmin_rel: float = 1e-4,
             overlap: np.ndarray | None = None):
    """x–z cut, log colour scale, hotspot outline (c = c_thr) and overlap-only voxels hatched."""
    from matplotlib.colors import LogNorm

    x, z = grid.axis(0), grid.axis(2)
    vmax = max(float(cut.max()), 1e-300)
    data = np.ma.masked_less_equal(cut.T, vmax * vmin_rel)
    im = ax.pcolormesh(x, z, data, norm=LogNorm(vmin=vmax * vmin_rel, vmax=vmax), shading="nearest",
                       cmap="viridis")
    if cut.max() >= c_thr:
        ax.contour(x, z, cut.T, levels=[c_thr], colors="red", linewidths=0.8)
    if overlap is not None and np.any(overlap):
        ax.contourf(x, z, overlap.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=["////"])
    ax.set_aspect("equal")
    ax.set_xlabel("x (cm)")
    ax.set_ylabel("z (cm)")
    if title:
        ax.set_title(title, fontsize=9)
    return im


def write_outputs(out, cfg, res, grid, rs, trajs, p) -> None:
    name = cfg.rhizodeposit.name
    write_csv(out.path("series.csv"),
              ["day", "total_mass_ug", "released_mass_ug", "max_concentration_ug_cm3", "hotspot_volume_cm3",
               "overlap_share"],
              zip(res.days, res.total_mass_ug, res.released_mass_ug, res.max_concentration_ug_cm3,
                  res.hotspot_volume_cm3, res.overlap_share, strict=True))
    if cfg.output.vti and res.hotspot_days is not None:
        write_vti(out.path("fields/hotspot_duration.vti"), grid,
                  {"hotspot_days": res.hotspot_days.astype(np.int16)})
    if not cfg.output.plots:
        return
    plt = pyplot()
    show = [d for d in res.days if d in set(cfg.output.field_days or (res.days[-1],))] or [res.days[-1]]
    fig, axes = plt.subplots(1, len(show), figsize=(4 * len(show), 6), squeeze=False)
    for ax, d in zip(axes[0], show, strict=True):
        tot, mx = res.cuts[d]
        im = plot_cut(ax, tot, grid, res.threshold_ug_cm3, f"{name}, day {d:g}",
                      overlap=(tot >= res.threshold_ug_cm3) & (mx < res.threshold_ug_cm3))
    fig.colorbar(im, ax=axes[0].tolist(), label="c (µg cm⁻³ water)", shrink=0.8)
    fig.savefig(out.path("cut.png"), dpi=130)
    plt.close(fig)
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.5))
    ax[0].plot(res.days, res.total_mass_ug, "o-", label="in grid")
    ax[0].plot(res.days, res.released_mass_ug, "k--", label="released, not decayed")
    ax[0].set_ylabel("mass (µg)")
    ax[0].legend()
    ax[1].plot(res.days, res.hotspot_volume_cm3, "o-")
    ax[1].set_ylabel("hotspot volume (cm³)")
    ax[2].plot(res.days, res.overlap_share, "o-")
    ax[2].set_ylabel("share needing overlap")
    for a in ax:
        a.set_xlabel("day")
    fig.tight_layout()
    fig.savefig(out.path("series.png"), dpi=130)
    plt.close(fig)


def summary_sections(cfg, res, grid, rs, p) -> dict:
    hd = res.hotspot_days
    return {
        "results": {
            "days": res.days,
            "total_mass_mg": res.total_mass_ug / 1000.0,
            "released_mass_mg": res.released_mass_ug / 1000.0,
            "max_concentration": res.max_concentration_ug_cm3,
            "max_concentration_unit": "ug per cm3 soil water",
            "hotspot_volume_cm3": res.hotspot_volume_cm3,
            "overlap_share": res.overlap_share,
            "threshold_ug_per_g_soil": cfg.threshold_ug_g(),
            "threshold_liquid_ug_cm3": res.threshold_ug_cm3,
            "hotspot_duration_days": None if hd is None else {
                "max": int(hd.max()), "mean_over_hotspot_voxels": float(hd[hd > 0].mean()) if np.any(hd) else 0.0,
                "voxels_hot_at_least_once": int(np.count_nonzero(hd))},
            "peclet": {k: to_dict(v) for k, v in res.peclet.items()},
        },
        "rootsystem": {"source": rs.source, "roots": res.n_roots, "segments": rs.n_segments,
                       "length_cm": rs.total_length_cm()},
        "grid": {"origin_cm": grid.origin_cm, "spacing_cm": grid.spacing_cm, "shape": grid.shape,
                 "voxels": int(np.prod(grid.shape))},
        "numerics": res.stats,
    }


def elongation_rate_study(p, rates_cm_d, t_end_d: float, c_thr: float, spacing_cm: float = 0.05,
                          half_width_cm: float = 1.0, tol: float = 1e-3, path=None) -> dict:
    """One straight root at several elongation rates (seed Fig. 4): its plume at ``t_end_d``
    on an x–z grid covering z ∈ [−L − margin, margin], L = rate·t_end, and the hotspot volume.

    Returns {rate: (hotspot volume cm³, max concentration, Pe)}; draws the cuts to ``path``.
    """
    import math

    from rhizofem.models.rhizodeposition.hotspots import rhizosphere_peclet
    from rhizofem.models.rhizodeposition.run import field_series
    from rhizofem.models.rhizodeposition.superposition import Grid, root_trajectories
    from rhizofem.rootsystem.generators import straight_root

    out, cuts = {}, {}
    L_pe = math.sqrt(p.D_cm2_d / p.decay_d) if p.decay_d > 0 else p.length_cm
    for v in rates_cm_d:
        L = v * t_end_d
        margin = half_width_cm
        nz = int(math.ceil((L + 2 * margin) / spacing_cm))
        nxy = int(math.ceil(2 * half_width_cm / spacing_cm))
        grid = Grid.make((-half_width_cm, -half_width_cm, -L - margin), spacing_cm, (nxy, nxy, nz))
        traj = root_trajectories(straight_root(v, t_end_d, dx_cm=min(0.1, L / 10)))
        got = {}
        field_series(traj, p, grid, [t_end_d], c_thr, tol, on_day=lambda i, d, tot, mx: got.update(tot=tot),
                     desc=f"rate {v}")
        tot = got["tot"]
        vol = float(np.count_nonzero(tot >= c_thr) * grid.voxel_cm3)
        out[v] = (vol, float(tot.max()), rhizosphere_peclet(v, L_pe, p.D_eff))
        cuts[v] = (grid, tot[:, nxy // 2, :].copy())
    if path is not None:
        plt = pyplot()
        fig, axes = plt.subplots(1, len(rates_cm_d) + 1, figsize=(3.2 * (len(rates_cm_d) + 1), 6))
        for ax, v in zip(axes[:-1], rates_cm_d, strict=True):
            grid, cut = cuts[v]
            plot_cut(ax, cut, grid, c_thr, f"{v:g} cm/d, Pe = {out[v][2]:.3g}")
            ax.set_aspect("auto")
        axes[-1].plot(rates_cm_d, [out[v][0] for v in rates_cm_d], "o-")
        axes[-1].set_xscale("log")
        axes[-1].set_xlabel("elongation rate (cm d⁻¹)")
        axes[-1].set_ylabel("hotspot volume (cm³)")
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)
    return out
