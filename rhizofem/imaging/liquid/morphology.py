r"""Full-morphology drainage and imbibition of a pore image, at exact water contents.

Hilpert & Miller (2001, Adv. Water Resour. 24:243) place the interface between a wetting
liquid and a non-wetting gas at capillary pressure p on the surface of balls of radius

    R = 2 σ cos θ_c / p        (3D; σ cos θ_c / p for a 2D image, read as an extruded section),

the radius of a spherical meniscus in mechanical equilibrium. rhizofem builds the whole
drainage (or imbibition) path at once, as an order in which the pore voxels empty (fill),
so that any water content can be cut from it to one voxel.

Distances. d²(x) is the squared distance (in voxel units, an integer) from a pore voxel's
centre to the nearest solid voxel centre, by the exact Euclidean distance transform of the
`edt` package. A ball of radius √n centred at c is the set of voxels with |x − c|² < n; it
fits in the pores when d²(c) ≥ n. Its radius in length units is taken as (√n − ½) h (h the
voxel size): the solid surface lies half a voxel outside the solid voxel centres, so a slit
w voxels wide gets its half-width w h / 2 exactly.

Drainage. At level n the gas fills the union of the balls of radius √n whose centres are
connected (through centres of such balls, by faces) to the gas reservoir: the inlet faces,
or, with no inlet, anywhere (the morphological opening). With a(c), the largest level at
which centre c is so connected (a maximin path problem: from the inlet through voxels of
d² ≥ n), the drained set at level n is ∪{B(c, √a(c)) : a(c) ≥ n}: nested in n by
construction. Each voxel's drainage level is key²(x) = max{a(c) : |x − c|² < a(c)}.
Trapping: a voxel drains at its level only if, just before, the water around it still
reaches the outlet faces through voxels that have not drained (key² ≤ its own); otherwise
that water is trapped and stays for good.

Imbibition. At level n the gas keeps the union of all balls of radius √n that fit (the
opening, key² as above with a = d²); water fills the rest, from the inlet faces through
water (a minimax path problem), and air that loses its way to the outlet is trapped.
Without an inlet, drainage and imbibition give the same configurations: the morphological
model's hysteresis comes only from connectivity.

Exact water contents. The voxels of one level (a pore-size class) drain together at one
capillary pressure. A water content between two classes is met by draining the class
partially, in this order: with inlet faces, nearest to the gas already in (previous
classes, or the reservoir just beyond the inlet faces) first, a meniscus advancing from
the gas side through the class pore after pore; without an inlet, nearest to the centre of
the ball that brings the gas in first (the ball's middle before its rim at the walls); ties
farthest from the solid first, then by position in the image (C order). Imbibition fills a
class nearest to the water already in (with inlet faces) or nearest to the solid (without:
water spreads from the walls) first, then by position.

Connectivity is by faces everywhere (6 neighbours in 3D, 4 in 2D), as in the homogenization.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import edt
import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from rhizofem.errors import InputError

__all__ = [
    "FACES",
    "Sequence",
    "ball_cover",
    "drainage",
    "face_layers",
    "imbibition",
    "label_faces",
    "maximin_levels",
    "minimax_levels",
    "effective_radius",
    "squared_distance",
]

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")
_BIG = np.int64(2) ** 62  # "no such voxel" for squared distances


@dataclass
class Sequence:
    """The order in which the pore voxels of an image hold liquid.

    The configuration with N liquid voxels is ``fill_order[:N]`` (drainage: the voxels that
    drain last come first; imbibition: the voxels that fill first). ``level2[i]`` is the
    squared ball radius (voxels²) of the pore-size class of ``fill_order[i]``: the level at
    which it drains (drainage) or fills (imbibition); 0 for voxels that never drain, inf
    for voxels that never fill. With mucilage, ``gel[i]`` marks the gel voxels that dried
    by thinning while their class drained (no capillary equilibrium of their own).
    """

    shape: tuple[int, ...]
    pore: np.ndarray
    fill_order: np.ndarray
    level2: np.ndarray
    method: str
    periodic: bool = False
    mucilage: np.ndarray | None = None  # initial mucilage voxels (bool, image shape)
    gel: np.ndarray | None = None  # aligned with fill_order: removed as gel by thinning
    polymer_mg: float = 0.0
    voxel_cm3: float = 0.0
    gel_voxels: int = 0  # the mucilage is a gel when it fills at most this many voxels
    info: dict = field(default_factory=dict)

    @property
    def n_pore(self) -> int:
        return int(self.fill_order.size)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def count(self, water_content: float) -> int:
        """Liquid voxels of the configuration at ``water_content`` (per total volume)."""
        return int(round(water_content * self.size))

    def liquid(self, n: int) -> np.ndarray:
        """Boolean image of the configuration with ``n`` liquid voxels."""
        mask = np.zeros(self.size, dtype=bool)
        mask[self.fill_order[:n]] = True
        return mask.reshape(self.shape)

    def always_liquid(self) -> int:
        """Voxels that hold liquid in every configuration (drainage: never drained, and with
        mucilage the gel network left when nothing more can thin)."""
        return int(np.count_nonzero(self.level2 == 0)) if self.method == "drainage" else 0

    def never_liquid(self) -> int:
        """Voxels that never hold liquid (imbibition: trapped or unreachable air)."""
        return int(np.count_nonzero(np.isinf(self.level2))) if self.method == "imbibition" else 0

    def levels(self) -> np.ndarray:
        """Each voxel's class level (``level2`` as an image; 0 on the solid)."""
        out = np.zeros(self.size)
        out[self.fill_order] = self.level2
        return out.reshape(self.shape)

    def mucilage_count(self, n: int) -> int:
        """Mucilage voxels among the first ``n`` (mucilage only loses voxels as it dries)."""
        if self.mucilage is None:
            return 0
        return int(np.count_nonzero(self.mucilage.ravel()[self.fill_order[:n]]))


