"""XLA specifics in one place: the CPU fusion-emitter default and a fusion barrier.

quantmarl's work is many mid-sized XLA programs (a market step, a PPO update)
compiled once and run many times. On CPU, XLA's newer fusion emitters roughly
double the memory a compile needs without running these programs faster; with
the classic emitters (measured on 2 CPU cores, jax 0.10.2, 100k-agent market
step) peak RSS falls from about 850 MB to about 470 MB, compiles are about 20%
faster, and run speed is the same within noise (``benchmarks/market.py``).

:func:`apply` appends ``--xla_cpu_use_fusion_emitters=false`` to ``XLA_FLAGS``
when quantmarl is imported, which takes effect if no JAX computation has run
yet in the process (XLA reads the variable when its CPU backend starts). It
does nothing when ``XLA_FLAGS`` already names the option, when
``QUANTMARL_XLA_DEFAULTS=0``, or for jaxlib older than 0.10 (where the option
may not exist: XLA aborts on unknown flags). GPUs are not affected.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

OPTION = "xla_cpu_use_fusion_emitters"
FLAG = f"--{OPTION}=false"
MIN_JAXLIB = (0, 10)


def _jaxlib_version() -> tuple[int, ...]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        parts = version("jaxlib").split(".")[:2]
        return tuple(int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts)
    except PackageNotFoundError:
        return (0, 0)


def apply() -> bool:
    """Add :data:`FLAG` to ``XLA_FLAGS`` (see the module docstring); True if added."""
    flags = os.environ.get("XLA_FLAGS", "")
    if os.environ.get("QUANTMARL_XLA_DEFAULTS", "1") == "0" or OPTION in flags:
        return False
    if _jaxlib_version() < MIN_JAXLIB:
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}".strip()
    return True


def fusion_barrier(tree: Any, word: Any) -> Any:
    """Return ``tree`` unchanged, computed once at this point of the program.

    XLA fuses cheap elementwise producers into each of their consumers and
    recomputes them there; a reactive rule whose outputs feed several
    consumers (pre-trade checks, the order layout, accounting) then runs
    several times over. XLA does not fuse across a conditional (on CPU,
    ``lax.optimization_barrier`` is gone before fusion runs), so ``tree``
    passes through a ``lax.cond`` whose predicate is always true but that XLA
    cannot fold: ``(word | 1) != 0`` for an integer scalar ``word`` (any traced
    value; e.g. a word of the step's key). The other branch, never taken,
    returns zeros. Under ``vmap`` the barrier stays one conditional over the
    whole batch (a custom batching rule; a plain cond with a batched predicate
    would become a select and no longer be a barrier).

    Measured on 2 CPU cores (``benchmarks/market.py``, 100k agents): 7.9M ->
    11.2M agent-steps/s.
    """
    import jax.numpy as jnp

    word = jnp.ravel(jnp.asarray(word))[0]
    if not jnp.issubdtype(word.dtype, jnp.integer):
        raise ValueError(f"word must be an integer scalar, got {word.dtype}")
    return _barrier()(tree, word)


@cache
def _barrier():
    import jax
    import jax.numpy as jnp

    def cond(tree, word):
        return jax.lax.cond((word | 1) != 0, lambda t: t,
                            lambda t: jax.tree.map(jnp.zeros_like, t), tree)

    @jax.custom_batching.custom_vmap
    def barrier(tree, word):
        return cond(tree, word)

    @barrier.def_vmap
    def _batched(axis_size, in_batched, tree, word):  # noqa: ARG001
        tree_batched, word_batched = in_batched
        scalar = word[0] if word_batched else word  # any one word: the predicate is always true
        return barrier(tree, scalar), tree_batched

    return barrier
