"""Configurations of linked runs written as TOML (the scale-linking workflow writes one per run)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rhizofem.config import _toml_key, _toml_value

__all__ = ["toml_text", "write_toml"]


def toml_text(config: Mapping[str, Any], header: str = "") -> str:
    """TOML of ``{"key": value, "section": {"key": value}}`` (top-level keys first, then one
    table per section; None values are left out: the model's default)."""
    lines = [f"# {line}" for line in header.splitlines()]
    top = {k: v for k, v in config.items() if not isinstance(v, Mapping) and v is not None}
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in top.items()]
    for name, section in config.items():
        if isinstance(section, Mapping):
            lines.append(f"\n[{name}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in section.items() if v is not None]
    return "\n".join(lines) + "\n"


def write_toml(path: str | Path, config: Mapping[str, Any], header: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml_text(config, header))
    return path
