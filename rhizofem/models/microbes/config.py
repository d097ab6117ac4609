"""Configuration of ``rhizofem microbes`` (TOML → frozen dataclasses, units in the key names).

Carbon is counted in µg C throughout; concentrations are per cm³ of liquid, time is in days
in the file (hours inside the time loop), lengths in µm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rhizofem.config import param, section
from rhizofem.errors import ConfigError

__all__ = ["CONFIG_TITLE", "Bacteria", "Carbon", "Config", "Domain", "Labels", "Numerics", "Output",
           "Root", "Run"]

CONFIG_TITLE = """rhizofem microbes: pore-scale microbial activity around a root (case study 5).
DOC diffuses in the liquid (face-connected voxels, implicit finite volumes); POM is hydrolysed to DOC;
the root exudes DOC through its contact with the liquid; individual bacteria take DOC up (Monod), grow,
divide, respire, go dormant, reactivate and die. Without [domain] image: a synthetic sand around a root.
Run: rhizofem microbes config.toml --out DIR   (mpiexec -n N for parallel)"""

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")


@dataclass(frozen=True)
class Labels:
    """Label value of each phase in the image (solid/air/water/mucilage as ``rhizofem homogenize``)."""

    solid: int = param(0, "mineral solid (no diffusion, no bacteria)")
    air: int = param(1, "air-filled pores (no diffusion of DOC, no bacteria)")
    water: int = param(2, "water: DOC diffuses, bacteria live here")
    mucilage: int = param(3, "mucilage: liquid, DOC diffuses with [carbon] mucilage_D_factor, bacteria live here")
    root: int = param(4, "root tissue: exudes DOC through its faces shared with the liquid")
    pom: int = param(5, "particulate organic matter: hydrolysed to DOC into the liquid it touches")

    def __post_init__(self):
        values = self.as_dict()
        if len(set(values.values())) != len(values):
            raise ConfigError(f"two phases share one label value ({values}). Fix: give each phase its own integer.")
        if any(v < 0 or v > 255 for v in values.values()):
            raise ConfigError(f"labels must be 0..255 ({values}). Fix: relabel the image as 8-bit labels.")

    def as_dict(self) -> dict[str, int]:
        return {"solid": self.solid, "air": self.air, "water": self.water, "mucilage": self.mucilage,
                "root": self.root, "pom": self.pom}


@dataclass(frozen=True)
class Domain:
    """The 3D label image: a given one, or the built-in synthetic sand around a root."""

    image: Path | None = param(
        None, "3D label image (.npy, .tif stack, folder of slices); unset: the built-in sample. A phase image "
              "of the liquid configuration (solid 0, air 1, water 2, mucilage 3) plugs in directly",
        example="phases.npy")
    voxel_size_um: float = param(10.0, "edge length of a cubic voxel, µm", gt=0)
    add_root: bool = param(False, "carve the built-in root (root_radius_um, root_axis_um) into a given image "
                                  "that has none")
    add_pom: bool = param(False, "place POM fragments (pom_fragments, pom_radius_um) into the pores of a given image")
    size_voxels: tuple[int, int, int] = param(
        (128, 128, 128), "built-in sample: image shape (axis 0 runs along the root)", ge=4)
    porosity: float = param(0.45, "built-in sample: pore fraction of the soil (root excluded)", gt=0, lt=1)
    water_content: float = param(
        0.30, "built-in sample: volumetric water content of the soil; >= porosity gives a saturated sample. "
              "Water keeps the narrowest pores (morphological drainage, no trapping)", ge=0, le=1)
    grain_radius_um: tuple[float, float] = param((40.0, 120.0), "built-in sample: range of sand grain radii, µm",
                                                 gt=0)
    sample_seed: int = param(1, "built-in sample: random seed of grains and POM placement", ge=0)
    root_radius_um: float = param(150.0, "radius of the root (a cylinder along axis 0), µm", gt=0)
    root_axis_um: tuple[float, float] | None = param(
        None, "position of the root axis in the (axis 1, axis 2) plane, µm; unset: 0.2 radii outside the "
              "axis-1 = 0 face, centred along axis 2 (the sample touches the root surface)",
        example=[-30.0, 640.0])
    pom_fragments: int = param(4, "number of POM fragments (built-in sample or add_pom)", ge=0)
    pom_radius_um: float = param(40.0, "radius of a POM fragment (a ball clipped to the pores), µm", gt=0)
    sink_faces: tuple[Literal["x-", "x+", "y-", "y+", "z-", "z+"], ...] = param(
        (), "faces of the image where DOC leaves (c = 0 beyond the face); the outflow is counted. Default: "
            "no flux through every face")
    labels: Labels = section(Labels, "label value of each phase")

    def __post_init__(self):
        if self.grain_radius_um[0] > self.grain_radius_um[1]:
            raise ConfigError(f"grain_radius_um = {list(self.grain_radius_um)}: the first (smallest) radius must "
                              "not exceed the second. Fix: give [min, max].")
        if len(set(self.sink_faces)) != len(self.sink_faces):
            raise ConfigError(f"sink_faces = {list(self.sink_faces)} names a face twice. Fix: list each once.")


@dataclass(frozen=True)
class Carbon:
    """Dissolved and particulate organic carbon."""

    D_doc_cm2_s: float = param(6.7e-6, "diffusion coefficient of DOC in free water, cm²/s (glucose at 25 °C)", gt=0)
    mucilage_D_factor: float = param(0.5, "DOC diffusivity in mucilage relative to water (seed: 0.5)", gt=0, le=1)
    initial_doc_ug_cm3: float = param(1.0, "initial DOC concentration in the liquid, µg C per cm³ of liquid", ge=0)
    pom_carbon_ug_cm3: float = param(4.0e5, "carbon density of POM, µg C per cm³ of POM (0.4 g C/cm³)", ge=0)
    hydrolysis: Literal["first_order", "enzyme"] = param(
        "first_order", "first_order: dP/dt = -k P for POM touching liquid; enzyme: k P B/(K_B + B), B the "
                       "active biomass in the liquid voxels that touch the POM voxel")
    hydrolysis_per_d: float = param(0.05, "POM hydrolysis rate constant k, 1/d", ge=0)
    enzyme_half_biomass_ug_C: float = param(
        1.0e-6, "enzyme hydrolysis: active biomass next to a POM voxel at half the maximum rate, µg C", gt=0)
    necromass_to_doc_per_d: float = param(0.0, "first-order return of necromass to DOC in its voxel, 1/d "
                                                "(0: necromass is only counted)", ge=0)


@dataclass(frozen=True)
class Root:
    """Root exudation: a flux of DOC through the root–liquid contact faces."""

    exudation_ug_C_cm2_d: float = param(
        18.7, "exudation flux per area of root–liquid contact, µg C cm⁻² d⁻¹ (default: the citrate flux of case "
              "study 2, 3e-6 µmol cm⁻² s⁻¹ × 6 C)", ge=0)
    exudation_until_d: float | None = param(
        None, "stop exudation at this time, d (a pulse: dose = flux × duration × contact area); unset: all run",
        gt=0, example=1.0)
    exudation_table: Path | None = param(
        None, "CSV of the flux against time (columns t_d and flux_ug_C_cm2_d, linear in between, held beyond "
              "the ends); replaces exudation_ug_C_cm2_d", example="exudation.csv")
    exudation_summary: Path | None = param(
        None, "summary.json of a `rhizofem exudation` run: its inlet flux per contact area against time "
              "(seconds there, days here) becomes the exudation table", example="exudation/summary.json")
    exudation_time_scale: float = param(
        1.0, "multiply the table's (or exudation run's) times by this factor (e.g. 86400 to read an exudation "
             "run's seconds as days)", gt=0)

    def __post_init__(self):
        if self.exudation_table is not None and self.exudation_summary is not None:
            raise ConfigError("both exudation_table and exudation_summary are set. Fix: give one.")


@dataclass(frozen=True)
class Bacteria:
    """Individual bacteria (defaults and their sources in docs/microbes.md)."""

    initial_cells: int = param(10000, "number of cells at t = 0", ge=0)
    distribution: Literal["uniform", "clustered"] = param(
        "uniform", "initial positions: uniform over the liquid voxels, or clustered (Thomas process: cluster "
                   "centres uniform in the liquid, cells Gaussian around them)")
    clusters: int = param(50, "clustered: number of clusters", ge=1)
    cluster_radius_um: float = param(30.0, "clustered: standard deviation of a cell's offset from its centre, µm",
                                     gt=0)
    initial_dormant_fraction: float = param(0.0, "fraction of the initial cells that start dormant", ge=0, le=1)
    uptake_max_per_h: float = param(0.5, "maximum specific DOC uptake rate, µg C (µg C biomass)⁻¹ h⁻¹", gt=0)
    half_saturation_ug_cm3: float = param(5.0, "Monod half-saturation DOC concentration, µg C cm⁻³", gt=0)
    growth_yield: float = param(0.55, "growth yield (carbon use efficiency): biomass C per DOC C taken up",
                                gt=0, lt=1)
    maintenance_per_h: float = param(0.01, "maintenance respiration of active cells, µg C (µg C)⁻¹ h⁻¹", ge=0)
    dormant_maintenance_fraction: float = param(0.01, "maintenance of dormant cells relative to active", ge=0, le=1)
    dormancy: bool = param(True, "cells whose uptake cannot pay maintenance go dormant (false: they stay active)")
    reactivation_per_h: float = param(0.5, "rate at which a dormant cell wakes once local DOC would pay its "
                                           "maintenance, 1/h", ge=0)
    division_mass_ug_C: float = param(1.0e-7, "critical mass at which a cell divides, µg C (100 fg C)", gt=0)
    death_mass_ug_C: float = param(2.5e-8, "a cell below this mass dies and becomes necromass, µg C", ge=0)
    division_asymmetry: float = param(0.1, "daughters take 1/2 ± asymmetry/2 of the mass (uniform)", ge=0, lt=1)
    motility_cm2_s: float = param(0.0, "random-walk motility of active cells in the liquid, cm²/s (0: none)", ge=0)
    chemotaxis: float = param(0.0, "bias of a jump towards higher DOC: weight exp(chemotaxis Δc/(K_s + c))", ge=0)
    max_jumps_per_step: int = param(10, "cap on lattice jumps of a cell per time step (the effective motility "
                                        "is reported)", ge=1)

    def __post_init__(self):
        if self.death_mass_ug_C >= 0.5 * self.division_mass_ug_C * (1 - self.division_asymmetry):
            raise ConfigError(
                f"death_mass_ug_C = {self.death_mass_ug_C} is not below the smallest daughter "
                f"({0.5 * self.division_mass_ug_C * (1 - self.division_asymmetry):.3g} µg C): newborn cells would "
                "die at once. Fix: lower death_mass_ug_C or division_asymmetry.")


@dataclass(frozen=True)
class Run:
    """Time, randomness and output times."""

    t_end_d: float = param(10.0, "simulated time, d", gt=0)
    dt_h: float = param(0.5, "time step, h (bacteria and the implicit DOC step share it)", gt=0)
    seed: int = param(1, "seed of every random choice of the bacteria (streams keyed by cell id and step)", ge=0)
    output_times_d: tuple[float, ...] = param(
        (1.0, 5.0, 10.0), "times at which fields, cells and profiles are written, d (t_end_d is always written)",
        gt=0)


# Conjugate gradients + GAMG on the SPD finite-volume operator, for images too large to factorise.
# The carbon balance does not rest on this tolerance (the step moves DOC by fluxes of the discrete
# operator, see carbon.py); it keeps runs on 1 and N ranks equal to ~1e-12, so that no cell falls
# on the other side of a dormancy or division threshold on another partition.
MICROBES_SOLVER: dict[str, Any] = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1.0e-12,
                                   "ksp_atol": 1.0e-30, "ksp_max_it": 2000}

# The step matrix V + Δt K is the same at every step: factorised once (sparse Cholesky by MUMPS),
# every step is then two triangular solves; the seed-scale run (128³ sample, 1e5 cells, 10 d, 2
# ranks) took 270 s of CPU so against 718 s with CG + GAMG to 1e-12 (docs/microbes.md).
MICROBES_DIRECT: dict[str, Any] = {"ksp_type": "preonly", "pc_type": "cholesky",
                                   "pc_factor_mat_solver_type": "mumps"}


@dataclass(frozen=True)
class Numerics:
    """Linear solver of the implicit DOC step."""

    solver: Literal["auto", "direct", "iterative"] = param(
        "auto", "direct: factorise the DOC step matrix once (MUMPS sparse Cholesky) and reuse it every step; "
                "iterative: conjugate gradients with petsc_options; auto: direct up to direct_max_liquid_voxels")
    direct_max_liquid_voxels: int = param(
        2_000_000, "auto: the largest number of liquid voxels factorised (the factor takes about 1 GB per million "
                   "liquid voxels at 0.6 million and grows faster than the voxel count)", ge=0)
    petsc_options: dict[str, Any] = param(MICROBES_SOLVER, "PETSc options of the iterative DOC diffusion solve")

    def options_for(self, n_liquid: int) -> dict[str, Any]:
        """The PETSc options of the DOC step for an image with ``n_liquid`` liquid voxels."""
        direct = self.solver == "direct" or (self.solver == "auto" and n_liquid <= self.direct_max_liquid_voxels)
        return dict(MICROBES_DIRECT) if direct else dict(self.petsc_options)


@dataclass(frozen=True)
class Output:
    """What a run writes besides summary.json."""

    fields: bool = param(True, "write DOC, biomass and necromass per voxel (VTK image, fields_<t>d.vti)")
    cells: bool = param(True, "write the cells as a VTK point cloud (cells_<t>d.vtp)")
    plots: bool = param(True, "draw timeseries.png and profile.png")
    profile_bin_um: float = param(50.0, "width of the distance bins of the profiles, µm", gt=0)


@dataclass(frozen=True)
class Config:
    """``rhizofem microbes``: DOC diffusion and individual bacteria around a root."""

    domain: Domain = section(Domain, "the label image")
    carbon: Carbon = section(Carbon, "DOC diffusion, POM hydrolysis, necromass")
    root: Root = section(Root, "root exudation")
    bacteria: Bacteria = section(Bacteria, "individual bacteria")
    run: Run = section(Run, "time and seed")
    numerics: Numerics = section(Numerics, "linear solver")
    output: Output = section(Output, "optional outputs")
