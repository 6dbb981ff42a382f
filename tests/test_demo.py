"""The demos run end to end and print what they promise."""

from __future__ import annotations

from quantmarl import demo


def test_replay_demo_prints_ladder_and_throughput(capsys):
    demo.main(["--messages", "2000", "--capacity", "32"])
    out = capsys.readouterr().out
    assert "spread" in out and "msgs/s" in out and "fills" in out


def test_live_market_demo_runs(capsys):
    demo.main(["--agents", "40", "--steps", "20"])
    out = capsys.readouterr().out
    assert "price" in out and "agent-steps/s" in out and "step     20" in out
