"""Built-in decision rules: hand-computed decisions and order invariants at scale."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents import registry, rules
from quantmarl.agents.batching import uniforms
from quantmarl.agents.params import INDEX_PAIR, ReactiveParams
from quantmarl.agents.reactive import BUILT_IN
from quantmarl.agents.registry import sample_params
from quantmarl.agents.rules import SIZE_MULT_CAP
from quantmarl.agents.view import MARKET, MarketView, Orders, make_view

KEY = jax.random.key(0)


def agent(**kw) -> ReactiveParams:
    """One agent's parameters (scalar fields) with neutral defaults."""
    base = dict(asset=0, size=5, threshold=0.05, lookback=5, spread_ticks=2, skew=0.0,
                noise=0.0, aggression=0.0, max_inventory=100, pair_asset=1)
    base.update(kw)
    dtypes = dict(asset=jnp.int32, size=jnp.int64, threshold=jnp.float32, lookback=jnp.int32,
                  spread_ticks=jnp.int64, skew=jnp.float32, noise=jnp.float32,
                  aggression=jnp.float32, max_inventory=jnp.int64, pair_asset=jnp.int32)
    return ReactiveParams(**{k: jnp.asarray(v, dtypes[k]) for k, v in base.items()})


_JITTED = {}


def decide(rule, view: MarketView, p: ReactiveParams, inventory=None, u=None):
    """Run one agent's rule (jitted) on uniforms ``u`` (default all 0.5); plain-Python
    lists (side, price, qty, asset), padded to two slots like ``Orders.padded``."""
    inv = jnp.zeros(view.n_assets, jnp.int64) if inventory is None else jnp.asarray(
        inventory, jnp.int64)
    if u is None:
        u = [0.5] * registry.get(rule.__name__).draws
    fn = _JITTED.setdefault(rule, jax.jit(rule))
    out = fn(jnp.asarray(u, jnp.float32), view, p, inv, jnp.int64(0))
    assert [x.dtype for x in out] == [jnp.int64, jnp.int64, jnp.int64, jnp.int32]
    assert all(x.shape == (registry.get(rule.__name__).slots,) for x in out)
    side, price, qty, asset = (np.asarray(x).tolist() for x in out)
    if len(side) == 1:
        side, price, qty, asset = side + [0], price + [0], qty + [0], asset + asset
    return side, price, qty, asset


# ---------------------------------------------------------------- market maker


def test_market_maker_exact_quotes_with_skew():
    view = make_view(1000, best_bid=998, best_ask=1004)  # mid (998 + 1004) // 2 = 1001
    p = agent(spread_ticks=2, skew=0.5, size=5)
    # shift = round(0.5 * 4) = 2: bid = 1001 - 2 - 2, ask = 1001 + 2 - 2
    assert decide(rules.market_maker, view, p, [4]) == ([1, -1], [997, 1001], [5, 5], [0, 0])
    # short inventory skews quotes up: shift = round(0.5 * -6) = -3
    assert decide(rules.market_maker, view, p, [-6])[1] == [1002, 1006]


def test_market_maker_liquidity_mult_doubles_spread():
    p = agent(spread_ticks=3)
    normal = decide(rules.market_maker, make_view(500), p)
    shocked = decide(rules.market_maker, make_view(500, liquidity_mult=2.0), p)
    assert normal[1] == [497, 503]
    assert shocked[1] == [494, 506]
    # non-integer multiple is rounded up: ceil(3 * 1.5) = 5
    assert decide(rules.market_maker, make_view(500, liquidity_mult=1.5), p)[1] == [495, 505]


def test_price_scale_multiplies_every_offset():
    """Quotes in units of observed volatility: spreads and limit offsets x price_scale,
    rounded (market maker rounded up)."""
    p = agent(spread_ticks=3)
    assert decide(rules.market_maker, make_view(500, price_scale=2.0), p)[1] == [494, 506]
    assert decide(rules.market_maker, make_view(500, price_scale=0.5), p)[1] == [498, 502]
    view = make_view(500, history=[400, 450, 500], price_scale=2.5)
    mom = agent(spread_ticks=2, threshold=0.01, lookback=2)  # +11% over 2 rows: buy
    assert decide(rules.momentum, view, mom, u=[0.9])[:3] == ([1, 0], [505, 0], [5, 0])
    noise = agent(spread_ticks=2, aggression=0.0, size=1)
    prices = {decide(rules.noise, make_view(500, price_scale=3.0), noise,
                     u=[0.2, x, 0.5, 0.9])[1][0] for x in np.linspace(0.001, 0.999, 40)}
    assert prices == set(range(494, 507))  # U{-6..6} = U{-round(2 * 3)..}


