"""The constitutive relations of the radial model, written once for UFL and numpy.

Each solute i (phosphate P, citrate C) has a solution concentration c_i (µmol cm⁻³ solution)
and a total amount per soil volume

    T_i(c) = θ c_i + ρ s_i(c)                                     (µmol cm⁻³ soil)

with the sorbed amount from a competitive Langmuir isotherm (j over the Langmuir solutes)

    ρ s_i = ρ S_i K_i c_i / (1 + Σ_j K_j c_j)

in one of two forms (``[sorption] competition``): a shared site pool, S_i = S for every
solute (each site holds one ion of either solute: Langmuir's derivation for several
solutes), or separate capacities S_i with cross-inhibition through the common denominator
(the "extended Langmuir" of Butler & Ockrent 1930). The arithmetic is the same; the two
differ in the capacities :func:`build_model` gives the solutes. Or a linear buffer ρ s_i = (b_i − θ) c_i, b_i the buffer power in Barber's sense (total
amount per solution concentration, θ included). The functions below use only arithmetic and
the ``pos`` (positive part) they are given, so the same code builds the UFL residual and
evaluates contents, uptake and decay on numpy arrays for the mass balance — one formula,
two uses, no chance for the bookkeeping to drift from the equations solved.

Root-surface laws for phosphate (``[phosphate] uptake``): Michaelis–Menten
Imax x/(Km + |x|), x = c_P − Cmin (equal to Imax x/(Km + x) for c_P ≥ Cmin; see
:meth:`RadialModel.uptake_flux` for the continuation below); linear α c_P; or a zero sink
(c_P = 0 at r0, a Dirichlet condition handled by the solver, not a flux law).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rhizofem.errors import ConfigError, ConvergenceError

__all__ = ["RadialModel", "Solute", "build_model", "complex_abs", "langmuir_capacities", "numpy_abs"]


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
    uptake_law: str                # "michaelis_menten" | "linear" | "zero_sink"
    imax_umol_cm2_s: float
    km_umol_cm3: float
    cmin_umol_cm3: float
    linear_alpha_cm_s: float
    competition: str               # "shared_sites" | "separate_capacities"
    exudation_umol_cm2_s: float    # default exudation rate of exuding segments
    decomposition_rate_1_s: float
    decomposition_of: str          # "total" | "solution"
    # D(r) around the root (rhizofem.links.diffusion.RadialProfile): each solute's D_eff_cm2_s is
    # then the bulk value and the radial operator multiplies it cell by cell; None: uniform soil
    radial_profile: object | None = None

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

    @property
    def zero_sink(self) -> bool:
        """c_P = 0 at the root surface (a Dirichlet condition, no flux law)."""
        return self.uptake_law == "zero_sink"

    def uptake_flux(self, c_P, absolute: Callable) -> object:
        """Net P influx into the root (µmol cm⁻² s⁻¹) for the flux laws.

        Michaelis–Menten in the Barber–Cushman net form, written Imax x/(Km + |x|) with
        x = c_P − Cmin: for c_P ≥ Cmin this is Imax x/(Km + x); below Cmin it is the odd
        continuation, a net efflux that stays bounded by Imax and is ≈ Imax x/Km as in
        Barber–Cushman's Imax x/(Km + x) when |x| ≪ Km. Written so, the law is C¹ (slope
        Imax/Km on both sides of x = 0) and increasing for every x. With a positive part
        instead (zero influx below Cmin) the law has a kink at Cmin; with Cmin = 0 and a large
        Imax/Km Newton iterates then jump across c_P = 0 without converging (measured: no
        step above 1e-4 s at α = Imax/Km = 100 cm s⁻¹). An increasing law that vanishes at
        c_P = 0 also keeps the discrete solution non-negative (the lumped P1 operator is an
        M-matrix), so with Cmin = 0 the continuation is met only by Newton iterates.
        ``absolute`` is |·| for the algebra in use (numpy, complex step, UFL)."""
        if self.uptake_law == "linear":
            return self.linear_alpha_cm_s * c_P
        if self.uptake_law == "zero_sink":
            raise ValueError("zero sink: the uptake is the flux of the Dirichlet condition, not a law")
        excess = c_P - self.cmin_umol_cm3
        return self.imax_umol_cm2_s * excess / (self.km_umol_cm3 + absolute(excess))

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

    def concentrations_from_totals(self, T: Sequence[np.ndarray], tol: float = 1e-13,
                                   guess: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
        """Solution concentrations c ≥ 0 with T_i(c) = T_i for every solute (numpy, any shape):
        the inverse of :meth:`total`, used where an amount is handed over (macro cells,
        redistribution after root growth). T is increasing in each c_i with a positive
        Jacobian determinant, so damped Newton from the linear-isotherm guess converges; the
        Jacobian is by complex step of :meth:`total` (the same formula as everywhere)."""
        T = [np.asarray(t, float) for t in T]
        n = len(self.solutes)
        slope0 = [self.theta + (s.rho_s_max_umol_cm3 * s.K_cm3_umol if s.isotherm == "langmuir" else s.sorbed_slope)
                  for s in self.solutes]
        c = [t / k for t, k in zip(T, slope0, strict=True)]
        if guess is not None:
            c = [np.where(np.isfinite(g), np.maximum(np.asarray(g, float), 0.0), ci) for g, ci in zip(guess, c, strict=True)]
        scale = [np.maximum(np.abs(t), 1e-300) for t in T]
        h = 1e-30
        for _ in range(100):
            r = [ti - t for ti, t in zip(self.total(c), T, strict=True)]
            if max(float(np.max(np.abs(ri) / si)) for ri, si in zip(r, scale, strict=True)) <= tol:
                return c
            J = np.empty(np.shape(T[0]) + (n, n))
            for j in range(n):
                cj = [ci.astype(complex) for ci in c]
                cj[j] = cj[j] + 1j * h
                col = self.total(cj)
                for i in range(n):
                    J[..., i, j] = col[i].imag / h
            if n == 2:   # closed form: batched LAPACK on 2×2 systems is slow
                det = J[..., 0, 0] * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]
                step = np.stack([(J[..., 1, 1] * r[0] - J[..., 0, 1] * r[1]) / det,
                                 (J[..., 0, 0] * r[1] - J[..., 1, 0] * r[0]) / det], axis=-1)
            else:
                step = np.linalg.solve(J, np.stack(r, axis=-1)[..., None])[..., 0]
            new = [ci - step[..., i] for i, ci in enumerate(c)]
            # stay non-negative: halve the way towards zero instead of crossing it (a total
            # below zero — round-off of an empty cell — keeps its slightly negative value)
            c = [np.where((ni < 0.0) & (t >= 0.0), 0.5 * ci, ni) for ni, ci, t in zip(new, c, T, strict=True)]
        raise ConvergenceError("concentrations from totals: Newton did not converge (a total far "
                               "outside the isotherm's range). Fix: a smaller [macro] dt_h.")

    def buffer_power(self, c: Sequence, i: int) -> float:
        """dT_i/dc_i at ``c`` (numpy), for reports."""
        h = 1e-7 * max(abs(float(c[i])), 1e-12)
        up = list(c)
        up[i] = c[i] + h
        return float((self.total(up)[i] - self.total(c)[i]) / h)


def langmuir_capacities(cfg) -> dict[str, float]:
    """The Langmuir capacity S_i (µmol g⁻¹) of each Langmuir solute under the configured form
    of competition; refuses capacities that contradict the form."""
    sorption, P, C = cfg.sorption, cfg.phosphate, cfg.citrate
    tables = {"phosphate": P} | ({"citrate": C} if C.enabled else {})
    langmuir = {name: tab for name, tab in tables.items() if tab.isotherm == "langmuir"}
    if sorption.competition == "shared_sites":
        given = [name for name, tab in langmuir.items() if tab.s_max_umol_g is not None]
        if given:
            raise ConfigError(
                f"[{given[0]}] s_max_umol_g is a capacity of its own, but [sorption] competition = "
                "'shared_sites' has one site pool for both solutes, [sorption] sites_umol_g. Fix: "
                f"remove [{given[0]}] s_max_umol_g, or set [sorption] competition = "
                "'separate_capacities'.")
        return {name: sorption.sites_umol_g for name in langmuir}
    missing = [name for name, tab in langmuir.items() if tab.s_max_umol_g is None]
    if missing:
        raise ConfigError(
            f"[sorption] competition = 'separate_capacities' needs a capacity per solute: "
            f"[{missing[0]}] s_max_umol_g is not given. Fix: give it (the calibrated set of "
            "docs/uptake.md: phosphate 10, citrate 0.18 µmol/g), or use competition = 'shared_sites'.")
    return {name: tab.s_max_umol_g for name, tab in langmuir.items()}


def build_model(cfg) -> RadialModel:
    """The model of a :class:`~rhizofem.models.uptake.config.Config`, with derived quantities."""
    from rhizofem.links.diffusion import soil_diffusion

    soil, P, C = cfg.soil, cfg.phosphate, cfg.citrate
    # D_eff/D_0 per total volume (θ f with Millington–Quirk's f; docs/links.md has the conversion)
    diffusion = soil_diffusion(soil, soil.theta, soil.porosity)
    relative = diffusion.relative
    rho = soil.bulk_density_g_cm3
    capacity = langmuir_capacities(cfg)
    if P.uptake == "linear" and P.linear_alpha_cm_s is None:
        raise ConfigError("[phosphate] uptake = 'linear' needs linear_alpha_cm_s (the flux α c_P at the "
                          "root surface, cm s⁻¹). Fix: give it, e.g. linear_alpha_cm_s = 6e-5.")

    def solute(name, tab, initial, c_ref):
        if tab.isotherm == "linear" and tab.buffer_power < soil.theta:
            raise ConfigError(f"[{name}] buffer_power = {tab.buffer_power} is below theta = {soil.theta}; "
                              "it is the total amount per solution concentration (θ included). "
                              f"Fix: give buffer_power >= {soil.theta}.")
        return Solute(name=name, D_eff_cm2_s=tab.D_liquid_cm2_s * relative, isotherm=tab.isotherm,
                      sorbed_slope=tab.buffer_power - soil.theta,
                      rho_s_max_umol_cm3=rho * capacity.get(name, 0.0), K_cm3_umol=tab.langmuir_K_cm3_umol,
                      c_ref_umol_cm3=c_ref, initial_umol_cm3=initial)

    solutes = [solute("phosphate", P, P.initial_umol_cm3, P.initial_umol_cm3)]
    if C.enabled:
        # scale of citrate: the near-root concentration that carries the exudation flux over
        # about one root radius (order of magnitude only; it conditions Newton's stopping test)
        D_C = relative * C.D_liquid_cm2_s
        scale = C.exudation_umol_cm2_s * cfg.segment.r0_cm / D_C if C.exudation_umol_cm2_s > 0 else 1.0
        solutes.append(solute("citrate", C, 0.0, float(scale) if math.isfinite(scale) and scale > 0 else 1.0))
    return RadialModel(theta=soil.theta, solutes=tuple(solutes), uptake_law=P.uptake,
                       imax_umol_cm2_s=P.imax_umol_cm2_s, km_umol_cm3=P.km_umol_cm3,
                       cmin_umol_cm3=P.cmin_umol_cm3, linear_alpha_cm_s=P.linear_alpha_cm_s or 0.0,
                       competition=cfg.sorption.competition,
                       exudation_umol_cm2_s=C.exudation_umol_cm2_s if C.enabled else 0.0,
                       decomposition_rate_1_s=C.decomposition_rate_1_s,
                       decomposition_of=C.decomposition_of, radial_profile=diffusion.profile)


def numpy_abs(x):
    return np.abs(x)


def complex_abs(x):
    """|x| that carries a complex-step perturbation through (the real part decides the sign)."""
    return np.where(np.real(x) >= 0, x, -x)
