"""Random numbers: ``Generator``, ``manual_seed`` and the sampling functions.

Streams come from NumPy's PCG64 (CuPy's generator on the GPU); seeding makes
runs reproducible within ember, but the numbers differ from PyTorch's
Mersenne-Twister streams.
"""
from __future__ import annotations

import builtins
import json

import numpy as np

from . import _dtype as D
from ._backend import module_for_device, to_numpy
from ._device import to_device, CPU
from ._tensor import Tensor, _wrap

_DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed


class Generator:
    """A random stream (``torch.Generator``): ``manual_seed``, ``seed``, ``get_state``/``set_state``."""

    def __init__(self, device="cpu"):
        self.device = to_device(device)
        self._seed = _DEFAULT_SEED
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF  # PyTorch accepts negative seeds, mapped to uint64
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        state = json.dumps({"seed": self._seed, "bitgen": self._rng.bit_generator.state}).encode()
        return _wrap(np.frombuffer(state, dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> "Generator":
        state = json.loads(to_numpy(new_state._data).tobytes().decode())
        self._seed = state["seed"]
        self._rng.bit_generator.state = state["bitgen"]
        return self

    def _xp_rng(self, device):
        """The stream to draw from for a tensor on ``device``."""
        if device is None or device.type == "cpu":
            return self._rng
        cp = module_for_device("cuda")
        return _cuda_rng(cp, self._seed)


_CUDA_RNGS: dict = {}


def _cuda_rng(cp, seed):
    rng = _CUDA_RNGS.get(seed)
    if rng is None:
        rng = _CUDA_RNGS[seed] = cp.random.default_rng(seed)
    return rng


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and CUDA's), as ``torch.manual_seed``."""
    _CUDA_RNGS.clear()
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


def _gen(generator):
    return default_generator if generator is None else generator


def _size(size):
    from ._factory import _size_args
    return _size_args(size)


def _float_dtype(dtype, kernel="check_uniform_bounds"):
    dt = D._default_dtype if dtype is None else D.to_dtype(dtype)
    if not dt.is_floating_point:
        from .ops._util import _scalar_type_name
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_type_name(dt.np)}'")
    return dt


def _draw_float(rng, kind, shape, dt):
    """Sample in float32/float64 natively and cast for half types."""
    native = dt.np if dt in (D.float32, D.float64) else np.float32
    if kind == "uniform":
        arr = rng.random(shape, dtype=native)
    else:
        arr = rng.standard_normal(shape, dtype=native)
    return arr.astype(dt.np, copy=False)


def _finish(arr, dev, requires_grad):
    from ._factory import _on_device
    t = _wrap(_on_device(arr, dev) if dev is not None and dev.type != "cpu" else arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1) (``torch.rand``)."""
    dt = _float_dtype(dtype)
    dev = to_device(device) if device is not None else None
    return _finish(_draw_float(_gen(generator)._rng, "uniform", _size(size), dt), dev, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples (``torch.randn``)."""
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = to_device(device) if device is not None else None
    return _finish(_draw_float(_gen(generator)._rng, "normal", _size(size), dt), dev, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers uniform on [low, high) (``torch.randint(high, size)`` or ``(low, high, size)``)."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if high is None:  # randint(high, size=...)
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = D.int64 if dtype is None else D.to_dtype(dtype)
    _check_random_bounds(low, high, dt)
    arr = _gen(generator)._rng.integers(low, high, size=tuple(size), dtype=np.int64).astype(dt.np)
    return _finish(arr, to_device(device) if device is not None else None, requires_grad)


def _check_random_bounds(low, high, dt) -> None:
    """PyTorch's check that [low, high) fits the dtype (floats: the range where every integer is exact)."""
    if dt is D.bool:
        lo, hi = 0, 1
    elif dt._category == 1:
        lo, hi = int(np.iinfo(dt.np).min), int(np.iinfo(dt.np).max)
    else:
        digits = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}[dt.name]
        lo, hi = -2 ** digits, 2 ** digits
    from ._tensor import _CPP_TYPE_NAMES
    if not lo <= low <= hi:
        raise RuntimeError(f"from is out of bounds for {_CPP_TYPE_NAMES[dt.name]}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {_CPP_TYPE_NAMES[dt.name]}")


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dt = D.int64 if dtype is None else D.to_dtype(dtype)
    arr = _gen(generator)._rng.permutation(n).astype(dt.np)
    return _finish(arr, to_device(device) if device is not None else None, requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Normal samples with tensor or scalar ``mean``/``std`` (``torch.normal``)."""
    rng = _gen(generator)._rng
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(s, np.ndarray) and (s < 0).any() or (not isinstance(s, np.ndarray) and s < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            from .ops.elementwise import _raise_broadcast_error
            _raise_broadcast_error(_wrap(np.empty(np.shape(m))), _wrap(np.empty(np.shape(s))))
            raise
        like = mean if isinstance(mean, Tensor) else std
        dt = like.dtype
        arr = (m + s * rng.standard_normal(shape)).astype(dt.np)
        return _wrap(arr)
    if size is None:
        raise TypeError("normal() missing required argument 'size'")
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    arr = (mean + std * _draw_float(rng, "normal", tuple(size), D.float64)).astype(dt.np)
    return _finish(arr, to_device(device) if device is not None else None, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """1 with probability ``input`` (or ``p``) elementwise, in ``input``'s dtype."""
    if p is None and input._data.dtype.kind not in "fV":
        from .ops._util import _scalar_type_name
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                  f"'{_scalar_type_name(input._data.dtype)}'")
    probs = input._data if p is None else np.full(input.shape, p)
    probs_np = to_numpy(probs)
    if ((probs_np < 0) | (probs_np > 1)).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                           "message be improved?  If so, please report an enhancement request to PyTorch.)")
    arr = (_gen(generator)._rng.random(probs_np.shape) < probs_np).astype(input._data.dtype)
    return _finish(arr, input.device if input.is_cuda else None, False)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None, out=None) -> Tensor:
    """Draw ``num_samples`` category indices per row with probabilities proportional to ``input``."""
    w = to_numpy(input._data).astype(np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if (w < 0).any() or not np.isfinite(w).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rng = _gen(generator)._rng
    out_rows = []
    for row in rows:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            out_rows.append(rng.choice(row.size, size=num_samples, replace=True, p=row / total))
        else:
            # Gumbel top-k: sampling without replacement in one vectorised step
            with np.errstate(divide="ignore"):
                keys = np.where(row > 0, np.log(row) - np.log(-np.log(rng.random(row.size))), -np.inf)
            out_rows.append(np.argsort(-keys, kind="stable")[:num_samples])
    arr = np.stack(out_rows).astype(np.int64) if out_rows else np.empty((0, num_samples), np.int64)
    if w.ndim == 1:
        arr = arr[0]
    return _finish(arr, input.device if input.is_cuda else None, False)


def poisson(input, generator=None) -> Tensor:
    arr = _gen(generator)._rng.poisson(to_numpy(input._data)).astype(input._data.dtype)
    return _wrap(arr)


# -- in-place samplers (used by nn.init); they write under the hood without recording ---------------

def _fill_inplace(t, arr):
    from .ops._util import check_inplace_leaf
    from .autograd.grad_mode import _GradState
    if t._requires_grad and t._grad_fn is None and _GradState.enabled:
        check_inplace_leaf(t)
    from ._factory import _on_device
    t._data[...] = _on_device(arr, t.device) if t.is_cuda else arr
    t._vbox[0] += 1
    return t


def _native_dtype(t):
    return D.float64 if t.dtype is D.float64 else D.float32


def _require_float(t, kernel: str) -> None:
    """PyTorch has no integer or bool kernel for the continuous samplers."""
    if not t.dtype.is_floating_point:
        from .ops._util import _scalar_type_name
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_type_name(t._data.dtype)}'")


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
    _require_float(self, "check_uniform_bounds")
    arr = _draw_float(_gen(generator)._rng, "uniform", self.shape, _native_dtype(self))
    return _fill_inplace(self, (a + (b - a) * arr).astype(self._data.dtype))


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
    _require_float(self, "normal_kernel_cpu")
    arr = _draw_float(_gen(generator)._rng, "normal", self.shape, _native_dtype(self))
    return _fill_inplace(self, (mean + std * arr).astype(self._data.dtype))


