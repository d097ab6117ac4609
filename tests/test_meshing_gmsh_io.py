"""Gmsh files: written meshes load back with every tag; foreign meshes are read by group name;
bad files are refused with the file, the group and the fix named (on every rank, no hang).

References: the image's counts (rhizofem's own meshes are exact, 1e-10 relative for the
round-off of ~10⁵ facet areas) and, for a box meshed by Gmsh from a .geo file, its
analytic volume and face areas (exact for a polyhedron: 1e-12).
"""

import pytest
from conftest import ROOT
from mpi4py import MPI
from rhizofem.errors import InputError
from rhizofem.imaging.io import Labels
from rhizofem.imaging.metrics import geometry_metrics
from rhizofem.imaging.sample import remove_hairs, section_2d
from rhizofem.meshing.gmsh_io import read_soil_msh, write_soil_msh
from rhizofem.meshing.soil import measure_tags, soil_simplices
from test_meshing_soil import EXACT, H_UM, SMALL, assert_matches_image

L = Labels()
FIXED = {"soil": (3, 1), "root_contact": (2, 11), "hair_contact": (2, 12), "no_flux": (2, 13)}


@pytest.fixture
def small_msh(shared_tmp):
    path = shared_tmp / "small.msh"
    if MPI.COMM_WORLD.rank == 0:
        write_soil_msh(path, soil_simplices(SMALL, H_UM, L))
    MPI.COMM_WORLD.barrier()
    return path


@pytest.mark.parametrize("binary", [True, False])
def test_round_trip_keeps_every_tag(tmp_path, binary):
    path = write_soil_msh(tmp_path / "m.msh", soil_simplices(SMALL, H_UM, L), binary=binary)
    tm = read_soil_msh(path, MPI.COMM_SELF, inlet=("root", "hair"))
    assert tm.names == FIXED
    assert_matches_image(measure_tags(tm), SMALL, H_UM)


def test_stored_reference_mesh_matches_its_image():
    tm = read_soil_msh(ROOT / "meshes" / "small_sample.msh", MPI.COMM_SELF)
    assert_matches_image(measure_tags(tm), SMALL, H_UM)


def test_hairless_mesh_has_an_empty_hair_group(tmp_path):
    path = write_soil_msh(tmp_path / "bare.msh", soil_simplices(remove_hairs(SMALL, L), H_UM, L))
    tm = read_soil_msh(path, MPI.COMM_SELF)
    assert tm.names == FIXED and measure_tags(tm)["hair_contact"] == 0.0
    with pytest.raises(InputError) as err:
        read_soil_msh(path, MPI.COMM_SELF, inlet=["root", "hair"])
    assert "bare.msh" in str(err.value) and "inlet group 'hair_contact' is empty" in str(err.value)


def test_two_dimensional_round_trip(tmp_path):
    section = section_2d(SMALL)
    path = write_soil_msh(tmp_path / "s.msh", soil_simplices(section, H_UM, L))
    tm = read_soil_msh(path, MPI.COMM_SELF)
    assert tm.mesh.geometry.dim == 2 and tm.names["soil"] == (2, 1)
    assert_matches_image(measure_tags(tm), section, H_UM)


def mesh_geo(tmp_path, text, name="box"):
    """Mesh a .geo file with the Gmsh API, as another tool would, and return the .msh."""
    import gmsh

    geo, msh = tmp_path / f"{name}.geo", tmp_path / f"{name}.msh"
    geo.write_text(text)
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.open(str(geo))
        gmsh.model.mesh.generate(3)
        gmsh.write(str(msh))
    finally:
        gmsh.finalize()
    return msh


# A 200 × 100 × 100 µm box from OpenCASCADE; its faces come as x-min, x-max, y-min, y-max,
# z-min, z-max. The group numbers clash on purpose with rhizofem's fixed ones.
BOX_GEO = """
SetFactory("OpenCASCADE");
Box(1) = {0, 0, 0, 200, 100, 100};
Mesh.MeshSizeMax = 40;
Physical Volume("soil", 7) = {1};
Physical Surface("root_contact", 13) = {1};
Physical Surface("no_flux", 11) = {2, 3, 4, 5};
Physical Surface("top", 12) = {6};
"""


def test_foreign_mesh_is_read_by_group_name_and_rescaled(tmp_path):
    msh = mesh_geo(tmp_path, BOX_GEO)
    tm = read_soil_msh(msh, MPI.COMM_SELF, length_unit="um")
    # known names get the fixed numbers; "top" moves off the reserved 12 (hair_contact)
    assert tm.names == {**FIXED, "top": (2, 1012)}
    m = measure_tags(tm)
    assert m["soil"] == pytest.approx(200 * 100 * 100 * 1e-9, rel=1e-12)
    assert m["root_contact"] == pytest.approx(100 * 100 * 1e-6, rel=1e-12)
    assert m["no_flux"] == pytest.approx((100 * 100 + 3 * 200 * 100) * 1e-6, rel=1e-12)  # x-max, y, z-min
    assert m["top"] == pytest.approx(200 * 100 * 1e-6, rel=1e-12)
    assert m["hair_contact"] == 0.0
    # the same file read as millimetres is 1000 times larger
    big = measure_tags(read_soil_msh(msh, MPI.COMM_SELF, length_unit="mm"))
    assert big["soil"] == pytest.approx(m["soil"] * 1e9, rel=1e-12)


