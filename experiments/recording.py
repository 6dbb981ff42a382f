"""``--record FILE``: an experiment's evaluation episodes written to a run store
(:class:`quantmarl.io.RunStore`), one stored simulation per condition, arm, seed and
episode, named ``RUN/c{condition}/{arm}/s{seed}/e{episode}`` (``RUN`` the experiment
and its output directory's name; :func:`quantmarl.io.episodes.store_episodes`), its
config holding the run prefix, the arm, the seed and the episode. Each holds the
episode's step records (OHLCV, quotes, spread, depth, halts, fundamental, fees; int64),
so the arms of one seed and episode can be compared step by step (they share the
market's random numbers).

The runner opens the store for one run with :func:`recording`; the evaluation calls
:func:`record` with each condition's records as it streams them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from quantmarl.io import RunStore
from quantmarl.io.episodes import store_episodes

_ACTIVE: list[Recorder] = []  # the run being recorded (at most one)


class Recorder:
    """Writes each evaluated condition's episodes under ``run`` in ``store``."""

    def __init__(self, store: RunStore, run: str):
        self.store, self.run, self.condition = store, run, 0

    def write(self, arms: Sequence[str], records) -> int:
        """Store one condition's records (fields [P, S, E, T, ...]); returns the episodes."""
        n_seeds, n_episodes = np.shape(records.close)[1:3]
        ids = store_episodes(self.store, f"{self.run}/c{self.condition}", records,
                             (("arm", list(arms)), ("seed", list(range(n_seeds))),
                              ("episode", list(range(n_episodes)))))
        self.condition += 1
        return len(ids)


@contextmanager
def recording(path: str | Path | None, run: str) -> Iterator[Recorder | None]:
    """Record the evaluation episodes of the code inside into ``path`` (None: nothing)."""
    if path is None:
        yield None
        return
    with RunStore(path) as store:
        recorder = Recorder(store, run)
        _ACTIVE.append(recorder)
        try:
            yield recorder
        finally:
            _ACTIVE.remove(recorder)


def record(arms: Sequence[str], records) -> None:
    """Hand one condition's records to the active recorder, if a run is being recorded."""
    for recorder in _ACTIVE:
        recorder.write(arms, records)
