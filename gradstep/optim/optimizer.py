"""Optimizer base: parameter groups, per-parameter state, ``zero_grad``, the step template, ``state_dict``.

The base class owns all the bookkeeping (PyTorch's behaviour and layout);
a subclass writes only its update maths in ``_update(group, flat)``.

Speed: parameters of one group that share a dtype (and a step count) keep
their optimizer state in flat, contiguous buffers (:class:`_Flat`).
``state[p]["exp_avg"]`` is a view into such a buffer. A subclass's update is
one elementwise function over a range of those buffers: it reads each
gradient once, then runs whole-range in-place ufunc calls (no array is
allocated per step), and large groups are cut into ranges updated on several
threads at once (:func:`set_num_threads`).

State layout (what :meth:`Optimizer.state_dict` returns), as in PyTorch::

    {"state": {0: {"step": 10.0, "exp_avg": ndarray, ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

State values are NumPy arrays (the parameter's shape and dtype) or Python
floats; :func:`flatten_state_dict` turns a state dict into a flat
``{name: ndarray}`` mapping plus JSON-able metadata (for safetensors) and
:func:`unflatten_state_dict` turns it back.
"""
from __future__ import annotations

import numbers
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, CheckpointError, InvalidArgument, NotSupported, ShapeError, fmt_shape


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()
"""Marks a default that every parameter group must set (like ``torch.optim.optimizer.required``)."""


def check_number(owner: str, name: str, value, low: float = 0.0, high: float | None = None,
                 what: str | None = None) -> None:
    """Raise unless ``low <= value`` (and ``value < high`` when given); the message names the value."""
    label = what or name
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{owner}: {label} must be a real number, got {name}={value!r} ({type(value).__name__})")
    if not (value >= low) or (high is not None and not (value < high)):  # `not >=` also rejects NaN
        expected = f">= {low}" if high is None else f"in [{low}, {high})"
        raise InvalidArgument(f"{owner}: invalid {label}: {name}={value!r}; expected a number {expected}")


IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")
"""PyTorch's options that choose how a step is computed, not what it computes. gradstep's param_groups
don't keep them: groups given with them (or loaded from a PyTorch state dict) are checked and dropped."""


def check_torch_flags(owner: str, capturable=False, differentiable=False) -> None:
    """Refuse PyTorch's ``capturable``/``differentiable`` flags when True (gradstep can't honour them).

    ``foreach`` and ``fused`` need no check: gradstep always updates a group's
    parameters together on flat buffers, so they change nothing.
    """
    if capturable:
        raise NotSupported(f"{owner}: capturable={capturable!r} is not available in gradstep (it makes the step "
                           f"capturable in CUDA graphs, and gradstep runs on the CPU); pass capturable=False")
    if differentiable:
        raise NotSupported(f"{owner}: differentiable={differentiable!r} is not available in gradstep (autograd "
                           f"does not record the optimizer step, so it can't be differentiated through); "
                           f"pass differentiable=False")


_CHUNK = 1 << 17
"""Smallest piece of a flat buffer worth handing to another thread (elements)."""

_threads = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None
_pool_pid = -1


def set_num_threads(n: int) -> None:
    """How many threads the elementwise maths of large updates may use (default: up to 4 cores; 1 = no threads).

    NumPy releases the GIL inside its loops, so the pieces of a flat buffer
    really run in parallel; the results are the same for any thread count.
    """
    global _threads, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgument(f"set_num_threads: expected a positive int, got {n!r}")
    _threads = n
    if _pool is not None:
        _pool.shutdown(wait=False)
        _pool = None


def _get_pool() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():  # a forked child has no worker threads: start anew
        _pool = ThreadPoolExecutor(max_workers=_threads - 1, thread_name_prefix="gradstep-optim")
        _pool_pid = os.getpid()
    return _pool


