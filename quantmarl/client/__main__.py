"""``python -m quantmarl.client --sim ID [--url URL] [--agent NAME] [--policy random|hold|DIR]
[--steps N] [--pace S] [--token TOKEN]``: a remote agent trading in a live simulation.

It takes a smart-tier slot as a remote slot (:class:`~quantmarl.client.RemoteEnv`),
acts for ``--steps`` steps with a uniform-random policy, the hold action, or the greedy
policy of a checkpoint directory (``--policy DIR``, the slot's learner group), waiting
``--pace`` seconds between steps, and prints a JSON summary (steps, summed reward,
final wealth, timeouts). The slot is released at the end (orders cancelled, account kept).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from quantmarl.client.remote_env import RemoteEnv
from quantmarl.rl.checkpoint import load_opponents
from quantmarl.rl.policy import FrozenPolicy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m quantmarl.client",
                                     description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--sim", required=True, help="simulation id")
    parser.add_argument("--agent", default=None, help="slot name (default: the first free)")
    parser.add_argument("--policy", default="random", help="random, hold, or a checkpoint dir")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--token", default=os.environ.get("QUANTMARL_TOKEN"))
    args = parser.parse_args(argv)
    if args.steps < 1 or args.pace < 0:
        parser.error("--steps must be >= 1 and --pace >= 0")
    return args


def _policy(name: str, env: RemoteEnv):
    if name == "random":
        env.action_space.seed(0)
        return lambda obs: env.action_space.sample()
    if name == "hold":
        return lambda obs: np.zeros(env.action_space.shape, np.int64) if env.action_space.shape \
            else 0
    group = env.agent.rsplit("_", 1)[0]
    frozen = [o for o in load_opponents([name]) if o.group.name.endswith(group)]
    if not frozen:
        raise ValueError(f"{name}: no {group!r} learners in this checkpoint")
    nvec = tuple(getattr(env.action_space, "nvec", [getattr(env.action_space, "n", 0)]))
    policy = FrozenPolicy(frozen[0], nvec)
    scalar = not env.action_space.shape
    return lambda obs: (int(policy(obs[None])[0, 0]) if scalar
                        else np.asarray(policy(obs[None])[0]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = RemoteEnv(args.url, args.sim, args.agent, token=args.token)
    try:
        act = _policy(args.policy, env)
        obs, info = env.reset()
        total, steps = 0.0, 0
        for _ in range(args.steps):
            obs, reward, terminated, truncated, info = env.step(act(obs))
            total, steps = total + reward, steps + 1
            if terminated or truncated:
                break
            time.sleep(args.pace)
    finally:
        env.close()
    print(json.dumps({"agent": env.agent, "steps": steps, "reward": total,
                      "wealth": info["wealth"], "timeouts": info["timeouts"],
                      "market_step": info["step"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
