"""The benchmark workloads. Each ``make(lib)`` builds tensors with ``lib`` (ember or torch) only."""
from __future__ import annotations


def tiny(lib):
    """100 chained elementwise ops (mul, add, tanh) on (4, 4) tensors that require grad, then backward."""
    lib.manual_seed(0)
    x = lib.randn(4, 4, requires_grad=True)
    w = lib.randn(4, 4, requires_grad=True)
    b = lib.randn(4, 4, requires_grad=True)
    params = (x, w, b)

    def step():
        for p in params:
            p.grad = None
        y = x
        for _ in range(33):  # 33 x (mul, add, tanh) + sum = 100 ops
            y = (y * w + b).tanh()
        y.sum().backward()

    return step, 100


def matmul(lib):
    """Three 512x512 matmuls with relu between them, forward and backward."""
    lib.manual_seed(0)
    x = lib.randn(512, 512)
    ws = [(lib.randn(512, 512) / 512 ** 0.5).requires_grad_() for _ in range(3)]

    def step():
        for w in ws:
            w.grad = None
        h = lib.relu(x @ ws[0])
        h = lib.relu(h @ ws[1])
        out = h @ ws[2]
        out.sum().backward()

    return step, 1


# name -> (make, target ratio ember/PyTorch)
WORKLOADS = {
    "tiny": (tiny, 1.0),
    "matmul": (matmul, 1.0),
}
