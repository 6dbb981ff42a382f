"""The real series a calibration is fitted to: the S&P 500 daily series that the ``arch``
package ships (``sp500``, 1999-2018, close and volume) or a user CSV.

A CSV needs a ``close`` column (positive prices) and may have a ``volume`` column
(non-negative) and a ``date`` column (rows are then sorted by date; otherwise the file
order is time order). Column names are matched case-insensitively. One row is one
market step of the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quantmarl.quant.stylized import MIN_MOMENT_RETURNS

__all__ = ["Target", "load_target", "read_csv_target", "sp500"]


@dataclass(frozen=True)
class Target:
    """A real price series (time order) and its optional volume."""

    name: str
    close: np.ndarray  # float64 [T] prices, > 0
    volume: np.ndarray | None  # float64 [T] or None

    def log_returns(self) -> np.ndarray:
        """float64 [T - 1]."""
        return np.diff(np.log(self.close))


def _checked(name: str, close: np.ndarray, volume: np.ndarray | None) -> Target:
    close = np.asarray(close, np.float64)
    if close.ndim != 1 or close.shape[0] < MIN_MOMENT_RETURNS + 1:
        raise ValueError(f"target {name!r}: close needs >= {MIN_MOMENT_RETURNS + 1} rows, "
                         f"got {close.shape[0] if close.ndim == 1 else close.shape}")
    bad = np.flatnonzero(~(np.isfinite(close) & (close > 0)))
    if bad.size:
        raise ValueError(f"target {name!r}: close must be positive and finite, row {bad[0]} "
                         f"is {close[bad[0]]!r} ({bad.size} bad rows)")
    if volume is not None:
        volume = np.asarray(volume, np.float64)
        bad = np.flatnonzero(~(np.isfinite(volume) & (volume >= 0)))
        if bad.size:
            raise ValueError(f"target {name!r}: volume must be >= 0 and finite, row {bad[0]} "
                             f"is {volume[bad[0]]!r} ({bad.size} bad rows)")
    return Target(name, close, volume)


def sp500() -> Target:
    """The S&P 500 daily close and volume shipped with ``arch`` (``arch.data.sp500``)."""
    from arch.data import sp500 as data  # optional dependency, loaded only when asked for

    frame = data.load().sort_index()
    return _checked("sp500", frame["Close"].to_numpy(), frame["Volume"].to_numpy())


def _numeric(frame: pd.DataFrame, col: str, name: str) -> np.ndarray:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if bad.size:
        raise ValueError(f"target {name!r}: column {col!r} must be numeric, row {bad[0]} is "
                         f"{frame[col].iloc[bad[0]]!r}")
    return values.to_numpy(np.float64)


def read_csv_target(path: str | Path) -> Target:
    """A CSV target (see the module docstring); ``ValueError`` names what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"target file {str(p)!r} does not exist")
    try:
        frame = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"target file {str(p)!r} is not a readable CSV: {err}") from None
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if "close" not in cols:
        raise ValueError(f"target file {str(p)!r} needs a 'close' column, "
                         f"found {list(map(str, frame.columns))}")
    if "date" in cols:
        dates = pd.to_datetime(frame[cols["date"]], errors="coerce")
        bad = np.flatnonzero(dates.isna().to_numpy())
        if bad.size:
            raise ValueError(f"target file {str(p)!r}: column 'date' row {bad[0]} is not a "
                             f"date: {frame[cols['date']].iloc[bad[0]]!r}")
        if dates.duplicated().any():
            raise ValueError(f"target file {str(p)!r}: column 'date' has repeated dates")
        frame = frame.iloc[np.argsort(dates.to_numpy(), kind="stable")]
    close = _numeric(frame, cols["close"], str(p))
    volume = _numeric(frame, cols["volume"], str(p)) if "volume" in cols else None
    return _checked(str(p), close, volume)


def load_target(spec: str) -> Target:
    """``"sp500"`` or the path of a CSV file."""
    return sp500() if spec == "sp500" else read_csv_target(spec)
