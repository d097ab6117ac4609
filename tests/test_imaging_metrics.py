"""Geometry metrics of a label image against a voxel-pair loop written out in the test.

The reference visits every pair of face neighbours (and every border face) one at a time in
plain Python, so it shares nothing with the vectorised counting it checks; sums of
integers times one face area agree to round-off (1e-12 relative).
"""

import itertools

import numpy as np
import pytest
from rhizofem.errors import InputError
from rhizofem.imaging.io import Labels
from rhizofem.imaging.metrics import geometry_metrics

L = Labels()


def brute_force(image, h_um):
    """Phase volumes and the areas of rhizofem's definitions, by a loop over voxel faces."""
    dim = image.ndim
    h = h_um * 1e-3
    name = {L.soil: "soil", L.pore: "pore", L.root: "root", L.hair: "hair", L.outside: "outside"}
    faces = {"epidermis": 0, "root_contact": 0, "hair_contact": 0, "no_flux": 0}
    for idx in itertools.product(*[range(n) for n in image.shape]):
        a = name[int(image[idx])]
        for axis, side in itertools.product(range(dim), (-1, 1)):
            nb = list(idx)
            nb[axis] += side
            inside = 0 <= nb[axis] < image.shape[axis]
            b = name[int(image[tuple(nb)])] if inside else "border"
            if a == "root" and b not in ("root", "border"):
                faces["epidermis"] += 1
            if a == "soil" and b == "root":
                faces["root_contact"] += 1
            if a == "soil" and b == "hair":
                faces["hair_contact"] += 1
            if a == "soil" and b in ("pore", "outside", "border"):
                faces["no_flux"] += 1
    vol = {p: np.count_nonzero(image == v) * h**dim for v, p in name.items()}
    area = {k: n * h ** (dim - 1) for k, n in faces.items()}
    return vol, area


@pytest.mark.parametrize("shape", [(7, 6, 5), (9, 8)])
def test_metrics_match_a_face_by_face_count(shape):
    rng = np.random.default_rng(4)
    image = rng.integers(0, 5, size=shape)
    h = 7.5
    m = geometry_metrics(image, h)
    vol, area = brute_force(image, h)
    vkey, akey = ("volume_mm3", "area_mm2") if len(shape) == 3 else ("area_mm2", "length_mm")
    for p, v in vol.items():
        assert m[f"{p}_{vkey}"] == pytest.approx(v, rel=1e-12)
        assert m[f"{p}_fraction"] == pytest.approx(v / (np.prod(shape) * (h * 1e-3) ** len(shape)), rel=1e-12)
    for k, a in area.items():
        assert m[f"{k}_{akey}"] == pytest.approx(a, rel=1e-12)
    assert m["contact_fraction_root"] == pytest.approx(area["root_contact"] / area["epidermis"], rel=1e-12)
    assert m["contact_fraction_root_hairs"] == pytest.approx(
        (area["root_contact"] + area["hair_contact"]) / area["epidermis"], rel=1e-12)


def test_root_block_in_soil_by_hand():
    """A 2×2×2 root in a 4×4×4 soil cube: 24 epidermis faces, all touching soil."""
    image = np.full((4, 4, 4), L.soil)
    image[1:3, 1:3, 1:3] = L.root
    m = geometry_metrics(image, 10.0)
    assert m["epidermis_area_mm2"] == pytest.approx(24 * 1e-4)
    assert m["root_contact_area_mm2"] == pytest.approx(24 * 1e-4)
    assert m["contact_fraction_root"] == pytest.approx(1.0)
    assert m["no_flux_area_mm2"] == pytest.approx(6 * 16 * 1e-4)  # the cube's border
    assert m["soil_volume_mm3"] == pytest.approx(56 * 1e-6)
    # a hair on top of the root: its base is epidermis, not contact
    image[3, 1, 1] = L.hair
    m = geometry_metrics(image, 10.0)
    assert m["epidermis_area_mm2"] == pytest.approx(24 * 1e-4)
    assert m["root_contact_area_mm2"] == pytest.approx(23 * 1e-4)
    assert m["hair_contact_area_mm2"] == pytest.approx(4 * 1e-4)  # its 5th face is on the border


def test_unknown_labels_are_refused():
    with pytest.raises(InputError, match="label value"):
        geometry_metrics(np.full((3, 3, 3), 42), 1.0)
