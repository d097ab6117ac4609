"""Reading another run's summary.json, with provenance.

Every hand-over between rhizofem's models goes through :class:`Upstream`: the downstream run
names the upstream run's ``summary.json`` in its configuration, reads the values it needs
from it by their key paths (``results.curve``, ``results.equivalent_radius_um``), and records
under ``inputs`` in its own summary.json where they came from::

    "inputs": {"soil_diffusion": {"path": ".../hom/summary.json", "sha256": "9f2c…",
                                  "command": "homogenize",
                                  "values": {"D_eff_relative": 0.0213, "water_content": 0.3}}}

The sha256 is of the upstream file's bytes as read, so a changed upstream result (a re-run
with other settings) is detectable by comparing it with the file now there. A file that is
missing, not JSON, written by another command, or without a key the hand-over needs is
refused with its path and the key path that is missing (:class:`~rhizofem.errors.InputError`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rhizofem.errors import InputError

__all__ = ["Upstream", "provenance"]

_MISSING = object()


class Upstream:
    """One upstream run's summary.json, read once.

    ``command`` names the command (or commands) whose summary is expected; a summary that
    names another command in its ``command`` key is refused (a summary without that key, e.g.
    written by hand, is accepted). ``role`` says in words what the downstream run takes from
    it, for messages.
    """

    def __init__(self, path: str | Path, *, command: str | Iterable[str] | None = None, role: str = "upstream run"):
        self.path = Path(path).expanduser().resolve()
        self.role = role
        self.values: dict[str, Any] = {}
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{self.path}: the summary.json of the {role} does not exist. Fix: run that "
                             "step first, or correct the path.") from None
        except OSError as err:
            raise InputError(f"{self.path}: cannot read the summary.json of the {role} ({err}).") from None
        self.sha256 = hashlib.sha256(raw).hexdigest()
        try:
            self.doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise InputError(f"{self.path}: not valid JSON ({err}); the {role}'s summary.json is damaged or "
                             "not a summary. Fix: run that step again.") from None
        if not isinstance(self.doc, dict):
            raise InputError(f"{self.path}: a summary.json is a JSON object, this holds a "
                             f"{type(self.doc).__name__}. Fix: give the {role}'s summary.json.")
        expected = (command,) if isinstance(command, str) else tuple(command or ())
        self.command = self.doc.get("command")
        if expected and self.command is not None and self.command not in expected:
            raise InputError(f"{self.path}: the summary of a `rhizofem {self.command}` run, but the {role} is a "
                             f"`rhizofem {' / '.join(expected)}` run. Fix: give the summary.json of that run.")

    # -- reading ----------------------------------------------------------------------------
    def get(self, keypath: str, default: Any = _MISSING) -> Any:
        """The value at ``keypath`` (dots between keys, e.g. ``"results.hair_factor"``).

        Without ``default`` a missing key (or a null) is refused naming the file and the
        first key of the path that is missing."""
        node: Any = self.doc
        walked = []
        for key in keypath.split("."):
            walked.append(key)
            if not isinstance(node, dict) or key not in node or node[key] is None:
                if default is not _MISSING:
                    return default
                where = ".".join(walked)
                why = "is null" if isinstance(node, dict) and key in node else "is missing"
                raise InputError(f"{self.path}: key '{where}' {why}; the {self.role} needs '{keypath}'. "
                                 f"Fix: give the summary.json of a run that computed it ({self._hint()}).")
            node = node[key]
        return node

    def number(self, keypath: str, *, positive: bool = False) -> float:
        """A finite number at ``keypath`` (refused otherwise, naming file and key)."""
        value = self.get(keypath)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{self.path}: key '{keypath}' is {value!r}, not a finite number. Fix: give the "
                             f"summary.json of a run that computed it ({self._hint()}).")
        if positive and value <= 0:
            raise InputError(f"{self.path}: key '{keypath}' = {value!r} must be > 0 for the {self.role}.")
        return float(value)

    def take(self, name: str, value: Any) -> Any:
        """Record ``value`` as taken from this run under ``name``; returns it."""
        self.values[name] = value
        return value

    def _hint(self) -> str:
        return f"a `rhizofem {self.command}` run" if self.command else "see docs/links.md"

    # -- provenance -------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """What the downstream summary.json keeps under ``inputs``: path, sha256, values."""
        out: dict[str, Any] = {"path": str(self.path), "sha256": self.sha256}
        if self.command is not None:
            out["command"] = self.command
        out["values"] = dict(self.values)
        return out


def provenance(**upstreams: Upstream | None) -> dict[str, Any]:
    """The ``inputs`` section of a summary.json: one record per upstream run used."""
    return {role: up.record() for role, up in upstreams.items() if up is not None}
