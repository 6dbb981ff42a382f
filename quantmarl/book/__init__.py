"""Exact int64 limit order books in JAX.

* :mod:`quantmarl.book.state`: :class:`BookState` and status codes;
* :mod:`quantmarl.book.cda`: continuous double auction kernel (limit, market,
  cancel, delete) with ``lax.scan`` over messages and ``vmap`` over books;
* :mod:`quantmarl.book.fills`: per-message results and the append-only fill log;
* :mod:`quantmarl.book.auction`: uniform-price batch auction for large populations;
* :mod:`quantmarl.book.query`: best prices, spread, mid, depth ladder, imbalance;
* :mod:`quantmarl.book.replay`: :func:`replay_messages`, numpy in and out.
"""

from quantmarl.book import query
from quantmarl.book.auction import MARKET, AuctionResult, AuctionStatus, clear
from quantmarl.book.cda import apply_message, process, process_logged
from quantmarl.book.fills import FillLog, MessageResult, empty_fill_log, fill_log_rows
from quantmarl.book.replay import ReplayResult, replay_messages
from quantmarl.book.state import ASK, BID, BookState, MsgType, Status, book_nbytes, empty_book

__all__ = [
    "ASK",
    "MARKET",
    "AuctionResult",
    "AuctionStatus",
    "BID",
    "BookState",
    "FillLog",
    "MessageResult",
    "MsgType",
    "ReplayResult",
    "Status",
    "apply_message",
    "book_nbytes",
    "clear",
    "empty_book",
    "empty_fill_log",
    "fill_log_rows",
    "process",
    "process_logged",
    "query",
    "replay_messages",
]
