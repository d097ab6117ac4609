"""Pore-scale microbial activity around a root (case study 5): DOC diffusion in the liquid of a
3D label image, POM hydrolysis, root exudation, and individual bacteria (Monod uptake with
yield and maintenance, division, dormancy, reactivation, death, optional motility).

    ∂c/∂t = ∇·(D ∇c) − uptake + hydrolysis + necromass return   in the liquid (face-connected voxels),
    −D ∇c·ν = J(t) on the root–liquid faces,  c = 0 beyond sink faces,  no flux elsewhere.

``rhizofem microbes CONFIG.toml --out DIR`` runs :func:`run` with a :class:`Config`. Modules:
:mod:`.config`, :mod:`.domain` (image, liquid numbering, slabs), :mod:`.carbon` (implicit
finite-volume DOC step), :mod:`.sources` (exudation, hydrolysis), :mod:`.bacteria` (the cells),
:mod:`.model` (time loop, run), :mod:`.report` (tables, fields, figures). See docs/microbes.md.
"""

from rhizofem.models.microbes.config import CONFIG_TITLE, Config
from rhizofem.models.microbes.model import Result, run, simulate

__all__ = ["CONFIG_TITLE", "Config", "Result", "run", "simulate"]
