"""Millington–Quirk: the seed's published unsaturated value (case study 4)."""

import pytest
from rhizofem.errors import InputError
from rhizofem.soil import impedance_factor, millington_quirk


def test_millington_quirk_matches_seed_value():
    # Schnepf et al. 2022, case study 4: 2.3457e-2 for θ = 0.19, φ = 0.41 (5 digits given)
    assert millington_quirk(0.19, 0.41) == pytest.approx(2.3457e-2, rel=5e-5)
    assert 0.19 * impedance_factor(0.19, 0.41) == pytest.approx(millington_quirk(0.19, 0.41), rel=1e-14)


def test_water_beyond_porosity_is_refused():
    with pytest.raises(InputError, match="water fills pores only"):
        millington_quirk(0.5, 0.41)
