"""TOML configuration files → frozen, validated dataclasses.

Every command of rhizofem is driven by one TOML file. Its schema is a tree of frozen
dataclasses declared next to the code that uses them; each field is declared with
:func:`param` (a documented value with bounds) or :func:`section` (a nested table)::

    @dataclass(frozen=True)
    class Physics:
        D_cm2_s: float = param(2.88e-7, "diffusion coefficient in the soil aggregates", gt=0)

Units are part of the key names (``D_cm2_s``, ``voxel_size_um``), as everywhere in rhizofem.

:func:`load` refuses, before any work starts, an unknown key (naming the nearest valid key),
a value of the wrong type, a NaN or out-of-range number, a missing required key and a file
that does not exist, with a message that names the file, the key and the fix.
:func:`default_toml` prints a commented configuration with every default, a valid starting
point for ``rhizofem <command> --print-config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rhizofem.errors import ConfigError

__all__ = [
    "ConfigError",
    "default_toml",
    "load",
    "param",
    "section",
    "to_dict",
]

_MISSING = dataclasses.MISSING


def param(
    default: Any = _MISSING,
    doc: str = "",
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    must_exist: bool = True,
    example: Any = None,
) -> Any:
    """A documented configuration value.

    Args:
        default: the value when the key is absent; omit for a required key. ``None`` marks an
            optional value that the file may leave out.
        doc: one line saying what the value is, in the field's words, with its unit.
        gt, ge, lt, le: bounds on numbers (also applied to every element of a tuple or of a
            table of numbers).
        must_exist: for ``Path`` values, whether the file must exist when the config is loaded.
        example: a value shown (commented out) by :func:`default_toml` for optional keys.
    """
    metadata = {
        "doc": doc,
        "bounds": {"gt": gt, "ge": ge, "lt": lt, "le": le},
        "must_exist": must_exist,
        "example": example,
    }
    if isinstance(default, (dict, list)):
        frozen = dict(default) if isinstance(default, dict) else tuple(default)
        return dataclasses.field(default_factory=lambda: frozen, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def section(cls: type, doc: str = "") -> Any:
    """A nested table (``[name]`` in TOML) whose schema is the dataclass ``cls``."""
    return dataclasses.field(default_factory=cls, metadata={"doc": doc, "section": True})


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def load(cls: type, source: str | Path | Mapping[str, Any], *, base_dir: Path | None = None):
    """Build a validated ``cls`` from a TOML file, a TOML string's parsed dict, or a dict.

    Relative paths inside the configuration are taken relative to the TOML file's folder
    (or ``base_dir``, default the current directory, for a dict).
    """
    if isinstance(source, Mapping):
        data, where = dict(source), "config"
        base = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise ConfigError(
                f"{path}: configuration file not found. "
                "Fix: give the path of an existing TOML file, or start from "
                "`rhizofem <command> --print-config > config.toml`."
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: not valid TOML ({err}). Fix the syntax at that place.") from None
        base = Path(base_dir) if base_dir is not None else path.resolve().parent
    return _build(cls, data, _Context(where, base), ())


@dataclasses.dataclass
class _Context:
    file: str
    base_dir: Path

    def fail(self, keypath: tuple[str, ...], message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.file}: {_keyname(keypath)}: {message}")


def _keyname(keypath: tuple[str, ...]) -> str:
    if not keypath:
        return "top level"
    if len(keypath) == 1:
        return f"key '{keypath[0]}'"
    return f"[{'.'.join(keypath[:-1])}] {keypath[-1]}"


def _build(cls: type, data: Any, ctx: _Context, keypath: tuple[str, ...]):
    if not isinstance(data, Mapping):
        ctx.fail(keypath, f"expected a table, got {type(data).__name__} {data!r}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            where = f"[{'.'.join(keypath)}]" if keypath else "the top level"
            hint = f" Did you mean '{close[0]}'?" if close else ""
            valid = ", ".join(fields)
            raise ConfigError(
                f"{ctx.file}: unknown key '{key}' in {where}.{hint} Valid keys there: {valid}."
            )
    values = {}
    for name, f in fields.items():
        sub = keypath + (name,)
        if name in data:
            values[name] = _coerce(data[name], hints[name], f.metadata, ctx, sub)
        elif f.default is _MISSING and f.default_factory is _MISSING:
            ctx.fail(sub, f"required key is missing ({f.metadata.get('doc', '')}). Fix: add it.")
    try:
        obj = cls(**values)
    except ConfigError as err:  # a __post_init__ check across several keys
        where = f"[{'.'.join(keypath)}]" if keypath else "top level"
        raise ConfigError(f"{ctx.file}: {where}: {err}") from None
    return obj


def _coerce(value: Any, tp: Any, meta: Mapping[str, Any], ctx: _Context, keypath):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _coerce(value, non_none[0], meta, ctx, keypath)
        for a in non_none:  # e.g. float | str: take the first that fits
            try:
                return _coerce(value, a, meta, ctx, keypath)
            except ConfigError:
                continue
        ctx.fail(keypath, f"{value!r} fits none of {', '.join(_typename(a) for a in non_none)}.")

    if dataclasses.is_dataclass(tp):
        return _build(tp, value, ctx, keypath)

    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(keypath, f"{value!r} is not one of {', '.join(repr(a) for a in args)}.{hint}")
        return value

    if origin is tuple:
        if not isinstance(value, list):
            ctx.fail(keypath, f"expected an array, got {_describe(value)}.")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(
                _coerce(v, args[0], meta, ctx, keypath[:-1] + (f"{keypath[-1]}[{i}]",))
                for i, v in enumerate(value)
            )
        if len(value) != len(args):
            ctx.fail(keypath, f"expected {len(args)} values, got {len(value)}: {value!r}.")
        return tuple(
            _coerce(v, a, meta, ctx, keypath[:-1] + (f"{keypath[-1]}[{i}]",))
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )

    if origin in (dict, Mapping) or tp is dict:
        key_tp, val_tp = args if args else (str, Any)
        if not isinstance(value, Mapping):
            ctx.fail(keypath, f"expected a table, got {_describe(value)}.")
        return {
            str(k): _coerce(v, val_tp, meta, ctx, keypath + (str(k),)) for k, v in value.items()
        }

    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            ctx.fail(keypath, f"expected true or false, got {_describe(value)}.")
        return value
    if tp in (int, float):
        # TOML integers are fine where a float is asked for, never the other way round
        accepted, name = (int, "an integer") if tp is int else ((int, float), "a number")
        if isinstance(value, bool) or not isinstance(value, accepted):
            ctx.fail(keypath, f"expected {name}, got {_describe(value)}.")
        value = tp(value)
        if not math.isfinite(value):
            ctx.fail(keypath, f"{value} is not a finite number. Fix: give a finite value.")
        _check_bounds(value, meta, ctx, keypath)
        return value
    if tp is str:
        if not isinstance(value, str):
            ctx.fail(keypath, f"expected a string, got {_describe(value)}.")
        return value
    if tp is Path:
        if not isinstance(value, str) or not value:
            ctx.fail(keypath, f"expected a file path (a string), got {_describe(value)}.")
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (ctx.base_dir / path).resolve()
        if meta.get("must_exist", True) and not path.exists():
            ctx.fail(
                keypath,
                f"file '{value}' not found (looked for {path}). "
                "Fix: correct the path; relative paths are taken from the config file's folder.",
            )
        return path
    raise TypeError(f"rhizofem.config cannot read values of type {tp!r} ({_keyname(keypath)})")


def _check_bounds(value: float, meta: Mapping[str, Any], ctx: _Context, keypath):
    b = meta.get("bounds") or {}
    doc = meta.get("doc", "")
    what = f" ({doc})" if doc else ""
    for op, bound, ok in (
        (">", b.get("gt"), lambda v, x: v > x),
        (">=", b.get("ge"), lambda v, x: v >= x),
        ("<", b.get("lt"), lambda v, x: v < x),
        ("<=", b.get("le"), lambda v, x: v <= x),
    ):
        if bound is not None and not ok(value, bound):
            ctx.fail(keypath, f"{value!r} must be {op} {bound}{what}. Fix: give a value {op} {bound}.")


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _typename(tp: Any) -> str:
    return getattr(tp, "__name__", repr(tp))


# --------------------------------------------------------------------------------------
# Echo and printing
# --------------------------------------------------------------------------------------


def to_dict(obj: Any) -> Any:
    """A configuration as plain JSON-able data (paths as strings), for summary.json."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def default_toml(cls: type, title: str = "") -> str:
    """A commented TOML text with every key of ``cls`` at its default value.

    Optional keys without a default are shown commented out. The text parses back with
    :func:`load` (without the commented keys) to the defaults, which a test checks.
    """
    lines: list[str] = []
    if title:
        lines += [f"# {line}" if line else "#" for line in title.splitlines()] + [""]
    _emit(cls, (), lines)
    return "\n".join(lines).rstrip() + "\n"


