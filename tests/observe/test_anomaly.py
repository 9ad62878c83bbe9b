"""Anomaly mode: the first op, forward or backward, that turns finite numbers into NaN/Inf."""
import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.autograd.function import Function
from gradstep.observe import AnomalyError, detect_anomaly, is_anomaly_enabled


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.head = nn.Sequential(nn.Linear(3, 3), nn.Tanh())

    def forward(self, x):
        return self.head(self.fc(x))


def test_forward_anomaly_names_op_layer_and_fix():
    gs.manual_seed(0)
    model = Net()
    x = gs.randn(2, 4)
    with pytest.raises(AnomalyError) as err:
        with detect_anomaly(model):
            (model(x) - 2.0).sqrt().sum().backward()  # tanh < 1, so sqrt of a negative number
    e = err.value
    assert (e.op, e.phase, e.layer) == ("Sqrt", "forward", None)  # after the model returned: in user code
    assert "outside any layer" in str(e) and "turned finite inputs into" in str(e) and "input shapes (2, 3)" in str(e)
    assert "test_anomaly.py" in e.where and "epsilon" in e.fix


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_forward_anomaly_inside_a_named_layer():
    gs.manual_seed(0)
    model = Net()
    with gs.no_grad():
        model.head[0].weight.fill_(3e38)
    with pytest.raises(AnomalyError) as err:
        with detect_anomaly(model):
            model(gs.randn(2, 4) * 100)
    assert err.value.layer == "head.0" and err.value.op == "Linear"
    assert "lower learning rate" in err.value.fix


def test_backward_anomaly():
    w = gs.zeros(3, requires_grad=True)
    with pytest.raises(AnomalyError) as err:
        with detect_anomaly():
            (w.sqrt() * 2).sum().backward()  # d sqrt(x)/dx at 0 is inf
    e = err.value
    assert (e.op, e.phase, e.layer) == ("Sqrt", "backward", None)
    assert "outside any layer" in str(e) and "forward ran at" in str(e)


def test_non_finite_parameter_is_named():
    gs.manual_seed(0)
    model = Net()
    with gs.no_grad():
        model.fc.weight[0, 0] = float("nan")
    with pytest.raises(AnomalyError, match=r"parameter 'fc.weight' of Linear .* already contains 1 NaN/Inf"):
        with detect_anomaly(model):
            model(gs.randn(2, 4))


def test_everything_is_restored_and_normal_code_passes():
    apply, call = Function.__dict__["apply"], nn.Module.__call__
    gs.manual_seed(0)
    model = Net()
    with detect_anomaly(model):
        assert is_anomaly_enabled()
        loss = model(gs.randn(5, 4)).sum()
        loss.backward()
        with pytest.raises(AnomalyError):
            with detect_anomaly():  # nested: the inner one restores the outer one
                gs.tensor([-1.0]).log()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    assert Function.__dict__["apply"].__func__ is apply.__func__ and nn.Module.__call__ is call
    assert model.fc.weight.grad is not None
    assert np.isnan(gs.tensor([-1.0]).log()._data).all()  # outside the block NaN is allowed again
