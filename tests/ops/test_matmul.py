"""matmul, mm, bmm, mv, dot and linear against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((5, 3, 4), (1, 4, 2)),
    ((1, 2, 3), (4, 1, 3, 2)),
    ((2, 0, 3), (3, 4)),
    ((2, 0), (0, 3)),
    ((0,), (0,)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes, torch, rng):
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], torch=torch)
    check(lambda x, y: x.matmul(y), lambda x, y: x.matmul(y), [a, b], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shapes", [((2, 3, 4), (4, 5)), ((3,), (3, 4)), ((2, 3), (2, 3, 4))], ids=str)
@pytest.mark.parametrize("which", [0, 1])
def test_matmul_one_operand_needs_grad(shapes, which, torch, rng):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grad = [i == which for i in range(2)]
    check(lambda x, y: x @ y, lambda x, y: x @ y, arrays, torch=torch, grad=grad)


@pytest.mark.parametrize("name,shapes", [
    ("mm", ((2, 3), (3, 4))), ("bmm", ((2, 3, 4), (2, 4, 5))), ("mv", ((2, 3), (3,))), ("dot", ((4,), (4,))),
])
def test_aliases(name, shapes, torch, rng):
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    check(getattr(gs, name), getattr(torch, name), [a, b], torch=torch)
    check(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), [a, b], torch=torch, gradcheck=False)


def test_integer_matmul(torch, rng):
    a = rng.integers(-3, 4, (2, 3))
    b = rng.integers(-3, 4, (3, 4))
    got = gs.tensor(a) @ gs.tensor(b)
    assert got.dtype == gs.int64
    np.testing.assert_array_equal(got.numpy(), (torch.tensor(a) @ torch.tensor(b)).numpy())


def test_matmul_result_holds_an_array():
    out = gs.ones(3) @ gs.ones(3)
    assert isinstance(out._data, np.ndarray) and out.shape == () and out.item() == 3.0


LINEAR = [((4, 3), True), ((4, 3), False), ((2, 5, 3), True), ((2, 2, 2, 3), False), ((3,), True), ((0, 3), True), ((1, 3), True)]


@pytest.mark.parametrize("shape,with_bias", LINEAR, ids=str)
def test_linear(shape, with_bias, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((6, 3)).astype(np.float32)
    arrays = [x, w] + ([rng.standard_normal(6).astype(np.float32)] if with_bias else [])
    F = torch.nn.functional
    check(gs.linear, F.linear, arrays, torch=torch)


@pytest.mark.parametrize("grad", [[False, True, True], [True, False, False], [False, False, True]], ids=str)
def test_linear_skips_unneeded_grads(grad, torch, rng):
    arrays = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(4).astype(np.float32)]
    check(gs.linear, torch.nn.functional.linear, arrays, torch=torch, grad=grad)
    x = gs.tensor(arrays[0])
    w = gs.tensor(arrays[1], requires_grad=True)
    y = gs.linear(x, w)
    assert y._ctx.needs_input_grad == (False, True)
    assert y._ctx.backward(np.ones((5, 4), np.float32))[0] is None  # no dx for an input without grad


@pytest.mark.parametrize("bias_shape", [(), (5, 4), (1, 4)], ids=str)
def test_linear_broadcast_bias(bias_shape, torch, rng):
    arrays = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(bias_shape).astype(np.float32)]
    check(gs.linear, torch.nn.functional.linear, arrays, torch=torch)


def test_linear_vector_weight(torch, rng):
    arrays = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    check(gs.linear, torch.nn.functional.linear, arrays, torch=torch)


def test_linear_is_not_a_method():
    assert callable(gs.linear) and not hasattr(gs.Tensor, "linear")


def test_float32_stays_float32():
    x = gs.randn(4, 3, requires_grad=True)
    w = gs.randn(5, 3, requires_grad=True)
    b = gs.randn(5, requires_grad=True)
    v = gs.randn(2, 3, 4, requires_grad=True)
    u = gs.randn(3, requires_grad=True)
    for y in (gs.linear(x, w, b), gs.linear(v, gs.randn(2, 4)), x @ u, u @ v, v @ x, gs.dot(u, u)):
        assert y.dtype == gs.float32
        y.sum().backward()
    for t in (x, w, b, v, u):
        assert t.grad.dtype == gs.float32


def test_shape_errors():
    with pytest.raises(gs.ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) can't be multiplied \(3 != 4\)"):
        gs.ones(2, 3) @ gs.ones(4, 5)
    with pytest.raises(gs.ShapeError, match=r"matmul: shapes \(3,\) and \(4,\) can't be multiplied \(3 != 4\)"):
        gs.matmul(gs.ones(3), gs.ones(4))
    with pytest.raises(gs.ShapeError, match=r"batch dims \(2,\) and \(5,\) don't broadcast"):
        gs.ones(2, 3, 4) @ gs.ones(5, 4, 2)
    with pytest.raises(gs.ShapeError, match=r"matmul: both arguments need at least 1 dimension"):
        gs.tensor(1.0) @ gs.ones(3)
    with pytest.raises(gs.DTypeError, match=r"matmul: expected both operands to have the same dtype, got float32 and float64"):
        gs.ones(2, 3) @ gs.ones(3, dtype=gs.float64)
    with pytest.raises(gs.ShapeError, match=r"mm: expected two 2-d matrices, got shapes \(3,\) and \(3, 2\)"):
        gs.mm(gs.ones(3), gs.ones(3, 2))
    with pytest.raises(gs.ShapeError, match=r"bmm: expected two 3-d tensors with the same batch size"):
        gs.bmm(gs.ones(2, 3, 4), gs.ones(3, 4, 2))
    with pytest.raises(gs.ShapeError, match=r"dot: expected two 1-d tensors"):
        gs.dot(gs.ones(3, 1), gs.ones(3))
    with pytest.raises(gs.ShapeError, match=r"dot: shapes \(3,\) and \(4,\) can't be multiplied"):
        gs.dot(gs.ones(3), gs.ones(4))


def test_linear_errors():
    msg = r"linear: input of shape \(2, 3\) doesn't fit weight of shape \(4, 5\): expected input \(\.\.\., 5\)"
    with pytest.raises(gs.ShapeError, match=msg):
        gs.linear(gs.ones(2, 3), gs.ones(4, 5))
    with pytest.raises(gs.ShapeError, match=r"linear: bias of shape \(3,\) doesn't fit the output of shape \(2, 4\)"):
        gs.linear(gs.ones(2, 3), gs.ones(4, 3), gs.ones(3))
    with pytest.raises(gs.DTypeError, match=r"linear: bias must have the input's dtype float32, got float64"):
        gs.linear(gs.ones(2, 3), gs.ones(4, 3), gs.ones(4, dtype=gs.float64))
    with pytest.raises(gs.DTypeError, match=r"linear: input and weight must have the same dtype"):
        gs.linear(gs.ones(2, 3), gs.ones(4, 3, dtype=gs.float64))
    with pytest.raises(gs.ShapeError, match=r"linear: weight must be \(out_features, in_features\)"):
        gs.linear(gs.ones(2, 3), gs.ones(1, 4, 3))


@pytest.mark.parametrize("op", ["matmul", "linear"])
def test_changing_a_saved_input_in_place_is_caught(op):
    x = gs.randn(2, 3, requires_grad=True)
    w = gs.randn(3, 3, requires_grad=True)
    y = getattr(gs, op)(x, w)
    with gs.no_grad():
        w.mul_(2)  # e.g. an optimizer step between forward and backward
    with pytest.raises(gs.GradError, match=r"modified by an in-place operation"):
        y.sum().backward()
