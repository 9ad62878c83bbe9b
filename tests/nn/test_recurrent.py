"""RNN, LSTM, GRU and their cells against torch.nn: outputs, final states and every gradient."""
import itertools
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep import errors, nn
from gradstep.nn.recurrent import _time_steps
from tests.nn._parity import check_module

F32 = dict(rtol=1e-4, atol=1e-5)
F64 = dict(rtol=1e-10, atol=1e-12)
L, N, H_IN, H = 4, 3, 3, 5


def _from_torch(gs_module, t_module):
    """Load torch's weights into gradstep, as a user would."""
    gs_module.load_state_dict({k: gs.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})


def _flatten(out):
    """``output, h_n`` or ``output, (h_n, c_n)`` -> a flat list of tensors."""
    output, state = out
    return [output, *state] if isinstance(state, tuple) else [output, state]


def _pair(cls_name, torch, seed=0, dtype64=False, **kwargs):
    torch.manual_seed(seed)
    t_module = getattr(torch.nn, cls_name)(**kwargs)
    g_module = getattr(nn, cls_name)(**kwargs)
    if dtype64:
        t_module.double()
        g_module.double()
    _from_torch(g_module, t_module)
    return g_module, t_module


def _states(cls_name, rng, shape, dtype, proj_size=0):
    """Random initial states: [h0] or [h0, c0] (h0 is proj_size wide when projecting)."""
    h_shape = shape[:-1] + (proj_size or shape[-1],)
    states = [rng.standard_normal(h_shape).astype(dtype)]
    if cls_name == "LSTM":
        states.append(rng.standard_normal(shape).astype(dtype))
    return states


def _call(cls_name, with_state):
    if not with_state:
        return lambda m, x: _flatten(m(x))
    if cls_name == "LSTM":
        return lambda m, x, h, c: _flatten(m(x, (h, c)))
    return lambda m, x, h: _flatten(m(x, h))


def _run(cls_name, torch, rng, *, x_shape, state_shape, with_state, dtype=np.float32, tol=F32, proj_size=0,
         seed=0, **kwargs):
    if proj_size:
        kwargs["proj_size"] = proj_size
    g, t = _pair(cls_name, torch, seed=seed, dtype64=dtype == np.float64, **kwargs)
    arrays = [rng.standard_normal(x_shape).astype(dtype)]
    if with_state:
        arrays += _states(cls_name, rng, state_shape, dtype, proj_size)
    check_module(g, t, arrays, torch=torch, call=_call(cls_name, with_state), copy=False, seed=seed, **tol)


GRID = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True], [False, True],
                              [True, False]))


@pytest.mark.parametrize("cls_name,num_layers,bidirectional,batch_first,with_state,bias", GRID)
def test_matches_torch(cls_name, num_layers, bidirectional, batch_first, with_state, bias, torch, rng):
    D = 2 if bidirectional else 1
    x_shape = (N, L, H_IN) if batch_first else (L, N, H_IN)
    _run(cls_name, torch, rng, x_shape=x_shape, state_shape=(D * num_layers, N, H), with_state=with_state,
         input_size=H_IN, hidden_size=H, num_layers=num_layers, bias=bias, batch_first=batch_first,
         bidirectional=bidirectional)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_rnn_relu_matches_torch(bidirectional, with_state, torch, rng):
    D = 2 if bidirectional else 1
    _run("RNN", torch, rng, x_shape=(L, N, H_IN), state_shape=(D * 2, N, H), with_state=with_state,
         input_size=H_IN, hidden_size=H, num_layers=2, nonlinearity="relu", bidirectional=bidirectional)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_matches_torch(cls_name, batch_first, with_state, torch, rng):
    _run(cls_name, torch, rng, x_shape=(L, H_IN), state_shape=(2 * 2, H), with_state=with_state,
         input_size=H_IN, hidden_size=H, num_layers=2, bidirectional=True, batch_first=batch_first)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_proj_size_matches_torch(bidirectional, with_state, bias, torch, rng):
    D = 2 if bidirectional else 1
    _run("LSTM", torch, rng, x_shape=(L, N, H_IN), state_shape=(D * 2, N, H), with_state=with_state,
         proj_size=2, input_size=H_IN, hidden_size=H, num_layers=2, bias=bias, bidirectional=bidirectional)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_float64_matches_torch(cls_name, torch, rng):
    _run(cls_name, torch, rng, x_shape=(N, L, H_IN), state_shape=(4, N, H), with_state=True, dtype=np.float64,
         tol=F64, input_size=H_IN, hidden_size=H, num_layers=2, bidirectional=True, batch_first=True)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_long_sequence_matches_torch(cls_name, torch, rng):
    """Longer than 16 steps: the per-step slices are taken in blocks (see _time_steps)."""
    _run(cls_name, torch, rng, x_shape=(19, 2, 2), state_shape=(2, 2, 3), with_state=True,
         input_size=2, hidden_size=3, bidirectional=True)


