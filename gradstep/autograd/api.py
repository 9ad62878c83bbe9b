"""``autograd.grad`` and ``autograd.backward``: PyTorch's functional entry points to the engine.

``grad(outputs, inputs)`` returns the gradients of ``outputs`` with respect to
``inputs`` (leaves or tensors inside the graph) without touching any ``.grad``;
``backward(tensors, inputs=...)`` accumulates into ``.grad`` as
``Tensor.backward`` does, for several outputs at once or for chosen inputs
only. Both check their arguments here and hand one walk of the graph to
:mod:`gradstep.autograd.engine`.

Higher-order gradients (``create_graph=True``) are not supported: the
engine's backward functions compute on NumPy arrays and record no graph, so
a gradient cannot be differentiated again. Both functions say so instead of
returning gradients that would silently act as constants.
"""
from __future__ import annotations

import warnings

from ..backend import xp
from ..errors import ArgumentTypeError, GradError, InvalidArgument, NotSupported
from .engine import backward_from, gradients_of
from .tensor import Tensor

__all__ = ["grad", "backward"]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; no ``.grad`` is changed.

    Args:
        outputs: a tensor or a sequence of tensors to differentiate.
        inputs: a tensor, a sequence of tensors (leaves or inside the graph) or a dict
            of them (then the result is a dict with the same keys).
        grad_outputs: the gradient of each output (the "vector" of the vector-Jacobian
            product); None for a one-element output means 1.
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: not supported (higher-order gradients); raises :class:`NotSupported`.
        allow_unused: if False (the default), an input no gradient reaches is an error;
            if True its gradient is None.
        is_grads_batched: the first dimension of each grad_output is a batch: one
            backward per batch element, gradients stacked along a new first dimension.
        materialize_grads: zeros instead of None for unused inputs (implies allow_unused).

    Tensor hooks on the way run as in PyTorch; tensors that called ``retain_grad()``
    get their ``.grad`` as in PyTorch 2.x. The gradients themselves never require grad.
    """
    if create_graph:
        raise _higher_order("grad")
    if materialize_grads and allow_unused is False:
        raise InvalidArgument("grad: Expected allow_unused to be True or not passed when materialize_grads=True, "
                              "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not only_inputs:
        warnings.warn("grad: only_inputs argument is deprecated and is ignored now (defaults to True)",
                      stacklevel=2)
    keys = None
    if isinstance(inputs, dict):
        keys, inputs = list(inputs), list(inputs.values())
    outputs = _as_tensors("grad", "outputs", outputs)
    inputs = _as_tensors("grad", "inputs", inputs)
    if not inputs:
        raise InvalidArgument("grad: `inputs` argument to `grad()` cannot be empty.")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise GradError(f"grad: inputs[{i}] of shape {tuple(t.shape)} does not require grad (One of the "
                            f"differentiated Tensors does not require grad); create it with requires_grad=True")
    retain = bool(create_graph if retain_graph is None else retain_graph)

    if is_grads_batched:
        arrays = _batched(outputs, grad_outputs, inputs, retain)
    else:
        arrays = gradients_of(outputs, _seeds("grad", outputs, grad_outputs, "grad_outputs"), inputs, retain)
    result = []
    for i, (t, g) in enumerate(zip(inputs, arrays)):
        if g is None:
            if not allow_unused:
                raise GradError(f"grad: The differentiated Tensor at index {i} appears to not have been used in "
                                f"the graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                shape = t._data.shape if not is_grads_batched else (_batch_size(grad_outputs),) + t._data.shape
                g = xp.zeros(shape, dtype=t._data.dtype)
        result.append(None if g is None else Tensor._wrap(g, False))
    return dict(zip(keys, result)) if keys is not None else tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad`` (or into ``inputs``' only).

    ``autograd.backward(loss)`` is ``loss.backward()``; with several tensors
    (``grad_tensors`` giving each one's gradient, None for a one-element tensor)
    their graphs are walked once together. With ``inputs``, only those tensors
    (leaves or not) get a ``.grad``; the other leaves are left alone.
    """
    if create_graph:
        raise _higher_order("backward")
    if grad_variables is not None:
        if grad_tensors is not None:
            raise InvalidArgument("backward: pass grad_tensors only (grad_variables is its deprecated name), "
                                  "not both")
        warnings.warn("backward: 'grad_variables' is deprecated. Use 'grad_tensors' instead.", stacklevel=2)
        grad_tensors = grad_variables
    tensors = _as_tensors("backward", "tensors", tensors)
    if inputs is not None:
        inputs = _as_tensors("backward", "inputs", inputs)
        if not inputs:
            raise InvalidArgument("backward: `inputs` argument to `backward()` cannot be empty.")
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise GradError(f"backward: inputs[{i}] of shape {tuple(t.shape)} does not require grad, so it "
                                f"cannot receive a .grad; create it with requires_grad=True")
    seeds = _seeds("backward", tensors, grad_tensors, "grad_tensors")
    retain = bool(create_graph if retain_graph is None else retain_graph)
    if inputs is None:
        backward_from(tensors, seeds, retain)
        return
    for t, g in zip(inputs, gradients_of(tensors, seeds, inputs, retain)):
        if g is None:
            continue
        if t._grad is None:
            t._grad = Tensor._wrap(g, False)  # gradients_of's arrays are the caller's to keep
        else:
            t._grad._data += g


