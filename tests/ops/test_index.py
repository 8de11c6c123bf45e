import numpy as np
import pytest

import ember
from tests.helpers import check, rand, noncontiguous, gradcheck

# ---------------------------------------------------------------------------------------------
# __getitem__
# ---------------------------------------------------------------------------------------------

BASIC_KEYS = [
    0, -1, 2, slice(1, 3), slice(None, None, 2), slice(-3, None), slice(5, 1), (0, 1), (slice(None), 1),
    (Ellipsis, 0), (None,), (slice(None), None), (1, None), (Ellipsis, None), (None, Ellipsis, None, 0),
    (slice(0, 0),), Ellipsis, (0, slice(None), 2), (slice(None, None, -1),), (slice(3, 0, -2), 1),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=str)
def test_getitem_basic(key):
    # PyTorch rejects negative steps (NumPy would reverse): the same ValueError, reading and writing.
    if any(isinstance(k, slice) and (k.step or 1) < 0 for k in (key if isinstance(key, tuple) else (key,))):
        from tests.helpers import torch
        x = rand(4, 5, 3)
        for lib in (torch, ember):
            with pytest.raises(ValueError, match="step must be greater than zero"):
                lib.tensor(x)[key]
            with pytest.raises(ValueError, match="step must be greater than zero"):
                lib.tensor(x)[key] = 0.0
        return
    check(lambda T, x: x[key], rand(4, 5, 3))


@pytest.mark.parametrize("key", [0, slice(1, 3), (slice(None), 1), (1, None), Ellipsis],
                         ids=str)
def test_getitem_noncontiguous(key):
    check(lambda T, x: x[key], noncontiguous(rand(3, 4)))


ADV_KEYS = [
    lambda T: T.tensor([0, 2]),
    lambda T: [0, 2, 0],
    lambda T: [],
    lambda T: (slice(None), T.tensor([1, 1, 0])),
    lambda T: (T.tensor([0, 1]), T.tensor([2, 0])),
    lambda T: (T.tensor([[0], [1]]), slice(None), T.tensor([0, 2, 1])),       # separated: dims go first
    lambda T: (0, slice(None), T.tensor([0, 2, 2])),                          # int applied first (PyTorch)
    lambda T: (T.tensor([1, 0]), 1),
    lambda T: (Ellipsis, T.tensor([2, 0])),
    lambda T: (None, T.tensor([1, 1])),
    lambda T: T.tensor(1),                                                     # 0-d tensor acts as an int
    lambda T: (T.tensor([0, 1], dtype=T.int32), slice(1, None)),
    lambda T: np.array([2, 0]),
    lambda T: True,
    lambda T: False,
    lambda T: (T.tensor([[0, 1], [1, 0]]),),
    lambda T: [[0, 1], [1, 0]],                                                # legacy: treated as a tuple
]


@pytest.mark.parametrize("i", range(len(ADV_KEYS)))
def test_getitem_advanced(i):
    check(lambda T, x: x[ADV_KEYS[i](T)], rand(3, 4, 3))


@pytest.mark.parametrize("mask_shape,prefix", [((3,), ()), ((3, 4), ()), ((4,), (slice(None),)),
                                               ((4, 3), (0,)), ((3,), (Ellipsis,))])
def test_getitem_mask(mask_shape, prefix):
    m = rand(*mask_shape, dtype=bool)
    check(lambda T, x, mm: x[prefix + (mm,)], rand(3, 4, 3), m)


def test_getitem_mask_uint8_and_bool_tensor():
    m = rand(3, dtype=bool)
    check(lambda T, x: x[T.tensor(m)], rand(3, 2))
    check(lambda T, x: x[T.tensor(True)], rand(3, 2))


def test_getitem_grad_fn_names():
    x = ember.randn(4, 5, requires_grad=True)
    assert x[0].grad_fn.name() == "SelectBackward0"
    assert x[1:3].grad_fn.name() == "SliceBackward0"
    assert x[:, None].grad_fn.name() == "UnsqueezeBackward0"
    assert x[...].grad_fn.name() == "AliasBackward0"
    assert x[ember.tensor([0, 1])].grad_fn.name() == "IndexBackward0"
    assert x[x > 0].grad_fn.name() == "IndexBackward0"
    assert x[ember.tensor(1)].grad_fn.name() == "SelectBackward0"


