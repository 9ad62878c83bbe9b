"""PyTorch's legacy typed tensor classes: ``LongTensor(n)``, ``FloatTensor([1, 2])``, ``isinstance(t, FloatTensor)``.

Older scripts still build tensors this way, e.g. word_language_model's ONNX
export: ``torch.LongTensor(seq_len * batch_size).zero_()``. As in PyTorch,
these classes make ordinary tensors of their dtype (sizes give a tensor of
zeros, where PyTorch leaves it uninitialised), ``isinstance`` checks the
dtype, and ``t.type(LongTensor)`` converts.

>>> import gradstep as gs
>>> gs.LongTensor([1, 2])
tensor([1, 2])
>>> isinstance(gs.ones(2), gs.FloatTensor), isinstance(gs.ones(2), gs.LongTensor)
(True, False)
"""
from __future__ import annotations

import numpy

from .autograd.tensor import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor"]


class tensortype(type):  # noqa: N801  (torch.tensortype's name)
    """The metaclass of the legacy classes: calling one makes a Tensor of its ``dtype``."""

    dtype: numpy.dtype

    def __call__(cls, *args, device=None):
        return Tensor(*args, dtype=cls.dtype)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'gradstep.{cls.__name__}'>"


def _legacy(name: str, dtype) -> tensortype:
    return tensortype(name, (), {"dtype": numpy.dtype(dtype), "__module__": "gradstep",
                                 "__doc__": f"A legacy constructor of {numpy.dtype(dtype)} tensors."})


FloatTensor = _legacy("FloatTensor", numpy.float32)
DoubleTensor = _legacy("DoubleTensor", numpy.float64)
HalfTensor = _legacy("HalfTensor", numpy.float16)
LongTensor = _legacy("LongTensor", numpy.int64)
IntTensor = _legacy("IntTensor", numpy.int32)
ShortTensor = _legacy("ShortTensor", numpy.int16)
CharTensor = _legacy("CharTensor", numpy.int8)
ByteTensor = _legacy("ByteTensor", numpy.uint8)
BoolTensor = _legacy("BoolTensor", numpy.bool_)
