"""Matrix products against PyTorch: values, gradients, grad_fn names, dtypes and errors."""
import numpy as np
import pytest

import ember
from tests.helpers import check, gradcheck, rand, noncontiguous, torch

# (left shape, right shape) for every rank combination, broadcasting batches and size-0 dims
MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
    ((3,), (4, 3, 2)), ((3,), (5, 4, 3, 2)), ((4, 2, 3), (3,)), ((5, 4, 2, 3), (3,)),
    ((2, 3), (4, 3, 2)), ((2, 3), (5, 4, 3, 2)), ((4, 2, 3), (3, 2)), ((5, 4, 2, 3), (3, 2)),
    ((4, 2, 3), (4, 3, 2)), ((4, 2, 3), (5, 4, 3, 2)), ((5, 1, 2, 3), (4, 3, 2)),
    ((1, 2, 3), (4, 3, 2)), ((4, 2, 3), (1, 3, 2)), ((1, 2, 3), (5, 4, 3, 2)), ((5, 4, 2, 3), (1, 3, 2)),
    ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((2, 0), (0,)), ((0,), (0,)), ((0, 2, 3), (3, 2)),
    ((4, 2, 0), (4, 0, 2)), ((0, 2, 3), (1, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_conformance(sa, sb):
    check(lambda T, x, y: T.matmul(x, y), rand(*sa), rand(*sb))


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:19])
def test_matmul_operator_and_grad_fn(sa, sb):
    a, b = rand(*sa), rand(*sb)
    for a_grad in (True, False):
        e = ember.tensor(a, requires_grad=a_grad) @ ember.tensor(b, requires_grad=True)
        t = torch.tensor(a, requires_grad=a_grad) @ torch.tensor(b, requires_grad=True)
        assert e.grad_fn.name() == t.grad_fn.name()


@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((4, 2, 3), (3, 2)), ((3,), (4, 3, 2)), ((2, 3), (4, 3, 2)),
                                   ((4, 2, 3), (4, 3, 2)), ((3,), (3,))])
def test_matmul_noncontiguous(sa, sb):
    check(lambda T, x, y: T.matmul(x, y), noncontiguous(rand(*sa)), noncontiguous(rand(*sb)))
    # transposed (column-major) operands
    if len(sa) > 1 and len(sb) > 1:
        check(lambda T, x, y: x.mT @ y.mT, rand(*(sa[:-2] + sa[::-1][:2])), rand(*(sb[:-2] + sb[::-1][:2])))


@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                   ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)), ((2, 2, 3), (1, 3, 2)), ((2, 3), (3,))])
def test_matmul_gradcheck(sa, sb):
    gradcheck(lambda x, y: x @ y, rand(*sa), rand(*sb), gradgrad=True)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_matmul_int(dtype):
    for sa, sb in [((2, 3), (3, 4)), ((3,), (3,)), ((4, 2, 3), (4, 3, 2)), ((4, 2, 3), (3,))]:
        check(lambda T, x, y: x @ y, rand(*sa, dtype=dtype, low=-5, high=5), rand(*sb, dtype=dtype, low=-5, high=5))


def test_matmul_half_types():
    for dt in (ember.float16, ember.bfloat16):
        a, b = ember.randn(3, 4).to(dt), ember.randn(4, 2).to(dt)
        r = a @ b
        assert r.dtype is dt
        expected = a.float() @ b.float()
        np.testing.assert_allclose(r.float().numpy(), expected.numpy(), rtol=2e-2, atol=2e-2)


def test_mm_backward_is_two_products():
    a = ember.randn(5, 4, requires_grad=True)
    b = ember.randn(4, 3, requires_grad=True)
    out = a.mm(b)
    assert out.grad_fn.name() == "MmBackward0"
    with ember.no_grad():
        ga, gb = out.grad_fn.apply(ember.ones(5, 3))
    np.testing.assert_allclose(ga.numpy(), np.ones((5, 3)) @ b.detach().numpy().T, rtol=1e-5)
    np.testing.assert_allclose(gb.numpy(), a.detach().numpy().T @ np.ones((5, 3)), rtol=1e-5)
    assert ga.is_contiguous() and gb.is_contiguous()