def test_getitem_repeated_index_grad_accumulates():
    check(lambda T, x: x[T.tensor([0, 0, 2, 0])], rand(3, 2))
    check(lambda T, x: x[T.tensor([[1, 1], [1, 0]]), T.tensor([0, 0])], rand(2, 3))
    x = ember.zeros(3, requires_grad=True)
    x[ember.tensor([1, 1, 1, 2])].sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 1.0]


def test_getitem_gradcheck():
    gradcheck(lambda x: x[1:, ember.tensor([0, 2, 0])] * 2, rand(3, 4), gradgrad=True)
    gradcheck(lambda x: x[0, ::2], rand(3, 4), gradgrad=True)
    gradcheck(lambda x: x[x.detach() > 0], rand(3, 4), gradgrad=True)


def test_getitem_views_share_storage():
    x = ember.zeros(3, 4)
    v = x[1]
    v[2] = 5.0
    assert x[1, 2].item() == 5.0
    s = x[:, 1:3]
    s.fill_(7.0)
    assert x.numpy()[:, 1:3].tolist() == [[7.0, 7.0]] * 3
    assert v._version == x._version
    a = x[ember.tensor([0, 1])]
    a.fill_(-1.0)
    assert x[0, 0].item() == 0.0  # an advanced index copies: the base is unchanged


def test_view_inplace_bumps_base_version_for_saved_tensors():
    w = ember.randn(3, 4, requires_grad=True)
    y = w * 1.0
    z = y * y                     # saves y
    y[0].mul_(2.0)                # in-place through a view of y
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_getitem_errors():
    x = ember.zeros(2, 3, 4)
    with pytest.raises(IndexError, match=r"^index 5 is out of bounds for dimension 0 with size 2$"):
        x[5]
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 1 with size 3"):
        x[:, 7]
    with pytest.raises(IndexError, match="index -9 is out of bounds for dimension 2 with size 4"):
        x[:, :, -9]
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 3"):
        x[:, [7]]
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 2 with size 4"):
        x[[0], [1], [9]]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 3"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match=r"The shape of the mask \[3\] at index 0 does not match the shape of "
                                         r"the indexed tensor \[2, 3, 4\] at index 0"):
        x[ember.ones(3, dtype=ember.bool)]
    with pytest.raises(IndexError, match=r"The shape of the mask \[2, 4\] at index 0 does not match the shape "
                                         r"of the indexed tensor \[2, 3, 4\] at index 1"):
        x[:, ember.ones(2, 4, dtype=ember.bool)]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x[ember.tensor([1.0])]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x[ember.tensor([1], dtype=ember.int16)]
    with pytest.raises(IndexError, match=r"only integers, slices \(`:`\), ellipsis"):
        x[1.5]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match=r"shape mismatch: indexing tensors could not be broadcast together "
                                         r"with shapes \[2\], \[3\]"):
        x[ember.tensor([0, 1]), ember.tensor([0, 1, 2])]
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        ember.tensor(1.0)[0]


# ---------------------------------------------------------------------------------------------
# __setitem__
# ---------------------------------------------------------------------------------------------

SET_CASES = [
    (0, (4,)), (0, ()), ((slice(1, 3), 1), (2,)), ((slice(None), slice(None, None, 2)), (3, 2)),
    ((Ellipsis, 0), (3,)), ((0,), (1, 1, 4)), (1, (1, 4)),
    ([0, 2], (2, 4)), ([0, 2], (4,)), ((slice(None), [1, 3]), (3, 2)), ((0, [0, 3]), ()),
    (([1, 2], [0, 3]), (2,)),
]


@pytest.mark.parametrize("key,vshape", SET_CASES, ids=str)
def test_setitem_tensor_value_grads(key, vshape):
    def fn(T, x, v):
        y = x * 1.0
        y[key] = v
        return y * 2.0
    check(fn, rand(3, 4), rand(*vshape))


