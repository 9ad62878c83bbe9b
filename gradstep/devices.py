"""``gradstep.device``: PyTorch's device object, so ``device = torch.device("cuda" if cuda else "cpu")`` runs.

gradstep computes on the CPU with NumPy. Any device can be named (as in
PyTorch, where ``torch.device("cuda")`` works on a machine without a GPU), but
moving a tensor to one other than the CPU raises ``GradError``.

>>> import gradstep as gs
>>> gs.device("cpu")
device(type='cpu')
>>> gs.zeros(2).device == gs.device("cpu")
True
"""
from __future__ import annotations

from .errors import ArgumentTypeError, InvalidArgument

__all__ = ["device"]

_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hpu", "ipu", "mtia", "privateuseone")


class device:  # noqa: N801  (torch.device's name)
    """A device: ``type`` ("cpu", "cuda", ...) and an optional ``index``.

    ``device("cuda:1")``, ``device("cuda", 1)`` and ``device(other_device)`` are accepted, like PyTorch's.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002  (torch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise ArgumentTypeError("device: an index can't be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise ArgumentTypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {type!r}")
        name, sep, idx = type.partition(":")
        if name not in _TYPES:
            raise InvalidArgument(f"device: expected one of {', '.join(_TYPES)} device type at start of device "
                                  f"string, got {type!r}")
        if sep:
            if index is not None:
                raise InvalidArgument(f"device: type {type!r} already has an index; don't pass index={index!r}")
            if not idx.isdigit():
                raise InvalidArgument(f"device: invalid device string {type!r}; expected e.g. 'cuda:0'")
            index = int(idx)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
            raise InvalidArgument(f"device: index must be a non-negative int, got {index!r}")
        self.type, self.index = name, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")
