"""Observation features (float32, normalised) and their registry.

A feature is ``fn(ctx) -> float32 [n_smart, width]`` over an
:class:`ObsContext`; an observation spec is a tuple of feature names whose
widths add up to the vector's length. Users add features with
:func:`register_feature` without touching the core.

Features, for the learner's asset (``r`` are its per-step log returns, newest
last, from the price history plus the last price, each price floored at 1 tick,
in float32):

==============  =====  ============================================================
name            width  value
==============  =====  ============================================================
``price``       1      last price / initial price - 1
``fundamental`` 1      fundamental value (whole ticks) / last price - 1
``volatility``  1      the market's EWMA std of per-step log returns x 100
``spread``      1      best ask - best bid in ticks / last price x 1e4 (basis points);
                       0 when a side is empty (and before the first step)
``imbalance``   1      (bid lots - ask lots) / (bid + ask lots) within the recorded
                       depth levels, in [-1, 1]; 0 when empty (and before the first step)
``returns``     5      the 5 most recent ``r`` x 100
``inventory``   1      position in the asset / max_position
``cash_ratio``  1      cash / initial cash - 1
``time_left``   1      fraction of the episode remaining, 1 - step / episode_length
``gain_ratio``  1      ``G / (G + L) - 0.5`` over the 14 most recent ``r``, with
                       ``G = sum(max(r, 0))`` and ``L = sum(max(-r, 0))`` (plain sums, not
                       Wilder's smoothing, so not ``quant.indicators.rsi``); 0 when
                       ``G + L == 0``
``momentum``    1      sum of the 10 most recent ``r`` x 100 (the 10-step log return)
``depth``       2      bid lots and ask lots within the recorded depth levels / 1000
``basis``       1      ``log(last / initial)`` of the asset minus its mean over all
                       assets, x 100: the index-arbitrage signal (0 with one asset)
==============  =====  ============================================================

When the history holds fewer returns than a feature asks for, it uses those
there are. Named specs (:data:`SPECS`): ``default`` (13 values: ``price`` to
``time_left``), ``extended`` (15: adds ``gain_ratio`` and ``momentum``) and
``extended_depth`` (17: adds ``depth``). ``basis`` is in no named spec.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl._validate import check_int

F32 = jnp.float32


@struct.dataclass
class ObsContext:
    """What observation features may read (one market, ``n_smart`` learners)."""

    last_price: jax.Array  # int64 [A] ticks
    initial_price: jax.Array  # int64 [A] ticks
    fundamental: jax.Array  # int64 [A] ticks
    history: jax.Array  # int64 [H, A] past prices, oldest first
    volatility: jax.Array  # float32 [A]
    spread: jax.Array  # int64 [A] ticks (-1 when a side is empty)
    imbalance: jax.Array  # float32 [A]
    depth: jax.Array  # int64 [A, 2] bid and ask lots near the top
    asset: jax.Array  # int32 [n_smart] each learner's asset
    position: jax.Array  # int64 [n_smart, A]
    cash: jax.Array  # int64 [n_smart]
    initial_cash: jax.Array  # int64 []
    max_position: jax.Array  # int64 []
    time_left: jax.Array  # float32 [] fraction of the episode remaining


Feature = Callable[[ObsContext], jax.Array]


def _mine(x: jax.Array, ctx: ObsContext) -> jax.Array:
    """Per-asset [A] -> per-learner [n_smart] (the learner's asset)."""
    return x[ctx.asset]


def _log_returns(ctx: ObsContext, k: int) -> jax.Array:
    """[n_smart, k] most recent log returns of the learner's asset (newest last)."""
    prices = jnp.concatenate([ctx.history, ctx.last_price[None, :]]).astype(F32)
    r = jnp.diff(jnp.log(jnp.maximum(prices, 1.0)), axis=0)[-k:]  # [k, A]
    return r.T[ctx.asset]


def _price(ctx):
    return (_mine(ctx.last_price, ctx) / _mine(ctx.initial_price, ctx) - 1.0)[:, None]


def _fundamental(ctx):
    return (_mine(ctx.fundamental, ctx) / jnp.maximum(_mine(ctx.last_price, ctx), 1) - 1.0)[
        :, None]


def _volatility(ctx):
    return (_mine(ctx.volatility, ctx) * 100.0)[:, None]


def _spread(ctx):
    s = _mine(ctx.spread, ctx)
    return jnp.where(s > 0, s / jnp.maximum(_mine(ctx.last_price, ctx), 1) * 1e4, 0.0)[:, None]


def _imbalance(ctx):
    return _mine(ctx.imbalance, ctx)[:, None]


def _returns(ctx):
    return _log_returns(ctx, 5) * 100.0


def _inventory(ctx):
    held = jnp.take_along_axis(ctx.position, ctx.asset[:, None], axis=1)[:, 0]
    return (held / jnp.maximum(ctx.max_position, 1))[:, None]


def _cash_ratio(ctx):
    return (ctx.cash / jnp.maximum(ctx.initial_cash, 1) - 1.0)[:, None]


def _time_left(ctx):
    return jnp.broadcast_to(ctx.time_left, ctx.cash.shape)[:, None]


def _gain_ratio(ctx):
    """Share of the last 14 log returns' absolute size that was upward, minus 0.5."""
    r = _log_returns(ctx, 14)
    gain = jnp.sum(jnp.maximum(r, 0.0), axis=1)
    loss = jnp.sum(jnp.maximum(-r, 0.0), axis=1)
    share = jnp.where(gain + loss > 0, gain / jnp.maximum(gain + loss, 1e-12), 0.5)
    return (share - 0.5)[:, None]


def _momentum(ctx):
    return (jnp.sum(_log_returns(ctx, 10), axis=1) * 100.0)[:, None]


def _basis(ctx):
    """Learner's asset return since the start minus the mean over all assets (x 100)."""
    rel = jnp.log(jnp.maximum(ctx.last_price, 1) / jnp.maximum(ctx.initial_price, 1))
    return ((_mine(rel, ctx) - jnp.mean(rel)) * 100.0)[:, None]


def _depth(ctx):
    return (ctx.depth[ctx.asset] / 1000.0).reshape(ctx.asset.shape[0], -1)


FEATURES: dict[str, tuple[Feature, int]] = {
    "price": (_price, 1),
    "fundamental": (_fundamental, 1),
    "volatility": (_volatility, 1),
    "spread": (_spread, 1),
    "imbalance": (_imbalance, 1),
    "returns": (_returns, 5),
    "inventory": (_inventory, 1),
    "cash_ratio": (_cash_ratio, 1),
    "time_left": (_time_left, 1),
    "gain_ratio": (_gain_ratio, 1),
    "momentum": (_momentum, 1),
    "depth": (_depth, 2),
    "basis": (_basis, 1),
}

SPECS: dict[str, tuple[str, ...]] = {
    "default": ("price", "fundamental", "volatility", "spread", "imbalance", "returns",
                "inventory", "cash_ratio", "time_left"),
}
SPECS["extended"] = SPECS["default"] + ("gain_ratio", "momentum")
SPECS["extended_depth"] = SPECS["extended"] + ("depth",)


def register_feature(name: str, fn: Feature, width: int) -> None:
    """Add a feature ``fn(ctx) -> float32 [n_smart, width]`` under ``name``."""
    if not isinstance(name, str) or not name or name in FEATURES:
        raise ValueError(f"feature name must be a new non-empty string, got {name!r}")
    check_int("feature width", width, 1, allow_numpy=False)
    FEATURES[name] = (fn, width)


def resolve_spec(spec: str | tuple[str, ...]) -> tuple[str, ...]:
    """A spec name or a tuple of feature names -> validated tuple of feature names."""
    names = SPECS[spec] if isinstance(spec, str) and spec in SPECS else spec
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"observation must be one of {sorted(SPECS)} or a tuple of feature "
                         f"names, got {spec!r}")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown observation features {unknown}; known: {sorted(FEATURES)}")
    return tuple(names)


def obs_size(spec: tuple[str, ...]) -> int:
    """Length of the vector a spec produces."""
    return sum(FEATURES[n][1] for n in spec)


def observe(ctx: ObsContext, spec: tuple[str, ...]) -> jax.Array:
    """float32 [n_smart, obs_size(spec)] observation vectors (NaN-free)."""
    parts = [FEATURES[n][0](ctx).astype(F32) for n in spec]
    return jnp.nan_to_num(jnp.concatenate(parts, axis=1), nan=0.0, posinf=0.0, neginf=0.0)
