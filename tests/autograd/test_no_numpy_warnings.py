"""inf and NaN are values, not events: like PyTorch, ops and their gradients raise no NumPy RuntimeWarnings.

(``detect_anomaly`` and the Trainer's NaN/Inf check are where non-finite numbers are reported.)
"""
import warnings

import numpy as np
import pytest

import gradstep as gs

F = gs.nn.functional
inf, nan = float("inf"), float("nan")


def _grad(fn, value):
    x = gs.tensor([value], requires_grad=True)
    fn(x).sum().backward()
    return x.grad


CASES = {
    "divide by zero": lambda: gs.tensor([1.0, 0.0]) / 0,
    "exp overflow": lambda: gs.tensor([1000.0]).exp(),
    "inf * 0": lambda: gs.tensor([inf]) * 0,
    "inf - inf": lambda: gs.tensor([inf]) - inf,
    "log_softmax of inf": lambda: F.log_softmax(gs.tensor([[inf, 1.0]]), 1),
    "softmax of infs": lambda: gs.tensor([[inf, inf]]).softmax(1),
    "nan to int": lambda: gs.tensor([nan]).to(gs.int32),
    "tensor(nan, dtype=int64)": lambda: gs.tensor([nan], dtype=gs.int64),
    "in-place divide by zero": lambda: gs.tensor([1.0]).div_(0),
    "in-place exp overflow": lambda: gs.tensor([1000.0]).exp_(),
    "mse of huge values": lambda: F.mse_loss(gs.tensor([1e30]), gs.tensor([-1e30])),
    "grad of x / x at 0": lambda: _grad(lambda x: x / x, 0.0),
    "grad of log at 0": lambda: _grad(lambda x: x.log(), 0.0),
    "grad of sqrt at 0": lambda: _grad(lambda x: x.sqrt(), 0.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_no_runtime_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = CASES[name]()
    assert out is not None


def test_values_are_still_ieee():
    assert np.isinf((gs.tensor([1.0]) / 0).numpy()[0])
    assert np.isnan((gs.tensor([inf]) * 0).numpy()[0])
    assert np.isinf(_grad(lambda x: x.log(), 0.0).numpy()[0])


def test_user_numpy_error_state_is_left_alone():
    before = np.geterr()
    gs.tensor([1.0]) / 0
    assert np.geterr() == before
