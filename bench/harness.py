"""Time one workload on ember and on PyTorch in the same process, alternating, and report the ratio.

A workload is a function ``make(lib) -> (step, ops)`` where ``lib`` is the ``ember`` or ``torch``
module: it builds its tensors once and returns a zero-argument ``step`` that runs one
iteration, and the number of "ops" one step performs (for per-op figures).
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    ember_s: float
    torch_s: float
    ops: int
    target: float | None

    @property
    def ratio(self) -> float:
        return self.ember_s / self.torch_s


def _time_once(step, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        step()
    return (time.perf_counter() - start) / inner


def _calibrate(step, min_time: float) -> int:
    """How many iterations make one timing sample last at least ``min_time`` seconds."""
    inner = 1
    while True:
        if _time_once(step, inner) * inner >= min_time or inner >= 1 << 16:
            return inner
        inner *= 2


def measure(name: str, make, ember_mod, torch_mod, repeats: int = 15, min_time: float = 0.05,
            target: float | None = None, cooldown: float = 0.25) -> Result:
    """Median time per step of each library, samples interleaved so drift hits both alike.

    NOTE: both libraries keep worker threads that spin for a while after a parallel call
    (OpenBLAS behind NumPy, OpenMP behind PyTorch). Timed back to back, one library's
    spinning threads steal cores from the other's. Each timed block therefore starts after
    a short sleep (the other library's threads go idle) and one untimed warm-up step.
    """
    e_step, ops = make(ember_mod)
    t_step, _ = make(torch_mod)
    for step in (e_step, t_step):  # warm up caches, BLAS threads, allocator
        for _ in range(3):
            step()
    e_inner, t_inner = _calibrate(e_step, min_time), _calibrate(t_step, min_time)
    e_samples, t_samples = [], []
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            for step, inner, samples in ((e_step, e_inner, e_samples), (t_step, t_inner, t_samples)):
                time.sleep(cooldown)
                step()
                gc.collect()
                gc.disable()
                samples.append(_time_once(step, inner))
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return Result(name, statistics.median(e_samples), statistics.median(t_samples), ops, target)


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:9.1f} us"
    return f"{seconds * 1e3:9.2f} ms"


def report(results) -> str:
    lines = [f"{'workload':<10} {'ember':>12} {'pytorch':>12} {'per-op ember':>14} {'per-op torch':>14} "
             f"{'ratio':>7} {'target':>7}"]
    for r in results:
        per_e = _fmt_time(r.ember_s / r.ops) if r.ops > 1 else ""
        per_t = _fmt_time(r.torch_s / r.ops) if r.ops > 1 else ""
        target = f"<={r.target:.2f}" if r.target is not None else ""
        verdict = "" if r.target is None else ("  ok" if r.ratio <= r.target else "  MISSED")
        lines.append(f"{r.name:<10} {_fmt_time(r.ember_s):>12} {_fmt_time(r.torch_s):>12} {per_e:>14} {per_t:>14} "
                     f"{r.ratio:7.2f}x {target:>7}{verdict}")
    return "\n".join(lines)
