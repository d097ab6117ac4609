"""Periodic cells from an image: by translation (the image as it is, repeated) or by
mirroring (the image reflected in every direction, each side doubled).

An image that is not periodic meets itself across its faces with a jump when repeated by
translation; mirroring removes the jump (the mirrored cell is continuous across every face)
at the cost of imposing symmetry: its effective tensor is diagonal in the image axes.
rhizofem's homogenization solves the mirrored cell without building it (see
:mod:`rhizofem.models.homogenization.cell`); these functions build the images, for
pictures and independent checks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mirror_cell", "periodic_cell", "tile"]


def mirror_cell(image: np.ndarray) -> np.ndarray:
    """The image followed by its reflection along every axis (shape doubled per axis)."""
    cell = np.asarray(image)
    for axis in range(cell.ndim):
        cell = np.concatenate([cell, np.flip(cell, axis=axis)], axis=axis)
    return cell


def periodic_cell(image: np.ndarray, periodisation: str) -> np.ndarray:
    """The periodic cell of an image: itself ("translation") or :func:`mirror_cell` ("mirror")."""
    if periodisation == "translation":
        return np.asarray(image).copy()
    if periodisation == "mirror":
        return mirror_cell(image)
    raise ValueError(f"periodisation must be 'translation' or 'mirror', got {periodisation!r}")


def tile(cell: np.ndarray, copies: int | tuple[int, ...] = 2) -> np.ndarray:
    """``copies`` periods of a cell along every axis (a picture of the periodic medium)."""
    reps = (copies,) * np.ndim(cell) if isinstance(copies, int) else copies
    return np.tile(cell, reps)
