"""The scale-linking Snakemake workflow (workflows/scale_links): its DAG, and the small profile
end to end, with the provenance chain and hand-over numbers checked in the files it wrote."""

import hashlib
import json
import subprocess

import numpy as np
import pytest
from conftest import ROOT, VENV_BIN, subprocess_env

SNAKEFILE = ROOT / "workflows" / "scale_links" / "Snakefile"


def snakemake(cwd, *args, timeout):
    return subprocess.run([str(VENV_BIN / "snakemake"), "-s", str(SNAKEFILE), "--config", "small=true", *args],
                          cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dry_run_lists_every_hand_over(tmp_path):
    done = snakemake(tmp_path, "-n", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    said = done.stdout + done.stderr
    counts = {}
    for line in said.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and not parts[0].endswith(":"):   # the job stats table
            counts[parts[0]] = int(parts[1])
    assert counts == {"faba_rootsystem": 1, "homogenize_curve": 2, "rhizodeposition": 4, "rhizosphere": 1,
                      "homogenize_shells": 1, "uptake": 5, "exudation": 2, "report": 1, "all": 1, "total": 18}
    for path in ("results/homogenize_mucilage/summary.json", "results/uptake_radial/summary.json",
                 "results/exudation_cin/summary.json", "results/report/report.md"):
        assert path in said


@pytest.mark.slow
def test_small_profile_runs_end_to_end_with_provenance(tmp_path):
    # ~70 s of CPU (two cores: ~45 s); the timeout is for a loaded machine
    done = snakemake(tmp_path, "-c", "2", timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    out = tmp_path / "results"
    doc = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/summary.json")}
    # every linked run names its upstream file with that file's sha256 as it is now
    chain = {("uptake_water", "soil_diffusion"): "homogenize_water", ("uptake_mucilage", "soil_diffusion"):
             "homogenize_mucilage", ("uptake_radial", "soil_diffusion"): "homogenize_shells",
             ("uptake_hairs", "root_hairs"): "exudation_default", ("rhizodeposition_hairs", "root_hairs"):
             "exudation_default", ("rhizodeposition_water", "soil_diffusion"): "homogenize_water"}
    for (run, role), upstream in chain.items():
        rec = doc[run]["inputs"][role]
        assert rec["sha256"] == sha256(out / upstream / "summary.json"), (run, role)
    cin = doc["exudation_cin"]["inputs"]["inlet_concentration"]
    assert cin["sha256"] == sha256(out / "rhizodeposition_mq" / "probes.csv")
    assert cin["written_by"]["sha256"] == sha256(out / "rhizodeposition_mq" / "summary.json")
    # the D_eff taken is the curve's isotropic mean interpolated linearly at θ = 0.25 (points 0.2, 0.3)
    curve = doc["homogenize_water"]["results"]["curve"]
    th = [p["water_content"] for p in curve]
    mean = [np.trace(np.asarray(p["D_eff"])) / 3 for p in curve]
    taken = doc["uptake_water"]["inputs"]["soil_diffusion"]["values"]["D_eff_relative"]
    assert taken == pytest.approx(np.interp(0.25, th, mean), rel=1e-12)
    # rhizodeposition is linear in the release: the hair factor scales the released mass exactly
    factor = doc["exudation_default"]["results"]["hair_factor"]
    hairs, mq = (doc[f"rhizodeposition_{d}"]["results"]["released_mass_mg"][-1] for d in ("hairs", "mq"))
    assert factor > 1 and hairs == pytest.approx(factor * mq, rel=1e-12)
    # a better-conducting soil takes up more P (the uptake is diffusion-limited): order by D_eff
    by_D = sorted(("water", "mucilage"), key=lambda d: doc[f"uptake_{d}"]["inputs"]["soil_diffusion"]["values"]
                  ["D_eff_relative"])
    assert doc[f"uptake_{by_D[0]}"]["results"]["uptake_P_umol"] < doc[f"uptake_{by_D[1]}"]["results"]["uptake_P_umol"]
    report = (out / "report" / "report.md").read_text()
    assert report.count("| homogenized, water only |") == 4 and "| radial profile D(r) |" in report
    for png in ("D_eff_theta.png", "D_eff_r.png", "hand_over_changes.png"):
        assert (out / "report" / png).stat().st_size > 10_000
