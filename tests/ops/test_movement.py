"""Movement ops (reshape, permute, expand, cat, split, ...) against PyTorch, gradients included."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

# name -> (fn(lib, *tensors), input shapes); ``lib`` is gradstep or torch, the same code runs on both.
ROWS = {
    "reshape": (lambda m, x: x.reshape(2, -1), [(3, 4)]),
    "reshape_tuple": (lambda m, x: m.reshape(x, (4, 1, 3)), [(3, 4)]),
    "reshape_0d": (lambda m, x: x.reshape(1, 1), [()]),
    "reshape_to_0d": (lambda m, x: x.reshape(()), [(1, 1)]),
    "reshape_empty": (lambda m, x: x.reshape(3, -1), [(0, 3)]),
    "reshape_noncontig": (lambda m, x: x.transpose(0, 1).reshape(-1), [(3, 4)]),
    "view": (lambda m, x: x.view(6, 2), [(3, 4)]),
    "view_minus1": (lambda m, x: x.view(-1), [(2, 3, 2)]),
    "view_as": (lambda m, x: x.view_as(x.reshape(4, 3)), [(3, 4)]),
    "flatten": (lambda m, x: x.flatten(), [(2, 3, 4)]),
    "flatten_1": (lambda m, x: x.flatten(1), [(2, 3, 4)]),
    "flatten_neg": (lambda m, x: m.flatten(x, -2, -1), [(2, 3, 4)]),
    "flatten_0d": (lambda m, x: x.flatten(), [()]),
    "unflatten": (lambda m, x: x.unflatten(1, (2, -1)), [(3, 6)]),
    "unflatten_neg": (lambda m, x: m.unflatten(x, -1, (3, 2)), [(3, 6)]),
    "squeeze_all": (lambda m, x: x.squeeze(), [(1, 3, 1, 2)]),
    "squeeze_dim": (lambda m, x: x.squeeze(-2), [(1, 3, 1, 2)]),
    "squeeze_tuple": (lambda m, x: x.squeeze((0, 2)), [(1, 3, 1, 2)]),
    "squeeze_not_one": (lambda m, x: x.squeeze(1), [(1, 3, 1, 2)]),
    "squeeze_0d": (lambda m, x: m.squeeze(x, 0), [()]),
    "unsqueeze": (lambda m, x: x.unsqueeze(1), [(3, 4)]),
    "unsqueeze_neg": (lambda m, x: m.unsqueeze(x, -1), [(3, 4)]),
    "unsqueeze_0d": (lambda m, x: x.unsqueeze(0), [()]),
    "transpose": (lambda m, x: x.transpose(0, 2), [(2, 3, 4)]),
    "transpose_neg": (lambda m, x: m.transpose(x, -1, -2), [(2, 3, 4)]),
    "swapaxes": (lambda m, x: m.swapaxes(x, 0, 1), [(2, 3)]),
    "permute": (lambda m, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    "permute_tuple": (lambda m, x: m.permute(x, (-1, 0, 1)), [(2, 3, 4)]),
    "permute_empty_dim": (lambda m, x: x.permute(1, 0), [(0, 3)]),
    "T": (lambda m, x: x.T, [(3, 4)]),
    "mT": (lambda m, x: x.mT, [(2, 3, 4)]),
    "t": (lambda m, x: m.t(x), [(3, 4)]),
    "movedim": (lambda m, x: m.movedim(x, 0, -1), [(2, 3, 4)]),
    "movedim_tuple": (lambda m, x: x.movedim((0, 1), (2, 0)), [(2, 3, 4)]),
    "expand": (lambda m, x: x.expand(2, 3, 4), [(3, 1)]),
    "expand_minus1": (lambda m, x: x.expand(-1, 4), [(3, 1)]),
    "expand_tuple": (lambda m, x: x.expand((5, 3, 2)), [(3, 2)]),
    "expand_0d": (lambda m, x: x.expand(2, 3), [()]),
    "expand_as": (lambda m, x, y: x.expand_as(y), [(1, 4), (3, 4)]),
    "broadcast_to": (lambda m, x: m.broadcast_to(x, (2, 3, 4)), [(4,)]),
    "expand_empty": (lambda m, x: x.expand(0, 3), [(1, 3)]),
    "repeat": (lambda m, x: x.repeat(2, 1), [(2, 3)]),
    "repeat_more_dims": (lambda m, x: x.repeat(2, 1, 3), [(2, 3)]),
    "repeat_zero": (lambda m, x: x.repeat(0, 2), [(2, 3)]),
    "repeat_0d": (lambda m, x: x.repeat(3), [()]),
    "tile": (lambda m, x: m.tile(x, (2,)), [(2, 3)]),
    "contiguous": (lambda m, x: x.transpose(0, 1).contiguous() * 2, [(3, 4)]),
    "flip": (lambda m, x: x.flip(0), [(3, 4)]),
    "flip_dims": (lambda m, x: m.flip(x, (0, -1)), [(2, 3, 4)]),
    "fliplr": (lambda m, x: m.fliplr(x), [(2, 3)]),
    "narrow": (lambda m, x: x.narrow(1, 1, 2), [(2, 4)]),
    "narrow_neg": (lambda m, x: m.narrow(x, -1, -3, 2), [(2, 4)]),
    "select": (lambda m, x: x.select(1, -1), [(2, 3, 4)]),
    "unbind": (lambda m, x: x.unbind(1)[2] * 3 + x.unbind(1)[0], [(2, 3)]),
    "split_size": (lambda m, x: x.split(2, 1)[1], [(3, 5)]),
    "split_last": (lambda m, x: x.split(2, -1)[-1], [(3, 5)]),
    "split_sections": (lambda m, x: m.split(x, [1, 0, 4], dim=1)[2], [(3, 5)]),
    "split_all": (lambda m, x: m.cat([p * (i + 1) for i, p in enumerate(x.split(2))]), [(5, 2)]),
    "chunk": (lambda m, x: x.chunk(3, 0)[1], [(5, 2)]),
    "chunk_all": (lambda m, x: m.cat([p * (i + 1) for i, p in enumerate(x.chunk(4, -1))], -1), [(2, 6)]),
    "cat": (lambda m, x, y: m.cat([x, y], 1), [(2, 3), (2, 4)]),
    "cat_neg": (lambda m, x, y: m.cat((x, y, x), -1), [(2, 3), (2, 1)]),
    "cat_dim0": (lambda m, x, y: m.cat([x, y]), [(2, 3), (1, 3)]),
    "cat_empty": (lambda m, x, y: m.cat([x, y], 0), [(0, 3), (2, 3)]),
    "cat_legacy_1d_empty": (lambda m, x, y: m.cat([x, y], 1), [(2, 3), (0,)]),
    "cat_single": (lambda m, x: m.cat([x]), [(2, 3)]),
    "concat": (lambda m, x, y: m.concat([x, y], 0), [(2,), (3,)]),
    "stack": (lambda m, x, y: m.stack([x, y]), [(2, 3), (2, 3)]),
    "stack_neg": (lambda m, x, y: m.stack([x, y, x], -1), [(2, 3), (2, 3)]),
    "stack_0d": (lambda m, x, y: m.stack([x, y]), [(), ()]),
    "hstack": (lambda m, x, y: m.hstack([x, y]), [(2, 3), (2, 1)]),
    "vstack": (lambda m, x, y: m.vstack([x, y]), [(3,), (2, 3)]),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_movement_op(name, torch, rng):
    fn, shapes = ROWS[name]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    check(lambda *t: fn(gs, *t), lambda *t: fn(torch, *t), arrays, torch=torch)


def test_cat_promotes_dtypes(torch):
    a, b = np.ones((2,), np.float32), np.ones((3,), np.float64)
    out = gs.cat([gs.tensor(a), gs.tensor(b)])
    assert out.dtype == gs.float64 == np.dtype(str(torch.cat([torch.tensor(a), torch.tensor(b)]).dtype)[6:])
    ints = gs.cat([gs.tensor([1, 2]), gs.tensor([0.5])])
    assert ints.dtype == gs.float32
    assert gs.stack([gs.tensor([1]), gs.tensor([True])]).dtype == gs.int64


def test_views_share_memory_and_version():
    x = gs.zeros(3, 4)
    for view in (x.reshape(12), x.view(4, 3), x.transpose(0, 1), x.permute(1, 0), x.unsqueeze(0), x[1:],
                 x.narrow(0, 0, 2), x.split(1)[0], x.select(0, 1), x.squeeze(), x.flatten()):
        assert np.shares_memory(view._data, x._data)
        assert view._version is x._version
    for copy in (x.flip(0), x.repeat(1, 1), gs.cat([x]), gs.stack([x]), x.transpose(0, 1).reshape(-1)):
        assert not np.shares_memory(copy._data, x._data)
        assert copy._version is not x._version


def test_view_write_shows_in_base():
    x = gs.zeros(2, 3)
    x.view(6)[1] = 5.0
    x.transpose(0, 1)[2, 1] = 7.0
    assert x.tolist() == [[0.0, 5.0, 0.0], [0.0, 0.0, 7.0]]


def test_contiguous():
    x = gs.randn(3, 4)
    assert x.contiguous() is x and x.is_contiguous()
    y = x.T
    assert not y.is_contiguous()
    c = y.contiguous()
    assert c.is_contiguous() and np.array_equal(c.numpy(), y.numpy())


def test_split_and_chunk_shapes(torch):
    x = np.zeros((7, 0, 3), np.float32)
    for op in (lambda m, t: t.split(3), lambda m, t: t.chunk(3), lambda m, t: t.chunk(10), lambda m, t: t.split(2, 2),
               lambda m, t: t.chunk(2, 1), lambda m, t: t.split(1, 1), lambda m, t: m.split(t, [2, 5]), lambda m, t: t.unbind(2)):
        got = [p.shape for p in op(gs, gs.tensor(x))]
        want = [tuple(p.shape) for p in op(torch, torch.tensor(x))]
        assert got == want


def test_float32_and_int_dtypes_kept():
    x = gs.randn(2, 3)
    for f in (lambda t: t.reshape(-1), lambda t: t.T, lambda t: t.expand(4, 2, 3), lambda t: gs.cat([t, t]),
              lambda t: t.repeat(2, 2), lambda t: t.flip(0)):
        assert f(x).dtype == gs.float32
        assert f(gs.tensor([[1, 2, 3], [4, 5, 6]])).dtype == gs.int64


def test_expand_is_not_copied_and_grad_sums():
    x = gs.randn(3, 1, requires_grad=True)
    y = x.expand(2, 3, 5)
    assert y._data.strides[0] == 0
    y.sum().backward()
    assert x.grad.shape == (3, 1) and np.allclose(x.grad.numpy(), 10.0)


# ------------------------------------------------------------------ errors
def test_reshape_errors():
    x = gs.zeros(3, 4)
    with pytest.raises(gs.ShapeError, match=r"reshape: shape \(3, 5\) is invalid for input of size 12"):
        x.reshape(3, 5)
    with pytest.raises(gs.ShapeError, match=r"only one dimension can be inferred"):
        x.reshape(-1, -1)
    with pytest.raises(gs.ShapeError, match=r"invalid size -2"):
        x.reshape(-2, 6)
    with pytest.raises(gs.ShapeError, match=r"view: shape \(5, -1\) is invalid for input of size 12"):
        x.view(5, -1)
    with pytest.raises(gs.ShapeError, match="ambiguous"):
        gs.zeros(0).reshape(-1, 0)
    with pytest.raises(gs.DTypeError, match="sizes must be ints"):
        x.reshape(3.0, 4)
    with pytest.raises(gs.ShapeError, match=r"unflatten: sizes \(2, 3\) don't multiply up to the size of dim 1 \(4\)"):
        gs.zeros(3, 4).unflatten(1, (2, 3))


def test_dim_errors_are_index_errors():
    x = gs.zeros(2, 3)
    for f in (lambda: x.transpose(0, 2), lambda: x.unsqueeze(3), lambda: x.squeeze(2), lambda: x.flatten(2),
              lambda: gs.cat([x, x], 2), lambda: gs.stack([x, x], -4), lambda: x.split(1, 5), lambda: x.flip(2),
              lambda: x.permute(0, 3), lambda: x.select(2, 0)):
        with pytest.raises(IndexError, match="out of range"):
            f()
    with pytest.raises(ValueError, match="name a dimension more than once"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"permute: the number of dims \(1\) must equal"):
        x.permute(0)
    with pytest.raises(ValueError, match="start_dim .* cannot come after end_dim"):
        gs.zeros(2, 3, 4).flatten(2, 1)


def test_cat_and_stack_errors():
    with pytest.raises(gs.ShapeError, match=r"cat: expected tensors of shape \(2, \*\) .* got \(3, 4\) at position 1"):
        gs.cat([gs.zeros(2, 3), gs.zeros(3, 4)], 1)
    with pytest.raises(gs.ShapeError, match=r"cat: expected tensors of shape \(\*, 3\) .* got \(2, 3, 1\) at position 2"):
        gs.cat([gs.zeros(2, 3), gs.zeros(1, 3), gs.zeros(2, 3, 1)])
    with pytest.raises(gs.ShapeError, match=r"zero-dimensional tensor \(at position 0\)"):
        gs.cat([gs.tensor(1.0), gs.tensor(2.0)])
    with pytest.raises(ValueError, match="non-empty list"):
        gs.cat([])
    with pytest.raises(TypeError, match="list or tuple of tensors"):
        gs.cat(gs.zeros(2, 3))
    with pytest.raises(gs.ShapeError, match=r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 and \(2, 4\) at entry 1"):
        gs.stack([gs.zeros(2, 3), gs.zeros(2, 4)])


def test_expand_repeat_split_errors():
    x = gs.zeros(2, 3)
    with pytest.raises(gs.ShapeError, match=r"expand: the expanded size \(4\) must match the existing size \(3\) at non-singleton dimension 1"):
        x.expand(2, 4)
    with pytest.raises(gs.ShapeError, match=r"number of sizes provided \(1\)"):
        x.expand(3)
    with pytest.raises(gs.ShapeError, match="isn't allowed in a new leading dimension"):
        x.expand(-1, 2, 3)
    with pytest.raises(gs.ShapeError, match=r"repeat: the number of repeat sizes \(1\)"):
        x.repeat(2)
    with pytest.raises(gs.ShapeError, match=r"split sizes \[1, 1, 1\] must be >= 0 and sum exactly to 2"):
        x.split([1, 1, 1], 0)
    with pytest.raises(ValueError, match="split_size must be a positive int"):
        x.split(0)
    with pytest.raises(ValueError, match="chunks must be a positive int"):
        x.chunk(0)
    with pytest.raises(IndexError, match=r"narrow: start \(2\) \+ length \(2\)"):
        x.narrow(1, 2, 2)
    with pytest.raises(IndexError, match="select: index 3 is out of bounds for dimension 1 with size 3"):
        x.select(1, 3)
