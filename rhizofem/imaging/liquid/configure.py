"""From a label image and a ``[liquid]`` section to phase images at exact water contents,
the retention curve, and the classic D_eff(θ) laws they are compared with."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rhizofem.errors import InputError

from .morphology import Sequence, drainage, effective_radius, imbibition
from .mucilage import dry_with_mucilage, gel_voxel_count, mackie_meares, polymer_mass_mg
from .stage import LiquidStage

__all__ = [
    "Configuration",
    "build_sequence",
    "campbell_b",
    "capillary_pressure",
    "configuration",
    "mucilage_relative_diffusivity",
    "percolation_threshold",
    "retention",
    "water_content_at_radius",
]


@dataclass
class Configuration:
    """One liquid configuration: its phase image and what it holds."""

    target: float
    water_content: float  # liquid (water + mucilage) per total volume, as met
    liquid_voxels: int
    labels: np.ndarray
    stage: str  # "saturated", "capillary", "gel" (mucilage thinning) or "dry"
    capillary_pressure_Pa: float | None
    radius_um: float | None
    water_fraction: float
    mucilage_fraction: float
    mucilage_concentration_mg_cm3: float | None

    def report(self) -> dict:
        """JSON-ready summary (without the image)."""
        return {k: v for k, v in self.__dict__.items() if k != "labels"}


def capillary_pressure(level2: float, stage: LiquidStage, voxel_size_m: float, dim: int) -> tuple[float, float]:
    """(p in Pa, R in m) of the pore-size class of squared ball radius ``level2`` (voxels²):
    R = (√n − ½) h, p = 2 σ cos θ_c / R in 3D, σ cos θ_c / R in 2D."""
    radius = float(effective_radius(level2)) * voxel_size_m
    factor = 2.0 if dim == 3 else 1.0
    return factor * stage.surface_tension_N_m * math.cos(math.radians(stage.contact_angle_deg)) / radius, radius


def build_sequence(labels: np.ndarray, stage: LiquidStage, pore_labels: Iterable[int],
                   voxel_size_m: float, source: str = "image") -> Sequence:
    """The drainage / imbibition (and mucilage drying) sequence of the pore space of
    ``labels``: every voxel whose label is in ``pore_labels``."""
    labels = np.asarray(labels)
    pore = np.isin(labels, list(pore_labels))
    run = drainage if stage.method == "drainage" else imbibition
    seq = run(pore, stage.inlet, stage.trapping, stage.outlet, stage.periodic)
    if not stage.has_mucilage:
        return seq
    voxel_cm3 = (voxel_size_m * 100.0) ** 3
    polymer = polymer_mass_mg(stage.mucilage_mg_g, stage.solid_density_g_cm3, int((~pore).sum()), voxel_cm3)
    if stage.mucilage_placement == "liquid":
        mucilage = pore
    elif stage.mucilage_placement == "contacts":
        n0 = int(round(polymer / (stage.mucilage_initial_mg_cm3 * voxel_cm3)))
        mucilage = seq.liquid(min(max(n0, 1), seq.n_pore))
    else:
        mucilage = pore & (labels == stage.mucilage_label)
        if not mucilage.any():
            raise InputError(f"{source}: mucilage_placement = \"label\" but no pore voxel has the "
                             f"mucilage label {stage.mucilage_label}. Fix: label the mucilage, or use "
                             "placement \"liquid\" or \"contacts\".")
    gel = gel_voxel_count(polymer, stage.gel_mg_cm3, voxel_cm3)
    return dry_with_mucilage(seq, mucilage, polymer, gel, voxel_cm3)


def _limits(seq: Sequence) -> tuple[int, int]:
    """Fewest and most liquid voxels a configuration of ``seq`` can have."""
    if seq.method == "drainage":
        return seq.always_liquid(), seq.n_pore
    return 0, seq.n_pore - seq.never_liquid()


def configuration(seq: Sequence, target: float, labels: np.ndarray, stage: LiquidStage,
                  voxel_size_m: float) -> Configuration:
    """The phase image of ``seq`` at liquid content ``target`` (met to one voxel)."""
    n = seq.count(target)
    lo, hi = _limits(seq)
    if not lo <= n <= hi:
        porosity = seq.n_pore / seq.size
        if n > seq.n_pore:
            why = f"above the porosity {porosity:.4g}"
        elif n < lo:
            why = (f"below the lowest liquid content this drainage leaves, {lo / seq.size:.4g} (water that "
                   "the gas cannot reach or that is trapped, and gel that cannot thin further at this "
                   "voxel size)")
        else:
            why = f"above the highest liquid content this imbibition reaches, {hi / seq.size:.4g} (trapped air)"
        raise InputError(f"[liquid] water_content {target} is {why}. Fix: ask for water contents "
                         f"between {lo / seq.size:.4g} and {hi / seq.size:.4g}.")
    liquid = seq.liquid(n)
    pore = seq.pore
    mucilage = liquid & seq.mucilage if seq.mucilage is not None else np.zeros_like(liquid)
    out = np.array(labels, copy=True)
    out[pore & ~liquid] = stage.air_label
    out[liquid & ~mucilage] = stage.water_label
    out[mucilage] = stage.mucilage_label

    dim = len(seq.shape)
    pressure = radius = None
    if seq.method == "drainage":
        position = n if n < seq.n_pore else None  # the first drained voxel
    else:
        position = n - 1 if n > 0 else None  # the last filled voxel
    if position is None:
        state = "saturated" if seq.method == "drainage" else "dry"
    else:
        level = float(seq.level2[position])
        state = "gel" if seq.gel is not None and seq.gel[position] else "capillary"
        if 0 < level < math.inf:
            pressure, radius = capillary_pressure(level, stage, voxel_size_m, dim)
    n_mu = int(mucilage.sum())
    conc = seq.polymer_mg / (n_mu * seq.voxel_cm3) if n_mu else None
    return Configuration(float(target), n / seq.size, n, out, state, pressure,
                         None if radius is None else radius * 1e6, (n - n_mu) / seq.size, n_mu / seq.size, conc)


def water_content_at_radius(seq: Sequence, radius_voxels: float) -> float:
    """Water content of a water-only drainage (imbibition) once the meniscus radius has come
    down (gone up) to ``radius_voxels``: voxels of classes with (√n − ½) below it hold water."""
    effective = effective_radius(np.where(np.isfinite(seq.level2), seq.level2, 0.0))
    if seq.method == "drainage":
        water = (seq.level2 == 0) | (effective < radius_voxels)
    else:
        water = np.isfinite(seq.level2) & (effective < radius_voxels)
    return int(np.count_nonzero(water)) / seq.size


def retention(seq: Sequence, stage: LiquidStage, voxel_size_m: float) -> list[dict]:
    """The capillary pressure–water content curve: one point per pore-size class, the water
    content when that class has drained (filled), by increasing capillary pressure."""
    dim = len(seq.shape)
    levels = seq.level2
    points = []
    for n in np.unique(levels[(levels > 0) & np.isfinite(levels)]):
        where = np.flatnonzero(levels == n)
        count = where[0] if seq.method == "drainage" else where[-1] + 1
        p, r = capillary_pressure(float(n), stage, voxel_size_m, dim)
        points.append({"capillary_pressure_Pa": p, "radius_um": r * 1e6, "water_content": count / seq.size,
                       "saturation": count / seq.n_pore})
    points.sort(key=lambda q: q["capillary_pressure_Pa"])
    return points


def campbell_b(points: list[dict], porosity: float) -> float | None:
    """Campbell's b from a retention curve: least squares of ln p = ln p_e − b ln(θ/φ) over
    the points with 0.05 < θ/φ < 0.95 (the air-entry plateau and the residual end left out);
    None with fewer than three such points."""
    use = [(q["capillary_pressure_Pa"], q["water_content"] / porosity) for q in points
           if 0.05 < q["water_content"] / porosity < 0.95]
    if len(use) < 3:
        return None
    p, s = np.array(use).T
    slope = np.polyfit(np.log(s), np.log(p), 1)[0]
    return float(-slope) if slope < 0 else None


def mucilage_relative_diffusivity(concentration: float | None, stage: LiquidStage, phases_value: float,
                                  water_value: float) -> float:
    """Diffusivity of the mucilage phase (in the units of [phases]) at a polymer concentration."""
    if stage.mucilage_diffusivity == "phases" or concentration is None:
        return phases_value
    return water_value * mackie_meares(concentration, stage.polymer_density_g_cm3)


def percolation_threshold(seq: Sequence, periodic: bool, n_range: tuple[int, int] | None = None
                          ) -> list[float | None]:
    """Per axis, the lowest liquid content (to one voxel) at which the liquid of ``seq``
    percolates, by bisection on the nested configurations; None if it never does.

    Percolation is :func:`rhizofem.imaging.connectivity.clusters`'s rule, the one the
    homogenization uses (on the torus when ``periodic``, else between opposite faces).
    """
    from rhizofem.imaging.connectivity import clusters

    lo, hi = n_range if n_range is not None else _limits(seq)
    cache: dict[int, tuple[bool, ...]] = {}

    def percolates(n: int) -> tuple[bool, ...]:
        if n not in cache:
            cache[n] = clusters(seq.liquid(n), periodic=periodic).percolates if n else (False,) * len(seq.shape)
        return cache[n]

    out: list[float | None] = []
    for axis in range(len(seq.shape)):
        if not percolates(hi)[axis]:
            out.append(None)
            continue
        if percolates(lo)[axis]:
            out.append(lo / seq.size)
            continue
        a, b = lo, hi  # a does not percolate, b does
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (a, mid) if percolates(mid)[axis] else (mid, b)
        out.append(b / seq.size)
    return out
