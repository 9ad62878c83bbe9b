"""``gradstep.nn.functional``: PyTorch's ``torch.nn.functional`` names, stateless.

Most names are the differentiable primitives of :mod:`gradstep.ops`
re-exported as they are (``F.linear is gradstep.ops.linear``); they are
resolved on first use, then cached in this module. The few functions defined
here are thin composites of those ops that ``torch.nn.functional`` also has.

Example:
    >>> import gradstep.nn.functional as F
    >>> F.relu(gradstep.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""
from __future__ import annotations

import importlib

from .. import ops as _ops_pkg
from ..autograd.tensor import _as_tensor
from ..errors import AttributeNotFound, DTypeError, InvalidArgument

# Names re-exported from gradstep.ops (same name, same signature as torch.nn.functional).
_FROM_OPS = (
    # linear algebra and convolution
    "linear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    # pooling
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d",
    "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "embedding_bag",
    # resampling
    "interpolate",
    # regularisation, embedding, padding
    "dropout", "dropout1d", "dropout2d", "dropout3d", "embedding", "one_hot", "pad",
    # rearranging and sliding blocks
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "unfold", "fold",
    # normalisation
    "layer_norm", "batch_norm", "group_norm",
    "instance_norm", "local_response_norm",
    # attention
    "scaled_dot_product_attention",
    # activations
    "softmax", "log_softmax", "relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "softplus",
    "hardswish", "hardsigmoid", "selu", "celu", "prelu", "rrelu", "softsign", "tanhshrink", "threshold",
    "hardshrink", "softshrink", "glu", "selu_", "celu_", "rrelu_", "threshold_",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
    # distances
    "cosine_similarity", "pairwise_distance",
)

__all__ = list(_FROM_OPS) + ["hardtanh", "relu6", "elu", "mish", "logsigmoid", "softmin", "normalize"]


def _resolve(name: str):
    fn = getattr(_ops_pkg, name, None)
    if fn is None:
        # Not public under gradstep.ops: look inside its modules (e.g. a loss registered privately).
        import pkgutil

        for info in pkgutil.iter_modules(_ops_pkg.__path__):
            if info.name.startswith("_"):
                continue
            fn = getattr(importlib.import_module(f"{_ops_pkg.__name__}.{info.name}"), name, None)
            if callable(fn):
                break
            fn = None
    return fn


def __getattr__(name: str):
    if name in _FROM_OPS:
        fn = _resolve(name)
        if fn is not None:
            globals()[name] = fn  # cache: later lookups are plain module attributes
            return fn
        raise AttributeNotFound(
            f"gradstep.nn.functional.{name} is not available: gradstep.ops has no op {name!r} yet"
        )
    raise AttributeNotFound(f"module 'gradstep.nn.functional' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


# ------------------------------------------------------------- composites
def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``clamp(input, min_val, max_val)``."""
    if min_val > max_val:
        raise InvalidArgument(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _ops_pkg.clamp(input, min_val, max_val)


def relu6(input, inplace: bool = False):
    """``min(max(0, input), 6)``."""
    return _ops_pkg.clamp(input, 0.0, 6.0)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    # exp of the clamped input: no overflow (and no inf * 0 in the gradient) on the unused branch
    return _ops_pkg.where(input > 0, input, alpha * (_ops_pkg.clamp(input, max=0.0).exp() - 1.0))


def mish(input, inplace: bool = False):
    """``x * tanh(softplus(x))``."""
    return input * _ops_pkg.tanh(_ops_pkg.softplus(input))


def logsigmoid(input):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``. Floating input only, as PyTorch."""
    t = _as_tensor(input)
    if t.dtype.kind != "f":
        raise DTypeError(f"logsigmoid: expected a floating point tensor, got dtype {t.dtype}")
    return -_ops_pkg.softplus(-t)


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    """``softmax(-input, dim)``."""
    return _ops_pkg.softmax(-input, dim, dtype=dtype)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """``input / max(||input||_p along dim, eps)``."""
    if p == 2:
        norm = (input * input).sum(dim, keepdim=True).sqrt()
    else:
        norm = input.abs().pow(p).sum(dim, keepdim=True).pow(1.0 / p)
    return input / _ops_pkg.clamp(norm, min=eps)
