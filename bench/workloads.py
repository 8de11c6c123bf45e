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


def _gpt_model(lib, vocab: int, block: int, n_embd: int, n_head: int, n_layer: int):
    """A minGPT-style decoder (pre-norm blocks, causal self-attention, GELU MLP) built from ``lib.nn``."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            self.ln_2 = nn.LayerNorm(n_embd)
            self.c_fc = nn.Linear(n_embd, 4 * n_embd)
            self.mlp_proj = nn.Linear(4 * n_embd, n_embd)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(n_embd, dim=2)
            q, k, v = (z.view(b, t, n_head, c // n_head).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, n_embd)
            self.wpe = nn.Embedding(block, n_embd)
            self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)

        def forward(self, idx):
            pos = lib.arange(idx.shape[1])
            x = self.blocks(self.wte(idx) + self.wpe(pos))
            return self.lm_head(self.ln_f(x))

    return GPT()


def gpt(lib):
    """Char-level GPT: 2 layers, 4 heads, n_embd 128, block 64, vocab 256, batch 16; AdamW training step."""
    import numpy as np
    vocab, block, batch = 256, 64, 16
    model = _gpt_model(lib, vocab, block, n_embd=128, n_head=4, n_layer=2)
    _copy_weights(lib, model, 3)
    rng = np.random.default_rng(0)
    idx = lib.from_numpy(rng.integers(0, vocab, size=(batch, block + 1)).astype(np.int64))
    x, y = idx[:, :-1], idx[:, 1:]
    optimizer = lib.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    loss_fn = lib.nn.functional.cross_entropy

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss_fn(logits.view(-1, vocab), y.reshape(-1)).backward()
        optimizer.step()

    return step, 1


def lstm(lib):
    """LSTM(64, 256), sequence 32, batch 32 (batch_first), a Linear(256, 10) head on the last step,
    CrossEntropyLoss; forward + backward + Adam step."""
    nn = lib.nn
    lstm_layer = nn.LSTM(64, 256, batch_first=True)
    head = nn.Linear(256, 10)
    model = nn.ModuleDict({"lstm": lstm_layer, "head": head})
    _copy_weights(lib, model, 4)
    x, y = _batch(lib, (32, 32, 64), 10)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        out, _ = lstm_layer(x)
        loss_fn(head(out[:, -1]), y).backward()
        optimizer.step()

    return step, 1


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
    "gpt": (gpt, 1.2),
    "lstm": (lstm, 1.5),
}
