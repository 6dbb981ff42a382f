"""Behaviour registry: name -> batched act function (a dict, no if/elif chains).

A batched act function has the signature
``act(key, view, params, inventory [n, A], cash [n]) -> Orders``;
:func:`quantmarl.agents.reactive.batch` builds one from a per-agent rule.
:func:`act_blocks` runs a whole population laid out contiguously by kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.agents.reactive import ACTS, ActFn, ReactiveParams, batch
from quantmarl.agents.view import MarketView, Orders

__all__ = ["BEHAVIOURS", "SLOTS", "Block", "act_blocks", "get", "register", "register_rule"]

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

BEHAVIOURS: dict[str, ActFn] = dict(ACTS)  # built-ins; register() adds user behaviours
# Order slots each behaviour uses per step (1 or 2): the market only carries the slots used.
SLOTS: dict[str, int] = {name: 1 for name in ACTS} | {"market_maker": 2, "arbitrage": 2}


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"behaviour name must be a lowercase identifier matching [a-z][a-z0-9_]*, "
            f"got {name!r}"
        )
    return name


def register(name: str, fn: ActFn, slots: int = 2) -> ActFn:
    """Add a batched behaviour ``fn`` under ``name`` and return ``fn``.

    ``slots`` (1 or 2) is how many of the two order slots it uses each step;
    a one-slot behaviour's second slot is never read.

    Raises:
        ValueError: ``name`` is not a lowercase identifier, or is already registered.
        TypeError: ``fn`` is not callable.
    """
    _check_name(name)
    if not callable(fn):
        raise TypeError(f"behaviour {name!r} must be callable, got {type(fn).__name__}")
    if name in BEHAVIOURS:
        raise ValueError(f"behaviour {name!r} is already registered")
    if slots not in (1, 2):
        raise ValueError(f"slots must be 1 or 2, got {slots!r}")
    BEHAVIOURS[name] = fn
    SLOTS[name] = slots
    return fn


def register_rule(
    name: str, rule: Callable, slots: int = 2, draws: int | None = None
) -> ActFn:
    """Register a *per-agent* rule (batched with :func:`~quantmarl.agents.reactive.batch`).

    ``draws=None``: the rule's first argument is its own PRNG key; ``draws=d``:
    float32 ``[d]`` uniforms in (0, 1) drawn for the whole block at once (faster).
    """
    return register(name, batch(rule, draws), slots)


def get(name: str) -> ActFn:
    """The batched act function registered as ``name`` (``ValueError`` listing known names)."""
    try:
        return BEHAVIOURS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(BEHAVIOURS))
        raise ValueError(f"unknown behaviour {name!r}; known behaviours: {known}") from None


@struct.dataclass
class Block:
    """A contiguous block of agents sharing one behaviour.

    ``name`` is static (part of the pytree structure), so a tuple of blocks can be
    passed straight through ``jax.jit``; plain ``(name, params)`` tuples also work
    with :func:`act_blocks` but must be closed over (a ``str`` is not a JAX type).
    """

    name: str = struct.field(pytree_node=False)  # behaviour name (static)
    params: ReactiveParams  # fields [n_block]


def _unpack(block) -> tuple[str, ReactiveParams]:
    if isinstance(block, Block):
        return block.name, block.params
    name, params = block
    return name, params


def act_blocks(
    key: jax.Array,
    view: MarketView,
    blocks: Sequence[Block | tuple[str, ReactiveParams]],
    inventory: jax.Array,
    cash: jax.Array,
) -> Orders:
    """Orders of a population laid out contiguously by kind.

    Block ``i`` covers the next ``n_i`` rows of ``inventory`` (int64 ``[n, A]``)
    and ``cash`` (int64 ``[n]``), is run by its registered behaviour with key
    ``split(key, len(blocks))[i]``, and the results, padded to two slots
    (:meth:`Orders.padded`), are concatenated in block order. The structure (names, block
    sizes) is static.

    Raises:
        ValueError: unknown behaviour, or block sizes not summing to ``n``.
    """
    blocks = tuple(_unpack(b) for b in blocks)
    fns = [get(name) for name, _ in blocks]
    sizes = [jax.tree.leaves(params)[0].shape[0] for _, params in blocks]
    n = inventory.shape[0]
    if sum(sizes) != n or cash.shape[0] != n:
        raise ValueError(
            f"block sizes {sizes} sum to {sum(sizes)}, but inventory has {n} rows "
            f"and cash {cash.shape[0]}"
        )
    if not blocks:
        return Orders(
            side=jnp.zeros((0, 2), jnp.int64),
            price=jnp.zeros((0, 2), jnp.int64),
            qty=jnp.zeros((0, 2), jnp.int64),
            asset=jnp.zeros((0, 2), jnp.int32),
        )
    keys = jax.random.split(key, len(blocks))
    outs = []
    start = 0
    for i, ((_, params), fn, size) in enumerate(zip(blocks, fns, sizes, strict=True)):
        stop = start + size
        outs.append(fn(keys[i], view, params, inventory[start:stop], cash[start:stop]))
        start = stop
    outs = [o.padded(2) for o in outs]  # one-slot behaviours: an empty second slot
    return jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *outs)
