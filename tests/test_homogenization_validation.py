"""The effective tensor against exact results, published values and independent checks.

Tolerances: the cell problems are solved by CG + GAMG to a relative residual of 1e-10, so
"solver tolerance" below means agreement to 1e-8 relative to the tensor's largest entry
(two orders of magnitude of conditioning head-room; measured defects are ~1e-11).
Discretisation tolerances are stated where they apply, with the measured errors.

Both elements are checked where they differ: Q1 on one box per voxel (the default) and P1 on
the Kuhn simplices of the voxels (same nodes, same unknowns).
"""

import dataclasses

import numpy as np
import pytest
from mpi4py import MPI
from rhizofem.imaging.connectivity import clusters
from rhizofem.imaging.periodise import mirror_cell
from rhizofem.imaging.pores import SOLID, WATER, inclusion_array, laminate, sand, sand_section_2d
from rhizofem.models.homogenization import ELEMENTS, cell_tensor, distribute_cell, liquid_mesh
from rhizofem.models.homogenization.voxels import kuhn_corners, voxel_nodes

SOLVER_TOL = 1e-8
POROUS = {0: 0.0, 1: 0.0, 2: 1.0, 3: 0.5}


def tensor(labels, diffusivity=POROUS, mode="translation", comm=MPI.COMM_SELF, h=1.0, element="Q1",
           connectivity="face"):
    """The cell problems' tensor as the solver gives it (no row set to 0 afterwards)."""
    lm = (liquid_mesh(labels, diffusivity, h, mode == "translation", element, connectivity)
          if comm.rank == 0 else None)
    return cell_tensor(distribute_cell(comm, lm, diffusivity), mode)


# ---------------------------------------------------------------------------------------
# laminates: arithmetic mean along the layers, harmonic across, exact for P1 and Q1 on voxel
# layers
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("shape, axis", [((12, 5), 0), ((5, 12), 1), ((12, 4, 3), 0), ((3, 12, 4), 1),
                                         ((4, 3, 12), 2)])
def test_laminate_arithmetic_along_harmonic_across(shape, axis, element):
    thickness, labels, D = (2, 1, 3), (5, 6, 7), (1.0, 0.25, 0.6)
    image = laminate(shape, axis, thickness, labels)
    t = np.array(thickness, float)
    arithmetic = np.sum(t * D) / t.sum()
    harmonic = t.sum() / np.sum(t / np.array(D))
    expected = np.diag([harmonic if i == axis else arithmetic for i in range(len(shape))])
    got = tensor(image, dict(zip(labels, D, strict=True)), element=element).D_eff
    # the corrector is piecewise linear across the layers: P1 and Q1 are exact, only the
    # solver errs
    assert np.max(np.abs(got - expected)) < SOLVER_TOL * arithmetic


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("shape, axis", [((4, 10), 1), ((3, 4, 10), 2)])
def test_laminate_with_a_solid_layer_conducts_along_only(shape, axis, element):
    image = laminate(shape, axis, (7, 3), (WATER, SOLID))
    result = tensor(image, element=element)
    along = 0.7  # water fraction × D_water, per total volume
    for i in range(len(shape)):
        if i != axis:
            assert result.D_eff[i, i] == pytest.approx(along, rel=SOLVER_TOL)
    # no path across: D = 0 to solver tolerance, not a regularisation value
    assert abs(result.D_eff[axis, axis]) < SOLVER_TOL * along
    assert clusters(image == WATER).percolates[axis] is False


# ---------------------------------------------------------------------------------------
# published values: arrays of non-conducting discs (2D) and spheres (3D)
# ---------------------------------------------------------------------------------------


