"""Movement ops: change a tensor's shape or the order of its elements, not their values.

Reshape, permute and expand are views of their input (NumPy views, sharing
memory, and marked ``is_view`` so they share its version counter), as in
PyTorch; squeeze, unsqueeze, flatten, view and unflatten are reshapes,
transpose and movedim are permutes, narrow/split/chunk/select/unbind are
basic slicing (``indexing.BasicIndex``). cat, stack, repeat and flip copy.
"""
from __future__ import annotations

import operator

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor, result_type
from ..backend import xp
from ._helpers import DTypeError, ShapeError, fmt_shape, normalize_dim
from ._registry import public
from ..errors import ArgumentTypeError, IndexOutOfRange, InvalidArgument


def _size_args(sizes, op: str) -> tuple:
    """``f(2, 3)`` or ``f((2, 3))`` -> ``(2, 3)`` as Python ints."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    try:
        return tuple([operator.index(s) for s in sizes])
    except TypeError:
        raise DTypeError(f"{op}: sizes must be ints, got {tuple(sizes)!r}") from None


def _dim_list(dims, ndim: int, op: str) -> tuple:
    """An int or a sequence of ints -> non-negative dims, refusing repeats."""
    if isinstance(dims, (tuple, list)):
        out = tuple([normalize_dim(d, ndim, op) for d in dims])
    else:
        out = (normalize_dim(dims, ndim, op),)
    if len(set(out)) != len(out):
        raise InvalidArgument(f"{op}: dims {tuple(dims)} name a dimension more than once")
    return out


# -------------------------------------------------------------------- reshape
class Reshape(Function):
    """Same elements, new shape; a view whenever NumPy can make one."""

    saves_inputs = False
    is_view = True

    def forward(self, a, shape):
        self.in_shape = a.shape
        return a.reshape(shape)

    def backward(self, grad_output):
        return grad_output.reshape(self.in_shape)


class _ReshapeCopy(Reshape):
    # A non-contiguous input that can't be viewed in the new shape gets its own memory.
    is_view = False


def _infer_shape(shape: tuple, numel: int, in_shape: tuple, op: str) -> tuple:
    """Replace a -1 in ``shape`` by the size that makes ``numel`` elements; validate."""
    infer, known = None, 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise ShapeError(f"{op}: only one dimension can be inferred (-1), got shape {fmt_shape(shape)}")
            infer = i
        elif s < 0:
            raise ShapeError(f"{op}: invalid size {s} at index {i} of shape {fmt_shape(shape)} (sizes are >= 0, or -1 to infer)")
        else:
            known *= s
    if infer is not None:
        if known == 0 or numel % known:
            why = "the -1 is ambiguous with a 0 size" if known == 0 else f"{numel} is not divisible by {known}"
            raise ShapeError(
                f"{op}: shape {fmt_shape(shape)} is invalid for input of size {numel} "
                f"(input shape {fmt_shape(in_shape)}; {why})"
            )
        return shape[:infer] + (numel // known,) + shape[infer + 1:]
    if known != numel:
        raise ShapeError(
            f"{op}: shape {fmt_shape(shape)} is invalid for input of size {numel} "
            f"(input shape {fmt_shape(in_shape)}); the sizes must multiply to {numel}"
        )
    return shape


def _reshape(x: Tensor, shape: tuple) -> Tensor:
    """Apply the reshape primitive to an already validated ``shape``."""
    arr = x._data
    if arr.flags.c_contiguous or shape == arr.shape:
        cls = Reshape
    else:
        try:
            xp.reshape(arr, shape, copy=False)
            cls = Reshape
        except ValueError:
            cls = _ReshapeCopy
    return cls.apply(x, shape=shape)


@public
def reshape(input, *shape):
    """``input``'s elements in a new shape (one size may be -1); a view when possible.

    Args:
        input: tensor.
        shape: ints or one tuple, e.g. ``x.reshape(2, -1)`` or ``gs.reshape(x, (2, -1))``.
    """
    x = _as_tensor(input)
    shape = _infer_shape(_size_args(shape, "reshape"), x._data.size, x._data.shape, "reshape")
    return _reshape(x, shape)


def _view(input, *shape):
    """``Tensor.view``: as reshape; ``view(dtype)`` reinterprets bits.

    Never refuses, unlike PyTorch's (which raises for strides that can't be regrouped): gradstep
    keeps convolution outputs channels-last behind their NCHW shape, so the ``x.view(n, -1)``
    PyTorch scripts do after a conv must work here even though the memory is not NCHW.
    """
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)) and _is_dtype(shape[0]):
        x = _as_tensor(input)
        return Tensor._wrap(x._data.view(xp.dtype(shape[0])))
    x = _as_tensor(input)
    shape = _infer_shape(_size_args(shape, "view"), x._data.size, x._data.shape, "view")
    return _reshape(x, shape)


def _is_dtype(x) -> bool:
    try:
        xp.dtype(x)
        return not isinstance(x, int)
    except TypeError:
        return False


Tensor.view = _view


def _view_as(self, other):
    return _view(self, tuple(other.shape))


def _reshape_as(self, other):
    return reshape(self, tuple(other.shape))


Tensor.view_as = _view_as
Tensor.reshape_as = _reshape_as


@public
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` (inclusive) into one; a 0-d tensor becomes shape (1,)."""
    x = _as_tensor(input)
    shape = x._data.shape
    if not shape:
        normalize_dim(start_dim, 0, "flatten")
        normalize_dim(end_dim, 0, "flatten")
        return _reshape(x, (1,))
    start = normalize_dim(start_dim, len(shape), "flatten")
    end = normalize_dim(end_dim, len(shape), "flatten")
    if start > end:
        raise InvalidArgument(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    if start == end:
        return x
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return _reshape(x, shape[:start] + (merged,) + shape[end + 1:])


@public
def unflatten(input, dim: int, sizes):
    """Split dim ``dim`` into ``sizes`` (one of them may be -1)."""
    x = _as_tensor(input)
    shape = x._data.shape
    d = normalize_dim(dim, len(shape), "unflatten")
    sizes = _size_args((sizes,), "unflatten")
    if not sizes:
        raise InvalidArgument("unflatten: sizes must be non-empty")
    try:
        sizes = _infer_shape(sizes, shape[d], (shape[d],), "unflatten")
    except ShapeError:
        raise ShapeError(
            f"unflatten: sizes {fmt_shape(sizes)} don't multiply up to the size of dim {dim} ({shape[d]}) "
            f"of the input of shape {fmt_shape(shape)}"
        ) from None
    return _reshape(x, shape[:d] + sizes + shape[d + 1:])


@public
def squeeze(input, dim=None):
    """Remove size-1 dims (all of them, or those among ``dim``, an int or a tuple; others are kept)."""
    x = _as_tensor(input)
    shape = x._data.shape
    if dim is None:
        new = tuple([s for s in shape if s != 1])
    else:
        dims = _dim_list(dim, len(shape), "squeeze")
        new = tuple([s for i, s in enumerate(shape) if s != 1 or i not in dims])
    if new == shape:
        return x
    return Reshape.apply(x, shape=new)


@public
def unsqueeze(input, dim: int):
    """Insert a size-1 dim at ``dim`` (in ``-ndim-1..ndim``)."""
    x = _as_tensor(input)
    shape = x._data.shape
    d = normalize_dim(dim, len(shape) + 1, "unsqueeze")
    return Reshape.apply(x, shape=shape[:d] + (1,) + shape[d:])


# -------------------------------------------------------------------- permute
class Permute(Function):
    """Reorder the dims; a view."""

    saves_inputs = False
    is_view = True

    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, grad_output):
        return grad_output.transpose(_inverse(self.dims))


