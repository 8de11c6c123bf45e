"""Every differentiable op, forward and backward side by side, grouped by family."""
from . import elementwise, reduce, shape, index, linalg, nn, sort, norm, conv, pool, rnn, attention  # noqa: F401

ALL_MODULES = (elementwise, reduce, shape, index, linalg, nn, sort, norm, conv, pool, rnn, attention)
