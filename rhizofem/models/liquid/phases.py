"""Which labels of an image are pore space, and checks of the ``[liquid]`` labels against
``[phases]`` (one message naming the label and the fix, raised on every rank by callers)."""

from __future__ import annotations

import numpy as np

from rhizofem.errors import InputError
from rhizofem.imaging.liquid.stage import LiquidStage
from rhizofem.models.homogenization.config import Phases

__all__ = ["check_stage", "pore_labels"]


def check_stage(phases: Phases, stage: LiquidStage) -> None:
    """The air, water and mucilage labels of ``stage`` must be in [phases] with the right
    diffusivity (air 0, liquids > 0)."""
    diffusivity = phases.label_diffusivity()
    needed = [("air_label", stage.air_label, lambda d: d == 0, "0 (air carries no dissolved solute)"),
              ("water_label", stage.water_label, lambda d: d > 0, "> 0")]
    if stage.has_mucilage:
        needed.append(("mucilage_label", stage.mucilage_label, lambda d: d > 0, "> 0"))
    for key, label, ok, want in needed:
        if label not in diffusivity:
            raise InputError(f"[liquid] {key} = {label} is not in [phases.diffusivity] (it lists "
                             f"{', '.join(sorted(phases.diffusivity))}). Fix: add \"{label}\" there with "
                             f"diffusivity {want}, or change {key}.")
        if not ok(diffusivity[label]):
            raise InputError(f"[liquid] {key} = {label} has diffusivity {diffusivity[label]} in [phases]; it "
                             f"must be {want}. Fix: correct [phases.diffusivity] \"{label}\" or {key}.")
    if str(stage.air_label) in phases.solid:
        raise InputError(f"[liquid] air_label = {stage.air_label} is listed as solid in [phases] solid. "
                         "Fix: remove it from the solid labels.")


def pore_labels(labels: np.ndarray, phases: Phases, stage: LiquidStage, source: str = "image") -> set[int]:
    """The labels of the pore space: every label that is a liquid (diffusivity > 0) or air.

    Refuses an image with a label [phases] does not know.
    """
    diffusivity = phases.label_diffusivity()
    values, counts = np.unique(labels, return_counts=True)
    missing = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if int(v) not in diffusivity]
    if missing:
        listed = ", ".join(f"{v} ({c} voxels)" for v, c in missing)
        raise InputError(f"{source}: label(s) {listed} are not in [phases.diffusivity] (it lists "
                         f"{', '.join(sorted(phases.diffusivity))}). Fix: add each label with its diffusivity "
                         "(0 for solid and air).")
    return {lab for lab, d in diffusivity.items() if d > 0} | {stage.air_label}