def _higher_order(fn):
    return NotSupported(
        f"{fn}: create_graph=True (higher-order gradients: gradient penalties such as WGAN-GP's, "
        f"Hessian-vector products, double backward, MAML) is not supported: gradstep's backward functions "
        f"compute on NumPy arrays and record no graph, so a gradient cannot be differentiated again. "
        f"First-order gradients work with create_graph=False (the default)."
    )


def _as_tensors(fn, name, value):
    """A tuple of tensors from a tensor or an iterable of them (``model.parameters()`` too)."""
    if isinstance(value, Tensor):
        return (value,)
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ArgumentTypeError(f"{fn}: {name} must be a Tensor or a sequence of Tensors, "
                                f"got {type(value).__name__}")
    value = tuple(value)
    for i, t in enumerate(value):
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"{fn}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return value


def _given(fn, outputs, grad_outputs, name):
    """``grad_outputs`` as a list, one entry (a Tensor or None) per output."""
    if grad_outputs is None:
        return [None] * len(outputs)
    if isinstance(grad_outputs, Tensor):
        given = [grad_outputs]
    elif isinstance(grad_outputs, (list, tuple)):
        given = grad_outputs
    else:
        raise ArgumentTypeError(f"{fn}: {name} must be a Tensor, a sequence of Tensors (or None) or None, "
                                f"got {type(grad_outputs).__name__}")
    for g in given:
        if g is not None and not isinstance(g, Tensor):
            raise ArgumentTypeError(f"{fn}: gradients can be either Tensors or None, but got {type(g).__name__}")
    if len(given) != len(outputs):
        raise GradError(f"{fn}: got {len(outputs)} tensors and {len(given)} gradients; pass one gradient per "
                        f"output in {name} (None for a one-element output)")
    return list(given)


def _check_output(fn, i, out):
    if not out.requires_grad:
        raise GradError(f"{fn}: element {i} of tensors does not require grad and does not have a grad_fn "
                        f"(was it computed under no_grad(), or from tensors without requires_grad=True?)")


def _seeds(fn, outputs, grad_outputs, name):
    """The gradient array that starts backward at each output (ones for a one-element output without one)."""
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, _given(fn, outputs, grad_outputs, name))):
        _check_output(fn, i, out)
        if g is None:
            if out._data.size != 1:
                raise GradError(f"{fn}: grad can be implicitly created only for scalar outputs; output {i} has "
                                f"shape {tuple(out.shape)}: pass {name} with a gradient of that shape "
                                f"(e.g. ones_like(output))")
            seeds.append(xp.ones(out._data.shape, dtype=out._data.dtype))
            continue
        if g._data.shape != out._data.shape:
            raise GradError(f"{fn}: Mismatch in shape: {name}[{i}] has a shape of {tuple(g.shape)} and "
                            f"output[{i}] has a shape of {tuple(out.shape)}.")
        seeds.append(g._data.astype(out._data.dtype, copy=False))
    return seeds


def _batch_size(grad_outputs):
    given = [grad_outputs] if isinstance(grad_outputs, Tensor) else grad_outputs
    return next(g._data.shape[0] for g in given if g is not None)


def _batched(outputs, grad_outputs, inputs, retain):
    """``is_grads_batched``: one backward per batch element of the grad_outputs, gradients stacked."""
    given = _given("grad", outputs, grad_outputs, "grad_outputs")
    sizes = {g._data.shape[0] if g._data.ndim else None for g in given if g is not None}
    if not sizes or None in sizes or len(sizes) != 1:
        raise InvalidArgument("grad: is_grads_batched=True needs grad_outputs whose first dimension is the batch "
                              "(the same size for each of them)")
    size = sizes.pop()
    for i, (out, g) in enumerate(zip(outputs, given)):
        _check_output("grad", i, out)
        if g is not None and g._data.shape[1:] != out._data.shape:
            raise GradError(f"grad: with is_grads_batched=True the first dimension of each grad_output is the "
                            f"batch and the rest must match the output's shape, but grad_outputs[{i}] has shape "
                            f"{tuple(g.shape)} and output[{i}] has shape {tuple(out.shape)}")
    if size == 0:
        return [xp.zeros((0,) + t._data.shape, dtype=t._data.dtype) for t in inputs]
    columns = []
    for b in range(size):
        batch = [None if g is None else Tensor._wrap(g._data[b]) for g in given]
        seeds = _seeds("grad", outputs, batch, "grad_outputs")
        columns.append(gradients_of(outputs, seeds, inputs, retain or b < size - 1))
    return [None if col[0] is None else xp.stack(col) for col in zip(*columns)]
