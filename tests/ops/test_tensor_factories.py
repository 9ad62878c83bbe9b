"""Tensor.new_*, random fills, in-place unary methods, stride/nelement/format, gradstep.is_tensor/numel."""
import numpy as np
import pytest

import gradstep as gs


def test_new_factories_follow_pytorch(torch):
    for dtype in (gs.float32, gs.float64, gs.int64):
        x, t = gs.ones(2, dtype=dtype), torch.ones(2, dtype=getattr(torch, str(dtype)))
        for name, args in (("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_empty", (0, 2))):
            got, want = getattr(x, name)(*args), getattr(t, name)(*args)
            assert got.shape == tuple(want.shape) and str(got.dtype) == str(want.dtype).replace("torch.", "")
            if name != "new_empty":
                np.testing.assert_array_equal(got.numpy(), want.numpy())
        got, want = x.new_full((2, 2), 7), t.new_full((2, 2), 7)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "") and got.tolist() == want.tolist()
        got, want = x.new_tensor([1.5, 2]), t.new_tensor([1.5, 2])
        assert str(got.dtype) == str(want.dtype).replace("torch.", "") and got.tolist() == want.tolist()
    y = gs.ones(2).new_zeros(3, dtype=gs.int64, requires_grad=False)
    assert y.dtype == gs.int64
    z = gs.ones(2).new_zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    src = gs.ones(2, requires_grad=True)
    copy = gs.zeros(1).new_tensor(src)
    assert not copy.requires_grad and copy._data is not src._data


def test_random_fills():
    gs.manual_seed(0)
    x = gs.empty(2000).uniform_(-2, 3)
    assert x.dtype == gs.float32 and x.min().item() >= -2 and x.max().item() < 3
    assert abs(x.mean().item() - 0.5) < 0.1
    x.normal_(1.0, 2.0)
    assert abs(x.mean().item() - 1.0) < 0.2 and abs(x.std().item() - 2.0) < 0.2
    x.bernoulli_(0.25)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0} and abs(x.mean().item() - 0.25) < 0.05
    assert gs.empty(3).uniform_(**{"from": 1, "to": 2}).min().item() >= 1
    assert gs.empty(500, dtype=gs.float64).exponential_(2.0).dtype == gs.float64
    gs.manual_seed(3)
    a = gs.empty(4).normal_().tolist()
    gs.manual_seed(3)
    assert gs.empty(4).normal_().tolist() == a
    p = gs.zeros(3, requires_grad=True)
    with pytest.raises(gs.GradError, match=r"in-place operation on a leaf tensor that requires grad"):
        p.uniform_()
    with gs.no_grad():
        p.uniform_()
    with pytest.raises(gs.DTypeError, match=r"normal_: expected a floating point tensor, got dtype int64"):
        gs.zeros(2, dtype=gs.int64).normal_()


@pytest.mark.parametrize("name,args", [("relu", ()), ("sigmoid", ()), ("tanh", ()), ("exp", ()), ("floor", ()),
                                       ("clamp_min", (0.1,)), ("lerp", (1.0, 0.5)), ("abs", ()), ("neg", ())])
def test_inplace_unary(name, args, torch, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    x, t = gs.tensor(a), torch.tensor(a)
    targs = [torch.tensor(v) if name == "lerp" and i == 0 else v for i, v in enumerate(args)]
    assert getattr(x, name + "_")(*args) is x
    getattr(t, name + "_")(*targs)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6, atol=1e-7)


def test_inplace_unary_in_a_graph(torch):
    w = gs.tensor([1.0, -1.0, 2.0], requires_grad=True)
    y = w * 3
    y.sigmoid_()
    y.sum().backward()
    tw = torch.tensor([1.0, -1.0, 2.0], requires_grad=True)
    ty = tw * 3
    ty.sigmoid_()
    ty.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_stride_nelement_format(torch):
    for shape in ((2, 3), (4,), (), (2, 3, 4)):
        x, t = gs.zeros(shape), torch.zeros(shape)
        assert x.stride() == t.stride() and x.nelement() == t.nelement() and x.ndimension() == t.ndimension()
    x, t = gs.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert x.permute(2, 0, 1).stride() == t.permute(2, 0, 1).stride()
    assert x.stride(-1) == t.stride(-1)
    assert f"{gs.tensor(3.14159):.3f}" == f"{torch.tensor(3.14159):.3f}" == "3.142"
    assert f"{gs.tensor([2.5]):.1f}" == "2.5"
    assert f"{gs.tensor(7):d}" == "7"
    assert f"{gs.ones(2)}" == repr(gs.ones(2))
    with pytest.raises(TypeError, match=r"unsupported format string '.2f' for a tensor of shape \(2,\)"):
        f"{gs.ones(2):.2f}"
    assert gs.ones(2, 3).nbytes == 24 and gs.ones(2).itemsize == 4 and not gs.ones(1).is_cuda


def test_is_tensor_numel_is_floating_point(torch):
    x = gs.ones(2, 3)
    assert gs.is_tensor(x) and not gs.is_tensor(np.ones(2)) and not gs.is_tensor([1.0])
    assert gs.numel(x) == torch.numel(torch.ones(2, 3)) == 6
    assert gs.is_floating_point(x) and not gs.is_floating_point(gs.tensor([1]))


def test_errors():
    with pytest.raises(ValueError, match=r"new_zeros: size must be non-negative, got \(-1,\)"):
        gs.ones(1).new_zeros(-1)
    with pytest.raises(gs.DTypeError, match=r"new_ones: size must be ints"):
        gs.ones(1).new_ones(2.5)
    with pytest.raises(gs.DTypeError, match=r"in-place .*exp.*can't be cast"):
        gs.tensor([1, 2]).exp_()
