"""``rhizofem homogenize``: image → liquid mesh → cell problems → effective tensor → report."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging import pores
from rhizofem.imaging.io import read_image
from rhizofem.output import RunOutput, progress, write_csv
from rhizofem.output.performance import Clock, recorded
from rhizofem.parallel import on_root, rank0_print
from rhizofem.soil import millington_quirk

from .cell import CellTensor, cell_tensor, distribute_cell, liquid_mesh
from .config import Config, Image, Phases

__all__ = ["Result", "Solved", "image_statistics", "load_labels", "richardson", "run", "solve_image",
           "tensor_report", "zero_non_percolating"]


@dataclass
class Result:
    """What ``run`` returns (the same numbers as summary.json's ``results``)."""

    D_eff: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray  # row k is the eigenvector of eigenvalues[k]
    porosity: float
    liquid_fraction: float
    millington_quirk: float
    percolates: tuple[bool, ...]
    symmetry_defect: float
    ratio_to_millington_quirk: np.ndarray
    periodisation: str
    summary: dict[str, Any] = field(default_factory=dict)
    tensor: CellTensor | None = None
    D_eff_solver: np.ndarray | None = None  # before the rows of non-percolating axes were set to 0


SAMPLE_RESOLUTION = {2: 1, 3: 4}  # built-in samples: voxels per unit of their grain geometry
STORED = {"sand_2d": "sand_section_2d.npy", "sand_2d_water": "sand_section_2d_water.npy",
          "sand_3d": "sand_3d.npy", "sand_3d_water": "sand_3d_water.npy"}
MESHES = Path(__file__).resolve().parents[3] / "meshes"  # in a source checkout


def sample_dimension(name: str) -> int:
    return 3 if name.startswith("sand_3d") else 2


def resolved(config: Config) -> Config:
    """The configuration with what will run filled in ([image] resolution)."""
    image = config.image
    if image.resolution is not None:
        return config
    default = 1 if image.path is not None else SAMPLE_RESOLUTION[sample_dimension(image.sample)]
    return dataclasses.replace(config, image=dataclasses.replace(image, resolution=default))


def load_labels(image: Image, resolution: int | None = None) -> tuple[np.ndarray, str]:
    """The label image a configuration names (a file or a built-in sample) and its source.

    ``resolution`` (default ``image.resolution``, else the sample's own): a built-in sample
    rasterised with that many voxels per unit of its grain geometry; an image file with
    each voxel split into resolution^d.
    """
    if image.path is not None:
        split = int(resolution or image.resolution or 1)
        labels = np.asarray(read_image(image.path, raw_shape=image.raw_shape, raw_dtype=image.raw_dtype))
        for axis in range(labels.ndim) if split > 1 else ():
            labels = np.repeat(labels, split, axis=axis)
        return labels, str(image.path) + (f" (voxels split {split}^{labels.ndim})" if split > 1 else "")
    dim = sample_dimension(image.sample)
    default = SAMPLE_RESOLUTION[dim]
    r = int(resolution or image.resolution or default)
    source = f"built-in sample {image.sample}" + (f" at resolution {r}" if r != default else "")
    stored = MESHES / STORED[image.sample]
    if r == default and stored.is_file():  # the generator's output, stored (checked by the tests)
        return np.load(stored), source
    mucilage = not image.sample.endswith("_water")
    make = pores.sand_sample_3d if dim == 3 else pores.sand_section_2d
    return make(mucilage=mucilage, resolution=r), source


def study_levels(config: Config) -> list[int]:
    """The resolutions of a resolution study (absolute: voxels per unit / split count),
    including the run's own; refuses factors that do not give whole numbers."""
    base = config.image.resolution
    levels = {base}
    for f in config.study.resolution:
        level = base * f
        if abs(level - round(level)) > 1e-3 * level or round(level) < 1:
            what = ("voxels per unit of the sample's grains" if config.image.path is None
                    else "split count of the file's voxels")
            raise ConfigError(f"[study] resolution: factor {f:g} times [image] resolution = {base} gives "
                              f"{level:g}, not a whole number of {what}. Fix: use factors k/{base} "
                              f"with whole k, e.g. {[round(k / base, 4) for k in (2 * base, 3 * base)]}.")
        levels.add(int(round(level)))
    return sorted(levels)


def image_statistics(labels: np.ndarray, phases: Phases, source: str = "image") -> dict[str, Any]:
    """Volume fractions, porosity φ (1 − solid fraction) and water content θ (liquid fraction).

    Fractions are voxel counts over the image size, so a saturated image (liquid count =
    pore count) has θ = φ exactly. Refuses an image with a label the diffusivity table
    lacks, or without liquid.
    """
    values, counts = np.unique(labels, return_counts=True)
    diffusivity = phases.label_diffusivity()
    missing = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if int(v) not in diffusivity]
    if missing:
        listed = ", ".join(f"{v} ({c} voxels)" for v, c in missing)
        raise InputError(f"{source}: label(s) {listed} are not in [phases.diffusivity] "
                         f"(it lists {', '.join(sorted(phases.diffusivity))}). Fix: add each label "
                         "with its diffusivity (0 for solid and air).")
    total = int(labels.size)
    count = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    fraction = {v: c / total for v, c in count.items()}
    solid = {int(k) for k in phases.solid}
    # from integer counts, not by subtracting fractions: 1 − 0.55 is 0.44999999999999996,
    # and a saturated image must not be refused for θ = 0.45 > φ
    n_pore = total - sum(c for v, c in count.items() if v in solid)
    n_liquid = sum(c for v, c in count.items() if diffusivity[v] > 0)
    porosity, theta = n_pore / total, n_liquid / total
    if n_liquid == 0:
        raise InputError(f"{source}: no voxel has a label of positive diffusivity "
                         f"(labels present: {sorted(fraction)}). Fix: check [phases.diffusivity] "
                         "or the segmentation.")
    return {
        "fraction": fraction,
        "porosity": porosity,
        "liquid_fraction": theta,
        "liquid_fraction_per_phase": {phases.name(v): f for v, f in fraction.items() if diffusivity[v] > 0},
        "volume_fraction_per_phase": {phases.name(v): f for v, f in fraction.items()},
        "millington_quirk": millington_quirk(theta, porosity),
    }


