"""The PPO sweep (experiments.tune): candidates, score, table, resuming, one real run."""

import json

import jax
import pytest

from experiments import tune
from quantmarl.rl import TrainConfig
from quantmarl.rl.config import train_market


def _rec(agent_type, candidate, greedy, random, hold, trained=False):
    mr = lambda m: {"mean": m, "ci95": [m - 0.1, m + 0.1]}  # noqa: E731
    policies = {p: {"pnl": mr(s / 100), "sharpe": mr(s)}
                for p, s in (("greedy", greedy), ("random", random), ("hold", hold))}
    return {"agent_type": agent_type, "candidate": candidate, "policies": policies,
            "score": tune.score(policies), "trained": trained, "final_entropy": 1.0,
            "train_s": 10.0}


def test_candidates_change_one_thing_and_keep_the_sample_budget():
    base = TrainConfig(iterations=100, n_steps=64)
    longer = tune.candidate_config(base, tune.CANDIDATES["steps=128"])
    assert (longer.n_steps, longer.iterations) == (128, 50)
    assert longer.n_steps * longer.iterations == base.n_steps * base.iterations
    assert tune.candidate_config(base, tune.CANDIDATES["hidden=128"]).hidden == (128, 128)
    assert tune.candidate_config(base, tune.CANDIDATES["norm-reward"]).normalize_reward
    assert tune.candidate_config(base, tune.CANDIDATES["base"]) == base


def test_score_is_the_greedy_sharpe_margin_over_the_better_of_random_and_hold():
    assert tune.score(_rec("m", "a", 0.5, 0.2, -0.1)["policies"]) == pytest.approx(0.3)
    assert tune.score(_rec("m", "a", 0.1, -0.3, 0.4)["policies"]) == pytest.approx(-0.3)


def test_the_winner_must_beat_base_with_non_overlapping_intervals():
    base = _rec("market_maker", "base", 0.3, 0.2, 0.0)  # greedy Sharpe [0.2, 0.4]
    noisy = _rec("market_maker", "ent=0", 0.45, 0.2, 0.0)  # higher mean, overlapping
    clear = _rec("market_maker", "lr=1e-3", 0.55, 0.2, 0.0)  # [0.45, 0.65] above 0.4
    assert not tune.beats(noisy, base) and tune.beats(clear, base)
    assert tune.winner([base, noisy]) is base
    assert tune.winner([base, noisy, clear]) is clear
    assert tune.winner([noisy]) is None


def test_table_marks_each_types_winner():
    rows = [_rec("market_maker", "base", 0.3, 0.2, 0.0), _rec("market_maker", "ent=0", 0.6,
                                                                0.2, 0.0, trained=True),
            _rec("arbitrageur", "base", 0.1, 0.2, 0.0),
            _rec("arbitrageur", "lr=1e-3", 0.15, 0.2, 0.0)]
    text = tune.table(rows).splitlines()
    assert len(text) == 6
    assert ("| **ent=0** | 0.600 | 0.600 [0.500, 0.700] | 0.200 | 0.000 | 0.400 | trained |"
            in text[3])
    assert "| base |" in text[2] and "| **base** |" in text[4] and "| lr=1e-3 |" in text[5]


def test_a_rerun_skips_the_pairs_already_measured(tmp_path, capsys):
    lines = [_rec("momentum_trader", c, 0.2, 0.0, 0.0) for c in ("base", "ent=0")]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert tune.main(["--quick", "--out", str(tmp_path)]) == 0  # nothing left to train
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
    assert "| `momentum_trader` | **base** |" in (tmp_path / "table.md").read_text()
    assert tune.main(["--quick", "--seeds", "1", "--out", str(tmp_path)]) == 2


def test_a_candidate_trains_its_seeds_and_meets_the_baselines():
    market = train_market(episode_length=12, background_orders=4,
                          reactive=(("market_maker", 2), ("noise", 4)))
    config = TrainConfig(n_envs=2, n_steps=6, iterations=2, update_epochs=1,
                         n_minibatches=1, hidden=(8,), market=market, seeds=2)
    out = tune.evaluate_candidate(config, 2, jax.random.key(0))
    entry = out["groups"]["momentum_trader"]
    assert set(entry["policies"]) == {"greedy", "sample", "random", "hold", "scripted"}
    assert entry["policies"]["greedy"]["sharpe"]["n"] == 2  # intervals over the 2 seeds
    assert entry["score"] == pytest.approx(tune.score(entry["policies"]))
    assert 0.0 < entry["final_entropy"] <= 1.0987
