"""Files of a rhizodeposition run: VTK image data, CSV, figures, summary.json sections, the
closing lines, and the elongation-rate study.

Units in files: masses in mg, concentrations in µg per cm³ of soil water, volumes in cm³,
lengths in cm, times in days; every column and key names its unit. File writers run on rank
0 with the reduced fields; :func:`elongation_rate_study` is collective.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from mpi4py import MPI

from rhizofem.config import to_dict
from rhizofem.output import write_csv
from rhizofem.output.plots import pyplot, save_figure

__all__ = ["caption", "elongation_rate_study", "headline", "plot_cut", "summary_sections", "write_fields",
           "write_outputs"]

UG_PER_MG = 1000.0
SERIES_COLUMNS = ("day", "mass_in_grid_mg", "released_mass_mg", "mass_in_grid_share", "max_concentration_ug_cm3",
                  "hotspot_volume_cm3", "overlap_share")


_VTK_TYPES = {"float32": "Float32", "uint8": "UInt8", "int16": "Int16"}


def write_fields(path, grid, k0: int, k1: int, fields: dict, comm: MPI.Comm) -> None:
    """Collective: voxel-centred fields as parallel VTK image data, ``path`` (.pvti) plus one
    piece per rank in ``<stem>/piece<r>.vti`` (zlib-compressed), which ParaView opens as one
    image.

    Every rank writes its own depth slab, planes ``k0 ≤ k < k1`` of ``fields`` (arrays of the
    slab's shape), with the next slab's first plane appended so that the pieces join without a
    gap; rank 0 writes the .pvti that lists the pieces. Floats are written as float32.
    """
    import pyvista

    path = Path(path)
    data = {name: (f.astype(np.float32) if f.dtype.kind == "f" else f) for name, f in fields.items()}
    first = {name: f[:, :, 0].copy() for name, f in data.items()} if k1 > k0 else None
    slabs = comm.allgather((k0, k1, first))
    pieces = [(r, a, b) for r, (a, b, _) in enumerate(slabs) if b > a]
    if k1 > k0:
        ghost = next((f for a, b, f in slabs[comm.rank + 1:] if b > a), None)
        if ghost is not None:
            data = {name: np.concatenate([f, ghost[name][:, :, None]], axis=2) for name, f in data.items()}
        nk = next(iter(data.values())).shape[2]
        img = pyvista.ImageData()
        img.origin = tuple(grid.origin_cm + 0.5 * grid.spacing_cm)
        img.spacing = tuple(grid.spacing_cm)
        img.extent = (0, grid.shape[0] - 1, 0, grid.shape[1] - 1, k0, k0 + nk - 1)
        for name, f in data.items():
            img.point_data[name] = f.ravel(order="F")          # VTK: x varies fastest
        piece = path.parent / path.stem / f"piece{comm.rank}.vti"
        piece.parent.mkdir(parents=True, exist_ok=True)
        img.save(str(piece))
    if comm.rank == 0:
        nx, ny, nz = grid.shape
        o, h = grid.origin_cm + 0.5 * grid.spacing_cm, grid.spacing_cm
        arrays = "".join(f'      <PDataArray type="{_VTK_TYPES[str(f.dtype)]}" Name="{name}"/>\n'
                         for name, f in data.items())
        listed = "".join(f'    <Piece Extent="0 {nx - 1} 0 {ny - 1} {a} {min(b, nz - 1)}" '
                         f'Source="{path.stem}/piece{r}.vti"/>\n' for r, a, b in pieces)
        path.write_text(
            '<?xml version="1.0"?>\n'
            '<VTKFile type="PImageData" version="0.1" byte_order="LittleEndian" header_type="UInt32" '
            'compressor="vtkZLibDataCompressor">\n'
            f'  <PImageData WholeExtent="0 {nx - 1} 0 {ny - 1} 0 {nz - 1}" GhostLevel="0" '
            f'Origin="{o[0]!r} {o[1]!r} {o[2]!r}" Spacing="{h[0]!r} {h[1]!r} {h[2]!r}" '
            'Direction="1 0 0 0 1 0 0 0 1">\n'
            f'    <PPointData>\n{arrays}    </PPointData>\n{listed}  </PImageData>\n</VTKFile>\n')
    comm.barrier()


def caption(p, c_thr: float, threshold_text: str, extra: str = "") -> str:
    """One line of the parameters that decide the picture."""
    q = (f"Q = {p.release:.4g} µg d⁻¹ per tip" if p.kind == "point"
         else f"q = {p.release:.4g} µg cm⁻¹ d⁻¹ over {p.length_cm:g} cm behind the tip")
    text = (f"{q}, D = {p.D_cm2_d:.3g} cm² d⁻¹, R = {p.retardation:.3g}, k = {p.decay_d:.3g} d⁻¹, θ = {p.theta:.3g}; "
            f"hotspot: {threshold_text} (c = {c_thr:.4g} µg cm⁻³ water)")
    if p.freeze_stopped:
        text += "; stopped roots' plumes frozen (CPlantBox convention)"
    return text + (f"; {extra}" if extra else "")


def threshold_text(cfg) -> str:
    h = cfg.hotspot
    if h.threshold_umol_g is not None:
        return f"≥ {h.threshold_umol_g:g} µmol g⁻¹ dry soil"
    return f"≥ {h.threshold_mg_g:g} mg g⁻¹ dry soil"


def log_norm(vmax: float, c_thr: float):
    """One logarithmic colour scale from 10⁻³ of min(threshold, max) up to the maximum."""
    from matplotlib.colors import LogNorm

    vmax = max(float(vmax), 1e-300)
    return LogNorm(vmin=min(c_thr, vmax) * 1e-3, vmax=vmax)


def plot_cut(ax, cut: np.ndarray, x: np.ndarray, z: np.ndarray, c_thr: float, norm, title: str = "",
             overlap: np.ndarray | None = None):
    """x–z cut on a shared log colour scale, the hotspot boundary (c = c_thr) in red and
    hotspot voxels that exist only through overlap hatched. Returns the image."""
    data = np.ma.masked_less(cut.T, norm.vmin)
    im = ax.pcolormesh(x, z, data, norm=norm, shading="nearest", cmap="viridis")
    if cut.max() >= c_thr:
        ax.contour(x, z, cut.T, levels=[c_thr], colors="red", linewidths=0.9)
    if overlap is not None and np.any(overlap):
        ax.contourf(x, z, overlap.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=["////"])
    ax.set_xlabel("x (cm)")
    if title:
        ax.set_title(title, fontsize=9)
    return im


def _legend_handles(c_thr: float, thr_text: str, overlap: bool):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color="red", lw=0.9,
                      label=f"hotspot boundary: content {thr_text}\n(c = {c_thr:.4g} µg cm⁻³ soil water)")]
    if overlap:
        handles.append(Patch(facecolor="none", edgecolor="k", hatch="////",
                             label="hotspot only through overlapping rhizospheres"))
    return handles


def _colorbar(fig, im, cax, c_thr: float):
    """Colour bar in ``cax`` with the threshold marked in red."""
    cb = fig.colorbar(im, cax=cax, label="c (µg cm⁻³ soil water)")
    if im.norm.vmin <= c_thr <= im.norm.vmax:
        cb.ax.axhline(c_thr, color="red", lw=1.5)
    return cb


def _extent(cuts, x, z, vmin, margin_cm=0.5):
    """x and z limits that hold every voxel ≥ vmin of ``cuts`` (plus a margin), or everything."""
    mask = np.zeros(cuts[0].shape, bool)
    for c in cuts:
        mask |= c >= vmin
    if not mask.any():
        return (x[0], x[-1]), (z[0], z[-1])
    ii, kk = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return ((max(x[ii[0]] - margin_cm, x[0]), min(x[ii[-1]] + margin_cm, x[-1])),
            (max(z[kk[0]] - margin_cm, z[0]), min(z[kk[-1]] + margin_cm, z[-1])))


def write_outputs(out, cfg, res, grid, rs, trajs, p) -> None:
    """series.csv, fields/hotspot_duration.vti and the figures (rank 0)."""
    share = res.mass_in_grid_share
    write_csv(out.path("series.csv"), SERIES_COLUMNS,
              zip(res.days, res.total_mass_ug / UG_PER_MG, res.released_mass_ug / UG_PER_MG, share,
                  res.max_concentration_ug_cm3, res.hotspot_volume_cm3, res.overlap_share, strict=True),
              comm=out.comm)
    if not cfg.output.plots:
        return
    thr = threshold_text(cfg)
    grid_text = (f"grid {'×'.join(map(str, grid.shape))} voxels of {grid.h * 10:.3g} mm "
                 f"({cfg.grid.sampling.replace('_', ' ')}); {res.n_roots} roots "
                 f"({Path(rs.source).name if '/' in rs.source else rs.source})")
    cap = caption(p, res.threshold_ug_cm3, thr, grid_text)
    plot_cuts(out.path("cut.png"), cfg.rhizodeposit.name, res, grid, thr, cap,
              [d for d in res.days if d in set(cfg.output.field_days or (res.days[-1],))] or [res.days[-1]])
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.8))
    ax[0].plot(res.days, res.total_mass_ug / UG_PER_MG, "o-", label="in the grid")
    ax[0].plot(res.days, res.released_mass_ug / UG_PER_MG, "k--", label="released, not decayed (exact)")
    ax[0].set_ylabel(f"{cfg.rhizodeposit.name} mass (mg)")
    ax[0].legend(fontsize=8)
    ax[1].plot(res.days, res.hotspot_volume_cm3, "o-", color="C3", label=f"content {thr}")
    ax[1].set_ylabel("hotspot volume (cm³)")
    ax[1].legend(fontsize=8)
    ax[2].plot(res.days, res.overlap_share, "o-", color="C2", label="hotspot volume only through overlap")
    ax[2].set_ylabel("share of the hotspot volume (-)")
    ax[2].set_ylim(0, 1.05)
    ax[2].legend(fontsize=8)
    for a in ax:
        a.set_xlabel("time (d)")
    save_figure(fig, out.path("series.png"), caption=cap)


def plot_cuts(path, name, res, grid, thr, cap, show) -> None:
    """cut.png: x–z cuts through the first root's base on the output days ``show``, one
    colour scale (up to the grid's maximum on those days), cropped to where the plumes are."""
    plt = pyplot()
    x, z = grid.axis(0), grid.axis(2)
    at = {d: list(res.days).index(d) for d in show}
    norm = log_norm(max(float(res.max_concentration_ug_cm3[at[d]]) for d in show), res.threshold_ug_cm3)
    xlim, zlim = _extent([res.cuts[d][0] for d in show], x, z, norm.vmin)
    aspect = (zlim[1] - zlim[0]) / max(xlim[1] - xlim[0], 1e-9)    # panels drawn with equal axes
    n = len(show)
    fig = plt.figure(figsize=(max(3.0 * n + 1.2, 6.0), min(max(3.0 * aspect, 3.0), 9.0) + 2.2))
    gs = fig.add_gridspec(2, n + 1, width_ratios=[1] * n + [0.06], height_ratios=[1, 0.1])
    any_overlap = False
    for k, d in enumerate(show):
        ax = fig.add_subplot(gs[0, k])
        tot, mx = res.cuts[d]
        overlap = (tot >= res.threshold_ug_cm3) & (mx < res.threshold_ug_cm3)
        any_overlap |= bool(overlap.any())
        im = plot_cut(ax, tot, x, z, res.threshold_ug_cm3, norm,
                      f"day {d:g}\nmax {tot.max():.3g} here, {res.max_concentration_ug_cm3[at[d]]:.3g} in the grid",
                      overlap)
        ax.set_xlim(*xlim)
        ax.set_ylim(*zlim)
        ax.set_aspect("equal")
        ax.set_anchor("E" if k == n - 1 else "C")   # the last panel next to its colour bar
        if k == 0:
            ax.set_ylabel("z (cm)")
        else:
            ax.tick_params(labelleft=False)
    _colorbar(fig, im, fig.add_subplot(gs[0, n]), res.threshold_ug_cm3)
    leg = fig.add_subplot(gs[1, :])
    leg.axis("off")
    leg.legend(handles=_legend_handles(res.threshold_ug_cm3, thr, any_overlap), loc="center", fontsize=7,
               frameon=False)
    fig.suptitle(f"{name}: x–z plane at y = {res.cut_y_cm:.3g} cm\n(through the first root's base)", fontsize=10)
    save_figure(fig, path, caption=cap)


def summary_sections(cfg, res, grid, rs, p) -> dict:
    hd = res.hotspot_days
    return {
        "results": {
            "days": res.days,
            "mass_in_grid_mg": res.total_mass_ug / UG_PER_MG,
            "released_mass_mg": res.released_mass_ug / UG_PER_MG,
            "mass_in_grid_share": res.mass_in_grid_share,
            "max_concentration_ug_cm3": res.max_concentration_ug_cm3,
            "hotspot_volume_cm3": res.hotspot_volume_cm3,
            "overlap_share": res.overlap_share,
            "threshold_ug_per_g_soil": cfg.threshold_ug_g(),
            "threshold_liquid_ug_cm3": res.threshold_ug_cm3,
            "hotspot_duration_days": None if hd is None else {
                "max": int(hd.max()), "mean_over_hotspot_voxels": float(hd[hd > 0].mean()) if np.any(hd) else 0.0,
                "voxels_hot_at_least_once": int(np.count_nonzero(hd))},
            "peclet": {k: to_dict(v) for k, v in res.peclet.items()},
            "cut_plane": f"x–z at y = {res.cut_y_cm:.6g} cm",
            "stopped_root_plume": cfg.rhizodeposit.stopped_root_plume,
            "warnings": list(res.warnings),
        },
        "rootsystem": {"source": rs.source, "roots": res.n_roots, "segments": rs.n_segments,
                       "length_cm": rs.total_length_cm()},
        "grid": {"origin_cm": grid.origin_cm, "spacing_cm": grid.spacing_cm, "shape": grid.shape,
                 "voxels": int(np.prod(grid.shape))},
        "numerics": res.stats,
    }


def headline(cfg, res) -> str:
    """The closing lines of a run: what a user looks at first."""
    d = -1
    hd = res.hotspot_days
    share = res.mass_in_grid_share[d]
    text = (f"rhizofem rhizodeposition: {cfg.rhizodeposit.name} ({cfg.rhizodeposit.kind} source), {res.n_roots} roots, "
            f"day {res.days[d]:g}: hotspot volume {res.hotspot_volume_cm3[d]:.4g} cm³ "
            f"({100 * res.overlap_share[d]:.3g} % only through overlap), max {res.max_concentration_ug_cm3[d]:.4g} "
            f"µg cm⁻³ water (threshold {res.threshold_ug_cm3:.4g})\n"
            f"  mass in the grid {res.total_mass_ug[d] / UG_PER_MG:.4g} mg of {res.released_mass_ug[d] / UG_PER_MG:.4g} mg "
            f"released and not decayed ({100 * share:.4g} %)")
    if hd is not None and np.any(hd):
        text += f"; a voxel stays a hotspot for up to {int(hd.max())} of {len(res.days)} output days"
    return text


def elongation_rate_study(p, rates_cm_d, t_end_d: float, c_thr: float, spacing_cm: float = 0.05,
                          half_width_cm: float = 1.0, tol: float = 1e-3, path=None, threshold: str = "",
                          comm: MPI.Comm = MPI.COMM_WORLD) -> dict:
    """One straight root at several elongation rates: its plume at ``t_end_d``
    on a grid covering z ∈ [−L − margin, margin], L = rate·t_end, and the hotspot volume.

    Collective on ``comm`` (each rate's field is split over the ranks like a run's). Returns
    {rate: (hotspot volume cm³, max concentration µg cm⁻³, Pe)} on every rank; draws the
    x–z cuts through the root on one colour scale and one z range to ``path`` (rank 0).
    """
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
        field_series(traj, p, grid, [t_end_d], c_thr, tol, comm, on_day=lambda i, d, tot, mx: got.update(tot=tot),
                     desc=f"rate {v}")
        vol_max = None
        if comm.rank == 0:
            tot = got["tot"]
            vol_max = (float(np.count_nonzero(tot >= c_thr) * grid.voxel_cm3), float(tot.max()))
            cuts[v] = (grid, tot[:, nxy // 2, :].copy())
        vol, cmax = comm.bcast(vol_max, root=0)
        out[v] = (vol, cmax, rhizosphere_peclet(v, L_pe, p.D_eff))
    if path is not None and comm.rank == 0:
        _plot_rates(path, p, rates_cm_d, t_end_d, c_thr, out, cuts, threshold)
    return out


def _plot_rates(path, p, rates, t_end_d, c_thr, out, cuts, threshold):
    """elongation_rates.png: the cuts on one colour scale and one z range, and the volumes."""
    plt = pyplot()
    norm = log_norm(max(out[v][1] for v in rates), c_thr)
    z_lo = min(cuts[v][0].origin_cm[2] for v in rates)
    z_hi = max(g.origin_cm[2] + g.shape[2] * g.h for g, _ in cuts.values())
    n = len(rates)
    fig = plt.figure(figsize=(1.9 * n + 5.0, 7.0))
    gs = fig.add_gridspec(1, n + 3, width_ratios=[1] * n + [0.12, 0.3, 3.0])
    first = None
    for k, v in enumerate(rates):
        ax = fig.add_subplot(gs[0, k], sharey=first)
        first = first or ax
        grid, cut = cuts[v]
        im = plot_cut(ax, cut, grid.axis(0), grid.axis(2), c_thr, norm, f"{v:g} cm d⁻¹\nPe = {out[v][2]:.3g}")
        ax.set_ylim(z_lo, z_hi)
        if k == 0:
            ax.set_ylabel("z (cm)")
        else:
            ax.tick_params(labelleft=False)
    _colorbar(fig, im, fig.add_subplot(gs[0, n]), c_thr)
    fig.add_subplot(gs[0, n + 1]).axis("off")
    ax = fig.add_subplot(gs[0, n + 2])
    ax.plot(rates, [out[v][0] for v in rates], "o-", color="k", label="hotspot volume")
    ax.set_xscale("log")
    ax.set_xticks(rates, [f"{v:g}" for v in rates])
    ax.minorticks_off()
    ax.set_xlabel("elongation rate (cm d⁻¹)")
    ax.set_ylabel(f"hotspot volume after {t_end_d:g} d (cm³)")
    from matplotlib.lines import Line2D

    ax.legend(handles=[*ax.get_lines(), Line2D([], [], color="red", lw=0.9,
                                               label=f"hotspot boundary in the cuts\n(content {threshold or '≥ threshold'},"
                                                     f"\nc = {c_thr:.4g} µg cm⁻³ water)")],
              fontsize=7, loc="best")
    save_figure(fig, path, caption=caption(p, c_thr, threshold or "≥ threshold",
                                           f"one straight root grown {t_end_d:g} d, x–z plane through it, "
                                           f"voxels {cuts[rates[0]][0].h * 10:.2g} mm"))
