"""Hand-overs between the models (rhizofem.links): D_eff from homogenization into uptake and
rhizodeposition, a D(r) table in the radial model, root hairs as an equivalent radius or a
release factor, c_in(t) tables in the exudation solver, and provenance under ``inputs``.

Every check compares with an independent number: the unlinked run it must reproduce, a closed
form (steady point source, zero-sink cylinder, series resistance of two layers, Carslaw &
Jaeger's cylinder), linearity (superposition of constant-c_in runs)."""

import hashlib
import json
import math

import numpy as np
import pytest
from exudation_cases import slab_image
from mpi4py import MPI
from rhizofem.config import load
from rhizofem.errors import ConfigError, InputError
from rhizofem.links.cylinder import equivalent_radius, release_per_length
from rhizofem.links.diffusion import RadialProfile
from rhizofem.soil import millington_quirk
from test_uptake_laws import carslaw_jaeger_zero_sink

THETA, PHI = 0.3, 0.5
MQ = millington_quirk(THETA, PHI)          # D_eff/D_0 of the unlinked uptake run
B_P, C0 = 163.0, 5e-3                      # linear buffer power (θ included), initial P (µmol/cm³)
D_P = 8.9e-6                               # P in free solution (cm²/s), the uptake default


def write_json(path, doc):
    path.write_text(json.dumps(doc))
    return path


def tensor_summary(path, relative, theta=THETA):
    """The summary.json of a plain `rhizofem homogenize` run: an isotropic D_eff/D_0 of an image
    at liquid fraction θ."""
    return write_json(path, {"command": "homogenize",
                             "results": {"D_eff_over_reference": (np.eye(3) * relative).tolist(),
                                         "liquid_fraction": theta}})


def profile_summary(path, edges_um, values, theta=THETA):
    """The summary.json of a `rhizofem homogenize` run with [shells]: isotropic layers."""
    return write_json(path, {"command": "homogenize", "results": {"radial_profile": {
        "frame": ["radial", "tangential", "axial"], "inner_um": list(edges_um[:-1]), "outer_um": list(edges_um[1:]),
        "D_eff": [(np.eye(3) * v).tolist() for v in values], "water_content": theta}}})


# ---------------------------------------------------------------------------------------
# uptake: [soil] diffusion = "homogenized" | "radial_profile"
# ---------------------------------------------------------------------------------------

