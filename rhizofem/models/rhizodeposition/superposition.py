"""Moving point and line sources with retardation and decay, summed as Gaussian kernels.

Physics (the formulation of CPlantBox's ``ExudationModel``, Landl et al. 2021). The liquid
concentration c (µg per cm³ of soil water) around one root obeys

    θ R ∂c/∂t = θ D ∇²c − θ k c + (release),          in all of R³, c = 0 at t = 0,

with θ the water content, R the retardation factor (1 + ρ K_d/θ, sorbed + dissolved over
dissolved), D the diffusion coefficient in the soil liquid (impedance included) and k the
first-order decay rate of the dissolved phase. Dividing by θR gives a free-space problem
with D' = D/R and k' = k/R whose Green's function is a decaying Gaussian. A point source
releasing Q (µg d⁻¹) at the tip x_tip(τ) gives (Carslaw & Jaeger 10.7)

    c(x, t) = ∫_{t0}^{t1} Q/(θR) · (4π D' s)^{-3/2} · exp(−|x − x_tip(τ)|² / (4 D' s) − k' s) dτ,
    s = t − τ,  t1 = min(t, time the root stopped growing),

which is ``integrandMPS`` of CPlantBox (Q√R / (8θ(πDs)^{3/2}) · exp(−R r²/(4Ds) − k s/R)).
A line source releases q (µg cm⁻¹ d⁻¹) along the last ``l`` cm of root behind the tip:
the same kernel integrated over arclength λ ∈ [L(τ) − l, L(τ)] of the root's path
(``integrandMLS``). After the root stops, nothing is released and the existing plume
spreads and decays on its own; here that is simply t1 < t. (CPlantBox's ExudationModel
instead keeps a stopped root's plume as it was at the stop, or with its "Eqn 13" adds a
diffused copy to it; ``SourceParams.freeze_stopped`` reproduces the former for comparisons.)

Quadrature. With u = √s the integral becomes ∫ 2u · kernel du. At age s the kernel is a
Gaussian of width σ = √(2D's) centred where the tip was at τ = t − s; consecutive nodes
must be closer than a fraction β of σ. The tip moves v·ds = 2 v u du while σ = √(2D')·u,
so panels of constant width Δu ≤ β·√(2D')/v resolve the plume uniformly at every age
(and Δu ≤ β·h/√(2D') resolves a stopped root at the grid scale h, Δu ≤ β/√k' the decay).
Each panel carries a Gauss–Legendre rule, and each node is one Gaussian kernel
A·exp(−|x − p|²/(2σ²)). A line source is a row of such kernels along the path, spaced
≤ β·max(σ, h/2) (closer than h/2 the grid cannot see the difference). β follows from one
tolerance (:func:`resolution_factor`). The Gaussians add up exactly the released mass that
has not decayed (Σ A (2πσ²)^{3/2} θR = ∫ Q e^{−k' s} dτ to quadrature accuracy).

On a regular grid each kernel is separable, exp(−dx²/2σ²)·exp(−dy²/2σ²)·exp(−dz²/2σ²), and
cut where it is below ``cutoff`` (absolute, µg cm⁻³): small kernels are added in vectorised
batches on a fixed stencil, large ones one by one as an outer product of three vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from rhizofem.rootsystem.architecture import RootSystem

__all__ = ["Grid", "Kernels", "SourceParams", "Trajectory", "concentration_at_points", "cutoff_levels", "deposit",
           "kernels", "resolution_factor", "root_trajectories", "released_mass_ug",
           "steady_point_source", "transient_point_source", "moving_frame_steady"]

GAUSS_ORDER = 4
_GL_X, _GL_W = np.polynomial.legendre.leggauss(GAUSS_ORDER)


@dataclass(frozen=True)
class SourceParams:
    """Release and soil parameters (units: µg, cm, d)."""

    kind: str                  # "point" (tip) or "line" (behind the tip)
    release: float             # Q in µg d⁻¹ per tip (point) or µg cm⁻¹ d⁻¹ (line)
    D_cm2_d: float             # diffusion coefficient in the soil liquid (impedance included)
    theta: float               # volumetric water content
    retardation: float = 1.0   # R
    decay_d: float = 0.0       # k, first-order decay of the dissolved phase (d⁻¹)
    length_cm: float = 4.0     # l, length of the releasing zone behind the tip (line)
    width_cm: float = 0.0      # optional Gaussian width of the source itself (0: a true point)
    freeze_stopped: bool = False   # CPlantBox's convention: a stopped root's plume stays as at the stop

    def eval_time(self, traj: Trajectory, t_d: float) -> float:
        """When ``traj``'s plume is evaluated for time ``t_d``: ``t_d`` itself (a stopped root's
        plume goes on spreading and decaying), or with ``freeze_stopped`` the time the root
        stopped if that is earlier (its plume is kept as it was then, as CPlantBox's
        ExudationModel without its Eqn 13 does)."""
        return min(float(t_d), float(traj.times_d[-1])) if self.freeze_stopped else float(t_d)

    @property
    def D_eff(self) -> float:
        return self.D_cm2_d / self.retardation

    @property
    def k_eff(self) -> float:
        return self.decay_d / self.retardation


@dataclass(frozen=True)
class Trajectory:
    """The path of one root's tip: node positions (cm) and the times the tip reached them (d)."""

    root_id: int
    times_d: np.ndarray        # (n,), non-decreasing
    points_cm: np.ndarray      # (n, 3)

    @property
    def arclength_cm(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(self.points_cm, axis=0), axis=1))])

    def tip_at(self, tau_d: np.ndarray) -> np.ndarray:
        """Tip position at times ``tau_d`` (linear between nodes)."""
        return self.at_length(self.length_at(tau_d))

    def length_at(self, tau_d: np.ndarray) -> np.ndarray:
        """Root length (arclength of the tip) at times ``tau_d``."""
        t, s = self.times_d, self.arclength_cm
        # strictly increasing abscissae for interp: drop nodes that appeared at the same instant
        keep = np.concatenate([[True], np.diff(t) > 0])
        return np.interp(tau_d, t[keep], s[keep])

    def at_length(self, lam_cm: np.ndarray) -> np.ndarray:
        s = self.arclength_cm
        keep = np.concatenate([[True], np.diff(s) > 0])
        return np.stack([np.interp(lam_cm, s[keep], self.points_cm[keep, i]) for i in range(3)], axis=-1)

    def max_speed_cm_d(self, t0: float, t1: float) -> float:
        dt, ds = np.diff(self.times_d), np.diff(self.arclength_cm)
        live = (dt > 0) & (self.times_d[1:] > t0) & (self.times_d[:-1] < t1)
        return float(np.max(ds[live] / dt[live])) if np.any(live) else 0.0