class _Flat:
    """Parameters of one group with one dtype (and step) whose optimizer state lives in flat buffers.

    ``slot(name)`` gives the flat buffer of a state entry and binds each
    parameter's ``state[p][name]`` to its view of it; ``temp(k)`` gives a
    scratch buffer of the same size. ``run(fn, buffers)`` applies a
    subclass's elementwise update to a range of the flat index space at a
    time: ``fn(segments, *buffer_ranges, *args)`` where each segment
    ``(p, g, i)`` is the part of one parameter (``p``, 1-D, updated in place)
    and its gradient (``g``) that falls in the range, at ``buffer[i]``.
    """

    __slots__ = ("params", "states", "dtype", "size", "_shapes", "_bounds", "_slots", "_temps")

    def __init__(self, params: list, states: list):
        self.params, self.states = params, states
        self.dtype = params[0]._data.dtype
        self._shapes = [p._data.shape for p in params]
        self._bounds, start = [], 0
        for p in params:
            self._bounds.append((start, start + p._data.size))
            start += p._data.size
        self.size = start
        self._slots: dict = {}
        self._temps: list = []

    def slot(self, name: str, fill: float = 0.0):
        """Flat buffer of state ``name``: existing per-parameter values are copied in, missing ones set to ``fill``."""
        entry = self._slots.get(name)
        if entry is None:
            flat = xp.empty(self.size, self.dtype)
            views = [flat[a:b].reshape(shape) for (a, b), shape in zip(self._bounds, self._shapes)]
            for state, view in zip(self.states, views):
                old = state.get(name)
                if old is None:
                    view.fill(fill)
                else:
                    view[...] = old
                state[name] = view
            entry = self._slots[name] = (flat, views)
        return entry[0]

    def temp(self, k: int):
        """Scratch buffer number ``k`` (contents are garbage)."""
        while len(self._temps) <= k:
            self._temps.append(xp.empty(self.size, self.dtype))
        return self._temps[k]

    def advance(self) -> float:
        """Add one to every parameter's ``state["step"]`` (they are equal here); return the new step."""
        step = self.states[0].get("step", 0.0) + 1.0
        for state in self.states:
            state["step"] = step
        return step

    def run(self, fn: Callable, buffers: tuple, *args, parallel: bool = True) -> None:
        """Apply the elementwise update ``fn`` to every parameter (``None`` buffers pass through).

        Large groups are cut into ranges updated on several threads at once
        (NumPy releases the GIL inside its loops); an elementwise ``fn`` gives
        the same result either way. ``parallel=False`` keeps one thread: for
        single-pass kernels, which are memory-bound and gain nothing from a
        second core that BLAS's worker keeps spinning on after each GEMM.
        """
        flat_p, flat_g, write_back = [], [], []
        for p in self.params:
            a, g = p._data, p.grad._data
            if a.flags.c_contiguous:
                flat_p.append(a.reshape(-1))
            else:  # update a copy, then write it back
                flat_p.append(a.ravel())
                write_back.append((a, flat_p[-1]))
            flat_g.append(g.reshape(-1) if g.flags.c_contiguous else g.ravel())
        pieces = min(_threads, self.size // _CHUNK) if parallel else 1
        if pieces <= 1:
            fn([(fp, fg, slice(a, b)) for fp, fg, (a, b) in zip(flat_p, flat_g, self._bounds)], *buffers, *args)
        else:
            width = -(-self.size // pieces)
            width += -width % 16  # SIMD-aligned ranges
            tasks = []
            for lo in range(0, self.size, width):
                hi = min(lo + width, self.size)
                segments = []
                for fp, fg, (a, b) in zip(flat_p, flat_g, self._bounds):
                    if a < hi and b > lo:
                        s, e = max(a, lo), min(b, hi)
                        segments.append((fp[s - a:e - a], fg[s - a:e - a], slice(s - lo, e - lo)))
                tasks.append((segments, [None if buf is None else buf[lo:hi] for buf in buffers]))
            pool = _get_pool()
            futures = [pool.submit(fn, segments, *bufs, *args) for segments, bufs in tasks[1:]]
            try:
                fn(tasks[0][0], *tasks[0][1], *args)
            finally:
                for future in futures:
                    future.result()
        for a, copy in write_back:
            a[...] = copy.reshape(a.shape)
        for p in self.params:  # changed in place: autograd nodes that saved them must know
            p._version[0] += 1

    def is_current(self, state: dict) -> bool:
        """False once anything moved under us: state replaced, parameter data reshaped or reassigned."""
        for p, st, shape in zip(self.params, self.states, self._shapes):
            if state.get(p) is not st or p._data.shape != shape or p._data.dtype != self.dtype:
                return False
        for name, (_, views) in self._slots.items():
            for st, view in zip(self.states, views):
                if st.get(name) is not view:
                    return False
        return True


def gather_grads(segments: list, out, weight_decay: float = 0.0, maximize: bool = False) -> None:
    """For a :meth:`_Flat.run` function: write ``±g + λθ`` (the gradient with L2 weight decay) into ``out``."""
    for p, g, i in segments:
        o = out[i]
        if weight_decay != 0:
            xp.multiply(p, weight_decay, out=o)
            if maximize:
                o -= g
            else:
                o += g
        elif maximize:
            xp.negative(g, out=o)
        else:
            xp.copyto(o, g)


def apply_update(segments: list, update) -> None:
    """For a :meth:`_Flat.run` function: ``θ += update`` for every segment."""
    for p, _, i in segments:
        p += update[i]


class Optimizer:
    """Base class of optimizers: holds parameter groups and per-parameter state.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts
            (parameter groups) with a ``"params"`` entry and per-group options.
        defaults: default values of the options, used by groups that don't set them.

    Subclasses call ``super().__init__(params, defaults)`` and implement
    ``_update(group, flat)``, which takes the state buffers from ``flat.slot``
    and calls ``flat.run(fn, buffers, *scalars)`` with the elementwise maths;
    they may override ``_check_group(group)`` to validate options (run for
    every group, including ``add_param_group``) and ``_phase(state)``
    (parameters whose phases differ, e.g. step counts, are updated apart).
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._flat_cache: dict = {}
        self._step_count = 0
        self._pre_hooks: dict = {}
        self._post_hooks: dict = {}
        self._check_group(self.defaults)
        if isinstance(params, Tensor):
            raise ArgumentTypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, but got a Tensor; "
                f"wrap it in a list: [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise _unordered(type(self).__name__)
        try:
            groups = list(params)
        except TypeError:
            raise ArgumentTypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, got "
                f"{type(params).__name__}; pass model.parameters()"
            ) from None
        if not groups:
            raise InvalidArgument(
                f"{type(self).__name__}: optimizer got an empty parameter list; expected the tensors to optimize, "
                f"e.g. model.parameters() of a model that has parameters (a generator such as model.parameters() "
                f"can be read only once)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a different ``lr``)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise ArgumentTypeError(f"{name}: param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"] if "params" in group else None
        if params is None:
            raise InvalidArgument(f"{name}: a parameter group needs a 'params' entry, got keys {sorted(group)}")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise _unordered(name)
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise InvalidArgument(f"{name}: all optimizer params should be (name, tensor) pairs or none of them")
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise ArgumentTypeError(f"{name}: optimizer can only optimize Tensors, but one of the params is "
                                        f"{type(p).__name__}")
            if not p.is_leaf:
                raise InvalidArgument(f"{name}: can't optimize a non-leaf Tensor (shape {fmt_shape(p.shape)}); "
                                      f"optimize the leaf it was computed from, or detach() it")
        if len({id(p) for p in params}) != len(params):
            raise InvalidArgument(f"{name}: a parameter group contains the same parameter twice; pass each parameter once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if id(p) in seen:
                raise InvalidArgument(
                    f"{name}: some parameters appear in more than one parameter group (parameter {i} of the new "
                    f"group, shape {fmt_shape(p.shape)}); each parameter may belong to one group only"
                )
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise InvalidArgument(f"{name}: parameter group didn't specify a value of required optimization "
                                      f"parameter {key}")
            group.setdefault(key, default)
        self._check_group(group)
        for key in IMPLEMENTATION_FLAGS:
            group.pop(key, None)
        self.param_groups.append(group)
        self._flat_cache.clear()
        self._init_group_state(group)

    def _check_group(self, group: dict) -> None:
        """Validate a group's options (and the defaults). Subclasses extend this."""
        check_torch_flags(type(self).__name__, group.get("capturable", False), group.get("differentiable", False))
        if "lr" in group and group["lr"] is not required:
            check_number(type(self).__name__, "lr", group["lr"], what="learning rate")

    def _init_group_state(self, group: dict) -> None:
        """Create state eagerly for a new group (Adagrad does); most optimizers create it on the first step."""

    def _phase(self, state: dict):
        """Parameters are updated together only if their phases match (default: the step count)."""
        return state.get("step", 0.0)

    # ------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g._ctx = None
                    g.requires_grad = False
                    g._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss if a closure is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for hook in tuple(self._pre_hooks.values()):
            hook(self, (), {})
        for index, group in enumerate(self.param_groups):
            params = []
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    if g._data.shape != p._data.shape:
                        raise ShapeError(
                            f"{type(self).__name__}.step: a parameter of shape {fmt_shape(p._data.shape)} has a "
                            f"gradient of shape {fmt_shape(g._data.shape)}; they must match"
                        )
                    params.append(p)
            if params:
                for flat in self._flats(index, params):
                    self._update(group, flat)
        self._step_count += 1
        for hook in tuple(self._post_hooks.values()):
            hook(self, (), {})
        return loss

    def _update(self, group: dict, flat: _Flat) -> None:
        """Apply one update to the parameters of ``flat`` with ``group``'s options (the subclass's maths)."""
        raise NotSupported(f"{type(self).__name__}: an Optimizer subclass must define _update(group, flat)")

    def _flats(self, index: int, params: list) -> list:
        cached = self._flat_cache.get(index)
        if cached is not None:
            old_params, flats = cached
            if (len(old_params) == len(params) and all(a is b for a, b in zip(old_params, params))
                    and all(f.is_current(self.state) for f in flats)):
                return flats
        buckets: dict = {}
        for p in params:
            key = (p._data.dtype, self._phase(self.state[p]))
            buckets.setdefault(key, []).append(p)
        flats = [_Flat(ps, [self.state[p] for p in ps]) for ps in buckets.values()]
        self._flat_cache[index] = (params, flats)
        return flats

    # ------------------------------------------------------------- hooks
    def register_step_pre_hook(self, hook: Callable) -> "_RemovableHandle":
        """Call ``hook(optimizer, args, kwargs)`` before each step."""
        return _RemovableHandle(self._pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> "_RemovableHandle":
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        return _RemovableHandle(self._post_hooks, hook)

    # -------------------------------------------------------- state dict
    def state_dict(self) -> dict:
        """A snapshot of the optimizer: ``{"state": {index: {...}}, "param_groups": [...]}`` (PyTorch's layout).

        Parameters are named by their position across groups; arrays are copies.
        """
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, xp.ndarray) else v) for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a snapshot from :meth:`state_dict`; parameters are matched by position."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise CheckpointError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise InvalidArgument(
                f"{name}.load_state_dict: loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})"
            )
        for i, (g, sg) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise InvalidArgument(
                    f"{name}.load_state_dict: loaded state dict contains a parameter group that doesn't match the "
                    f"size of optimizer's group (group {i}: {len(sg['params'])} saved parameters, "
                    f"{len(g['params'])} in the optimizer)"
                )
        id_map = {}
        for g, sg in zip(self.param_groups, saved_groups):
            id_map.update(zip(sg["params"], g["params"]))
        state: defaultdict = defaultdict(dict)
        for key, values in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                p = id_map.get(int(key)) if isinstance(key, str) and key.isdigit() else None
            if p is None:
                raise CheckpointError(f"{name}.load_state_dict: state for parameter {key!r}, which no group lists")
            state[p] = {k: _load_value(name, key, k, v, p) for k, v in values.items()}
        groups = []
        for g, sg in zip(self.param_groups, saved_groups):
            new = {k: (list(v) if isinstance(v, list) else v) for k, v in sg.items()
                   if k != "params" and k not in IMPLEMENTATION_FLAGS}
            if isinstance(new.get("betas"), list):
                new["betas"] = tuple(new["betas"])
            new["params"] = g["params"]
            if "param_names" in g and "param_names" not in new:
                new["param_names"] = g["param_names"]
            groups.append(new)
        self.state = state
        self.param_groups = groups
        self._flat_cache.clear()

    def __getstate__(self) -> dict:
        # The flat buffers are a cache: a copy (deepcopy, pickle) rebuilds them from its own state.
        state = self.__dict__.copy()
        state["_flat_cache"] = {}
        return state

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k not in ("params", "param_names")):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _load_value(owner: str, index, key: str, value, param: Tensor):
    """A state value as this optimizer keeps it: arrays copied in the parameter's dtype, scalars as floats."""
    if isinstance(value, Tensor):
        value = value._data
    elif not isinstance(value, (xp.ndarray, numbers.Number)) and hasattr(value, "__array__"):
        value = xp.asarray(value)
    if key == "step":
        return float(value)
    if isinstance(value, xp.ndarray):
        if value.ndim == 0 and param._data.ndim != 0:
            return value.item()
        if value.shape != param._data.shape:
            raise CheckpointError(
                f"{owner}.load_state_dict: state {key!r} of parameter {index} has shape {fmt_shape(value.shape)}, "
                f"but the parameter has shape {fmt_shape(param._data.shape)}; is this checkpoint from another model?"
            )
        return value.astype(param._data.dtype, copy=True)
    return value


