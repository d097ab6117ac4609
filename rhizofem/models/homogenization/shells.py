"""D_eff as a function of distance from the root surface: homogenization in shells.

On a 3D image with a root (``[shells] root_label``), the soil around the root is cut into
shells of width w at increasing distance from the root surface, d ∈ [k w, (k+1) w),
k = 0 … count − 1. Each shell is sampled by axis-aligned sub-volumes (boxes) on the four
sides of the root (±x and ±y of the cross-section, the root along the third axis): a box is
w thick in the radial direction (the voxels whose centres lie in the shell along that axis),
``tangential_um`` wide across it and ``axial_um`` long along the root, repeated along the
root. Each box is solved as a mirror cell (the Dirichlet / no-flux problem of
:func:`~rhizofem.models.homogenization.model.solve_image`: exact for the mirrored box, a
diagonal tensor), so its tensor is diagonal in the box's axes, which on the ±x sides are the
root's radial, tangential and axial directions (on ±y, tangential and radial swap): the tensor
in the root's frame needs no rotation.

Per shell: the mean tensor over its boxes (``D_eff``, relative to free water, per total
volume of the box) and the spread (standard deviation over the boxes, minimum, maximum).
The spread says how representative a box is: boxes a shell wide are smaller than a
representative volume of most soils, and the spread is the honest price of resolving the
rhizosphere radially.

Parallel: the boxes are dealt to the ranks round-robin and each is solved on its rank alone
(``MPI.COMM_SELF``), so the profile does not depend on the number of ranks.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

from rhizofem.config import param
from rhizofem.errors import ConfigError, InputError
from rhizofem.output import RunOutput, write_csv
from rhizofem.output.progress import progress
from rhizofem.parallel import on_root, rank0_print

__all__ = ["Shells", "radial_profile", "run_shells", "shell_boxes"]

FRAME = ("radial", "tangential", "axial")


@dataclass(frozen=True)
class Shells:
    width_um: float = param(50.0, "width of a shell, the radial thickness of its sub-volumes (µm)", gt=0)
    count: int = param(0, "number of shells from the root surface outwards; 0: no shells (the image's own tensor)",
                       ge=0)
    root_label: str = param("4", "label of the root in the image (give it diffusivity 0 in [phases])")
    tangential_um: float | None = param(None, "width of a sub-volume across the radial direction (µm); unset: "
                                              "4 × width_um", gt=0, example=200.0)
    axial_um: float | None = param(None, "length of a sub-volume along the root (µm); unset: the root's length in "
                                         "the image (one box per side and shell)", gt=0, example=400.0)

    @property
    def enabled(self) -> bool:
        return self.count > 0

    def check(self, phases) -> None:
        if not self.enabled:
            return
        if self.root_label not in phases.diffusivity or phases.diffusivity[self.root_label] != 0:
            raise ConfigError(f"[shells] root_label = '{self.root_label}' needs diffusivity 0 in [phases.diffusivity] "
                              "(the root is no part of the soil's liquid). Fix: add "
                              f"\"{self.root_label}\" = 0.0 there.")


@dataclass
class Box:
    shell: int
    side: str                 # "+x", "-x", "+y", "-y" (of the cross-section, root along z)
    slices: tuple[slice, slice, slice]
    inner_um: float
    outer_um: float


def _root_frame(labels: np.ndarray, root_label: int) -> tuple[int, np.ndarray, float, float]:
    """(axis the root runs along, centre of its cross-section in voxel units of the other two
    axes, radius in voxels, length in voxels)."""
    from rhizofem.links.cylinder import root_geometry

    root = labels == root_label
    if labels.ndim != 3 or not root.any():
        raise InputError(f"[shells] root_label = {root_label}: the image has no voxel of that label (3D image "
                         "needed). Fix: the root's label, or an image with a root.")
    geo = root_geometry(root, 1.0)
    axis = "xyz".index(geo["axis"])
    moved = np.moveaxis(root, axis, 2)
    ii, jj = np.nonzero(moved.any(axis=2))
    counts = moved.sum(axis=2)[ii, jj]
    centre = np.array([np.average(ii + 0.5, weights=counts), np.average(jj + 0.5, weights=counts)])
    return axis, centre, geo["radius"], geo["length"]


def shell_boxes(shape: tuple[int, int, int], centre: np.ndarray, radius: float, cfg: Shells,
                voxel_um: float, root_length: float) -> tuple[list[Box], int]:
    """The boxes of every shell in an image of ``shape`` (root along the last axis), and how
    many were left out because they would cross the image's border."""
    w = cfg.width_um / voxel_um
    half_t = 0.5 * (cfg.tangential_um if cfg.tangential_um is not None else 4.0 * cfg.width_um) / voxel_um
    axial = max(1, int(round((cfg.axial_um / voxel_um) if cfg.axial_um is not None else root_length)))
    nz = shape[2]
    slabs = [slice(z, z + axial) for z in range(0, nz - axial + 1, axial)] or [slice(0, nz)]
    boxes, dropped = [], 0
    for k in range(cfg.count):
        lo_d, hi_d = radius + k * w, radius + (k + 1) * w   # from the axis, voxel units
        for side in ("+x", "-x", "+y", "-y"):
            a = 0 if side[1] == "x" else 1            # the radial axis of this side
            sign = 1.0 if side[0] == "+" else -1.0
            c_r, c_t = centre[a], centre[1 - a]
            # voxels whose centre i + ½ lies at signed distance in [lo_d, hi_d) from the axis
            if sign > 0:
                r0, r1 = math.ceil(c_r + lo_d - 0.5), math.ceil(c_r + hi_d - 0.5)
            else:
                r0, r1 = math.floor(c_r - hi_d - 0.5) + 1, math.floor(c_r - lo_d - 0.5) + 1
            t0, t1 = math.ceil(c_t - half_t - 0.5), math.ceil(c_t + half_t - 0.5)
            if r1 <= r0 or t1 <= t0:
                raise ConfigError(f"[shells] width_um = {cfg.width_um} or tangential_um is below one voxel "
                                  f"({voxel_um} µm). Fix: at least a voxel.")
            if r0 < 0 or r1 > shape[a] or t0 < 0 or t1 > shape[1 - a]:
                dropped += len(slabs)
                continue
            for zs in slabs:
                sl = [None, None, zs]
                sl[a], sl[1 - a] = slice(r0, r1), slice(t0, t1)
                boxes.append(Box(k, side, tuple(sl), (lo_d - radius) * voxel_um, (hi_d - radius) * voxel_um))
    return boxes, dropped


