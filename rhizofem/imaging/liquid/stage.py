"""The ``[liquid]`` section: how water, air and mucilage are redistributed in the pore space.

Read by ``rhizofem liquid`` (phase images and the retention curve) and by ``rhizofem
homogenize`` (the D_eff(θ) curve). Units are in the key names, as everywhere in rhizofem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rhizofem.config import param
from rhizofem.errors import ConfigError

__all__ = ["FACES", "LiquidStage"]

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")
Face = Literal["x-", "x+", "y-", "y+", "z-", "z+"]


@dataclass(frozen=True)
class LiquidStage:
    """Liquid configurations at chosen water contents (drainage or imbibition, mucilage)."""

    water_content: tuple[float, ...] = param(
        (), "volumetric liquid contents θ (water + mucilage volume per total image volume, "
            "m³/m³) at which configurations are made, each 0 <= θ <= porosity; every one is met "
            "to one voxel. Empty: no liquid stage", ge=0.0, le=1.0)
    method: Literal["drainage", "imbibition"] = param(
        "drainage", "drainage: air invades a water-saturated pore space as the capillary pressure "
                    "rises (drying); imbibition: water invades a dry pore space as it falls (wetting)")
    inlet: Literal["none", "all"] | tuple[Face, ...] = param(
        "none", "where the invading phase enters (air for drainage, water for imbibition): "
                "\"none\" (no connectivity constraint: the morphological opening, for a periodic "
                "cell or a sample drained from within), \"all\" (every face of the image), or a list "
                "of faces, e.g. [\"z+\"]; axis 0 of the image is x")
    trapping: bool = param(
        False, "the displaced phase is trapped when it loses connection to its outlet: water "
               "pockets in drainage, air bubbles in imbibition (needs an inlet other than \"none\")")
    outlet: Literal["opposite", "all"] | tuple[Face, ...] = param(
        "opposite", "where the displaced phase leaves when trapping is on: \"opposite\" (the faces "
                    "opposite the inlet faces), \"all\", or a list of faces")
    periodic: bool = param(
        False, "treat the image as periodic (distances and connectivity wrap around): for a "
               "translation cell made from a periodic image; needs inlet = \"none\". Otherwise "
               "the image's faces are open: balls and paths may extend beyond them")
    surface_tension_N_m: float = param(
        0.072, "surface tension σ of the liquid-air interface in N/m (water at 25 °C: 0.072)", gt=0)
    contact_angle_deg: float = param(
        0.0, "contact angle θ_c of the liquid on the solid in degrees (0: perfectly wetting)", ge=0, lt=90)
    air_label: int = param(1, "label written for air (must be in [phases] with diffusivity 0)", ge=0)
    water_label: int = param(2, "label written for water (must be in [phases] with diffusivity > 0)", ge=0)
    mucilage_label: int = param(
        3, "label written for mucilage (must be in [phases] with diffusivity > 0 when mucilage_mg_g > 0)", ge=0)
    mucilage_mg_g: float = param(
        0.0, "dry mucilage (polymer) mass per dry soil mass in mg/g; 0 = water only "
             "(8 mg/g: the seed's example)", ge=0)
    solid_density_g_cm3: float = param(
        2.65, "particle density of the solid in g/cm³ (quartz 2.65), to turn mg/g into polymer mass "
              "per voxel of solid", gt=0)
    mucilage_placement: Literal["liquid", "contacts", "label"] = param(
        "liquid", "where the polymer is in the saturated sample: \"liquid\" (dissolved in all the pore "
                  "water), \"contacts\" (a solution of mucilage_initial_mg_cm3 filling the smallest "
                  "pores and the particle contacts: the liquid that drainage keeps longest), \"label\" "
                  "(the voxels of mucilage_label in the input image)")
    mucilage_initial_mg_cm3: float | None = param(
        None, "placement \"contacts\" only: polymer concentration of the mucilage solution in the "
              "saturated sample, mg per cm³ of solution", gt=0, example=10.0)
    gel_mg_cm3: float = param(
        50.0, "polymer concentration above which mucilage no longer drains by capillarity (gel): it "
              "keeps its connections and thins as it dries, in mg/cm³. A model choice, not a "
              "measured constant: set it for the mucilage studied", gt=0)
    mucilage_diffusivity: Literal["phases", "mackie_meares"] = param(
        "phases", "diffusivity of the mucilage phase: \"phases\" (the value of mucilage_label in "
                  "[phases], 0.5 x water by default as the seed), \"mackie_meares\" (the water's x "
                  "((1-v)/(1+v))², v = polymer volume fraction, Mackie & Meares 1955)")
    polymer_density_g_cm3: float = param(
        1.5, "density of the dry polymer in g/cm³, for the polymer volume fraction of "
             "\"mackie_meares\" (a typical polysaccharide value; a choice)", gt=0)
    campbell_b: float | None = param(
        None, "Campbell's pore-size index b for Moldrup's D_eff(θ); unset: fitted to the image's own "
              "drainage curve", gt=0, example=3.0)
    percolation_threshold: bool = param(
        True, "find the lowest liquid content at which the liquid percolates along each axis "
              "(bisection on the nested configurations, one voxel resolution)")

    def __post_init__(self):
        if self.trapping and self.inlet == "none":
            raise ConfigError("trapping = true needs an inlet: with inlet = \"none\" there is no "
                              "reservoir to be cut off from. Fix: set inlet (e.g. [\"z+\"]) or trapping = false.")
        if self.trapping and self.inlet == "all" and self.outlet == "opposite":
            raise ConfigError("outlet = \"opposite\" has no faces when inlet = \"all\". Fix: name the "
                              "outlet faces, e.g. outlet = [\"z-\"].")
        if self.periodic and self.inlet != "none":
            raise ConfigError(f"periodic = true with inlet = {self.inlet!r}: a periodic image has no faces "
                              "to enter through. Fix: inlet = \"none\", or periodic = false.")
        for name in ("inlet", "outlet"):
            value = getattr(self, name)
            if isinstance(value, tuple) and (not value or len(set(value)) != len(value)):
                raise ConfigError(f"{name} = {list(value)}: give each face once and at least one face "
                                  "(or \"none\"/\"all\").")
        if self.mucilage_mg_g > 0 and self.method == "imbibition":
            raise ConfigError("mucilage_mg_g > 0 with method = \"imbibition\": the mucilage model describes "
                              "drying (a gel that stops draining); rewetting of dried mucilage (swelling, "
                              "repellency) is not modelled. Fix: method = \"drainage\" or mucilage_mg_g = 0.")
        if (self.mucilage_mg_g > 0 and self.mucilage_placement == "contacts"
                and self.mucilage_initial_mg_cm3 is None):
            raise ConfigError("mucilage_placement = \"contacts\" needs mucilage_initial_mg_cm3 (the "
                              "concentration of the solution that fills the contacts). Fix: set it, or "
                              "use placement \"liquid\".")
        labels = (self.air_label, self.water_label, self.mucilage_label)
        if len(set(labels)) != 3:
            raise ConfigError(f"air_label, water_label, mucilage_label = {labels}: give each phase its own label.")

    @property
    def enabled(self) -> bool:
        return bool(self.water_content)

    @property
    def has_mucilage(self) -> bool:
        return self.mucilage_mg_g > 0
