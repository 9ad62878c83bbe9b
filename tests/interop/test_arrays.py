"""Array interop: ``np.asarray(t)`` (``__array__``), ``from_numpy``, ``__dlpack__`` / ``from_dlpack``, all sharing
memory where NumPy allows."""
import numpy as np
import pytest

import gradstep as gs


def test_asarray_shares_memory():
    t = gs.arange(6).float().reshape(2, 3)
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 3)
    assert np.shares_memory(a, t.numpy())
    a[0, 0] = 42
    assert t[0, 0].item() == 42


def test_array_protocol_dtype_and_copy():
    t = gs.tensor([1.5, 2.5])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    c = np.array(t, copy=True)
    c[0] = 0
    assert t[0].item() == 1.5
    assert np.array_equal(np.add(np.asarray(t), 1), [2.5, 3.5])


def test_from_numpy_shares_memory():
    a = np.zeros((2, 2), dtype=np.float32)
    t = gs.from_numpy(a)
    assert t.dtype == np.float32
    t.add_(1.0)  # in place on the tensor shows in the array...
    assert (a == 1).all()
    a[1, 1] = 7  # ...and the other way round
    assert t[1, 1].item() == 7
    assert gs.from_numpy(np.arange(3)).dtype == np.int64
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        gs.from_numpy([1, 2])


def test_dlpack_with_numpy():
    t = gs.arange(6).float().reshape(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and np.shares_memory(a, t.numpy())
    dev = t.__dlpack_device__()
    assert dev[0] == 1  # kDLCPU
    back = gs.from_dlpack(np.arange(4, dtype=np.float64))
    assert back.dtype == np.float64 and back.tolist() == [0, 1, 2, 3]
    # a transposed (strided) view keeps its strides through DLPack
    tt = np.from_dlpack(t.T)
    assert np.array_equal(tt, t.numpy().T) and np.shares_memory(tt, t.numpy())


def test_dlpack_round_trip_with_torch(torch):
    t = gs.tensor([[1.0, 2.0], [3.0, 4.0]])
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch.float32 and tt.shape == (2, 2)
    tt[0, 0] = -1.0  # same memory
    assert t[0, 0].item() == -1.0

    src = torch.arange(6, dtype=torch.int64).reshape(2, 3)
    g = gs.from_dlpack(src)
    assert isinstance(g, gs.Tensor) and g.dtype == np.int64 and g.shape == (2, 3)
    g.numpy()[1, 2] = 100
    assert src[1, 2].item() == 100
    assert torch.equal(torch.from_dlpack(gs.from_dlpack(src.T)), src.T)  # strides survive both ways
    assert torch.from_dlpack(gs.ones(3).expand(2, 3)).shape == (2, 3)  # read-only broadcast view
    assert torch.from_dlpack(gs.tensor([True, False])).dtype == torch.bool
    assert torch.from_dlpack(gs.tensor(2.5)).item() == 2.5  # 0-d


def test_dlpack_refuses_tensors_that_require_grad(torch):
    w = gs.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="requires grad; use tensor.detach()"):
        torch.from_dlpack(w)
    assert torch.from_dlpack(w.detach()).shape == (2,)
    with pytest.raises(TypeError, match="from_dlpack: can't import a Tensor through DLPack"):
        gs.from_dlpack(torch.ones(2, requires_grad=True))


def test_from_dlpack_bad_input():
    with pytest.raises(TypeError, match="from_dlpack: can't import a list"):
        gs.from_dlpack([1, 2])
