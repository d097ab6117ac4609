"""The soil's diffusivity handed from a homogenization run to the continuum models.

``rhizofem homogenize`` gives the effective diffusion tensor of a solute in the liquid **per
total volume, relative to free water** (D_eff / D_0; ``results.D_eff_over_reference`` of a
plain run, ``results.curve[k].D_eff`` of a D_eff(θ) run, ``results.radial_profile.D_eff`` of
a run with ``[shells]``). The continuum models write their diffusion terms differently:

* ``rhizofem uptake`` (and its coupled soil box): flux = −D_l θ f ∂c/∂r with c per volume of
  solution, D_l the solute's diffusion coefficient in free solution and f the impedance
  factor. θ f D_l is the diffusivity per total volume, so θ f = D_eff/D_0 and

      D_l θ f = D_l · (D_eff/D_0).                                       (uptake)

  Millington–Quirk is the special case D_eff/D_0 = θ^{10/3}/φ².
* ``rhizofem rhizodeposition``: θ R ∂c/∂t = θ D ∇²c − …, c per volume of soil water and D
  "the diffusion coefficient in the soil water, impedance included". θ D is again the
  diffusivity per total volume, so

      D = D_l · (D_eff/D_0) / θ,     D' = D / R                          (rhizodeposition)

  with D_l = ``[rhizodeposit] D_liquid_cm2_d``; sorption (R) retards on top of it.

A D_eff(θ) curve is interpolated linearly in θ between its two neighbouring points (exactly at
a point, its value); the tensor enters as its isotropic mean (trace / d) or one named
component. A radial profile is a table of layers (shells) at increasing distance from the root
surface; :class:`RadialProfile` turns it into the cell-wise diffusivity of the radial model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rhizofem.config import param
from rhizofem.errors import ConfigError, InputError
from rhizofem.soil import millington_quirk

from .upstream import Upstream

__all__ = ["DIFFUSION_DOC", "DIRECTION_DOC", "Direction", "RadialProfile", "SoilDiffusion", "SUMMARY_DOC",
           "WATER_CONTENT_DOC", "check_soil_keys", "direction_param", "soil_diffusion", "summary_param",
           "water_content_param"]

Direction = Literal["mean", "x", "y", "z", "radial", "tangential", "axial"]
DIFFUSION_DOC = ("how the soil's effective diffusivity is obtained: 'millington_quirk' (the relation "
                 "θ^(10/3)/φ², see rhizofem.soil), 'homogenized' (D_eff/D_0 of a `rhizofem homogenize` run: its "
                 "D_eff(θ) curve interpolated at water_content, or its one tensor){radial}; docs/links.md")
SUMMARY_DOC = "summary.json of the `rhizofem homogenize` run, for diffusion = 'homogenized'{radial}"
WATER_CONTENT_DOC = ("water content θ (cm³ cm⁻³) at which the homogenized D_eff(θ) curve is read; unset: "
                     "[soil] theta")
DIRECTION_DOC = ("which value of the homogenized tensor: 'mean' (isotropic mean, trace / d), a diagonal "
                 "component of the image axes 'x', 'y', 'z', or of a radial profile's frame 'radial', "
                 "'tangential', 'axial'")
_TOLERANCE_THETA = 5e-3   # a tensor of one image stands for θ within half a volume percent


def summary_param(radial: bool = False) -> Any:
    extra = " or 'radial_profile' (its results.radial_profile)" if radial else ""
    return param(None, SUMMARY_DOC.format(radial=extra), example="../homogenize/summary.json")


def water_content_param() -> Any:
    return param(None, WATER_CONTENT_DOC, gt=0, lt=1, example=0.3)


def direction_param() -> Any:
    return param("mean", DIRECTION_DOC)


def diffusion_doc(radial: bool = False) -> str:
    extra = (", or 'radial_profile' (D(r) in shells around a root: results.radial_profile of a "
             "`rhizofem homogenize` run with [shells], layer by layer from the root surface)") if radial else ""
    return DIFFUSION_DOC.format(radial=extra)


def check_soil_keys(soil) -> None:
    """Cross-key checks of a ``[soil]`` section with the diffusion keys (ConfigError)."""
    if soil.diffusion == "millington_quirk":
        if soil.homogenized_summary is not None:
            raise ConfigError("homogenized_summary is set but diffusion = 'millington_quirk' does not read it. "
                              "Fix: diffusion = 'homogenized' (or 'radial_profile'), or remove homogenized_summary.")
        return
    if soil.homogenized_summary is None:
        raise ConfigError(f"diffusion = '{soil.diffusion}' needs homogenized_summary, the summary.json of a "
                          "`rhizofem homogenize` run. Fix: give its path.")
    radial = soil.direction in ("radial", "tangential", "axial")
    if soil.diffusion == "homogenized" and radial:
        raise ConfigError(f"direction = '{soil.direction}' names an axis of a radial profile; a homogenized tensor "
                          "has the image axes. Fix: 'mean', 'x', 'y' or 'z' (or diffusion = 'radial_profile').")
    if soil.diffusion == "radial_profile" and soil.direction in ("x", "y", "z"):
        raise ConfigError(f"direction = '{soil.direction}' names an image axis; a radial profile is in the root's "
                          "frame. Fix: 'mean', 'radial', 'tangential' or 'axial'.")


@dataclass(frozen=True)
class RadialProfile:
    """D_eff/D_0 in layers at increasing distance from the root surface.

    Layer k spans distances ``edges_cm[k] ≤ d < edges_cm[k+1]`` (d = r − r0); beyond the last
    edge the last layer's value holds (the soil farthest from the root is the bulk soil).
    """

    edges_cm: np.ndarray
    relative: np.ndarray
    spread: np.ndarray | None = None

    def __post_init__(self):
        e, v = np.asarray(self.edges_cm, float), np.asarray(self.relative, float)
        if e.ndim != 1 or len(e) != len(v) + 1 or len(v) == 0 or e[0] != 0.0 or np.any(np.diff(e) <= 0):
            raise InputError("a radial profile needs layer edges 0 = d_0 < d_1 < … (one more than values).")
        if np.any(~np.isfinite(v)) or np.any(v <= 0):
            k = int(np.flatnonzero(~(v > 0))[0])
            raise InputError(f"radial profile: layer {k} ({1e4 * e[k]:g}–{1e4 * e[k + 1]:g} µm from the root) has "
                             f"D_eff/D_0 = {v[k]!r}: a radial model needs a positive diffusivity in every layer "
                             "(no liquid path there would cut the root off). Fix: a wetter configuration, wider "
                             "shells, or direction = 'mean'.")
        object.__setattr__(self, "edges_cm", e)
        object.__setattr__(self, "relative", v)

    @property
    def bulk(self) -> float:
        return float(self.relative[-1])

    def at(self, d_cm) -> np.ndarray:
        """D_eff/D_0 at distances ``d_cm`` from the root surface."""
        k = np.searchsorted(self.edges_cm, np.asarray(d_cm, float), side="right") - 1
        return self.relative[np.clip(k, 0, len(self.relative) - 1)]

    def cell_factors(self, radii: np.ndarray) -> np.ndarray:
        """Per cell [r_a, r_b] of node radii ``radii`` (m, N+1), the factor that multiplies the
        bulk diffusivity: the log-weighted harmonic mean of D(r)/D_bulk over the cell,

            ln(r_b/r_a) / ∫_{r_a}^{r_b} dr / (r D(r)/D_bulk),

        the value whose cylindrical shell [r_a, r_b] conducts in steady state exactly as the
        layers inside it do in series (Σ ln(q/p)/D_j over the pieces [p, q]). A cell inside one
        layer gets that layer's D/D_bulk exactly (1.0 for a constant table)."""
        radii = np.asarray(radii, float)
        if np.all(self.relative == self.bulk):
            return np.ones((radii.shape[0], radii.shape[1] - 1))   # a uniform soil, exactly
        r0 = radii[:, :1]
        ra, rb = radii[:, :-1], radii[:, 1:]
        ratio = self.relative / self.bulk
        lo, hi = self.edges_cm[:-1], np.append(self.edges_cm[1:-1], np.inf)
        resistance = np.zeros(ra.shape)
        for d0, d1, v in zip(lo, hi, ratio, strict=True):
            p, q = np.clip(ra, r0 + d0, r0 + d1), np.clip(rb, r0 + d0, r0 + d1)   # the piece in this layer
            resistance += np.log(q / p) / v
        # a cell inside one layer: that layer's value itself (no rounding through the logarithms)
        k = np.clip(np.searchsorted(self.edges_cm, 0.5 * (ra + rb) - r0, side="right") - 1, 0, len(ratio) - 1)
        single = (ra - r0 >= lo[k]) & (rb - r0 <= hi[k])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(single, ratio[k], np.log(rb / ra) / resistance)

    def table(self) -> dict[str, Any]:
        out = {"inner_um": (1e4 * self.edges_cm[:-1]).tolist(), "outer_um": (1e4 * self.edges_cm[1:]).tolist(),
               "D_eff_relative": self.relative.tolist()}
        if self.spread is not None:
            out["spread"] = np.asarray(self.spread, float).tolist()
        return out


