"""``rhizofem exudation``: image or .msh → soil mesh → diffusion from the inlet → mass, profile, report.

The comparison without hairs (``compare_hairless = true``) runs on the *same* mesh with the
inlet ``["root"]``. That is the seed's "same sample without hairs": removing the hairs from
the image (:func:`rhizofem.imaging.sample.remove_hairs`) turns hair voxels into pore, which
leaves the soil — the diffusion domain — voxel for voxel as it was, and makes the former
hair-soil contact a soil-pore wall, i.e. no-flux. Same domain, same mesh, only the inlet
differs, so the discretisation error largely cancels in the ratio.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dolfinx
import numpy as np
from mpi4py import MPI

from rhizofem.imaging.io import Labels, read_image_config
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.imaging.sample import SEED_CASE_STUDY_3, default_sample
from rhizofem.meshing.gmsh_io import read_soil_msh
from rhizofem.meshing.soil import measure_tags, soil_mesh_from_image
from rhizofem.meshing.to_dolfinx import TaggedMesh
from rhizofem.output import RunOutput, write_csv
from rhizofem.parallel import on_root, rank0_print

from .config import Config
from .diffusion import (CM2_TO_MM2, UG_CM3_TO_UG_MM3, History, assemble_operators, diffusivity_by_cell,
                        inlet_facets, simulate, step_sizes)
from .profile import Profile, ProfileSampler, root_distance_from_facets, root_distance_from_image, threshold_distance

__all__ = ["SEED_RESULTS", "Case", "Result", "load_mesh", "run", "run_case"]

# Schnepf et al. 2022, case study 3 (OpenFOAM on the real sample): mass in the soil after 1 h
# and the distance from the root surface where the concentration falls below 1 % of c_in.
SEED_RESULTS = {
    "mass_ug": {"hairs": 0.204, "hairless": 0.067},
    "distance_1pct_mm": {"hairs": 0.74, "hairless": 0.29},
}


@dataclass
class Case:
    """One simulation: a set of inlet surfaces on the mesh."""

    inlet: tuple[str, ...]
    mass_ug: float
    inlet_flux_mass_ug: float
    conservation_error_rel: float
    times_s: np.ndarray
    mass_series_ug: np.ndarray
    inlet_flux_series_ug: np.ndarray
    inlet_flux_rate_ug_s: np.ndarray
    distance_1pct_mm: float
    profile: Profile
    inlet_area_mm2: float
    flat_inlet_mass_ug: float  # 2 c_in A sqrt(D t / π): the same area as a flat wall into a half-space
    dofs: int
    inlet_dofs: int
    iterations: np.ndarray
    steps_s: np.ndarray
    timings_s: dict
    operators_built: int
    preconditioners_built: int
    c: dolfinx.fem.Function | None = None

    def summary(self) -> dict:
        p = self.profile
        return {
            "inlet": list(self.inlet),
            "mass_ug": self.mass_ug,
            "inlet_flux_mass_ug": self.inlet_flux_mass_ug,
            "conservation_error_rel": self.conservation_error_rel,
            "distance_1pct_mm": self.distance_1pct_mm,
            "inlet_area_mm2": self.inlet_area_mm2,
            "flat_inlet_mass_ug": self.flat_inlet_mass_ug,
            "mass_over_flat_inlet": self.mass_ug / self.flat_inlet_mass_ug,
            "dofs": self.dofs,
            "inlet_dofs": self.inlet_dofs,
            "times_s": self.times_s,
            "mass_series_ug": self.mass_series_ug,
            "inlet_flux_series_ug": self.inlet_flux_series_ug,
            "inlet_flux_rate_ug_s": self.inlet_flux_rate_ug_s,
            "profile": {"distance_mm": p.centres_mm, "mean_ug_cm3": p.mean_ug_cm3,
                        "soil_volume_mm3": p.soil_volume_mm3},
            "steps": len(self.steps_s),
            "ksp_iterations_total": int(np.sum(self.iterations)),
            "ksp_iterations_per_step": float(np.mean(self.iterations)),
            "ksp_iterations_max": int(np.max(self.iterations)),
            "operators_built": self.operators_built,
            "preconditioners_built": self.preconditioners_built,
            "timings_s": self.timings_s,
        }


@dataclass
class Result:
    """What :func:`run` returns: the configured run, the hairless comparison, summary.json's data."""

    case: Case
    hairless: Case | None
    comparison: dict
    geometry: dict
    summary: dict = field(default_factory=dict)

    # the configured run's headline numbers, as in summary.json's results
    @property
    def mass_ug(self) -> float:
        return self.case.mass_ug

    @property
    def inlet_flux_mass_ug(self) -> float:
        return self.case.inlet_flux_mass_ug

    @property
    def distance_1pct_mm(self) -> float:
        return self.case.distance_1pct_mm

    @property
    def conservation_error_rel(self) -> float:
        return self.case.conservation_error_rel

    @property
    def dofs(self) -> int:
        return self.case.dofs


