"""Stylized facts of a live simulation beside a real series, for the analysis page.

``compare_facts(sim, window)`` takes the close and volume of the last ``window`` kept
steps and returns each moment of :func:`quantmarl.quant.stylized.side_by_side` (real
vs simulated), the ACF of returns and of absolute returns (lags 1-20) and histograms of
standardised returns, for the simulation and for the S&P 500 daily series 1999-2018
that the ``arch`` package ships (``arch.data.sp500``; install ``arch`` for it).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from quantmarl.quant import stylized
from quantmarl.serve.simulation import Simulation, SimulationError

LAGS = 20
BINS = np.linspace(-6.0, 6.0, 49)  # standardised returns, in standard deviations
MIN_STEPS = stylized.MIN_MOMENT_RETURNS + 1


@functools.lru_cache(maxsize=1)
def sp500() -> tuple[np.ndarray, np.ndarray]:
    """(close, volume) of the S&P 500 daily series in ``arch.data.sp500``."""
    try:
        from arch.data import sp500 as data
    except ImportError:
        raise SimulationError("compare", "the real series needs the arch package (pip install "
                              "'quantmarl[calibrate]')", status=409) from None
    frame = data.load()
    return frame["Close"].to_numpy(np.float64), frame["Volume"].to_numpy(np.float64)


def _clean(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _shape(prices: np.ndarray) -> dict:
    r = np.diff(np.log(prices))
    z = (r - r.mean()) / max(r.std(), 1e-12)
    hist, _ = np.histogram(np.clip(z, BINS[0], BINS[-1]), BINS, density=True)
    return {"acf": [_clean(x) for x in np.asarray(stylized.acf(r, LAGS))[1:]],
            "acf_abs": [_clean(x) for x in np.asarray(stylized.acf_abs(r, LAGS))[1:]],
            "density": [_clean(x) if x > 0 else None for x in hist], "returns": int(r.size)}


def compare_facts(sim: Simulation, window: int | None = None, asset: int = 0) -> dict:
    """The simulation's stylized facts over the window beside the S&P 500's."""
    recs = list(sim.records)[-(window or len(sim.records)):]
    if len(recs) < MIN_STEPS:
        raise SimulationError("window", f"the facts need at least {MIN_STEPS} kept steps, "
                              f"the window has {len(recs)}; step the market further", 409)
    if not 0 <= asset < sim.market_config.n_assets:
        raise SimulationError("asset", f"asset must be in [0, {sim.market_config.n_assets - 1}]")
    close = np.asarray([r.close[asset] for _, r, *_ in recs], np.float64)
    volume = np.asarray([r.volume[asset] for _, r, *_ in recs], np.float64)
    real_close, real_volume = sp500()
    moments = stylized.side_by_side(close[None], real_close, volume[None], real_volume)
    return {"steps": len(recs), "asset": asset, "real": "S&P 500 daily 1999-2018",
            "moments": [{"name": m.name, "meaning": m.meaning, "real": _clean(m.real),
                         "simulated": _clean(m.sim_median)} for m in moments],
            "bins": BINS.tolist(), "simulated": _shape(close), "sp500": _shape(real_close)}
