"""The README's five-line service session, run line by line as the README shows it
(the server on a free port, the agent in the background as in a second terminal)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from quantmarl.io import RunStore
from tests.serve.conftest import serve

README = Path(__file__).resolve().parents[2] / "README.md"


def _session() -> list[str]:
    text = README.read_text()
    block = re.search(r"## The research service.*?```bash\n(.*?)```", text, flags=re.S)
    return [line.split("  #")[0].strip() for line in block.group(1).strip().splitlines()]


def test_the_readme_session_runs(tmp_path):
    start, create, agent, crash, performance = _session()
    assert start.startswith("python -m quantmarl.serve --port 8000")
    env = {**os.environ, "PYTHONPATH": os.getcwd(),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def bash(line: str, url: str, **kw) -> subprocess.CompletedProcess | subprocess.Popen:
        line = line.replace("http://localhost:8000", url).replace("localhost:8000", url)
        run = subprocess.Popen if kw.pop("background", False) else subprocess.run
        return run(["bash", "-c", line], cwd=tmp_path, env=env, text=True, **kw)

    args = start.split()[start.split().index("8000") + 1:]  # the line's own flags
    with serve(*args, cwd=tmp_path) as url:
        sim = bash(f"{create}; echo $SIM", url, capture_output=True, timeout=300)
        env["SIM"] = sim.stdout.strip().splitlines()[-1]
        trader = bash(agent, url, background=True, stdout=subprocess.PIPE)
        event = json.loads(bash(crash, url, capture_output=True, timeout=60).stdout)
        assert (event["kind"], event["start"]) == ("flash_crash", 30)
        out, _ = trader.communicate(timeout=300)
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["steps"] == 60 and summary["timeouts"] == 0
        perf = json.loads(bash(performance, url, capture_output=True, timeout=60).stdout)
        assert perf["steps"] == 60
        assert set(perf["agents"]["momentum_trader_0"]) == {
            "pnl", "sharpe", "max_drawdown", "win_rate", "trades", "pnl_path"}
        assert perf["agents"]["momentum_trader_0"]["trades"] > 0
    with RunStore(tmp_path / "runs.sqlite") as store:  # the line's default store
        assert [e["kind"] for e in store.events(env["SIM"])] == ["flash_crash"]
        closes = store.read_steps(env["SIM"], 0)["close"][:, 0]
    assert len(closes) == 60 and closes[31:34].min() < closes[29]  # the crash happened
