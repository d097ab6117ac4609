"""Figures of the liquid stage (drawn on rank 0): the retention curve with sections of the
configurations, and D/D₀ against θ with the classic laws."""

from __future__ import annotations

import numpy as np

from rhizofem.soil import millington_quirk, moldrup
from rhizofem.output.plots import pyplot, save_figure

__all__ = ["configurations_figure", "curve_figure"]

PHASE_COLOURS = {"solid": "#8c7b6b", "air": "#ffffff", "water": "#3b78c4", "mucilage": "#e0a030"}


def _section(labels: np.ndarray) -> np.ndarray:
    """A 2D image, or the middle section normal to the last axis of a 3D one."""
    return labels if labels.ndim == 2 else labels[:, :, labels.shape[2] // 2]


def configurations_figure(path, points, confs, porosity, stage, voxel_size_um, names) -> None:
    """Retention curve (left) and a section of up to four configurations (one colour scale)."""
    plt = pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    shown = confs[:4]
    fig, axes = plt.subplots(1, 1 + len(shown), figsize=(4.2 + 3.2 * len(shown), 4.0))
    ax = axes[0]
    if points:
        # one horizontal step per pore-size class, from the water content before it to after it
        p = np.array([q["capillary_pressure_Pa"] for q in points])
        theta = np.array([q["water_content"] for q in points])
        start = porosity if stage.method == "drainage" else 0.0
        ax.step(np.r_[start, theta], np.r_[p[0], p], where="pre", color="k",
                label=f"{stage.method} (pore-size classes)")
    for c in confs:
        if c.capillary_pressure_Pa is not None:
            ax.plot(c.water_content, c.capillary_pressure_Pa, "o", color="tab:red")
    ax.plot([], [], "o", color="tab:red", label="configurations")
    ax.set_yscale("log")
    ax.set_xlabel("water content θ (m³/m³)")
    ax.set_ylabel("capillary pressure (Pa)")
    ax.set_xlim(0, porosity * 1.02)
    ax.legend(fontsize=8)
    labels_used = sorted({int(v) for c in shown for v in np.unique(_section(c.labels))})
    colours = [PHASE_COLOURS.get(names.get(v, ""), "#999999") for v in labels_used]
    lookup = {v: i for i, v in enumerate(labels_used)}
    cmap = ListedColormap(colours)
    for ax, c in zip(axes[1:], shown, strict=True):
        sec = _section(c.labels)
        idx = np.vectorize(lookup.get)(sec)
        extent = [0, sec.shape[1] * voxel_size_um / 1000, sec.shape[0] * voxel_size_um / 1000, 0]
        ax.imshow(idx, cmap=cmap, vmin=-0.5, vmax=len(labels_used) - 0.5, interpolation="nearest", extent=extent)
        ax.set_title(f"θ = {c.water_content:.3f}", fontsize=9)
        ax.set_xlabel("y (mm)" if c.labels.ndim == 3 else "x₂ (mm)")
        ax.set_ylabel("x (mm)" if c.labels.ndim == 3 else "x₁ (mm)")
    handles = [Patch(color=colours[i], label=names.get(v, f"label {v}")) for i, v in enumerate(labels_used)]
    axes[-1].legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9)
    caption = (f"{stage.method}, inlet {stage.inlet}, trapping {stage.trapping}, σ = {stage.surface_tension_N_m} N/m, "
               f"θ_c = {stage.contact_angle_deg}°, mucilage {stage.mucilage_mg_g:g} mg/g, voxel {voxel_size_um:g} µm"
               + ("; 3D images: middle section normal to z" if shown and shown[0].labels.ndim == 3 else ""))
    save_figure(fig, path, caption=caption)


def curve_figure(path, curves: dict[str, list[dict]], porosity: float, b: float | None, caption: str) -> None:
    """D/D₀ against θ on a log scale: the eigenvalues of each curve (largest solid, smallest
    dashed), Millington–Quirk and Moldrup."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
    floor = None
    for (name, curve), colour in zip(curves.items(), colours, strict=False):
        theta = np.array([p["water_content"] for p in curve])
        eig = np.array([p["eigenvalues"] for p in curve])
        positive = eig[eig > 0]
        if positive.size:
            floor = positive.min() if floor is None else min(floor, positive.min())
        ax.plot(theta, np.where(eig[:, 0] > 0, eig[:, 0], np.nan), "o-", color=colour, label=f"{name}: largest eigenvalue")
        ax.plot(theta, np.where(eig[:, -1] > 0, eig[:, -1], np.nan), "s--", color=colour, mfc="none",
                label=f"{name}: smallest eigenvalue")
    grid = np.linspace(1e-3, porosity, 200)
    ax.plot(grid, [millington_quirk(t, porosity) for t in grid], "k-", lw=1, label="Millington–Quirk θ^(10/3)/φ²")
    if b is not None:
        ax.plot(grid, [moldrup(t, porosity, b) for t in grid], "k:", lw=1.2,
                label=f"Moldrup φ²(θ/φ)^(1+b/3), b = {b:.2f}")
    ax.set_yscale("log")
    if floor is not None:
        ax.set_ylim(max(floor / 3, 1e-6), 1.0)
    ax.set_xlim(0, porosity * 1.02)
    ax.set_xlabel("liquid content θ (m³/m³)")
    ax.set_ylabel("D_eff / D₀ (per total volume)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, path, caption=caption + "; a zero eigenvalue (no percolation) is not drawn")
