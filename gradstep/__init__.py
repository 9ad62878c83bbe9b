"""gradstep: the whole learning cycle (forward, loss, backpropagation, gradient
descent) implemented on NumPy, with PyTorch's API, and made visible.

>>> import gradstep as gs
>>> w = gs.tensor([1.0, 2.0], requires_grad=True)
>>> (w * w).sum().backward()
>>> w.grad
tensor([2., 4.])
"""
import numpy as _np

from .autograd.tensor import Tensor, result_type
from .autograd.grad_mode import no_grad, enable_grad, inference_mode, is_grad_enabled, set_grad_enabled
from .backend import manual_seed, initial_seed, get_rng_state, set_rng_state, default_dtype as get_default_dtype, set_default_dtype
from .errors import (GradstepError, ShapeError, DTypeError, GradError, CheckpointError, InvalidArgument,
                     ArgumentTypeError, IndexOutOfRange, StateError, NotSupported, MissingDependency)
from . import ops as _ops
from . import linalg  # gradstep.linalg, like torch.linalg
from .creation import *  # noqa: F401,F403
from .creation import __all__ as _creation_all
from .serialization import save, load
from .devices import device
from .legacy_tensor_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                                  IntTensor, LongTensor, ShortTensor)

globals().update({k: v for k, v in _ops.PUBLIC.items() if not k.startswith("_")})

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
float16 = _np.dtype(_np.float16)
int64 = _np.dtype(_np.int64)
int32 = _np.dtype(_np.int32)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)  # noqa: A001  (gradstep.bool, like torch.bool)
float = float32  # noqa: A001
double = float64
long = int64

__version__ = "0.1.0"


def __getattr__(name):
    # Subpackages are imported on first use so `import gradstep` stays fast.
    import importlib

    if name in ("nn", "optim", "data", "train", "observe", "testing", "distributed", "onnx", "models", "interop", "cli", "autograd",
                "cuda", "utils", "accelerator", "backends", "distributions", "special"):
        return importlib.import_module(f".{name}", __name__)
    if name == "gradcheck":
        from .testing.gradcheck import gradcheck

        return gradcheck
    raise AttributeError(f"module 'gradstep' has no attribute {name!r}")
