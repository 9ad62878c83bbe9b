"""Metrics: functional forms against PyTorch/NumPy, accumulation over batches, state round trip."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.train import metrics as M


def test_accuracy_and_top_k_match_torch(torch, rng):
    out = rng.standard_normal((50, 7)).astype(np.float32)
    y = rng.integers(0, 7, 50)
    t_out, t_y = torch.tensor(out), torch.tensor(y)
    assert M.accuracy(out, y) == pytest.approx((t_out.argmax(1) == t_y).float().mean().item())
    for k in (1, 3, 7):
        expected = (t_out.topk(k, dim=1).indices == t_y[:, None]).any(1).float().mean().item()
        assert M.top_k_accuracy(out, y, k) == pytest.approx(expected)


def test_accuracy_accepts_tensors_sequences_and_probability_targets():
    out = gs.tensor([[[0.1, 0.9], [0.8, 0.2]], [[0.3, 0.7], [0.6, 0.4]]])  # (B, T, C)
    y = gs.tensor([[1, 1], [1, 0]])
    assert M.accuracy(out, y) == 0.75
    probs = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    assert M.accuracy(np.array([[0.1, 0.9], [0.2, 0.8]]), probs) == 0.5
    # class dimension at 1, as cross_entropy takes it: (N, C, d)
    out_c1 = np.zeros((1, 3, 2))
    out_c1[0, 2, 0] = out_c1[0, 1, 1] = 1
    assert M.accuracy(out_c1, np.array([[2, 0]])) == 0.5


def test_regression_metrics(rng):
    out = rng.standard_normal((20, 1)).astype(np.float32)
    y = rng.standard_normal(20).astype(np.float32)
    d = out[:, 0].astype(np.float64) - y
    assert M.mse(out, y) == pytest.approx(np.mean(d ** 2))
    assert M.mae(out, y) == pytest.approx(np.mean(np.abs(d)))


def test_accumulating_over_batches_equals_whole(rng):
    out = rng.standard_normal((100, 5))
    y = rng.integers(0, 5, 100)
    for name, fn in (("accuracy", M.accuracy), ("top3", lambda o, t: M.top_k_accuracy(o, t, 3))):
        m = M.get(name)
        for s in range(0, 100, 32):
            m.update(out[s:s + 32], y[s:s + 32])
        assert m.compute() == pytest.approx(fn(out, y))
    reg = M.MeanSquaredError()
    target = rng.standard_normal((100, 5))
    for s in range(0, 100, 30):
        reg.update(out[s:s + 30], target[s:s + 30])
    assert reg.compute() == pytest.approx(M.mse(out, target))


def test_state_dict_round_trip_and_reset():
    m = M.Accuracy()
    m.update(np.eye(3), np.array([0, 1, 0]))
    state = m.state_dict()
    other = M.Accuracy()
    other.load_state_dict(state)
    assert other.compute() == m.compute() == pytest.approx(2 / 3)
    m.reset()
    assert np.isnan(m.compute())
    mean = M.Mean()
    mean.update(2.0, 3)
    mean.update(4.0, 1)
    assert mean.compute() == 2.5


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown metric 'f1'.*accuracy"):
        M.get("f1")
    assert M.get("top7").k == 7
    with pytest.raises(ValueError, match=r"output of shape \(4, 3\).*targets of shape \(5,\)"):
        M.accuracy(np.zeros((4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="k=9 is larger than the number of classes"):
        M.top_k_accuracy(np.zeros((4, 3)), np.zeros(4, dtype=int), 9)
    with pytest.raises(ValueError, match="differ"):
        M.mse(np.zeros((4, 2)), np.zeros(5))
