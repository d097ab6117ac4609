"""How accurate is the released mass for a given voxel size and element? Two cases with exact answers.

    python benchmarks/bench_exudation_convergence.py            # the full table (~10 min on one core)
    python benchmarks/bench_exudation_convergence.py --quick    # 20 and 10 µm only

1. **Voxelised cylinder** (a root of radius a = 300 µm, its whole surface the inlet, held at
   c_in in an unbounded soil, t = 1 h, seed's D and c_in). Carslaw & Jaeger (1959, §13.5) give
   the amount taken up per unit length,

       Q(t) = (8 c_in / π) ∫_0^∞ (1 − exp(−D u² t)) / (u³ [J0(ua)² + Y0(ua)²]) du,

   1.00592 µg/mm at 1 h (evaluated below by quadrature, with the u → 0 tail in closed form).
   The image is a quarter of the root's cross-section (the two cut planes are mirror planes,
   i.e. no-flux), 8 voxels thick (no-flux top and bottom: the problem does not depend on z),
   in a square of soil 2.1 mm wide (5.6 √(DT) beyond the root surface). Its error is that of
   the voxel staircase plus the mesh at the inlet.
2. **Inlet edge** (soil above a plane, left half inlet, right half no-flux wall; 30 s): exact
   M = c_in (2 A √(Dt/π) + l D t / 2) (the l D t / 2 term is the edge's, by self-similarity).
   Its error is the rim leak of a nodal Dirichlet inlet, first order in the element size.

Printed: voxel (or element) size, element, DOFs, relative mass error, the observed order, and
the CPU time of the solve. Time steps are adaptive with time_rtol = 1e-4 (a time error ten
times below the smallest space error here).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import integrate, special

import rhizofem  # noqa: F401
from mpi4py import MPI

from rhizofem.meshing.soil import measure_tags, soil_mesh_from_image
from rhizofem.models.exudation.diffusion import (AdaptiveSteps, assemble_operators, diffusivity_by_cell,
                                                 inlet_facets, simulate)

D = 2.88e-7 * 100.0  # mm²/s
C_IN = 1037.52e-3  # µg/mm³
LU = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def cylinder_uptake_exact(a_mm: float, t_s: float) -> float:
    """Carslaw & Jaeger's Q(t) per unit length (µg/mm) for a cylinder of radius a held at c_in."""
    def integrand(s):  # u = e^s
        u = math.exp(s)
        return -math.expm1(-D * u * u * t_s) / (u * u * (special.j0(u * a_mm) ** 2 + special.y0(u * a_mm) ** 2))

    s0 = -30.0
    body, _ = integrate.quad(integrand, s0, 16.0, limit=1000)
    # below s0: 1 - exp(-D u² t) = D u² t and J0 = 1, Y0 = (2/π)(ln(ua/2) + γ): an arctan in closed form
    x0 = (2 / math.pi) * (s0 + math.log(a_mm / 2) + np.euler_gamma)
    tail = D * t_s * (math.pi / 2) * (math.atan(x0) + math.pi / 2)
    return 8 * C_IN / math.pi * (body + tail)


def cylinder_image(h_um: float, a_um: float = 300.0, width_um: float = 2100.0, layers: int = 8) -> np.ndarray:
    """A quarter root (label 3) at the corner of a square of soil (1), ``layers`` voxels thick."""
    n = int(round(width_um / h_um))
    centres = (np.arange(n) + 0.5) * h_um
    r = np.hypot(centres[:, None], centres[None, :])
    image = np.where(r < a_um, 3, 1).astype(np.uint8)
    return np.repeat(image[:, :, None], layers, axis=2)


def edge_image(h_um: float, half_um: float = 150.0, depth_um: float = 150.0) -> np.ndarray:
    """Soil above a plane whose left half (x < 150 µm) is root, right half air: one straight edge."""
    nx, nz = int(round(2 * half_um / h_um)), int(round(depth_um / h_um))
    image = np.ones((nx, 2, nz + 1), dtype=np.uint8)
    image[:, :, 0] = 2
    image[: nx // 2, :, 0] = 3
    return image


def solve(image, h_um, degree, subdivide, t_end, dt_first, rtol=1e-4, **mesh):
    comm = MPI.COMM_SELF
    t0 = time.process_time()
    tm = soil_mesh_from_image(image, h_um, None, comm, inlet_subdivide=subdivide, **mesh)
    ops = assemble_operators(tm, degree, diffusivity_by_cell(tm, D, {}), inlet_facets(tm, ["root"]), C_IN)
    _, hist = simulate(ops, AdaptiveSteps(t_end, rtol=rtol, dt_first=dt_first), c_in=C_IN, petsc_options=LU)
    out = {"mass": hist.mass_ug[-1], "dofs": ops.dofs, "steps": len(hist.steps), "cpu_s": time.process_time() - t0,
           "area": measure_tags(tm)["root_contact"]}
    ops.destroy()
    return out


def table(rows, title):
    print(f"\n{title}\n")
    print("| voxel (µm) | element | inlet_subdivide | DOFs | steps | mass error | order | CPU (s) |")
    print("|---|---|---|---|---|---|---|---|")
    last = {}
    for r in rows:
        key = (r["degree"], r["subdivide"])
        order = ""
        if key in last:
            h0, e0 = last[key]
            order = f"{math.log(abs(e0) / abs(r['error'])) / math.log(h0 / r['h']):.2f}"
        last[key] = (r["h"], r["error"])
        print(f"| {r['h']:g} | P{r['degree']} | {r['subdivide']} | {r['dofs']} | {r['steps']} | "
              f"{100 * r['error']:+.2f} % | {order} | {r['cpu_s']:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the two coarser voxel sizes only")
    args = parser.parse_args()
    sizes = (20.0, 10.0) if args.quick else (20.0, 10.0, 5.0)
    variants = ((1, 0), (1, 1), (2, 0))

    exact = cylinder_uptake_exact(0.3, 3600.0)
    print(f"cylinder a = 300 µm, 1 h: Carslaw & Jaeger {exact:.5f} µg per mm of root")
    rows = []
    for h in sizes:
        image = cylinder_image(h)
        length = image.shape[2] * h * 1e-3
        for degree, subdivide in variants:
            r = solve(image, h, degree, subdivide, 3600.0, 0.05)
            rows.append({"h": h, "degree": degree, "subdivide": subdivide, **r,
                         "error": 4 * r["mass"] / length / exact - 1})
    table(rows, "voxelised cylinder (whole surface inlet, no rim), mass per mm of root after 1 h")

    rows = []
    for h in tuple(s / 2 for s in sizes):
        image = edge_image(h)
        area, length = None, image.shape[1] * h * 1e-3
        for degree, subdivide in variants:
            r = solve(image, h, degree, subdivide, 30.0, 0.002)
            exact_edge = C_IN * (2 * r["area"] * math.sqrt(D * 30.0 / math.pi) + length * D * 30.0 / 2)
            rows.append({"h": h, "degree": degree, "subdivide": subdivide, **r, "error": r["mass"] / exact_edge - 1})
    table(rows, "inlet edge (flat inlet next to a coplanar no-flux wall), mass after 30 s")


if __name__ == "__main__":
    main()
