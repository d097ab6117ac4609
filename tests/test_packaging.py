"""The README, CI, the Dockerfile and pyproject all install the one pinned environment."""

import re
import tomllib

from conftest import ROOT
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


def test_docker_entrypoint_knows_every_command():
    text = (ROOT / "scripts" / "docker-entrypoint").read_text()
    listed = re.search(r'""\|-\*\|([a-z|]+)\)', text).group(1).split("|")
    assert sorted(listed) == sorted(COMMANDS)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^```(?:bash|sh)?\n(.*?)```", readme, re.S | re.M)[0].strip().splitlines()
    commands = [c for c in commands if c and not c.startswith("#")]
    assert len(commands) == 2, "README opens with exactly two commands: demo and tests"
    test_command = commands[1].split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.replace("exec ", "")
