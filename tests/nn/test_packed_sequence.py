"""PackedSequence, pack_padded_sequence, pad_packed_sequence, pack_sequence and RNN/LSTM/GRU on
packed input, against torch.nn.utils.rnn and torch.nn (values, index tensors, gradients, errors)."""
import itertools

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.nn.utils.rnn import PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence
from tests.nn._parity import check_module
from tests.oracle import check

T_MAX, B, H_IN, H = 5, 3, 3, 4
SORTED, UNSORTED = [5, 3, 2], [3, 5, 2]


def _padded(rng, batch_first, dtype=np.float32):
    return rng.standard_normal((B, T_MAX, H_IN) if batch_first else (T_MAX, B, H_IN)).astype(dtype)


def _assert_index(got, want):
    if want is None:
        assert got is None
        return
    assert got.dtype == gs.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def _assert_packed(got, want):
    assert isinstance(got, PackedSequence)
    np.testing.assert_array_equal(got.data.detach().numpy(), want.data.detach().numpy())
    assert got.batch_sizes.dtype == gs.int64 and got.batch_sizes.ndim == 1
    np.testing.assert_array_equal(got.batch_sizes.numpy(), want.batch_sizes.numpy())
    _assert_index(got.sorted_indices, want.sorted_indices)
    _assert_index(got.unsorted_indices, want.unsorted_indices)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [(SORTED, True), (SORTED, False), (UNSORTED, False),
                                                    ([3, 5, 3], False), ([2, 2, 2], True)])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_and_pad_round_trip(torch, rng, batch_first, lengths, enforce_sorted, as_tensor):
    x = _padded(rng, batch_first)
    g_len, t_len = (gs.tensor(lengths), torch.tensor(lengths)) if as_tensor else (lengths, lengths)
    got = pack_padded_sequence(gs.tensor(x), g_len, batch_first=batch_first, enforce_sorted=enforce_sorted)
    want = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), t_len, batch_first=batch_first,
                                                   enforce_sorted=enforce_sorted)
    _assert_packed(got, want)
    for kw in (dict(), dict(padding_value=-7.5), dict(total_length=7, padding_value=1.0)):
        g_pad, g_lengths = pad_packed_sequence(got, batch_first=batch_first, **kw)
        t_pad, t_lengths = torch.nn.utils.rnn.pad_packed_sequence(want, batch_first=batch_first, **kw)
        assert g_pad.dtype == gs.float32 and g_lengths.dtype == gs.int64
        np.testing.assert_array_equal(g_pad.numpy(), t_pad.numpy())
        np.testing.assert_array_equal(g_lengths.numpy(), t_lengths.numpy())
        np.testing.assert_array_equal(g_lengths.numpy(), lengths)


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 2, 1]), (False, [2, 4, 1])])
def test_pack_sequence(torch, rng, enforce_sorted, lengths):
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in lengths]
    got = pack_sequence([gs.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    want = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    _assert_packed(got, want)
    # a packed sequence of int token ids keeps its dtype
    ids = pack_sequence([gs.tensor([1, 2, 3]), gs.tensor([4])])
    assert ids.data.dtype == gs.int64
    np.testing.assert_array_equal(ids.data.numpy(), [1, 4, 2, 3])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_through_pack_and_pad(torch, rng, batch_first, dtype):
    x = _padded(rng, batch_first, dtype)
    kw = dict(batch_first=batch_first)

    def run(mod):
        def fn(t):
            packed = mod.pack_padded_sequence(t, UNSORTED, enforce_sorted=False, **kw)
            # something else than the identity on the data, so each row's gradient is distinct
            packed = type(packed)(packed.data * packed.data, packed.batch_sizes, packed.sorted_indices,
                                  packed.unsorted_indices)
            return mod.pad_packed_sequence(packed, padding_value=0.5, total_length=6, **kw)[0]
        return fn

    check(run(gs.nn.utils.rnn), run(torch.nn.utils.rnn), [x], torch=torch)
    check(lambda t: pack_padded_sequence(t, SORTED, **kw).data,
          lambda t: torch.nn.utils.rnn.pack_padded_sequence(t, SORTED, **kw).data, [x], torch=torch)
    seqs = [rng.standard_normal((n, 2)).astype(dtype) for n in (2, 4, 1)]
    check(lambda *s: pack_sequence(list(s), enforce_sorted=False).data,
          lambda *s: torch.nn.utils.rnn.pack_sequence(list(s), enforce_sorted=False).data, seqs, torch=torch)


def test_packed_sequence_tuple_and_constructor(torch, rng):
    p = pack_padded_sequence(gs.tensor(_padded(rng, False)), UNSORTED, enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == torch.nn.utils.rnn.PackedSequence._fields
    same = PackedSequence(data, batch_sizes, sorted_indices)  # unsorted_indices computed, as torch
    np.testing.assert_array_equal(same.unsorted_indices.numpy(), unsorted_indices.numpy())
    as_double = p.double()
    assert as_double.data.dtype == gs.float64 and as_double.batch_sizes.dtype == gs.int64
    assert as_double.float().data.dtype == gs.float32


def test_errors():
    x = gs.zeros(4, 3, 2)
    with pytest.raises(gs.InvalidArgument, match="must be sorted in decreasing order when `enforce_sorted`"):
        pack_padded_sequence(x, [3, 4, 2])
    with pytest.raises(gs.InvalidArgument, match="must be sorted in decreasing order"):
        pack_sequence([gs.ones(1), gs.ones(2)])
    for enforce_sorted in (True, False):
        with pytest.raises(gs.InvalidArgument, match="greater than 0"):
            pack_padded_sequence(x, [4, 3, 0], enforce_sorted=enforce_sorted)
        with pytest.raises(gs.InvalidArgument, match="longer than the input's 4 time steps"):
            pack_padded_sequence(x, [5, 3, 2], enforce_sorted=enforce_sorted)
    with pytest.raises(gs.InvalidArgument, match="greater than 0"):
        pack_sequence([gs.ones(2), gs.ones(0)], enforce_sorted=False)
    with pytest.raises(gs.InvalidArgument, match=r"len\(lengths\) to be equal to batch_size, but got 2"):
        pack_padded_sequence(x, [4, 3])
    with pytest.raises(gs.ShapeError, match="1-d int64 tensor"):
        pack_padded_sequence(x, gs.tensor([[4, 3, 2]]))
    with pytest.raises(gs.ArgumentTypeError, match="int64 tensor, got dtype float32"):
        pack_padded_sequence(x, gs.tensor([4.0, 3.0, 2.0]))
    with pytest.raises(gs.ArgumentTypeError, match="lengths to be ints"):
        pack_padded_sequence(x, [4.0, 3, 2])
    with pytest.raises(gs.InvalidArgument, match="total_length=3 and max sequence length being 4"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 3, 2]), total_length=3)
    with pytest.raises(gs.ArgumentTypeError, match="expected a PackedSequence, got Tensor"):
        pad_packed_sequence(x)
    with pytest.raises(gs.ShapeError, match="expected packed data of shape"):
        nn.LSTM(3, 4)(pack_padded_sequence(x, [4, 3, 2]))


# ------------------------------------------------------------------ recurrent layers
def _pair(cls_name, torch, **kwargs):
    torch.manual_seed(0)
    t_module = getattr(torch.nn, cls_name)(**kwargs)
    g_module = getattr(nn, cls_name)(**kwargs)
    g_module.load_state_dict({k: gs.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})
    return g_module, t_module


def _packed_call(torch, lengths, enforce_sorted, batch_first):
    """call(module, x, *states) -> [padded output, h_n(, c_n)] through pack / module / pad."""
    def call(module, x, *states):
        utils = torch.nn.utils.rnn if isinstance(module, torch.nn.Module) else gs.nn.utils.rnn
        packed = utils.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        hx = None if not states else states[0] if len(states) == 1 else tuple(states)
        output, state = module(packed, hx)
        assert isinstance(output, utils.PackedSequence)
        padded, _ = utils.pad_packed_sequence(output, batch_first=batch_first)
        return [padded, *state] if isinstance(state, tuple) else [padded, state]
    return call


GRID = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True]))


