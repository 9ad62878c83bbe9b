"""Indexing (getitem/setitem, gather/scatter, index_select, masked_fill, tril/triu, nonzero) against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

MASK = np.array([True, False, True, True])
MASK2 = np.array([[True, False, True], [False, False, True], [True, True, False], [False, True, False]])

# name -> fn(x, T) where T makes an index tensor in the library of x (gs.tensor or torch.tensor); x has shape (4, 3, 5).
GETITEM = {
    "int": lambda x, T: x[1],
    "neg_int": lambda x, T: x[-1],
    "ints": lambda x, T: x[1, 2, 3],
    "slice": lambda x, T: x[1:3],
    "slice_step": lambda x, T: x[::2, 1:, -3:],
    "slice_empty": lambda x, T: x[3:1],
    "slice_clamped": lambda x, T: x[2:100, -100:2],
    "none": lambda x, T: x[None, :, None, 1],
    "ellipsis": lambda x, T: x[..., 0],
    "ellipsis_mid": lambda x, T: x[1, ..., None, 2],
    "list": lambda x, T: x[[0, 2, 0]],
    "repeated": lambda x, T: x[T([1, 1, 3, 1])],
    "negative_array": lambda x, T: x[T([-1, 0, -4])],
    "array_2d": lambda x, T: x[T([[0, 1], [1, 1]])],
    "array_dim1": lambda x, T: x[:, T([2, 0, 2])],
    "array_last": lambda x, T: x[..., T([4, 4, 0])],
    "two_arrays": lambda x, T: x[T([0, 3, 0]), T([1, 2, 1])],
    "arrays_broadcast": lambda x, T: x[T([[0], [3]]), :, T([1, 2, 1])],
    "arrays_separated": lambda x, T: x[T([0, 1]), 1:, T([2, 2])],
    "int_then_array": lambda x, T: x[0, :, T([0, 1])],
    "array_int_array": lambda x, T: x[T([0, 1]), 2, T([3, 3])],
    "array_with_none": lambda x, T: x[T([0, 2]), None, T([1, 1])],
    "array_slice_none": lambda x, T: x[None, 1:3, T([0, 0, 2])],
    "mask": lambda x, T: x[T(MASK)],
    "mask_2d": lambda x, T: x[T(MASK2)],
    "mask_dim1": lambda x, T: x[:, T(MASK2[0])],
    "mask_and_array": lambda x, T: x[T(MASK), :, T([0, 4, 4])],
    "mask_none": lambda x, T: x[T(np.zeros(4, bool))],
    "true": lambda x, T: x[True],
    "false": lambda x, T: x[False],
    "empty_list": lambda x, T: x[[]],
    "int_tensor_0d": lambda x, T: x[T(2)],
    "int32_index": lambda x, T: x[T(np.array([1, 0], np.int32))],
    "tuple_in_index": lambda x, T: x[(0, 1), 2],
}


@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem(name, torch, rng):
    fn = GETITEM[name]
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    check(lambda t: fn(t, gs.tensor), lambda t: fn(t, torch.tensor), [x], torch=torch)


def test_getitem_empty_and_0d(torch, rng):
    e = rng.standard_normal((0, 3)).astype(np.float32)
    check(lambda t: t[:, 1], lambda t: t[:, 1], [e], torch=torch)
    check(lambda t: t[gs.tensor(np.zeros(0, np.int64))], lambda t: t[torch.zeros(0, dtype=torch.long)], [e], torch=torch)
    s = np.array(2.5, np.float32)
    check(lambda t: t[None], lambda t: t[None], [s], torch=torch)
    check(lambda t: t[...], lambda t: t[...], [s], torch=torch)


def test_negative_step_slices_match_flip(torch, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    check(lambda t: t[::-1], lambda t: t.flip(0), [x], torch=torch)
    check(lambda t: t[:, ::-2], lambda t: t.flip(1)[:, ::2], [x], torch=torch)
    check(lambda t: t[3:0:-1, 1], lambda t: t.flip(0)[0:3, 1], [x], torch=torch)


def test_repeated_index_gradient_accumulates():
    x = gs.zeros(3, 2, requires_grad=True)
    x[gs.tensor([0, 2, 0, 0])].sum().backward()
    assert x.grad.tolist() == [[3.0, 3.0], [0.0, 0.0], [1.0, 1.0]]
    y = gs.zeros(3, 4, requires_grad=True)
    y[gs.tensor([1, 1]), gs.tensor([2, 2])].sum().backward()  # fast flat path, two arrays
    assert y.grad[1, 2].item() == 2.0 and y.grad.sum().item() == 2.0
    z = gs.zeros(3, 4, requires_grad=True)
    z[1:, gs.tensor([0, 0, 3])].sum().backward()  # generic add.at path after a basic view
    assert z.grad.tolist() == [[0, 0, 0, 0], [2, 0, 0, 1], [2, 0, 0, 1]]


def test_basic_index_is_view_advanced_is_copy():
    x = gs.zeros(3, 4)
    v = x[1:, None, 2]
    assert np.shares_memory(v._data, x._data) and v._version is x._version
    a = x[gs.tensor([0, 1])]
    assert not np.shares_memory(a._data, x._data) and a._version is not x._version
    assert isinstance(x[1, 2]._data, np.ndarray) and x[1, 2].shape == ()


def test_iteration_uses_getitem():
    x = gs.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    (rows[0] * 2 + rows[1]).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0], [1.0, 1.0]]


# ------------------------------------------------------------------ setitem
def _setter(index_fn, value_is_tensor=True):
    def fn(x, v, T, lib):
        y = x * 1  # a non-leaf copy, so in-place writes are allowed in both libraries
        y[index_fn(T)] = v if value_is_tensor else 1.5
        return y * 2

    return fn


SETITEM = {
    "int": (lambda T: 1, (3, 5)),
    "slice": (lambda T: (slice(None), slice(1, 3)), (2, 1)),
    "broadcast_value": (lambda T: (slice(1, 3),), (5,)),
    "value_extra_leading_ones": (lambda T: 2, (1, 1, 5)),
    "array": (lambda T: T([0, 3]), (2, 3, 5)),
    "array_dim1": (lambda T: (slice(None), T([2, 0])), (1, 2, 5)),
    "mask": (lambda T: T(MASK), (3, 3, 5)),
    "mask_2d": (lambda T: T(MASK2), (5,)),
    "int_array": (lambda T: (0, slice(None), T([1, 4])), (3, 2)),
    "scalar_index": (lambda T: (1, 2, 3), ()),
}


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_grads(name, torch, rng):
    index_fn, vshape = SETITEM[name]
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    v = rng.standard_normal(vshape).astype(np.float32)
    fn = _setter(index_fn)
    check(lambda a, b: fn(a, b, gs.tensor, gs), lambda a, b: fn(a, b, torch.tensor, torch), [x, v], torch=torch)


def test_setitem_scalar_value(torch, rng):
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    fn = _setter(lambda T: T(MASK), value_is_tensor=False)
    check(lambda a: fn(a, None, gs.tensor, gs), lambda a: fn(a, None, torch.tensor, torch), [x], torch=torch)


def test_setitem_without_grad_writes_in_place():
    x = gs.zeros(2, 3)
    before = x._version[0]
    x[0, 1] = 4
    x[x == 0] = 1.0
    x[:, gs.tensor([2])] = gs.tensor([[7.0], [8.0]])
    assert x.tolist() == [[1.0, 4.0, 7.0], [1.0, 1.0, 8.0]]
    assert x._version[0] == before + 3
    i = gs.zeros(3, dtype=gs.int64)
    i[1] = 2.7  # cast like PyTorch
    assert i.tolist() == [0, 2, 0] and i.dtype == gs.int64


def test_setitem_value_requires_grad_on_plain_tensor(torch):
    v = gs.tensor([1.0, 2.0], requires_grad=True)
    x = gs.zeros(3, 2)
    x[1] = v
    (x * gs.tensor([[1.0, 1.0], [3.0, 4.0], [1.0, 1.0]])).sum().backward()
    assert v.grad.tolist() == [3.0, 4.0]


def test_setitem_on_leaf_requiring_grad_is_refused():
    w = gs.zeros(3, requires_grad=True)
    with pytest.raises(gs.GradError, match="leaf"):
        w[0] = 1.0
    with gs.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0]


def test_writing_into_expanded_view_is_refused():
    e = gs.zeros(3).expand(2, 3)
    with pytest.raises(gs.GradError, match="expanded"):
        e[0, 0] = 1.0
    with pytest.raises(gs.GradError, match="expanded"):
        e.masked_fill_(gs.ones(3, dtype=gs.bool), 1.0)
    c = e.contiguous()
    c[0, 0] = 1.0
    assert c.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_setitem_shape_error():
    x = gs.zeros(2, 3)
    with pytest.raises(gs.ShapeError, match=r"can't assign a value of shape \(4,\)"):
        x[0] = gs.zeros(4)
    y = gs.zeros(2, 3) * gs.ones(1, requires_grad=True)
    with pytest.raises(gs.ShapeError, match=r"can't assign a value of shape \(4,\)"):
        y[0] = gs.zeros(4)


def test_index_put(torch, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    v = rng.standard_normal((3, 3)).astype(np.float32)
    idx = np.array([0, 2, 0])
    check(lambda a, b: gs.index_put(a, (gs.tensor(idx),), b, accumulate=True),
          lambda a, b: torch.index_put(a, (torch.tensor(idx),), b, accumulate=True), [x, v], torch=torch)
    check(lambda a, b: gs.index_put(a, (gs.tensor([1, 3]),), b[:2]),
          lambda a, b: torch.index_put(a, (torch.tensor([1, 3]),), b[:2]), [x, v], torch=torch)


# ------------------------------------------------------------ gather/scatter
GATHER = [
    ((3, 4), 0, (2, 4)),
    ((3, 4), 1, (3, 6)),
    ((3, 4), -1, (2, 2)),  # index smaller than input outside dim
    ((2, 3, 4), 1, (2, 5, 4)),
    ((2, 3, 4), -3, (1, 3, 2)),
    ((3, 4), 1, (3, 0)),
    ((5,), 0, (7,)),
]


@pytest.mark.parametrize("shape,dim,ishape", GATHER, ids=str)
def test_gather(shape, dim, ishape, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, shape[dim], ishape)  # repeats included
    check(lambda a, i: gs.gather(a, dim, i), lambda a, i: torch.gather(a, dim, i), [x, idx], torch=torch)
    check(lambda a, i: a.gather(dim, i), lambda a, i: a.gather(dim, i), [x, idx], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shape,dim,ishape", GATHER, ids=str)
def test_scatter_add(shape, dim, ishape, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, shape[dim], ishape)
    src = rng.standard_normal(ishape).astype(np.float32)
    check(lambda a, i, s: gs.scatter_add(a, dim, i, s), lambda a, i, s: torch.scatter_add(a, dim, i, s),
          [x, idx, src], torch=torch)


def test_scatter_src_larger_than_index(torch, rng):
    # PyTorch computes the value but its backward rejects this case, so gradients are checked numerically.
    x = rng.standard_normal((3, 4))
    idx = np.array([[0, 2], [1, 1]])
    src = rng.standard_normal((3, 3))
    for op in ("scatter_add", "scatter"):
        got = getattr(gs, op)(gs.tensor(x), 0, gs.tensor(idx), gs.tensor(src))
        want = getattr(torch, op)(torch.tensor(x), 0, torch.tensor(idx), torch.tensor(src))
        np.testing.assert_allclose(got.numpy(), want.numpy())
        inputs = [gs.tensor(x, requires_grad=True), gs.tensor(src, requires_grad=True)]
        gs.gradcheck(lambda a, s: getattr(gs, op)(a, 0, gs.tensor(idx), s), inputs)


def test_scatter(torch, rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    idx = np.stack([rng.permutation(5)[:3] for _ in range(2)])  # no repeats along dim 1: the result is well defined
    src = rng.standard_normal((2, 3)).astype(np.float32)
    check(lambda a, i, s: gs.scatter(a, 1, i, s), lambda a, i, s: torch.scatter(a, 1, i, s), [x, idx, src], torch=torch)
    check(lambda a, i: a.scatter(1, i, value=2.5), lambda a, i: a.scatter(1, i, value=2.5), [x, idx], torch=torch)
    idx0 = np.array([[2, 0, 1, 1, 0]])
    src0 = rng.standard_normal((1, 5)).astype(np.float32)
    check(lambda a, i, s: gs.scatter(a, 0, i, s), lambda a, i, s: torch.scatter(a, 0, i, s), [x, idx0, src0], torch=torch)


def test_scatter_in_place(torch):
    x = gs.zeros(2, 3)
    x.scatter_(1, gs.tensor([[2], [0]]), gs.tensor([[5.0], [6.0]]))
    x.scatter_add_(0, gs.tensor([[1, 1, 1]]), gs.ones(1, 3))
    t = torch.zeros(2, 3)
    t.scatter_(1, torch.tensor([[2], [0]]), torch.tensor([[5.0], [6.0]]))
    t.scatter_add_(0, torch.tensor([[1, 1, 1]]), torch.ones(1, 3))
    assert x.tolist() == t.tolist()


@pytest.mark.parametrize("shape,dim", [((4, 3), 0), ((4, 3), 1), ((2, 3, 4), -1), ((0, 3), 1)], ids=str)
def test_index_select(shape, dim, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    n = shape[dim]
    idx = rng.integers(0, n, 6) if n else np.zeros(0, np.int64)
    check(lambda a, i: gs.index_select(a, dim, i), lambda a, i: torch.index_select(a, dim, i), [x, idx], torch=torch)


def test_take_and_take_along_dim(torch, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    idx = rng.integers(0, 12, (2, 5))
    check(lambda a, i: gs.take(a, i), lambda a, i: torch.take(a, i), [x, idx], torch=torch)
    idx2 = rng.integers(0, 4, (1, 6))
    check(lambda a, i: gs.take_along_dim(a, i, 1), lambda a, i: torch.take_along_dim(a, i, 1), [x, idx2], torch=torch)
    check(lambda a, i: gs.take_along_dim(a, i), lambda a, i: torch.take_along_dim(a, i), [x, idx], torch=torch)


# --------------------------------------------------------------- masked_fill
def test_masked_fill(torch, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    m = rng.standard_normal((3, 4)) > 0
    check(lambda a, k: a.masked_fill(k, -1.5), lambda a, k: a.masked_fill(k, -1.5), [x, m], torch=torch)
    mb = rng.standard_normal((4,)) > 0  # broadcast mask
    check(lambda a, k: gs.masked_fill(a, k, 0.0), lambda a, k: torch.masked_fill(a, k, 0.0), [x, mb], torch=torch)
    mbig = rng.standard_normal((2, 3, 4)) > 0  # the mask broadcasts the input
    check(lambda a, k: a.masked_fill(k, 2.0), lambda a, k: a.masked_fill(k, 2.0), [x, mbig], torch=torch)
    v = np.array(0.7, np.float32)  # a 0-d value tensor gets the sum of the gradient where the mask is True
    check(lambda a, k, w: a.masked_fill(k, w), lambda a, k, w: a.masked_fill(k, w), [x, m, v], torch=torch)


def test_masked_fill_in_place(torch, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    m = rng.standard_normal((4,)) > 0

    def fn(a, k, lib):
        y = a * 1
        y.masked_fill_(k, 3.0)
        return y * y

    check(lambda a, k: fn(a, k, gs), lambda a, k: fn(a, k, torch), [x, m], torch=torch)
    plain = gs.tensor(x)
    plain.masked_fill_(gs.tensor(m), 0.0)
    assert np.array_equal(plain.numpy(), np.where(m, 0.0, x))


def test_masked_fill_int_tensor():
    x = gs.tensor([1, 2, 3])
    out = x.masked_fill(x > 1, 0)
    assert out.tolist() == [1, 0, 0] and out.dtype == gs.int64


# --------------------------------------------------------------- tril/triu
@pytest.mark.parametrize("op", ["tril", "triu"])
@pytest.mark.parametrize("shape,diagonal", [((4, 4), 0), ((3, 5), -1), ((2, 3, 4), 2), ((5, 3), 1), ((0, 3), 0)], ids=str)
def test_tril_triu(op, shape, diagonal, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    check(lambda a: getattr(a, op)(diagonal), lambda a: getattr(a, op)(diagonal), [x], torch=torch)
    check(lambda a: getattr(gs, op)(a, diagonal=diagonal), lambda a: getattr(torch, op)(a, diagonal=diagonal), [x],
          torch=torch, gradcheck=False)


def test_tril_bool_and_in_place():
    m = gs.ones(3, 3, dtype=gs.bool).tril()
    assert m.dtype == gs.bool and m.sum().item() == 6
    x = gs.ones(2, 2)
    x.triu_(1)
    assert x.tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_nonzero(torch, rng):
    x = np.where(rng.standard_normal((3, 4)) > 0, rng.standard_normal((3, 4)), 0).astype(np.float32)
    got, want = gs.nonzero(gs.tensor(x)), torch.nonzero(torch.tensor(x))
    assert got.dtype == gs.int64 and np.array_equal(got.numpy(), want.numpy())
    for g, w in zip(gs.tensor(x).nonzero(as_tuple=True), torch.tensor(x).nonzero(as_tuple=True)):
        assert np.array_equal(g.numpy(), w.numpy())
    assert gs.nonzero(gs.zeros(0, 2)).shape == (0, 2)


# ------------------------------------------------------------------ errors
def test_getitem_errors():
    x = gs.zeros(2, 3)
    with pytest.raises(gs.DTypeError, match="float32"):
        x[gs.tensor([0.0, 1.0])]
    with pytest.raises(TypeError, match="float64"):
        x[np.array([0.5])]
    with pytest.raises(gs.DTypeError, match="a float"):
        x[1.5]
    with pytest.raises(IndexError, match=r"index 5 is out of bounds for dimension 0 with size 2"):
        x[5]
    with pytest.raises(IndexError, match=r"index -4 is out of bounds for dimension 1 with size 3"):
        x[0, -4]
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for dimension 1 with size 3"):
        x[:, gs.tensor([0, 3])]
    with pytest.raises(IndexError, match=r"index 7 is out of bounds for dimension 1 with size 3"):
        x[gs.tensor([0]), gs.tensor([7])]
    with pytest.raises(IndexError, match=r"too many indices \(3\) for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match=r"the shape of the mask \(3,\) at index 0 does not match"):
        x[gs.tensor([True, False, True])]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="broadcast"):
        x[gs.tensor([0, 1]), gs.tensor([0, 1, 2])]
    with pytest.raises(IndexError, match="tensor of dimension 0"):
        gs.tensor(1.0)[0]


def test_gather_scatter_errors():
    x = gs.zeros(2, 3)
    with pytest.raises(gs.DTypeError, match="gather: expected an int64 index tensor, got dtype float32"):
        x.gather(1, gs.tensor([[0.0]]))
    with pytest.raises(gs.DTypeError, match="bool"):
        x.gather(1, gs.tensor([[True]]))
    with pytest.raises(IndexError, match=r"gather: index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, gs.tensor([[0, 3]]))
    with pytest.raises(IndexError, match=r"gather: index -1 is out of bounds"):
        x.gather(1, gs.tensor([[-1]]))
    with pytest.raises(gs.ShapeError, match="same number of dimensions"):
        x.gather(1, gs.tensor([0, 1]))
    with pytest.raises(gs.ShapeError, match=r"no larger than input \(2, 3\) except in dimension 1"):
        x.gather(1, gs.tensor([[0], [0], [0]]))
    with pytest.raises(IndexError, match="out of range"):
        x.gather(2, gs.tensor([[0]]))
    with pytest.raises(gs.ShapeError, match=r"no larger than src \(1, 1\)"):
        x.scatter_add(1, gs.tensor([[0, 1]]), gs.ones(1, 1))
    with pytest.raises(gs.DTypeError, match="src of the input's dtype float32, got float64"):
        x.scatter_add(1, gs.tensor([[0]]), gs.ones(1, 1, dtype=gs.float64))
    with pytest.raises(gs.DTypeError, match="index_select: expected an int64 index tensor"):
        x.index_select(0, gs.tensor([0.0]))
    with pytest.raises(gs.ShapeError, match="index_select: index must be a 1-d tensor"):
        x.index_select(0, gs.tensor([[0]]))
    with pytest.raises(IndexError, match="index_select: index 2 is out of bounds for dimension 0 with size 2"):
        x.index_select(0, gs.tensor([0, 2]))


def test_masked_fill_and_tril_errors():
    x = gs.zeros(2, 3)
    with pytest.raises(gs.DTypeError, match="only supports boolean masks, got a mask of dtype int64"):
        x.masked_fill(gs.tensor([1, 0, 1]), 1.0)
    with pytest.raises(gs.ShapeError, match="0-dimensional value tensor"):
        x.masked_fill(gs.tensor([True, False, True]), gs.tensor([1.0]))
    with pytest.raises(gs.ShapeError, match=r"masked_fill: shapes \(2, 3\) and \(2,\)"):
        x.masked_fill(gs.tensor([True, False]), 1.0)
    with pytest.raises(gs.ShapeError, match=r"masked_fill_: mask of shape \(2, 2, 3\) doesn't broadcast"):
        x.masked_fill_(gs.ones(2, 2, 3, dtype=gs.bool), 1.0)
    with pytest.raises(gs.ShapeError, match="tril: input tensor must have at least 2 dimensions"):
        gs.zeros(3).tril()


def test_index_put_accumulates_with_0d_index(torch):
    got = gs.zeros(3)
    want = torch.zeros(3)
    for _ in range(2):
        got = got.index_put((gs.tensor(1),), gs.tensor(1.0), accumulate=True)
        want = want.index_put((torch.tensor(1),), torch.tensor(1.0), accumulate=True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
