"""What reactive agents see (:class:`MarketView`) and what they send (:class:`Orders`).

Money stays exact: prices are int64 ticks, quantities int64 lots. The float32
fields of the view are statistics and scales only; no order price or quantity
is ever a float.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

__all__ = ["MARKET", "MarketView", "Orders", "make_view", "no_orders"]

MARKET = 0  # order price meaning "market order" (same code as quantmarl.book.auction.MARKET)


@struct.dataclass
class MarketView:
    """One market with ``A`` assets at one step, as reactive agents observe it.

    The history length ``H`` is static (it is the array shape); agents with a
    shorter lookback mask the older rows.
    """

    last_price: jax.Array  # int64 [A] ticks (last trade or clearing price)
    fundamental: jax.Array  # int64 [A] ticks (true value; agents see it with their own noise)
    best_bid: jax.Array  # int64 [A] ticks, 0 if none
    best_ask: jax.Array  # int64 [A] ticks, 0 if none
    history: jax.Array  # int64 [H, A] past prices in ticks, oldest first, most recent last
    volatility: jax.Array  # float32 [A] recent per-step return std (for scaling)
    liquidity_mult: jax.Array  # float32 [A] >= 1 widens market-maker spreads; 1 normal
    price_scale: jax.Array  # float32 [A] factor on agents' tick offsets (volatility-scaled); 1
    index_weights: jax.Array  # float32 [A] weights of the assets in an index; may be zeros

    @property
    def n_assets(self) -> int:
        """Number of assets ``A`` (static)."""
        return self.last_price.shape[-1]

    @property
    def history_len(self) -> int:
        """Number of history rows ``H`` (static)."""
        return self.history.shape[-2]


@struct.dataclass
class Orders:
    """Up to two orders per agent per step: ``k`` slots, 1 or 2 (two-sided quoters use 2).

    Invariants produced by every built-in rule: ``side`` in ``{-1, 0, +1}``;
    ``qty > 0`` exactly when ``side != 0``; ``price >= 0`` (``0`` = market
    order, limits ``>= 1``); rows with ``side == 0`` have price 0 and qty 0.
    """

    side: jax.Array  # int64 [n, k] +1 buy, -1 sell, 0 no order
    price: jax.Array  # int64 [n, k] limit price in ticks; 0 (MARKET) = market order
    qty: jax.Array  # int64 [n, k] lots (> 0 when side != 0, else 0)
    asset: jax.Array  # int32 [n, k] asset index

    @property
    def n_agents(self) -> int:
        """Number of agents ``n`` (static)."""
        return self.side.shape[0]

    @property
    def slots(self) -> int:
        """Order slots per agent ``k`` (static)."""
        return self.side.shape[1]

    def padded(self, k: int = 2) -> Orders:
        """The same orders with ``k`` slots; added slots are empty (side, price, qty 0) and
        carry slot 0's asset."""
        extra = k - self.slots
        if extra < 0:
            raise ValueError(f"cannot pad {self.slots} order slots to {k}")
        if extra == 0:
            return self

        def pad(x, fill):
            return jnp.concatenate([x, jnp.broadcast_to(fill, (x.shape[0], extra))], axis=1)

        zero = jnp.zeros((self.n_agents, 1), jnp.int64)
        return Orders(side=pad(self.side, zero), price=pad(self.price, zero),
                      qty=pad(self.qty, zero), asset=pad(self.asset, self.asset[:, :1]))


def no_orders(n: int) -> Orders:
    """``n`` agents sending nothing (side 0, price 0, qty 0, asset 0)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    zeros = jnp.zeros((n, 2), jnp.int64)
    return Orders(side=zeros, price=zeros, qty=zeros, asset=jnp.zeros((n, 2), jnp.int32))


def _int64(name: str, value, shape: tuple[int, ...]) -> jax.Array:
    arr = jnp.asarray(value)
    if jnp.issubdtype(arr.dtype, jnp.floating):
        raise ValueError(f"{name} must be integer ticks, got dtype {arr.dtype}")
    arr = jnp.broadcast_to(arr.astype(jnp.int64), shape)
    return arr


def make_view(
    last_price,
    *,
    fundamental=None,
    best_bid=None,
    best_ask=None,
    history=None,
    history_len: int | None = None,
    volatility=None,
    liquidity_mult=None,
    price_scale=None,
    index_weights=None,
) -> MarketView:
    """Build a :class:`MarketView` with sensible defaults (for tests, demos and shells).

    Args:
        last_price: int ticks ``[A]`` (a scalar means one asset).
        fundamental: int ticks ``[A]``; defaults to ``last_price``.
        best_bid, best_ask: int ticks ``[A]``; default 0 (empty side).
        history: int ticks ``[H, A]`` oldest first; defaults to ``last_price``
            repeated ``history_len`` (default 1) times.
        volatility: float ``[A]``; default 0.
        liquidity_mult: float ``[A]``; default 1 (normal liquidity).
        price_scale: float ``[A]``; default 1 (offsets in plain ticks).
        index_weights: float ``[A]``; default 0 (no index).
    """
    last = np.atleast_1d(np.asarray(last_price))
    if last.ndim != 1:
        raise ValueError(f"last_price must be a scalar or 1-D [A], got shape {last.shape}")
    n_assets = last.shape[0]
    a_shape = (n_assets,)
    last_j = _int64("last_price", last, a_shape)
    if history is None:
        h = 1 if history_len is None else int(history_len)
        if h < 1:
            raise ValueError(f"history_len must be >= 1, got {history_len}")
        hist = jnp.broadcast_to(last_j, (h, n_assets))
    else:
        hist_np = np.asarray(history)
        if hist_np.ndim == 1 and n_assets == 1:
            hist_np = hist_np[:, None]
        if hist_np.ndim != 2 or hist_np.shape[1] != n_assets:
            raise ValueError(f"history must have shape [H, {n_assets}], got {hist_np.shape}")
        hist = _int64("history", hist_np, hist_np.shape)

    def f32(value, default):
        v = default if value is None else value
        return jnp.broadcast_to(jnp.asarray(v, jnp.float32), a_shape)

    return MarketView(
        last_price=last_j,
        fundamental=last_j if fundamental is None else _int64("fundamental", fundamental, a_shape),
        best_bid=_int64("best_bid", 0 if best_bid is None else best_bid, a_shape),
        best_ask=_int64("best_ask", 0 if best_ask is None else best_ask, a_shape),
        history=hist,
        volatility=f32(volatility, 0.0),
        liquidity_mult=f32(liquidity_mult, 1.0),
        price_scale=f32(price_scale, 1.0),
        index_weights=f32(index_weights, 0.0),
    )