def test_setitem_mask_and_scalars():
    m = rand(3, 4, dtype=bool)

    def fn(T, x, v, mm):
        y = x.clone()
        y[mm] = 2.5
        y[0] = v
        y[:, 1] = 3
        return y
    check(fn, rand(3, 4), rand(4), m)

    def fn2(T, x, v, mm):
        y = x.clone()
        y[mm] = v           # 0-d value broadcast over the masked elements
        return y
    check(fn2, rand(3, 4), rand(), m)


def test_setitem_grad_fn_names_and_version():
    x = ember.randn(3, 4, requires_grad=True)
    y = x * 1.0
    v0 = y._version
    y[0] = 1.0
    # PyTorch's name() carries the C++ namespace: "torch::autograd::CopySlices"; its repr does not
    assert y.grad_fn.name() == "ember::autograd::CopySlices" and repr(y.grad_fn).startswith("<CopySlices object")
    assert y._version == v0 + 1
    y[ember.tensor([0, 1])] = 2.0
    assert y.grad_fn.name() == "IndexPutBackward0"
    y[y > 0] = 0.0
    assert y.grad_fn.name() == "IndexPutBackward0"


def test_setitem_no_grad_path_casts_and_broadcasts():
    x = ember.zeros(3, dtype=ember.int64)
    x[0] = 2.7
    x[1:] = ember.tensor([1.9, -1.9])
    assert x.tolist() == [2, 1, -1]
    y = ember.zeros(2, 3)
    y[:, ember.tensor([0, 2])] = ember.tensor([[1.0, 2.0]])
    assert y.tolist() == [[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]]
    y[...] = 4
    assert y.tolist() == [[4.0] * 3] * 2
    v = y._version
    y[y > 3] = ember.tensor(1.0)
    assert y._version == v + 1 and y.sum().item() == 6.0


def test_setitem_value_requires_grad_on_plain_tensor():
    x = ember.zeros(3, 4)
    v = ember.randn(4, requires_grad=True)
    x[1] = v
    assert x.grad_fn.name() == "ember::autograd::CopySlices" and x.requires_grad
    (x * 3).sum().backward()
    assert v.grad.tolist() == [3.0] * 4


def test_setitem_gradcheck():
    def f(x, v):
        y = x * 1.0
        y[1:, ember.tensor([0, 2])] = v * v
        y[0] = v.sum()
        return y
    gradcheck(f, rand(3, 4), rand(2, 1), gradgrad=True)


def test_setitem_errors():
    x = ember.randn(3, 4)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the existing size "
                                           r"\(2\) at non-singleton dimension 0.  Target sizes: \[4\].  Tensor "
                                           r"sizes: \[2\]"):
        x[0] = ember.ones(2)
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[2\] cannot be broadcast to "
                                           r"indexing result of shape \[3, 4\]"):
        x[ember.tensor([0, 1, 2])] = ember.ones(2)
    with pytest.raises(TypeError, match="can't assign a numpy.ndarray to a ember.FloatTensor"):
        x[0] = np.ones(4)
    with pytest.raises(TypeError, match="can't assign a list to a ember.FloatTensor"):
        x[0] = [1.0, 2.0, 3.0, 4.0]
    leaf = ember.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                           "in-place operation."):
        leaf[0] = 1.0
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        leaf[ember.tensor([0])] = 1.0
    before = x.clone()
    with pytest.raises(IndexError):
        x[5] = 1.0
    assert (x - before).abs().sum().item() == 0
    with ember.no_grad():
        leaf[0] = 0.0
    assert leaf[0].abs().sum().item() == 0


def test_index_put():
    check(lambda T, x, v: x.index_put((T.tensor([0, 0, 2]),), v, accumulate=True), rand(3, 2), rand(3, 2))
    check(lambda T, x, v: x.index_put((T.tensor([0, 1]), T.tensor([1, 1])), v), rand(3, 2), rand(2))

    def fn(T, x, v):
        y = x * 1.0
        y.index_put_((T.tensor([1, 1]),), v, accumulate=True)
        return y
    check(fn, rand(3, 2), rand(2))


# ---------------------------------------------------------------------------------------------
# gather / scatter
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim,shape,ishape", [(0, (3, 4), (5, 4)), (1, (3, 4), (2, 3)), (-1, (2, 3, 4), (2, 1, 6)),
                                              (1, (3, 0), (3, 0)), (0, (4,), (7,))])
