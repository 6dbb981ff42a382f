"""Behaviour registry: name -> :class:`Behaviour` record (a dict, no if/elif chains).

The built-in behaviours (:mod:`quantmarl.agents.reactive`) are registered on
import; :func:`register_behaviour` adds a record, and :func:`register` /
:func:`register_rule` build one from a batched act function or a per-agent
rule. The market reads everything it needs about a behaviour (act function,
order slots, requoting, withdrawal under stress) from its record.
"""

from __future__ import annotations

import jax

from quantmarl.agents.batching import ActFn, Rule
from quantmarl.agents.behaviour import Behaviour
from quantmarl.agents.params import BehaviourDistribution, ReactiveParams, draw_params
from quantmarl.agents.reactive import BUILT_IN

__all__ = ["BEHAVIOURS", "get", "register", "register_behaviour", "register_rule",
           "sample_params"]

BEHAVIOURS: dict[str, Behaviour] = {b.name: b for b in BUILT_IN}  # register() adds more


def register_behaviour(behaviour: Behaviour) -> Behaviour:
    """Add ``behaviour`` under its name and return it.

    Raises:
        TypeError: ``behaviour`` is not a :class:`Behaviour`.
        ValueError: a behaviour of that name is already registered.
    """
    if not isinstance(behaviour, Behaviour):
        raise TypeError(f"behaviour must be a Behaviour record, got {type(behaviour).__name__}")
    if behaviour.name in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour.name!r} is already registered")
    BEHAVIOURS[behaviour.name] = behaviour
    return behaviour


def register(name: str, fn: ActFn, slots: int = 2, **fields) -> Behaviour:
    """Register the batched act function ``fn`` as behaviour ``name``.

    ``slots`` (1 or 2) is how many order slots it uses each step; ``fields``
    are the other :class:`Behaviour` fields (``distribution``, ``requotes``,
    ``withdraws_in_stress``).

    Raises:
        ValueError: bad name or field, or ``name`` is already registered.
        TypeError: ``fn`` is not callable.
    """
    return register_behaviour(Behaviour(name=name, act=fn, slots=slots, **fields))


def register_rule(
    name: str, rule: Rule, slots: int = 2, draws: int | None = None, **fields
) -> Behaviour:
    """Register a *per-agent* rule (batched with :func:`~quantmarl.agents.batching.batch`).

    ``draws=None``: the rule's first argument is its own PRNG key; ``draws=d``:
    float32 ``[d]`` uniforms in (0, 1) drawn for the whole block at once (faster).
    ``fields`` as in :func:`register`.
    """
    return register_behaviour(Behaviour.from_rule(name, rule, draws=draws, slots=slots,
                                                  **fields))


def get(name: str) -> Behaviour:
    """The behaviour registered as ``name`` (``ValueError`` listing known names)."""
    try:
        return BEHAVIOURS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(BEHAVIOURS))
        raise ValueError(f"unknown behaviour {name!r}; known behaviours: {known}") from None


def sample_params(
    key: jax.Array,
    n: int,
    kind: str,
    dist: BehaviourDistribution | None = None,
    n_assets: int = 1,
    *,
    history_len: int | None = None,
) -> ReactiveParams:
    """Draw ``n`` agents' parameters (:func:`~quantmarl.agents.params.draw_params`).

    ``dist=None`` takes the default ranges of the behaviour registered as
    ``kind`` (a plain :class:`BehaviourDistribution` for an unregistered name).
    """
    if dist is None:
        known = BEHAVIOURS.get(kind)
        dist = BehaviourDistribution() if known is None else known.distribution
    return draw_params(key, n, dist, n_assets, history_len=history_len)
