"""Experiment settings: the market (the market's own
:class:`~quantmarl.market.MarketConfig`, with the experiments' defaults), the
learners' PPO settings, and the :class:`~quantmarl.rl.TrainConfig` they make.

An experiment config nests ``market: MarketConfig`` (YAML: ``market.n_assets``
etc., every field validated by ``MarketConfig``) and ``ppo: PPOSettings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quantmarl._validate import check_range
from quantmarl.market import MarketConfig, MarketParams, default_params
from quantmarl.market.config import DEFAULT_REACTIVE
from quantmarl.market.params_io import apply_overrides
from quantmarl.rl import TrainConfig
from quantmarl.rl.config import train_market

__all__ = ["EXPERIMENT_REACTIVE", "PPOSettings", "check_market", "check_market_params",
           "experiment_market", "market_overrides", "train_config"]

#: ``market_params`` of an experiment config: ``(dotted MarketParams path, value)`` pairs set
#: over the market's default params (e.g. ``("background.value_pull", 0.05)``)
MarketParamsOverrides = tuple[tuple[str, float], ...]

#: the rule-based traders of the experiments' markets, (behaviour, count): the default
EXPERIMENT_REACTIVE = DEFAULT_REACTIVE


def experiment_market(**changes: Any) -> MarketConfig:
    """The training market (:func:`~quantmarl.rl.config.train_market`: auction, one
    asset, 200-step episodes, the default population and pool: 32 background order slots
    per step per asset and :data:`EXPERIMENT_REACTIVE`), then ``changes`` (``MarketConfig``
    fields)."""
    return train_market(**{"background_orders": 32, "reactive": EXPERIMENT_REACTIVE,
                           **changes})


def check_market(market: MarketConfig) -> None:
    """What the experiments need beyond ``MarketConfig``'s own checks: episodes of at
    least 10 steps (the metrics' windows)."""
    check_range("market.episode_length", market.episode_length, 10, None)


def market_overrides(params: MarketParams, pairs: MarketParamsOverrides,
                     market: MarketConfig) -> MarketParams:
    """``params`` with every ``(path, value)`` of ``pairs`` set, checked against ``market``
    (a bad path or value raises ``ValueError`` naming ``market_params.PATH``)."""
    try:
        return apply_overrides(params, dict(pairs), market)
    except ValueError as err:
        raise ValueError(f"market_params: {err}") from None


def check_market_params(market: MarketConfig, pairs: MarketParamsOverrides) -> None:
    """Fail before compiling when ``pairs`` do not apply to ``market``'s params."""
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"market_params must not repeat a path, got {names}")
    market_overrides(default_params(market), pairs, market)


@dataclass(frozen=True)
class PPOSettings:
    """PPO hyper-parameters of the learners (see :class:`quantmarl.rl.TrainConfig`)."""

    n_envs: int = 16  # parallel training environments per seed
    n_steps: int = 32  # rollout length per update, steps
    iterations: int = 40  # PPO updates
    update_epochs: int = 2
    n_minibatches: int = 2
    lr: float = 3e-4
    ent_coef: float = 0.01
    hidden: tuple[int, ...] = (32, 32)

    def __post_init__(self) -> None:
        check_range("ppo.n_envs", self.n_envs, 1, 4096)
        check_range("ppo.n_steps", self.n_steps, 1, 4096)
        check_range("ppo.iterations", self.iterations, 1, 100_000)
        check_range("ppo.update_epochs", self.update_epochs, 1, 100)
        check_range("ppo.n_minibatches", self.n_minibatches, 1, 4096)
        if (self.n_envs * self.n_steps) % self.n_minibatches:
            raise ValueError(f"ppo.n_minibatches must divide ppo.n_envs * ppo.n_steps = "
                             f"{self.n_envs * self.n_steps}, got {self.n_minibatches}")
        check_range("ppo.lr", self.lr, 0.0, 1.0, lo_open=True)
        check_range("ppo.ent_coef", self.ent_coef, 0.0, 10.0)
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"ppo.hidden must be a non-empty list of ints >= 1, "
                             f"got {list(self.hidden)}")


def train_config(ppo: PPOSettings, market: MarketConfig, agent_type: str,
                 agents_per_type: int) -> TrainConfig:
    """The :class:`TrainConfig` of one learner group (``agent_type``) in ``market``."""
    return TrainConfig(
        agent_types=(agent_type,), agents_per_type=agents_per_type, market=market,
        n_envs=ppo.n_envs, n_steps=ppo.n_steps, iterations=ppo.iterations,
        update_epochs=ppo.update_epochs, n_minibatches=ppo.n_minibatches, lr=ppo.lr,
        ent_coef=ppo.ent_coef, hidden=tuple(ppo.hidden))
