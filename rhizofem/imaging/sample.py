"""Synthetic segmented samples: a root with root hairs among soil aggregates, in a tube.

The seed's case study 3 images a maize root with root hairs in soil (synchrotron CT, 0.65 µm
voxels). Its region of interest, about 1.8 × 1.3 × 1.4 mm with the root running along the
1.4 mm axis, holds 1.3 mm³ of soil aggregates, 1.1 mm³ of air-filled macropores, 0.4 mm³ of
root and 0.4 mm³ of air outside the sample tube; the epidermis has 3.9 mm² of surface, of
which 6.1 % touches soil, 17.7 % with the hairs. That image is not public, so rhizofem builds
samples like it from a few physical parameters (:class:`SampleParams`):

1. the **tube**: voxels outside a circle (the tube wall, parallel to the root) are outside;
2. the **root**: a cylinder of radius ``root_radius_um`` along z, roughened by epidermal-cell
   bulges (small half-balls on its surface), inside an air gap ``root_gap_um`` wide (the
   root channel: a root grows in a macropore and touches aggregates only here and there);
3. the **root hairs**: straight cylinders of radius ``hair_radius_um`` from random points of
   the root surface, pointing outwards with a random spread, of random length;
4. **contact aggregates**: balls pressed against the root until the fraction
   ``root_contact_fraction`` of the epidermis touches soil (the last ball is trimmed to hit
   the target to one voxel);
5. **bulk aggregates**: balls of random radius outside the root channel until the soil
   fills ``soil_fraction`` of the image (again the last ball trimmed); what is left between
   them is macropore air. Hairs stay hair where aggregates grow around them, so the hair
   contact follows from the hair density, length and the soil around them.

Deterministic: the generator draws only uniform numbers from NumPy's PCG64 stream (seeded
by ``seed``) and uses only IEEE basic arithmetic (+, −, ×, ÷, √, no libm functions), so the
same parameters give the same array bit for bit on every rank and machine.

The **default** sample keeps the seed's cross-section (1.8 × 1.3 mm, so the volume fractions
can match) but is shorter along the root (0.36 mm) with 9 µm voxels, so that it meshes in
seconds into a soil mesh that the exudation demo solves in minutes on two cores; the seed's
full length is the config ``meshes/seed_size_sample.toml``. :func:`compare_with_seed` puts
its numbers next to the seed's (fractions, and areas per mm of root).

``rhizofem sample CONFIG.toml --out DIR`` writes DIR/sample.npy (labels as in
:class:`rhizofem.imaging.io.Labels`: outside 0, soil 1, pore 2, root 3, hair 4),
DIR/section.npy (the middle cross-section, a 2D sample), DIR/sample.png (three sections),
DIR/mesh.toml (a config for ``rhizofem mesh`` on this sample) and DIR/summary.json with the
geometry metrics of :mod:`rhizofem.imaging.metrics`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from rhizofem.config import param, section
from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging.io import Labels
from rhizofem.imaging.metrics import geometry_metrics

__all__ = [
    "CONFIG_TITLE",
    "SEED_CASE_STUDY_3",
    "Config",
    "SampleParams",
    "compare_with_seed",
    "default_sample",
    "generate_sample",
    "remove_hairs",
    "run",
    "section_2d",
]

CONFIG_TITLE = """rhizofem sample: a synthetic segmented sample (root with hairs among soil aggregates).
rhizofem sample CONFIG.toml --out DIR  writes DIR/sample.npy (labels: outside 0, soil 1,
pore 2, root 3, hair 4), DIR/section.npy, DIR/sample.png, DIR/mesh.toml, DIR/summary.json.
Lengths in micrometres; fractions of the whole image."""

# the voxel size of the built-in default sample (SampleParams' default), µm
DEFAULT_SAMPLE_VOXEL_UM = 9.0

# The seed's region of interest (Schnepf et al. 2022, case study 3): the four phases as
# published (rounded to 0.1 mm³), the root length along the ROI's 1.4 mm axis, the epidermis
# area and the contact fractions.
SEED_CASE_STUDY_3 = {
    "soil_volume_mm3": 1.3,
    "pore_volume_mm3": 1.1,
    "root_volume_mm3": 0.4,
    "outside_volume_mm3": 0.4,
    "root_length_mm": 1.4,
    "epidermis_area_mm2": 3.9,
    "contact_fraction_root": 0.061,
    "contact_fraction_root_hairs": 0.177,
}


@dataclass(frozen=True)
class SampleParams:
    """The ``[sample]`` section: geometry of a synthetic root-hair-soil sample.

    Axis 0 (x) and 1 (y) span the cross-section, the root runs along axis 2 (z).
    Coordinates are in µm from the image corner.
    """

    seed: int = param(
        14, "seed of the random generator (same seed and parameters, same image; 14: see docs/meshing.md)", ge=0)
    size_um: tuple[float, float, float] = param(
        (1800.0, 1296.0, 360.0), "image size along x, y, z (the root runs along z)", gt=0)
    voxel_size_um: float = param(DEFAULT_SAMPLE_VOXEL_UM, "edge length of a cubic voxel", gt=0)

    root_radius_um: float = param(300.0, "radius of the root cylinder (maize: ~300)", gt=0)
    root_axis_um: tuple[float, float] = param((900.0, 600.0), "x, y of the root axis")
    root_gap_um: float = param(
        40.0, "width of the air gap around the root that only contact aggregates and hairs cross", ge=0)
    root_bump_radius_um: float = param(
        15.0, "radius of the epidermal-cell bulges on the root surface (0: smooth root)", ge=0)
    root_bump_density_per_mm2: float = param(
        230.0, "bulges per mm² of root surface (2π r × length)", ge=0)
    root_contact_fraction: float = param(
        0.061, "target fraction of the epidermis area touching soil (seed: 0.061)", ge=0, lt=1)
    contact_aggregate_radius_um: tuple[float, float] = param(
        (30.0, 80.0), "min, max radius of the aggregates pressed against the root", gt=0)

    hair_radius_um: float = param(9.0, "radius of a root hair (maize: ~9)", gt=0)
    hair_length_um: tuple[float, float] = param((200.0, 600.0), "min, max length of a root hair", gt=0)
    hair_density_per_mm2: float = param(
        11.5, "root hairs per mm² of root surface (2π r × length)", ge=0)
    hair_spread: float = param(
        0.5, "random deviation of a hair from the root normal (0: straight out; 1: up to 45°)", ge=0)

    soil_fraction: float = param(
        0.40625, "target volume fraction of soil aggregates in the image (seed: 1.3/3.2)", gt=0, lt=1)
    aggregate_radius_um: tuple[float, float] = param(
        (40.0, 200.0), "min, max radius of the bulk soil aggregates", gt=0)

    tube_radius_um: float = param(1500.0, "inner radius of the sample tube (axis parallel to z)", gt=0)
    tube_axis_um: tuple[float, float] = param(
        (900.0, -270.4), "x, y of the tube axis (default: 12.5 % of the image outside the tube, as the seed)")

    def __post_init__(self):
        for name in ("contact_aggregate_radius_um", "hair_length_um", "aggregate_radius_um"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ConfigError(f"{name} = [{lo}, {hi}]: the minimum exceeds the maximum. Fix: give [min, max].")
        if self.hair_radius_um < 0.5 * self.voxel_size_um:
            raise ConfigError(
                f"hair_radius_um = {self.hair_radius_um} is under half a voxel ({self.voxel_size_um} µm): "
                "hairs would vanish from the image. Fix: smaller voxel_size_um or larger hair_radius_um.")
        if self.hair_radius_um >= self.root_radius_um:
            raise ConfigError("hair_radius_um must be smaller than root_radius_um. Fix: hairs are thin (~9 µm).")
        if min(self.size_um) < 2 * self.voxel_size_um:
            raise ConfigError(f"size_um = {list(self.size_um)} is under two voxels along an axis. "
                              "Fix: a larger size_um or smaller voxel_size_um.")
        rx, ry = self.root_axis_um
        if not (0 < rx < self.size_um[0] and 0 < ry < self.size_um[1]):
            raise ConfigError(f"root_axis_um = [{rx}, {ry}] is outside the image cross-section "
                              f"[0, {self.size_um[0]}] × [0, {self.size_um[1]}]. Fix: move the root inside.")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxels along x, y, z (the size rounded to whole voxels)."""
        return tuple(max(2, int(round(s / self.voxel_size_um))) for s in self.size_um)


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------

