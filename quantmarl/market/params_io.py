"""Named ``MarketParams`` fields: dotted paths, overrides and params YAML files.

A path names one leaf of :class:`~quantmarl.market.MarketParams` by attribute
names and tuple indices, e.g. ``background.excitation``, ``fundamental.sigma``,
``behaviours.2.threshold_hi``; under ``behaviours`` a block may also be named by
its behaviour (``behaviours.momentum.threshold_hi``) when a config is given. A
params YAML is a mapping of such paths to values (nested mappings are read as
dotted paths), applied onto :func:`~quantmarl.market.default_params`::

    background.excitation: 80.0
    behaviours.momentum.threshold_hi: 0.004

Every value keeps its leaf's dtype, shape and JAX weak type (an int leaf takes integers
only, never rounded), and the result goes through :func:`check_params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import yaml

from quantmarl.agents.params import BehaviourDistribution, _validate_distribution
from quantmarl.market.config import MarketConfig, MarketParams, default_params, validate_params

__all__ = ["apply_overrides", "check_params", "dump_params_yaml", "get_field",
           "load_params_yaml", "resolve_path", "set_field"]


def _children(node: Any) -> list[str]:
    if isinstance(node, tuple):
        return [str(i) for i in range(len(node))]
    return list(getattr(node, "__dataclass_fields__", {}))


def resolve_path(path: str, config: MarketConfig | None = None) -> tuple[str | int, ...]:
    """``path`` as a tuple of attribute names and tuple indices, checked against the
    ``MarketParams`` structure (behaviour names resolved with ``config``). A path that is
    not one numeric leaf raises ``ValueError`` naming it and the accepted names."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"field path must be a non-empty string, got {path!r}")
    node: Any = default_params(config or MarketConfig())
    out: list[str | int] = []
    parts = path.split(".")
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "MarketParams"
        if isinstance(node, tuple):
            names = [n for n, _ in config.reactive] if config is not None else []
            idx = names.index(part) if part in names else int(part) if part.isdigit() else -1
            if not 0 <= idx < len(node):
                raise ValueError(f"unknown field {path!r}: {where} has blocks 0..{len(node) - 1}"
                                 f"{' or ' + ', '.join(names) if names else ''}, got {part!r}")
            node, part = node[idx], idx
        else:
            if part not in _children(node):
                raise ValueError(f"unknown field {path!r}: {part!r} is not in {where} "
                                 f"(accepted: {', '.join(_children(node)) or 'none, a leaf'})")
            node = getattr(node, part)
        out.append(part)
    if _children(node) or np.asarray(node).dtype == np.bool_:
        raise ValueError(f"field {path!r} is not a numeric leaf of MarketParams")
    return tuple(out)


def get_field(params: MarketParams, path: tuple[str | int, ...]) -> Any:
    """The leaf at a resolved ``path`` (see :func:`resolve_path`)."""
    node: Any = params
    for part in path:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


def set_field(params: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """``params`` with the leaf at a resolved ``path`` replaced by ``value`` (no checks)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(params)
        items[head] = set_field(items[head], rest, value)
        return tuple(items)
    return params.replace(**{head: set_field(getattr(params, head), rest, value)})


def _as_leaf(name: str, old: Any, value: Any) -> Any:
    """``value`` in the dtype and shape of the leaf ``old``; ``ValueError`` naming ``name``."""
    if isinstance(old, float):  # BehaviourDistribution leaves are Python floats
        arr = np.asarray(value)
        if arr.shape != () or arr.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(arr)
    ref = np.asarray(old)
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.shape != ref.shape:
        raise ValueError(f"{name} must be a number array of shape {ref.shape}, got {value!r}")
    if ref.dtype.kind in "iu":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integers ({ref.dtype}), got {value!r}")
        arr = np.round(arr)
    return jnp.asarray(old).at[...].set(arr.astype(ref.dtype))  # keeps dtype and weak type


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def check_params(config: MarketConfig, params: MarketParams) -> MarketParams:
    """:func:`~quantmarl.market.validate_params` plus every behaviour's parameter ranges
    (``behaviours.i``: ``lo <= hi`` and the allowed bounds); returns ``params``."""
    validate_params(config, params)
    for i, dist in enumerate(params.behaviours):
        if not isinstance(dist, BehaviourDistribution):
            raise ValueError(f"behaviours.{i} must be a BehaviourDistribution, got {dist!r}")
        try:
            _validate_distribution(dist)
        except ValueError as err:
            raise ValueError(f"behaviours.{i} ({config.reactive[i][0]}): {err}") from None
    return params


def apply_overrides(params: MarketParams, mapping: Mapping[str, Any],
                    config: MarketConfig | None = None) -> MarketParams:
    """``params`` with every ``path: value`` of ``mapping`` applied (nested mappings read as
    dotted paths), then checked with :func:`check_params` when ``config`` is given."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"params overrides must be a mapping, got {type(mapping).__name__}")
    for name, value in _flatten(mapping).items():
        path = resolve_path(name, config)
        params = set_field(params, path, _as_leaf(name, get_field(params, path), value))
    return params if config is None else check_params(config, params)


def load_params_yaml(path: str | Path, config: MarketConfig) -> MarketParams:
    """``default_params(config)`` with the overrides of the YAML file at ``path``, checked."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"params file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"params file {str(p)!r} is not valid YAML: {err}") from None
    return apply_overrides(default_params(config), data or {}, config)


def dump_params_yaml(values: Mapping[str, Any], path: str | Path, header: str = "") -> Path:
    """Write ``path: value`` pairs (numbers or arrays) as a params YAML; ``header`` lines
    become ``#`` comments. Returns the path."""
    plain = {k: np.asarray(v).tolist() for k, v in values.items()}
    text = "".join(f"# {line}\n" for line in header.splitlines())
    p = Path(path)
    p.write_text(text + yaml.safe_dump(plain, sort_keys=False, default_flow_style=False))
    return p
