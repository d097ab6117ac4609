r"""Mucilage in a drying pore space: a polymer solution that concentrates, gels and stays as
bridges and films.

The model (docs/liquid.md gives the physical argument and the sources):

* **Polymer mass.** M = m · ρ_s · V_solid: m the dry mucilage mass per dry soil mass
  (mg/g), ρ_s the particle density, V_solid the solid volume of the image. M never changes.
* **Where it is.** The mucilage phase is the part of the liquid that holds the polymer, at
  one concentration c = M / V_m (mg per cm³ of solution; V_m its volume). In the saturated
  sample it is all the pore water, or a solution of given concentration in the smallest
  pores and at the particle contacts (the liquid that water-only drainage keeps longest),
  or the voxels labelled mucilage in the image.
* **Liquid stage, c < c_gel.** The solution drains by capillarity like water (the same
  order of the drainage), and the polymer of every drained mucilage voxel stays in the rest
  of the mucilage: the receding menisci draw it toward the contacts (Benard et al. 2018,
  Vadose Zone J.). So c rises as the soil dries.
* **Gel stage, c ≥ c_gel.** The mucilage no longer drains by capillarity: its viscosity
  keeps it from breaking up where a water bridge would (Benard et al. 2019, 2021: filaments
  and interconnected lamellae that span pores and do not break on drying; Williams et al.
  2021: a drying mucilage bridge between two plates buckles but stays connected while a
  water bridge ruptures, the gel accumulating where it adheres to the surfaces). The free
  water left drains first, by capillarity in the water order, because the gel holds its
  water more strongly (mucilage raises the water retention and keeps the liquid
  connected: Carminati et al. 2017; Benard et al. 2019). Then the gel dries by evaporation
  from its surface, one layer at a time: a
  gel voxel goes when (i) it touches air, (ii) its removal keeps the gel locally connected
  (the face-connected gel components of its 18-neighbourhood, 8 in 2D, that touch it by a
  face stay one: T = 1), (iii) the non-gel around it is one piece (counted with face, edge
  and corner adjacency: its removal opens no new hole through a gel film; with (ii) this
  is the classic simple-point test of digital topology) and (iv) if it lies on the solid,
  another gel voxel of its neighbourhood lies on the solid too (the gel's contact with a
  grain shrinks but is not lost: adhesion). A lone gel voxel that joins nothing (T = 0)
  dries below the voxel size and leaves the image; its polymer stays in the balance
  (c = M / V_m). Gel between grains thus thins to filaments and films one voxel thick that
  keep joining what they joined (rings around grain contacts stay rings), while c keeps
  rising. A layer is worked through one parity subfield at a time (voxels of one subfield
  are never neighbours, so a whole subfield is tested at once and every prefix of the
  removals is a valid configuration), in image order within a subfield. The gel dries from
  a surface that reaches the grains: if it gels before the air has reached a grain
  anywhere (a concentrated solution in a nearly saturated sample), it first drains by
  capillarity until the air has.

The lowest liquid content that can be reached is that of the thinned network (plus water
that never drains); a lower request is refused with that value.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from .morphology import Sequence

__all__ = ["component_lut", "dry_with_mucilage", "gel_voxel_count", "mackie_meares", "polymer_mass_mg"]


def polymer_mass_mg(mg_per_g: float, solid_density_g_cm3: float, solid_voxels: int, voxel_cm3: float) -> float:
    """Dry mucilage mass (mg) in an image: mg/g times the dry soil mass of its solid."""
    return float(mg_per_g) * float(solid_density_g_cm3) * int(solid_voxels) * float(voxel_cm3)


def gel_voxel_count(polymer_mg: float, gel_mg_cm3: float, voxel_cm3: float) -> int:
    """The mucilage is a gel (c ≥ c_gel) once it fills at most this many voxels."""
    return int(np.floor(polymer_mg / (gel_mg_cm3 * voxel_cm3) * (1 + 1e-12)))


def mackie_meares(c_mg_cm3: float, polymer_density_g_cm3: float) -> float:
    """Relative diffusivity ((1 − v)/(1 + v))² of a small solute in a polymer solution of
    polymer volume fraction v (Mackie & Meares 1955, Proc. R. Soc. Lond. A 232:498)."""
    v = min(float(c_mg_cm3) * 1e-3 / float(polymer_density_g_cm3), 1.0)
    return ((1.0 - v) / (1.0 + v)) ** 2


# --------------------------------------------------------------------------------------
# local connectivity of the gel
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def component_lut(dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup table of T, the number of face-connected components of a voxel's neighbours
    (18-neighbourhood in 3D, 8 in 2D, the voxel itself left out) that touch it by a face.

    Returns ``(T per neighbourhood code, neighbour offsets (m, dim), indices of the face
    neighbours among them)``; bit i of a code is neighbour i. T = 1: removing the voxel
    keeps its neighbours joined; T ≥ 2: it is a bridge; T = 0: it is isolated.
    """
    offsets = np.array([o for o in itertools.product((-1, 0, 1), repeat=dim)
                        if 1 <= sum(map(abs, o)) <= min(dim, 2)], dtype=np.int64)
    m = len(offsets)
    faces = np.flatnonzero(np.abs(offsets).sum(axis=1) == 1)
    adjacent = [np.flatnonzero(np.abs(offsets - offsets[i]).sum(axis=1) == 1) for i in range(m)]
    codes = np.arange(2**m, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
    none = np.int8(m)
    lab = np.where(bits, np.arange(m, dtype=np.int8), none)
    while True:  # propagate the smallest index through each component
        new = lab.copy()
        for i in range(m):
            for j in adjacent[i]:  # only through neighbours that are present
                np.minimum(new[:, i], np.where(bits[:, j], new[:, j], none), out=new[:, i])
        new[~bits] = none
        if np.array_equal(new, lab):
            break
        lab = new
    at_faces = np.sort(lab[:, faces], axis=1)
    count = (at_faces[:, 0] != none).astype(np.uint8)
    count += np.sum((at_faces[:, 1:] != at_faces[:, :-1]) & (at_faces[:, 1:] != none), axis=1).astype(np.uint8)
    return count, offsets, faces


@lru_cache(maxsize=2)
def _shell(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The 3^d − 1 neighbours of a voxel and, per neighbour, the neighbours adjacent to it
    by a face, edge or corner (padded with m, a column that is never present)."""
    offsets = np.array([o for o in itertools.product((-1, 0, 1), repeat=dim) if any(o)], dtype=np.int64)
    m = len(offsets)
    adjacent = [np.flatnonzero((np.abs(offsets - offsets[i]).max(axis=1) == 1)) for i in range(m)]
    width = max(len(a) for a in adjacent)
    table = np.full((m, width), m, dtype=np.int64)
    for i, a in enumerate(adjacent):
        table[i, : len(a)] = a
    return offsets, table


def background_components(present: np.ndarray, dim: int) -> np.ndarray:
    """Per row of ``present`` ((k, 3^d − 1) booleans over :func:`_shell` offsets): the number
    of components of the present neighbours under face, edge and corner adjacency (the
    background's connectivity that pairs with face-connected gel)."""
    _, table = _shell(dim)
    k, m = present.shape
    none = np.int16(m)
    lab = np.where(present, np.arange(m, dtype=np.int16), none)
    while True:
        ext = np.concatenate([lab, np.full((k, 1), none, dtype=np.int16)], axis=1)
        new = np.where(present, np.minimum(lab, ext[:, table].min(axis=2)), none)
        if np.array_equal(new, lab):
            break
        lab = new
    return np.count_nonzero(present & (lab == np.arange(m, dtype=np.int16)), axis=1)


def _face_any(mask: np.ndarray, periodic: bool) -> np.ndarray:
    """Voxels with a face neighbour in ``mask``."""
    out = np.zeros(mask.shape, dtype=bool)
    for axis in range(mask.ndim):
        for step in (1, -1):
            if periodic:
                out |= np.roll(mask, step, axis=axis)
            else:
                src = [slice(None)] * mask.ndim
                dst = [slice(None)] * mask.ndim
                src[axis] = slice(0, -1) if step == 1 else slice(1, None)
                dst[axis] = slice(1, None) if step == 1 else slice(0, -1)
                out[tuple(dst)] |= mask[tuple(src)]
    return out


class _Neighbours:
    """Values of a flat image at fixed offsets from a batch of voxels (wrap or open faces)."""

    def __init__(self, shape: tuple[int, ...], periodic: bool):
        self.shape = np.asarray(shape, dtype=np.int64)[:, None, None]
        self.dims = tuple(int(n) for n in shape)
        self.periodic = periodic

    def indices(self, idx: np.ndarray, offsets: np.ndarray):
        coords = np.asarray(np.unravel_index(idx, self.dims), dtype=np.int64)[:, :, None]
        nb = coords + offsets.T[:, None, :]  # (dim, k, m)
        if self.periodic:
            return np.ravel_multi_index(tuple(nb % self.shape), self.dims), None
        inside = np.all((nb >= 0) & (nb < self.shape), axis=0)
        return np.ravel_multi_index(tuple(np.clip(nb, 0, self.shape - 1)), self.dims), inside

    @staticmethod
    def values(flat: np.ndarray, where, outside: bool) -> np.ndarray:
        index, inside = where
        vals = flat[index]
        if inside is not None:
            vals = np.where(inside, vals, outside)
        return vals


def _colours(shape: tuple[int, ...], periodic: bool) -> np.ndarray:
    """A subfield number per voxel such that two voxels of one subfield are never within
    each other's 3^d neighbourhood (parity per axis; with wrap, an odd axis's last layer
    gets a third colour)."""
    colour = np.zeros(shape, dtype=np.int64)
    for axis, n in enumerate(shape):
        c = np.arange(n) % 2
        if periodic and n % 2 == 1:
            c[-1] = 2
        view = [1] * len(shape)
        view[axis] = n
        colour = colour * 3 + c.reshape(view)
    return colour.ravel()


class _Gel:
    """The drying state: liquid, gel and air voxels, and the thinning test."""

    def __init__(self, pore: np.ndarray, liquid: np.ndarray, gel: np.ndarray, periodic: bool):
        shape = pore.shape
        self.dim = pore.ndim
        self.shape = shape
        self.solid = ~pore.ravel()
        self.liquid = liquid.ravel().copy()
        self.gel = gel.ravel().copy()
        self.periodic = periodic
        self.lut, offsets, faces = component_lut(self.dim)
        self.offsets = offsets
        self.faces = faces
        self.weights = (np.int64(1) << np.arange(len(offsets), dtype=np.int64))
        self.nb = _Neighbours(shape, periodic)
        self.colour = _colours(shape, periodic)
        self.on_solid = _face_any(~pore, periodic).ravel()  # pore voxels with a solid face neighbour
        self.shell, _ = _shell(self.dim)

    def removable(self, idx: np.ndarray) -> np.ndarray:
        if idx.size == 0:
            return np.zeros(0, dtype=bool)
        where = self.nb.indices(idx, self.offsets)
        # beyond an open face counts as gel: the gel's contact with a face (its percolation
        # between faces) is kept like any other connection
        gel = _Neighbours.values(self.gel, where, outside=True)
        t = self.lut[gel @ self.weights]
        face_where = (where[0][:, self.faces], None if where[1] is None else where[1][:, self.faces])
        air = _Neighbours.values(~self.liquid & ~self.solid, face_where, outside=False).any(axis=1)
        ok = air & (t <= 1)
        # a voxel on the solid goes only if a gel voxel of its 18-neighbourhood is on the
        # solid too (edge neighbours count: a grain's voxel surface is a staircase): the
        # gel's contact with a grain shrinks but is not lost. A lone gel voxel (T = 0) joins
        # nothing: it dries below the voxel size and goes.
        check = np.flatnonzero(ok & (t == 1) & self.on_solid[idx])
        if check.size:
            nb_idx = where[0][check]
            inside = True if where[1] is None else where[1][check]
            ok[check] = (gel[check] & inside & self.on_solid[nb_idx]).any(axis=1)
        # no new tunnel: the non-gel around the voxel is one piece (else removing it would
        # punch a hole through a film and leave a net of loops)
        check = np.flatnonzero(ok)
        if check.size:
            shell = self.nb.indices(idx[check], self.shell)
            background = ~_Neighbours.values(self.gel, shell, outside=True)
            ok[check] = background_components(background, self.dim) == 1
        return ok

    def remove(self, idx: np.ndarray) -> None:
        self.liquid[idx] = False
        self.gel[idx] = False

    def surface(self) -> np.ndarray:
        """Flat indices of the gel voxels with an air face neighbour (image order)."""
        air = (~self.liquid & ~self.solid).reshape(self.shape)
        return np.flatnonzero(self.gel & _face_any(air, self.periodic).ravel())

    def peel(self, chunk: int = 200_000) -> np.ndarray:
        """Dry the gel layer by layer (see the module docstring) until nothing can go.
        Returns the removed voxels in the order of removal."""
        removed = []
        colours = np.unique(self.colour)
        while True:
            layer = self.surface()
            count = 0
            for c in colours:
                sel = layer[self.colour[layer] == c]
                for start in range(0, sel.size, chunk):
                    part = sel[start:start + chunk]
                    go = part[self.removable(part)]
                    if go.size:
                        self.remove(go)
                        removed.append(go)
                        count += go.size
            if count == 0:
                break
        return np.concatenate(removed) if removed else np.empty(0, dtype=np.int64)


def dry_with_mucilage(water: Sequence, mucilage: np.ndarray, polymer_mg: float, gel_voxels: int,
                      voxel_cm3: float) -> Sequence:
    """The drying sequence of ``water`` (a water-only drainage) with the initial mucilage
    voxels ``mucilage`` holding ``polymer_mg`` of polymer (see the module docstring)."""
    if water.method != "drainage":
        raise ValueError("mucilage drying needs a drainage sequence")
    mu0 = np.asarray(mucilage, dtype=bool) & water.pore
    n_always = water.always_liquid()
    drain = water.fill_order[n_always:][::-1]
    drain_level = water.level2[n_always:][::-1]
    mu = mu0.ravel()
    n_mu = int(mu.sum())

    # liquid stage: everything drains in the water order until the mucilage is a gel
    if n_mu > gel_voxels:
        left = n_mu - np.cumsum(mu[drain])
        hit = np.flatnonzero(left <= gel_voxels)
        p_gel = int(hit[0]) + 1 if hit.size else drain.size
    else:
        p_gel = 0
    gelled = n_mu <= gel_voxels or p_gel < drain.size or (drain.size and left[-1] <= gel_voxels)
    # the gel dries from its surface only where the air already touches a grain (else it
    # could only open holes through its coat of the grains): until then it drains
    on_solid = _face_any(~water.pore, water.periodic).ravel()
    touch = np.flatnonzero(on_solid[drain])
    if gelled and touch.size:
        p_gel = max(p_gel, int(touch[0]) + 1)
    removed, levels, is_gel = [drain[:p_gel]], [drain_level[:p_gel]], [np.zeros(p_gel, dtype=bool)]
    state = _Gel(water.pore, water.pore, mu0, water.periodic)
    state.remove(drain[:p_gel])
    if gelled:
        # gel stage: the free water drains first, then the gel dries from its surface
        rest, rest_level = drain[p_gel:], drain_level[p_gel:]
        free = ~state.gel[rest]
        wet = rest[free]
        state.remove(wet)
        gone = state.peel()
        last = float(rest_level[free][-1]) if free.any() else (float(drain_level[p_gel - 1]) if p_gel else 0.0)
        removed += [wet, gone]
        levels += [rest_level[free], np.full(gone.size, last)]
        is_gel += [np.zeros(wet.size, dtype=bool), np.ones(gone.size, dtype=bool)]

    removed = np.concatenate(removed).astype(np.int64)
    levels = np.concatenate(levels)
    is_gel = np.concatenate(is_gel)
    kept = np.flatnonzero(state.liquid)
    fill = np.concatenate([kept, removed[::-1]])
    level2 = np.concatenate([np.zeros(kept.size), levels[::-1]])
    gel = np.concatenate([np.zeros(kept.size, dtype=bool), is_gel[::-1]])
    info = dict(water.info)
    info.update({"gel_from_liquid_voxels": int(water.n_pore - p_gel) if gelled else None,
                 "minimum_liquid_voxels": int(kept.size)})
    return Sequence(water.shape, water.pore, fill, level2, "drainage", water.periodic, mucilage=mu0, gel=gel,
                    polymer_mg=polymer_mg, voxel_cm3=voxel_cm3, gel_voxels=gel_voxels, info=info)
