"""Run folders: a run appears whole when it succeeds, leaves everything as it was when it fails,
never mixes with foreign files, and says what is wrong with a folder it cannot use."""

import json
import os
import socket

import numpy as np
import pytest
from conftest import read_only_folder, small_filesystem, snapshot
from mpi4py import MPI
from rhizofem.errors import DiskFullError, OutputError
from rhizofem.output import RunOutput, report_lines, write_csv
from rhizofem.output.run import allow_overwrite, check_out_dir, format_bytes, vtx_bytes


def good_run(out, comm=MPI.COMM_SELF, command="demo", names=("table.csv",), fresh=False):
    with RunOutput(out, comm, command=command) as run:
        for name in names:
            write_csv(run.path(name), ["t", "m"], [(0.0, np.float64(1.5))], comm)
        run.summary(results={"mass_ug": np.float64(2.0), "series": np.arange(3)})
        run.summary(results={"extra": float("nan")})
        if fresh:
            assert not out.exists()  # nothing appears before the end
    return run


def test_success_publishes_the_whole_run_at_the_end(shared_tmp):
    comm = MPI.COMM_WORLD
    out = shared_tmp / "a" / "run"  # parents are created
    run = good_run(out, comm, names=("table.csv", "fields/day1.csv"), fresh=True)
    doc = json.loads((out / "summary.json").read_text())
    assert doc["ranks"] == comm.size and doc["command"] == "demo"
    assert doc["results"] == {"mass_ug": 2.0, "series": [0, 1, 2], "extra": None}
    assert doc["files"] == ["fields/day1.csv", "table.csv"] == run.files
    assert doc["wall_time_s"] >= 0
    assert (out / "table.csv").read_text().splitlines()[1] == "0.0,1.5"
    assert sorted(os.listdir(shared_tmp / "a")) == ["run"]  # no staging folder left beside it


def test_a_failing_run_leaves_an_earlier_result_intact(tmp_path):
    out = tmp_path / "run"
    good_run(out, names=("table.csv", "old.csv"))
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError), RunOutput(out, MPI.COMM_SELF, command="demo") as run:
        write_csv(run.path("table.csv"), ["a"], [(1,)], MPI.COMM_SELF)
        raise RuntimeError("solver blew up")
    assert snapshot(tmp_path) == before


def test_a_new_run_replaces_the_earlier_one_as_a_whole(tmp_path):
    out = tmp_path / "run"
    good_run(out, names=("table.csv", "old.csv"))
    inode = out.stat().st_ino
    good_run(out, names=("table.csv",))
    assert sorted(os.listdir(out)) == ["summary.json", "table.csv"]  # old.csv went with its run
    assert json.loads((out / "summary.json").read_text())["files"] == ["table.csv"]
    assert out.stat().st_ino == inode  # the folder itself stays (a shell may be working in it)
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_an_existing_empty_folder_is_used(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    good_run(out)
    assert sorted(os.listdir(out)) == ["summary.json", "table.csv"]


def test_foreign_files_are_refused_before_work_unless_overwrite(tmp_path):
    out = tmp_path / "run"
    good_run(out)
    (out / "notes.txt").write_text("my notes")
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match=r"notes\.txt.*--overwrite"):
        with RunOutput(out, MPI.COMM_SELF, command="demo"):
            raise AssertionError("the run must not start")
    assert snapshot(tmp_path) == before
    with allow_overwrite():
        good_run(out, names=("new.csv",))
    assert sorted(os.listdir(out)) == ["new.csv", "summary.json"]


def test_another_commands_run_is_refused(tmp_path):
    out = tmp_path / "run"
    good_run(out, command="mesh")
    with pytest.raises(OutputError, match=r"another command \(`rhizofem mesh`\)"):
        check_out_dir(out, "exudation")
    check_out_dir(out, "mesh")  # the same command may replace it
    check_out_dir(out, "exudation", overwrite=True)


def test_overwrite_never_deletes_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "data.csv").write_text("1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="working folder"):
        check_out_dir(tmp_path, "demo", overwrite=True)


def test_out_is_an_existing_file(tmp_path):
    (tmp_path / "f").write_text("x")
    for out, message in ((tmp_path / "f", "is an existing file"), (tmp_path / "f" / "run", "is a file")):
        with pytest.raises(OutputError, match=message), RunOutput(out, MPI.COMM_SELF, command="demo"):
            pass
    assert os.listdir(tmp_path) == ["f"]


def test_parents_created_by_a_failing_run_are_removed(tmp_path):
    with pytest.raises(ValueError), RunOutput(tmp_path / "a" / "b" / "run", MPI.COMM_SELF, command="demo") as run:
        write_csv(run.path("t.csv"), ["a"], [(1,)], MPI.COMM_SELF)
        raise ValueError
    assert os.listdir(tmp_path) == []


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    host = socket.gethostname()
    dead = tmp_path / f".run.rhizofem-partial-{host}-{2**22 + 12345}-deadbeef"  # above pid_max
    alive = tmp_path / f".run.rhizofem-partial-{host}-{os.getpid()}-0a0a0a0a"  # a run in progress
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "concentration.bp").write_text("half written")
    good_run(out)
    assert not dead.exists() and alive.exists()


