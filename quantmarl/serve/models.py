"""Trained checkpoints as slot controllers: found only inside the service's ``--models``
directory, checked against the slot's learner group, loaded as a frozen policy.

A checkpoint name is a path relative to the models directory; a name that resolves
outside it (``..``, an absolute path, a symlink out) is refused, and nothing is
unpickled (checkpoints are ``flax`` msgpack, see :mod:`quantmarl.rl.checkpoint`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax

from quantmarl.env.actions import group_action_space
from quantmarl.env.types import AgentGroup
from quantmarl.rl.checkpoint import CONFIG_FILE, load_opponents
from quantmarl.rl.policy import FrozenPolicy, Opponent
from quantmarl.serve.simulation import SimulationError


def resolve_checkpoint(models: Path | None, name: str) -> Path:
    """The checkpoint directory ``name`` inside ``models`` (``SimulationError`` otherwise)."""
    if models is None:
        raise SimulationError("checkpoint", "this server has no models directory (start it "
                              "with --models DIR)", status=409)
    root = models.resolve()
    path = (root / name).resolve()
    if path != root and root not in path.parents:
        raise SimulationError("checkpoint", f"checkpoint {name!r} is outside the models "
                              "directory")
    if not (path / CONFIG_FILE).is_file():
        raise SimulationError("checkpoint", f"no checkpoint {name!r} in the models directory",
                              status=404)
    return path


def _same_space(a: AgentGroup, b: AgentGroup) -> bool:
    """Same encoding, observation and reward: the names and counts may differ."""
    return dataclasses.replace(a, name=b.name, count=b.count) == b


def slot_policy(path: Path, group: AgentGroup, seed: int = 0) -> FrozenPolicy:
    """The greedy policy, for one slot of ``group``, of the checkpoint's learners that act
    in the same spaces (trained seed ``seed``; learner 0 when they have their own params)."""
    try:
        opponents = load_opponents([path], seed)
    except (ValueError, FileNotFoundError) as err:
        raise SimulationError("checkpoint", str(err)) from None
    for opp in opponents:
        if _same_space(opp.group, group):
            params = opp.params if opp.shared else jax.tree.map(lambda x: x[0], opp.params)
            one = Opponent(group=dataclasses.replace(opp.group, count=1),
                           network=opp.network, params=params, shared=True)
            return FrozenPolicy(one, _nvec(group))
    raise SimulationError("checkpoint", f"checkpoint {path.name!r} has no learners acting in "
                          f"{group.name!r}'s spaces (its groups: "
                          f"{[o.group.name for o in opponents]})")


def _nvec(group: AgentGroup) -> tuple[int, ...]:
    space = group_action_space(group)
    return tuple(int(n) for n in space.nvec) if hasattr(space, "nvec") else (int(space.n),)
