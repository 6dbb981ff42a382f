"""Herding measures: LSV (1992) and CSAD / Chang-Cheng-Khorana (2000).

LSV input: signed executed quantities per period and agent, shape
``[T, n_agents]`` (one asset) or ``[T, n_assets, n_agents]``; an agent is a
buyer in a cell if its net quantity is > 0, a seller if < 0, inactive if 0.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.scipy.special import gammaln

from quantmarl.quant._ols import OLSResult, ols

__all__ = [
    "OLSResult",
    "LSVResult",
    "buy_sell_counts",
    "buy_share",
    "lsv_adjustment_factor",
    "lsv",
    "csad",
    "cck_regression",
    "cck_up_down",
    "cck_masked",
]


class LSVResult(NamedTuple):
    """LSV output. ``h``: per-cell H [T] or [T, n_assets] (NaN where fewer than
    ``min_traders`` were active or the expected share is undefined); ``mean``: mean H
    over valid cells; ``buy`` / ``sell``: means over cells with ``p_it > p_t`` /
    ``p_it < p_t`` (Wermers 1999); ``valid_share``: share of cells that are valid."""

    h: Array
    mean: Array
    buy: Array
    sell: Array
    p_cell: Array
    p_expected: Array
    n_active: Array
    valid_share: Array


def buy_share(signed_qty: Array) -> Array:
    """Contemporaneous buy share ``B_t / (B_t + S_t)`` of a population over its last
    (agent) axis: [..., n_agents] -> [...]; NaN where nobody traded. Pass the flow of
    all traders (or of the traders other than the ones tested) as :func:`lsv`'s
    ``expected``, so that a common reaction of the whole market is not herding."""
    b, s = buy_sell_counts(signed_qty)
    n = (b + s).astype(jnp.result_type(float))
    return jnp.where(n > 0, b / jnp.maximum(n, 1.0), jnp.nan)


def buy_sell_counts(signed_qty: Array) -> tuple[Array, Array]:
    """Numbers of net buyers (q > 0) and sellers (q < 0) over the last (agent) axis."""
    q = jnp.asarray(signed_qty)
    return jnp.sum(q > 0, axis=-1), jnp.sum(q < 0, axis=-1)


@partial(jax.jit, static_argnames="max_n")
def lsv_adjustment_factor(n: Array, p: Array, max_n: int) -> Array:
    """Exact ``AF = E|B/N - p|`` for ``B ~ Binomial(N, p)``: sum over the pmf.

    ``n`` (int, <= ``max_n``) and ``p`` broadcast; returns NaN where ``n == 0``.
    """
    n = jnp.asarray(n)
    p = jnp.asarray(p, jnp.result_type(float))
    nf = n.astype(p.dtype)[..., None]
    pp = p[..., None]
    k = jnp.arange(max_n + 1, dtype=p.dtype)
    valid = k <= nf
    kk = jnp.where(valid, k, 0.0)
    logc = gammaln(nf + 1) - gammaln(kk + 1) - gammaln(nf - kk + 1)
    # xlogy-style terms so that p in {0, 1} gives a degenerate pmf
    lp = jnp.where(kk > 0, kk * jnp.log(jnp.where(pp > 0, pp, 1.0)), 0.0)
    lp = jnp.where((kk > 0) & (pp <= 0), -jnp.inf, lp)
    lq = jnp.where(nf - kk > 0, (nf - kk) * jnp.log(jnp.where(pp < 1, 1 - pp, 1.0)), 0.0)
    lq = jnp.where((nf - kk > 0) & (pp >= 1), -jnp.inf, lq)
    pmf = jnp.where(valid, jnp.exp(logc + lp + lq), 0.0)
    af = jnp.sum(pmf * jnp.abs(kk / jnp.maximum(nf, 1.0) - pp), axis=-1)
    return jnp.where(n > 0, af, jnp.nan)


@partial(jax.jit, static_argnames="min_traders")
def lsv(signed_qty: Array, min_traders: int = 1, expected: Array | None = None) -> LSVResult:
    """LSV herding ``H_it = |p_it - p_t| - E|p_it - p_t|`` (Lakonishok et al. 1992).

    ``p_it = B_it / (B_it + S_it)``. Expected proportion ``p_t``: with
    ``[T, n_assets, n_agents]`` input, the pooled buy share of period t across
    assets ``sum_i B_it / sum_i N_it`` (Wermers 1999); with ``[T, n_agents]``
    (single asset) the pooled buy share over all periods ``sum_t B_t / sum_t N_t``.
    ``expected`` ([T], or [T, n_assets] for panel input) replaces that default
    with a given share, e.g. :func:`buy_share` of the contemporaneous flow of all
    traders; cells where it is NaN are invalid. ``E|.|`` is the exact binomial
    adjustment factor. Cells with fewer than ``min_traders`` active agents are NaN
    and excluded from the means (LSV use ``min_traders=5``).
    """
    q = jnp.asarray(signed_qty)
    n_agents = q.shape[-1]
    b, s = buy_sell_counts(q)
    n = b + s
    ok = n >= max(min_traders, 1)
    bf = jnp.where(ok, b, 0).astype(jnp.result_type(float))
    nf = jnp.where(ok, n, 0).astype(bf.dtype)
    p_cell = jnp.where(ok, bf / jnp.maximum(nf, 1.0), jnp.nan)
    if q.ndim not in (2, 3):
        raise ValueError(f"signed_qty must be [T, n_agents] or [T, n_assets, n_agents], "
                         f"got shape {q.shape}")
    if expected is not None:
        p_exp = jnp.asarray(expected, bf.dtype)
        p_exp = p_exp[:, None] if q.ndim == 3 and p_exp.ndim == 1 else p_exp
        p_exp = jnp.broadcast_to(p_exp, p_cell.shape)
        ok = ok & jnp.isfinite(p_exp)
        p_cell = jnp.where(ok, p_cell, jnp.nan)
    elif q.ndim == 2:
        p_exp = jnp.broadcast_to(jnp.sum(bf) / jnp.sum(nf), p_cell.shape)
    else:
        p_exp = jnp.broadcast_to((jnp.sum(bf, -1) / jnp.sum(nf, -1))[:, None], p_cell.shape)
    af = lsv_adjustment_factor(jnp.where(ok, n, 0), jnp.where(ok, p_exp, 0.5), n_agents)
    h = jnp.where(ok, jnp.abs(p_cell - p_exp) - af, jnp.nan)

    def masked_mean(sel):
        sel = sel & ok
        return jnp.sum(jnp.where(sel, h, 0.0)) / jnp.sum(sel)

    return LSVResult(
        h=h,
        mean=masked_mean(ok),
        buy=masked_mean(p_cell > p_exp),
        sell=masked_mean(p_cell < p_exp),
        p_cell=p_cell,
        p_expected=p_exp,
        n_active=n,
        valid_share=jnp.mean(ok),
    )


@jax.jit
def csad(returns: Array) -> tuple[Array, Array]:
    """Cross-sectional absolute deviation (Chang, Cheng & Khorana 2000).

    ``returns``: [T, N] returns of N assets (or agents' portfolios).
    Returns ``(CSAD_t, R_m,t)`` with ``R_m,t = mean_i R_it`` (equal weights) and
    ``CSAD_t = mean_i |R_it - R_m,t|``, each [T].
    """
    r = jnp.asarray(returns, jnp.result_type(float))
    rm = jnp.mean(r, axis=-1)
    return jnp.mean(jnp.abs(r - rm[..., None]), axis=-1), rm


def _cck_design(rm: Array) -> Array:
    rm = jnp.asarray(rm, jnp.result_type(float))
    return jnp.stack([jnp.ones_like(rm), jnp.abs(rm), rm**2], axis=-1)


@partial(jax.jit, static_argnames=("hac_maxlags", "kernel", "use_correction"))
def cck_regression(
    csad_t: Array,
    rm: Array,
    mask: Array | None = None,
    hac_maxlags: int | None = None,
    kernel: str = "bartlett",
    use_correction: bool = False,
) -> OLSResult:
    """CCK regression ``CSAD_t = a + g1 |R_m,t| + g2 R_m,t^2 + e_t`` by OLS.

    ``params = (a, g1, g2)``; a significantly negative ``g2`` indicates herding.
    Standard errors are classical (``hac_maxlags=None``) or Newey-West HAC with
    ``kernel`` in {"bartlett", "uniform"}, matching statsmodels
    ``OLS(...).fit(cov_type="HAC", cov_kwds={"maxlags": L})``. ``mask`` [T]
    restricts the sample (rows kept in order, like ``OLS(y[mask], X[mask])``).
    """
    return ols(csad_t, _cck_design(rm), mask, hac_maxlags, kernel, use_correction)


@partial(jax.jit, static_argnames=("hac_maxlags", "kernel", "use_correction"))
def cck_up_down(
    csad_t: Array,
    rm: Array,
    hac_maxlags: int | None = None,
    kernel: str = "bartlett",
    use_correction: bool = False,
) -> tuple[OLSResult, OLSResult]:
    """CCK regressions on up-market (``R_m > 0``) and down-market (``R_m < 0``) periods."""
    rm = jnp.asarray(rm)
    up = cck_regression(csad_t, rm, rm > 0, hac_maxlags, kernel, use_correction)
    down = cck_regression(csad_t, rm, rm < 0, hac_maxlags, kernel, use_correction)
    return up, down


@partial(jax.jit, static_argnames=("hac_maxlags", "kernel", "use_correction"))
def cck_masked(
    csad_t: Array,
    rm: Array,
    stress: Array,
    hac_maxlags: int | None = None,
    kernel: str = "bartlett",
    use_correction: bool = False,
) -> tuple[OLSResult, OLSResult]:
    """CCK regressions inside and outside a stress-window mask ``stress`` [T] (bool)."""
    stress = jnp.asarray(stress, bool)
    inside = cck_regression(csad_t, rm, stress, hac_maxlags, kernel, use_correction)
    outside = cck_regression(csad_t, rm, ~stress, hac_maxlags, kernel, use_correction)
    return inside, outside
