"""Einstein summation: einsum, tensordot, outer.

``einsum`` is one primitive. Its forward contracts two operands as one
(batched) matrix product, like PyTorch (the letters are grouped into batch,
kept and contracted ones, so the work goes to BLAS), and other operand counts
through ``numpy.einsum``. The gradient of operand ``i`` is itself an einsum:
the output gradient contracted with the other operands into operand ``i``'s
subscripts; letters that only operand ``i`` has are broadcast back, and
repeated letters (``'ii->i'``) write into the diagonal.
"""
from __future__ import annotations

import math
import string

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor, result_type
from ..backend import xp
from ..errors import DTypeError, IndexOutOfRange, InvalidArgument, ShapeError, fmt_shape
from ._registry import public


# ------------------------------------------------------------------ contraction
def _letter_sizes(arrays, subs) -> dict:
    """Each letter's size; a size-1 dimension broadcasts against the others (as PyTorch allows)."""
    sizes: dict = {}
    for a, sub in zip(arrays, subs):
        for c, n in zip(sub, a.shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    return sizes


def _pair(a, sa, b, sb, out, sizes):
    """Contract two operands without repeated or lonely letters as one (batched) matrix product."""
    batch = [c for c in sa if c in sb and c in out]
    contracted = [c for c in sa if c in sb and c not in out]
    a_only = [c for c in sa if c not in sb]
    b_only = [c for c in sb if c not in sa]
    nb = math.prod(sizes[c] for c in batch)
    m = math.prod(sizes[c] for c in a_only)
    n = math.prod(sizes[c] for c in b_only)
    k = math.prod(sizes[c] for c in contracted)
    a = a.transpose([sa.index(c) for c in batch + a_only + contracted]).reshape(nb, m, k)
    b = b.transpose([sb.index(c) for c in batch + contracted + b_only]).reshape(nb, k, n)
    if not contracted:  # an outer or elementwise product: a broadcast multiply beats a k=1 matmul
        r = a * b.reshape(nb, 1, n)
    elif nb == 1:
        r = xp.matmul(a[0], b[0])
    else:
        r = xp.matmul(a, b)
    order = batch + a_only + b_only
    r = r.reshape([sizes[c] for c in order])
    perm = [order.index(c) for c in out]
    return r if perm == sorted(perm) else r.transpose(perm)


def _contract(arrays, subs, out):
    """``numpy.einsum`` of ``subs -> out`` (letters only), routed to BLAS for two operands."""
    arrays, subs = list(arrays), list(subs)
    sizes = _letter_sizes(arrays, subs)
    for i, (a, sub) in enumerate(zip(arrays, subs)):
        unique = "".join(dict.fromkeys(sub))
        if unique != sub:  # repeated letters: take the diagonal first
            a, sub = xp.einsum(f"{sub}->{unique}", a), unique
        elsewhere = set(out).union(*(s for j, s in enumerate(subs) if j != i))
        lonely = tuple(k for k, c in enumerate(sub) if c not in elsewhere)
        if lonely:  # letters no one else has are summed out first
            a = a.sum(axis=lonely)
            sub = "".join(c for c in sub if c in elsewhere)
        full = tuple(sizes[c] for c in sub)
        if a.shape != full:
            a = xp.broadcast_to(a, full)
        arrays[i], subs[i] = a, sub
    if len(arrays) == 1:
        a, sub = arrays[0], subs[0]
        return a.transpose([sub.index(c) for c in out])
    if len(arrays) == 2:
        return _pair(arrays[0], subs[0], arrays[1], subs[1], out, sizes)
    return xp.einsum(",".join(subs) + "->" + out, *arrays, optimize=True)


class Einsum(Function):
    """``einsum(subs -> out)`` on letter-only subscripts (ellipses already expanded)."""

    def forward(self, *arrays, subs, out):
        self.subs, self.out = subs, out
        r = _contract(arrays, subs, out)
        if len(arrays) == 1 and xp.may_share_memory(r, arrays[0]):
            r = r.copy()  # a transpose or diagonal of the input: the output gets its own memory
        return r

    def backward(self, g):
        arrays = [t._data for t in self.inputs]
        grads = []
        for i, needed in enumerate(self.needs_input_grad):
            grads.append(_operand_grad(g, self.out, arrays, self.subs, i) if needed else None)
        return tuple(grads)


def _operand_grad(g, out, arrays, subs, i):
    a, sub = arrays[i], subs[i]
    others = [x for j, x in enumerate(arrays) if j != i]
    other_subs = [s for j, s in enumerate(subs) if j != i]
    unique = "".join(dict.fromkeys(sub))
    present = set(out).union(*other_subs)
    kept = "".join(c for c in unique if c in present)
    r = _contract([g] + others, [out] + other_subs, kept)
    sizes = dict(zip(sub, a.shape))
    if kept != unique:  # letters summed inside operand i alone: their gradient is broadcast
        r = xp.expand_dims(r, tuple(k for k, c in enumerate(unique) if c not in present))
    # Size-1 broadcasting between operands: sum where operand i had size 1, broadcast where the others did.
    target = tuple(sizes[c] for c in unique)
    stretched = tuple(k for k, (m, n) in enumerate(zip(r.shape, target)) if n == 1 and m != 1)
    if stretched:
        r = r.sum(axis=stretched, keepdims=True)
    if r.shape != target:
        r = xp.broadcast_to(r, target)
    if unique == sub:
        return r
    grad = xp.zeros(a.shape, dtype=g.dtype)
    xp.einsum(f"{sub}->{unique}", grad)[...] = r  # the diagonal view is writeable
    return grad


# ------------------------------------------------------------------- parsing
def _parse(equation: str, shapes):
    """Expand ``...`` into letters and fill in an implicit output: (input subscripts, output subscript)."""
    if not isinstance(equation, str):
        raise DTypeError(f"einsum: equation must be a str, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise ShapeError(
            f"einsum: equation {equation!r} names {len(subs)} operand(s) but {len(shapes)} were given"
        )
    for s in subs + [rhs]:
        bad = set(s.replace("...", "")) - set(string.ascii_letters)
        if bad or s.count("...") > 1:
            raise InvalidArgument(
                f"einsum: invalid subscripts {s!r} in {equation!r}: use letters a-z, A-Z and at most one '...' per term"
            )
    free = [c for c in string.ascii_letters if c not in eq]
    ell = 0
    for s, shape in zip(subs, shapes):
        if "..." in s:
            ell = max(ell, len(shape) - (len(s) - 3))
    ell_letters = "".join(free[:ell])
    expanded = []
    for k, (s, shape) in enumerate(zip(subs, shapes)):
        n = len(s) - 3 * s.count("...")
        if ("..." in s and len(shape) < n) or ("..." not in s and len(shape) != n):
            raise ShapeError(
                f"einsum: operand {k} has shape {fmt_shape(shape)} ({len(shape)} dims) but its subscripts {s!r} "
                f"name {n} dimension(s){' or more' if '...' in s else ''}"
            )
        expanded.append(s.replace("...", ell_letters[ell - (len(shape) - n):] if len(shape) > n else ""))
    if arrow:
        out = rhs.replace("...", ell_letters)
        if len(set(out)) != len(out):
            raise InvalidArgument(f"einsum: output subscripts {rhs!r} repeat a letter")
        missing = set(out) - set("".join(expanded))
        if missing:
            raise InvalidArgument(f"einsum: output letter(s) {''.join(sorted(missing))!r} appear in no input of {equation!r}")
    else:
        letters = "".join(expanded)
        out = ell_letters + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell_letters))
    sizes: dict = {}
    for k, (s, shape) in enumerate(zip(expanded, shapes)):
        for c, n in zip(s, shape):
            seen = sizes.get(c)
            if seen is not None and seen != n and seen != 1 and n != 1:
                raise ShapeError(
                    f"einsum: letter {c!r} has size {seen} in one place but {n} in operand {k} (shape "
                    f"{fmt_shape(shape)}) of {equation!r}; sizes must match or be 1"
                )
            if seen is None or seen == 1:
                sizes[c] = n
    return expanded, out


