"""The pore-scale domain: a 3D label image (solid, air, water, mucilage, root, POM), its liquid
voxels, the distance of every voxel from the root surface, and its partition over MPI ranks.

**Built-in sample.** A sand of overlapping spherical grains (radii uniform in a range, the
solid fraction met to one voxel by ranking the voxels by their distance to the nearest grain
centre relative to that grain's radius), a root cylinder along axis 0 whose surface enters
the sample through the axis-1 = 0 face, water kept in the narrowest pores by morphological
drainage (Hilpert & Miller 2001: a ball of radius R reaches every pore voxel within R of a
point further than R from the solid; R is bisected and the last voxels are chosen by their
distance to the solid, so the water content is met to one voxel; no trapping and no air
reservoir constraint), and POM fragments (balls clipped to the pores) at random pore places.

**Liquid and connectivity.** DOC lives in the liquid (water and mucilage). Two liquid voxels
exchange DOC only through a shared face: edge or corner contacts carry no flux.

**Partition.** Every rank holds the label image (8 bits a voxel); the liquid voxels, their
DOC, the bacteria and the POM are split into slabs of whole axis-0 planes with about equal
liquid counts. The liquid voxels are numbered in C order of the image, so a slab owns one
contiguous range of liquid numbers, and the slab together with one plane on each side (the
ghost planes a cell may reach in one lattice jump) is again contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI
from scipy import ndimage

from rhizofem.errors import InputError
from rhizofem.parallel import on_root

from .config import Config, Domain as DomainConfig

__all__ = ["NEIGHBOURS", "Domain", "build_domain", "default_sample", "drain", "edt"]

# face neighbours as (axis, step)
NEIGHBOURS = ((0, -1), (0, 1), (1, -1), (1, 1), (2, -1), (2, 1))


def edt(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (voxels) of each true voxel to the nearest false voxel."""
    try:
        import edt as _edt

        return _edt.edt(np.ascontiguousarray(mask, dtype=np.uint8), black_border=False, parallel=1)
    except ImportError:  # pragma: no cover - edt is a pinned dependency
        return ndimage.distance_transform_edt(mask)


def drain(pore: np.ndarray, n_water: int) -> np.ndarray:
    """Exactly ``n_water`` pore voxels left to water by morphological drainage (see module doc)."""
    if n_water <= 0:
        return np.zeros(pore.shape, dtype=bool)
    if n_water >= pore.sum():
        return pore.copy()
    dist = edt(pore)

    def water_at(radius: float) -> np.ndarray:
        centres = dist > radius
        if not centres.any():
            return pore.copy()
        return pore & ~(edt(~centres) <= radius)

    lo, hi = 0.0, float(dist.max())
    for _ in range(30):  # water grows with the invading ball radius
        if hi - lo < 1e-3:
            break
        mid = 0.5 * (lo + hi)
        if water_at(mid).sum() >= n_water:
            hi = mid
        else:
            lo = mid
    low, high = water_at(lo), water_at(hi)
    if low.sum() > n_water:
        low[:] = False
    extra = np.flatnonzero(high & ~low)
    need = n_water - int(low.sum())
    pick = extra[np.argsort(dist.ravel()[extra], kind="stable")[:need]]
    low.ravel()[pick] = True
    if low.sum() < n_water:  # the bisection bracket held fewer: the narrowest remaining pores
        rest = np.flatnonzero(pore.ravel() & ~low.ravel())
        low.ravel()[rest[np.argsort(dist.ravel()[rest], kind="stable")[: n_water - int(low.sum())]]] = True
    return low


def _root_axis(cfg: DomainConfig, shape) -> tuple[float, float]:
    h = cfg.voxel_size_um
    if cfg.root_axis_um is not None:
        return cfg.root_axis_um
    return (-0.2 * cfg.root_radius_um, 0.5 * shape[2] * h)


def root_mask(cfg: DomainConfig, shape) -> np.ndarray:
    """Voxels whose centre lies inside the root cylinder (axis along axis 0)."""
    h = cfg.voxel_size_um
    y0, z0 = _root_axis(cfg, shape)
    y = (np.arange(shape[1]) + 0.5) * h - y0
    z = (np.arange(shape[2]) + 0.5) * h - z0
    inside = (y[:, None] ** 2 + z[None, :] ** 2) <= cfg.root_radius_um**2
    return np.broadcast_to(inside[None, :, :], shape).copy()


