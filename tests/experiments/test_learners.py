"""experiments.learners: the table and JSON lines of each type against its baselines."""

import json

from experiments import learners
from quantmarl.rl.evaluate import POLICIES


def _result(agent_type, trained):
    e = {"mean": 0.01, "ci95": [0.005, 0.015]}
    return {"agent_type": agent_type, "policies": {p: {"pnl": e, "sharpe": e}
                                                  for p in POLICIES},
            "trained": trained, "reasons": [] if trained else ["greedy pnl below random"],
            "final_entropy": 1.05, "train_s": 12.0, "seeds": 4}


def test_markdown_lists_every_policy_and_the_verdict():
    text = learners.markdown([_result("market_maker", False), _result("momentum_trader", True)])
    lines = text.splitlines()
    assert lines[2] == "| `market_maker` | greedy | 1.000 [0.500, 1.500] | 0.010 [0.005, 0.015] |"
    assert "|  | scripted (symmetric quoter) |" in text
    assert sum(line.startswith("| ") for line in lines) == 2 + 2 * len(POLICIES)
    assert "- `market_maker`: **not trained** (greedy pnl below random)" in text
    assert "- `momentum_trader`: **trained**; final policy entropy 1.05" in text


def test_json_lines_carry_value_unit_and_interval():
    lines = [json.loads(x) for x in learners._json_lines(_result("arbitrageur", True))]
    assert len(lines) == 2 * len(POLICIES) + 1
    assert lines[0] == {"name": "learners/arbitrageur/greedy/pnl", "value": 0.01,
                        "unit": "fraction_of_wealth", "ci95": [0.005, 0.015]}
    assert lines[-1] == {"name": "learners/arbitrageur/trained", "value": 1, "unit": "bool"}


def test_too_few_seeds_are_refused(capsys):
    assert learners.main(["--seeds", "1"]) == 2
    assert "--seeds and --episodes must be >= 2" in capsys.readouterr().err
