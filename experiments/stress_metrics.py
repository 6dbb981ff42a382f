"""What a stress event did to a price path, beyond the move the event itself scripts.

A flash crash is sized to take the price down by ``magnitude``: the ratio of post- to
pre-event volatility is then mostly the crash size over the calm volatility, whatever
the agents do. These measures separate the two (numpy, host side; ``close`` float
``[..., T]`` ticks, the event at step ``start``):

* log amplification ``log std(post) - log std(pre)`` with both parts reported;
* overshoot: how far the trough after the event lies below the scheduled level
  ``ref * (1 - scheduled_move)``, as a fraction of the pre-event level ``ref`` (> 0:
  the market fell further than the event pushed it);
* drawdown after the event: the largest peak-to-trough fall once the scheduled steps
  are over, as a fraction of the peak;
* volatility after the event: std of log returns once the scheduled steps are over;
* recovery: steps until the close is back near its pre-event level (censored at the end).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.quant import market_quality as mq

__all__ = ["drawdown_after", "log_amplification", "overshoot", "reference_level",
           "volatility_after"]


def _log_returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(np.asarray(close, np.float64)), axis=-1)


def reference_level(close: np.ndarray, start: int, window: int) -> np.ndarray:
    """Mean close over ``[start - window, start)``: [..., T] -> [...]."""
    return np.asarray(close, np.float64)[..., start - window:start].mean(axis=-1)


def log_amplification(close: np.ndarray, start: int, before: int,
                      after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(log ratio, pre std, post std)``, each [...]: std of the log returns of the
    ``before`` steps up to ``start`` and of the ``after`` steps from it (ddof 1). The
    ratio is NaN where the pre-event price never moved."""
    r = _log_returns(close)  # r[i]: step i -> i + 1
    pre = r[..., start - before:start].std(axis=-1, ddof=1)
    post = r[..., start:start + after].std(axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((pre > 0) & (post > 0), np.log(post) - np.log(pre), np.nan)
    return ratio, pre, post


def overshoot(close: np.ndarray, start: int, window: int, after: int,
              scheduled_move: float) -> np.ndarray:
    """``(1 - scheduled_move) - min(close[start:start + after]) / ref``: [...]."""
    ref = reference_level(close, start, window)
    trough = np.asarray(close, np.float64)[..., start:start + after].min(axis=-1)
    return (1.0 - scheduled_move) - trough / ref


def drawdown_after(close: np.ndarray, begin: int, end: int | None = None) -> np.ndarray:
    """Largest fall from a running peak within ``[begin, end)``, fraction of the peak."""
    p = np.asarray(close, np.float64)[..., begin:end]
    peak = np.maximum.accumulate(p, axis=-1)
    return np.max(1.0 - p / peak, axis=-1)


def volatility_after(close: np.ndarray, begin: int, length: int) -> np.ndarray:
    """Std (ddof 1) of the log returns of the ``length`` steps from ``begin``."""
    return _log_returns(close)[..., begin:begin + length].std(axis=-1, ddof=1)


def recovery(path: np.ndarray, start: int, band: float, pre_window: int,
             hold: int) -> tuple[np.ndarray, np.ndarray]:
    """Recovery steps after ``start`` and whether recovery was observed (else censored at
    the end), :func:`~quantmarl.quant.market_quality.recovery_time` per episode:
    path [..., T] (a close or a spread) -> (float64 [...], bool [...])."""
    t = path.shape[-1]
    res = jax.vmap(lambda p: mq.recovery_time(p, start, band, pre_window, hold))(
        jnp.asarray(path).reshape(-1, t))
    shape = path.shape[:-1]
    return (np.asarray(res.steps, np.float64).reshape(shape),
            ~np.asarray(res.censored).reshape(shape))