def load_mesh(config: Config, comm: MPI.Comm) -> tuple[TaggedMesh, Any, dict]:
    """The soil mesh, the distance-from-root function and the geometry (areas, fractions, source)."""
    t0 = time.perf_counter()
    if config.mesh.path is not None:
        tm = read_soil_msh(config.mesh.path, comm, config.mesh.length_unit, inlet=config.inlet.tags)
        distance = root_distance_from_facets(tm)
        geometry = {"source": str(config.mesh.path), "distance_from": "root_contact facet vertices"}
    else:
        if config.image.path is None:
            labels, voxel = Labels(), default_sample()[1]
            source = "built-in default sample"
        else:
            labels, voxel, source = config.image.labels, config.image.voxel_size_um, str(config.image.path)

        def read():
            image = default_sample()[0] if config.image.path is None else read_image_config(config.image)
            return image, geometry_metrics(image, voxel, labels)

        image, metrics = on_root(comm, read, bcast=False) or (None, None)
        metrics = comm.bcast(metrics, root=0)
        tm = soil_mesh_from_image(image, voxel, labels, comm, **vars(config.mesh.options()))
        distance = root_distance_from_image(image, voxel, labels, comm)
        geometry = {"source": source, "voxel_size_um": voxel, "distance_from": "root voxels (distance transform)",
                    "image": metrics}
    measured = measure_tags(tm)
    geometry.update({
        "soil_volume_mm3": measured["soil"],
        "root_contact_area_mm2": measured.get("root_contact", 0.0),
        "hair_contact_area_mm2": measured.get("hair_contact", 0.0),
        "no_flux_area_mm2": measured.get("no_flux", 0.0),
        "mesh_time_s": time.perf_counter() - t0,
        "cells": comm.allreduce(tm.mesh.topology.index_map(tm.mesh.topology.dim).size_local, op=MPI.SUM),
        "vertices": tm.mesh.topology.index_map(0).size_global,
    })
    return tm, distance, geometry


def run_case(tm: TaggedMesh, config: Config, inlet: tuple[str, ...], geometry: dict, sampler: ProfileSampler,
             fields_path: Path | None = None) -> Case:
    """Simulate one inlet choice on the mesh and post-process it."""
    comm = tm.mesh.comm
    ph, tc, nu = config.physics, config.time, config.numerics
    D_mm2_s = ph.D_cm2_s * CM2_TO_MM2
    c_in = ph.c_in_ug_cm3 * UG_CM3_TO_UG_MM3
    t0 = time.perf_counter()
    D = diffusivity_by_cell(tm, D_mm2_s, {k: v * CM2_TO_MM2 for k, v in ph.D_by_tag_cm2_s.items()})
    ops = assemble_operators(tm, nu.degree, D, inlet_facets(tm, inlet), c_in)
    outputs = sorted({t for t in tc.output_times_s if t < ph.t_end_s} | {ph.t_end_s})
    dts = step_sizes(ph.t_end_s, tc.dt_first_s, tc.steps_per_stage, tc.growth, tc.dt_max_s, land_at=outputs)
    writer: list = []

    def on_time(t: float, c: dolfinx.fem.Function) -> None:
        if fields_path is None or not any(abs(t - s) <= 1e-9 * s for s in outputs):
            return
        if not writer:
            from dolfinx.io import VTXWriter

            writer.append(VTXWriter(comm, fields_path, [c], engine="BP4"))
        writer[0].write(t)

    label = "+".join(inlet)
    try:
        c, hist = simulate(ops, dts, scheme=tc.scheme, petsc_options=nu.petsc_options, c_in=c_in,
                           on_time=on_time, desc=f"exudation ({label})")
    finally:
        for w in writer:
            w.close()
    t_solve = time.perf_counter() - t0
    profile = sampler.profile(c, config.output.profile_bin_um * 1e-3, scale=1.0 / UG_CM3_TO_UG_MM3)
    area = sum(geometry[f"{'root' if i == 'root' else 'hair'}_contact_area_mm2"] for i in inlet)
    flat = 2.0 * c_in * area * math.sqrt(D_mm2_s * ph.t_end_s / math.pi)
    case = _case(inlet, hist, profile, area, flat, ops, c,
                 threshold=config.output.threshold_fraction * ph.c_in_ug_cm3,
                 timings={"assembly": ops.assembly_s, "operators_and_preconditioners": hist.setup_s,
                          "solves": hist.solve_s, "total": t_solve})
    ops.destroy()
    return case


def _case(inlet, hist: History, profile: Profile, area, flat, ops, c, threshold, timings) -> Case:
    return Case(
        inlet=tuple(inlet), mass_ug=hist.mass_ug[-1], inlet_flux_mass_ug=hist.inlet_flux_mass_ug[-1],
        conservation_error_rel=hist.conservation_error_rel, times_s=np.array(hist.times_s),
        mass_series_ug=np.array(hist.mass_ug), inlet_flux_series_ug=np.array(hist.inlet_flux_mass_ug),
        inlet_flux_rate_ug_s=np.array(hist.inlet_flux_ug_s),
        distance_1pct_mm=threshold_distance(profile, threshold), profile=profile, inlet_area_mm2=area,
        flat_inlet_mass_ug=flat, dofs=ops.dofs, inlet_dofs=ops.inlet_dofs, iterations=np.array(hist.iterations),
        steps_s=np.array(hist.steps), timings_s=timings, operators_built=hist.operators_built,
        preconditioners_built=hist.preconditioners_built, c=c)


