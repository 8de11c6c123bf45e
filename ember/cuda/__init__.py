"""``ember.cuda``: device queries for the CuPy-backed "cuda" device."""
from __future__ import annotations

from .._backend import cuda_available, cupy


def is_available() -> bool:
    return cuda_available()


def device_count() -> int:
    if not cuda_available():
        return 0
    return int(cupy.cuda.runtime.getDeviceCount())


def manual_seed(seed: int) -> None:
    if cuda_available():
        cupy.random.seed(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


def synchronize(device=None) -> None:
    if cuda_available():
        cupy.cuda.Device().synchronize()
