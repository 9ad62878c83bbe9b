"""``Function``: one differentiable primitive, its forward and its backward side by side.

A primitive subclasses :class:`Function` and writes two methods on raw arrays:

* ``forward(self, *arrays, **params) -> array`` computes the result and stores
  on ``self`` whatever ``backward`` will read (and nothing more);
* ``backward(self, grad_output) -> tuple`` returns one gradient per tensor
  input (``None`` where no gradient is needed; ``self.needs_input_grad[i]``
  says which are). A gradient may keep the broadcast shape of the output: the
  engine sums it back to the input's shape, in one place.

``Cls.apply(*tensors, **params)`` runs it and, when gradients are needed,
records the node in the graph. The instance is the node (the "ctx").

Class attributes declare what the node keeps, so the engine can check that
no saved tensor was changed in place before backward reads it:

* ``saves_inputs``: backward reads the values of the inputs (default True);
* ``saves_output``: backward reads the value of the output;
* ``is_view``: the output shares memory with input 0 (reshape, transpose, ...).

And one promise about what backward returns:

* ``fresh_grads``: every gradient backward returns is a new array (or a view
  of one) that nothing else references, so the engine may keep it as a
  leaf's ``.grad`` without copying it (parameters' gradients, every step).
"""
from __future__ import annotations

from ..backend import xp
from .grad_mode import is_grad_enabled




class Function:
    saves_inputs: bool = True
    saves_output: bool = False
    is_view: bool = False
    is_slice: bool = False  # basic indexing: in-place ops on the result are replayed into its base
    fresh_grads: bool = False
    differentiable: bool = True

    # Set by apply() on recorded nodes only.
    inputs: tuple
    parents: tuple
    needs_input_grad: tuple

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the forward on the tensors' arrays; record the node if a gradient is needed."""
        fn = cls()
        needs = tuple([t.requires_grad for t in inputs])
        record = cls.differentiable and True in needs and is_grad_enabled()
        if record:
            for t in inputs:
                ctx = t._ctx
                if ctx is not None and ctx.is_slice and _stale_slice(ctx):
                    _refresh_slice(t)
        fn.needs_input_grad = needs if record else (False,) * len(inputs)
        with xp.errstate(all="ignore"):  # inf/NaN results are values, as in PyTorch: no NumPy warnings
            out_array = fn.forward(*[t._data for t in inputs], **params)
        if type(out_array) is not xp.ndarray:  # NumPy gives scalars for 0-d results
            out_array = xp.asarray(out_array)
        out = Tensor._wrap(out_array, record)
        if cls.is_view:
            out._version = inputs[0]._version
        if record:
            fn.inputs = inputs
            # The producers as of now: an in-place op may later give an input a new _ctx.
            fn.parents = tuple([t._ctx for t in inputs])
            out._ctx = fn
            if cls.saves_inputs:
                fn._input_versions = tuple([t._version[0] for t in inputs])
            if cls.saves_output:
                fn._output_version = (out._version, out._version[0])
        return out

    def _check_versions(self) -> None:
        """Raise if a tensor this node saved was modified in place since the forward."""
        if self.saves_inputs:
            for i, (t, v) in enumerate(zip(self.inputs, self._input_versions)):
                if t._version[0] != v:
                    _raise_modified(self, f"input {i} of shape {tuple(t.shape)}", v, t._version[0])
        if self.saves_output:
            counter, v = self._output_version
            if counter[0] != v:
                _raise_modified(self, "its output", v, counter[0])

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


def _stale_slice(ctx) -> bool:
    """A slice ``base[index]`` whose base was changed in place (through another view) since it was taken."""
    parents = ctx.__dict__.get("parents")
    return parents is not None and parents[0] is not ctx.inputs[0]._ctx


def _refresh_slice(t) -> None:
    """Point a stale slice at its base's current graph node (its values already are the base's)."""
    ctx = t._ctx
    fresh = type(ctx).apply(ctx.inputs[0], index=ctx.index)
    t._ctx, t.requires_grad = fresh._ctx, fresh.requires_grad


def _raise_modified(fn, what, expected, got):
    from ..errors import GradError

    raise GradError(
        f"{fn.name}: {what} was modified by an in-place operation after it was saved for "
        f"backward (version {got}, expected {expected}). Backward would compute a wrong "
        f"gradient; use the out-of-place form (e.g. `x = x + y` instead of `x += y`) or "
        f"clone() the tensor before changing it."
    )


from .tensor import Tensor  # noqa: E402  (late import: Tensor and Function refer to each other)


def __getattr__(name):
    """``torch.autograd.function``'s other names (``once_differentiable``, ``FunctionCtx``), for scripts
    importing them from here. Its ``Function`` is ``gradstep.autograd.Function``: this module's
    ``Function`` is gradstep's internal primitive."""
    if name in ("once_differentiable", "FunctionCtx"):
        from . import custom_function

        return getattr(custom_function, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
