"""Run a gradstep module and its torch twin on the same weights and inputs; compare everything."""
from __future__ import annotations

import numpy as np

import gradstep as gs

TOL = dict(rtol=2e-5, atol=2e-5)


def to_torch_state(gs_module, torch):
    return {k: torch.tensor(np.array(v.numpy())) for k, v in gs_module.state_dict().items()}


def copy_to_torch(gs_module, t_module, torch):
    """Load gradstep's weights into torch (strict: the key names must be identical)."""
    t_module.load_state_dict(to_torch_state(gs_module, torch), strict=True)
    assert list(gs_module.state_dict()) == list(t_module.state_dict()), "state_dict keys differ from torch's"


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return [o for o in out if o is not None]
    return [out]


def check_module(gs_module, t_module, arrays, *, torch, grad=None, rtol=TOL["rtol"], atol=TOL["atol"],
                 call=None, seed=0, copy=True):
    """Same weights, same inputs: outputs, input gradients and all parameter gradients must match torch's.

    ``arrays`` are NumPy inputs (float arrays require grad unless ``grad`` says otherwise).
    ``call(module, *inputs)`` overrides how the module is called. Returns the gradstep outputs.
    """
    if copy:
        copy_to_torch(gs_module, t_module, torch)
    wants = grad if grad is not None else [a.dtype.kind == "f" for a in arrays]
    g_in = [gs.tensor(a, requires_grad=w) if isinstance(a, np.ndarray) else a for a, w in zip(arrays, wants)]
    t_in = [torch.tensor(a, requires_grad=w) if isinstance(a, np.ndarray) else a for a, w in zip(arrays, wants)]
    call = call or (lambda m, *xs: m(*xs))
    g_out, t_out = _outputs(call(gs_module, *g_in)), _outputs(call(t_module, *t_in))
    assert len(g_out) == len(t_out)
    rng = np.random.default_rng(seed)
    g_loss, t_loss = None, None
    for i, (go, to) in enumerate(zip(g_out, t_out)):
        want = to.detach().numpy()
        got = go.detach().numpy()
        assert got.shape == want.shape, f"output {i}: shape {got.shape}, torch {want.shape}"
        assert got.dtype == want.dtype, f"output {i}: dtype {got.dtype}, torch {want.dtype}"
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"output {i}")
        if to.requires_grad:
            seed_grad = rng.standard_normal(want.shape).astype(want.dtype)
            gl = (go * gs.tensor(seed_grad)).sum()
            tl = (to * torch.tensor(seed_grad)).sum()
            g_loss = gl if g_loss is None else g_loss + gl
            t_loss = tl if t_loss is None else t_loss + tl
    if t_loss is None:
        return g_out
    g_loss.backward()
    t_loss.backward()
    for i, (g, t) in enumerate(zip(g_in, t_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:  # input unused by torch too
                assert g.grad is None or not np.any(g.grad.numpy()), f"input {i}: gradient where torch has none"
                continue
            assert g.grad is not None, f"input {i}: no gradient"
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"grad of input {i}")
    t_params = dict(t_module.named_parameters())
    g_params = dict(gs_module.named_parameters())
    assert list(g_params) == list(t_params), f"parameter names {list(g_params)} != torch {list(t_params)}"
    for name, tp in t_params.items():
        gp = g_params[name]
        if tp.grad is None:
            assert gp.grad is None or not np.any(gp.grad.numpy()), f"{name}: gradient where torch has none"
            continue
        assert gp.grad is not None, f"{name}: no gradient"
        assert gp.grad.dtype == gp.dtype, f"{name}: grad dtype {gp.grad.dtype}, param {gp.dtype}"
        np.testing.assert_allclose(gp.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"grad of {name}")
    return g_out
