"""``rhizofem exudation``: image or .msh → soil mesh → diffusion from the inlet → mass, profile, report.

The comparison without hairs (``compare_hairless = true``) runs on the *same* mesh with the
inlet ``["root"]``. That is the seed's "same sample without hairs": removing the hairs from
the image (:func:`rhizofem.imaging.sample.remove_hairs`) turns hair voxels into pore, which
leaves the soil — the diffusion domain — voxel for voxel as it was, and makes the former
hair-soil contact a soil-pore wall, i.e. no-flux. Same domain, same mesh, only the inlet
differs, so the discretisation error largely cancels in the ratio.

Every run reports, next to each mass, an estimate of its discretisation error: in time, the
sum of the steps' goal-weighted local errors (:mod:`.diffusion`); in space, the difference
from the same run on a mesh twice as coarse at the inlet and in the bulk (image route only,
``[numerics] space_error_estimate``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import dolfinx
import numpy as np
from mpi4py import MPI

from rhizofem.imaging.io import Labels, read_image_config
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.imaging.sample import SEED_CASE_STUDY_3, default_sample
from rhizofem.meshing.gmsh_io import read_soil_msh
from rhizofem.meshing.soil import MeshOptions, measure_tags, soil_mesh_from_image
from rhizofem.meshing.to_dolfinx import TaggedMesh
from rhizofem.output import RunOutput, vtx_bytes
from rhizofem.output.performance import Clock, current_rss_mb
from rhizofem.output.performance import performance as _performance
from rhizofem.parallel import on_root, rank0_print

from .config import Config, solver_rtol
from .diffusion import (CM2_TO_MM2, UG_CM3_TO_UG_MM3, AdaptiveSteps, History, assemble_operators,
                        diffusivity_by_cell, inlet_facets, simulate, step_sizes)
from .profile import (DeferredSampler, Profile, ProfileSampler, Threshold, check_profile_size,
                      root_distance_from_facets, root_distance_from_image, threshold)

__all__ = ["SEED_RESULTS", "Case", "Result", "load_mesh", "resolved", "run", "run_case"]

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
    threshold: Threshold
    profile: Profile
    inlet_area_mm2: float
    flat_inlet_mass_ug: float  # 2 c_in A sqrt(D t / π): the same area as a flat wall into a half-space
    dofs: int
    inlet_dofs: int
    iterations: np.ndarray
    steps_s: np.ndarray
    rejected_steps: int
    time_error_estimate_ug: float
    ksp_rtol: float
    timings_s: dict
    operators_built: int
    preconditioners_built: int
    c: dolfinx.fem.Function | None = None
    space_error: dict | None = None  # filled by the space error estimate

    @property
    def distance_1pct_mm(self) -> float:
        return self.threshold.distance_mm

    def error_summary(self) -> dict:
        """The discretisation error estimates of the mass, relative, and their sum."""
        out = {"time_rel": self.time_error_estimate_ug / self.mass_ug,
               "time_note": "sum of the steps' local errors weighted by how much reaches the output time "
                            "(measured 1.0-1.6 x the true time error)",
               "solver_check_rel": self.conservation_error_rel}
        if self.space_error is not None:
            out.update(self.space_error)
        return out

    def summary(self) -> dict:
        p = self.profile
        th = self.threshold
        return {
            "inlet": list(self.inlet),
            "mass_ug": self.mass_ug,
            "discretisation_error_estimate": self.error_summary(),
            "inlet_flux_mass_ug": self.inlet_flux_mass_ug,
            "conservation_error_rel": self.conservation_error_rel,
            "conservation_note": "solver check: the cumulative inlet flux equals the mass up to the linear "
                                 "solver's residual by construction; it detects solver and bookkeeping "
                                 "errors, not the discretisation error",
            "distance_1pct_mm": th.distance_mm,
            "distance_1pct_reached": th.reached,
            "distance_1pct_clipped_by_sample": th.clipped,
            "farthest_soil_mm": th.farthest_soil_mm,
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
            "rejected_steps": self.rejected_steps,
            "ksp_rtol": self.ksp_rtol,
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


def resolved(config: Config | None) -> Config:
    """The configuration as it runs: the built-in sample's voxel size filled in."""
    config = config if config is not None else Config()
    return dataclasses.replace(config, image=config.image.resolved())


def _say(comm: MPI.Comm, enabled: bool):
    return (lambda text: rank0_print(comm, text)) if enabled else (lambda text: None)