def place_pom(labels: np.ndarray, cfg: DomainConfig, rng: np.random.Generator, pore: np.ndarray) -> None:
    """POM fragments: balls of ``pom_radius_um`` around random pore voxels, clipped to the pores."""
    L = cfg.labels
    h = cfg.voxel_size_um
    candidates = np.flatnonzero(pore)
    if cfg.pom_fragments == 0 or candidates.size == 0:
        return
    r = cfg.pom_radius_um / h
    centres = np.array(np.unravel_index(rng.choice(candidates, cfg.pom_fragments, replace=False), labels.shape)).T
    reach = int(np.ceil(r))
    offs = np.arange(-reach, reach + 1)
    dx, dy, dz = np.meshgrid(offs, offs, offs, indexing="ij")
    ball = (dx**2 + dy**2 + dz**2) <= r * r
    dx, dy, dz = dx[ball], dy[ball], dz[ball]
    for c in centres:
        p = np.stack([c[0] + dx, c[1] + dy, c[2] + dz], axis=1)
        ok = np.all((p >= 0) & (p < np.array(labels.shape)), axis=1)
        p = p[ok]
        sel = pore[p[:, 0], p[:, 1], p[:, 2]]
        labels[p[sel, 0], p[sel, 1], p[sel, 2]] = L.pom


def default_sample(cfg: DomainConfig) -> np.ndarray:
    """The built-in synthetic sand around a root (see the module docstring)."""
    L = cfg.labels
    shape = tuple(int(n) for n in cfg.size_voxels)
    h = cfg.voxel_size_um
    rng = np.random.default_rng(cfg.sample_seed)
    root = root_mask(cfg, shape)
    soil = ~root
    n_soil = int(soil.sum())
    # grains: centres in the box grown by the largest radius, enough to cover the solid volume twice
    rmin, rmax = (r / h for r in cfg.grain_radius_um)
    lo = -rmax * np.ones(3)
    hi = np.array(shape, dtype=float) + rmax
    mean_ball = 4.0 / 3.0 * np.pi * np.mean(rng.uniform(rmin, rmax, 1000) ** 3)
    n_grains = max(1, int(2.0 * (1.0 - cfg.porosity) * np.prod(hi - lo) / mean_ball))
    centres = rng.uniform(lo, hi, size=(n_grains, 3))
    radii = rng.uniform(rmin, rmax, n_grains)
    # nearest grain centre of each voxel (on a grid padded by the largest radius)
    pad = int(np.ceil(rmax))
    grid_shape = tuple(n + 2 * pad for n in shape)
    marks = np.ones(grid_shape, dtype=bool)
    idx = np.clip(np.floor(centres + pad).astype(int), 0, np.array(grid_shape) - 1)
    owner = np.full(grid_shape, -1, dtype=np.int64)
    marks[idx[:, 0], idx[:, 1], idx[:, 2]] = False
    owner[idx[:, 0], idx[:, 1], idx[:, 2]] = np.arange(n_grains)
    _, nearest = ndimage.distance_transform_edt(marks, return_indices=True)
    inner = tuple(slice(pad, pad + n) for n in shape)
    near = owner[nearest[0][inner], nearest[1][inner], nearest[2][inner]]
    del nearest
    pts = np.stack(np.meshgrid(*[np.arange(n) + 0.5 for n in shape], indexing="ij"), axis=-1)
    rel = np.linalg.norm(pts - centres[near], axis=-1) / radii[near]
    del pts
    n_solid = int(round((1.0 - cfg.porosity) * n_soil))
    order = np.flatnonzero(soil.ravel())[np.argsort(rel.ravel()[soil.ravel()], kind="stable")]
    labels = np.full(shape, L.air, dtype=np.uint8)
    labels.ravel()[order[:n_solid]] = L.solid
    labels[root] = L.root
    pore = labels == L.air
    place_pom(labels, cfg, rng, pore)
    pore = labels == L.air
    n_water = int(round(min(cfg.water_content, cfg.porosity) * n_soil))
    n_water = min(n_water, int(pore.sum()))
    labels[drain(pore, n_water)] = L.water
    return labels


