"""Environments over the market: a jittable multi-agent ``MarketEnv`` (functional),
observation and reward plug-ins."""

from quantmarl.env.functional import (
    AgentGroup,
    EnvConfig,
    EnvParams,
    EnvState,
    MarketEnv,
)
from quantmarl.env.observations import register_feature
from quantmarl.env.rewards import register_reward

__all__ = ["AgentGroup", "EnvConfig", "EnvParams", "EnvState", "MarketEnv", "register_feature",
           "register_reward"]
