"""Rhizodeposition around a growing root system (case study 1).

Each root tip is a moving point source (e.g. mucilage) or drags a line source along the last
few cm behind it (e.g. citrate); deposits diffuse with retardation (sorption) and first-order
decay in unbounded soil. A root's field is an integral of the Carslaw & Jaeger point-source
kernel over its tip's path; the root system's field is the sum over roots. Evaluated on a
regular voxel grid at output days; hotspots are voxels above a threshold content, and the
share of hotspot volume that exists only because rhizospheres overlap is reported.

    rhizofem rhizodeposition CONFIG.toml --out DIR          (or: run(config) in Python)

Modules: :mod:`.config` (keys, units, parameter sources), :mod:`.superposition` (kernels,
quadrature, grid evaluation, closed forms), :mod:`.hotspots`, :mod:`.run`, :mod:`.report`.
See docs/rhizodeposition.md.
"""

from rhizofem.models.rhizodeposition.config import CONFIG_TITLE, Config
from rhizofem.models.rhizodeposition.run import Result, run

__all__ = ["CONFIG_TITLE", "Config", "Result", "run"]