def test_read_only_location_names_the_path_and_leaves_nothing(tmp_path):
    with read_only_folder(tmp_path / "ro") as ro:
        with pytest.raises(OutputError, match=r"ro is not writable \((read-only file system|permission denied)\)"):
            with RunOutput(ro / "sub" / "run", MPI.COMM_SELF, command="demo"):
                pass
        assert os.listdir(ro) == []


def test_no_space_is_refused_before_writing(tmp_path):
    with small_filesystem(tmp_path / "full", "512k") as disk:  # a run needs 1 MiB to start
        with pytest.raises(DiskFullError, match=r"a run needs 1.05 MB free to start, its file system has "
                                                r"524 kB free"):
            with RunOutput(disk / "a" / "run", MPI.COMM_SELF, command="demo"):
                raise AssertionError("the run must not start")
        assert os.listdir(disk) == []
    with small_filesystem(tmp_path / "disk", "4m") as disk:
        with pytest.raises(DiskFullError, match=r"fields need about 10 MB, its file system has 4\.\d+ MB free"):
            with RunOutput(disk / "run", MPI.COMM_SELF, command="demo") as run:
                run.require_space(10e6, "fields", "set fields = false")
        assert os.listdir(disk) == []


def test_a_full_disk_while_writing_is_one_message_and_leaves_nothing(tmp_path):
    def numpy_write(path):  # a short write: numpy's OSError carries no errno
        np.save(path, np.zeros(1_000_000))  # 8 MB into 2 MB

    def python_write(path):  # ENOSPC
        with open(path, "wb") as fh:
            fh.write(bytes(8_000_000))

    with small_filesystem(tmp_path / "disk", "2m") as disk:
        for write in (numpy_write, python_write):
            with pytest.raises(DiskFullError, match=r"no space left on the device of .*disk/run; nothing of "
                                                    r"this run was kept") as err:
                with RunOutput(disk / "run", MPI.COMM_SELF, command="demo") as run:
                    write(run.path("big.npy"))
            assert err.value.exit_code == 1 and isinstance(err.value.__cause__, OSError)
            assert os.listdir(disk) == []


def test_adios_messages_of_a_full_disk_are_recognised(tmp_path):
    # what DOLFINx's VTXWriter raises (ADIOS2 reports errno 28 inside a RuntimeError)
    out = tmp_path / "run"
    with pytest.raises(DiskFullError, match=r"\(writing concentration\.bp/data\.0\)"):
        with RunOutput(out, MPI.COMM_SELF, command="demo") as run:
            raise RuntimeError(f"[ADIOS2 EXCEPTION] <Write> : couldn't write to file "
                               f"{run.path('concentration.bp')}/data.0 : errno = 28: No space left on device")
    assert os.listdir(tmp_path) == []


def test_vtx_size_estimate_matches_the_files_written(tmp_path):
    # the estimate must cover what ADIOS2 writes (else require_space lets a disk fill up) and
    # not exceed it by much (else it refuses runs that fit): within +0 % .. +30 %
    import dolfinx
    from dolfinx.io import VTXWriter

    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 12, 12, 12)
    for degree, writes in ((1, 3), (2, 2)):
        u = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("Lagrange", degree)))
        path = tmp_path / f"u{degree}.bp"
        with VTXWriter(MPI.COMM_SELF, path, [u], engine="BP4") as vtx:
            for t in range(writes):
                vtx.write(float(t))
        actual = sum(f.stat().st_size for f in path.iterdir())
        estimate = vtx_bytes([u], writes)
        assert actual <= estimate <= 1.3 * actual, (degree, actual, estimate)


def test_report_lines_name_the_folder_and_its_files(tmp_path):
    run = good_run(tmp_path / "run", names=("mass.csv", "fields/day1.vti", "fields/day2.vti", "c.bp/data.0"))
    lines = report_lines("demo", "2.0 µg released", ["without hairs: 0.7 µg"], run)
    assert lines[:2] == ["rhizofem demo: 2.0 µg released", "  without hairs: 0.7 µg"]
    assert lines[2] == f"  files in {tmp_path / 'run'}: c.bp, fields/ (2 files), mass.csv, summary.json"


