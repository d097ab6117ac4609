"""``rhizofem homogenize``: image → liquid mesh → cell problems → effective tensor → report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from rhizofem.errors import InputError
from rhizofem.imaging import pores
from rhizofem.imaging.io import read_image
from rhizofem.output import RunOutput, write_csv
from rhizofem.parallel import on_root
from rhizofem.soil import millington_quirk

from .cell import CellTensor, cell_tensor, distribute_cell, liquid_mesh
from .config import Config, Image, Phases

__all__ = ["Result", "image_statistics", "load_labels", "run", "tensor_report"]


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


def load_labels(image: Image) -> tuple[np.ndarray, str]:
    """The label image a configuration names (a file or a built-in sample) and its source."""
    if image.path is not None:
        labels = read_image(image.path, raw_shape=image.raw_shape, raw_dtype=image.raw_dtype)
        return np.asarray(labels), str(image.path)
    dim = 3 if image.sample.startswith("sand_3d") else 2
    mucilage = not image.sample.endswith("_water")
    make = pores.sand_sample_3d if dim == 3 else pores.sand_section_2d
    return make(mucilage=mucilage), f"built-in sample {image.sample}"


def image_statistics(labels: np.ndarray, phases: Phases, source: str = "image") -> dict[str, Any]:
    """Volume fractions, porosity φ (1 − solid fraction) and water content θ (liquid fraction).

    Refuses an image with a label the diffusivity table lacks, or without liquid.
    """
    values, counts = np.unique(labels, return_counts=True)
    diffusivity = phases.label_diffusivity()
    missing = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if int(v) not in diffusivity]
    if missing:
        listed = ", ".join(f"{v} ({c} voxels)" for v, c in missing)
        raise InputError(f"{source}: label(s) {listed} are not in [phases.diffusivity] "
                         f"(it lists {', '.join(sorted(phases.diffusivity))}). Fix: add each label "
                         "with its diffusivity (0 for solid and air).")
    fraction = {int(v): c / labels.size for v, c in zip(values, counts, strict=True)}
    solid = {int(k) for k in phases.solid}
    porosity = 1.0 - sum(f for v, f in fraction.items() if v in solid)
    liquid = {v: f for v, f in fraction.items() if diffusivity[v] > 0}
    theta = sum(liquid.values())
    if theta == 0:
        raise InputError(f"{source}: no voxel has a label of positive diffusivity "
                         f"(labels present: {sorted(fraction)}). Fix: check [phases.diffusivity] "
                         "or the segmentation.")
    return {
        "fraction": fraction,
        "porosity": porosity,
        "liquid_fraction": theta,
        "liquid_fraction_per_phase": {phases.name(v): f for v, f in liquid.items()},
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


def run(config: Config, out_dir: str | Path | None = None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Effective diffusion tensor of the configured image (see :mod:`.cell` for the maths)."""
    with RunOutput(out_dir, comm, command="homogenize", config=config) as out:
        t_start = time.perf_counter()
        phases = config.phases
        diffusivity = phases.label_diffusivity()
        mode = config.cell.periodisation
        voxel_m = config.image.voxel_size_um * 1e-6

        def prepare():
            labels, source = load_labels(config.image)
            stats = image_statistics(labels, phases, source)
            lm = liquid_mesh(labels, diffusivity, voxel_m, periodic=mode == "translation",
                             element=config.mesh.element)
            return labels, source, stats, lm

        t = time.perf_counter()
        prepared = on_root(comm, prepare, bcast=False)
        labels, source, stats, lm = prepared if comm.rank == 0 else (None, None, None, None)
        image_s = time.perf_counter() - t
        info = comm.bcast((source, stats, lm.clusters.percolates, lm.clusters.count, labels.shape,
                           len(lm.cells), len(lm.points)) if comm.rank == 0 else None, root=0)
        source, stats, percolates, n_clusters, shape, n_cells, n_nodes = info
        cell = distribute_cell(comm, lm, diffusivity)
        del lm
        ct = cell_tensor(cell, mode, config.solver.petsc_options)

        report = tensor_report(ct.D_eff)
        _, D_ref = phases.reference()
        mq = stats["millington_quirk"]
        ratio = report["eigenvalues"] / (mq * D_ref)
        timings = {"image_and_voxel_mesh": image_s, **ct.timings}
        timings["solve_per_rhs"] = float(np.mean(ct.timings["solves"]))
        timings["total"] = time.perf_counter() - t_start
        results = {
            "D_eff": ct.D_eff,
            "eigenvalues": report["eigenvalues"],
            "eigenvectors": report["eigenvectors"],
            "porosity": stats["porosity"],
            "liquid_fraction": stats["liquid_fraction"],
            "millington_quirk": mq,
            "percolates": list(percolates),
            "symmetry_defect": report["symmetry_defect"],
            "ratio_to_millington_quirk": ratio,
            "reference_diffusivity": D_ref,
            "D_eff_over_reference": ct.D_eff / D_ref,
            "liquid_fraction_per_phase": stats["liquid_fraction_per_phase"],
            "volume_fraction_per_phase": stats["volume_fraction_per_phase"],
            "liquid_clusters": n_clusters,
            "periodisation": mode,
        }
        out.summary(
            results=results,
            mesh={"element": config.mesh.element, "cell_type": cell.mesh.topology.cell_type.name,
                  "cells": comm.allreduce(cell.mesh.topology.index_map(len(shape)).size_local),
                  "nodes": n_nodes, "dofs": ct.num_dofs, "input_cells": n_cells},
            solver={"petsc_options": dict(config.solver.petsc_options), "iterations": ct.iterations,
                    "constant_modes_pinned": ct.num_pinned,
                    "periodic_partners_on_other_ranks": ct.num_remote_partners, "timings_s": timings},
            geometry={"source": source, "shape": list(shape), "voxel_size_um": config.image.voxel_size_um,
                      "extent_um": [n * config.image.voxel_size_um for n in shape]},
        )
        if out.enabled:
            _write_outputs(out, comm, config, labels, ct, report, mq * D_ref)
        return Result(ct.D_eff, report["eigenvalues"], report["eigenvectors"], stats["porosity"],
                      stats["liquid_fraction"], mq, tuple(percolates), report["symmetry_defect"], ratio,
                      mode, summary=results, tensor=ct)


