"""``gradstep.utils.checkpoint``: activation checkpointing, PyTorch's ``torch.utils.checkpoint``.

``checkpoint(fn, *args)`` runs ``fn`` under ``no_grad``: none of its
intermediate activations are kept, only its inputs. The whole call is one node
of the graph (a custom :class:`~gradstep.autograd.Function`). Its backward runs
``fn`` again with grad enabled, on detached copies of the saved inputs, and
backpropagates the incoming gradients through that recomputation with a nested
``autograd.backward``: the inputs' gradients are returned to the outer walk, and
leaves reached only inside ``fn`` (a module's parameters) get their ``.grad``
accumulated by the nested walk. The engine allows this re-entrant call: each
walk keeps its state (gradient table, hooks, buffers) in its own locals.

With ``preserve_rng_state=True`` (the default) the global generator's state is
taken before the forward and set again for the recomputation (dropout draws the
same masks), then put back where it was.

Both of PyTorch's variants are accepted. ``use_reentrant=True`` (the default
when it is not passed, with PyTorch's warning) refuses keyword arguments,
``context_fn`` and ``debug``, and warns when no input requires grad (the
outputs then don't either). ``use_reentrant=False`` takes keyword arguments
(tensors among them get gradients), ``context_fn`` (two context managers: one
around the forward, one around the recomputation) and checks that the
recomputation gives outputs of the same shapes and dtypes
(``determinism_check="default"``); the parameters inside ``fn`` get gradients
even when no input requires grad.

Known difference: the nested walk accumulates into the inner leaves' ``.grad``
also when the outer call is ``autograd.grad`` (PyTorch's reentrant variant
raises there; its non-reentrant one leaves ``.grad`` alone).
"""
from __future__ import annotations

import warnings

from ..autograd.custom_function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..autograd.tensor import Tensor
from ..backend import get_rng_state, set_rng_state
from ..errors import ArgumentTypeError, GradError, InvalidArgument

__all__ = ["checkpoint", "checkpoint_sequential"]

_DETERMINISM_CHECKS = ("default", "none")


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, determinism_check="default",
               debug=False, context_fn=None, **kwargs):
    """``function(*args, **kwargs)`` without keeping its activations; recomputed during backward.

    Returns what ``function`` returns (a tensor or a tuple); see the module docstring.
    """
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
                      "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=2)
        use_reentrant = True
    if not callable(function):
        raise ArgumentTypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if use_reentrant:
        if kwargs:
            raise InvalidArgument("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not None or debug is not False:
            raise InvalidArgument("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    elif determinism_check not in _DETERMINISM_CHECKS:
        raise InvalidArgument(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got "
                              f"{determinism_check}")
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    anchor = ()
    if not any(t.requires_grad for t in tensors):
        if use_reentrant:
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        elif is_grad_enabled():
            # No input requires grad, but parameters inside `function` may: a placeholder input that
            # does keeps the call in the graph, so backward reaches it (PyTorch's non-reentrant variant
            # records the inner ops themselves).
            anchor = (Tensor._wrap(_empty(), True),)
    plan = _Plan(function, bool(preserve_rng_state), bool(use_reentrant), determinism_check, context_fn,
                 len(args), tuple(kwargs))
    return _Checkpoint.apply(plan, *args, *kwargs.values(), *anchor)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a Sequential or a list of callables) one after the other, checkpointing all but the last segment.

    The layers are cut into ``segments`` chunks of ``len(functions) // segments``; the
    last chunk (with any remainder) runs normally, as in PyTorch.
    """
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise InvalidArgument("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn.container import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)


class _Plan:
    """What the checkpointed call needs besides its tensors: passed to the Function as one non-tensor argument."""

    def __init__(self, function, preserve, reentrant, determinism_check, context_fn, nargs, keys):
        self.function, self.preserve, self.reentrant = function, preserve, reentrant
        self.determinism_check, self.context_fn = determinism_check, context_fn
        self.nargs, self.keys = nargs, keys

    def call(self, values):
        """``function`` on the positional and keyword values (the placeholder, if any, left out)."""
        args = values[:self.nargs]
        kwargs = dict(zip(self.keys, values[self.nargs:self.nargs + len(self.keys)]))
        return self.function(*args, **kwargs)

    def contexts(self):
        if self.context_fn is None:
            return _Null(), _Null()
        return self.context_fn()


class _Checkpoint(Function):
    """One node for the whole checkpointed call: forward without a graph, backward by recomputation."""

    @staticmethod
    def forward(ctx, plan, *values):
        forward_context, ctx.recompute_context = plan.contexts()
        ctx.plan = plan
        ctx.rng_state = get_rng_state() if plan.preserve else None
        ctx.positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        ctx.others = [None if isinstance(v, Tensor) else v for v in values]
        ctx.save_for_backward(*(values[i] for i in ctx.positions))
        with forward_context:  # Function.forward runs under no_grad: nothing inside is recorded
            outputs = plan.call(values)
        ctx.meta = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None
                    for o in (outputs if isinstance(outputs, tuple) else (outputs,))]
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        plan = ctx.plan
        values = list(ctx.others)
        for i, t in zip(ctx.positions, ctx.saved_tensors):
            detached = t.detach()
            if t.requires_grad:
                detached.requires_grad_(True)
            values[i] = detached
        outer_state = get_rng_state() if plan.preserve else None
        try:
            if plan.preserve:
                set_rng_state(ctx.rng_state)
            with enable_grad(), ctx.recompute_context:
                outputs = plan.call(values)
        finally:
            if plan.preserve:
                set_rng_state(outer_state)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        if not plan.reentrant and plan.determinism_check == "default":
            _check_same(ctx.meta, outputs)
        with_grad, their_grads = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad and g is not None:
                with_grad.append(out)
                their_grads.append(g)
        if not with_grad:
            if plan.reentrant:
                raise GradError("checkpoint: none of output has requires_grad=True, this checkpoint() is not "
                                "necessary")
            return (None,) * (1 + len(values))
        with no_grad():
            from ..autograd.api import backward

            backward(with_grad, their_grads)  # re-entrant: the engine's walk keeps its state in locals
        return (None, *(v.grad if isinstance(v, Tensor) else None for v in values))


def _check_same(meta, outputs) -> None:
    """The recomputation must give outputs of the forward's shapes and dtypes (determinism_check='default')."""
    now = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None for o in outputs]
    if now != meta:
        raise GradError(f"checkpoint: the recomputation gave different outputs than the forward: "
                        f"{_describe(meta)} in the forward, {_describe(now)} when recomputed (is the checkpointed "
                        f"function deterministic in its shapes? pass determinism_check='none' to skip this check)")


def _describe(meta) -> str:
    return "[" + ", ".join("non-tensor" if m is None else f"{m[1]}{list(m[0])}" for m in meta) + "]"


def _empty():
    from ..backend import default_dtype, xp

    return xp.zeros((0,), dtype=default_dtype())


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
