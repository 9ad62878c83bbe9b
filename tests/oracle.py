"""Run the same computation in gradstep and PyTorch and compare values and gradients.

``check(gs_fn, torch_fn, arrays)`` is the whole protocol of an op test:
build tensors from the same NumPy arrays, run both functions, compare the
output (shape, dtype, values), backpropagate the same random gradient and
compare every input's gradient; then ``gradcheck`` the gradstep function in
float64 against finite differences.
"""
from __future__ import annotations

import numpy as np

import gradstep as gs

TOL = {np.float32: dict(rtol=1.3e-5, atol=1e-5), np.float64: dict(rtol=1e-7, atol=1e-7)}


def _torch_dtype(torch, dtype):
    return getattr(torch, np.dtype(dtype).name if np.dtype(dtype) != np.bool_ else "bool")


def _assert_close(name, got, want, rtol, atol):
    assert got.shape == want.shape, f"{name}: shape {got.shape}, expected {want.shape}"
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=name)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name, equal_nan=True)


def check(gs_fn, torch_fn, arrays, *, torch, grad=None, rtol=None, atol=None,
          gradcheck=True, seed=0):
    """Compare ``gs_fn(*tensors)`` with ``torch_fn(*tensors)`` on ``arrays``.

    Float arrays become tensors that require grad (unless ``grad`` lists which
    inputs should). Returns the gradstep output.
    """
    arrays = [np.asarray(a) for a in arrays]
    wants_grad = grad if grad is not None else [a.dtype.kind == "f" for a in arrays]
    g_in = [gs.tensor(a, requires_grad=w) for a, w in zip(arrays, wants_grad)]
    t_in = [torch.tensor(a, requires_grad=w) for a, w in zip(arrays, wants_grad)]
    g_out, t_out = gs_fn(*g_in), torch_fn(*t_in)
    float_dtype = next((a.dtype.type for a in arrays if a.dtype.kind == "f"), np.float32)
    tol = dict(TOL.get(float_dtype, TOL[np.float32]))
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    assert str(g_out.dtype) == str(t_out.dtype).replace("torch.", ""), (
        f"dtype {g_out.dtype}, torch gives {t_out.dtype}"
    )
    _assert_close("forward", g_out.detach().numpy(), t_out.detach().numpy(), **tol)

    if any(wants_grad) and g_out.requires_grad:
        rng = np.random.default_rng(seed)
        seed_grad = rng.standard_normal(t_out.shape).astype(t_out.detach().numpy().dtype)
        g_out.backward(gs.tensor(seed_grad))
        t_out.backward(torch.tensor(seed_grad))
        for i, (g, t) in enumerate(zip(g_in, t_in)):
            if not wants_grad[i]:
                continue
            tg = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, t.detach().numpy().dtype)
            gg = g.grad.numpy() if g.grad is not None else np.zeros(g.shape, g.dtype)
            assert gg.dtype == g.dtype, f"grad {i}: dtype {gg.dtype}, expected {g.dtype}"
            _assert_close(f"grad of input {i}", gg, tg, **tol)

        if gradcheck:
            g64 = [gs.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a, requires_grad=w)
                   for a, w in zip(arrays, wants_grad)]
            gs.gradcheck(gs_fn, g64, atol=1e-5, rtol=1e-3)
    return g_out