def effective_radius(level2):
    """Meniscus radius (voxels) of a class of squared ball radius n: √n − ½ (module docstring)."""
    return np.sqrt(level2) - 0.5


# --------------------------------------------------------------------------------------
# distances and connectivity
# --------------------------------------------------------------------------------------


def squared_distance(mask: np.ndarray, periodic: bool = False, margin: int | None = None) -> np.ndarray:
    """Squared Euclidean distance (int64, voxels²) from each True voxel centre to the nearest
    False voxel centre; 0 on False voxels, 2**62 where there is no False voxel.

    Open images: beyond the faces is neither (edt's ``black_border=False``). Periodic images
    are padded by wrap with ``margin`` voxels (default: enough for any distance).
    """
    mask = np.ascontiguousarray(mask, dtype=np.uint8)  # edt is about twice as fast on uint8 as on bool
    if periodic:
        if margin is None:
            # no periodic distance exceeds half the cell's diagonal
            margin = int(np.ceil(0.5 * np.sqrt(float(np.sum(np.square(mask.shape)))))) + 1
        margin = int(min(max(margin, 1), max(mask.shape)))
        padded = np.pad(mask, margin, mode="wrap")
        d = edt.edt(padded, black_border=False, parallel=1)
        d = d[tuple(slice(margin, margin + n) for n in mask.shape)]
    else:
        d = edt.edt(mask, black_border=False, parallel=1)
    d = np.asarray(d, dtype=np.float64)
    out = np.full(mask.shape, _BIG, dtype=np.int64)
    finite = np.isfinite(d)
    out[finite] = np.rint(d[finite] * d[finite]).astype(np.int64)
    return out


def _structure(dim: int) -> np.ndarray:
    return ndimage.generate_binary_structure(dim, 1)  # faces only


def label_faces(mask: np.ndarray, periodic: bool = False) -> np.ndarray:
    """Face-connected components of ``mask`` (0 outside), joined across opposite faces when
    periodic. Component numbers are arbitrary positive integers."""
    lab, n = ndimage.label(mask, structure=_structure(mask.ndim))
    if not periodic or n == 0:
        return lab
    rows, cols = [], []
    for axis in range(mask.ndim):
        a = np.take(lab, 0, axis=axis).ravel()
        b = np.take(lab, -1, axis=axis).ravel()
        keep = (a > 0) & (b > 0)
        rows.append(a[keep])
        cols.append(b[keep])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    if rows.size == 0:
        return lab
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n + 1, n + 1))
    _, comp = connected_components(graph, directed=False)
    return np.where(lab > 0, comp[lab] + 1, 0)


def reached(mask: np.ndarray, seeds: np.ndarray, periodic: bool = False) -> np.ndarray:
    """Voxels of ``mask`` in a face-connected component that contains a voxel of ``seeds``."""
    lab = label_faces(mask, periodic)
    hit = np.zeros(int(lab.max()) + 1, dtype=bool)
    hit[lab[seeds & mask]] = True
    hit[0] = False
    return hit[lab]


def face_layers(shape: tuple[int, ...], faces) -> np.ndarray:
    """The voxels of the image that lie on the named faces ("x-" is index 0 along axis 0)."""
    mask = np.zeros(shape, dtype=bool)
    for face in faces:
        axis = "xyz".index(face[0])
        if axis >= len(shape):
            raise InputError(f"face '{face}' does not exist in a {len(shape)}D image (axes "
                             f"{', '.join('xyz'[:len(shape)])}). Fix: name faces of this image.")
        index = [slice(None)] * len(shape)
        index[axis] = 0 if face[1] == "-" else -1
        mask[tuple(index)] = True
    return mask


