"""The README's replay example runs and says what the README claims."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_replay_example():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "replay_messages(messages" in b)
    scope: dict = {}
    exec(compile(example, "README.md", "exec"), scope)
    result = scope["result"]
    assert result.fills.tolist() == [[3, 2, 100, 3], [3, 1, 101, 3], [4, 1, 101, 1]]
    assert result.rejected.tolist() == [5]
    assert result.bids.shape == (0, 2) and result.asks.shape == (0, 2)
    assert result.fills.dtype == np.int64


def test_readme_quick_start_commands_match_ci():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    test_cmd = 'pip install -e ".[dev]" && python -m pytest'
    assert test_cmd in text and test_cmd in ci
    quick_start = re.search(r"## Quick start.*?```bash\n(.*?)```", text, flags=re.S).group(1)
    main_job, tests = quick_start.strip().splitlines()
    assert main_job.startswith("pip install -e . && python -m experiments.herding --quick")
    assert tests.startswith(test_cmd)


def test_readme_market_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "MarketConfig(" in b)
    scope: dict = {}
    exec(compile(example, "README.md", "exec"), scope)
    records, state = scope["records"], scope["state"]
    assert records.close.shape == (150, 2) and records.close.dtype == np.int64
    cash0 = 124 * 10_000_000  # agents' starting cash; the background account starts at 0
    assert int(state.ledger.cash.sum() + state.ledger.fees_collected) == cash0
    assert bool(records.halted[:, 0].any())  # the crash trips the 5% breaker


def test_readme_env_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    vmapped = next(b for b in blocks if "jax.vmap(env.reset" in b)
    vmapped = vmapped.replace("1024)", "4)")  # same code, fewer markets for the test
    scope: dict = {}
    exec(compile(vmapped, "README.md", "exec"), scope)
    assert scope["rewards"]["momentum_0"].shape == (4,)
    custom = next(b for b in blocks if "register_reward(" in b)
    exec(compile(custom, "README.md", "exec"), {})
    from quantmarl.env.rewards import REWARDS

    assert "my_reward" in REWARDS


def test_readme_pettingzoo_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "parallel_env(render_mode" in b)
    exec(compile(example, "README.md", "exec"), {})
    assert "price" in capsys.readouterr().out


def test_readme_training_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "make_train(config)" in b)
    example = example.replace("split(jax.random.key(0), 8)", "split(jax.random.key(0), 2)")
    scope: dict = {}
    exec(compile(example, "README.md", "exec"), scope)
    pnl = scope["out"].metrics["market_maker"]["pnl"]
    assert pnl.shape == (2, 4)
    assert set(scope["out"].metrics) == {"market_maker", "momentum_trader"}