def bernoulli_(self, p=0.5, *, generator=None):
    probs = to_numpy(p._data) if isinstance(p, Tensor) else p
    arr = _gen(generator)._rng.random(self.shape) < probs
    return _fill_inplace(self, arr.astype(self._data.dtype))


def random_(self, from_=0, to=None, *, generator=None):
    if to is None:
        from_, to = 0, (from_ if from_ else (2 ** 24 if self.is_floating_point() else np.iinfo(self._data.dtype).max))
    arr = _gen(generator)._rng.integers(from_, to, size=self.shape)
    return _fill_inplace(self, arr.astype(self._data.dtype))


def exponential_(self, lambd: float = 1.0, *, generator=None):
    arr = _gen(generator)._rng.exponential(1.0 / lambd, size=self.shape)
    return _fill_inplace(self, arr.astype(self._data.dtype))


def geometric_(self, p: float, *, generator=None):
    return _fill_inplace(self, _gen(generator)._rng.geometric(p, size=self.shape).astype(self._data.dtype))


def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None):
    _require_float(self, "log_normal_cpu")
    return _fill_inplace(self, _gen(generator)._rng.lognormal(mean, std, size=self.shape).astype(self._data.dtype))


def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None):
    arr = median + sigma * _gen(generator)._rng.standard_cauchy(size=self.shape)
    return _fill_inplace(self, arr.astype(self._data.dtype))


TENSOR_METHODS = {
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_, "cauchy_": cauchy_,
    "bernoulli": lambda self, p=None, *, generator=None: bernoulli(self, p, generator=generator),
    "multinomial": lambda self, num_samples, replacement=False, *, generator=None:
        multinomial(self, num_samples, replacement, generator=generator),
}
