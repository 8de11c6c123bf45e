"""ember: PyTorch's programming model — Tensor, autograd, nn, optim — on NumPy and CuPy.

``import ember as torch`` and a PyTorch program runs with the same semantics.
"""
from __future__ import annotations

__version__ = "0.1.0"

import warnings as _warnings

# PyTorch does not warn on overflow/invalid/divide-by-zero in float math; NumPy does. Silence
# those warnings where ember's own modules call NumPy, instead of an np.errstate per op.
_warnings.filterwarnings("ignore", message=r"(overflow|invalid value|divide by zero|underflow) encountered",
                         category=RuntimeWarning, module=r"ember\.")

from . import _dtype
from ._dtype import (dtype, float16, half, bfloat16, float32, float, float64, double, int8, int16, short, int32,
                     int, int64, long, uint8, bool, get_default_dtype, set_default_dtype, promote_types, can_cast,
                     finfo, iinfo)
from ._device import device
from ._tensor import Tensor, Size
from . import autograd
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from .autograd.grad_mode import is_inference_mode_enabled
from .autograd.anomaly_mode import set_detect_anomaly, detect_anomaly, is_anomaly_enabled
from ._factory import (tensor, as_tensor, asarray, from_numpy, zeros, ones, empty, full, zeros_like, ones_like,
                       empty_like, full_like, eye, arange, linspace, logspace, is_tensor, numel)
from ._factory import range_ as range  # noqa: A001 - torch.range, deprecated but public
from .random import (Generator, default_generator, manual_seed, seed, initial_seed, get_rng_state,
                     set_rng_state, rand, randn, randint, randperm, rand_like, randn_like, randint_like, normal,
                     bernoulli, multinomial, poisson)
from . import ops
from .ops.elementwise import *  # noqa: F401,F403
from .ops.reduce import *  # noqa: F401,F403
from .ops.shape import *  # noqa: F401,F403
from .ops.index import *  # noqa: F401,F403
from .ops.linalg import *  # noqa: F401,F403
from .ops.nn import *  # noqa: F401,F403
from .ops.sort import *  # noqa: F401,F403
from .ops.norm import *  # noqa: F401,F403
from .ops.conv import *  # noqa: F401,F403
from ._tensor_str import set_printoptions, get_printoptions, printoptions  # noqa: F401
from . import nn  # noqa: E402
from . import optim  # noqa: E402
from .nn.parameter import Parameter as _Parameter  # noqa: F401
from . import cuda  # noqa: E402
from .serialization import save, load  # noqa: E402
from . import utils  # noqa: E402,F401


class layout:
    """Tensor layouts; ember has only ``strided``."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return "ember." + self.name


strided = layout("strided")


class memory_format:
    """Memory layouts a copy may ask for (``torch.memory_format``); ember's tensors are strided
    NumPy arrays, so only ``contiguous_format`` and the default ``preserve_format`` change anything."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return "ember." + self.name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")


def _bind():
    from ._tensor import _bind_methods, Tensor as _T
    from . import random as _random
    _bind_methods()
    for _name, _fn in _random.TENSOR_METHODS.items():
        setattr(_T, _name, _fn)


_bind()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype an arithmetic op on these operands returns (``torch.result_type``)."""
    from .ops._util import result_dtype
    return result_dtype(tensor1, tensor2)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_nonzero(input: Tensor) -> bool:
    return input.__bool__()


import builtins as _builtins  # noqa: E402
builtins_bool = _builtins.bool


def get_num_threads() -> int:
    """Threads ember's own array passes use (``torch.get_num_threads``); BLAS follows OMP_NUM_THREADS."""
    from .ops._parallel import get_threads
    return get_threads()


def set_num_threads(n: int) -> None:
    """Threads for ember's own array passes (``torch.set_num_threads``); BLAS threads are set by the
    environment (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS) before NumPy loads."""
    from .ops._parallel import set_threads
    set_threads(n)