def load_mesh(config: Config, comm: MPI.Comm, say=lambda text: None, mesh_options: MeshOptions | None = None,
              keep_image: bool = False) -> tuple[TaggedMesh, Any, dict]:
    """The soil mesh, the distance-from-root function and the geometry (areas, fractions, source).

    With ``keep_image`` the geometry holds the label image on rank 0 under ``"_image"`` (to mesh
    it again for the space error estimate). ``mesh_options`` overrides ``config.mesh``'s.
    """
    t0 = time.perf_counter()
    bin_mm = config.output.profile_bin_um * 1e-3
    if config.mesh.path is not None:
        say(f"reading the mesh {config.mesh.path} ...")
        tm = read_soil_msh(config.mesh.path, comm, config.mesh.length_unit, inlet=config.inlet.tags)
        x = tm.mesh.geometry.x
        lo = np.min(comm.allgather(x.min(axis=0) if len(x) else np.full(3, np.inf)), axis=0)
        hi = np.max(comm.allgather(x.max(axis=0) if len(x) else np.full(3, -np.inf)), axis=0)
        check_profile_size(float(np.linalg.norm(hi - lo)), bin_mm, comm, "the mesh's diagonal")
        distance = root_distance_from_facets(tm)
        geometry = {"source": str(config.mesh.path), "distance_from": "root_contact facet vertices"}
    else:
        image_cfg = config.image.resolved()
        labels, voxel = image_cfg.labels if image_cfg.path is not None else Labels(), image_cfg.voxel_size_um
        source = "built-in default sample" if image_cfg.path is None else str(image_cfg.path)

        def read():
            image = default_sample()[0] if image_cfg.path is None else read_image_config(image_cfg)
            metrics = geometry_metrics(image, voxel, labels)
            if image.ndim == 3 and np.any(image == labels.root):
                # the root's length and radius, for the equivalent radius (rhizofem.links.hairs)
                from rhizofem.links.cylinder import root_geometry

                root = root_geometry(image == labels.root, voxel * 1e-3)
                metrics["root"] = {"axis": root["axis"], "length_mm": root["length"], "radius_mm": root["radius"],
                                   "through_image": root["through_image"]}
            return image, metrics

        say(f"reading {source} ...")
        image, metrics = on_root(comm, read, bcast=False) or (None, None)
        metrics = comm.bcast(metrics, root=0)
        shape = metrics["image_shape"]
        check_profile_size(float(np.linalg.norm(shape)) * voxel * 1e-3, bin_mm, comm,
                           f"the diagonal of {'×'.join(map(str, shape))} voxels of {voxel:g} µm")
        options = mesh_options or config.mesh.options()
        say(f"meshing the soil phase ({'×'.join(map(str, shape))} voxels of {voxel:g} µm, "
            f"{metrics['soil_volume_mm3']:.3g} mm³ of soil, inlet_subdivide = {options.inlet_subdivide}) on rank 0 ...")
        tm = soil_mesh_from_image(image, voxel, labels, comm, **vars(options))
        distance = root_distance_from_image(image, voxel, labels, comm)
        geometry = {"source": source, "voxel_size_um": voxel, "distance_from": "root voxels (distance transform)",
                    "image": metrics}
        if keep_image:
            geometry["_image"] = (image, voxel, labels)
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
    say(f"  {geometry['cells']} tetrahedra, {geometry['vertices']} vertices on {comm.size} rank(s), "
        f"{geometry['mesh_time_s']:.1f} s")
    return tm, distance, geometry


def _steps(config: Config, outputs: list[float]):
    ph, tc = config.physics, config.time
    if tc.control == "staged":
        dt_max = tc.dt_max_s if tc.dt_max_s is not None else np.inf
        return step_sizes(ph.t_end_s, tc.dt_first_s, tc.steps_per_stage, tc.growth, dt_max, land_at=outputs)
    return AdaptiveSteps(ph.t_end_s, rtol=tc.time_rtol, dt_first=tc.dt_first_s,
                         dt_max=tc.dt_max_s if tc.dt_max_s is not None else np.inf, land_at=tuple(outputs))


def petsc_options(config: Config) -> dict:
    """The PETSc options that run: ksp_rtol from the time tolerance unless given."""
    options = dict(config.numerics.petsc_options)
    options.setdefault("ksp_rtol", solver_rtol(config.time.time_rtol))
    return options