def radial_profile(comm: MPI.Comm, labels: np.ndarray, config, say=lambda text: None) -> dict:
    """The radial profile of the image ``labels`` (on every rank) under ``config``."""
    from .model import solve_image

    cfg = config.shells
    phases = config.phases
    diffusivity = phases.label_diffusivity()
    _, D_ref = phases.reference()
    voxel = config.image.voxel_size_um
    root_label = int(cfg.root_label)
    axis, centre, radius, length = _root_frame(labels, root_label)
    moved = np.moveaxis(labels, axis, 2)
    boxes, dropped = shell_boxes(moved.shape, centre, radius, cfg, voxel, length)
    shells_present = {b.shell for b in boxes}
    missing = [k for k in range(cfg.count) if k not in shells_present]
    if missing:
        reach = radius * voxel + cfg.count * cfg.width_um
        raise InputError(f"[shells] shell {missing[0]} ({missing[0] * cfg.width_um:g}–{(missing[0] + 1) * cfg.width_um:g} "
                         f"µm from the root surface) has no sub-volume inside the image: the root's axis is at "
                         f"{np.round(centre * voxel, 1).tolist()} µm of a {moved.shape[0] * voxel:g} × "
                         f"{moved.shape[1] * voxel:g} µm cross-section, and the shells reach {reach:g} µm from it. "
                         "Fix: fewer or thinner shells, a smaller tangential_um, or a larger image.")
    liquid = [k for k, d in diffusivity.items() if d > 0]
    names = {int(k): v for k, v in phases.names.items()}
    local = []
    mine = list(range(comm.rank, len(boxes), comm.size))
    for i in progress(mine, desc="shells", unit="box", comm=comm):
        box = boxes[i]
        sub = np.ascontiguousarray(moved[box.slices])
        solved = solve_image(MPI.COMM_SELF, sub, diffusivity, voxel * 1e-6, "mirror", config.mesh.element,
                             config.mesh.connectivity, config.solver.petsc_options)
        D = np.diag(solved.D_eff) / D_ref
        frame = D if box.side[1] == "x" else D[[1, 0, 2]]
        perc = solved.percolates if box.side[1] == "x" else tuple(np.array(solved.percolates)[[1, 0, 2]])
        counts = {int(v): int(c) for v, c in zip(*np.unique(sub, return_counts=True), strict=True)}
        soil = sub.size - counts.get(root_label, 0)
        local.append({"index": i, "D": frame.tolist(), "percolates": [bool(p) for p in perc],
                      "liquid_fraction": sum(counts.get(k, 0) for k in liquid) / max(soil, 1),
                      "phase_fraction": {names.get(v, str(v)): c / max(soil, 1) for v, c in counts.items()
                                         if v != root_label}})
    results = sorted((r for part in comm.allgather(local) for r in part), key=lambda r: r["index"])
    n = cfg.count
    mean, std, lo, hi = np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 3))
    count, liquid_fraction, percolating = np.zeros(n, int), np.zeros(n), np.zeros((n, 3))
    fractions: list[dict] = []
    for k in range(n):
        rows = [r for r in results if boxes[r["index"]].shell == k]
        D = np.array([r["D"] for r in rows])
        mean[k], std[k] = D.mean(axis=0), D.std(axis=0)
        lo[k], hi[k] = D.min(axis=0), D.max(axis=0)
        count[k] = len(rows)
        liquid_fraction[k] = float(np.mean([r["liquid_fraction"] for r in rows]))
        percolating[k] = np.mean([r["percolates"] for r in rows], axis=0)
        phase_names = sorted({p for r in rows for p in r["phase_fraction"]})
        fractions.append({p: float(np.mean([r["phase_fraction"].get(p, 0.0) for r in rows])) for p in phase_names})
    soil_voxels = int(np.count_nonzero(labels != root_label))
    theta = int(np.count_nonzero(np.isin(labels, liquid))) / soil_voxels
    inner = np.arange(n) * cfg.width_um
    return {
        "frame": list(FRAME),
        "inner_um": inner, "outer_um": inner + cfg.width_um, "distance_um": inner + 0.5 * cfg.width_um,
        "D_eff": [np.diag(m) for m in mean], "D_eff_std": [np.diag(s) for s in std],
        "D_eff_min": [np.diag(m) for m in lo], "D_eff_max": [np.diag(m) for m in hi],
        "subvolumes": count, "liquid_fraction": liquid_fraction, "phase_fraction": fractions,
        "percolating_share": percolating,
        "water_content": theta,
        "relative_to": f"free water (D / D_ref = {D_ref:g}), per total volume of each sub-volume",
        "subvolume_um": {"radial": cfg.width_um,
                         "tangential": cfg.tangential_um if cfg.tangential_um is not None else 4 * cfg.width_um,
                         "axial": (cfg.axial_um if cfg.axial_um is not None else length * voxel)},
        "subvolumes_left_out_at_the_border": dropped,
        "root": {"axis": "xyz"[axis], "radius_um": radius * voxel, "length_um": length * voxel,
                 "centre_um": (centre * voxel).tolist()},
        "periodisation": "mirror (Dirichlet / no-flux on each sub-volume)",
        "subvolume_results": [{"shell": boxes[r["index"]].shell, "side": boxes[r["index"]].side,
                               "D_radial_tangential_axial": r["D"], "percolates": r["percolates"],
                               "liquid_fraction": r["liquid_fraction"]} for r in results],
    }