@dataclass(frozen=True)
class Grid:
    """Regular grid of voxel centres: origin_cm is the lower corner of the domain."""

    origin_cm: np.ndarray
    spacing_cm: np.ndarray
    shape: tuple[int, int, int]

    @classmethod
    def make(cls, origin_cm, spacing_cm, shape) -> Grid:
        return cls(np.asarray(origin_cm, float), np.broadcast_to(np.asarray(spacing_cm, float), (3,)).copy(),
                   tuple(int(n) for n in shape))

    def axis(self, i: int) -> np.ndarray:
        return self.origin_cm[i] + (np.arange(self.shape[i]) + 0.5) * self.spacing_cm[i]

    @property
    def voxel_cm3(self) -> float:
        return float(np.prod(self.spacing_cm))

    @property
    def h(self) -> float:
        return float(np.max(self.spacing_cm))


# ----------------------------------------------------------------------------------------
# Root system → tip trajectories
# ----------------------------------------------------------------------------------------


def root_trajectories(rs: RootSystem) -> list[Trajectory]:
    """One tip trajectory per root (axis) of ``rs``, from the root's emergence to its last node.

    Segment ``s`` ends where the tip was at ``created_d[s]``; the tip left the root's first
    node at the root's emergence time, ``rs.start_times()`` (the source's own value: CPlantBox's
    first-node creation time, an RSML first-point time, a generator's emergence; estimated only
    where the source gave none, see :meth:`RootSystem.start_times`).
    """
    start = rs.start_times()
    out = []
    for r in range(rs.n_roots):
        chain = rs.chain(r)
        if chain.size == 0:
            continue
        nodes = np.concatenate([[rs.segments[chain[0], 0]], rs.segments[chain, 1]])
        times = np.concatenate([[start[r]], rs.created_d[chain].astype(float)])
        out.append(Trajectory(int(r), np.maximum.accumulate(times), rs.nodes[nodes]))
    return out


