r"""D_eff(θ): the homogenized diffusion tensor of the liquid configurations of an image.

For each requested water content the liquid configuration of :mod:`rhizofem.imaging.liquid`
is homogenized with the cell problems of :mod:`rhizofem.models.homogenization` as they are
(:func:`~rhizofem.models.homogenization.cell.liquid_mesh`, ``distribute_cell``,
``cell_tensor``). Each point of the curve holds the tensor per total volume relative to
free water, its eigenvalues, percolation per axis (the homogenization's own rule), and the
two classic laws at the same θ and φ:

* Millington & Quirk (1961): D/D₀ = θ^{10/3} / φ²;
* Moldrup et al. (2003), the Campbell-type form D/D₀ = φ² (θ/φ)^{1 + b/3} (as tabulated by
  Ogée et al. 2016), with Campbell's b fitted to the image's own drainage curve unless given.

The mucilage phase takes the diffusivity of its label in ``[phases]``, or, with
``mucilage_diffusivity = "mackie_meares"``, the water's times ((1 − v)/(1 + v))² at the
polymer volume fraction v of that configuration.

Parallel: the image work runs on rank 0; each configuration's mesh is distributed and its
cell problems are solved on all ranks, as ``rhizofem homogenize`` does.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from rhizofem.imaging.liquid import mucilage_relative_diffusivity
from rhizofem.imaging.liquid.stage import LiquidStage
from rhizofem.models.homogenization.model import load_labels, solve_image, tensor_report
from rhizofem.output import RunOutput, write_csv
from rhizofem.output.performance import Clock, recorded
from rhizofem.output.progress import progress
from rhizofem.parallel import on_root, rank0_print
from rhizofem.soil import millington_quirk, moldrup

from .model import configurations

__all__ = ["CurveResult", "deff_curve", "run_curve"]


@dataclass
class CurveResult:
    """D_eff(θ) and what came with it (the same numbers as summary.json's ``results``)."""

    curve: list[dict]
    retention: list[dict]
    porosity: float
    campbell_b: float | None
    percolation_threshold: list[float | None] | None
    sequence: dict[str, Any] = field(default_factory=dict)
    images: list[np.ndarray] | None = None  # the configurations, on rank 0 only


def deff_curve(labels: np.ndarray | None, config, stage: LiquidStage, comm: MPI.Comm = MPI.COMM_WORLD,
               source: str = "image", keep_images: bool = False, clock: Clock | None = None) -> CurveResult:
    """The D_eff(θ) curve of ``labels`` (given on rank 0; other ranks may pass None).

    ``config`` is a homogenization configuration (``image``, ``phases``, ``cell``, ``mesh``,
    ``solver``); ``stage`` the ``[liquid]`` section; ``clock`` books the time split
    (``liquid_configurations`` on rank 0, the others wait in it; then the cell problems').
    """
    clock = clock if clock is not None else Clock()
    phases = config.phases
    mode = config.cell.periodisation
    voxel_m = config.image.voxel_size_um * 1e-6
    _, D_ref = phases.reference()
    diffusivity = phases.label_diffusivity()

    def prepare():
        # percolation thresholds by the cell's own rule: on the torus for a translation cell
        seq, confs, points, b, thresholds, porosity, info = configurations(labels, config, stage, source,
                                                                           torus=mode == "translation")
        return (confs, {"retention": points, "campbell_b": b, "percolation_threshold": thresholds,
                        "porosity": porosity, "sequence": info, "dim": labels.ndim,
                        "reports": [c.report() for c in confs]})

    with clock.stage("liquid_configurations"):
        prepared = on_root(comm, prepare, bcast=False)
        confs = prepared[0] if comm.rank == 0 else None
        meta = comm.bcast(prepared[1] if comm.rank == 0 else None, root=0)
    porosity, b = meta["porosity"], meta["campbell_b"]
    water_D = diffusivity[stage.water_label]

    curve = []
    for i in progress(range(len(meta["reports"])), desc="D_eff(θ)", unit="config", comm=comm):
        rep = meta["reports"][i]
        theta = rep["water_content"]
        table = dict(diffusivity)
        if stage.has_mucilage:
            table[stage.mucilage_label] = mucilage_relative_diffusivity(
                rep["mucilage_concentration_mg_cm3"], stage, diffusivity[stage.mucilage_label], water_D)
        t0 = time.perf_counter()
        # the homogenization's own solve: face-connected liquid, and the rows and columns of
        # axes the liquid does not span set to exactly 0
        solved = solve_image(comm, confs[i].labels if comm.rank == 0 else None, table, voxel_m, mode,
                             config.mesh.element, config.mesh.connectivity, config.solver.petsc_options, clock)
        D, percolates = solved.D_eff, solved.percolates
        iterations = solved.tensor.iterations if solved.tensor is not None else []
        dofs = solved.tensor.num_dofs if solved.tensor is not None else 0
        del solved  # free this configuration's mesh and operators before the next one is built
        gc.collect()
        rel = D / D_ref
        report = tensor_report(rel) if np.any(rel) else {"eigenvalues": np.zeros(len(rel)),
                                                         "eigenvectors": np.eye(len(rel)), "symmetry_defect": 0.0}
        curve.append({
            "water_content": theta,
            "D_eff": rel,
            "eigenvalues": report["eigenvalues"],
            "percolates": [bool(p) for p in percolates],
            "millington_quirk": millington_quirk(theta, porosity),
            "moldrup": moldrup(theta, porosity, b),
            "capillary_pressure_Pa": rep["capillary_pressure_Pa"],
            "stage": rep["stage"],
            "water_fraction": rep["water_fraction"],
            "mucilage_fraction": rep["mucilage_fraction"],
            "mucilage_concentration_mg_cm3": rep["mucilage_concentration_mg_cm3"],
            "mucilage_diffusivity": table.get(stage.mucilage_label) if stage.has_mucilage else None,
            "target": rep["target"],
            "dofs": dofs,
            "iterations": iterations,
            "seconds": time.perf_counter() - t0,
        })
    return CurveResult(curve, meta["retention"], porosity, b, meta["percolation_threshold"], meta["sequence"],
                       images=[c.labels for c in confs] if keep_images and comm.rank == 0 else None)


def run_curve(config, stage: LiquidStage, out_dir: str | Path | None = None,
              comm: MPI.Comm = MPI.COMM_WORLD) -> CurveResult:
    """``rhizofem homogenize`` with a ``[liquid]`` stage: D_eff(θ) of the configured image,
    written to summary.json (``results.curve``), curve.csv and a figure."""
    with (RunOutput(out_dir, comm, command="homogenize", config=config) as out,
          recorded(out, comm, "DOFs: the largest configuration's; meshing: each configuration's liquid mesh on "
                   "rank 0 and its distribution") as clock):
        t_start = time.perf_counter()
        with clock.stage("meshing"):
            labels, source = on_root(comm, load_labels, config.image, bcast=False) or (None, None)
            source = comm.bcast(source, root=0)
        result = deff_curve(labels, config, stage, comm, source, clock=clock)
        clock.dofs = max((p["dofs"] for p in result.curve), default=0) or None
        clock.switch("output")
        dim = len(result.curve[0]["D_eff"]) if result.curve else 0
        axes = "xyz"[:dim]
        write_csv(out.path("curve.csv"),
                  ["water_content", *[f"D_{a}{a}" for a in axes], *[f"lambda_{k + 1}" for k in range(dim)],
                   *[f"percolates_{a}" for a in axes], "millington_quirk", "moldrup", "capillary_pressure_Pa",
                   "mucilage_fraction", "mucilage_concentration_mg_cm3"],
                  [(p["water_content"], *np.diag(p["D_eff"]), *p["eigenvalues"], *p["percolates"],
                    p["millington_quirk"], p["moldrup"], p["capillary_pressure_Pa"], p["mucilage_fraction"],
                    p["mucilage_concentration_mg_cm3"]) for p in result.curve], comm)
        figure = getattr(getattr(config, "output", None), "figure", True)
        if out.enabled and figure:
            from .figures import curve_figure

            caption = (f"{source}, φ = {result.porosity:.3f}, {stage.method}, "
                       f"mucilage {stage.mucilage_mg_g:g} mg/g, {config.cell.periodisation} cell, "
                       f"{config.mesh.element}, voxel {config.image.voxel_size_um:g} µm")
            on_root(comm, curve_figure, out.path("D_eff_theta.png"),
                    {"this image": result.curve}, result.porosity, result.campbell_b, caption)
        out.summary(results={"curve": result.curve, "retention": result.retention, "porosity": result.porosity,
                             "campbell_b": result.campbell_b, "percolation_threshold": result.percolation_threshold,
                             "reference_diffusivity": config.phases.reference()[1]},
                    sequence=result.sequence,
                    geometry={"source": source, "voxel_size_um": config.image.voxel_size_um},
                    timings_s={"total": time.perf_counter() - t_start,
                               "per_configuration": [p["seconds"] for p in result.curve]})
        lines = [f"rhizofem homogenize [liquid]: D_eff(θ) of {source} (φ = {result.porosity:.4f}), "
                 "diagonal / free water, and Millington-Quirk:"]
        for p in result.curve:
            lines.append(f"  θ = {p['water_content']:.4f}: " + " ".join(f"{v:.4g}" for v in np.diag(p["D_eff"]))
                         + f"   MQ {p['millington_quirk']:.4g}   percolates {p['percolates']}")
        if out.enabled:
            lines.append(f"  summary.json, curve.csv, D_eff_theta.png in {out.final_path('')}")
        rank0_print(comm, "\n".join(lines))
        return result
