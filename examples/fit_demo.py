"""The main job (for now): fit a small two-layer network to noisy sin(x) with autograd
and a hand-written SGD update loop — no nn, no optim, just Tensors and ``backward()``.

    python examples/fit_demo.py [--steps 2000]
"""
from __future__ import annotations

import argparse
import math
import time

import ember


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=32)
    args = parser.parse_args()

    ember.manual_seed(0)
    x = ember.linspace(-math.pi, math.pi, 256).unsqueeze(1)          # (256, 1)
    y = ember.sin(x) + 0.05 * ember.randn(x.shape)                     # noisy targets

    # Parameters are plain leaf tensors that require grad; the update loop below
    # changes them in place under no_grad, exactly what an optimizer's step() does.
    w1 = (ember.randn(1, args.hidden) * 1.0).requires_grad_()
    b1 = ember.zeros(args.hidden, requires_grad=True)
    w2 = (ember.randn(args.hidden, 1) / math.sqrt(args.hidden)).requires_grad_()
    b2 = ember.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    start = time.perf_counter()
    for step in range(args.steps + 1):
        pred = ember.tanh(x @ w1 + b1) @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= args.lr * p.grad
        if step % (args.steps // 10 or 1) == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}")
    elapsed = time.perf_counter() - start
    print(f"final mse {loss.item():.5f} (noise floor 0.0025) in {elapsed:.1f}s")
    if loss.item() > 0.02:
        raise SystemExit("fit did not converge")


if __name__ == "__main__":
    main()
