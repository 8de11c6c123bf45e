import numpy as np
import pytest

import ember
from tests.helpers import check, rand, noncontiguous as _noncontiguous, gradcheck, torch


def noncontiguous(a):
    """The helper's strided copy; size-0 arrays are always contiguous, so those pass through."""
    return a if a.size == 0 else _noncontiguous(a)

SHAPES = [(3, 4), (2, 3, 4), (0, 3), (5,)]


# ---------------------------------------------------------------------------------------------
# existing view ops (view/reshape/expand/transpose/permute/squeeze/unsqueeze/flatten)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
def test_view_family(shape):
    check(lambda T, x: x.reshape(-1), rand(*shape))
    check(lambda T, x: x.view(shape[-1], -1), rand(*shape))
    check(lambda T, x: x.transpose(0, -1).reshape(-1), rand(*shape))
    check(lambda T, x: x.permute(*reversed(range(x.dim()))), rand(*shape))
    check(lambda T, x: x.unsqueeze(1).expand(*x.shape[:1], 2, *x.shape[1:]), rand(*shape))
    check(lambda T, x: T.flatten(x, 1), noncontiguous(rand(*shape)))
    check(lambda T, x: x[None].squeeze(0).t() if x.dim() == 2 else x.squeeze(), rand(*shape))


@pytest.mark.parametrize("dims", [(0, -1), (0, 0), (-1, -1)])
def test_flatten_zero_dim(dims):
    check(lambda T, x: T.flatten(x, *dims), np.array(1.5))


@pytest.mark.parametrize("dims", [(1, -1), (0, 1)])
def test_flatten_zero_dim_out_of_range(dims):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"):
        ember.tensor(1.5).flatten(*dims)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"):
        ember.nn.Flatten()(ember.tensor(1.5))


def test_expand_error_names_legacy_type():
    with pytest.raises(RuntimeError, match=r"expand\(ember.FloatTensor\{\[2, 1, 4\]\}, size=\[4\]\): the number "
                                           r"of sizes provided \(1\) must be greater or equal"):
        ember.zeros(2, 1, 4).expand(4)


# ---------------------------------------------------------------------------------------------
# unflatten / movedim / repeat / tile
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim,sizes", [(1, (2, 2)), (-1, (-1, 2)), (0, (3, 1)), (1, (4,))])
def test_unflatten(dim, sizes):
    check(lambda T, x: x.unflatten(dim, sizes), rand(3, 4))
    check(lambda T, x: T.unflatten(x, dim, sizes), noncontiguous(rand(3, 4)))
    assert ember.randn(3, 4, requires_grad=True).unflatten(dim, sizes).grad_fn.name() == "ViewBackward0"


@pytest.mark.parametrize("src,dst", [(0, 1), (-1, 0), ((0, 1), (2, 0)), ([2], [0])])
def test_movedim(src, dst):
    check(lambda T, x: T.movedim(x, src, dst), rand(2, 3, 4))
    check(lambda T, x: x.moveaxis(src, dst), rand(2, 0, 4))


@pytest.mark.parametrize("shape,reps", [((3, 4), (2, 1)), ((3,), (2, 2, 3)), ((2, 3), (1, 0)), ((0, 2), (2, 2)),
                                        ((), (3, 2))])
def test_repeat(shape, reps):
    check(lambda T, x: x.repeat(*reps), rand(*shape))
    check(lambda T, x: x.repeat(reps), rand(*shape))


def test_repeat_tile_gradcheck():
    gradcheck(lambda x: x.repeat(2, 1, 3), rand(3, 2), gradgrad=True)
    check(lambda T, x: T.tile(x, (2,)), rand(3, 2))
    check(lambda T, x: x.tile((2, 1, 2)), noncontiguous(rand(3, 2)))
    assert ember.randn(2, requires_grad=True).tile((2,)).grad_fn.name() == "RepeatBackward0"