@dataclass
class SoilDiffusion:
    """What the soil's diffusivity is in a run: D_eff/D_0 per total volume (the bulk value),
    a radial profile if any, and the upstream run it came from."""

    source: str
    relative: float | None              # D_eff/D_0; None: the model's own given D (rhizodeposition MQ)
    profile: RadialProfile | None = None
    upstream: Upstream | None = None
    details: dict = field(default_factory=dict)

    def inputs(self) -> dict:
        return {} if self.upstream is None else {"soil_diffusion": self.upstream.record()}


def _component(tensor, direction: str, where: str, up: Upstream, frame: tuple[str, ...]) -> float:
    D = np.asarray(tensor, float)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise InputError(f"{up.path}: '{where}' is not a square tensor ({np.shape(tensor)}).")
    if direction == "mean":
        return float(np.trace(D) / len(D))
    if direction not in frame[:len(D)]:
        raise InputError(f"{up.path}: '{where}' has the axes {', '.join(frame[:len(D)])}; direction = "
                         f"'{direction}' is none of them. Fix: 'mean' or one of those.")
    i = frame.index(direction)
    return float(D[i, i])


def _curve_value(up: Upstream, curve: list, theta: float, direction: str) -> tuple[float, dict]:
    points = []
    for k, point in enumerate(curve):
        if not isinstance(point, dict) or "water_content" not in point or "D_eff" not in point:
            missing = "water_content" if not isinstance(point, dict) or "water_content" not in point else "D_eff"
            raise InputError(f"{up.path}: key 'results.curve[{k}].{missing}' is missing. Fix: give the summary.json "
                             "of a `rhizofem homogenize` run with a [liquid] stage.")
        points.append((float(point["water_content"]),
                       _component(point["D_eff"], direction, f"results.curve[{k}].D_eff", up, ("x", "y", "z"))))
    points.sort()
    thetas = np.array([p[0] for p in points])
    values = np.array([p[1] for p in points])
    exact = np.flatnonzero(np.abs(thetas - theta) <= 1e-9)
    if exact.size:
        k = int(exact[0])
        return float(values[k]), {"water_content": float(thetas[k]), "curve_points_used": [points[k]]}
    if not thetas[0] <= theta <= thetas[-1]:
        raise InputError(f"{up.path}: its D_eff(θ) curve spans θ = {thetas[0]:.4g}–{thetas[-1]:.4g}; water_content "
                         f"{theta:.4g} lies outside and is not extrapolated. Fix: add that water content to the "
                         "homogenization's [liquid] water_content, or set [soil] water_content inside the range.")
    k = int(np.searchsorted(thetas, theta)) - 1
    w = (theta - thetas[k]) / (thetas[k + 1] - thetas[k])
    value = (1.0 - w) * values[k] + w * values[k + 1]
    return float(value), {"water_content": theta, "curve_points_used": [points[k], points[k + 1]],
                          "interpolation": "linear in θ"}