def test_gather(dim, shape, ishape):
    n = shape[dim]
    idx = np.random.default_rng(0).integers(0, max(n, 1), size=ishape) if n else np.zeros(ishape, np.int64)
    check(lambda T, x, i: T.gather(x, dim, i), rand(*shape), idx)
    check(lambda T, x, i: x.gather(dim, i), noncontiguous(rand(*shape)), idx)


def test_gather_gradcheck_repeated():
    idx = ember.tensor([[0, 0, 1], [1, 1, 1]])
    gradcheck(lambda x: x.gather(1, idx), rand(2, 3), gradgrad=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_src_and_value(dim):
    idx = np.array([[0, 1], [2, 0]]) if dim == 0 else np.array([[3, 0], [1, 2]])
    check(lambda T, x, i, s: T.scatter(x, dim, i, s), rand(3, 4), idx, rand(2, 2))
    # src larger than index: only its leading block is used (PyTorch's own backward rejects this case)
    check(lambda T, x, i, s: T.scatter(x, dim, i, s), rand(3, 4), idx, rand(3, 4), grad=False)
    check(lambda T, x, i: x.scatter(dim, i, 1.5), rand(3, 4), idx)
    check(lambda T, x, i, s: T.scatter_add(x, dim, i, s), rand(3, 4), np.array([[0, 0], [1, 0]]), rand(2, 2))
    check(lambda T, x, i, s: T.scatter_add(x, dim, i, s), rand(3, 4), np.array([[0, 0], [1, 0]]), rand(2, 3),
          grad=False)
    check(lambda T, x, i, s: x.scatter(dim, i, s, reduce="add"), rand(3, 4), np.array([[0, 0], [1, 0]]),
          rand(2, 3), grad=False)
    check(lambda T, x, i, s: x.scatter(dim, i, s, reduce="multiply"), rand(3, 4), np.array([[0, 0], [1, 0]]),
          rand(2, 3), grad=False)


def test_scatter_gradcheck():
    idx = ember.tensor([[0, 1, 2], [2, 0, 1]])
    gradcheck(lambda x, s: x.scatter(0, idx, s), rand(3, 3), rand(2, 3), gradgrad=True)
    gradcheck(lambda x, s: x.scatter_add(1, ember.tensor([[0, 0], [1, 1]]), s), rand(2, 3), rand(2, 2),
              gradgrad=True)


def test_scatter_inplace():
    def fn(T, x, s):
        y = x * 1.0
        y.scatter_(1, T.tensor([[0, 1]]), s[:, :2])
        y.scatter_add_(0, T.tensor([[0, 0, 0]]), s)
        return y
    check(fn, rand(2, 3), rand(1, 3))


def test_gather_scatter_errors():
    x = ember.randn(3, 4)
    i = ember.zeros(2, 2, dtype=ember.int64)
    with pytest.raises(RuntimeError, match=r"gather\(\): Expected dtype int32/int64 for index"):
        x.gather(0, ember.zeros(2, 2))
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions as input tensor"):
        x.gather(0, ember.zeros(2, 2, 2, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"Size does not match at dimension 0 expected index \[4, 2\] to be no "
                                           r"larger than self \[3, 4\] apart from dimension 1"):
        x.gather(1, ember.zeros(4, 2, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds for dimension 1 with size 4"):
        x.gather(1, ember.full((2, 2), 7))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with size 4"):
        x.gather(1, ember.full((2, 2), -1))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds for dimension 1 with size 4"):
        x.scatter(1, ember.full((2, 2), 7), 1.0)
    with pytest.raises(RuntimeError, match=r"Expected index \[2, 2\] to be no larger than self \[3, 4\] apart from "
                                           r"dimension 1 and to be no larger size than src \[1, 1\]"):
        x.scatter(1, i, ember.ones(1, 1))
    with pytest.raises(RuntimeError, match=r"Expected index \[4, 2\] to be no larger than self \[3, 4\] apart from "
                                           r"dimension 1$"):
        x.scatter(1, ember.zeros(4, 2, dtype=ember.int64), 1.0)
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions as self tensor"):
        x.scatter(1, ember.zeros(2, 2, 2, dtype=ember.int64), 1.0)
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected self.dtype to be equal to src.dtype"):
        x.scatter(1, i, ember.ones(2, 2, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply."):
        x.scatter(1, i, 1.0, reduce="max")
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected dtype int32/int64 for index"):
        x.scatter_add(0, ember.zeros(2, 2), x)


# ---------------------------------------------------------------------------------------------
# index_select / index_add / index_fill / index_copy
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim,shape", [(0, (3, 4)), (1, (3, 4)), (-1, (2, 3, 3)), (0, (3, 0))])
def test_index_select_add_fill_copy(dim, shape):
    n = shape[dim]
    idx = np.array([0, n - 1, 0]) if n > 1 else np.array([0, 0, 0])
    src_shape = list(shape)
    src_shape[dim] = 3
    check(lambda T, x, i: T.index_select(x, dim, i), rand(*shape), idx)
    check(lambda T, x, i, s: x.index_add(dim, i, s, alpha=2.0), rand(*shape), idx, rand(*src_shape))
    check(lambda T, x, i: x.index_fill(dim, i, -1.5), rand(*shape), idx)
    uniq = np.array([n - 1, 0]) if n > 1 else np.array([0])
    src_shape[dim] = len(uniq)
    check(lambda T, x, i, s: x.index_copy(dim, i, s), rand(*shape), uniq, rand(*src_shape))
    check(lambda T, x, i, v: x.index_fill(dim, i, v), rand(*shape), uniq, rand())


def test_index_ops_gradcheck_and_inplace():
    idx = ember.tensor([2, 0, 2])
    gradcheck(lambda x: x.index_select(0, idx), rand(3, 2), gradgrad=True)
    gradcheck(lambda x, s: x.index_add(1, idx, s, alpha=-0.5), rand(2, 3), rand(2, 3), gradgrad=True)

    def fn(T, x, s):
        y = x * 1.0
        y.index_add_(0, T.tensor([1, 1]), s)
        y.index_fill_(1, T.tensor([0]), 2.0)
        y.index_copy_(0, T.tensor([2]), s[:1])
        return y
    check(fn, rand(3, 2), rand(2, 2))


def test_index_ops_errors():
    x = ember.randn(3, 4)
    with pytest.raises(IndexError, match=r"index_select\(\): Index is supposed to be a vector"):
        x.index_select(0, ember.tensor([[0]]))
    with pytest.raises(RuntimeError, match=r"index_select\(\): Expected dtype int32 or int64 for index"):
        x.index_select(0, ember.tensor([0.0]))
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_select(0, ember.tensor([5]))
    with pytest.raises(RuntimeError, match=r"index_add_\(\): Number of indices \(2\) should be equal to "
                                           r"source.size\(dim\): \(3\), for dim: 0"):
        x.index_add(0, ember.tensor([0, 1]), ember.ones(3, 4))
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.index_add(0, ember.tensor([0, 5]), ember.ones(2, 4))
    with pytest.raises(RuntimeError, match=r"source tensor shape must match self tensor shape, excluding the "
                                           r"specified dimension. Got self.shape = \[3, 4\] source.shape = \[2, 3\]"):
        x.index_add(0, ember.tensor([0, 1]), ember.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"index_add_\(\): self \(Float\) and source \(Double\) must have the "
                                           r"same scalar type"):
        x.index_add(0, ember.tensor([0, 1]), ember.ones(2, 4, dtype=ember.float64))
    with pytest.raises(RuntimeError, match=r"index_add_\(\): Expected dtype int32/int64 for index but got: Float"):
        x.index_add(0, ember.tensor([0.0]), x[:1])
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.index_fill(0, ember.tensor([0, 5]), 1.0)
    with pytest.raises(RuntimeError, match=r"index_fill_ only supports a 0-dimensional value tensor, but got tensor "
                                           r"with 1 dimension\(s\)."):
        x.index_fill(0, ember.tensor([0, 1]), ember.ones(2))
    with pytest.raises(IndexError, match=r"index_copy_\(\): Number of indices \(2\) should be equal to "
                                         r"source.size\(dim\) \(3\)"):
        x.index_copy(0, ember.tensor([0, 1]), ember.ones(3, 4))
    with pytest.raises(IndexError, match=r"index_copy_\(\): index 5 is out of bounds for dimension 0 with size 3"):
        x.index_copy(0, ember.tensor([5]), x[:1])


# ---------------------------------------------------------------------------------------------
# masked ops
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (2, 3, 4)), ((0, 4), (4,))])
def test_masked_ops(shape, mshape):
    m = rand(*mshape, dtype=bool)
    check(lambda T, x, mm: x.masked_fill(mm, -2.0), rand(*shape), m)
    check(lambda T, x, mm, v: T.masked_fill(x, mm, v), rand(*shape), m, rand())
    check(lambda T, x, mm: T.masked_select(x, mm), rand(*shape), m)
    big = tuple(np.broadcast_shapes(shape, mshape))
    check(lambda T, x, mm, s: x.masked_scatter(mm, s), rand(*shape), m, rand(*big))


def test_masked_gradcheck_and_inplace():
    m = ember.tensor(rand(3, 4, dtype=bool))
    gradcheck(lambda x: x.masked_select(m), rand(3, 4), gradgrad=True)
    gradcheck(lambda x, v: x.masked_fill(m, v), rand(3, 4), rand(), gradgrad=True)
    gradcheck(lambda x, s: x.masked_scatter(m, s), rand(3, 4), rand(12), gradgrad=True)
    mm = rand(3, 4, dtype=bool)

    def fn(T, x, s, mk):
        y = x * 1.0
        y.masked_fill_(mk, 0.5)
        y.masked_scatter_(~mk, s)
        return y
    check(fn, rand(3, 4), rand(12), mm)
    z = ember.zeros(2, 3)
    v = z._version
    z.masked_fill_(ember.tensor([True, False, True]), 1.0)
    assert z.tolist() == [[1.0, 0.0, 1.0]] * 2 and z._version == v + 1


def test_masked_errors():
    x = ember.randn(3, 4)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got mask with dtype "
                                           "long int"):
        x.masked_fill(ember.ones(4, dtype=ember.int64), 1.0)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got mask with dtype "
                                           "unsigned char"):
        x.masked_fill(ember.ones(4, dtype=ember.uint8), 1.0)
    with pytest.raises(RuntimeError, match=r"masked_fill_ only supports a 0-dimensional value tensor, but got "
                                           r"tensor with 1 dimension\(s\)."):
        x.masked_fill(ember.ones(4, dtype=ember.bool), ember.ones(2))
    from tests.helpers import torch
    for lib in (torch, ember):  # the mask is "tensor a"
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                               r"at non-singleton dimension 1"):
            lib.randn(3, 4).masked_fill(lib.ones(3, dtype=lib.bool), 1.0)
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(2\) "
                                               r"at non-singleton dimension 0"):
            lib.randn(2, 3).masked_fill(lib.ones(3, 1, dtype=lib.bool), 1.0)
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        x.masked_select(ember.ones(4, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="Number of elements of source < number of ones in mask"):
        x.masked_scatter(x > -100, ember.ones(2))
    with pytest.raises(RuntimeError, match=r"output with shape \[3, 4\] doesn't match the broadcast shape "
                                           r"\[3, 3, 4\]"):
        x.masked_fill_(ember.ones(3, 1, 4, dtype=ember.bool), 1.0)


# ---------------------------------------------------------------------------------------------
# nonzero / take / take_along_dim
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 4), (0, 3), ()])
def test_nonzero_argwhere(shape):
    a = rand(*shape, dtype=np.int64, low=-1, high=2)
    check(lambda T, x: T.nonzero(x), a)
    check(lambda T, x: x.nonzero(as_tuple=True), a)
    check(lambda T, x: T.argwhere(x), a)
    check(lambda T, x: T.where(x > 0), a)


