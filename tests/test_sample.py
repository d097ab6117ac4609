"""Synthetic samples: deterministic, on target, like the seed's, and their hairless variant."""

import dataclasses
import hashlib

import numpy as np
import pytest
from conftest import ROOT
from rhizofem.config import load
from rhizofem.errors import ConfigError, InputError
from rhizofem.imaging.io import Labels
from rhizofem.imaging.metrics import face_counts, geometry_metrics, phase_index
from rhizofem.imaging.sample import (
    SEED_CASE_STUDY_3,
    Config,
    compare_with_seed,
    default_sample,
    generate_sample,
    remove_hairs,
    section_2d,
)
from scipy import ndimage

L = Labels()
SMALL = load(Config, ROOT / "meshes" / "small_sample.toml").sample


def test_same_parameters_same_image_and_the_stored_reference():
    a = generate_sample(SMALL)
    assert np.array_equal(a, generate_sample(SMALL))
    assert not np.array_equal(a, generate_sample(dataclasses.replace(SMALL, seed=SMALL.seed + 1)))
    # meshes/small_sample.npy was generated once; equality here means the generator gives
    # the same image on this machine and NumPy (it uses only PCG64 draws and IEEE
    # arithmetic, no libm function whose last bit could differ)
    assert np.array_equal(a, np.load(ROOT / "meshes" / "small_sample.npy"))


def test_default_sample_matches_the_seed():
    """The seed's ROI as published (case study 3) against the default sample.

    Tolerance 5 %: the issue asks for "a few percent"; the seed's volumes are rounded to
    0.1 mm³ (their fractions carry ±4-12 % of rounding), its contact fractions to 0.1 %.
    Measured (docs/meshing.md): soil 0.0 %, pore +0.5 %, root -2.0 %, outside -0.1 %,
    epidermis -0.4 %, root contact -0.03 %, root + hair contact -4.2 %.
    """
    image, voxel = default_sample()
    assert voxel == 9.0 and image.shape == (200, 144, 40)
    m = geometry_metrics(image, voxel)
    rows = compare_with_seed(m, image.shape[2] * voxel * 1e-3)
    assert len(rows) == 7
    for name, row in rows.items():
        assert abs(row["relative_error"]) < 0.05, (name, row)
    assert rows["contact_fraction_root_hairs"]["seed"] == SEED_CASE_STUDY_3["contact_fraction_root_hairs"]
    # the hairs roughly triple the contact, as in the seed (0.177 / 0.061 = 2.9)
    assert 2.5 < m["contact_fraction_root_hairs"] / m["contact_fraction_root"] < 3.3


def test_default_sample_is_cached_and_read_only():
    a, _ = default_sample()
    b, _ = default_sample()
    assert a is b
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1


def test_targets_are_met_to_one_voxel():
    """Soil fraction exactly (the last aggregate is trimmed voxel by voxel); root contact
    within the faces of one voxel (at most 6)."""
    p = dataclasses.replace(SMALL, soil_fraction=0.33, root_contact_fraction=0.2)
    image = generate_sample(p)
    assert np.count_nonzero(image == L.soil) == round(0.33 * image.size)
    table = face_counts(phase_index(image, L))
    root, soil = 2, 0
    epidermis = table[root, :5].sum()
    assert abs(table[root, soil] - 0.2 * epidermis) <= 6


def test_hairs_are_thin_and_start_at_the_root():
    image, _ = default_sample()
    hair = image == L.hair
    # 9 µm hairs in 9 µm voxels: no hair voxel deeper than √2 voxels, so 2-4 voxels across
    assert ndimage.distance_transform_edt(hair).max() <= np.sqrt(2) + 1e-12
    # every hair is one unbroken piece grown from the root (hairs are drawn before the
    # aggregates, so nothing cuts them): each 26-connected piece touches the root
    pieces, n = ndimage.label(hair, structure=np.ones((3, 3, 3)))
    near_root = ndimage.binary_dilation(image == L.root, structure=np.ones((3, 3, 3)))
    assert n == round(11.5 * 2 * np.pi * 0.3 * 0.36)  # density × root surface: 8 hairs
    assert set(np.unique(pieces[near_root & hair]).tolist()) == set(range(1, n + 1))


def test_hairless_variant_keeps_the_soil_and_drops_the_hair_contact():
    image, voxel = default_sample()
    bare = remove_hairs(image, L)
    assert not np.any(bare == L.hair)
    assert np.array_equal(bare == L.soil, image == L.soil)
    assert np.all(bare[image == L.hair] == L.pore)
    with_h, without = geometry_metrics(image, voxel), geometry_metrics(bare, voxel)
    assert without["hair_contact_area_mm2"] == 0.0
    for key in ("root_contact_area_mm2", "epidermis_area_mm2", "soil_volume_mm3"):
        assert without[key] == with_h[key]
    assert without["contact_fraction_root_hairs"] == without["contact_fraction_root"]
    assert image.flags.writeable is False  # the cached default was not touched


def test_sections():
    image = generate_sample(SMALL)
    s = section_2d(image)
    assert s.shape == image.shape[:2] and np.array_equal(s, image[:, :, image.shape[2] // 2])
    assert np.array_equal(section_2d(image, axis=0, index=3), image[3])
    with pytest.raises(InputError, match="outside 0..39"):
        section_2d(image, axis=1, index=40)
    with pytest.raises(InputError, match="needs a 3D image"):
        section_2d(s)


@pytest.mark.parametrize("table, fragment", [
    ({"hair_length_um": [500.0, 100.0]}, "hair_length_um = [500.0, 100.0]: the minimum exceeds the maximum"),
    ({"hair_radius_um": 2.0}, "hairs would vanish"),
    ({"root_axis_um": [5000.0, 100.0]}, "outside the image cross-section"),
    ({"voxel_size_um": -1.0}, "must be > 0"),
    ({"hair_radius_um": 400.0}, "hair_radius_um must be smaller than root_radius_um"),
])
def test_bad_parameters_are_refused(table, fragment):
    with pytest.raises(ConfigError) as err:
        load(Config, {"sample": table})
    assert fragment in str(err.value) and "[sample]" in str(err.value)


@pytest.mark.parametrize("change, fragment", [
    ({"soil_fraction": 0.95}, "soil_fraction = 0.95: only"),
    ({"root_contact_fraction": 0.99}, "root_contact_fraction = 0.99: at most"),
])
def test_unreachable_targets_are_refused(change, fragment):
    with pytest.raises(InputError, match=fragment):
        generate_sample(dataclasses.replace(SMALL, **change))


@pytest.mark.mpi
def test_every_rank_generates_the_same_sample(comm):
    digest = hashlib.sha256(generate_sample(SMALL).tobytes()).hexdigest()
    assert len(set(comm.allgather(digest))) == 1