@public(method=False)
def einsum(equation: str, *operands):
    """Sum of products over the letters of ``equation`` (e.g. ``'bij,bjk->bik'``), like ``torch.einsum``.

    Supports ``...``, an implicit output (letters that appear once, sorted),
    repeated letters (diagonals such as ``'ii->i'``) and size-1 broadcasting.
    Differentiable in every operand.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise InvalidArgument("einsum: expected at least one operand")
    dtype = result_type(*operands)
    tensors = [_as_tensor(x, dtype) for x in operands]
    subs, out = _parse(equation, [t.shape for t in tensors])
    return Einsum.apply(*tensors, subs=tuple(subs), out=out)


@public
def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b`` (or the listed dims).

    ``dims`` is an int, or a pair of lists ``([dims of a], [dims of b])``.
    """
    a, b = _as_tensor(a), _as_tensor(b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ShapeError(
                f"tensordot: dims={dims} must be between 0 and {min(a.ndim, b.ndim)} for shapes "
                f"{fmt_shape(a.shape)} and {fmt_shape(b.shape)}"
            )
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        try:
            da, db = [[d] if isinstance(d, int) else list(d) for d in dims]
        except (TypeError, ValueError):
            raise DTypeError(f"tensordot: dims must be an int or a pair of lists of dims, got {dims!r}") from None
        if len(da) != len(db):
            raise ShapeError(f"tensordot: both dim lists must have the same length, got {da} and {db}")
        da = [d % a.ndim if -a.ndim <= d < a.ndim else _bad_dim(d, a) for d in da]
        db = [d % b.ndim if -b.ndim <= d < b.ndim else _bad_dim(d, b) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise ShapeError(
                f"tensordot: dim {x} of a (shape {fmt_shape(a.shape)}) has size {a.shape[x]} but dim {y} of b "
                f"(shape {fmt_shape(b.shape)}) has size {b.shape[y]}; contracted dims must match"
            )
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for x, y in zip(da, db):
        sb[y] = sa[x]
    out = [c for k, c in enumerate(sa) if k not in da] + [c for k, c in enumerate(sb) if k not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def _bad_dim(d, t):
    raise IndexOutOfRange(f"tensordot: dim {d} is out of range for a tensor of shape {fmt_shape(t.shape)}")


@public(aliases=("ger",))
def outer(input, vec2):
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    a, b = _as_tensor(input), _as_tensor(vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expected two 1-D tensors, got shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    return einsum("i,j->ij", a, b)