def test_time_steps_in_blocks_are_the_steps():
    x = gs.tensor(np.arange(23 * 2, dtype=np.float32).reshape(23, 2), requires_grad=True)
    steps = _time_steps(x)
    assert len(steps) == 23
    for t, s in enumerate(steps):
        np.testing.assert_array_equal(s.detach().numpy(), x.detach().numpy()[t])
    weights = np.arange(1, 24, dtype=np.float32)
    sum(s.sum() * float(w) for s, w in zip(steps, weights)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(weights[:, None], 2, 1))


# ------------------------------------------------------------------ cells
CELL_GRID = list(itertools.product(["RNNCell", "LSTMCell", "GRUCell"], [True, False], [False, True],
                                   [True, False]))


@pytest.mark.parametrize("cls_name,batched,with_state,bias", CELL_GRID)
def test_cell_matches_torch(cls_name, batched, with_state, bias, torch, rng):
    g, t = _pair(cls_name, torch, input_size=H_IN, hidden_size=H, bias=bias)
    shape = (N, H) if batched else (H,)
    arrays = [rng.standard_normal((N, H_IN) if batched else (H_IN,)).astype(np.float32)]
    if with_state:
        arrays += [rng.standard_normal(shape).astype(np.float32) for _ in range(2 if cls_name == "LSTMCell" else 1)]
    if cls_name == "LSTMCell":
        call = (lambda m, x, h, c: list(m(x, (h, c)))) if with_state else (lambda m, x: list(m(x)))
    else:
        call = None
    check_module(g, t, arrays, torch=torch, call=call, copy=False, **F32)


