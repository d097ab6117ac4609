"""Tables and figures of an exudation run: mass.csv, profile.csv, comparison.csv, mass.png,
profile.png and concentration_3d.png (a 3D cut-away rendered by pyvista and a section across
the root, one colour scale)."""

from __future__ import annotations

import numpy as np

from rhizofem.output import RunOutput, write_csv
from rhizofem.parallel import on_root

from .model import SEED_RESULTS, Case

__all__ = ["caption", "gather_grid", "write_report"]


def caption(config, case: Case, geometry: dict) -> str:
    """The run's key parameters in one line, for every figure."""
    ph = config.physics
    where = geometry.get("source", "")
    voxel = geometry.get("voxel_size_um")
    mesh = f"{where}" + (f", {voxel:g} µm voxels" if voxel else "")
    return (f"{mesh}; D = {ph.D_cm2_s:.3g} cm² s⁻¹, c_in = {ph.c_in_ug_cm3:.6g} µg cm⁻³, t_end = {ph.t_end_s:g} s; "
            f"P{config.numerics.degree}, {case.dofs} DOFs, inlet_subdivide = {config.mesh.inlet_subdivide}, "
            f"{len(case.steps_s)} steps (time_rtol = {config.time.time_rtol:g})")


def write_report(out: RunOutput, config, tm, case: Case, hairless: Case | None, comparison: dict,
                 geometry: dict) -> None:
    comm = out.comm
    cases = [case] + ([hairless] if hairless is not None else [])
    names = ["+".join(c.inlet) for c in cases]
    # one row per case and time level (each case has its own adaptive steps)
    header = ["inlet", "t_s", "mass_ug", "inlet_flux_mass_ug", "inlet_flux_ug_s"]
    rows = [[n, t, m, f, r] for n, c in zip(names, cases, strict=True)
            for t, m, f, r in zip(c.times_s, c.mass_series_ug, c.inlet_flux_series_ug, c.inlet_flux_rate_ug_s,
                                  strict=True)]
    write_csv(out.path("mass.csv"), header, rows, comm)
    p = case.profile
    header = ["distance_mm", "soil_volume_mm3"] + [f"mean_ug_cm3[{n}]" for n in names]
    rows = [[x, v] + [c.profile.mean_ug_cm3[i] for c in cases]
            for i, (x, v) in enumerate(zip(p.centres_mm, p.soil_volume_mm3, strict=True))]
    write_csv(out.path("profile.csv"), header, rows, comm)
    if hairless is not None:
        cmp = comparison
        rows = [
            ["mass_ug", case.mass_ug, hairless.mass_ug, cmp["mass_ratio"],
             SEED_RESULTS["mass_ug"]["hairs"], SEED_RESULTS["mass_ug"]["hairless"]],
            ["distance_1pct_mm", case.distance_1pct_mm, hairless.distance_1pct_mm,
             case.distance_1pct_mm / hairless.distance_1pct_mm, SEED_RESULTS["distance_1pct_mm"]["hairs"],
             SEED_RESULTS["distance_1pct_mm"]["hairless"]],
            ["distance_1pct_clipped_by_sample", case.threshold.clipped, hairless.threshold.clipped, "", "", ""],
            ["contact_area_mm2", case.inlet_area_mm2, hairless.inlet_area_mm2, cmp["contact_area_ratio"], "", ""],
        ]
        a = cmp["mass_per_contact_area_ug_mm2"]
        rows.append(["mass_per_contact_area_ug_mm2", a["hairs"], a["hairless"], a["hairs"] / a["hairless"],
                     a["seed_hairs"], a["seed_hairless"]])
        if "contact_fraction" in cmp:
            f = cmp["contact_fraction"]
            rows.append(["contact_fraction", f["hairs"], f["hairless"], f["hairs"] / f["hairless"], 0.177, 0.061])
        write_csv(out.path("comparison.csv"), ["quantity", "hairs", "hairless", "ratio", "seed_hairs",
                                               "seed_hairless"], rows, comm)
    if not config.output.plots:
        return
    text = caption(config, case, geometry)
    fraction = config.output.threshold_fraction
    on_root(comm, _plot_mass, out.path("mass.png"), cases, text, bcast=False)
    on_root(comm, _plot_profile, out.path("profile.png"), cases, fraction, config.physics.c_in_ug_cm3, text,
            bcast=False)
    grid = gather_grid(case.c)
    on_root(comm, _picture, out.path("concentration_3d.png"), grid, config.physics.c_in_ug_cm3 * 1e-3,
            case.times_s[-1], text, bcast=False)