def test_unflatten_movedim_repeat_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"unflatten: Provided sizes \[3, 2\] don't multiply up to the size of "
                                           r"dim 1 \(4\) in the input tensor"):
        x.unflatten(1, (3, 2))
    with pytest.raises(RuntimeError, match="unflatten: sizes must be non-empty"):
        x.unflatten(1, ())
    with pytest.raises(RuntimeError, match=r"movedim: Invalid source or destination dims: source \(\[0, 1\] dims\) "
                                           r"should contain the same number of dims as destination \(\[0\] dims\)"):
        x.movedim((0, 1), (0,))
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in `source` \(\[0, 0\]\)"):
        x.movedim((0, 0), (0, 1))
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in `destination` \(\[1, 1\]\)"):
        x.movedim((0, 1), (1, 1))
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be smaller than number of "
                                           "dimensions of tensor"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=r"Trying to create tensor with negative dimension -3: \[-3, 8\]"):
        x.repeat(-1, 2)


# ---------------------------------------------------------------------------------------------
# select / narrow / split / chunk / unbind
# ---------------------------------------------------------------------------------------------

def test_select_narrow():
    check(lambda T, x: x.select(1, -1), rand(3, 4))
    check(lambda T, x: T.select(x, 0, 2), rand(3))
    check(lambda T, x: x.narrow(0, 1, 2), rand(3, 4))
    check(lambda T, x: T.narrow(x, -1, -2, 2), noncontiguous(rand(3, 4)))
    check(lambda T, x: x.narrow(0, T.tensor(1), 0), rand(3, 4))
    gradcheck(lambda x: x.narrow(1, 1, 2) * x.select(1, 0).unsqueeze(1), rand(3, 4), gradgrad=True)
    x = ember.randn(3, 4, requires_grad=True)
    assert x.narrow(0, 1, 2).grad_fn.name() == "SliceBackward0"
    assert x.select(0, 1).grad_fn.name() == "SelectBackward0"


@pytest.mark.parametrize("shape,arg,dim", [((5, 3), 2, 0), ((3, 5), [1, 0, 4], -1), ((0, 3), 2, 0), ((4,), 4, 0),
                                           ((3, 4), 10, 1), ((0, 3), 0, 0)])
def test_split(shape, arg, dim):
    check(lambda T, x: x.split(arg, dim), rand(*shape))
    check(lambda T, x: T.split(x, arg, dim), noncontiguous(rand(*shape)))


@pytest.mark.parametrize("shape,chunks,dim", [((5, 3), 3, 0), ((6,), 4, 0), ((1, 3), 4, 0), ((0, 3), 3, 0),
                                              ((3, 4), 2, -1)])
def test_chunk(shape, chunks, dim):
    check(lambda T, x: x.chunk(chunks, dim), rand(*shape))
    check(lambda T, x: T.chunk(x, chunks, dim), noncontiguous(rand(*shape)))


@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((3, 4), -1), ((2, 0), 0), ((2, 0), 1)])
def test_unbind(shape, dim):
    check(lambda T, x: x.unbind(dim), rand(*shape))
    check(lambda T, x: T.unbind(x, dim), noncontiguous(rand(*shape)))


def test_split_unbind_names_grads_views():
    x = ember.randn(4, 5, requires_grad=True)
    assert [t.grad_fn.name() for t in x.split(2)] == ["SplitBackward0"] * 2
    assert [t.grad_fn.name() for t in x.chunk(2)] == ["SplitBackward0"] * 2
    assert [t.grad_fn.name() for t in x.split([2, 3], 1)] == ["SplitWithSizesBackward0"] * 2
    assert [t.grad_fn.name() for t in x.unbind()] == ["UnbindBackward0"] * 4
    assert [t.grad_fn.name() for t in x] == ["UnbindBackward0"] * 4
    gradcheck(lambda t: t.split([1, 3], 1)[1] * t.unbind(1)[0].unsqueeze(1), rand(2, 4), gradgrad=True)
    gradcheck(lambda t: ember.stack(list(t.chunk(2, 0))[::-1]), rand(4, 3), gradgrad=True)
    base = ember.zeros(4, 3)
    a, b = base.split(2)
    b[0, 0] = 3.0
    row = base.unbind(1)[2]
    row.fill_(1.0)
    assert base[2, 0].item() == 3.0 and base[:, 2].tolist() == [1.0] * 4
    assert a._version == base._version == row._version


@pytest.mark.parametrize("make,name", [(lambda y: y.unbind(0)[1], "Output 1 of Unbind"),
                                       (lambda y: y.split(2)[0], "Output 0 of Split"),
                                       (lambda y: y.chunk(2)[1], "Output 1 of Split"),
                                       (lambda y: y.split([1, 3])[1], "Output 1 of SplitWithSizes")])