@pytest.mark.parametrize("ishape", [(4,), (2, 3), (0,)])
def test_take(ishape):
    idx = np.random.default_rng(1).integers(-12, 12, size=ishape)
    check(lambda T, x, i: T.take(x, i), rand(3, 4), idx)
    check(lambda T, x, i: x.take(i), noncontiguous(rand(3, 4)), idx)
    gradcheck(lambda x: x.take(ember.tensor([0, 0, 5, -1])), rand(3, 4), gradgrad=True)


@pytest.mark.parametrize("dim,xs,ishape", [(None, (3, 4), (5,)), (0, (3, 4), (2, 4)), (1, (3, 4), (3, 2)),
                                           (0, (3, 4), (2, 1)), (1, (3, 1), (3, 5)), (-1, (2, 3, 4), (1, 3, 2))])
def test_take_along_dim(dim, xs, ishape):
    size = 12 if dim is None else xs[dim]
    idx = np.random.default_rng(2).integers(0, size, size=ishape)
    check(lambda T, x, i: T.take_along_dim(x, i, dim), rand(*xs), idx)
    assert ember.take_along_dim(ember.randn(*xs, requires_grad=True),
                                ember.tensor(idx), dim).grad_fn.name() == "GatherBackward0"


def test_take_errors():
    x = ember.randn(3, 4)
    with pytest.raises(IndexError, match=r"out of range: tried to access index 12 on a tensor of 12 elements."):
        x.take(ember.tensor([12]))
    with pytest.raises(IndexError, match=r"out of range: tried to access index -13 on a tensor of 12 elements."):
        x.take(ember.tensor([-13]))
    with pytest.raises(RuntimeError, match=r"take\(\): Expected a long tensor for index, but got Float"):
        x.take(ember.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"take_along_dim\(\): dtype of indices should be Long but got Int"):
        x.take_along_dim(ember.zeros(2, 2, dtype=ember.int32), 0)
    with pytest.raises(RuntimeError, match=r"take_along_dim\(\): input and indices should have the same number of "
                                           r"dimensions, but got 2 dimensions for input, and 3 dimensions for indices"):
        x.take_along_dim(ember.zeros(2, 1, 1, dtype=ember.int64), 0)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(4\) must match the size of tensor b \(2\) at "
                                           r"non-singleton dimension 1"):
        x.take_along_dim(ember.zeros(3, 2, dtype=ember.int64), 0)


