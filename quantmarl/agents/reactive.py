"""The built-in reactive (rule-based) behaviours, one :class:`Behaviour` record each.

Market maker, fundamental (value), momentum, mean reversion, noise and
arbitrage traders: a per-agent rule from :mod:`quantmarl.agents.rules`,
batched with the uniforms it draws per agent and step, the order slots it
uses, its default parameter ranges, and whether it requotes (CDA) and
withdraws its quotes under a liquidity-withdrawal event (the market maker).
"""

from __future__ import annotations

from types import MappingProxyType

from quantmarl.agents import rules
from quantmarl.agents.behaviour import Behaviour
from quantmarl.agents.params import BehaviourDistribution

__all__ = ["BUILT_IN", "DEFAULT_DISTRIBUTIONS"]

BUILT_IN: tuple[Behaviour, ...] = (
    Behaviour.from_rule("market_maker", rules.market_maker, draws=0, slots=2,
                        distribution=BehaviourDistribution(size_lo=1.0, size_hi=20.0),
                        requotes=True, withdraws_in_stress=True),
    Behaviour.from_rule("fundamental", rules.fundamental, draws=2, slots=1,
                        distribution=BehaviourDistribution(threshold_lo=0.001,
                                                           threshold_hi=0.01)),
    # triggers near typical moves over the lookback, so momentum traders do trade;
    # threshold_hi and lookback_hi (and mean reversion's lookback_hi) are calibrated
    # (docs/calibration/params.yaml)
    Behaviour.from_rule("momentum", rules.momentum, draws=1, slots=1,
                        distribution=BehaviourDistribution(threshold_lo=0.0003,
                                                           threshold_hi=0.005014,
                                                           lookback_hi=12.28)),
    # threshold is a z-score for mean reversion
    Behaviour.from_rule("mean_reversion", rules.mean_reversion, draws=1, slots=1,
                        distribution=BehaviourDistribution(threshold_lo=1.25,
                                                           threshold_hi=2.75,
                                                           lookback_hi=32.3)),
    Behaviour.from_rule("noise", rules.noise, draws=4, slots=1,
                        distribution=BehaviourDistribution(size_lo=1.0, size_hi=5.0)),
    Behaviour.from_rule("arbitrage", rules.arbitrage, draws=1, slots=2,
                        distribution=BehaviourDistribution(threshold_lo=0.001,
                                                           threshold_hi=0.01)),
)

# Read-only view of the records' default ranges by name (for callers that only need those).
DEFAULT_DISTRIBUTIONS = MappingProxyType({b.name: b.distribution for b in BUILT_IN})
