"""Training throughput: quantmarl's jitted end-to-end PPO trainer against the same env and
network driven step by step through the PettingZoo API with a jitted policy.

Run ``python -m benchmarks.train [--quick]``; prints JSON lines ``{"name", "value", "unit"}``:

* ``train_env_steps_per_s``: env steps per second of ``make_train`` (rollouts over
  ``N_ENVS`` vmapped envs *and* the PPO updates: 4 epochs x 4 minibatches), compile
  time excluded (reported apart);
* ``train_pz_loop_env_steps_per_s``: ``parallel_env()`` stepped in a Python loop, actions
  sampled by the same actor-critic under ``jax.jit`` (no learning at all: a generous
  baseline);
* ``train_speedup_vs_pz_loop``: their ratio, from the same run.

Both use the env's default configuration (one ``trader`` learner, the default market:
batch auction, 64 background orders per step, 200-step episodes).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from benchmarks.common import emit, machine, record
from quantmarl import runtime

N_ENVS = 1024
N_STEPS = 64


def trainer_steps_per_s(iterations: int, repeats: int) -> tuple[float, float, object]:
    """(env-steps/s, compile seconds, config) of jitted training, best of ``repeats``."""
    from quantmarl.rl import TrainConfig, make_trainer

    config = TrainConfig(agent_types=("trader",), n_envs=N_ENVS, n_steps=N_STEPS,
                         iterations=iterations)
    trainer = make_trainer(config)
    train = jax.jit(trainer.train)
    key = jax.random.key(0)
    t0 = time.perf_counter()
    compiled = train.lower(key).compile()
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(r + 1)))
        best = min(best, time.perf_counter() - t0)
    return iterations * N_ENVS * N_STEPS / best, compile_s, config


def pettingzoo_loop_steps_per_s(config, steps: int, repeats: int) -> float:
    """Env-steps/s of ``parallel_env()`` driven by the jitted policy, best of ``repeats``."""
    from quantmarl.env.pettingzoo import parallel_env
    from quantmarl.rl import ActorCritic, distributions

    env = parallel_env()
    agent = env.possible_agents[0]
    space = env.action_space(agent)
    nvec = (int(space.n),)
    net = ActorCritic(nvec, config.hidden, config.activation)
    params = net.init(jax.random.key(0), np.zeros((1, env.observation_space(agent).shape[0]),
                                                  np.float32))

    @jax.jit
    def policy(key, obs):
        key, sub = jax.random.split(key)
        logits, _ = net.apply(params, obs)
        return key, distributions.sample(sub, logits, nvec)[..., 0]

    obs, _ = env.reset(seed=0)
    key, action = policy(jax.random.key(1), obs[agent])  # compile the policy ...
    obs, *_ = env.step({agent: int(action)})  # ... and the env step
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            if not env.agents:
                obs, _ = env.reset()
            key, action = policy(key, obs[agent])
            obs, *_ = env.step({agent: int(action)})
        best = min(best, time.perf_counter() - t0)
    return steps / best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (smoke test)")
    args = parser.parse_args(argv)
    runtime.configure()  # before any computation

    emit([machine()])
    repeats = 1 if args.quick else 3
    rate, compile_s, config = trainer_steps_per_s(2 if args.quick else 8, repeats)
    emit([record("train_env_steps_per_s", rate, "env-steps/s"),
          record("train_compile_s", compile_s, "s"),
          record("train_n_envs", N_ENVS, "envs")])
    pz = pettingzoo_loop_steps_per_s(config, 200 if args.quick else 2000, repeats)
    emit([record("train_pz_loop_env_steps_per_s", pz, "env-steps/s"),
          record("train_speedup_vs_pz_loop", rate / pz, "x")])


if __name__ == "__main__":
    main()
