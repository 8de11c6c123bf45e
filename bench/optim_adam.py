"""Adam.step over 200 parameters of mixed sizes (5M float32 elements): ember vs PyTorch.

    python bench/optim_adam.py [--threads N] [--foreach {default,true,false}]

PyTorch's default on CPU tensors is its single-tensor loop; ``--foreach true`` compares with
its multi-tensor (``_foreach_*``) implementation instead. Target: ratio <= 1.0.
"""
from __future__ import annotations

import argparse
import os
import sys

N_PARAMS = 200
N_ELEMENTS = 5_000_000


def _sizes(rng):
    """Mixed sizes (a few large matrices, many small vectors) summing to N_ELEMENTS."""
    weights = rng.pareto(1.0, size=N_PARAMS) + 0.01
    sizes = (weights / weights.sum() * N_ELEMENTS).astype(int) + 1
    sizes[0] += N_ELEMENTS - sizes.sum()
    return [int(s) for s in sizes]


def make_adam(foreach):
    def make(lib):
        import numpy as np
        rng = np.random.default_rng(0)
        params = []
        for size in _sizes(rng):
            p = lib.nn.Parameter(lib.tensor(rng.standard_normal(size).astype(np.float32)))
            p.grad = lib.tensor(rng.standard_normal(size).astype(np.float32))
            params.append(p)
        kwargs = {} if foreach is None or lib.__name__ == "ember" else {"foreach": foreach}
        opt = lib.optim.Adam(params, lr=1e-3, **kwargs)
        return opt.step, 1
    return make


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--foreach", choices=["default", "true", "false"], default="true")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import torch
    import ember
    from bench.harness import measure, report
    torch.set_num_threads(args.threads)
    foreach = {"default": None, "true": True, "false": False}[args.foreach]
    result = measure(f"adam", make_adam(foreach), ember, torch, repeats=args.repeats, target=1.0)
    print(f"Adam.step, {N_PARAMS} params / {N_ELEMENTS / 1e6:.0f}M float32 elements, torch foreach={args.foreach}, "
          f"{args.threads} thread(s)")
    print(report([result]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
