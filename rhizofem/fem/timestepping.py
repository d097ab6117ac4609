"""Adaptive implicit time stepping: variable-step BDF1/BDF2 and a local-error step controller.

Everything here works on numpy arrays, so one call serves one clock (a single problem) or
many independent clocks at once (e.g. thousands of independent root segments solved in one
batch, each with its own time step: pass arrays with one entry per clock).

The schemes, for ``du/dt = f(u)`` with step ``dt_n = t_{n+1} - t_n`` and ratio
``ω = dt_n / dt_{n-1}``, written as

    a0 u_{n+1} + a1 u_n + a2 u_{n-1} = dt_n f(u_{n+1})

* BDF1 (backward Euler): a0 = 1, a1 = -1, a2 = 0; local error u_num − u ≈ dt²/2 u''.
* variable-step BDF2: a0 = (1+2ω)/(1+ω), a1 = -(1+ω), a2 = ω²/(1+ω); local error
  u_num − u ≈ (1+ω)² dt³ u''' / (6 ω (1+2ω)) (Taylor expansion of the formula; 2/9 dt³ u'''
  at ω = 1, the classical error constant).
  Zero-stable for ω < 1 + √2, so :class:`StepController` never grows a step by more than
  ``max_growth`` (default 2).

The derivatives in the error estimates come from divided differences of the last solutions
(3 for BDF1, 4 for BDF2), so the estimate costs no extra solve.

Conservative bookkeeping: with ``a1 = -a0 - a2`` the BDF2 formula reads
``a0 (M_{n+1} - M_n) - a2 (M_n - M_{n-1}) = dt_n S_{n+1}`` for any conserved amount ``M``
with net source ``S``. :func:`bdf_increment` accumulates each process (uptake, exudation,
decay, ...) with the same recursion, so that the accumulated amounts add up *exactly* to the
change of the content, step by step — a mass balance that closes to the solver tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StepController", "bdf_coefficients", "bdf_increment", "bdf_local_error", "extrapolate"]


def bdf_coefficients(dt: np.ndarray, dt_prev: np.ndarray, order: np.ndarray):
    """Coefficients (a0, a1, a2) of BDF1 (``order == 1``) or variable-step BDF2 (``order == 2``).

    All arguments broadcast; ``dt_prev`` is ignored where ``order == 1``.
    """
    dt, dt_prev, order = np.broadcast_arrays(np.asarray(dt, float), np.asarray(dt_prev, float),
                                             np.asarray(order))
    second = order >= 2
    w = np.where(second, dt / np.where(second, dt_prev, 1.0), 0.0)
    a0 = np.where(second, (1 + 2 * w) / (1 + w), 1.0)
    a2 = np.where(second, w * w / (1 + w), 0.0)
    a1 = -a0 - a2
    return a0, a1, a2


def bdf_increment(rate_new: np.ndarray, dt: np.ndarray, previous: np.ndarray, a0: np.ndarray,
                  a2: np.ndarray) -> np.ndarray:
    """Amount a process contributes over one BDF step (see the module docstring).

    ``rate_new`` is the process rate at the new time level, ``previous`` the increment this
    function returned for the previous step (0 before the first). For BDF1 it is ``dt·rate``.
    """
    return (dt * rate_new + a2 * previous) / a0


def extrapolate(t_new: np.ndarray, times: list[np.ndarray], values: list[np.ndarray]) -> np.ndarray:
    """Polynomial extrapolation to ``t_new`` through the points ``(times[i], values[i])``.

    Used as the Newton initial guess (the predictor). ``times`` entries broadcast against
    ``values`` entries (e.g. per-clock times of shape ``(m, 1, 1)`` against values ``(m, n, k)``).
    """
    out = np.zeros(np.broadcast_shapes(np.shape(values[0]), np.shape(t_new)))
    for i, (ti, vi) in enumerate(zip(times, values, strict=True)):
        weight = 1.0
        for j, tj in enumerate(times):
            if j != i:
                weight = weight * (t_new - tj) / (ti - tj)
        out = out + weight * vi
    return out


def _divided_difference(times: list[np.ndarray], values: list[np.ndarray]) -> np.ndarray:
    table = list(values)
    for level in range(1, len(values)):
        table = [(table[i] - table[i + 1]) / (times[i] - times[i + level]) for i in range(len(table) - 1)]
    return table[0]


def bdf_local_error(times: list[np.ndarray], values: list[np.ndarray], order: int) -> np.ndarray:
    """Estimated local error of the step that produced ``values[0]`` at ``times[0]``.

    ``times``/``values`` are newest first: ``order + 2`` points are used (3 for BDF1, 4 for
    BDF2); the step that was taken is ``times[0] - times[1]``.
    """
    dt = times[0] - times[1]
    if order == 1:
        # u'' ≈ 2 f[t0, t1, t2]; error ≈ dt²/2 u''
        return dt * dt * _divided_difference(times[:3], values[:3])
    if order == 2:
        w = dt / (times[1] - times[2])
        d3 = _divided_difference(times[:4], values[:4])  # u''' ≈ 6 d3
        return (1 + w) ** 2 * dt**3 * d3 / (w * (1 + 2 * w))
    raise ValueError(f"BDF order {order} is not implemented (1 or 2)")


@dataclass(frozen=True)
class StepController:
    """Step sizes from local error estimates (elementary controller with safety factor).

    A step is accepted when its weighted error ``max |e| / (atol + rtol |u|)`` is ≤ 1; the
    next step is ``dt · clip(safety · err^(-1/(p+1)), min_shrink, max_growth)`` with p the
    order. Rejected steps are retried with the shrunk step; a Newton failure shrinks by
    ``newton_shrink``.
    """

    rtol: float = 1e-3
    atol: float = 1e-3
    safety: float = 0.9
    max_growth: float = 2.0
    min_shrink: float = 0.2
    newton_shrink: float = 0.25
    dt_min: float = 1e-6
    dt_max: float = np.inf

    def weighted_error(self, error: np.ndarray, u: np.ndarray, axes) -> np.ndarray:
        """The error norm per clock: max over ``axes`` of ``|error| / (atol + rtol |u|)``."""
        return np.max(np.abs(error) / (self.atol + self.rtol * np.abs(u)), axis=axes)

    def next_step(self, err: np.ndarray, dt: np.ndarray, order: np.ndarray):
        """(accepted, dt_next) for each clock, from the weighted errors of the steps just taken."""
        err = np.asarray(err, float)
        with np.errstate(divide="ignore"):
            factor = self.safety * np.power(np.maximum(err, 1e-12), -1.0 / (np.asarray(order) + 1.0))
        factor = np.clip(factor, self.min_shrink, self.max_growth)
        accepted = (err <= 1.0) | (dt <= self.dt_min * (1 + 1e-12))
        dt_next = np.clip(dt * factor, self.dt_min, self.dt_max)
        return accepted, dt_next