def _emit(cls: type, keypath: tuple[str, ...], lines: list[str]) -> None:
    hints = typing.get_type_hints(cls)
    inst = cls()
    sections = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("section") or dataclasses.is_dataclass(hints[f.name]):
            sections.append(f)
            continue
        if _optional_dataclass(hints[f.name]) is not None and getattr(inst, f.name) is None:
            continue  # emitted after the plain keys, as a commented-out table
        doc = f.metadata.get("doc", "")
        value = getattr(inst, f.name)
        if doc:
            lines.extend(f"# {d}" for d in doc.splitlines())
        bounds = {k: v for k, v in (f.metadata.get("bounds") or {}).items() if v is not None}
        if bounds:
            symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
            lines.append("#   (" + ", ".join(f"{symbols[k]} {v}" for k, v in bounds.items()) + ")")
        choices = _choices(hints[f.name])
        if choices:
            lines.append("#   one of: " + ", ".join(_toml_value(c) for c in choices))
        if isinstance(value, Mapping):
            # a table of values: emitted as an inline table to keep its place next to its doc
            lines.append(f"{f.name} = {_toml_value(value)}")
        elif value is None:
            example = f.metadata.get("example")
            shown = _toml_value(example) if example is not None else '"..."'
            lines.append(f"# {f.name} = {shown}   (optional)")
        else:
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    for f in dataclasses.fields(cls):
        inner = _optional_dataclass(hints[f.name])
        if inner is not None and getattr(inst, f.name) is None:
            # an optional table: shown commented out, with its keys at their defaults
            sub = keypath + (f.name,)
            block: list[str] = [f"[{'.'.join(sub)}]   (optional)"]
            block.extend(f"{d}" for d in f.metadata.get("doc", "").splitlines())
            block.append("")
            _emit(inner, sub, block)
            lines.extend(f"# {b}" if b and not b.startswith("#") else (f"#{b}" if b else "") for b in block)
    for f in sections:
        sub = keypath + (f.name,)
        lines.append(f"[{'.'.join(sub)}]")
        doc = f.metadata.get("doc", "")
        if doc:
            lines.extend(f"# {d}" for d in doc.splitlines())
        lines.append("")
        _emit(hints[f.name], sub, lines)


def _optional_dataclass(tp: Any) -> type | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        non_none = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(non_none) == 1 and dataclasses.is_dataclass(non_none[0]):
            return non_none[0]
    return None


def _choices(tp: Any) -> tuple:
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if args and typing.get_origin(args[0]) is Literal:
            return typing.get_args(args[0])
    return ()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        text = str(value).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_key(key: Any) -> str:
    key = str(key)
    if key.replace("_", "").replace("-", "").isalnum() and not key.isdigit():
        return key
    return f'"{key}"'
