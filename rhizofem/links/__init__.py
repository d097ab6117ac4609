"""Hand-overs between rhizofem's models: one run's result as another run's input, with provenance.

* :mod:`.upstream`: reading another run's summary.json (path, sha256, the values taken; a
  missing or malformed summary refused with its path and the missing key);
* :mod:`.diffusion`: D_eff/D_0 from ``rhizofem homogenize`` (a tensor, a D_eff(θ) curve, a
  radial profile D(r)) into ``rhizofem uptake`` and ``rhizofem rhizodeposition``;
* :mod:`.hairs`: root hairs as an equivalent radius or a release factor from ``rhizofem
  exudation``;
* :mod:`.cylinder`: Carslaw & Jaeger's cylinder that releases the same mass (equivalent radius);
* :mod:`.tables`: a time-varying inlet concentration c_in(t) from a table (``probes.csv`` of
  ``rhizofem rhizodeposition``);
* :mod:`.rhizosphere`: ``rhizofem rhizosphere``, a sand around a root with the mucilage a
  rhizodeposition run puts there, at a chosen water content (the image for D_eff(r)).

docs/links.md describes every hand-over, its keys and the conversions.
"""

from __future__ import annotations

from typing import Any

from .upstream import Upstream, provenance

__all__ = ["Upstream", "links_inputs", "provenance"]


def links_inputs(config: Any) -> dict[str, Any]:
    """The ``inputs`` section of a run's summary.json: every upstream result its configuration
    names, with path, sha256 and the values taken (an empty dict when it names none)."""
    out: dict[str, Any] = {}
    soil = getattr(config, "soil", None)
    if soil is not None and getattr(soil, "diffusion", "millington_quirk") != "millington_quirk":
        from .diffusion import soil_diffusion

        out.update(soil_diffusion(soil, soil.theta, getattr(soil, "porosity", None)).inputs())
    hairs = getattr(config, "hairs", None)
    if hairs is not None and getattr(hairs, "root_radius_from", None) is not None:
        from . import hairs as h

        uptake = type(config).__module__.startswith("rhizofem.models.uptake")
        factor = (h.radius_factor if uptake else h.release_factor)(hairs.root_radius_from)
        out["root_hairs"] = factor.upstream.record() if factor.upstream is not None else factor.describe()
    physics = getattr(config, "physics", None)
    if physics is not None and getattr(physics, "c_in_table", None) is not None:
        from .tables import inlet_table

        out.update(inlet_table(physics).inputs())
    return out