def tensor_report(D_eff: np.ndarray) -> dict[str, Any]:
    """Eigen-decomposition (largest first, each vector's largest component positive) and
    relative symmetry defect ‖D − Dᵀ‖/‖D‖ of a tensor."""
    norm = float(np.linalg.norm(D_eff))
    defect = float(np.linalg.norm(D_eff - D_eff.T)) / norm if norm > 0 else 0.0
    w, v = np.linalg.eigh(0.5 * (D_eff + D_eff.T))
    order = np.argsort(w)[::-1]
    w, v = w[order], v[:, order].T
    v *= np.where(v[np.arange(len(v)), np.argmax(np.abs(v), axis=1)] < 0, -1.0, 1.0)[:, None]
    return {"eigenvalues": w, "eigenvectors": v, "symmetry_defect": defect}


def zero_non_percolating(D_eff: np.ndarray, percolates) -> tuple[np.ndarray, dict[str, Any]]:
    """D_eff with the row and column of every axis along which no liquid cluster percolates
    set to 0, and a note per such axis.

    Exact, not a cosmetic: if no cluster winds around axis i (translation) or joins the two
    faces normal to i (mirror), every lattice direction the liquid conducts along has a zero
    i-component, so D_eff e_i = 0 and e_iᵀ D_eff = 0. The solver reaches that only up to its
    tolerance (values like −1.6e-13); the note keeps the solver's largest entry of the row.
    """
    D = np.array(D_eff, dtype=np.float64, copy=True)
    notes = {}
    for i, conducts in enumerate(percolates):
        if not conducts:
            solver = float(max(np.max(np.abs(D[i, :])), np.max(np.abs(D[:, i]))))
            D[i, :] = 0.0
            D[:, i] = 0.0
            notes["xyz"[i]] = (f"no liquid path along {'xyz'[i]} through shared voxel faces: row and column "
                               f"set to 0 (the solver's largest entry there was {solver:.1e})")
    return D, notes


@dataclass
class Solved:
    """One image solved: the tensor (rows of non-percolating axes zeroed) and its mesh."""

    D_eff: np.ndarray
    D_solver: np.ndarray
    percolates: tuple[bool, ...]
    notes: dict[str, str]
    clusters: int
    shape: tuple[int, ...]
    cells: int
    nodes: int
    cell_type: str
    tensor: CellTensor | None
    seconds: float


