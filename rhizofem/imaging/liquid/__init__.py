"""Liquid configurations of a pore image: water, air and mucilage at chosen water contents.

* :mod:`.morphology`: full-morphology drainage and imbibition (Hilpert & Miller 2001) as one
  ordered sequence of the pore voxels, so that every water content is met to one voxel.
* :mod:`.mucilage`: mucilage that concentrates as the soil dries, gels, and stays as bridges
  and films (thinning that keeps the gel connected).
* :mod:`.configure`: phase images, the retention curve, percolation thresholds and the
  classic D_eff(θ) laws (Millington–Quirk, Moldrup).
* :mod:`.stage`: the ``[liquid]`` configuration section.

The distance transforms are the exact Euclidean ones of the ``edt`` package; labelling is
scipy.ndimage's. Nothing here uses MPI: callers run it on one rank and share the result.
"""

from .configure import (
    Configuration,
    build_sequence,
    campbell_b,
    capillary_pressure,
    configuration,
    mucilage_relative_diffusivity,
    percolation_threshold,
    retention,
    water_content_at_radius,
)
from .morphology import Sequence, drainage, imbibition
from .stage import FACES, LiquidStage

__all__ = [
    "FACES",
    "Configuration",
    "LiquidStage",
    "Sequence",
    "build_sequence",
    "campbell_b",
    "capillary_pressure",
    "configuration",
    "drainage",
    "imbibition",
    "mucilage_relative_diffusivity",
    "percolation_threshold",
    "retention",
    "water_content_at_radius",
]
