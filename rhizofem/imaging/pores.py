"""Synthetic pore-scale label images: a partially saturated sand with mucilage bridges, and
the regular geometries that homogenization is checked against.

Labels of a pore image (the default table of ``rhizofem homogenize``):

=====  ========  =========================================================
label  phase     role in diffusion
=====  ========  =========================================================
0      solid     sand grains, no diffusion
1      air       gas-filled pores, no diffusion of a dissolved solute
2      water     liquid, free-water diffusivity D_ref
3      mucilage  liquid, D_muc = 0.5 D_ref in the seed (Schnepf et al. 2022)
=====  ========  =========================================================

The sand (:func:`sand`) is built in three steps, every one periodic so that the image is a
valid translation cell:

1. **Grains**: random discs (spheres in 3D; optionally flattened along the last axis) of
   summed volume equal to the solid volume, pushed apart until they no longer overlap (in
   a 2D section with a gap: a plane rarely cuts through a grain contact). The solid is the
   level set of the grain indicator that meets the porosity φ to one voxel.
2. **Water**: morphological drainage (Hilpert & Miller 2001, Adv. Water Resour. 24:243):
   air occupies every place a ball of radius R can reach inside the pores; water keeps the
   rest (throats, grain contacts, corners). R is chosen so that the water content is met
   to one voxel (ties at the last radius broken by the distance to the solid).
3. **Mucilage bridges**: a share of the liquid is mucilage, spanning the narrowest air
   gaps between liquid bodies: the morphological closing of the liquid with a growing
   ball fills gaps narrower than its diameter, until the mucilage volume is reached.
   Mucilage joins liquid that water alone leaves apart, as the seed's bridges do.

With mucilage the total liquid content θ = θ_w + θ_m stays the given water content, so
that the two configurations compare at one θ (one Millington–Quirk value).
"""

from __future__ import annotations

import edt
import numpy as np

__all__ = [
    "AIR",
    "MUCILAGE",
    "SOLID",
    "WATER",
    "inclusion_array",
    "laminate",
    "sand",
    "sand_sample_3d",
    "sand_section_2d",
]

SOLID, AIR, WATER, MUCILAGE = 0, 1, 2, 3


def sand(shape: tuple[int, ...], porosity: float = 0.41, water_content: float = 0.19,
         mucilage_fraction: float = 0.0, grain_radius_px: tuple[float, float] = (7.0, 13.0),
         flattening: float = 1.0, gap_px: float = 0.0, seed: int = 1, resolution: int = 1) -> np.ndarray:
    """A periodic label image of a partially saturated sand (see the module docstring).

    Args:
        shape: image shape (2D or 3D); the last axis is vertical.
        porosity: φ, the non-solid fraction.
        water_content: θ, the liquid (water + mucilage) fraction, 0 ≤ θ ≤ φ.
        mucilage_fraction: share of the liquid that is mucilage.
        grain_radius_px: range of the grains' horizontal semi-axes, in voxels.
        flattening: vertical semi-axis / horizontal semi-axis of a grain.
        gap_px: least gap kept between grains (a 2D section rarely cuts a grain contact).
        seed: random seed (the image is a deterministic function of the arguments).
        resolution: voxels per unit of ``shape`` along each axis. The grains are drawn in
            the units of ``shape`` (the same grains whatever the resolution) and rasterised
            on an image of ``resolution × shape`` voxels; water and mucilage are placed on
            that image by the same rules. A resolution study of one geometry.
    """
    shape = tuple(int(n) for n in shape)
    resolution = int(resolution)
    if resolution < 1:
        raise ValueError(f"resolution must be a positive integer, got {resolution}")
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be 2D or 3D, got {shape}")
    if not (0.0 < porosity < 1.0 and 0.0 <= water_content <= porosity and 0.0 <= mucilage_fraction <= 1.0):
        raise ValueError("need 0 < porosity < 1, 0 <= water_content <= porosity, 0 <= mucilage_fraction <= 1")
    rng = np.random.default_rng(seed)
    centres, radii = _grains(shape, 1.0 - porosity, grain_radius_px, flattening, gap_px, rng)
    shape = tuple(n * resolution for n in shape)
    centres, radii = centres * resolution, radii * resolution
    n_vox = int(np.prod(shape))
    distance = _grain_distance(shape, centres, radii)
    order = np.argsort(distance, axis=None, kind="stable")
    n_solid = int(round((1.0 - porosity) * n_vox))
    if not np.isfinite(distance.ravel()[order[max(n_solid - 1, 0)]]):
        raise ValueError("the grains do not reach the solid fraction (grain reach too short)")
    labels = np.full(n_vox, AIR, dtype=np.uint8)
    labels[order[:n_solid]] = SOLID
    labels = labels.reshape(shape)
    pore = labels != SOLID

    n_liquid = int(round(water_content * n_vox))
    n_mucilage = int(round(mucilage_fraction * n_liquid))
    water = _drainage_water(pore, n_liquid - n_mucilage)
    labels[water] = WATER
    if n_mucilage:
        labels[_bridges(pore & ~water, water, n_mucilage)] = MUCILAGE
    return labels


