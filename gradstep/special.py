"""gradstep.special: the functions of ``torch.special`` under their SciPy-style names.

Most are gradstep ops under another name (``gammaln`` is ``lgamma``, ``expit`` is
``sigmoid``, ``psi`` is ``digamma``); the rest (``ndtr``, ``ndtri``, ``log_ndtr``, ``entr``,
``xlog1py``) live in ``gradstep/ops/special.py`` with their gradients.

>>> import gradstep as gs
>>> from gradstep import special
>>> special.gammaln(gs.tensor([1.0, 5.0]))
tensor([0.0000, 3.1781])
"""
from __future__ import annotations

from .ops.elementwise import sigmoid as expit
from .ops.math_extra import erf, erfc, exp2, expm1, log1p, logit, xlogy
from .ops.reduce import logsumexp
from .ops.rounding import round  # noqa: A004
from .ops.softmax import log_softmax as _log_softmax, softmax as _softmax
from .ops.special import (digamma, entr, erfinv, i0, lgamma as gammaln, log_ndtr, mvlgamma, ndtr, ndtri,
                          polygamma, sinc, xlog1py)

__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "erf", "erfc", "erfinv", "expit", "logit",
           "logsumexp", "log_softmax", "softmax", "xlogy", "xlog1py", "i0", "ndtr", "ndtri", "log_ndtr", "entr",
           "sinc", "round", "log1p", "expm1", "exp2"]

psi = digamma


def multigammaln(input, p):
    """The multivariate log-gamma function of dimension ``p`` (``gradstep.mvlgamma``)."""
    return mvlgamma(input, p)


def softmax(input, dim, *, dtype=None):
    """``softmax`` along ``dim`` (required here, as in ``torch.special``)."""
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """``log_softmax`` along ``dim`` (required here, as in ``torch.special``)."""
    return _log_softmax(input, dim, dtype=dtype)
