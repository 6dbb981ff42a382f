"""Host-side validation of static configs and constructor arguments.

One set of checks for the whole package. Each ``check_*`` returns the value
unchanged when it passes and otherwise raises ``ValueError`` whose message
names the field, the value and what is allowed, in one of these forms::

    n_assets must be an int in [1, 256], got 0
    count must be an int >= 1, got True
    spread must be a number in (0.0, 1.0], got nan
    lag must be in [1, 4096] steps, got 0
    auto_reset must be a bool, got 1
    clearing must be one of ('cda', 'auction'), got 'x'
    name must be an identifier, got '1x'

Bounds are ``None`` for "unbounded"; ``lo_open``/``hi_open`` make a bound
strict. ``bool`` is never an int or a number here (``True`` is refused where an
int is asked for). NumPy scalars count as ints/numbers unless
``allow_numpy=False``; for bools they are refused unless ``allow_numpy=True``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_identifier",
    "check_int",
    "check_range",
    "in_range",
    "is_int",
    "is_number",
    "range_text",
]

T = TypeVar("T")


def is_int(value: Any, *, allow_numpy: bool = True) -> bool:
    """``value`` is an integer scalar (``int``, or ``np.integer`` if allowed), not a bool."""
    kinds = (int, np.integer) if allow_numpy else int
    return isinstance(value, kinds) and not isinstance(value, (bool, np.bool_))


def is_number(value: Any, *, allow_numpy: bool = True) -> bool:
    """``value`` is a real scalar (int or float, NumPy ones if allowed), not a bool."""
    kinds = (int, float, np.integer, np.floating) if allow_numpy else (int, float)
    return isinstance(value, kinds) and not isinstance(value, (bool, np.bool_))


def range_text(
    lo: float | None, hi: float | None, *, lo_open: bool = False, hi_open: bool = False,
    fmt: str = "",
) -> str:
    """Interval text such as ``[1, 8]``, ``(0.0, 1.0)`` or ``[-1, inf)``.

    ``None`` or an infinite bound prints as ``-inf``/``inf`` with an open bracket;
    ``fmt`` is the format spec for the finite bounds (``"g"`` prints ``1.0`` as ``1``).
    """
    lo_inf = lo is None or math.isinf(lo)
    hi_inf = hi is None or math.isinf(hi)
    left = "(" if lo_open or lo_inf else "["
    right = ")" if hi_open or hi_inf else "]"
    lo_s = "-inf" if lo_inf else format(lo, fmt)
    hi_s = "inf" if hi_inf else format(hi, fmt)
    return f"{left}{lo_s}, {hi_s}{right}"


def in_range(
    value: float, lo: float | None, hi: float | None, *, lo_open: bool = False,
    hi_open: bool = False,
) -> bool:
    """``lo <= value <= hi`` (strict where open; ``None`` = unbounded). NaN is never in range."""
    if lo is not None and not (value > lo if lo_open else value >= lo):
        return False
    if hi is not None and not (value < hi if hi_open else value <= hi):
        return False
    return value == value  # NaN fails even with no bounds


def _bound_text(lo: Any, hi: Any, lo_open: bool, hi_open: bool, fmt: str) -> str:
    """``in [lo, hi]`` with both bounds, ``>= lo`` / ``< hi`` with one, ``""`` with none."""
    if lo is not None and hi is not None:
        return " in " + range_text(lo, hi, lo_open=lo_open, hi_open=hi_open, fmt=fmt)
    if lo is not None:
        return f" {'>' if lo_open else '>='} {format(lo, fmt)}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {format(hi, fmt)}"
    return ""


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def check_int(
    name: str, value: T, lo: int | None = None, hi: int | None = None, *,
    unit: str = "", allow_numpy: bool = True,
) -> T:
    """An int (not a bool) with ``lo <= value <= hi``.

    Message: ``{name} must be an int in [lo, hi][ unit], got {value!r}``
    (``an int >= lo`` / ``an int <= hi`` with one bound, ``an int`` with none).
    """
    if not is_int(value, allow_numpy=allow_numpy) or not in_range(value, lo, hi):
        raise ValueError(
            f"{name} must be an int{_bound_text(lo, hi, False, False, '')}{_unit(unit)}, "
            f"got {value!r}"
        )
    return value


def check_float(
    name: str, value: T, lo: float | None = None, hi: float | None = None, *,
    lo_open: bool = False, hi_open: bool = False, finite: bool = True, unit: str = "",
    allow_numpy: bool = True,
) -> T:
    """A real number (int or float, not a bool) in the interval ``lo..hi``.

    ``finite`` also refuses NaN and +-inf (NaN is always refused). Message:
    ``{name} must be a number in (lo, hi][ unit], got {value!r}`` (``a number > lo`` /
    ``a number <= hi`` with one bound, ``a number`` with none).
    """
    ok = is_number(value, allow_numpy=allow_numpy)
    ok = ok and in_range(value, lo, hi, lo_open=lo_open, hi_open=hi_open)
    ok = ok and (not finite or math.isfinite(value))
    if not ok:
        raise ValueError(
            f"{name} must be a number{_bound_text(lo, hi, lo_open, hi_open, '')}"
            f"{_unit(unit)}, got {value!r}"
        )
    return value


def check_range(
    name: str, value: T, lo: float | None = None, hi: float | None = None, *,
    lo_open: bool = False, hi_open: bool = False, unit: str = "", fmt: str = "",
) -> T:
    """``lo <= value <= hi`` for a value whose type is already known (no type check).

    Message: ``{name} must be in [lo, hi][ unit], got {value!r}`` (``None`` bounds print
    as ``-inf``/``inf``).
    """
    if not in_range(value, lo, hi, lo_open=lo_open, hi_open=hi_open):
        text = range_text(lo, hi, lo_open=lo_open, hi_open=hi_open, fmt=fmt)
        raise ValueError(f"{name} must be in {text}{_unit(unit)}, got {value!r}")
    return value


def check_bool(name: str, value: T, *, allow_numpy: bool = False) -> T:
    """A ``bool`` (``np.bool_`` too if ``allow_numpy``).

    Message: ``{name} must be a bool, got {value!r}``.
    """
    kinds = (bool, np.bool_) if allow_numpy else bool
    if not isinstance(value, kinds):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return value


def check_choice(name: str, value: T, allowed: Collection[Any]) -> T:
    """One of ``allowed``. Message: ``{name} must be one of {allowed!r}, got {value!r}``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed!r}, got {value!r}")
    return value


def check_identifier(name: str, value: T) -> T:
    """A ``str`` that is a Python identifier. Message: ``{name} must be an identifier, got ...``."""
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"{name} must be an identifier, got {value!r}")
    return value
