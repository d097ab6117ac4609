"""``rhizofem rhizosphere``: a sand around a root, with the mucilage a rhizodeposition run puts
there, at a chosen water content — the image whose D_eff(r) the homogenization computes.

The seed's case (Schnepf et al. 2022, case studies 1 → 4 → 2): mucilage released at a root tip
spreads into the soil and its content falls with distance from the root surface; where there is
mucilage the liquid phase is more connected when the soil dries, so the rhizosphere's effective
diffusivity depends on the distance from the root. The image is built in four steps:

1. **Sand**: a periodic random pack of spheres with the given porosity
   (:func:`rhizofem.imaging.liquid.samples.sphere_pack`), voxel labels solid 0 and pore;
2. **Root**: a cylinder of ``[root] radius_um`` along z through the centre of the image, label 4;
3. **Mucilage per distance**: m(d) in mg of dry mucilage per g of dry soil, read from a
   ``rhizofem rhizodeposition`` run's probes along a root's surface (``results.probes.root``:
   the content θ R c / ρ_b at distances d from the surface, at one position and day), or given as
   m(d) = surface_mg_g · exp(−d / decay_um). In each layer one voxel thick at distance d from
   the root surface, mucilage solution of the polymer concentration ``initial_mg_cm3`` takes the
   volume m(d) ρ_s V_solid / c0 (V_solid the solid of that layer), in the pore voxels closest to
   the grains (the particle contacts, where mucilage sits in a saturated soil);
4. **Water content**: the saturated image is drained to θ (liquid per soil volume, the root
   left out) by :mod:`rhizofem.imaging.liquid` with ``mucilage_placement = "label"``: water and
   mucilage drain by pore size, the polymer stays and concentrates, gels at ``gel_mg_cm3`` and
   then thins without breaking (docs/liquid.md).

The run writes ``rhizosphere.npy`` (solid 0, air 1, water 2, mucilage 3, root 4),
``rhizosphere.png`` (a section across the root) and ``homogenize.toml``, the configuration that
homogenizes the image in shells (``rhizofem homogenize homogenize.toml --out DIR``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

from rhizofem.config import param, section
from rhizofem.errors import ConfigError, InputError
from rhizofem.output import RunOutput
from rhizofem.parallel import on_root, rank0_print

from .upstream import Upstream

__all__ = ["CONFIG_TITLE", "Config", "build", "mucilage_profile", "run"]

CONFIG_TITLE = """rhizofem rhizosphere: a sand around a root with mucilage decaying with distance from the root surface,
drained to a water content: the image for D_eff(r) (rhizofem homogenize with [shells]).
Run: rhizofem rhizosphere CONFIG.toml --out DIR   (the image work runs on one rank)"""

SOLID, AIR, WATER, MUCILAGE, ROOT = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Sand:
    shape: tuple[int, int, int] = param((60, 60, 24), "voxels along x, y, z (the root runs along z)", ge=8)
    voxel_size_um: float = param(20.0, "edge of a cubic voxel (µm)", gt=0)
    porosity: float = param(0.41, "porosity of the sand (seed's sand: 0.41)", gt=0, lt=1)
    grain_radius_voxels: tuple[float, float] = param((3.0, 5.0), "smallest and largest grain radius (voxels)", gt=0)
    seed: int = param(1, "seed of the random grain positions", ge=0)


@dataclass(frozen=True)
class Root:
    radius_um: float = param(100.0, "radius of the root cylinder through the image's centre (µm)", gt=0)


@dataclass(frozen=True)
class Mucilage:
    profile_from: Path | None = param(
        None, "summary.json of a `rhizofem rhizodeposition` run with [probes] along a root: its mucilage content "
              "per distance from the root surface (results.probes.root); unset: the exponential below",
        must_exist=False, example="../rhizodeposition/summary.json")
    position_cm: float | None = param(None, "probe position along the root (cm, one of the run's positions_cm); "
                                            "unset: the first", ge=0, example=2.0)
    day_d: float | None = param(None, "probe time (d, one of the run's probe times); unset: the last", ge=0,
                                example=7.0)
    surface_mg_g: float = param(0.0, "without profile_from: mucilage at the root surface (mg dry mucilage per g "
                                     "dry soil)", ge=0)
    decay_um: float = param(200.0, "without profile_from: decay length of m(d) = surface_mg_g · exp(−d/decay_um) "
                                   "(µm)", gt=0)
    initial_mg_cm3: float = param(10.0, "polymer concentration of the mucilage solution in the saturated soil "
                                        "(mg per cm³ of solution; a choice)", gt=0)
    solid_density_g_cm3: float = param(2.65, "particle density of the sand (g/cm³, quartz)", gt=0)


@dataclass(frozen=True)
class Liquid:
    water_content: float = param(0.25, "volumetric liquid content θ (water + mucilage per soil volume, the root "
                                        "left out), met to one voxel", gt=0, lt=1)
    gel_mg_cm3: float = param(50.0, "polymer concentration at which mucilage gels and stops draining (mg/cm³; a "
                                    "choice, docs/liquid.md)", gt=0)


@dataclass(frozen=True)
class ShellsOut:
    width_um: float = param(60.0, "shell width written into homogenize.toml (µm)", gt=0)
    count: int = param(4, "number of shells written into homogenize.toml", ge=1)
    tangential_um: float | None = param(None, "sub-volume width across the radius (µm); unset: 4 × width_um", gt=0,
                                        example=200.0)
    mucilage_diffusivity: float = param(0.5, "diffusivity of mucilage relative to free water in homogenize.toml "
                                             "(seed: 0.5)", gt=0, le=1)


@dataclass(frozen=True)
class Config:
    sand: Sand = section(Sand, "the sand: a random sphere pack")
    root: Root = section(Root, "the root: a cylinder along z through the centre")
    mucilage: Mucilage = section(Mucilage, "mucilage content per distance from the root surface")
    liquid: Liquid = section(Liquid, "the water content the saturated image is drained to")
    shells: ShellsOut = section(ShellsOut, "the shells of the homogenize.toml written beside the image")

    def __post_init__(self):
        half = 0.5 * min(self.sand.shape[:2]) * self.sand.voxel_size_um
        if self.root.radius_um >= half:
            raise ConfigError(f"[root] radius_um = {self.root.radius_um} does not fit the {half:g}-µm half-width of "
                              "the image. Fix: a smaller root or a larger [sand] shape.")


def mucilage_profile(cfg: Mucilage) -> tuple[np.ndarray, np.ndarray, Upstream | None]:
    """(distances µm, mucilage mg/g) of the configured profile, and its upstream run."""
    if cfg.profile_from is None:
        d = np.linspace(0.0, 10.0 * cfg.decay_um, 201)
        return d, cfg.surface_mg_g * np.exp(-d / cfg.decay_um), None
    up = Upstream(cfg.profile_from, command="rhizodeposition", role="rhizodeposition run with probes along a root")
    root = up.get("results.probes.root")
    for key in ("positions_cm", "distances_um", "content_mg_g"):
        up.get(f"results.probes.root.{key}")
    times = np.asarray(up.get("results.probes.times_d"), float)
    positions = np.asarray(root["positions_cm"], float)
    distances = np.asarray(root["distances_um"], float)
    content = np.asarray(root["content_mg_g"], float)
    if content.shape != (len(times), len(positions), len(distances)):
        raise InputError(f"{up.path}: results.probes.root.content_mg_g has shape {content.shape}, not "
                         f"(times, positions, distances) = {(len(times), len(positions), len(distances))}.")
    i = _pick(times, cfg.day_d, len(times) - 1, up, "results.probes.times_d", "[mucilage] day_d")
    j = _pick(positions, cfg.position_cm, 0, up, "results.probes.root.positions_cm", "[mucilage] position_cm")
    order = np.argsort(distances)
    d, m = distances[order], content[i, j, order]
    up.take("day_d", float(times[i]))
    up.take("position_cm", float(positions[j]))
    up.take("root", root.get("root"))
    up.take("distance_um", d.tolist())
    up.take("mucilage_mg_g", m.tolist())
    return d, m, up


def _pick(values: np.ndarray, want: float | None, default: int, up: Upstream, key: str, ours: str) -> int:
    if want is None:
        return default
    hit = np.flatnonzero(np.abs(values - want) <= 1e-9 * max(1.0, abs(want)))
    if not hit.size:
        raise InputError(f"{up.path}: '{key}' holds {values.tolist()}; {ours} = {want} is not among them. Fix: one "
                         "of those values.")
    return int(hit[0])


def build(cfg: Config, d_um: np.ndarray, m_mg_g: np.ndarray) -> tuple[np.ndarray, dict]:
    """The image at the configured water content and what it holds (serial)."""
    import edt

    from rhizofem.imaging.liquid import LiquidStage, build_sequence, configuration
    from rhizofem.imaging.liquid.samples import sphere_pack

    s = cfg.sand
    h = s.voxel_size_um
    pack = sphere_pack(s.shape, s.porosity, tuple(s.grain_radius_voxels), seed=s.seed)
    labels = np.where(pack == 0, SOLID, WATER).astype(np.uint8)
    x = (np.arange(s.shape[0]) + 0.5) * h
    y = (np.arange(s.shape[1]) + 0.5) * h
    r_axis = np.hypot(x[:, None] - 0.5 * s.shape[0] * h, y[None, :] - 0.5 * s.shape[1] * h)
    labels[r_axis < cfg.root.radius_um] = ROOT
    # distance of every voxel centre from the root surface (µm): the nearest root voxel centre's
    # distance less half a voxel (the root surface lies half a voxel beyond those centres)
    to_root = edt.edt(labels != ROOT, anisotropy=(h, h, h)) - 0.5 * h
    pore = labels == WATER
    to_solid = edt.edt(labels != SOLID, anisotropy=(h, h, h))     # in the pores: distance to the grains
    layer = np.floor(np.maximum(to_root, 0.0) / h).astype(np.int64)
    layer[labels == ROOT] = -1
    mucilage = np.zeros_like(pore)
    voxel_cm3 = (h * 1e-4) ** 3
    c0 = cfg.mucilage.initial_mg_cm3
    rho_s = cfg.mucilage.solid_density_g_cm3
    wanted_total = placed_total = 0.0
    for k in range(int(layer.max()) + 1):
        in_layer = layer == k
        d_mid = (k + 0.5) * h
        m = float(np.interp(d_mid, d_um, m_mg_g))   # the end values beyond the table
        n_solid = int(np.count_nonzero(in_layer & (labels == SOLID)))
        want = m * rho_s * n_solid * voxel_cm3 / c0 / voxel_cm3    # voxels of solution
        candidates = np.flatnonzero(in_layer & pore)
        n = min(int(round(want)), candidates.size)
        wanted_total += want
        placed_total += n
        if n:
            closest = candidates[np.argsort(to_solid.ravel()[candidates], kind="stable")[:n]]
            mucilage.ravel()[closest] = True
    labels[mucilage] = MUCILAGE
    n_root = int(np.count_nonzero(labels == ROOT))
    n_soil = labels.size - n_root
    n_solid = int(np.count_nonzero(labels == SOLID))
    polymer_mg = c0 * int(mucilage.sum()) * voxel_cm3
    target = cfg.liquid.water_content * n_soil / labels.size     # liquid per total image volume
    # the liquid stage counts every non-pore voxel as solid in its mg/g: the root too
    mg_g = polymer_mg / (rho_s * (n_solid + n_root) * voxel_cm3) if polymer_mg > 0 else 0.0
    stage = LiquidStage(water_content=(target,), mucilage_mg_g=mg_g, mucilage_placement="label",
                        gel_mg_cm3=cfg.liquid.gel_mg_cm3, solid_density_g_cm3=rho_s)
    seq = build_sequence(labels, stage, (AIR, WATER, MUCILAGE), h * 1e-6, "rhizosphere image")
    conf = configuration(seq, target, labels, stage, h * 1e-6)
    image = conf.labels
    bins = np.arange(0, int(layer.max()) + 1)
    per_layer = {"distance_um": ((bins + 0.5) * h).tolist(),
                 "mucilage_mg_g_wanted": [float(np.interp((k + 0.5) * h, d_um, m_mg_g)) for k in bins],
                 "liquid_fraction": [], "mucilage_fraction": []}
    for k in bins:
        sel = layer == k
        per_layer["liquid_fraction"].append(float(np.isin(image[sel], (WATER, MUCILAGE)).mean()))
        per_layer["mucilage_fraction"].append(float((image[sel] == MUCILAGE).mean()))
    info = {"porosity": float(np.count_nonzero(labels != SOLID) - n_root) / n_soil,
            "water_content": float(np.count_nonzero(np.isin(image, (WATER, MUCILAGE)))) / n_soil,
            "water_content_target": cfg.liquid.water_content,
            "stage": conf.stage, "capillary_pressure_Pa": conf.capillary_pressure_Pa,
            "mucilage_concentration_mg_cm3": conf.mucilage_concentration_mg_cm3,
            "polymer_mg": polymer_mg, "mucilage_mg_g_mean": polymer_mg / (rho_s * n_solid * voxel_cm3) if n_solid else 0.0,
            "mucilage_voxels_saturated": int(mucilage.sum()),
            "mucilage_solution_voxels_wanted": wanted_total, "mucilage_solution_voxels_placed": placed_total,
            "root_radius_um": cfg.root.radius_um, "root_voxels": n_root, "shape": list(image.shape),
            "voxel_size_um": h, "layers": per_layer,
            "labels": {"solid": SOLID, "air": AIR, "water": WATER, "mucilage": MUCILAGE, "root": ROOT}}
    return image, info


def homogenize_toml(cfg: Config, image_name: str) -> str:
    sh = cfg.shells
    tangential = f"tangential_um = {sh.tangential_um!r}\n" if sh.tangential_um is not None else ""
    return f"""# D_eff in shells around the root of {image_name} (written by rhizofem rhizosphere):