def perrins_square_array(f):
    """Square array of cylinders of conductivity 0 in a matrix of conductivity 1.

    Perrins, McKenzie & McPhedran (1979), Proc. R. Soc. Lond. A 369:207-225, the formula
    fitted to their multipole solution for the square array,
        σ = 1 − 2f / (T + f − 0.305827 f⁴ T / (T² − 1.402958 f⁸) − 0.013362 f⁸),
    T = (1 + σ_c)/(1 − σ_c) = 1 for insulating cylinders. (Their tables were not reachable
    from here; the formula's coefficients are the paper's. Its first terms are Rayleigh's
    1892 result and the Maxwell-Garnett limit (1 − f)/(1 + f).)
    """
    return 1 - 2 * f / (1 + f - 0.305827 * f**4 / (1 - 1.402958 * f**8) - 0.013362 * f**8)


def mckenzie_simple_cubic(f):
    """Simple cubic array of spheres of conductivity 0 in a matrix of conductivity 1.

    Rayleigh's formula with the octupole coefficient 1.305 of McPhedran & McKenzie (1978),
    Proc. R. Soc. Lond. A 359:45-63 and McKenzie, McPhedran & Derrick (1978), Proc. R. Soc.
    Lond. A 362:211-232:  σ = 1 − 3f / (−1/β + f − 1.305 β₃ f^(10/3)), β = −1/2 and
    β₃ = −3/4 the dipole and octupole polarisabilities of an insulating sphere. Higher terms
    are O(f^(14/3)) ≈ 5e-4 relative at f = 0.2.
    """
    return 1 - 3 * f / (2 + f - 1.305 * 0.75 * f ** (10 / 3))


def convergence(dim, f, sizes, reference, element):
    """Relative errors at the nominal and at the voxelised inclusion fraction, per size."""
    rows = []
    for n in sizes:
        image = inclusion_array(n, f, dim, matrix=WATER, inclusion=SOLID)
        D = tensor(image, h=1.0 / n, element=element).D_eff
        value = np.trace(D) / dim
        f_voxel = float(np.mean(image == SOLID))
        rows.append((n, value, value / reference(f) - 1, value / reference(f_voxel) - 1, D))
    return rows


@pytest.mark.parametrize("element", ELEMENTS)
def test_square_array_of_discs_against_perrins(element):
    rows = convergence(2, 0.5, (64, 128, 256), perrins_square_array, element)
    # measured (f = 0.5), error at the nominal f / against the formula at the voxelised f
    # (removing the voxel-volume noise):
    #   Q1: −0.57 %, −0.75 %, −0.16 % / −1.15 %, −0.46 %, −0.20 %: rates 1.3, 1.2
    #   P1: −0.27 %, −0.64 %, −0.11 % / −0.84 %, −0.35 %, −0.14 %: rates 1.3, 1.3
    n, value, err, err_voxel, D = rows[-1]
    assert abs(err) < 0.01, rows
    voxel_errors = [abs(r[3]) for r in rows]
    rates = np.log2(np.array(voxel_errors[:-1]) / np.array(voxel_errors[1:]))
    assert np.all(rates > 0.9), rates  # first order: a staircase boundary
    # the square array is isotropic, and both discrete problems keep the square's symmetries
    # (P1 on Kuhn triangles is the 5-point stencil, Q1 a symmetric 9-point one): exactly
    assert D[0, 0] == pytest.approx(D[1, 1], rel=SOLVER_TOL) and abs(D[0, 1]) < SOLVER_TOL


