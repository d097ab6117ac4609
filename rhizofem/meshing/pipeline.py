"""``rhizofem mesh``: a segmented image → a tagged Gmsh mesh of its soil phase.

    rhizofem mesh CONFIG.toml --out DIR

reads the image of ``[image]`` (or, without ``[image] path``, the built-in default
sample), meshes its soil phase (:mod:`rhizofem.meshing.soil`), writes DIR/mesh.msh (Gmsh,
mm, physical groups "soil" 1, "root_contact" 11, "hair_contact" 12, "no_flux" 13), then
loads that file back with ``dolfinx.io.gmsh`` on every rank and checks that the soil
volume and the tagged areas DOLFINx integrates are those of the image. DIR/summary.json
holds ``mesh`` (cells, vertices, facets per group, element quality), ``geometry`` (the
image's phase volumes, epidermis, contact areas and fractions, see
:mod:`rhizofem.imaging.metrics`) and ``check`` (image vs DOLFINx); DIR/mesh.png shows the
mesh coloured by tag.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from rhizofem.config import param, section
from rhizofem.imaging.io import ImageConfig, Labels, read_image_config
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.imaging.sample import default_sample, remove_hairs
from rhizofem.meshing.gmsh_io import read_soil_msh, write_soil_msh
from rhizofem.meshing.quality import element_quality
from rhizofem.meshing.soil import MeshOptions, SoilSimplices, distribute, measure_tags, soil_simplices
from rhizofem.meshing.tags import FACET_GROUPS
from rhizofem.meshing.to_dolfinx import TaggedMesh
from rhizofem.output import RunOutput
from rhizofem.output.performance import recorded
from rhizofem.parallel import on_root, rank0_print

__all__ = ["CONFIG_TITLE", "Config", "Result", "mesh_summary", "run"]

CONFIG_TITLE = """rhizofem mesh: the soil phase of a segmented image → a tagged Gmsh mesh (DIR/mesh.msh).
rhizofem mesh CONFIG.toml --out DIR
Without [image] path the built-in default sample is meshed (its own 9 µm voxels and the
default labels; voxel_size_um may be left out). Writes DIR/mesh.msh (Gmsh), DIR/mesh.xdmf
(ParaView's XDMF reader: cell and facet tags), DIR/mesh.png and DIR/summary.json."""


@dataclass(frozen=True)
class Config:
    """``rhizofem mesh`` configuration."""

    image: ImageConfig = section(ImageConfig, "the label image (without path: the built-in default sample)")
    mesh: MeshOptions = section(MeshOptions, "how the soil phase is meshed")
    hairs: bool = param(True, "keep the root hairs; false meshes the hairless variant (hair voxels become pore)")
    check: bool = param(True, "load the mesh with DOLFINx on every rank and compare volume and tagged areas with the image")
    picture: bool = param(True, "draw DIR/mesh.png (the mesh coloured by tag)")


@dataclass
class Result:
    mesh: TaggedMesh | None
    geometry: dict
    summary: dict
    check: dict


def _load_image(config: Config) -> tuple[np.ndarray, float, Labels, str]:
    if config.image.path is None:
        image, voxel = default_sample()
        labels, source = Labels(), "built-in default sample"
    else:
        image = read_image_config(config.image)
        voxel, labels, source = config.image.voxel_size_um, config.image.labels, str(config.image.path)

    if not config.hairs:
        image = remove_hairs(image, labels)
    return image, voxel, labels, source


def mesh_summary(simplices: SoilSimplices, voxel_size_um: float, soil_voxels: int) -> dict:
    """Sizes and element quality of a soil mesh, for summary.json (edge lengths in µm)."""
    quality = element_quality(simplices.points_mm, simplices.cells)
    for key in ("edge_length_min", "edge_length_max", "edge_length_mean"):
        quality[f"{key}_um"] = quality.pop(key) * 1e3
    uniform = soil_voxels * (6 if simplices.dim == 3 else 2)
    return {
        "method": simplices.method,
        "dimension": simplices.dim,
        "cells": int(len(simplices.cells)),
        "vertices": int(len(simplices.points_mm)),
        "facets": {name: int(np.count_nonzero(simplices.facet_values == v)) for name, v in FACET_GROUPS.items()},
        "cells_of_uniform_voxel_mesh": int(uniform),
        "cell_reduction_vs_voxel_mesh": uniform / max(len(simplices.cells), 1),
        "voxel_size_um": float(voxel_size_um),
        "quality": quality,
    }


def run(config: Config | None = None, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD) -> Result:
    """Mesh the image on rank 0, write DIR/mesh.msh, load it on every rank and check it."""
    config = config if config is not None else Config()
    config = dataclasses.replace(config, image=config.image.resolved())  # summary.json echoes what ran
    say = (lambda text: rank0_print(comm, text)) if out_dir is not None else (lambda text: None)
    with (RunOutput(out_dir, comm, command="mesh", config=config) as out,
          recorded(out, comm, "meshing: the image's simplices on rank 0 (the other ranks wait); setup: reading the "
                              "written .msh back and distributing it; output: .msh, picture, XDMF") as clock):
        t0 = time.perf_counter()
        clock.switch("meshing")

        def build():
            image, voxel, labels, source = _load_image(config)
            say(f"rhizofem mesh: meshing the soil phase of {source} ({'×'.join(map(str, image.shape))} voxels of "
                f"{voxel:g} µm, {'hairs kept' if config.hairs else 'hairs removed'}) on rank 0 ...")
            geometry = geometry_metrics(image, voxel, labels)
            simplices = soil_simplices(image, voxel, labels, options=config.mesh)
            summary = mesh_summary(simplices, voxel, int(np.count_nonzero(image == labels.soil)))
            summary["source"] = source
            summary["hairs"] = config.hairs
            return simplices, geometry, summary

        built = on_root(comm, build, bcast=False)
        simplices = built[0] if comm.rank == 0 else None
        geometry, summary = comm.bcast(built[1:] if comm.rank == 0 else None, root=0)
        summary["mesh_time_s"] = time.perf_counter() - t0
        say(f"  {summary['cells']} tetrahedra, {summary['vertices']} vertices in {summary['mesh_time_s']:.1f} s")

        msh_path = out.path("mesh.msh")
        clock.switch("output")
        if msh_path is not None:
            say("writing mesh.msh (Gmsh)" + (" and mesh.png" if config.picture else "") + " ...")
            on_root(comm, write_soil_msh, msh_path, simplices, bcast=False)
            if config.picture:
                from rhizofem.meshing.pictures import save_mesh_picture

                caption = (f"{summary['source']}, {summary['voxel_size_um']:g} µm voxels, "
                           f"{'with' if config.hairs else 'without'} hairs; {config.mesh.method} mesh, "
                           f"inlet_subdivide = {config.mesh.inlet_subdivide}: {summary['cells']} cells, "
                           f"{summary['vertices']} vertices")
                on_root(comm, save_mesh_picture, out.path("mesh.png"), simplices, caption=caption, bcast=False)

        tagged, check = None, {}
        clock.switch("setup")
        if config.check or msh_path is not None:
            say(f"loading it with DOLFINx on {comm.size} rank(s)" + (" and checking volume and areas" if config.check
                                                                     else "") + " ...")
            # the file as a reader gets it, or (library use) the mesh itself
            tagged = read_soil_msh(msh_path, comm, inlet=()) if msh_path is not None else distribute(simplices, comm)
        if config.check:
            check = compare_with_image(measure_tags(tagged), geometry)
            if check["max_relative_difference"] > 1e-9:
                raise RuntimeError(f"mesh check failed: DOLFINx measures differ from the image: {check}")
        clock.switch("output")
        if msh_path is not None:
            write_xdmf(out.path("mesh.xdmf"), tagged)
        clock.dofs = summary["vertices"]
        out.summary(mesh=summary, geometry=geometry, check=check)
    if out.enabled:
        rank0_print(comm, f"rhizofem mesh: {summary['cells']} cells, {summary['vertices']} vertices "
                          f"→ {out.final_path('mesh.msh')} (Gmsh), {out.final_path('mesh.xdmf')} (ParaView: "
                          "XDMF reader; cell and facet tags)")
    return Result(tagged, geometry, summary, check)


def write_xdmf(path, tagged: TaggedMesh) -> None:
    """The mesh with its cell tags and facet tags as XDMF + HDF5 (collective).

    Stock ParaView opens it ("Xdmf3 Reader S"): the soil cells with their volume group and the
    tagged boundary facets (11 root contact, 12 hair contact, 13 no-flux) as two grids.
    """
    from dolfinx.io import XDMFFile

    msh = tagged.mesh
    msh.topology.create_connectivity(msh.topology.dim - 1, msh.topology.dim)
    with XDMFFile(msh.comm, str(path), "w") as xdmf:
        xdmf.write_mesh(msh)
        xdmf.write_meshtags(tagged.cell_tags, msh.geometry)
        xdmf.write_meshtags(tagged.facet_tags, msh.geometry)


def compare_with_image(measured: dict, geometry: dict) -> dict:
    """Soil volume and tagged areas integrated by DOLFINx next to the image's counts."""
    d3 = "soil_volume_mm3" in geometry
    vol, area = ("volume_mm3", "area_mm2") if d3 else ("area_mm2", "length_mm")
    pairs = {
        f"soil_{vol}": (measured["soil"], geometry[f"soil_{vol}"]),
        f"root_contact_{area}": (measured.get("root_contact", 0.0), geometry[f"root_contact_{area}"]),
        f"hair_contact_{area}": (measured.get("hair_contact", 0.0), geometry[f"hair_contact_{area}"]),
        f"no_flux_{area}": (measured.get("no_flux", 0.0), geometry[f"no_flux_{area}"]),
    }
    out = {k: {"dolfinx": m, "image": i} for k, (m, i) in pairs.items()}
    out["max_relative_difference"] = max(abs(m - i) / max(abs(i), 1e-300) if i else abs(m) for m, i in pairs.values())
    return out
