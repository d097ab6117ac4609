"""Geometries with known answers for the liquid configuration: straight tubes, an ink
bottle, two spheres joined by a pendular ring (closed forms in :func:`pendular_ring`), a
periodic chain of spheres, and a random sphere pack. Labels: solid 0, pore 1 (air)."""

from __future__ import annotations

import numpy as np
from scipy import integrate

__all__ = ["ink_bottle", "pendular_ring", "sphere_chain", "sphere_pack", "tube_bundle", "two_spheres"]

SOLID, PORE = 0, 1


def tube_bundle(radii, length: int = 12, wall: int = 3) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Straight cylindrical tubes along the last axis (z), side by side along x in solid.

    A voxel is pore when its centre lies within radius r (in voxels) of its tube's axis.
    Returns the label image and each tube's axis position (x, y) in voxel-centre units.
    """
    radii = [float(r) for r in radii]
    width = int(2 * np.ceil(max(radii))) + 2 * wall + 1
    xs, x = [], wall
    for r in radii:
        span = int(2 * np.ceil(r)) + 1
        xs.append(x + span / 2.0)
        x += span + wall
    shape = (x, width, length)
    cx, cy = np.meshgrid(np.arange(shape[0]) + 0.5, np.arange(shape[1]) + 0.5, indexing="ij")
    pore = np.zeros(shape[:2], dtype=bool)
    axes = []
    for r, xc in zip(radii, xs, strict=True):
        pore |= (cx - xc) ** 2 + (cy - width / 2.0) ** 2 < r * r
        axes.append((int(np.floor(xc)), int(np.floor(width / 2.0))))
    image = np.where(np.repeat(pore[:, :, None], length, axis=2), PORE, SOLID).astype(np.uint8)
    return image, axes


def ink_bottle(throat: int = 2, body: int = 6, pocket_neck: int | None = None, length: int = 30) -> np.ndarray:
    """A square channel along z (half-width ``throat`` + 1/2 voxels, i.e. 2·throat+1 wide)
    that widens into a body (half-width ``body`` + 1/2) in its middle third: an ink bottle.
    With ``pocket_neck``, the body is a side pocket of a straight channel instead, joined
    to it by a neck of that half-width (a dead end that traps water)."""
    w = 2 * body + 1
    nx = w + 6 if pocket_neck is None else 2 * throat + 1 + w + 10
    shape = (nx, w + 6, length)
    image = np.full(shape, SOLID, dtype=np.uint8)
    cy = shape[1] // 2
    if pocket_neck is None:
        cx = shape[0] // 2
        image[cx - throat:cx + throat + 1, cy - throat:cy + throat + 1, :] = PORE
        image[cx - body:cx + body + 1, cy - body:cy + body + 1, length // 3:2 * length // 3] = PORE
    else:
        cx = 3 + throat  # the channel, along z
        image[cx - throat:cx + throat + 1, cy - throat:cy + throat + 1, :] = PORE
        bx = cx + throat + 4 + body  # the pocket beside it, joined by a neck along x
        z0, z1 = length // 3, 2 * length // 3
        image[bx - body:bx + body + 1, cy - body:cy + body + 1, z0:z1] = PORE
        zc = (z0 + z1) // 2
        image[cx:bx, cy - pocket_neck:cy + pocket_neck + 1, zc - pocket_neck:zc + pocket_neck + 1] = PORE
    return image


def two_spheres(radius: float, gap: float, margin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two equal spheres on the z axis, surfaces ``gap`` voxels apart, centred in a box with
    ``margin`` voxels around them. Returns (labels, cylindrical radius ρ, z) of the voxel
    centres, the origin at the middle of the gap."""
    half = radius + gap / 2.0
    nz = int(np.ceil(2 * (half + radius))) + 2 * margin
    nxy = int(np.ceil(2 * radius)) + 2 * margin
    x = np.arange(nxy) + 0.5 - nxy / 2.0
    z = np.arange(nz) + 0.5 - nz / 2.0
    X, Y, Z = np.meshgrid(x, x, z, indexing="ij")
    rho2 = X**2 + Y**2
    solid = (rho2 + (Z - half) ** 2 < radius**2) | (rho2 + (Z + half) ** 2 < radius**2)
    return np.where(solid, SOLID, PORE).astype(np.uint8), np.sqrt(rho2), Z


