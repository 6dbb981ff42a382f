"""Agents that trade in the market.

* :mod:`quantmarl.agents.view`: :class:`MarketView` (what agents observe) and
  :class:`Orders` (two order slots per agent, int64 money);
* :mod:`quantmarl.agents.reactive`: rule-based traders (market maker,
  fundamental, momentum, mean reversion, noise, arbitrage) as SoA parameters
  and per-agent rules vmapped over thousands of agents;
* :mod:`quantmarl.agents.registry`: behaviour name -> batched act function,
  and :func:`act_blocks` for a population laid out by kind.
"""

from quantmarl.agents import reactive, registry, view
from quantmarl.agents.reactive import (
    DEFAULT_DISTRIBUTIONS,
    INDEX_PAIR,
    RULES,
    BehaviourDistribution,
    ReactiveParams,
    batch,
    sample_params,
)
from quantmarl.agents.registry import BEHAVIOURS, Block, act_blocks, get, register, register_rule
from quantmarl.agents.view import MARKET, MarketView, Orders, make_view, no_orders

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_DISTRIBUTIONS",
    "INDEX_PAIR",
    "MARKET",
    "RULES",
    "BehaviourDistribution",
    "Block",
    "MarketView",
    "Orders",
    "ReactiveParams",
    "act_blocks",
    "batch",
    "get",
    "make_view",
    "no_orders",
    "reactive",
    "register",
    "register_rule",
    "registry",
    "sample_params",
    "view",
]