def read_radial_profile(up: Upstream, direction: str, theta: float | None) -> tuple[RadialProfile, dict]:
    prof = up.get("results.radial_profile")
    for key in ("inner_um", "outer_um", "D_eff"):
        up.get(f"results.radial_profile.{key}")
    inner = np.asarray(prof["inner_um"], float)
    outer = np.asarray(prof["outer_um"], float)
    tensors = prof["D_eff"]
    if not (len(inner) == len(outer) == len(tensors)) or len(inner) == 0:
        raise InputError(f"{up.path}: results.radial_profile: inner_um, outer_um and D_eff differ in length.")
    frame = tuple(prof.get("frame", ("radial", "tangential", "axial")))
    values = np.array([_component(t, direction, f"results.radial_profile.D_eff[{k}]", up, frame)
                       for k, t in enumerate(tensors)])
    spread = None
    if prof.get("D_eff_std") is not None:
        spread = np.array([_component(t, direction, f"results.radial_profile.D_eff_std[{k}]", up, frame)
                           for k, t in enumerate(prof["D_eff_std"])])
    if inner[0] != 0.0 or np.any(np.abs(inner[1:] - outer[:-1]) > 1e-9 * max(1.0, outer[-1])):
        raise InputError(f"{up.path}: results.radial_profile: the shells must start at the root surface (inner_um[0] "
                         "= 0) and follow each other without gaps.")
    edges = np.append(inner, outer[-1]) * 1e-4
    image_theta = prof.get("water_content")
    details = {"water_content_of_image": image_theta}
    if theta is not None and image_theta is not None:
        _check_theta(up, float(image_theta), theta, "results.radial_profile.water_content")
    return RadialProfile(edges, values, spread), details


