"""The realism targets as soft constraints of the calibration's search.

The SMM distance pulls a candidate toward the real series' moments; a candidate can be
close on average and still fail a stylised fact that the market must show
(:data:`experiments.realism.TARGETS`). :func:`penalty` adds, for each required fact, the
squared shortfall beyond its target in units of the fact's tolerance::

    penalty = sum over facts f of (max(lo_f - x_f, x_f - hi_f, 0) / tol_f)^2

with ``x_f`` the candidate's median over its common seeds, except the linear
autocorrelations, which are taken per lag first (:func:`pooled_acf`, as the realism
check does: the maximum over nine lags per seed would put a noise floor near the target
under every candidate). The bounds carry a margin inside the targets (:data:`MARGIN`
tolerances), so the search prefers candidates that pass with room to spare on fresh
seeds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.calibration.objective import MOMENT_NAMES
from quantmarl.quant.stylized import acf

__all__ = ["CONSTRAINTS", "MARGIN", "Constraint", "penalty", "pooled_acf"]

MARGIN = 1.0  # tolerances of room asked inside each target

# (fact, lower bound or None, upper bound or None, tolerance): the required facts of
# experiments.realism.TARGETS; "acf_1" and "acf_2_10" are the per-lag medians
Constraint = tuple[str, float | None, float | None, float]
CONSTRAINTS: tuple[Constraint, ...] = (
    ("kurtosis_1", 3.0, None, 1.0),
    ("kurtosis_gap", 0.0, None, 1.0),  # kurtosis_1 - kurtosis_20 (aggregational Gaussianity)
    ("acf_1", -0.1, 0.1, 0.02),
    ("acf_2_10", None, 0.05, 0.01),
    ("acf_abs_1", 0.1, None, 0.02),
    ("acf_abs_20", 0.05, None, 0.02),
    ("hill", 2.0, 5.0, 0.5),
    ("volume_corr", 0.1, None, 0.02),
    ("zero_share", None, 0.05, 0.015),  # CDA mode has more zero returns than the auction
)


@jax.jit
def pooled_acf(close: jax.Array) -> jax.Array:
    """float [..., 11]: the median over seeds and assets of ACF(r) at lags 0-10 of the
    close series ``close`` int64 [..., S, T, A]."""
    s, t, a = close.shape[-3:]
    x = jnp.moveaxis(close, -1, -2).reshape((-1, s * a, t)).astype(jnp.float64)
    r = jnp.diff(jnp.log(x), axis=-1)
    rho = jax.vmap(jax.vmap(lambda ri: acf(ri, 10)))(r)
    return jnp.median(rho, axis=-2).reshape((*close.shape[:-3], 11))


def _facts(mid: np.ndarray, rho: np.ndarray) -> dict[str, np.ndarray]:
    """{fact: float64 [P]} from median moments ``mid`` [P, M] and pooled ACFs [P, 11]."""
    m = {name: mid[:, i] for i, name in enumerate(MOMENT_NAMES)}
    return {"kurtosis_1": m["kurtosis_1"], "kurtosis_gap": m["kurtosis_1"] - m["kurtosis_20"],
            "acf_1": rho[:, 1], "acf_2_10": np.max(np.abs(rho[:, 2:]), axis=1),
            "acf_abs_1": m["acf_abs_1"], "acf_abs_20": m["acf_abs_20"], "hill": m["hill"],
            "volume_corr": m["volume_corr"], "zero_share": m["zero_share"]}


def penalty(sim: np.ndarray, rho: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """float64 [P]: the constraint penalty of candidates with moments ``sim`` [P, N, M]
    (N series) and pooled ACFs ``rho`` [P, 11]; a fact the candidate lacks (NaN, e.g.
    volume_corr without volume) is not counted; a non-finite total is ``inf``."""
    mid = np.median(np.asarray(sim, np.float64), axis=-2)
    facts = _facts(mid, np.asarray(rho, np.float64))
    total = np.zeros(mid.shape[0])
    for name, lo, hi, tol in CONSTRAINTS:
        x = facts[name]
        short = np.zeros_like(x)
        if lo is not None:
            short = np.maximum(short, lo + margin * tol - x)
        if hi is not None:
            short = np.maximum(short, x - (hi - margin * tol))
        total += np.where(np.isnan(x), 0.0, (short / tol) ** 2)
    return np.where(np.isfinite(total), total, np.inf)
