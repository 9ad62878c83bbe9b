"""``autograd.Function``: PyTorch-style custom differentiable functions, written with Tensors.

Subclass it with two static methods and call ``MyFn.apply(*args)``::

    class RoundSTE(gradstep.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, grad):
            return grad            # straight through: round's gradient taken as identity

``forward(ctx, *args)`` runs without recording a graph (as in PyTorch) and may
stash what backward needs on ``ctx``: tensors with ``ctx.save_for_backward``
(read back with ``ctx.saved_tensors``, which refuses tensors changed in place
since), anything else as attributes. PyTorch 2's other style, ``forward(*args)``
plus ``setup_context(ctx, inputs, output)``, works too. ``backward(ctx,
*grad_outputs)`` gets one gradient Tensor per output and returns one per
forward argument (None for non-tensors and inputs that need none); each is
checked against its input's shape and summed down where it was broadcast.

Underneath, a call is one node of the engine's graph (a subclass of the
internal :class:`~gradstep.autograd.function.Function`, named
``MyFnBackward`` like PyTorch's) whose backward calls the user's. A function
with several outputs gives each output a small node that hands its gradient
to the shared one, so the user's backward runs once, with all of them.
Higher-order gradients are not supported (backward runs under ``no_grad``).
"""
from __future__ import annotations

import inspect
import types
import warnings

import numpy