def test_format_bytes():
    assert [format_bytes(n) for n in (512, 1500, 4.2e6, 3e9)] == ["512 B", "1.5 kB", "4.2 MB", "3 GB"]


def test_no_directory_means_no_files():
    with RunOutput(None, MPI.COMM_SELF, command="demo") as run:
        assert run.path("x.csv") is None
        write_csv(run.path("x.csv"), ["a"], [(1,)], MPI.COMM_SELF)
        run.require_space(1e15, "nothing")


@pytest.mark.mpi
def test_two_ranks_publish_one_run_and_refuse_together(comm, shared_tmp):
    out = shared_tmp / "run"
    with RunOutput(out, comm, command="demo") as run:
        # each rank writes its own file into the one staging folder (as parallel writers do)
        (run.staging / f"part{comm.rank}.txt").write_text(str(comm.rank))
        run.summary(results={"ranks": comm.size})
    assert run.files == [f"part{r}.txt" for r in range(comm.size)]
    comm.barrier()
    if comm.rank == 0:
        (out / "notes.txt").write_text("mine")
    comm.barrier()
    with pytest.raises(OutputError, match="notes.txt"), RunOutput(out, comm, command="demo"):
        pass  # refused on every rank, so no rank waits for another
    before = snapshot(out)
    with pytest.raises(ZeroDivisionError), allow_overwrite(), RunOutput(out, comm, command="demo") as run:
        (run.staging / f"part{comm.rank}.txt").write_text("new")
        comm.barrier()
        raise ZeroDivisionError  # on every rank
    comm.barrier()
    assert snapshot(out) == before
    assert sorted(os.listdir(shared_tmp)) == ["run"]


# -- progress, stage lines, durations ------------------------------------------------------


class _Rank1:
    rank = 1


def test_format_duration_reads_like_a_person_would_write_it():
    from rhizofem.output.progress import format_duration, simulated_time

    cases = {0.0: "0 s", 0.05: "0.05 s", 12.5: "12.5 s", 59.999999999999986: "60 s", 90: "1.5 min",
             750: "12.5 min", 3600: "1 h", 5400: "1.5 h", 16 * 86400: "16 d"}
    assert {t: format_duration(t) for t in cases} == cases
    assert simulated_time(750, 3600) == "t = 12.5 min of 1 h"


def test_progress_in_a_log_is_plain_lines_every_tenth(capsys, monkeypatch):
    from rhizofem.output.progress import progress, simulated_time

    monkeypatch.setenv("RHIZOFEM_PROGRESS", "1")  # capsys's stderr is not a terminal: lines
    with progress(total=50, desc="exudation", unit="step", comm=MPI.COMM_SELF, mininterval=0) as bar:
        for n in range(50):
            bar.set_postfix_str(simulated_time((n + 1) * 72.0, 3600.0), refresh=False)
            bar.update()
        bar.update(3)  # past the total: counted to the total, no warning
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    # the start, every 10 % (5 of 50 steps) and the end, which is the 100 % line
    assert [int(line.split("%")[0].split(":")[1]) for line in lines] == list(range(0, 101, 10))
    assert lines[-1].startswith("exudation: 100% (50/50 step)") and lines[-1].endswith("t = 1 h of 1 h")
    assert "t = 6 min of 1 h" in lines[1]


def test_progress_is_silent_off_rank0_and_when_disabled(capsys, monkeypatch):
    import warnings

    from rhizofem.output.progress import progress, stage

    monkeypatch.setenv("RHIZOFEM_PROGRESS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no TqdmWarning leaks to the user
        with progress(total=2.0, desc="x", comm=_Rank1()) as bar:
            bar.update(2.0000000001)
        with stage(_Rank1(), "meshing the soil phase"):
            pass
    monkeypatch.setenv("RHIZOFEM_PROGRESS", "0")
    with stage(MPI.COMM_SELF, "meshing the soil phase"), progress(total=3, comm=MPI.COMM_SELF) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_stage_says_when_a_long_step_starts_and_ends(capsys, monkeypatch):
    from rhizofem.output.progress import stage

    monkeypatch.setenv("RHIZOFEM_PROGRESS", "1")
    with stage(MPI.COMM_SELF, "meshing the soil phase"):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "meshing the soil phase ..."
    assert lines[1].startswith("meshing the soil phase: done in ") and lines[1].endswith(" s")