def run_case(tm: TaggedMesh, config: Config, inlet: tuple[str, ...], geometry: dict,
             sampler: ProfileSampler | DeferredSampler | None,
             fields_path: Path | None = None, clock: Clock | None = None,
             reserve: Callable[[int, str], None] | None = None) -> Case:
    """Simulate one inlet choice on the mesh and post-process it (no profile without a sampler)."""
    comm = tm.mesh.comm
    clock = clock or Clock()
    ph, tc, nu = config.physics, config.time, config.numerics
    D_mm2_s = ph.D_cm2_s * CM2_TO_MM2
    # c_in(t) from a table (rhizofem.links.tables), or constant; c_ref: the largest inlet value
    table = None
    if ph.c_in_table is not None:
        from rhizofem.links.tables import inlet_table

        table = inlet_table(ph)
    c_ref_ug_cm3 = table.maximum(ph.t_end_s) if table is not None else ph.c_in_ug_cm3
    c_in = c_ref_ug_cm3 * UG_CM3_TO_UG_MM3
    t0 = time.perf_counter()
    D = diffusivity_by_cell(tm, D_mm2_s, {k: v * CM2_TO_MM2 for k, v in ph.D_by_tag_cm2_s.items()})
    ops = assemble_operators(tm, nu.degree, D, inlet_facets(tm, inlet), c_in)
    clock.add("assembly", ops.assembly_s)
    outputs = sorted({t for t in tc.output_times_s if t < ph.t_end_s} | {ph.t_end_s})
    marks = sorted(set(outputs) | set(table.knots_between(0.0, ph.t_end_s) if table is not None else ()))
    writer: list = []

    def on_time(t: float, c: dolfinx.fem.Function) -> None:
        if fields_path is None or not any(abs(t - s) <= 1e-9 * s for s in outputs):
            return
        ts = time.perf_counter()
        if not writer:
            if reserve is not None:
                # a writer that meets a full disk half-way aborts in C++ and, on several ranks,
                # leaves the others waiting in its collective close: refuse before it starts
                reserve(vtx_bytes([c], len(outputs), mesh_every_write=False), fields_path.name)
            writer.append(FieldWriter(comm, fields_path, c, config.output.fields_format))
        writer[0].write(c, t)
        clock.add("output", time.perf_counter() - ts)

    label = "+".join(inlet)
    options = petsc_options(config)
    try:
        c_inlet = table.scaled(UG_CM3_TO_UG_MM3) if table is not None else c_in
        c, hist = simulate(ops, _steps(config, marks), scheme=tc.scheme, petsc_options=options, c_in=c_inlet,
                           on_time=on_time, desc=f"exudation ({label})")
    finally:
        for w in writer:
            w.close()
    for stage, seconds in hist.timings_s.items():
        clock.add(stage, seconds)
    t_solve = time.perf_counter() - t0
    ts = time.perf_counter()
    bin_mm = config.output.profile_bin_um * 1e-3
    if sampler is not None:
        profile = sampler.profile(c, bin_mm, scale=1.0 / UG_CM3_TO_UG_MM3)
        th = threshold(profile, config.output.threshold_fraction * c_ref_ug_cm3, sampler.farthest_mm)
    else:
        profile = Profile(np.zeros(1), np.zeros(0), np.zeros(0))
        th = Threshold(float("nan"), False, True, float("nan"))
    clock.add("profile", time.perf_counter() - ts)
    area = sum(geometry[f"{'root' if i == 'root' else 'hair'}_contact_area_mm2"] for i in inlet)
    flat = 2.0 * c_in * area * math.sqrt(D_mm2_s * ph.t_end_s / math.pi)
    case = Case(
        inlet=tuple(inlet), mass_ug=hist.mass_ug[-1], inlet_flux_mass_ug=hist.inlet_flux_mass_ug[-1],
        conservation_error_rel=hist.conservation_error_rel, times_s=np.array(hist.times_s),
        mass_series_ug=np.array(hist.mass_ug), inlet_flux_series_ug=np.array(hist.inlet_flux_mass_ug),
        inlet_flux_rate_ug_s=np.array(hist.inlet_flux_ug_s), threshold=th, profile=profile,
        inlet_area_mm2=area, flat_inlet_mass_ug=flat, dofs=ops.dofs, inlet_dofs=ops.inlet_dofs,
        iterations=np.array(hist.iterations), steps_s=np.array(hist.steps), rejected_steps=hist.rejected,
        time_error_estimate_ug=hist.time_error_estimate_ug, ksp_rtol=float(options["ksp_rtol"]),
        timings_s={"assembly": ops.assembly_s, **hist.timings_s, "total": t_solve},
        operators_built=hist.operators_built, preconditioners_built=hist.preconditioners_built, c=c)
    ops.destroy()
    return case


