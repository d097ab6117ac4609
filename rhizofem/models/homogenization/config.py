"""Configuration of ``rhizofem homogenize`` (TOML → frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rhizofem.config import param, section
from rhizofem.errors import ConfigError
from rhizofem.fem.solvers import CG_GAMG
from rhizofem.imaging.liquid.stage import LiquidStage
from rhizofem.models.homogenization.shells import Shells

__all__ = ["CONFIG_TITLE", "Cell", "Config", "Image", "Mesh", "Output", "Phases", "Solver", "Study"]

CONFIG_TITLE = """rhizofem homogenize: effective diffusion tensor of a pore-scale label image (case study 4).
Cell problems -div(D (grad chi_j + e_j)) = 0 in the liquid, periodic by translation or by
mirroring; D_eff,ij = 1/|Y| int_liquid D (delta_ij + d chi_j / d y_i) per total volume.
Run: rhizofem homogenize config.toml --out DIR   (mpiexec -n N for parallel)"""

SAMPLES = ("sand_2d", "sand_2d_water", "sand_3d", "sand_3d_water")


@dataclass(frozen=True)
class Image:
    """The label image: a file, or a built-in synthetic sample."""

    path: Path | None = param(
        None, "label image, 2D or 3D integer labels: .npy, .tif/.tiff stack, folder of slices, "
              ".raw/.bin (then raw_shape); unset: the built-in sample below", example="section.npy")
    sample: Literal[SAMPLES] = param(
        "sand_2d", "built-in sample when path is unset: sand_2d (2D section, 160x160 px, porosity 0.41, "
                   "water content 0.19, part of the liquid mucilage bridges), sand_2d_water (same "
                   "grains, water only), sand_3d / sand_3d_water (3D, same fractions, 160^3 voxels); see "
                   "docs/homogenization.md")
    voxel_size_um: float = param(10.0, "edge length of a (cubic) voxel in micrometres", gt=0)
    resolution: int | None = param(
        None, "built-in sample: voxels per unit of its grain geometry (its grains rasterised that much "
              "finer); unset: 4 for sand_3d* (160^3 voxels, D_eff within about 2 % of the converged value), 1 for sand_2d*. "
              "Image file: each voxel split into resolution^d (a finer mesh of the same segmentation); "
              "unset: 1", ge=1, example=4)
    raw_shape: tuple[int, ...] | None = param(
        None, "raw binary only: array shape, slowest axis first", ge=1, example=[100, 100, 100])
    raw_dtype: str = param("uint8", "raw binary only: integer dtype of a voxel")


@dataclass(frozen=True)
class Phases:
    """What each label of the image is and how fast a solute diffuses in it."""

    diffusivity: dict[str, float] = param(
        {"0": 0.0, "1": 0.0, "2": 1.0, "3": 0.5},
        "diffusivity of each label (key: the label as a string). Any unit: D_eff comes out in the "
        "same one (the default is relative to free water: solid 0, air 0, water 1, mucilage 0.5, "
        "Schnepf et al. 2022). A label with diffusivity > 0 is liquid; 0 means no diffusion", ge=0)
    names: dict[str, str] = param(
        {"0": "solid", "1": "air", "2": "water", "3": "mucilage"}, "name of each label, for reports")
    solid: tuple[str, ...] = param(
        ("0",), "labels of the solid matrix: porosity = 1 - their volume fraction "
                "(water content = volume fraction of the labels with diffusivity > 0)")
    reference_label: str | None = param(
        None, "label whose diffusivity is free water's, the D_ref that Millington-Quirk scales; "
              "unset: the label of largest diffusivity", example="2")

    def __post_init__(self):
        for key in list(self.diffusivity) + list(self.names) + list(self.solid):
            try:
                int(key)
            except ValueError:
                raise ConfigError(
                    f"label '{key}' is not an integer. Fix: key each label by its integer value "
                    "as a string, e.g. \"2\" = 1.0.") from None
        if not any(v > 0 for v in self.diffusivity.values()):
            raise ConfigError("diffusivity: no label has a diffusivity > 0, so nothing "
                              "conducts. Fix: give the liquid labels their diffusivity.")
        for key in self.solid:
            if key not in self.diffusivity:
                raise ConfigError(f"solid label '{key}' is not in [phases.diffusivity]. "
                                  "Fix: add it there with diffusivity 0.")
            if self.diffusivity[key] > 0:
                raise ConfigError(f"solid label '{key}' has diffusivity "
                                  f"{self.diffusivity[key]} > 0. Fix: a solid label does not "
                                  "conduct; give it 0 or remove it from [phases] solid.")
        if self.reference_label is not None and self.diffusivity.get(self.reference_label, 0.0) <= 0:
            raise ConfigError(f"reference_label '{self.reference_label}' has no positive "
                              "diffusivity in [phases.diffusivity]. Fix: name the free-water label.")

    def label_diffusivity(self) -> dict[int, float]:
        return {int(k): float(v) for k, v in self.diffusivity.items()}

    def name(self, label: int) -> str:
        return self.names.get(str(label), f"label {label}")

    def reference(self) -> tuple[int, float]:
        """(label, diffusivity) of free water."""
        key = self.reference_label or max(self.diffusivity, key=lambda k: self.diffusivity[k])
        return int(key), float(self.diffusivity[key])


@dataclass(frozen=True)
class Cell:
    """How the image is made a periodic cell."""

    periodisation: Literal["translation", "mirror"] = param(
        "translation", "translation: the image repeated as it is (periodic cell problems); mirror: "
                       "the image mirrored in every direction (side doubled). Mirror is solved as the "
                       "equivalent problem on the image itself (chi = 0 on the faces normal to e_j, "
                       "no flux on the others): exact, 2^d times cheaper, diagonal tensor")


@dataclass(frozen=True)
class Mesh:
    """How the liquid voxels become finite elements (the nodes are the voxel corners either way)."""

    element: Literal["Q1", "P1"] = param(
        "Q1", "Q1: one quadrilateral (2D) / hexahedron (3D) per liquid voxel, bi/trilinear Lagrange; "
              "P1: each voxel split into Kuhn simplices (2 triangles / 6 tetrahedra), linear "
              "Lagrange. Same nodes and unknowns; Q1 has 6x fewer cells in 3D (faster to build) "
              "and keeps the cube's symmetries")
    connectivity: Literal["face", "point"] = param(
        "face", "face: liquid voxels conduct to each other through shared faces only; where voxels meet "
                "only at an edge or a corner the mesh node is duplicated, so no flux passes through a "
                "point (4-neighbourhood in 2D, 6 in 3D; percolation uses the same rule). point: every "
                "voxel corner is one node, so edge and corner contacts conduct (8/26-neighbourhood), as "
                "on a plain voxel mesh; only for comparison: it overestimates D_eff of partly saturated "
                "media and converges slowly under refinement")


@dataclass(frozen=True)
class Solver:
    """Linear solver of the cell problems (one operator, d right-hand sides)."""

    petsc_options: dict[str, Any] = param(
        CG_GAMG, "PETSc options (conjugate gradients + PETSc's algebraic multigrid by default); "
                 "e.g. { ksp_type = \"preonly\", pc_type = \"lu\", pc_factor_mat_solver_type = "
                 "\"mumps\" } for a direct solve")


@dataclass(frozen=True)
class Output:
    """What a run writes besides summary.json and D_eff.csv."""

    fields: bool = param(True, "write the correctors chi_j (correctors.bp, VTX for ParaView)")
    figure: bool = param(True, "draw eigen-directions over the image (2D, Fig. 11 style) or a "
                               "pyvista rendering of the liquid (3D)")


@dataclass(frozen=True)
class Study:
    """Optional convergence studies, off by default: each costs several further solves."""

    resolution: tuple[float, ...] = param(
        (), "resolution factors relative to this run, e.g. [2, 4] (voxels 2x and 4x finer) or, for the "
            "built-in 3D sample, [0.5, 0.75] (its grains at 2 and 3 voxels per unit besides 4): solve the same "
            "geometry at each and extrapolate (Richardson) to estimate the discretisation error of D_eff. "
            "Built-in samples are regenerated from their grain geometry; an image file has each voxel "
            "split (the finite-element error on the given segmentation, not the imaging error), so its "
            "factors times [image] resolution must be whole numbers. Expensive: factor^d times the "
            "voxels", gt=0, example=[2, 4])
    sizes: tuple[float, ...] = param(
        (), "edge fractions of centred sub-volumes for a size (REV) study, e.g. [0.25, 0.5, 0.75]: "
            "each sub-volume is solved as the Dirichlet / no-flux (mirror) problem, and the whole image "
            "too", gt=0, lt=1, example=[0.25, 0.5, 0.75])


@dataclass(frozen=True)
class Config:
    """``rhizofem homogenize``: effective diffusion tensor of a pore-scale label image."""

    image: Image = section(Image, "the label image")
    phases: Phases = section(Phases, "label -> phase name and diffusivity")
    cell: Cell = section(Cell, "periodisation of the cell")
    mesh: Mesh = section(Mesh, "finite elements on the voxels")
    solver: Solver = section(Solver, "linear solver")
    output: Output = section(Output, "optional outputs")
    liquid: LiquidStage = section(
        LiquidStage, "liquid configurations of the image's pore space at chosen water contents: with "
                     "water_content set, the run homogenizes each and writes results.curve (D_eff(θ)) "
                     "instead of the image's own tensor")
    study: Study = section(Study, "resolution and size (REV) studies (off by default)")
    shells: Shells = section(Shells, "D_eff in shells at increasing distance from a root's surface: with count > 0 "
                                     "the run writes results.radial_profile instead of the image's own tensor "
                                     "(docs/links.md)")

    def __post_init__(self):
        self.shells.check(self.phases)
        if self.shells.enabled and self.liquid.enabled:
            raise ConfigError("[shells] and [liquid] water_content are both set: a radial profile is computed on "
                              "the image as it is. Fix: make the liquid configuration first (`rhizofem rhizosphere` "
                              "or `rhizofem liquid`) and homogenize its image with [shells].")