def _reservoir_distance2(shape: tuple[int, ...], faces) -> np.ndarray:
    """Squared distance from each voxel centre to the nearest virtual voxel layer just
    beyond the named faces (the reservoir)."""
    out = np.full(shape, _BIG, dtype=np.int64)
    for face in faces:
        axis = "xyz".index(face[0])
        i = np.arange(shape[axis], dtype=np.int64)
        dist = (i + 1) if face[1] == "-" else (shape[axis] - i)
        view = [1] * len(shape)
        view[axis] = shape[axis]
        np.minimum(out, (dist**2).reshape(view), out=out)
    return out


def maximin_levels(value: np.ndarray, sources: np.ndarray, periodic: bool = False) -> np.ndarray:
    """Per voxel, the largest level n such that it is connected (faces) to ``sources``
    through voxels with ``value >= n``; 0 if there is none."""
    out = np.zeros(value.shape, dtype=np.int64)
    for n in np.unique(value[value > 0])[::-1]:
        new = reached(value >= n, sources, periodic) & (out == 0)
        out[new] = n
    return out


def minimax_levels(value: np.ndarray, region: np.ndarray, sources: np.ndarray,
                   periodic: bool = False) -> np.ndarray:
    """Per voxel of ``region``, the smallest level n such that it is connected (faces) to
    ``sources`` through voxels of ``region`` with ``value <= n``; -1 if never."""
    out = np.full(value.shape, -1, dtype=np.int64)
    for n in np.unique(value[region]):
        new = reached(region & (value <= n), sources, periodic) & (out < 0)
        out[new] = n
    return out


