"""``Tensor``: an n-d array that remembers how it was computed.

The Tensor wraps an array from :mod:`gradstep.backend` (``_data``); it does
not compute. Arithmetic and every other op live in :mod:`gradstep.ops`, which
attach themselves to the class as methods when gradstep is imported. What is
here is the tensor's own state: its array, its gradient, where it came from
(``_ctx``, the node that produced it), a version counter for in-place checks,
dtype promotion, in-place arithmetic and the Python protocols.
"""
from __future__ import annotations

import numbers
import weakref

import numpy

from .. import backend
from ..backend import xp
from ..devices import CPU as _CPU, device as _device
from ..errors import DTypeError, GradError, ShapeError, fmt_shape
from .grad_mode import is_grad_enabled
from ..errors import ArgumentTypeError, GradstepError, InvalidArgument, NotSupported, StateError

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _to_array(data, dtype=None):
    """Turn Python data or an array into a backend array with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, xp.ndarray):
        arr = data
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x._data if isinstance(x, Tensor) else x for x in data]
        arr = xp.asarray(data)
        if dtype is None:
            if arr.dtype.kind == "f" and arr.dtype != backend.default_dtype():
                if arr.dtype == numpy.float64 and _all_python(data):
                    arr = arr.astype(backend.default_dtype())
            elif arr.dtype.kind in "iu" and arr.dtype != numpy.int64 and _all_python(data):
                arr = arr.astype(numpy.int64)
    if arr.dtype.kind in "OUSV":
        raise DTypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype} (numbers or bools only)")
    if dtype is not None:
        with numpy.errstate(invalid="ignore"):  # NaN/inf to int: unspecified value, no warning (as PyTorch)
            arr = arr.astype(numpy.dtype(dtype), copy=False)
    return arr


def _zeros_of_sizes(sizes, dtype):
    """``Tensor(2, 3)``: a float32 (or ``dtype``) tensor of zeros of those sizes; ``Tensor()``: shape (0,)."""
    if not sizes:
        sizes = (0,)
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0 for n in sizes):
        raise ArgumentTypeError(
            f"Tensor: Tensor(*sizes) takes non-negative ints, got {sizes!r}; to make a tensor from data, "
            f"pass it as one argument: gradstep.tensor([...])"
        )
    return numpy.zeros(tuple(int(n) for n in sizes), numpy.dtype(dtype) if dtype is not None else backend.default_dtype())


def _bad_data(fn, data, err):
    """The error for data NumPy could not turn into an array: ragged lists named as such."""
    problem = _ragged(data)
    if problem:
        return InvalidArgument(f"{fn}: ragged nested sequence: {problem}")
    return InvalidArgument(f"{fn}: cannot make a tensor from {type(data).__name__} data ({err}); expected "
                           f"a number, nested lists of numbers of a rectangular shape, or an array")


def _is_seq(x) -> bool:
    if isinstance(x, (Tensor, numpy.ndarray)):
        return x.ndim > 0
    return isinstance(x, (list, tuple))


def _ragged(data, path: tuple = ()) -> str | None:
    """Where a nested sequence stops being rectangular, in words; None if it is rectangular."""
    if not _is_seq(data):
        return None
    items = list(data)
    if not items:
        return None
    where = (lambda i: f"index {i}") if not path else (lambda i: "index " + "".join(f"[{j}]" for j in (*path, i)))
    rows = "rows" if not path else "elements of " + "".join(f"[{j}]" for j in path)
    first = items[0]
    if _is_seq(first):
        n = len(first)
        for i, x in enumerate(items):
            if not _is_seq(x):
                return f"expected all {rows} to be sequences of length {n}, got a number ({x!r}) at {where(i)}"
            if len(x) != n:
                return f"expected all {rows} of length {n}, got {len(x)} at {where(i)}"
        for i, x in enumerate(items):
            found = _ragged(x, (*path, i))
            if found:
                return found
        return None
    for i, x in enumerate(items):
        if _is_seq(x):
            return f"expected all {rows} to be numbers, got a sequence of length {len(x)} at {where(i)}"
    return None


def _all_python(data) -> bool:
    """True when data is made of Python numbers (not NumPy scalars/arrays, whose dtype we keep)."""
    if isinstance(data, (list, tuple)):
        return all(_all_python(x) for x in data)
    return isinstance(data, (bool, int, float)) or not isinstance(data, (numpy.generic, numpy.ndarray))


class Tensor:
    """An n-d array with reverse-mode automatic differentiation.

    Args:
        data: nested lists, a Python number, a NumPy array or another Tensor.
        dtype: optional dtype; as in PyTorch, the class makes the default float dtype
            (float32) of any data but a Tensor, whose dtype it keeps. ``gradstep.tensor``
            infers it instead (ints give int64).
        requires_grad: record operations on this tensor so ``backward`` can
            compute its gradient (floating dtypes only).

    PyTorch's legacy sizes form also works: ``Tensor(2, 3)`` is a (2, 3)
    float32 tensor (of zeros; PyTorch leaves it uninitialised), ``Tensor(3)``
    one of shape (3,) and ``Tensor()`` an empty one. Prefer :func:`gradstep.tensor` and :func:`gradstep.zeros`.

    Example:
        >>> w = Tensor([2.0, -1.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> w.grad
        tensor([ 4., -2.])
    """

    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_version", "_hooks", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer `array * tensor` to Tensor.__rmul__

    def __init__(self, data=None, *sizes, dtype=None, requires_grad: bool = False):
        if data is None or sizes or type(data) is int:  # the legacy sizes form: Tensor(), Tensor(3), Tensor(2, 3)
            arr = _zeros_of_sizes(() if data is None else (data, *sizes), dtype)
        else:
            if dtype is None and not isinstance(data, Tensor):  # like torch.Tensor([1, 2]): the default float dtype
                dtype = backend.default_dtype()
            try:
                arr = _to_array(data, dtype)
            except GradstepError:
                raise
            except (ValueError, TypeError, OverflowError) as err:
                raise _bad_data("Tensor", data, err) from None
        if arr is data or (isinstance(data, Tensor) and arr is data._data):
            arr = arr.copy()
        self._data = arr
        self._grad = None
        self.requires_grad = False
        self._ctx = None
        self._version = [0]
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    @property
    def grad(self):
        """The gradient accumulated by ``backward`` (None until then); same shape and dtype as the tensor."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise ArgumentTypeError(f"grad: assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise ShapeError(f"grad: assigned grad has shape {fmt_shape(value._data.shape)} but the tensor has "
                                 f"shape {fmt_shape(self._data.shape)}; they must match")
            if value._data.dtype != self._data.dtype:
                raise DTypeError(f"grad: assigned grad has dtype {value._data.dtype} but the tensor has dtype "
                                 f"{self._data.dtype}; they must match")
        self._grad = value

    @classmethod
    def _wrap(cls, array, requires_grad: bool = False) -> "Tensor":
        """Wrap an existing array without copying or checking (the ops' fast path)."""
        t = object.__new__(cls)
        t._data = array
        t._grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._version = [0]
        t._hooks = None
        return t

    # ----------------------------------------------------------------- state
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> _device:
        """Always ``device(type='cpu')``: gradstep computes with NumPy."""
        return _CPU

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The node that produced this tensor (None for leaves)."""
        return self._ctx

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's storage, outside the graph (``p.data -= lr * p.grad``)."""
        t = Tensor._wrap(self._data, False)
        t._version = self._version
        return t

    @data.setter
    def data(self, value) -> None:
        self._data = _to_array(value)
        self._version[0] += 1

    def item(self):
        if self._data.size != 1:
            raise InvalidArgument(f"item: only a tensor with one element can be converted to a Python number, got shape {fmt_shape(self.shape)}")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, force: bool = False):
        """The underlying array (shared memory). Like PyTorch, refuses a tensor that requires grad."""
        if self.requires_grad and not force:
            raise GradError("numpy: can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._data
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr.copy() if copy else arr

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """DLPack export of the underlying array (shared memory): ``torch.from_dlpack(t)``, ``np.from_dlpack(t)``.

        Like PyTorch, refuses a tensor that requires grad (use ``t.detach()``).
        """
        if self.requires_grad:
            raise BufferError("__dlpack__: can't export a tensor that requires grad; use tensor.detach()")
        kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
                  if v is not None}
        return self._data.__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares storage)."""
        return self.data

    def detach_(self) -> "Tensor":
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._data.dtype.kind not in "fc":
            raise DTypeError(
                f"requires_grad: only floating point tensors can require gradients, got dtype "
                f"{self._data.dtype}; convert first, e.g. x.float()"
            )
        if not requires_grad and self._ctx is not None:
            raise GradError("requires_grad_(False): only leaf tensors can stop requiring grad; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise GradError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        owner = self._ctx if self._ctx is not None else self
        if getattr(owner, "_hooks", None) is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return _HookHandle(owner._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad
        (or only ``inputs``; ``create_graph=True`` is refused: gradients are first order)."""
        if create_graph or inputs is not None:
            from .api import backward as autograd_backward

            return autograd_backward(self, gradient, retain_graph, create_graph, inputs=inputs)
        from .engine import backward

        backward(self, gradient, bool(retain_graph))

    # -------------------------------------------------------------- printing
    def __repr__(self) -> str:
        arr = self._data
        fixed = arr.dtype.kind == "f" and arr.size and not numpy.all(numpy.mod(arr[numpy.isfinite(arr)], 1) == 0)
        body = numpy.array2string(arr, separator=", ", prefix="tensor(", precision=4,
                                  floatmode="fixed" if fixed else "maxprec")  # like PyTorch: 0.5000, or 1.
        extras = []
        if self._data.dtype not in (backend.default_dtype(), numpy.int64, numpy.bool_) or self._data.size == 0:
            extras.append(f"dtype={self._data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------ Python protocols
    __hash__ = object.__hash__

    def __len__(self) -> int:
        if self.ndim == 0:
            raise ArgumentTypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise ArgumentTypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise StateError(f"bool: a tensor with {self._data.size} elements is ambiguous; use .any() or .all()")
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise ArgumentTypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    # ----------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __floordiv__(self, other):
        return _no_grad_binary(xp.floor_divide, self, other)

    def __rfloordiv__(self, other):
        return _no_grad_binary(xp.floor_divide, other, self)

    def __mod__(self, other):
        return _no_grad_binary(xp.remainder, self, other)

    # Comparisons and logic give bool tensors and are not differentiable.
    def __eq__(self, other):  # type: ignore[override]
        return _no_grad_binary(xp.equal, self, other, bool_out=True)

    def __ne__(self, other):  # type: ignore[override]
        return _no_grad_binary(xp.not_equal, self, other, bool_out=True)

    def __lt__(self, other):
        return _no_grad_binary(xp.less, self, other, bool_out=True)

    def __le__(self, other):
        return _no_grad_binary(xp.less_equal, self, other, bool_out=True)

    def __gt__(self, other):
        return _no_grad_binary(xp.greater, self, other, bool_out=True)

    def __ge__(self, other):
        return _no_grad_binary(xp.greater_equal, self, other, bool_out=True)

    def __and__(self, other):
        return _no_grad_binary(xp.bitwise_and, self, other)

    def __or__(self, other):
        return _no_grad_binary(xp.bitwise_or, self, other)

    def __xor__(self, other):
        return _no_grad_binary(xp.bitwise_xor, self, other)

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise DTypeError(f"~ (bitwise not) needs a bool or integer tensor, got {self._data.dtype}")
        return Tensor._wrap(~self._data)

    # ------------------------------------------------------------- in place
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    def add_(self, other, *, alpha=1):
        if alpha != 1:
            other = _ops.mul(other, alpha)
        return self._inplace(_ops.add, other)

    def sub_(self, other, *, alpha=1):
        if alpha != 1:
            other = _ops.mul(other, alpha)
        return self._inplace(_ops.sub, other)

    def mul_(self, other):
        return self._inplace(_ops.mul, other)

    def div_(self, other):
        return self._inplace(_ops.div, other)

    def pow_(self, other):
        return self._inplace(_ops.pow, other)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda x: _ops.clamp(x, min, max))

    # Shape-changing in-place ops: the tensor becomes a view of its own storage with another shape.
    def t_(self):
        return self._reshape_inplace("t_", _ops.t)

    def transpose_(self, dim0: int, dim1: int):
        return self._reshape_inplace("transpose_", _ops.transpose, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_

    def squeeze_(self, dim=None):
        return self._reshape_inplace("squeeze_", _ops.squeeze, dim)

    def unsqueeze_(self, dim: int):
        return self._reshape_inplace("unsqueeze_", _ops.unsqueeze, dim)

    def _reshape_inplace(self, name, view, *args):
        """Rebind this tensor to ``view(self, *args)`` (same storage). The version goes up, so a node
        that saved this tensor for backward refuses to use it with its new shape."""
        if self.requires_grad:
            raise NotSupported(
                f"{name}: changing the shape in place of a tensor that requires grad is not supported "
                f"(the graph holds its old shape); use the out-of-place form, e.g. x = x.{name[:-1]}(...)"
            )
        from .grad_mode import no_grad

        with no_grad():
            self._data = view(self, *args)._data
        self._version[0] += 1
        return self

    def copy_(self, src):
        """Copy ``src``'s values into this tensor (broadcasting), keeping its dtype and storage."""
        return self._inplace(lambda x, s: _ops.expand(_as_tensor(s).to(x.dtype), x.shape), src)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace_leaf()
        self._data[...] = value._data if isinstance(value, Tensor) else value
        self._version[0] += 1
        if self._ctx is not None:  # filled values no longer depend on the graph
            self._ctx = None
            self.requires_grad = False
        return self

    def _check_inplace_leaf(self):
        if self.requires_grad and self._ctx is None and is_grad_enabled():
            raise GradError(
                "in-place operation on a leaf tensor that requires grad (e.g. a parameter): "
                "it would make its gradient wrong. Wrap the update in `with gradstep.no_grad():` "
                "or change `.data` instead"
            )

    def _inplace(self, op, *args):
        """Compute ``op(self, *args)`` and store the result in this tensor's own storage.

        Without a graph the op's result is simply copied in. With one, this
        tensor takes the result's place in the graph (as PyTorch does), and the
        version counter is bumped so nodes that saved the old value can tell.
        """
        self._check_inplace_leaf()
        other_grad = any(isinstance(a, Tensor) and a.requires_grad for a in args)
        if is_grad_enabled() and (self.requires_grad or other_grad):
            view_of = _sliced_from(self)
            if view_of is not None:
                return self._inplace_through_view(view_of, op, args)
            old = Tensor._wrap(self._data.copy(), self.requires_grad)
            old._ctx = self._ctx
            result = op(old, *args)
            # Nodes that saved this tensor's array see the write through the version counter.
            self._store(result._data, op)
            self._ctx = result._ctx
            self.requires_grad = result.requires_grad
            return self
        with _no_grad():
            result = op(Tensor._wrap(self._data), *args)
        self._store(result._data, op)
        return self

    def _inplace_through_view(self, view_of, op, args):
        """In-place op on a slice ``base[index]`` of a tensor in the graph: replayed into the base.

        The new values are written into the base with the base's own (recorded)
        ``base[index] = ...``, so every later use of the base, not only of this
        view, backpropagates through the op (PyTorch's rebase of views); this
        tensor then becomes the slice of the updated base again.
        """
        base, index = view_of
        old = Tensor._wrap(self._data.copy(), self.requires_grad)
        old._ctx = self._ctx
        result = op(old, *args)
        if result._data.dtype != self._data.dtype:
            self._store(result._data, op)  # raises the usual dtype error, before the base changes
        base[index] = result
        fresh = base[index]
        self._ctx, self.requires_grad = fresh._ctx, fresh.requires_grad
        return self

    def _store(self, values, op):
        if not self._data.flags.writeable:
            raise GradError(
                f"in-place {getattr(op, '__name__', 'op')}: this tensor's memory is shared by several "
                f"elements (it comes from expand/broadcast_to); clone() it before changing it in place"
            )
        if values.dtype != self._data.dtype and not numpy.can_cast(values.dtype, self._data.dtype, "same_kind"):
            raise DTypeError(
                f"in-place {getattr(op, '__name__', 'op')}: result type {values.dtype} can't be cast to "
                f"this tensor's dtype {self._data.dtype}"
            )
        if values.shape != self._data.shape:
            try:
                numpy.broadcast_shapes(values.shape, self._data.shape)
                ok = numpy.broadcast_shapes(values.shape, self._data.shape) == self._data.shape
            except ValueError:
                ok = False
            if not ok:
                from ..errors import ShapeError

                raise ShapeError(
                    f"in-place {getattr(op, '__name__', 'op')}: result of shape {fmt_shape(values.shape)} "
                    f"doesn't fit this tensor's shape {fmt_shape(self._data.shape)}"
                )
        self._data[...] = values
        self._version[0] += 1

    # --------------------------------------------------------- conversions
    def to(self, *args, dtype=None, **kwargs):
        """``to(dtype)`` or ``to("float64")``; the device "cpu" is accepted (gradstep runs on NumPy)."""
        for a in (*args, kwargs.get("device")):
            if isinstance(a, Tensor):
                dtype = a._data.dtype
            elif isinstance(a, (str, _device)):
                d = _parse_dtype_or_device(str(a))
                if d is not None:
                    dtype = d
            elif a is not None:
                dtype = a
        if dtype is None or numpy.dtype(dtype) == self._data.dtype:
            return self
        return _ops.cast(self, numpy.dtype(dtype))

    def type(self, dtype=None):
        """Without an argument, the type name (``"gradstep.FloatTensor"``); else ``to(dtype)`` (or a legacy class)."""
        if dtype is None:
            return "gradstep." + _TYPE_NAMES.get(self._data.dtype.name, self._data.dtype.name) + "Tensor"
        if isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), numpy.dtype):
            dtype = dtype.dtype  # a legacy class: t.type(gradstep.LongTensor)
        if isinstance(dtype, str):
            name = dtype.split(".")[-1]
            if name.endswith("Tensor"):
                inverse = {v: k for k, v in _TYPE_NAMES.items()}
                if name[:-6] not in inverse:
                    raise DTypeError(f"type: unknown tensor type {dtype!r}")
                dtype = inverse[name[:-6]]
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other._data.dtype)

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    def long(self):
        return self.to(numpy.int64)

    def int(self):
        return self.to(numpy.int32)

    def bool(self):
        return self.to(numpy.bool_)

    def half(self):
        return self.to(numpy.float16)

    def cpu(self):
        return self

    def clone(self):
        return _ops.clone(self)


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _sliced_from(t):
    """``(base, index)`` when ``t`` is a recorded basic-indexing view ``base[index]``, else None."""
    node = t._ctx
    if node is None or not node.is_slice or getattr(node, "_freed", False):
        return None
    base = node.inputs[0]
    if base._data is not t._data.base and not numpy.shares_memory(base._data, t._data):
        return None  # the base was replaced since (e.g. its own in-place op rebound it): nothing to replay into
    return base, node.index


