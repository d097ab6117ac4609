"""Mucilage in a drying sand (rhizofem.imaging.liquid.mucilage): the polymer mass is
conserved, the concentration rises as water leaves, the gel stops draining at c_gel and
keeps the liquid spanning the sample where water alone breaks up. Image work only, serial."""

import numpy as np
import pytest
from rhizofem.errors import InputError
from rhizofem.imaging.liquid import LiquidStage, build_sequence, configuration, drainage
from rhizofem.imaging.liquid.mucilage import mackie_meares
from rhizofem.imaging.liquid.samples import sphere_pack
from scipy import ndimage

H = 10e-6
VOXEL_CM3 = (H * 100) ** 3
PACK = dict(shape=(32, 32, 32), porosity=0.4, radius=(3.0, 5.0), seed=2)


@pytest.fixture(scope="module")
def pack():
    return sphere_pack(**PACK)


def polymer_mg(image, mg_g=8.0, density=2.65):
    """mg/g times the dry mass of the image's solid, computed here independently."""
    return mg_g * density * np.count_nonzero(image == 0) * VOXEL_CM3


def spans(liquid):
    """Per axis: does a face-connected liquid cluster touch both opposite faces?"""
    lab, _ = ndimage.label(liquid, ndimage.generate_binary_structure(liquid.ndim, 1))
    out = []
    for axis in range(liquid.ndim):
        first, last = np.take(lab, 0, axis=axis), np.take(lab, -1, axis=axis)
        out.append(bool(np.intersect1d(first[first > 0], last[last > 0]).size))
    return out


def test_polymer_mass_is_conserved_and_concentrates_until_it_gels(pack):
    stage = LiquidStage(water_content=(0.1,), periodic=True, mucilage_mg_g=8.0, gel_mg_cm3=50.0)
    seq = build_sequence(pack, stage, {1}, H)
    mass = polymer_mg(pack)
    # all the pore water holds the polymer: c = M / (θ V); it gels at θ = M / (c_gel V)
    theta_gel = mass / (stage.gel_mg_cm3 * pack.size * VOXEL_CM3)
    assert seq.info["gel_from_liquid_voxels"] == int(np.floor(theta_gel * pack.size * (1 + 1e-12)))
    lowest = seq.info["minimum_liquid_voxels"] / pack.size
    previous_c = 0.0
    for theta in np.linspace(0.4, lowest, 14):
        conf = configuration(seq, theta, pack, stage, H)
        n_mu = int(np.count_nonzero(conf.labels == stage.mucilage_label))
        assert n_mu == conf.liquid_voxels  # placement "liquid": no free water
        # the polymer in the image is the polymer added, in every configuration
        assert conf.mucilage_concentration_mg_cm3 * n_mu * VOXEL_CM3 == pytest.approx(mass, rel=1e-12)
        assert conf.mucilage_concentration_mg_cm3 >= previous_c  # concentrates as it dries
        previous_c = conf.mucilage_concentration_mg_cm3
        # below the gel point every voxel that goes is gel drying from its surface; above it
        # the solution drained by capillarity; c_gel is crossed exactly there
        beyond = conf.liquid_voxels < seq.info["gel_from_liquid_voxels"]
        assert (conf.stage == "gel") == beyond
        assert (conf.mucilage_concentration_mg_cm3 >= stage.gel_mg_cm3) == (conf.liquid_voxels <= theta_gel * pack.size)
    with pytest.raises(InputError, match="gel that cannot thin further"):
        configuration(seq, lowest - 2 / pack.size, pack, stage, H)


def test_gel_keeps_the_liquid_spanning_the_sand_where_water_alone_breaks_up(pack):
    water = build_sequence(pack, LiquidStage(water_content=(0.1,), periodic=True), {1}, H)
    stage = LiquidStage(water_content=(0.1,), periodic=True, mucilage_mg_g=8.0)
    gel = build_sequence(pack, stage, {1}, H)
    for theta in (0.1, 0.08):
        n = round(theta * pack.size)
        # measured: water spans [F, F, T] at 0.1 and no axis at 0.08; the gel spans all three
        assert not all(spans(water.liquid(n)))
        assert all(spans(gel.liquid(n)))
    # above the gel point the two are the same liquid (the mucilage drains like water)
    n = round(0.3 * pack.size)
    assert np.array_equal(water.liquid(n), gel.liquid(n))


def test_contacts_placement_fills_the_smallest_pores_first(pack):
    c0 = 60.0  # mg/cm³ of the initial solution
    stage = LiquidStage(water_content=(0.1,), periodic=True, mucilage_mg_g=2.0, mucilage_placement="contacts",
                        mucilage_initial_mg_cm3=c0, gel_mg_cm3=150.0)
    seq = build_sequence(pack, stage, {1}, H)
    n0 = round(polymer_mg(pack, mg_g=2.0) / (c0 * VOXEL_CM3))
    assert int(seq.mucilage.sum()) == n0
    # the smallest pores and the contacts: the liquid water-only drainage keeps longest
    water = drainage(pack == 1, periodic=True)
    assert np.array_equal(seq.mucilage, water.liquid(n0))
    conf = configuration(seq, 0.4, pack, stage, H)  # saturated: water and mucilage side by side
    assert int(np.count_nonzero(conf.labels == stage.mucilage_label)) == n0
    assert conf.mucilage_concentration_mg_cm3 == pytest.approx(polymer_mg(pack, 2.0) / (n0 * VOXEL_CM3))
    assert int(np.count_nonzero(conf.labels == stage.water_label)) == np.count_nonzero(pack == 1) - n0


def test_label_placement_takes_the_mucilage_of_the_image(pack):
    image = pack.copy()
    region = np.zeros(pack.shape, dtype=bool)
    region[:8] = True
    image[region & (pack == 1)] = 3
    stage = LiquidStage(water_content=(0.1,), periodic=True, mucilage_mg_g=1.0, mucilage_placement="label")
    seq = build_sequence(image, stage, {1, 2, 3}, H)
    assert np.array_equal(seq.mucilage, region & (pack == 1))
    with pytest.raises(InputError, match="no pore voxel has the mucilage label 3"):
        build_sequence(pack, stage, {1, 2, 3}, H, source="pack.npy")


def test_mackie_meares_obstruction():
    # ((1 − v)/(1 + v))², v = c / ρ_p: 150 mg/cm³ of a 1.5 g/cm³ polymer is v = 0.1
    assert mackie_meares(150.0, 1.5) == pytest.approx((0.9 / 1.1) ** 2, rel=1e-14)
    assert mackie_meares(0.0, 1.5) == 1.0
