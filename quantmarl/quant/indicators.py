"""Technical indicators following TA-Lib's value and warm-up conventions.

Every function takes 1-D float arrays of length ``T`` and returns arrays of
length ``T`` with NaN during warm-up (``vmap`` for seeds/agents/assets).
Window lengths (``n``, ``fast``, ...) are static Python ints. Window sums are
computed directly (``n`` shifted slices summed, then a second pass around the
window mean for standard deviations), never as differences of a cumulative
sum, so there is no cancellation error on long, drifting series. Recursive
filters (EMA, Wilder smoothing) use :func:`jax.lax.scan`.

Sources: TA-Lib 0.6 C sources (``ta_SMA.c``, ``ta_EMA.c``, ``ta_RSI.c``,
``ta_MACD.c``, ``ta_BBANDS.c``, ``ta_ATR.c``, ``ta_TRANGE.c``) with the default
(zero) unstable periods and default compatibility; Wilder (1978) for RSI/ATR.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import Array, lax

from quantmarl._validate import check_int
from quantmarl.quant._cast import as_float

__all__ = [
    "sma",
    "ema",
    "rsi",
    "macd",
    "bollinger",
    "atr",
    "true_range",
    "vwap",
    "rolling_volatility",
    "rolling_sum",
    "rolling_std",
]

_TA_EPS = 1e-8  # TA-Lib's TA_IS_ZERO threshold


def _check_n(n: int, name: str = "n") -> int:
    return check_int(name, n, 1, allow_numpy=False)


def _pad_front(valid: Array, length: int) -> Array:
    """Prepend NaN so that ``valid`` ends at index ``length - 1``."""
    pad = length - valid.shape[-1]
    return jnp.concatenate([jnp.full((pad,), jnp.nan, valid.dtype), valid])


def _window_sum_valid(x: Array, n: int) -> Array:
    """Sums of the ``T - n + 1`` full windows (exact sliding slices, no cumsum)."""
    m = x.shape[-1] - n + 1

    def body(k, acc):
        return acc + lax.dynamic_slice_in_dim(x, k, m)

    return lax.fori_loop(0, n, body, jnp.zeros((m,), x.dtype))


def _window_var_valid(x: Array, n: int, ddof: int) -> tuple[Array, Array]:
    """Window means and variances (two-pass around each window's own mean)."""
    m = x.shape[-1] - n + 1
    mean = _window_sum_valid(x, n) / n

    def body(k, acc):
        d = lax.dynamic_slice_in_dim(x, k, m) - mean
        return acc + d * d

    ss = lax.fori_loop(0, n, body, jnp.zeros((m,), x.dtype))
    return mean, ss / (n - ddof)


@partial(jax.jit, static_argnames="n")
def rolling_sum(x: Array, n: int) -> Array:
    """Trailing ``n``-sum; ``out[t] = sum(x[t-n+1..t])``, NaN for ``t < n-1``. Shape [T]."""
    x = as_float(x)
    _check_n(n)
    if x.shape[-1] < n:
        return jnp.full(x.shape, jnp.nan, x.dtype)
    return _pad_front(_window_sum_valid(x, n), x.shape[-1])


@partial(jax.jit, static_argnames=("n", "ddof"))
def rolling_std(x: Array, n: int, ddof: int = 0) -> Array:
    """Trailing ``n``-window standard deviation with ``ddof``; NaN warm-up. Shape [T]."""
    x = as_float(x)
    _check_n(n)
    if x.shape[-1] < n or n - ddof < 1:
        return jnp.full(x.shape, jnp.nan, x.dtype)
    _, var = _window_var_valid(x, n, ddof)
    return _pad_front(jnp.sqrt(var), x.shape[-1])


@partial(jax.jit, static_argnames="n")
def sma(x: Array, n: int) -> Array:
    """Simple moving average (TA-Lib ``SMA``): first value at index ``n-1``. Shape [T]."""
    return rolling_sum(x, n) / n


def _ema_from(x: Array, n: int, start: int, k: float) -> Array:
    """EMA seeded at index ``start`` with the SMA of ``x[start-n+1..start]``."""
    T = x.shape[-1]
    if T <= start:
        return jnp.full((T,), jnp.nan, x.dtype)
    seed = jnp.sum(x[start - n + 1 : start + 1]) / n

    def step(prev, xt):
        nxt = (xt - prev) * k + prev  # TA-Lib's operation order
        return nxt, nxt

    _, rest = lax.scan(step, seed, x[start + 1 :])
    valid = jnp.concatenate([seed[None], rest])
    return _pad_front(valid, T)


@partial(jax.jit, static_argnames="n")
def ema(x: Array, n: int) -> Array:
    """Exponential moving average (TA-Lib ``EMA``), ``k = 2/(n+1)``.

    Seeded at index ``n-1`` by the SMA of the first ``n`` values; then
    ``e_t = e_{t-1} + k (x_t - e_{t-1})``. Shape [T].
    """
    x = as_float(x)
    _check_n(n)
    return _ema_from(x, n, n - 1, 2.0 / (n + 1))


def _wilder_scan(seed: Array, incoming: Array, n: int) -> Array:
    """Wilder smoothing ``s_t = (s_{t-1} (n-1) + v_t) / n``; output starts with ``seed``."""

    def step(prev, v):
        nxt = (prev * (n - 1) + v) / n
        return nxt, nxt

    _, rest = lax.scan(step, seed, incoming)
    return jnp.concatenate([seed[None], rest])


@partial(jax.jit, static_argnames="n")
def rsi(x: Array, n: int = 14) -> Array:
    """Relative strength index (Wilder 1978; TA-Lib ``RSI``), in [0, 100].

    First value at index ``n``: average gain/loss over the first ``n`` changes,
    then Wilder smoothing. ``RSI = 100 G / (G + L)`` (0 when ``G + L`` is below
    TA-Lib's 1e-8 zero threshold). Shape [T].
    """
    x = as_float(x)
    _check_n(n)
    T = x.shape[-1]
    if T <= n:
        return jnp.full((T,), jnp.nan, x.dtype)
    d = jnp.diff(x)
    gain = jnp.where(d > 0, d, 0.0)
    loss = jnp.where(d < 0, -d, 0.0)
    seed = jnp.stack([jnp.sum(gain[:n]) / n, jnp.sum(loss[:n]) / n])
    incoming = jnp.stack([gain[n:], loss[n:]], axis=-1)
    gl = _wilder_scan(seed, incoming, n)  # [T-n, 2]
    tot = gl[:, 0] + gl[:, 1]
    safe = jnp.where(jnp.abs(tot) < _TA_EPS, 1.0, tot)
    out = jnp.where(jnp.abs(tot) < _TA_EPS, 0.0, 100.0 * (gl[:, 0] / safe))
    return _pad_front(out, T)


@partial(jax.jit, static_argnames=("fast", "slow", "signal"))
def macd(
    x: Array, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[Array, Array, Array]:
    """MACD line, signal line and histogram (TA-Lib ``MACD``). Each shape [T].

    TA-Lib convention: periods are swapped if ``slow < fast``; both EMAs are
    seeded at the same index ``slow - 1`` (the fast EMA by the SMA of the
    ``fast`` values ending there, *not* at index ``fast - 1``); the signal is
    an EMA(``signal``) of the MACD line seeded by its first ``signal`` values;
    all three outputs are NaN before index ``slow + signal - 2``.
    """
    x = as_float(x)
    for v, nm in ((fast, "fast"), (slow, "slow"), (signal, "signal")):
        _check_n(v, nm)
    if slow < fast:
        fast, slow = slow, fast
    T = x.shape[-1]
    start = slow - 1
    first = slow + signal - 2
    if T <= first:
        nan = jnp.full((T,), jnp.nan, x.dtype)
        return nan, nan, nan
    e_slow = _ema_from(x, slow, start, 2.0 / (slow + 1))
    e_fast = _ema_from(x, fast, start, 2.0 / (fast + 1))
    line = (e_fast - e_slow)[start:]
    sig = _ema_from(line, signal, signal - 1, 2.0 / (signal + 1))
    line = _pad_front(line[signal - 1 :], T)
    sig = _pad_front(sig[signal - 1 :], T)
    return line, sig, line - sig


@partial(jax.jit, static_argnames="n")
def bollinger(x: Array, n: int = 20, k: float = 2.0) -> tuple[Array, Array, Array]:
    """Bollinger bands (TA-Lib ``BBANDS`` with SMA, ``nbdevup = nbdevdn = k``).

    ``middle = SMA_n``, ``upper/lower = middle +/- k * sigma_n`` with the
    population (``ddof=0``) window standard deviation. Returns
    ``(upper, middle, lower)``, each shape [T], NaN before index ``n-1``.
    """
    x = as_float(x)
    _check_n(n)
    T = x.shape[-1]
    if T < n:
        nan = jnp.full((T,), jnp.nan, x.dtype)
        return nan, nan, nan
    mean, var = _window_var_valid(x, n, 0)
    sd = jnp.sqrt(var)
    mid = _pad_front(mean, T)
    sd = _pad_front(sd, T)
    return mid + k * sd, mid, mid - k * sd


@jax.jit
def true_range(high: Array, low: Array, close: Array) -> Array:
    """True range (TA-Lib ``TRANGE``): ``max(h-l, |h-c_{t-1}|, |l-c_{t-1}|)``; NaN at 0."""
    high, low, close = as_float(high), as_float(low), as_float(close)
    prev = close[:-1]
    h, lo = high[1:], low[1:]
    tr = jnp.maximum(h - lo, jnp.maximum(jnp.abs(h - prev), jnp.abs(lo - prev)))
    return _pad_front(tr, high.shape[-1])


@partial(jax.jit, static_argnames="n")
def atr(high: Array, low: Array, close: Array, n: int = 14) -> Array:
    """Average true range (Wilder 1978; TA-Lib ``ATR``). Shape [T].

    First value at index ``n``: mean of the true ranges at ``1..n``; then
    ``ATR_t = (ATR_{t-1} (n-1) + TR_t) / n``. For ``n == 1`` equals ``TRANGE``.
    """
    _check_n(n)
    tr = true_range(high, low, close)
    T = tr.shape[-1]
    if n == 1:
        return tr
    if T <= n:
        return jnp.full((T,), jnp.nan, tr.dtype)
    seed = jnp.sum(tr[1 : n + 1]) / n
    return _pad_front(_wilder_scan(seed, tr[n + 1 :], n), T)


@jax.jit
def vwap(price: Array, volume: Array) -> Array:
    """Cumulative volume-weighted average price ``sum(p v) / sum(v)`` to each t.

    NaN while cumulative volume is zero. Shapes [T] -> [T].
    """
    price, volume = as_float(price), as_float(volume)
    cv = jnp.cumsum(volume)
    cpv = jnp.cumsum(price * volume)
    return jnp.where(cv > 0, cpv / jnp.where(cv > 0, cv, 1.0), jnp.nan)


@partial(jax.jit, static_argnames=("n", "ddof", "periods_per_year"))
def rolling_volatility(
    returns: Array, n: int, ddof: int = 1, periods_per_year: int | None = None
) -> Array:
    """Trailing ``n``-window standard deviation of returns (sample, ``ddof=1``).

    Multiplied by ``sqrt(periods_per_year)`` when given (annualised). NaN
    before index ``n-1``. Matches ``pandas.Series.rolling(n).std()``. Shape [T].
    """
    out = rolling_std(returns, n, ddof)
    if periods_per_year is not None:
        out = out * jnp.sqrt(float(periods_per_year))
    return out
