"""The declared search space of a calibration: which ``MarketParams`` fields are fitted,
within which bounds, on which scale, and how a point of the unit cube becomes params.

A :class:`FitField` is data (a dotted path, see :mod:`quantmarl.market.params_io`,
bounds and ``lin``/``log`` scale), so the fitted set is changed by editing
:data:`DEFAULT_FIELDS` or a config file, never code. Candidates live in the unit cube
``[0, 1]^D``: ``lin`` maps ``u -> lo + u (hi - lo)``, ``log`` maps ``u -> lo (hi / lo)^u``;
integer leaves are rounded to the nearest integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from experiments.config import check_range
from quantmarl.market import MarketConfig, MarketParams
from quantmarl.market import params_io as pio

__all__ = ["DEFAULT_FIELDS", "FitField", "Space", "make_space"]


@dataclass(frozen=True)
class FitField:
    """One fitted field: dotted path into ``MarketParams``, bounds, scale."""

    path: str = "background.excitation"
    lo: float = 0.0
    hi: float = 1.0
    scale: Literal["lin", "log"] = "lin"

    def __post_init__(self) -> None:
        for name, v in (("lo", self.lo), ("hi", self.hi)):
            if not math.isfinite(v):
                raise ValueError(f"fields {self.path!r}: {name} must be finite, got {v!r}")
        if not self.lo < self.hi:
            raise ValueError(f"fields {self.path!r}: lo must be < hi, got lo={self.lo!r}, "
                             f"hi={self.hi!r}")
        if self.scale == "log":
            check_range(f"fields {self.path!r}: lo (log scale)", self.lo, 0.0, None,
                        lo_open=True)


#: the default fitted set (the default market): the mechanisms that make the stylised
#: facts (herding, quotes in units of volatility, sizes and aggressiveness that grow with
#: activity, self-excitation and its memory), the sentiment's and the fundamental's noise,
#: and the chartists' horizons and triggers (which set the linear autocorrelation);
#: bounds bracket the stable region (quote elasticity near 1 with strong herding explodes).
#: Edit this list (or ``fields:`` in a config file) to fit other fields.
DEFAULT_FIELDS: tuple[FitField, ...] = (
    FitField("background.herding", 0.1, 0.8, "lin"),
    FitField("background.quote_vol_elasticity", 0.3, 0.9, "lin"),
    FitField("background.size_elasticity", 0.5, 2.0, "lin"),
    FitField("background.aggression_elasticity", 0.0, 2.0, "lin"),
    FitField("background.excitation", 0.1, 1.0, "log"),
    FitField("background.decay", 0.85, 0.99, "lin"),
    FitField("background.drift_sigma", 1e-4, 2e-3, "log"),
    FitField("fundamental.sigma", 1e-4, 1e-3, "log"),
    FitField("background.offset_scale", 3.0, 12.0, "log"),
    FitField("background.quote_floor", 0.5, 1.0, "lin"),
    FitField("behaviours.momentum.threshold_lo", 1e-4, 1e-3, "log"),
    FitField("behaviours.momentum.threshold_hi", 1e-3, 1e-2, "log"),
    FitField("behaviours.momentum.lookback_hi", 6.0, 30.0, "lin"),
    FitField("behaviours.mean_reversion.lookback_hi", 6.0, 40.0, "lin"),
)


@dataclass(frozen=True)
class Space:
    """Resolved fields of one market: paths as tuples, integer leaves flagged."""

    fields: tuple[FitField, ...]
    paths: tuple[tuple[str | int, ...], ...]
    integer: tuple[bool, ...]  # leaf dtype is an integer: values are rounded

    @property
    def dim(self) -> int:
        """D, the number of fitted fields."""
        return len(self.fields)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 [D] lower and upper bounds, bool [D] log scale."""
        return (np.array([f.lo for f in self.fields], np.float64),
                np.array([f.hi for f in self.fields], np.float64),
                np.array([f.scale == "log" for f in self.fields]))

    def values(self, unit: np.ndarray) -> np.ndarray:
        """float64 [P, D] field values of unit-cube points ``unit`` [P, D]."""
        u = np.clip(np.asarray(unit, np.float64), 0.0, 1.0)
        lo, hi, log = self._bounds()
        safe_lo, safe_hi = np.where(log, lo, 1.0), np.where(log, hi, 1.0)
        out = np.where(log, safe_lo * (safe_hi / safe_lo) ** u, lo + u * (hi - lo))
        return np.where(np.array(self.integer), np.round(out), out)

    def unit(self, values: np.ndarray) -> np.ndarray:
        """float64 [..., D]: the unit-cube point of field values ``values`` [..., D] (the
        inverse of :meth:`values`, clipped to the cube when a value is out of bounds)."""
        v = np.asarray(values, np.float64)
        lo, hi, log = self._bounds()
        ratio = lambda a, b: np.where(log, np.maximum(a, 1e-300) / np.where(log, b, 1.0),  # noqa: E731
                                      np.e)
        u = np.where(log, np.log(ratio(v, lo)) / np.log(ratio(hi, lo)), (v - lo) / (hi - lo))
        return np.clip(u, 0.0, 1.0)

    def one(self, base: MarketParams, row: np.ndarray) -> MarketParams:
        """``base`` with one candidate's values ``row`` [D] set (host-side, unchecked)."""
        for path, v in zip(self.paths, row, strict=True):
            old = pio.get_field(base, path)
            new = (float(v) if isinstance(old, float)
                   else jnp.asarray(old).at[()].set(np.asarray(v, np.asarray(old).dtype)))
            base = pio.set_field(base, path, new)
        return base

    def batch(self, base: MarketParams, values: np.ndarray) -> MarketParams:
        """``base`` broadcast to a leading axis P with the fitted leaves set to ``values``
        [P, D]: the ``batched_params`` input of :func:`experiments.series.simulate`.
        Leaves keep their dtype and JAX weak type, so the market's dtypes do not change."""
        n = values.shape[0]
        out = jax.tree.map(lambda x: jnp.broadcast_to(jnp.asarray(x), (n, *jnp.shape(x))), base)
        for j, path in enumerate(self.paths):  # .at[].set keeps the leaf's dtype and weak type
            leaf = pio.get_field(out, path)
            out = pio.set_field(out, path, leaf.at[:].set(values[:, j].astype(leaf.dtype)))
        return out

    def valid(self, config: MarketConfig, base: MarketParams, values: np.ndarray) -> np.ndarray:
        """bool [P]: each candidate passes :func:`~quantmarl.market.params_io.check_params`
        (joint constraints, e.g. a fitted ``threshold_hi`` below the fixed ``threshold_lo``)."""
        ok = np.ones(values.shape[0], bool)
        for i, row in enumerate(values):
            try:
                pio.check_params(config, self.one(base, row))
            except ValueError:
                ok[i] = False
        return ok

    def mapping(self, row: np.ndarray) -> dict[str, float | int]:
        """``{path: value}`` of one candidate, for a params YAML."""
        return {f.path: int(v) if is_int else float(v)
                for f, v, is_int in zip(self.fields, row, self.integer, strict=True)}


