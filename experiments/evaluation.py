"""Evaluation of the trained learners under stress: the stress schedule and the
frozen policies replayed in fresh episodes, all seeds in one compiled call.

Shapes: ``S`` seeds, ``E`` evaluation episodes per seed, ``T`` steps. Records are
the market's :class:`~quantmarl.market.StepRecord` with leading ``[S, E, T]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import jax
import jax.numpy as jnp

from experiments import recording
from experiments.compiling import cached, jit
from quantmarl.events import (
    breaker_rules,
    flash_crash,
    flash_rally,
    liquidity_shock,
    make_schedule,
    sell_program,
    volatility_spike,
)
from quantmarl.market import MarketConfig, MarketParams, StepRecord, validate_params
from quantmarl.rl import Trainer
from quantmarl.rl.evaluate import make_comparison, make_episodes

__all__ = ["ARMS", "ARM_LABELS", "EVENTS", "PLACEBO_POLICIES", "arm_policies", "check_event",
           "evaluate_arms", "evaluate_conditions", "evaluate_rl", "evaluate_trained",
           "placebo_note", "stressed"]

#: the arms of every experiment, as policies of the learner slots
#: (:mod:`quantmarl.rl.baselines`): the trained policy acting greedily and sampling,
#: the scripted rule and uniform-random actions in the learners' own action and
#: observation space, and slots that never trade ("hold": empty slots)
ARMS = ("greedy", "sample", "scripted", "random", "hold")
ARM_LABELS = {"greedy": "learners (greedy)", "sample": "learners (sampled)",
              "scripted": "scripted", "random": "random", "hold": "empty slots"}
#: ``--placebo`` (A/A): the policy that plays each arm. Every arm a hypothesis compares
#: is the uniform-random policy on its own stream of action draws (``"random#n"``), with
#: the market's random numbers shared as always, so every null hypothesis is true. (The
#: scripted rule is deterministic: an A/A with it would compare identical numbers.)
PLACEBO_POLICIES = {"greedy": "random#1", "sample": "random#2", "scripted": "random",
                    "random": "random#3", "hold": "hold"}


def arm_policies(placebo: bool) -> tuple[str, ...]:
    """The policies that play :data:`ARMS`, in order (:data:`PLACEBO_POLICIES` for an
    A/A run)."""
    return tuple(PLACEBO_POLICIES[a] for a in ARMS) if placebo else ARMS


def placebo_note(placebo: bool) -> str:
    """The report's opening paragraph of an A/A run ("" otherwise)."""
    return ("**Placebo (A/A) run** (`--placebo`): every arm a hypothesis compares is "
            "played by the uniform-random policy on its own stream of action draws (the "
            "market's random numbers shared as always), so every null hypothesis is true "
            "and a rejection is a false positive. The arm names below keep their usual "
            "labels.\n\n") if placebo else ""


#: event constructors by name: ``(magnitude, duration, start, asset=-1) -> Event``
EVENTS = {"flash_crash": flash_crash, "flash_rally": flash_rally,
          "volatility_spike": volatility_spike, "liquidity_shock": liquidity_shock,
          "sell_program": sell_program}


def check_event(where: str, kind: str, magnitude: float, duration: int) -> None:
    """Refuse a config's event whose ``magnitude`` or ``duration`` its kind does not
    allow (the bounds of :data:`quantmarl.events.EVENT_KINDS`), naming the field."""
    try:
        EVENTS[kind](magnitude, duration, 0)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def stressed(params: MarketParams, config: MarketConfig, events: Sequence = (),
             breaker: dict | None = None) -> MarketParams:
    """``params`` with the schedule ``events`` and, if ``breaker`` (keyword arguments
    of :func:`~quantmarl.events.breaker_rules`) is given, an enabled circuit breaker
    (else a disabled one). Validated against ``config``."""
    rules = (breaker_rules(**breaker, history_len=config.history) if breaker is not None
             else breaker_rules(enabled=False, history_len=config.history))
    out = params.replace(
        schedule=make_schedule(list(events), capacity=config.max_events,
                               n_assets=config.n_assets),
        breaker=rules)
    return validate_params(config, out)


