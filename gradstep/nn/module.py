"""``Module``: the base class of layers and models.

A module holds state and finds it by name. Assigning a :class:`Parameter`, a
sub-``Module`` or a registered buffer as an attribute files it into
``_parameters``, ``_modules`` or ``_buffers`` (ordered dicts), exactly as in
PyTorch, so ``named_parameters()``, ``state_dict()`` and the optimiser,
checkpoint and observatory code that key on dotted names
(``layers.1.weight``) all agree with PyTorch's names.
"""
from __future__ import annotations

import itertools
import os
from collections import OrderedDict, namedtuple
from typing import Callable, Iterator

import numpy

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _parse_dtype_or_device
from ..devices import _TYPES as _DEVICE_TYPES
from ..backend import xp
from ..errors import (
    ArgumentTypeError, AttributeNotFound, CheckpointError, GradError, InvalidArgument, KeyNotFound, NotSupported,
    StateError, fmt_shape,
)
from .parameter import Buffer, Parameter

__all__ = ["Module", "StateDictError", "RemovableHandle"]


class StateDictError(CheckpointError, RuntimeError):
    """``load_state_dict`` got missing or unexpected keys, or tensors of the wrong shape.

    A ``CheckpointError`` (so a ``ValueError``) and a ``RuntimeError`` (what PyTorch raises).
    """


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, *hook_dicts):
        self.id = next(RemovableHandle._next_id)
        self._dicts = hook_dicts

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _as_array(value, key):
    """A backend array from a gradstep Tensor, a NumPy array or anything with ``__array__`` (a torch tensor)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, xp.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, possibly requiring grad
        value = value.detach().cpu()
    try:
        return xp.asarray(value)
    except Exception:
        raise ArgumentTypeError(
            f"load_state_dict: value for key {key!r} must be a Tensor or an array, got {type(value).__name__}"
        ) from None


def _require_cpu(device) -> None:
    """``Module.to``'s device: None, a dtype name or the CPU; a GradError for another device."""
    name = str(device).split(":")[0]
    if device is not None and name != "cpu" and name in _DEVICE_TYPES:
        raise GradError(f"Module.to: gradstep computes on the CPU with NumPy; device {str(device)!r} is not available")


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters and
    sub-modules as attributes, and define ``forward``. Calling the module runs
    its forward hooks around ``forward``.

    Example:
        >>> class MLP(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = Linear(4, 8)
        ...         self.fc2 = Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc2(self.fc1(x).relu())
        >>> [name for name, _ in MLP().named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool
    _version: int = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise ArgumentTypeError(f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__ takes none")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it (call the module, not ``forward``, to run hooks)."""
        raise NotSupported(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
            return self.forward(*args, **kwargs)  # the hot path: no hooks, no extra work
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                out = hook(self, args, kwargs)
                if out is not None:
                    args, kwargs = out
            else:
                out = hook(self, args)
                if out is not None:
                    args = out if isinstance(out, tuple) else (out,)
        if self._backward_hooks:
            args, state = _wrap_backward_inputs(self, args)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            out = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if out is not None:
                output = out
        if self._backward_hooks:
            _hook_backward_outputs(self, output, state)
        return output

    # -------------------------------------------------------- registration
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` under ``name`` (``None`` registers an absent parameter, like a bias=False)."""
        if "_parameters" not in self.__dict__:
            raise AttributeNotFound("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if name in self.__dict__ and name not in self._parameters:
            raise KeyNotFound(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise ArgumentTypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                f"(gradstep.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise InvalidArgument(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created "
                f"explicitly; to express '{name}' as a function of another Tensor, compute the value in forward()"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (BatchNorm's ``running_mean``).

        Persistent buffers are saved in ``state_dict``; non-persistent ones are not.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeNotFound("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyNotFound(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise ArgumentTypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)")
        if isinstance(tensor, Buffer):
            persistent = tensor.persistent
            tensor = Tensor._wrap(tensor._data)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module under ``name`` (the attribute form: ``self.name = module``)."""
        if module is not None and not isinstance(module, Module):
            raise ArgumentTypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise ArgumentTypeError(f"module name should be a string, got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyNotFound(f"attribute '{name}' already exists")
        if "." in name or name == "":
            raise KeyNotFound(f'module name can\'t contain ".", got: {name!r}' if name else 'module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    @staticmethod
    def _check_name(name, kind):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name:
            raise KeyNotFound(f'{kind} name can\'t contain ".", got {name!r}')
        if name == "":
            raise KeyNotFound(f'{kind} name can\'t be empty string ""')

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeNotFound("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise ArgumentTypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    f"(gradstep.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if "_modules" not in d:
                raise AttributeNotFound("cannot assign module before Module.__init__() call")
            _remove_from(name, d, params, self._buffers, self._non_persistent_buffers_set)
            self._modules[name] = value
        elif "_modules" in d and name in self._modules:
            if value is not None:
                raise ArgumentTypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)")
            self._modules[name] = value
        elif isinstance(value, Buffer):
            if "_buffers" not in d:
                raise AttributeNotFound("cannot assign buffer before Module.__init__() call")
            _remove_from(name, d, params, self._modules)
            self.register_buffer(name, value)
        elif "_buffers" in d and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise ArgumentTypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: parameters, buffers and modules live in their dicts.
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeNotFound(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        attrs = list(super().__dir__())
        keys = attrs + list(self._parameters) + list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)
        for key, default in (("_forward_pre_hooks", OrderedDict), ("_forward_hooks", OrderedDict),
                             ("_backward_hooks", OrderedDict), ("_state_dict_hooks", OrderedDict),
                             ("_non_persistent_buffers_set", set)):
            self.__dict__.setdefault(key, default())

    # ------------------------------------------------------------ traversal
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k), v

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters of this module (and, with ``recurse``, of every sub-module), each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """``(dotted_name, parameter)`` pairs in registration order; shared parameters appear once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """``(dotted_name, module)`` for this module (name ``prefix``) and all below it, depth first."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def get_submodule(self, target: str) -> "Module":
        """The sub-module at dotted path ``target`` ("" is this module)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not isinstance(mod, Module) or item not in mod._modules:
                raise AttributeNotFound(f"{mod._get_name()} has no attribute `{item}` (looking up {target!r})")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._parameters:
            raise AttributeNotFound(f"{mod._get_name()} has no parameter `{name}` (looking up {target!r})")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeNotFound(f"{mod._get_name()} has no buffer `{name}` (looking up {target!r})")
        return mod._buffers[name]

    # ---------------------------------------------------------------- state
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer by dotted name.

        Values are detached tensors sharing storage with the module (``keep_vars=True``
        returns the parameters themselves). Key names are PyTorch's, so state dicts
        interchange with ``torch.nn`` models of the same structure (through NumPy).
        """
        if args:  # PyTorch's legacy positional form: state_dict(destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            out = hook(self, destination, prefix, {})
            if out is not None:
                destination = out
        return destination

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        extra = type(self).get_extra_state
        if extra is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def get_extra_state(self):
        """Override (with ``set_extra_state``) to save non-tensor state in ``state_dict``."""
        raise StateError("Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state) -> None:
        raise StateError("Reached a code path in Module.set_extra_state() that should never be called.")

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        Values may be gradstep Tensors or NumPy arrays (or anything NumPy can read,
        e.g. CPU torch tensors). Shapes must match; values are cast to each
        parameter's dtype. With ``strict`` (the default) missing and unexpected
        keys are errors; every problem is listed in one ``StateDictError``.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            hint = ""
            if isinstance(state_dict, (str, os.PathLike)):
                hint = "; to read a file, use gradstep.interop.safetensors.load_file(path) first"
            elif isinstance(state_dict, (list, tuple)):
                hint = "; pass the dict that model.state_dict() returns (name -> tensor), not a sequence"
            raise ArgumentTypeError(f"{self._get_name()}.load_state_dict: expected state_dict to be dict-like "
                                    f"(name -> tensor), got {type(state_dict).__name__}{hint}")
        missing, unexpected, errors = [], [], []
        expected = set()
        for prefix, module in self.named_modules(remove_duplicate=False):
            prefix = prefix + "." if prefix else ""
            module._load_from_state_dict(state_dict, prefix, assign, missing, errors)
            local = [k for k, v in itertools.chain(module._parameters.items(), module._buffers.items())
                     if v is not None and k not in module._non_persistent_buffers_set]
            if type(module).set_extra_state is not Module.set_extra_state:
                local.append("_extra_state")
            expected.update(prefix + k for k in local)
            # keys under a child's name belong to the child; anything else under this prefix is unexpected
        for key in state_dict.keys():
            if key not in expected:
                unexpected.append(key)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise StateDictError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(self._get_name(), "\n\t".join(errors))
            )
        return _IncompatibleKeys(missing, unexpected)

    def _load_from_state_dict(self, state_dict, prefix, assign, missing_keys, error_msgs):
        local = itertools.chain(
            self._parameters.items(),
            ((k, v) for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set),
        )
        for name, param in local:
            if param is None:
                continue
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            arr = _as_array(state_dict[key], key)
            if arr.shape != param._data.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {fmt_shape(arr.shape)} from checkpoint, "
                    f"the shape in current model is {fmt_shape(param._data.shape)}."
                )
                continue
            if arr.dtype.kind in "OUSV":
                error_msgs.append(f"While copying the parameter named \"{key}\": unsupported dtype {arr.dtype}.")
                continue
            if assign:
                new = arr.astype(param._data.dtype) if arr.dtype != param._data.dtype else arr.copy()
                param._data = new
            else:
                param._data[...] = arr  # in place: the optimiser and other holders keep seeing this array
            param._version[0] += 1
        if type(self).set_extra_state is not Module.set_extra_state:
            key = prefix + "_extra_state"
            if key in state_dict:
                self.set_extra_state(state_dict[key])
            else:
                missing_keys.append(key)

    # --------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, batch statistics) on this module and all below it."""
        if not isinstance(mode, bool):
            raise InvalidArgument(f"{self._get_name()}.train: training mode is expected to be boolean, "
                                  f"got mode={mode!r} ({type(mode).__name__})")
        self.__dict__["training"] = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (dropout off, BatchNorm uses running statistics)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to ``None`` (default) or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every sub-module (children first) and then on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------- conversion
    def to(self, *args, **kwargs) -> "Module":
        """``to(dtype)`` converts floating parameters and buffers in place (the objects stay the same).

        Device arguments ("cpu") and ``to(tensor)`` are accepted; only the dtype matters.
        Another device ("cuda", ``device("mps")``) raises GradError, as PyTorch does
        without that device, rather than leaving the model where it is.
        """
        dtype = kwargs.pop("dtype", None)
        _require_cpu(kwargs.pop("device", None))
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise ArgumentTypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str):  # "cpu", or a dtype name as Tensor.to takes ("float64")
                _require_cpu(a)
                parsed = _parse_dtype_or_device(a)
                if parsed is not None:
                    dtype = parsed
            elif a is None or type(a).__name__ == "device":
                _require_cpu(a)
            else:
                dtype = a
        if dtype is None:
            return self
        try:
            dtype = numpy.dtype(dtype)
        except TypeError:
            raise ArgumentTypeError(f"Module.to: expected a dtype or a device, got {dtype!r}") from None
        if dtype.kind not in "fc":
            raise ArgumentTypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired dtype={dtype}")
        return self._apply_dtype(dtype)

    def _apply_dtype(self, dtype) -> "Module":
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is None or t._data.dtype.kind != "f" or t._data.dtype == dtype:
                    continue
                t._data = t._data.astype(dtype)
                t._version[0] += 1
                if t.grad is not None:
                    t.grad._data = t.grad._data.astype(dtype)
        return self

    def float(self) -> "Module":
        return self._apply_dtype(numpy.dtype(numpy.float32))

    def double(self) -> "Module":
        return self._apply_dtype(numpy.dtype(numpy.float64))

    def half(self) -> "Module":
        return self._apply_dtype(numpy.dtype(numpy.float16))

    def type(self, dst_type) -> "Module":
        return self.to(dst_type)

    def cpu(self) -> "Module":
        return self

    # ---------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; returning a value replaces ``args``.

        With ``with_kwargs=True`` it is ``hook(module, args, kwargs)`` and returns ``(args, kwargs)``.
        """
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = (hook, with_kwargs)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; returning a value replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = (hook, with_kwargs)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs once the gradients w.r.t. the module's inputs are known.

        ``grad_input`` holds the gradients of the positional tensor inputs (``None`` for
        inputs that don't require grad), ``grad_output`` those of the tensor outputs.
        A returned tuple replaces ``grad_input`` for inputs whose gradient has not been
        passed on yet (always the case for a module with a single tensor input).
        """
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_hook(self, hook) -> RemovableHandle:
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    # ---------------------------------------------------------------- repr
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The configuration shown inside this module's parentheses in ``repr``; override in layers."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, module in self._modules.items():
            lines.append("(" + key + "): " + _addindent(repr(module), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _remove_from(name, *stores):
    for s in stores:
        if s is None:
            continue
        if isinstance(s, set):
            s.discard(name)
        elif name in s:
            del s[name]


# ----------------------------------------------------------- backward hooks
class _BackwardHookIdentity(Function):
    """Passes a tensor through unchanged so a hook can see the gradient arriving at it."""

    saves_inputs = False
    is_view = True

    def forward(self, a):
        return a

    def backward(self, g):
        return g


class _BackwardHookState:
    def __init__(self, n_inputs):
        self.grad_inputs = [None] * n_inputs
        self.pending = 0
        self.grad_outputs = None
        self.fired = False


def _wrap_backward_inputs(module, args):
    state = _BackwardHookState(len(args))
    new_args = list(args)
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            t = _BackwardHookIdentity.apply(a)
            if t.requires_grad:
                state.pending += 1
                t.register_hook(_input_grad_hook(module, state, i))
                new_args[i] = t
    return tuple(new_args), state


def _input_grad_hook(module, state, index):
    def hook(grad):
        state.grad_inputs[index] = grad
        state.pending -= 1
        if state.pending == 0:
            return _fire(module, state, index)
        return None

    return hook


def _fire(module, state, index=None):
    state.fired = True
    grad_input = tuple(state.grad_inputs)
    for hook in list(module._backward_hooks.values()):
        out = hook(module, grad_input, state.grad_outputs or ())
        if out is not None:
            grad_input = tuple(out)
    if index is not None:
        return grad_input[index]
    return None


def _hook_backward_outputs(module, output, state):
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    tensors = [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]
    state.grad_outputs = [None] * len(tensors)
    remaining = [len(tensors)]

    def make(j):
        def hook(grad):
            state.grad_outputs[j] = grad
            remaining[0] -= 1
            if remaining[0] == 0:
                state.grad_outputs = tuple(state.grad_outputs)
                if state.pending == 0 and not state.fired:  # no input needs a gradient: fire now
                    _fire(module, state)
            return None

        return hook

    for j, t in enumerate(tensors):
        t.register_hook(make(j))