def test_mm_only_one_requires_grad():
    check(lambda T, x, y: T.mm(x, y.detach()), rand(3, 4), rand(4, 2))


@pytest.mark.parametrize("fn,sa,sb,msg,exc", [
    ("mm", (3,), (3, 2), "self must be a matrix", RuntimeError),
    ("mm", (2, 3), (3,), "mat2 must be a matrix", RuntimeError),
    ("mm", (2, 3), (4, 2), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)", RuntimeError),
    ("matmul", (), (3,), "both arguments to matmul need to be at least 1D, but they are 0D and 1D", RuntimeError),
    ("matmul", (3,), (4,), r"inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the same number "
                           "of elements, but got 3 and 4 elements respectively", RuntimeError),
    ("matmul", (2, 3), (4,), r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)", RuntimeError),
    ("matmul", (3,), (4, 2), r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x2\)", RuntimeError),
    ("matmul", (4, 2, 3), (4,), r"size mismatch, got input \(8\), mat \(8x3\), vec \(4\)", RuntimeError),
    ("matmul", (4, 2, 3), (4, 2), r"mat1 and mat2 shapes cannot be multiplied \(8x3 and 4x2\)", RuntimeError),
    ("matmul", (4, 2, 3), (4, 4, 2), r"Expected size for first two dimensions of batch2 tensor to be: \[4, 3\] but "
                                     r"got: \[4, 4\]\.", RuntimeError),
    ("matmul", (4, 2, 3), (5, 3, 2), r"The size of tensor a \(4\) must match the size of tensor b \(5\) at "
                                     "non-singleton dimension 0", RuntimeError),
    ("bmm", (2, 3), (4, 3, 2), "batch1 must be a 3D tensor", RuntimeError),
    ("bmm", (4, 2, 3), (3, 2), "batch2 must be a 3D tensor", RuntimeError),
    ("bmm", (4, 2, 3), (4, 5, 2), r"Expected size for first two dimensions of batch2 tensor to be: \[4, 3\] but "
                                  r"got: \[4, 5\]\.", RuntimeError),
    ("bmm", (4, 2, 3), (5, 3, 2), r"Expected size for first two dimensions of batch2 tensor to be: \[4, 3\] but "
                                  r"got: \[5, 3\]\.", RuntimeError),
    ("mv", (3,), (3,), "vector \\+ matrix @ vector expected, got 1, 1, 1", RuntimeError),
    ("mv", (2, 3), (2, 3), "vector \\+ matrix @ vector expected, got 1, 2, 2", RuntimeError),
    ("mv", (2, 3), (4,), r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)", RuntimeError),
    ("dot", (2, 3), (3,), "1D tensors expected, but got 2D and 1D tensors", RuntimeError),
    ("dot", (3,), (2, 3), "1D tensors expected, but got 1D and 2D tensors", RuntimeError),
    ("dot", (3,), (4,), r"inconsistent tensor size, expected tensor \[3\] and src \[4\]", RuntimeError),
    ("vdot", (3,), (4,), r"inconsistent tensor size, expected tensor \[3\] and src \[4\]", RuntimeError),
    ("outer", (3, 1), (4,), "outer: Expected 1-D argument self, but got 2-D", RuntimeError),
    ("outer", (3,), (4, 2), "outer: Expected 1-D argument vec2, but got 2-D", RuntimeError),
])
def test_shape_errors(fn, sa, sb, msg, exc):
    for lib in (ember, torch):  # the message is PyTorch's own
        x = lib.tensor(rand(*sa)) if sa else lib.tensor(1.0)
        with pytest.raises(exc, match=msg):
            getattr(lib, fn)(x, lib.tensor(rand(*sb)))


@pytest.mark.parametrize("fn,sa,sb,msg", [
    ("mm", (2, 3), (3, 2), "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul", (2, 3), (3, 2), "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul", (4, 2, 3), (3, 2), "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul", (4, 2, 3), (4, 3, 2), "expected scalar type Float but found Double"),
    ("bmm", (4, 2, 3), (4, 3, 2), "expected scalar type Float but found Double"),
    ("mv", (2, 3), (3,), "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    ("dot", (3,), (3,), "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("vdot", (3,), (3,), "dot : expected both vectors to have same dtype, but found Float and Double"),
])
def test_dtype_errors(fn, sa, sb, msg):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=msg):
            getattr(lib, fn)(lib.tensor(rand(*sa), dtype=lib.float32), lib.tensor(rand(*sb), dtype=lib.float64))


