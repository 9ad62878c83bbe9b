"""Converters for movement and indexing: reshape, permute, expand, cat/stack, slicing, gathers, padding."""
from __future__ import annotations

import numpy

from ..ops.indexing import AdvancedIndex, BasicIndex, Gather, IndexPut, IndexSelect, MaskedFill, Triangle
from ..ops.movement import Cat, Expand, Flip, Permute, Repeat, Reshape, Stack
from ..ops.padding import ConstantPad, IndexPad
from ._batch import Dyn
from ._graph import INT64_MAX, INT64_MIN
from ._registry import converts


@converts(Reshape)
def _reshape(g, op):
    return g.reshape(g.input(0), op.params["shape"])


@converts(Permute)
def _permute(g, op):
    return g.node("Transpose", [g.input(0)], perm=[int(d) for d in op.params["dims"]])


@converts(Expand)
def _expand(g, op):
    return g.node("Expand", [g.input(0), g.ints(op.params["shape"])])


@converts(Cat)
def _cat(g, op):
    return g.node("Concat", [g.input(i) for i in range(len(op.inputs))], axis=int(op.params["dim"]))


@converts(Stack)
def _stack(g, op):
    dim = int(op.params["dim"])
    parts = [g.unsqueeze(g.input(i), [dim]) for i in range(len(op.inputs))]
    return g.node("Concat", parts, axis=dim)


@converts(Flip)
def _flip(g, op):
    dims = [int(d) for d in op.params["dims"]]
    if not dims:
        return g.input(0)
    n = len(dims)
    return g.node("Slice", [g.input(0), g.ints([-1] * n), g.ints([INT64_MIN] * n), g.ints(dims), g.ints([-1] * n)])


@converts(Repeat)
def _repeat(g, op):
    repeats = op.params["repeats"]
    x = g.unsqueeze(g.input(0), list(range(len(repeats) - len(g.in_shape(0)))))
    return g.node("Tile", [x, g.ints(repeats)])


# ---------------------------------------------------------------- indexing
def _expand_ellipsis(index, ndim: int) -> list:
    consumed = sum(1 for it in index if it is not None and it is not Ellipsis)
    items, seen_ellipsis = [], False
    for it in index:
        if it is Ellipsis:
            if not seen_ellipsis:
                items += [slice(None)] * (ndim - consumed)
            seen_ellipsis = True
        else:
            items.append(it)
    return items


