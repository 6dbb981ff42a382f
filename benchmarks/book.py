"""Order-book throughput: the JAX CDA kernel (one book, 1024 books), the pure-Python
reference book on the same stream, the batch auction, and memory per book.

Run ``python -m benchmarks.book [--quick]``; prints JSON lines
``{"name", "value", "unit"}``. The order stream has limit orders within ~10
ticks of a drifting mid, ~20% cancels/deletes and ~5% market orders
(:func:`quantmarl.testing.streams.order_stream`); every book is warmed to its
steady depth with the first part of its stream before timing starts.
Compile time is reported separately and excluded from throughput.

One book is sequential work, so the single-book figures (JAX and the
pure-Python reference alike) run in a child process pinned to one core:
unpinned, the OS migrates the compiled loop between cores and the figure
swings by 2-3x from run to run on a small VM.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.book_auction import auction_benchmark
from benchmarks.common import compile_seconds, emit, machine, median_seconds, record
from quantmarl import runtime
from quantmarl.book import book_nbytes, empty_book, empty_fill_log, process, process_logged
from quantmarl.testing.refbook import RefBook
from quantmarl.testing.streams import order_stream, with_owner


def single_book(n: int, warm: int, capacity: int = 256, repeats: int = 3) -> list[dict]:
    """One book, ``lax.scan`` over ``n`` messages, fills recorded; and the Python reference."""
    stream = order_stream(warm + n, seed=0, capacity=capacity)
    msgs = jnp.asarray(with_owner(stream))
    book, _ = process(empty_book(capacity), msgs[:warm])
    timed = msgs[warm:]
    log = empty_fill_log(2 * n + 2 * capacity)
    compile_s = compile_seconds(process_logged, book, log, timed)
    seconds = median_seconds(lambda: process_logged(book, log, timed), repeats)
    plain = median_seconds(lambda: process(book, timed), repeats)

    ref_times = []
    for _ in range(repeats):
        ref = RefBook(capacity)
        for row in stream[:warm].tolist():
            ref.process(*row)
        rows = stream[warm:].tolist()
        t0 = time.perf_counter()
        for row in rows:
            ref.process(*row)
        ref_times.append(time.perf_counter() - t0)
    ref_rate = n / float(np.median(ref_times))
    rate = n / seconds
    return [
        record("cda_single_msgs_per_s", rate, "msgs/s"),
        record("cda_single_nolog_msgs_per_s", n / plain, "msgs/s"),
        record("cda_single_compile_s", compile_s, "s"),
        record("python_ref_msgs_per_s", ref_rate, "msgs/s"),
        record("cda_single_vs_python_ref", rate / ref_rate, "ratio"),
    ]


def vmapped_books(
    capacity: int, books: int, n: int, warm: int, distinct: int, repeats: int = 3
) -> list[dict]:
    """``books`` books of ``capacity`` slots, each scanning ``n`` messages, under ``vmap``."""
    streams = np.stack([
        with_owner(order_stream(warm + n, seed=s, capacity=capacity)) for s in range(distinct)
    ])
    msgs = jnp.asarray(np.tile(streams, (books // distinct, 1, 1)))
    run = jax.jit(jax.vmap(process))
    start = jax.vmap(lambda _: empty_book(capacity))(jnp.arange(books))
    warmed, _ = run(start, msgs[:, :warm])
    timed = msgs[:, warm:]
    compile_s = compile_seconds(run, warmed, timed)
    seconds = median_seconds(lambda: run(warmed, timed), repeats)
    return [
        record(f"cda_vmapped_msgs_per_s_cap{capacity}", books * n / seconds, "book-msgs/s"),
        record(f"cda_vmapped_compile_s_cap{capacity}", compile_s, "s"),
    ]


def _pinned_single_book(n: int) -> list[dict]:
    """Run :func:`single_book` in a child process pinned to one core."""
    cmd = [sys.executable, "-m", "benchmarks.book", "--single", str(n)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller streams (smoke test)")
    parser.add_argument("--books", type=int, default=1024, help="books in the vmapped runs")
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    runtime.configure()  # before any computation
    if args.single:
        if hasattr(os, "sched_setaffinity"):  # before JAX starts its threads
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        emit(single_book(args.single, warm=5_000))
        return
    n_single = 20_000 if args.quick else 100_000
    n_vmap = 200 if args.quick else 1_000
    emit([machine()])
    emit(_pinned_single_book(n_single))
    for cap in (64, 256):
        emit(vmapped_books(cap, args.books, n_vmap, warm=500, distinct=64))
    emit(auction_benchmark(100_000, repeats=5 if args.quick else 20)[:1])
    emit([record("book_bytes_per_book", book_nbytes(empty_book(256)), "bytes")])


if __name__ == "__main__":
    main()
