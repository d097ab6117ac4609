"""The configuration loader refuses bad input before any work, naming the key and the fix."""

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from rhizofem.cli import COMMANDS, command_module
from rhizofem.config import default_toml, load, param, section, to_dict
from rhizofem.errors import ConfigError
from rhizofem.imaging.io import ImageConfig


@dataclass(frozen=True)
class Physics:
    D_cm2_s: float = param(2.88e-7, "diffusion coefficient in cm2/s", gt=0)
    c_in_ug_cm3: float = param(1037.52, "inlet concentration", ge=0)
    steps: int = param(10, "number of steps", ge=1)


@dataclass(frozen=True)
class Inlet:
    tags: tuple[Literal["root", "hair"], ...] = param(("root", "hair"), "inlet surfaces")


@dataclass(frozen=True)
class Example:
    name: str = param("run", "a name")
    physics: Physics = section(Physics, "physical parameters")
    inlet: Inlet = section(Inlet)
    diffusivity: dict[str, float] = param({"0": 0.0, "1": 1.0}, "per label", ge=0)
    mesh: Path | None = param(None, "a mesh file")


def write(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_defaults_and_values(tmp_path):
    cfg = load(Example, write(tmp_path, '[physics]\nD_cm2_s = 1e-6\nsteps = 3\n[inlet]\ntags = ["root"]\n'))
    assert cfg.physics.D_cm2_s == 1e-6 and cfg.physics.steps == 3
    assert cfg.physics.c_in_ug_cm3 == 1037.52
    assert cfg.inlet.tags == ("root",)
    with pytest.raises(Exception):
        cfg.physics.D_cm2_s = 2.0  # frozen


@pytest.mark.parametrize("text, fragment", [
    ("[physics]\nD_cm2s = 1e-6\n", "Did you mean 'D_cm2_s'"),
    ("[phsyics]\nD_cm2_s = 1e-6\n", "Did you mean 'physics'"),
    ("[physics]\nD_cm2_s = -1e-6\n", "[physics] D_cm2_s: -1e-06 must be > 0"),
    ("[physics]\nD_cm2_s = nan\n", "[physics] D_cm2_s: nan is not a finite number"),
    ("[physics]\nD_cm2_s = \"fast\"\n", "[physics] D_cm2_s: expected a number, got str"),
    ("[physics]\nsteps = 2.5\n", "[physics] steps: expected an integer"),
    ("[physics]\nsteps = true\n", "[physics] steps: expected an integer"),
    ("[inlet]\ntags = [\"root\", \"hiar\"]\n", "Did you mean 'hair'"),
    ("diffusivity = { \"0\" = -1.0 }\n", "[diffusivity] 0: -1.0 must be >= 0"),
    ("mesh = \"nowhere.msh\"\n", "file 'nowhere.msh' not found"),
    ("[physics\n", "not valid TOML"),
])
def test_bad_config_is_refused_with_key_named(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as err:
        load(Example, write(tmp_path, text))
    assert fragment in str(err.value)
    assert "c.toml" in str(err.value)  # the file is named


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load(Example, tmp_path / "absent.toml")


def test_relative_paths_are_from_the_config_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.msh").write_text("x")
    cfg = load(Example, write(tmp_path, 'mesh = "sub/m.msh"\n'))
    assert cfg.mesh == (tmp_path / "sub" / "m.msh").resolve()


def test_duplicate_labels_refused(tmp_path):
    with pytest.raises(ConfigError, match="share one label"):
        load(ImageConfig, write(tmp_path, "[labels]\nsoil = 1\npore = 1\n"))


def test_printed_default_parses_back_to_defaults():
    text = default_toml(Example, "title line")
    assert "# diffusion coefficient in cm2/s" in text
    parsed = tomllib.loads(text)
    assert load(Example, parsed) == Example()
    assert to_dict(Example())["physics"]["D_cm2_s"] == 2.88e-7


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_prints_a_config_that_loads(command):
    try:
        module = command_module(command)
    except ModuleNotFoundError as err:
        pytest.skip(f"{command} not implemented in this tree: {err}")
    text = default_toml(module.Config, getattr(module, "CONFIG_TITLE", ""))
    cfg = load(module.Config, tomllib.loads(text))
    assert cfg == module.Config()
    assert not any(isinstance(v, float) and math.isnan(v) for v in to_dict(cfg).values())
