"""``explain``: every number equals a manual forward/backward done here with NumPy."""
import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.observe.explain import default_example, explain_step, tiny_model


def _manual(W1, b1, W2, b2, x, k, lr):
    x = x.astype(np.float64)
    z1 = x @ W1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2.T + b2
    p = np.exp(z2 - z2.max()) / np.exp(z2 - z2.max()).sum()
    loss = -np.log(p[0, k])
    dz2 = p.copy()
    dz2[0, k] -= 1
    dW2, db2 = dz2.T @ a1, dz2[0]
    da1 = dz2 @ W2
    dz1 = da1 * (z1 > 0)
    dW1, db1 = dz1.T @ x, dz1[0]
    new = [W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2]
    z2n = np.maximum(x @ new[0].T + new[1], 0) @ new[2].T + new[3]
    pn = np.exp(z2n - z2n.max()) / np.exp(z2n - z2n.max()).sum()
    return dict(z1=z1, a1=a1, z2=z2, p=p, loss=loss, dz2=dz2, da1=da1, dz1=dz1, dW1=dW1, db1=db1, dW2=dW2,
                db2=db2, new=new, loss_after=-np.log(pn[0, k]))


def test_numbers_equal_a_manual_forward_and_backward():
    model = tiny_model()
    x, y, classes = default_example(7)
    W1, b1, W2, b2 = (p._data.astype(np.float64).copy() for p in model.parameters())
    m = _manual(W1, b1, W2, b2, x, int(y[0]), lr=0.1)
    e = explain_step(model, x, y, lr=0.1, classes=classes, image_shape=(1, 8, 8))
    close = dict(rtol=1e-5, atol=1e-6)
    names = [L.name for L in e.layers]
    assert names == ["0", "1", "2"] and [L.type for L in e.layers] == ["Linear", "ReLU", "Linear"]
    L0, L1, L2 = e.layers
    np.testing.assert_allclose(L0.output, m["z1"], **close)
    np.testing.assert_allclose(L1.output, m["a1"], **close)
    np.testing.assert_allclose(L2.output, m["z2"], **close)
    np.testing.assert_allclose(e.logits, m["z2"], **close)
    np.testing.assert_allclose(e.probs, m["p"], **close)
    assert e.loss_before == pytest.approx(m["loss"], rel=1e-5)
    np.testing.assert_allclose(e.grad_logits, m["dz2"], **close)
    np.testing.assert_allclose(L2.grad_output, m["dz2"], **close)
    np.testing.assert_allclose(L1.grad_output, m["da1"], **close)
    np.testing.assert_allclose(L0.grad_output, m["dz1"], **close)
    np.testing.assert_allclose(L0.param_grads["weight"], m["dW1"], **close)
    np.testing.assert_allclose(L0.param_grads["bias"], m["db1"], **close)
    np.testing.assert_allclose(L2.param_grads["weight"], m["dW2"], **close)
    np.testing.assert_allclose(L2.param_grads["bias"], m["db2"], **close)
    assert e.loss_after == pytest.approx(m["loss_after"], rel=1e-5)
    assert e.loss_after < e.loss_before
    new = dict(zip(["0.weight", "0.bias", "2.weight", "2.bias"], m["new"]))
    grads = {"0.weight": m["dW1"], "0.bias": m["db1"], "2.weight": m["dW2"], "2.bias": m["db2"]}
    assert len(e.updates) == 12
    for name, idx, before, grad, after in e.updates:
        assert grad == pytest.approx(grads[name][idx], rel=1e-5, abs=1e-7)
        assert after == pytest.approx(new[name][idx], rel=1e-5, abs=1e-7)
        assert after == pytest.approx(before - 0.1 * grad, rel=1e-5, abs=1e-7)
    # the model is left exactly as it came
    for p, orig in zip(model.parameters(), (W1, b1, W2, b2)):
        np.testing.assert_array_equal(p._data, orig.astype(np.float32))
        assert p.grad is None


def test_text_tells_the_story_with_those_numbers():
    model = tiny_model()
    x, y, classes = default_example(0)
    e = explain_step(model, x, y, lr=0.1, classes=classes, image_shape=(1, 8, 8))
    text = str(e)
    for heading in ("1. The input", "2. Forward pass", "3. Probabilities and loss", "4. Backward pass",
                    "5. The update w ← w − lr·g", "6. The same example after the step"):
        assert heading in text
    k = int(y[0])
    assert f"loss = −log p[{k}] = −log {e.probs[0, k]:.4g} = {e.loss_before:.4g}" in text
    assert "weighted sum z = x·Wᵀ + b, W (16, 64), x (1, 64) -> z (1, 16)" in text
    assert "dL/dlogits = p − onehot" in text and "dL/dW = (dL/dz)ᵀ·x" in text
    assert f"loss after the step:  {e.loss_after:.4g}" in text
    name, idx, before, grad, after = e.updates[0]
    assert f"{name}[{', '.join(map(str, idx))}]: {before:.4g} − 0.1 × " in text
    page = e.html()
    assert page.startswith("<!DOCTYPE html>") and "4. Backward pass" in page and "data:image/png;base64," in page


def test_works_on_other_models_and_sequences():
    gs.manual_seed(0)
    model = nn.Sequential(nn.Embedding(11, 8), nn.LayerNorm(8), nn.Linear(8, 11))
    x = np.array([[1, 2, 3, 4]])
    y = np.array([[2, 3, 4, 5]])
    e = explain_step(model, x, y, lr=0.5)
    assert e.probs.shape == (1, 4, 11) and e.loss_after < e.loss_before
    text = str(e)
    assert "0 (Embedding): a learned vector looked up for each token id, output (1, 4, 8)" in text
    assert "mean over positions" in text
    assert "dL/dweight: shape (11, 8)" in text


def test_default_example_checks_the_index():
    with pytest.raises(IndexError, match="--index 5000 is out of range for the digits train split"):
        default_example(5000)