GEO_NO_SOIL = BOX_GEO.replace('"soil", 7', '"domain", 7')
GEO_NO_INLET = BOX_GEO.replace('Physical Surface("root_contact", 13) = {1};', "")
GEO_UNTAGGED = """
SetFactory("OpenCASCADE");
Box(1) = {0, 0, 0, 1, 1, 1};
Box(2) = {2, 0, 0, 1, 1, 1};
Mesh.MeshSizeMax = 0.5;
Mesh.SaveAll = 1;  // also the cells of box 2, which no group holds
Physical Volume("soil") = {1};
Physical Surface("root_contact") = {1};
"""


@pytest.mark.parametrize("geo, fragments", [
    (GEO_NO_SOIL, ["no physical group named 'soil' of dimension 3", "'domain' (dim 3)", 'Physical Volume("soil")']),
    (GEO_NO_INLET, ["no physical group named 'root_contact' of dimension 2", "Fix: name the inlet"]),
    (GEO_UNTAGGED, ["cells of dimension 3, but the volume groups (soil) hold", "exactly one volume group"]),
])
def test_foreign_mesh_without_the_groups_is_refused(tmp_path, geo, fragments):
    msh = mesh_geo(tmp_path, geo)
    with pytest.raises(InputError) as err:
        read_soil_msh(msh, MPI.COMM_SELF, length_unit="um")
    for f in fragments + ["box.msh"]:
        assert f in str(err.value)


@pytest.mark.parametrize("cut", [0.1, 0.6, 0.999])
@pytest.mark.parametrize("binary", [True, False])
def test_truncated_file_is_refused(tmp_path, cut, binary):
    whole = write_soil_msh(tmp_path / "m.msh", soil_simplices(SMALL, H_UM, L), binary=binary).read_bytes()
    (tmp_path / "cut.msh").write_bytes(whole[: int(len(whole) * cut)])
    with pytest.raises(InputError) as err:
        read_soil_msh(tmp_path / "cut.msh", MPI.COMM_SELF)
    assert "cut.msh: Gmsh cannot read this file" in str(err.value) and "truncated" in str(err.value)


def test_other_bad_input_is_refused(tmp_path):
    (tmp_path / "notes.msh").write_text("these are notes, not a mesh\n")
    with pytest.raises(InputError, match="notes.msh: Gmsh cannot read this file"):
        read_soil_msh(tmp_path / "notes.msh", MPI.COMM_SELF)
    with pytest.raises(InputError, match="absent.msh: mesh file not found. Fix"):
        read_soil_msh(tmp_path / "absent.msh", MPI.COMM_SELF)
    with pytest.raises(InputError, match="unknown length_unit 'inch'"):
        read_soil_msh(tmp_path / "absent.msh", MPI.COMM_SELF, length_unit="inch")
    with pytest.raises(InputError, match="unknown inlet group 'stem'"):
        read_soil_msh(tmp_path / "absent.msh", MPI.COMM_SELF, inlet=["stem"])


@pytest.mark.mpi
def test_parallel_read_matches_serial_and_image(comm, small_msh):
    serial = measure_tags(read_soil_msh(small_msh, MPI.COMM_SELF))
    tm = read_soil_msh(small_msh, comm, inlet=("root", "hair"))
    parallel = measure_tags(tm)
    for k in serial:
        assert parallel[k] == pytest.approx(serial[k], rel=EXACT, abs=1e-15)
    assert_matches_image(parallel, SMALL, H_UM)
    assert min(comm.allgather(tm.mesh.topology.index_map(3).size_local)) > 0
    g = geometry_metrics(SMALL, H_UM)
    assert parallel["hair_contact"] == pytest.approx(g["hair_contact_area_mm2"], rel=EXACT)


@pytest.mark.mpi
def test_bad_file_raises_on_every_rank(comm, small_msh):
    cut = small_msh.with_name("cut.msh")
    if comm.rank == 0:
        cut.write_bytes(small_msh.read_bytes()[:5000])
    comm.barrier()
    for path in (cut, small_msh.with_name("absent.msh")):
        with pytest.raises(InputError):
            read_soil_msh(path, comm)
    bare = small_msh.with_name("bare.msh")
    if comm.rank == 0:
        write_soil_msh(bare, soil_simplices(remove_hairs(SMALL, L), H_UM, L))
    comm.barrier()
    with pytest.raises(InputError, match="is empty"):
        read_soil_msh(bare, comm, inlet=("hair",))