def test_market_maker_uses_last_when_a_side_is_empty():
    p = agent(spread_ticks=1)
    assert decide(rules.market_maker, make_view(200, best_bid=150), p)[1] == [199, 201]
    assert decide(rules.market_maker, make_view(200, best_ask=250), p)[1] == [199, 201]


def test_market_maker_inventory_limits():
    p = agent(size=5, max_inventory=10)
    view = make_view(100)
    side, _, qty, _ = decide(rules.market_maker, view, p, [10])  # full long: no bid
    assert side == [0, -1] and qty == [0, 5]
    side, _, qty, _ = decide(rules.market_maker, view, p, [8])  # room for 2 more lots
    assert side == [1, -1] and qty == [2, 5]
    side, price, qty, _ = decide(rules.market_maker, view, p, [-10])  # full short: no ask
    assert side == [1, 0] and qty == [5, 0] and price[1] == 0


def test_market_maker_prices_positive_and_ordered_near_zero():
    p = agent(spread_ticks=3, skew=2.0)
    side, price, _, _ = decide(rules.market_maker, make_view(2), p, [5])
    assert side == [1, -1]
    assert price[0] == 1 and price[1] >= 2
    assert decide(rules.market_maker, make_view(0), p)[0] == [0, 0]  # no price: no quotes


# ---------------------------------------------------------------- fundamental


def test_fundamental_buys_and_sells_on_mispricing():
    p = agent(threshold=0.04, size=3, spread_ticks=3, noise=0.0)
    # rel = (1100 - 1000) / 1000 = 0.1 > 0.04: buy, size * floor(0.1 / 0.04) = 3 * 2 lots,
    # limit 3 ticks toward the estimate
    assert decide(rules.fundamental, make_view(1000, fundamental=1100), p) == (
        [1, 0], [1003, 0], [6, 0], [0, 0])
    assert decide(rules.fundamental, make_view(1000, fundamental=900), p)[:3] == (
        [-1, 0], [997, 0], [6, 0])
    # 4% is not beyond the threshold... 3.9% neither
    assert decide(rules.fundamental, make_view(1000, fundamental=1039), p)[0] == [0, 0]
    # the limit never passes the estimate: |mis| = 41 > 3, fine; mis = 2 with tiny threshold
    p2 = agent(threshold=0.001, spread_ticks=5)
    assert decide(rules.fundamental, make_view(1000, fundamental=1002), p2)[1] == [1002, 0]


def test_fundamental_size_cap_and_market_orders():
    p = agent(threshold=0.01, size=2, aggression=1.0)
    side, price, qty, _ = decide(rules.fundamental, make_view(100, fundamental=200), p)
    assert side == [1, 0] and price == [MARKET, 0] and qty == [2 * SIZE_MULT_CAP, 0]


def test_fundamental_noise_moves_estimate():
    # with 50% noise, some keys sell even though the fundamental is 5% above the price
    p = agent(threshold=0.01, noise=0.5)
    view = make_view(1000, fundamental=1050)
    u = uniforms(KEY, 64, registry.get("fundamental").draws)
    sides = jax.jit(jax.vmap(lambda ui: rules.fundamental(
        ui, view, p, jnp.zeros(1, jnp.int64), jnp.int64(0))[0][0]))(u)
    assert {-1, 1} <= set(np.asarray(sides).tolist())  # noise makes some sell, some buy


# ---------------------------------------------------------------- momentum / mean reversion


def test_momentum_uptrend_downtrend_and_lookback_mask():
    hist = [100, 101, 102, 103, 104]
    up = make_view(110, history=hist)
    p = agent(threshold=0.05, lookback=5, size=4, spread_ticks=2)
    # r = (110 - 100) / 100 = 0.1 > 0.05: buy at 110 + 2
    assert decide(rules.momentum, up, p) == ([1, 0], [112, 0], [4, 0], [0, 0])
    # lookback 1 compares with history[-1] = 104: r = 0.0577 < 0.06, lookback 5 gives 0.1
    assert decide(rules.momentum, up, agent(threshold=0.06, lookback=1))[0] == [0, 0]
    assert decide(rules.momentum, up, agent(threshold=0.06, lookback=5))[0] == [1, 0]
    # below threshold: nothing
    assert decide(rules.momentum, up, agent(threshold=0.2))[0] == [0, 0]
    # lookback beyond H is clipped to H
    assert decide(rules.momentum, up, agent(threshold=0.05, lookback=50))[0] == [1, 0]
    down = make_view(90, history=hist)
    assert decide(rules.momentum, down, p)[:2] == ([-1, 0], [88, 0])
    assert decide(rules.momentum, down, agent(aggression=1.0))[1] == [MARKET, 0]