def test_inplace_on_multi_output_view_raises(make, name):
    y = ember.ones(4, 3, requires_grad=True) * 1.0
    with pytest.raises(RuntimeError, match=name + " is a view and is being modified inplace. This view is the "
                                                  "output of a function that returns multiple views."):
        make(y).mul_(2)
    plain = ember.ones(4, 3)
    make(plain).mul_(2)  # allowed when nothing is recorded
    assert plain.sum().item() > 12


def test_inplace_on_single_view_rebases_base_history():
    def fn(T, x, v):
        y = x * 1.0
        y[0][1] = v
        y.narrow(1, 1, 2).mul_(3.0)
        return y * y
    check(fn, rand(3, 4), rand())


def test_split_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0, but got dimension "
                                           "size of 3"):
        x.split(0)
    with pytest.raises(RuntimeError, match="split expects split_size be non-negative, but got split_size=-1"):
        x.split(-1)
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum exactly to 3 \(input "
                                           r"tensor's size at dimension 0\), but got split_sizes=\[1, 1\]"):
        x.split([1, 1])
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(2\) exceeds dimension size \(3\)."):
        x.narrow(0, 2, 2)
    with pytest.raises(IndexError, match=r"start out of range \(expected to be in range of \[-3, 3\], but got 4\)"):
        x.narrow(0, 4, 0)
    with pytest.raises(RuntimeError, match=r"narrow\(\): length must be non-negative."):
        x.narrow(0, 0, -1)
    with pytest.raises(IndexError, match=r"select\(\): index 5 out of range for tensor of size \[3, 4\] at "
                                         r"dimension 0"):
        x.select(0, 5)
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        ember.tensor(1.0).unbind()
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(ember.tensor(1.0))


# ---------------------------------------------------------------------------------------------
# cat / stack / hstack / vstack / dstack / atleast
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes,dim", [(((2, 3), (4, 3)), 0), (((2, 3), (2, 0), (2, 5)), -1),
                                        (((0, 3), (2, 3)), 0), (((3,), (0,), (2,)), 0),
                                        (((2, 3), (0,), (1, 3)), 0), (((0,), (2, 3)), 1), (((0,), (0,)), 0)])
def test_cat(shapes, dim):
    arrays = [rand(*s) for s in shapes]
    check(lambda T, *xs: T.cat(xs, dim), *arrays)
    check(lambda T, *xs: T.concat(list(xs), dim=dim), *[noncontiguous(a) for a in arrays])
    check(lambda T, *xs: T.concatenate(xs, dim), *arrays)


def test_cat_dtype_promotion_and_grad():
    check(lambda T, a, b: T.cat([a, b]), rand(2, 3), rand(1, 3, dtype=np.float32))
    check(lambda T, a, b: T.cat([a, b]), rand(2, 3, dtype=np.float32), rand(1, 3, dtype=np.int64))
    check(lambda T, a, b: T.cat([a, b]), rand(2, dtype=np.int32), rand(1, dtype=bool))
    gradcheck(lambda a, b: ember.cat([a, b * b], 1), rand(2, 3), rand(2, 2), gradgrad=True)
    a = ember.randn(2, requires_grad=True)
    assert ember.cat([a, a]).grad_fn.name() == "CatBackward0"


def test_cat_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(ValueError, match=r"cat\(\): expected a non-empty list of Tensors"):
        ember.cat([])
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0. Expected size 4 but "
                                           r"got size 5 for tensor number 1 in the list."):
        ember.cat([x, ember.zeros(3, 5)])
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0. Expected size 3 but "
                                           r"got size 4 for tensor number 2 in the list."):
        ember.cat([ember.zeros(2, 3), ember.zeros(0), ember.zeros(2, 4)])
    with pytest.raises(RuntimeError, match="Tensors must have same number of dimensions: got 2 and 1"):
        ember.cat([x, ember.zeros(3)])
    with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 1\) cannot be concatenated"):
        ember.cat([x, ember.tensor(1.0)])
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got "
                                         r"2\)"):
        ember.cat([x, x], dim=2)
    with pytest.raises(TypeError, match=r"cat\(\): argument 'tensors' \(position 1\) must be tuple of Tensors, not "
                                        r"Tensor"):
        ember.cat(x)


