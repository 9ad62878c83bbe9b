"""``gradstep.utils.data``: :mod:`gradstep.data` under PyTorch's name ``torch.utils.data``.

The same objects, not copies: ``gradstep.utils.data.DataLoader is gradstep.data.DataLoader``.
"""
from .. import data as _data

__all__ = list(_data.__all__)


def __getattr__(name):
    return getattr(_data, name)


def __dir__():
    return sorted(set(globals()) | set(dir(_data)))