@pytest.mark.parametrize("element", ELEMENTS)
def test_simple_cubic_array_of_spheres_against_mckenzie(element):
    rows = convergence(3, 0.2, (16, 32, 48), mckenzie_simple_cubic, element)
    # measured (f = 0.2), error at the nominal f / at the voxelised f (a staircase sphere
    # converges slowly):
    #   Q1: −1.53 %, −1.07 %, −0.39 % / −0.660 %, −0.285 %, −0.178 % (rate 1.2 over 16 → 48)
    #   P1: −1.07 %, −0.90 %, −0.30 % / −0.198 %, −0.109 %, −0.082 % (rate 0.8)
    n, value, err, err_voxel, D = rows[-1]
    assert abs(err) < 0.01, rows
    voxel_errors = np.array([abs(r[3]) for r in rows])
    assert np.all(np.diff(voxel_errors) < 0), voxel_errors
    rate = np.log(voxel_errors[0] / voxel_errors[-1]) / np.log(48 / 16)
    assert rate > 0.6, rate
    # axis permutations map both meshes to themselves: equal diagonal entries to solver
    # tolerance
    assert np.ptp(np.diag(D)) < SOLVER_TOL * value
    # reflections map only the boxes to themselves: a diagonal tensor exactly with Q1; the
    # Kuhn split leaves off-diagonal terms of the discretisation error's size (5e-5 measured)
    off = np.max(np.abs(D - np.diag(np.diag(D))))
    assert off < SOLVER_TOL * value if element == "Q1" else 1e-6 * value < off < 1e-3 * value


# ---------------------------------------------------------------------------------------
# symmetries
# ---------------------------------------------------------------------------------------


