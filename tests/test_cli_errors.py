"""What `rhizofem` does when a run cannot go on: one line that names the problem and its fix,
the documented exit status, and an output folder left exactly as it was before the run.

Stopped runs are real `rhizofem exudation` runs on the small sample (meshes/small_sample.npy),
serially and on 2 ranks, stopped once their staging folder holds a field file.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (MPIEXEC, ROOT, descendants, end_process_tree, read_only_folder, small_filesystem, snapshot,
                      subprocess_env)
from mpi4py import MPI
from rhizofem.cli import main

SMALL_NPY = ROOT / "meshes" / "small_sample.npy"
SMALL_TOML = ROOT / "meshes" / "small_sample.toml"


def earlier_run(out: Path, command: str, files: dict[str, str]) -> None:
    """A complete earlier run of ``command`` in ``out`` (its summary lists its files)."""
    out.mkdir(parents=True)
    for name, text in files.items():
        (out / name).write_text(text)
    (out / "summary.json").write_text(json.dumps({"command": command, "files": sorted(files)}))


def exudation_config(path: Path, fields_format: str = "vtx", **physics) -> Path:
    """The small sample without the hairless repeat; fields (ADIOS2 VTX by default: the writer
    that ended in a C++ abort on a full disk) at every output time."""
    p = {"t_end_s": 3600.0, **physics}
    text = (f'compare_hairless = false\n[image]\npath = "{SMALL_NPY}"\nvoxel_size_um = 9.0\n'
            f"[physics]\n" + "".join(f"{k} = {v!r}\n" for k, v in p.items()) +
            "[time]\ndt_first_s = 0.01\noutput_times_s = [1.0, 2.0, 3.0]\n"
            "[numerics]\nspace_error_estimate = false\n"
            f'[output]\nplots = false\nfields_format = "{fields_format}"\n')
    path.write_text(text)
    return path


def rhizofem(args, ranks=1, **kwargs):
    cmd = [sys.executable, "-m", "rhizofem.cli", *map(str, args)]
    if ranks > 1:
        cmd = [str(MPIEXEC), "-n", str(ranks), *cmd]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=subprocess_env(), start_new_session=True, **kwargs)


def wait_for(condition, timeout_s, proc):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be stopped:\n{proc.communicate()[0]}")
        time.sleep(0.1)
    pytest.fail("the run did not start writing in time")


def rank_pid(launcher: int, rank: int) -> int:
    """The pid of MPI rank ``rank`` started by the launcher ``launcher``."""
    for pid in descendants(launcher):
        try:
            if f"PMI_RANK={rank}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                return pid
        except OSError:
            continue
    raise AssertionError(f"rank {rank} not found")


def finish(proc, timeout_s=120):
    try:
        return proc.communicate(timeout=timeout_s)[0]
    finally:
        end_process_tree(proc)


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines()
            if any(word in line for word in ("Traceback", "PETSC ERROR", "terminate", "Abort("))]


# -- stopped by a signal -----------------------------------------------------------------

STOPS = [
    pytest.param(1, signal.SIGTERM, "process", id="serial-SIGTERM"),
    pytest.param(1, signal.SIGINT, "twice", id="serial-Ctrl-C-twice"),
    pytest.param(2, signal.SIGTERM, "process", id="2ranks-SIGTERM-to-mpiexec"),
    pytest.param(2, signal.SIGINT, "process", id="2ranks-Ctrl-C-to-mpiexec"),
    pytest.param(2, signal.SIGTERM, "rank 1", id="2ranks-SIGTERM-to-rank1"),
    pytest.param(2, signal.SIGINT, "rank 1", id="2ranks-SIGINT-to-rank1"),
]


@pytest.mark.slow
@pytest.mark.parametrize("ranks, signum, target", STOPS)
def test_a_stopped_run_leaves_the_folder_as_it_was(tmp_path, ranks, signum, target):
    cfg = exudation_config(tmp_path / "exudation.toml")
    out = tmp_path / "run"
    earlier_run(out, "exudation", {"mass.csv": "t_s,mass_ug\n0.0,0.0\n"})
    before = snapshot(tmp_path)
    proc = rhizofem(["exudation", cfg, "--out", out], ranks=ranks)
    try:
        # stop it while it writes: the staging folder beside --out holds a field file
        wait_for(lambda: list(tmp_path.glob(".run.rhizofem-partial-*/concentration.bp")), 180, proc)
        pid = rank_pid(proc.pid, 1) if target == "rank 1" else proc.pid
        os.kill(pid, signum)
        if target == "twice":
            time.sleep(0.05)
            os.kill(pid, signum)  # a second Ctrl-C while it cleans up
        output = finish(proc)
    finally:
        finish(proc, 1)
    name = "SIGINT (Ctrl-C)" if signum == signal.SIGINT else "SIGTERM"
    stopped = [line for line in output.splitlines() if "stopped by" in line]
    assert stopped == [f"rhizofem exudation: stopped by {name}; nothing of this run was kept, {out} is as it was"], output
    assert not problems(output), output
    assert proc.returncode == 128 + signum, output
    assert snapshot(tmp_path) == before  # the earlier result whole, no staging folder left


# -- a full disk -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("ranks", [1, 2])
def test_a_full_disk_while_fields_are_written_is_one_line_and_leaves_nothing(tmp_path, ranks):
    # the small sample's fields take several MB per output time (see vtx_bytes): a 3 MB disk
    # holds the run's start but not its fields. The run refuses before its collective field
    # writer starts (on 2 ranks a writer failing on one rank left the other in its close)
    cfg = exudation_config(tmp_path / "exudation.toml", t_end_s=3.0)
    with small_filesystem(tmp_path / "disk", "3m") as disk:
        proc = rhizofem(["exudation", cfg, "--out", disk / "a" / "run"], ranks=ranks)
        output = finish(proc)
        errors = [line for line in output.splitlines() if "error:" in line]
        assert len(errors) == 1 and f"{disk}/a/run" in errors[0] and "Fix:" in errors[0], output
        assert "no space left" in errors[0] or "not enough space" in errors[0], output
        assert not problems(output), output
        assert proc.returncode == 1, output  # the input was fine, the machine was not
        assert os.listdir(disk) == []


@pytest.mark.slow
def test_a_full_disk_on_two_ranks_is_one_line_and_leaves_nothing(tmp_path):
    # the default sample is 1.15 MB of voxels (sample.npy, written on rank 0): 1.1 MiB of disk
    # lets the run start (it needs 1 MiB free) but not write it
    (tmp_path / "sample.toml").write_text("[sample]\nseed = 1\n")
    with small_filesystem(tmp_path / "disk", "1100k") as disk:
        proc = rhizofem(["sample", tmp_path / "sample.toml", "--out", disk / "run"], ranks=2)
        output = finish(proc)
        errors = [line for line in output.splitlines() if "error:" in line]
        assert errors == [f"rhizofem sample: error: no space left on the device of {disk}/run; nothing of this "
                          "run was kept. Fix: free space there, choose --out on a file system with room, or "
                          "write fewer fields."], output
        assert not problems(output), output
        assert proc.returncode == 1, output
        assert os.listdir(disk) == []


# -- the output folder, refused before any work -------------------------------------------


def test_foreign_files_are_refused_unless_overwrite(shared_tmp, capsys):
    comm = MPI.COMM_WORLD
    out = shared_tmp / "sample"
    if comm.rank == 0:
        out.mkdir()
        (out / "notes.txt").write_text("field notes")
    comm.barrier()
    before = snapshot(out)
    assert main(["sample", str(SMALL_TOML), "--out", str(out)]) == 2
    if comm.rank == 0:
        err = capsys.readouterr().err
        assert "already holds files that are not a rhizofem run" in err and "notes.txt" in err and "--overwrite" in err
    assert snapshot(out) == before
    assert main(["sample", str(SMALL_TOML), "--out", str(out), "--overwrite"]) == 0
    assert sorted(os.listdir(out)) == ["mesh.toml", "sample.npy", "sample.png", "section.npy", "summary.json"]


def test_out_is_a_file_or_read_only(tmp_path, capsys):
    (tmp_path / "results").write_text("not a folder")
    assert main(["sample", str(SMALL_TOML), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rhizofem sample: error: output folder {tmp_path / 'results'} is an existing file. Fix: give a "
                   f"new or empty folder as --out (e.g. --out {tmp_path / 'results'}-run), or move the file away."]
    with read_only_folder(tmp_path / "ro") as ro:
        assert main(["sample", str(SMALL_TOML), "--out", str(ro / "run")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{ro} is not writable" in err[0] and "Fix: choose --out" in err[0]
        assert os.listdir(ro) == []
    assert sorted(os.listdir(tmp_path)) == ["results", "ro"]


def test_a_failing_run_keeps_the_earlier_result(shared_tmp, capsys):
    comm = MPI.COMM_WORLD
    out = shared_tmp / "mesh"
    bad = shared_tmp / "bad.npy"
    if comm.rank == 0:
        earlier_run(out, "mesh", {"mesh.msh": "$MeshFormat (an earlier mesh)", "mesh.png": "png"})
        import numpy as np

        np.save(bad, np.full((3, 3, 3), 9, dtype=np.uint8))  # a label the mesher refuses
    comm.barrier()
    before = snapshot(shared_tmp)
    cfg = shared_tmp / f"bad{comm.rank}.toml"  # one per rank: no rank reads while another writes
    cfg.write_text(f'[image]\npath = "{bad}"\n')
    assert main(["mesh", str(cfg), "--out", str(out)]) == 2
    comm.barrier()
    assert {k: v for k, v in snapshot(shared_tmp).items() if not k.startswith("bad")} == \
        {k: v for k, v in before.items() if not k.startswith("bad")}


@pytest.mark.mpi
def test_a_failing_run_keeps_the_earlier_result_on_2_ranks(shared_tmp, capsys):
    test_a_failing_run_keeps_the_earlier_result(shared_tmp, capsys)


@pytest.mark.mpi
def test_foreign_files_are_refused_on_2_ranks(shared_tmp, capsys):
    test_foreign_files_are_refused_unless_overwrite(shared_tmp, capsys)


# -- what the user reads -------------------------------------------------------------------


def test_an_empty_config_says_it_runs_the_defaults(tmp_path, capsys, monkeypatch):
    from rhizofem.imaging import sample

    ran = []
    monkeypatch.setattr(sample, "run", lambda config, out_dir, comm: ran.append(config))
    (tmp_path / "empty.toml").write_text("# nothing set\n")
    assert main(["sample", str(tmp_path / "empty.toml"), "--out", str(tmp_path / "o")]) == 0
    assert ran == [sample.Config()]
    assert capsys.readouterr().err.splitlines() == [
        f"rhizofem sample: no keys given in {tmp_path / 'empty.toml'}: running the defaults of "
        "`rhizofem sample --print-config`"]


def test_output_to_a_log_is_line_buffered():
    # a batch job's log must show each line when it is printed, not when the run ends
    code = ("import sys; from rhizofem.cli import _line_buffered; _line_buffered(); "
            "print(sys.stdout.line_buffering, sys.stderr.line_buffering)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert out.stdout.split() == ["True", "True"], out.stderr