def read_domain_image(cfg: DomainConfig) -> np.ndarray:
    """A given label image, checked, with the built-in root and POM added if asked."""
    from rhizofem.imaging.io import read_image

    L = cfg.labels
    image = np.asarray(read_image(cfg.image))
    where = str(cfg.image)
    if image.ndim != 3:
        raise InputError(f"{where}: the microbes model needs a 3D label image, this one has shape {image.shape}. "
                         "Fix: give a 3D image (nx, ny, nz).")
    known = set(L.as_dict().values())
    found = set(np.unique(image).tolist())
    unknown = sorted(found - known)
    if unknown:
        raise InputError(f"{where}: label value(s) {unknown} are not in [domain.labels] ({L.as_dict()}). "
                         "Fix: map every label of the image to a phase under [domain.labels].")
    image = image.astype(np.uint8, copy=True)
    rng = np.random.default_rng(cfg.sample_seed)
    if cfg.add_root:
        image[root_mask(cfg, image.shape)] = L.root
    if cfg.add_pom:
        place_pom(image, cfg, rng, (image == L.water) | (image == L.air) | (image == L.mucilage))
    return image


@dataclass
class Domain:
    """The image, its liquid numbering, distances from the root and this rank's slab."""

    labels: np.ndarray           # (nx, ny, nz) uint8 on every rank
    voxel_um: float
    liquid_flat: np.ndarray      # flat image index of every liquid voxel, C order (global numbering)
    liquid_index: np.ndarray     # flat image index -> liquid number, -1 elsewhere (int32)
    D_factor: np.ndarray         # per liquid voxel: diffusivity relative to water (1 or the mucilage factor)
    distance_um: np.ndarray      # per liquid voxel: distance of its centre from the root surface, µm
    planes: np.ndarray           # (size+1,) first axis-0 plane of each rank's slab
    liquid_start: np.ndarray     # (size+1,) first liquid number of each rank's slab
    rank: int
    source: str
    _neighbours: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.labels.shape)

    @property
    def plane_size(self) -> int:
        return self.shape[1] * self.shape[2]

    @property
    def n_liquid(self) -> int:
        return int(self.liquid_flat.size)

    @property
    def owned(self) -> tuple[int, int]:
        """This rank's range of liquid numbers."""
        return int(self.liquid_start[self.rank]), int(self.liquid_start[self.rank + 1])

    @property
    def extended(self) -> tuple[int, int]:
        """This rank's liquid range with one ghost plane on each side."""
        p0, p1 = self.planes[self.rank], self.planes[self.rank + 1]
        ps = self.plane_size
        lo = np.searchsorted(self.liquid_flat, max(p0 - 1, 0) * ps)
        hi = np.searchsorted(self.liquid_flat, min(p1 + 1, self.shape[0]) * ps)
        return int(lo), int(hi)

    @property
    def voxel_cm3(self) -> float:
        return (self.voxel_um * 1e-4) ** 3

    def owner_of_voxel(self, flat: np.ndarray) -> np.ndarray:
        """Rank that owns each flat voxel index (by its axis-0 plane)."""
        return np.searchsorted(self.planes, flat // self.plane_size, side="right") - 1

    def neighbour(self, flat: np.ndarray, k: int) -> np.ndarray:
        """Flat index of face neighbour ``k`` (see :data:`NEIGHBOURS`), -1 outside the image."""
        axis, step = NEIGHBOURS[k]
        coord = np.unravel_index(flat, self.shape)[axis] + step
        strides = (self.plane_size, self.shape[2], 1)
        out = flat + step * strides[axis]
        return np.where((coord >= 0) & (coord < self.shape[axis]), out, -1)

    def is_liquid(self, flat: np.ndarray) -> np.ndarray:
        ok = flat >= 0
        res = np.zeros(flat.shape, dtype=bool)
        res[ok] = self.liquid_index[flat[ok]] >= 0
        return res

    def liquid_neighbours(self) -> np.ndarray:
        """(n_liquid, 6) liquid number of each face neighbour of each liquid voxel, -1 where it is
        not liquid (built once; the walk of the cells looks its steps up here)."""
        if self._neighbours is None:
            table = np.full((self.n_liquid, 6), -1, dtype=np.int32)
            for k in range(6):
                nb = self.neighbour(self.liquid_flat, k)
                ok = nb >= 0
                table[ok, k] = self.liquid_index[nb[ok]]
            self._neighbours = table
        return self._neighbours


def partition(liquid_per_plane: np.ndarray, size: int) -> np.ndarray:
    """First plane of each of ``size`` slabs with about equal liquid counts (every slab ≥ 1 plane)."""
    n = len(liquid_per_plane)
    if n < size:
        raise InputError(f"the image has {n} planes along axis 0, fewer than the {size} MPI ranks. Fix: run on "
                         f"at most {n} ranks or give a longer image.")
    cum = np.concatenate(([0], np.cumsum(liquid_per_plane)))
    targets = cum[-1] * np.arange(1, size) / size
    cuts = np.searchsorted(cum, targets, side="left")
    planes = np.concatenate(([0], cuts, [n])).astype(np.int64)
    for r in range(1, size + 1):  # at least one plane each, kept increasing
        planes[r] = max(planes[r], planes[r - 1] + 1)
    for r in range(size - 1, 0, -1):
        planes[r] = min(planes[r], planes[r + 1] - 1)
    return planes


def build_domain(config: Config, comm: MPI.Comm) -> Domain:
    """Read or generate the image on rank 0, share it, number the liquid, split the slabs."""
    cfg = config.domain
    L = cfg.labels

    def make():
        image = default_sample(cfg) if cfg.image is None else read_domain_image(cfg)
        return image

    labels = on_root(comm, make)
    source = "built-in sample" if cfg.image is None else str(cfg.image)
    liquid = (labels == L.water) | (labels == L.mucilage)
    if not liquid.any():
        raise InputError(f"{source}: the image holds no liquid (labels water {L.water} / mucilage {L.mucilage}). "
                         "Fix: check [domain.labels] or the water content.")
    liquid_flat = np.flatnonzero(liquid.ravel())
    liquid_index = np.full(labels.size, -1, dtype=np.int32)
    liquid_index[liquid_flat] = np.arange(liquid_flat.size, dtype=np.int32)
    D_factor = np.where(labels.ravel()[liquid_flat] == L.mucilage, config.carbon.mucilage_D_factor, 1.0)
    root = labels == L.root
    if root.any():
        dist = (edt(~root).ravel()[liquid_flat] - 0.5) * cfg.voxel_size_um
    else:
        dist = np.full(liquid_flat.size, np.nan)
    planes = partition(liquid.sum(axis=(1, 2)), comm.size)
    start = np.searchsorted(liquid_flat, planes * labels.shape[1] * labels.shape[2])
    return Domain(labels, cfg.voxel_size_um, liquid_flat, liquid_index, D_factor, dist, planes, start,
                  comm.rank, source)


def contact_faces(dom: Domain, flat: np.ndarray, label: int) -> np.ndarray:
    """For each voxel in ``flat``: how many of its faces it shares with voxels of ``label``."""
    count = np.zeros(flat.size, dtype=np.int64)
    lab = dom.labels.ravel()
    for k in range(6):
        nb = dom.neighbour(flat, k)
        ok = nb >= 0
        count[ok] += lab[nb[ok]] == label
    return count


def boundary_faces(dom: Domain, flat: np.ndarray, faces) -> np.ndarray:
    """For each voxel in ``flat``: how many of its faces lie on the image faces named in ``faces``."""
    count = np.zeros(flat.size, dtype=np.int64)
    coords = np.unravel_index(flat, dom.shape)
    for face in faces:
        axis = "xyz".index(face[0])
        at = 0 if face[1] == "-" else dom.shape[axis] - 1
        count += coords[axis] == at
    return count


def describe(dom: Domain, config: Config) -> dict:
    """Phase fractions, liquid counts, the root contact area and the POM (for summary.json)."""
    L = config.domain.labels
    counts = np.bincount(dom.labels.ravel(), minlength=256)
    n = dom.labels.size
    root = counts[L.root]
    soil = n - root
    h_cm = dom.voxel_um * 1e-4
    contact = int(contact_faces(dom, dom.liquid_flat, L.root).sum())
    out = {
        "source": dom.source,
        "shape": list(dom.shape),
        "voxel_size_um": dom.voxel_um,
        "size_mm": [s * dom.voxel_um * 1e-3 for s in dom.shape],
        "fractions": {k: counts[v] / n for k, v in L.as_dict().items()},
        "porosity_of_soil": (counts[L.air] + counts[L.water] + counts[L.mucilage] + counts[L.pom]) / max(soil, 1),
        "water_content_of_soil": (counts[L.water] + counts[L.mucilage]) / max(soil, 1),
        "liquid_voxels": dom.n_liquid,
        "root_liquid_contact_faces": contact,
        "root_liquid_contact_cm2": contact * h_cm * h_cm,
        "pom_voxels": int(counts[L.pom]),
        "slab_planes": dom.planes.tolist(),
    }
    return out
