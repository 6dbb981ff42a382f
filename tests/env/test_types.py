"""Env configs: AgentGroup and EnvConfig validation."""

import pytest

from quantmarl.env import AgentGroup, EnvConfig
from quantmarl.market import MarketConfig


def test_bad_config_errors():
    with pytest.raises(ValueError, match="action must be one of"):
        AgentGroup("x", 1, action="teleport")
    with pytest.raises(ValueError, match="count must be an int >= 1"):
        AgentGroup("x", 0)
    with pytest.raises(ValueError, match="group names must be unique"):
        EnvConfig(groups=(AgentGroup("a"), AgentGroup("a")))
    with pytest.raises(ValueError, match="asset 1 is out of range"):
        EnvConfig(groups=(AgentGroup("a", asset=1),))
    with pytest.raises(ValueError, match="AgentGroup.name must be an identifier, got '1x'"):
        AgentGroup("1x")
    with pytest.raises(ValueError, match="AgentGroup.trade_size must be an int >= 1, got True"):
        AgentGroup("x", trade_size=True)
    with pytest.raises(ValueError, match="auto_reset must be a bool, got 1"):
        EnvConfig(auto_reset=1)


def test_env_config_sets_the_smart_tier_to_the_learner_count():
    cfg = EnvConfig(groups=(AgentGroup("a", 2), AgentGroup("b", 3)),
                    market=MarketConfig(n_smart=0))
    assert cfg.market.n_smart == 5
