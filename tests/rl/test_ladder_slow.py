"""The top rung of the learning ladder (slow: ~5-9 minutes per type on 2 CPU cores): each
learner type's default training, alone in the training market, 4 seeds, against random,
hold-only and scripted policies on 32 held-out episodes per seed, every type of
``quantmarl.rl.config.AGENT_TYPES``
(``python -m experiments.learners`` prints the same table).

A type is trained when its greedy policy beats random and hold-only on PnL and Sharpe with
non-overlapping 95% intervals over seeds. The types that the default training does not
yet train are marked ``xfail(strict=True)``: the test fails as soon as one of them starts
to pass, so the README's claim is revisited.
"""

from __future__ import annotations

import pytest

from experiments.learners import run_type

NOT_YET_TRAINED = {"market_maker", "arbitrageur"}


@pytest.mark.slow
@pytest.mark.parametrize("agent_type", [
    "momentum_trader",
    "trader",
    *(pytest.param(t, marks=pytest.mark.xfail(strict=True, reason="not trained by the "
                                              "default training; see README"))
      for t in sorted(NOT_YET_TRAINED)),
])
def test_default_training_beats_random_and_hold(agent_type):
    result = run_type(agent_type, "default", seeds=4, episodes=32, seed=0)
    assert result["trained"], result["reasons"]