#     rhizofem homogenize homogenize.toml --out DIR
[image]
path = "{image_name}"
voxel_size_um = {cfg.sand.voxel_size_um!r}

[phases]
diffusivity = {{ "0" = 0.0, "1" = 0.0, "2" = 1.0, "3" = {sh.mucilage_diffusivity!r}, "4" = 0.0 }}
names = {{ "0" = "solid", "1" = "air", "2" = "water", "3" = "mucilage", "4" = "root" }}
solid = ["0"]
reference_label = "2"

[shells]
width_um = {sh.width_um!r}
count = {sh.count}
root_label = "4"
{tangential}
[output]
fields = false
"""


def run(config: Config | None = None, out_dir=None, comm: MPI.Comm = MPI.COMM_WORLD) -> dict:
    """Build the image on rank 0; write rhizosphere.npy, rhizosphere.png, homogenize.toml."""
    config = config if config is not None else Config()
    t0 = time.perf_counter()
    with RunOutput(out_dir, comm, command="rhizosphere", config=config) as out:
        d_um, m_mg_g, up = mucilage_profile(config.mucilage)
        image, info = on_root(comm, build, config, d_um, m_mg_g, bcast=False) or (None, None)
        info = comm.bcast(info, root=0)
        if out.enabled and comm.rank == 0:
            np.save(out.path("rhizosphere.npy"), image)
            out.path("homogenize.toml").write_text(homogenize_toml(config, "rhizosphere.npy"), encoding="utf-8")
            _picture(out.path("rhizosphere.png"), image, info)
        out.summary(results={**info, "mucilage_profile": {"distance_um": d_um, "mucilage_mg_g": m_mg_g}},
                    inputs={} if up is None else {"mucilage_profile": up.record()},
                    timings_s={"total": time.perf_counter() - t0})
    lines = [f"rhizofem rhizosphere: {'×'.join(map(str, info['shape']))} voxels of {info['voxel_size_um']:g} µm, "
             f"root radius {info['root_radius_um']:g} µm, φ = {info['porosity']:.3f}, θ = {info['water_content']:.4f} "
             f"({info['stage']}); mucilage {info['mucilage_mg_g_mean']:.3g} mg/g on average"
             + (f", {info['mucilage_concentration_mg_cm3']:.3g} mg/cm³" if info['mucilage_concentration_mg_cm3'] else "")]
    if out.enabled:
        lines.append(f"  → {out.final_path('')}: rhizosphere.npy, rhizosphere.png, homogenize.toml, summary.json")
    rank0_print(comm, "\n".join(lines))
    return info


def _picture(path, image: np.ndarray, info: dict) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from rhizofem.output.plots import pyplot, save_figure

    plt = pyplot()
    colours = ["#8c6d46", "#ffffff", "#4f8fd6", "#2ca25f", "#c0392b"]
    names = ["solid", "air", "water", "mucilage", "root"]
    h = info["voxel_size_um"]
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    section = image[:, :, image.shape[2] // 2]
    ax.imshow(section.T, origin="lower", cmap=ListedColormap(colours), norm=BoundaryNorm(np.arange(6) - 0.5, 5),
              extent=(0, section.shape[0] * h, 0, section.shape[1] * h), interpolation="nearest")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.legend(handles=[Patch(color=c, label=n) for c, n in zip(colours, names, strict=True)], fontsize=8,
              loc="upper right", framealpha=0.9)
    save_figure(fig, path, caption=f"section at mid-length across the root; φ = {info['porosity']:.3f}, θ = "
                                   f"{info['water_content']:.3f}, mucilage {info['mucilage_mg_g_mean']:.3g} mg/g "
                                   f"on average ({info['stage']})")