class FieldWriter:
    """The concentration at the output times, the mesh written once.

    ``"xdmf"``: ``<name>.xdmf`` + ``.h5`` (any ParaView, "Xdmf3 Reader"); a P2 field is written
    as its P1 interpolant on the mesh's vertices. ``"vtx"``: ``<name>.bp`` (ADIOS2 BP4, exact
    for P2; ParaView's "ADIOS2 VTX Reader").
    """

    def __init__(self, comm: MPI.Comm, path: Path, c: dolfinx.fem.Function, fmt: str):
        self.format = fmt
        if fmt == "vtx":
            from dolfinx.io import VTXMeshPolicy, VTXWriter

            self.out = VTXWriter(comm, Path(path).with_suffix(".bp"), [c], engine="BP4",
                                 mesh_policy=VTXMeshPolicy.reuse)
            return
        from dolfinx.io import XDMFFile

        msh = c.function_space.mesh
        self.p1 = None
        if c.function_space.element.basix_element.degree != 1:
            self.p1 = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", 1)), name=c.name)
        self.out = XDMFFile(comm, str(Path(path).with_suffix(".xdmf")), "w")
        self.out.write_mesh(msh)

    def write(self, c: dolfinx.fem.Function, t: float) -> None:
        if self.format == "vtx":
            self.out.write(t)
        elif self.p1 is not None:
            self.p1.interpolate(c)
            self.out.write_function(self.p1, t)
        else:
            self.out.write_function(c, t)

    def close(self) -> None:
        self.out.close()


def coarser_options(options: MeshOptions) -> tuple[MeshOptions, float]:
    """The mesh for the space error estimate and its size relative to ``options``'s.

    Twice as coarse at the inlet (inlet_subdivide − 1) and in the bulk (size_slope × 2); from
    ``inlet_subdivide = 0`` it goes the other way (inlet_subdivide 1, size_slope / 2: ratio 1/2).
    """
    if options.inlet_subdivide >= 1:
        return dataclasses.replace(options, inlet_subdivide=options.inlet_subdivide - 1,
                                   size_slope=2 * options.size_slope), 2.0
    return dataclasses.replace(options, inlet_subdivide=1, size_slope=0.5 * options.size_slope), 0.5


def space_error_estimate(config: Config, geometry: dict, cases: list[Case], comm: MPI.Comm, say, clock: Clock) -> None:
    """Run each case again on a mesh twice as coarse (or fine) and fill ``case.space_error``.

    First order in the element size (the rim of every contact patch, where the nodal inlet
    value leaks half an element into the no-flux wall, dominates): M_h − M_lim ≈ (M_2h − M_h),
    so the estimate of the error of M_h is (M_2h − M_h), or 2 (M_h − M_h/2) from a finer mesh.
    Conservative where the error is of higher order (the bulk).
    """
    image, voxel, labels = geometry.get("_image") or (None, None, None)
    options, ratio = coarser_options(config.mesh.options())
    say(f"space error estimate: the same runs on a mesh {'twice as coarse' if ratio > 1 else 'twice as fine'} "
        f"(inlet_subdivide = {options.inlet_subdivide}, size_slope = {options.size_slope:g}) ...")
    with clock.stage("space_error_estimate"):
        tm = soil_mesh_from_image(image, voxel, labels, comm, **vars(options))
        other_cells = comm.allreduce(tm.mesh.topology.index_map(tm.mesh.topology.dim).size_local, op=MPI.SUM)
        quiet = dataclasses.replace(config, output=dataclasses.replace(config.output, fields=False))
        for case in cases:
            other = run_case(tm, quiet, case.inlet, geometry, None)
            diff = (other.mass_ug - case.mass_ug) / case.mass_ug
            estimate = diff / (ratio - 1.0)  # first order: e_h = (M_rh − M_h) / (r − 1)
            case.space_error = {
                "space_rel": estimate,
                "space_note": (f"from a second run on a mesh {'twice as coarse' if ratio > 1 else 'twice as fine'} "
                               f"(inlet_subdivide = {options.inlet_subdivide}, size_slope = {options.size_slope:g}, "
                               f"{other.dofs} DOFs, {other_cells} cells: mass {other.mass_ug:.6g} µg), assuming "
                               "first order in the element size"),
                "mass_other_mesh_ug": other.mass_ug,
                "mass_extrapolated_ug": case.mass_ug * (1.0 - estimate),
            }


