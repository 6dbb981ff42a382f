"""The market: agent tiers, exact accounting, stress events and rules as one pure JAX step.

>>> from quantmarl.market import MarketConfig, default_params, reset, step, run
"""

from quantmarl.market.accounting import Ledger, RiskLimits
from quantmarl.market.config import (
    FundamentalParams,
    MarketConfig,
    MarketParams,
    default_params,
    validate_params,
)
from quantmarl.market.reset import reset
from quantmarl.market.smart import ActionKind, SmartActions, hold
from quantmarl.market.state import MarketState, Rejection, StepRecord
from quantmarl.market.step import run, run_from, step

__all__ = [
    "ActionKind",
    "FundamentalParams",
    "Ledger",
    "MarketConfig",
    "MarketParams",
    "MarketState",
    "Rejection",
    "RiskLimits",
    "SmartActions",
    "StepRecord",
    "default_params",
    "hold",
    "reset",
    "run",
    "run_from",
    "step",
    "validate_params",
]
