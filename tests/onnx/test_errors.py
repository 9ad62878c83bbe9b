"""What the exporter refuses, and how it says so; reading weights back from ONNX files."""
import sys

import numpy as np
import pytest

import gradstep as gs
import gradstep.nn as nn
import gradstep.nn.functional as F
from gradstep.autograd.function import Function
from gradstep.nn.module import StateDictError
from gradstep.onnx import ExportError, MissingDependencyError, UnsupportedOpError


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class _Net(nn.Module):
    def __init__(self, post):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.post = _Fn(post)

    def forward(self, x):
        return self.post(self.body(x))


def _set_first(y):
    return F.adaptive_max_pool1d(y[:, None], 3)


def test_unsupported_op_names_itself_and_the_module(onnx):
    with pytest.raises(UnsupportedOpError) as info:
        gs.onnx.export(_Net(_set_first), gs.randn(2, 4), None)
    msg = str(info.value)
    assert "op AdaptiveMaxPool in module 'post'" in msg
    assert "gradstep.ops.pool.AdaptiveMaxPool has no ONNX conversion" in msg
    assert "Linear" in msg  # the supported ops are listed
    assert isinstance(info.value, NotImplementedError) and isinstance(info.value, gs.GradstepError)


def test_state_is_restored_after_a_failed_export(onnx):
    model = _Net(_set_first)
    apply = Function.__dict__["apply"]
    with pytest.raises(UnsupportedOpError):
        gs.onnx.export(model, gs.randn(2, 4), None)
    assert Function.__dict__["apply"] is apply
    assert model.training and not model.post._forward_hooks and not model.post._forward_pre_hooks
    assert (gs.ones(2) > 0).all()


def test_assignment_through_index_tensors_is_refused(onnx):
    def scatter(y):
        y = y.clone()
        y[:, gs.tensor([0, 2])] = 1.0
        return y

    with pytest.raises(ExportError, match="op IndexPut in module 'post': assigning through index tensors"):
        gs.onnx.export(_Net(scatter), gs.randn(2, 4), None)


def test_training_only_ops_explain_the_fix(onnx):
    with pytest.raises(UnsupportedOpError, match="op Dropout in module 'post': dropout ran in training mode"):
        gs.onnx.export(_Net(lambda x: F.dropout(x, 0.5, training=True)), gs.randn(2, 4), None)
    with pytest.raises(ExportError, match="attention dropout was active"):
        gs.onnx.export(_Fn(lambda x: F.scaled_dot_product_attention(x, x, x, dropout_p=0.5)), gs.randn(2, 3, 4), None)
    bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(ExportError, match=r"op BatchNorm in module '1': batch norm ran with batch statistics"):
        gs.onnx.export(bn, gs.randn(2, 4), None)


def test_missing_onnx_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "gradstep\[onnx\]"') as info:
        gs.onnx.export(nn.Linear(2, 2), gs.randn(1, 2), None)
    assert isinstance(info.value, ImportError)
    with pytest.raises(MissingDependencyError, match=r'pip install "gradstep\[onnx\]"'):
        gs.onnx.read_state_dict("model.onnx")


def test_values_computed_outside_ops_are_refused(onnx):
    def numpy_mask(x):  # NumPy on the input's values: would be frozen to the example
        return x * gs.tensor(x.detach().numpy() > 0)

    with pytest.raises(ExportError, match="op Cast in module 'post': its input 0 was computed from the model's input "
                                          "outside gradstep's ops"):
        gs.onnx.export(_Net(numpy_mask), gs.randn(3, 4), None)


def test_untracked_in_place_write_is_refused(onnx):
    def hidden_write(x):
        y = x * 2
        with gs.no_grad():
            y.masked_fill_(gs.tensor([True, False, False, False]), 0.0)  # writes into y's memory directly
        return y + 1

    with pytest.raises(ExportError, match="changed in place by an operation the exporter can't follow"):
        gs.onnx.export(_Net(hidden_write), gs.randn(3, 4), None)


def test_control_flow_on_the_batch_size(onnx):
    model = _Fn(lambda x: x.relu() if x.shape[0] % 2 else x.tanh())
    with pytest.raises(ExportError, match="runs different operations for batch sizes 2 and 3"):
        gs.onnx.export(model, gs.randn(2, 3), None)
    gs.onnx.export(model, gs.randn(2, 3), None, dynamic_batch=False)  # a fixed batch is fine


def test_batch_dependent_parameter_that_cant_be_dynamic(onnx):
    model = _Fn(lambda x: F.pad(x, (0, x.shape[0])))
    with pytest.raises(ExportError, match=r"op ConstantPad: its padding depends on the batch size .*dynamic_batch=False"):
        gs.onnx.export(model, gs.randn(2, 3), None)


def test_bad_arguments(onnx):
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset must be an int from 17 to"):
        gs.onnx.export(model, gs.randn(2, 3), None, opset=12)
    with pytest.raises(TypeError, match="example_input 0 must be a Tensor or a NumPy array, got list"):
        gs.onnx.export(model, [[1.0, 2.0, 3.0]], None)
    with pytest.raises(ValueError, match="expected 1 distinct input names, got"):
        gs.onnx.export(model, gs.randn(2, 3), None, input_names=["a", "b"])
    with pytest.raises(ValueError, match=r"same non-zero batch size in dim 0, got shapes \(2, 3\), \(4, 3\)"):
        gs.onnx.export(lambda a, b: a + b.sum(), (gs.randn(2, 3), gs.randn(4, 3)), None)
    with pytest.raises(ExportError, match="returned a str"):
        gs.onnx.export(lambda x: "nope", gs.randn(2, 3), None)


def test_read_state_dict_round_trip_and_other_architecture(onnx, tmp_path):
    gs.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 2))
    path = tmp_path / "m.onnx"
    gs.onnx.export(model, gs.randn(2, 4), path)
    weights = gs.onnx.read_state_dict(path)
    assert set(weights) == set(model.state_dict())  # the constants the exporter made are not weights
    twin = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 2))
    twin.load_state_dict(weights)
    x = gs.randn(3, 4)
    np.testing.assert_array_equal(twin(x).detach().numpy(), model(x).detach().numpy())

    other = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 2), nn.Linear(2, 2))
    with pytest.raises(StateDictError) as info:
        other.load_state_dict(gs.onnx.read_state_dict(path))
    msg = str(info.value)
    assert "size mismatch for 0.weight: copying a param with shape (8, 4) from checkpoint, the shape in current " \
           "model is (6, 4)" in msg
    assert "size mismatch for 1.weight" in msg and "size mismatch for 3.weight" in msg
    assert 'Missing key(s) in state_dict: "4.weight", "4.bias"' in msg

    from gradstep.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no such file"):
        gs.onnx.read_state_dict(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01not protobuf")
    with pytest.raises(CheckpointError, match="not a valid ONNX file"):
        gs.onnx.read_state_dict(tmp_path / "junk.onnx")