def sand_section_2d(mucilage: bool = True, size_px: int = 160, seed: int = 113, resolution: int = 1) -> np.ndarray:
    """The built-in 2D sand section: φ = 0.41, θ = 0.19, mucilage = 10 % of the liquid.

    A synthetic stand-in for the seed's image (case study 4); at 10 µm per pixel a 1.6 mm
    section with grains of 140–260 µm, kept 2 pixels apart (a plane rarely cuts a grain
    contact). Its seed was chosen so that, with face connectivity, water alone percolates
    along x and not along y, and the mucilage bridges open y, as in the seed's image.
    """
    return sand((size_px, size_px), 0.41, 0.19, 0.1 if mucilage else 0.0, gap_px=2.0, seed=seed,
                resolution=resolution)


def sand_sample_3d(mucilage: bool = True, size_px: int = 40, seed: int = 3, resolution: int = 4) -> np.ndarray:
    """The built-in 3D sand sample: the 2D section's porosity, water and mucilage contents.

    Grains of radius 5–9 units in a periodic cube of 40 units, rasterised with
    ``resolution`` voxels per unit: 160³ voxels by default, where the effective tensor is
    within about 2 % of its value extrapolated to infinitely fine voxels (at 40³, one voxel
    per unit, it is 20–30 % low; see docs/homogenization.md).
    """
    return sand((size_px,) * 3, 0.41, 0.19, 0.1 if mucilage else 0.0,
                grain_radius_px=(5.0, 9.0), seed=seed, resolution=resolution)


def _grains(shape, solid_fraction, radius_range, flattening, gap_px, rng):
    """Random grains of summed volume equal to the solid volume, pushed apart until no two
    overlap by more than a tenth of a voxel (and, in 2D, keep ``gap_px`` between them)."""
    dim = len(shape)
    target = solid_fraction * np.prod(shape)
    unit = (np.pi if dim == 2 else 4.0 * np.pi / 3.0) * flattening
    radii = []
    while unit * np.sum(np.asarray(radii) ** dim) < target:
        radii.append(rng.uniform(*radius_range))
    r = np.asarray(radii)
    r *= (target / (unit * np.sum(r**dim))) ** (1.0 / dim)
    # in coordinates with the vertical axis divided by the flattening every grain is a ball
    scale = np.ones(dim)
    scale[-1] = flattening
    box = np.asarray(shape, dtype=float) / scale
    pos = rng.uniform(0.0, box, size=(len(r), dim))
    reach = r[:, None] + r[None, :] + gap_px
    for _ in range(2000):
        delta = pos[:, None, :] - pos[None, :, :]
        delta -= box * np.round(delta / box)
        dist = np.linalg.norm(delta, axis=-1)
        np.fill_diagonal(dist, np.inf)
        overlap = np.maximum(reach - dist, 0.0)
        if overlap.max() <= 0.1:
            break
        pos += 0.5 * np.sum((overlap / np.maximum(dist, 1e-9))[..., None] * delta, axis=1)
        pos %= box
    semi = np.repeat(r[:, None], dim, axis=1) * scale
    return pos * scale, semi


def _grain_distance(shape, centres, radii, reach: float = 1.5):
    """Per voxel centre: the smallest normalised distance |x − c|_A to a grain centre, with
    periodic wrap (< 1 inside a grain); computed up to ``reach`` (inf beyond every grain's
    reach: such voxels are never among the solid ones, see :func:`sand`)."""
    size = np.array(shape, dtype=float)
    best = np.full(shape, np.inf)
    for c, semi in zip(centres, radii, strict=True):
        index, parts = [], []
        for a, n in enumerate(shape):
            lo, hi = int(np.floor(c[a] - reach * semi[a])) - 1, int(np.ceil(c[a] + reach * semi[a])) + 1
            ii = np.arange(n) if hi - lo + 1 >= n else np.arange(lo, hi + 1) % n
            delta = ii + 0.5 - c[a]
            delta -= size[a] * np.round(delta / size[a])  # nearest periodic image
            index.append(ii)
            parts.append((delta / semi[a]) ** 2)
        d = np.sqrt(sum(np.reshape(p, [-1 if b == a else 1 for b in range(len(shape))])
                        for a, p in enumerate(parts)))
        box = np.ix_(*index)
        best[box] = np.minimum(best[box], d)
    return best


