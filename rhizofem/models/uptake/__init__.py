"""Radial uptake (case study 2): phosphate and citrate around many root segments at once.

For every root segment, a radially symmetric rhizosphere r0 ≤ r ≤ r1 (r0 the root radius,
r1 = 1/sqrt(π·RLD)) with phosphate and citrate in the soil solution, competitive Langmuir
sorption, first-order citrate decomposition, citrate exudation and Michaelis–Menten phosphate
uptake at the root surface, zero flux at r1:

    ∂(θ c_i + ρ s_i(c_P, c_C))/∂t = (1/r) ∂/∂r (r D_i θ f(θ) ∂c_i/∂r) − (decomposition, citrate)

Solved with DOLFINx on one 1D mesh of disjoint intervals per batch of segments (P1, graded
towards the root, mass-lumped), Newton (PETSc SNES with line search) and adaptive
variable-step BDF2 with a clock per segment; segments are spread over MPI ranks.

    rhizofem uptake CONFIG.toml --out DIR          (or: run(config) in Python)

Modules: :mod:`.config` (keys, units, parameter sources), :mod:`.physics` (isotherms, uptake,
decomposition — one code for UFL and numpy), :mod:`.batch` (the batched DOLFINx solver),
:mod:`.segments` (single segment or root system → r0, r1, start), :mod:`.run`,
:mod:`.report` (tables, figures, summary.json). See docs/uptake.md.
"""

from rhizofem.models.uptake.config import CONFIG_TITLE, Config
from rhizofem.models.uptake.run import Result, run

__all__ = ["CONFIG_TITLE", "Config", "Result", "run"]
