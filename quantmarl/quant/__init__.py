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
    paired,
    plots,
    risk,
    series,
    sias,
    signed_rank,
    stats,
    stylized,
    survival,
)
from quantmarl.quant.herding import (
    buy_share,
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
    amihud_illiquidity,
    depth,
    kyle_lambda,
    realised_volatility,
    recovery_time,
    relative_spread,
    spread,
    volatility_amplification,
)
from quantmarl.quant.paired import cohens_d_av, sign_flip_test
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
from quantmarl.quant.sias import sias as sias_herding
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
from quantmarl.quant.survival import kaplan_meier, rmst, rmst_paired_test

__all__ = [
    "herding", "indicators", "intervals", "market_quality", "paired", "plots", "risk",
    "series", "sias", "signed_rank", "stats", "stylized", "survival",
    "buy_share", "cck_masked", "cck_regression", "cck_up_down", "csad", "lsv",
    "lsv_adjustment_factor", "sias_herding",
    "atr", "bollinger", "ema", "macd", "rolling_volatility", "rsi", "sma", "vwap",
    "amihud_illiquidity", "cohens_d_av", "sign_flip_test",
    "kaplan_meier", "rmst", "rmst_paired_test",
    "depth", "kyle_lambda", "realised_volatility", "recovery_time", "relative_spread",
    "spread", "volatility_amplification",
    "calmar", "expected_shortfall", "max_drawdown", "max_drawdown_duration", "profit_factor",
    "returns", "sharpe", "sortino", "turnover", "var", "win_rate",
    "benjamini_hochberg", "bootstrap_ci", "cohens_d", "holm", "mann_whitney_u",
    "paired_cohens_d", "paired_ttest", "permutation_test", "welch_ttest",
    "wilcoxon_signed_rank",
    "acf", "excess_kurtosis", "hill_tail_index", "stylized_facts_report",
]
