"""Image → tagged soil mesh: time, peak memory and cells per second for 100³ and 200³ voxels.

    python benchmarks/bench_meshing.py            # both sizes, both routes (a few minutes)
    python benchmarks/bench_meshing.py --sizes 100
    python benchmarks/bench_meshing.py --default-sample   # the default sample under each [mesh] option

Samples: the same 0.9 mm cube of root, hairs and aggregates (rhizofem's generator) in 100³
voxels of 9 µm and in 200³ voxels of 4.5 µm. Each case runs in a fresh Python process, so
that its peak resident memory (ru_maxrss) is its own; the memory of the bare interpreter
with rhizofem imported is given apart.

Routes:
- graded: rhizofem's default (:mod:`rhizofem.meshing.graded`), voxel-fine at the inlet and
  at bends of the soil surface, coarse inside aggregates;
- voxel: 6 Kuhn tetrahedra per soil voxel (:mod:`rhizofem.meshing.voxel`).
Both are exact (volume and tagged areas of the image). "mesh" is image → tagged simplices,
"write" the Gmsh .msh file, "load" reading it into DOLFINx on one rank.

Limits it is compared with: a plain NumPy pass over the image counting the soil voxels
(the floor for anything that reads the image), and the DESIGN's measured "voxel meshes in
seconds" on 100³.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CASE = textwrap.dedent(r"""
    import json, resource, sys, time
    import numpy as np
    import rhizofem
    from mpi4py import MPI
    from rhizofem.imaging.sample import SampleParams, generate_sample
    n, route, tmp, max_cells = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    h = 900.0 / n
    params = SampleParams(seed=5, size_um=(900.0, 900.0, 900.0), voxel_size_um=h, root_radius_um=150.0,
                          root_axis_um=(450.0, 450.0), root_bump_density_per_mm2=230.0, hair_radius_um=9.0,
                          hair_length_um=(150.0, 350.0), hair_density_per_mm2=40.0,
                          contact_aggregate_radius_um=(20.0, 60.0), aggregate_radius_um=(30.0, 150.0),
                          tube_radius_um=600.0, tube_axis_um=(450.0, 450.0))
    t = time.perf_counter(); image = generate_sample(params); t_gen = time.perf_counter() - t
    t = time.perf_counter(); soil_voxels = int(np.count_nonzero(image == 1)); t_floor = time.perf_counter() - t
    out = {"n": n, "route": route, "voxel_um": h, "generate_s": t_gen, "floor_s": t_floor,
           "soil_voxels": soil_voxels, "base_rss_mb": base_rss / 1024}
    if route == "floor":
        print(json.dumps(out)); sys.exit()
    from rhizofem.meshing.gmsh_io import read_soil_msh, write_soil_msh
    from rhizofem.meshing.soil import MeshOptions, soil_simplices
    t = time.perf_counter()
    s = soil_simplices(image, h, options=MeshOptions(method=route))
    out["mesh_s"] = time.perf_counter() - t
    out["mesh_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["cells"], out["vertices"], out["facets"] = len(s.cells), len(s.points_mm), len(s.facets)
    if out["cells"] > max_cells:  # a file of this size is no use to anyone; spare the memory
        out["write_s"] = out["load_s"] = float("nan")
    else:
        t = time.perf_counter(); write_soil_msh(f"{tmp}/m.msh", s); out["write_s"] = time.perf_counter() - t
        del s
        t = time.perf_counter(); tm = read_soil_msh(f"{tmp}/m.msh", MPI.COMM_SELF); out["load_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
""")


def run_case(n: int, route: str, max_cells: float = 1e7) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", CASE, str(n), route, tmp, str(max_cells)],
                              capture_output=True, text=True,
                              env={"OMP_NUM_THREADS": "1", "RHIZOFEM_PROGRESS": "0",
                                   **{k: v for k, v in __import__("os").environ.items() if k != "OMP_NUM_THREADS"}})
    if done.returncode != 0:
        raise RuntimeError(f"case {n}³ {route} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def default_sample_variants() -> None:
    """The default sample's mesh under each [mesh] option (cells, vertices, split nodes, time)."""
    import time

    import numpy as np

    import rhizofem  # noqa: F401
    from rhizofem.imaging.sample import default_sample, remove_hairs
    from rhizofem.meshing.soil import MeshOptions, soil_simplices

    image, voxel = default_sample()
    soil = int(np.count_nonzero(image == 1))
    variants = [
        ("graded, inlet_subdivide = 0", image, MeshOptions(inlet_subdivide=0)),
        ("graded (default: inlet_subdivide = 1)", image, MeshOptions()),
        ("graded, inlet_subdivide = 2", image, MeshOptions(inlet_subdivide=2)),
        ("graded, hairless", remove_hairs(image), MeshOptions()),
        ("graded, size_slope = 0.25", image, MeshOptions(size_slope=0.25)),
        ("graded, size_slope = 1", image, MeshOptions(size_slope=1.0)),
        ("graded, coarse_surface = false", image, MeshOptions(coarse_surface=False)),
        ("graded, face_connected = false", image, MeshOptions(face_connected=False)),
        ("voxel (6 tetrahedra per soil voxel)", image, MeshOptions(method="voxel")),
    ]
    print(f"default sample: {'x'.join(map(str, image.shape))} voxels of {voxel} µm, {soil} soil voxels")
    print("| mesh | cells | vertices | cells / soil voxel | meshing CPU (s) |")
    print("|---|---|---|---|---|")
    for name, img, options in variants:
        t0 = time.process_time()  # CPU time: meaningful on a shared machine too
        s = soil_simplices(img, voxel, options=options)
        print(f"| {name} | {len(s.cells)} | {len(s.points_mm)} | {len(s.cells) / soil:.2f} | "
              f"{time.process_time() - t0:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-sample", action="store_true",
                        help="instead: the default sample meshed with each [mesh] option")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--routes", nargs="+", default=["graded", "voxel"])
    parser.add_argument("--max-cells", type=float, default=1e7,
                        help="skip writing and loading meshes with more cells than this (memory)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.default_sample:
        default_sample_variants()
        return

    rows = []
    for n in args.sizes:
        floor = run_case(n, "floor")
        print(f"\n{n}³ voxels of {floor['voxel_um']} µm: {floor['soil_voxels']} soil voxels; sample drawn in "
              f"{floor['generate_s']:.1f} s; NumPy soil count (floor) {1e3 * floor['floor_s']:.2f} ms; "
              f"interpreter + rhizofem {floor['base_rss_mb']:.0f} MB", flush=True)
        print(f"  {'route':7s} {'cells':>9s} {'vertices':>9s} {'mesh s':>7s} {'cells/s':>9s} {'× floor':>8s} "
              f"{'write s':>8s} {'load s':>7s} {'mesh MB':>8s} {'peak MB':>8s}", flush=True)
        for route in args.routes:
            r = run_case(n, route, args.max_cells)
            r["cells_per_s"] = r["cells"] / r["mesh_s"]
            r["ratio_to_floor"] = r["mesh_s"] / max(r["floor_s"], 1e-9)
            rows.append(r)
            print(f"  {route:7s} {r['cells']:9d} {r['vertices']:9d} {r['mesh_s']:7.2f} {r['cells_per_s']:9.3g} "
                  f"{r['ratio_to_floor']:8.0f} {r['write_s']:8.2f} {r['load_s']:7.2f} {r['mesh_rss_mb']:8.0f} "
                  f"{r['peak_rss_mb']:8.0f}", flush=True)
    print("\nDESIGN's reference: voxel tets of a 100³ image 'in seconds'; memory is peak resident size "
          "of the process (mesh MB: after meshing; peak MB: after writing and loading into DOLFINx;\n"
          f"nan: not written nor loaded, more than --max-cells {args.max_cells:g} cells).")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