def _inverse(dims):
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return tuple(inv)


@public
def permute(input, *dims):
    """Reorder the dims of ``input``: ``x.permute(2, 0, 1)`` or ``gs.permute(x, (2, 0, 1))``."""
    x = _as_tensor(input)
    ndim = x._data.ndim
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != ndim:
        raise InvalidArgument(
            f"permute: the number of dims ({len(dims)}) must equal the tensor's number of dimensions "
            f"({ndim}, shape {fmt_shape(x._data.shape)})"
        )
    dims = _dim_list(dims, ndim, "permute")
    if dims == tuple(range(ndim)):
        return x
    return Permute.apply(x, dims=dims)


@public(aliases=("swapaxes", "swapdims"))
def transpose(input, dim0: int, dim1: int):
    """Swap dims ``dim0`` and ``dim1``; a view."""
    x = _as_tensor(input)
    ndim = x._data.ndim
    d0 = normalize_dim(dim0, ndim, "transpose")
    d1 = normalize_dim(dim1, ndim, "transpose")
    if d0 == d1:
        return x
    dims = list(range(ndim))
    dims[d0], dims[d1] = d1, d0
    return Permute.apply(x, dims=tuple(dims))


@public
def t(input):
    """Transpose of a tensor of at most 2 dims."""
    x = _as_tensor(input)
    if x._data.ndim > 2:
        raise InvalidArgument(f"t: expects a tensor with <= 2 dimensions, got shape {fmt_shape(x._data.shape)}; use transpose(dim0, dim1)")
    return transpose(x, 0, -1) if x._data.ndim == 2 else x


