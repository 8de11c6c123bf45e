"""One helper runs the same lambda on ember and on PyTorch and compares values and gradients.

    check(lambda T, x, y: T.add(x, y), rand(2, 3), rand(3))

``T`` is the library module (``ember`` or ``torch``); each positional array becomes a tensor
in both (float inputs require grad). Outputs are compared for shape, dtype and values; then
the same random weights are backpropagated through both and every input's ``.grad`` compared.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1234)


def rand(*shape, dtype=np.float64, low=-2.0, high=2.0):
    """Random array; ints in [low, high)."""
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(int(low), int(high), size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return RNG.random(shape) < 0.5
    return RNG.uniform(low, high, size=shape).astype(dtype)


def noncontiguous(arr: np.ndarray) -> np.ndarray:
    """The same values in a non-contiguous (every-other-element) view."""
    if arr.ndim == 0:
        return arr
    big = np.zeros(arr.shape[:-1] + (arr.shape[-1] * 2,), dtype=arr.dtype)
    big[..., ::2] = arr
    view = big[..., ::2]
    assert not view.flags.c_contiguous or arr.shape[-1] <= 1
    return view


def _to_torch_dtype(name: str):
    return getattr(torch, name)


def dtype_name(dt) -> str:
    return str(dt).split(".")[-1]


def _make_pair(x, requires_grad):
    if isinstance(x, np.ndarray):
        rg = requires_grad and x.dtype.kind == "f"
        e = ember.from_numpy(x.copy() if not x.flags.c_contiguous and False else x)
        e = e.detach()
        e.requires_grad_(rg)
        t = torch.from_numpy(np.ascontiguousarray(x) if x.strides and any(s < 0 for s in x.strides) else x)
        t = t.detach().requires_grad_(rg)
        return e, t
    return x, x


def _flatten(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def assert_same(e, t, atol=1e-6, rtol=1e-5, check_dtype=True):
    """Compare one ember result with one PyTorch result."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"expected a Tensor, got {type(e)}"
        assert tuple(e.shape) == tuple(t.shape), f"shape {tuple(e.shape)} != torch {tuple(t.shape)}"
        if check_dtype:
            assert dtype_name(e.dtype) == dtype_name(t.dtype), f"dtype {e.dtype} != torch {t.dtype}"
        ev = e.detach().float().numpy() if e.dtype is ember.bfloat16 else e.detach().numpy()
        tv = t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()
        np.testing.assert_allclose(ev, tv, atol=atol, rtol=rtol, equal_nan=True)
    else:
        if isinstance(t, float):
            assert e == pytest.approx(t, rel=rtol, abs=atol, nan_ok=True)
        else:
            assert e == t


def check(fn, *inputs, atol=1e-6, rtol=1e-5, grad=True, check_dtype=True, grad_atol=None):
    """Run ``fn(lib, *tensors)`` on ember and torch; compare outputs and input gradients."""
    pairs = [_make_pair(x, grad) for x in inputs]
    e_in = [p[0] for p in pairs]
    t_in = [p[1] for p in pairs]
    e_out = fn(ember, *e_in)
    t_out = fn(torch, *t_in)
    e_flat, t_flat = _flatten(e_out), _flatten(t_out)
    assert len(e_flat) == len(t_flat)
    for e, t in zip(e_flat, t_flat):
        assert_same(e, t, atol=atol, rtol=rtol, check_dtype=check_dtype)
    if not grad:
        return e_out
    diff = [(e, t) for e, t in zip(e_flat, t_flat)
            if isinstance(t, torch.Tensor) and t.requires_grad and t.numel() > 0]
    if not diff:
        return e_out
    e_loss, t_loss = None, None
    for e, t in diff:
        w = RNG.standard_normal(tuple(t.shape))
        ew = ember.tensor(w, dtype=e.dtype)
        tw = torch.tensor(w, dtype=t.dtype)
        el, tl = (e * ew).sum(), (t * tw).sum()
        e_loss = el if e_loss is None else e_loss + el
        t_loss = tl if t_loss is None else t_loss + tl
    e_loss.backward()
    t_loss.backward()
    gatol = atol if grad_atol is None else grad_atol
    for e, t in zip(e_in, t_in):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert e.grad is None or not np.any(e.grad.numpy()), "ember has a gradient where torch has none"
                continue
            assert e.grad is not None, "missing gradient"
            assert_same(e.grad, t.grad, atol=gatol, rtol=rtol)
    return e_out


def gradcheck(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3, gradgrad=False):
    """ember.autograd.gradcheck of ``fn(*tensors)`` on float64 copies of ``arrays``."""
    tensors = [ember.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
               if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays]
    assert ember.autograd.gradcheck(fn, tuple(tensors), eps=eps, atol=atol, rtol=rtol)
    if gradgrad:
        assert ember.autograd.gradgradcheck(fn, tuple(tensors), eps=eps, atol=atol, rtol=rtol)