# ----------------------------------------------------------------------------------------
# Quadrature: the Gaussian kernels of one root at time t
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernels:
    """Gaussian kernels A·exp(−|x − p|²/(2σ²)), all of one root at one time."""

    centres: np.ndarray    # (n, 3) cm
    sigma2: np.ndarray     # (n,) cm²
    amp: np.ndarray        # (n,) µg per cm³ of water

    def __len__(self) -> int:
        return len(self.amp)

    def mass_ug(self, theta_R: float) -> float:
        """Total (dissolved + sorbed) mass they carry: Σ A (2πσ²)^{3/2} θR."""
        return float(np.sum(self.amp * (2 * np.pi * self.sigma2) ** 1.5) * theta_R)


def resolution_factor(tol: float) -> float:
    """Node spacing β (fraction of the kernel width) for a relative tolerance ``tol``.

    Gauss–Legendre with 4 nodes per panel on a Gaussian of width σ errs like
    exp(−c·σ/Δ): measured here (docs/rhizodeposition.md) the relative error of the field is
    below tol at β = 0.5·(tol/1e-3)^{1/4}, capped to [0.1, 2].
    """
    return float(np.clip(0.5 * (tol / 1e-3) ** 0.25, 0.1, 2.0))


def _panels(a: float, b: float, max_width: float):
    """Gauss–Legendre nodes and weights on [a, b] split in equal panels ≤ max_width."""
    n = max(int(math.ceil((b - a) / max_width - 1e-12)), 1)
    edges = np.linspace(a, b, n + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[:-1] + edges[1:])
    x = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    w = (half[:, None] * _GL_W[None, :]).ravel()
    return x, w


def kernels(traj: Trajectory, p: SourceParams, t_d: float, beta: float, h_cm: float) -> Kernels:
    """The Gaussian kernels whose sum is the concentration of ``traj``'s root at ``t_d``."""
    empty = Kernels(np.zeros((0, 3)), np.zeros(0), np.zeros(0))
    t_d = p.eval_time(traj, t_d)
    t0, t1 = float(traj.times_d[0]), min(float(t_d), float(traj.times_d[-1]))
    if t1 <= t0:
        return empty
    Dp, kp = p.D_eff, p.k_eff
    ua, ub = math.sqrt(t_d - t1), math.sqrt(t_d - t0)
    v = traj.max_speed_cm_d(t0, t1)
    widths = [beta * 0.5 * h_cm / math.sqrt(2 * Dp), (ub - ua) / 8 + 1e-300]
    if v > 0:
        widths.append(beta * math.sqrt(2 * Dp) / v)
    if kp > 0:
        widths.append(beta / math.sqrt(kp))
    u, wu = _panels(ua, ub, min(widths))
    s = u * u
    tau = t_d - s
    sigma2 = 2 * Dp * s + p.width_cm ** 2
    # ∫ f ds = ∫ f 2u du; kernel amplitude Q/(θR)·(2πσ²)^{-3/2}·e^{−k's}
    weight = 2 * u * wu * np.exp(-kp * s) / (p.theta * p.retardation) * (2 * np.pi * sigma2) ** -1.5
    if p.kind == "point":
        return Kernels(traj.tip_at(tau), sigma2, p.release * weight)
    # line: points along the last l cm of root behind the tip at each release time
    L = traj.length_at(tau)
    lo = np.maximum(L - p.length_cm, 0.0)
    step = beta * np.maximum(np.sqrt(sigma2), 0.5 * h_cm)
    n_panel = np.maximum(np.ceil((L - lo) / step - 1e-12).astype(np.int64), 1)
    n_panel[L - lo <= 0] = 0
    rows = np.repeat(np.arange(len(u)), n_panel)
    first = np.cumsum(n_panel) - n_panel
    k = np.arange(len(rows)) - np.repeat(first, n_panel)        # panel index within its row
    pw = ((L - lo) / np.maximum(n_panel, 1))[rows]               # panel width
    a = lo[rows] + k * pw
    lam = (a[:, None] + 0.5 * pw[:, None] * (1 + _GL_X[None, :])).ravel()
    wl = (0.5 * pw[:, None] * _GL_W[None, :]).ravel()
    rows = np.repeat(rows, GAUSS_ORDER)
    return Kernels(traj.at_length(lam), sigma2[rows], p.release * weight[rows] * wl)


