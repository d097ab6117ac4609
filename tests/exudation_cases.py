"""Small geometries shared by the exudation tests."""

import numpy as np
from rhizofem.imaging.sample import SampleParams, generate_sample

SEED_D_MM2_S = 2.88e-7 * 100.0
SEED_C_IN_UG_MM3 = 1037.52e-3


def slab_image(n_soil: int, n_cross: int = 2) -> np.ndarray:
    """A bar of soil voxels with one layer of root voxels at x = 0: a flat inlet, no-flux elsewhere."""
    image = np.ones((n_soil + 1, n_cross, n_cross), dtype=np.uint8)
    image[0] = 3
    return image


def small_sample() -> np.ndarray:
    """A 60 x 60 x 10 voxel (9 µm) root with a few hairs among aggregates: ~10 k DOFs."""
    p = SampleParams(size_um=(540.0, 540.0, 90.0), root_radius_um=150.0, root_axis_um=(270.0, 270.0),
                     tube_radius_um=2000.0, tube_axis_um=(270.0, 270.0), hair_density_per_mm2=40.0,
                     hair_length_um=(100.0, 200.0), aggregate_radius_um=(30.0, 90.0),
                     contact_aggregate_radius_um=(20.0, 40.0))
    return generate_sample(p)


def small_sample_config(path, **sections) -> dict:
    cfg = {"image": {"path": str(path), "voxel_size_um": 9.0},
           "physics": {"t_end_s": 600.0},
           "time": {"output_times_s": [60.0]},
           "numerics": {"space_error_estimate": False},
           "output": {"plots": False, "fields": False}}
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg
