"""Automatic differentiation: ``backward``, ``grad``, grad modes, ``Function``, ``gradcheck``."""
from __future__ import annotations

from typing import Sequence

from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled)
from .graph import Node, run_backward
from .function import Function, FunctionCtx, once_differentiable
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled, is_anomaly_check_nan_enabled
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import graph, grad_mode, function, functional, anomaly_mode  # noqa: F401

__all__ = ["backward", "grad", "Function", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "Node",
           "GradcheckError"]


def _tensors(x):
    from .._tensor import Tensor
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grad_outputs, is_grads_batched=False):
    """Default gradients: ones for scalar outputs, PyTorch's error for others."""
    from .._tensor import Tensor, _wrap
    from .._backend import array_module
    result = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if not out._requires_grad:
                raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind not in "fV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{out.dtype}")
            g = _wrap(array_module(out._data).ones(out._data.shape, dtype=out._data.dtype))
        elif not isinstance(g, Tensor):
            g = _wrap(array_module(out._data).full(out._data.shape, g, dtype=out._data.dtype))
        else:
            if g._data.shape != out._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {out.shape}.")
            if g._data.dtype != out._data.dtype:  # PyTorch casts grad_outputs to the output's dtype
                g = g.to(out.dtype)
        result.append(g)
    return result


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the graph's leaves (``torch.autograd.backward``)."""
    outputs = _tensors(tensors)
    grads = _tensors(grad_tensors if grad_tensors is not None else grad_variables)
    if grads is not None and len(grads) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads)
    inputs = _tensors(inputs)
    if inputs is not None:
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        for t in inputs:  # a non-leaf input gets its .grad filled, as PyTorch does via retain_grad
            if t._grad_fn is not None:
                t.retain_grad()
    run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False):
    """Return d(outputs)/d(inputs) without touching ``.grad`` (``torch.autograd.grad``)."""
    from .._tensor import _wrap
    from .._backend import array_module
    outs = _tensors(outputs)
    ins = _tensors(inputs)
    gouts = _tensors(grad_outputs)
    if gouts is not None and len(gouts) != len(outs):
        raise RuntimeError(f"got {len(outs)} tensors and {len(gouts)} gradients")
    if len(ins) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    gouts = _make_grads(outs, gouts)  # first, as in PyTorch: an output's problem is reported before an input's
    for t in ins:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    result = run_backward(outs, gouts, retain_graph, create_graph, inputs=ins, accumulate=False)
    final = []
    for i, (t, g) in enumerate(zip(ins, result)):
        if g is None:
            if materialize_grads:
                g = _wrap(array_module(t._data).zeros_like(t._data))
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph:
            g = g.detach()
        final.append(g)
    return tuple(final)
