"""Configuration of ``rhizofem exudation`` (TOML → frozen dataclasses, units in the key names)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from rhizofem.config import param, section
from rhizofem.errors import ConfigError
from rhizofem.fem.solvers import CG_GAMG
from rhizofem.imaging.io import ImageConfig
from rhizofem.meshing.gmsh_io import LENGTH_UNITS_MM
from rhizofem.meshing.soil import MeshOptions

__all__ = ["CONFIG_TITLE", "Config", "Inlet", "MeshConfig", "Numerics", "Output", "Physics", "Time"]

CONFIG_TITLE = """rhizofem exudation: transient diffusion of root exudates into soil aggregates (case study 3).
dc/dt = D lap(c) in the soil phase; c = c_in on the root/hair-soil contact; no flux elsewhere; c(0) = 0.
Mesh from [image] (without path: the built-in default sample) or a ready Gmsh file ([mesh] path).
Run: rhizofem exudation config.toml --out DIR   (mpiexec -n N for parallel)"""


@dataclass(frozen=True)
class MeshConfig(MeshOptions):
    """The ``[mesh]`` section: a ready Gmsh file, or how the image's soil phase is meshed."""

    path: Path | None = param(
        None, "a ready Gmsh mesh (.msh) with physical groups named soil, root_contact, hair_contact, "
              "no_flux; unset: mesh the [image]", example="mesh.msh")
    length_unit: str = param("mm", "unit of the .msh coordinates: m, cm, mm, um")

    def __post_init__(self):
        super().__post_init__()
        if self.length_unit not in LENGTH_UNITS_MM:
            raise ConfigError(f"length_unit = '{self.length_unit}' is unknown. Fix: one of "
                              f"{', '.join(LENGTH_UNITS_MM)}.")
        if self.path is not None and self.path.suffix.lower() != ".msh":
            raise ConfigError(f"path = '{self.path}' is not a .msh file. Fix: give a Gmsh mesh, or put "
                              "a label image under [image] path instead.")

    def options(self) -> MeshOptions:
        """The meshing options alone (the fields of :class:`MeshOptions`)."""
        return MeshOptions(**{f.name: getattr(self, f.name) for f in fields(MeshOptions)})


@dataclass(frozen=True)
class Physics:
    """Diffusion in the soil aggregates (seed values of case study 3)."""

    D_cm2_s: float = param(2.88e-7, "diffusion coefficient of the exudate in the soil aggregates, cm²/s", gt=0)
    D_by_tag_cm2_s: dict[str, float] = param(
        {}, "diffusion coefficient per volume group of the mesh, cm²/s (key: group name or number as a "
            "string, e.g. { \"2\" = 1e-7 }); groups not listed take D_cm2_s", gt=0)
    c_in_ug_cm3: float = param(1037.52, "exudate concentration held at the root/hair contact, µg/cm³", gt=0)
    t_end_s: float = param(3600.0, "simulated time, s", gt=0)
    # a time-varying inlet concentration from a table (docs/links.md), e.g. a rhizodeposition probe
    c_in_table: Path | None = param(
        None, "CSV table of the inlet concentration against time (µg/cm³; a time column t_s, t_h or t_d), e.g. "
              "probes.csv of `rhizofem rhizodeposition`; linear in time between rows, the end values beyond; "
              "replaces c_in_ug_cm3", example="../rhizodeposition/probes.csv")
    c_in_column: str | None = param(None, "the column of c_in_table to use (unset: its only concentration column)",
                                    example="root0_s2cm_0um_ug_cm3")
    c_in_table_t0_s: float = param(0.0, "table time (s) at which the run starts: the run's time t reads the table "
                                        "at t0 + t", ge=0)


@dataclass(frozen=True)
class Inlet:
    """Where c = c_in: the root-soil contact, and the hair-soil contact."""

    tags: tuple[Literal["root", "hair"], ...] = param(
        ("root", "hair"), "inlet surfaces: [\"root\"] (root-soil contact) and/or \"hair\" (hair-soil contact)")

    def __post_init__(self):
        if not self.tags:
            raise ConfigError("tags = []: the inlet is empty, so nothing enters the soil. "
                              "Fix: tags = [\"root\"] or [\"root\", \"hair\"].")
        if len(set(self.tags)) != len(self.tags):
            raise ConfigError(f"tags = {list(self.tags)} names a surface twice. Fix: list each once.")


