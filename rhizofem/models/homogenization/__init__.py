"""Periodic homogenization (case study 4): the effective diffusion tensor of a pore-scale
label image, from cell problems on the liquid phase, periodised by translation or mirroring.

``rhizofem homogenize CONFIG.toml --out DIR`` runs :func:`run` with a :class:`Config`; the
pieces are usable on their own: :func:`~.cell.liquid_mesh` (image → liquid voxels as Q1
boxes or P1 Kuhn simplices, nodes cut at edge and corner contacts, :mod:`.voxels`),
:func:`~.cell.distribute_cell` (→ DOLFINx), :func:`~.cell.cell_tensor` (cell problems →
D_eff). The maths is in :mod:`.cell`; docs/homogenization.md has the whole story.
"""

from .cell import ELEMENTS, CellMesh, CellTensor, LiquidMesh, cell_tensor, distribute_cell, liquid_mesh, voxel_boxes
from .config import CONFIG_TITLE, Config
from .model import Result, image_statistics, load_labels, run, solve_image, tensor_report, zero_non_percolating
from .voxels import VoxelNodes, voxel_nodes

__all__ = [
    "CONFIG_TITLE",
    "ELEMENTS",
    "CellMesh",
    "CellTensor",
    "Config",
    "LiquidMesh",
    "Result",
    "cell_tensor",
    "distribute_cell",
    "image_statistics",
    "liquid_mesh",
    "load_labels",
    "run",
    "solve_image",
    "tensor_report",
    "VoxelNodes",
    "voxel_boxes",
    "voxel_nodes",
    "zero_non_percolating",
]
