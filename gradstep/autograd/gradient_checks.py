"""``autograd.gradcheck`` with PyTorch's signature (and ``gradgradcheck``, which needs higher order).

The check itself is :func:`gradstep.testing.gradcheck` (analytical against
central finite differences, in float64). This front accepts PyTorch's keyword
arguments: those about checks gradstep can't run (forward-mode, batched) are
refused when switched on, the others (``nondet_tol``, ``fast_mode``, ...) don't
change a deterministic, already randomised check. Like PyTorch it leaves the
inputs' ``.grad`` as they were.
"""
from __future__ import annotations

from ..errors import NotSupported
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck"]


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked=None) -> bool:
    """True when ``func``'s gradients with respect to its inputs that require grad match finite differences."""
    for flag, what in ((check_forward_ad, "check_forward_ad (forward-mode AD)"),
                       (check_batched_grad, "check_batched_grad (vmap)"),
                       (check_batched_forward_grad, "check_batched_forward_grad (forward-mode AD under vmap)")):
        if flag:
            raise NotSupported(f"gradcheck: {what} is not supported by gradstep; leave it False")
    if not check_backward_ad:
        return True
    from ..testing.gradcheck import gradcheck as check

    tensors = [inputs] if isinstance(inputs, Tensor) else [t for t in inputs if isinstance(t, Tensor)]
    saved = [t._grad for t in tensors]
    try:
        return check(func, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
    finally:
        for t, g in zip(tensors, saved):
            t._grad = g


def gradgradcheck(func, inputs, grad_outputs=None, **kwargs) -> bool:
    """Not supported: checking second derivatives needs higher-order gradients, which gradstep doesn't have."""
    raise NotSupported("gradgradcheck: second-order gradients (create_graph=True, double backward) are not "
                       "supported by gradstep, so there is nothing to check; use gradcheck for first order")
