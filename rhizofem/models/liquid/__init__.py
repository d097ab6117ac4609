"""The liquid configuration (case study 4): water, air and mucilage in the pore space of an
image at chosen water contents, and the D_eff(θ) curve they give.

``rhizofem liquid CONFIG.toml --out DIR`` runs :func:`run` (phase images and the retention
curve); :func:`~.curve.run_curve` is the ``[liquid]`` stage of ``rhizofem homogenize``
(D_eff(θ)); :func:`~.curve.deff_curve` is the same as a function. The image work lives in
:mod:`rhizofem.imaging.liquid`; docs/liquid.md has the whole story.
"""

from .config import CONFIG_TITLE, Config, Liquid, Output
from .curve import CurveResult, deff_curve, run_curve
from .model import Result, configurations, run

__all__ = [
    "CONFIG_TITLE",
    "Config",
    "CurveResult",
    "Liquid",
    "Output",
    "Result",
    "configurations",
    "deff_curve",
    "run",
    "run_curve",
]