def uptake_config(soil=None, zero_sink=True, **sections):
    """A single segment; by default Barber's linear buffer and a zero sink (closed form), P alone."""
    from rhizofem.models.uptake import Config

    data = {"soil": {"theta": THETA, "porosity": PHI, **(soil or {})},
            "segment": {"r0_cm": 0.02, "r1_cm": 0.4},
            "phosphate": {"isotherm": "linear", "buffer_power": B_P, "initial_umol_cm3": C0, "uptake": "zero_sink"}
            if zero_sink else {},
            "citrate": {"enabled": not zero_sink},
            "time": {"t_end_d": 4.0, "output_interval_d": 1.0, "profile_times_d": []},
            "output": {"plots": False, "compare_without_exudation": False}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return load(Config, data)


def uptake(cfg, out=None):
    from rhizofem.models.uptake import run

    return run(cfg, out_dir=out, comm=MPI.COMM_SELF)


def test_homogenized_D_eff_equal_to_millington_quirk_reproduces_the_uptake_run_exactly(tmp_path):
    # D_l θ f (Millington–Quirk) and D_l · D_eff/D_0 are the same product when D_eff/D_0 = θ^(10/3)/φ²:
    # the same floating-point numbers enter, so the series are equal bit for bit. With citrate
    # (both solutes, Michaelis–Menten, competitive sorption) to cover every diffusion term.
    hom = tensor_summary(tmp_path / "hom.json", MQ)
    base = uptake_config(zero_sink=False)
    linked = uptake_config({"diffusion": "homogenized", "homogenized_summary": str(hom)}, zero_sink=False)
    a, b = uptake(base), uptake(linked, tmp_path / "out")
    assert a.uptake_P_series_umol[-1] > 0 and a.exuded_citrate_series_umol[-1] > 0
    assert np.array_equal(a.uptake_P_series_umol, b.uptake_P_series_umol)
    assert np.array_equal(a.exuded_citrate_series_umol, b.exuded_citrate_series_umol)
    record = json.loads((tmp_path / "out" / "summary.json").read_text())["inputs"]["soil_diffusion"]
    assert record["path"] == str(hom) and record["values"]["D_eff_relative"] == MQ


def test_doubled_D_eff_follows_the_zero_sink_closed_form_with_the_new_De(tmp_path):
    # Zero sink at r0 = 0.02 cm in a medium of D_e = D_l · D_eff/D_0 and buffer power b: the
    # cumulative uptake is Carslaw & Jaeger's cylinder (independent quadrature in
    # test_uptake_laws). The default grid meets it within 0.5 % (the tolerance of the unlinked
    # test there); twice D_eff raises the 4-day uptake by ~1.6× (not 2×: Q grows like √(D t)
    # at first, slower in a cylinder), so a hand-over that lost the factor is off by far more.
    hom2 = tensor_summary(tmp_path / "hom2.json", 2 * MQ)
    res = {"mq": uptake(uptake_config()),
           "2x": uptake(uptake_config({"diffusion": "homogenized", "homogenized_summary": str(hom2)}))}
    for name, De in (("mq", MQ * D_P), ("2x", 2 * MQ * D_P)):
        r = res[name]
        for d in (1.0, 4.0):
            k = int(np.argmin(np.abs(r.times_d - d)))
            exact = carslaw_jaeger_zero_sink(0.02, De, B_P, C0, d * 86400)
            assert r.uptake_P_series_umol[k] == pytest.approx(exact, rel=5e-3), (name, d)
    gain = res["2x"].uptake_P_series_umol[-1] / res["mq"].uptake_P_series_umol[-1]
    print(f"zero sink: 4-day uptake with 2 × D_eff / with Millington–Quirk = {gain:.3f}")
    assert 1.3 < gain < 2.0


def test_D_eff_theta_curve_is_interpolated_linearly_at_water_content(tmp_path):
    # A D_eff(θ) curve (results.curve of a homogenization with [liquid]) read at θ = 0.25
    # between points at 0.2 and 0.3: the linear interpolation, exact to round-off; the values
    # taken are recorded. Outside the curve's range the hand-over is refused (no extrapolation).
    from rhizofem.models.uptake.physics import build_model

    curve = [{"water_content": 0.3, "D_eff": (np.diag([0.09, 0.06, 0.03])).tolist()},
             {"water_content": 0.2, "D_eff": (np.diag([0.03, 0.03, 0.0])).tolist()}]
    path = write_json(tmp_path / "curve.json", {"command": "homogenize", "results": {"curve": curve}})
    soil = {"diffusion": "homogenized", "homogenized_summary": str(path), "water_content": 0.25}
    mean = build_model(uptake_config(soil)).solutes[0].D_eff_cm2_s / D_P
    assert mean == pytest.approx(0.5 * (0.06 + 0.02), rel=1e-13)      # trace/3 at 0.3 and 0.2
    x = build_model(uptake_config({**soil, "direction": "x"})).solutes[0].D_eff_cm2_s / D_P
    assert x == pytest.approx(0.06, rel=1e-13)
    with pytest.raises(InputError, match="0.2–0.3.*0.35"):
        build_model(uptake_config({**soil, "water_content": 0.35}))


def test_constant_D_r_table_equals_the_uniform_run(tmp_path):
    # A radial profile whose layers all hold Millington–Quirk's value is the uniform soil: every
    # cell factor is exactly 1, so the run is the unlinked one bit for bit. A profile whose first
    # layer (D1) reaches beyond r1 is the uniform soil of D1: the same numbers up to the round-off
    # of D_l · D2 · (D1/D2) (1e-12 relative, far below any discretisation effect).
    const = profile_summary(tmp_path / "const.json", [0.0, 200.0, 500.0, 1000.0], [MQ, MQ, MQ])
    base = uptake(uptake_config())
    flat = uptake(uptake_config({"diffusion": "radial_profile", "homogenized_summary": str(const)}))
    assert np.array_equal(base.uptake_P_series_umol, flat.uptake_P_series_umol)
    wide = profile_summary(tmp_path / "wide.json", [0.0, 5000.0, 6000.0], [2 * MQ, 0.5 * MQ])
    hom2 = tensor_summary(tmp_path / "hom2.json", 2 * MQ)
    layered = uptake(uptake_config({"diffusion": "radial_profile", "homogenized_summary": str(wide)}))
    uniform = uptake(uptake_config({"diffusion": "homogenized", "homogenized_summary": str(hom2)}))
    assert np.allclose(layered.uptake_P_series_umol, uniform.uptake_P_series_umol, rtol=1e-10, atol=0)
    assert not np.allclose(layered.uptake_P_series_umol, base.uptake_P_series_umol, rtol=1e-2)


def test_two_layer_D_r_steady_flux_is_the_series_resistance(tmp_path):
    # Steady diffusion in r0 < r < r1 with c(r0) = 0, c(r1) = 1 through two layers (D1 within
    # 300 µm of the root surface, D2 beyond): r D c' is constant and the flux per radian is
    # 1 / (ln(ri/r0)/D1 + ln(r1/ri)/D2), ri = r0 + 300 µm. Solved with the radial model's own
    # stiffness (built from the profile read through [soil] diffusion = "radial_profile", on its
    # default grid, the layer edge inside a cell). P1 with the cells' log-harmonic factors is
    # second order: measured 7.3e-4 on the default grid, 1.2e-4 / 2.9e-5 with 80 / 160 cells;
    # the bulk D alone would be off by 60 %.
    import scipy.sparse.linalg as spla
    from rhizofem.models.uptake.batch import RadialGrid, radial_operators
    from rhizofem.models.uptake.physics import build_model

    D1, D2 = 0.02, 0.08
    two = profile_summary(tmp_path / "two.json", [0.0, 300.0, 600.0], [D1, D2])
    r0, r1, ri = 0.02, 0.4, 0.02 + 0.03
    exact = 1.0 / (math.log(ri / r0) / D1 + math.log(r1 / ri) / D2)
    errors = {}
    for cells in (None, 80, 160):
        cfg = uptake_config({"diffusion": "radial_profile", "homogenized_summary": str(two)},
                            numerics={} if cells is None else {"cells_per_segment": cells, "grading": 20.0})
        model = build_model(cfg)
        assert model.solutes[0].D_eff_cm2_s == pytest.approx(D_P * D2, rel=1e-15)   # the bulk: the last layer
        grid = RadialGrid.from_numerics(cfg.numerics)
        radii = grid.radii(np.array([r0]), np.array([r1]), int(grid.cells_for(np.array([r0]), np.array([r1]))[0]))
        _, _, K = radial_operators(radii, [D2], model.radial_profile)
        K = K.tocsr()
        n = radii.shape[1]
        c, free = np.zeros(n), np.arange(1, n - 1)
        c[-1] = 1.0
        c[free] = spla.spsolve(K[free][:, free].tocsc(), -K[free][:, [n - 1]] @ c[[n - 1]])
        errors[cells] = -(K @ c)[0] / exact - 1.0
    print(f"two layers: steady flux error {errors}")
    assert abs(errors[None]) < 1e-3
    assert abs(errors[80]) / abs(errors[160]) > 3.5   # second order (measured 3.97)


def test_radial_profile_cell_factors_are_the_series_conductance():
    # A cell [1, 3] split by a layer edge at 2 (D = 1 then 4): ln 3 / (ln 2 / 1 + ln 1.5 / 4)
    # times 1/D_bulk; a cell inside one layer gets that layer's value exactly.
    prof = RadialProfile(np.array([0.0, 1.0, 5.0]), np.array([1.0, 4.0]))
    f = prof.cell_factors(np.array([[1.0, 2.0, 3.0, 4.0]]))        # r0 = 1: edge at r = 2
    assert f[0, 0] == 0.25 and f[0, 1] == 1.0 and f[0, 2] == 1.0
    f = prof.cell_factors(np.array([[1.0, 1.5, 3.0]]))
    assert f[0, 1] == pytest.approx(math.log(2.0) / (math.log(2.0 / 1.5) / 1.0 + math.log(1.5) / 4.0) / 4.0,
                                    rel=1e-14)


# ---------------------------------------------------------------------------------------
# rhizodeposition: D = D_liquid · (D_eff/D_0) / θ
# ---------------------------------------------------------------------------------------

D_RD, D_LIQ = 1.04e-3, 3.64e-3   # mucilage in soil water (impedance included) and in free water, cm²/d


def rhizodeposition_config(**sections):
    from rhizofem.models.rhizodeposition import Config

    data = {"rootsystem": {"t_end_d": 3.0, "n_laterals_max": 2},
            "grid": {"origin_cm": [-1.5, -1.5, -5.0], "spacing_cm": 0.25, "shape": [12, 12, 22]},
            "output": {"days": [1.5, 3.0], "plots": False, "vti": False}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return load(Config, data)


def test_homogenized_D_eff_equal_to_the_given_D_reproduces_the_rhizodeposition_run(tmp_path):
    # D_eff/D_0 = θ D / D_liquid makes D_liquid · (D_eff/D_0)/θ the given D up to one rounding
    # (2 ulp): fields, hotspots and overlap agree to 1e-12 relative.
    from rhizofem.models.rhizodeposition import run

    hom = tensor_summary(tmp_path / "hom.json", D_RD * THETA / D_LIQ)
    a = run(rhizodeposition_config(), comm=MPI.COMM_SELF)
    b = run(rhizodeposition_config(soil={"diffusion": "homogenized", "homogenized_summary": str(hom)},
                                   rhizodeposit={"D_liquid_cm2_d": D_LIQ}), out_dir=tmp_path / "out",
            comm=MPI.COMM_SELF)
    assert np.max(a.final_total) > 0
    assert np.allclose(a.final_total, b.final_total, rtol=1e-12, atol=0)
    assert np.allclose(a.hotspot_volume_cm3, b.hotspot_volume_cm3, rtol=1e-12)
    assert np.allclose(a.overlap_share, b.overlap_share, rtol=1e-12)
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert doc["inputs"]["soil_diffusion"]["sha256"] == hashlib.sha256(hom.read_bytes()).hexdigest()
    assert doc["soil_diffusion"]["D_cm2_d"] == pytest.approx(D_RD, rel=1e-15)


def test_doubled_D_eff_halves_the_steady_point_source_near_the_tip(tmp_path):
    # A static tip releasing Q (point source) with decay k reaches Q/(4πθDr)·exp(−r√(k/D)):
    # ∝ 1/D near the source. The D the run takes from a summary with 2 × D_eff/D_0 must be 2 D,
    # and the superposed field of that run's parameters must meet the closed form at the new D
    # (quadrature tolerance 1e-4 → 1e-3 relative, as in test_rhizodeposition).
    from rhizofem.models.rhizodeposition.run import source_params
    from rhizofem.models.rhizodeposition.superposition import (Trajectory, concentration_at_points, kernels,
                                                               resolution_factor, steady_point_source)

    hom = tensor_summary(tmp_path / "hom.json", D_RD * THETA / D_LIQ)
    hom2 = tensor_summary(tmp_path / "hom2.json", 2 * D_RD * THETA / D_LIQ)
    decay = {"decay_rate_d": 3.0, "retardation": 3.0}                 # k' = 1 /d: steady after ~20 d
    cfg = lambda h: rhizodeposition_config(soil={"diffusion": "homogenized", "homogenized_summary": str(h)},  # noqa: E731
                                           rhizodeposit={"D_liquid_cm2_d": D_LIQ, **decay})
    p1, p2 = source_params(cfg(hom)), source_params(cfg(hom2))
    assert p1.D_cm2_d == pytest.approx(D_RD, rel=1e-15) and p2.D_cm2_d == pytest.approx(2 * D_RD, rel=1e-15)
    r = np.array([0.01, 0.03, 0.1])
    static = Trajectory(0, np.array([0.0, 60.0]), np.zeros((2, 3)))
    pts = np.stack([r, 0 * r, 0 * r], axis=1)
    c = {}
    for name, p in (("D", p1), ("2D", p2)):
        c[name] = concentration_at_points(kernels(static, p, 60.0, resolution_factor(1e-4), 0.01), pts)
        assert np.allclose(c[name], steady_point_source(r, p), rtol=1e-3), name
    ratio = c["2D"] / c["D"]
    print(f"steady point source: c(2D)/c(D) at r = {r} cm: {ratio}")
    # 1/2 · exp(r √(k/D) (1 − 1/√2)): ½ at the tip, rising with r
    assert np.allclose(ratio, 0.5 * np.exp(r * math.sqrt(3.0 / D_RD) * (1 - 1 / math.sqrt(2))), rtol=2e-3)


# ---------------------------------------------------------------------------------------
# root hairs: equivalent radius and hair factor (Carslaw & Jaeger's cylinder)
# ---------------------------------------------------------------------------------------

D_EX, C_EX = 2.88e-5, 1037.52e-3   # exudation defaults in mm²/s and µg/mm³


def test_cylinder_release_meets_its_short_and_long_time_limits():
    # Q(t; a) per unit length: at short times Carslaw & Jaeger's expansion (§13.5) for the region
    # outside a cylinder, 2πa c [2√(Dt/π) + Dt/(2a) − (Dt)^(3/2)/(6a²√π) + …] (the flat wall, then
    # the curvature terms; the next is O((Dt/a²)²) ≈ 1e-7 of Q here, asserted 1e-5);
    # against the independent quadrature of test_uptake_laws (b = 1, c0 = c_in) at any time:
    # that one stops at s = ln(a u) = 14 and leaves out a tail π a² / (2 e^14) of the integral,
    # 8e-6 of Q at 1 s, 5e-7 at 150 s, 1e-8 at a day.
    a = 0.1
    for t, tol in ((1.0, 1.5e-5), (150.0, 1e-6), (3600.0 * 24, 3e-8)):
        ours = release_per_length(a, D_EX, C_EX, t)
        assert ours == pytest.approx(carslaw_jaeger_zero_sink(a, D_EX, 1.0, C_EX, t), rel=tol)
    t = 1.0
    Dt = D_EX * t
    assert release_per_length(a, D_EX, C_EX, t) == pytest.approx(
        2 * math.pi * a * C_EX * (2 * math.sqrt(Dt / math.pi) + Dt / (2 * a) - Dt**1.5 / (6 * a * a * math.sqrt(math.pi))),
        rel=1e-5)
    # the inversion returns the radius that released the mass
    q = release_per_length(0.07, D_EX, C_EX, 600.0)
    assert equivalent_radius(2.0 * q, 2.0, D_EX, C_EX, 600.0) == pytest.approx(0.07, rel=1e-9)


def cylinder_image(h_um, radius_um=100.0, half_um=400.0, nz=2):
    n = int(round(2 * half_um / h_um))
    x = (np.arange(n) + 0.5) * h_um - half_um
    X, Y = np.meshgrid(x, x, indexing="ij")
    image = np.ones((n, n, nz), np.uint8)
    image[X**2 + Y**2 < radius_um**2] = 3
    return image


def test_equivalent_radius_of_a_smooth_cylinder_is_its_radius(tmp_path):
    # A smooth root (r = 100 µm, no hairs, full contact) through a soil box 800 µm wide, 150 s
    # (√(Dt) = 66 µm: the far walls, 4.6 √(Dt) away, take nothing measurable). Voxel meshes of
    # 20 and 10 µm: the staircase surface releases more than the cylinder, an error of first
    # order in h (measured mass +7.7 % and +4.0 %, equivalent radius 109.5 and 105.0 µm). The
    # test asserts that first order, the mass against Carslaw & Jaeger after Richardson
    # extrapolation (measured 0.4 %, asserted 1 %) and the extrapolated equivalent radius against
    # the root's own radius (measured 0.5 %, asserted 1.5 %).
    from rhizofem.models.exudation import Config, run

    T, out = 150.0, {}
    for h in (20.0, 10.0):
        np.save(tmp_path / f"cyl{h:g}.npy", cylinder_image(h))
        cfg = {"image": {"path": str(tmp_path / f"cyl{h:g}.npy"), "voxel_size_um": h}, "physics": {"t_end_s": T},
               "time": {"output_times_s": [T], "time_rtol": 1e-4}, "numerics": {"space_error_estimate": False},
               "output": {"plots": False, "fields": False}, "compare_hairless": False,
               "inlet": {"tags": ["root"]}}
        res = run(load(Config, cfg), out_dir=tmp_path / f"out{h:g}", comm=MPI.COMM_SELF)
        r = json.loads((tmp_path / f"out{h:g}" / "summary.json").read_text())["results"]
        exact = r["root_length_um"] * 1e-3 * release_per_length(0.1, D_EX, C_EX, T)
        out[h] = (res.mass_ug / exact - 1.0, r["equivalent_radius_um"], r["root_radius_um"], res.mass_ug, exact)
        assert r["root_length_um"] == pytest.approx(2 * h) and r["hair_factor"] is None
    print(f"smooth cylinder: (mass error, a_eq µm, a_root µm) {out}")
    e20, e10 = out[20.0][0], out[10.0][0]
    assert 0 < e10 < e20 and 1.6 < e20 / e10 < 2.4                     # first order in h
    assert abs(2 * e10 - e20) < 1e-2                                     # Richardson: the h → 0 limit
    a_eq = 2 * out[10.0][1] - out[20.0][1]
    assert a_eq == pytest.approx(100.0, rel=1.5e-2)
    assert out[10.0][2] == pytest.approx(100.0, rel=1e-2)                # √(area/π) of the voxel disc


def test_hair_factors_scale_the_root_system_models_exactly(tmp_path):
    # From an exudation summary: uptake multiplies every r0 by equivalent_radius_um /
    # root_radius_um (here 1.5: the run equals one with r0 = 0.03 cm, bit for bit), and
    # rhizodeposition multiplies the release by hair_factor (linear superposition: the field
    # scales by 1.7 to round-off). The values taken are recorded with the file's sha256.
    from rhizofem.models.rhizodeposition import run as rd_run

    ex = write_json(tmp_path / "ex.json", {"command": "exudation", "results": {
        "equivalent_radius_um": 150.0, "root_radius_um": 100.0, "hair_factor": 1.7}})
    base = uptake(uptake_config(segment={"r0_cm": 0.03}))
    hairy = uptake(uptake_config(hairs={"root_radius_from": str(ex)}), tmp_path / "up")
    assert np.array_equal(base.uptake_P_series_umol, hairy.uptake_P_series_umol)
    rec = json.loads((tmp_path / "up" / "summary.json").read_text())["inputs"]["root_hairs"]
    assert rec["values"]["radius_factor"] == 1.5 and rec["sha256"] == hashlib.sha256(ex.read_bytes()).hexdigest()
    a = rd_run(rhizodeposition_config(), comm=MPI.COMM_SELF)
    b = rd_run(rhizodeposition_config(hairs={"root_radius_from": str(ex)}), comm=MPI.COMM_SELF)
    assert np.allclose(b.final_total, 1.7 * a.final_total, rtol=1e-12, atol=0)
    c = rd_run(rhizodeposition_config(hairs={"root_radius_from": 1.7}), comm=MPI.COMM_SELF)
    assert np.array_equal(b.final_total, c.final_total)


# ---------------------------------------------------------------------------------------
# exudation: c_in(t) from a table
# ---------------------------------------------------------------------------------------

def exudation_slab(tmp_path, name, t_end=600.0, outputs=(60.0,), **physics):
    from rhizofem.models.exudation import Config, run

    image = tmp_path / "slab.npy"
    if not image.exists():
        np.save(image, slab_image(25, 3))
    cfg = {"image": {"path": str(image), "voxel_size_um": 40.0}, "physics": {"t_end_s": t_end, **physics},
           "time": {"output_times_s": list(outputs)}, "numerics": {"space_error_estimate": False},
           "output": {"plots": False, "fields": False}, "compare_hairless": False, "inlet": {"tags": ["root"]}}
    return run(load(Config, cfg), out_dir=tmp_path / name, comm=MPI.COMM_SELF)


def test_constant_c_in_table_reproduces_the_constant_run_exactly(tmp_path):
    # rows at 0 and t_end with c_in: no knot inside the run, the same steps, the inlet values
    # scaled by c_in(t)/c_in = 1.0 exactly: the same mass to the last bit.
    (tmp_path / "c.csv").write_text("t_s,c_ug_cm3\n0,1037.52\n600,1037.52\n")
    a = exudation_slab(tmp_path, "a")
    b = exudation_slab(tmp_path, "b", c_in_table=str(tmp_path / "c.csv"))
    assert a.mass_ug > 0 and b.mass_ug == a.mass_ug
    assert np.array_equal(a.case.mass_series_ug, b.case.mass_series_ug)
    rec = json.loads((tmp_path / "b" / "summary.json").read_text())["inputs"]["inlet_concentration"]
    assert rec["sha256"] == hashlib.sha256((tmp_path / "c.csv").read_bytes()).hexdigest()
    assert rec["values"]["column"] == "c_ug_cm3"


def test_step_in_c_in_matches_superposition_of_two_constant_runs(tmp_path):
    # c_in = c1 until t_s = 200 s, then c2 = 3 c1 (two rows at 200 s: a jump). Diffusion is
    # linear: M(T) = M_1(T) + (c2/c1 − 1) M_1(T − t_s), M_1 the constant-c1 run. The runs'
    # time error is controlled to time_rtol = 1e-3 of the mass each, so they agree to ~1e-3;
    # measured 1.4e-4 (the step's controller restarts small steps after the jump). A table read
    # in the wrong unit or with the jump at the wrong time is off by tens of percent.
    T, ts = 600.0, 200.0
    (tmp_path / "step.csv").write_text(f"t_h,c\n0,1037.52\n{ts / 3600},1037.52\n{ts / 3600},3112.56\n1,3112.56\n")
    one = exudation_slab(tmp_path, "one", outputs=(T - ts,))
    step = exudation_slab(tmp_path, "step", c_in_table=str(tmp_path / "step.csv"))
    k = int(np.argmin(np.abs(np.asarray(one.case.times_s) - (T - ts))))
    assert one.case.times_s[k] == pytest.approx(T - ts, rel=1e-12)
    expected = one.mass_ug + 2.0 * one.case.mass_series_ug[k]
    print(f"step in c_in: M = {step.mass_ug:.6g} µg, superposition {expected:.6g} µg, "
          f"difference {step.mass_ug / expected - 1:.1e}")
    assert step.mass_ug == pytest.approx(expected, rel=1e-3)


def test_c_in_table_interpolates_and_jumps(tmp_path):
    # linear between rows, the earlier value at a jump and the later one right after, the end
    # values beyond; the run time t reads the table at t0 + t
    from types import SimpleNamespace

    from rhizofem.links.tables import inlet_table

    (tmp_path / "p.csv").write_text("t_d,p0_ug_cm3,p1_ug_cm3\n1,0,10\n2,5,20\n2,7,30\n3,9,40\n")
    ph = SimpleNamespace(c_in_table=str(tmp_path / "p.csv"), c_in_column="p1_ug_cm3", c_in_table_t0_s=86400.0)
    tab = inlet_table(ph)
    assert [tab(t) for t in (-5.0, 0.0, 43200.0, 86400.0, 86400.0 + 1e-6 * 86400, 2 * 86400.0, 9e9)] == \
        pytest.approx([10.0, 10.0, 15.0, 20.0, 30.0 + 10e-6, 40.0, 40.0])
    assert tab.knots_between(0.0, 2 * 86400.0) == [86400.0]
    with pytest.raises(InputError, match="c_in_column is not set.*p0_ug_cm3, p1_ug_cm3"):
        inlet_table(SimpleNamespace(c_in_table=str(tmp_path / "p.csv"), c_in_column=None, c_in_table_t0_s=0.0))
    with pytest.raises(InputError, match="no column 'p9'"):
        inlet_table(SimpleNamespace(c_in_table=str(tmp_path / "p.csv"), c_in_column="p9", c_in_table_t0_s=0.0))


# ---------------------------------------------------------------------------------------
# provenance: sha256 of the upstream summary; missing or malformed upstreams refused
# ---------------------------------------------------------------------------------------

def test_provenance_sha256_changes_with_the_upstream_summary(tmp_path):
    hom = tensor_summary(tmp_path / "hom.json", MQ)
    cfg = uptake_config({"diffusion": "homogenized", "homogenized_summary": str(hom)})
    uptake(cfg, tmp_path / "run1")
    first = json.loads((tmp_path / "run1" / "summary.json").read_text())["inputs"]["soil_diffusion"]
    assert first["sha256"] == hashlib.sha256(hom.read_bytes()).hexdigest()
    tensor_summary(hom, 1.2 * MQ)                     # the upstream run redone with other settings
    uptake(cfg, tmp_path / "run2")
    second = json.loads((tmp_path / "run2" / "summary.json").read_text())["inputs"]["soil_diffusion"]
    assert second["sha256"] == hashlib.sha256(hom.read_bytes()).hexdigest() != first["sha256"]
    assert second["values"]["D_eff_relative"] == pytest.approx(1.2 * MQ, rel=1e-15)
    assert second["path"] == first["path"] == str(hom.resolve())


@pytest.mark.parametrize("content, fragment", [
    (None, "not found"),
    ("{not json", "not valid JSON"),
    ('{"command": "homogenize", "results": {}}', "key 'results.curve' is missing"),
    ('{"command": "homogenize", "results": {"D_eff_over_reference": [[0.1]]}}',
     "key 'results.liquid_fraction' is missing"),
    ('{"command": "uptake", "results": {}}', "`rhizofem uptake` run"),
])
def test_missing_or_malformed_homogenized_summary_is_refused_naming_path_and_key(tmp_path, content, fragment):
    path = tmp_path / "hom" / "summary.json"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    # a missing file is refused as the configuration is read (ConfigError, naming the key), a
    # malformed one as the run reads it (InputError, naming the key path inside it)
    with pytest.raises(ConfigError if content is None else InputError) as err:
        uptake(uptake_config({"diffusion": "homogenized", "homogenized_summary": str(path)}))
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_missing_keys_of_other_upstreams_are_refused(tmp_path):
    from rhizofem.models.rhizodeposition import run as rd_run

    ex = write_json(tmp_path / "ex.json", {"command": "exudation", "results": {"equivalent_radius_um": None}})
    with pytest.raises(InputError, match=r"ex\.json: key 'results\.equivalent_radius_um' is null"):
        uptake(uptake_config(hairs={"root_radius_from": str(ex)}))
    with pytest.raises(InputError, match=r"ex\.json: key 'results\.hair_factor' is missing"):
        rd_run(rhizodeposition_config(hairs={"root_radius_from": str(ex)}), comm=MPI.COMM_SELF)
    prof = write_json(tmp_path / "prof.json", {"command": "homogenize", "results": {"radial_profile": {
        "inner_um": [0.0], "outer_um": [100.0]}}})
    with pytest.raises(InputError, match=r"prof\.json: key 'results\.radial_profile\.D_eff' is missing"):
        uptake(uptake_config({"diffusion": "radial_profile", "homogenized_summary": str(prof)}))


def test_cli_refuses_a_malformed_upstream_with_exit_status_2(tmp_path, capsys):
    from rhizofem.cli import main

    bad = write_json(tmp_path / "hom.json", {"command": "homogenize", "results": {"porosity": 0.4}})
    cfg = tmp_path / "u.toml"
    cfg.write_text(f'[soil]\ndiffusion = "homogenized"\nhomogenized_summary = "{bad}"\n[output]\nplots = false\n')
    assert main(["uptake", str(cfg), "--out", str(tmp_path / "out")]) == 2
    said = capsys.readouterr().err
    assert str(bad) in said and "'results.curve' is missing" in said
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# D_eff in shells around a root ([shells], results.radial_profile) into the radial model
# ---------------------------------------------------------------------------------------

def layered_root_image(n=40, nz=8):
    """Water layers one voxel thick normal to x, solid between (period 2 voxels), and a square
    root of 8 × 8 voxels along z through the centre (label 4)."""
    image = np.zeros((n, n, nz), np.uint8)
    image[::2] = 2
    image[16:24, 16:24, :] = 4
    return image


def shells_config(path, count=3):
    from rhizofem.models.homogenization.config import Config

    return load(Config, {"image": {"path": str(path), "voxel_size_um": 10.0},
                         "phases": {"diffusivity": {"0": 0.0, "2": 1.0, "4": 0.0}, "solid": ["0"],
                                    "reference_label": "2"},
                         "shells": {"width_um": 20.0, "count": count}, "output": {"fields": False, "figure": False}})


def test_shells_of_a_layered_soil_give_the_layer_bounds_in_the_root_frame(tmp_path):
    # Parallel water/solid layers normal to x: a mirror sub-volume conducts exactly the water
    # fraction (1/2) along the layers and nothing across them. On the ±x sides the radial
    # direction is x (D_radial = 0, tangential 1/2), on the ±y sides y (D_radial = 1/2,
    # tangential 0): a tensor left in the image axes would give a mean radial 0 and tangential
    # 1/2 instead of 1/4 and 1/4. The uptake model then reads the profile's isotropic mean,
    # (1/4 + 1/4 + 1/2)/3 = 1/3 in every shell (CG to 1e-10: 1e-12 relative here).
    from rhizofem.models.homogenization.shells import run_shells
    from rhizofem.models.uptake.physics import build_model

    np.save(tmp_path / "layers.npy", layered_root_image())
    prof = run_shells(shells_config(tmp_path / "layers.npy"), tmp_path / "hom", MPI.COMM_SELF)
    for k in range(3):
        assert np.allclose(np.diag(prof["D_eff"][k]), [0.25, 0.25, 0.5], rtol=1e-9, atol=1e-12)
        assert prof["subvolumes"][k] == 4 and prof["liquid_fraction"][k] == 0.5
    sides = {r["side"]: r["D_radial_tangential_axial"] for r in prof["subvolume_results"] if r["shell"] == 0}
    assert np.allclose(sides["+x"], [0.0, 0.5, 0.5], atol=1e-12) and np.allclose(sides["-y"], [0.5, 0.0, 0.5],
                                                                                   atol=1e-12)
    summary = tmp_path / "hom" / "summary.json"
    doc = json.loads(summary.read_text())
    assert doc["results"]["radial_profile"]["outer_um"] == [20.0, 40.0, 60.0]
    assert doc["inputs"]["image"]["sha256"] == hashlib.sha256((tmp_path / "layers.npy").read_bytes()).hexdigest()
    model = build_model(uptake_config({"diffusion": "radial_profile", "homogenized_summary": str(summary),
                                       "water_content": 0.5}))
    assert np.allclose(model.radial_profile.relative, 1 / 3, rtol=1e-9)
    assert model.solutes[0].D_eff_cm2_s == pytest.approx(D_P / 3, rel=1e-9)


def test_rhizosphere_image_holds_the_probes_mucilage_and_meets_the_water_content(tmp_path):
    # `rhizofem rhizosphere` from a rhizodeposition summary's probes along a root (content in mg
    # per g dry soil at 0, 100, 200, 400 µm on the last day): the profile read is that day's; the
    # polymer placed is conserved through the drainage (concentration × mucilage volume = polymer
    # mass, to round-off); θ is met to one voxel of the soil; mucilage falls off with distance.
    from rhizofem.links.rhizosphere import Config, run

    content = [[[0.5, 0.3, 0.2, 0.1]], [[4.0, 2.0, 1.0, 0.25]]]          # [time][position][distance]
    rd = write_json(tmp_path / "rd.json", {"command": "rhizodeposition", "results": {"probes": {
        "times_d": [1.0, 2.0], "root": {"root": 0, "positions_cm": [2.0], "distances_um": [0.0, 100.0, 200.0, 400.0],
                                        "content_mg_g": content}}}})
    cfg = load(Config, {"sand": {"shape": [30, 30, 8]}, "root": {"radius_um": 80.0},
                        "mucilage": {"profile_from": str(rd)}, "liquid": {"water_content": 0.25}})
    info = run(cfg, tmp_path / "rs", MPI.COMM_SELF)
    doc = json.loads((tmp_path / "rs" / "summary.json").read_text())
    assert doc["inputs"]["mucilage_profile"]["values"]["mucilage_mg_g"] == [4.0, 2.0, 1.0, 0.25]
    image = np.load(tmp_path / "rs" / "rhizosphere.npy")
    soil = np.count_nonzero(image != 4)
    theta = np.count_nonzero(np.isin(image, (2, 3))) / soil
    assert abs(theta - 0.25) <= 1.0 / soil + 1e-12 and info["water_content"] == pytest.approx(theta, rel=1e-12)
    voxel_cm3 = (20.0e-4) ** 3
    polymer = info["mucilage_concentration_mg_cm3"] * np.count_nonzero(image == 3) * voxel_cm3
    assert polymer == pytest.approx(info["polymer_mg"], rel=1e-9) and polymer > 0
    layers = info["layers"]
    assert layers["mucilage_mg_g_wanted"][0] == pytest.approx(4.0 - 2.0 * 10.0 / 100.0, rel=1e-12)  # at 10 µm
    assert layers["mucilage_fraction"][0] > layers["mucilage_fraction"][-1]
    from rhizofem.models.homogenization.config import Config as HomogenizeConfig

    shells = load(HomogenizeConfig, tmp_path / "rs" / "homogenize.toml")   # the [shells] run it hands on
    assert shells.shells.count == 4 and shells.image.path == (tmp_path / "rs" / "rhizosphere.npy").resolve()
