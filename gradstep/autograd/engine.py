"""Reverse-mode backpropagation: walk the graph from the loss back to the leaves.

The engine knows nothing about particular ops. It orders the nodes
topologically (iteratively, so a 100,000-op chain is fine), hands each node
the gradient of its output, sums the returned input gradients back to each
input's shape (the one place that undoes broadcasting), accumulates them, and
frees every node it has used unless ``retain_graph`` is set.
"""
from __future__ import annotations

from ..backend import xp
from ..errors import GradError


class SliceGrad:
    """The gradient of a basic-indexing view ``a[index]``: zero except ``values`` at ``index``.

    A backward may return this instead of a full array (``BasicIndex`` does). The engine adds
    it into the input's gradient in place, O(slice) instead of O(input): taking the steps of a
    sequence one slice at a time stays linear in the sequence length, not quadratic.
    """

    __slots__ = ("shape", "index", "values")

    def __init__(self, shape, index, values):
        self.shape, self.index, self.values = shape, index, values

    @property
    def dtype(self):
        return self.values.dtype

    def dense(self):
        """The full gradient array (a new one)."""
        grad = xp.zeros(self.shape, dtype=self.values.dtype)
        grad[self.index] = self.values
        return grad


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    return grad


def _topological_order(root_node):
    """Nodes reachable from ``root_node``, each after every node that consumes its output."""
    # Depth-first post-order; a node is marked when expanded (not when pushed), so a node
    # reached by a short and a long path still comes after all of its consumers.
    order, visited = [], set()
    stack = [(root_node, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for child in getattr(node, "parents", ()):  # a freed node has none
            if child is not None and id(child) not in visited:
                stack.append((child, False))
    order.reverse()
    return order


def backward(tensor, gradient=None, retain_graph=False):
    """Backpropagate from ``tensor``; accumulate gradients into the leaves' ``.grad``."""
    from .tensor import Tensor

    if not tensor.requires_grad:
        raise GradError(
            "backward: this tensor does not require grad and has no graph "
            "(was it computed under no_grad(), or from tensors without requires_grad=True?)"
        )
    if gradient is None:
        if tensor._data.size != 1:
            raise GradError(
                f"backward: grad can be implicitly created only for a tensor with one element, "
                f"got shape {tuple(tensor.shape)}; pass gradient= of the same shape "
                f"(or reduce first, e.g. loss.sum().backward())"
            )
        seed = xp.ones(tensor.shape, dtype=tensor._data.dtype)
    else:
        seed = gradient._data if isinstance(gradient, Tensor) else xp.asarray(gradient)
        if seed.shape != tensor.shape:
            raise GradError(
                f"backward: gradient has shape {tuple(seed.shape)} but the tensor has shape "
                f"{tuple(tensor.shape)}; they must match"
            )
        seed = seed.astype(tensor._data.dtype, copy=False)

    root = tensor._ctx
    if root is None:  # a leaf: its gradient is the seed itself
        _accumulate_leaf(tensor, seed)
        return
    if getattr(root, "_freed", False):
        _raise_freed(root)

    grads = {id(root): seed}
    with xp.errstate(all="ignore"):  # inf/NaN gradients are values, as in PyTorch: no NumPy warnings
        _run_backward(root, grads, retain_graph)


def _run_backward(root, grads, retain_graph):
    """The backward loop: each node in topological order turns its output gradient into its inputs'."""
    owned = set()  # ids of accumulation buffers the engine allocated itself (safe to add into in place)
    for node in _topological_order(root):
        grad_output = grads.pop(id(node), None)
        if grad_output is None:
            continue
        owned.discard(id(grad_output))  # handed to a backward, which may pass it on: no longer ours alone
        if getattr(node, "_freed", False):
            _raise_freed(node)
        hooks = getattr(node, "_hooks", None)
        if hooks:
            grad_output = _run_hooks(hooks, grad_output)
        retained = getattr(node, "_retained", None)
        if retained is not None:
            t = retained()
            if t is not None:
                _accumulate_leaf(t, grad_output)
        node._check_versions()
        input_grads = node.backward(grad_output)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for t, child, needed, g in zip(node.inputs, node.parents, node.needs_input_grad, input_grads):
            if g is None or not needed:
                continue
            if type(g) is SliceGrad:
                _add_slice(t, child, g, grads, owned)
                continue
            if g.shape != t._data.shape:
                g = sum_to_shape(g, t._data.shape)
            if g.dtype != t._data.dtype:
                g = g.astype(t._data.dtype)
            if child is None:
                _accumulate_leaf(t, g, node.fresh_grads)
            else:
                key = id(child)
                prev = grads.get(key)
                if prev is None:
                    grads[key] = g
                elif id(prev) in owned:
                    prev += g  # our own accumulation buffer: add in place
                else:
                    grads[key] = prev + g
        if not retain_graph:
            _free(node)


def _add_slice(t, child, g, grads, owned):
    """Add a :class:`SliceGrad` into the gradient of ``t`` (a node's output, or a leaf)."""
    values = g.values if g.values.dtype == t._data.dtype else g.values.astype(t._data.dtype)
    if child is None:
        if t.grad is None or t._hooks:
            _accumulate_leaf(t, SliceGrad(g.shape, g.index, values).dense(), True)
        else:
            t.grad._data[g.index] += values
        return
    key = id(child)
    prev = grads.get(key)
    if prev is None or id(prev) not in owned:
        buf = xp.zeros(t._data.shape, dtype=t._data.dtype) if prev is None else xp.array(prev, copy=True)
        owned.add(id(buf))
        grads[key] = prev = buf
    prev[g.index] += values


def _accumulate_leaf(t, g, fresh=False):
    from .tensor import Tensor

    if t._hooks:
        hooked = _run_hooks(t._hooks, g)
        fresh = fresh and hooked is g
        g = hooked
    if t.grad is None:
        if not fresh or not g.flags.writeable:
            # Own the array: g may be shared with another input's gradient (add passes it through).
            g = xp.array(g, copy=True)
        t._grad = Tensor._wrap(g, False)  # same shape and dtype by construction
    else:
        t.grad._data += g


def _run_hooks(hooks, g):
    from .tensor import Tensor

    for hook in hooks:
        out = hook(Tensor._wrap(g, False))
        if out is not None:
            g = out._data if isinstance(out, Tensor) else xp.asarray(out, dtype=g.dtype)
    return g


def _free(node):
    hooks = getattr(node, "_hooks", None)
    name = node.name
    node.__dict__.clear()
    node._freed = True
    node._freed_name = name
    if hooks:
        node._hooks = hooks


def _raise_freed(node):
    raise GradError(
        f"backward: trying to backward through the graph a second time (node "
        f"{getattr(node, '_freed_name', node.name)}Backward was already freed). Pass "
        f"retain_graph=True to the first backward() if you need to backward twice."
    )
