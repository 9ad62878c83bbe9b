"""Gradient buckets: parameters packed into flat contiguous buffers, one Allreduce each.

A bucket holds consecutive parameters of one dtype, up to a byte cap (a
parameter bigger than the cap gets a bucket of its own). Its buffer is laid
out as every parameter's gradient, flattened, back to back, followed by one
presence flag per parameter: a rank writes ``1/world`` there when it has a
gradient for that parameter and 0 when it has none, so after the sum every
rank knows which parameters received a gradient anywhere (the others keep
``grad = None``, exactly as in a single process).
"""
from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ShapeError, fmt_shape

__all__ = ["Bucket", "make_buckets"]


class Bucket:
    """Parameters of one dtype whose gradients travel together in ``buffer``.

    ``views[i]`` is parameter ``i``'s gradient-shaped view of the buffer;
    ``flags`` is the tail of presence flags.
    """

    __slots__ = ("params", "names", "dtype", "buffer", "views", "flags", "numel")

    def __init__(self, params: list, names: list):
        self.params, self.names = params, names
        self.dtype = params[0]._data.dtype
        self.numel = sum(p._data.size for p in params)
        self.buffer = xp.zeros(self.numel + len(params), self.dtype)
        self.views, start = [], 0
        for p in params:
            n = p._data.size
            self.views.append(self.buffer[start:start + n].reshape(p._data.shape))
            start += n
        self.flags = self.buffer[self.numel:]

    @property
    def nbytes(self) -> int:
        return self.buffer.nbytes

    def gather(self, scale) -> None:
        """Write every parameter's gradient times ``scale`` into the buffer (in place where it already lives there)."""
        flags = self.flags
        for i, (p, view) in enumerate(zip(self.params, self.views)):
            g = p.grad
            if g is None:
                view.fill(0)
                flags[i] = 0
                continue
            data = g._data
            if data is view:  # accumulated straight into the bucket: scale in place, no copy
                view *= scale
            elif data.shape != view.shape:
                raise ShapeError(
                    f"DistributedDataParallel.sync_gradients: parameter {self.names[i]!r} of shape "
                    f"{fmt_shape(view.shape)} has a gradient of shape {fmt_shape(data.shape)}; they must match"
                )
            else:
                xp.multiply(data, scale, out=view, casting="unsafe")
            flags[i] = scale

    def scatter(self, as_view: bool) -> None:
        """Hand the reduced gradients back: as views of the buffer, or copied into each ``p.grad``."""
        for p, view, flag in zip(self.params, self.views, self.flags):
            if flag == 0:  # no rank had a gradient for it
                p.grad = None
                continue
            g = p.grad
            if g is not None and g._data is view:
                continue
            if as_view:
                p.grad = Tensor._wrap(view, False)
            elif g is None or g._data.shape != view.shape:
                p.grad = Tensor._wrap(view.copy(), False)
            else:
                g._data[...] = view


def make_buckets(named_params: list, cap_bytes: int) -> list:
    """Split ``[(name, parameter), ...]`` into buckets of one dtype and at most ``cap_bytes`` each (order kept)."""
    open_buckets: dict = {}  # dtype -> (names, params, bytes) being filled
    done = []
    for name, p in named_params:
        dtype = p._data.dtype
        names, params, size = open_buckets.get(dtype, ([], [], 0))
        nbytes = p._data.nbytes
        if params and size + nbytes > cap_bytes:
            done.append(Bucket(params, names))
            names, params, size = [], [], 0
        names.append(name)
        params.append(p)
        open_buckets[dtype] = (names, params, size + nbytes)
    done.extend(Bucket(params, names) for names, params, _ in open_buckets.values() if params)
    return done
