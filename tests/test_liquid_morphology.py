"""Full-morphology drainage and imbibition (rhizofem.imaging.liquid) against closed forms:
tubes and slits of known radii, ink bottles, trapped pockets, water contents met to one
voxel, the local topology tables. Image work only: serial, a few seconds (the two-sphere
bridge is in test_liquid_bridge.py)."""

import math

import numpy as np
import pytest
from rhizofem.errors import InputError
from rhizofem.imaging.liquid import (
    LiquidStage,
    build_sequence,
    configuration,
    drainage,
    imbibition,
    retention,
    water_content_at_radius,
)
from rhizofem.imaging.liquid.morphology import effective_radius
from rhizofem.imaging.liquid.mucilage import background_components, component_lut
from rhizofem.imaging.liquid.samples import ink_bottle, sphere_pack, tube_bundle
from scipy import ndimage

H = 10e-6  # voxel size (m) of every image here
SIGMA = 0.072


# ---------------------------------------------------------------------------------------
# tubes, slits, ink bottles, trapping
# ---------------------------------------------------------------------------------------

RADII = (2.0, 3.4, 5.0, 6.6)


@pytest.mark.parametrize("inlet", ["none", ("z-",)])
def test_tube_bundle_empties_exactly_the_tubes_wider_than_the_meniscus(inlet):
    image, axes = tube_bundle(RADII, length=10)
    pore = image == 1
    seq = drainage(pore, inlet=inlet)
    levels = seq.levels()
    tube_of = np.zeros(image.shape[:2], dtype=int) - 1
    ii, jj = np.indices(image.shape[:2])
    for k, ((x, y), r) in enumerate(zip(axes, RADII, strict=True)):
        tube_of[(ii - x - 0.5) ** 2 + (jj - y - 0.5) ** 2 < (r + 1) ** 2] = k
    for k, r in enumerate(RADII):
        inside = pore & (tube_of == k)[:, :, None]
        classes = np.unique(levels[inside])
        # a tube is one pore-size class: it drains at once (no rim of water is left, the
        # ball on its axis covers every voxel of it) ...
        assert classes.size == 1
        # ... at the meniscus radius of the tube within half a voxel: the axis voxel's
        # distance d to the nearest solid voxel centre is in [r, r + 1) and R = d − 1/2
        assert abs(effective_radius(classes[0]) - r) <= 0.5
    # at a capillary pressure p exactly the tubes with r > 2σ/p are empty: radii halfway
    # between the tubes' (≥ 0.7 voxel from each, more than the half voxel above)
    volumes = [int((pore & (tube_of == k)[:, :, None]).sum()) for k in range(len(RADII))]
    for R in (1.0, 2.7, 4.2, 5.8, 8.0):
        p = 2 * SIGMA / (R * H)
        full = [k for k, r in enumerate(RADII) if 2 * SIGMA / (r * H) > p]  # entry pressure above p
        expected = sum(volumes[k] for k in full) / image.size
        assert water_content_at_radius(seq, R) == pytest.approx(expected, abs=0.5 / image.size)


def test_tube_bundle_retention_curve_is_the_step_curve_within_one_voxel_radius():
    image, _ = tube_bundle(RADII, length=10)
    pore = image == 1
    seq = drainage(pore, inlet=("z-",))
    stage = LiquidStage(water_content=(0.1,))
    points = retention(seq, stage, H)
    assert len(points) == len(RADII)  # one step per tube
    volumes = []
    for r in RADII:  # each tube's own voxels: the bundle of one tube
        one, _ = tube_bundle([r], length=10)
        volumes.append(int((one == 1).sum()))

    def analytic(R):  # water content of the ideal bundle (the voxel tubes' volumes) at radius R
        return sum(v for v, r in zip(volumes, RADII, strict=True) if r < R) / image.size

    for q in points:
        R = 2 * SIGMA / q["capillary_pressure_Pa"] / H
        # the computed curve lies between the ideal step curve shifted by ± one voxel radius
        assert analytic(R - 1.0) <= q["water_content"] + 1e-15
        assert q["water_content"] <= analytic(R + 1.0) + 1e-15
        assert q["radius_um"] == pytest.approx(R * H * 1e6, rel=1e-12)


@pytest.mark.parametrize("angle", [0.0, 60.0])
def test_slits_in_2d_enter_at_sigma_cos_over_half_width(angle):
    # 2D: an image is a section of an extruded medium, the menisci are cylinders:
    # p = σ cos θ_c / (w/2). Odd widths w: the middle voxel's distance to the solid centres
    # is (w+1)/2, so R = w/2 exactly (an even slit has no middle voxel: R = (w−1)/2).
    widths = (3, 5, 9, 13)
    rows = sum(w + 2 for w in widths) + 2
    image = np.zeros((rows, 20), dtype=np.uint8)
    x = 2
    for w in widths:
        image[x:x + w, :] = 1
        x += w + 2
    stage = LiquidStage(water_content=(0.1,), contact_angle_deg=angle)
    seq = drainage(image == 1, inlet=("y-",))
    points = retention(seq, stage, H)
    expected = sorted(SIGMA * math.cos(math.radians(angle)) / (w / 2 * H) for w in widths)
    assert [q["capillary_pressure_Pa"] for q in points] == pytest.approx(expected, rel=1e-12)