def _write_outputs(out: RunOutput, comm: MPI.Comm, config: Config, labels, ct: CellTensor, report,
                   millington: float) -> None:
    dim = ct.D_eff.shape[0]
    axes = "xyz"[:dim]
    write_csv(out.path("D_eff.csv"), ["i", *[f"D_{a}" for a in axes]],
              [(axes[i], *ct.D_eff[i]) for i in range(dim)], comm)
    if config.output.fields:
        from dolfinx.io import VTXWriter

        with VTXWriter(comm, out.path("correctors.bp"), ct.correctors, engine="BP4") as vtx:
            vtx.write(0.0)
    if config.output.figure:
        phases = config.phases
        names = {int(k): v for k, v in phases.names.items()}
        title = (f"{config.cell.periodisation} cell, eigenvalues "
                 + ", ".join(f"{w:.3g}" for w in report["eigenvalues"])
                 + f" (Millington-Quirk {millington:.3g})")

        def draw():
            from .figures import eigen_directions_2d, eigen_directions_3d

            if dim == 2:
                eigen_directions_2d(out.path("eigen_directions.png"), labels, names, config.image.voxel_size_um,
                                    ct.D_eff, report["eigenvalues"], report["eigenvectors"], title)
            else:
                liquid = [k for k, d in phases.label_diffusivity().items() if d > 0]
                eigen_directions_3d(out.path("liquid_3d.png"), labels, liquid, names, config.image.voxel_size_um,
                                    report["eigenvalues"], report["eigenvectors"], title)

        on_root(comm, draw)