@public(aliases=("moveaxis",))
def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination`` (ints or tuples), keeping the others' order."""
    x = _as_tensor(input)
    ndim = x._data.ndim
    src = _dim_list(source, ndim, "movedim")
    dst = _dim_list(destination, ndim, "movedim")
    if len(src) != len(dst):
        raise InvalidArgument(f"movedim: source {source} and destination {destination} must have the same number of dims")
    rest = iter([d for d in range(ndim) if d not in src])
    where = dict(zip(dst, src))
    return permute(x, tuple([where[i] if i in where else next(rest) for i in range(ndim)]))


# --------------------------------------------------------------------- expand
class Expand(Function):
    """Broadcast to a bigger shape without copying (a read-only view, as in NumPy)."""

    saves_inputs = False
    is_view = True

    def forward(self, a, shape):
        return xp.broadcast_to(a, shape)

    def backward(self, grad_output):
        return grad_output  # the engine sums it back to the input's shape


@public
def expand(input, *sizes):
    """A view of ``input`` broadcast to ``sizes`` (-1 keeps a dim); new dims are added in front."""
    x = _as_tensor(input)
    sizes = _size_args(sizes, "expand")
    shape = x._data.shape
    extra = len(sizes) - len(shape)
    if extra < 0:
        raise ShapeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be at least the number of "
            f"dimensions of the tensor (shape {fmt_shape(shape)})"
        )
    target = list(sizes)
    for i, s in enumerate(sizes):
        if i < extra:
            if s < 0:
                raise ShapeError(f"expand: size {s} isn't allowed in a new leading dimension {i}, got sizes {fmt_shape(sizes)}")
            continue
        have = shape[i - extra]
        if s == -1:
            target[i] = have
        elif s != have and have != 1:
            raise ShapeError(
                f"expand: the expanded size ({s}) must match the existing size ({have}) at non-singleton "
                f"dimension {i}; target sizes {fmt_shape(sizes)}, tensor shape {fmt_shape(shape)}"
            )
        elif s < 0:
            raise ShapeError(f"expand: invalid size {s} at dimension {i}")
    target = tuple(target)
    if target == shape:
        return x
    return Expand.apply(x, shape=target)


@public
def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, tuple(other.shape))


@public
def broadcast_to(input, size):
    """``input`` broadcast to ``size`` (a view); like ``expand``."""
    return expand(input, tuple(size))


def contiguous(input, memory_format=None):
    """``input`` itself when its memory is C-contiguous, else a contiguous (differentiable) copy."""
    x = _as_tensor(input)
    if x._data.flags.c_contiguous:
        return x
    return _ops().clone(x)


def _is_contiguous(self, memory_format=None) -> bool:
    return bool(self._data.flags.c_contiguous)


Tensor.contiguous = contiguous
Tensor.is_contiguous = _is_contiguous


def _ops():
    from .. import ops

    return ops


# ------------------------------------------------------------------ cat, stack
class Cat(Function):
    """Join tensors along an existing dim; backward slices the gradient back."""

    saves_inputs = False

    def forward(self, *arrays, dim):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return xp.concatenate(arrays, axis=dim)

    def backward(self, grad_output):
        grads, start = [], 0
        lead = (slice(None),) * self.dim
        for size, needed in zip(self.sizes, self.needs_input_grad):
            if needed:
                grads.append(grad_output[lead + (slice(start, start + size),)])
            else:
                grads.append(None)
            start += size
        return tuple(grads)


class Stack(Function):
    """Join same-shaped tensors along a new dim."""

    saves_inputs = False

    def forward(self, *arrays, dim):
        self.dim = dim
        return xp.stack(arrays, axis=dim)

    def backward(self, grad_output):
        lead = (slice(None),) * self.dim
        return tuple([grad_output[lead + (i,)] if needed else None for i, needed in enumerate(self.needs_input_grad)])


