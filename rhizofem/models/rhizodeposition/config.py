"""Configuration of the rhizodeposition model (``rhizofem rhizodeposition CONFIG.toml --out DIR``).

Units: cm, d, µg; liquid concentrations in µg per cm³ of soil water; thresholds per g of dry
soil (total = dissolved + sorbed).

Parameter sources. Schnepf et al. (2022, Plant and Soil 478:5–42, case study 1) take their
parameters from Landl et al. (2021, in silico Plants 3(2) diab028, Table 1). The values below
come from the scripts the same authors published with CPlantBox, which run that model:

* [cpb-mucilage]  CPlantBox exudation scripts for Vicia faba mucilage (``model.Q = 33.38``
                  µg d⁻¹ per tip, ``model.Dl = 1.04e-3`` cm² d⁻¹ "with impedance factor",
                  ``theta = 0.3``, ``R = 1``, ``k = 0.22`` d⁻¹, point source at the tip);
                  another script of that series uses Dl = 3.64e-3 cm² d⁻¹ (no impedance).
* [cpb-citrate]   CPlantBox tutorial ``example5_2_exudation`` (Vicia faba citrate: Q = 18.4
                  µg d⁻¹ per cm root, Dl = 0.171 cm² d⁻¹, θ = 0.3, R = 16.7, k = 1.42 d⁻¹,
                  line source over l = 5 cm; Schnepf et al. (2022) say 4 cm, used here).
* [S2022]         Schnepf et al. (2022): thresholds: mucilage 0.33 mg g⁻¹ dry soil, citrate 5 µmol g⁻¹ soil; domain
                  20 × 20 × 45 cm at 1 mm, daily for 21 days.
* [chosen]        dry bulk density 1.3 g cm⁻³ (not found; a loamy soil), citrate molar mass
                  192.12 g mol⁻¹ (C6H5O7³⁻ as citric acid 192.12).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rhizofem.config import param, section
from rhizofem.errors import ConfigError
from rhizofem.links.diffusion import (Direction, check_soil_keys, diffusion_doc, direction_param, summary_param,
                                      water_content_param)
from rhizofem.links.hairs import root_radius_from_param
from rhizofem.models.rhizodeposition.probes import Probes

__all__ = ["CONFIG_TITLE", "Config", "GridSpec", "Hairs", "Hotspot", "Numerics", "Probes", "Output", "Rhizodeposit",
           "RootSystemInput", "Soil"]

CONFIG_TITLE = """rhizofem rhizodeposition: moving point/line sources around a growing root system (case study 1)
Run: rhizofem rhizodeposition CONFIG.toml --out DIR   (mpiexec -n N splits the grid into x-slabs)
Units: cm, d, µg; concentrations in µg per cm³ soil water; thresholds per g dry soil."""


@dataclass(frozen=True)
class RootSystemInput:
    rsml: Path | None = param(None, "RSML file of the root system (node times from the 'emergence_time' / "
                                    "node-creation-time functions); if unset, `generator` builds one",
                              example="vicia_faba_21d.rsml")
    generator: Literal["straight", "laterals", "vicia_faba"] = param(
        "laterals", "root system when no rsml is given: 'straight' (one root), 'laterals' (a main root with "
                    "first-order laterals, rhizofem.rootsystem.generators) or 'vicia_faba' (grown by CPlantBox "
                    "from Faba_synMRI.xml for t_end_d days [S2022], needs the optional package cplantbox)")
    t_end_d: float = param(10.0, "growth time of the generated root system (d)", gt=0)
    growth_rate_cm_d: float = param(1.5, "elongation rate of the (main) root (cm d⁻¹)", gt=0)
    lateral_growth_rate_cm_d: float = param(0.4, "elongation rate of the laterals (cm d⁻¹)", gt=0)
    interbranch_cm: float = param(1.0, "distance between laterals along the main root (cm)", gt=0)
    n_laterals_max: int = param(12, "at most this many laterals", ge=0)
    origin_cm: tuple[float, float, float] = param((0.0, 0.0, -0.5), "where the (main) root starts (cm)")
    dx_cm: float = param(0.1, "segment length of generated roots (cm)", gt=0)


@dataclass(frozen=True)
class Rhizodeposit:
    name: str = param("mucilage", "what is released (a label for outputs)")
    kind: Literal["point", "line"] = param(
        "point", "'point': released at each root tip; 'line': along the last release_length_cm behind it")
    tip_release_ug_d: float = param(33.38, "release per root tip (µg d⁻¹), kind = 'point' [cpb-mucilage]", ge=0)
    line_release_ug_cm_d: float = param(18.4, "release per cm of releasing root (µg cm⁻¹ d⁻¹), kind = 'line' "
                                              "[cpb-citrate]", ge=0)
    release_length_cm: float = param(4.0, "length of the releasing zone behind the tip (cm), kind = 'line' "
                                          "[S2022: 4 cm; cpb-citrate tutorial: 5 cm]", gt=0)
    D_cm2_d: float = param(1.04e-3, "diffusion coefficient in the soil liquid, impedance included (cm² d⁻¹) "
                                    "[cpb-mucilage; citrate 0.171]", gt=0)
    D_liquid_cm2_d: float | None = param(None, "diffusion coefficient in free water (cm² d⁻¹), for [soil] diffusion = "
                                               "'homogenized': D = D_liquid · (D_eff/D_0) / θ replaces D_cm2_d "
                                               "[cpb-mucilage: 3.64e-3 without impedance]", gt=0, example=3.64e-3)
    retardation: float = param(1.0, "retardation factor R = 1 + ρ_b K_d/θ (-) [cpb-mucilage; citrate 16.7]", ge=1)
    decay_rate_d: float = param(0.22, "first-order decay rate k of the dissolved phase (d⁻¹) "
                                      "[cpb-mucilage; citrate 1.42]", ge=0)
    molar_mass_g_mol: float = param(192.12, "molar mass (g mol⁻¹), used with hotspot threshold_umol_g "
                                            "[chosen: citric acid]", gt=0)
    stopped_root_plume: Literal["evolves", "frozen"] = param(
        "evolves", "a root that stopped growing releases nothing more; its plume 'evolves' (spreads and "
                   "decays, the solution of the equations) or stays 'frozen' as it was at the stop "
                   "(CPlantBox's ExudationModel convention, for side-by-side comparison only)")


@dataclass(frozen=True)
class Soil:
    theta: float = param(0.3, "volumetric water content θ (cm³ cm⁻³) [cpb]", gt=0, le=1)
    bulk_density_g_cm3: float = param(1.3, "dry bulk density ρ_b (g cm⁻³) [chosen]", gt=0)
    # the soil's diffusivity from another run (docs/links.md); 'millington_quirk' takes
    # [rhizodeposit] D_cm2_d as given (the published values include Millington–Quirk's impedance)
    diffusion: Literal["millington_quirk", "homogenized"] = param(
        "millington_quirk", diffusion_doc() + "; 'millington_quirk' here: [rhizodeposit] D_cm2_d as given (its "
                            "impedance included)")
    homogenized_summary: Path | None = summary_param()
    water_content: float | None = water_content_param()
    direction: Direction = direction_param()

    def __post_init__(self):
        check_soil_keys(self)


@dataclass(frozen=True)
class GridSpec:
    origin_cm: tuple[float, float, float] = param((-10.0, -10.0, -45.0),
                                                  "lower corner of the soil domain (cm) [S2022: 20×20×45 cm]")
    spacing_cm: float = param(0.1, "voxel edge (cm) [S2022: 1 mm]", gt=0)
    shape: tuple[int, int, int] = param((200, 200, 450), "voxels along x, y, z", gt=0)
    sampling: Literal["voxel_average", "centre"] = param(
        "voxel_average", "'voxel_average': each voxel's mean concentration (exact integral over the voxel, "
                         "mass-conserving at any resolution); 'centre': the value at the voxel centre "
                         "(as CPlantBox)")


@dataclass(frozen=True)
class Hotspot:
    threshold_mg_g: float = param(0.33, "hotspot threshold, total (dissolved + sorbed) content per g dry soil "
                                        "(mg g⁻¹) [S2022: mucilage 0.33]", gt=0)
    threshold_umol_g: float | None = param(None, "hotspot threshold in µmol g⁻¹ dry soil [S2022: citrate 5]; if "
                                                 "given it replaces threshold_mg_g (converted with "
                                                 "[rhizodeposit] molar_mass_g_mol)", gt=0, example=5.0)


@dataclass(frozen=True)
class Numerics:
    tol: float = param(1e-3, "relative accuracy of the time/arclength quadrature and of the kernel "
                             "cut-off (fraction of the hotspot threshold a root may miss per voxel)",
                       gt=0, lt=1)


@dataclass(frozen=True)
class Output:
    days: tuple[float, ...] = param(tuple(float(d) for d in range(1, 11)),
                                    "output times (d) [S2022: daily for 21 days]", gt=0)
    field_days: tuple[float, ...] | None = param(None, "days whose fields are written as .vti (ParaView); "
                                                       "unset = the last day", gt=0, example=[7.0, 14.0, 21.0])
    vti: bool = param(True, "write fields (concentration, hotspot duration) as VTK image data")
    plots: bool = param(True, "draw the vertical cut (log colour scale, hotspots outlined) and time series")


@dataclass(frozen=True)
class Hairs:
    root_radius_from: Path | float | None = root_radius_from_param(
        "release factor (the release of every tip or releasing length multiplied by hair_factor)")


@dataclass(frozen=True)
class Config:
    rootsystem: RootSystemInput = section(RootSystemInput, "the root system and how it grew")
    rhizodeposit: Rhizodeposit = section(Rhizodeposit, "release, diffusion, sorption and decay")
    soil: Soil = section(Soil, "soil water content and bulk density")
    grid: GridSpec = section(GridSpec, "regular grid of voxel centres on which fields are evaluated")
    hotspot: Hotspot = section(Hotspot, "threshold above which a voxel is a hotspot")
    numerics: Numerics = section(Numerics, "quadrature accuracy")
    output: Output = section(Output, "output times and files")
    hairs: Hairs = section(Hairs, "root hairs, represented by a release factor (docs/links.md)")
    probes: Probes = section(Probes, "concentration histories at points or along a root's surface (probes.csv)")

    def __post_init__(self):
        days = self.output.days
        if list(days) != sorted(set(days)):
            raise ConfigError("[output] days must be increasing without repeats. Fix: e.g. days = [1, 2, 3].")
        missing = [d for d in (self.output.field_days or ()) if d not in days]
        if missing:
            raise ConfigError(f"[output] field_days {missing} are not in days. Fix: pick field_days among days.")
        if self.soil.diffusion == "homogenized" and self.rhizodeposit.D_liquid_cm2_d is None:
            raise ConfigError("[soil] diffusion = 'homogenized' needs [rhizodeposit] D_liquid_cm2_d, the diffusion "
                              "coefficient in free water that D_eff/D_0 scales (D = D_liquid · D_eff/D_0 / θ). Fix: "
                              "give it (mucilage: 3.64e-3 cm² d⁻¹).")
        n = 1
        for s in self.grid.shape:
            n *= s
        if n > 200_000_000:
            raise ConfigError(f"[grid] shape {self.grid.shape} has {n:.3g} voxels (> 2e8, too much memory). "
                              "Fix: a coarser spacing_cm or a smaller domain.")

    def threshold_ug_g(self) -> float:
        h = self.hotspot
        if h.threshold_umol_g is not None:
            return h.threshold_umol_g * self.rhizodeposit.molar_mass_g_mol
        return 1000.0 * h.threshold_mg_g