def _periodic_edt(mask: np.ndarray, margin: int) -> np.ndarray:
    """Euclidean distance of each voxel to the nearest voxel outside ``mask`` (periodic),
    exact up to ``margin`` voxels (the image is padded by that much of itself)."""
    margin = int(min(max(margin, 1), min(mask.shape)))
    padded = np.pad(mask, margin, mode="wrap")
    d = edt.edt(padded, black_border=False, parallel=1).astype(np.float64)
    return d[tuple(slice(margin, margin + n) for n in mask.shape)]


def _drainage_water(pore: np.ndarray, n_water: int) -> np.ndarray:
    """Pore voxels left to water by morphological drainage, exactly ``n_water`` of them."""
    if n_water <= 0:
        return np.zeros(pore.shape, dtype=bool)
    margin = max(pore.shape) // 2
    dist = _periodic_edt(pore, margin)

    def water_at(radius):
        centres = dist > radius
        if not centres.any():
            return pore.copy()
        # distance to the nearest ball centre, needed up to the radius only
        reach = _periodic_edt(~centres, int(np.ceil(radius)) + 2)
        return pore & ~(reach <= radius)

    radii = np.unique(dist[pore])
    lo, hi = 0, len(radii) - 1
    if water_at(radii[hi]).sum() < n_water:
        return pore.copy() if pore.sum() <= n_water else _fill_closest(pore, dist, n_water)
    while hi - lo > 1:  # water grows with the radius of the invading air balls
        mid = (lo + hi) // 2
        if water_at(radii[mid]).sum() >= n_water:
            hi = mid
        else:
            lo = mid
    low, high = water_at(radii[lo]), water_at(radii[hi])
    if low.sum() >= n_water:
        low = np.zeros(pore.shape, dtype=bool)
    extra = np.flatnonzero(high & ~low)
    need = n_water - int(low.sum())
    pick = extra[np.argsort(dist.ravel()[extra], kind="stable")[:need]]
    low.ravel()[pick] = True
    return low


def _bridges(air: np.ndarray, liquid: np.ndarray, n: int) -> np.ndarray:
    """``n`` air voxels that bridge the narrowest air gaps between liquid bodies.

    The morphological closing of the liquid with a ball of radius r fills every air gap
    narrower than about 2r between two liquid surfaces; r grows until the gaps hold ``n``
    voxels, and the last gaps are filled from the liquid side inwards.
    """
    margin = max(air.shape) // 2
    to_liquid = _periodic_edt(~liquid, margin)  # distance of a voxel to the nearest liquid
    chosen = np.zeros(air.shape, dtype=bool)
    for r in np.arange(1.0, max(air.shape), 0.5):
        dilated = to_liquid <= r
        closed = _periodic_edt(dilated, int(np.ceil(r)) + 2) > r  # erosion of the dilation: the closing
        gaps = air & closed & ~chosen
        if chosen.sum() + gaps.sum() >= n:
            idx = np.flatnonzero(gaps)
            idx = idx[np.argsort(to_liquid.ravel()[idx], kind="stable")[: n - int(chosen.sum())]]
            chosen.ravel()[idx] = True
            return chosen
        chosen |= gaps
    idx = np.flatnonzero(air & ~chosen)  # fewer gaps than mucilage: the rest next to the liquid
    chosen.ravel()[idx[np.argsort(to_liquid.ravel()[idx], kind="stable")[: n - int(chosen.sum())]]] = True
    return chosen


def _fill_closest(pore, dist, n):
    water = np.zeros(pore.shape, dtype=bool)
    idx = np.flatnonzero(pore)
    water.ravel()[idx[np.argsort(dist.ravel()[idx], kind="stable")[:n]]] = True
    return water


def inclusion_array(n: int, volume_fraction: float, dim: int = 2, matrix: int = WATER,
                    inclusion: int = SOLID) -> np.ndarray:
    """One cell of a square (2D) / simple cubic (3D) array of discs / spheres, voxelised.

    A voxel belongs to the inclusion when its centre lies inside the disc / sphere of the
    given volume fraction centred in the cell (n voxels per side).
    """
    unit = np.pi if dim == 2 else 4.0 * np.pi / 3.0
    radius = (volume_fraction / unit) ** (1.0 / dim) * n
    centre = np.indices((n,) * dim) + 0.5 - n / 2.0
    inside = np.sum(centre**2, axis=0) < radius**2
    return np.where(inside, inclusion, matrix).astype(np.uint8)


def laminate(shape: tuple[int, ...], axis: int, thicknesses: tuple[int, ...],
             labels: tuple[int, ...]) -> np.ndarray:
    """Layers normal to ``axis``: repeated runs of ``thicknesses[k]`` voxels of ``labels[k]``."""
    pattern = np.repeat(np.asarray(labels, dtype=np.uint8), thicknesses)
    along = np.resize(pattern, shape[axis])
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return np.broadcast_to(along.reshape(view), shape).copy()