def solve_image(comm: MPI.Comm, labels: np.ndarray | None, diffusivity: dict[int, float], voxel_m: float,
                periodisation: str, element: str = "Q1", connectivity: str = "face",
                petsc_options=None, clock: Clock | None = None) -> Solved:
    """The effective tensor of ``labels`` (given on rank 0; None elsewhere); the time split into
    ``clock`` if given."""
    t = time.perf_counter()
    clock = clock if clock is not None else Clock()
    periodic = periodisation == "translation"

    def mesh():
        if not np.any(np.isin(labels, [k for k, d in diffusivity.items() if d > 0])):
            return None  # a sub-volume without liquid conducts nothing
        return liquid_mesh(labels, diffusivity, voxel_m, periodic, element, connectivity)

    with clock.stage("meshing"):
        lm = on_root(comm, mesh, bcast=False)
        info = comm.bcast(None if comm.rank else (
            (lm.clusters.percolates, lm.clusters.count, len(lm.cells), len(lm.points)) if lm is not None else None,
            labels.shape), root=0)
    (mesh_info, shape) = info
    dim = len(shape)
    if mesh_info is None:
        zero = np.zeros((dim, dim))
        return Solved(zero, zero, (False,) * dim, {"xyz"[i]: "no liquid" for i in range(dim)}, 0,
                      tuple(shape), 0, 0, "", None, time.perf_counter() - t)
    percolates, n_clusters, n_cells, n_nodes = mesh_info
    with clock.stage("meshing"):
        cell = distribute_cell(comm, lm, diffusivity)
    del lm
    ct = cell_tensor(cell, periodisation, petsc_options, clock)
    D, notes = zero_non_percolating(ct.D_eff, percolates)
    return Solved(D, ct.D_eff, tuple(percolates), notes, n_clusters, tuple(shape), n_cells, n_nodes,
                  cell.mesh.topology.cell_type.name, ct, time.perf_counter() - t)