def pinwheel(n):
    """Water in solid, invariant under the 90° rotation about the cell centre but chiral (no
    mirror symmetry): a hooked arm in one quadrant and its three rotations, joined by a
    channel along the cell's mid-lines so that the water percolates."""
    q = n // 2
    arm = np.zeros((n, n), dtype=bool)
    arm[q - 1: q + 1, :] = True  # the channel along the mid-line ...
    arm[2: q - 1, q // 2] = True  # ... a bar off it ...
    arm[2, q // 2: q - 2] = True  # ... ending in a hook to one side
    c4 = arm | np.rot90(arm) | np.rot90(arm, 2) | np.rot90(arm, 3)
    return np.where(c4, WATER, SOLID).astype(np.uint8)


@pytest.mark.parametrize("element", ELEMENTS)
def test_rotation_symmetric_geometry_is_isotropic(element):
    image = pinwheel(24)
    assert np.array_equal(np.rot90(image), image)
    mirrors = [np.roll(flipped, (i, j), (0, 1)) for flipped in (image[::-1], image[:, ::-1], image.T)
               for i in range(24) for j in range(24)]
    assert not any(np.array_equal(m, image) for m in mirrors)  # chiral: mirrors do not help
    D = tensor(image, element=element).D_eff
    # in 2D the Kuhn triangles give the 5-point stencil and Q1 a 9-point one, both invariant
    # under 90° rotations, so isotropy holds to solver tolerance, not just up to
    # discretisation error
    assert D[0, 0] > 0.05
    assert D[0, 0] == pytest.approx(D[1, 1], rel=SOLVER_TOL)
    assert abs(D[0, 1]) < SOLVER_TOL * D[0, 0]


def pinwheel_stack(refine=1):
    """Layers of the pinwheel and of its mirror image stacked along z: invariant under the 90°
    rotation about z, and the correctors vary with z."""
    a = pinwheel(16)
    image = np.concatenate([np.repeat(a[:, :, None], 3, 2), np.repeat(a.T[:, :, None], 3, 2)], axis=2)
    return np.repeat(np.repeat(np.repeat(image, refine, 0), refine, 1), refine, 2)


def test_rotation_symmetric_geometry_is_isotropic_in_3d_with_boxes():
    # a hexahedron is invariant under every symmetry of the cube, so is the Q1 problem: the
    # 90° rotation about z gives D_xx = D_yy and D_xy = 0 to solver tolerance
    D = tensor(pinwheel_stack()).D_eff
    assert D[0, 0] > 0.01
    assert D[0, 0] == pytest.approx(D[1, 1], rel=SOLVER_TOL)
    assert abs(D[0, 1]) < SOLVER_TOL * D[0, 0]


def test_rotation_symmetric_geometry_is_isotropic_in_3d_as_the_kuhn_mesh_is_refined():
    # Kuhn tetrahedra are invariant under axis permutations (so D_xx = D_yy exactly: the swap
    # x <-> y maps the stack onto itself shifted along z) but not under a 90° rotation, so
    # D_xy = 0 only up to the discretisation error, which must shrink under refinement
    off = []
    for refine in (1, 2):
        D = tensor(pinwheel_stack(refine), h=1.0 / refine, element="P1").D_eff
        assert D[0, 0] == pytest.approx(D[1, 1], rel=SOLVER_TOL)
        off.append(abs(D[0, 1]) / D[0, 0])
    # measured: 6.3e-5, then 3.5e-6
    assert off[0] < 1e-4 and off[1] < 0.2 * off[0], off


@pytest.mark.parametrize("element", ELEMENTS)
def test_tensor_is_symmetric(element):
    for image in (sand_section_2d(mucilage=True),
                  sand((20, 20, 20), 0.41, 0.19, 0.1, grain_radius_px=(3.0, 5.0), seed=2)):
        D = tensor(image, element=element).D_eff
        off = np.max(np.abs(D - np.diag(np.diag(D))))
        assert off > 1e-4 * np.max(D)  # a full tensor: the check is not trivial
        assert np.max(np.abs(D - D.T)) < SOLVER_TOL * np.max(D)


# ---------------------------------------------------------------------------------------
# mirror periodisation = translation of the explicitly mirrored cell
# ---------------------------------------------------------------------------------------


def reflected_kuhn_cell(labels, diffusivity, h=1.0):
    """The mirrored cell meshed as the mirror images of the original's Kuhn mesh (P1).

    Each voxel of the mirrored image is split like its preimage, reflected: the mesh is
    exactly mirror-symmetric (meshing the mirrored image afresh would flip the diagonals of
    the reflected copies, which in 3D is a different discretisation). Reflecting a voxel
    along axis a swaps its corners k and k XOR 2^a.
    """
    cell = mirror_cell(labels)
    lm = liquid_mesh(cell, diffusivity, h, periodic=True, element="P1")
    liquid = np.isin(cell, [k for k, d in diffusivity.items() if d > 0])
    vn = voxel_nodes(liquid, h, periodic=True)
    assert np.array_equal(vn.points, lm.points)
    dim = cell.ndim
    v = np.stack(np.unravel_index(vn.voxels, cell.shape), axis=1)
    flip = np.sum((v >= np.array(labels.shape)) << np.arange(dim), axis=1)  # reflected axes as bits
    kuhn = kuhn_corners(dim)
    cells = vn.corner_nodes[np.arange(len(v))[:, None, None], kuhn[None] ^ flip[:, None, None]]
    values = np.repeat(cell.ravel()[vn.voxels], len(kuhn)).astype(np.int32)
    return dataclasses.replace(lm, cells=cells.reshape(-1, dim + 1), cell_labels=values)


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("shape, seed", [((7, 6), 1), ((5, 4, 3), 2)])
def test_mirror_equals_translation_of_the_mirrored_cell(shape, seed, element):
    rng = np.random.default_rng(seed)
    image = rng.choice([0, 1, 2, 3], size=shape, p=[0.15, 0.1, 0.5, 0.25]).astype(np.uint8)
    mirrored = tensor(image, mode="mirror", element=element).D_eff
    # a box reflected is the same box: the mirrored image meshed afresh is the mirrored mesh
    lm = (liquid_mesh(mirror_cell(image), POROUS, 1.0, periodic=True) if element == "Q1"
          else reflected_kuhn_cell(image, POROUS))
    explicit = cell_tensor(distribute_cell(MPI.COMM_SELF, lm, POROUS), "translation").D_eff
    scale = np.max(np.abs(explicit))
    assert scale > 0.1  # percolating sample
    # the mirrored cell's tensor is diagonal (checked on the explicit cell, where nothing
    # forces it) and equals the Dirichlet/no-flux problem on the image
    assert np.max(np.abs(explicit - np.diag(np.diag(explicit)))) < SOLVER_TOL * scale
    assert np.max(np.abs(mirrored - explicit)) < SOLVER_TOL * scale


def test_mirror_gives_a_diagonal_tensor_where_translation_does_not():
    image = sand_section_2d(mucilage=True)
    translated = tensor(image).D_eff
    mirrored = tensor(image, mode="mirror").D_eff
    assert abs(translated[0, 1]) > 0.05 * translated[0, 0]
    assert mirrored[0, 1] == 0.0 and mirrored[1, 0] == 0.0


# ---------------------------------------------------------------------------------------
# percolation and null spaces
# ---------------------------------------------------------------------------------------


def test_non_percolating_direction_gives_zero():
    image = sand_section_2d(mucilage=False)  # the seed's case: water alone does not span y
    perc = clusters(np.isin(image, [2, 3])).percolates
    assert perc == (True, False)
    result = tensor(image)
    assert result.D_eff[0, 0] > 0.01
    assert abs(result.D_eff[1, 1]) < SOLVER_TOL * result.D_eff[0, 0]
    assert abs(result.D_eff[0, 1]) < SOLVER_TOL * result.D_eff[0, 0]
    assert result.num_pinned > 1  # several clusters, each with its own constant


def test_isolated_pockets_change_nothing():
    base = laminate((16, 12, 6), 1, (3, 9), (WATER, SOLID))
    base[5, 4:8, 2] = WATER  # a dead end attached to the channel: part of the network
    pockets = base.copy()
    pockets[10, 6, 3] = WATER  # single voxels and a small blob inside the solid,
    pockets[3:5, 9:11, 1:3] = 3  # touching no other liquid (not even at a corner)
    pockets[13, 10, 5] = 3
    assert clusters(np.isin(pockets, [2, 3])).count == clusters(base == WATER).count + 3
    plain, with_pockets = tensor(base), tensor(pockets)
    assert with_pockets.num_pinned == plain.num_pinned + 3
    assert np.max(np.abs(with_pockets.D_eff - plain.D_eff)) < SOLVER_TOL * plain.D_eff[0, 0]


@pytest.mark.parametrize("shape, p, seeds", [((14, 14), 0.59, range(8)), ((7, 7, 7), 0.31, range(6))])
def test_percolation_from_connectivity_matches_the_solver(shape, p, seeds):
    # two independent codes: image connectivity with wrap (union-find with windings) and the
    # finite-element solve; random images near the site-percolation threshold of the face
    # neighbourhood (0.5927 square, 0.3116 simple cubic) give both outcomes, with many
    # edge and corner contacts that must not conduct
    outcomes = set()
    for seed in seeds:
        image = np.where(np.random.default_rng(seed).random(shape) < p, WATER, SOLID).astype(np.uint8)
        perc = clusters(image == WATER).percolates
        D = tensor(image).D_eff
        conducts = tuple(bool(D[i, i] > 1e-6) for i in range(len(shape)))
        assert conducts == perc, (seed, np.diag(D))
        outcomes.update(perc)
    assert outcomes == {True, False}


# ---------------------------------------------------------------------------------------
# point contacts: liquid connects through faces only
# ---------------------------------------------------------------------------------------


def test_nodes_are_cut_at_edge_and_corner_contacts():
    # two pixels meeting at a corner share no node (8 nodes, 7 with point connectivity)
    diagonal = np.array([[1, 0], [0, 1]], bool)
    assert len(voxel_nodes(diagonal, 1.0).points) == 8
    assert len(voxel_nodes(diagonal, 1.0, connectivity="point").points) == 7
    # an L of three pixels: the outer two meet at a corner but are joined through the third's
    # faces around it, so the corner stays one node (the flux passes through the middle pixel)
    ell = np.array([[1, 0], [1, 1]], bool)
    assert len(voxel_nodes(ell, 1.0).points) == 8
    # 3D: two voxels sharing only an edge keep 2 copies of each of its 2 nodes (16 nodes, 14
    # with point connectivity); a 2x2x2 checkerboard has 4 face-isolated voxels around its
    # centre corner, so 4 copies of it
    edge = np.zeros((2, 2, 1), bool)
    edge[0, 0, 0] = edge[1, 1, 0] = True
    assert len(voxel_nodes(edge, 1.0).points) == 16
    assert len(voxel_nodes(edge, 1.0, connectivity="point").points) == 14
    checker = (np.indices((2, 2, 2)).sum(axis=0) % 2 == 0)
    vn = voxel_nodes(checker, 1.0)
    assert len(vn.points) == 32 and np.sum(np.all(vn.points == 1.0, axis=1)) == 4
    # periodic: the copies at x = 0 and x = L of a torus point carry the same group label
    m = np.zeros((4, 4), bool)
    m[0, 0] = m[3, 3] = True  # corner contact across the border, at the torus corner
    vn = voxel_nodes(m, 1.0, periodic=True)
    at_origin = vn.node_group[np.all(vn.points == 0.0, axis=1)]
    at_far = vn.node_group[np.all(vn.points == 4.0, axis=1)]
    assert len(at_origin) == len(at_far) == 1 and at_origin[0] != at_far[0]


def corner_chains(dim):
    """Chains of voxels touching only at corners (and, in 3D, only at edges) that would wind
    around the torus if point contacts conducted."""
    n = 6
    if dim == 2:
        diag = np.eye(n, dtype=bool)
        anti = diag[::-1].copy()
        return {"diagonal": diag, "anti-diagonal": anti}
    corners = np.zeros((n, n, n), bool)
    edges = np.zeros((n, n, n), bool)
    for k in range(n):
        corners[k, k, k] = edges[k, k, 2] = True
    return {"corners": corners, "edges": edges}


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("mode", ["translation", "mirror"])
@pytest.mark.parametrize("dim", [2, 3])
def test_chain_of_point_contacts_conducts_nothing(dim, mode, element):
    for name, chain in corner_chains(dim).items():
        image = np.where(chain, WATER, SOLID).astype(np.uint8)
        fraction = chain.mean()
        assert clusters(chain, periodic=mode == "translation").percolates == (False,) * dim
        D = tensor(image, mode=mode, element=element).D_eff
        # every voxel is a cluster of its own, pinned: the corrector cancels the field and the
        # solver leaves only round-off
        assert np.max(np.abs(D)) < SOLVER_TOL * fraction, (name, D)
        # the same chain with every corner one node conducts: the check above can fail
        point = tensor(image, mode=mode, element=element, connectivity="point").D_eff
        assert np.max(np.diag(point)) > 1e-3 * fraction, (name, point)


@pytest.mark.mpi
@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("mode", ["translation", "mirror"])
@pytest.mark.parametrize("dim", [2, 3])
def test_point_contacts_conduct_nothing_on_every_rank(comm, dim, mode, element):
    # the chains wind across the periodic boundary, which the slab partition puts on two
    # ranks: copies of a corner cut apart must stay apart across ranks too
    for name, chain in corner_chains(dim).items():
        image = np.where(chain, WATER, SOLID).astype(np.uint8)
        D = tensor(image, mode=mode, element=element, comm=comm).D_eff
        assert np.max(np.abs(D)) < SOLVER_TOL * chain.mean(), (name, D)


@pytest.mark.mpi
@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("shape, p", [((24, 24), 0.62), ((10, 10, 10), 0.36)])
def test_face_connected_tensor_is_the_same_on_every_rank(comm, shape, p, element):
    # random liquid just above the face-percolation threshold: many edge and corner contacts,
    # some across the periodic boundary between ranks
    image = np.where(np.random.default_rng(7).random(shape) < p, WATER, SOLID).astype(np.uint8)
    par = tensor(image, comm=comm, element=element)
    ser = tensor(image, element=element)
    scale = np.max(np.abs(ser.D_eff))
    assert scale > 1e-3
    assert np.max(np.abs(par.D_eff - ser.D_eff)) < SOLVER_TOL * scale
    assert comm.size == 1 or par.num_remote_partners > 0
