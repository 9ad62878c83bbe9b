"""gradstep.nn.utils.rnn.pad_sequence against torch.nn.utils.rnn.pad_sequence (values, dtypes, gradients, errors)."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.nn.utils.rnn import pad_sequence
from tests.oracle import check


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_float_sequences_values_and_gradients(torch, rng, batch_first, padding_side):
    seqs = [rng.standard_normal((n, 2, 3)).astype(np.float32) for n in (3, 1, 4)]
    kw = dict(batch_first=batch_first, padding_value=-2.5, padding_side=padding_side)
    out = check(lambda *s: pad_sequence(list(s), **kw), lambda *s: torch.nn.utils.rnn.pad_sequence(list(s), **kw),
                seqs, torch=torch)
    assert out.shape == ((3, 4, 2, 3) if batch_first else (4, 3, 2, 3))


def test_token_ids_keep_their_dtype(torch):
    ids = [[2, 5, 6, 3], [2, 7, 3], [2, 3]]
    for kw in (dict(padding_value=1), dict(padding_value=1.5, batch_first=True), dict()):
        got = gs.nn.utils.rnn.pad_sequence([gs.tensor(i) for i in ids], **kw)
        want = torch.nn.utils.rnn.pad_sequence([torch.tensor(i) for i in ids], **kw)
        assert got.dtype == gs.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    mixed = pad_sequence((gs.ones(2), gs.ones(1, dtype=gs.float64)))  # a tuple; the first sequence's dtype
    assert mixed.dtype == torch.nn.utils.rnn.pad_sequence((torch.ones(2), torch.ones(1, dtype=torch.float64))).numpy().dtype


def test_errors():
    with pytest.raises(gs.InvalidArgument, match="received an empty list of sequences"):
        pad_sequence([])
    with pytest.raises(gs.ShapeError, match=r"sequences\[1\] has shape \(1, 4\) but sequences\[0\] has \(2, 3\)"):
        pad_sequence([gs.ones(2, 3), gs.ones(1, 4)])
    with pytest.raises(gs.ShapeError, match=r"sequences\[0\] is 0-d"):
        pad_sequence([gs.tensor(1.0)])
    with pytest.raises(gs.InvalidArgument, match="padding_side to be one of left or right, but got 'middle'"):
        pad_sequence([gs.ones(2)], padding_side="middle")
    with pytest.raises(gs.ArgumentTypeError, match="expected a list of tensors, got Tensor"):
        pad_sequence(gs.ones(2, 3))
    with pytest.raises(gs.ArgumentTypeError, match=r"sequences\[0\] is a list"):
        pad_sequence([[1, 2]])
