"""Small shared helpers for ops: operand promotion, dim normalisation, error text."""
from __future__ import annotations

from ..autograd.tensor import Tensor, _as_tensor, result_type
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ..errors import IndexOutOfRange


def binary_operands(a, b, op: str, float_result: bool = False):
    """Both operands as Tensors of PyTorch's result dtype (``float_result``: ints become float32)."""
    dtype = result_type(a, b)
    if float_result and dtype.kind not in "fc":
        from ..backend import default_dtype

        dtype = default_dtype()
    return _as_tensor(a, dtype), _as_tensor(b, dtype)


def check_broadcast(op: str, *shapes) -> None:
    """Raise a ShapeError naming ``op`` when the shapes can't broadcast together."""
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        got = " and ".join(fmt_shape(s) for s in shapes)
        raise ShapeError(
            f"{op}: shapes {got} can't be broadcast together (each dimension must match or be 1, "
            f"aligned from the right)"
        ) from None


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    """A non-negative dim, with PyTorch's error for one out of range (0-d tensors accept 0 and -1)."""
    if isinstance(dim, Tensor):
        dim = int(dim)
    if not isinstance(dim, int):
        raise DTypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not lo <= dim <= hi:
        raise IndexOutOfRange(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimension(s) (expected {lo}..{hi})")
    return dim % max(ndim, 1)


def require_float(t: Tensor, op: str) -> None:
    if t.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point tensor, got dtype {t.dtype}")


__all__ = ["binary_operands", "check_broadcast", "normalize_dim", "require_float", "Tensor", "_as_tensor", "ShapeError", "DTypeError", "fmt_shape"]


def copy_like(template, values):
    """``values`` copied into a new array laid out like ``template`` (same shape; ``values``' dtype).

    One copy into the layout the next pass reads beats NumPy's mixed-layout passes
    (an NCHW gradient of a channels-last activation, say)."""
    out = xp.empty_like(template, dtype=values.dtype)
    out[...] = values
    return out