def test_ink_bottle_drains_through_its_throat_and_imbibes_by_its_body():
    pore = ink_bottle(throat=2, body=6, length=30) == 1
    cx, cy = pore.shape[0] // 2, pore.shape[1] // 2
    body, throat = (cx, cy, 15), (cx, cy, 3)
    opened = drainage(pore, inlet="none").levels()
    invaded = drainage(pore, inlet=("z-",)).levels()
    imbibed = imbibition(pore, inlet="none").levels()
    # without an inlet the body empties at its own size; from the inlet face the gas has to
    # pass the throat first: the body empties only at the throat's pressure (ink bottle)
    assert effective_radius(opened[body]) > effective_radius(opened[throat]) + 2
    assert invaded[body] == invaded[throat]
    # imbibition fills the body only once the menisci are larger than the body: hysteresis
    assert imbibed[body] == opened[body] and imbibed[body] > invaded[body]


def test_trapping_keeps_the_water_of_a_pocket_cut_off_from_the_outlet():
    image = ink_bottle(throat=2, body=6, pocket_neck=1, length=30)
    pore = image == 1
    free = drainage(pore, inlet=("z-",))
    trapped = drainage(pore, inlet=("z-",), trapping=True)
    # the pocket (13 x 13 x 10 voxels) and its neck (3 x 3 in section, 3 voxels between the
    # channel's wall and the pocket's: see ink_bottle)
    pocket = 13 * 13 * 10
    neck = 3 * 3 * 3
    assert free.always_liquid() == 0  # the channel drains first, the pocket through its neck later
    assert trapped.info["trapped_voxels"] == trapped.always_liquid() == pocket + neck
    stage = LiquidStage(water_content=(0.01,), inlet=("z-",), trapping=True)
    lowest = (pocket + neck) / pore.size
    with pytest.raises(InputError, match=f"lowest liquid content this drainage leaves, {lowest:.4g}"):
        configuration(trapped, 0.01, image, stage, H)


# ---------------------------------------------------------------------------------------
# water contents met exactly
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim, method, periodic", [(2, "drainage", True), (3, "drainage", False),
                                                    (3, "imbibition", False), (2, "imbibition", True)])
def test_every_water_content_is_met_to_one_voxel_and_configurations_are_nested(dim, method, periodic):
    shape = (48, 48) if dim == 2 else (20, 20, 20)
    image = sphere_pack(shape, 0.4, radius=(3.0, 5.0), seed=3)
    inlet = "none" if periodic else ("x-",)
    stage = LiquidStage(water_content=(0.1,), method=method, inlet=inlet, periodic=periodic)
    seq = build_sequence(image, stage, {1}, H)
    assert np.array_equal(np.sort(seq.fill_order), np.flatnonzero(image.ravel() == 1))  # a permutation
    rng = np.random.default_rng(0)
    previous = None
    # from the water the gas cannot reach (pores not joined to the inlet) to all the water
    # that can get in
    lo, hi = seq.always_liquid() / seq.size, (seq.n_pore - seq.never_liquid()) / seq.size
    for theta in sorted(rng.uniform(lo, hi, 12)) + [hi]:
        conf = configuration(seq, theta, image, stage, H)
        liquid = conf.labels == stage.water_label
        assert int(liquid.sum()) == round(theta * image.size)  # to one voxel
        assert conf.water_content == pytest.approx(theta, abs=0.5 / image.size)
        assert np.array_equal(conf.labels == 0, image == 0)  # the solid is untouched
        if previous is not None:
            assert not np.any(previous & ~liquid)  # wetter contains drier
        previous = liquid


def test_periodic_drainage_does_not_depend_on_where_the_image_is_cut():
    image = sphere_pack((40, 40), 0.4, radius=(3.0, 6.0), seed=5)
    stage = LiquidStage(water_content=(0.1,), periodic=True)
    base = retention(build_sequence(image, stage, {1}, H), stage, H)
    rolled = retention(build_sequence(np.roll(image, (13, 7), axis=(0, 1)), stage, {1}, H), stage, H)
    # the classes (pressures and the water content after each) are the torus's own
    assert [(q["capillary_pressure_Pa"], q["water_content"]) for q in base] == \
        [(q["capillary_pressure_Pa"], q["water_content"]) for q in rolled]


# ---------------------------------------------------------------------------------------
# the local topology tables
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [2, 3])
def test_component_tables_match_labelling(dim):
    lut, offsets, faces = component_lut(dim)
    rng = np.random.default_rng(1)
    structure = ndimage.generate_binary_structure(dim, 1)
    for _ in range(300):
        bits = rng.random(len(offsets)) < 0.5
        cube = np.zeros((3,) * dim, dtype=bool)
        for b, off in zip(bits, offsets, strict=True):
            cube[tuple(off + 1)] = b
        lab, _ = ndimage.label(cube, structure)  # centre is empty: N18 (3D) / N8 (2D) only
        touching = {lab[tuple(offsets[f] + 1)] for f in faces if bits[f]}
        code = int(np.sum(bits.astype(np.int64) << np.arange(len(offsets))))
        assert lut[code] == len(touching)
        # the background of the whole 3^d shell, with face, edge and corner adjacency
        shell = np.array([o for o in np.ndindex(*(3,) * dim) if o != (1,) * dim])
        full = rng.random(len(shell)) < 0.5
        cube = np.zeros((3,) * dim, dtype=bool)
        cube[tuple(shell.T)] = full
        _, count = ndimage.label(cube, np.ones((3,) * dim, dtype=bool))
        assert background_components(full[None, :], dim)[0] == count
