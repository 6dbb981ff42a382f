"""Environments over the market: a jittable multi-agent ``MarketEnv`` (functional), the
PettingZoo ``parallel_env`` and Gymnasium ``gymnasium_env`` shells (importing this package
registers ``quantmarl/Market-v0`` with Gymnasium), action-encoding, observation and reward
plug-ins."""

from quantmarl.env.actions import ActionEncoding, group_action_space, register_action
from quantmarl.env.functional import (
    AgentGroup,
    EnvConfig,
    EnvParams,
    EnvState,
    MarketEnv,
)
from quantmarl.env.gymnasium import MarketGymEnv, gymnasium_env
from quantmarl.env.keys import episode_keys, step_keys, turn_keys
from quantmarl.env.observations import register_feature
from quantmarl.env.pettingzoo import MarketParallelEnv, parallel_env
from quantmarl.env.rewards import register_reward

__all__ = ["ActionEncoding", "AgentGroup", "EnvConfig", "EnvParams", "EnvState", "MarketEnv",
           "MarketGymEnv", "MarketParallelEnv", "episode_keys", "group_action_space",
           "gymnasium_env", "parallel_env", "register_action", "register_feature",
           "register_reward", "step_keys", "turn_keys"]
