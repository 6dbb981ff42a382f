"""Checkpoints: the whole runner state (networks, optimiser states, environments, key and
update count, for every seed) with its config, via ``flax.serialization`` (msgpack; no
pickle).

A checkpoint is a directory::

    config.yaml      the TrainConfig
    state.msgpack    the RunnerState of all seeds (leading [seeds] axis)
    meta.json        update count, learner groups, network settings, versions (a record)

``save(dir, config, runner)`` writes it; ``restore(dir)`` (the one reader) rebuilds the
trainer from the config, with the frozen opponents it names, and returns ``(config,
trainer, runner)``, so training resumes exactly where it stopped.
``load_opponents(paths, seed_index)`` turns checkpoints into frozen
:class:`~quantmarl.rl.policy.Opponent` groups for a new market (pass them to
:func:`~quantmarl.rl.train.make_trainer`).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import serialization

from quantmarl.rl.config import TrainConfig
from quantmarl.rl.policy import Opponent
from quantmarl.rl.train import build_env, make_trainer, seed_keys

STATE_FILE = "state.msgpack"
CONFIG_FILE = "config.yaml"
META_FILE = "meta.json"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _keys_to_data(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _data_to_keys(tree: Any, template: Any) -> Any:
    """Undo :func:`_keys_to_data` where ``template`` (arrays or shape structs) holds keys."""
    return jax.tree.map(lambda x, t: jax.random.wrap_key_data(x)
                        if jnp.issubdtype(t.dtype, jax.dtypes.prng_key) else x, tree, template)


def _read_runner(directory: str | Path, template: Any) -> Any:
    """The saved runner state, shaped like ``template`` (shape structs of all seeds)."""
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), _keys_to_data(template))
    host = serialization.from_bytes(zeros, (Path(directory) / STATE_FILE).read_bytes())
    return _data_to_keys(jax.tree.map(jnp.asarray, host), template)


def versions() -> dict[str, str]:
    """Versions of quantmarl, jax, flax, optax and python (recorded in ``meta.json``)."""

    def v(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "unknown"

    return {"quantmarl": v("quantmarl"), "jax": jax.__version__, "flax": v("flax"),
            "optax": v("optax"), "python": platform.python_version()}


def save(directory: str | Path, config: TrainConfig, runner: Any,
         extra: dict | None = None) -> Path:
    """Write ``runner`` (all seeds) and ``config`` to ``directory`` (created); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    host = jax.device_get(_keys_to_data(runner))
    tmp = directory / (STATE_FILE + ".tmp")
    tmp.write_bytes(serialization.to_bytes(host))
    tmp.replace(directory / STATE_FILE)  # atomic: a crash never leaves half a checkpoint
    (directory / CONFIG_FILE).write_text(config.to_yaml())
    update = jax.device_get(runner.update)
    groups = build_env(config, ()).config.groups  # the learner groups only
    meta = {"update": int(jnp.ravel(jnp.asarray(update))[0]), "seeds": config.seeds,
            "groups": [dataclasses.asdict(g) for g in groups],
            "share_params": config.share_params, "algorithm": config.algorithm,
            "hidden": list(config.hidden), "activation": config.activation,
            "network": config.network, "gru_size": config.gru_size,
            "versions": versions(), **(extra or {})}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2))
    return directory


def load_config(directory: str | Path) -> TrainConfig:
    path = Path(directory) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{directory}: not a checkpoint (no {CONFIG_FILE})")
    return TrainConfig.from_yaml(path)


def restore(directory: str | Path, **trainer_kwargs: Any):
    """``(config, trainer, runner)`` from a checkpoint written by :func:`save`; the trainer
    gets the checkpoint's frozen opponents (``config.opponents``), read here."""
    config = load_config(directory)
    opponents = load_opponents(config.opponents, config.opponent_seed)
    trainer = make_trainer(config, opponents=opponents, **trainer_kwargs)
    template = jax.eval_shape(jax.vmap(trainer.init), seed_keys(config))
    return config, trainer, _read_runner(directory, template)


def load_meta(directory: str | Path) -> dict:
    return json.loads((Path(directory) / META_FILE).read_text())


def load_opponents(paths: Sequence[str | Path], seed_index: int = 0) -> tuple[Opponent, ...]:
    """Frozen :class:`~quantmarl.rl.policy.Opponent` groups from checkpoints, in order: the
    learner groups of each, acting with the policy of trained seed ``seed_index``.

    Group names become ``opp{i}_{name}`` so several opponents (or self-play
    generations of one agent type) can share a market.
    """
    out = []
    for i, path in enumerate(paths):
        config, trainer, runner = restore(path)
        if not 0 <= seed_index < config.seeds:
            raise ValueError(f"seed index {seed_index} out of range: {path} holds "
                             f"{config.seeds} seed(s)")
        params = jax.tree.map(lambda x: x[seed_index], runner.params)
        for group in trainer.env.config.groups[: len(trainer.learners)]:
            out.append(Opponent(group=dataclasses.replace(group, name=f"opp{i}_{group.name}"),
                                network=trainer.networks[group.name],
                                params=params[group.name], shared=config.share_params))
    return tuple(out)