def _seed_time(cases: list[Case]) -> bool:
    return abs(cases[0].times_s[-1] - 3600.0) < 1.0


def _label(c: Case) -> str:
    return "with hairs (root + hair contact)" if "hair" in c.inlet else "without hairs (root contact)"


def _plot_mass(path, cases: list[Case], text: str) -> None:
    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    for c, colour in zip(cases, ("tab:red", "tab:blue"), strict=False):
        t = c.times_s
        err = c.error_summary()
        bits = [f"time {100 * err['time_rel']:.2g} %"]
        if "space_rel" in err:
            bits.append(f"space {100 * err['space_rel']:+.2g} %")
        ax.plot(t / 60, c.mass_series_ug, color=colour,
                label=f"{_label(c)}: {c.mass_ug:.4g} µg (est. error: {', '.join(bits)})")
        ax.plot(t / 60, c.flat_inlet_mass_ug * np.sqrt(t / t[-1]), color=colour, ls=":",
                label="flat wall of the same contact area, 2 c_in A √(Dt/π)")
    if _seed_time(cases):  # the seed's values are for 1 h
        for key, colour in (("hairs", "tab:red"), ("hairless", "tab:blue")):
            ax.plot([cases[0].times_s[-1] / 60], [SEED_RESULTS["mass_ug"][key]], marker="*", ls="", color=colour,
                    ms=10, label=f"seed (its real sample, {key}), Schnepf et al. 2022")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("exudate in the soil M(t) = ∫ c dx (µg)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    save_figure(fig, path, caption=text)


def _plot_profile(path, cases: list[Case], fraction: float, c_in: float, text: str) -> None:
    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    lowest = 1.0
    for c, colour in zip(cases, ("tab:red", "tab:blue"), strict=False):
        p = c.profile
        y = p.mean_ug_cm3 / c_in
        ax.semilogy(p.centres_mm, y, color=colour, label=f"{_label(c)}: binned mean")
        positive = y[np.isfinite(y) & (y > 0)]
        if len(positive):
            lowest = min(lowest, float(positive.min()))
        th = c.threshold
        if th.reached:
            where = " (at the sample's edge)" if th.clipped else ""
            ax.axvline(th.distance_mm, color=colour, ls=":", lw=1.2,
                       label=f"{100 * fraction:g} % reached at {th.distance_mm:.3f} mm{where}")
        else:
            ax.plot([], [], color=colour, ls=":", label=f"{100 * fraction:g} % not reached within the sample")
    farthest = cases[0].threshold.farthest_soil_mm
    for key, colour in (("hairs", "tab:red"), ("hairless", "tab:blue")):
        if _seed_time(cases) and fraction == 0.01 and SEED_RESULTS["distance_1pct_mm"][key] < farthest:
            ax.axvline(SEED_RESULTS["distance_1pct_mm"][key], color=colour, ls="--", lw=0.8,
                       label=f"seed's 1 % distance ({key}, its real sample)")
    ax.axvspan(farthest, farthest * 1.04, color="0.85", label=f"beyond the farthest soil ({farthest:.3f} mm)")
    ax.axhline(fraction, color="k", lw=0.8, label=f"threshold {100 * fraction:g} % of c_in")
    ax.set_xlim(0, farthest * 1.04)
    ax.set_ylim(max(min(lowest, fraction) / 3, 1e-8), 1.5)
    ax.set_xlabel("distance from the root surface (mm)")
    ax.set_ylabel("mean concentration in the soil / c_in")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    save_figure(fig, path, caption=text)


def gather_grid(c):
    """(points, cells, values, VTK cell type) of a P1/P2 field's owned cells on rank 0 (None elsewhere)."""
    import dolfinx.plot

    V = c.function_space
    msh = V.mesh
    n_owned = msh.topology.index_map(msh.topology.dim).size_local
    topology, cell_types, x = dolfinx.plot.vtk_mesh(V)
    per = topology[0] + 1
    cells = topology.reshape(-1, per)[:n_owned]
    used = np.unique(cells[:, 1:])
    renumber = np.full(len(x), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    local = (x[used], renumber[cells[:, 1:]], c.x.array[used].copy(), int(cell_types[0]))
    parts = msh.comm.gather(local, root=0)
    if msh.comm.rank != 0:
        return None
    offset, pts, cls, vals = 0, [], [], []
    for p, cl, v, _ in parts:
        pts.append(p)
        cls.append(cl + offset)
        vals.append(v)
        offset += len(p)
    return np.concatenate(pts), np.concatenate(cls), np.concatenate(vals), parts[0][3]


def _picture(path, grid, c_in: float, t_end: float, text: str) -> None:
    """Left: the soil cut open at mid-length of the root (pyvista, parallel view, scale bar);
    right: that cut as a section with axes in mm; one colour scale of log10(c/c_in)."""
    import pyvista
    from matplotlib.colors import Normalize
    from matplotlib.tri import Triangulation

    from rhizofem.meshing.pictures import add_scale_bar, render, section_polygons
    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    points, cells, values, vtk_type = grid
    conn = np.hstack([np.full((len(cells), 1), cells.shape[1]), cells]).ravel()
    ug = pyvista.UnstructuredGrid(conn, np.full(len(cells), vtk_type, dtype=np.uint8), points)
    floor = -4.0
    ug.point_data["values"] = np.log10(np.clip(values / c_in, 10**floor, 1.0))
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = 0.5 * (lo + hi)
    cmap, norm = "magma", Normalize(floor, 0.0)
    clipped = ug.clip(normal=(0, 0, 1), origin=centre)  # the lower half along the root

    def add(plotter):
        plotter.add_mesh(clipped, scalars="values", cmap=cmap, clim=(floor, 0.0), show_scalar_bar=False,
                         ambient=0.3)

    image, mm_px = render(add, view=(0.6, -1.0, 1.2), up=(0.0, 0.0, 1.0))
    fig, (ax3, ax2, cax) = plt.subplots(1, 3, figsize=(12.5, 5.4), gridspec_kw={"width_ratios": [1.0, 1.15, 0.04]})
    ax3.imshow(image)
    ax3.set_axis_off()
    add_scale_bar(ax3, mm_px, image.shape[1])
    ax3.set_title("soil cut open at mid-length of the root", fontsize=10)
    pts, polys, vals = section_polygons(ug, "z", centre, "values")
    triangles = [(p[0], p[i], p[i + 1]) for p in polys for i in range(1, len(p) - 1)]
    tri = Triangulation(pts[:, 0], pts[:, 1], np.asarray(triangles))
    mappable = ax2.tripcolor(tri, vals, shading="gouraud", cmap=cmap, norm=norm)
    ax2.set_xlim(lo[0], hi[0])
    ax2.set_ylim(lo[1], hi[1])
    ax2.set_aspect("equal")
    ax2.set_facecolor("0.93")
    ax2.set_xlabel("x (mm)")
    ax2.set_ylabel("y (mm)")
    ax2.set_title(f"section across the root, z = {centre[2]:.3f} mm (grey: no soil)", fontsize=10)
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label(f"log10(c / c_in) after {t_end / 60:.3g} min, both panels (floor {floor:g})")
    save_figure(fig, path, caption=text)
