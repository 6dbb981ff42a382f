"""Sias (2004) herding: the correlation of traders' buy ratio with its own lag, split
into traders following their own past trades and traders following the others'.

Input as :func:`quantmarl.quant.herding.lsv`: signed executed quantities [T, n_agents]
(one asset) or [T, n_assets, n_agents]; an agent buys in a cell if its net quantity is
> 0, sells if < 0, is inactive if 0. The buy ratio of a cell is ``B / (B + S)`` over
the active agents.

- Panel input (Sias's design): ``beta_t`` is the cross-sectional correlation, over the
  assets with active traders at t and t-1, of the buy ratio at t with that at t-1;
  ``beta`` is its mean over periods (Fama-MacBeth), with a t statistic.
- Single asset: ``beta`` is the correlation over time of the buy ratio with its lag.

Because ``ratio - mean = (1 / N) sum_n (D_n - mean)`` (``D_n`` = 1 for a buy, 0 for a
sell), the covariance splits exactly into the terms where the same trader is active at
both dates (``own``: trading in the same direction as oneself) and the rest
(``others``: following other traders, the herding part): ``beta = own + others``.
Host-side numpy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["SiasResult", "sias"]


class SiasResult(NamedTuple):
    """Sias measure. ``beta_t`` [G]: one correlation per period (panel) or one overall
    (single asset, G = 1); NaN where fewer than 3 valid pairs or no spread."""

    beta: float  # mean correlation of the buy ratio with its lag
    own: float  # part from traders repeating their own trades
    others: float  # part from traders following others (herding)
    beta_t: np.ndarray  # [G]
    t_stat: float  # panel: mean(beta_t) / (sd / sqrt(G)); single asset: NaN
    n_pairs: np.ndarray  # [G] valid (t-1, t) cell pairs behind each correlation


def _parts(d_cur, a_cur, d_prev, a_prev, valid) -> tuple[np.ndarray, ...]:
    """Correlation, own part and pair count of each group: inputs [G, P, A] (buy
    indicator and activity at t and t-1), ``valid`` [G, P]."""
    n_cur, n_prev = a_cur.sum(-1), a_prev.sum(-1)
    x = (d_cur * a_cur).sum(-1) / np.maximum(n_cur, 1)
    y = (d_prev * a_prev).sum(-1) / np.maximum(n_prev, 1)
    w = valid.astype(np.float64)
    m = w.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar, ybar = (w * x).sum(-1) / m, (w * y).sum(-1) / m
        dx, dy = x - xbar[:, None], y - ybar[:, None]
        total = (w * dx * dy).sum(-1)
        both = a_cur * a_prev
        own_cell = (both * (d_cur - xbar[:, None, None]) * (d_prev - ybar[:, None, None])
                    ).sum(-1) / np.maximum(n_cur * n_prev, 1)
        own = (w * own_cell).sum(-1)
        scale = np.sqrt((w * dx**2).sum(-1) * (w * dy**2).sum(-1))
        ok = (m >= 3) & (scale > 0)
        beta = np.where(ok, total / scale, np.nan)
        own_part = np.where(ok, own / scale, np.nan)
    return beta, own_part, m


def sias(signed_qty, min_traders: int = 1) -> SiasResult:
    """Sias (2004) herding measure with its own/others decomposition (see module doc).

    Cells with fewer than ``min_traders`` active agents are left out.
    """
    q = np.asarray(signed_qty)
    if q.ndim not in (2, 3):
        raise ValueError(f"signed_qty must be [T, n_agents] or [T, n_assets, n_agents], "
                         f"got shape {q.shape}")
    if q.shape[0] < 2:
        raise ValueError(f"need at least 2 periods, got {q.shape[0]}")
    active = q != 0
    buy = (q > 0).astype(np.float64)
    ok = active.sum(-1) >= max(min_traders, 1)
    if q.ndim == 2:  # one group: the pairs run over time
        act, d, ok = active[None], buy[None], ok[None]
        parts = _parts(d[:, 1:], act[:, 1:], d[:, :-1], act[:, :-1], ok[:, 1:] & ok[:, :-1])
    else:  # one group per period: the pairs run over assets
        parts = _parts(buy[1:], active[1:], buy[:-1], active[:-1], ok[1:] & ok[:-1])
    beta_t, own_t, n_pairs = parts
    good = np.isfinite(beta_t)
    beta = float(np.mean(beta_t[good])) if good.any() else float("nan")
    own = float(np.mean(own_t[good])) if good.any() else float("nan")
    t_stat = float("nan")
    if q.ndim == 3 and good.sum() >= 2:
        sd = np.std(beta_t[good], ddof=1)
        t_stat = float(beta / (sd / np.sqrt(good.sum()))) if sd > 0 else float("nan")
    return SiasResult(beta, own, beta - own, beta_t, t_stat, n_pairs.astype(int))