def _window(mask: np.ndarray, pad: int) -> tuple[slice, ...]:
    """The bounding box of ``mask`` grown by ``pad`` voxels, clipped to the image."""
    box = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(np.any(mask, axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(max(int(hit[0]) - pad, 0), min(int(hit[-1]) + 1 + pad, mask.shape[axis])))
    return tuple(box)


def ball_cover(centres2: np.ndarray, periodic: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """key²(x) = max{ centres2(c) : |x − c|² < centres2(c) }: the largest ball (of the radii
    the centres are allowed) that covers x, 0 where none does; and the squared distance from
    x to the nearest centre of such a largest ball (-1 where none).

    Levels are visited from the largest. At level n only centres of exactly that level can
    cover a voxel that no larger ball covers (a larger centre's ball of radius √n lies inside
    its own larger ball), so one distance transform to those centres, in a window around
    them, settles the level.
    """
    key = np.zeros(centres2.shape, dtype=np.int64)
    near = np.full(centres2.shape, -1, dtype=np.int64)
    for n in np.unique(centres2[centres2 > 0])[::-1]:
        new = centres2 == n
        reach = int(np.ceil(np.sqrt(n))) + 1
        if periodic:
            box = tuple(slice(None) for _ in new.shape)
            dist = squared_distance(~new, True, margin=reach)
        else:
            box = _window(new, reach)
            dist = squared_distance(~new[box])
        cover = (dist < n) & (key[box] == 0)
        key[box][cover] = n
        near[box][cover] = dist[cover]
    return key, near


# --------------------------------------------------------------------------------------
# drainage and imbibition
# --------------------------------------------------------------------------------------


def _faces(spec, dim: int, inlet=None):
    """A face spec ("none", "all", "opposite", or a tuple of faces) as a tuple of faces."""
    if spec == "none":
        return ()
    if spec == "all":
        return FACES[: 2 * dim]
    if spec == "opposite":
        flip = {"-": "+", "+": "-"}
        return tuple(f[0] + flip[f[1]] for f in inlet)
    return tuple(spec)


def _check_pore(pore: np.ndarray) -> None:
    if not pore.any():
        raise InputError("the image has no pore voxel (no label is air or liquid in [phases]). "
                         "Fix: check [phases] and the labels of the image.")
    if pore.all():
        raise InputError("the image has no solid voxel, so no capillary pressure can be defined "
                         "(every ball fits). Fix: check [phases] solid labels.")


def _start(pore, inlet, periodic):
    """The checked pore mask, its inlet faces and the squared distance to the solid."""
    pore = np.asarray(pore, dtype=bool)
    _check_pore(pore)
    inlet_faces = _faces(inlet, pore.ndim)
    return pore, inlet_faces, np.where(pore, squared_distance(pore, periodic), 0)


def _class_distance(cls, source, reservoir2, periodic):
    """Squared distance of the voxels ``cls`` to ``source`` or to the reservoir beyond the
    inlet faces, whichever is nearer."""
    return np.minimum(squared_distance(~source, periodic).ravel()[cls], reservoir2.ravel()[cls])


def drainage(pore: np.ndarray, inlet="none", trapping: bool = False, outlet="opposite",
             periodic: bool = False) -> Sequence:
    """Full-morphology drainage of ``pore`` (see the module docstring)."""
    pore, inlet_faces, d2 = _start(pore, inlet, periodic)
    dim, shape = pore.ndim, pore.shape
    if inlet_faces:
        a2 = maximin_levels(d2, face_layers(shape, inlet_faces) & pore, periodic)
    else:
        a2 = d2
    key2, to_centre = ball_cover(a2, periodic)
    key2 = np.where(pore, key2, 0)

    trapped = np.zeros(shape, dtype=bool)
    if trapping:
        outlet_mask = face_layers(shape, _faces(outlet, dim, inlet_faces)) & pore
        for n in np.unique(key2[key2 > 0]):
            connected = reached(pore & (key2 <= n), outlet_mask, periodic)
            trapped |= (key2 == n) & ~connected
        key2 = np.where(trapped, 0, key2)

    reservoir2 = _reservoir_distance2(shape, inlet_faces) if inlet_faces else None
    flat_key, flat_d2 = key2.ravel(), d2.ravel()
    drain, drain_level = [], []
    for n in np.unique(key2[key2 > 0])[::-1]:
        cls = np.flatnonzero(flat_key == n)
        if inlet_faces:  # nearest to the gas already in, or to the reservoir beyond the inlet
            dist2 = _class_distance(cls, pore & (key2 > n), reservoir2, periodic)
        else:  # nearest to the centre of the ball that brings the gas in
            dist2 = to_centre.ravel()[cls]
        cls = cls[np.lexsort((cls, -flat_d2[cls], dist2))]
        drain.append(cls)
        drain_level.append(np.full(cls.size, float(n)))
    never = np.flatnonzero(pore.ravel() & (flat_key == 0))
    drained = np.concatenate(drain) if drain else np.empty(0, np.int64)
    levels = np.concatenate(drain_level) if drain_level else np.empty(0)
    fill = np.concatenate([never, drained[::-1]]).astype(np.int64)
    level2 = np.concatenate([np.zeros(never.size), levels[::-1]])
    info = {"trapped_voxels": int(trapped.sum()), "unreached_voxels": int(never.size - trapped.sum()),
            "classes": int(len(drain))}
    return Sequence(shape, pore, fill, level2, "drainage", periodic, info=info)


def imbibition(pore: np.ndarray, inlet="none", trapping: bool = False, outlet="opposite",
               periodic: bool = False) -> Sequence:
    """Full-morphology imbibition of ``pore`` (see the module docstring)."""
    pore, inlet_faces, d2 = _start(pore, inlet, periodic)
    dim, shape = pore.ndim, pore.shape
    key2 = np.where(pore, ball_cover(d2, periodic)[0], 0)  # opening size: water fills below it
    if inlet_faces:
        level = minimax_levels(key2, pore, face_layers(shape, inlet_faces) & pore, periodic)
    else:
        level = np.where(pore, key2, -1)

    trapped = np.zeros(shape, dtype=bool)
    if trapping:
        outlet_mask = face_layers(shape, _faces(outlet, dim, inlet_faces)) & pore
        unfilled = pore & (level < 0)
        for n in np.unique(level[level >= 0]):
            air = (pore & (level >= n)) | unfilled
            connected = reached(air, outlet_mask, periodic)
            trapped |= (level == n) & ~connected
        level = np.where(trapped, -1, level)

    reservoir2 = _reservoir_distance2(shape, inlet_faces) if inlet_faces else None
    flat_level, flat_d2 = level.ravel(), d2.ravel()
    fill, fill_level = [], []
    for n in np.unique(level[level >= 0]):
        cls = np.flatnonzero(flat_level == n)
        if inlet_faces:  # nearest to the water already in, or to the reservoir beyond the inlet
            dist2 = _class_distance(cls, pore & (level >= 0) & (level < n), reservoir2, periodic)
        else:  # water spreads from the solid walls
            dist2 = flat_d2[cls]
        cls = cls[np.lexsort((cls, flat_d2[cls], dist2))]
        fill.append(cls)
        fill_level.append(np.full(cls.size, float(n)))
    never = np.flatnonzero(pore.ravel() & (flat_level < 0))
    order = np.concatenate(fill + [never]).astype(np.int64)
    level2 = np.concatenate(fill_level + [np.full(never.size, np.inf)])
    info = {"trapped_voxels": int(trapped.sum()), "unreached_voxels": int(never.size - trapped.sum()),
            "classes": int(len(fill))}
    return Sequence(shape, pore, order, level2, "imbibition", periodic, info=info)