def test_mean_reversion_z_score():
    hist = [200, 100, 100, 102, 98]  # row 0 is outside a lookback of 4
    p = agent(threshold=2.0, lookback=4, size=3, spread_ticks=1)
    # window [100, 100, 102, 98]: mean 100, std sqrt(2); z = (110 - 100) / 1.414 = 7.07
    assert decide(rules.mean_reversion, make_view(110, history=hist), p) == (
        [-1, 0], [109, 0], [3, 0], [0, 0])
    assert decide(rules.mean_reversion, make_view(90, history=hist), p)[:2] == (
        [1, 0], [91, 0])
    # z = (101 - 100) / 1.414 = 0.71 < 2: nothing
    assert decide(rules.mean_reversion, make_view(101, history=hist), p)[0] == [0, 0]
    # z = 0.71 > 0.5: sell
    assert decide(rules.mean_reversion, make_view(101, history=hist),
                  agent(threshold=0.5, lookback=4))[0] == [-1, 0]
    # the lookback mask matters: with row 0 included the mean is 120 and 110 is cheap
    assert decide(rules.mean_reversion, make_view(110, history=hist),
                  agent(threshold=0.1, lookback=5))[0] == [1, 0]
    # flat window: std 0, no signal
    assert decide(rules.mean_reversion, make_view(120, history=[100] * 5), p)[0] == [0, 0]


# ---------------------------------------------------------------- arbitrage


def test_arbitrage_pair_sells_rich_buys_cheap():
    view = make_view([110, 100], fundamental=[100, 100])
    p = agent(asset=0, pair_asset=1, threshold=0.05, size=7, spread_ticks=1)
    # dev = 1.1 / 1.0 - 1 = 0.1 > 0.05: asset 0 rich
    assert decide(rules.arbitrage, view, p) == ([-1, 1], [109, 101], [7, 7], [0, 1])
    # same pair seen from asset 1: buy 1, sell 0
    p1 = agent(asset=1, pair_asset=0, threshold=0.05, size=7, spread_ticks=1)
    assert decide(rules.arbitrage, view, p1) == ([1, -1], [101, 109], [7, 7], [1, 0])
    # ratio of fundamentals: x_a = 100/100, x_b = 180/200 = 0.9 -> dev 0.11: sell 0, buy 1
    view2 = make_view([100, 180], fundamental=[100, 200])
    assert decide(rules.arbitrage, view2, p)[0] == [-1, 1]
    # within threshold: nothing
    assert decide(rules.arbitrage, make_view([103, 100], fundamental=[100, 100]), p)[0] == [
        0, 0]


def test_arbitrage_equal_lots_capped_by_both_legs():
    view = make_view([110, 100], fundamental=[100, 100])
    p = agent(size=7, max_inventory=10)
    # leg 1 (buy) has room 10 - 6 = 4; leg 0 (sell) has room 10 + 0
    assert decide(rules.arbitrage, view, p, [0, 6])[2] == [4, 4]
    assert decide(rules.arbitrage, view, p, [0, 10])[0] == [0, 0]


def test_arbitrage_idle_with_one_asset_or_same_pair():
    p = agent(asset=0, pair_asset=0, threshold=0.0)
    assert decide(rules.arbitrage, make_view(110, fundamental=100), p)[0] == [0, 0]
    view = make_view([110, 100], fundamental=[100, 100])
    assert decide(rules.arbitrage, view, p)[0] == [0, 0]


def test_arbitrage_vs_index():
    w = [0.2, 0.5, 0.3]
    view = make_view([120, 100, 100], fundamental=[100, 100, 100], index_weights=w)
    p = agent(asset=0, pair_asset=INDEX_PAIR, threshold=0.05, size=2, aggression=1.0)
    # x_I = (24 + 50 + 30) / 100 = 1.04, dev = 1.2 / 1.04 - 1 = 0.154: sell 0, hedge on asset 1
    assert decide(rules.arbitrage, view, p) == ([-1, 1], [0, 0], [2, 2], [0, 1])
    # no index: nothing
    flat = make_view([120, 100, 100], fundamental=[100, 100, 100])
    assert decide(rules.arbitrage, flat, p)[0] == [0, 0]


# ---------------------------------------------------------------- noise


