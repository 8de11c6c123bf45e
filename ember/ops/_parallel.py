"""Memory-bound array passes split over worker threads, as PyTorch's kernels split theirs.

NumPy releases the GIL inside ufunc loops and copies, so a pass over a large array cut into
slices of its first axis runs on every core. BLAS already threads the matrix products; the
passes around them (im2col, col2im, layout changes, ReLU, pooling) would otherwise run on one
core. Small arrays run inline: handing work to a thread costs tens of microseconds.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from .._backend import numpy as _np

_MIN_ELEMENTS = 1 << 19  # below this, the hand-off costs more than the second core saves
_threads = min(4, os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None
splits = 0  # how many passes were cut into slices (a test reads it)


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child inherits the pool object but not its threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def get_threads() -> int:
    return _threads


def set_threads(n: int) -> None:
    """Use ``n`` threads for the split passes (``ember.set_num_threads``)."""
    global _threads, _pool
    n = int(n)
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    if n != _threads:
        _threads, _pool = n, None


def in_chunks(fn, xp, n: int, size: int) -> None:
    """Run ``fn(part)`` for slices ``part`` covering ``range(n)`` (axis 0), on worker threads when
    the arrays are NumPy's and ``size`` elements are at stake; else one call ``fn(slice(None))``."""
    global _pool, splits
    if xp is not _np or _threads < 2 or n < 2 or size < _MIN_ELEMENTS:
        fn(slice(None))
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="ember")
    chunks = min(_threads, n)
    bounds = [n * i // chunks for i in range(chunks + 1)]
    splits += 1
    # the calling thread takes the first slice itself: one hand-off fewer, one thread fewer competing
    futures = [_pool.submit(fn, slice(a, b)) for a, b in zip(bounds[1:-1], bounds[2:])]
    try:
        fn(slice(bounds[0], bounds[1]))
    finally:
        for future in futures:
            future.result()
