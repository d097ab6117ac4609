"""Configuration of the radial uptake model (``rhizofem uptake CONFIG.toml --out DIR``).

Units: lengths in cm, concentrations in µmol cm⁻³ of soil solution (= mM), sorbed amounts in
µmol g⁻¹ soil, fluxes in µmol cm⁻² root surface s⁻¹, times in s (rates) or d (durations).

Parameter sources. The seed (Schnepf et al. 2022, Plant and Soil 478:5–42, case study 2)
takes its sorption, decay and uptake parameters from Schnepf et al. (2012) and Kirk (1999).
Every value below names where it comes from:

* [seed]      Schnepf et al. 2022, case study 2 (θ = 0.3, exudation 3e-6 µmol cm⁻² s⁻¹ after
              Kirk et al. 1999, 16 days, Millington–Quirk, competitive Langmuir, first-order
              decomposition, Michaelis–Menten uptake);
* [cpb]       the citrate parameter set of the seed's case study 1 as published with CPlantBox
              (tutorial ``example5_2_exudation``: liquid diffusion 0.171 cm² d⁻¹, retardation
              16.7 at θ = 0.3, decomposition 1.42 d⁻¹);
* [barber]    Barber (1995) P parameter set as transcribed in J. A. Postma's barber-cushman R
              library (``paramBarberBookP``: Imax 3.21e-7 µmol cm⁻² s⁻¹, Km 5.45e-3 µmol cm⁻³,
              Cmin 2e-4 µmol cm⁻³, b = 163, c_li = 13.6e-3 µmol cm⁻³) and its NST 3.0 set
              (P liquid diffusion 8.9e-6 cm² s⁻¹);
* [chosen]    a literature-plausible value chosen here because the paper's value was not found;
              see docs/uptake.md for the reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rhizofem.config import param, section
from rhizofem.errors import ConfigError
from rhizofem.links.diffusion import (Direction, check_soil_keys, diffusion_doc, direction_param, summary_param,
                                      water_content_param)
from rhizofem.links.hairs import root_radius_from_param

__all__ = ["CONFIG_TITLE", "Citrate", "Config", "Hairs", "Macro", "Numerics", "Output", "Phosphate", "RootSystemInput",
           "Segment", "Soil", "Sorption", "Time"]

CONFIG_TITLE = """rhizofem uptake: phosphate and citrate in radially symmetric rhizospheres (case study 2)
Run: rhizofem uptake CONFIG.toml --out DIR   (mpiexec -n N for many segments)
Units: cm, µmol cm⁻³ solution (= mM), µmol g⁻¹ soil, µmol cm⁻² s⁻¹, s and d as named."""


@dataclass(frozen=True)
class Segment:
    r0_cm: float = param(0.02, "root radius r0 (cm) [chosen: oilseed-rape lateral, 0.2–0.5 mm diameter]",
                         gt=0)
    r1_cm: float = param(0.4, "outer radius r1 of the rhizosphere cylinder (cm), half the mean "
                              "inter-root distance; ignored when rld_cm_cm3 is given", gt=0)
    rld_cm_cm3: float | None = param(None, "root length density (cm cm⁻³); if given, "
                                           "r1 = 1/sqrt(π·RLD) replaces r1_cm", gt=0, example=2.0)
    length_cm: float = param(1.0, "segment length (cm); amounts scale with it", gt=0)
    created_d: float = param(0.0, "creation time of the segment (d); its model starts then", ge=0)


@dataclass(frozen=True)
class RootSystemInput:
    table: Path = param(Path("rootsystem.csv"), "CSV table of segments (columns x0_cm,y0_cm,z0_cm,"
                        "x1_cm,y1_cm,z1_cm,radius_cm,created_d[,root_id,order]), see "
                        "rhizofem.rootsystem.architecture.RootSystem.from_table")
    voxel_cm: float = param(1.0, "edge of the cubic voxels on which the root length density of "
                                 "the final (t_end) root system is computed (cm); each segment "
                                 "gets r1 = 1/sqrt(π·RLD) of the voxel holding its midpoint", gt=0)
    exuding_orders: tuple[int, ...] | None = param(
        None, "root orders that exude citrate (0 = base roots); unset = all roots [seed: whole "
              "root length]", ge=0, example=[0, 1])
    domain_min_cm: tuple[float, float, float] | None = param(
        None, "lower corner of the soil domain (cm); default: the root system's bounding box "
              "rounded out to whole voxels", example=[-10.0, -10.0, -60.0])
    domain_max_cm: tuple[float, float, float] | None = param(
        None, "upper corner of the soil domain (cm)", example=[10.0, 10.0, 0.0])


@dataclass(frozen=True)
class Soil:
    theta: float = param(0.3, "volumetric water content θ (cm³ cm⁻³) [seed]", gt=0, lt=1)
    porosity: float = param(0.5, "porosity φ for Millington–Quirk [chosen: loam, 1 − 1.3/2.65]",
                            gt=0, le=1)
    bulk_density_g_cm3: float = param(1.3, "dry bulk density ρ (g cm⁻³) [chosen: loam]", gt=0)
    # the soil's diffusivity from another run (docs/links.md)
    diffusion: Literal["millington_quirk", "homogenized", "radial_profile"] = param(
        "millington_quirk", diffusion_doc(radial=True))
    homogenized_summary: Path | None = summary_param(radial=True)
    water_content: float | None = water_content_param()
    direction: Direction = direction_param()

    def __post_init__(self):
        if self.theta > self.porosity:
            raise ConfigError(f"theta = {self.theta} exceeds porosity = {self.porosity}: water fills "
                              "pores only. Fix: lower theta or raise porosity.")
        check_soil_keys(self)


@dataclass(frozen=True)
class Hairs:
    root_radius_from: Path | float | None = root_radius_from_param(
        "equivalent radius (every root radius r0 multiplied by equivalent_radius_um / root_radius_um)")


Isotherm = Literal["langmuir", "linear"]
Competition = Literal["shared_sites", "separate_capacities"]
UptakeLaw = Literal["michaelis_menten", "linear", "zero_sink"]


@dataclass(frozen=True)
class Sorption:
    competition: Competition = param(
        "shared_sites",
        "form of the competitive Langmuir isotherm of phosphate and citrate: 'shared_sites' = one "
        "site pool of capacity sites_umol_g for both, s_i = S K_i c_i/(1 + Σ K_j c_j) (each site "
        "holds one ion of either solute; thermodynamically consistent); 'separate_capacities' = "
        "each solute its own capacity [phosphate]/[citrate] s_max_umol_g with the same "
        "denominator (extended Langmuir, cross-inhibition); see docs/uptake.md")
    sites_umol_g: float = param(10.0, "capacity S of the shared site pool (µmol g⁻¹), shared_sites "
                                      "only [chosen: medium P sorption, 310 mg P kg⁻¹]", gt=0)


@dataclass(frozen=True)
class Phosphate:
    D_liquid_cm2_s: float = param(8.9e-6, "diffusion coefficient in free solution (cm² s⁻¹) "
                                          "[barber: NST 3.0, H2PO4⁻]", gt=0)
    initial_umol_cm3: float = param(5e-3, "homogeneous initial concentration in solution "
                                          "(µmol cm⁻³) [chosen: 5 µM, P-poor soil]", gt=0)
    isotherm: Isotherm = param("langmuir", "sorption isotherm: competitive Langmuir (form in "
                                           "[sorption]) or linear buffer")
    buffer_power: float = param(163.0, "linear isotherm only: buffer power b = d(θc + ρs)/dc "
                                       "(Barber's definition, includes θ) [barber]", gt=0)
    s_max_umol_g: float | None = param(None, "Langmuir capacity of phosphate's own sites (µmol g⁻¹), "
                                             "[sorption] competition = 'separate_capacities' only",
                                       gt=0, example=10.0)
    langmuir_K_cm3_umol: float = param(15.0, "Langmuir affinity K (cm³ µmol⁻¹) [chosen: initial "
                                             "buffer power ≈ 170, cf. barber b = 163]", gt=0)
    uptake: UptakeLaw = param("michaelis_menten",
                              "law at the root surface: 'michaelis_menten' Imax (c − Cmin)/(Km + c − Cmin) "
                              "[seed], 'linear' α c, or 'zero_sink' (c = 0 at r0, the largest possible "
                              "uptake)")
    imax_umol_cm2_s: float = param(3.21e-7, "maximum influx Imax at the root surface "
                                            "(µmol cm⁻² s⁻¹), michaelis_menten [barber]", ge=0)
    km_umol_cm3: float = param(5.45e-3, "Michaelis–Menten constant Km (µmol cm⁻³) [barber]", gt=0)
    cmin_umol_cm3: float = param(0.0, "Barber–Cushman Cmin (µmol cm⁻³), the concentration of zero "
                                      "net influx (a small net efflux below it) [seed: plain "
                                      "Michaelis–Menten, 0]", ge=0)
    linear_alpha_cm_s: float | None = param(None, "root-surface absorbing power α of the linear law, "
                                                  "flux α c (cm s⁻¹), uptake = 'linear' only", ge=0,
                                            example=6e-5)


@dataclass(frozen=True)
class Citrate:
    enabled: bool = param(True, "simulate citrate; false gives a single-solute (phosphate) run")
    D_liquid_cm2_s: float = param(6.6e-6, "diffusion coefficient in free solution (cm² s⁻¹) "
                                          "[cpb, inferred: its 0.171 cm² d⁻¹ equals 6.6e-6 cm² s⁻¹ "
                                          "× θ 0.3, so it seems to include the water content]", gt=0)
    exudation_umol_cm2_s: float = param(3e-6, "exudation rate per root surface (µmol cm⁻² s⁻¹); "
                                              "0 switches exudation off [seed, Kirk et al. 1999]",
                                        ge=0)
    isotherm: Isotherm = param("langmuir", "sorption isotherm (competes with phosphate for the "
                                           "Langmuir sites, see [sorption])")
    buffer_power: float = param(5.01, "linear isotherm only: buffer power b = d(θc + ρs)/dc "
                                      "[cpb: retardation 16.7 × θ 0.3]", gt=0)
    s_max_umol_g: float | None = param(None, "Langmuir capacity of citrate's own sites (µmol g⁻¹), "
                                             "[sorption] competition = 'separate_capacities' only",
                                       gt=0, example=0.18)
    langmuir_K_cm3_umol: float = param(0.36, "Langmuir affinity K (cm³ µmol⁻¹) [chosen: initial slope "
                                             "ρ S K = 4.7 = (16.7 − 1)·0.3, the retardation of cpb, "
                                             "with the shared pool S = 10 µmol g⁻¹; the seed's 'more "
                                             "than doubled' needs separate capacities and a "
                                             "calibrated K = 20, see docs/uptake.md]", gt=0)
    decomposition_rate_1_s: float = param(1.6435e-5, "first-order microbial decomposition rate "
                                                     "(s⁻¹) [cpb: 1.42 d⁻¹]", ge=0)
    decomposition_of: Literal["solution", "total"] = param(
        "solution", "what microbes decompose: citrate in solution (sorbed citrate is protected, "
                    "Jones & Edwards 1998) or all citrate (solution + sorbed)")


@dataclass(frozen=True)
class Time:
    t_end_d: float = param(16.0, "simulated time (d) [seed: 16 days]", gt=0)
    output_interval_d: float = param(0.5, "interval of the time series (d); every segment's "
                                          "steps land on these times", gt=0)
    profile_times_d: tuple[float, ...] = param((1.0, 4.0, 16.0), "times of the radial profiles (d)",
                                               ge=0)


@dataclass(frozen=True)
class Numerics:
    first_cell_fraction: float = param(0.03, "width of the cell at the root surface as a fraction "
                                             "of the root radius r0", gt=0, le=1)
    cell_growth: float = param(1.2, "largest ratio of neighbouring cell widths (geometric "
                                     "grading from the root outwards); with first_cell_fraction it "
                                     "sets the number of cells of each segment", gt=1)
    cells_per_segment: int | None = param(None, "a fixed number of P1 cells per segment instead of "
                                                "the rule above (convergence studies)", ge=2, example=16)
    grading: float | None = param(None, "with cells_per_segment: ratio of the outermost to the "
                                        "innermost cell (1 = uniform) instead of first_cell_fraction",
                                  ge=1, example=40.0)
    time_rtol: float = param(1e-2, "relative local error per step (concentrations)", gt=0)
    time_atol: float = param(1e-2, "absolute local error per step, in units of each solute's "
                                   "reference concentration", gt=0)
    dt_initial_s: float = param(1.0, "first step of every segment (s)", gt=0)
    dt_min_s: float = param(1e-4, "smallest step before the run stops with an error (s)", gt=0)
    dt_max_s: float = param(86400.0, "largest step (s)", gt=0)
    newton_tol: float = param(1e-9, "Newton stops when no scaled unknown (c / reference "
                                    "concentration) changes by more", gt=0)
    segments_per_batch: int = param(1000, "segments solved together in one DOLFINx mesh of "
                                          "disjoint intervals", ge=1)
    petsc_options: dict[str, Any] = param({}, "PETSc options overriding the SNES/KSP defaults "
                                              "(rhizofem.fem.newton.NEWTON_LU and "
                                              "rhizofem.models.uptake.batch.NEWTON_OPTIONS)",
                                          example={"snes_linesearch_type": "basic"})


@dataclass(frozen=True)
class Macro:
    enabled: bool = param(False, "couple every segment's radial model to a 3D soil model of the box "
                                 "(rhizotron) with P and citrate diffusing between its cells; false: "
                                 "independent segments (the per-segment model)")
    box_cm: tuple[float, float, float] = param((21.0, 2.5, 46.0), "size of the soil box x, y, z (cm), "
                                               "no-flux walls [chosen: the 20 × 2 × 45 cm rhizotron of "
                                               "meshes/rootsystem_rapeseed_rhizotron_16d.csv with a margin "
                                               "for root tips]", gt=0)
    origin_cm: tuple[float, float, float] | None = param(
        None, "lower corner of the box (cm); default: centred on the root system in x and y, top at "
              "z = 0", example=[-10.5, -1.25, -46.0])
    cell_cm: float = param(0.25, "edge of the cubic soil cells (cm); the box is divided into "
                                 "round(box/cell) cells per direction", gt=0)
    dt_h: float = param(3.0, "coupling (macro) time step (h): soil between the cells and the "
                             "radial models exchange once per step [chosen: within 0.1 % (P) and "
                             "0.6 % (citrate) of 0.75 h, docs/uptake.md]", gt=0)
    output_days: tuple[float, ...] = param((4.0, 8.0, 16.0), "days at which the 3D fields are written",
                                           ge=0)
    compare_per_segment: bool = param(True, "also run the per-segment model on the same root system "
                                            "(uptake_P_per_segment_model_umol)")


@dataclass(frozen=True)
class Output:
    compare_without_exudation: bool = param(True, "also run with exudation off and report the "
                                                  "ratio of P uptake (doubles the cost)")
    profile_segments: tuple[int, ...] = param((0,), "segment indices whose radial profiles are "
                                                    "written", ge=0)
    plots: bool = param(True, "draw uptake and profile figures")


@dataclass(frozen=True)
class Config:
    segment: Segment = section(Segment, "single segment (used when [rootsystem] is not given)")
    rootsystem: RootSystemInput | None = param(None, "a root system: one rhizosphere per segment")
    soil: Soil = section(Soil, "soil")
    sorption: Sorption = section(Sorption, "competitive sorption of phosphate and citrate")
    phosphate: Phosphate = section(Phosphate, "phosphate (P) in solution and sorbed")
    citrate: Citrate = section(Citrate, "citrate exuded by the root, sorbed, decomposed")
    time: Time = section(Time, "time")
    numerics: Numerics = section(Numerics, "discretisation and solvers")
    macro: Macro = section(Macro, "3D soil between the roots, coupled to the radial models")
    output: Output = section(Output, "outputs")
    hairs: Hairs = section(Hairs, "root hairs, represented by an equivalent radius (docs/links.md)")
