"""Reactive traders: hand-computed decisions, order invariants, batching and the registry."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents import reactive, registry
from quantmarl.agents.reactive import (
    INDEX_PAIR,
    SIZE_MULT_CAP,
    BehaviourDistribution,
    ReactiveParams,
    sample_params,
)
from quantmarl.agents.registry import Block, act_blocks
from quantmarl.agents.view import MARKET, MarketView, Orders, make_view, no_orders

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
        u = [0.5] * reactive.DRAWS[rule.__name__]
    fn = _JITTED.setdefault(rule, jax.jit(rule))
    out = fn(jnp.asarray(u, jnp.float32), view, p, inv, jnp.int64(0))
    assert [x.dtype for x in out] == [jnp.int64, jnp.int64, jnp.int64, jnp.int32]
    assert all(x.shape == (registry.SLOTS[rule.__name__],) for x in out)
    side, price, qty, asset = (np.asarray(x).tolist() for x in out)
    if len(side) == 1:
        side, price, qty, asset = side + [0], price + [0], qty + [0], asset + asset
    return side, price, qty, asset


# ---------------------------------------------------------------- market maker


def test_market_maker_exact_quotes_with_skew():
    view = make_view(1000, best_bid=998, best_ask=1004)  # mid (998 + 1004) // 2 = 1001
    p = agent(spread_ticks=2, skew=0.5, size=5)
    # shift = round(0.5 * 4) = 2: bid = 1001 - 2 - 2, ask = 1001 + 2 - 2
    assert decide(reactive.market_maker, view, p, [4]) == ([1, -1], [997, 1001], [5, 5], [0, 0])
    # short inventory skews quotes up: shift = round(0.5 * -6) = -3
    assert decide(reactive.market_maker, view, p, [-6])[1] == [1002, 1006]


def test_market_maker_liquidity_mult_doubles_spread():
    p = agent(spread_ticks=3)
    normal = decide(reactive.market_maker, make_view(500), p)
    shocked = decide(reactive.market_maker, make_view(500, liquidity_mult=2.0), p)
    assert normal[1] == [497, 503]
    assert shocked[1] == [494, 506]
    # non-integer multiple is rounded up: ceil(3 * 1.5) = 5
    assert decide(reactive.market_maker, make_view(500, liquidity_mult=1.5), p)[1] == [495, 505]


def test_market_maker_uses_last_when_a_side_is_empty():
    p = agent(spread_ticks=1)
    assert decide(reactive.market_maker, make_view(200, best_bid=150), p)[1] == [199, 201]
    assert decide(reactive.market_maker, make_view(200, best_ask=250), p)[1] == [199, 201]


def test_market_maker_inventory_limits():
    p = agent(size=5, max_inventory=10)
    view = make_view(100)
    side, _, qty, _ = decide(reactive.market_maker, view, p, [10])  # full long: no bid
    assert side == [0, -1] and qty == [0, 5]
    side, _, qty, _ = decide(reactive.market_maker, view, p, [8])  # room for 2 more lots
    assert side == [1, -1] and qty == [2, 5]
    side, price, qty, _ = decide(reactive.market_maker, view, p, [-10])  # full short: no ask
    assert side == [1, 0] and qty == [5, 0] and price[1] == 0


def test_market_maker_prices_positive_and_ordered_near_zero():
    p = agent(spread_ticks=3, skew=2.0)
    side, price, _, _ = decide(reactive.market_maker, make_view(2), p, [5])
    assert side == [1, -1]
    assert price[0] == 1 and price[1] >= 2
    assert decide(reactive.market_maker, make_view(0), p)[0] == [0, 0]  # no price: no quotes


# ---------------------------------------------------------------- fundamental


def test_fundamental_buys_and_sells_on_mispricing():
    p = agent(threshold=0.04, size=3, spread_ticks=3, noise=0.0)
    # rel = (1100 - 1000) / 1000 = 0.1 > 0.04: buy, size * floor(0.1 / 0.04) = 3 * 2 lots,
    # limit 3 ticks toward the estimate
    assert decide(reactive.fundamental, make_view(1000, fundamental=1100), p) == (
        [1, 0], [1003, 0], [6, 0], [0, 0])
    assert decide(reactive.fundamental, make_view(1000, fundamental=900), p)[:3] == (
        [-1, 0], [997, 0], [6, 0])
    # 4% is not beyond the threshold... 3.9% neither
    assert decide(reactive.fundamental, make_view(1000, fundamental=1039), p)[0] == [0, 0]
    # the limit never passes the estimate: |mis| = 41 > 3, fine; mis = 2 with tiny threshold
    p2 = agent(threshold=0.001, spread_ticks=5)
    assert decide(reactive.fundamental, make_view(1000, fundamental=1002), p2)[1] == [1002, 0]


def test_fundamental_size_cap_and_market_orders():
    p = agent(threshold=0.01, size=2, aggression=1.0)
    side, price, qty, _ = decide(reactive.fundamental, make_view(100, fundamental=200), p)
    assert side == [1, 0] and price == [MARKET, 0] and qty == [2 * SIZE_MULT_CAP, 0]


def test_fundamental_noise_moves_estimate():
    # with 50% noise, some keys sell even though the fundamental is 5% above the price
    p = agent(threshold=0.01, noise=0.5)
    view = make_view(1000, fundamental=1050)
    u = reactive.uniforms(KEY, 64, reactive.DRAWS["fundamental"])
    sides = jax.jit(jax.vmap(lambda ui: reactive.fundamental(
        ui, view, p, jnp.zeros(1, jnp.int64), jnp.int64(0))[0][0]))(u)
    assert {-1, 1} <= set(np.asarray(sides).tolist())  # noise makes some sell, some buy


# ---------------------------------------------------------------- momentum / mean reversion


def test_momentum_uptrend_downtrend_and_lookback_mask():
    hist = [100, 101, 102, 103, 104]
    up = make_view(110, history=hist)
    p = agent(threshold=0.05, lookback=5, size=4, spread_ticks=2)
    # r = (110 - 100) / 100 = 0.1 > 0.05: buy at 110 + 2
    assert decide(reactive.momentum, up, p) == ([1, 0], [112, 0], [4, 0], [0, 0])
    # lookback 1 compares with history[-1] = 104: r = 0.0577 < 0.06, lookback 5 gives 0.1
    assert decide(reactive.momentum, up, agent(threshold=0.06, lookback=1))[0] == [0, 0]
    assert decide(reactive.momentum, up, agent(threshold=0.06, lookback=5))[0] == [1, 0]
    # below threshold: nothing
    assert decide(reactive.momentum, up, agent(threshold=0.2))[0] == [0, 0]
    # lookback beyond H is clipped to H
    assert decide(reactive.momentum, up, agent(threshold=0.05, lookback=50))[0] == [1, 0]
    down = make_view(90, history=hist)
    assert decide(reactive.momentum, down, p)[:2] == ([-1, 0], [88, 0])
    assert decide(reactive.momentum, down, agent(aggression=1.0))[1] == [MARKET, 0]


def test_mean_reversion_z_score():
    hist = [200, 100, 100, 102, 98]  # row 0 is outside a lookback of 4
    p = agent(threshold=2.0, lookback=4, size=3, spread_ticks=1)
    # window [100, 100, 102, 98]: mean 100, std sqrt(2); z = (110 - 100) / 1.414 = 7.07
    assert decide(reactive.mean_reversion, make_view(110, history=hist), p) == (
        [-1, 0], [109, 0], [3, 0], [0, 0])
    assert decide(reactive.mean_reversion, make_view(90, history=hist), p)[:2] == (
        [1, 0], [91, 0])
    # z = (101 - 100) / 1.414 = 0.71 < 2: nothing
    assert decide(reactive.mean_reversion, make_view(101, history=hist), p)[0] == [0, 0]
    # z = 0.71 > 0.5: sell
    assert decide(reactive.mean_reversion, make_view(101, history=hist),
                  agent(threshold=0.5, lookback=4))[0] == [-1, 0]
    # the lookback mask matters: with row 0 included the mean is 120 and 110 is cheap
    assert decide(reactive.mean_reversion, make_view(110, history=hist),
                  agent(threshold=0.1, lookback=5))[0] == [1, 0]
    # flat window: std 0, no signal
    assert decide(reactive.mean_reversion, make_view(120, history=[100] * 5), p)[0] == [0, 0]


# ---------------------------------------------------------------- arbitrage


def test_arbitrage_pair_sells_rich_buys_cheap():
    view = make_view([110, 100], fundamental=[100, 100])
    p = agent(asset=0, pair_asset=1, threshold=0.05, size=7, spread_ticks=1)
    # dev = 1.1 / 1.0 - 1 = 0.1 > 0.05: asset 0 rich
    assert decide(reactive.arbitrage, view, p) == ([-1, 1], [109, 101], [7, 7], [0, 1])
    # same pair seen from asset 1: buy 1, sell 0
    p1 = agent(asset=1, pair_asset=0, threshold=0.05, size=7, spread_ticks=1)
    assert decide(reactive.arbitrage, view, p1) == ([1, -1], [101, 109], [7, 7], [1, 0])
    # ratio of fundamentals: x_a = 100/100, x_b = 180/200 = 0.9 -> dev 0.11: sell 0, buy 1
    view2 = make_view([100, 180], fundamental=[100, 200])
    assert decide(reactive.arbitrage, view2, p)[0] == [-1, 1]
    # within threshold: nothing
    assert decide(reactive.arbitrage, make_view([103, 100], fundamental=[100, 100]), p)[0] == [
        0, 0]


def test_arbitrage_equal_lots_capped_by_both_legs():
    view = make_view([110, 100], fundamental=[100, 100])
    p = agent(size=7, max_inventory=10)
    # leg 1 (buy) has room 10 - 6 = 4; leg 0 (sell) has room 10 + 0
    assert decide(reactive.arbitrage, view, p, [0, 6])[2] == [4, 4]
    assert decide(reactive.arbitrage, view, p, [0, 10])[0] == [0, 0]


def test_arbitrage_idle_with_one_asset_or_same_pair():
    p = agent(asset=0, pair_asset=0, threshold=0.0)
    assert decide(reactive.arbitrage, make_view(110, fundamental=100), p)[0] == [0, 0]
    view = make_view([110, 100], fundamental=[100, 100])
    assert decide(reactive.arbitrage, view, p)[0] == [0, 0]


def test_arbitrage_vs_index():
    w = [0.2, 0.5, 0.3]
    view = make_view([120, 100, 100], fundamental=[100, 100, 100], index_weights=w)
    p = agent(asset=0, pair_asset=INDEX_PAIR, threshold=0.05, size=2, aggression=1.0)
    # x_I = (24 + 50 + 30) / 100 = 1.04, dev = 1.2 / 1.04 - 1 = 0.154: sell 0, hedge on asset 1
    assert decide(reactive.arbitrage, view, p) == ([-1, 1], [0, 0], [2, 2], [0, 1])
    # no index: nothing
    flat = make_view([120, 100, 100], fundamental=[100, 100, 100])
    assert decide(reactive.arbitrage, flat, p)[0] == [0, 0]


# ---------------------------------------------------------------- noise


def test_noise_trader_valid_orders():
    n = 500
    view = make_view(1000)
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)),
                          agent(size=4, spread_ticks=3, aggression=0.25))
    o = reactive.act_noise(KEY, view, params, jnp.zeros((n, 1), jnp.int64),
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
        index_weights=jax.random.uniform(k6, (n_assets,), jnp.float32),
    )


@pytest.mark.parametrize("kind", sorted(reactive.RULES))
def test_order_invariants_1000_agents(kind):
    n, n_assets = 1000, 3
    kp, kv, ki, ka = jax.random.split(jax.random.key(7), 4)
    dist = reactive.DEFAULT_DISTRIBUTIONS[kind].replace(
        index_fraction=0.3, aggression_hi=0.5, noise_hi=0.2, skew_hi=1.0)
    if kind in ("fundamental", "momentum", "arbitrage"):
        dist = dist.replace(threshold_lo=0.0, threshold_hi=0.05)
    if kind == "mean_reversion":
        dist = dist.replace(threshold_lo=0.0, threshold_hi=1.0)
    params = sample_params(kp, n, kind, dist, n_assets, history_len=16)
    view = random_view(kv)
    inv = jax.random.randint(ki, (n, n_assets), -60, 60, jnp.int64)
    o = registry.get(kind)(ka, view, params, inv, jnp.zeros(n, jnp.int64))
    assert isinstance(o, Orders)
    assert (o.side.dtype, o.price.dtype, o.qty.dtype, o.asset.dtype) == (
        jnp.int64, jnp.int64, jnp.int64, jnp.int32)
    assert o.slots == registry.SLOTS[kind]
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


def test_vmap_matches_loop():
    n = 16
    params = sample_params(jax.random.key(1), n, "fundamental", n_assets=2)
    params = params.replace(noise=jnp.full(n, 0.05, jnp.float32))
    view = random_view(jax.random.key(2), n_assets=2)
    inv = jax.random.randint(jax.random.key(3), (n, 2), -10, 10, jnp.int64)
    cash = jnp.zeros(n, jnp.int64)
    key = jax.random.key(4)
    batched = reactive.act_fundamental(key, view, params, inv, cash)
    u = reactive.uniforms(key, n, reactive.DRAWS["fundamental"])  # row i is agent i's draws
    rule = jax.jit(reactive.fundamental)
    for i in range(n):
        p_i = jax.tree.map(lambda x, i=i: x[i], params)
        out = rule(u[i], view, p_i, inv[i], cash[i])
        for got, want in zip((batched.side, batched.price, batched.qty, batched.asset), out,
                             strict=True):
            np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(want))


def test_act_blocks_jit_and_layout():
    view = random_view(jax.random.key(5))
    kinds = ("market_maker", "noise", "momentum")
    sizes = (3, 5, 4)
    params = [sample_params(jax.random.key(i), s, k, n_assets=3, history_len=16)
              for i, (k, s) in enumerate(zip(kinds, sizes, strict=True))]
    blocks = tuple(Block(k, p) for k, p in zip(kinds, params, strict=True))
    n = sum(sizes)
    inv = jnp.zeros((n, 3), jnp.int64)
    cash = jnp.zeros(n, jnp.int64)
    key = jax.random.key(9)
    jitted = jax.jit(act_blocks)(key, view, blocks, inv, cash)
    assert jitted.side.shape == (n, 2)
    # block i uses split(key, n_blocks)[i] and rows start_i : start_i + n_i
    keys = jax.random.split(key, len(blocks))
    start = 0
    for i, (kind, p, size) in enumerate(zip(kinds, params, sizes, strict=True)):
        part = registry.get(kind)(keys[i], view, p, inv[start:start + size],
                                  cash[start:start + size]).padded(2)
        for a, b in zip(jax.tree.leaves(part), jax.tree.leaves(jitted), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b[start:start + size]))
        start += size
    with pytest.raises(ValueError, match="sum to"):
        act_blocks(key, view, blocks, inv[:-1], cash[:-1])


def test_jit_single_behaviour():
    params = sample_params(jax.random.key(1), 8, "mean_reversion", n_assets=3, history_len=16)
    view = random_view(jax.random.key(2))
    args = (jax.random.key(3), view, params, jnp.zeros((8, 3), jnp.int64),
            jnp.zeros(8, jnp.int64))
    a, b = jax.jit(reactive.act_mean_reversion)(*args), reactive.act_mean_reversion(*args)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# ---------------------------------------------------------------- sampling


def test_sample_params_ranges():
    dist = BehaviourDistribution(size_lo=2, size_hi=4, threshold_lo=0.1, threshold_hi=0.2,
                                 lookback_lo=3, lookback_hi=30, spread_lo=0, spread_hi=2,
                                 skew_lo=-0.5, skew_hi=0.5, noise_lo=0.01, noise_hi=0.02,
                                 aggression_lo=0.2, aggression_hi=0.4, max_inventory_lo=7,
                                 max_inventory_hi=9)
    n = 2000
    p = sample_params(jax.random.key(0), n, "momentum", dist, n_assets=4, history_len=10)
    dtypes = dict(asset=jnp.int32, size=jnp.int64, threshold=jnp.float32, lookback=jnp.int32,
                  spread_ticks=jnp.int64, skew=jnp.float32, noise=jnp.float32,
                  aggression=jnp.float32, max_inventory=jnp.int64, pair_asset=jnp.int32)
    for name, dtype in dtypes.items():
        x = getattr(p, name)
        assert x.shape == (n,) and x.dtype == dtype, name
    g = {k: np.asarray(getattr(p, k)) for k in dtypes}
    assert set(g["size"].tolist()) == {2, 3, 4}
    assert set(g["spread_ticks"].tolist()) == {0, 1, 2}
    assert set(g["max_inventory"].tolist()) == {7, 8, 9}
    assert g["lookback"].min() == 3 and g["lookback"].max() == 10  # clipped to history_len
    for name, lo, hi in (("threshold", 0.1, 0.2), ("skew", -0.5, 0.5), ("noise", 0.01, 0.02),
                         ("aggression", 0.2, 0.4)):
        assert g[name].min() >= np.float32(lo) and g[name].max() <= np.float32(hi), name
    assert set(g["asset"].tolist()) == {0, 1, 2, 3}
    assert (g["pair_asset"] != g["asset"]).all()
    assert ((g["pair_asset"] >= 0) & (g["pair_asset"] < 4)).all()


def test_sample_params_single_asset_index_and_defaults():
    p = sample_params(jax.random.key(0), 10, "arbitrage")
    assert (np.asarray(p.pair_asset) == np.asarray(p.asset)).all()
    p = sample_params(jax.random.key(0), 10, "arbitrage",
                      BehaviourDistribution(index_fraction=1.0), n_assets=3)
    assert (np.asarray(p.pair_asset) == INDEX_PAIR).all()
    mr = sample_params(jax.random.key(0), 100, "mean_reversion")
    assert np.asarray(mr.threshold).min() >= 1.0  # z-score defaults
    user = sample_params(jax.random.key(0), 3, "my_user_kind")
    assert user.n_agents == 3


@pytest.mark.parametrize("bad, match", [
    (dict(size_lo=5, size_hi=2), "size_lo"),
    (dict(size_lo=0), "size_lo"),
    (dict(aggression_hi=1.5), "aggression_hi"),
    (dict(noise_lo=-0.1), "noise_lo"),
    (dict(index_fraction=2.0), "index_fraction"),
])
def test_sample_params_rejects_bad_ranges(bad, match):
    with pytest.raises(ValueError, match=match):
        sample_params(KEY, 4, "noise", BehaviourDistribution(**bad))


def test_sample_params_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n must"):
        sample_params(KEY, -1, "noise")
    with pytest.raises(ValueError, match="n_assets"):
        sample_params(KEY, 4, "noise", n_assets=0)


# ---------------------------------------------------------------- registry and view helpers


def test_registry_builtins_and_errors(monkeypatch):
    monkeypatch.setattr(registry, "BEHAVIOURS", dict(registry.BEHAVIOURS))
    assert set(registry.BEHAVIOURS) >= set(reactive.RULES)
    for name in ("market_maker", "fundamental", "momentum", "mean_reversion", "noise",
                 "arbitrage"):
        assert callable(registry.get(name))
    with pytest.raises(ValueError, match="known behaviours: arbitrage, fundamental"):
        registry.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("noise", reactive.act_noise)
    for bad in ("", "Bad", "1x", "has space", "dash-name", None, 3):
        with pytest.raises(ValueError, match="behaviour name"):
            registry.register(bad, reactive.act_noise)
    with pytest.raises(TypeError, match="callable"):
        registry.register("not_callable", 42)


def test_register_user_behaviour_runs_in_blocks(monkeypatch):
    monkeypatch.setattr(registry, "BEHAVIOURS", dict(registry.BEHAVIOURS))

    def always_buy_one(key, view, p, inventory, cash):
        del key, inventory, cash
        one = jnp.ones((), jnp.int64)
        zero = jnp.zeros((), jnp.int64)
        return (jnp.stack([one, zero]), jnp.stack([view.last_price[p.asset], zero]),
                jnp.stack([one, zero]), jnp.stack([p.asset, p.asset]).astype(jnp.int32))

    registry.register_rule("always_buy_one", always_buy_one)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_rule("always_buy_one", always_buy_one)
    view = make_view([50, 60])
    p = sample_params(KEY, 4, "always_buy_one", n_assets=2)
    mm = sample_params(KEY, 2, "market_maker", n_assets=2)
    o = act_blocks(KEY, view, (("market_maker", mm), ("always_buy_one", p)),
                   jnp.zeros((6, 2), jnp.int64), jnp.zeros(6, jnp.int64))
    assert np.asarray(o.side[2:]).tolist() == [[1, 0]] * 4
    assert np.asarray(o.price[2:, 0]).tolist() == [[50, 60][a] for a in np.asarray(p.asset)]


def test_batch_rejects_mixed_slot_counts():
    def mixed(key, view, p, inventory, cash):
        z = jnp.zeros(2, jnp.int64)
        return z, z, z[:1], z.astype(jnp.int32)

    params = sample_params(KEY, 2, "mixed")
    with pytest.raises(ValueError, match="one slot count"):
        reactive.batch(mixed)(KEY, make_view(10), params, jnp.zeros((2, 1), jnp.int64),
                              jnp.zeros(2, jnp.int64))


def test_batch_rejects_float_outputs():
    def bad(key, view, p, inventory, cash):
        z = jnp.zeros(2, jnp.int64)
        return z, z.astype(jnp.float32), z, z.astype(jnp.int32)

    params = sample_params(KEY, 2, "bad")
    with pytest.raises(ValueError, match="price must be int64"):
        reactive.batch(bad)(KEY, make_view(10), params, jnp.zeros((2, 1), jnp.int64),
                            jnp.zeros(2, jnp.int64))


def test_no_orders_and_make_view():
    o = no_orders(3)
    assert o.side.shape == (3, 2) and o.side.dtype == jnp.int64 and o.asset.dtype == jnp.int32
    assert not np.asarray(o.qty).any()
    v = make_view([10, 20], history_len=4)
    assert v.history.shape == (4, 2) and v.history.dtype == jnp.int64
    assert v.n_assets == 2 and v.history_len == 4
    assert v.liquidity_mult.dtype == jnp.float32
    with pytest.raises(ValueError, match="integer ticks"):
        make_view([10.5])
    with pytest.raises(ValueError, match="n must"):
        no_orders(-1)


def test_batch_draws_validation_and_orders_padding():
    with pytest.raises(ValueError, match="draws must be an int >= 0 or None"):
        reactive.batch(reactive.noise, draws=-1)
    n = 3
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)), agent(asset=1, pair_asset=0))
    o = reactive.act_momentum(KEY, make_view([10, 20]), params, jnp.zeros((n, 2), jnp.int64),
                              jnp.zeros(n, jnp.int64))
    assert o.slots == 1
    two = o.padded(2)
    assert two.slots == 2 and np.asarray(two.qty[:, 1]).tolist() == [0] * n
    assert np.asarray(two.asset[:, 1]).tolist() == [1] * n  # the agent's own asset
    with pytest.raises(ValueError, match="cannot pad"):
        two.padded(1)
