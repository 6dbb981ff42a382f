"""Experiment configuration: frozen dataclasses loaded from defaults, quick
overrides, a YAML file and command-line overrides, with strict validation.

An experiment declares its configuration as a frozen :func:`dataclasses.dataclass`
whose defaults are the full run. Fields may be nested frozen dataclasses,
tuples (``tuple[int, ...]``, ``tuple[str, int]``, tuples of dataclasses),
``int``, ``float``, ``bool``, ``str``, ``X | None`` and ``Literal[...]``. Range
checks live in the dataclass's ``__post_init__`` (use :func:`check_range`); type
checks and unknown keys are handled here, before any dataclass is built.

>>> @dataclass(frozen=True)
... class Config:
...     QUICK: ClassVar[dict] = {"steps": 100}
...     seeds: int = 8
...     steps: int = 2000
>>> load_config(Config, quick=True).steps
100
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml

from quantmarl._validate import check_range

__all__ = ["check_range", "config_to_dict", "dump_config", "load_config", "read_yaml"]

T = TypeVar("T")
MIN_SEEDS = 2


# ----------------------------------------------------------------------------- types


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"tuple[{inner}]"
    return str(tp)


def _bad(name: str, tp: Any, value: Any) -> ValueError:
    return ValueError(f"{name} must be {_type_name(tp)}, got {value!r} ({type(value).__name__})")


def _coerce(value: Any, tp: Any, name: str) -> Any:
    """``value`` checked against (and converted to) the annotated type ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name)
            except ValueError:
                continue
        raise _bad(name, tp, value)
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _bad(name, tp, value)
    if tp is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise _bad(name, tp, value)
    if tp is int:
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        raise _bad(name, tp, value)
    if tp is float:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, (bool, np.bool_)):
            return float(value)
        raise _bad(name, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _bad(name, tp, value)
    if tp is tuple or origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _bad(name, tp, value)
        if not args:  # bare ``tuple``: lists become tuples all the way down
            return _freeze(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{name}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{name} must be {_type_name(tp)} (length {len(args)}), "
                             f"got {value!r} (length {len(value)})")
        return tuple(_coerce(v, a, f"{name}[{i}]") for i, (v, a) in enumerate(
            zip(value, args, strict=True)))
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise _bad(name, tp, value)
        try:
            return tp(**_normalise(tp, value, f"{name}."))
        except TypeError as err:  # a required field is missing
            raise ValueError(f"{name}: {err}") from None
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _bad(name, tp, value)
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _expand_dotted(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``{"market.n_assets": 2}`` -> ``{"market": {"n_assets": 2}}`` (merged with nesting)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ValueError(f"config keys must be strings, got {key!r}")
        head, _, rest = key.partition(".")
        if rest:
            value = {rest: value}
        if isinstance(value, Mapping):
            value = _expand_dotted(value)
            if isinstance(out.get(head), dict):
                value = _merge(out[head], value)
        out[head] = value
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _normalise(cls: type, mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Check one layer of overrides against ``cls``: known keys, right types.

    Nested-dataclass fields stay partial dicts (merged with the defaults later)."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {mapping!r}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    out: dict[str, Any] = {}
    for key, value in _expand_dotted(mapping).items():
        if key not in names:
            raise ValueError(f"unknown config key {prefix + key!r}; accepted keys"
                             f"{' in ' + prefix.rstrip('.') if prefix else ''}: "
                             f"{', '.join(names)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp) and isinstance(value, tp):
            out[key] = _as_changes(value)  # a whole instance: every field, mergeable
        elif dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            out[key] = _normalise(tp, value, f"{prefix}{key}.")
        else:
            out[key] = _coerce(value, tp, prefix + key)
    return out


def _as_changes(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a (nested) dict of field values, for merging."""
    return {f.name: _as_changes(v) if dataclasses.is_dataclass(v := getattr(obj, f.name))
            and not isinstance(v, type) else v for f in dataclasses.fields(obj) if f.init}


def _build(obj: T, changes: Mapping[str, Any], prefix: str = "") -> T:
    """``obj`` with ``changes`` applied (nested dicts into nested dataclasses)."""
    kwargs = {}
    for key, value in changes.items():
        if isinstance(value, dict):
            value = _build(getattr(obj, key), value, f"{prefix}{key}.")
        kwargs[key] = value
    try:
        return dataclasses.replace(obj, **kwargs)
    except ValueError as err:
        if prefix:
            raise ValueError(f"{prefix.rstrip('.')}: {err}") from None
        raise


# ----------------------------------------------------------------------------- public


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file holding a mapping (empty file -> ``{}``); ``ValueError`` otherwise."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"config file {str(p)!r} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping, got {type(data).__name__}")
    return data


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    quick: bool | Mapping[str, Any] = False,
) -> T:
    """Resolve a config: ``cls()`` defaults, then quick overrides, then the YAML
    file at ``path``, then ``overrides`` (later layers win).

    ``quick``: ``True`` uses the class attribute ``QUICK`` (a dict, optional);
    a mapping is used as the quick overrides itself. Keys may be nested
    mappings or dotted paths (``"market.n_assets"``). Raises ``ValueError`` for
    unknown keys (naming the dotted key and the accepted keys), wrong types
    (naming field, expected type and value) and out-of-range values (from the
    dataclasses' ``__post_init__``); a ``seeds`` field must be an int >= 2.
    """
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"{cls!r} is not a dataclass type")
    layers: list[Mapping[str, Any]] = []
    if quick is True:
        layers.append(getattr(cls, "QUICK", {}))
    elif isinstance(quick, Mapping):
        layers.append(quick)
    if path is not None:
        layers.append(read_yaml(path))
    if overrides:
        layers.append(overrides)
    changes: dict[str, Any] = {}
    for layer in layers:
        changes = _merge(changes, _normalise(cls, layer))
    cfg = _build(cls(), changes)
    seeds = getattr(cfg, "seeds", None)
    if isinstance(seeds, int) and seeds < MIN_SEEDS:
        raise ValueError(f"seeds must be in [{MIN_SEEDS}, inf), got {seeds!r}")
    return cfg


def config_to_dict(cfg: Any) -> Any:
    """YAML/JSON-ready data: dataclasses -> dicts, tuples -> lists, numpy scalars -> Python."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [config_to_dict(v) for v in cfg]
    if isinstance(cfg, Mapping):
        return {str(k): config_to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, np.generic):
        return cfg.item()
    return cfg


def dump_config(cfg: Any, path: str | Path) -> Path:
    """Write ``config_to_dict(cfg)`` as YAML (field order kept); returns the path."""
    p = Path(path)
    p.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=False))
    return p
