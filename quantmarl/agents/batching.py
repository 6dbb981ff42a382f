"""Batching a per-agent rule into a block's act function.

A rule (see :mod:`quantmarl.agents.rules`) decides for one agent; :func:`batch`
vmaps it over a block of ``n`` agents and hands every agent its randomness.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from quantmarl.agents.params import ReactiveParams
from quantmarl.agents.view import MarketView, Orders

__all__ = ["ActFn", "Rule", "batch", "uniforms"]

I64 = jnp.int64
I32 = jnp.int32
F32 = jnp.float32

Rule = Callable[..., tuple[jax.Array, jax.Array, jax.Array, jax.Array]]
ActFn = Callable[..., Orders]

_OUT_DTYPES = (("side", I64), ("price", I64), ("qty", I64), ("asset", I32))


def _check_outputs(name: str, out, n: int) -> None:
    """Trace-time check of a rule's outputs (user rules must not return floats)."""
    if not isinstance(out, tuple | list) or len(out) != 4:
        raise ValueError(f"rule {name!r} must return (side, price, qty, asset)")
    for (field, dtype), x in zip(_OUT_DTYPES, out, strict=True):
        if x.dtype != dtype or x.ndim != 2 or x.shape[0] != n or x.shape[1] not in (1, 2):
            raise ValueError(
                f"rule {name!r}: {field} must be {jnp.dtype(dtype).name} of shape [1] or [2] "
                f"(order slots) per agent, got {x.dtype} {x.shape[1:]}"
            )
    if len({x.shape[1] for x in out}) != 1:
        raise ValueError(f"rule {name!r}: side, price, qty and asset must have one slot count, "
                         f"got {[x.shape[1] for x in out]}")


_U_MIN = 1e-7  # uniforms handed to rules lie in [_U_MIN, 1): never 0, so ndtri(u) is finite


def uniforms(key: jax.Array, n: int, draws: int) -> jax.Array:
    """The draws :func:`batch` gives a block of ``n`` agents: float32 ``[n, draws]`` in (0, 1)."""
    return jax.random.uniform(key, (n, draws), F32, minval=_U_MIN, maxval=1.0)


def batch(rule: Rule, draws: int | None = None) -> ActFn:
    """Per-agent ``rule`` -> jitted batched ``act(key, view, params, inventory, cash) -> Orders``
    (fields ``[n, k]``, ``k`` the rule's slot count).

    ``draws=d``: the rule's first argument is float32 ``[d]`` uniforms, row ``i``
    of :func:`uniforms` ``(key, n, d)``; ``draws=None``: it is the agent's PRNG
    key, ``split(key, n)[i]``. ``params`` fields are ``[n]``, ``inventory``
    int64 ``[n, A]``, ``cash`` int64 ``[n]``; the view is shared.
    """

    name = getattr(rule, "__name__", "rule")
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, int)
                              or draws < 0):
        raise ValueError(f"draws must be an int >= 0 or None, got {draws!r}")

    def act(
        key: jax.Array,
        view: MarketView,
        params: ReactiveParams,
        inventory: jax.Array,
        cash: jax.Array,
    ) -> Orders:
        n = jax.tree.leaves(params)[0].shape[0]
        rand = jax.random.split(key, n) if draws is None else uniforms(key, n, draws)
        out = jax.vmap(rule, in_axes=(0, None, 0, 0, 0))(
            rand, view, params, jnp.asarray(inventory, I64), jnp.asarray(cash, I64)
        )
        _check_outputs(name, out, n)
        return Orders(*out)

    act.__name__ = act.__qualname__ = f"act_{name}"
    act.__doc__ = f"Batched (vmapped, jitted) version of ``{name}``."
    return jax.jit(act)
