"""``rhizofem liquid``: phase images at chosen water contents and the retention curve."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from rhizofem.imaging.liquid import (
    build_sequence,
    campbell_b,
    configuration,
    percolation_threshold,
    retention,
)
from rhizofem.models.homogenization.model import load_labels
from rhizofem.output import RunOutput, write_csv
from rhizofem.output.performance import recorded
from rhizofem.parallel import on_root, rank0_print

from .config import Config
from .phases import check_stage, pore_labels

__all__ = ["Result", "configurations", "run", "write_image"]


@dataclass
class Result:
    """What ``run`` returns (summary.json's ``results``), the images on rank 0 only."""

    configurations: list[dict]
    retention: list[dict]
    porosity: float
    summary: dict[str, Any] = field(default_factory=dict)
    images: list[np.ndarray] | None = None


def configurations(labels: np.ndarray, config, stage, source: str = "image", torus: bool | None = None):
    """Sequence, configurations, retention curve, Campbell b and percolation thresholds of
    ``labels`` (serial: call on one rank). ``config`` needs ``image`` and ``phases``.
    Percolation is on the torus when ``torus`` (default: when the stage is periodic)."""
    voxel_m = config.image.voxel_size_um * 1e-6
    check_stage(config.phases, stage)
    pores = pore_labels(labels, config.phases, stage, source)
    t0 = time.process_time()
    seq = build_sequence(labels, stage, pores, voxel_m, source)
    cpu_sequence = time.process_time() - t0
    confs = [configuration(seq, theta, labels, stage, voxel_m) for theta in stage.water_content]
    porosity = seq.n_pore / seq.size
    points = retention(seq, stage, voxel_m)
    b = stage.campbell_b if stage.campbell_b is not None else campbell_b(points, porosity)
    t1 = time.process_time()
    torus = stage.periodic if torus is None else torus
    thresholds = percolation_threshold(seq, torus) if stage.percolation_threshold else None
    info = dict(seq.info)
    info.update({"cpu_s_sequence": cpu_sequence, "cpu_s_percolation": time.process_time() - t1,
                 "pore_voxels": seq.n_pore, "voxels": seq.size})
    if seq.mucilage is not None:
        info["polymer_mg"] = seq.polymer_mg
        info["gel_voxels"] = seq.gel_voxels
        gel_from = info.get("gel_from_liquid_voxels")
        info["gel_from_water_content"] = None if gel_from is None else gel_from / seq.size
    lo = info.get("minimum_liquid_voxels", seq.always_liquid())
    info["lowest_water_content"] = lo / seq.size
    return seq, confs, points, b, thresholds, porosity, info


def write_image(out: RunOutput, name: str, image: np.ndarray, tiff: bool) -> list[str]:
    """Write ``name``.npy (and .tif) through ``out`` (call on rank 0)."""
    np.save(out.path(f"{name}.npy"), image)
    files = [f"{name}.npy"]
    if tiff:
        import tifffile

        tifffile.imwrite(out.path(f"{name}.tif"), image)
        files.append(f"{name}.tif")
    return files


def image_name(theta: float) -> str:
    return f"liquid_theta_{theta:.4f}"


def run(config: Config, out_dir: str | Path | None = None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Liquid configurations of the configured image (see :mod:`rhizofem.imaging.liquid`)."""
    stage = config.liquid
    with (RunOutput(out_dir, comm, command="liquid", config=config) as out,
          recorded(out, comm, "DOFs: pore voxels; rank 0 computes, the others wait in liquid_configurations") as clock):
        t_start = time.perf_counter()

        def work():
            with clock.stage("setup"):  # reading the image
                labels, source = load_labels(config.image)
            seq, confs, points, b, thresholds, porosity, info = configurations(labels, config, stage, source)
            clock.switch("output")
            files = []
            if out.enabled:
                for c in confs:
                    files += write_image(out, image_name(c.target), c.labels, config.output.tiff)
                write_csv(out.path("retention.csv"), ["capillary_pressure_Pa", "radius_um", "water_content",
                                                      "saturation"],
                          [(q["capillary_pressure_Pa"], q["radius_um"], q["water_content"], q["saturation"])
                           for q in points], MPI.COMM_SELF)
                if config.output.figure:
                    from .figures import configurations_figure

                    configurations_figure(out.path("liquid.png"), points, confs, porosity, stage,
                                          config.image.voxel_size_um, {int(k): v for k, v in config.phases.names.items()})
            report = {
                "configurations": [c.report() | {"file": f"{image_name(c.target)}.npy"} for c in confs],
                "retention": points,
                "porosity": porosity,
                "campbell_b": b,
                "percolation_threshold": thresholds,
                "sequence": info,
                "source": source,
                "shape": list(labels.shape),
            }
            clock.switch(None)
            return report, [c.labels for c in confs]

        with clock.stage("liquid_configurations"):
            report, images = on_root(comm, work, bcast=False) or (None, None)
            report = comm.bcast(report, root=0)
        clock.dofs = report["sequence"]["pore_voxels"]
        results = {k: report[k] for k in ("configurations", "retention", "porosity", "campbell_b",
                                          "percolation_threshold")}
        out.summary(results=results, sequence=report["sequence"],
                    geometry={"source": report["source"], "shape": report["shape"],
                              "voxel_size_um": config.image.voxel_size_um},
                    timings_s={"total": time.perf_counter() - t_start})
        lines = [f"rhizofem liquid: {stage.method} of {report['source']} (porosity {report['porosity']:.4f})"]
        for c in report["configurations"]:
            p = c["capillary_pressure_Pa"]
            lines.append(f"  θ = {c['water_content']:.4f} ({c['stage']}"
                         + (f", p_c = {p:.4g} Pa" if p is not None else "")
                         + (f", mucilage {c['mucilage_concentration_mg_cm3']:.3g} mg/cm³"
                            if c["mucilage_concentration_mg_cm3"] else "") + ")")
        if out.enabled:
            lines.append(f"  images and retention.csv in {out.final_path('')}")
        rank0_print(comm, "\n".join(lines))
        return Result(report["configurations"], report["retention"], report["porosity"], summary=results,
                      images=images)
