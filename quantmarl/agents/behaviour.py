"""One record per behaviour: everything the market needs to know about a kind of agent.

A :class:`Behaviour` names a batched act function and the static facts the
market reads from it (order slots, requoting, withdrawal under stress) and
the default ranges its agents' parameters are drawn from. Records are
registered in :mod:`quantmarl.agents.registry`; the built-in ones are in
:mod:`quantmarl.agents.reactive`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quantmarl.agents.batching import ActFn, Rule, batch
from quantmarl.agents.params import BehaviourDistribution

__all__ = ["Behaviour"]

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Behaviour:
    """A kind of reactive agent (static; hashable by identity of its functions).

    ``act(key, view, params [n], inventory int64 [n, A], cash int64 [n]) -> Orders``
    returns order fields of shape ``[n, slots]`` (or more slots; the market
    keeps the first ``slots``).
    """

    name: str  # lowercase identifier, [a-z][a-z0-9_]*
    act: ActFn  # batched act function (see above)
    slots: int = 2  # order slots used per step, 1 or 2 (the market carries only these)
    rule: Rule | None = None  # the per-agent rule ``act`` batches (None: act written by hand)
    draws: int | None = None  # uniforms per agent and step handed to ``rule``; None: a PRNG key
    # default parameter ranges of a block of this behaviour (MarketParams.behaviours)
    distribution: BehaviourDistribution = field(default_factory=BehaviourDistribution)
    requotes: bool = False  # CDA: its resting orders are cancelled each step before it acts
    withdraws_in_stress: bool = False  # its orders are dropped where an event withdraws liquidity

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"Behaviour.name must be a lowercase identifier matching "
                             f"[a-z][a-z0-9_]*, got {self.name!r}")
        if not callable(self.act):
            raise TypeError(f"Behaviour.act of {self.name!r} must be callable, "
                            f"got {type(self.act).__name__}")
        if isinstance(self.slots, bool) or self.slots not in (1, 2):
            raise ValueError(f"Behaviour.slots of {self.name!r} must be 1 or 2, "
                             f"got {self.slots!r}")
        for flag in ("requotes", "withdraws_in_stress"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"Behaviour.{flag} of {self.name!r} must be a bool, "
                                 f"got {getattr(self, flag)!r}")
        if not isinstance(self.distribution, BehaviourDistribution):
            raise ValueError(f"Behaviour.distribution of {self.name!r} must be a "
                             f"BehaviourDistribution, got {type(self.distribution).__name__}")

    @classmethod
    def from_rule(cls, name: str, rule: Rule, *, draws: int | None = None,
                  **fields) -> Behaviour:
        """A behaviour whose act function batches the per-agent ``rule``
        (:func:`~quantmarl.agents.batching.batch` with ``draws``); ``fields`` as in the record."""
        return cls(name=name, act=batch(rule, draws), rule=rule, draws=draws, **fields)
