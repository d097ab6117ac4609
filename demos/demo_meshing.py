# # From a segmented image to a tagged soil mesh
#
# This demo builds rhizofem's default synthetic sample — a maize root with root hairs
# among soil aggregates in a sample tube, modelled on case study 3 of Schnepf et al.
# (2022) — measures its geometry against the seed's synchrotron image, meshes its soil
# phase with and without hairs, loads both meshes back with `dolfinx.io.gmsh` on every MPI
# rank and checks that DOLFINx integrates exactly the volume and inlet areas of the image.
#
# ```
# mpiexec -n 2 python demos/demo_meshing.py --out out/demo           # the default sample, ~1 min
# mpiexec -n 2 python demos/demo_meshing.py --out out/demo --quick   # a 72 µm slice of it, seconds
# ```
#
# It writes `sample.png` (sections of the sample), `mesh.png` (the mesh coloured by tag),
# `mesh.msh` and `mesh_hairless.msh` (Gmsh, millimetres), `mesh.xdmf` (the same mesh with its
# tags for ParaView's XDMF reader) and `summary.json` into the output folder.

# +
import argparse
import time

import numpy as np
from mpi4py import MPI

import rhizofem  # noqa: F401  (orders MPI before dolfinx)
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.imaging.sample import (
    SEED_CASE_STUDY_3,
    compare_with_seed,
    default_sample,
    remove_hairs,
    save_sections_picture,
)
from rhizofem.meshing.gmsh_io import read_soil_msh, write_soil_msh
from rhizofem.meshing.pictures import save_mesh_picture
from rhizofem.meshing.pipeline import compare_with_image, mesh_summary, write_xdmf
from rhizofem.meshing.soil import measure_tags, soil_simplices
from rhizofem.output import RunOutput
from rhizofem.parallel import on_root, rank0_print

comm = MPI.COMM_WORLD
# -

# ## The sample
#
# The seed's region of interest is 1.8 × 1.3 × 1.4 mm, the root running along the
# 1.4 mm axis. The default sample keeps its cross-section (so that volume fractions can
# match) but is 0.36 mm long, in voxels of 9 µm: a root of radius 300 µm roughened by
# epidermal cells, sitting in an air gap and touched by a few aggregates; 9 µm root hairs
# crossing the gap into the aggregates; macropores between aggregates; air outside the
# tube. The generator is deterministic; rank 0 draws the image, the other ranks receive
# their part of the mesh later.


def draw_sample(out: RunOutput, quick: bool):
    t0 = time.perf_counter()
    image, voxel_um = default_sample()
    if quick:  # 8 voxels along the root from its middle: the same cross-section
        image = np.ascontiguousarray(image[:, :, 16:24])
    save_sections_picture(out.path("sample.png"), image, voxel_um)
    print(f"default sample{' (a slice)' if quick else ''}: {image.shape} voxels of {voxel_um} µm, "
          f"drawn in {time.perf_counter() - t0:.1f} s", flush=True)
    return image, voxel_um


# ## Its geometry against the seed's
#
# Every number is a count on the image times a voxel volume or a voxel-face area
# (`rhizofem.imaging.metrics`). The epidermis is every face between root and non-root
# voxels; the root contact its faces towards soil; the hair contact the faces between
# hair and soil. The seed reports 6.1 % of the epidermis in contact with soil, 17.7 %
# with the hairs. Volumes are compared as fractions of the image, the epidermis per
# 1.4 mm of root (the seed's length).


def compare(geometry: dict, quick: bool) -> dict:
    length_mm = geometry["image_shape"][2] * geometry["voxel_size_um"] * 1e-3
    table = compare_with_seed(geometry, length_mm)
    if quick:
        rank0_print(comm, "(a slice of the sample: its fractions differ from the whole sample's)")
    rank0_print(comm, f"\n{'quantity':34s} {'sample':>9s} {'seed':>9s} {'error':>9s}")
    for name, row in table.items():
        rank0_print(comm, f"{name:34s} {row['sample']:9.4f} {row['seed']:9.4f} {100 * row['relative_error']:+8.1f} %")
    rank0_print(comm, f"(seed: {SEED_CASE_STUDY_3['soil_volume_mm3']} mm³ of soil, "
                      f"{SEED_CASE_STUDY_3['epidermis_area_mm2']} mm² of epidermis in its 1.8 × 1.3 × 1.4 mm)")
    return table