def test_grad_fn_names_of_index_ops():
    x = ember.randn(3, 4, requires_grad=True)
    i = ember.zeros(2, 4, dtype=ember.int64)
    idx = ember.tensor([0, 2])
    m = x > 0
    names = {
        "GatherBackward0": x.gather(0, i), "IndexSelectBackward0": x.index_select(0, idx),
        "TakeBackward0": x.take(idx), "MaskedSelectBackward0": x.masked_select(m),
        "MaskedFillBackward0": x.masked_fill(m, 1.0), "ScatterBackward0": x.scatter(0, i, x[:2]),
        "ScatterBackward1": x.scatter(0, i, 2.0), "ScatterAddBackward0": x.scatter_add(0, i, x[:2]),
        "IndexAddBackward0": x.index_add(0, idx, x[:2]), "IndexFillBackward0": x.index_fill(0, idx, 2.0),
        "IndexCopyBackward0": x.index_copy(0, idx, x[:2]), "MaskedScatterBackward0": x.masked_scatter(m, x),
    }
    for name, t in names.items():
        assert t.grad_fn.name() == name


def test_index_add_dim0_repeats_on_3d_matches_torch():
    idx = np.array([4, 0, 4, 4, 2, 0, 1])
    check(lambda T, x, i, s: x.index_add(0, i, s), rand(5, 2, 3), idx, rand(7, 2, 3))


def test_index_select_of_0d_and_negative_index_like_torch():
    from tests.helpers import torch
    check(lambda T, x: x.index_select(0, T.tensor([0])), rand())
    check(lambda T, x: x.index_select(0, T.tensor(0)), rand())
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=r"index_select\(\): Index to scalar can have only 1 value, got 2 "
                                               r"value\(s\)"):
            lib.tensor(5.0).index_select(0, lib.tensor([0, 0]))
        with pytest.raises(IndexError, match="index out of range in self"):
            lib.arange(3.0).index_select(0, lib.tensor([-1]))
