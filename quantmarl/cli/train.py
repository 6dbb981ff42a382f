"""Train PPO learners in the market: ``python -m quantmarl.train``.

Examples::

    python -m quantmarl.train --preset smoke                     # < 1 minute on 2 CPU cores
    python -m quantmarl.train --agent-type market_maker momentum_trader --algorithm mappo \\
        --iterations 200 --seeds 8 --checkpoint-dir runs/mm_mom
    python -m quantmarl.train --config my.yaml --resume --checkpoint-dir runs/mm_mom
    python -m quantmarl.train --agent-type momentum_trader --opponent runs/mm_mom
    python -m quantmarl.train --agent-type momentum_trader --self-play 3 --checkpoint-dir runs/sp

All seeds train in one compiled, vmapped call; a progress bar tracks updates
(mean return and PnL over seeds). The checkpoint directory receives the
checkpoint (``config.yaml``, ``state.msgpack``, ``meta.json``), the metrics
history (``metrics.csv``, ``metrics.json``) and ``learning_curve.png``. The
last line printed is a JSON object with the final figures (``env_steps_per_s``
excludes compilation, reported as ``compile_s``). Checkpoints named by
``--opponent`` (or the config's ``opponents``) are read here and handed to the
trainer as frozen opponents. ``--record FILE`` then plays greedy evaluation episodes
of every trained seed and writes their step records to a run store (:mod:`quantmarl.io`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax

from quantmarl import runtime
from quantmarl.io import RunStore
from quantmarl.io.episodes import store_episodes
from quantmarl.rl import checkpoint, history, stopping
from quantmarl.rl.config import (
    AGENT_TYPES,
    ALGORITHMS,
    NETWORKS,
    PRESETS,
    TrainConfig,
    read_yaml_mapping,
)
from quantmarl.rl.evaluate import make_episodes
from quantmarl.rl.train import make_trainer, seed_keys

PRESET_NAMES = ("smoke", "quick", "default")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m quantmarl.train",
                                description="Train PPO learners (IPPO/MAPPO) in the market.")
    p.add_argument("--config", help="YAML file of TrainConfig fields")
    p.add_argument("--preset", choices=PRESET_NAMES, default=None,
                   help="base settings: smoke (< 1 min), quick (minutes), default")
    p.add_argument("--agent-type", nargs="+", choices=sorted(AGENT_TYPES), default=None,
                   help="learner groups to train side by side")
    p.add_argument("--agents-per-type", type=int, default=None)
    p.add_argument("--algorithm", choices=ALGORITHMS, default=None)
    p.add_argument("--network", choices=NETWORKS, default=None,
                   help="policy network: mlp (feedforward) or gru (recurrent actor)")
    p.add_argument("--iterations", type=int, default=None, help="PPO updates")
    p.add_argument("--seeds", type=int, default=None, help="seeds trained at once (vmapped)")
    p.add_argument("--seed", type=int, default=None, help="base PRNG seed")
    p.add_argument("--n-envs", type=int, default=None)
    p.add_argument("--stress-prob", type=float, default=None, metavar="P",
                   help="train under random stress: each event kind (flash crash and rally, "
                        "volatility spike, liquidity shock, news) occurs in an episode with "
                        "probability P, at a random time and size (default 0)")
    p.add_argument("--stop-patience", type=int, default=None, metavar="P",
                   help="stop early after P updates without improvement of the moving "
                        "average return (--iterations is then the maximum)")
    p.add_argument("--opponent", action="append", default=None, metavar="DIR",
                   help="checkpoint loaded as frozen opponents (repeatable)")
    p.add_argument("--self-play", type=int, default=0, metavar="G",
                   help="train G generations, each against all earlier ones (frozen)")
    p.add_argument("--checkpoint-dir", default=None,
                   help="where to write the checkpoint and metrics (default runs/<time>)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="K",
                   help="also save every K updates (0: only at the end)")
    p.add_argument("--resume", action="store_true",
                   help="continue the checkpoint in --checkpoint-dir (its config is used)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--record", metavar="FILE", default=None,
                   help="after training, play --record-episodes greedy evaluation episodes "
                        "per trained seed and write their step records to this run store")
    p.add_argument("--record-episodes", type=int, default=4, metavar="N")
    return p.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Preset, then the YAML file, then the command-line flags."""
    data = dict(PRESETS[args.preset or "default"])
    if args.config:
        data.update(read_yaml_mapping(args.config))
    flags = {"agent_types": args.agent_type, "agents_per_type": args.agents_per_type,
             "algorithm": args.algorithm, "network": args.network,
             "iterations": args.iterations, "seeds": args.seeds,
             "seed": args.seed, "n_envs": args.n_envs, "stop_patience": args.stop_patience,
             "stress_prob": args.stress_prob,
             "opponents": tuple(args.opponent) if args.opponent else None}
    return TrainConfig.from_dict(data, **flags)