# ## The meshes
#
# The soil phase is meshed by conforming bisection of a coarse Kuhn triangulation
# (`rhizofem.meshing.graded`): elements the size of a voxel along the root and hair
# contact and wherever the soil surface bends, cubes of 8 voxels inside aggregates.
# Every vertex sits on a voxel corner, so the mesh carries exactly the image's volume and
# interface areas, and thin hairs keep every contact face. The hairless variant turns
# hair voxels into air: the same soil, an inlet without the hairs.
#
# Rank 0 writes each mesh to a Gmsh file with named physical groups ("soil",
# "root_contact", "hair_contact", "no_flux"); every rank then reads its part back with
# `dolfinx.io.gmsh`, and DOLFINx integrates 1 over the soil and over each tagged surface.


def mesh_and_check(out: RunOutput, image, voxel_um: float, hairs: bool) -> dict:
    name = "mesh" if hairs else "mesh_hairless"
    t0 = time.perf_counter()

    def build():
        labels = image if hairs else remove_hairs(image)
        simplices = soil_simplices(labels, voxel_um)
        write_soil_msh(out.path(f"{name}.msh"), simplices)
        if hairs:
            which = "a slice of the default sample" if image.shape[2] < 40 else "the default sample"
            save_mesh_picture(out.path("mesh.png"), simplices,
                              caption=f"{which}, {voxel_um:g} µm voxels; graded mesh, inlet_subdivide = 0: "
                                      f"{len(simplices.cells)} cells, {len(simplices.points_mm)} vertices")
        summary = mesh_summary(simplices, voxel_um, int(np.count_nonzero(labels == 1)))
        return summary, geometry_metrics(labels, voxel_um)

    summary, geometry = on_root(comm, build)
    tagged = read_soil_msh(out.path(f"{name}.msh"), comm, inlet=("root", "hair") if hairs else ("root",))
    check = compare_with_image(measure_tags(tagged), geometry)
    if hairs:  # the tagged mesh for ParaView (XDMF reader): cell tags and facet tags
        write_xdmf(out.path("mesh.xdmf"), tagged)
    summary.update(time_s=time.perf_counter() - t0, check=check)
    rank0_print(comm, f"\n{name}: {summary['cells']} tetrahedra, {summary['vertices']} vertices "
                      f"({summary['cell_reduction_vs_voxel_mesh']:.1f}× fewer cells than 6 per soil voxel), "
                      f"{summary['time_s']:.1f} s")
    for key in ("soil_volume_mm3", "root_contact_area_mm2", "hair_contact_area_mm2"):
        rank0_print(comm, f"  {key:24s} image {check[key]['image']:.6f}   "
                          f"DOLFINx on {comm.size} rank(s) {check[key]['dolfinx']:.6f}")
    assert check["max_relative_difference"] < 1e-10, check
    return summary


# ## Running it
#
# Everything goes into a run folder that appears complete or not at all. With the hairs
# the contact is about three times the root's own, as in the seed; the released mass of
# the exudation model follows it.

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="default sample → tagged soil meshes, checked by DOLFINx")
    parser.add_argument("--out", default="out/demo", help="output folder")
    parser.add_argument("--quick", action="store_true", help="a slice of 8 voxels of the sample (seconds)")
    args = parser.parse_args()
    with RunOutput(args.out, comm, command="demo_meshing") as out:
        image, voxel_um = on_root(comm, draw_sample, out, args.quick, bcast=False) or (None, None)
        voxel_um = comm.bcast(voxel_um, root=0)
        geometry = on_root(comm, geometry_metrics, image, voxel_um)
        table = compare(geometry, args.quick)
        meshes = {("mesh" if hairs else "mesh_hairless"): mesh_and_check(out, image, voxel_um, hairs)
                  for hairs in (True, False)}
        ratio = geometry["contact_fraction_root_hairs"] / geometry["contact_fraction_root"]
        rank0_print(comm, f"\ncontact with hairs / without: {ratio:.2f} (seed: 0.177 / 0.061 = 2.90)")
        out.summary(geometry=geometry, seed_comparison=table, meshes=meshes)
    rank0_print(comm, f"\nfiles in {out.out_dir}: sample.png, mesh.png, mesh.msh, mesh_hairless.msh, "
                      "mesh.xdmf (+ mesh.h5), summary.json")
