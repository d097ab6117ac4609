"""The README, CI, the Dockerfile and pyproject all install the one pinned environment."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT, subprocess_env
from rhizofem.cli import COMMANDS


def lock_pins():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_dependency_is_pinned_to_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = lock_pins()
    deps = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        deps += extra
    for dep in deps:
        name, version = dep.split("==")
        assert pins[name.lower()] == version, f"{dep} differs from requirements.lock"


def test_dockerfile_installs_from_the_lock_through_the_setup_script():
    text = (ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in text
    assert "scripts/setup" in text and "scripts/test" in text
    assert re.search(r"^FROM python:3\.1[23]", text, re.M)


def test_docker_entrypoint_hands_commands_to_rhizofem_and_runs_programs(tmp_path):
    # a stand-in `rhizofem` on PATH shows what the entry point ran
    (tmp_path / "rhizofem").write_text('#!/bin/sh\necho "rhizofem $*"\n')
    (tmp_path / "rhizofem").chmod(0o755)
    env = subprocess_env(PATH=f"{tmp_path}:/usr/bin:/bin")

    def entry(*args):
        done = subprocess.run([str(ROOT / "scripts" / "docker-entrypoint"), *args], capture_output=True, text=True,
                              env=env, timeout=30)
        return done.stdout.strip()

    for command in COMMANDS:  # every command, also ones added later
        assert entry(command, "c.toml", "--out", "o") == f"rhizofem {command} c.toml --out o"
    assert entry() == "rhizofem"
    assert entry("--help") == "rhizofem --help"
    assert entry("echo", "a program") == "a program"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^```(?:bash|sh)?\n(.*?)```", readme, re.S | re.M)[0].strip().splitlines()
    commands = [c for c in commands if c and not c.startswith("#")]
    assert len(commands) == 2, "README opens with exactly two commands: demo and tests"
    test_command = commands[1].split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.replace("exec ", "")


def _sourced(script: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``script`` in an interactive bash (as a user's terminal) that sources scripts/setup."""
    return subprocess.run(["bash", "--norc", "--noprofile", "-i", "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=subprocess_env(RHIZOFEM_SETUP_CHECK="1", **env), timeout=120)


OPTIONS = 'echo "options: $- $(set -o | grep -E "errexit|nounset|pipefail" | tr -s "\\t\\n " " ")"'


def test_sourcing_setup_leaves_the_shells_options_alone():
    # a user's `source scripts/setup` must not turn on `set -e`: the next failing command
    # (a config error exits 2) would close the terminal
    venv = str(Path(sys.executable).parent.parent)
    done = _sourced(f"{OPTIONS}; source scripts/setup; echo status $?; {OPTIONS}; false; echo alive; "
                    "command -v rhizofem", RHIZOFEM_VENV=venv)
    lines = done.stdout.splitlines()
    options = [line for line in lines if line.startswith("options:")]
    assert len(options) == 2 and options[0] == options[1], done.stdout + done.stderr
    assert "errexit off" in options[1] and "nounset off" in options[1] and "pipefail off" in options[1]
    assert "status 0" in lines and "alive" in lines, done.stdout + done.stderr
    assert lines[-1] == f"{venv}/bin/rhizofem"


def test_a_failing_setup_returns_to_the_shell(tmp_path):
    # (RHIZOFEM_SETUP_CHECK: an environment that is missing is reported, never installed)
    done = _sourced("source scripts/setup; echo status $?; false; echo alive", RHIZOFEM_VENV=str(tmp_path / "venv"))
    assert done.stdout.splitlines() == ["status 1", "alive"], done.stdout + done.stderr
    assert "Fix: run scripts/setup" in done.stderr