def _same_dtype(tensors, op):
    if not isinstance(tensors, (list, tuple)):
        raise ArgumentTypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise InvalidArgument(f"{op}: expected a non-empty list of tensors")
    tensors = [_as_tensor(x) for x in tensors]
    dtype = tensors[0]._data.dtype
    for x in tensors:
        if x._data.dtype != dtype:
            # Raw arrays all count as dimensioned operands: float32 with float64 gives float64, as in torch.cat.
            dtype = result_type(*[y._data for y in tensors])
            return [y if y._data.dtype == dtype else y.to(dtype) for y in tensors]
    return tensors


@public(method=False, aliases=("concat", "concatenate"))
def cat(tensors, dim: int = 0):
    """Concatenate ``tensors`` along ``dim``; their other sizes must match. Dtypes promote as in PyTorch.

    Shape:
        tensors of shape ``(*, n_i, *)`` -> ``(*, sum(n_i), *)``.
    """
    tensors = _same_dtype(tensors, "cat")
    for i, x in enumerate(tensors):
        if not x._data.ndim:
            raise ShapeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated; unsqueeze it or use stack")
    # PyTorch still accepts 1-d empty tensors next to any others (legacy behaviour): torch.cat([x, torch.zeros(0)]) == x.
    ref = next((i for i, x in enumerate(tensors) if x._data.shape != (0,)), 0)
    first = tensors[ref]._data.shape
    d = normalize_dim(dim, len(first), "cat")
    for i, x in enumerate(tensors):
        shape = x._data.shape
        if shape == (0,) and first != (0,):
            tensors[i] = x.reshape(first[:d] + (0,) + first[d + 1:])
        elif len(shape) != len(first) or any(a != b for j, (a, b) in enumerate(zip(shape, first)) if j != d):
            raise ShapeError(
                f"cat: expected tensors of shape {_star_shape(first, d)} (the shape of tensor {ref}, any size "
                f"in dim {dim}), got {fmt_shape(shape)} at position {i}"
            )
    return Cat.apply(*tensors, dim=d)


def _star_shape(shape, d) -> str:
    return "(" + ", ".join("*" if i == d else str(s) for i, s in enumerate(shape)) + ("," if len(shape) == 1 else "") + ")"


@public(method=False)
def stack(tensors, dim: int = 0):
    """Join same-shaped ``tensors`` along a new dim ``dim`` (in ``-ndim-1..ndim``)."""
    tensors = _same_dtype(tensors, "stack")
    first = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != first:
            raise ShapeError(
                f"stack: expects each tensor to be equal size, but got {fmt_shape(first)} at entry 0 "
                f"and {fmt_shape(x._data.shape)} at entry {i}"
            )
    d = normalize_dim(dim, len(first) + 1, "stack")
    return Stack.apply(*tensors, dim=d)


