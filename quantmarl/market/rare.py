"""``rare``: a ``lax.cond`` for rare work that stays a branch under ``vmap``.

Under ``jax.vmap`` a ``lax.cond`` whose predicate is batched becomes a
``select``: both branches run for every batch member on every call. Work that
is almost never needed (a halted asset's queue, a reopening call auction) then
costs as much as if it were always needed. :func:`rare` keeps the branch:
batched, it runs the ``work`` branch once for the whole batch when *any*
member's predicate holds (and skips it otherwise), then each member keeps its
own branch's result (the ``idle`` branch, run for the whole batch, is meant to
be trivial). Results are exactly those of ``lax.cond(pred, work, idle, *ops)``
per member, so the helper is a pure function like ``lax.cond``.

Both branches must be pure functions of ``ops`` only: a traced value closed
over instead of passed would not be seen as batched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap


def rare(pred: jax.Array, work: Callable[..., Any], idle: Callable[..., Any], *ops: Any) -> Any:
    """``lax.cond(pred, work, idle, *ops)`` (``pred`` bool []); see the module docstring."""

    @custom_vmap
    def branch(p, *args):
        return jax.lax.cond(p, work, idle, *args)

    @branch.def_vmap
    def _batched(axis_size, in_batched, p, *args):
        axes = jax.tree.map(lambda b: 0 if b else None, tuple(in_batched[1:]))

        def mapped(fn):
            return lambda *a: jax.vmap(fn, in_axes=axes, axis_size=axis_size)(*a)

        if not in_batched[0]:  # one predicate for the whole batch: a plain branch
            out = jax.lax.cond(p, mapped(work), mapped(idle), *args)
        else:
            ran = jax.lax.cond(jnp.any(p), mapped(work), mapped(idle), *args)
            out = jax.tree.map(
                lambda r, s: jnp.where(p.reshape((-1,) + (1,) * (r.ndim - 1)), r, s),
                ran, mapped(idle)(*args))
        return out, jax.tree.map(lambda _: True, out)

    return branch(pred, *ops)