def run(config: Config, out_dir: str | Path | None = None, comm: MPI.Comm = MPI.COMM_WORLD,
        report: bool = True) -> Result:
    """Effective diffusion tensor of the configured image (see :mod:`.cell` for the maths).

    With ``out_dir`` and ``report``, rank 0 ends by printing the headline results and the
    files written (:func:`report_lines`).
    """
    config = resolved(config)
    if config.shells.enabled:  # D_eff in shells around a root: results.radial_profile (docs/links.md)
        from .shells import run_shells

        return run_shells(config, out_dir, comm)
    if config.liquid.enabled:  # the [liquid] stage: D_eff(θ) of the image's pore space
        from rhizofem.models.liquid.curve import run_curve

        return run_curve(config, config.liquid, out_dir, comm)
    study_levels(config)  # refuse bad study factors before any work
    with (RunOutput(out_dir, comm, command="homogenize", config=config) as out,
          recorded(out, comm, "meshing: the image, its liquid mesh on rank 0 and the distribution") as clock):
        t_start = time.perf_counter()
        phases = config.phases
        diffusivity = phases.label_diffusivity()
        mode = config.cell.periodisation
        voxel_m = config.image.voxel_size_um * 1e-6

        def prepare():
            labels, source = load_labels(config.image)
            return labels, source, image_statistics(labels, phases, source)

        t = time.perf_counter()
        with clock.stage("meshing"):
            prepared = on_root(comm, prepare, bcast=False)
            labels, source, stats = prepared if comm.rank == 0 else (None, None, None)
            image_s = time.perf_counter() - t
            source, stats = comm.bcast((source, stats) if comm.rank == 0 else None, root=0)
        solved = solve_image(comm, labels, diffusivity, voxel_m, mode, config.mesh.element,
                             config.mesh.connectivity, config.solver.petsc_options, clock)
        ct = solved.tensor
        clock.dofs = ct.num_dofs if ct is not None else None
        shape = solved.shape

        report = tensor_report(solved.D_eff)
        _, D_ref = phases.reference()
        mq = stats["millington_quirk"]
        ratio = report["eigenvalues"] / (mq * D_ref)
        timings = {"image": image_s, **ct.timings}
        timings["solve_per_rhs"] = float(np.mean(ct.timings["solves"]))
        results = {
            "D_eff": solved.D_eff,
            "eigenvalues": report["eigenvalues"],
            "eigenvectors": report["eigenvectors"],
            "porosity": stats["porosity"],
            "liquid_fraction": stats["liquid_fraction"],
            "millington_quirk": mq,
            "millington_quirk_formula": "theta^(10/3) / phi^2 (Millington & Quirk 1961), times D_ref",
            "percolates": list(solved.percolates),
            "connectivity": config.mesh.connectivity,
            "non_percolating": solved.notes,
            "symmetry_defect": report["symmetry_defect"],
            "ratio_to_millington_quirk": ratio,
            "reference_diffusivity": D_ref,
            "D_eff_over_reference": solved.D_eff / D_ref,
            "liquid_fraction_per_phase": stats["liquid_fraction_per_phase"],
            "volume_fraction_per_phase": stats["volume_fraction_per_phase"],
            "liquid_clusters": solved.clusters,
            "periodisation": mode,
        }
        if config.study.resolution:
            t = time.perf_counter()
            with clock.stage("resolution_study"):
                results["resolution_study"] = resolution_study(comm, config, solved)
            timings["resolution_study"] = time.perf_counter() - t
        if config.study.sizes:
            t = time.perf_counter()
            with clock.stage("size_study"):
                results["size_study"] = size_study(comm, config, labels, shape)
            timings["size_study"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t_start
        out.summary(
            results=results,
            mesh={"element": config.mesh.element, "connectivity": config.mesh.connectivity,
                  "cell_type": solved.cell_type, "cells": comm.allreduce(
                      ct.correctors[0].function_space.mesh.topology.index_map(len(shape)).size_local),
                  "nodes": solved.nodes, "dofs": ct.num_dofs, "input_cells": solved.cells},
            solver={"petsc_options": dict(config.solver.petsc_options), "iterations": ct.iterations,
                    "constant_modes_pinned": ct.num_pinned, "D_eff_before_zeroing": solved.D_solver,
                    "periodic_partners_on_other_ranks": ct.num_remote_partners, "timings_s": timings},
            geometry={"source": source, "shape": list(shape), "voxel_size_um": config.image.voxel_size_um,
                      "extent_um": [n * config.image.voxel_size_um for n in shape]},
        )
        result = Result(solved.D_eff, report["eigenvalues"], report["eigenvectors"], stats["porosity"],
                        stats["liquid_fraction"], mq, tuple(solved.percolates), report["symmetry_defect"],
                        ratio, mode, summary=results, tensor=ct, D_eff_solver=solved.D_solver)
        with clock.stage("output"):
            files = _write_outputs(out, comm, config, labels, ct, result, stats, source) if out.enabled else []
    if out.enabled and report:
        rank0_print(comm, report_lines(result, config, source, shape, out.final_path(""),
                                       sorted([*files, "summary.json"])))
    return result


def report_lines(result: Result, config: Config, source: str, shape, out_dir, files) -> str:
    """What the command prints when it is done: the tensor's eigenvalues, percolation per
    axis, the Millington–Quirk comparison, the error estimate if studied, and the files."""
    axes = "xyz"[:len(shape)]
    s = result.summary
    D_ref = s["reference_diffusivity"]
    lines = [f"rhizofem homogenize: {source}, {'x'.join(map(str, shape))} voxels of "
             f"{config.image.voxel_size_um:g} µm, {result.periodisation} cell, {config.mesh.element}, "
             f"{config.mesh.connectivity} connectivity",
             "  D_eff / D_ref eigenvalues: " + ", ".join(f"{w / D_ref:.4g}" for w in result.eigenvalues)
             + "   diagonal: " + ", ".join(f"D_{a}{a} {result.D_eff[i, i] / D_ref:.4g}" for i, a in enumerate(axes)),
             "  percolates: " + ", ".join(f"{a} {'yes' if p else 'no'}" for a, p in zip(axes, result.percolates,
                                                                                        strict=True))]
    for note in s["non_percolating"].values():
        lines.append(f"    {note}")
    lines.append(f"  Millington-Quirk theta^(10/3)/phi^2 = {result.millington_quirk:.4g} (theta = "
                 f"{result.liquid_fraction:.4g}, phi = {result.porosity:.4g}); eigenvalue / MQ: "
                 + ", ".join(f"{r:.3g}" for r in result.ratio_to_millington_quirk))
    study = s.get("resolution_study")
    if study:
        lines.append("  estimated discretisation error of D_ii (vs extrapolation over voxel sizes "
                     + ", ".join(f"{h:.3g}" for h in study["voxel_size_um"]) + " µm): "
                     + ", ".join(f"{a} {e:+.1%}" for a, e in zip(axes, study["relative_error"], strict=True)))
    rev = s.get("size_study")
    if rev:
        lines.append("  size study: D_ii change between the two largest volumes: "
                     + ", ".join(f"{a} {e:+.1%}" for a, e in zip(axes, rev["relative_change_last_step"],
                                                                  strict=True)))
    lines.append(f"  → {out_dir}: {', '.join(files)}")
    return "\n".join(lines)


def richardson(h: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Extrapolation of ``values`` (levels × components) at voxel sizes ``h`` (decreasing) to
    h → 0, assuming D(h) = D0 + C h^p per component.

    With three or more levels, p is fitted to the last three and kept in [0.25, 2]: an
    apparent order above 2 (the element's order for smooth solutions) means the last
    difference is already small, and 2 keeps the estimate on the safe side. Where the last
    three are not monotone, or with two levels only, p = 1 is assumed. Every such choice is
    said in ``notes``. Returns (D0, p, notes).
    """
    h = np.asarray(h, dtype=np.float64)
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    n, m = values.shape
    D0, order, notes = np.zeros(m), np.ones(m), []
    low, high = 0.25, 2.0
    for c in range(m):
        v = values[:, c]
        p = 1.0
        if n >= 3:
            (h1, h2, h3), (d1, d2, d3) = h[-3:], v[-3:]
            ratio = (d1 - d2) / (d2 - d3) if d2 != d3 else np.inf
            model = lambda q: (h1**q - h2**q) / (h2**q - h3**q)  # noqa: E731  (increases with q)
            if d1 == d2 == d3:
                p = high
            elif not np.isfinite(ratio) or ratio <= 0:
                notes.append(f"component {c}: the last three levels are not monotone; first order assumed")
            elif ratio >= model(high):
                p = high
                notes.append(f"component {c}: apparent order above {high:g}; {high:g} used")
            elif ratio <= model(low):
                p = low
                notes.append(f"component {c}: apparent order below {low:g}; {low:g} used")
            else:
                lo, hi = low, high
                for _ in range(60):
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if model(mid) < ratio else (lo, mid)
                p = 0.5 * (lo + hi)
        elif n == 2:
            notes.append(f"component {c}: two levels only; first order assumed")
        order[c] = p
        D0[c] = v[-1] + (v[-1] - v[-2]) / ((h[-2] / h[-1]) ** p - 1.0) if n >= 2 else v[-1]
    return D0, order, notes


def resolution_study(comm: MPI.Comm, config: Config, base: Solved) -> dict[str, Any]:
    """D_ii at each resolution of the study (the run's own included), extrapolated."""
    levels = study_levels(config)
    run_level = config.image.resolution
    diffusivity = config.phases.label_diffusivity()
    h_um = config.image.voxel_size_um * run_level / np.array(levels, dtype=np.float64)
    diag, shapes = [], []
    for level, h in progress(list(zip(levels, h_um, strict=True)), desc="resolution study", unit="level",
                             comm=comm):
        if level == run_level:
            solved = base
        else:
            labels = on_root(comm, lambda level=level: load_labels(config.image, level)[0], bcast=False)
            solved = solve_image(comm, labels, diffusivity, h * 1e-6, config.cell.periodisation,
                                 config.mesh.element, config.mesh.connectivity, config.solver.petsc_options)
            del labels
        diag.append(np.diag(solved.D_eff))
        shapes.append(list(solved.shape))
    diag = np.array(diag)
    D0, order, notes = richardson(h_um, diag)
    this = levels.index(run_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(D0 != 0, diag[this] / D0 - 1.0, 0.0)
        finest = np.where(D0 != 0, diag[-1] / D0 - 1.0, 0.0)
    method = ("grains re-rasterised at each resolution (water and mucilage placed again)"
              if config.image.path is None else "each voxel split (error of the discretisation "
                                                "on this segmentation, not of the imaging)")
    return {"resolution": levels, "voxel_size_um": h_um.tolist(), "shape": shapes, "D_diag": diag,
            "order": order, "extrapolated": D0, "relative_error": error,
            "relative_error_finest": finest, "method": method, "notes": notes}


def size_study(comm: MPI.Comm, config: Config, labels: np.ndarray | None, shape) -> dict[str, Any]:
    """D_ii of centred sub-volumes (Dirichlet / no-flux problems) of growing edge."""
    diffusivity = config.phases.label_diffusivity()
    fractions = [*sorted(set(config.study.sizes)), 1.0]
    diag, shapes = [], []
    for f in progress(fractions, desc="size study", unit="volume", comm=comm):
        edge = [max(2, round(f * n)) for n in shape]
        box = tuple(slice((n - e) // 2, (n - e) // 2 + e) for n, e in zip(shape, edge, strict=True))
        sub = labels[box] if comm.rank == 0 else None
        solved = solve_image(comm, sub, diffusivity, config.image.voxel_size_um * 1e-6, "mirror",
                             config.mesh.element, config.mesh.connectivity, config.solver.petsc_options)
        diag.append(np.diag(solved.D_eff))
        shapes.append(edge)
    diag = np.array(diag)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(diag[-1] != 0, diag[-1] / diag[-2] - 1.0, 0.0) if len(diag) > 1 else np.zeros(len(shape))
    return {"edge_fraction": fractions, "shape": shapes, "D_diag": diag, "relative_change_last_step": change,
            "voxel_size_um": config.image.voxel_size_um,
            "periodisation": "mirror (Dirichlet / no-flux on each sub-volume)"}


def run_caption(config: Config, source: str, shape, result: Result) -> str:
    """The run's key parameters, for the caption of its figures."""
    return (f"{source}, {'x'.join(map(str, shape))} voxels of {config.image.voxel_size_um:g} µm; "
            f"{result.periodisation} cell, {config.mesh.element}, {config.mesh.connectivity} connectivity; "
            f"phi = {result.porosity:.3f}, theta = {result.liquid_fraction:.3f}, Millington-Quirk "
            f"theta^(10/3)/phi^2 = {result.millington_quirk:.3g}; D relative to D_ref = "
            f"{result.summary['reference_diffusivity']:g}")


def _write_outputs(out: RunOutput, comm: MPI.Comm, config: Config, labels, ct: CellTensor, result: Result,
                   stats, source: str) -> list[str]:
    """Write the run's files; returns their names."""
    D = result.D_eff
    dim = D.shape[0]
    axes = "xyz"[:dim]
    write_csv(out.path("D_eff.csv"), ["i", *[f"D_{a}" for a in axes]], [(axes[i], *D[i]) for i in range(dim)], comm)
    files = ["D_eff.csv"]
    if config.output.fields:
        files.append("correctors.bp")
        from dolfinx.io import VTXWriter

        with VTXWriter(comm, out.path("correctors.bp"), ct.correctors, engine="BP4") as vtx:
            vtx.write(0.0)
    shape = labels.shape if comm.rank == 0 else None
    caption = run_caption(config, source, shape, result) if comm.rank == 0 else ""
    D_ref = result.summary["reference_diffusivity"]
    resolution, size = result.summary.get("resolution_study"), result.summary.get("size_study")
    if resolution or size:
        on_root(comm, _study_outputs, out, resolution, size, caption, D_ref)
        files += (["resolution_study.csv"] if resolution else []) + (["size_study.csv"] if size else [])
        files.append("convergence.png")
    if config.output.figure:
        files.append("eigen_directions.png" if dim == 2 else "liquid_3d.png")
        phases = config.phases
        names = {int(k): v for k, v in phases.names.items()}

        def draw():
            from .figures import eigen_directions_2d, eigen_directions_3d

            if dim == 2:
                eigen_directions_2d(out.path("eigen_directions.png"), labels, names, config.image.voxel_size_um,
                                    D, result.eigenvalues, result.eigenvectors, caption, D_ref)
            else:
                liquid = [k for k, d in phases.label_diffusivity().items() if d > 0]
                eigen_directions_3d(out.path("liquid_3d.png"), labels, liquid, names, config.image.voxel_size_um,
                                    result.eigenvalues, result.eigenvectors, caption, D_ref)

        on_root(comm, draw)
    return files


def _study_outputs(out: RunOutput, resolution, size, caption: str, D_ref: float) -> None:
    from .figures import study_figure

    if resolution:
        axes = "xyz"[:len(resolution["extrapolated"])]
        rows = [(f, h, *d) for f, h, d in zip(resolution["resolution"], resolution["voxel_size_um"],
                                              resolution["D_diag"], strict=True)]
        rows.append(("extrapolated", 0.0, *resolution["extrapolated"]))
        write_csv(out.path("resolution_study.csv"), ["resolution", "voxel_size_um", *[f"D_{a}{a}" for a in axes]], rows,
                  MPI.COMM_SELF)
    if size:
        axes = "xyz"[:len(size["shape"][0])]
        write_csv(out.path("size_study.csv"), ["edge_fraction", "shape", *[f"D_{a}{a}" for a in axes]],
                  [(f, "x".join(map(str, s)), *d) for f, s, d in zip(size["edge_fraction"], size["shape"],
                                                                     size["D_diag"], strict=True)], MPI.COMM_SELF)
    study_figure(out.path("convergence.png"), resolution, size, caption, D_ref)