@public(method=False)
def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-d tensors), like ``torch.hstack``."""
    tensors = [_as_tensor(x) for x in tensors]
    tensors = [x.reshape(1) if x.ndim == 0 else x for x in tensors]
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


@public(method=False)
def vstack(tensors):
    """Concatenate along dim 0 after making 0-d/1-d tensors 2-d (rows), like ``torch.vstack``."""
    tensors = [_as_tensor(x) for x in tensors]
    return cat([x.reshape(1, -1) if x.ndim < 2 else x for x in tensors], 0)


# ---------------------------------------------------------- slicing-based views
def _slice(x: Tensor, d: int, start: int, stop: int) -> Tensor:
    from .indexing import BasicIndex

    return BasicIndex.apply(x, index=(slice(None),) * d + (slice(start, stop), Ellipsis))


@public
def narrow(input, dim: int, start: int, length: int):
    """The view ``input[..., start:start + length, ...]`` along ``dim``."""
    x = _as_tensor(input)
    shape = x._data.shape
    d = normalize_dim(dim, len(shape), "narrow")
    start = operator.index(start)
    if start < 0:
        start += shape[d]
    if not 0 <= start <= shape[d] or length < 0 or start + length > shape[d]:
        raise IndexOutOfRange(
            f"narrow: start ({start}) + length ({length}) must lie within dimension {dim} of size {shape[d]} "
            f"(tensor of shape {fmt_shape(shape)})"
        )
    return _slice(x, d, start, start + length)


@public
def split(tensor, split_size_or_sections, dim: int = 0):
    """Views of consecutive pieces along ``dim``: pieces of size ``split_size`` (the last may be
    smaller), or of the sizes in a list. Returns a tuple."""
    x = _as_tensor(tensor)
    shape = x._data.shape
    d = normalize_dim(dim, len(shape), "split")
    n = shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = _size_args((split_size_or_sections,), "split")
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(
                f"split: split sizes {list(sizes)} must be >= 0 and sum exactly to {n}, the size of dim {dim} "
                f"(tensor of shape {fmt_shape(shape)})"
            )
    else:
        size = operator.index(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise InvalidArgument(f"split: split_size must be a positive int, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    out, start = [], 0
    for s in sizes:
        out.append(_slice(x, d, start, start + s))
        start += s
    return tuple(out)


@public
def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` views of equal size ``ceil(n / chunks)`` (the last smaller; maybe fewer chunks)."""
    x = _as_tensor(input)
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise InvalidArgument(f"chunk: chunks must be a positive int, got {chunks}")
    shape = x._data.shape
    d = normalize_dim(dim, len(shape), "chunk")
    n = shape[d]
    if n == 0:
        return tuple([_slice(x, d, 0, 0) for _ in range(chunks)])
    return split(x, -(-n // chunks), d)


@public
def select(input, dim: int, index: int):
    """The view ``input[..., index, ...]`` along ``dim`` (that dim removed)."""
    from .indexing import BasicIndex

    x = _as_tensor(input)
    shape = x._data.shape
    d = normalize_dim(dim, len(shape), "select")
    i = operator.index(index)
    if not -shape[d] <= i < shape[d]:
        raise IndexOutOfRange(f"select: index {i} is out of bounds for dimension {dim} with size {shape[d]}")
    return BasicIndex.apply(x, index=(slice(None),) * d + (i, Ellipsis))


@public
def unbind(input, dim: int = 0):
    """A tuple of all the slices along ``dim`` (that dim removed)."""
    x = _as_tensor(input)
    d = normalize_dim(dim, x._data.ndim, "unbind")
    return tuple([select(x, d, i) for i in range(x._data.shape[d])])


# ---------------------------------------------------------------- flip, repeat
class Flip(Function):
    """Reverse the order along some dims (a copy, as in PyTorch)."""

    saves_inputs = False

    def forward(self, a, dims):
        self.dims = dims
        return xp.flip(a, dims).copy()

    def backward(self, grad_output):
        return xp.flip(grad_output, self.dims)


class Repeat(Function):
    """Tile the tensor ``repeats[i]`` times along each dim."""

    saves_inputs = False

    def forward(self, a, repeats):
        self.in_shape = a.shape
        self.repeats = repeats
        return xp.tile(a, repeats)

    def backward(self, grad_output):
        # Dim i of the output is (repeats[i], size[i]) laid out repeat-major: sum the repeat axes.
        extra = len(self.repeats) - len(self.in_shape)
        padded = (1,) * extra + self.in_shape
        split_shape = []
        for r, s in zip(self.repeats, padded):
            split_shape += [r, s]
        g = grad_output.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(padded), 2)))
        return g.reshape(self.in_shape)


@public
def flip(input, *dims):
    """Reverse the order of elements along ``dims`` (a copy)."""
    x = _as_tensor(input)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    dims = _dim_list(list(dims), x._data.ndim, "flip") if x._data.ndim else ()
    return Flip.apply(x, dims=dims)


@public(method=False)
def fliplr(input):
    return flip(input, 1)


@public(method=False)
def flipud(input):
    return flip(input, 0)


def repeat(input, *sizes):
    """``Tensor.repeat``: tile ``input`` ``sizes[i]`` times along dim i (at least ``ndim`` sizes)."""
    x = _as_tensor(input)
    sizes = _size_args(sizes, "repeat")
    if len(sizes) < x._data.ndim:
        raise ShapeError(
            f"repeat: the number of repeat sizes ({len(sizes)}) can't be smaller than the number of "
            f"dimensions of the tensor (shape {fmt_shape(x._data.shape)})"
        )
    if any(s < 0 for s in sizes):
        raise InvalidArgument(f"repeat: sizes must be >= 0, got {sizes}")
    return Repeat.apply(x, repeats=sizes)


Tensor.repeat = repeat


@public
def tile(input, dims):
    """Tile ``input`` ``dims[i]`` times along dim i; fewer ``dims`` than dimensions are padded with 1s in front."""
    x = _as_tensor(input)
    dims = _size_args((dims,), "tile")
    return repeat(x, (1,) * (x._data.ndim - len(dims)) + dims)


__all__ = [
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "t", "movedim",
    "expand", "expand_as", "broadcast_to", "contiguous", "cat", "stack", "hstack", "vstack", "narrow",
    "split", "chunk", "select", "unbind", "flip", "fliplr", "flipud", "repeat",
]
