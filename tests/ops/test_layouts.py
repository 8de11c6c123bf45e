"""Every op family on non-contiguous inputs — transposed, sliced, expanded — and on size-0 dims,
compared with torch for values, dtypes, shapes and gradients."""
import numpy as np
import pytest

from tests.helpers import check, rand, noncontiguous


def transposed(*shape):
    """The values of a ``shape`` array laid out column-major (a transposed view)."""
    return rand(*reversed(shape)).T


LAYOUTS = {
    "transposed": lambda *shape: transposed(*shape),
    "sliced": lambda *shape: noncontiguous(rand(*shape)),
    "contiguous": lambda *shape: rand(*shape),
}

UNARY = {
    "exp": lambda T, x: x.exp(), "tanh": lambda T, x: x.tanh(), "sigmoid": lambda T, x: x.sigmoid(),
    "relu": lambda T, x: x.relu(), "abs": lambda T, x: x.abs(), "neg": lambda T, x: -x, "pow": lambda T, x: x ** 2,
    "clamp": lambda T, x: x.clamp(-0.5, 0.5), "sum": lambda T, x: x.sum(0), "mean": lambda T, x: x.mean(-1),
    "std": lambda T, x: x.std(0), "prod": lambda T, x: x.prod(1), "amax": lambda T, x: x.amax(0),
    "max dim": lambda T, x: x.max(1), "logsumexp": lambda T, x: x.logsumexp(0), "cumsum": lambda T, x: x.cumsum(1),
    "norm": lambda T, x: x.norm(dim=0), "softmax": lambda T, x: x.softmax(1), "log_softmax": lambda T, x: x.log_softmax(0),
    "sort": lambda T, x: x.sort(1), "tril": lambda T, x: x.tril(), "reshape": lambda T, x: x.reshape(-1),
    "flatten": lambda T, x: x.flatten(), "t": lambda T, x: x.t(), "permute": lambda T, x: x.permute(1, 0),
    "unsqueeze": lambda T, x: x.unsqueeze(1), "repeat": lambda T, x: x.repeat(2, 1),
    "chunk": lambda T, x: x.chunk(2, 1), "cat": lambda T, x: T.cat([x, x], 1), "stack": lambda T, x: T.stack([x, x]),
    "index": lambda T, x: x[[0, 0], 1:], "mask": lambda T, x: x[x > 0], "gather": lambda T, x: x.gather(0, T.zeros(1, 4, dtype=T.int64)),
    "masked_fill": lambda T, x: x.masked_fill(x > 0, 1.0), "clone": lambda T, x: x.clone(), "contiguous": lambda T, x: x.contiguous(),
    "matmul": lambda T, x: x @ x.t(), "mm": lambda T, x: x.t().mm(x), "expand then add": lambda T, x: x[:, :1].expand(3, 4) + x,
    "expand then sum": lambda T, x: x[:1].expand(5, 4).sum(0), "expand then matmul": lambda T, x: x[:1].expand(2, 4) @ x.t(),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("op", list(UNARY))
def test_unary_family_on_layouts(op, layout):
    check(UNARY[op], LAYOUTS[layout](3, 4))


BINARY = {
    "add": lambda T, x, y: x + y, "mul": lambda T, x, y: x * y, "div": lambda T, x, y: x / (y.abs() + 1),
    "maximum": lambda T, x, y: T.maximum(x, y), "where": lambda T, x, y: T.where(x > y, x, y),
    "matmul": lambda T, x, y: x @ y.t(), "bmm-like einsum": lambda T, x, y: T.einsum("ij,kj->ik", x, y),
    "cat": lambda T, x, y: T.cat([x, y]), "lt": lambda T, x, y: x < y,
}


@pytest.mark.parametrize("layouts", [("transposed", "sliced"), ("sliced", "transposed"), ("transposed", "contiguous")])
@pytest.mark.parametrize("op", list(BINARY))
def test_binary_family_on_layouts(op, layouts):
    check(BINARY[op], LAYOUTS[layouts[0]](3, 4), LAYOUTS[layouts[1]](3, 4))


@pytest.mark.parametrize("op", ["exp", "sum", "mean", "amax", "cumsum", "softmax", "sort", "reshape", "cat", "index",
                                "masked_fill", "clone", "matmul", "mm", "t", "repeat", "flatten"])
@pytest.mark.parametrize("layout", ["transposed", "contiguous"])
def test_size_zero_rows(op, layout):
    fn = UNARY[op]
    if op in ("mean", "amax"):  # a reduction over the empty dim is an error; reduce the other one
        fn = {"mean": lambda T, x: x.mean(1), "amax": lambda T, x: x.amax(1)}[op]
    if op == "index":
        fn = lambda T, x: x[:, [0, 0]]  # noqa: E731
    check(fn, LAYOUTS[layout](0, 4))


def test_broadcasting_against_size_zero():
    check(lambda T, x, y: (x + y, x * y, T.maximum(x, y)), rand(0, 4), rand(4))
    check(lambda T, x, y: x @ y, rand(2, 0), rand(0, 3))
