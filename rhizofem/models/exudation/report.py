"""Tables and figures of an exudation run: mass.csv, profile.csv, comparison.csv, mass.png,
profile.png and concentration_3d.png (pyvista, off-screen)."""

from __future__ import annotations

import numpy as np

from rhizofem.output import RunOutput, write_csv
from rhizofem.parallel import on_root

from .model import SEED_RESULTS, Case

__all__ = ["gather_grid", "write_report"]


def write_report(out: RunOutput, config, tm, case: Case, hairless: Case | None, comparison: dict,
                 geometry: dict) -> None:
    comm = out.comm
    cases = [case] + ([hairless] if hairless is not None else [])
    names = ["+".join(c.inlet) for c in cases]
    header = ["t_s"]
    for n in names:
        header += [f"mass_ug[{n}]", f"inlet_flux_mass_ug[{n}]", f"inlet_flux_ug_s[{n}]"]
    rows = [[t] + sum(([c.mass_series_ug[i], c.inlet_flux_series_ug[i], c.inlet_flux_rate_ug_s[i]]
                       for c in cases), []) for i, t in enumerate(case.times_s)]
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
    threshold = config.output.threshold_fraction * config.physics.c_in_ug_cm3
    on_root(comm, _plot_mass, out.path("mass.png"), cases, bcast=False)
    on_root(comm, _plot_profile, out.path("profile.png"), cases, threshold, config.physics.c_in_ug_cm3, bcast=False)
    grid = gather_grid(case.c)
    on_root(comm, _picture, out.path("concentration_3d.png"), grid, config.physics.c_in_ug_cm3 * 1e-3,
            case.times_s[-1], bcast=False)


def _label(c: Case) -> str:
    return "with hairs (root + hair contact)" if "hair" in c.inlet else "without hairs (root contact)"


def _plot_mass(path, cases: list[Case]) -> None:
    from rhizofem.output.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for c, colour in zip(cases, ("tab:red", "tab:blue"), strict=False):
        t = c.times_s
        ax.plot(t / 60, c.mass_series_ug, color=colour, label=f"{_label(c)}: {c.mass_ug:.3g} µg")
        ax.plot(t / 60, c.flat_inlet_mass_ug * np.sqrt(t / t[-1]), color=colour, ls=":",
                label=f"flat inlet of the same area, 2 c_in A √(Dt/π)")
    for key, colour in (("hairs", "tab:red"), ("hairless", "tab:blue")):
        ax.plot([cases[0].times_s[-1] / 60], [SEED_RESULTS["mass_ug"][key]], marker="*", ls="", color=colour,
                ms=10, label=f"seed (real sample, {key})")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("exudate in the soil M(t) = ∫ c dx (µg)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def _plot_profile(path, cases: list[Case], threshold: float, c_in: float) -> None:
    from rhizofem.output.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for c, colour in zip(cases, ("tab:red", "tab:blue"), strict=False):
        p = c.profile
        ax.semilogy(p.centres_mm, p.mean_ug_cm3 / c_in, color=colour,
                    label=f"{_label(c)}: 1 % at {c.distance_1pct_mm:.2f} mm")
        ax.axvline(c.distance_1pct_mm, color=colour, ls=":", lw=1)
    for key, colour in (("hairs", "tab:red"), ("hairless", "tab:blue")):
        ax.axvline(SEED_RESULTS["distance_1pct_mm"][key], color=colour, ls="--", lw=0.8,
                   label=f"seed 1 % distance ({key})")
    ax.axhline(threshold / c_in, color="k", lw=0.8)
    ax.set_xlabel("distance from the root surface (mm)")
    ax.set_ylabel("mean concentration in the soil / c_in")
    ax.set_ylim(1e-5, 1.5)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def gather_grid(c):
    """(points, cells, values) of a P1/P2 field's owned cells gathered on rank 0 (None elsewhere)."""
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


def _picture(path, grid, c_in: float, t_end: float) -> None:
    """The soil cut open along the root's mid-plane, coloured by log10(c / c_in)."""
    import pyvista

    from rhizofem.output.plots import offscreen_plotter

    points, cells, values, vtk_type = grid
    conn = np.hstack([np.full((len(cells), 1), cells.shape[1]), cells]).ravel()
    ug = pyvista.UnstructuredGrid(conn, np.full(len(cells), vtk_type, dtype=np.uint8), points)
    ug.point_data["log10 c/c_in"] = np.log10(np.clip(values / c_in, 1e-4, 1.0))
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = 0.5 * (lo + hi)
    clipped = ug.clip(normal=(0, 0, 1), origin=centre)  # keep the lower half along the root
    plotter = offscreen_plotter()
    plotter.add_mesh(clipped, scalars="log10 c/c_in", cmap="magma", clim=(-4, 0),
                     scalar_bar_args={"title": f"log10 c/c_in after {t_end / 60:.0f} min"})
    plotter.add_text("soil aggregates cut at mid-length of the root (mm)", font_size=10)
    plotter.show_bounds(font_size=10, xtitle="x (mm)", ytitle="y (mm)", ztitle="z (mm)")
    plotter.camera_position = "iso"
    plotter.camera.elevation = 25
    plotter.screenshot(str(path))
    plotter.close()
