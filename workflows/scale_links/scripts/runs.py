"""The configuration of every run of the scale-linking workflow, from the settings in
config.yaml (``full`` or ``small``). Each function returns the sections of one `rhizofem`
command's TOML; upstream results enter by path only (their summary.json or probes.csv), so
that every downstream summary.json records them under ``inputs`` with their sha256."""

from __future__ import annotations

from pathlib import Path

# the unlinked defaults every hand-over is compared with
DIFFUSION = {"mq": "Millington–Quirk (unlinked)", "water": "homogenized, water only",
             "mucilage": "homogenized, with mucilage", "radial": "radial profile D(r)",
             "hairs": "root hairs (equivalent radius / hair factor)"}
# free-water diffusion coefficient of mucilage (cm² d⁻¹) that D_eff/D_0 scales in rhizodeposition
MUCILAGE_D_LIQUID_CM2_D = 3.64e-3


def homogenize(s: dict, liquid: str) -> dict:
    """D_eff(θ) of the sand's pore space: drained to each water content, water only or with
    mucilage at the particle contacts (case study 4)."""
    h = s["homogenize"]
    mucilage = h["mucilage_mg_g"] if liquid == "mucilage" else 0.0
    stage = {"water_content": h["water_contents"], "percolation_threshold": False, "mucilage_mg_g": mucilage}
    if mucilage > 0:
        stage.update(mucilage_placement="contacts", mucilage_initial_mg_cm3=10.0)
    return {"image": {"sample": h["sample"], "resolution": h["resolution"]},
            "cell": {"periodisation": "mirror"}, "output": {"fields": False, "figure": True}, "liquid": stage}


def rhizodeposition(s: dict, diffusion: str, rsml: Path, upstream: Path | None) -> dict:
    """Mucilage around the faba root system (case study 1), with the soil's D given
    (Millington–Quirk's impedance in the published value), from a D_eff(θ) curve, or with the
    release scaled by the hair factor; the unlinked run also writes the probes."""
    r = s["rhizodeposition"]
    cfg = {"rootsystem": {"rsml": str(rsml)},
           "rhizodeposit": {"name": "mucilage", "kind": "point", "tip_release_ug_d": 33.38, "D_cm2_d": 1.04e-3,
                            "retardation": 1.0, "decay_rate_d": 0.22},
           "soil": {"theta": s["soil"]["theta"]},
           "grid": dict(r["grid"]), "hotspot": {"threshold_mg_g": 0.33},
           "output": {"days": r["days"], "plots": False, "vti": False}}
    if diffusion == "mq":
        cfg["probes"] = dict(r["probes"])
    elif diffusion in ("water", "mucilage"):
        cfg["soil"].update(diffusion="homogenized", homogenized_summary=str(upstream))
        cfg["rhizodeposit"]["D_liquid_cm2_d"] = MUCILAGE_D_LIQUID_CM2_D
    elif diffusion == "hairs":
        cfg["hairs"] = {"root_radius_from": str(upstream)}
    return cfg


def rhizosphere(s: dict, probes_summary: Path) -> dict:
    """Sand around a root with the mucilage the unlinked rhizodeposition run puts at each distance
    from the root surface (case study 1 → 4), drained to θ."""
    r = s["rhizosphere"]
    return {"sand": {"shape": r["shape"]}, "liquid": {"water_content": r["water_content"]},
            "mucilage": {"profile_from": str(probes_summary), "position_cm": r["position_cm"]},
            "shells": {"width_um": r["width_um"], "count": r["count"]}}


def uptake(s: dict, diffusion: str, root: Path, upstream: Path | None) -> dict:
    """P uptake with and without citrate of the oilseed-rape root system (case study 2)."""
    u = s["uptake"]
    cfg = {"rootsystem": {"table": str(root / u["table"])},
           "soil": {"theta": s["soil"]["theta"], "porosity": s["soil"]["porosity"]},
           "time": {"t_end_d": u["t_end_d"]},
           "output": {"plots": False, "compare_without_exudation": True}}
    if diffusion in ("water", "mucilage"):
        cfg["soil"].update(diffusion="homogenized", homogenized_summary=str(upstream))
    elif diffusion == "radial":
        cfg["soil"].update(diffusion="radial_profile", homogenized_summary=str(upstream))
    elif diffusion == "hairs":
        cfg["hairs"] = {"root_radius_from": str(upstream)}
    return cfg


def exudation(s: dict, case: str, root: Path, probes_csv: Path | None) -> dict:
    """The exudation sample (case study 3): with and without hairs (hair factor, equivalent
    radius), or with c_in(t) from a rhizodeposition probe at the root surface."""
    e = s["exudation"]
    cfg = {"compare_hairless": case == "default",
           "physics": {"t_end_s": e["t_end_s"]},
           "numerics": {"space_error_estimate": False}, "output": {"plots": True, "fields": False}}
    if e["image"] is not None:
        cfg["image"] = {"path": str(root / e["image"]), "voxel_size_um": e["voxel_size_um"]}
    if case == "cin":
        c = s["c_in"]
        cfg["physics"].update(c_in_table=str(probes_csv), c_in_column=c["column"], c_in_table_t0_s=c["t0_d"] * 86400.0)
    return cfg
