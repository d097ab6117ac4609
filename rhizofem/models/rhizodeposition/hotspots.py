"""Hotspots: soil where the rhizodeposit content is above a threshold, and why.

Thresholds are given per gram of dry soil (as in Schnepf et al. 2022: mucilage 0.33 mg g⁻¹, citrate
5 µmol g⁻¹) and compared with the total content (dissolved + sorbed) of a voxel,

    content per g soil = θ R c / ρ_b      ⇔      c_threshold = s_threshold · ρ_b / (θ R),

c the liquid concentration (µg cm⁻³ water), θ the water content, R the retardation factor
(θR c is dissolved + sorbed per cm³ of soil) and ρ_b the dry bulk density (g cm⁻³).

Overlap: a hotspot voxel exists only because rhizospheres overlap when the sum of all roots
is above the threshold but every single root's field is below it (max over roots < c_thr).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hotspot_stats", "liquid_threshold_ug_cm3", "rhizosphere_peclet"]


def liquid_threshold_ug_cm3(threshold_ug_g: float, bulk_density_g_cm3: float, theta: float,
                            retardation: float) -> float:
    """c_thr = s_thr · ρ_b / (θ R) (see the module docstring)."""
    return threshold_ug_g * bulk_density_g_cm3 / (theta * retardation)


def hotspot_stats(total: np.ndarray, max_single: np.ndarray, c_thr: float, voxel_cm3: float) -> dict:
    """Hotspot volume (cm³), the share that needs overlap, and the voxel counts."""
    hot = total >= c_thr
    n_hot = int(np.count_nonzero(hot))
    n_overlap = int(np.count_nonzero(hot & (max_single < c_thr)))
    return {"hotspot_voxels": n_hot, "overlap_voxels": n_overlap,
            "hotspot_volume_cm3": n_hot * voxel_cm3, "overlap_volume_cm3": n_overlap * voxel_cm3,
            "overlap_share": n_overlap / n_hot if n_hot else 0.0}


def rhizosphere_peclet(v_cm_d: float, L_cm: float, D_cm2_d: float) -> float:
    """Pe = v·L/D: root elongation against diffusion over the length L."""
    return v_cm_d * L_cm / D_cm2_d
