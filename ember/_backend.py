"""The array backend: NumPy on "cpu", CuPy on "cuda".

This is the only module that imports an array library by name. Everything
else asks ``array_module(array)`` (Chainer's ``get_array_module``) so that one
code path serves both devices.
"""
from __future__ import annotations

import numpy as np

try:  # CuPy is an optional extra (``ember[cuda]``).
    import cupy as _cupy  # type: ignore
except Exception:  # noqa: BLE001 - a broken CUDA install must not break ember's import
    _cupy = None

try:  # ml_dtypes provides bfloat16 for NumPy (optional extra).
    import ml_dtypes as _ml_dtypes  # type: ignore
except Exception:  # noqa: BLE001
    _ml_dtypes = None

numpy = np
cupy = _cupy
ml_dtypes = _ml_dtypes


def _keep_freed_host_memory() -> bool:
    """Have glibc keep freed multi-megabyte blocks for reuse instead of unmapping them.

    By default glibc returns every freed block above a few MiB to the OS, so each new array of
    that size is mapped afresh and page-faults on every 4 KiB page it touches: for a training
    step that costs about as much as the work done in the arrays. Blocks up to 32 MiB (glibc's
    largest heap allocation) then come from the heap, and freed memory stays with the process
    for the next step, as PyTorch's caching allocators do. Opt out with EMBER_KEEP_FREED_MEMORY=0.
    Returns whether the setting was applied (glibc only).
    """
    import os
    import sys
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's mallopt parameter numbers
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):  # not glibc (musl, ...): leave the allocator as it is
        return False


host_memory_kept = _keep_freed_host_memory()


def array_module(array):
    """numpy for NumPy arrays (and anything else), cupy for CuPy arrays."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def module_for_device(device_type: str):
    if device_type == "cpu":
        return np
    if device_type == "cuda":
        if _cupy is None:
            raise RuntimeError("ember: the 'cuda' device needs CuPy (pip install 'ember[cuda]')")
        return _cupy
    raise RuntimeError(f"unsupported device type {device_type!r}")


def is_cuda_array(array) -> bool:
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def to_numpy(array) -> np.ndarray:
    """A host NumPy array for ``array`` (a copy only when it lives on a GPU)."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return array


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001
        return False


def _scipy_special(name):
    try:
        import scipy.special as special  # optional: exact erf/erfinv when SciPy is installed
        return getattr(special, name)
    except Exception:  # noqa: BLE001
        return None


_erfinv_scipy = _scipy_special("erfinv")


def _special_function(name: str, doc: str):
    """An elementwise special function: cupyx on CUDA arrays, SciPy when installed, else Python's
    ``math.<name>`` per element (exact, slow)."""
    import math
    scipy_fn = _scipy_special(name)
    scalar_fn = getattr(math, name)

    def fn(a):
        if is_cuda_array(a):
            import cupyx.scipy.special as cs  # type: ignore
            return getattr(cs, name)(a)
        if scipy_fn is not None:
            return scipy_fn(a).astype(a.dtype, copy=False)
        return np.vectorize(scalar_fn, otypes=[np.float64])(a).astype(a.dtype, copy=False)
    fn.__name__, fn.__doc__ = f"special_{name}", doc
    return fn


special_erf = _special_function("erf", "erf elementwise.")
special_erfc = _special_function("erfc", "1 - erf elementwise, accurate in the tails (where 1 - erf(a) rounds to 0).")


def special_erfinv(a):
    """Inverse error function elementwise (Newton's method on erf when SciPy is missing)."""
    if is_cuda_array(a):
        import cupyx.scipy.special as cs  # type: ignore
        return cs.erfinv(a)
    if _erfinv_scipy is not None:
        return _erfinv_scipy(a).astype(a.dtype, copy=False)
    x = np.asarray(a, dtype=np.float64)
    # initial guess (Giles' single-precision approximation), refined by Newton steps on erf
    w = -np.log((1.0 - x) * (1.0 + x))
    y = np.where(w < 5, 0.3 * np.sign(x) * np.sqrt(w), np.sign(x) * np.sqrt(w - 1.0))
    y = np.where(np.abs(x) < 1, y, np.sign(x) * np.inf)
    finite = np.isfinite(y)
    for _ in range(60):
        err = special_erf(np.where(finite, y, 0.0)) - x
        y = np.where(finite, y - err / (2 / np.sqrt(np.pi) * np.exp(-y * y)), y)
    return y.astype(a.dtype, copy=False)
