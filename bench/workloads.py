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


def _copy_weights(lib, model, seed):
    """Give ember's and PyTorch's copies of a model the same weights (from NumPy)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.from_numpy(rng.uniform(-0.05, 0.05, tuple(p.shape)).astype(np.float32)))


def _batch(lib, shape, classes, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = lib.from_numpy(rng.standard_normal(shape).astype(np.float32))
    y = lib.from_numpy(rng.integers(0, classes, size=shape[0]).astype(np.int64))
    return x, y


def _mlp_model(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    _copy_weights(lib, model, 1)
    return model, _batch(lib, (128, 784), 10)


def _cnn_model(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))
    _copy_weights(lib, model, 2)
    return model, _batch(lib, (64, 1, 28, 28), 10)


def _training_step(lib, model, batch, optimizer=None):
    """zero_grad, forward, CrossEntropyLoss, backward (and optimizer.step() when given)."""
    loss_fn = lib.nn.CrossEntropyLoss()
    x, y = batch

    def step():
        if optimizer is None:
            model.zero_grad(set_to_none=True)
        else:
            optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        if optimizer is not None:
            optimizer.step()

    return step, 1


def mlp(lib):
    """784-512-512-10 MLP with ReLU, batch 128, CrossEntropyLoss: forward + backward."""
    model, batch = _mlp_model(lib)
    return _training_step(lib, model, batch)


def cnn(lib):
    """Conv2d(1,32,3)-ReLU-Conv2d(32,64,3)-ReLU-MaxPool2d(2)-Flatten-Linear(9216,128)-ReLU-Linear(128,10),
    batch 64 of 1x28x28, CrossEntropyLoss: forward + backward."""
    model, batch = _cnn_model(lib)
    return _training_step(lib, model, batch)


def mlp_train(lib):
    """The mlp workload as a full training step with Adam (lr 1e-3)."""
    model, batch = _mlp_model(lib)
    return _training_step(lib, model, batch, lib.optim.Adam(model.parameters(), lr=1e-3))


def cnn_train(lib):
    """The cnn workload as a full training step with SGD (lr 0.01, momentum 0.9)."""
    model, batch = _cnn_model(lib)
    return _training_step(lib, model, batch, lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


def _adam_sizes(rng, n_params=200, n_elements=5_000_000):
    """Mixed sizes (a few large matrices, many small vectors) summing to ``n_elements``."""
    weights = rng.pareto(1.0, size=n_params) + 0.01
    sizes = (weights / weights.sum() * n_elements).astype(int) + 1
    sizes[0] += n_elements - sizes.sum()
    return [int(s) for s in sizes]


def _adam(foreach):
    def make(lib):
        """Adam.step over 200 parameters of mixed sizes (5M float32 elements)."""
        import numpy as np
        rng = np.random.default_rng(0)
        params = []
        for size in _adam_sizes(rng):
            p = lib.nn.Parameter(lib.tensor(rng.standard_normal(size).astype(np.float32)))
            p.grad = lib.tensor(rng.standard_normal(size).astype(np.float32))
            params.append(p)
        kwargs = {"foreach": foreach} if foreach is not None and lib.__name__ == "torch" else {}
        return lib.optim.Adam(params, lr=1e-3, **kwargs).step, 1
    return make


# name -> (make, target ratio ember/PyTorch)
WORKLOADS = {
    "tiny": (tiny, 1.0),
    "matmul": (matmul, 1.0),
    "mlp": (mlp, 1.0),
    "cnn": (cnn, 1.5),
    "mlp_train": (mlp_train, 1.0),
    "cnn_train": (cnn_train, 1.5),
    # PyTorch's default Adam on CPU tensors is its single-tensor loop; optim_foreach compares with
    # its multi-tensor (_foreach_*) implementation, for reference.
    "optim": (_adam(None), 1.0),
    "optim_foreach": (_adam(True), None),
}
