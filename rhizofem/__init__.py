"""rhizofem: FEniCSx models of the rhizosphere across scales.

Four models from the case studies of Schnepf et al. (2022, Plant and Soil 478:5-42):
root-hair exudation (:mod:`rhizofem.models.exudation`), periodic homogenization
(:mod:`rhizofem.models.homogenization`), radial uptake (:mod:`rhizofem.models.uptake`) and
rhizodeposition by superposition (:mod:`rhizofem.models.rhizodeposition`).
"""

# The dolfinx-solver wheel must order mpi4py.MPI ahead of dolfinx and petsc4py; importing
# it here makes `import rhizofem` safe before any FEniCSx import.
import dolfinx_solver  # noqa: F401

from rhizofem.errors import ConfigError, ConvergenceError, InputError, RhizofemError

try:
    from importlib.metadata import version as _version

    __version__ = _version("rhizofem")
except Exception:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["ConfigError", "ConvergenceError", "InputError", "RhizofemError", "__version__"]
