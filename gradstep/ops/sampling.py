"""Random sampling from tensors of probabilities (not differentiable): multinomial, bernoulli, poisson.

They draw from the global generator (``gradstep.manual_seed``) unless a
``generator`` (a ``numpy.random.Generator``) is passed.
"""
from __future__ import annotations

from ..autograd.tensor import Tensor, _as_tensor
from ..backend import generator as _global_generator
from ..backend import xp
from ..errors import DTypeError, InvalidArgument, ShapeError, fmt_shape
from ._registry import public


@public
def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None):
    """Draw ``num_samples`` category indices from each row of weights ``input`` (1-D or 2-D, non-negative,
    not necessarily normalised). Without replacement every index is drawn at most once per row.

    Shape:
        input (C,) -> (num_samples,); input (N, C) -> (N, num_samples).
    """
    t = _as_tensor(input)
    p = t._data
    if p.dtype.kind != "f":
        raise DTypeError(f"multinomial: expected a floating point tensor of weights, got dtype {t.dtype}")
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise ShapeError(f"multinomial: expected weights of shape (C,) or (N, C) with C > 0, got {fmt_shape(p.shape)}")
    if not isinstance(num_samples, int) or num_samples <= 0:
        raise InvalidArgument(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    rows = p.reshape(-1, p.shape[-1]).astype(xp.float64)
    if not xp.isfinite(rows).all() or (rows < 0).any():
        raise InvalidArgument("multinomial: weights must be finite and non-negative")
    totals = rows.sum(-1, keepdims=True)
    if (totals <= 0).any():
        raise InvalidArgument("multinomial: every row of weights must have a positive sum")
    n_cat = rows.shape[-1]
    if not replacement:
        if num_samples > n_cat:
            raise InvalidArgument(f"multinomial: can't draw {num_samples} samples without replacement from {n_cat} categories")
        if ((rows > 0).sum(-1) < num_samples).any():
            raise InvalidArgument(
                f"multinomial: a row has fewer than num_samples={num_samples} categories of non-zero weight; "
                f"can't draw without replacement"
            )
    rng = generator or _global_generator()
    if replacement:
        cdf = xp.cumsum(rows / totals, axis=-1)
        u = rng.random((rows.shape[0], num_samples))
        out = xp.empty(u.shape, xp.int64)
        for i in range(rows.shape[0]):
            out[i] = xp.searchsorted(cdf[i], u[i] * cdf[i, -1], side="right")
        out = xp.minimum(out, n_cat - 1)
    else:
        # Gumbel top-k: the k largest log(p) + Gumbel noise are k draws without replacement.
        with xp.errstate(divide="ignore"):
            keys = xp.log(rows) + rng.gumbel(size=rows.shape)
        out = xp.argsort(-keys, axis=-1, kind="stable")[:, :num_samples].astype(xp.int64)
    return Tensor._wrap(out.reshape(p.shape[:-1] + (num_samples,)))


@public
def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    t = _as_tensor(input)
    prob = t._data if p is None else _as_tensor(p)._data
    if t._data.dtype.kind != "f" and p is None:
        raise DTypeError(f"bernoulli: expected a floating point tensor of probabilities, got dtype {t.dtype}")
    if prob.size and ((prob < 0).any() or (prob > 1).any() or xp.isnan(prob).any()):
        raise InvalidArgument("bernoulli: probabilities must be in [0, 1]")
    rng = generator or _global_generator()
    draws = rng.random(t.shape, dtype=xp.float64) < prob
    return Tensor._wrap(draws.astype(t._data.dtype))


@public
def poisson(input, generator=None):
    """Samples of Poisson distributions with rates ``input``, in ``input``'s dtype."""
    t = _as_tensor(input)
    if t._data.dtype.kind != "f":
        raise DTypeError(f"poisson: expected a floating point tensor of rates, got dtype {t.dtype}")
    if t._data.size and (t._data < 0).any():
        raise InvalidArgument("poisson: rates must be non-negative")
    rng = generator or _global_generator()
    return Tensor._wrap(rng.poisson(t._data).astype(t._data.dtype))
