"""Shared helpers for book tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from quantmarl.book import apply_message, empty_book
from quantmarl.book.fills import pack_result, unpack_result


def rows(*msgs) -> jnp.ndarray:
    """(type, id, side, price, qty[, owner]) tuples -> int64 [n, 6] kernel rows."""
    out = np.array([tuple(m) + (-1,) * (6 - len(m)) for m in msgs], np.int64)
    return jnp.asarray(out)


@jax.jit
def scan_states(book, messages):
    """Apply messages one by one, returning every intermediate book and result."""

    def body(b, m):
        nb, res, _ = apply_message(b, m)
        return nb, (nb, pack_result(res))

    _, (books, packed) = lax.scan(body, book, messages)
    return books, unpack_result(packed)


def book_at(books, i):
    return jax.tree.map(lambda x: x[i], books)


__all__ = ["rows", "scan_states", "book_at", "empty_book"]