def _parse_dtype_or_device(text: str):
    """A dtype from "float64"/"torch.float64", None for the device "cpu"; an error for other devices."""
    if text == "cpu" or text.startswith("cpu:"):
        return None
    if text.split(":")[0] in ("cuda", "mps", "xpu", "meta"):
        raise GradError(f"to: gradstep computes on the CPU with NumPy; device {text!r} is not available")
    name = text.split(".")[-1]
    name = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32"}.get(name, name)
    try:
        return numpy.dtype(name)
    except TypeError:
        raise DTypeError(f"to: {text!r} is neither a dtype nor the device 'cpu'") from None


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _scalar_dtype(x):
    if isinstance(x, (bool, numpy.bool_)):
        return 0, numpy.dtype(numpy.bool_)
    if isinstance(x, numbers.Integral):
        return 1, numpy.dtype(numpy.int64)
    if isinstance(x, numbers.Real):
        return 2, backend.default_dtype()
    if isinstance(x, numbers.Complex):
        return 3, numpy.dtype(numpy.complex64)
    raise ArgumentTypeError(f"unsupported operand of type {type(x).__name__}; expected a Tensor or a number")


def result_type(*operands) -> numpy.dtype:
    """The dtype PyTorch gives an op on these operands (Tensors and Python numbers).

    Tensors with dimensions decide first, then 0-d tensors, then Python
    numbers; a lower group only wins by being of a higher category
    (bool < integer < float), and then it brings its default dtype: so
    float32 * 2.5 stays float32 and int64 * 2.5 becomes float32.
    """
    best_cat, best = -1, None
    for group in (0, 1, 2):
        cat, dtypes = -1, []
        for x in operands:
            if isinstance(x, Tensor):
                g = 0 if x._data.ndim else 1
                if g != group:
                    continue
                c, d = _CATEGORY[x._data.dtype.kind], x._data.dtype
            elif isinstance(x, xp.ndarray):
                if group != 0:
                    continue
                c, d = _CATEGORY[x.dtype.kind], x.dtype
            else:
                if group != 2:
                    continue
                c, d = _scalar_dtype(x)
            if c > cat:
                cat, dtypes = c, [d]
            elif c == cat:
                dtypes.append(d)
        if cat > best_cat:
            best_cat = cat
            best = dtypes[0] if group == 2 else numpy.result_type(*dtypes)
    return best


def _as_tensor(x, dtype=None) -> Tensor:
    """A Tensor from a Tensor, array or Python number (numbers take ``dtype``)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x._data.dtype == dtype else x.to(dtype)
    if isinstance(x, xp.ndarray):
        return Tensor._wrap(x if dtype is None else x.astype(dtype, copy=False))
    if dtype is None:
        dtype = _scalar_dtype(x)[1]
    return Tensor._wrap(xp.asarray(x, dtype=dtype))


def _no_grad_binary(ufunc, a, b, bool_out=False):
    dtype = result_type(a, b)
    a_arr = _as_tensor(a, dtype)._data
    b_arr = _as_tensor(b, dtype)._data
    try:
        return Tensor._wrap(ufunc(a_arr, b_arr))
    except ValueError:
        from ..errors import ShapeError

        raise ShapeError(
            f"{ufunc.__name__}: shapes {fmt_shape(a_arr.shape)} and {fmt_shape(b_arr.shape)} "
            f"can't be broadcast together"
        ) from None


def _no_grad():
    from .grad_mode import no_grad

    return no_grad()


from .. import ops as _ops  # noqa: E402  (late import: ops build on Tensor)
