"""Configuration of ``rhizofem liquid`` (TOML → frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

from rhizofem.config import param, section
from rhizofem.errors import ConfigError
from rhizofem.imaging.liquid.stage import LiquidStage
from rhizofem.models.homogenization.config import Image, Phases

__all__ = ["CONFIG_TITLE", "Config", "Liquid", "Output"]

CONFIG_TITLE = """rhizofem liquid: water, air and mucilage in the pore space of an image at chosen water contents.
Full-morphology drainage or imbibition (Hilpert & Miller 2001), every water content met to one
voxel; mucilage that concentrates, gels and stays as bridges as the soil dries.
Writes one label image per water content (.npy, .tif) and the retention curve.
Run: rhizofem liquid config.toml --out DIR   (mpiexec -n N works; the image work runs on rank 0)"""


@dataclass(frozen=True)
class Liquid(LiquidStage):
    """The ``[liquid]`` section, with water contents to start from."""

    water_content: tuple[float, ...] = param(
        (0.3, 0.2, 0.1), "volumetric liquid contents θ (water + mucilage volume per total image "
                         "volume, m³/m³) at which configurations are made, each 0 <= θ <= porosity; "
                         "every one is met to one voxel", ge=0.0, le=1.0)

    def __post_init__(self):
        super().__post_init__()
        if not self.water_content:
            raise ConfigError("water_content is empty: nothing to make. Fix: list the water contents, "
                              "e.g. water_content = [0.3, 0.2, 0.1].")


@dataclass(frozen=True)
class Output:
    """What a run writes besides summary.json and the .npy images."""

    tiff: bool = param(True, "also write each configuration as a multi-page TIFF (pages along axis 0)")
    figure: bool = param(True, "draw the retention curve and a section of each configuration")


@dataclass(frozen=True)
class Config:
    """``rhizofem liquid``: liquid configurations of a pore image at chosen water contents."""

    image: Image = section(Image, "the label image (its pore space: every label that is air or liquid in [phases])")
    phases: Phases = section(Phases, "label -> phase name and diffusivity (air: diffusivity 0)")
    liquid: Liquid = section(Liquid, "drainage / imbibition and mucilage")
    output: Output = section(Output, "optional outputs")
