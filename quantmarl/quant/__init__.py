"""Quant layer: pure array metrics (indicators, risk, stylised facts, herding,
market quality, statistics) and matplotlib plots.

Import submodules, e.g. ``from quantmarl.quant import indicators, risk``.
``quant`` never imports ``market``, ``env`` or ``rl``: callers hand it arrays.
"""

from quantmarl.quant import (
    herding,
    indicators,
    intervals,
    market_quality,
    plots,
    risk,
    series,
    signed_rank,
    stats,
    stylized,
)
from quantmarl.quant.herding import (
    cck_masked,
    cck_regression,
    cck_up_down,
    csad,
    lsv,
    lsv_adjustment_factor,
)
from quantmarl.quant.indicators import (
    atr,
    bollinger,
    ema,
    macd,
    rolling_volatility,
    rsi,
    sma,
    vwap,
)
from quantmarl.quant.market_quality import (
    depth,
    kyle_lambda,
    realised_volatility,
    recovery_time,
    relative_spread,
    spread,
    volatility_amplification,
)
from quantmarl.quant.risk import (
    calmar,
    expected_shortfall,
    max_drawdown,
    max_drawdown_duration,
    profit_factor,
    returns,
    sharpe,
    sortino,
    turnover,
    var,
    win_rate,
)
from quantmarl.quant.signed_rank import wilcoxon_signed_rank
from quantmarl.quant.stats import (
    benjamini_hochberg,
    bootstrap_ci,
    cohens_d,
    holm,
    mann_whitney_u,
    paired_cohens_d,
    paired_ttest,
    permutation_test,
    welch_ttest,
)
from quantmarl.quant.stylized import (
    acf,
    excess_kurtosis,
    hill_tail_index,
    stylized_facts_report,
)

__all__ = [
    "herding", "indicators", "intervals", "market_quality", "plots", "risk", "series",
    "signed_rank", "stats", "stylized",
    "cck_masked", "cck_regression", "cck_up_down", "csad", "lsv", "lsv_adjustment_factor",
    "atr", "bollinger", "ema", "macd", "rolling_volatility", "rsi", "sma", "vwap",
    "depth", "kyle_lambda", "realised_volatility", "recovery_time", "relative_spread",
    "spread", "volatility_amplification",
    "calmar", "expected_shortfall", "max_drawdown", "max_drawdown_duration", "profit_factor",
    "returns", "sharpe", "sortino", "turnover", "var", "win_rate",
    "benjamini_hochberg", "bootstrap_ci", "cohens_d", "holm", "mann_whitney_u",
    "paired_cohens_d", "paired_ttest", "permutation_test", "welch_ttest",
    "wilcoxon_signed_rank",
    "acf", "excess_kurtosis", "hill_tail_index", "stylized_facts_report",
]
