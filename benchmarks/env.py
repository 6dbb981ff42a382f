"""Environment throughput: the PettingZoo shell (one env, random actions through the
``ParallelEnv`` API) against the functional env vmapped over 1024 envs inside one jitted
``lax.scan`` (random valid actions drawn with ``jax.random`` in the loop).

Run ``python -m benchmarks.env [--quick]``; prints JSON lines ``{"name", "value", "unit"}``.
Both use the env's default configuration (``parallel_env()`` / ``MarketEnv()``).
Compile time is excluded from throughput and reported on its own lines.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

from benchmarks.common import emit, machine, record
from quantmarl import runtime

N_ENVS = 1024


def pettingzoo_steps_per_s(steps: int, repeats: int) -> tuple[float, float]:
    """(env-steps/s, compile seconds) of random actions through ``parallel_env()``: best of
    ``repeats`` runs of ``steps`` steps (episodes reset as they end, resets timed too)."""
    from quantmarl.env.pettingzoo import parallel_env

    env = parallel_env()
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(i)
    t0 = time.perf_counter()
    env.reset(seed=0)  # first reset and step compile
    env.step({a: env.action_space(a).sample() for a in env.agents})
    compile_s = time.perf_counter() - t0
    env.reset(seed=1)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            if not env.agents:
                env.reset()
            env.step({a: env.action_space(a).sample() for a in env.agents})
        best = min(best, time.perf_counter() - t0)
    return steps / best, compile_s


def _random_action(key, space, n: int) -> jax.Array:
    """[n] (Discrete) or [n, k] (MultiDiscrete) uniformly random valid actions."""
    if hasattr(space, "nvec"):
        nvec = jnp.asarray(space.nvec, jnp.int64)
        return jax.random.randint(key, (n, nvec.shape[0]), 0, nvec, jnp.int64)
    return jax.random.randint(key, (n,), space.start, space.start + space.n, jnp.int64)


def make_rollout(env, params, n_envs: int, n_steps: int):
    """jit(key -> summed rewards): reset ``n_envs`` envs, then scan ``n_steps`` vmapped steps."""
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def body(state, key):
        k_act, k_step = jax.random.split(key)
        actions = {a: _random_action(jax.random.fold_in(k_act, i), env.action_space(a), n_envs)
                   for i, a in enumerate(env.agents)}
        _, state, rewards, *_ = step(jax.random.split(k_step, n_envs), state, actions, params)
        return state, sum(jnp.sum(r) for r in rewards.values())

    def rollout(key):
        k_reset, k_run = jax.random.split(key)
        _, state = reset(jax.random.split(k_reset, n_envs), params)
        _, total = jax.lax.scan(body, state, jax.random.split(k_run, n_steps))
        return total

    return jax.jit(rollout)


def jax_vmapped_steps_per_s(n_steps: int, repeats: int) -> tuple[float, float]:
    """(env-steps/s, compile seconds) of ``N_ENVS`` default envs reset and stepped ``n_steps``
    times in one jitted call (resets timed too): best of ``repeats`` calls."""
    from quantmarl.env import MarketEnv

    env = MarketEnv()
    rollout = make_rollout(env, env.default_params, N_ENVS, n_steps)
    key = jax.random.key(0)
    t0 = time.perf_counter()
    compiled = rollout.lower(key).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(key))  # warm
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(r + 1)))
        best = min(best, time.perf_counter() - t0)
    return N_ENVS * n_steps / best, compile_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (smoke test)")
    args = parser.parse_args(argv)
    runtime.configure()  # before any computation

    emit([machine()])
    repeats = 1 if args.quick else 3
    pz, pz_compile = pettingzoo_steps_per_s(200 if args.quick else 2000, repeats)
    emit([record("env_pettingzoo_steps_per_s", pz, "env-steps/s"),
          record("env_pettingzoo_compile_s", pz_compile, "s")])
    # one full episode of the default config (episode_length 200) per env
    vm, vm_compile = jax_vmapped_steps_per_s(10 if args.quick else 200, repeats)
    emit([record("env_jax_vmapped_steps_per_s", vm, "env-steps/s"),
          record("env_jax_vmapped_compile_s", vm_compile, "s"),
          record("env_jax_vmapped_n_envs", N_ENVS, "envs"),
          record("env_speedup_jax_vs_pettingzoo", vm / pz, "x")])


if __name__ == "__main__":
    main()
