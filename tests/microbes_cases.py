"""Small cases shared by the microbes tests (serial and on 2 ranks)."""

from __future__ import annotations

import numpy as np
from rhizofem.config import load
from rhizofem.models.microbes import Config

SOLID, AIR, WATER, MUCILAGE, ROOT, POM = 0, 1, 2, 3, 4, 5


def channel(n: int = 48, width: int = 3) -> np.ndarray:
    """A straight channel of water voxels along axis 0 (width × width), walled by solid."""
    img = np.full((n, width + 2, width + 2), SOLID, dtype=np.uint8)
    img[:, 1:-1, 1:-1] = WATER
    return img


def root_slab(n: int = 400, width: int = 2) -> np.ndarray:
    """Water voxels along axis 0 whose first plane is root: a flat root surface feeding a slab."""
    img = np.full((n, width, width), WATER, dtype=np.uint8)
    img[0] = ROOT
    return img


def everything_on(**over) -> Config:
    """The built-in sample, small, with every process switched on (POM by enzymes, necromass
    return, a sink face, motility with chemotaxis, dormancy, an exudation pulse, clustered cells)."""
    data = {
        "domain": {"size_voxels": [24, 24, 24], "root_radius_um": 80.0, "pom_fragments": 2, "pom_radius_um": 25.0,
                   "sink_faces": ["y+"], "water_content": 0.3},
        "carbon": {"hydrolysis": "enzyme", "hydrolysis_per_d": 2.0, "enzyme_half_biomass_ug_C": 1e-7,
                   "necromass_to_doc_per_d": 0.5, "initial_doc_ug_cm3": 5.0},
        "root": {"exudation_ug_C_cm2_d": 50.0, "exudation_until_d": 0.5},
        "bacteria": {"initial_cells": 800, "distribution": "clustered", "clusters": 6, "cluster_radius_um": 25.0,
                     "motility_cm2_s": 2e-8, "chemotaxis": 3.0, "maintenance_per_h": 0.08,
                     "dormant_maintenance_fraction": 0.3, "death_mass_ug_C": 3.5e-8, "initial_dormant_fraction": 0.2},
        "run": {"t_end_d": 1.5, "dt_h": 0.5, "seed": 7, "output_times_d": [0.5]},
        "output": {"fields": True, "cells": True, "plots": False},
    }
    for section, values in over.items():
        data.setdefault(section, {}).update(values)
    return load(Config, data)
