"""Reverse-mode backpropagation: walk the graph from the loss back to the leaves.

The engine knows nothing about particular ops. It orders the nodes
topologically (iteratively, so a 100,000-op chain is fine), hands each node
the gradient of its output, sums the returned input gradients back to each
input's shape (the one place that undoes broadcasting), accumulates them, and
frees every node it has used unless ``retain_graph`` is set.

The same loop serves ``autograd.grad`` (:func:`gradients_of`): run only the
nodes that lead to the wanted tensors and hand back their gradients instead of
accumulating into ``.grad``; and ``autograd.backward`` of several outputs
(:func:`backward_from`).
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


def _topological_order(*roots):
    """Nodes reachable from ``roots``, each after every node that consumes its output."""
    # Depth-first post-order; a node is marked when expanded (not when pushed), so a node
    # reached by a short and a long path still comes after all of its consumers. Several
    # roots make a depth-first forest, whose reversed post-order is still topological.
    order, visited = [], set()
    stack = [(root, False) for root in roots]
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


def _run_backward(root, grads, retain_graph, order=None, accumulate=None):
    """The backward loop: each node in topological order turns its output gradient into its inputs'.

    By default it walks every node above ``root`` and accumulates into the leaves' ``.grad``.
    :func:`gradients_of` passes its own ``order`` (only the nodes that lead to the wanted
    tensors) and ``accumulate`` (which keeps the wanted leaves' gradients instead): the same
    loop, with no extra work per node in the default case.
    """
    if accumulate is None:
        accumulate = _accumulate_leaf
    hooked = {} if accumulate is _accumulate_leaf else None  # id(leaf) -> [leaf, summed grad, fresh]
    owned = set()  # ids of accumulation buffers the engine allocated itself (safe to add into in place)
    for node in _topological_order(root) if order is None else order:
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
                _add_slice(t, child, g, grads, owned, accumulate)
                continue
            if g.shape != t._data.shape:
                g = sum_to_shape(g, t._data.shape)
            if g.dtype != t._data.dtype:
                g = g.astype(t._data.dtype)
            if child is None:
                if t._hooks and hooked is not None:  # as PyTorch: its hooks run once, on the sum
                    _defer(hooked, t, g, node.fresh_grads)
                else:
                    accumulate(t, g, node.fresh_grads)
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
    if hooked:
        for t, g, fresh in hooked.values():
            _accumulate_leaf(t, g, fresh)


def _defer(hooked, t, g, fresh):
    """Sum the gradients of a leaf that has hooks; they run once on the total, after the walk."""
    entry = hooked.get(id(t))
    if entry is None:
        hooked[id(t)] = [t, g, fresh]
    else:
        entry[1], entry[2] = entry[1] + g, True


def backward_from(outputs, seeds, retain_graph):
    """Backpropagate several outputs at once (``seeds`` are their gradient arrays) into the leaves' ``.grad``.

    One walk over the union of their graphs, so a node shared by two outputs runs once,
    with the sum of their gradients (``autograd.backward([a, b])``).
    """
    grads, roots = _seed(outputs, seeds)
    for out, seed in zip(outputs, seeds):
        if out._ctx is None:  # a leaf: its gradient is the seed itself
            _accumulate_leaf(out, seed)
    if roots:
        with xp.errstate(all="ignore"):
            _run_backward(None, grads, retain_graph, _topological_order(*roots))


def gradients_of(outputs, seeds, inputs, retain_graph):
    """The gradients of ``outputs`` (seeded with ``seeds``) with respect to ``inputs``; no ``.grad`` changes.

    ``inputs`` may be leaves or tensors inside the graph. Returns one array per input, None
    where no gradient reached it. Only the nodes that lead to an input run (and are freed
    unless ``retain_graph``); the wanted leaves' gradients are summed and their hooks run
    once on the sum. Hooks and ``retain_grad()`` act as in PyTorch 2.x: hooks fire on the
    tensors on the way, retained tensors get their ``.grad``.
    """
    slots = [None] * len(inputs)
    leaf_slots, node_slots = {}, {}  # id(leaf) -> slot indices; id(node) -> (node, slot indices)
    for i, t in enumerate(inputs):
        if t._ctx is None:
            leaf_slots.setdefault(id(t), []).append(i)
        else:
            node_slots.setdefault(id(t._ctx), (t._ctx, []))[1].append(i)
    leaf_grads = {}  # id(leaf) -> [tensor, summed gradient, whether the engine owns the array]

    def accumulate(t, g, fresh=False):
        entry = leaf_grads.get(id(t))
        if entry is None:
            if id(t) in leaf_slots:
                leaf_grads[id(t)] = [t, g, fresh]
        else:
            entry[1], entry[2] = entry[1] + g, True

    grads, roots = _seed(outputs, seeds)
    for out, seed in zip(outputs, seeds):
        if out._ctx is None:
            accumulate(out, seed)
    order = _topological_order(*roots)
    run = _nodes_leading_to(order, leaf_slots, node_slots)

    def capture(indices):
        def hook(grad):  # copied: the array goes on to the node's backward
            for i in indices:
                slots[i] = xp.array(grad._data, copy=True)
        return hook

    saved_hooks = []
    for key, (node, indices) in node_slots.items():
        hooks = getattr(node, "_hooks", None)
        saved_hooks.append((node, hooks))
        # A new list (the user's is left as it is). As in PyTorch, the gradient of a wanted tensor
        # whose node runs is taken before its hooks, of one whose node doesn't run after them.
        node._hooks = [capture(indices), *(hooks or ())] if key in run else [*(hooks or ()), capture(indices)]
    try:
        with xp.errstate(all="ignore"):
            _run_backward(None, grads, retain_graph, [n for n in order if id(n) in run], accumulate)
            for key, (node, _) in node_slots.items():
                if key in run:
                    continue
                g = grads.pop(key, None)  # a wanted tensor with nothing wanted above it: its node doesn't run
                if g is not None:
                    g = _run_hooks(node._hooks, g)
                    retained = getattr(node, "_retained", None)
                    t = retained() if retained is not None else None
                    if t is not None:
                        _accumulate_leaf(t, g)
    finally:
        for node, hooks in saved_hooks:
            node._hooks = hooks
    for t, g, fresh in leaf_grads.values():
        if t._hooks:
            hooked = _run_hooks(t._hooks, g)
            fresh, g = fresh and hooked is g, hooked
        for n, i in enumerate(leaf_slots[id(t)]):
            # Own the array: it may be the caller's seed, or shared with another input's gradient.
            slots[i] = g if fresh and n == 0 else xp.array(g, copy=True)
    if any(g is None for g in slots):
        for node in order:  # a freed node that received a gradient may have led to the missing input
            if id(node) in grads and getattr(node, "_freed", False):
                _raise_freed(node)
    return slots


def _seed(outputs, seeds):
    """The engine's gradient table for several outputs: each output's node gets (the sum of) its seeds."""
    grads, roots = {}, []
    for out, seed in zip(outputs, seeds):
        node = out._ctx
        if node is None:
            continue
        key = id(node)
        if key in grads:
            grads[key] = grads[key] + seed
        else:
            grads[key] = seed
            roots.append(node)
    return grads, roots


def _nodes_leading_to(order, leaf_slots, node_slots):
    """Ids of the nodes in ``order`` whose backward leads to a wanted leaf or a wanted node."""
    run = set()
    for node in reversed(order):  # producers before their consumers
        parents = getattr(node, "parents", None)
        if parents is None:  # freed: where it led is forgotten (the caller raises if that matters)
            continue
        for t, child, needed in zip(node.inputs, parents, node.needs_input_grad):
            if not needed:
                continue
            if id(t) in leaf_slots if child is None else (id(child) in run or id(child) in node_slots):
                run.add(id(node))
                break
    return run


def _add_slice(t, child, g, grads, owned, accumulate):
    """Add a :class:`SliceGrad` into the gradient of ``t`` (a node's output, or a leaf)."""
    values = g.values if g.values.dtype == t._data.dtype else g.values.astype(t._data.dtype)
    if child is None:
        if accumulate is not _accumulate_leaf or t.grad is None or t._hooks:
            accumulate(t, SliceGrad(g.shape, g.index, values).dense(), True)
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
