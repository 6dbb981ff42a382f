"""Across-seed statistics: bootstrap CIs, permutation/Welch/Mann-Whitney tests,
effect sizes and multiple-testing corrections.

Samples lie on the last axis; any leading axes are batch axes (e.g. many
metrics or experiment cells at once). Random functions take a JAX key and use
an independent sub-key per batch element.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy.special import ndtr, ndtri

from quantmarl._validate import check_choice
from quantmarl.quant._cast import as_float
from quantmarl.quant._dist import norm_sf, t_sf, t_two_sided

__all__ = [
    "TestResult",
    "bootstrap_distribution",
    "bootstrap_ci",
    "permutation_test",
    "mean_difference",
    "welch_ttest",
    "paired_ttest",
    "paired_cohens_d",
    "mann_whitney_u",
    "cohens_d",
    "holm",
    "benjamini_hochberg",
]

_ALTERNATIVES = ("two-sided", "less", "greater")


class TestResult(NamedTuple):
    """Test statistic and p-value, each with the batch shape."""

    statistic: Array
    pvalue: Array


def check_alternative(alternative: str) -> None:
    """Raise ``ValueError`` unless ``alternative`` is two-sided, less or greater."""
    check_choice("alternative", alternative, _ALTERNATIVES)


def _batched_keys(key: Array, batch_shape: tuple[int, ...]) -> Array:
    n = 1
    for s in batch_shape:
        n *= s
    if not batch_shape:
        return key
    keys = jax.random.split(key, n)
    return keys.reshape(batch_shape + keys.shape[1:])


def _quantile_sorted(s: Array, q: Array) -> Array:
    """Linear (Hyndman-Fan type 7) quantile of a sorted 1-D array at probabilities ``q``."""
    h = (s.shape[-1] - 1) * q
    lo = jnp.clip(jnp.floor(h).astype(jnp.int32), 0, s.shape[-1] - 1)
    hi = jnp.clip(lo + 1, 0, s.shape[-1] - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


# ----------------------------------------------------------------------------- bootstrap


@partial(jax.jit, static_argnames=("statistic", "n_resamples"))
def bootstrap_distribution(
    key: Array, data: Array, statistic: Callable[[Array], Array] = jnp.mean,
    n_resamples: int = 2000,
) -> Array:
    """Bootstrap replicates of ``statistic`` (a JAX function [n] -> []).

    ``data`` [..., n] -> [..., n_resamples], resampling with replacement.
    """
    data = as_float(data)
    n = data.shape[-1]

    def one(k, x):
        idx = jax.random.randint(k, (n_resamples, n), 0, n)
        return jax.vmap(statistic)(x[idx])

    batch = data.shape[:-1]
    keys = _batched_keys(key, batch)
    f = one
    for _ in batch:
        f = jax.vmap(f)
    return f(keys, data)


def _bca_levels(x: Array, theta_b: Array, statistic: Callable, alpha: float) -> Array:
    """BCa-adjusted probabilities (Efron & Tibshirani 1993, eq. 14.10, 14.15)."""
    n = x.shape[-1]
    theta_hat = statistic(x)
    B = theta_b.shape[-1]
    pct = (jnp.sum(theta_b < theta_hat) + jnp.sum(theta_b <= theta_hat)) / (2.0 * B)
    z0 = ndtri(pct)
    idx = jnp.arange(n)
    # row i: all indices except i, shape [n, n-1]
    jack_idx = jnp.where(idx[None, 1:] > idx[:, None], idx[None, 1:], idx[None, :-1])
    theta_j = jax.vmap(statistic)(x[jack_idx])
    d = jnp.mean(theta_j) - theta_j
    a = jnp.sum(d**3) / (6.0 * jnp.sum(d**2) ** 1.5)
    za = ndtri(alpha)
    lo = ndtr(z0 + (z0 + za) / (1 - a * (z0 + za)))
    hi = ndtr(z0 + (z0 - za) / (1 - a * (z0 - za)))
    return jnp.stack([lo, hi])


@partial(jax.jit, static_argnames=("statistic", "n_resamples", "method"))
def bootstrap_ci(
    key: Array,
    data: Array,
    statistic: Callable[[Array], Array] = jnp.mean,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: str = "bca",
) -> tuple[Array, Array]:
    """Two-sided bootstrap confidence interval ``(low, high)``, each [...].

    ``method="percentile"``: quantiles ``alpha/2, 1 - alpha/2`` of the
    replicates; ``"bca"``: bias-corrected and accelerated (jackknife
    acceleration). Same formulas as ``scipy.stats.bootstrap`` (linear quantile,
    'mean' percentile-of-score for z0); its replicates differ (other RNG).
    """
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    data = as_float(data)
    theta_b = bootstrap_distribution(key, data, statistic, n_resamples)
    alpha = (1.0 - confidence_level) / 2.0

    def one(x, tb):
        if method == "bca":
            q = _bca_levels(x, tb, statistic, alpha)
        else:
            q = jnp.stack([jnp.asarray(alpha, tb.dtype), 1.0 - alpha])
        return _quantile_sorted(jnp.sort(tb), q)

    f = one
    for _ in data.shape[:-1]:
        f = jax.vmap(f)
    ci = f(data, theta_b)
    return ci[..., 0], ci[..., 1]


# ----------------------------------------------------------------------------- tests


def mean_difference(x: Array, y: Array) -> Array:
    """``mean(x) - mean(y)`` (default permutation-test statistic)."""
    return jnp.mean(x, axis=-1) - jnp.mean(y, axis=-1)


@partial(jax.jit, static_argnames=("statistic", "n_resamples", "alternative"))
def permutation_test(
    key: Array,
    x: Array,
    y: Array,
    statistic: Callable[[Array, Array], Array] = mean_difference,
    n_resamples: int = 9999,
    alternative: str = "two-sided",
) -> TestResult:
    """Two-sample randomised permutation test (``scipy.stats.permutation_test``
    with ``permutation_type="independent"`` conventions).

    p-values: ``(#{null >= obs - gamma} + 1) / (B + 1)`` ("greater"),
    ``(#{null <= obs + gamma} + 1) / (B + 1)`` ("less"), two-sided = 2 x the
    smaller, clipped to 1; ``gamma = 100 eps |obs|``. x [..., n1], y [..., n2].
    """
    check_alternative(alternative)
    x, y = as_float(x), as_float(y)
    batch = jnp.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    x = jnp.broadcast_to(x, batch + x.shape[-1:])
    y = jnp.broadcast_to(y, batch + y.shape[-1:])
    n1 = x.shape[-1]

    def one(k, a, b):
        z = jnp.concatenate([a, b])
        obs = statistic(a, b)
        keys = jax.random.split(k, n_resamples)
        perms = jax.vmap(lambda kk: jax.random.permutation(kk, z))(keys)
        null = jax.vmap(lambda zz: statistic(zz[:n1], zz[n1:]))(perms)
        gamma = jnp.abs(100 * jnp.finfo(z.dtype).eps * obs)
        p_less = (jnp.sum(null <= obs + gamma) + 1.0) / (n_resamples + 1.0)
        p_greater = (jnp.sum(null >= obs - gamma) + 1.0) / (n_resamples + 1.0)
        p = {"less": p_less, "greater": p_greater,
             "two-sided": 2 * jnp.minimum(p_less, p_greater)}[alternative]
        return obs, jnp.clip(p, 0.0, 1.0)

    f = one
    for _ in batch:
        f = jax.vmap(f)
    obs, p = f(_batched_keys(key, batch), x, y)
    return TestResult(obs, p)


def _t_pvalue(t: Array, df: Array, alternative: str) -> Array:
    """Student-t p-value of statistic ``t`` with ``df`` degrees of freedom under H1."""
    if alternative == "two-sided":
        return t_two_sided(t, df)
    return t_sf(t, df) if alternative == "greater" else t_sf(-t, df)


@partial(jax.jit, static_argnames="alternative")
def welch_ttest(x: Array, y: Array, alternative: str = "two-sided") -> TestResult:
    """Welch's unequal-variance t-test along the last axis.

    Matches ``scipy.stats.ttest_ind(x, y, axis=-1, equal_var=False)``:
    ``t = (mx - my) / sqrt(vx/nx + vy/ny)`` (sample variances, ddof=1),
    Welch-Satterthwaite dof, Student-t p-value via the incomplete beta function.
    """
    check_alternative(alternative)
    x, y = as_float(x), as_float(y)
    nx, ny = x.shape[-1], y.shape[-1]
    vx = jnp.var(x, axis=-1, ddof=1) / nx
    vy = jnp.var(y, axis=-1, ddof=1) / ny
    se2 = vx + vy
    t = (jnp.mean(x, axis=-1) - jnp.mean(y, axis=-1)) / jnp.sqrt(se2)
    df = se2**2 / (vx**2 / (nx - 1) + vy**2 / (ny - 1))
    return TestResult(t, _t_pvalue(t, df, alternative))


@partial(jax.jit, static_argnames="alternative")
def paired_ttest(x: Array, y: Array, alternative: str = "two-sided") -> TestResult:
    """Paired t-test of ``d = x - y`` along the last axis (x, y [..., n]).

    Matches ``scipy.stats.ttest_rel(x, y, axis=-1)``: ``t = mean(d) / (sd(d) / sqrt(n))``
    (ddof=1), ``n - 1`` degrees of freedom, Student-t p-value.
    """
    check_alternative(alternative)
    d = as_float(x) - as_float(y)
    n = d.shape[-1]
    t = jnp.mean(d, axis=-1) / (jnp.std(d, axis=-1, ddof=1) / jnp.sqrt(n))
    df = jnp.asarray(n - 1, d.dtype)
    return TestResult(t, _t_pvalue(t, df, alternative))


@jax.jit
def paired_cohens_d(x: Array, y: Array) -> Array:
    """Cohen's ``d_z`` of paired samples: ``mean(d) / sd(d)``, ``d = x - y`` (ddof=1)."""
    d = as_float(x) - as_float(y)
    return jnp.mean(d, axis=-1) / jnp.std(d, axis=-1, ddof=1)


MWU_EXACT_MAX = 8  # method="auto": exact null distribution when min(n1, n2) <= 8, no ties


@lru_cache(maxsize=64)
def _mwu_sf(n1: int, n2: int) -> np.ndarray:
    """float64 [n1 * n2 + 1]: ``P(U >= k)`` under H0 for untied samples of sizes n1, n2
    (exact integer counts of rank arrangements, one division each)."""
    # ways[a][b][u]: arrangements of a x's and b y's with U_x = u (Python ints, exact)
    ways = [[[1] for _ in range(n2 + 1)]] + [[None] * (n2 + 1) for _ in range(n1)]
    for a in range(1, n1 + 1):
        ways[a][0] = [1]
        for b in range(1, n2 + 1):
            top, left = ways[a - 1][b], ways[a][b - 1]  # the largest value is an x / a y
            out = [0] * (a * b + 1)
            for u, w in enumerate(top):
                out[u + b] += w
            for u, w in enumerate(left):
                out[u] += w
            ways[a][b] = out
    counts = ways[n1][n2]
    total = sum(counts)
    tails = np.cumsum(np.array(counts[::-1], dtype=object))[::-1]
    return np.array([int(t) / total for t in tails], np.float64)


def _mwu_one(x: Array, y: Array, use_continuity: bool, alternative: str,
             method: str) -> tuple[Array, Array]:
    n1, n2 = x.shape[-1], y.shape[-1]
    n = n1 + n2
    z = jnp.concatenate([x, y])
    s = jnp.sort(z)
    left = jnp.searchsorted(s, z, side="left")
    right = jnp.searchsorted(s, z, side="right")
    ranks = (left + right + 1) / 2.0  # average ranks (1-based)
    r1 = jnp.sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    c = (right - left).astype(z.dtype)
    tie_term = jnp.sum(c * c - 1.0)  # = sum over tie groups of (t^3 - t)
    sd = jnp.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    if alternative == "greater":
        u, fac = u1, 1.0
    elif alternative == "less":
        u, fac = u2, 1.0
    else:
        u, fac = jnp.maximum(u1, u2), 2.0
    num = u - n1 * n2 / 2.0
    if use_continuity:
        num = num - 0.5
    p = jnp.clip(fac * norm_sf(num / sd), 0.0, 1.0)
    if method == "auto" and min(n1, n2) <= MWU_EXACT_MAX:
        sf = jnp.asarray(_mwu_sf(n1, n2), z.dtype)
        exact = jnp.clip(fac * sf[jnp.round(u).astype(jnp.int32)], 0.0, 1.0)
        p = jnp.where(jnp.any(c > 1), p, exact)
    return u1, p


@partial(jax.jit, static_argnames=("use_continuity", "alternative", "method"))
def mann_whitney_u(
    x: Array, y: Array, use_continuity: bool = True, alternative: str = "two-sided",
    method: str = "asymptotic",
) -> TestResult:
    """Mann-Whitney U test; the statistic is U of ``x``. x [..., n1], y [..., n2].

    ``method="asymptotic"``: normal approximation with tie and continuity correction
    (``scipy.stats.mannwhitneyu(x, y, method="asymptotic")``); ``"auto"``: as scipy's
    default, the exact null distribution when ``min(n1, n2) <= 8`` and there are no
    ties, else the normal approximation.
    """
    check_alternative(alternative)
    check_choice("method", method, ("asymptotic", "auto"))
    x, y = as_float(x), as_float(y)
    batch = jnp.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    x = jnp.broadcast_to(x, batch + x.shape[-1:])
    y = jnp.broadcast_to(y, batch + y.shape[-1:])
    f = partial(_mwu_one, use_continuity=use_continuity, alternative=alternative,
                method=method)
    for _ in batch:
        f = jax.vmap(f)
    return TestResult(*f(x, y))


@jax.jit
def cohens_d(x: Array, y: Array) -> Array:
    """Cohen's d ``(mx - my) / s_pooled``, ``s_pooled^2 = ((nx-1)sx^2 + (ny-1)sy^2)/(nx+ny-2)``."""
    x, y = as_float(x), as_float(y)
    nx, ny = x.shape[-1], y.shape[-1]
    sp2 = ((nx - 1) * jnp.var(x, axis=-1, ddof=1) + (ny - 1) * jnp.var(y, axis=-1, ddof=1)) / (
        nx + ny - 2
    )
    return (jnp.mean(x, axis=-1) - jnp.mean(y, axis=-1)) / jnp.sqrt(sp2)


# ----------------------------------------------------------------------------- corrections


def _unsort(values: Array, order: Array) -> Array:
    inv = jnp.argsort(order, axis=-1)
    return jnp.take_along_axis(values, inv, axis=-1)


@jax.jit
def holm(pvals: Array, alpha: float = 0.05) -> tuple[Array, Array]:
    """Holm (1979) step-down correction along the last axis: ``(reject, p_adjusted)``.

    Matches ``statsmodels.stats.multitest.multipletests(p, alpha, "holm")``.
    """
    p = as_float(pvals)
    m = p.shape[-1]
    order = jnp.argsort(p, axis=-1)
    ps = jnp.take_along_axis(p, order, axis=-1)
    factor = jnp.arange(m, 0, -1, dtype=p.dtype)
    reject = jnp.cumprod(ps <= alpha / factor, axis=-1).astype(bool)
    adj = jnp.minimum(jax.lax.cummax(ps * factor, axis=p.ndim - 1), 1.0)
    return _unsort(reject, order), _unsort(adj, order)


@jax.jit
def benjamini_hochberg(pvals: Array, alpha: float = 0.05) -> tuple[Array, Array]:
    """Benjamini-Hochberg (1995) FDR step-up correction: ``(reject, p_adjusted)``.

    Matches ``multipletests(p, alpha, "fdr_bh")`` along the last axis.
    """
    p = as_float(pvals)
    m = p.shape[-1]
    ax = p.ndim - 1
    order = jnp.argsort(p, axis=-1)
    ps = jnp.take_along_axis(p, order, axis=-1)
    ecdf = jnp.arange(1, m + 1, dtype=p.dtype) / m
    below = ps <= ecdf * alpha
    reject = jax.lax.cummax(below.astype(jnp.int32), axis=ax, reverse=True).astype(bool)
    adj = jnp.minimum(jax.lax.cummin(ps / ecdf, axis=ax, reverse=True), 1.0)
    return _unsort(reject, order), _unsort(adj, order)
