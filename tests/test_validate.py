"""The shared validation helpers: what passes, what fails, and the exact messages."""

import math
import re

import numpy as np
import pytest

from quantmarl._validate import (
    check_bool,
    check_choice,
    check_float,
    check_identifier,
    check_int,
    check_range,
    in_range,
    is_int,
    is_number,
    range_text,
)


def _raises(message: str):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


def test_is_int_and_is_number_refuse_bools():
    assert is_int(3) and is_int(np.int32(3))
    assert not is_int(np.int32(3), allow_numpy=False)
    assert not is_int(True) and not is_int(np.bool_(True)) and not is_int(3.0)
    assert is_number(2.5) and is_number(np.float32(2.5)) and is_number(7)
    assert not is_number(np.float32(1.0), allow_numpy=False)
    assert not is_number(False) and not is_number("1")


def test_range_text():
    assert range_text(1, 8) == "[1, 8]"
    assert range_text(0.0, 1.0, lo_open=True, hi_open=True) == "(0.0, 1.0)"
    assert range_text(-1, None) == "[-1, inf)"
    assert range_text(None, 0, hi_open=True) == "(-inf, 0)"
    assert range_text(1.0, math.inf, fmt="g") == "[1, inf)"


def test_in_range_bounds_and_nan():
    assert in_range(1, 1, 2) and not in_range(1, 1, 2, lo_open=True)
    assert in_range(2, 1, 2) and not in_range(2, 1, 2, hi_open=True)
    assert in_range(-5, None, None)
    assert not in_range(float("nan"), None, None)


def test_check_int_passes_value_through():
    assert check_int("n", 4, 1, 8) == 4
    v = np.int64(4)
    assert check_int("n", v, 1, 8) is v


@pytest.mark.parametrize(
    ("value", "lo", "hi", "kw", "message"),
    [
        (0, 1, 256, {}, "n_assets must be an int in [1, 256], got 0"),
        (True, 1, None, {}, "n_assets must be an int >= 1, got True"),
        (9, None, 8, {}, "n_assets must be an int <= 8, got 9"),
        (1.5, None, None, {}, "n_assets must be an int, got 1.5"),
        (0, 1, 10, {"unit": "steps"}, "n_assets must be an int in [1, 10] steps, got 0"),
        (np.int32(2), 1, 10, {"allow_numpy": False},
         "n_assets must be an int in [1, 10], got np.int32(2)"),
    ],
)
def test_check_int_messages(value, lo, hi, kw, message):
    with _raises(message):
        check_int("n_assets", value, lo, hi, **kw)


def test_check_float_passes_ints_and_numpy():
    assert check_float("x", 1, 0.0, 1.0) == 1
    assert check_float("x", np.float32(0.5), 0.0, 1.0) == np.float32(0.5)
    assert check_float("x", math.inf, 0.0, None, finite=False) == math.inf


@pytest.mark.parametrize(
    ("value", "lo", "hi", "kw", "message"),
    [
        (0.0, 0.0, 1.0, {"lo_open": True}, "spread must be a number in (0.0, 1.0], got 0.0"),
        (1.0, 0.0, 1.0, {"hi_open": True}, "spread must be a number in [0.0, 1.0), got 1.0"),
        (math.nan, 0.0, 1.0, {}, "spread must be a number in [0.0, 1.0], got nan"),
        (math.inf, 0.0, None, {}, "spread must be a number >= 0.0, got inf"),
        (-1.0, 0.0, None, {"lo_open": True}, "spread must be a number > 0.0, got -1.0"),
        (2.0, None, 1.0, {"hi_open": True}, "spread must be a number < 1.0, got 2.0"),
        (False, None, None, {}, "spread must be a number, got False"),
        ("1", None, None, {}, "spread must be a number, got '1'"),
    ],
)
def test_check_float_messages(value, lo, hi, kw, message):
    with _raises(message):
        check_float("spread", value, lo, hi, **kw)


def test_check_range_messages():
    assert check_range("lag", 3, 1, 4096) == 3
    with _raises("lag must be in [1, 4096] steps, got 0"):
        check_range("lag", 0, 1, 4096, unit="steps")
    with _raises("rate must be in (0, inf), got 0"):
        check_range("rate", 0, 0, None, lo_open=True)
    with _raises("p must be in (-inf, 1.0], got 2.0"):
        check_range("p", 2.0, None, 1.0)


def test_check_bool():
    assert check_bool("flag", True) is True
    with _raises("flag must be a bool, got 1"):
        check_bool("flag", 1)
    with _raises("flag must be a bool, got np.True_"):
        check_bool("flag", np.bool_(True))
    assert check_bool("flag", np.bool_(True), allow_numpy=True)


def test_check_choice():
    assert check_choice("clearing", "cda", ("cda", "auction")) == "cda"
    with _raises("clearing must be one of ('cda', 'auction'), got 'x'"):
        check_choice("clearing", "x", ("cda", "auction"))


def test_check_identifier():
    assert check_identifier("name", "trader") == "trader"
    with _raises("name must be an identifier, got '1x'"):
        check_identifier("name", "1x")
    with _raises("name must be an identifier, got 3"):
        check_identifier("name", 3)
