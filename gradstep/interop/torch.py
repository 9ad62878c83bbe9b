"""PyTorch interop: state dicts both ways and tensors through DLPack, without depending on PyTorch.

gradstep's layers use PyTorch's parameter names (``0.weight``, ``self_attn.in_proj_weight``,
``norm1.bias``, ...), so an equivalent model on either side reads the other's weights unchanged:

* PyTorch -> gradstep: ``load_torch_state_dict(model, source)`` with ``source`` a
  ``.safetensors`` file (e.g. from ``safetensors.torch.save_file(torch_model.state_dict(), path)``),
  a torch state_dict or a torch module;
* gradstep -> PyTorch: ``torch_model.load_state_dict(to_torch_state_dict(model))``, or through a
  file: ``gradstep.interop.safetensors.save_file(model.state_dict(), path)`` then
  ``torch_model.load_state_dict(safetensors.torch.load_file(path))``.

Only :func:`to_torch_state_dict`, :func:`to_torch` and :func:`from_torch` import torch (when called).

>>> from gradstep.interop.torch import load_torch_state_dict
>>> load_torch_state_dict(model, "weights.safetensors")  # doctest: +SKIP
"""
from __future__ import annotations

import os

import numpy

from ..autograd.tensor import Tensor
from ..nn.module import StateDictError
from ..errors import ArgumentTypeError, MissingDependency

__all__ = ["load_torch_state_dict", "state_dict_to_numpy", "to_torch_state_dict", "to_torch", "from_torch"]


def load_torch_state_dict(model, source, *, strict: bool = True):
    """Load PyTorch weights into the gradstep ``model`` (same key names and shapes).

    Args:
        model: a gradstep ``nn.Module``.
        source: path of a ``.safetensors`` file, a state_dict (torch tensors, gradstep
            tensors or NumPy arrays), or a torch module (its ``state_dict()`` is read).
        strict: missing and unexpected keys are errors (as ``Module.load_state_dict``).

    Returns:
        ``(missing_keys, unexpected_keys)``.

    Raises:
        StateDictError: when the weights come from another architecture; the message lists
            every missing and unexpected key and every size mismatch with both shapes.
    """
    state = state_dict_to_numpy(source)
    try:
        return model.load_state_dict(state, strict=strict)
    except StateDictError as err:
        if isinstance(source, (str, os.PathLike)):
            raise StateDictError(f"{os.fspath(source)} doesn't fit this model: {err}") from None
        raise


def state_dict_to_numpy(source) -> dict:
    """``{name: ndarray}`` from a ``.safetensors`` path, a torch module or a state_dict of any tensors."""
    if isinstance(source, (str, os.PathLike)):
        from .safetensors import load_file

        return load_file(source)
    if callable(getattr(source, "state_dict", None)):
        source = source.state_dict()
    if not hasattr(source, "items"):
        raise ArgumentTypeError(
            f"load_torch_state_dict: expected a .safetensors path, a state_dict or a torch module, got "
            f"{type(source).__name__}"
        )
    return {str(k): _to_numpy(v, k) for k, v in source.items()}


def _to_numpy(value, key) -> numpy.ndarray:
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, numpy.ndarray):
        return value
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":  # NumPy has no bfloat16: widen, as gradstep would store it
            value = value.float()
        return value.numpy()
    if isinstance(value, (int, float, bool, numpy.generic)):
        return numpy.asarray(value)
    raise ArgumentTypeError(f"load_torch_state_dict: entry {key!r} is a {type(value).__name__}, not a tensor or array")


def to_torch_state_dict(model_or_state_dict) -> dict:
    """``{name: torch.Tensor}`` of a gradstep model (or state_dict), for ``torch_model.load_state_dict``.

    The torch tensors share memory with gradstep's arrays (``load_state_dict`` copies them in).
    """
    torch = _import_torch("to_torch_state_dict")
    state = model_or_state_dict
    if callable(getattr(state, "state_dict", None)):
        state = state.state_dict()
    out = {}
    for key, value in state.items():
        arr = _to_numpy(value, key)
        if not arr.flags.writeable:  # torch.from_numpy warns on read-only memory
            arr = arr.copy()
        out[key] = torch.from_numpy(arr)
    return out


def to_torch(tensor: Tensor):
    """A torch tensor sharing ``tensor``'s memory (DLPack), outside gradstep's graph."""
    torch = _import_torch("to_torch")
    return torch.from_dlpack(tensor.detach())


def from_torch(tensor) -> Tensor:
    """A gradstep tensor sharing a CPU torch tensor's memory (DLPack), outside torch's graph."""
    from ..creation import from_dlpack

    return from_dlpack(tensor.detach())


def _import_torch(what: str):
    try:
        import torch
    except ImportError as err:
        raise MissingDependency(f"gradstep.interop.torch.{what} needs PyTorch (pip install torch)") from err
    return torch
