"""The demos run end to end and print what they promise."""

from __future__ import annotations

import numpy as np

from quantmarl.book import replay_messages
from quantmarl.book.state import MSG_PRICE, MSG_QTY, MSG_TYPE, MsgType, Status
from quantmarl.cli import demo


def test_replay_demo_prints_ladder_and_throughput(capsys):
    demo.main(["--messages", "2000", "--capacity", "32"])
    out = capsys.readouterr().out
    assert "spread" in out and "msgs/s" in out and "fills" in out


def test_live_market_demo_runs(capsys):
    demo.main(["--agents", "40", "--steps", "20"])
    out = capsys.readouterr().out
    assert "price" in out and "agent-steps/s" in out and "step     20" in out


def test_random_orders_keep_the_book_within_its_capacity():
    msgs = demo.random_orders(4000, seed=3, lifetime=32)
    assert msgs.shape == (4000, 5) and msgs.dtype == np.int64
    assert set(np.unique(msgs[:, MSG_TYPE])) == {int(t) for t in MsgType}
    limits = msgs[msgs[:, MSG_TYPE] == MsgType.LIMIT]
    assert (limits[:, MSG_PRICE] > 0).all() and (msgs[:, MSG_QTY] > 0).all()
    result = replay_messages(msgs, capacity=32)  # at most 32 orders live: never full
    assert not (result.status == Status.REJECTED_BOOK_FULL).any()
    assert len(result.fills) > 0 and len(result.bids) > 0 and len(result.asks) > 0
    np.testing.assert_array_equal(demo.random_orders(4000, seed=3, lifetime=32), msgs)