@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((3, 4), 2), ((3, 4), -1), ((0, 2), 1), ((), 0)])
def test_stack(shape, dim):
    check(lambda T, a, b, c: T.stack([a, b, c], dim), rand(*shape), noncontiguous(rand(*shape)), rand(*shape))
    check(lambda T, a, b: T.stack((a, b), dim), rand(*shape), rand(*shape, dtype=np.float32))


def test_stack_grad_and_errors():
    gradcheck(lambda a, b: ember.stack([a, b * a], 1), rand(2, 3), rand(2, 3), gradgrad=True)
    a = ember.randn(2, requires_grad=True)
    assert ember.stack([a, a]).grad_fn.name() == "StackBackward0"
    with pytest.raises(RuntimeError, match="stack expects a non-empty TensorList"):
        ember.stack([])
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[3, 4\] at entry 0 "
                                           r"and \[3, 5\] at entry 1"):
        ember.stack([ember.zeros(3, 4), ember.zeros(3, 5)])
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\], but got "
                                         r"3\)"):
        ember.stack([ember.zeros(3, 4)] * 2, 3)


@pytest.mark.parametrize("shapes", [((3,), (2,)), ((2, 3), (2, 1)), ((), ()), ((2, 1, 3), (2, 2, 3))])
def test_hstack(shapes):
    check(lambda T, *xs: T.hstack(xs), *[rand(*s) for s in shapes])


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((), ())])
def test_vstack(shapes):
    check(lambda T, *xs: T.vstack(xs), *[rand(*s) for s in shapes])
    check(lambda T, *xs: T.row_stack(xs), *[rand(*s) for s in shapes])


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((1, 3), (3,)), ((2, 3), (2, 3, 2)), ((), ())])
def test_dstack(shapes):
    check(lambda T, *xs: T.dstack(xs), *[rand(*s) for s in shapes])


@pytest.mark.parametrize("shape", [(), (4,), (3, 4), (2, 3, 4)])
def test_atleast(shape):
    check(lambda T, x: (T.atleast_1d(x), T.atleast_2d(x), T.atleast_3d(x)), rand(*shape))
    check(lambda T, x, y: T.atleast_2d(x, y), rand(*shape), rand(2))
    check(lambda T, x, y: T.atleast_3d([x, y]), rand(*shape), rand())


# ---------------------------------------------------------------------------------------------
# flip / roll / broadcast
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,dims", [((3, 4), (0,)), ((3, 4), (0, 1)), ((2, 3, 4), (-1, 0)), ((0, 3), (1,)),
                                        ((3,), ())])
def test_flip(shape, dims):
    check(lambda T, x: T.flip(x, dims), rand(*shape))
    check(lambda T, x: x.flip(*dims) if dims else x.flip(dims), noncontiguous(rand(*shape)))


@pytest.mark.parametrize("shape,shifts,dims", [((3, 4), 1, None), ((3, 4), -5, 1), ((3, 4), (1, 2), (0, 1)),
                                               ((2, 3, 4), (7,), (-1,)), ((0, 3), 1, 0), ((), 3, None)])
def test_roll(shape, shifts, dims):
    check(lambda T, x: T.roll(x, shifts, dims), rand(*shape))
    check(lambda T, x: x.roll(shifts, dims), noncontiguous(rand(*shape)))


def test_flip_roll_gradcheck_and_names():
    gradcheck(lambda x: x.flip(0, 1) * x.roll(1, 0), rand(3, 4), gradgrad=True)
    x = ember.randn(3, 4, requires_grad=True)
    assert x.flip(0).grad_fn.name() == "FlipBackward0"
    assert x.roll(1).grad_fn.name() == "RollBackward0"
    assert ember.broadcast_to(x, (2, 3, 4)).grad_fn.name() == "ExpandBackward0"


@pytest.mark.parametrize("shapes", [((3, 1), (4,)), ((2, 1, 3), (5, 1), ()), ((0, 1), (3,))])
def test_broadcast(shapes):
    check(lambda T, *xs: T.broadcast_tensors(*xs), *[rand(*s) for s in shapes])
    target = np.broadcast_shapes(*shapes)
    check(lambda T, x: T.broadcast_to(x, target), rand(*shapes[0]))
    assert tuple(ember.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))


def test_broadcast_views_share_storage():
    x = ember.zeros(3, 1)
    a, b = ember.broadcast_tensors(x, ember.zeros(4))
    assert a.shape == (3, 4) and a._version == x._version
    x[0, 0] = 2.0
    assert a[0].tolist() == [2.0] * 4