def train_run(config: TrainConfig, directory: Path, *, resume: bool = False,
              checkpoint_every: int = 0, progress: bool = True) -> dict:
    """Train (or resume) one run, saving into ``directory``; returns the final summary."""
    past = None
    if resume and (directory / checkpoint.STATE_FILE).exists():
        config, trainer, runner = checkpoint.restore(directory)
        done = int(jax.device_get(runner.update)[0])
        if done >= config.iterations:
            raise ValueError(f"{directory}: nothing to do, the checkpoint has already run "
                             f"{done} of {config.iterations} updates")
        if (directory / "metrics.json").exists():
            past = history.read_json(directory / "metrics.json")
    else:
        opponents = checkpoint.load_opponents(config.opponents, config.opponent_seed)
        trainer, runner, done = make_trainer(config, opponents=opponents), None, 0
    bar = history.ProgressBar(config.iterations, config.seeds, initial=done,
                              desc="+".join(config.agent_types), disable=not progress)
    trainer.progress = bar
    if runner is None:
        runner = jax.jit(jax.vmap(trainer.init))(seed_keys(config))
    chunk = checkpoint_every if checkpoint_every > 0 else config.iterations
    if config.stop_patience:  # the rule is checked after every chunk
        chunk = min(chunk, config.stop_window)
    runs: dict[int, object] = {}
    metrics, wall, compile_s, steps = past, 0.0, 0.0, 0
    stopped = _stopped(config, metrics)
    if stopped is not None:
        raise ValueError(f"{directory}: nothing to do, the run stopped early at update "
                         f"{stopped}")
    while done < config.iterations and stopped is None:
        n = min(chunk, config.iterations - done)
        if n not in runs:
            t0 = time.perf_counter()
            runs[n] = jax.jit(jax.vmap(lambda r, n=n: trainer.run(r, n))).lower(runner).compile()
            compile_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        runner, m = runs[n](runner)
        jax.block_until_ready(runner)
        wall += time.perf_counter() - t0
        metrics = history.concat(metrics, jax.device_get(m))
        done += n
        steps += n * config.env_steps_per_update * config.seeds
        checkpoint.save(directory, config, runner)
        history.write_json(directory / "metrics.json", metrics)
        stopped = _stopped(config, metrics)
    bar.close()
    history.write_csv(directory / "metrics.csv", metrics)
    fig = history.learning_curves(metrics, title=f"PPO ({config.algorithm}): "
                                  + ", ".join(config.agent_types))
    fig.savefig(directory / "learning_curve.png", dpi=100)
    return {"checkpoint": str(directory), "iterations": done, "seeds": config.seeds,
            "env_steps": steps, "compile_s": round(compile_s, 2), "train_s": round(wall, 2),
            "env_steps_per_s": round(steps / wall, 1) if wall > 0 else None,
            "stopped_at": stopped, "final": history.final_summary(metrics),
            "curve": history.curve_summary(metrics, config.stop_window, stopped)}


def _stopped(config: TrainConfig, metrics: dict | None) -> int | None:
    """The update at which the early-stopping rule fired on ``metrics``, or None."""
    if metrics is None or not config.stop_patience:
        return None
    return stopping.stop_update(stopping.mean_return(metrics), config.stop_window,
                                config.stop_patience, config.stop_tol)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.configure()  # before any computation
    try:
        config = resolve_config(args)
        for name in ("checkpoint_every", "self_play"):
            if getattr(args, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0")
        if args.record_episodes < 1:
            raise ValueError("--record-episodes must be >= 1")
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    directory = Path(args.checkpoint_dir or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        summary = _train_all(args, config, directory)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.record:
        summary["recorded"] = record_episodes(Path(summary["checkpoint"]), args.record,
                                              args.record_episodes)
    print(json.dumps(summary), flush=True)
    return 0


def record_episodes(directory: Path, path: str, n_episodes: int) -> int:
    """Play ``n_episodes`` greedy episodes of every trained seed of the checkpoint in
    ``directory`` and store them in the run store ``path`` (``train/NAME/s{seed}/e{k}``);
    returns the episodes stored."""
    config, trainer, runner = checkpoint.restore(directory)
    run = make_episodes(trainer, n_episodes, "greedy", records=True)
    key = jax.random.fold_in(jax.random.key(config.seed), 1_000_003)  # not a training key
    stored = 0
    with RunStore(path) as store:
        for s in range(config.seeds):
            _, records = run(key, jax.tree.map(lambda x, s=s: x[s], runner.params))
            stored += len(store_episodes(store, f"train/{directory.name}/s{s}", records,
                                         (("episode", list(range(n_episodes))),)))
    return stored


def _train_all(args: argparse.Namespace, config: TrainConfig, directory: Path) -> dict:
    """One run, or ``--self-play`` generations, each against all earlier ones."""
    if args.self_play:
        results, earlier = [], list(config.opponents)
        for gen in range(args.self_play):
            gen_dir = directory / f"gen{gen}"
            gen_config = TrainConfig.from_dict({**config.to_dict(), "opponents": earlier})
            results.append(train_run(gen_config, gen_dir, resume=args.resume,
                                     checkpoint_every=args.checkpoint_every,
                                     progress=not args.no_progress))
            earlier.append(str(gen_dir))
        return {**results[-1], "generations": [r["checkpoint"] for r in results]}
    return train_run(config, directory, resume=args.resume,
                     checkpoint_every=args.checkpoint_every, progress=not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