def pendular_ring(radius: float, gap: float, meniscus: float) -> dict:
    """The toroidal (circle) approximation of the liquid bridge between two equal spheres of
    ``radius`` whose surfaces are ``gap`` apart, with a meridian circle of radius
    ``meniscus`` meeting the spheres tangentially (contact angle 0): the surface swept by a
    ball of that radius rolling around the axis while touching both spheres.

    Returns the volume and the surface area (liquid–air plus wetted caps) of the liquid,
    the neck radius (negative: the bridge has broken), the height z_c and radius ρ_c of the
    contact circles, and the Laplace capillary pressure per surface tension of the toroid,
    1/meniscus − 1/neck (the morphological model's is 2/meniscus).
    """
    a, R = float(radius), float(meniscus)
    half = a + gap / 2.0
    rho_c = np.sqrt((a + R) ** 2 - half**2)  # ball centres: a circle in the mid-plane
    neck = rho_c - R
    z_c = half * R / (a + R)  # where the ball touches a sphere
    r_c = a * rho_c / (a + R)

    def section(z):
        liquid = rho_c - np.sqrt(R * R - z * z)
        sphere = max(0.0, a * a - (abs(z) - half) ** 2)
        return np.pi * (liquid * liquid - sphere)

    def interface(z):
        root = np.sqrt(R * R - z * z)
        return 2.0 * np.pi * (rho_c - root) * R / root

    volume = integrate.quad(section, -z_c, z_c, limit=200)[0]
    area = integrate.quad(interface, -z_c, z_c, limit=200)[0] + 2 * 2 * np.pi * a * (z_c - gap / 2.0)
    laplace = 1.0 / R - 1.0 / neck if neck > 0 else np.inf
    return {"volume": volume, "area": area, "neck": neck, "z_contact": z_c, "rho_contact": r_c,
            "laplace_over_sigma": laplace, "breaking_meniscus": gap / 2.0 + gap**2 / (8.0 * a)}


def sphere_chain(radius: float, gap: float, width: int) -> np.ndarray:
    """One sphere in a periodic cell of height 2·radius + gap along z: with its periodic
    images, a chain of spheres along z joined by pendular rings across the cell's faces
    (the seed's two-sphere bridge, made a translation cell). ``width``: the cell's x and y."""
    nz = int(round(2 * radius + gap))
    x = np.arange(width) + 0.5 - width / 2.0
    z = np.arange(nz) + 0.5 - nz / 2.0
    X, Y, Z = np.meshgrid(x, x, z, indexing="ij")
    return np.where(X**2 + Y**2 + Z**2 < radius**2, SOLID, PORE).astype(np.uint8)


def sphere_pack(shape: tuple[int, ...], porosity: float, radius: tuple[float, float] = (4.0, 7.0),
                seed: int = 0) -> np.ndarray:
    """A periodic random pack of (overlapping) spheres / discs with the given porosity met to
    one voxel: random centres and radii until the grains' volume reaches the solid volume,
    then the solid is the voxels nearest to a grain (in units of its radius; voxels farther
    than 1.5 radii from every grain are pore whatever the porosity asks)."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in shape)
    dim, size = len(shape), float(np.prod(shape))
    unit = np.pi if dim == 2 else 4.0 * np.pi / 3.0
    target = (1.0 - porosity) * size
    centres, radii = [], []
    while unit * np.sum(np.asarray(radii) ** dim) < 1.3 * target:  # overlaps take some volume
        centres.append(rng.uniform(0, shape))
        radii.append(rng.uniform(*radius))
    best = np.full(shape, np.inf)
    for c, r in zip(centres, radii, strict=True):
        # each grain only in its bounding box, wrapped around the periodic faces
        reach = int(np.ceil(1.5 * r))
        index = [np.arange(int(np.floor(ci)) - reach, int(np.floor(ci)) + reach + 1) for ci in c]
        delta = np.meshgrid(*[idx + 0.5 - ci for idx, ci in zip(index, c, strict=True)], indexing="ij")
        dist = np.sqrt(sum(d * d for d in delta)) / r
        box = np.ix_(*[idx % n for idx, n in zip(index, shape, strict=True)])
        best[box] = np.minimum(best[box], dist)
    order = np.argsort(best, axis=None, kind="stable")
    labels = np.full(int(size), PORE, dtype=np.uint8)
    labels[order[: int(round(target))]] = SOLID
    return labels.reshape(shape)
