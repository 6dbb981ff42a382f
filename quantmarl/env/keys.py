"""The env's PRNG key scheme, in one place.

Every function here is the split that the env and its episode runner make, in
the order they make it; code that must draw the same random numbers as an env
episode without running the env (e.g. a paired control market that replays the
env's market with rule-based agents) calls these instead of copying the splits.

* :func:`step_keys`: one env step's key -> ``(market step key, auto-reset key)``
  (:meth:`quantmarl.env.MarketEnv.step`);
* :func:`episode_keys`: a batch of episodes' key -> ``(reset keys [E], per-step
  keys [T])`` (:func:`quantmarl.rl.evaluate.make_episodes`);
* :func:`turn_keys`: one per-step key -> ``(action key, env step keys [E])``.
"""

from __future__ import annotations

import jax

__all__ = ["episode_keys", "step_keys", "turn_keys"]


def step_keys(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """An env step's key -> ``(k_step, k_reset)``: the market step's key and the key of
    the auto-reset that follows a finished episode."""
    k_step, k_reset = jax.random.split(key)
    return k_step, k_reset


def episode_keys(key: jax.Array, n_episodes: int, length: int) -> tuple[jax.Array, jax.Array]:
    """A batch of ``n_episodes`` episodes of ``length`` steps: ``key`` ->
    ``(reset keys [n_episodes], per-step keys [length])`` (scanned over time)."""
    k_reset, k_run = jax.random.split(key)
    return jax.random.split(k_reset, n_episodes), jax.random.split(k_run, length)


def turn_keys(key: jax.Array, n_episodes: int) -> tuple[jax.Array, jax.Array]:
    """One per-step key of :func:`episode_keys` -> ``(k_act, env step keys [n_episodes])``:
    the policies' action key and one :func:`step_keys` key per episode."""
    k_act, k_env = jax.random.split(key)
    return k_act, jax.random.split(k_env, n_episodes)
