"""Withdrawing an account: its resting and queued orders go, nothing else changes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.market import ActionKind, SmartActions, default_params, reset, step
from quantmarl.market.halt_queue import HaltQueue
from quantmarl.market.withdraw import withdraw_account
from tests.market.conftest import make_config


def _quotes(n_smart: int) -> SmartActions:
    """Every slot quotes both sides 8 ticks away (passive: they rest)."""
    z = jnp.zeros((n_smart,), jnp.int64)
    return SmartActions(kind=jnp.full((n_smart,), ActionKind.QUOTE, jnp.int32), side=z,
                        offset=z + 8, qty=z + 7, offset2=z + 8, qty2=z + 5,
                        asset=jnp.zeros((n_smart,), jnp.int32))


def test_withdraw_removes_only_the_accounts_orders():
    config = make_config("cda")
    params = default_params(config)
    state = reset(jax.random.key(0), config, params)
    state, _ = step(jax.random.key(1), state, _quotes(config.n_smart), config, params)
    books = jax.tree.map(np.asarray, state.books)
    live = np.arange(books.price.shape[-1])[None, None, :] < books.count[..., None]
    mine = live & (books.owner == 0)
    assert mine.sum() >= 1  # slot 0's quotes rest
    new, removed = jax.jit(withdraw_account)(state, 0)
    nb = jax.tree.map(np.asarray, new.books)
    nlive = np.arange(nb.price.shape[-1])[None, None, :] < nb.count[..., None]
    assert not np.any(nlive & (nb.owner == 0))
    assert int(removed[0]) == int(books.qty[mine].sum())
    others = live & (books.owner != 0)
    assert nlive.sum() == others.sum()
    for side in (0, 1):  # the others keep their price-time order
        keep = others[0, side]
        np.testing.assert_array_equal(nb.order_id[0, side][: keep.sum()],
                                      books.order_id[0, side][keep])
    for a, b in zip(jax.tree.leaves(new.ledger), jax.tree.leaves(state.ledger), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_withdraw_empties_the_accounts_halt_queue_entries():
    config = make_config("auction")
    state = reset(jax.random.key(0), config, default_params(config))
    q = state.halt_queue
    n_assets, cap = q.side.shape
    owner = np.full((n_assets, cap), -1, np.int32)
    owner[0, :3] = [0, 1, 0]
    side = np.zeros((n_assets, cap), np.int64)
    side[0, :3] = [1, -1, 1]
    qty = np.zeros((n_assets, cap), np.int64)
    qty[0, :3] = [4, 6, 9]
    queue = HaltQueue(side=jnp.asarray(side), price=jnp.zeros_like(q.price), qty=jnp.asarray(qty),
                      owner=jnp.asarray(owner), count=q.count.at[0].set(3), halted=q.halted,
                      refused=q.refused)
    new, removed = withdraw_account(state.replace(halt_queue=queue), 0)
    assert int(new.halt_queue.count[0]) == 1 and int(removed[0]) == 13
    assert (int(new.halt_queue.owner[0, 0]), int(new.halt_queue.qty[0, 0])) == (1, 6)
    assert int(new.halt_queue.side[0, 1]) == 0