@dataclass(frozen=True)
class Time:
    """Implicit time stepping (BDF2 after one backward-Euler step), steps chosen by an error estimate.

    The inlet flux is singular (~1/√t) at t = 0, so the first steps are small and grow; an
    estimate of each step's error in the mass at the next output time sets the next step
    (``control = "adaptive"``), or the steps follow a fixed staged sequence (``"staged"``).
    """

    scheme: Literal["bdf2", "euler"] = param(
        "bdf2", "bdf2: variable-step BDF2 after one backward-Euler step; euler: backward Euler throughout")
    control: Literal["adaptive", "staged"] = param(
        "adaptive", "adaptive: steps from the local error estimate against time_rtol; staged: stages of "
                    "steps_per_stage equal steps, each stage growth times the last (no error control)")
    time_rtol: float = param(
        1e-3, "adaptive: tolerated time-discretisation error of the mass at each output time, relative "
              "(the linear solver's ksp_rtol follows it: 1e-3 × time_rtol unless petsc_options sets it)",
        gt=0, lt=0.5)
    dt_first_s: float = param(0.05, "the first (smallest) time step, s", gt=0)
    dt_max_s: float | None = param(None, "the largest time step, s (unset: no limit)", gt=0, example=600.0)
    steps_per_stage: int = param(6, "staged: steps of equal size before the step grows", ge=1)
    growth: float = param(2.0, "staged: step ratio from one stage to the next (BDF2 is zero-stable below 1+√2)",
                          ge=1.0, lt=2.414)
    output_times_s: tuple[float, ...] = param(
        (60.0, 600.0, 3600.0), "times at which the mass is controlled and fields are written (the steps land "
                               "on them; later than t_end_s are dropped; t_end_s is always one)", gt=0)


# GAMG's aggressive first level by MIS-2 rather than by squaring the graph: PETSc's A^T A of
# the graph (MatTrnMatMult) took 47 s of a 1 M-DOF P2 set-up and did not get faster on 2 ranks;
# MIS-2 gives the same CG iterations at half the set-up cost (docs/exudation.md, Performance).
EXUDATION_SOLVER: dict[str, Any] = {k: v for k, v in CG_GAMG.items() if k != "ksp_rtol"}
EXUDATION_SOLVER["pc_gamg_aggressive_square_graph"] = False


def solver_rtol(time_rtol: float) -> float:
    """ksp_rtol tied to the time error: the solver's error in the mass (about 3 × ksp_rtol, measured)
    stays a thousandth of the time tolerance; never looser than 1e-6."""
    return float(min(1e-6, max(1e-12, 1e-3 * time_rtol)))


@dataclass(frozen=True)
class Numerics:
    """Discretisation and linear solver."""

    degree: int = param(1, "Lagrange degree of the concentration (1 or 2)", ge=1, le=2)
    space_error_estimate: bool = param(
        True, "image route: run every case again on a mesh twice as coarse (inlet_subdivide - 1, size_slope x 2; "
              "from inlet_subdivide = 0: twice as fine) and report the estimated space discretisation error "
              "of each mass and the extrapolated mass (about 1.5x the run's cost)")
    petsc_options: dict[str, Any] = param(
        EXUDATION_SOLVER, "PETSc options of the linear solves (conjugate gradients + GAMG by default; "
                          "ksp_rtol, if not set here, follows [time] time_rtol)")


@dataclass(frozen=True)
class Output:
    """What a run writes besides summary.json."""

    fields: bool = param(True, "write the concentration at the output times (concentration.xdmf or .bp)")
    fields_format: Literal["xdmf", "vtx"] = param(
        "xdmf", "xdmf: concentration.xdmf + .h5, opened by any ParaView (XDMF reader; P2 written as its P1 "
                "interpolant); vtx: concentration.bp (ADIOS2), exact for P2, needs ParaView's ADIOS2 VTX reader")
    plots: bool = param(True, "draw mass.png, profile.png and concentration_3d.png")
    profile_bin_um: float = param(10.0, "width of the distance bins of the concentration profile, µm", gt=0)
    threshold_fraction: float = param(
        0.01, "the profile's threshold as a fraction of c_in (seed: 1 %)", gt=0, lt=1)


@dataclass(frozen=True)
class Config:
    """``rhizofem exudation``: root-hair exudation into soil aggregates."""

    compare_hairless: bool = param(
        True, "also run the same sample without hairs (hair contact becomes no-flux) and compare")
    image: ImageConfig = section(ImageConfig, "the label image (without path: the built-in default sample)")
    mesh: MeshConfig = section(MeshConfig, "a ready .msh file, or how the image is meshed")
    physics: Physics = section(Physics, "diffusion coefficient, inlet concentration, time")
    inlet: Inlet = section(Inlet, "the Dirichlet inlet")
    time: Time = section(Time, "time stepping")
    numerics: Numerics = section(Numerics, "element degree and linear solver")
    output: Output = section(Output, "optional outputs")

    def __post_init__(self):
        t_end = self.physics.t_end_s
        if self.time.dt_first_s > t_end / 100:
            # the inlet flux is singular at t = 0; the steps grow from the first one and the first
            # three have no error estimate, so a first step near t_end is one coarse backward-Euler
            # step (dt_first_s = t_end_s gave a 15 % mass error)
            raise ConfigError(
                f"[time] dt_first_s = {self.time.dt_first_s:g} s is more than t_end_s / 100 = {t_end / 100:g} s: the "
                "inlet flux is singular at t = 0 and the first steps have no error control, so a large first step "
                "spoils the mass (one step of t_end_s: 15 % too low). Fix: dt_first_s <= t_end_s / 100 "
                "(the default 0.05 s).")
        if self.mesh.path is not None and self.image.path is not None:
            raise ConfigError("both [mesh] path and [image] path are set. Fix: give one: a ready mesh "
                              "or a label image to mesh.")
