"""The constitutive relations of the radial model, written once for UFL and numpy.

Each solute i (phosphate P, citrate C) has a solution concentration c_i (µmol cm⁻³ solution)
and a total amount per soil volume

    T_i(c) = θ c_i + ρ s_i(c)                                     (µmol cm⁻³ soil)

with the sorbed amount from a competitive Langmuir isotherm (all Langmuir solutes share the
sites, so citrate displaces phosphate)

    ρ s_i = ρ s_max,i K_i c_i / (1 + Σ_j K_j c_j)     (j over the Langmuir solutes)

or a linear buffer ρ s_i = (b_i − θ) c_i, b_i the buffer power in Barber's sense (total
amount per solution concentration, θ included). The functions below use only arithmetic and
the ``pos`` (positive part) they are given, so the same code builds the UFL residual and
evaluates contents, uptake and decay on numpy arrays for the mass balance — one formula,
two uses, no chance for the bookkeeping to drift from the equations solved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rhizofem.errors import ConfigError
from rhizofem.soil import impedance_factor

__all__ = ["RadialModel", "Solute", "build_model"]


@dataclass(frozen=True)
class Solute:
    name: str
    D_eff_cm2_s: float            # θ f D_liquid: flux = −D_eff ∂c/∂r per soil cross-section
    isotherm: str                  # "langmuir" | "linear"
    sorbed_slope: float            # linear: b − θ
    rho_s_max_umol_cm3: float      # Langmuir: ρ s_max (µmol cm⁻³ soil)
    K_cm3_umol: float              # Langmuir affinity
    c_ref_umol_cm3: float          # scale of the unknown (the solver works with c / c_ref)
    initial_umol_cm3: float


@dataclass(frozen=True)
class RadialModel:
    theta: float
    solutes: tuple[Solute, ...]    # phosphate first, then citrate if enabled
    imax_umol_cm2_s: float
    km_umol_cm3: float
    cmin_umol_cm3: float
    exudation_umol_cm2_s: float    # default exudation rate of exuding segments
    decomposition_rate_1_s: float
    decomposition_of: str          # "total" | "solution"

    @property
    def has_citrate(self) -> bool:
        return len(self.solutes) > 1

    # -- relations (UFL or numpy) -----------------------------------------------------------
    def sorbed(self, c: Sequence, without: int | None = None) -> list:
        """ρ s_i for every solute; ``without=j`` evaluates as if solute j were absent
        (used for the phosphate that citrate holds off the sorption sites)."""
        denominator = 1.0
        for j, (s, cj) in enumerate(zip(self.solutes, c, strict=True)):
            if s.isotherm == "langmuir" and j != without:
                denominator = denominator + s.K_cm3_umol * cj
        out = []
        for s, ci in zip(self.solutes, c, strict=True):
            if s.isotherm == "langmuir":
                out.append(s.rho_s_max_umol_cm3 * s.K_cm3_umol * ci / denominator)
            else:
                out.append(s.sorbed_slope * ci)
        return out

    def total(self, c: Sequence) -> list:
        """T_i = θ c_i + ρ s_i (µmol cm⁻³ soil)."""
        return [self.theta * ci + si for ci, si in zip(c, self.sorbed(c), strict=True)]

    def uptake_flux(self, c_P, pos: Callable) -> object:
        """Michaelis–Menten influx into the root (µmol cm⁻² s⁻¹), Barber–Cushman net form
        Imax (c − Cmin)/(Km + c − Cmin), no efflux below Cmin."""
        excess = pos(c_P - self.cmin_umol_cm3)
        return self.imax_umol_cm2_s * excess / (self.km_umol_cm3 + excess)

    def decomposition(self, c: Sequence) -> object:
        """First-order decomposition of citrate (µmol cm⁻³ soil s⁻¹)."""
        if self.decomposition_of == "total":
            amount = self.total(c)[1]
        else:
            amount = self.theta * c[1]
        return self.decomposition_rate_1_s * amount

    def mobilised_P(self, c: Sequence) -> np.ndarray:
        """Phosphate that citrate holds in solution (µmol cm⁻³ soil, numpy): at the same total
        phosphate T_P, the sorbed amount without citrate minus the sorbed amount with it.
        Zero without citrate or with a linear phosphate isotherm (no competition)."""
        P = self.solutes[0]
        if not self.has_citrate or P.isotherm != "langmuir":
            return np.zeros_like(np.asarray(c[0], float))
        T = self.total(c)[0]
        # c* solves θ c + a c/(1 + K c) = T, i.e. θK c² + (θ + a − K T) c − T = 0 (root ≥ 0)
        theta, a, K = self.theta, P.rho_s_max_umol_cm3 * P.K_cm3_umol, P.K_cm3_umol
        B = theta + a - K * T
        root = np.sqrt(B * B + 4.0 * theta * K * T)
        with np.errstate(divide="ignore", invalid="ignore"):
            c_star = np.where(B >= 0, 2.0 * T / (B + root), (root - B) / (2.0 * theta * K))
        return (T - theta * c_star) - self.sorbed(c)[0]

    def buffer_power(self, c: Sequence, i: int) -> float:
        """dT_i/dc_i at ``c`` (numpy), for reports."""
        h = 1e-7 * max(abs(float(c[i])), 1e-12)
        up = list(c)
        up[i] = c[i] + h
        return float((self.total(up)[i] - self.total(c)[i]) / h)


def build_model(cfg) -> RadialModel:
    """The model of a :class:`~rhizofem.models.uptake.config.Config`, with derived quantities."""
    soil, P, C = cfg.soil, cfg.phosphate, cfg.citrate
    f = impedance_factor(soil.theta, soil.porosity)
    rho = soil.bulk_density_g_cm3

    def solute(name, tab, initial, c_ref):
        if tab.isotherm == "linear" and tab.buffer_power < soil.theta:
            raise ConfigError(f"[{name}] buffer_power = {tab.buffer_power} is below theta = {soil.theta}; "
                              "it is the total amount per solution concentration (θ included). "
                              f"Fix: give buffer_power >= {soil.theta}.")
        return Solute(name=name, D_eff_cm2_s=soil.theta * f * tab.D_liquid_cm2_s, isotherm=tab.isotherm,
                      sorbed_slope=tab.buffer_power - soil.theta,
                      rho_s_max_umol_cm3=rho * tab.s_max_umol_g, K_cm3_umol=tab.langmuir_K_cm3_umol,
                      c_ref_umol_cm3=c_ref, initial_umol_cm3=initial)

    solutes = [solute("phosphate", P, P.initial_umol_cm3, P.initial_umol_cm3)]
    if C.enabled:
        # scale of citrate: the near-root concentration that carries the exudation flux over
        # about one root radius (order of magnitude only; it conditions Newton's stopping test)
        D_C = soil.theta * f * C.D_liquid_cm2_s
        scale = C.exudation_umol_cm2_s * cfg.segment.r0_cm / D_C if C.exudation_umol_cm2_s > 0 else 1.0
        solutes.append(solute("citrate", C, 0.0, float(scale) if math.isfinite(scale) and scale > 0 else 1.0))
    return RadialModel(theta=soil.theta, solutes=tuple(solutes), imax_umol_cm2_s=P.imax_umol_cm2_s,
                       km_umol_cm3=P.km_umol_cm3, cmin_umol_cm3=P.cmin_umol_cm3,
                       exudation_umol_cm2_s=C.exudation_umol_cm2_s if C.enabled else 0.0,
                       decomposition_rate_1_s=C.decomposition_rate_1_s,
                       decomposition_of=C.decomposition_of)


def numpy_pos(x):
    return np.maximum(x, 0.0)
