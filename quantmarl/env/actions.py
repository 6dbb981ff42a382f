"""Learner action encodings: one :class:`ActionEncoding` record per encoding, one registry.

An encoding says how a learner group's integer action (a Gymnasium ``Discrete``
or ``MultiDiscrete`` sample) becomes one row of the market's
:class:`~quantmarl.market.smart.SmartActions`. ``AgentGroup.action`` names the
encoding; its size fields (``trade_size``, ``n_offsets``, ``n_sizes``,
``size_unit``) parametrise it. Built-ins:

* ``"discrete"``: ``Discrete(3)``: 0 hold, 1 market buy, 2 market sell of ``trade_size`` lots;
* ``"limit"``: ``MultiDiscrete([3, n_offsets, n_sizes, 2])``: side (0 hold, 1 buy, 2 sell),
  limit offset ``i`` ticks on the passive side of the mid, size ``size_unit * (j + 1)`` lots,
  cancel flag (1 = cancel all resting orders instead);
* ``"market_maker"``: ``MultiDiscrete([n_offsets, n_offsets, n_sizes])``: bid ``1 + i`` ticks
  below and ask ``1 + k`` ticks above the mid, ``size_unit * (j + 1)`` lots each side.

Users add encodings with :func:`register_action`. A decoder is jittable and never
raises: it returns ``ok = False`` for an action outside the space (the env then holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from gymnasium import spaces

from quantmarl.market.smart import ActionKind, SmartActions

if TYPE_CHECKING:  # annotations only: AgentGroup (env.types) validates names against ACTIONS
    from quantmarl.env.types import AgentGroup

__all__ = [
    "ACTIONS",
    "ActionEncoding",
    "Decoder",
    "get_action",
    "group_action_space",
    "register_action",
    "smart_row",
]

# (act int64 [k] flattened action, group) -> (one SmartActions row of 0-d arrays, ok bool [])
Decoder = Callable[[jax.Array, "AgentGroup"], tuple[SmartActions, jax.Array]]


@dataclass(frozen=True)
class ActionEncoding:
    """One action encoding: its name, its space and its decoder."""

    name: str  # the value of ``AgentGroup.action`` that selects it
    space: Callable[[AgentGroup], spaces.Space]  # group -> Discrete / MultiDiscrete space
    decode: Decoder  # jittable; out-of-space actions give ok = False
    doc: str = ""  # one line: what each action component means


def smart_row(kind, side=0, offset=0, qty=0, offset2=0, qty2=0, asset=0) -> SmartActions:
    """One :class:`SmartActions` row (0-d arrays): int32 ``kind``/``asset``, int64 the rest."""
    i64 = partial(jnp.asarray, dtype=jnp.int64)
    return SmartActions(kind=jnp.asarray(kind, jnp.int32), side=i64(side), offset=i64(offset),
                        qty=i64(qty), offset2=i64(offset2), qty2=i64(qty2),
                        asset=jnp.asarray(asset, jnp.int32))


def _decode_discrete(act: jax.Array, g: AgentGroup) -> tuple[SmartActions, jax.Array]:
    a = act[0]
    ok = (act.shape[0] == 1) & (a >= 0) & (a <= 2)
    kind = jnp.where(ok & (a > 0), ActionKind.MARKET, ActionKind.HOLD)
    return smart_row(kind, side=jnp.where(a == 1, 1, -1), qty=g.trade_size, asset=g.asset), ok


def _decode_limit(act: jax.Array, g: AgentGroup) -> tuple[SmartActions, jax.Array]:
    side_i, off, size, cancel = act[0], act[1], act[2], act[3]
    ok = ((side_i >= 0) & (side_i <= 2) & (off >= 0) & (off < g.n_offsets) & (size >= 0)
          & (size < g.n_sizes) & (cancel >= 0) & (cancel <= 1))
    kind = jnp.select([cancel == 1, side_i == 0], [ActionKind.CANCEL_ALL, ActionKind.HOLD],
                      ActionKind.LIMIT)
    return smart_row(kind, side=jnp.where(side_i == 1, 1, -1), offset=off,
                     qty=g.size_unit * (size + 1), asset=g.asset), ok


def _decode_market_maker(act: jax.Array, g: AgentGroup) -> tuple[SmartActions, jax.Array]:
    bid, ask, size = act[0], act[1], act[2]
    ok = ((bid >= 0) & (bid < g.n_offsets) & (ask >= 0) & (ask < g.n_offsets) & (size >= 0)
          & (size < g.n_sizes))
    q = g.size_unit * (size + 1)
    return smart_row(ActionKind.QUOTE, offset=bid + 1, qty=q, offset2=ask + 1, qty2=q,
                     asset=g.asset), ok


ACTIONS: dict[str, ActionEncoding] = {}


def register_action(encoding: ActionEncoding) -> ActionEncoding:
    """Add ``encoding`` under ``encoding.name`` (a new identifier); returns it."""
    if not isinstance(encoding, ActionEncoding):
        raise ValueError(f"encoding must be an ActionEncoding, got {encoding!r}")
    name = encoding.name
    if not isinstance(name, str) or not name.isidentifier() or name in ACTIONS:
        raise ValueError(f"action encoding name must be a new identifier, got {name!r}; "
                         f"taken: {sorted(ACTIONS)}")
    if not callable(encoding.space) or not callable(encoding.decode):
        raise ValueError(f"action encoding {name!r}: space and decode must be callables")
    ACTIONS[name] = encoding
    return encoding


def get_action(name: str) -> ActionEncoding:
    """The encoding registered under ``name``."""
    if name not in ACTIONS:
        raise ValueError(f"unknown action encoding {name!r}; known: {sorted(ACTIONS)}")
    return ACTIONS[name]


def group_action_space(group: AgentGroup) -> spaces.Space:
    """The Gymnasium action space of one learner of ``group`` (a fresh object per call)."""
    return get_action(group.action).space(group)


register_action(ActionEncoding(
    "discrete", lambda g: spaces.Discrete(3), _decode_discrete,
    "0 hold, 1 market buy, 2 market sell of trade_size lots"))
register_action(ActionEncoding(
    "limit", lambda g: spaces.MultiDiscrete([3, g.n_offsets, g.n_sizes, 2]), _decode_limit,
    "[side (0 hold, 1 buy, 2 sell), passive offset i ticks, size_unit * (j + 1) lots, "
    "cancel-all flag]"))
register_action(ActionEncoding(
    "market_maker", lambda g: spaces.MultiDiscrete([g.n_offsets, g.n_offsets, g.n_sizes]),
    _decode_market_maker,
    "[bid 1 + i ticks below the mid, ask 1 + k ticks above, size_unit * (j + 1) lots a side]"))