@pytest.mark.parametrize("cls_name,num_layers,bidirectional", GRID)
@pytest.mark.parametrize("batch_first,with_state,lengths", [(False, False, SORTED), (True, True, UNSORTED)])
def test_recurrent_on_packed_input(torch, rng, cls_name, num_layers, bidirectional, batch_first, with_state,
                                   lengths):
    g, t = _pair(cls_name, torch, input_size=H_IN, hidden_size=H, num_layers=num_layers,
                 bidirectional=bidirectional, batch_first=batch_first)
    arrays = [_padded(rng, batch_first)]
    if with_state:
        shape = ((2 if bidirectional else 1) * num_layers, B, H)
        arrays += [rng.standard_normal(shape).astype(np.float32) for _ in range(2 if cls_name == "LSTM" else 1)]
    call = _packed_call(torch, lengths, lengths == sorted(lengths, reverse=True), batch_first)
    check_module(g, t, arrays, torch=torch, call=call, copy=False, rtol=1e-4, atol=1e-5)


def test_packed_final_state_is_each_sequence_own_last_step(torch, rng):
    """h_n of a packed batch equals running each sequence alone, unpadded (no torch needed for the claim)."""
    g, _ = _pair("GRU", torch, input_size=H_IN, hidden_size=H, bidirectional=True)
    x = gs.tensor(_padded(rng, False))
    output, h_n = g(pack_padded_sequence(x, UNSORTED, enforce_sorted=False))
    padded, _ = pad_packed_sequence(output)
    for b, n in enumerate(UNSORTED):
        alone, h_alone = g(x[:n, b:b + 1])
        np.testing.assert_allclose(h_n[:, b].detach().numpy(), h_alone[:, 0].detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(padded[:n, b].detach().numpy(), alone[:, 0].detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        assert not np.any(padded[n:, b].detach().numpy())


def test_lstm_projection_and_long_packed_sequence(torch, rng):
    """proj_size, and more than 16 steps (the blocked split of the packed rows)."""
    g, t = _pair("LSTM", torch, input_size=H_IN, hidden_size=H, proj_size=2, bidirectional=True)
    x = rng.standard_normal((20, B, H_IN)).astype(np.float32)
    check_module(g, t, [x], torch=torch, call=_packed_call(torch, [20, 7, 18], False, False), copy=False,
                 rtol=1e-4, atol=1e-5)
