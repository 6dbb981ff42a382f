"""Invariants after every message on hypothesis-generated streams."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from quantmarl.book import empty_book
from quantmarl.testing.streams import with_owner
from tests.book.conftest import scan_states
from tests.book.test_cda import _check_invariants
from tests.book.test_differential import streams

PADDED = 120  # one compiled shape for every example: padding rows are invalid (type 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=streams())
def test_invariants_hold_after_every_generated_message(msgs):
    padded = np.zeros((PADDED, 5), np.int64)
    padded[: len(msgs)] = msgs
    books, res = scan_states(empty_book(3), with_owner(padded))
    _check_invariants(books, res, padded)
