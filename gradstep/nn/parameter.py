"""``Parameter``: a tensor that a ``Module`` registers as a learnable weight."""
from __future__ import annotations

from .. import backend
from ..autograd.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf tensor that requires grad and is found by ``Module.parameters()``.

    Assigning a ``Parameter`` as a module attribute registers it under that
    name (``self.weight = Parameter(...)`` gives the ``state_dict`` key
    ``weight``). Like PyTorch's, it shares storage with the tensor it wraps.

    Args:
        data: a Tensor, a NumPy array or nested lists (empty when None).
        requires_grad: whether the optimiser should update it (default True).

    Example:
        >>> p = Parameter(gradstep.zeros(2))
        >>> p.requires_grad
        True
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            arr = backend.xp.empty((0,), dtype=backend.default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data  # share storage, as torch.nn.Parameter does
        else:
            arr = _to_array(data)
        self._data = arr
        self._grad = None
        self.requires_grad = False
        self._ctx = None
        self._version = data._version if isinstance(data, Tensor) else [0]
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            p.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = p
        return p


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a module attribute (``torch.nn.Buffer``).

    ``self.running_mean = Buffer(zeros(3))`` is the same as
    ``self.register_buffer("running_mean", zeros(3), persistent=True)``.
    """

    def __init__(self, data, *, persistent: bool = True):
        arr = data._data if isinstance(data, Tensor) else _to_array(data)
        self._data = arr
        self._grad = None
        self.requires_grad = False
        self._ctx = None
        self._version = [0]
        self._hooks = None
        self.persistent = persistent
