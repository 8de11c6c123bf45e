"""Array work split over ember's worker threads, as PyTorch splits its kernels over its own pool.

NumPy releases the GIL inside ufunc loops, copies and BLAS calls, so a pass over a large array
cut into slices of its first axis runs on every core. Small arrays run inline: handing work to a
thread costs tens of microseconds.

BLAS threads: by default products are one BLAS call each, threaded by BLAS itself. With
``own_blas_threads(True)`` (or EMBER_OWN_BLAS_THREADS=1) ember owns the CPU threads the way
PyTorch owns its intra-op pool: NumPy's BLAS runs single-threaded (through threadpoolctl) and
ember splits large products and convolutions over its own threads. The two cannot be mixed:
BLAS's worker threads busy-wait for ~0.1 s after each threaded product and halve the speed of
ember's threads meanwhile (measured: a cnn training step took 88 ms mixed, 49 ms owned). Which
is faster depends on the workload (2-core AVX-512 machine, ms per step, default -> owned):
cnn training 65 -> 49 (convolutions' skinny products split better by sample blocks), mlp
2.6 -> 3.4 and the gpt step 40 -> 46 (OpenBLAS splits mid-size products better than two
independent half products, and its spinning threads start work with no wake-up latency).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .._backend import numpy as _np

_MIN_ELEMENTS = 1 << 19  # below this, the hand-off costs more than the second core saves
_threads = min(4, os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None
_region = threading.local()  # .active: this thread is running one slice of split work
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
    the arrays are NumPy's and ``size`` elements are at stake; else one call ``fn(slice(None))``.
    Inside work already split over the threads it runs inline (a nested split would wait on itself)."""
    if xp is not _np or _threads < 2 or n < 2 or size < _MIN_ELEMENTS or getattr(_region, "active", False):
        fn(slice(None))
        return
    _run_split(fn, n)


# ------------------------------------------------------------------------------------------
# BLAS threads and split matrix products
# ------------------------------------------------------------------------------------------

_MIN_FLOPS = 1 << 23  # below ~8 MFLOP (tens of microseconds) a product runs as one BLAS call
_blas_saved: list | None = None  # (controller, threads before) while ember owns BLAS's threads


def own_blas_threads(flag: bool) -> bool:
    """Run NumPy's BLAS single-threaded and split products over ember's threads (``flag=True``),
    or give BLAS its own threads back. Needs threadpoolctl; returns whether ember now owns them.

    Process-wide: NumPy code in the same process runs single-threaded BLAS too. Set at import
    by EMBER_OWN_BLAS_THREADS=1.
    """
    global _blas_saved
    if flag and _blas_saved is None:
        try:
            from threadpoolctl import ThreadpoolController
            libs = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # noqa: BLE001 - not installed, or a BLAS it cannot drive
            libs = []
        if libs:
            _blas_saved = [(lib, lib.num_threads) for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
    elif not flag and _blas_saved is not None:
        for lib, n in _blas_saved:
            lib.set_num_threads(n)
        _blas_saved = None
    return _blas_saved is not None


def _splits_products() -> bool:
    return _blas_saved is not None and _threads > 1


if os.environ.get("EMBER_OWN_BLAS_THREADS", "0") == "1":
    own_blas_threads(True)


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="ember")
    return _pool


def _in_region(fn, arg):
    """``fn(arg)`` marked as one slice of split work (see ``in_chunks``)."""
    outer = getattr(_region, "active", False)
    _region.active = True
    try:
        return fn(arg)
    finally:
        _region.active = outer


def _run_parts(fn, bounds) -> list:
    """``[fn(slice(a, b)) for consecutive a, b in bounds]``, one slice per thread, the first on the
    calling thread (one hand-off fewer)."""
    global splits
    pool = _get_pool()
    splits += 1
    futures = [pool.submit(_in_region, fn, slice(a, b)) for a, b in zip(bounds[1:-1], bounds[2:])]
    try:
        first = _in_region(fn, slice(bounds[0], bounds[1]))
    finally:
        rest = [future.result() for future in futures]
    return [first] + rest


def _run_split(fn, n: int) -> None:
    """``fn(part)`` for ``_threads`` slices of ``range(n)``."""
    chunks = min(_threads, n)
    _run_parts(fn, [n * i // chunks for i in range(chunks + 1)])


def in_sample_blocks(make, xp, n: int, block: int):
    """Run a per-thread worker over blocks of at most ``block`` samples covering ``range(n)``.

    ``make()`` is called once per thread and returns ``work(lo, hi)``, which handles samples
    ``lo:hi`` (with its own scratch buffers) and returns a list of partial sums or None. Each
    thread takes a contiguous run of blocks when ember owns BLAS's threads (``own_blas_threads``),
    else the calling thread takes them all, one after the other; the partial sums of all blocks
    are added up and returned. Blocks small enough to stay in the caches make the product that
    follows a copy read it from there. CuPy arrays get one call over all samples.
    """
    if xp is not _np:
        return make()(0, n)
    blocks = -(-n // block)
    workers = min(_threads, blocks) if _splits_products() else 1
    bounds = [blocks * i // workers * block for i in range(workers)] + [n]

    def run(part):
        work, total = make(), None
        for lo in range(part.start, part.stop, block):
            total = _add_partials(total, work(lo, min(lo + block, part.stop)))
        return total

    if workers <= 1:
        return run(slice(0, n))
    total = None
    for res in _run_parts(run, bounds):
        total = _add_partials(total, res)
    return total


def _add_partials(total, res):
    """Add the arrays of ``res`` into those of ``total`` (either list, or an entry, may be None)."""
    if total is None or res is None:
        return res if total is None else total
    for acc, r in zip(total, res):
        if acc is not None:
            acc += r
    return total


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``; a large product of NumPy arrays is split over the threads.

    The split is along the batch axis when there is one to spare, else along the longer side
    of the result; each slice is one single-threaded BLAS call writing its part of ``out``.
    """
    if (_blas_saved is None or _threads < 2 or a.ndim < 2 or b.ndim < 2 or type(a) is not _np.ndarray
            or type(b) is not _np.ndarray or getattr(_region, "active", False)
            or 2 * a.size * b.shape[-1] < _MIN_FLOPS):  # 2*m*k*n*batch: the product's flops
        return _np.matmul(a, b, out=out)
    m, n = a.shape[-2], b.shape[-1]
    if out is None:
        shape = _np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (m, n)
        out = _np.empty(shape, dtype=_np.result_type(a, b))
    if a.ndim > 2 and b.ndim == a.ndim and a.shape[0] == b.shape[0] and a.shape[0] >= _threads:
        def part(s):
            _np.matmul(a[s], b[s], out=out[s])
        count = a.shape[0]
    elif n >= m:
        def part(s):
            _np.matmul(a, b[..., s], out=out[..., s])
        count = n
    else:
        def part(s):
            _np.matmul(a[..., s, :], b, out=out[..., s, :])
        count = m
    _run_split(part, count)
    return out