def compare(hairs: Case, hairless: Case, geometry: dict) -> dict:
    """With vs without hairs: mass, ratio, 1 % distances, contact areas (and fractions), seed's numbers."""
    img = geometry.get("image") or {}
    out = {
        "mass_ug": {"hairs": hairs.mass_ug, "hairless": hairless.mass_ug},
        "mass_ratio": hairs.mass_ug / hairless.mass_ug,
        "contact_area_mm2": {"hairs": hairs.inlet_area_mm2, "hairless": hairless.inlet_area_mm2},
        "contact_area_ratio": hairs.inlet_area_mm2 / hairless.inlet_area_mm2,
        "distance_1pct_mm": {"hairs": hairs.distance_1pct_mm, "hairless": hairless.distance_1pct_mm},
        "seed": {**SEED_RESULTS, "mass_ratio": SEED_RESULTS["mass_ug"]["hairs"] / SEED_RESULTS["mass_ug"]["hairless"]},
    }
    # the seed's contact areas: its epidermis (3.9 mm²) times its contact fractions
    seed_area = {"hairs": SEED_CASE_STUDY_3["epidermis_area_mm2"] * SEED_CASE_STUDY_3["contact_fraction_root_hairs"],
                 "hairless": SEED_CASE_STUDY_3["epidermis_area_mm2"] * SEED_CASE_STUDY_3["contact_fraction_root"]}
    out["mass_per_contact_area_ug_mm2"] = {
        "hairs": hairs.mass_ug / hairs.inlet_area_mm2, "hairless": hairless.mass_ug / hairless.inlet_area_mm2,
        "flat_inlet": hairs.flat_inlet_mass_ug / hairs.inlet_area_mm2,
        **{f"seed_{k}": SEED_RESULTS["mass_ug"][k] / a for k, a in seed_area.items()}}
    if img:
        out["contact_fraction"] = {"hairs": img["contact_fraction_root_hairs"], "hairless": img["contact_fraction_root"]}
        out["epidermis_area_mm2"] = img["epidermis_area_mm2"]
    return out


def run(config: Config | None = None, out_dir: str | Path | None = None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Mesh, simulate the configured inlet (and the hairless comparison), write the report."""
    config = config if config is not None else Config()
    with RunOutput(out_dir, comm, command="exudation", config=config) as out:
        tm, distance, geometry = load_mesh(config, comm)
        sampler = ProfileSampler(tm.mesh, distance)
        case = run_case(tm, config, config.inlet.tags, geometry, sampler, out.path("concentration.bp"))
        hairless, comparison = None, {}
        if config.compare_hairless and "hair" in config.inlet.tags:
            hairless = run_case(tm, config, ("root",), geometry, sampler, out.path("concentration_hairless.bp"))
            comparison = compare(case, hairless, geometry)
        elif config.compare_hairless:
            comparison = {"note": "the inlet has no hair contact: nothing to compare"}
        results = case.summary()
        if hairless is not None:
            results["hairless"] = hairless.summary()
        out.summary(results=results, comparison=comparison, geometry=geometry,
                    physics={"D_mm2_s": config.physics.D_cm2_s * CM2_TO_MM2,
                             "c_in_ug_mm3": config.physics.c_in_ug_cm3 * UG_CM3_TO_UG_MM3,
                             "units": "lengths mm, mass µg, concentration µg/cm³ (profile), time s"},
                    solver={"petsc_options": dict(config.numerics.petsc_options), "degree": config.numerics.degree,
                            "scheme": config.time.scheme})
        if out.enabled:
            from .report import write_report

            write_report(out, config, tm, case, hairless, comparison, geometry)
        result = Result(case, hairless, comparison, geometry, summary=results)
    if out.enabled:
        rank0_print(comm, summary_line(result) + f"\n  → {out.out_dir}")
    return result


def summary_line(result: Result) -> str:
    """The headline numbers in words."""
    c = result.case
    text = (f"rhizofem exudation: inlet {'+'.join(c.inlet)}: {c.mass_ug:.4g} µg in the soil after "
            f"{c.times_s[-1]:.0f} s, below 1 % of c_in at {c.distance_1pct_mm:.3g} mm from the root "
            f"(conservation error {c.conservation_error_rel:.1e}, {c.dofs} DOFs, {len(c.steps_s)} steps)")
    if result.hairless is not None:
        h = result.hairless
        text += (f"\n  without hairs: {h.mass_ug:.4g} µg, 1 % at {h.distance_1pct_mm:.3g} mm; mass ratio "
                 f"{result.comparison['mass_ratio']:.2f} (contact area ratio {result.comparison['contact_area_ratio']:.2f}; "
                 "seed: 0.204/0.067 µg = 3.0, 0.74/0.29 mm)")
    return text