def test_int_vs_float_and_bool_errors():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: long int != float"):
        ember.ones(2, 3, dtype=ember.int64) @ ember.ones(3, 2)
    with pytest.raises(NotImplementedError, match="\"addmm_impl_cpu_\" not implemented for 'Bool'"):
        ember.ones(2, 3, dtype=ember.bool).mm(ember.ones(3, 2, dtype=ember.bool))
    with pytest.raises(NotImplementedError, match="\"dot\" not implemented for 'Bool'"):
        ember.ones(3, dtype=ember.bool).dot(ember.ones(3, dtype=ember.bool))


@pytest.mark.parametrize("sa,sb", [((4, 2, 3), (4, 3, 5)), ((0, 2, 3), (0, 3, 5)), ((2, 0, 3), (2, 3, 1))])
def test_bmm(sa, sb):
    check(lambda T, x, y: T.bmm(x, y), rand(*sa), rand(*sb))
    check(lambda T, x, y: x.bmm(y.transpose(1, 2).contiguous().transpose(1, 2)), rand(*sa), rand(*sb))
    gradcheck(lambda x, y: x.bmm(y), rand(*sa), rand(*sb), gradgrad=True)
    assert ember.bmm(ember.randn(*sa, requires_grad=True), ember.randn(*sb)).grad_fn.name() == "BmmBackward0"


@pytest.mark.parametrize("sa,sb", [((2, 3), (3,)), ((0, 3), (3,)), ((2, 0), (0,))])
def test_mv(sa, sb):
    check(lambda T, m, v: T.mv(m, v), rand(*sa), rand(*sb))
    check(lambda T, m, v: m.t().mv(v), rand(*sa[::-1]), rand(*sb))
    gradcheck(lambda m, v: m.mv(v), rand(*sa), rand(*sb), gradgrad=True)
    assert ember.mv(ember.randn(*sa, requires_grad=True), ember.randn(*sb)).grad_fn.name() == "MvBackward0"


@pytest.mark.parametrize("fn,node", [("dot", "DotBackward0"), ("vdot", "VdotBackward0")])
def test_dot_vdot(fn, node):
    check(lambda T, x, y: getattr(T, fn)(x, y), rand(5), rand(5))
    check(lambda T, x, y: getattr(x, fn)(y), noncontiguous(rand(5)), rand(5))
    check(lambda T, x, y: getattr(T, fn)(x, y), rand(0), rand(0))
    check(lambda T, x, y: getattr(T, fn)(x, y), rand(4, dtype=np.int32, low=-5, high=5),
          rand(4, dtype=np.int32, low=-5, high=5))
    gradcheck(lambda x, y: getattr(ember, fn)(x, y), rand(4), rand(4), gradgrad=True)
    assert getattr(ember, fn)(ember.randn(3, requires_grad=True), ember.randn(3)).grad_fn.name() == node


def test_outer_ger():
    check(lambda T, x, y: T.outer(x, y), rand(3), rand(4))
    check(lambda T, x, y: x.ger(y), rand(3), rand(0))
    check(lambda T, x, y: T.outer(x, y), rand(3, dtype=np.float32), rand(4))  # promotes to float64
    check(lambda T, x, y: T.outer(x, y), rand(3, dtype=np.int64, low=-3, high=3), rand(4))
    gradcheck(lambda x, y: ember.outer(x, y), rand(3), rand(4), gradgrad=True)
    assert ember.outer(ember.randn(3, requires_grad=True), ember.randn(4)).grad_fn.name() == "MulBackward0"


# ---- addmm family ----------------------------------------------------------------------------

