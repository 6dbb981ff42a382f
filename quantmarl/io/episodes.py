"""Episodes of batched step records into the run store: one stored simulation each.

``store_episodes(store, "herding/run1/c0", records, (("arm", arms), ("seed", seeds),
("episode", episodes)))`` takes records whose fields lead with those axes and then
time (``[*batch, T, ...]``, e.g. the experiments' ``[P, S, E, T, ...]``) and stores
each episode under an id of its labels joined by ``/`` after the prefix (a number
label prefixed by its axis name's initial: ``herding/run1/c0/greedy/s3/e0``). The
stored config holds the run prefix and each axis' label, so readers select by arm,
seed or episode.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from quantmarl.io.store import RunStore, StepChunk

__all__ = ["store_episodes"]


def store_episodes(store: RunStore, prefix: str, records: Any,
                   axes: Sequence[tuple[str, Sequence[Any]]]) -> list[str]:
    """Store every episode of ``records`` (a time-stacked ``StepRecord`` whose fields lead
    with ``len(axes)`` batch axes); returns the stored ids in order."""
    recs = jax.tree.map(np.asarray, records)
    length, n_assets = recs.close.shape[len(axes):]
    steps = np.arange(1, length + 1)
    ids = []
    for index in itertools.product(*(range(len(labels)) for _, labels in axes)):
        labels = [axes[d][1][i] for d, i in enumerate(index)]
        parts = [label if isinstance(label, str) else f"{name[0]}{label}"
                 for (name, _), label in zip(axes, labels, strict=True)]
        sim_id = "/".join([prefix, *parts])
        where = {"run": prefix, **{name: label for (name, _), label
                                   in zip(axes, labels, strict=True)}}
        seed = where.get("seed", 0)
        store.add_simulation(sim_id, seed if isinstance(seed, int) else 0, where, n_assets, [])
        one = jax.tree.map(lambda x, i=index: x[i], recs)
        store.write_chunk(sim_id, 0, StepChunk.from_record(
            one, steps, (), np.zeros((length, 0)), np.zeros((length, 0, n_assets))))
        ids.append(sim_id)
    return ids
