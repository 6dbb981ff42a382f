"""Market configuration: static ``MarketConfig`` (shapes, counts: hashable, a jit
static argument) and dynamic ``MarketParams`` (a pytree of numbers that sweeps
can ``vmap`` over).

Both are validated in plain Python before anything is traced: a bad value
raises ``ValueError`` naming the field, the value and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from quantmarl._validate import check_bool, check_choice, check_float, check_int
from quantmarl.agents.background import BackgroundParams, default_background, validate_background
from quantmarl.agents.params import BehaviourDistribution
from quantmarl.agents.registry import get as get_behaviour
from quantmarl.events.circuit_breaker import CircuitBreakerRules, breaker_rules, validate_rules
from quantmarl.events.schedule import EventSchedule, empty_schedule
from quantmarl.market.accounting import RiskLimits

CLEARING_MODES = ("cda", "auction")
# PRNG implementations JAX provides (``jax.random.key(seed, impl=...)``)
AGENT_PRNGS = ("philox4x32", "threefry2x32", "philox2x32", "rbg", "unsafe_rbg")
# the default population (the market the realism check and the experiments run on)
DEFAULT_REACTIVE = (
    ("market_maker", 4),
    ("fundamental", 16),
    ("momentum", 8),
    ("mean_reversion", 8),
    ("noise", 24),
)


@dataclass(frozen=True)
class MarketConfig:
    """Static market structure: everything that changes an array shape."""

    n_assets: int = 1
    n_smart: int = 0  # learner slots whose actions come from outside
    reactive: tuple[tuple[str, int], ...] = DEFAULT_REACTIVE  # (behaviour name, agent count)
    background_orders: int = 32  # order slots per step per asset of the statistical pool
    book_capacity: int = 256  # orders per side per book (CDA mode)
    clearing: str = "auction"  # "auction" (uniform-price batch) or "cda" (continuous)
    episode_length: int = 1000  # steps
    auction_band: int = 256  # ticks either side of the last price where an auction may clear
    history: int = 32  # past prices kept per asset (max lookback of reactive agents)
    max_events: int = 8  # rows of the event schedule (and of events injected into the state)
    depth_levels: int = 5  # price levels (CDA) or ticks (auction) summed into recorded depth
    halt_queue: int = 256  # orders per asset queued while halted (market.halt_queue), 1..2048
    record_agent_trades: bool = True  # StepRecord carries per-agent executed lots [n_accounts, A]
    record_fills: bool = False  # CDA mode: StepRecord carries the step's fills (StepRecord.fills)
    # JAX PRNG behind the reactive agents' draws (seeded from the step key): Philox-4x32
    # (Random123) is several times faster than threefry on CPU for 100k agents' draws
    agent_prng: str = "philox4x32"
    extra: tuple = field(default=(), compare=True)  # room for user extensions (hashable)

    def __post_init__(self) -> None:
        check_int("n_assets", self.n_assets, 1, 256)
        check_int("n_smart", self.n_smart, 0, 4096)
        check_int("background_orders", self.background_orders, 0, 10**7)
        check_int("book_capacity", self.book_capacity, 1, 2**16)
        check_int("episode_length", self.episode_length, 1, 10**8)
        check_int("auction_band", self.auction_band, 1, 2**20)
        check_int("history", self.history, 2, 4096)
        check_int("max_events", self.max_events, 1, 1024)
        check_int("depth_levels", self.depth_levels, 1, 1024)
        check_int("halt_queue", self.halt_queue, 1, 2048)
        check_bool("record_agent_trades", self.record_agent_trades)
        check_bool("record_fills", self.record_fills)
        check_choice("agent_prng", self.agent_prng, AGENT_PRNGS)
        check_choice("clearing", self.clearing, CLEARING_MODES)
        if not isinstance(self.reactive, tuple):
            raise ValueError(
                f"reactive must be a tuple of (name, count) pairs, got {self.reactive!r}"
            )
        seen = set()
        for i, item in enumerate(self.reactive):
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(f"reactive[{i}] must be a (name, count) pair, got {item!r}")
            check_int(f"reactive[{i}] count ({item[0]})", item[1], 0, 10**7)
            try:
                get_behaviour(item[0])
            except ValueError as err:
                raise ValueError(f"reactive[{i}]: {err}") from None
            if item[0] in seen:
                raise ValueError(f"reactive[{i}]: behaviour {item[0]!r} listed twice")
            seen.add(item[0])

    @property
    def n_reactive(self) -> int:
        """Reactive agents over all behaviours."""
        return sum(count for _, count in self.reactive)

    @property
    def n_agents(self) -> int:
        """Simulated agents: smart slots first, then reactive blocks in order."""
        return self.n_smart + self.n_reactive

    @property
    def n_accounts(self) -> int:
        """Ledger rows: every agent, then one account for the background pool."""
        return self.n_agents + 1

    @property
    def background_account(self) -> int:
        """Ledger row of the background pool (the represented population's net holdings)."""
        return self.n_agents


@struct.dataclass
class FundamentalParams:
    """Mean-reverting log fundamental value with jumps, correlated across assets."""

    kappa: jax.Array  # float [] mean reversion per step toward the initial value (0 = random walk)
    sigma: jax.Array  # float [] per-step volatility of log value
    jump_prob: jax.Array  # float [] per-step probability of a jump
    jump_scale: jax.Array  # float [] std of log jump size
    correlation: jax.Array  # float [A, A] correlation of the diffusion shocks


@struct.dataclass
class MarketParams:
    """Dynamic market parameters (vmappable)."""

    tick_size: jax.Array  # float [] currency per tick (display and observations only)
    tick_value: jax.Array  # int64 [] cash minor units per lot per tick
    initial_price: jax.Array  # int64 [A] ticks
    initial_cash: jax.Array  # int64 [] minor units per agent
    initial_position: jax.Array  # int64 [] lots per agent per asset
    fee_bps: jax.Array  # int64 [] taker (and auction) fee, basis points
    maker_fee_bps: jax.Array  # int64 [] maker fee, basis points
    fundamental: FundamentalParams
    risk: RiskLimits
    background: BackgroundParams
    behaviours: tuple[BehaviourDistribution, ...]  # one per config.reactive block
    schedule: EventSchedule  # scheduled stress events, [max_events] rows
    breaker: CircuitBreakerRules
    index_weights: jax.Array  # float [A] index weights (arbitrageurs trade the index vs components)
    vol_decay: jax.Array  # float [] EWMA decay of squared log returns (observed volatility)
    order_lifetime: jax.Array  # int32 [] CDA mode: steps a resting agent/background order lives
    # CDA mode only (no effect in the call auction, where nothing rests):
    quote_priority: jax.Array  # float [] probability that a quoting agent's fresh quotes
    #                            arrive before the step's other orders, [0, 1] (0: random place)
    replace_orders: jax.Array  # float [] probability per step that a reactive trader cancels
    #                            its resting orders before it acts, [0, 1] (0: they rest on)


def default_params(config: MarketConfig) -> MarketParams:
    """Sensible defaults for ``config``: price 10,000 ticks of 0.01, 1bp fees, no borrowing."""
    a = config.n_assets
    return MarketParams(
        tick_size=jnp.asarray(0.01),
        tick_value=jnp.asarray(1, jnp.int64),
        initial_price=jnp.full((a,), 10_000, jnp.int64),
        initial_cash=jnp.asarray(10_000_000, jnp.int64),
        initial_position=jnp.asarray(100, jnp.int64),
        fee_bps=jnp.asarray(1, jnp.int64),
        maker_fee_bps=jnp.asarray(0, jnp.int64),
        fundamental=FundamentalParams(
            kappa=jnp.asarray(0.01),
            sigma=jnp.asarray(0.0002442),
            jump_prob=jnp.asarray(0.001),
            jump_scale=jnp.asarray(0.01),
            correlation=jnp.eye(a),
        ),
        risk=RiskLimits(
            min_cash=jnp.asarray(0, jnp.int64),
            max_position=jnp.asarray(10_000, jnp.int64),
            allow_short=jnp.asarray(True),
        ),
        background=default_background(),
        behaviours=tuple(get_behaviour(name).distribution for name, _ in config.reactive),
        schedule=empty_schedule(config.max_events),
        breaker=breaker_rules(enabled=False, history_len=config.history),
        index_weights=jnp.full((a,), 1.0 / a, jnp.float32),
        vol_decay=jnp.asarray(0.94),
        order_lifetime=jnp.asarray(10, jnp.int32),
        quote_priority=jnp.asarray(1.0),
        replace_orders=jnp.asarray(0.5),
    )


def validate_params(config: MarketConfig, params: MarketParams) -> MarketParams:
    """Check ``params`` against ``config`` (concrete values, before tracing); return it."""
    a = config.n_assets

    def scalar(name, x):
        arr = np.asarray(x)
        if arr.shape != ():
            raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
        return arr.item()

    def int64(name, x, shape):
        arr = np.asarray(x)
        if arr.dtype != np.int64:
            raise ValueError(f"{name} must have dtype int64 (exact money/prices), got {arr.dtype}")
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
        return arr

    check_float("tick_size", scalar("tick_size", params.tick_size), 0.0, 1e12, lo_open=True)
    check_int("tick_value", int(int64("tick_value", params.tick_value, ())), 1, 10**12)
    prices = int64("initial_price", params.initial_price, (a,))
    if prices.min() < config.auction_band + 1 or prices.max() > 10**12:
        raise ValueError(
            f"initial_price must lie in [auction_band + 1, 1e12] = [{config.auction_band + 1}, "
            f"1000000000000] ticks, got {prices.tolist()}"
        )
    check_int("initial_cash", int(int64("initial_cash", params.initial_cash, ())), 0, 10**15)
    check_int("initial_position", int(int64("initial_position", params.initial_position, ())),
               -(10**9), 10**9)
    check_int("fee_bps", int(int64("fee_bps", params.fee_bps, ())), 0, 10_000)
    check_int("maker_fee_bps", int(int64("maker_fee_bps", params.maker_fee_bps, ())), 0, 10_000)
    f = params.fundamental
    check_float("fundamental.kappa", scalar("fundamental.kappa", f.kappa), 0.0, 1.0)
    check_float("fundamental.sigma", scalar("fundamental.sigma", f.sigma), 0.0, 0.5)
    check_float("fundamental.jump_prob", scalar("fundamental.jump_prob", f.jump_prob), 0.0, 1.0)
    check_float("fundamental.jump_scale", scalar("fundamental.jump_scale", f.jump_scale), 0.0, 1.0)
    corr = np.asarray(f.correlation, np.float64)
    if corr.shape != (a, a):
        raise ValueError(f"fundamental.correlation must have shape {(a, a)}, got {corr.shape}")
    if not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1.0):
        raise ValueError("fundamental.correlation must be symmetric with a unit diagonal")
    if np.linalg.eigvalsh(corr).min() < -1e-9:
        raise ValueError("fundamental.correlation must be positive semi-definite")
    r = params.risk
    check_int("risk.min_cash", int(int64("risk.min_cash", r.min_cash, ())), -(10**15), 10**15)
    check_int("risk.max_position", int(int64("risk.max_position", r.max_position, ())), 0,
               10**12)
    _check_start_within_limits(params)
    if len(params.behaviours) != len(config.reactive):
        raise ValueError(
            f"behaviours must hold one BehaviourDistribution per reactive block "
            f"({len(config.reactive)}), got {len(params.behaviours)}"
        )
    if params.schedule.kind.shape != (config.max_events,):
        raise ValueError(
            f"schedule must have max_events={config.max_events} rows, "
            f"got {params.schedule.kind.shape[0]}"
        )
    validate_rules(params.breaker, config.history)
    check_float("vol_decay", scalar("vol_decay", params.vol_decay), 0.0, 0.9999)
    check_int("order_lifetime", int(scalar("order_lifetime", params.order_lifetime)), 1, 10**6)
    for name in ("quote_priority", "replace_orders"):
        check_float(name, scalar(name, getattr(params, name)), 0.0, 1.0)
    if np.asarray(params.index_weights).shape != (a,):
        raise ValueError(f"index_weights must have shape {(a,)}")
    validate_background(params.background)
    return params


def _check_start_within_limits(params: MarketParams) -> None:
    """Every agent starts within its own risk limits (else the limits could never hold)."""
    r = params.risk
    cash, min_cash = int(params.initial_cash), int(r.min_cash)
    pos, max_pos = int(params.initial_position), int(r.max_position)
    short = np.asarray(r.allow_short)
    if short.shape != () or short.dtype != np.bool_:
        raise ValueError(f"risk.allow_short must be a scalar bool, got {short.dtype} {short.shape}")
    if cash < min_cash:
        raise ValueError(f"initial_cash ({cash}) must be >= risk.min_cash ({min_cash}): agents "
                         "would start below their cash floor")
    if abs(pos) > max_pos:
        raise ValueError(f"initial_position ({pos}) must lie in [-risk.max_position, "
                         f"risk.max_position] = [{-max_pos}, {max_pos}] lots")
    if pos < 0 and not bool(short):
        raise ValueError(f"initial_position ({pos}) must be >= 0 when risk.allow_short is "
                         "False (agents would start short)")