def compare(hairs: Case, hairless: Case, geometry: dict) -> dict:
    """With vs without hairs: mass, ratio, 1 % distances, contact areas (and fractions), seed's numbers."""
    img = geometry.get("image") or {}
    out = {
        "mass_ug": {"hairs": hairs.mass_ug, "hairless": hairless.mass_ug},
        "mass_ratio": hairs.mass_ug / hairless.mass_ug,
        "contact_area_mm2": {"hairs": hairs.inlet_area_mm2, "hairless": hairless.inlet_area_mm2},
        "contact_area_ratio": hairs.inlet_area_mm2 / hairless.inlet_area_mm2,
        "distance_1pct_mm": {"hairs": hairs.distance_1pct_mm, "hairless": hairless.distance_1pct_mm},
        "distance_1pct_clipped_by_sample": {"hairs": hairs.threshold.clipped, "hairless": hairless.threshold.clipped},
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
    config = resolved(config)
    say = _say(comm, out_dir is not None)
    clock = Clock()
    rss_start = current_rss_mb()
    with RunOutput(out_dir, comm, command="exudation", config=config) as out:
        estimate = config.numerics.space_error_estimate and config.mesh.path is None
        with clock.stage("meshing"):
            tm, distance, geometry = load_mesh(config, comm, say, keep_image=estimate)
        sampler = DeferredSampler(tm.mesh, distance, clock.stage)  # set up after the first simulation

        def reserve(nbytes: int, name: str) -> None:
            out.require_space(nbytes, f"the concentration fields ({name}.*)", "set [output] fields = false")

        case = run_case(tm, config, config.inlet.tags, geometry, sampler,
                        out.path("concentration") if config.output.fields else None, clock, reserve)
        hairless, comparison = None, {}
        if config.compare_hairless and "hair" in config.inlet.tags:
            hairless = run_case(tm, config, ("root",), geometry, sampler,
                                out.path("concentration_hairless") if config.output.fields else None, clock,
                                reserve)
            comparison = compare(case, hairless, geometry)
        elif config.compare_hairless:
            comparison = {"note": "the inlet has no hair contact: nothing to compare"}
        cases = [case] + ([hairless] if hairless is not None else [])
        if estimate:
            space_error_estimate(config, geometry, cases, comm, say, clock)
        geometry.pop("_image", None)
        results = case.summary()
        if hairless is not None:
            results["hairless"] = hairless.summary()
        # for the root-system models: equivalent radius, hair factor (docs/links.md)
        from rhizofem.links import links_inputs
        from rhizofem.links.hairs import exudation_results

        results.update(exudation_results(config.physics, geometry, case.mass_ug,
                                         hairless.mass_ug if hairless is not None else None,
                                         config.physics.c_in_table))
        out.summary(inputs=links_inputs(config))
        out.summary(results=results, comparison=comparison, geometry=geometry,
                    physics={"D_mm2_s": config.physics.D_cm2_s * CM2_TO_MM2,
                             "c_in_ug_mm3": config.physics.c_in_ug_cm3 * UG_CM3_TO_UG_MM3,
                             "units": "lengths mm, mass µg, concentration µg/cm³ (profile), time s"},
                    solver={"petsc_options": petsc_options(config), "degree": config.numerics.degree,
                            "scheme": config.time.scheme, "control": config.time.control,
                            "time_rtol": config.time.time_rtol})
        if out.enabled:
            from .report import write_report

            with clock.stage("output"):
                write_report(out, config, tm, case, hairless, comparison, geometry)
        out.summary(performance=_performance(comm, clock, case.dofs, rss_start))
        result = Result(case, hairless, comparison, geometry, summary=results)
    if out.enabled:
        rank0_print(comm, summary_line(result, config) + f"\n  → {out.out_dir}")
    return result


def _errors_text(c: Case) -> str:
    e = c.error_summary()
    text = f"time error ~{100 * e['time_rel']:.2g} %"
    if "space_rel" in e:
        text += f", space error ~{100 * e['space_rel']:+.2g} %"
    return text


def summary_line(result: Result, config: Config | None = None) -> str:
    """The headline numbers in words."""
    fraction = config.output.threshold_fraction if config is not None else 0.01
    c = result.case
    text = (f"rhizofem exudation: inlet {'+'.join(c.inlet)}: {c.mass_ug:.4g} µg in the soil after "
            f"{c.times_s[-1]:.0f} s ({_errors_text(c)}); {c.threshold.describe(fraction)}\n"
            f"  {c.dofs} DOFs, {len(c.steps_s)} steps, {np.mean(c.iterations):.1f} CG iterations per step; "
            f"solver check |M - inlet flux| / M = {c.conservation_error_rel:.1e}")
    if result.hairless is not None:
        h = result.hairless
        text += (f"\n  without hairs: {h.mass_ug:.4g} µg ({_errors_text(h)}); {h.threshold.describe(fraction)}"
                 f"\n  mass ratio {result.comparison['mass_ratio']:.2f} (contact area ratio "
                 f"{result.comparison['contact_area_ratio']:.2f}; seed: 0.204/0.067 µg = 3.0, 0.74/0.29 mm)")
    return text
