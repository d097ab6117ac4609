"""Root hairs in the root-system models: an equivalent radius or a release factor.

``rhizofem exudation`` resolves the hairs of one root in a soil image; the root-system models
(uptake, rhizodeposition) see smooth cylinders or lines. Two numbers of an exudation run stand
for the hairs there (Schnepf et al. 2022, case study 3's open question):

* ``results.equivalent_radius_um``: the radius of a smooth cylinder in full contact with the
  soil, as long as the root in the image, that releases the same mass by t_end
  (:mod:`.cylinder`); relative to the radius of the root itself in the image,
  ``results.root_radius_um``, it is a **radius factor** (``rhizofem uptake``: every segment's
  r0 is multiplied by it);
* ``results.hair_factor``: the mass released with hairs over that without (the same mesh, the
  hair contact made no-flux), a **release factor** (``rhizofem rhizodeposition``: the release
  of every tip or releasing length is multiplied by it; point and line sources have no radius).

``[hairs] root_radius_from`` takes the exudation run's summary.json, or the factor itself as a
number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rhizofem.config import param
from rhizofem.errors import InputError

from .upstream import Upstream

__all__ = ["HairFactor", "radius_factor", "release_factor", "root_radius_from_param"]


def root_radius_from_param(what: str) -> Any:
    return param(None, f"root hairs represented by the {what} of a `rhizofem exudation` run: the path of its "
                       "summary.json, or the factor itself as a number; unset: smooth roots (factor 1); "
                       "docs/links.md", gt=0, must_exist=False, example="../exudation/summary.json")


@dataclass
class HairFactor:
    factor: float
    upstream: Upstream | None = None
    kind: str = "none"

    def inputs(self) -> dict:
        return {} if self.upstream is None else {"root_hairs": self.upstream.record()}

    def describe(self) -> dict:
        return {"kind": self.kind, "factor": self.factor,
                "source": str(self.upstream.path) if self.upstream is not None else
                ("given" if self.kind != "none" else "smooth roots")}


def _factor(value, kind: str, what: str, read) -> HairFactor:
    """The factor of ``[hairs] root_radius_from``: 1 when unset, the number when a number,
    ``read(upstream)`` of the exudation run's summary.json when a path."""
    if value is None:
        return HairFactor(1.0)
    if not isinstance(value, (str, Path)):
        return HairFactor(float(value), None, kind)
    up = Upstream(value, command="exudation", role=f"exudation run whose {what} stands for the hairs")
    return HairFactor(up.take(kind, read(up)), up, kind)


def radius_factor(value) -> HairFactor:
    """equivalent radius / the image root's own radius (or the given number)."""
    def read(up: Upstream) -> float:
        a_eq = up.take("equivalent_radius_um", up.number("results.equivalent_radius_um", positive=True))
        return a_eq / up.take("root_radius_um", up.number("results.root_radius_um", positive=True))

    return _factor(value, "radius_factor", "equivalent radius", read)


def release_factor(value) -> HairFactor:
    """mass with hairs / without (or the given number)."""
    return _factor(value, "hair_factor", "hair factor",
                   lambda up: up.number("results.hair_factor", positive=True))


def with_radius_factor(rs, factor: float):
    """The root system ``rs`` with every segment radius multiplied by ``factor``."""
    if factor == 1.0:
        return rs
    import dataclasses

    return dataclasses.replace(rs, radius_cm=rs.radius_cm * factor)


def exudation_results(physics, geometry: dict, mass_ug: float, mass_hairless_ug: float | None,
                      c_in_table=None) -> dict:
    """What ``rhizofem exudation`` reports for the root-system models (``results``):
    ``equivalent_radius_um`` (and ``equivalent_radius_hairless_um``), ``root_radius_um``,
    ``root_length_um`` and ``hair_factor`` (None where they cannot be computed, with a note)."""
    from .cylinder import equivalent_radius

    out: dict = {"hair_factor": None if not mass_hairless_ug else mass_ug / mass_hairless_ug,
                 "equivalent_radius_um": None, "root_radius_um": None, "root_length_um": None}
    notes = []
    root = (geometry.get("image") or {}).get("root")
    if root is None:
        notes.append("no root in a label image (a ready .msh gives no root length and radius): no equivalent radius")
    elif c_in_table is not None:
        notes.append("a time-varying c_in: the equivalent radius is defined for a constant inlet concentration")
    else:
        out["root_radius_um"] = 1e3 * root["radius_mm"]
        out["root_length_um"] = 1e3 * root["length_mm"]
        D_mm2_s, c_in, t = physics.D_cm2_s * 100.0, physics.c_in_ug_cm3 * 1e-3, physics.t_end_s
        for key, mass in (("equivalent_radius_um", mass_ug), ("equivalent_radius_hairless_um", mass_hairless_ug)):
            if not mass:
                continue
            try:
                out[key] = 1e3 * equivalent_radius(mass, root["length_mm"], D_mm2_s, c_in, t)
            except InputError:
                out[key] = None
                notes.append(f"{key}: the root releases less than a thin line of its length would into unbounded "
                             "soil (the soil around it is confined or scarce): no cylinder releases as little")
        if physics.D_by_tag_cm2_s:
            notes.append("the soil's D_by_tag_cm2_s differ: the equivalent cylinder uses D_cm2_s")
    out["equivalent_radius_definition"] = (
        "radius of a smooth cylinder in full contact with soil of D_cm2_s, as long as the root in the image "
        "(root_length_um) and held at c_in, that releases the same mass by t_end_s (Carslaw & Jaeger 1959, §13.5)")
    if notes:
        out["hand_over_notes"] = notes
    return out
