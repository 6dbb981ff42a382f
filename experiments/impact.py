"""Metaorder impact: one seller executes Q lots over a fixed number of steps through a smart
slot, paired against Q = 0 on the same keys; the impact exponent is the slope of log impact
against log Q (the square-root law: exponent 1/2, impact about sigma * sqrt(Q / V)).

Run through ``python -m experiments.realism --impact`` (JSON lines).
"""

from __future__ import annotations

import json
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.market import MarketConfig, MarketParams
from quantmarl.market.reset import reset
from quantmarl.market.smart import ActionKind, SmartActions
from quantmarl.market.step import step

__all__ = ["QUANTITIES", "exponent", "impact_paths", "main_impact", "measure_impact"]

QUANTITIES = (20, 40, 80, 160, 320, 640, 1280)  # lots: 1.8 decades
N_EXEC = 20  # steps the metaorder is spread over
TARGET = (0.4, 0.7)


def _sell(lots: jax.Array) -> SmartActions:
    """One learner sending a market sell of ``lots`` (int64 []) or holding when 0."""
    one = lambda x, d: jnp.reshape(jnp.asarray(x, d), (1,))  # noqa: E731
    return SmartActions(kind=one(jnp.where(lots > 0, ActionKind.MARKET, ActionKind.HOLD),
                                 jnp.int32),
                        side=one(-1, jnp.int64), offset=one(0, jnp.int64), qty=one(lots, jnp.int64),
                        offset2=one(0, jnp.int64), qty2=one(0, jnp.int64),
                        asset=one(0, jnp.int32))


@partial(jax.jit, static_argnames=("config", "burn_in", "n_exec"))
def impact_paths(keys: jax.Array, qs: jax.Array, params: MarketParams, config: MarketConfig,
                 burn_in: int, n_exec: int) -> tuple[jax.Array, jax.Array]:
    """Close int64 [Q, S, T] and volume int64 [Q, S, T] (``T = burn_in + n_exec``, asset 0)
    when the learner (slot 0) sells ``qs[i]`` lots evenly over the last ``n_exec`` steps."""

    def one(key, q):
        k_reset, k_run = jax.random.split(key)
        state = reset(k_reset, config, params)

        def body(st, inp):
            k, t = inp
            i = t - burn_in
            lots = jnp.where(i >= 0, q // n_exec + (i < q % n_exec), 0).astype(jnp.int64)
            st, rec = step(k, st, _sell(lots), config, params)
            return st, (rec.close[0], rec.volume[0])

        n = burn_in + n_exec
        _, out = jax.lax.scan(body, state, (jax.random.split(k_run, n), jnp.arange(n)))
        return out

    return jax.vmap(jax.vmap(one, in_axes=(0, None)), in_axes=(None, 0))(keys, qs)


def exponent(qs: np.ndarray, impact: np.ndarray) -> float:
    """Least-squares slope of log impact on log Q over the positive impacts (NaN if < 2)."""
    ok = (np.asarray(impact) > 0) & (np.asarray(qs) > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(qs[ok]), np.log(impact[ok]), 1)[0])


def measure_impact(config: MarketConfig, params: MarketParams, seeds: int = 48,
                   quantities=QUANTITIES, burn_in: int = 300, n_exec: int = N_EXEC,
                   seed: int = 0) -> dict:
    """Mean impact per Q (log price drop vs the Q = 0 twin), the exponent, and the
    sigma * sqrt(Q / V) prediction (sigma: std of the twin's returns over ``n_exec`` steps,
    V: its mean volume over ``n_exec`` steps)."""
    qs = np.asarray((0, *quantities), np.int64)
    keys = jax.random.split(jax.random.key(seed), seeds)
    close, volume = impact_paths(keys, jnp.asarray(qs), params, config, burn_in, n_exec)
    logp = np.log(np.asarray(close, np.float64))
    drop = -(logp[1:, :, -1] - logp[0, :, -1])  # [Q, S]
    impact = drop.mean(axis=1)
    r0 = np.diff(logp[0], axis=1)[:, burn_in // 2:]
    sigma = float(np.std(r0) * np.sqrt(n_exec))
    v = float(np.asarray(volume[0], np.float64)[:, burn_in // 2:].mean() * n_exec)
    return {"Q": qs[1:].tolist(), "impact": impact.tolist(),
            "impact_se": (drop.std(axis=1) / np.sqrt(seeds)).tolist(),
            "sqrt_law": (sigma * np.sqrt(qs[1:] / max(v, 1e-9))).tolist(),
            "sigma": sigma, "volume": v, "exponent": exponent(qs[1:], impact)}


def main_impact(args, markets, modes) -> int:
    """``--impact``: one JSON line per market and mode; non-zero if an exponent misses."""
    from experiments.realism import market, with_overrides

    failed = False
    for name in markets:
        for mode in modes:
            config, params = market(name, mode, n_smart=1, params_file=args.params)
            params = with_overrides(args, config, params)
            res = measure_impact(config, params, seeds=16 if args.quick else 48,
                                 burn_in=args.burn_in)
            ok = bool(TARGET[0] <= res["exponent"] <= TARGET[1])
            failed |= not ok
            print(json.dumps({"name": "impact_exponent", "value": round(res["exponent"], 4),
                              "target": f"in [{TARGET[0]}, {TARGET[1]}]", "pass": ok,
                              "unit": "d log impact / d log Q", "market": name, "mode": mode,
                              **{k: v for k, v in res.items() if k != "exponent"}}), flush=True)
    return int(failed)