@pytest.mark.parametrize("si", [(2, 4), (4,), (1, 4), (2, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_addmm(si, beta, alpha):
    inp = rand(*si) if si else np.array(0.7)
    check(lambda T, i, a, b: T.addmm(i, a, b, beta=beta, alpha=alpha), inp, rand(2, 3), rand(3, 4))
    check(lambda T, i, a, b: i.addmm(a.t(), b.t(), beta=beta, alpha=alpha), inp, rand(3, 2), rand(4, 3))
    gradcheck(lambda i, a, b: ember.addmm(i, a, b, beta=beta, alpha=alpha), inp, rand(2, 3), rand(3, 4),
              gradgrad=True)


def test_addmm_beta_zero_ignores_nan_and_ints():
    nan = np.full((2, 2), np.nan)
    check(lambda T, i, a, b: T.addmm(i, a, b, beta=0), nan, rand(2, 3), rand(3, 2))
    ints = [rand(*s, dtype=np.int64, low=-4, high=4) for s in ((2, 2), (2, 3), (3, 2))]
    check(lambda T, i, a, b: T.addmm(i, a, b, beta=2.5, alpha=1.5), *ints)
    check(lambda T, i, a, b: T.addmm(i, a, b), rand(0, 2), rand(0, 3), rand(3, 2))
    e = ember.addmm(ember.randn(2, 2, requires_grad=True), ember.randn(2, 3), ember.randn(3, 2))
    assert e.grad_fn.name() == "AddmmBackward0"


def test_addmm_errors():
    for lib in (ember, torch):
        f, d = lib.float32, lib.float64
        cases = [
            ((2, 2, f), (2, 3, f), (3, 2, d), "self and mat2 must have the same dtype, but got Float and Double"),
            ((2, 2, f), (2, 3, d), (3, 2, f), "mat1 and mat2 must have the same dtype, but got Double and Float"),
            ((2, 2, f), (3, f), (3, 2, f), "mat1 must be a matrix, got 1-D tensor"),
            ((2, 2, f), (2, 3, f), (3, f), "mat2 must be a matrix, got 1-D tensor"),
            ((2, 2, f), (2, 3, f), (4, 2, f), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)"),
            ((3, f), (2, 3, f), (3, 2, f), r"The expanded size of the tensor \(2\) must match the existing size "
                                           r"\(3\) at non-singleton dimension 1"),
        ]
        for si, sa, sb, msg in cases:
            make = lambda s: lib.ones(*s[:-1], dtype=s[-1])  # noqa: E731
            with pytest.raises(RuntimeError, match=msg):
                lib.addmm(make(si), make(sa), make(sb))


@pytest.mark.parametrize("si", [(2,), (1,), ()])
def test_addmv(si):
    inp = rand(*si) if si else np.array(0.3)
    check(lambda T, i, m, v: T.addmv(i, m, v, beta=0.5, alpha=2), inp, rand(2, 3), rand(3))
    check(lambda T, i, m, v: i.addmv(m, v), inp, rand(2, 3), rand(3))
    gradcheck(lambda i, m, v: ember.addmv(i, m, v, beta=0.5, alpha=2), inp, rand(2, 3), rand(3), gradgrad=True)
    assert ember.addmv(ember.randn(*si, requires_grad=True), ember.randn(2, 3),
                       ember.randn(3)).grad_fn.name() == "AddmvBackward0"


def test_addmv_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="vector \\+ matrix @ vector expected, got 2, 2, 1"):
            lib.addmv(lib.ones(2, 2), lib.ones(2, 3), lib.ones(3))
        with pytest.raises(RuntimeError, match=r"size mismatch, got input \(3\), mat \(2x3\), vec \(3\)"):
            lib.addmv(lib.ones(3), lib.ones(2, 3), lib.ones(3))
        with pytest.raises(RuntimeError, match="addmv input tensors must have the same dtype, but got Double, "
                                               "Float, and Float"):
            lib.addmv(lib.ones(2, dtype=lib.float64), lib.ones(2, 3), lib.ones(3))


@pytest.mark.parametrize("si", [(4, 2, 5), (2, 5), (1,)])
def test_baddbmm_addbmm(si):
    b1, b2 = rand(4, 2, 3), rand(4, 3, 5)
    check(lambda T, i, x, y: T.baddbmm(i, x, y, beta=0.5, alpha=1.5), rand(*si), b1, b2)
    gradcheck(lambda i, x, y: ember.baddbmm(i, x, y, beta=0.5, alpha=1.5), rand(*si), b1, b2, gradgrad=True)
    if len(si) <= 2:
        check(lambda T, i, x, y: T.addbmm(i, x, y, beta=0.5, alpha=1.5), rand(*si), b1, b2)
        check(lambda T, i, x, y: i.addbmm(x.transpose(1, 2), y), rand(*si), rand(4, 3, 2), b2)
        gradcheck(lambda i, x, y: ember.addbmm(i, x, y, alpha=2), rand(*si), b1, b2, gradgrad=True)


def test_baddbmm_addbmm_names_and_errors():
    g = ember.randn(2, 2, requires_grad=True)
    assert ember.baddbmm(g, ember.randn(4, 2, 3), ember.randn(4, 3, 2)).grad_fn.name() == "BaddbmmBackward0"
    assert ember.addbmm(g, ember.randn(4, 2, 3), ember.randn(4, 3, 2)).grad_fn.name() == "AddbmmBackward0"
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Input dtypes must be the same, got: input double, batch1: float, "
                                               "batch2: float"):
            lib.baddbmm(lib.ones(4, 2, 2, dtype=lib.float64), lib.ones(4, 2, 3), lib.ones(4, 3, 2))
        with pytest.raises(RuntimeError, match=r"Expected size for first two dimensions of batch2 tensor to be: "
                                               r"\[4, 3\] but got: \[4, 4\]\."):
            lib.baddbmm(lib.ones(4, 2, 2), lib.ones(4, 2, 3), lib.ones(4, 4, 2))
        with pytest.raises(RuntimeError, match="batch1 and batch2 must have same number of batches, got 4 and 3"):
            lib.addbmm(lib.ones(2, 2), lib.ones(4, 2, 3), lib.ones(3, 3, 2))
        with pytest.raises(RuntimeError, match=r"Incompatible matrix sizes for bmm \(2x3 and 4x2\)"):
            lib.addbmm(lib.ones(2, 2), lib.ones(4, 2, 3), lib.ones(4, 4, 2))


def test_inplace_addmm():
    for lib in (ember, torch):
        x = lib.ones(2, 2)
        x.addmm_(lib.ones(2, 3), lib.ones(3, 2), beta=2, alpha=0.5)
        np.testing.assert_allclose(x.numpy(), np.full((2, 2), 3.5))
    check(lambda T, i, a, b: (i * 1).addmm_(a, b), rand(2, 2), rand(2, 3), rand(3, 2))
    check(lambda T, i, m, v: (i * 1).addmv_(m, v), rand(2), rand(2, 3), rand(3))
    check(lambda T, i, a, b: (i * 1).baddbmm_(a, b), rand(4, 2, 2), rand(4, 2, 3), rand(4, 3, 2))


# ---- einsum -----------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
    ("...ij,...jk", [(7, 2, 3), (5, 1, 3, 4)]),
    ("i...j,...jk->...ik", [(2, 5, 3), (5, 3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("i...i", [(3, 2, 3)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ba", [(2, 3)]),
    ("aB", [(2, 3)]),
    ("b...a", [(2, 4, 3)]),
    ("...ij->ij", [(5, 2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("i,i->", [(4,), (4,)]),
    ("i,i", [(0,), (0,)]),
    ("ij,jk", [(2, 0), (0, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bi,bi->b", [(1, 3), (4, 3)]),
    ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("ij,ij->ij", [(2, 1), (1, 3)]),
    ("...,...->...", [(1, 3), (4, 1)]),
    ("ijk,kj->i", [(2, 3, 4), (4, 3)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("ij,jk->...ik", [(2, 3), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8)]),  # attention scores, large enough for the matmul path
    ("abc,cd->abd", [(8, 16, 32), (32, 24)]),
    ("abc,ab->c", [(8, 16, 32), (8, 16)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum_conformance(eq, shapes):
    check(lambda T, *ops: T.einsum(eq, *ops), *[rand(*s) for s in shapes], atol=1e-5)


@pytest.mark.parametrize("eq,shapes", [c for c in EINSUM_CASES if max(np.prod(s) for s in c[1]) < 100])
def test_einsum_gradcheck(eq, shapes):
    gradcheck(lambda *ops: ember.einsum(eq, *ops), *[rand(*s) for s in shapes], gradgrad=True)


def test_einsum_forms_and_dtypes():
    a, b = rand(2, 3), rand(3, 4)
    check(lambda T, x, y: T.einsum("ij,jk->ik", [x, y]), a, b)
    check(lambda T, x, y: T.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    check(lambda T, x, y: T.einsum(x, [0, 1], y, [1, 2]), a, b)
    check(lambda T, x, y: T.einsum("ij,jk->ik", x.t(), y), noncontiguous(rand(3, 2)), b)
    ia, ib = rand(2, 3, dtype=np.int32, low=-3, high=3), rand(3, 4, dtype=np.int32, low=-3, high=3)
    check(lambda T, x, y: T.einsum("ij,jk->ik", x, y), ia, ib)
    check(lambda T, x: T.einsum("ij->i", x), ia)  # a single-operand sum accumulates ints in int64
    check(lambda T, x: T.einsum("ij->ji", x), ia)
    check(lambda T, x: T.einsum("ij", x), rand(2, 3, dtype=bool))
    check(lambda T, x, y: T.einsum("abc,cd->abd", x, y), rand(8, 16, 32, dtype=np.float32),
          rand(32, 24, dtype=np.float32), atol=1e-4)


def test_einsum_result_owns_storage():
    x = ember.randn(3, 3)
    d = ember.einsum("ii->i", x)
    d.zero_()
    assert x.abs().sum().item() > 0


@pytest.mark.parametrize("eq,shapes,msg,exc", [
    ("ij,jk->ik", [(2, 3), (3, 4)], "expected scalar type Float but found Double", RuntimeError),
    ("ij,jk->ik", [(2, 3), (4, 4)], "einsum\\(\\): subscript j has size 4 for operand 1 which does not broadcast "
                                    "with previously seen size 3", RuntimeError),
    ("ij,jk->ik", [(2, 3)], "einsum\\(\\): fewer operands were provided than specified in the equation",
     RuntimeError),
    ("ij,jk->ik", [(2, 3), (3, 4), (3,)], "einsum\\(\\): more operands were provided than specified in the "
                                          "equation", RuntimeError),
    ("ij,jk->ikk", [(2, 3), (3, 4)], "einsum\\(\\): output subscript k appears more than once in the output",
     RuntimeError),
    ("ij,jk->iz", [(2, 3), (3, 4)], "einsum\\(\\): output subscript z does not appear in the equation for any "
                                    "input operand", RuntimeError),
    ("ijk,jk->ik", [(2, 3), (3, 4)], r"einsum\(\): the number of subscripts in the equation \(3\) does not match "
                                     r"the number of dimensions \(2\) for operand 0 and no ellipsis was given",
     RuntimeError),
    ("...ijk", [(2, 3)], r"einsum\(\): the number of subscripts in the equation \(3\) is more than the number of "
                         r"dimensions \(2\) for operand 0", RuntimeError),
    ("ij,jk->i1", [(2, 3), (3, 4)], r"einsum\(\): invalid subscript given at index 8 in the equation string, "
                                    r"subscripts must be in \[a-zA-Z\]", RuntimeError),
    ("ij-", [(2, 3)], "invalid subscript given at index 2", RuntimeError),
    ("ij->ij->", [(2, 3)], "invalid subscript given at index 6", RuntimeError),
    ("i.j", [(2, 3)], "einsum\\(\\): found '.' for operand 0 that is not part of any ellipsis", RuntimeError),
    ("......", [(3, 4)], "einsum\\(\\): found '.' for operand 0 for which an ellipsis was already found",
     RuntimeError),
    ("ij->..", [(2, 3)], "einsum\\(\\): found '.' for output that is not part of any ellipsis \\(...\\)",
     RuntimeError),
    ("ij->......", [(2, 3)], "einsum\\(\\): found '.' for output but an ellipsis \\(...\\) was already found",
     RuntimeError),
    ("ii->i", [(3, 4)], "einsum\\(\\): subscript i is repeated for operand 0 but the sizes don't match, 4 != 3",
     RuntimeError),
    ("...ij,...jk", [(7, 2, 3), (5, 2, 3, 4)], "einsum\\(\\): dimension 1 covered by ellipsis in operand 1has size "
                                               "2 which does not broadcast with previously seen ellipsis with size "
                                               "7 for the respective dimension", RuntimeError),
])
def test_einsum_errors(eq, shapes, msg, exc):
    for lib in (ember, torch):
        ops = [lib.tensor(rand(*s), dtype=lib.float32 if k == 0 else lib.float64) if "scalar type" in msg
               else lib.tensor(rand(*s)) for k, s in enumerate(shapes)]
        with pytest.raises(exc, match=msg):
            lib.einsum(eq, *ops)
    with pytest.raises(ValueError, match="must specify the equation string and at least one operand"):
        ember.einsum("ij->ij")


# ---- tensordot, kron ----------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])), ((2, 3, 4), (4, 3, 5), [[2], [0]]),
    ((2, 3, 4), (4, 3, 5), 0), ((2, 3, 4), (4, 3, 5), 1), ((2, 3), (2, 3), 2), ((2, 1), (3, 4), ([1], [0])),
    ((2, 3, 4), (4, 3, 5), ([-1], [0])), ((0, 3), (3, 4), 1),
])
def test_tensordot(sa, sb, dims):
    check(lambda T, x, y: T.tensordot(x, y, dims=dims), rand(*sa), rand(*sb))
    gradcheck(lambda x, y: ember.tensordot(x, y, dims=dims), rand(*sa), rand(*sb), gradgrad=True)


def test_tensordot_tensor_dims_ints_and_errors():
    a, b = rand(2, 3, 4), rand(4, 3, 5)
    check(lambda T, x, y: T.tensordot(x, y, dims=T.tensor([[2], [0]])), a, b)
    check(lambda T, x, y: T.tensordot(x, y, dims=T.tensor(1)), a, b)
    check(lambda T, x, y: T.tensordot(x, y, dims=1), rand(2, 3, 4, dtype=np.int64), rand(4, 3, 5, dtype=np.int64))
    for lib in (ember, torch):
        x, y = lib.tensor(a), lib.tensor(b)
        for dims, msg in [(-1, "tensordot expects dims >= 0, but got dims=-1"),
                          (4, "tensordot expects dims < ndim_a or ndim_b, but got dims=4"),
                          (([1], [0, 1]), "both dimension lists should have same length"),
                          (([0], [0]), "contracted dimensions need to match, but first has size 2 in dim 0 and "
                                       "second has size 4 in dim 0"),
                          (2, "contracted dimensions need to match, but first has size 3 in dim -2 and second has "
                              "size 4 in dim 0"),
                          (([1, 1], [1, 1]), "dim 1 appears multiple times in the list of dims")]:
            with pytest.raises(RuntimeError, match=msg):
                lib.tensordot(x, y, dims=dims)
        with pytest.raises(RuntimeError, match="both inputs should have same dtype"):
            lib.tensordot(x, y.float(), dims=1)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((2, 3), (4,)), ((2,), (4, 5, 6)), ((2,), ()), ((0, 2), (3, 1))])
def test_kron(sa, sb):
    check(lambda T, x, y: T.kron(x, y), rand(*sa), rand(*sb) if sb else np.array(1.5))
    if sb:
        gradcheck(lambda x, y: ember.kron(x, y), rand(*sa), rand(*sb), gradgrad=True)
    check(lambda T, x, y: x.kron(y), rand(2, 3, dtype=np.int32), rand(4, dtype=np.float64))
    assert ember.kron(ember.randn(2, 3, requires_grad=True), ember.randn(4)).grad_fn.name() == "UnsafeViewBackward0"


def test_rmatmul_with_numpy_free_path():
    a = ember.tensor(rand(2, 3))
    b = ember.tensor(rand(3, 2))
    np.testing.assert_allclose(b.__rmatmul__(a).numpy(), a.numpy() @ b.numpy())


def test_create_graph_through_matmul():
    x = ember.tensor(rand(3, 3), requires_grad=True)
    w = ember.tensor(rand(3, 3), requires_grad=True)
    tx, tw = torch.tensor(x.detach().numpy(), requires_grad=True), torch.tensor(w.detach().numpy(),
                                                                                requires_grad=True)
    for lib, a, b in ((ember, x, w), (torch, tx, tw)):
        y = (a @ b @ a).sum()
        (g,) = lib.autograd.grad(y, a, create_graph=True)
        (g * g).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6)