@pytest.mark.parametrize("cls_name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_float64_matches_torch(cls_name, torch, rng):
    g, t = _pair(cls_name, torch, dtype64=True, input_size=H_IN, hidden_size=H)
    arrays = [rng.standard_normal((N, H_IN)), rng.standard_normal((N, H))]
    if cls_name == "LSTMCell":
        arrays.append(rng.standard_normal((N, H)))
        call = lambda m, x, h, c: list(m(x, (h, c)))  # noqa: E731
    else:
        call = None
    check_module(g, t, arrays, torch=torch, call=call, copy=False, **F64)


def test_rnn_cell_relu_matches_torch(torch, rng):
    g, t = _pair("RNNCell", torch, input_size=H_IN, hidden_size=H, nonlinearity="relu")
    arrays = [rng.standard_normal((N, H_IN)).astype(np.float32), rng.standard_normal((N, H)).astype(np.float32)]
    check_module(g, t, arrays, torch=torch, copy=False, **F32)


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("cls_name,kwargs", [
    ("RNN", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(num_layers=3, bias=False, nonlinearity="relu")),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
    ("LSTM", dict(bias=False, proj_size=2)),
    ("GRU", dict(num_layers=2, bidirectional=True, bias=False)),
    ("RNNCell", dict(bias=False)),
    ("LSTMCell", {}),
    ("GRUCell", {}),
])
def test_state_dict_keys_and_shapes_are_torch(cls_name, kwargs, torch):
    t_state = getattr(torch.nn, cls_name)(4, 6, **kwargs).state_dict()
    g_state = getattr(nn, cls_name)(4, 6, **kwargs).state_dict()
    assert list(g_state) == list(t_state)
    assert [tuple(v.shape) for v in g_state.values()] == [tuple(v.shape) for v in t_state.values()]
    assert all(v.dtype == np.float32 for v in g_state.values())


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_init_is_uniform_from_the_global_generator(cls_name):
    gs.manual_seed(3)
    a = getattr(nn, cls_name)(4, 6)
    gs.manual_seed(3)
    b = getattr(nn, cls_name)(4, 6)
    bound = 1 / math.sqrt(6)
    values = np.concatenate([p.detach().numpy().ravel() for p in a.parameters()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.9 * bound and values.std() > 0.8 * bound / math.sqrt(3)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)


def test_dtype_argument_and_double():
    m = nn.LSTM(3, 4, dtype=gs.float64)
    assert all(p.dtype == np.float64 for p in m.parameters())
    out, (h, c) = m(gs.randn(2, 1, 3, dtype=gs.float64))
    assert out.dtype == h.dtype == c.dtype == np.float64


def test_outputs_are_float32_and_shapes():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, proj_size=2)
    out, (h, c) = m(gs.randn(3, 5, 3))
    assert tuple(out.shape) == (3, 5, 4) and tuple(h.shape) == (4, 3, 2) and tuple(c.shape) == (4, 3, 4)
    assert out.dtype == h.dtype == c.dtype == np.float32
    assert out.is_contiguous()


def test_repr_and_all_weights(torch):
    for cls_name, kwargs in [("LSTM", dict(num_layers=2, bias=False, batch_first=True, dropout=0.5,
                                           bidirectional=True, proj_size=2)),
                             ("GRU", {}), ("RNNCell", dict(nonlinearity="relu", bias=False))]:
        assert repr(getattr(nn, cls_name)(3, 4, **kwargs)) == repr(getattr(torch.nn, cls_name)(3, 4, **kwargs))
    m, t = nn.GRU(3, 4, num_layers=2), torch.nn.GRU(3, 4, num_layers=2)
    assert [[tuple(p.shape) for p in ws] for ws in m.all_weights] == [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    m.flatten_parameters()  # PyTorch scripts call it; a no-op here


# ------------------------------------------------------------------ dropout
@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_dropout_eval_equals_no_dropout_and_training_is_seeded(cls_name):
    gs.manual_seed(0)
    plain = getattr(nn, cls_name)(3, 4, num_layers=3, bidirectional=True)
    dropped = getattr(nn, cls_name)(3, 4, num_layers=3, bidirectional=True, dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    x = gs.randn(5, 2, 3)

    def run(m):
        return [t.detach().numpy() for t in _flatten(m(x))]

    want = run(plain)
    for got, ref in zip(run(dropped.eval()), want):
        np.testing.assert_array_equal(got, ref)
    dropped.train()
    gs.manual_seed(7)
    first = run(dropped)
    gs.manual_seed(7)
    second = run(dropped)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], want[0])  # dropout acted in training mode
    gs.manual_seed(8)
    assert not np.allclose(run(dropped)[0], first[0])


def test_dropout_is_only_between_layers():
    """One layer: nothing is dropped, even in training mode (as torch)."""
    gs.manual_seed(0)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        m = nn.GRU(3, 4, dropout=0.9)
    x = gs.randn(4, 2, 3)
    np.testing.assert_array_equal(m.train()(x)[0].detach().numpy(), m.eval()(x)[0].detach().numpy())


def test_dropout_training_backward_runs():
    gs.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.3)
    x = gs.randn(4, 2, 3, requires_grad=True)
    out, (h, c) = m(x)
    (out.sum() + h.sum() + c.sum()).backward()
    assert x.grad is not None and all(p.grad is not None for p in m.parameters())


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), errors.InvalidArgument, "nonlinearity 'sigmoid'"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), errors.InvalidArgument, "tanh' or 'relu'"),
    (lambda: nn.LSTM(3, 4, num_layers=2, dropout=1.5), errors.InvalidArgument, "between 0 and 1"),
    (lambda: nn.GRU(3, 4, num_layers=2, dropout=-0.1), errors.InvalidArgument, "between 0 and 1"),
    (lambda: nn.GRU(3, 4, num_layers=2, dropout="0.5"), errors.ArgumentTypeError, "dropout"),
    (lambda: nn.RNN(3, 0), errors.InvalidArgument, "hidden_size"),
    (lambda: nn.RNN(0, 4), errors.InvalidArgument, "input_size"),
    (lambda: nn.LSTM(3, 4.0), errors.ArgumentTypeError, "hidden_size must be an int"),
    (lambda: nn.GRU(3, 4, num_layers=0), errors.InvalidArgument, "num_layers"),
    (lambda: nn.LSTM(3, 4, proj_size=4), errors.InvalidArgument, "proj_size has to be smaller"),
    (lambda: nn.LSTM(3, 4, proj_size=-1), errors.InvalidArgument, "proj_size"),
    (lambda: nn.RNN(3, 4, bias=1), errors.ArgumentTypeError, "bias should be of type bool"),
    (lambda: nn.RNN(3, 4, batch_first="yes"), errors.ArgumentTypeError, "batch_first"),
    (lambda: nn.GRUCell(3, -1), errors.InvalidArgument, "hidden_size"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("cls_name,call,error,match", [
    ("RNN", lambda m: m(gs.randn(4, 2, 5)), errors.ShapeError, r"3 features .* got shape \(4, 2, 5\)"),
    ("LSTM", lambda m: m(gs.randn(3)), errors.ShapeError, r"2 dims \(L, H_in\) unbatched or 3 dims"),
    ("GRU", lambda m: m(gs.randn(2, 4, 2, 3)), errors.ShapeError, "got 4 dims"),
    ("GRU", lambda m: m(gs.randn(0, 2, 3)), errors.ShapeError, "sequence length"),
    ("RNN", lambda m: m(gs.randn(4, 2, 3), gs.randn(1, 3, 4)), errors.ShapeError,
     r"hx of shape \(1, 2, 4\), got \(1, 3, 4\)"),
    ("RNN", lambda m: m(gs.randn(4, 3), gs.randn(1, 1, 4)), errors.ShapeError, r"hx of shape \(1, 4\)"),
    ("GRU", lambda m: m(gs.randn(4, 2, 3), gs.randn(2, 4)), errors.ShapeError, r"\(1, 2, 4\)"),
    ("LSTM", lambda m: m(gs.randn(4, 2, 3), gs.randn(1, 2, 4)), errors.ArgumentTypeError, r"tuple \(h_0, c_0\)"),
    ("LSTM", lambda m: m(gs.randn(4, 2, 3), (gs.randn(1, 2, 4), gs.randn(1, 2, 5))), errors.ShapeError,
     r"c_0 of shape \(1, 2, 4\)"),
    ("LSTM", lambda m: m(gs.randn(4, 2, 3), (np.zeros((1, 2, 4)), gs.randn(1, 2, 4))), errors.ArgumentTypeError,
     "h_0 to be a gradstep Tensor"),
    ("RNN", lambda m: m(np.zeros((4, 2, 3), dtype=np.float32)), errors.ArgumentTypeError, "input to be a gradstep"),
    ("GRU", lambda m: m(gs.randn(4, 2, 3, dtype=gs.float64)), errors.DTypeError, "float64.*float32"),
    ("RNN", lambda m: m(gs.randn(4, 2, 3), gs.randn(1, 2, 4, dtype=gs.float64)), errors.DTypeError, "hx dtype"),
    ("RNNCell", lambda m: m(gs.randn(2, 5)), errors.ShapeError, "3 features"),
    ("RNNCell", lambda m: m(gs.randn(1, 2, 3)), errors.ShapeError, "1D .* or 2D"),
    ("GRUCell", lambda m: m(gs.randn(2, 3), gs.randn(3, 4)), errors.ShapeError, r"hx of shape \(2, 4\)"),
    ("GRUCell", lambda m: m(gs.randn(3), gs.randn(1, 4)), errors.ShapeError, r"hx of shape \(4,\)"),
    ("LSTMCell", lambda m: m(gs.randn(2, 3), gs.randn(2, 4)), errors.ArgumentTypeError, r"tuple \(h_0, c_0\)"),
    ("LSTMCell", lambda m: m(gs.randn(2, 3), (gs.randn(2, 4), gs.randn(2, 3))), errors.ShapeError, "c_0"),
])
def test_forward_errors(cls_name, call, error, match):
    with pytest.raises(error, match=match):
        call(getattr(nn, cls_name)(3, 4))
