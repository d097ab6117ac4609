"""Individual bacteria as arrays: id, voxel, mass, dormant — vectorised, never a loop over cells.

**Metabolism of a cell** of carbon mass m (µg C) in a liquid voxel of DOC concentration c,
with f = c/(K_s + c), over a step Δt (c held at its value at the start of the step):

* active: uptake rate v_max f m, of which the yield Y builds biomass and (1 − Y) is respired;
  maintenance a m is respired from biomass. So dm/dt = r m with r = Y v_max f − a, integrated
  exactly over the step: m ← m e^{rΔt}, uptake U = v_max f I and maintenance a I with
  I = ∫m dt = m (e^{rΔt} − 1)/r. When the cells of one voxel ask for more DOC than it holds,
  each gets the same share of what is there (their growth shrinks, their maintenance does not).
* dormancy: an active cell whose uptake cannot pay its maintenance (Y v_max f < a) goes
  dormant; a dormant cell takes up nothing and respires β a m (β = dormant_maintenance_fraction);
  it wakes at rate k_r (probability 1 − e^{−k_r Δt} per step) once the local DOC would pay its
  maintenance again.
* division at the critical mass m_div into two cells of 1/2 ± asymmetry/2 of the mass; the
  daughter goes to a random face-neighbour liquid voxel or stays (a 7-way choice, blocked
  directions stay).
* death below m_death: the cell's carbon becomes necromass in its voxel.
* motility (optional): a lattice random walk in the liquid with jump rate 6 D_b/h², reflected
  at non-liquid faces, each direction weighted by exp(χ (c_nb − c)/(K_s + c)) for chemotaxis.

**Randomness keyed by cell, not by rank.** Every random number is a hash (SplitMix64) of
(run seed, cell id, step, purpose), so a cell draws the same numbers on any number of ranks
and in any array order. Daughters get the id hash(parent id, step, round) — 63-bit, so two
cells share an id with probability ~n²/2⁶⁴ (5e-8 for a million cells). Arrays are kept sorted
by id, so that sums over the cells of a voxel add in the same order on every partition.

**Ownership.** A cell belongs to the rank that owns its voxel; after every move the cells that
left the slab are sent to their new owner (:func:`migrate`, one all-to-all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from .config import Bacteria as BacteriaConfig
from .domain import Domain

__all__ = ["Cells", "Physiology", "divide", "initial_cells", "migrate", "uniform"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

# purposes of random numbers (the last key of the hash)
INIT_VOXEL, INIT_MASS, INIT_DORMANT, CLUSTER_OF, CLUSTER_CENTRE, CLUSTER_OFFSET = 1, 2, 3, 4, 5, 6
REACTIVATE, DIVIDE_FRACTION, DAUGHTER_PLACE, DAUGHTER_ID = 10, 11, 12, 13
JUMP, DIRECTION = 20, 21


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hash64(seed: int, ids: np.ndarray, step: int, purpose: int) -> np.ndarray:
    """A 64-bit hash of (seed, id, step, purpose) per id."""
    with np.errstate(over="ignore"):
        key = np.uint64(seed) * _GOLDEN + np.uint64((int(step) + 2) & 0xFFFFFFFF) * _M2 \
            + np.uint64(purpose) * _M1
        x = _mix(np.asarray(ids, dtype=np.int64).astype(np.uint64) ^ _mix(np.full(len(ids), key, dtype=np.uint64)))
        return _mix(x + _GOLDEN)


def uniform(seed: int, ids: np.ndarray, step: int, purpose: int) -> np.ndarray:
    """Uniform numbers in [0, 1), one per id, keyed by (seed, id, step, purpose)."""
    return (hash64(seed, ids, step, purpose) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


@dataclass
class Cells:
    """The cells of one rank, sorted by id."""

    id: np.ndarray       # int64
    voxel: np.ndarray    # int64 flat image index
    mass: np.ndarray     # float64 µg C
    dormant: np.ndarray  # bool

    @classmethod
    def empty(cls) -> Cells:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0, bool))

    def __len__(self) -> int:
        return int(self.id.size)

    def take(self, sel) -> Cells:
        return Cells(self.id[sel], self.voxel[sel], self.mass[sel], self.dormant[sel])

    @staticmethod
    def concat(parts: list[Cells]) -> Cells:
        parts = [p for p in parts if len(p)] or [Cells.empty()]
        return Cells(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("id", "voxel", "mass", "dormant")))

    def sorted(self) -> Cells:
        return self.take(np.argsort(self.id, kind="stable"))


@dataclass(frozen=True)
class Physiology:
    """Rates per hour and masses in µg C (from :class:`~.config.Bacteria`)."""

    vmax: float
    Ks: float
    Y: float
    a: float
    beta: float
    dormancy: bool
    k_react: float
    m_div: float
    m_death: float
    asym: float

    @classmethod
    def from_config(cls, b: BacteriaConfig) -> Physiology:
        return cls(b.uptake_max_per_h, b.half_saturation_ug_cm3, b.growth_yield, b.maintenance_per_h,
                   b.dormant_maintenance_fraction, b.dormancy, b.reactivation_per_h, b.division_mass_ug_C,
                   b.death_mass_ug_C, b.division_asymmetry)

    def saturation(self, c: np.ndarray) -> np.ndarray:
        c = np.maximum(c, 0.0)
        return c / (self.Ks + c)

    def pays_maintenance(self, c: np.ndarray) -> np.ndarray:
        return self.Y * self.vmax * self.saturation(c) >= self.a


def _gaussians(seed: int, ids: np.ndarray, step: int, purpose: int, n: int) -> np.ndarray:
    """n standard normal numbers per id (Box–Muller on keyed uniforms)."""
    out = []
    for k in range(0, n, 2):
        u1 = uniform(seed, ids, step, purpose + 64 * k)
        u2 = uniform(seed, ids, step, purpose + 64 * (k + 1))
        r = np.sqrt(-2.0 * np.log1p(-u1))
        out += [r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)]
    return np.stack(out[:n], axis=1)


def initial_cells(dom: Domain, b: BacteriaConfig, seed: int) -> Cells:
    """The initial cells owned by this rank: every rank draws all of them by id and keeps its own."""
    n = b.initial_cells
    ids = np.arange(n, dtype=np.int64)
    liquid = dom.liquid_flat
    if b.distribution == "uniform":
        voxel = liquid[np.minimum((uniform(seed, ids, -1, INIT_VOXEL) * liquid.size).astype(np.int64),
                                  liquid.size - 1)]
    else:  # Thomas process: centres uniform in the liquid, cells Gaussian around them, snapped to liquid
        kid = np.arange(b.clusters, dtype=np.int64)
        centres = liquid[np.minimum((uniform(seed, kid, -1, CLUSTER_CENTRE) * liquid.size).astype(np.int64),
                                    liquid.size - 1)]
        which = np.minimum((uniform(seed, ids, -1, CLUSTER_OF) * b.clusters).astype(np.int64), b.clusters - 1)
        home = centres[which]
        voxel = home.copy()
        placed = np.zeros(n, dtype=bool)
        base = np.array(np.unravel_index(home, dom.shape)).T
        sigma = b.cluster_radius_um / dom.voxel_um
        for attempt in range(8):  # a cell whose offset lands outside the liquid tries again
            off = _gaussians(seed, ids, -1 - attempt, CLUSTER_OFFSET, 3) * sigma
            p = np.rint(base + off).astype(np.int64)
            inside = np.all((p >= 0) & (p < np.array(dom.shape)), axis=1)
            flat = np.where(inside, np.ravel_multi_index(np.clip(p, 0, np.array(dom.shape) - 1).T, dom.shape), -1)
            ok = ~placed & dom.is_liquid(flat)
            voxel[ok] = flat[ok]
            placed |= ok
    mass = b.division_mass_ug_C * (0.5 + 0.5 * uniform(seed, ids, -1, INIT_MASS))
    dormant = uniform(seed, ids, -1, INIT_DORMANT) < b.initial_dormant_fraction
    mine = dom.owner_of_voxel(voxel) == dom.rank
    return Cells(ids[mine], voxel[mine], mass[mine], dormant[mine])


def migrate(cells: Cells, dom: Domain, comm: MPI.Comm) -> tuple[Cells, int]:
    """Send every cell to the rank that owns its voxel; the cells come back sorted by id."""
    if comm.size == 1:
        return cells, 0
    owner = dom.owner_of_voxel(cells.voxel)
    leaving = owner != comm.rank
    order = np.argsort(np.where(leaving, owner, -1), kind="stable")[int((~leaving).sum()):]
    send_counts = np.bincount(owner[leaving], minlength=comm.size).astype(np.int64)
    recv_counts = np.zeros(comm.size, dtype=np.int64)
    comm.Alltoall(send_counts, recv_counts)  # a few bytes; the cells follow in one Alltoallv
    if not (send_counts.any() or recv_counts.any()):
        return cells, 0
    # one row of four 64-bit words per cell: id, voxel, mass (its bits), dormant
    packed = np.stack([cells.id[order], cells.voxel[order], cells.mass[order].view(np.int64),
                       cells.dormant[order].astype(np.int64)], axis=1)
    received = np.empty((int(recv_counts.sum()), 4), dtype=np.int64)
    sdispl = np.concatenate(([0], np.cumsum(send_counts)[:-1])) * 4
    rdispl = np.concatenate(([0], np.cumsum(recv_counts)[:-1])) * 4
    comm.Alltoallv([packed, send_counts * 4, sdispl, MPI.INT64_T], [received, recv_counts * 4, rdispl, MPI.INT64_T])
    arrived = Cells(received[:, 0].copy(), received[:, 1].copy(), received[:, 2].copy().view(np.float64),
                    received[:, 3].astype(bool))
    return Cells.concat([cells.take(~leaving), arrived]).sorted(), int(leaving.sum())


def switch_states(cells: Cells, c_cell: np.ndarray, phys: Physiology, dt: float, seed: int, step: int) -> None:
    """Dormancy when uptake cannot pay maintenance; reactivation at rate k_r when it can (in place)."""
    if not phys.dormancy or len(cells) == 0:
        return
    pays = phys.pays_maintenance(c_cell)
    fall = ~cells.dormant & ~pays
    wake_p = -math.expm1(-phys.k_react * dt)
    wake = cells.dormant & pays & (uniform(seed, cells.id, step, REACTIVATE) < wake_p)
    cells.dormant[fall] = True
    cells.dormant[wake] = False


def metabolise(cells: Cells, c_own: np.ndarray, local: np.ndarray, volume: float, phys: Physiology,
               dt: float) -> np.ndarray:
    """Uptake, growth and respiration over one step; DOC leaves ``c_own`` in place.

    Returns the CO₂ released by each cell (µg C).
    """
    co2 = np.zeros(len(cells))
    act = ~cells.dormant
    m = cells.mass
    f = phys.saturation(c_own[local[act]])
    r = phys.Y * phys.vmax * f - phys.a
    rdt = r * dt
    small = np.abs(rdt) < 1e-8
    growth_factor = np.where(small, dt * (1 + 0.5 * rdt), np.expm1(rdt) / np.where(small, 1.0, r))
    integral = m[act] * growth_factor  # ∫ m dt over the step
    uptake = phys.vmax * f * integral
    demand = np.bincount(local[act], weights=uptake, minlength=c_own.size)
    available = np.maximum(c_own, 0.0) * volume
    share = np.ones_like(demand)
    short = demand > available
    share[short] = available[short] / demand[short]
    uptake *= share[local[act]]
    maint = phys.a * integral
    m[act] += phys.Y * uptake - maint
    co2[act] = (1.0 - phys.Y) * uptake + maint
    c_own -= np.bincount(local[act], weights=uptake, minlength=c_own.size) / volume
    dor = cells.dormant
    loss = -m[dor] * np.expm1(-phys.beta * phys.a * dt)
    m[dor] -= loss
    co2[dor] = loss
    return co2


def divide(cells: Cells, dom: Domain, phys: Physiology, seed: int, step: int) -> tuple[Cells, int]:
    """Every cell at or above the critical mass splits; returns all cells (sorted) and the births."""
    born = 0
    parts = [cells]
    current = cells
    for round_ in range(64):
        big = np.flatnonzero(current.mass >= phys.m_div)
        if big.size == 0:
            break
        ids = current.id[big]
        salt = step * 64 + round_
        frac = 0.5 + phys.asym * (uniform(seed, ids, salt, DIVIDE_FRACTION) - 0.5)
        child_mass = current.mass[big] * (1.0 - frac)
        current.mass[big] *= frac
        child_id = (hash64(seed, ids, salt, DAUGHTER_ID) >> np.uint64(1)).astype(np.int64)
        k = np.minimum((uniform(seed, ids, salt, DAUGHTER_PLACE) * 7).astype(np.int64), 6)
        place = current.voxel[big].copy()
        side = k < 6  # k = 6: the daughter stays in its parent's voxel
        nb = dom.liquid_neighbours()[dom.liquid_index[place[side]], k[side]]
        idx = np.flatnonzero(side)[nb >= 0]
        place[idx] = dom.liquid_flat[nb[nb >= 0]]
        child = Cells(child_id, place, child_mass, np.zeros(big.size, dtype=bool))
        born += big.size
        parts.append(child)
        current = child  # a daughter above the critical mass divides in the next round
    return (Cells.concat(parts).sorted() if born else cells), born


def die(cells: Cells, phys: Physiology) -> tuple[Cells, Cells]:
    """(survivors, dead): cells below the death mass die."""
    dead = cells.mass < phys.m_death
    return cells.take(~dead), cells.take(dead)


@dataclass(frozen=True)
class Motility:
    """Lattice random walk: sub-steps per time step and the jump probability in each."""

    substeps: int
    p_jump: float
    chemotaxis: float
    D_eff_cm2_s: float

    @classmethod
    def from_config(cls, b: BacteriaConfig, voxel_um: float, dt_h: float) -> Motility:
        if b.motility_cm2_s <= 0:
            return cls(0, 0.0, 0.0, 0.0)
        h = voxel_um * 1e-4
        jumps = 6.0 * b.motility_cm2_s * 3600.0 * dt_h / (h * h)  # expected jumps per step
        n = int(min(max(math.ceil(jumps), 1), b.max_jumps_per_step))
        p = min(1.0, jumps / n)
        return cls(n, p, b.chemotaxis, p * n * h * h / (6.0 * dt_h * 3600.0))


def jump(cells: Cells, dom: Domain, c_ext: np.ndarray, e0: int, mot: Motility, Ks: float, seed: int, step: int,
         sub: int) -> None:
    """One lattice sub-step of the active cells (in place; call :func:`migrate` after)."""
    if len(cells) == 0:
        return
    act = np.flatnonzero(~cells.dormant)
    ids = cells.id[act]
    salt = step * 1024 + sub
    moving = act[uniform(seed, ids, salt, JUMP) < mot.p_jump] if mot.p_jump < 1.0 else act
    if moving.size == 0:
        return
    here = dom.liquid_index[cells.voxel[moving]]
    nbs = dom.liquid_neighbours()[here]  # liquid numbers of the six neighbours, -1: no liquid
    liquid = nbs >= 0
    if mot.chemotaxis > 0:
        c_here = c_ext[here - e0]
        c_nb = np.where(liquid, c_ext[np.where(liquid, nbs - e0, 0)], 0.0)
        delta = np.where(liquid, (c_nb - c_here[:, None]) / (Ks + np.maximum(c_here[:, None], 0.0)), 0.0)
        cum = np.cumsum(np.exp(np.clip(mot.chemotaxis * delta, -50, 50)), axis=1)
        u = uniform(seed, cells.id[moving], salt, DIRECTION) * cum[:, -1]
        k = np.minimum((u[:, None] >= cum).sum(axis=1), 5)
    else:  # six equally likely directions
        k = np.minimum((uniform(seed, cells.id[moving], salt, DIRECTION) * 6).astype(np.int64), 5)
    rows = np.arange(moving.size)
    ok = liquid[rows, k]
    cells.voxel[moving[ok]] = dom.liquid_flat[nbs[rows, k][ok]]