def released_mass_ug(traj: Trajectory, p: SourceParams, t_d: float) -> float:
    """Mass released by ``traj``'s root up to ``t_d`` that has not decayed (exact)."""
    t_d = p.eval_time(traj, t_d)
    t0, t1 = float(traj.times_d[0]), min(float(t_d), float(traj.times_d[-1]))
    if t1 <= t0:
        return 0.0
    kp = p.k_eff
    if p.kind == "point":
        rate = lambda tau: np.full_like(tau, p.release)  # noqa: E731
    else:
        rate = lambda tau: p.release * np.minimum(traj.length_at(tau), p.length_cm)  # noqa: E731
    # the released rate is piecewise smooth in τ: fine composite Gauss is exact enough (1e-12)
    tau, w = _panels(t0, t1, min((t1 - t0) / 2000, 0.01))
    return float(np.sum(w * rate(tau) * np.exp(-kp * (t_d - tau))))


# ----------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------


def concentration_at_points(kern: Kernels, points: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Σ_j A_j exp(−|x − p_j|²/(2σ_j²)) at ``points`` (n, 3), all kernels, no cut-off."""
    points = np.atleast_2d(np.asarray(points, float))
    out = np.zeros(len(points))
    for j in range(0, len(kern), chunk):
        c, s2, a = kern.centres[j:j + chunk], kern.sigma2[j:j + chunk], kern.amp[j:j + chunk]
        d2 = np.sum((points[:, None, :] - c[None, :, :]) ** 2, axis=2)
        out += np.exp(-d2 / (2 * s2[None, :])) @ a
    return out


def _profile(x: np.ndarray, centre: np.ndarray, sigma2: np.ndarray, h: float, average: bool) -> np.ndarray:
    """One axis of a separable Gaussian: its value at ``x`` or its mean over [x − h/2, x + h/2]."""
    if not average:
        return np.exp(-(x - centre) ** 2 / (2 * sigma2))
    s = np.sqrt(2 * sigma2)
    return (erf((x + 0.5 * h - centre) / s) - erf((x - 0.5 * h - centre) / s)) * (0.5 * np.sqrt(np.pi) * s / h)


def cutoff_levels(kern: Kernels, budget: float) -> np.ndarray:
    """Per-kernel cut-off levels ε_j that add up to ``budget``, shared in proportion to σ_j³.

    A voxel can lose at most Σ_j ε_j = budget (every kernel at its cut level there at once),
    and wide kernels, the costly ones, get the largest share: their boxes shrink most.
    """
    w = kern.sigma2 ** 1.5
    return budget * w / w.sum()


def deposit(kern: Kernels, grid: Grid, cutoff, average: bool = True, max_stencil: int = 6,
            batch_elements: int = 2_000_000):
    """Add ``kern`` up on ``grid``; returns (lower index corner, field on the root's sub-box)
    or None when nothing is above ``cutoff`` (one level, or one per kernel).

    ``average=True`` gives each voxel's mean concentration (the Gaussians integrated exactly
    over the voxel: differences of erf per axis), so the voxels hold exactly the mass of the
    kernels in them however sharp the plume; ``average=False`` samples the voxel centres (as
    CPlantBox does). Each kernel is cut at radius σ·sqrt(2 ln(A/cutoff)) (+ h/2 when
    averaging), where it falls below ``cutoff``; kernels entirely below are dropped. The
    sub-box is the bounding box of what is left.
    """
    h = grid.spacing_cm
    shape = np.array(grid.shape)
    cutoff = np.broadcast_to(np.asarray(cutoff, float), kern.amp.shape)
    keep = kern.amp > cutoff
    if not np.any(keep):
        return None
    c, s2, a = kern.centres[keep], kern.sigma2[keep], kern.amp[keep]
    radius = np.sqrt(2 * s2 * np.log(a / cutoff[keep])) + (0.5 * grid.h if average else 0.0)
    centre_idx = np.floor((c - grid.origin_cm) / h).astype(np.int64)            # voxel holding p
    half = np.ceil(radius[:, None] / h[None, :]).astype(np.int64)                # per axis
    lo = np.maximum(centre_idx - half, 0)
    hi = np.minimum(centre_idx + half + 1, shape)
    inside = np.all(hi > lo, axis=1)
    if not np.any(inside):
        return None
    c, s2, a, centre_idx, half, lo, hi = (x[inside] for x in (c, s2, a, centre_idx, half, lo, hi))
    box_lo, box_hi = lo.min(axis=0), hi.max(axis=0)
    box_shape = tuple(int(n) for n in box_hi - box_lo)
    field = np.zeros(box_shape)
    axes = [grid.axis(i) for i in range(3)]
    m = half.max(axis=1)
    small = m <= max_stencil
    # --- small kernels: vectorised on a (2m+1)³ stencil, grouped by m ---------------------
    for mm in np.unique(m[small]):
        sel = np.nonzero(small & (m == mm))[0]
        offs = np.arange(-mm, mm + 1)
        per = (2 * mm + 1) ** 3
        for j in range(0, len(sel), max(batch_elements // per, 1)):
            g = sel[j:j + batch_elements // per]
            idx = centre_idx[g][:, :, None] + offs[None, None, :]                   # (n, 3, w)
            ok = (idx >= 0) & (idx < shape[None, :, None])
            gs = []
            for ax in range(3):
                xi = axes[ax][np.clip(idx[:, ax, :], 0, shape[ax] - 1)]
                gs.append(np.where(ok[:, ax, :], _profile(xi, c[g, ax, None], s2[g, None], h[ax], average), 0.0))
            vals = a[g, None, None, None] * gs[0][:, :, None, None] * gs[1][:, None, :, None] * gs[2][:, None, None, :]
            rel = idx - box_lo[None, :, None]
            rel = np.clip(rel, 0, np.array(box_shape)[None, :, None] - 1)
            flat = (rel[:, 0, :, None, None] * box_shape[1] + rel[:, 1, None, :, None]) * box_shape[2] \
                + rel[:, 2, None, None, :]
            field.ravel()[:] += np.bincount(flat.ravel(), weights=vals.ravel(), minlength=field.size)
    # --- large kernels: one separable outer product each ---------------------------------
    for j in np.nonzero(~small)[0]:
        sl = tuple(slice(int(lo[j, i] - box_lo[i]), int(hi[j, i] - box_lo[i])) for i in range(3))
        g = [_profile(axes[i][lo[j, i]:hi[j, i]], c[j, i], s2[j], h[i], average) for i in range(3)]
        field[sl] += a[j] * g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]
    return box_lo, field


# ----------------------------------------------------------------------------------------
# Closed forms (validation)
# ----------------------------------------------------------------------------------------


def steady_point_source(r_cm, p: SourceParams):
    """Static point source, steady state: Q/(4πθDr)·exp(−r√(k/D))."""
    r = np.asarray(r_cm, float)
    return p.release / (4 * np.pi * p.theta * p.D_cm2_d * r) * np.exp(-r * np.sqrt(p.decay_d / p.D_cm2_d))


def transient_point_source(r_cm, t_d: float, p: SourceParams):
    """Static point source switched on at t = 0 (Carslaw & Jaeger 10.4 with decay):
    Q/(8πθDr)·[e^{−r√(k/D)} erfc(r/√(4D't) − √(k't)) + e^{r√(k/D)} erfc(r/√(4D't) + √(k't))]."""
    from scipy.special import erfc

    r = np.asarray(r_cm, float)
    Dp, kp = p.D_eff, p.k_eff
    a, b = r / np.sqrt(4 * Dp * t_d), np.sqrt(kp * t_d)
    m = r * np.sqrt(p.decay_d / p.D_cm2_d)
    return p.release / (8 * np.pi * p.theta * p.D_cm2_d * r) * (np.exp(-m) * erfc(a - b) + np.exp(m) * erfc(a + b))


def moving_frame_steady(xi_cm, velocity_cm_d, p: SourceParams):
    """Point source moving at constant velocity for ever, steady in the source's frame:
    Q/(4πθDρ)·exp(−v·ξ/(2D') − ρ√(|v|²/(4D'²) + k'/D')), ξ = x − x_tip, ρ = |ξ|."""
    xi = np.atleast_2d(np.asarray(xi_cm, float))
    v = np.asarray(velocity_cm_d, float)
    Dp, kp = p.D_eff, p.k_eff
    rho = np.linalg.norm(xi, axis=1)
    return p.release / (4 * np.pi * p.theta * p.D_cm2_d * rho) * np.exp(
        -(xi @ v) / (2 * Dp) - rho * np.sqrt(v @ v / (4 * Dp * Dp) + kp / Dp))
