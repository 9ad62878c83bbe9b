"""The legacy typed tensor classes (LongTensor, FloatTensor, ...) and Tensor(n) against PyTorch's."""
import numpy as np
import pytest

import gradstep as gs

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
         "ByteTensor", "BoolTensor"]


def _same(g, t):
    assert g.shape == tuple(t.shape) and str(g.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(g.numpy(), t.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_constructors_and_isinstance(torch, name):
    G, T = getattr(gs, name), getattr(torch, name)
    _same(G([1, 0, 1]), T([1, 0, 1]))
    assert G(2, 3).shape == tuple(T(2, 3).shape) and G(4).shape == tuple(T(4).shape) == (4,)
    assert G().shape == tuple(T().shape) == (0,)
    assert str(G(2).dtype) == str(T(2).dtype).replace("torch.", "")
    for other in NAMES:
        assert isinstance(G([1]), getattr(gs, other)) == isinstance(T([1]), getattr(torch, other))
    assert repr(G) == repr(T).replace("torch", "gradstep")


def test_type_with_a_legacy_class_and_the_word_language_model_idiom(torch):
    _same(gs.tensor([1.5, 2.0]).type(gs.LongTensor), torch.tensor([1.5, 2.0]).type(torch.LongTensor))
    assert gs.ones(2).type(gs.DoubleTensor).type() == "gradstep.DoubleTensor"
    # main.py's export_onnx: dummy_input = torch.LongTensor(seq_len * batch_size).zero_().view(-1, batch_size)
    _same(gs.LongTensor(5 * 2).zero_().view(-1, 2), torch.LongTensor(5 * 2).zero_().view(-1, 2))


def test_tensor_class_one_int_is_a_size_and_data_is_float32(torch):
    assert gs.Tensor(3).shape == tuple(torch.Tensor(3).shape) == (3,)
    assert float(gs.Tensor(3).sum()) == 0.0  # zeros where PyTorch leaves memory uninitialised
    for data in ([3], [[1, 2]], [True, False], np.array([1, 2]), np.array([1.5], dtype=np.float64)):
        _same(gs.Tensor(data), torch.Tensor(data))
    _same(gs.Tensor([[gs.tensor(4)]]).long(), torch.Tensor([[torch.tensor(4)]]).long())  # generate.py's idiom
    for t in (torch.tensor([1, 2]), torch.tensor([1.0], dtype=torch.float64)):  # a tensor keeps its dtype
        _same(gs.Tensor(gs.tensor(t.numpy())), torch.Tensor(t))
    assert gs.Tensor([1, 2], dtype=gs.int64).dtype == gs.int64
    assert gs.Tensor([1.0, 2.0]).requires_grad_().requires_grad