def test_noise_trader_valid_orders():
    n = 500
    view = make_view(1000)
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)),
                          agent(size=4, spread_ticks=3, aggression=0.25))
    o = registry.get("noise").act(KEY, view, params, jnp.zeros((n, 1), jnp.int64),
                           jnp.zeros(n, jnp.int64))
    side, price, qty = (np.asarray(x) for x in (o.side, o.price, o.qty))
    assert side.shape == (n, 1) and set(side[:, 0].tolist()) == {-1, 1}
    assert qty[:, 0].min() == 1 and qty[:, 0].max() == 4
    limits = price[price[:, 0] > 0, 0]
    assert limits.min() == 997 and limits.max() == 1003
    frac_market = (price[:, 0] == MARKET).mean()
    assert 0.15 < frac_market < 0.35


# ---------------------------------------------------------------- properties at scale


def random_view(key, n_assets=3, history_len=16) -> MarketView:
    k1, k2, k3, k4, k5, k6 = jax.random.split(key, 6)
    last = jax.random.randint(k1, (n_assets,), 1, 500, jnp.int64)
    fund = jnp.maximum(last + jax.random.randint(k2, (n_assets,), -50, 50, jnp.int64), 1)
    hist = jnp.maximum(
        last + jax.random.randint(k3, (history_len, n_assets), -40, 40, jnp.int64), 1)
    spread = jax.random.randint(k4, (n_assets,), 1, 6, jnp.int64)
    return MarketView(
        last_price=last, fundamental=fund,
        best_bid=jnp.maximum(last - spread, 0).at[0].set(0),  # asset 0 has no bids
        best_ask=last + spread, history=hist,
        volatility=jnp.full(n_assets, 0.01, jnp.float32),
        liquidity_mult=jax.random.uniform(k5, (n_assets,), jnp.float32, 1.0, 3.0),
        price_scale=jax.random.uniform(k6, (n_assets,), jnp.float32, 0.2, 4.0),
        index_weights=jax.random.uniform(k6, (n_assets,), jnp.float32),
    )


@pytest.mark.parametrize("kind", sorted(b.name for b in BUILT_IN))
def test_order_invariants_1000_agents(kind):
    n, n_assets = 1000, 3
    kp, kv, ki, ka = jax.random.split(jax.random.key(7), 4)
    dist = registry.get(kind).distribution.replace(
        index_fraction=0.3, aggression_hi=0.5, noise_hi=0.2, skew_hi=1.0)
    if kind in ("fundamental", "momentum", "arbitrage"):
        dist = dist.replace(threshold_lo=0.0, threshold_hi=0.05)
    if kind == "mean_reversion":
        dist = dist.replace(threshold_lo=0.0, threshold_hi=1.0)
    params = sample_params(kp, n, kind, dist, n_assets, history_len=16)
    view = random_view(kv)
    inv = jax.random.randint(ki, (n, n_assets), -60, 60, jnp.int64)
    o = registry.get(kind).act(ka, view, params, inv, jnp.zeros(n, jnp.int64))
    assert isinstance(o, Orders)
    assert (o.side.dtype, o.price.dtype, o.qty.dtype, o.asset.dtype) == (
        jnp.int64, jnp.int64, jnp.int64, jnp.int32)
    assert o.slots == registry.get(kind).slots
    o = o.padded(2)
    side, price, qty, asset = (np.asarray(x) for x in (o.side, o.price, o.qty, o.asset))
    assert side.shape == price.shape == qty.shape == asset.shape == (n, 2)
    assert np.isin(side, [-1, 0, 1]).all()
    assert (price >= 0).all() and (qty >= 0).all()
    assert ((qty == 0) == (side == 0)).all()
    assert (price[side == 0] == 0).all()
    assert ((asset >= 0) & (asset < n_assets)).all()
    assert (side != 0).any()  # every kind trades somewhere in this population
    # position limits hold after a full fill (inventories start within the limits)
    inv_np, max_inv = np.asarray(inv), np.asarray(params.max_inventory)
    rows = np.arange(n)
    for s in range(2):
        after = inv_np[rows, asset[:, s]] + side[:, s] * qty[:, s]
        ok = np.abs(inv_np[rows, asset[:, s]]) <= max_inv
        assert (np.abs(after[ok]) <= max_inv[ok]).all()
    if kind == "market_maker":
        both = (side[:, 0] == 1) & (side[:, 1] == -1)
        assert both.any()
        assert (price[both, 0] < price[both, 1]).all()
        assert (price[side != 0] >= 1).all()
    if kind == "arbitrage":
        trading = side[:, 0] != 0
        assert trading.any()
        assert (side[trading, 0] == -side[trading, 1]).all()
        assert (qty[:, 0] == qty[:, 1]).all()
        assert (asset[trading, 0] != asset[trading, 1]).all()