def make_space(fields: tuple[FitField, ...], config: MarketConfig,
               base: MarketParams) -> Space:
    """Resolve and check ``fields`` for ``config`` before anything compiles: unknown or
    repeated paths, and a bound that fails the params checks both with the other fields
    at their defaults and with them at the same bound, raise ``ValueError`` naming the
    field. Other joint violations are refused per candidate (:meth:`Space.valid`)."""
    if not fields:
        raise ValueError("fields must declare at least one field to fit")
    paths, integer = [], []
    for f in fields:
        try:
            path = pio.resolve_path(f.path, config)
        except ValueError as err:
            raise ValueError(f"fields {f.path!r}: {err}") from None
        if path in paths:
            raise ValueError(f"fields {f.path!r}: the same field is declared twice")
        leaf = pio.get_field(base, path)
        if np.asarray(leaf).shape != ():
            raise ValueError(f"fields {f.path!r}: only scalar fields can be fitted, "
                             f"got shape {np.asarray(leaf).shape}")
        paths.append(path)
        integer.append(not isinstance(leaf, float) and np.asarray(leaf).dtype.kind in "iu")
    space = Space(tuple(fields), tuple(paths), tuple(integer))
    for j, f in enumerate(fields):
        for name, u in (("lo", 0.0), ("hi", 1.0)):
            row = space.values(np.full((1, space.dim), u))[0]  # every field at this bound
            alone = Space((f,), (paths[j],), (integer[j],)).one(base, row[j:j + 1])
            try:
                pio.check_params(config, alone)
            except ValueError as err:
                if space.valid(config, base, row[None])[0]:
                    continue  # admissible together with the other fields' same bound
                raise ValueError(f"fields {f.path!r}: bound {name}={getattr(f, name)!r} "
                                 f"is not allowed: {err}") from None
    return space
