"""Root-hair exudation into soil aggregates (case study 3): transient diffusion on the soil
phase of a segmented image, the root and hair contact held at c_in.

    ∂c/∂t = D Δc in Ω (soil aggregates),  c = c_in on Γ_D (root/hair–soil contact),
    D ∇c·ν = 0 on ∂Ω \\ Γ_D,  c(0) = 0.

``rhizofem exudation CONFIG.toml --out DIR`` runs :func:`run` with a :class:`Config`: mesh
the image (or read a .msh), simulate with DOLFINx (P1/P2, BDF2 in stages of equal steps with
a reused operator and preconditioner, inlet flux as the residual's reaction), report the mass
M(t) = ∫ c dx, the cumulative inlet flux, the concentration against distance from the root
surface, the distance where it falls below 1 % of c_in, and — with ``compare_hairless`` —
the same sample without hairs. Modules: :mod:`.config`, :mod:`.diffusion` (the solver),
:mod:`.profile` (distances, binned means), :mod:`.model` (run), :mod:`.report` (tables,
figures). See docs/exudation.md.
"""

from rhizofem.models.exudation.config import CONFIG_TITLE, Config
from rhizofem.models.exudation.model import Case, Result, run

__all__ = ["CONFIG_TITLE", "Case", "Config", "Result", "run"]