from ..backend import xp
from ..errors import ArgumentTypeError, GradError, NotSupported
from .function import Function as _Node, _raise_modified, _refresh_slice, _stale_slice
from .grad_mode import is_grad_enabled, no_grad
from .tensor import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` shared by a custom Function's forward (or setup_context) and backward.

    Any attribute may be set on it (``ctx.k = 3``). ``needs_input_grad`` has one
    bool per forward argument: whether it is a tensor that requires grad.
    """

    def __init__(self, name: str, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._gs_name = name
        self._gs_to_save = ()
        self._gs_saved = None  # (tensor, version) pairs, taken when forward is done
        self._gs_non_differentiable = set()
        self._gs_dirty = set()

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or None) for backward; ``saved_tensors`` gives them back."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise ArgumentTypeError(f"save_for_backward can only save tensors (or None), but argument {i} "
                                        f"is of type {type(t).__name__}; keep other values as ctx attributes")
        self._gs_to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``; an error if one was changed in place since."""
        if self._gs_saved is None:  # still inside forward
            return ()
        for i, (t, version) in enumerate(self._gs_saved):
            if t is not None and t._version[0] != version:
                _raise_modified(types.SimpleNamespace(name=f"{self._gs_name}Backward"),
                                f"saved tensor {i} of shape {tuple(t.shape)}", version, t._version[0])
        return tuple(t for t, _ in self._gs_saved)

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs get no gradient: they don't require grad (backward still gets zeros, or None, for them)."""
        self._gs_non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """These inputs were modified in place by forward and are returned as outputs."""
        self._gs_dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward gets None (not zeros) for the outputs that received no gradient."""
        self.materialize_grads = bool(value)

    def save_for_forward(self, *tensors) -> None:
        raise NotSupported("save_for_forward: forward-mode automatic differentiation (jvp) is not supported by "
                           "gradstep; save tensors for backward with ctx.save_for_backward")


class Function:
    """Base class of custom differentiable functions; see the module docstring. Use ``MyFn.apply(...)``."""

    _backward_cls: type
    _output_cls: type

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = f"{cls.__name__}Backward"
        cls._backward_cls = type(name, (_FunctionNode,), {"_function": cls, "_fn_name": cls.__name__,
                                                          "__module__": cls.__module__})
        cls._output_cls = type(name, (_OutputNode,), {"_fn_name": cls.__name__, "__module__": cls.__module__})

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions are all static, "
                      f"so you should invoke them on the class itself.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise GradError(f"{type(self).__name__}: legacy autograd functions (a non-static forward, called on an "
                        f"instance) are not supported; make forward and backward @staticmethods and call "
                        f"{type(self).__name__}.apply(...)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotSupported("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotSupported("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotSupported("You must implement the backward method for your custom autograd.Function to use it "
                           "with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and, when a tensor argument requires grad, record the call for backward."""
        if cls is Function:
            raise NotSupported("Function.apply: subclass autograd.Function and call apply on the subclass")
        setup = _overrides(cls, "setup_context")
        if kwargs or setup:
            args, kwargs = _bind(cls, args, kwargs, setup)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = tuple(args[i] for i in positions)
        record = is_grad_enabled() and any(t.requires_grad for t in tensors)
        if record:
            for t in tensors:
                node = t._ctx
                if node is not None and node.is_slice and _stale_slice(node):
                    _refresh_slice(t)
        ctx = FunctionCtx(cls.__name__, tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        parents = tuple(t._ctx for t in tensors)  # before forward: mark_dirty gives an input a new producer
        with no_grad():
            if setup:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        is_tuple = isinstance(out, tuple)
        outs, differentiable = _outputs(cls.__name__, ctx, tensors, out if is_tuple else (out,), record)
        if record:
            _record(cls, ctx, tensors, parents, len(args), positions, outs, differentiable)
        ctx._gs_saved = [(t, None if t is None else t._version[0]) for t in ctx._gs_to_save]
        return tuple(outs) if is_tuple else outs[0]


def once_differentiable(fn):
    """PyTorch's decorator for a backward that is not itself differentiable.

    In gradstep no backward is (higher-order gradients are not supported), so ``fn``
    is returned as it is.
    """
    return fn


class _FunctionNode(_Node):
    """The graph node of one call of a custom Function: its backward calls the user's."""

    saves_inputs = False  # saved tensors are checked when backward reads ctx.saved_tensors, as in PyTorch
    _function: type
    _fn_name = "Function"

    @property
    def name(self) -> str:
        return self._fn_name

    def _check_versions(self) -> None:
        pass

    def forward(self, *arrays, **params):  # pragma: no cover - the user's forward runs in Function.apply
        raise NotSupported(f"{self._fn_name}: call {self._fn_name}.apply(...)")

    def backward(self, grad_output):
        ctx = self._gs_ctx
        specs = self._gs_outputs
        grads = [grad_output] if len(specs) == 1 else grad_output.grads
        wrapped = []
        for g, spec in zip(grads, specs):
            if g is None and spec is not None and ctx.materialize_grads:
                g = xp.zeros(spec[0], dtype=spec[1])
            wrapped.append(None if g is None else Tensor._wrap(g, False))
        with no_grad():
            result = self._function.backward(ctx, *wrapped)
        return self._check_grads(result if isinstance(result, tuple) else (result,))

    def _check_grads(self, grads) -> tuple:
        """One array (or None) per tensor input from what the user's backward returned, checked."""
        name, nargs = f"{self._fn_name}Backward", self._gs_nargs
        if len(grads) != nargs:
            if len(grads) > nargs and all(g is None for g in grads[nargs:]):
                grads = grads[:nargs]
            else:
                raise GradError(f"function {name} returned an incorrect number of gradients (expected {nargs}, "
                                f"got {len(grads)}): one per forward argument, None for non-tensors")
        arrays = []
        positions = self._gs_positions
        for p, g in enumerate(grads):
            k = positions.get(p)
            if k is None:
                if g is not None:
                    raise GradError(f"function {name} returned a gradient different than None at position "
                                    f"{p + 1}, but the corresponding forward input was not a Tensor")
                continue
            if g is None:
                arrays.append(None)
                continue
            if not isinstance(g, Tensor):
                raise GradError(f"function {name} returned a {type(g).__name__} as the gradient of argument "
                                f"{p}: expected Tensor or None")
            shape = self.inputs[k]._data.shape
            if g._data.shape != shape and not _expandable(shape, g._data.shape):
                raise GradError(f"Function {name} returned an invalid gradient at index {k} - got "
                                f"{list(g._data.shape)} but expected shape compatible with {list(shape)}")
            arrays.append(g._data)
        return tuple(arrays)


class _OutputNode(_Node):
    """The node of one output of a multi-output custom Function: passes its gradient on, in its slot."""

    saves_inputs = False
    _fn_name = "Function"

    @property
    def name(self) -> str:
        return self._fn_name

    def _check_versions(self) -> None:
        pass

    def forward(self, *arrays, **params):  # pragma: no cover - never applied
        raise NotSupported(f"{self._fn_name}: call {self._fn_name}.apply(...)")

    def backward(self, grad_output):
        grads = [None] * self._gs_count
        grads[self._gs_index] = grad_output
        return _OutputGrads(grads)


class _OutputGrads:
    """The gradients of a multi-output Function's outputs, on their way to its one backward.

    The engine adds them up like arrays (``+``); their ``shape`` and ``dtype`` are the
    placeholder's, so it never reshapes or casts them. None means "no gradient yet".
    """

    __slots__ = ("grads",)
    shape = ()
    ndim = 0
    dtype = numpy.dtype(object)

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        return _OutputGrads([b if a is None else a if b is None else a + b for a, b in zip(self.grads, other.grads)])


def _overrides(cls, name: str) -> bool:
    return getattr(cls, name) is not getattr(Function, name)


def _bind(cls, args, kwargs, setup):
    """Keyword arguments bound to forward's positional parameters as PyTorch does (with setup_context, defaults too)."""
    forward = cls.forward
    cached = cls.__dict__.get("_gs_signature")
    if cached is not None and cached[0] is forward:
        signature = cached[1]
    else:
        signature = inspect.signature(forward)
        if not setup:  # skip ctx
            signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        cls._gs_signature = (forward, signature)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as err:
        raise ArgumentTypeError(f"{cls.__name__}.apply: {err}") from None
    if setup:
        bound.apply_defaults()
    return bound.args, bound.kwargs


def _outputs(name, ctx, tensors, outs, record):
    """The tensors to return, and which of them get a gradient.

    Fresh outputs are returned as they are; an input returned unchanged becomes a view of
    it (as in PyTorch); an input marked dirty is returned itself, its version bumped.
    """
    dirty, skip = ctx._gs_dirty, ctx._gs_non_differentiable
    inputs = {id(t) for t in tensors}
    if dirty:
        if not dirty <= inputs:
            raise GradError(f"{name}: mark_dirty takes the inputs forward modified in place; it was given a tensor "
                            f"that is not an input")
        if not dirty <= {id(o) for o in outs if isinstance(o, Tensor)}:
            raise GradError(f"{name}: Some elements marked as dirty during the forward method were not returned as "
                            f"output. The inputs that are modified inplace must all be outputs of the Function.")
    result, differentiable, seen = [], [], set()
    for o in outs:
        if not isinstance(o, Tensor):
            result.append(o)
            differentiable.append(False)
            continue
        key = id(o)
        differentiable.append(o._data.dtype.kind in "fc" and key not in skip)
        if key in dirty and key not in seen:
            if record and o.requires_grad and o._ctx is None:
                raise GradError(f"{name}: a leaf Variable that requires grad has been used in an in-place operation "
                                f"(marked dirty in forward); pass a clone, or modify it under no_grad()")
            if record and o._ctx is not None and (o._ctx.is_view or o._ctx.is_slice):
                raise NotSupported(f"{name}: mark_dirty on a view of another tensor that is part of the graph is "
                                   f"not supported; clone() the view before passing it, or mark nothing dirty "
                                   f"and return a new tensor")
            o._version[0] += 1
        elif key in inputs or key in seen or o.requires_grad or o._ctx is not None:
            view = Tensor._wrap(o._data, False)  # an input (or an outside tensor) returned as it is: a view of it
            view._version = o._version
            o = view
        seen.add(key)
        result.append(o)
    return result, differentiable


def _record(cls, ctx, tensors, parents, nargs, positions, outs, differentiable) -> None:
    """Put the call in the graph: one node for the function, and one per output when it has several."""
    node = cls._backward_cls()
    node.inputs = tensors
    node.parents = parents
    node.needs_input_grad = tuple(t.requires_grad for t in tensors)
    node._gs_ctx = ctx
    node._gs_nargs = nargs
    node._gs_positions = {p: k for k, p in enumerate(positions)}
    node._gs_outputs = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs]
    if not any(differentiable):
        return
    if len(outs) == 1:
        outs[0]._ctx, outs[0].requires_grad = node, True
        return
    packed = Tensor._wrap(_OutputGrads([None] * len(outs)), True)  # the node's one "output", as the engine sees it
    packed._ctx = node
    for k, diff in enumerate(differentiable):
        if diff:
            out_node = cls._output_cls()
            out_node.inputs, out_node.parents, out_node.needs_input_grad = (packed,), (node,), (True,)
            out_node._gs_index, out_node._gs_count = k, len(outs)
            outs[k]._ctx, outs[k].requires_grad = out_node, True


def _expandable(shape, desired) -> bool:
    """True when ``shape`` broadcasts to ``desired`` (the gradient may be summed back to ``shape``)."""
    try:
        return numpy.broadcast_shapes(shape, desired) == tuple(desired)
    except ValueError:
        return False