_L = Labels()


def _unit_vector(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A uniformly random unit vector, by rejection from the cube (no libm functions)."""
    while True:
        v = 2.0 * rng.random(dim) - 1.0
        n2 = float(v @ v)
        if 1e-6 < n2 <= 1.0:
            return v / math.sqrt(n2)


def _in_ball(rng: np.random.Generator, dim: int) -> np.ndarray:
    while True:
        v = 2.0 * rng.random(dim) - 1.0
        if float(v @ v) <= 1.0:
            return v


def _box(shape, h, lo_um, hi_um):
    """Index slices of the voxels whose centres may lie in [lo, hi] (µm), and their centres."""
    lo = [max(0, int(math.floor(a / h - 0.5))) for a in lo_um]
    hi = [min(n, int(math.ceil(b / h + 0.5)) + 1) for b, n in zip(hi_um, shape, strict=True)]
    if any(a >= b for a, b in zip(lo, hi, strict=True)):
        return None, None
    slices = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    centres = [((np.arange(a, b) + 0.5) * h).reshape([-1 if i == k else 1 for i in range(len(shape))])
               for k, (a, b) in enumerate(zip(lo, hi, strict=True))]
    return slices, centres


def _ball(shape, h, centre, radius):
    """(slices, squared distance to the centre) of the voxels in the ball's bounding box."""
    slices, xs = _box(shape, h, [c - radius for c in centre], [c + radius for c in centre])
    if slices is None:
        return None, None
    d2 = sum((x - c) ** 2 for x, c in zip(xs, centre, strict=True))
    return slices, d2


def _segment(shape, h, a, b, radius):
    """(slices, squared distance to the segment ab) of the voxels in its bounding box."""
    lo = [min(p, q) - radius for p, q in zip(a, b, strict=True)]
    hi = [max(p, q) + radius for p, q in zip(a, b, strict=True)]
    slices, xs = _box(shape, h, lo, hi)
    if slices is None:
        return None, None
    d = [q - p for p, q in zip(a, b, strict=True)]
    dd = sum(c * c for c in d)
    rel = [x - p for x, p in zip(xs, a, strict=True)]
    t = np.clip(sum(r * c for r, c in zip(rel, d, strict=True)) / dd, 0.0, 1.0)
    d2 = sum((r - t * c) ** 2 for r, c in zip(rel, d, strict=True))
    return slices, d2


def _face_neighbours(mask: np.ndarray) -> np.ndarray:
    """For every voxel, how many of its face neighbours lie in ``mask``."""
    count = np.zeros(mask.shape, dtype=np.int8)
    for axis in range(mask.ndim):
        lo = [slice(None)] * mask.ndim
        hi = [slice(None)] * mask.ndim
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        count[tuple(lo)] += mask[tuple(hi)]
        count[tuple(hi)] += mask[tuple(lo)]
    return count


def _grow(labels, slices, d2, radius2, free, target_left, weight=None):
    """Turn free voxels of a ball into soil, nearest the centre first, up to ``target_left``.

    ``weight`` (default 1 per voxel) is what each new soil voxel adds towards the target
    (its volume, or the root faces it covers); the ball is trimmed so that the total added
    stays within the target. Returns the amount added.
    """
    region = labels[slices]
    new = (d2 <= radius2) & free[slices]
    idx = np.flatnonzero(new)
    if idx.size == 0:
        return 0
    w = np.ones(idx.size, dtype=np.int64) if weight is None else weight[slices].ravel()[idx].astype(np.int64)
    order = np.lexsort((idx, np.broadcast_to(d2, new.shape).ravel()[idx]))  # nearest first, ties by index
    cum = np.cumsum(w[order])
    # stop at the voxel that reaches the target (the total overshoots by less than one voxel)
    take = min(int(np.searchsorted(cum, target_left, side="left")) + 1, idx.size)
    chosen = np.unravel_index(idx[order[:take]], new.shape)
    region[chosen] = _L.soil  # region is a view of labels (basic slicing)
    free[slices][chosen] = False
    return int(cum[take - 1])


def generate_sample(params: SampleParams | None = None) -> np.ndarray:
    """The label image (uint8, shape ``params.shape``) of a synthetic sample (module docstring)."""
    p = params if params is not None else SampleParams()
    rng = np.random.default_rng(p.seed)
    h = float(p.voxel_size_um)
    shape = p.shape
    nx, ny, nz = shape
    length_um = nz * h
    x = ((np.arange(nx) + 0.5) * h)[:, None]
    y = ((np.arange(ny) + 0.5) * h)[None, :]
    rx, ry = p.root_axis_um
    r = p.root_radius_um

    # 1-2. tube, root cylinder, root channel (cross-sections, then extruded along z)
    labels = np.full(shape, _L.pore, dtype=np.uint8)
    tx, ty = p.tube_axis_um
    outside2d = (x - tx) ** 2 + (y - ty) ** 2 > p.tube_radius_um**2
    rr2 = (x - rx) ** 2 + (y - ry) ** 2
    labels[outside2d] = _L.outside
    labels[rr2 <= r * r] = _L.root
    channel = np.broadcast_to((rr2 <= (r + p.root_gap_um) ** 2)[:, :, None], shape)

    lateral_mm2 = 2.0 * math.pi * r * length_um * 1e-6

    def surface_point():
        u = _unit_vector(rng, 2)
        return u, rng.random() * length_um

    nb = int(round(p.root_bump_density_per_mm2 * lateral_mm2)) if p.root_bump_radius_um > 0 else 0
    for _ in range(nb):
        u, z = surface_point()
        slices, d2 = _ball(shape, h, (rx + r * u[0], ry + r * u[1], z), p.root_bump_radius_um)
        if slices is not None:
            region = labels[slices]
            region[(d2 <= p.root_bump_radius_um**2) & (region == _L.pore)] = _L.root

    # 3. root hairs, from the root surface outwards (never into the tube wall's outside)
    nh = int(round(p.hair_density_per_mm2 * lateral_mm2))
    rh = p.hair_radius_um
    for _ in range(nh):
        u, z = surface_point()
        normal = np.array([u[0], u[1], 0.0])
        direction = normal + p.hair_spread * _in_ball(rng, 3)
        direction /= math.sqrt(float(direction @ direction))
        lo, hi = p.hair_length_um
        hair_len = lo + (hi - lo) * rng.random()
        start = (rx + (r - h) * u[0], ry + (r - h) * u[1], z)
        end = tuple(s + hair_len * c for s, c in zip(start, direction, strict=True))
        slices, d2 = _segment(shape, h, start, end, rh)
        if slices is not None:
            region = labels[slices]
            region[(d2 <= rh * rh) & (region == _L.pore)] = _L.hair

    # 4. contact aggregates: soil pressed against the root until the contact target
    root = labels == _L.root
    free = labels == _L.pore
    root_faces = _face_neighbours(root)
    epidermis = int(root_faces[~root].sum())
    contact_target = int(round(p.root_contact_fraction * epidermis))
    reachable = int(root_faces[free].sum())
    if contact_target > reachable:
        raise InputError(
            f"[sample] root_contact_fraction = {p.root_contact_fraction}: at most "
            f"{reachable / max(epidermis, 1):.3f} of the epidermis is free to touch soil. "
            "Fix: a smaller root_contact_fraction or fewer hairs.")
    contact = 0
    lo, hi = p.contact_aggregate_radius_um
    for _ in range(100_000):
        if contact >= contact_target:
            break
        u, z = surface_point()
        a = lo + (hi - lo) * rng.random()
        depth = r + a * (0.5 * rng.random())  # the centre sits just outside the root surface
        slices, d2 = _ball(shape, h, (rx + depth * u[0], ry + depth * u[1], z), a)
        if slices is not None:
            contact += _grow(labels, slices, d2, a * a, free, contact_target - contact, weight=root_faces)
    else:  # pragma: no cover - the reachable check above makes this unlikely
        raise InputError("[sample] root_contact_fraction not reached after 100000 aggregates. Fix: lower it.")

    # 5. bulk aggregates outside the root channel until the soil fraction
    soil_target = int(round(p.soil_fraction * labels.size))
    soil = int(np.count_nonzero(labels == _L.soil))
    free &= ~channel
    available = soil + int(np.count_nonzero(free))
    if soil_target > available:
        raise InputError(
            f"[sample] soil_fraction = {p.soil_fraction}: only {available / labels.size:.3f} of the image "
            "is free for aggregates (inside the tube, outside the root channel and hairs). "
            "Fix: a smaller soil_fraction, a wider tube or a narrower root_gap_um.")
    lo, hi = p.aggregate_radius_um
    size = np.array(p.size_um[:2] + (length_um,))
    for _ in range(1_000_000):
        if soil >= soil_target:
            break
        centre = rng.random(3) * size
        a = lo + (hi - lo) * rng.random() ** 2  # more small aggregates than large ones
        slices, d2 = _ball(shape, h, tuple(centre), a)
        if slices is not None:
            soil += _grow(labels, slices, d2, a * a, free, soil_target - soil)
    else:  # pragma: no cover
        raise InputError("[sample] soil_fraction not reached after 1e6 aggregates. Fix: lower it.")
    return labels


@functools.lru_cache(maxsize=1)
def _default_sample() -> np.ndarray:
    image = generate_sample(SampleParams())
    image.flags.writeable = False  # shared by every caller: nobody may change it
    return image


def default_sample() -> tuple[np.ndarray, float]:
    """The built-in default sample (read-only, cached in memory) and its voxel size in µm."""
    return _default_sample(), DEFAULT_SAMPLE_VOXEL_UM


def remove_hairs(labels: np.ndarray, label_map: Labels | None = None) -> np.ndarray:
    """The hairless variant: hair voxels become pore (air).

    The soil is unchanged voxel for voxel, so the hairless and the hairy sample share one
    diffusion domain and differ only in the inlet (the hair contact becomes no-flux),
    which is how the seed compares them.
    """
    lm = label_map if label_map is not None else Labels()
    out = np.array(labels, copy=True)
    out[out == lm.hair] = lm.pore
    return out


def section_2d(labels: np.ndarray, axis: int = 2, index: int | None = None) -> np.ndarray:
    """A 2D section of a 3D label image (default: the middle cross-section of the root).

    ``axis=2`` cuts across the root (a disc with hair pieces); ``axis=0`` or ``1`` cut along
    it. The result is a 2D label image that every 2D route of rhizofem takes.
    """
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise InputError(f"section_2d needs a 3D image, got shape {labels.shape}.")
    n = labels.shape[axis]
    index = n // 2 if index is None else int(index)
    if not 0 <= index < n:
        raise InputError(f"section index {index} is outside 0..{n - 1} along axis {axis}.")
    return np.ascontiguousarray(np.take(labels, index, axis=axis))


def compare_with_seed(metrics: dict, root_length_mm: float) -> dict:
    """The sample's geometry next to the seed's (fractions; areas per mm of root).

    Returns ``{name: {"sample": v, "seed": v_seed, "relative_error": (v - v_seed)/v_seed}}``
    for the four volume fractions (of the phases' total, as the seed's numbers add up to
    3.2 mm³), the epidermis area scaled to the seed's 1.4 mm of root, and both contact
    fractions.
    """
    seed = SEED_CASE_STUDY_3
    phases = ("soil", "pore", "root", "outside")
    seed_total = sum(seed[f"{p}_volume_mm3"] for p in phases)
    rows = {f"{p}_fraction": (metrics[f"{p}_fraction"], seed[f"{p}_volume_mm3"] / seed_total) for p in phases}
    rows["epidermis_area_mm2_per_1.4mm"] = (
        metrics["epidermis_area_mm2"] * seed["root_length_mm"] / root_length_mm, seed["epidermis_area_mm2"])
    for k in ("contact_fraction_root", "contact_fraction_root_hairs"):
        rows[k] = (metrics[k], seed[k])
    return {k: {"sample": v, "seed": s, "relative_error": (v - s) / s} for k, (v, s) in rows.items()}


# --------------------------------------------------------------------------------------
# The `rhizofem sample` command
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """``rhizofem sample`` configuration."""

    sample: SampleParams = section(SampleParams, "geometry of the synthetic sample (lengths in µm)")
    picture: bool = param(True, "draw DIR/sample.png (three sections through the sample)")


@dataclass
class Result:
    labels: np.ndarray
    voxel_size_um: float
    geometry: dict
    seed_comparison: dict


def run(config: Config | None = None, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Generate the sample (on rank 0, broadcast), measure it, write the files."""
    from rhizofem.output import RunOutput
    from rhizofem.parallel import on_root

    config = config if config is not None else Config()
    p = config.sample
    with RunOutput(out_dir, comm, command="sample", config=config) as out:
        labels = on_root(comm, generate_sample, p)
        geometry = geometry_metrics(labels, p.voxel_size_um)
        length_mm = labels.shape[2] * p.voxel_size_um * 1e-3
        comparison = compare_with_seed(geometry, length_mm)
        if out.enabled:
            on_root(comm, _write_files, out, config, labels, bcast=False)
        out.summary(
            geometry=geometry,
            sample={"shape": list(labels.shape), "root_length_mm": length_mm,
                    "voxel_size_um": p.voxel_size_um, "labels": Labels().as_dict()},
            seed_comparison=comparison,
        )
    if comm.rank == 0 and out.enabled:
        print(f"rhizofem sample: {labels.shape} voxels of {p.voxel_size_um} µm → {out.out_dir} "
              "(sample.npy, section.npy, sample.png, mesh.toml, summary.json)", flush=True)
    return Result(labels, p.voxel_size_um, geometry, comparison)


def _write_files(out, config: Config, labels: np.ndarray) -> None:
    np.save(out.path("sample.npy"), labels)
    np.save(out.path("section.npy"), section_2d(labels))
    out.path("mesh.toml").write_text(
        "# rhizofem mesh configuration for the sample written next to this file\n"
        "[image]\n"
        'path = "sample.npy"\n'
        f"voxel_size_um = {config.sample.voxel_size_um!r}\n", encoding="utf-8")
    if config.picture:
        save_sections_picture(out.path("sample.png"), labels, config.sample.voxel_size_um)


PHASE_COLOURS = {  # label value -> (name, colour); one legend for every picture of a sample
    _L.outside: ("outside (tube air)", "#b5b5b5"),
    _L.soil: ("soil aggregate", "#8c6d46"),
    _L.pore: ("macropore (air)", "#d8e6f0"),
    _L.root: ("root", "#3a8c3a"),
    _L.hair: ("root hair", "#e0302a"),
}


def save_sections_picture(path, labels: np.ndarray, voxel_size_um: float) -> None:
    """Sections through a label image (across the root, along it) and its hairs, as a PNG.

    Hairs are thin, so a section catches little of them: one panel shows every hair voxel
    projected along the root onto the middle cross-section.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from rhizofem.output.plots import pyplot

    plt = pyplot()
    values = sorted(PHASE_COLOURS)
    lut = np.zeros(max(values) + 1, dtype=np.int64)
    lut[values] = np.arange(len(values))
    cmap = ListedColormap([PHASE_COLOURS[v][1] for v in values])
    h_mm = voxel_size_um * 1e-3
    nx, ny, nz = labels.shape
    middle = section_2d(labels, 2)
    projected = np.where(np.any(labels == _L.hair, axis=2), _L.hair, middle)
    cuts = [
        ("across the root (middle of z)", middle, (nx, ny), ("x (mm)", "y (mm)")),
        ("every root hair, projected along z", projected, (nx, ny), ("x (mm)", "y (mm)")),
        ("along the root (middle of y)", section_2d(labels, 1), (nx, nz), ("x (mm)", "z (mm)")),
        ("along the root (middle of x)", section_2d(labels, 0), (ny, nz), ("y (mm)", "z (mm)")),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), layout="constrained",
                             gridspec_kw={"height_ratios": [ny, max(nz, ny // 3)]})
    for ax, (title, img, (a, b), (xl, yl)) in zip(axes.ravel(), cuts, strict=True):
        ax.imshow(lut[img.T], origin="lower", extent=(0, a * h_mm, 0, b * h_mm), cmap=cmap,
                  vmin=-0.5, vmax=len(values) - 0.5, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    fig.legend(handles=[Patch(color=PHASE_COLOURS[v][1], label=PHASE_COLOURS[v][0]) for v in values],
               loc="outside lower center", ncol=len(values), frameon=False)
    fig.savefig(path, dpi=100)
    plt.close(fig)
