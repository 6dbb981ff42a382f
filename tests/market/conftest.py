"""Shared market fixtures: small configs and one jitted rollout per clearing mode."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import pytest

from quantmarl.market import MarketConfig, SmartActions, default_params, reset, step

N_STEPS = 100
REACTIVE = (
    ("market_maker", 2),
    ("fundamental", 8),
    ("momentum", 4),
    ("mean_reversion", 4),
    ("noise", 8),
    ("arbitrage", 2),
)


def make_config(clearing: str, n_assets: int = 1) -> MarketConfig:
    return MarketConfig(n_assets=n_assets, n_smart=2, reactive=REACTIVE, background_orders=48,
                        clearing=clearing, book_capacity=128, episode_length=N_STEPS)


def random_actions(key, n_smart, n_assets, trade_prob):
    """Random smart actions: mostly market/limit orders and quotes, some malformed."""
    ks = jax.random.split(key, 7)
    kind = jax.random.randint(ks[0], (n_smart,), 0, 6)  # 5 = malformed kind
    kind = jnp.where(jax.random.uniform(ks[1], (n_smart,)) < trade_prob, kind, 0)
    return SmartActions(
        kind=kind.astype(jnp.int32),
        side=jnp.where(jax.random.uniform(ks[2], (n_smart,)) < 0.5, 1, -1).astype(jnp.int64),
        offset=jax.random.randint(ks[3], (n_smart,), -3, 6).astype(jnp.int64),
        qty=jax.random.randint(ks[4], (n_smart,), 1, 30).astype(jnp.int64),
        offset2=jax.random.randint(ks[5], (n_smart,), 0, 6).astype(jnp.int64),
        qty2=jax.random.randint(ks[6], (n_smart,), 1, 30).astype(jnp.int64),
        asset=jnp.zeros((n_smart,), jnp.int32) + (n_assets - 1),
    )


@partial(jax.jit, static_argnames=("config", "n_steps"))
def rollout(key, config, params, trade_prob, n_steps=N_STEPS):
    """Reset and step with random smart actions; returns (state, records, totals per step)."""
    k_reset, k_run = jax.random.split(key)
    state = reset(k_reset, config, params)

    def body(st, k):
        k_act, k_step = jax.random.split(k)
        acts = random_actions(k_act, config.n_smart, config.n_assets, trade_prob)
        st, rec = step(k_step, st, acts, config, params)
        cash, pos = st.ledger.totals()
        return st, (rec, cash, pos)

    state, (records, cash, pos) = jax.lax.scan(body, state, jax.random.split(k_run, n_steps))
    return state, records, (cash, pos)


@pytest.fixture(scope="session")
def auction_config():
    return make_config("auction")


@pytest.fixture(scope="session")
def cda_config():
    return make_config("cda")


__all__ = ["default_params", "make_config", "rollout", "random_actions", "N_STEPS"]
