"""Read-only views of a live simulation as JSON-able dicts: market state, accounts,
per-agent performance and market analysis over a window of recent steps.

Money stays exact: prices in ticks, lots and cash in minor units are Python ints.
Floats appear only in statistics (PnL fractions, Sharpe, stylized facts). The
numbers come from :mod:`quantmarl.quant` (pure array math) and the step records.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from quantmarl.book import query
from quantmarl.events import is_halted
from quantmarl.quant import herding, risk, stylized
from quantmarl.serve import controls
from quantmarl.serve.simulation import Simulation


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def market_state(sim: Simulation, depth: int = 5, window: int = 100) -> dict:
    """Step, prices, OHLCV window, book ladder top ``depth`` per asset, halts, events."""
    m = sim.state.market
    halted = np.asarray(is_halted(m.breaker, m.step))
    assets = []
    recs = list(sim.records)[-window:]
    last = sim.records[-1][1] if sim.records else None
    for j in range(sim.market_config.n_assets):
        bars = [{"step": s, **{f: int(getattr(r, f)[j]) for f in
                               ("open", "high", "low", "close", "volume")}} for s, r, *_ in recs]
        assets.append({"asset": j, "last_price": int(m.last_price[j]),
                       "best_bid": int(m.best_bid[j]), "best_ask": int(m.best_ask[j]),
                       "fundamental": int(np.exp(float(m.log_fundamental[j]))),
                       "halted": bool(halted[j]), "ladder": _ladder(m.books, j, depth),
                       **_quality(last, j),
                       "bars": bars})
    return {"id": sim.id, "episode": sim.episode, "step": sim.step_count,
            "steps_left": sim.steps_left, "clearing": sim.market_config.clearing,
            "assets": assets, "events": controls.active_events(sim),
            "rejections": np.asarray(m.rejections).tolist()}


STREAM_FIELDS = ("open", "high", "low", "close", "volume", "signed_volume", "best_bid",
                 "best_ask", "spread", "halted", "fundamental")


def step_record(sim: Simulation, entry) -> dict:
    """One kept step as JSON: per asset the :data:`STREAM_FIELDS` (ticks, lots), depth
    ``[bid, ask]`` (lots); smart-tier cash (minor units) and positions (lots)."""
    step, rec, cash, position = entry
    assets = [{**{f: _plain(getattr(rec, f)[j]) for f in STREAM_FIELDS},
               "depth": [int(x) for x in rec.depth[j]]}
              for j in range(sim.market_config.n_assets)]
    return {"episode": sim.episode, "step": step, "assets": assets,
            "agents": {a: {"cash": int(cash[k]), "position": position[k].tolist()}
                       for k, a in enumerate(sim.env.agents)}}


def _plain(x):
    return bool(x) if isinstance(x, np.bool_) else int(x)


def _quality(rec, asset: int) -> dict:
    """The last step's spread (ticks, None when a side was empty), depth near the top
    [bid, ask] (lots) and imbalance; None before the first step."""
    if rec is None:
        return {"spread": None, "depth": None, "imbalance": None}
    spread = int(rec.spread[asset])
    return {"spread": spread if spread >= 0 else None,
            "depth": [int(x) for x in rec.depth[asset]],
            "imbalance": _finite(rec.imbalance[asset])}


def _ladder(books, asset: int, depth: int) -> dict | None:
    """``{"bids": [[price, lots], ...], "asks": ...}`` best first; None in auction mode."""
    if books is None:
        return None
    book = jax.tree.map(lambda x: x[asset], books)
    px, qty = (np.asarray(x) for x in query.ladder(book, depth))
    return {side: [[int(p), int(q)] for p, q in zip(px[r], qty[r], strict=True) if q > 0]
            for r, side in ((0, "bids"), (1, "asks"))}


def _value(sim: Simulation, cash, position) -> np.ndarray:
    """Marked value (minor units, int64): cash + positions at the last prices."""
    mark = np.asarray(sim.state.market.last_price) * int(sim.params.market.tick_value)
    return np.asarray(cash, np.int64) + np.asarray(position, np.int64) @ mark


def accounts(sim: Simulation, tier: str | None = None, offset: int = 0,
             limit: int = 100) -> dict:
    """Every ledger account: tier, behaviour, cash, position, marked PnL (minor units);
    smart slots are named as in the env, reactive agents ``reactive.{behaviour}_{k}``;
    with ``fees_collected``, the cash of all accounts plus the fees never changes."""
    config = sim.market_config
    ledger = sim.state.market.ledger
    cash, position = np.asarray(ledger.cash), np.asarray(ledger.position)
    value, start = _value(sim, cash, position), sim.initial_value
    rows = [("smart", sim.group_of[a], a, sim.controllers[a]) for a in sim.env.agents]
    for behaviour, count in config.reactive:
        rows += [("reactive", behaviour, f"reactive.{behaviour}_{k}", None)
                 for k in range(count)]
    rows.append(("background", "pool", "background", None))
    out = []
    for i, (t, behaviour, name, controller) in enumerate(rows):
        if tier is not None and t != tier:
            continue
        out.append({"account": i, "tier": t, "behaviour": behaviour, "name": name,
                    "controller": controller, "cash": int(cash[i]),
                    "position": position[i].tolist(), "pnl": int(value[i] - start[i])})
    return {"total": len(out), "offset": offset, "accounts": out[offset:offset + limit],
            "fees_collected": int(ledger.fees_collected)}


def performance(sim: Simulation, window: int | None = None) -> dict:
    """Per smart-tier agent over the last ``window`` steps (default: the episode so far):
    PnL (fraction of the value at the window's start), Sharpe (mean / std of per-step
    value returns x sqrt(steps)), maximum drawdown (fraction), win rate (share of steps
    whose value rose, among steps where it changed), trade count (steps with a fill), and
    ``pnl_path``, the PnL after each step of the window (``step`` lists the steps)."""
    entries = list(sim.records)
    window = min(window or len(entries), len(entries))
    if window == 0:
        return {"steps": 0, "step": [], "agents": {}}
    recs = entries[-window:]
    tick = int(sim.params.market.tick_value)

    def value(entry) -> np.ndarray:  # smart accounts' marked value after a step [n]
        _, rec, cash, pos = entry
        return cash + pos @ (np.asarray(rec.close, np.int64) * tick)

    if len(entries) > window:
        first = value(entries[-window - 1])
    elif recs[0][0] == 1:  # the window starts the episode
        first = sim.initial_value[: sim.env.num_agents]
    else:  # the in-memory history has dropped the steps before the window
        first, recs = value(recs[0]), recs[1:]
    path = np.stack([first, *[value(e) for e in recs]]).astype(np.float64)  # [T + 1, n]
    out = {}
    for k, agent in enumerate(sim.env.agents):
        p = np.maximum(path[:, k], 1e-9)
        r = p[1:] / p[:-1] - 1.0
        sd = r.std(ddof=1) if len(r) > 1 else 0.0
        moved = r[r != 0]
        traded = sum(bool(np.any(rec.agent_qty[k] != 0)) for _, rec, *_ in recs
                     if rec.agent_qty is not None)
        out[agent] = {"pnl": _finite(p[-1] / p[0] - 1.0),
                      "sharpe": _finite(r.mean() / sd * math.sqrt(len(r))) if sd > 0 else None,
                      "max_drawdown": _finite(risk.max_drawdown(p)),
                      "win_rate": _finite(np.mean(moved > 0)) if len(moved) else None,
                      "trades": int(traded),
                      "pnl_path": [_finite(x) for x in p[1:] / p[0] - 1.0]}
    return {"steps": len(recs), "step": [e[0] for e in recs], "agents": out}


def analysis(sim: Simulation, window: int | None = None) -> dict:
    """Market analysis per asset over the last ``window`` steps: stylized facts of the
    close's log returns, mean spread (ticks, two-sided steps only), mean depth (lots),
    realised volatility per step, share of halted steps, LSV herding of the reactive
    traders (needs ``market.record_agent_trades``)."""
    recs = [r for _, r, *_ in list(sim.records)[-(window or len(sim.records)):]]
    out = []
    for j in range(sim.market_config.n_assets):
        close = np.asarray([r.close[j] for r in recs], np.float64)
        ret = np.diff(np.log(np.maximum(close, 1.0)))
        vol = np.asarray([r.volume[j] for r in recs], np.float64)[1:]
        spread = np.asarray([r.spread[j] for r in recs], np.float64)
        depth = np.asarray([r.depth[j].sum() for r in recs], np.float64)
        entry = {"asset": j, "steps": len(recs),
                 "mean_spread": _finite(spread[spread >= 0].mean()) if np.any(spread >= 0)
                 else None,
                 "mean_depth": _finite(depth.mean()) if len(depth) else None,
                 "halted_share": _finite(np.mean([r.halted[j] for r in recs])) if recs else None}
        if len(ret) >= 3:
            entry.update({
                "volatility": _finite(ret.std(ddof=1)),
                "excess_kurtosis": _finite(stylized.excess_kurtosis(ret)),
                "acf_r_lag1": _finite(stylized.acf(ret, 1)[1]),
                "acf_abs_r_lag1": _finite(stylized.acf_abs(ret, 1)[1]),
                "volume_volatility_corr": _finite(
                    stylized.volume_volatility_correlation(ret, vol)),
                "zero_return_share": _finite(stylized.zero_return_share(ret))})
        entry["herding_lsv"] = _lsv(sim, recs, j)
        out.append(entry)
    return {"steps": len(recs), "assets": out}


def _lsv(sim: Simulation, recs: list, asset: int) -> float | None:
    if not recs or recs[0].agent_qty is None:
        return None
    lo, hi = sim.env.num_agents, sim.market_config.n_agents
    qty = np.stack([r.agent_qty[lo:hi, asset] for r in recs])  # [T, reactive]
    if qty.shape[1] < 2:
        return None
    return _finite(herding.lsv(qty, min_traders=2).mean)
