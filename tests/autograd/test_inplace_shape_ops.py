"""Shape-changing in-place ops (t_, transpose_, swapaxes_/swapdims_, squeeze_, unsqueeze_), as PyTorch's.

The tensor becomes a view of its own storage with the new shape. Tensors that require grad
are refused (the graph holds their old shape; PyTorch allows it on non-leaves); a tensor saved
by a graph node gets a new version, so backward refuses to read it with its new shape.
"""
import numpy as np
import pytest

import gradstep as gs

CASES = [
    ("t_", (), (2, 3)),
    ("t_", (), (4,)),
    ("transpose_", (0, 2), (2, 3, 4)),
    ("transpose_", (-1, 0), (2, 3)),
    ("swapaxes_", (0, 1), (2, 3)),
    ("swapdims_", (1, 2), (2, 3, 4)),
    ("squeeze_", (), (1, 3, 1, 2)),
    ("squeeze_", (2,), (1, 3, 1, 2)),
    ("squeeze_", (1,), (2, 3)),  # not of size 1: unchanged
    ("unsqueeze_", (0,), (2, 3)),
    ("unsqueeze_", (-1,), (2, 3)),
]


@pytest.mark.parametrize("name, args, shape", CASES)
def test_matches_torch_and_keeps_the_storage(name, args, shape, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    x, tx = gs.tensor(a), torch.tensor(a)
    alias = x.view(-1)  # another view of the same storage
    assert getattr(x, name)(*args) is x
    getattr(tx, name)(*args)
    assert tuple(x.shape) == tuple(tx.shape)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    x.mul_(2)  # writes through to the storage the alias still sees
    np.testing.assert_array_equal(alias.numpy(), (a * 2).reshape(-1))


def test_a_tensor_saved_for_backward_is_then_refused():
    w = gs.randn(3, 2, requires_grad=True)
    x = gs.randn(4, 3)
    loss = (x @ w).sum()  # the matmul saved x
    x.t_()
    with pytest.raises(gs.GradError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("make", [lambda: gs.randn(2, 3, requires_grad=True),
                                  lambda: gs.randn(2, 3, requires_grad=True) * 2])
def test_tensors_that_require_grad_are_refused_with_the_out_of_place_form(make):
    t = make()
    with pytest.raises(gs.NotSupported, match=r"unsqueeze_: .*x = x.unsqueeze\("):
        t.unsqueeze_(0)
    assert tuple(t.shape) == (2, 3)


def test_bad_arguments_get_the_ops_errors():
    with pytest.raises(gs.InvalidArgument, match="t: expects a tensor with <= 2 dimensions"):
        gs.randn(2, 3, 4).t_()
    with pytest.raises(gs.IndexOutOfRange):
        gs.randn(2, 3).unsqueeze_(5)


def test_labels_made_a_column_in_place_as_in_training_scripts():
    y = gs.tensor([1, 0, 2])
    y.unsqueeze_(1)
    assert tuple(y.shape) == (3, 1) and y.dtype == gs.int64
