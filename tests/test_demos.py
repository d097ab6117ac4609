"""Every demo runs on 2 MPI ranks in its quick setting, within a time limit.

Each ``demos/demo_*.py`` (the glob picks up new demos) must accept ``--out DIR`` and
``--quick`` (a small setting that runs in well under a minute on 2 ranks) and run under
``mpiexec -n 2`` from the repository root. This test runs

    mpiexec -n 2 python demos/demo_X.py --quick --out TMP

and asks for exit status 0, a summary.json or a figure in TMP, and no staging folder left
behind. The time limit turns a deadlock (a collective operation called on one rank only,
which once hung a demo forever) into a failure instead of a hung test suite. A demo without
``--quick`` fails here on purpose, with a message that says so.
"""

import subprocess
import sys
import time

import pytest
from conftest import MPIEXEC, ROOT, end_process_tree, subprocess_env

DEMOS = sorted((ROOT / "demos").glob("demo_*.py"))
#: seconds; a quick demo takes well under a minute on 2 ranks, and the machines are shared
TIME_LIMIT_S = 240


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMOS, ids=[d.stem for d in DEMOS])
def test_demo_runs_quickly_on_two_ranks(demo, tmp_path, record_property):
    out = tmp_path / "out"
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, str(demo.relative_to(ROOT)), "--quick", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    start = time.monotonic()
    try:
        output, _ = proc.communicate(timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        end_process_tree(proc)
        pytest.fail(f"{demo.name} --quick did not finish within {TIME_LIMIT_S} s on 2 ranks: a collective "
                    "call on one rank only (deadlock), or a quick setting that is not quick")
    finally:
        end_process_tree(proc)
    record_property("wall_time_s", round(time.monotonic() - start, 1))
    tail = "\n".join(output.splitlines()[-40:])
    if "unrecognized arguments: --quick" in output or "unrecognized arguments: --out" in output:
        pytest.fail(f"{demo.name} does not accept --quick and --out DIR: every demo must offer a quick "
                    f"setting (well under a minute on 2 ranks) for this test\n{tail}")
    assert proc.returncode == 0, f"{' '.join(cmd)} exited with {proc.returncode}:\n{tail}"
    written = [p for p in out.rglob("*") if p.name == "summary.json" or p.suffix == ".png"]
    assert written, f"{demo.name} wrote no summary.json and no figure into {out}:\n{tail}"
    left = [p for p in tmp_path.rglob("*") if "rhizofem-partial-" in p.name or "rhizofem-trash-" in p.name]
    assert not left, f"{demo.name} left staging folders behind: {left}"
