"""Agents that trade in the market.

* :mod:`quantmarl.agents.view`: :class:`MarketView` (what agents observe) and
  :class:`Orders` (order slots per agent, int64 money);
* :mod:`quantmarl.agents.params`: per-agent parameters (:class:`ReactiveParams`,
  struct of arrays), their ranges (:class:`BehaviourDistribution`) and :class:`Block`;
* :mod:`quantmarl.agents.rules`: the built-in per-agent decision rules;
* :mod:`quantmarl.agents.batching`: :func:`batch`, a per-agent rule vmapped over a block;
* :mod:`quantmarl.agents.behaviour`: :class:`Behaviour`, one record per kind of agent;
* :mod:`quantmarl.agents.reactive`: the built-in behaviours (market maker,
  fundamental, momentum, mean reversion, noise, arbitrage);
* :mod:`quantmarl.agents.registry`: behaviour name -> record, :func:`register`;
* :mod:`quantmarl.agents.background`: the background order-flow pool.
"""

from quantmarl.agents import (
    background,
    batching,
    behaviour,
    params,
    reactive,
    registry,
    rules,
    view,
)
from quantmarl.agents.batching import batch, uniforms
from quantmarl.agents.behaviour import Behaviour
from quantmarl.agents.params import INDEX_PAIR, BehaviourDistribution, Block, ReactiveParams
from quantmarl.agents.reactive import BUILT_IN, DEFAULT_DISTRIBUTIONS
from quantmarl.agents.registry import (
    BEHAVIOURS,
    get,
    register,
    register_behaviour,
    register_rule,
    sample_params,
)
from quantmarl.agents.view import MARKET, MarketView, Orders, make_view, no_orders

__all__ = [
    "BEHAVIOURS",
    "BUILT_IN",
    "DEFAULT_DISTRIBUTIONS",
    "INDEX_PAIR",
    "MARKET",
    "Behaviour",
    "BehaviourDistribution",
    "Block",
    "MarketView",
    "Orders",
    "ReactiveParams",
    "background",
    "batch",
    "batching",
    "behaviour",
    "get",
    "make_view",
    "no_orders",
    "params",
    "reactive",
    "register",
    "register_behaviour",
    "register_rule",
    "registry",
    "rules",
    "sample_params",
    "uniforms",
    "view",
]