def test_flip_roll_broadcast_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.flip(0, 0)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        x.roll((1, 2), (0,))
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(3\) must match the existing size "
                                           r"\(4\) at non-singleton dimension 1.  Target sizes: \[2, 3\].  Tensor "
                                           r"sizes: \[3, 4\]"):
        x.broadcast_to((2, 3))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(4\) must match the size of tensor b \(5\) at "
                                           r"non-singleton dimension 1"):
        ember.broadcast_tensors(x, ember.zeros(5))


# ---------------------------------------------------------------------------------------------
# diagonal / diag_embed / diag
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,offset,d1,d2", [((3, 4), 0, 0, 1), ((3, 4), 1, 0, 1), ((3, 4), -2, 1, 0),
                                                ((2, 3, 4), 0, -1, 0), ((3, 4), 5, 0, 1), ((0, 3), 0, 0, 1)])
def test_diagonal(shape, offset, d1, d2):
    check(lambda T, x: T.diagonal(x, offset, d1, d2), rand(*shape))
    check(lambda T, x: x.diagonal(offset, d1, d2), noncontiguous(rand(*shape)))


@pytest.mark.parametrize("shape,offset,d1,d2", [((3,), 0, -2, -1), ((2, 3), 1, 0, 2), ((2, 3), -1, 2, 0)])
def test_diag_embed(shape, offset, d1, d2):
    check(lambda T, x: T.diag_embed(x, offset, d1, d2), rand(*shape))


@pytest.mark.parametrize("shape,k", [((3,), 0), ((3,), -1), ((3, 4), 1), ((3, 4), -2)])
def test_diag(shape, k):
    check(lambda T, x: T.diag(x, k), rand(*shape))


def test_diagonal_views_grads_errors():
    x = ember.zeros(3, 3)
    d = x.diagonal()
    d.fill_(1.0)
    assert x.tolist() == [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]
    gradcheck(lambda t: t.diagonal(1) * t.diag_embed().sum(), rand(3, 4), gradgrad=True)
    gradcheck(lambda t: ember.diag(t, -1), rand(3, 3), gradgrad=True)
    gradcheck(lambda t, s: ember.diagonal_scatter(t, s, 1), rand(3, 4), rand(3), gradgrad=True)
    check(lambda T, t, s: T.diagonal_scatter(t, s, -1), rand(3, 4), rand(2))
    y = ember.randn(3, 4, requires_grad=True)
    assert y.diagonal().grad_fn.name() == "DiagonalBackward0"
    assert y.diag_embed().grad_fn.name() == "DiagEmbedBackward0"
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical 1, 1"):
        x.diagonal(0, 1, 1)
    with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
        ember.zeros(2, 3, 4).diag()


def test_cat_gradient_when_an_earlier_input_needs_none():
    """The slice of an input that needs no gradient still offsets the later inputs' slices."""
    import ember
    a = ember.ones(2, 3)
    b = ember.zeros(2, 2, requires_grad=True)
    out = ember.cat([a, b], dim=1)
    (out * ember.arange(5.0)).sum().backward()
    assert b.grad.tolist() == [[3.0, 4.0], [3.0, 4.0]]


SCALAR_SHAPE_ERRORS = {
    "narrow": (lambda T: T.tensor(5.0).narrow(0, 0, 1), RuntimeError, "narrow\\(\\) cannot be applied to a 0-dim tensor."),
    "split": (lambda T: T.tensor(5.0).split(1), RuntimeError, "split expects at least a 1-dimensional tensor"),
    "chunk": (lambda T: T.tensor(5.0).chunk(1), RuntimeError, "chunk expects at least a 1-dimensional tensor"),
    "permute without dims": (lambda T: T.zeros(2).permute(), TypeError,
                             'permute\\(\\) missing 1 required positional arguments: "dims"'),
}


@pytest.mark.parametrize("name", list(SCALAR_SHAPE_ERRORS))
def test_0d_shape_errors_match_torch(name):
    fn, exc, msg = SCALAR_SHAPE_ERRORS[name]
    with pytest.raises(exc, match=msg):
        fn(torch)
    with pytest.raises(exc, match=msg):
        fn(ember)


def test_movedim_of_0d():
    check(lambda T, x: x.movedim(0, 0) * 2, rand())
    check(lambda T, x: x.movedim(-1, 0) * 2, rand())
