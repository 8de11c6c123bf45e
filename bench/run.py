"""Run the benchmarks: ember vs PyTorch side by side, in one process, on the same thread count.

    python bench/run.py                 # every workload
    python bench/run.py tiny matmul     # some
    python bench/run.py --threads 1
    python bench/run.py --own-blas-threads   # ember splits products itself, NumPy's BLAS single-threaded

Prints median time per step for each library and the ratio ember/PyTorch (lower is better).
"""
from __future__ import annotations

import argparse
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="ember vs PyTorch benchmarks")
    parser.add_argument("workloads", nargs="*", help="names (default: all)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--own-blas-threads", action="store_true",
                        help="ember owns the CPU threads: NumPy's BLAS single-threaded, products and "
                             "convolutions split over ember's threads (needs threadpoolctl)")
    args = parser.parse_args(argv)

    # Both libraries get the same number of threads. BLAS reads these at import time,
    # so they are set before NumPy (and with it ember) is imported.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import torch
    import ember
    from ember.ops._parallel import own_blas_threads
    from bench.harness import measure, report
    from bench.workloads import WORKLOADS

    torch.set_num_threads(args.threads)
    ember.set_num_threads(args.threads)
    if args.own_blas_threads and not own_blas_threads(True):
        parser.error("--own-blas-threads needs threadpoolctl (pip install threadpoolctl)")
    names = args.workloads or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    mode = "ember's threads, single-threaded BLAS" if args.own_blas_threads else "BLAS's own threads"
    print(f"ember {ember.__version__} vs torch {torch.__version__}, {args.threads} thread(s), products on {mode}")
    results = []
    for name in names:
        make, target = WORKLOADS[name]
        results.append(measure(name, make, ember, torch, repeats=args.repeats, target=target))
        print(report(results[-1:]).splitlines()[-1] if len(results) > 1 else report(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