def evaluate_rl(trainer: Trainer, policy_params, keys: jax.Array, market_params: MarketParams,
                n_episodes: int) -> tuple[jax.Array, StepRecord]:
    """The frozen trained policies in fresh episodes, all seeds in one compiled call.

    ``policy_params``: ``out.runner.params`` (leading [S]); ``keys`` [S];
    ``market_params`` replace the trainer's (e.g. a stress schedule; traced, so
    every condition reuses one compile). Policies sample their actions. Returns
    ``(wealth float32 [S, E, T + 1, n_learners] (fraction of initial), records [S, E, T, ...])``.
    """
    def build():
        base = trainer.env_params
        run = make_episodes(trainer, n_episodes, "sample", records=True)

        def one(key, params, mparams):
            return run(key, params, base.replace(market=mparams))

        return jit(jax.vmap(one, in_axes=(0, 0, None)))

    return cached(trainer, f"eval{n_episodes}", build)(keys, policy_params, market_params)


def evaluate_conditions(trainer: Trainer, policy_params, keys: jax.Array,
                        conditions: Sequence[MarketParams], n_episodes: int,
                        arms: tuple[str, ...] = ARMS, batch: int = 1
                        ) -> Iterator[tuple[jax.Array, StepRecord]]:
    """Every arm under each market condition (e.g. stress sizes), ``batch`` conditions
    per compiled call (``jax.vmap`` over their stacked params), on the same random
    numbers in every arm and every condition.

    ``policy_params``: ``out.runner.params`` (leading [S]); ``keys`` [S];
    ``conditions``: market params of one structure (one schedule capacity). Yields, per
    condition in order, ``(wealth float32 [P, S, E, T + 1, n_learners], records [P, S, E,
    T, ...])`` with ``P = len(arms)`` in the order of ``arms`` (policy names of
    :func:`quantmarl.rl.evaluate.make_comparison`, e.g. :func:`arm_policies`). A short
    last batch is padded with its last condition, so every batch reuses one compile;
    only one batch's records are held at a time.
    """
    batch = max(1, min(batch, len(conditions)))

    def build():
        base = trainer.env_params
        run = make_comparison(trainer, n_episodes, arms, records=True)

        def one(key, params, mparams):
            return run(key, params, base.replace(market=mparams))

        seeds = jax.vmap(one, in_axes=(0, 0, None))  # [S, P, ...]
        many = jax.vmap(seeds, in_axes=(None, None, 0))  # [C, S, P, ...]
        return jit(lambda k, p, m: jax.tree.map(lambda x: jnp.swapaxes(x, 1, 2),
                                                many(k, p, m)))

    run = cached(trainer, f"arms{n_episodes}{arms}x{batch}", build)
    for lo in range(0, len(conditions), batch):
        chunk = list(conditions[lo:lo + batch])
        n = len(chunk)
        stacked = jax.tree.map(lambda *x: jnp.stack(x), *chunk, *[chunk[-1]] * (batch - n))
        wealth, records = jax.block_until_ready(run(keys, policy_params, stacked))
        for i in range(n):
            out = jax.tree.map(lambda x, i=i: x[i], (wealth, records))
            recording.record(arms, out[1])  # --record: the episodes into a run store
            yield out


def evaluate_trained(trained, conditions: Sequence[MarketParams], n_episodes: int,
                     placebo: bool = False, batch: int = 1
                     ) -> Iterator[tuple[jax.Array, StepRecord]]:
    """:func:`evaluate_conditions` of an experiment's trained learners
    (:class:`~experiments.training.Trained`), every arm of :data:`ARMS` (the policies of
    :func:`arm_policies`)."""
    return evaluate_conditions(trained.trainer, trained.out.runner.params, trained.k_eval,
                               conditions, n_episodes, arm_policies(placebo), batch)


def evaluate_arms(trainer: Trainer, policy_params, keys: jax.Array,
                  market_params: MarketParams, n_episodes: int,
                  arms: tuple[str, ...] = ARMS) -> tuple[jax.Array, StepRecord]:
    """:func:`evaluate_conditions` of the one condition ``market_params``: every arm plays
    the same episodes (common random numbers: the same reset, market and step keys; only
    the slots' actions differ), all seeds in one compiled call. Returns ``(wealth [P, S,
    E, T + 1, n_learners], records [P, S, E, T, ...])``."""
    return next(evaluate_conditions(trainer, policy_params, keys, [market_params],
                                    n_episodes, arms))
