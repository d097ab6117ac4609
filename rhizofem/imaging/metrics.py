"""Geometry of a segmented rhizosphere image, counted voxel by voxel.

Every number here is a count on the image times a voxel volume or a voxel-face area, so
it is exactly what a voxel-conforming mesh carries (and what the exudation model integrates
over). The definitions, used throughout rhizofem and in summary.json:

- phase volume: voxels of the phase × voxel volume; fractions are of the whole image.
- **epidermis**: every face between a root voxel and a voxel that is not root (soil, pore,
  hair, outside), inside the image. Faces of root voxels on the image border are cut
  surfaces, not epidermis. Faces under the base of a hair count (they are root surface the
  hair grows from), so the epidermis is the same with and without hairs.
- **root contact**: faces between a root voxel and a soil voxel (the root part of the inlet).
- **hair contact**: faces between a hair voxel and a soil voxel (the hair part of the inlet).
- contact fractions, relative to the epidermis area:
  ``contact_fraction_root = root contact / epidermis`` and
  ``contact_fraction_root_hairs = (root contact + hair contact) / epidermis``.
- no-flux area: every other face of the soil phase (towards pore, outside or image border).

Areas are staircase (voxel-face) areas: for a smooth surface they exceed the true area by
the mean of |n_x| + |n_y| + |n_z| over its normals (4/π ≈ 1.27 around a cylinder's axis,
3/2 for isotropic orientations). Ratios of areas, like the contact fractions, largely cancel
that factor. In 2D, volumes are areas (mm²) and areas are lengths (mm); the keys say so.
"""

from __future__ import annotations

import numpy as np

from rhizofem.imaging.io import Labels, check_labels

__all__ = ["PHASES", "face_counts", "geometry_metrics", "phase_index"]

PHASES = ("soil", "pore", "root", "hair", "outside")
BORDER = len(PHASES)  # index of "the other side is outside the image"


def phase_index(image: np.ndarray, labels: Labels) -> np.ndarray:
    """The image as phase indices 0..4 in the order of :data:`PHASES` (uint8).

    Refuses labels that the map does not name (see :func:`rhizofem.imaging.io.check_labels`).
    """
    image = np.asarray(image)
    label_map = labels.as_dict()
    check_labels(image, label_map)
    values = np.array([label_map[p] for p in PHASES], dtype=np.int64)
    order = np.argsort(values)
    where = np.searchsorted(values[order], image.astype(np.int64, copy=False))
    return order.astype(np.uint8)[where]


def face_counts(phases: np.ndarray) -> np.ndarray:
    """Count voxel faces by the phases on their two sides.

    Args:
        phases: image of phase indices (see :func:`phase_index`).

    Returns:
        A symmetric (6, 6) integer table: ``table[a, b]`` faces between phases ``a`` and
        ``b`` (a ≠ b), and ``table[a, BORDER]`` faces of phase ``a`` on the image border.
        The diagonal (faces inside one phase) is left at zero.
    """
    phases = np.asarray(phases)
    n = BORDER + 1
    table = np.zeros((n, n), dtype=np.int64)
    for axis in range(phases.ndim):
        lo = np.take(phases, range(phases.shape[axis] - 1), axis=axis).astype(np.int64).ravel()
        hi = np.take(phases, range(1, phases.shape[axis]), axis=axis).astype(np.int64).ravel()
        differ = lo != hi
        pairs = np.bincount(lo[differ] * n + hi[differ], minlength=n * n).reshape(n, n)
        table += pairs + pairs.T
        for end in (0, phases.shape[axis] - 1):
            counts = np.bincount(np.take(phases, end, axis=axis).ravel(), minlength=n)
            table[:, BORDER] += counts
            table[BORDER, :] += counts
    np.fill_diagonal(table, 0)
    return table


def geometry_metrics(image: np.ndarray, voxel_size_um: float, labels: Labels | None = None) -> dict:
    """Phase volumes, epidermis and contact areas, contact fractions (see the module docstring).

    Keys in 3D (the summary.json ``geometry`` section): ``soil_volume_mm3``,
    ``epidermis_area_mm2``, ``root_contact_area_mm2``, ``hair_contact_area_mm2``,
    ``contact_fraction_root``, ``contact_fraction_root_hairs``, ``no_flux_area_mm2``,
    ``<phase>_volume_mm3`` and ``<phase>_fraction`` for each phase, ``image_volume_mm3``,
    ``image_shape``, ``voxel_size_um``. In 2D the same with ``_area_mm2`` for volumes and
    ``_length_mm`` for areas.
    """
    labels = labels if labels is not None else Labels()
    phases = phase_index(image, labels)
    dim = phases.ndim
    h_mm = float(voxel_size_um) * 1e-3
    cell = h_mm**dim
    face = h_mm ** (dim - 1)
    vol_unit, area_unit = ("volume_mm3", "area_mm2") if dim == 3 else ("area_mm2", "length_mm")
    idx = {p: i for i, p in enumerate(PHASES)}

    counts = np.bincount(phases.ravel(), minlength=len(PHASES))
    table = face_counts(phases)
    root, soil, hair = idx["root"], idx["soil"], idx["hair"]
    epidermis = int(table[root, :BORDER].sum())  # every non-root phase, not the border
    root_contact = int(table[root, soil])
    hair_contact = int(table[hair, soil])
    soil_faces = int(table[soil].sum())

    out: dict = {
        "image_shape": list(phases.shape),
        "voxel_size_um": float(voxel_size_um),
        f"image_{vol_unit}": phases.size * cell,
    }
    for p in PHASES:
        out[f"{p}_{vol_unit}"] = int(counts[idx[p]]) * cell
        out[f"{p}_fraction"] = int(counts[idx[p]]) / phases.size
    out.update({
        f"epidermis_{area_unit}": epidermis * face,
        f"root_contact_{area_unit}": root_contact * face,
        f"hair_contact_{area_unit}": hair_contact * face,
        f"no_flux_{area_unit}": (soil_faces - root_contact - hair_contact) * face,
        "contact_fraction_root": root_contact / epidermis if epidermis else 0.0,
        "contact_fraction_root_hairs": (root_contact + hair_contact) / epidermis if epidermis else 0.0,
    })
    return out