def _check_theta(up: Upstream, image_theta: float, theta: float, key: str) -> None:
    if abs(image_theta - theta) > _TOLERANCE_THETA:
        raise InputError(f"{up.path}: its tensor is of an image at θ = {image_theta:.4g} ('{key}'), but this run "
                         f"uses water_content {theta:.4g}. Fix: homogenize a liquid configuration at that water content "
                         "(`rhizofem homogenize` with [liquid] water_content, or `rhizofem rhizosphere` [liquid] "
                         f"water_content), or set [soil] water_content = {image_theta:.4g} to use this tensor as it is.")


def soil_diffusion(soil, theta: float, porosity: float | None = None) -> SoilDiffusion:
    """The soil diffusivity a ``[soil]`` section asks for (reads the upstream summary).

    ``theta`` is the model's water content; ``porosity`` the model's φ for Millington–Quirk
    (None where the model takes its D as given: rhizodeposition)."""
    choice = soil.diffusion
    if choice == "millington_quirk":
        rel = millington_quirk(theta, porosity) if porosity is not None else None
        return SoilDiffusion("millington_quirk", rel, details={"formula": "theta^(10/3) / phi^2"})
    want = soil.water_content if soil.water_content is not None else theta
    if choice == "radial_profile":
        up = Upstream(soil.homogenized_summary, command="homogenize", role="homogenization with [shells]")
        profile, details = read_radial_profile(up, soil.direction, want)
        up.take("direction", soil.direction)
        up.take("profile", profile.table())
        return SoilDiffusion("radial_profile", profile.bulk, profile, up, details)
    up = Upstream(soil.homogenized_summary, command="homogenize", role="homogenization")
    if up.get("results.curve", None) is not None:
        curve = up.get("results.curve")
        if not isinstance(curve, list) or not curve:
            raise InputError(f"{up.path}: key 'results.curve' is empty. Fix: homogenize with [liquid] water_content set.")
        value, details = _curve_value(up, curve, want, soil.direction)
    elif up.get("results.D_eff_over_reference", None) is not None:
        image_theta = up.number("results.liquid_fraction")
        _check_theta(up, image_theta, want, "results.liquid_fraction")
        value = _component(up.get("results.D_eff_over_reference"), soil.direction, "results.D_eff_over_reference",
                           up, ("x", "y", "z"))
        details = {"water_content": image_theta}
    elif up.get("results.radial_profile", None) is not None:
        raise InputError(f"{up.path}: holds a radial profile (results.radial_profile), not a tensor or a D_eff(θ) "
                         "curve. Fix: diffusion = 'radial_profile' (uptake), or give a homogenization without [shells].")
    else:
        up.get("results.curve")  # refused, naming the key a homogenized hand-over reads first
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{up.path}: D_eff/D_0 = {value!r} ({soil.direction}) at θ = {want:.4g}: the liquid does not "
                         "conduct there, so the soil would be a perfect barrier. Fix: a wetter water_content or "
                         "direction = 'mean'.")
    up.take("D_eff_relative", value)
    up.take("direction", soil.direction)
    up.take("water_content", details["water_content"])
    if "curve_points_used" in details:
        up.take("curve_points_used", [{"water_content": t, "D_eff_relative": v} for t, v in details["curve_points_used"]])
    return SoilDiffusion("homogenized", value, None, up, details)

