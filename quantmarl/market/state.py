"""Market state and the per-step record."""

from __future__ import annotations

import enum

import jax
from flax import struct

from quantmarl.agents.params import Block
from quantmarl.book.state import BookState
from quantmarl.events.circuit_breaker import CircuitBreakerState
from quantmarl.events.schedule import EventSchedule
from quantmarl.market.accounting import Ledger
from quantmarl.market.halt_queue import HaltQueue


class Rejection(enum.IntEnum):
    """Market-level reasons an agent's order was refused (counters index)."""

    INVALID_ACTION = 0  # malformed smart action
    HALTED = 1  # none since halts queue orders (see QUEUE_FULL); kept so indices stay stable
    OUT_OF_BAND = 2  # limit price outside the limit-up/limit-down band
    RISK_LIMIT = 3  # would breach cash, position or short-selling limits
    BOOK = 4  # refused by the order book (CDA mode: book full, duplicate id, ...)
    QUEUE_FULL = 5  # sent to a halted asset whose halt queue was full


N_REJECTIONS = len(Rejection)


@struct.dataclass
class MarketState:
    """Everything that evolves. Leading axes are added by ``vmap`` over markets."""

    step: jax.Array  # int32 [] steps taken
    ledger: Ledger  # cash [n_accounts], position [n_accounts, A], fees_collected []
    agents: tuple[Block, ...]  # reactive parameters per behaviour block (drawn at reset)
    books: BookState | None  # CDA mode: [A] books; auction mode: None
    log_fundamental: jax.Array  # float64 [A] log fundamental value
    log_anchor: jax.Array  # float64 [A] long-run log value (mean reversion target)
    last_price: jax.Array  # int64 [A] ticks: last trade / clearing price
    best_bid: jax.Array  # int64 [A] ticks after the last step (0 = none)
    best_ask: jax.Array  # int64 [A] ticks after the last step (0 = none)
    history: jax.Array  # int64 [H, A] last H prices, oldest first
    volatility: jax.Array  # float32 [A] EWMA std of per-step log returns
    vol_long: jax.Array  # float32 [A] long-run EWMA std of log returns (background.vol_memory)
    bg_intensity: jax.Array  # float32 [A] background arrival intensity (self-exciting)
    breaker: CircuitBreakerState
    injected: EventSchedule  # events injected at run time ([max_events] rows)
    rejections: jax.Array  # int64 [N_REJECTIONS] agent orders refused, by Rejection reason
    halt_queue: HaltQueue  # orders waiting for halted assets to reopen ([A, config.halt_queue])


@struct.dataclass
class StepRecord:
    """What happened in one step, per asset (add a leading time axis when scanned)."""

    open: jax.Array  # int64 [A] ticks: first trade price (last price when no trade)
    high: jax.Array  # int64 [A]
    low: jax.Array  # int64 [A]
    close: jax.Array  # int64 [A] last trade price of the step (= last_price)
    volume: jax.Array  # int64 [A] lots traded
    # int64 [A] aggressor-signed lots, buyer- minus seller-initiated: CDA takers' fills; in an
    # auction (and a reopening call, which counts 0) only market orders have a side
    signed_volume: jax.Array
    n_trades: jax.Array  # int64 [A] fills (CDA) or orders executed (auction)
    best_bid: jax.Array  # int64 [A] ticks (0 = none)
    best_ask: jax.Array  # int64 [A] ticks (0 = none)
    spread: jax.Array  # int64 [A] ticks (-1 when a side is empty)
    depth: jax.Array  # int64 [A, 2] resting lots near the top: bids, asks (config.depth_levels)
    imbalance: jax.Array  # float32 [A] (bid depth - ask depth) / total, 0 when empty
    halted: jax.Array  # bool [A] trading halted this step
    fundamental: jax.Array  # int64 [A] ticks
    agent_qty: jax.Array | None  # int64 [n_accounts, A] signed lots each account traded
    rejected: jax.Array  # int64 [N_REJECTIONS] agent orders refused this step
    fees: jax.Array  # int64 [] fees collected this step (minor units)
    reopened: jax.Array  # bool [A] the asset reopened from a halt with a call auction this step
    queued: jax.Array  # int32 [A] orders waiting in the asset's halt queue after the step
    queue_refused: jax.Array  # int64 [A] pool and burst orders a full halt queue refused
    # CDA mode with config.record_fills: int64 [A, F, FILL_RECORD_WIDTH] the continuous fills
    # in execution order (rows with qty 0 are padding; a reopening call's executions are in
    # agent_qty); None otherwise
    fills: jax.Array | None = None


# StepRecord.fills columns: the book's fill log (taker and maker order ids, price in ticks,
# lots, taker and maker accounts, taker side +1 buy / -1 sell), then the fees each paid
(FILLS_TAKER_ID, FILLS_MAKER_ID, FILLS_PRICE, FILLS_QTY, FILLS_TAKER, FILLS_MAKER,
 FILLS_SIDE, FILLS_TAKER_FEE, FILLS_MAKER_FEE) = range(9)
FILL_RECORD_WIDTH = 9
