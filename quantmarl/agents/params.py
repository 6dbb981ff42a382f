"""Per-agent parameters of reactive agents: the SoA record, its ranges and their sampling.

Every agent of a behaviour shares one decision rule and differs only in its
parameters, stored as a struct of arrays (:class:`ReactiveParams`, all fields
``[n]``), drawn at reset from uniform ranges (:class:`BehaviourDistribution`).
A :class:`Block` is a contiguous block of agents sharing one behaviour.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

__all__ = ["INDEX_PAIR", "BehaviourDistribution", "Block", "ReactiveParams", "draw_params"]

I64 = jnp.int64
I32 = jnp.int32
F32 = jnp.float32

INDEX_PAIR = -1  # pair_asset value selecting index arbitrage (see rules.arbitrage)


@struct.dataclass
class ReactiveParams:
    """Heterogeneous per-agent parameters of one block of reactive agents (all ``[n]``)."""

    asset: jax.Array  # int32 [n] asset traded (first leg for arbitrage)
    size: jax.Array  # int64 [n] base order size, lots (>= 1)
    threshold: jax.Array  # float32 [n] trigger (return / relative mispricing / z-score units)
    lookback: jax.Array  # int32 [n] history rows used, 1..H (clipped to [1, H] when used)
    spread_ticks: jax.Array  # int64 [n] market maker half-spread / limit offset, ticks (>= 0)
    skew: jax.Array  # float32 [n] market maker inventory skew, ticks per lot
    noise: jax.Array  # float32 [n] fundamental-estimate noise, fraction of the fundamental
    aggression: jax.Array  # float32 [n] probability of a market order instead of a limit, [0, 1]
    max_inventory: jax.Array  # int64 [n] position limit, lots (>= 0)
    pair_asset: jax.Array  # int32 [n] second arbitrage leg; INDEX_PAIR (-1) = vs the index

    @property
    def n_agents(self) -> int:
        """Number of agents ``n`` (static)."""
        return self.asset.shape[0]


@struct.dataclass
class BehaviourDistribution:
    """Uniform ranges ``[lo, hi]`` from which :func:`sample_params` draws parameters.

    Integer fields (``size``, ``lookback``, ``spread_ticks``, ``max_inventory``;
    bounds rounded to the nearest integer) are drawn uniformly among the
    integers in ``[lo, hi]`` (both included), float fields uniformly in
    ``[lo, hi]`` (drawn in float64, stored as float32). ``index_fraction`` is
    the probability that an agent's ``pair_asset`` is :data:`INDEX_PAIR`.
    Leaves are floats, so a distribution is a pytree that sweeps can map over.
    """

    size_lo: float = 1.0  # lots
    size_hi: float = 10.0
    threshold_lo: float = 0.001  # units depend on the behaviour (see its rule)
    threshold_hi: float = 0.01
    lookback_lo: float = 5.0  # history rows
    lookback_hi: float = 20.0
    spread_lo: float = 2.0  # ticks
    spread_hi: float = 10.0
    skew_lo: float = 0.0  # ticks per lot
    skew_hi: float = 0.1
    noise_lo: float = 0.0  # fraction of the fundamental
    noise_hi: float = 0.02
    aggression_lo: float = 0.0  # probability
    aggression_hi: float = 0.3
    max_inventory_lo: float = 50.0  # lots
    max_inventory_hi: float = 500.0
    index_fraction: float = 0.0  # probability, [0, 1]


# (name, lower bound or None, upper bound or None) per range; checked when concrete.
_RANGES = (
    ("size", 1.0, None),
    ("threshold", 0.0, None),
    ("lookback", 1.0, None),
    ("spread", 0.0, None),
    ("skew", None, None),
    ("noise", 0.0, None),
    ("aggression", 0.0, 1.0),
    ("max_inventory", 0.0, None),
)


def _concrete(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


def _validate_distribution(dist: BehaviourDistribution) -> None:
    """Plain-Python range checks (skipped for traced leaves)."""
    for name, lo_ok, hi_ok in _RANGES:
        lo, hi = _concrete(getattr(dist, f"{name}_lo")), _concrete(getattr(dist, f"{name}_hi"))
        if lo is None or hi is None:
            continue
        if lo > hi:
            raise ValueError(f"BehaviourDistribution.{name}_lo={lo} must be <= {name}_hi={hi}")
        if lo_ok is not None and lo < lo_ok:
            raise ValueError(f"BehaviourDistribution.{name}_lo={lo} must be >= {lo_ok}")
        if hi_ok is not None and hi > hi_ok:
            raise ValueError(f"BehaviourDistribution.{name}_hi={hi} must be <= {hi_ok}")
    frac = _concrete(dist.index_fraction)
    if frac is not None and not 0.0 <= frac <= 1.0:
        raise ValueError(f"BehaviourDistribution.index_fraction={frac} must be in [0, 1]")


def draw_params(
    key: jax.Array,
    n: int,
    dist: BehaviourDistribution,
    n_assets: int = 1,
    *,
    history_len: int | None = None,
) -> ReactiveParams:
    """Draw ``n`` agents' parameters from the uniform ranges of ``dist``.

    Args:
        key: PRNG key; agent ``i`` draws from ``fold_in(key, i)`` (one uniform per field),
            so the first ``n`` agents of a larger block get the same parameters.
        n: number of agents (static).
        dist: the ranges; see :class:`BehaviourDistribution`.
        n_assets: number of assets ``A`` (static). ``asset`` is uniform in
            ``[0, A)``; ``pair_asset`` is uniform among the *other* assets
            (equal to ``asset`` when ``A == 1``, which makes arbitrage idle),
            or :data:`INDEX_PAIR` with probability ``index_fraction``.
        history_len: if given, ``lookback`` is clipped to ``[1, history_len]``.

    Raises:
        ValueError: bad ``n``, ``n_assets``, ``history_len`` or distribution ranges.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(n_assets, bool) or not isinstance(n_assets, int) or n_assets < 1:
        raise ValueError(f"n_assets must be an int >= 1, got {n_assets!r}")
    if history_len is not None and (not isinstance(history_len, int) or history_len < 1):
        raise ValueError(f"history_len must be an int >= 1 or None, got {history_len!r}")
    _validate_distribution(dist)
    return _sample(key, dist, n, n_assets, history_len)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _sample(key, dist, n, n_assets, history_len) -> ReactiveParams:
    # One uniform draw per agent and column (float64 so integer ranges are exact), keyed by
    # the agent's index in its block: growing a block leaves the others' parameters alone.
    idx = jnp.arange(n, dtype=jnp.uint32)
    u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i), (11,),
                                              jnp.float64))(idx).reshape(n, 11)

    def integers(col, lo, hi, dtype):
        lo_i = jnp.round(jnp.asarray(lo, jnp.float64))
        hi_i = jnp.round(jnp.asarray(hi, jnp.float64))
        x = jnp.minimum(lo_i + jnp.floor(u[:, col] * (hi_i - lo_i + 1.0)), hi_i)
        return x.astype(dtype)

    def floats(col, lo, hi):
        lo, hi = jnp.asarray(lo, jnp.float64), jnp.asarray(hi, jnp.float64)
        return jnp.minimum(lo + u[:, col] * (hi - lo), hi).astype(F32)

    asset = integers(0, 0, n_assets - 1, I32)
    pair = (asset + integers(1, 1, max(n_assets - 1, 1), I32)) % n_assets if n_assets > 1 else asset
    pair = jnp.where(u[:, 2] < dist.index_fraction, INDEX_PAIR, pair).astype(I32)
    lookback = integers(3, dist.lookback_lo, dist.lookback_hi, I32)
    if history_len is not None:
        lookback = jnp.clip(lookback, 1, history_len)

    return ReactiveParams(
        asset=asset,
        size=integers(4, dist.size_lo, dist.size_hi, I64),
        threshold=floats(5, dist.threshold_lo, dist.threshold_hi),
        lookback=lookback,
        spread_ticks=integers(6, dist.spread_lo, dist.spread_hi, I64),
        skew=floats(7, dist.skew_lo, dist.skew_hi),
        noise=floats(8, dist.noise_lo, dist.noise_hi),
        aggression=floats(9, dist.aggression_lo, dist.aggression_hi),
        max_inventory=integers(10, dist.max_inventory_lo, dist.max_inventory_hi, I64),
        pair_asset=pair,
    )


@struct.dataclass
class Block:
    """A contiguous block of agents sharing one behaviour.

    ``name`` is static (part of the pytree structure), so a tuple of blocks can be
    passed straight through ``jax.jit``.
    """

    name: str = struct.field(pytree_node=False)  # behaviour name (static)
    params: ReactiveParams  # fields [n_block]
