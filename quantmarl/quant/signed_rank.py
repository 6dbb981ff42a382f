"""Wilcoxon signed-rank test of paired samples, jitted and vmappable.

Same conventions and numbers as ``scipy.stats.wilcoxon(x - y)`` with its defaults
(``zero_method="wilcox"``: zero differences are dropped; no continuity
correction; ``method="auto"``): for ``n <= 50`` the exact null distribution when
there are no ties and no zeros, an exact sign-flip permutation test (all ``2**n``
patterns) when there are and ``n <= 13``; else the normal approximation with the
tie correction. The exact tail probabilities are tabulated on the host exactly as
scipy computes them, so those p-values agree with scipy to the last bit.
"""

from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from quantmarl.quant._cast import as_float
from quantmarl.quant._dist import norm_sf
from quantmarl.quant.stats import TestResult, check_alternative

__all__ = ["wilcoxon_signed_rank"]

MAX_EXACT_N = 50  # scipy: exact test (no ties, no zeros) up to n = 50
MAX_PERMUTATION_N = 13  # scipy: sign-flip permutation test up to n = 13 (2**13 < 9999)


@lru_cache(maxsize=64)
def _exact_tails(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(cdf, sf)`` float64 [n(n+1)/2 + 1] of the signed-rank statistic ``W+`` of ``n``
    untied nonzero differences: ``P(W+ <= k)`` and ``P(W+ >= k)``, summed as scipy does."""
    pmf = np.ones(1, dtype=np.float64)
    for k in range(1, n + 1):
        prev, pmf = pmf, np.zeros(k * (k + 1) // 2 + 1, dtype=np.float64)
        pmf[:prev.size] = prev * 0.5
        pmf[-prev.size:] += prev * 0.5
    ks = np.arange(pmf.size)
    mean = n * (n + 1) / 4

    def cdf(k: int) -> float:
        return pmf[:k + 1].sum() if k <= mean else 1 - pmf[k + 1:].sum()

    def sf(k: int) -> float:
        return pmf[k:].sum() if k <= mean else 1 - pmf[:k].sum()

    return (np.array([cdf(k) for k in ks], np.float64),
            np.array([sf(k) for k in ks], np.float64))


def _signed_ranks(d: Array) -> tuple[Array, Array, Array]:
    """Average ranks of ``|d|`` among the nonzero differences (0 for zeros) [n], the
    tie term ``sum(t^3 - t)`` over tie groups [] and whether any tie exists []."""
    a = jnp.abs(d)
    nonzero = a > 0
    key = jnp.where(nonzero, a, jnp.inf)  # zeros sort last: they take no rank
    s = jnp.sort(key)
    left = jnp.searchsorted(s, key, side="left")
    right = jnp.searchsorted(s, key, side="right")
    ranks = jnp.where(nonzero, (left + right + 1) / 2.0, 0.0).astype(d.dtype)
    group = jnp.where(nonzero, right - left, 1).astype(d.dtype)  # size of own tie group
    return ranks, jnp.sum(group * group - 1.0), jnp.any(group > 1)


def _one(d: Array, alternative: str) -> tuple[Array, Array]:
    n = d.shape[-1]
    ranks, tie_term, ties = _signed_ranks(d)
    zeros = jnp.sum(d == 0)
    r_plus = jnp.sum(jnp.where(d > 0, ranks, 0.0))
    r_minus = jnp.sum(jnp.where(d < 0, ranks, 0.0))
    # normal approximation with the tie correction (zeros dropped)
    count = (n - zeros).astype(d.dtype)
    mean = count * (count + 1.0) * 0.25
    se = jnp.sqrt((count * (count + 1.0) * (2.0 * count + 1.0) - tie_term / 2) / 24)
    z = (r_plus - mean) / se
    p_other = {"less": norm_sf(-z), "greater": norm_sf(z),
               "two-sided": 2 * norm_sf(jnp.abs(z))}[alternative]
    if n <= MAX_PERMUTATION_N:  # every sign pattern: W+ of the flipped differences
        bits = (jnp.arange(2**n)[:, None] >> jnp.arange(n)[None, :]) & 1
        null = jnp.where(bits == 1, -d, d) > 0
        null = jnp.sum(jnp.where(null, ranks, 0.0), axis=-1)
        gamma = jnp.abs(100 * jnp.finfo(d.dtype).eps * r_plus)
        less = jnp.sum(null <= r_plus + gamma) / (2.0**n)
        greater = jnp.sum(null >= r_plus - gamma) / (2.0**n)
        p_other = {"less": less, "greater": greater,
                   "two-sided": jnp.clip(2 * jnp.minimum(less, greater), 0.0, 1.0)}[alternative]
    if n > MAX_EXACT_N:
        p = p_other
    else:  # exact null distribution (no ties, no zeros: W+ is an integer)
        cdf, sf = (jnp.asarray(t, d.dtype) for t in _exact_tails(n))
        k_hi, k_lo = jnp.ceil(r_plus).astype(jnp.int32), jnp.floor(r_plus).astype(jnp.int32)
        p_exact = {"less": cdf[k_hi], "greater": sf[k_lo],
                   "two-sided": jnp.clip(2 * jnp.minimum(sf[k_lo], cdf[k_hi]), 0.0, 1.0)}
        p = jnp.where(ties | (zeros > 0), p_other, p_exact[alternative])
    statistic = jnp.minimum(r_plus, r_minus) if alternative == "two-sided" else r_plus
    return statistic, p


@partial(jax.jit, static_argnames="alternative")
def wilcoxon_signed_rank(x: Array, y: Array | None = None,
                         alternative: str = "two-sided") -> TestResult:
    """Wilcoxon signed-rank test of ``d = x - y`` (or of ``x`` alone) along the last axis.

    x, y [..., n] (paired: element i of x with element i of y). ``alternative`` is H1
    for the location of ``d`` (``"greater"``: x tends to exceed y). Statistic: ``W+``
    (sum of the ranks of positive differences), or ``min(W+, W-)`` when two-sided, as
    scipy reports it. Matches ``scipy.stats.wilcoxon(x, y, alternative=...)``.
    """
    check_alternative(alternative)
    d = as_float(x) if y is None else as_float(x) - as_float(y)
    f = partial(_one, alternative=alternative)
    for _ in d.shape[:-1]:
        f = jax.vmap(f)
    return TestResult(*f(d))
