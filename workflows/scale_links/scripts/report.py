"""The report of the scale-linking workflow: report.md with one table (how much each hand-over
changes P uptake with and without citrate, the mucilage hotspot volume and overlap share, and the
1 % distance of exudation, against the unlinked defaults) and three figures."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
from rhizofem.output.plots import pyplot, save_figure
from rhizofem.soil import millington_quirk
from runs import DIFFUSION


def _load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def _change(linked, unlinked) -> str:
    if linked is None or unlinked is None or not unlinked:
        return "—"
    return f"{100.0 * (linked / unlinked - 1.0):+.1f} %"


def _fmt(value, unit="") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not reached"
    return f"{value:.4g}{unit}"


def _taken(doc: dict) -> str:
    """What a run took from upstream, in words (its summary's inputs)."""
    parts = []
    for role, rec in doc.get("inputs", {}).items():
        v = rec.get("values", {})
        if "D_eff_relative" in v:
            parts.append(f"D_eff/D_0 = {v['D_eff_relative']:.4g} at θ = {v['water_content']:.3g}")
        elif "profile" in v:
            parts.append(f"D(r) in {len(v['profile']['D_eff_relative'])} shells, bulk "
                         f"{v['profile']['D_eff_relative'][-1]:.4g}")
        elif "radius_factor" in v:
            parts.append(f"radius factor {v['radius_factor']:.3g}")
        elif "hair_factor" in v:
            parts.append(f"hair factor {v['hair_factor']:.3g}")
        elif role == "inlet_concentration":
            parts.append(f"c_in(t) from {v['column']} ({v['rows']} rows)")
        parts[-1:] = [f"{parts[-1]} [{Path(rec['path']).parent.name}, sha256 {rec['sha256'][:10]}…]"] if parts else []
    return "; ".join(parts) or "—"


def table(out: Path) -> tuple[list[str], dict]:
    """The rows of the hand-over table, and the numbers for the figure."""
    up = {d: _load(out / f"uptake_{d}" / "summary.json") for d in ("mq", "water", "mucilage", "radial", "hairs")}
    rd = {d: _load(out / f"rhizodeposition_{d}" / "summary.json") for d in ("mq", "water", "mucilage", "hairs")}
    ex = {c: _load(out / f"exudation_{c}" / "summary.json") for c in ("default", "cin")}
    rows = ["| hand-over | taken from upstream | quantity | unlinked | linked | change |",
            "|---|---|---|---|---|---|"]
    bars: dict[str, dict[str, float]] = {}

    def add(name, doc, quantity, a, b):
        rows.append(f"| {name} | {_taken(doc)} | {quantity} | {_fmt(a)} | {_fmt(b)} | {_change(b, a)} |")
        if a and b is not None:
            bars.setdefault(quantity, {})[name] = 100.0 * (b / a - 1.0)

    base = up["mq"]["results"]
    for d in ("water", "mucilage", "radial", "hairs"):
        r = up[d]["results"]
        add(DIFFUSION[d], up[d], "P uptake with citrate (µmol)", base["uptake_P_umol"], r["uptake_P_umol"])
        add(DIFFUSION[d], up[d], "P uptake without citrate (µmol)", base["uptake_P_without_exudation_umol"],
            r["uptake_P_without_exudation_umol"])
    base = rd["mq"]["results"]
    for d in ("water", "mucilage", "hairs"):
        r = rd[d]["results"]
        add(DIFFUSION[d], rd[d], f"hotspot volume on day {base['days'][-1]:g} (cm³)", base["hotspot_volume_cm3"][-1],
            r["hotspot_volume_cm3"][-1])
        add(DIFFUSION[d], rd[d], f"overlap share on day {base['days'][-1]:g}", base["overlap_share"][-1],
            r["overlap_share"][-1])
    add("c_in(t) from a rhizodeposition probe", ex["cin"], "1 % distance (mm)",
        ex["default"]["results"].get("distance_1pct_mm"), ex["cin"]["results"].get("distance_1pct_mm"))
    add("c_in(t) from a rhizodeposition probe", ex["cin"], "exuded mass (µg)",
        ex["default"]["results"]["mass_ug"], ex["cin"]["results"]["mass_ug"])
    return rows, {"bars": bars, "uptake": up, "rhizodeposition": rd, "exudation": ex}


def curve_figure(out: Path, path: Path, theta: float, caption: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    porosity = None
    for liquid, marker in (("water", "o"), ("mucilage", "s")):
        res = _load(out / f"homogenize_{liquid}" / "summary.json")["results"]
        porosity = res["porosity"]
        th = np.array([p["water_content"] for p in res["curve"]])
        mean = np.array([np.trace(np.asarray(p["D_eff"])) / len(p["D_eff"]) for p in res["curve"]])
        ax.plot(th, mean, marker=marker, label=f"homogenized, {'water only' if liquid == 'water' else 'with mucilage'}")
    grid = np.linspace(0.05, porosity, 100)
    ax.plot(grid, [millington_quirk(t, porosity) for t in grid], "k--", label="Millington–Quirk θ^(10/3)/φ²")
    ax.axvline(theta, color="0.6", lw=0.8, label=f"θ of the linked runs ({theta:g})")
    ax.set_xlabel("water content θ (cm³ cm⁻³)")
    ax.set_ylabel("D_eff / D_0 (isotropic mean, per total volume)")
    ax.legend(fontsize=8)
    save_figure(fig, path, caption=caption)


def profile_figure(out: Path, path: Path, caption: str) -> None:
    plt = pyplot()
    prof = _load(out / "homogenize_shells" / "summary.json")["results"]["radial_profile"]
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    d = np.asarray(prof["distance_um"])
    for i, name in enumerate(prof["frame"]):
        m = np.array([np.asarray(t)[i][i] for t in prof["D_eff"]])
        s = np.array([np.asarray(t)[i][i] for t in prof["D_eff_std"]])
        ax.errorbar(d, m, yerr=s, marker="o", capsize=3, label=f"D_{name} (mean ± sd over sub-volumes)")
    water = _load(out / "homogenize_water" / "summary.json")["results"]["curve"]
    theta = prof["water_content"]
    near = min(water, key=lambda p: abs(p["water_content"] - theta))
    ax.axhline(np.trace(np.asarray(near["D_eff"])) / 3, color="k", ls="--",
               label=f"sand of the D_eff(θ) runs, water only, θ = {near['water_content']:.3g}")
    ax.set_xlabel("distance from the root surface (µm)")
    ax.set_ylabel("D_eff / D_0 (per total volume)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    save_figure(fig, path, caption=caption)


def change_figure(bars: dict, path: Path, caption: str) -> None:
    plt = pyplot()
    names = sorted({n for q in bars.values() for n in q})
    fig, ax = plt.subplots(figsize=(9.0, 4.4))
    width = 0.8 / max(len(bars), 1)
    x = np.arange(len(names))
    for k, (quantity, values) in enumerate(bars.items()):
        ax.bar(x + (k - 0.5 * (len(bars) - 1)) * width, [values.get(n, np.nan) for n in names], width,
               label=quantity)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xticks(x, [textwrap.fill(n, 18) for n in names], fontsize=7)
    ax.set_ylabel("change against the unlinked run (%)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(fig, path, caption=caption)


def write_report(out: Path, report_dir: Path, profile: str, settings: dict) -> Path:
    out, report_dir = Path(out), Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    rows, data = table(out)
    theta = settings["soil"]["theta"]
    h, r = settings["homogenize"], settings["rhizosphere"]
    key = (f"profile {profile}; θ = {theta:g}, φ = {settings['soil']['porosity']:g}; sand {h['sample']} at "
           f"resolution {h['resolution']}, mucilage {h['mucilage_mg_g']:g} mg/g")
    curve_figure(out, report_dir / "D_eff_theta.png", theta, key + "; mirror cells")
    profile_figure(out, report_dir / "D_eff_r.png",
                   f"profile {profile}; rhizosphere {r['shape']} voxels, θ = {r['water_content']:g}, shells of "
                   f"{r['width_um']:g} µm; mucilage from the faba probes at {r['position_cm']:g} cm")
    change_figure(data["bars"], report_dir / "hand_over_changes.png",
                  f"profile {profile}; θ = {theta:g}; faba {settings['faba_days']} d, oilseed rape "
                  f"{settings['uptake']['t_end_d']:g} d, exudation {settings['exudation']['t_end_s']:g} s; each bar: "
                  "linked run / unlinked run − 1")
    ex = data["exudation"]["default"]["results"]
    text = [f"# Linking the scales: how much each hand-over changes the answers ({profile} settings)", "",
            "Every linked run read its upstream run's summary.json (path and sha256 under `inputs`).",
            "Unlinked defaults: Millington–Quirk impedance (uptake), the published D of mucilage in soil water "
            "(rhizodeposition), smooth roots, a constant c_in (exudation).", "",
            *rows, "",
            f"Root hairs of the exudation sample: hair factor {_fmt(ex.get('hair_factor'))}, equivalent radius "
            f"{_fmt(ex.get('equivalent_radius_um'), ' µm')} for a root of radius {_fmt(ex.get('root_radius_um'), ' µm')}.",
            "", "![D_eff(θ)](D_eff_theta.png)", "", "![D_eff(r)](D_eff_r.png)", "",
            "![changes](hand_over_changes.png)", ""]
    path = report_dir / "report.md"
    path.write_text("\n".join(text))
    return path
