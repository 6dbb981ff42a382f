"""Checkpoints: the whole runner state (networks, optimiser states, environments, key and
update count, for every seed) with its config, via ``flax.serialization`` (msgpack; no
pickle).

A checkpoint is a directory::

    config.yaml      the TrainConfig
    state.msgpack    the RunnerState of all seeds (leading [seeds] axis)
    meta.json        update count, learner groups (for loading as opponents), versions

``save(dir, config, runner)`` writes it; ``restore(dir)`` rebuilds the trainer from the
config and returns ``(config, trainer, runner)``, so training resumes exactly where it
stopped. ``load_opponents(paths, seed)`` turns checkpoints into frozen
:class:`~quantmarl.rl.train.Opponent` groups for a new market.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import serialization

from quantmarl.env.functional import AgentGroup
from quantmarl.rl.config import TrainConfig

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
    import importlib.metadata as md

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
    from quantmarl.rl.train import build_env

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
    """``(config, trainer, runner)`` from a checkpoint written by :func:`save`."""
    from quantmarl.rl.train import make_trainer, seed_keys

    config = load_config(directory)
    trainer = make_trainer(config, **trainer_kwargs)
    template = jax.eval_shape(jax.vmap(trainer.init), seed_keys(config))
    return config, trainer, _read_runner(directory, template)


def load_meta(directory: str | Path) -> dict:
    return json.loads((Path(directory) / META_FILE).read_text())


def load_policy_params(directory: str | Path, seed_index: int = 0) -> tuple[dict, dict]:
    """``(meta, params)``: the learners' network params of one trained seed."""
    meta = load_meta(directory)
    if not 0 <= seed_index < meta["seeds"]:
        raise ValueError(f"seed index {seed_index} out of range: {directory} holds "
                         f"{meta['seeds']} seed(s)")
    config = load_config(directory)
    from quantmarl.rl.train import make_trainer, seed_keys

    trainer = make_trainer(config)
    template = jax.eval_shape(jax.vmap(trainer.init), seed_keys(config))
    runner = _read_runner(directory, template)
    return meta, jax.tree.map(lambda x: x[seed_index], runner.params)


def load_opponents(paths: Sequence[str], seed_index: int = 0) -> tuple:
    """Frozen :class:`~quantmarl.rl.train.Opponent` groups from checkpoints, in order.

    Group names become ``opp{i}_{name}`` so several opponents (or self-play
    generations of one agent type) can share a market.
    """
    from quantmarl.rl.train import Opponent, build_network

    out = []
    for i, path in enumerate(paths):
        meta, params = load_policy_params(path, seed_index)
        for g in meta["groups"]:
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in g.items()}
            group = AgentGroup(**{**fields, "name": f"opp{i}_{fields['name']}"})
            obs_dim = None
            if meta["algorithm"] == "mappo":
                from quantmarl.env.observations import obs_size, resolve_spec

                obs_dim = obs_size(resolve_spec(group.observation))
            net = build_network(load_config(path), _nvec(group), obs_dim)
            out.append(Opponent(group=group, network=net, params=params[fields["name"]],
                                shared=bool(meta["share_params"])))
    return tuple(out)


def _nvec(group: AgentGroup) -> tuple[int, ...]:
    from quantmarl.env.functional import _action_space

    space = _action_space(group)
    return tuple(int(n) for n in space.nvec) if hasattr(space, "nvec") else (int(space.n),)