def image_inputs(path: Path | None) -> dict:
    """Provenance of an image file: its sha256, and the summary.json of the run that wrote it
    when one lies beside it."""
    if path is None:
        return {}
    from rhizofem.links.upstream import Upstream

    record = {"path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    summary = Path(path).parent / "summary.json"
    if summary.is_file():
        record["written_by"] = Upstream(summary, role="run that wrote the image").record()
    return {"image": record}


def run_shells(config, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD):
    """``rhizofem homogenize`` with ``[shells]``: results.radial_profile, radial_profile.csv and
    radial_profile.png."""
    from .model import load_labels

    t_start = time.perf_counter()
    with RunOutput(out_dir, comm, command="homogenize", config=config) as out:
        labels, source = on_root(comm, load_labels, config.image)
        profile = radial_profile(comm, labels, config)
        rows = []
        for k in range(config.shells.count):
            rows.append((k, profile["inner_um"][k], profile["outer_um"][k], *np.diag(profile["D_eff"][k]),
                         *np.diag(profile["D_eff_std"][k]), int(profile["subvolumes"][k]),
                         profile["liquid_fraction"][k]))
        write_csv(out.path("radial_profile.csv"),
                  ["shell", "inner_um", "outer_um", "D_radial", "D_tangential", "D_axial", "std_radial",
                   "std_tangential", "std_axial", "subvolumes", "liquid_fraction"], rows, comm)
        if out.enabled and config.output.figure:
            on_root(comm, _figure, out.path("radial_profile.png"), profile, source, config)
        out.summary(results={"radial_profile": profile},
                    geometry={"source": source, "shape": list(labels.shape),
                              "voxel_size_um": config.image.voxel_size_um},
                    inputs=image_inputs(config.image.path),
                    timings_s={"total": time.perf_counter() - t_start})
    lines = [f"rhizofem homogenize [shells]: {source}, root along {profile['root']['axis']} (radius "
             f"{profile['root']['radius_um']:.4g} µm); D_eff / D_0 by distance from the root surface "
             "(radial, tangential, axial; mean ± sd over the sub-volumes):"]
    for k in range(config.shells.count):
        m, s = np.diag(profile["D_eff"][k]), np.diag(profile["D_eff_std"][k])
        lines.append(f"  {profile['inner_um'][k]:6.0f}–{profile['outer_um'][k]:<6.0f} µm: "
                     + ", ".join(f"{a:.4g} ± {b:.2g}" for a, b in zip(m, s, strict=True))
                     + f"   ({int(profile['subvolumes'][k])} sub-volumes, liquid {profile['liquid_fraction'][k]:.3f})")
    if out.enabled:
        lines.append(f"  → {out.final_path('')}: summary.json, radial_profile.csv"
                     + (", radial_profile.png" if config.output.figure else ""))
    rank0_print(comm, "\n".join(lines))
    return profile


def _figure(path, profile, source, config) -> None:
    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    d = np.asarray(profile["distance_um"])
    for i, name in enumerate(FRAME):
        m = np.array([np.diag(t)[i] for t in profile["D_eff"]])
        s = np.array([np.diag(t)[i] for t in profile["D_eff_std"]])
        ax.errorbar(d + (i - 1) * 0.06 * config.shells.width_um, m, yerr=s, marker="o", capsize=3,
                    label=f"D_{name} (mean ± sd over sub-volumes)")
    ax.set_xlabel("distance from the root surface (µm)")
    ax.set_ylabel("D_eff / D_0 (per total volume)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    sub = profile["subvolume_um"]
    save_figure(fig, path, caption=f"{source}; shells of {config.shells.width_um:g} µm; sub-volumes "
                                   f"{sub['radial']:g} × {sub['tangential']:g} × {sub['axial']:.4g} µm "
                                   f"(radial × tangential × axial), mirror cells, {config.mesh.element}; "
                                   f"θ = {profile['water_content']:.3f}")
