"""How an op becomes public: ``@public`` puts a function in the ``gradstep``
namespace and, unless ``method=False``, on ``Tensor`` as a method.

So adding an op is one function (plus its ``Function`` if it is a new
primitive) in one module of this package, and its test.
"""
from __future__ import annotations

from ..autograd.tensor import Tensor

PUBLIC: dict = {}


def public(fn=None, *, method: bool = True, name: str | None = None, aliases: tuple = ()):
    def register(f):
        for n in (name or f.__name__, *aliases):
            PUBLIC[n] = f
            if method:
                setattr(Tensor, n, f)
        return f

    return register(fn) if fn is not None else register