def _basic_index(g, x: str, index, ndim: int, layout: list | None = None):
    """``x[index]`` for ints, slices, None and ``...``: one Slice, then Squeeze (ints) and Unsqueeze (None).

    Returns the result's name and rank; ``layout`` (a list) receives the squeezed and unsqueezed axes.
    """
    items = _expand_ellipsis(index, ndim)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    d = o = 0  # next input dim, next output dim
    for it in items:
        if it is None:
            unsqueeze.append(o)
            o += 1
            continue
        if isinstance(it, slice):
            step = 1 if it.step is None else g.static(it.step, "slice step")
            if not (it.start is None and it.stop is None and step == 1):
                start = it.start if it.start is not None else (0 if step > 0 else INT64_MAX)
                stop = it.stop if it.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                starts.append(start), ends.append(stop), axes.append(d), steps.append(step)
            o += 1
        else:  # an int: a slice of length 1, then squeezed
            stop = INT64_MAX if (not isinstance(it, Dyn) and it == -1) else it + 1
            starts.append(it), ends.append(stop), axes.append(d), steps.append(1)
            squeeze.append(d)
        d += 1
    if starts:
        x = g.node("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if layout is not None:
        layout += [squeeze, unsqueeze]
    return g.unsqueeze(g.squeeze(x, squeeze), unsqueeze), o + (ndim - d)


@converts(BasicIndex)
def _basic(g, op):
    return _basic_index(g, g.input(0), op.params["index"], len(g.in_shape(0)))[0]


@converts(AdvancedIndex)
def _advanced(g, op):
    x, ndim = g.input(0), len(g.in_shape(0))
    if op.params["basic"] is not None:
        x, ndim = _basic_index(g, x, op.params["basic"], ndim)
    adv = op.params["adv"]
    arrays = [(i, a) for i, a in enumerate(adv) if not isinstance(a, slice)]
    if len(arrays) != 1:
        g.fail("indexing with several index tensors at once isn't supported; index one dim at a time "
               "(e.g. x[i][:, j]) or use gather")
    axis, ref = arrays[0]
    index = g.ref(ref, "index")
    if g.dtype(ref) == numpy.bool_:
        if len(g.shape(ref)) != 1:
            g.fail("a boolean mask index over several dims isn't supported; flatten those dims first")
        return g.node("Compress", [x, index], axis=axis)
    return g.node("Gather", [x, index], axis=axis)


@converts(IndexPut)
def _index_put(g, op):
    """``x[basic] = v`` (or ``+=``): the part before, the new part and the part after, joined dim by dim."""
    p = op.params
    if p["adv"] is not None:
        g.fail("assigning through index tensors or masks (x[idx] = v) has no ONNX conversion; build the "
               "result out of place instead, e.g. gs.where(mask, v, x)")
    x, shape = g.input(0), g.in_shape(0)
    index = p["basic"] if p["basic"] is not None else (Ellipsis,)
    layout: list = []
    view = _basic_index(g, x, index, len(shape), layout)[0]
    view_shape = g.node("Shape", [view])
    value = g.node("Reshape", [g.node("Expand", [g.input(1), view_shape]), view_shape])
    squeezed, unsqueezed = layout
    value = g.unsqueeze(g.squeeze(value, unsqueezed), squeezed)  # now laid out like x's dims
    ranges = []  # (axis, start, stop) of the written part, along each dim it doesn't cover whole
    for axis, it in enumerate([it for it in _expand_ellipsis(index, len(shape)) if it is not None]):
        if isinstance(it, slice):
            if g.static(it.step, "slice step") not in (None, 1):
                g.fail("assigning to a strided slice (x[::2] = v) has no ONNX conversion; use a mask and gs.where")
            if it.start is None and it.stop is None:
                continue
            start, stop = it.start, it.stop
        else:
            start, stop = it, (None if not isinstance(it, Dyn) and it == -1 else it + 1)
        if not isinstance(shape[axis], Dyn) and not isinstance(start, Dyn) and not isinstance(stop, Dyn):
            start, stop, _ = slice(start, stop).indices(shape[axis])
            stop = max(start, stop)
        ranges.append((axis, 0 if start is None else start, INT64_MAX if stop is None else stop))
    return _replace(g, x, value, ranges, bool(p["accumulate"]))


def _replace(g, x: str, value: str, ranges: list, accumulate: bool) -> str:
    if not ranges:
        return g.node("Add", [x, value]) if accumulate else value
    (axis, start, stop), rest = ranges[0], ranges[1:]

    def part(lo, hi):
        return g.node("Slice", [x, g.ints([lo]), g.ints([hi]), g.ints([axis])])

    inner = _replace(g, part(start, stop), value, rest, accumulate)
    return g.node("Concat", [part(0, start), inner, part(stop, INT64_MAX)], axis=axis)


@converts(Gather)
def _gather(g, op):
    x, dim = g.input(0), int(op.params["dim"])
    index = op.params["index"]
    shape, index_shape = g.in_shape(0), g.shape(index)
    narrower = [i for i, (n, m) in enumerate(zip(index_shape, shape)) if i != dim and not _same_size(n, m)]
    if narrower:  # the index may be smaller than the input in the other dims: crop to it first
        sizes = [index_shape[i] for i in narrower]
        x = g.node("Slice", [x, g.ints([0] * len(narrower)), g.ints(sizes), g.ints(narrower)])
    return g.node("GatherElements", [x, g.ref(index, "index")], axis=dim)


def _same_size(n, m) -> bool:
    if isinstance(n, Dyn) or isinstance(m, Dyn):
        return isinstance(n, Dyn) and isinstance(m, Dyn) and (n.k, n.c) == (m.k, m.c)
    return n == m


@converts(IndexSelect)
def _index_select(g, op):
    return g.node("Gather", [g.input(0), g.ref(op.params["index"], "index")], axis=int(op.params["dim"]))


@converts(MaskedFill)
def _masked_fill(g, op):
    return g.node("Where", [g.input(1), g.input(2), g.input(0)])


@converts(Triangle)
def _triangle(g, op):
    k = g.const(numpy.asarray(op.params["diagonal"], dtype=numpy.int64))
    return g.node("Trilu", [g.input(0), k], upper=int(bool(op.params["upper"])))


# ----------------------------------------------------------------- padding
def _pads(g, op, ndim: int) -> list:
    begins, ends = [0] * ndim, [0] * ndim
    for axis, left, right in g.static(op.params["pads"], "padding"):
        begins[axis], ends[axis] = left, right
    return begins + ends


@converts(ConstantPad)
def _constant_pad(g, op):
    ndim = len(g.in_shape(0))
    value = g.scalar(op.params["value"], g.in_dtype(0))
    return g.node("Pad", [g.input(0), g.ints(_pads(g, op, ndim)), value], mode="constant")


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@converts(IndexPad)
def _index_pad(g, op):
    mode = op.params["mode"]
    pads = _pads(g, op, len(g.in_shape(0)))
    if any(p < 0 for p in pads):
        g.fail(f"negative (cropping) padding with mode={mode!r} has no ONNX equivalent; crop with slicing instead")
    if mode == "circular" and g.opset < 19:
        g.fail(f"circular padding needs ONNX opset 19 or newer (exporting with opset {g.opset}); pass opset=19")
    return g.node("Pad", [g.input(0), g.ints(pads)], mode=_PAD_MODES[mode])

