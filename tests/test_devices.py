"""gradstep.device: torch.device's constructor forms, str/repr/equality, and its use with tensors and modules."""
import pytest

import gradstep as gs


@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0), ("mps",), ("cpu", 0)])
def test_device_forms_match_torch(torch, args):
    g, t = gs.device(*args), torch.device(*args)
    assert (g.type, g.index) == (t.type, t.index)
    assert str(g) == str(t) and repr(g) == repr(t)
    assert gs.device(g) == g and hash(gs.device(str(g))) == hash(g)


def test_equality_is_by_type_and_index(torch):
    assert gs.device("cpu") == gs.device("cpu") != gs.device("cpu", 0)
    assert (gs.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")


def test_tensor_device_and_to_device():
    x = gs.ones(2)
    assert x.device == gs.device("cpu") and x.device.type == "cpu"
    dev = gs.device("cuda" if False else "cpu")
    assert x.to(dev) is x and x.to(x.device) is x
    assert x.to(dev, gs.float64).dtype == gs.float64 and x.to(device=dev, dtype=gs.float64).dtype == gs.float64
    assert gs.zeros(2, device=dev).device == dev
    model = gs.nn.Linear(2, 2)
    assert model.to(dev) is model
    with pytest.raises(gs.GradError, match="device 'cuda:0' is not available"):
        x.to(gs.device("cuda", 0))


def test_bad_device_strings():
    with pytest.raises(gs.InvalidArgument, match="device type at start of device string, got 'gpu'"):
        gs.device("gpu")
    with pytest.raises(gs.InvalidArgument, match="invalid device string 'cuda:x'"):
        gs.device("cuda:x")
    with pytest.raises(gs.InvalidArgument, match="index must be a non-negative int"):
        gs.device("cuda", -1)
    with pytest.raises(gs.ArgumentTypeError, match="expected a string"):
        gs.device(3)