def _unordered(owner: str) -> ArgumentTypeError:
    return ArgumentTypeError(
        f"{owner}: optimizer parameters need to be organized in ordered collections, but the ordering "
        f"of tensors in sets will change between runs. Please use a list instead."
    )


class _RemovableHandle:
    _next_id = 0

    def __init__(self, hooks: dict, hook: Callable):
        self._hooks, self.id = hooks, _RemovableHandle._next_id
        _RemovableHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


_LIST_OF_ARRAYS = "__list_of_arrays__"


def _plain(value):
    return value._data if isinstance(value, Tensor) else value


def flatten_state_dict(state_dict: dict, prefix: str = "") -> tuple[dict, dict]:
    """Split an optimizer state dict into ``({name: ndarray}, metadata)`` for array files such as safetensors.

    Arrays go under ``"{prefix}state.{index}.{key}"`` (a list of arrays, as LBFGS's history,
    under ``...{key}.{i}``); everything else (step counts, lists of numbers, param_groups) goes
    into the JSON-serialisable metadata.
    :func:`unflatten_state_dict` reverses it.
    """
    arrays, scalars = {}, {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            value = _plain(value)
            if isinstance(value, xp.ndarray):
                arrays[f"{prefix}state.{index}.{key}"] = value
            elif isinstance(value, (list, tuple)) and value and all(
                    isinstance(_plain(v), xp.ndarray) for v in value):
                # a list of arrays (LBFGS's history): one array each, the length in the metadata
                for i, v in enumerate(value):
                    arrays[f"{prefix}state.{index}.{key}.{i}"] = _plain(v)
                scalars.setdefault(str(index), {})[key] = {_LIST_OF_ARRAYS: len(value)}
            elif isinstance(value, (list, tuple)):
                scalars.setdefault(str(index), {})[key] = [v.item() if hasattr(v, "item") else v for v in value]
            else:
                scalars.setdefault(str(index), {})[key] = value.item() if hasattr(value, "item") else value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state_dict["param_groups"]]
    return arrays, {"scalars": scalars, "param_groups": groups}


def unflatten_state_dict(arrays: dict, metadata: dict, prefix: str = "") -> dict:
    """Rebuild a state dict from :func:`flatten_state_dict`'s output (loadable by ``load_state_dict``)."""
    state: dict = {}
    for index, values in metadata.get("scalars", {}).items():
        entry = state.setdefault(int(index), {})
        for key, value in values.items():
            entry[key] = [None] * value[_LIST_OF_ARRAYS] if isinstance(value, dict) and _LIST_OF_ARRAYS in value else value
    for name, value in arrays.items():
        if not name.startswith(prefix + "state."):
            continue
        index, _, key = name[len(prefix) + 6:].partition(".")
        entry = state.setdefault(int(index), {})
        base, _, item = key.rpartition(".")
        if base and item.isdigit() and isinstance(entry.get(base), list):
            entry[base][int(item)] = value
        else:
            entry[key] = value
    groups = [dict(g) for g in metadata["param_groups"]]
    return {"state": state, "param_groups": groups}
