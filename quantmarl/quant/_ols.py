"""Small OLS with classical or Newey-West (HAC) errors, matching statsmodels.

``ols(y, X, mask, hac_maxlags)`` reproduces ``sm.OLS(y[mask], X[mask]).fit()``
(``cov_type="nonrobust"``: t p-values with ``nobs - k`` dof) or
``.fit(cov_type="HAC", cov_kwds={"maxlags": L, "kernel": ..., "use_correction": ...})``
(normal p-values, statsmodels' default ``use_t=False``). Masked-out rows are
moved to the end and zeroed, so HAC lags run over the kept rows as if they
were consecutive, exactly as statsmodels does on the subset.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax import Array
from jax.scipy.linalg import solve_triangular

from quantmarl.quant._dist import norm_sf, t_two_sided

KERNELS = ("bartlett", "uniform")


class OLSResult(NamedTuple):
    """OLS estimates; arrays of shape [k] (scalars for nobs/df_resid/rsquared)."""

    params: Array
    bse: Array
    tvalues: Array
    pvalues: Array
    nobs: Array
    df_resid: Array
    rsquared: Array


def _compact(y: Array, X: Array, mask: Array) -> tuple[Array, Array, Array]:
    order = jnp.argsort(~mask, stable=True)
    m = mask[order]
    return jnp.where(m, y[order], 0.0), jnp.where(m[:, None], X[order], 0.0), m


def ols(
    y: Array,
    X: Array,
    mask: Array | None = None,
    hac_maxlags: int | None = None,
    kernel: str = "bartlett",
    use_correction: bool = False,
) -> OLSResult:
    """OLS of ``y`` [T] on ``X`` [T, k] (include a constant column yourself)."""
    y = jnp.asarray(y, jnp.result_type(float))
    X = jnp.asarray(X, y.dtype)
    T, k = X.shape
    if mask is None:
        m = jnp.ones((T,), bool)
    else:
        y, X, m = _compact(y, X, jnp.asarray(mask, bool))
    nobs = jnp.sum(m).astype(y.dtype)
    q, r = jnp.linalg.qr(X, mode="reduced")
    beta = solve_triangular(r, q.T @ y, lower=False)
    rinv = solve_triangular(r, jnp.eye(k, dtype=y.dtype), lower=False)
    xtx_inv = rinv @ rinv.T
    resid = jnp.where(m, y - X @ beta, 0.0)
    df = nobs - k
    ssr = jnp.sum(resid**2)
    ybar = jnp.sum(jnp.where(m, y, 0.0)) / nobs
    tss = jnp.sum(jnp.where(m, (y - ybar) ** 2, 0.0))
    r2 = 1.0 - ssr / tss
    if hac_maxlags is None:
        cov = xtx_inv * (ssr / df)
    else:
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        xu = X * resid[:, None]
        S = xu.T @ xu
        for lag in range(1, hac_maxlags + 1):
            w = 1.0 - lag / (hac_maxlags + 1.0) if kernel == "bartlett" else 1.0
            s = xu[lag:].T @ xu[:-lag]
            S = S + w * (s + s.T)
        cov = xtx_inv @ S @ xtx_inv
        if use_correction:
            cov = cov * nobs / (nobs - k)
    bse = jnp.sqrt(jnp.diag(cov))
    tvalues = beta / bse
    pvalues = t_two_sided(tvalues, df) if hac_maxlags is None else 2.0 * norm_sf(jnp.abs(tvalues))
    return OLSResult(beta, bse, tvalues, pvalues, nobs, df, r2)
