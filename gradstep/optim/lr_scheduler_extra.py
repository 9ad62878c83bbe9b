"""MultiplicativeLR, ChainedScheduler and CyclicLR, value for value as ``torch.optim.lr_scheduler``'s.

They follow the conventions of :mod:`gradstep.optim.lr_scheduler` (and are
importable from it): call ``step()`` after ``optimizer.step()``; ``state_dict()``
holds plain numbers and lists, and, as in PyTorch, stores a lambda or function
given as ``lr_lambda``/``scale_fn`` as ``None`` (a callable object's attributes
are kept), so the function itself must be passed again when rebuilding.
"""
from __future__ import annotations

import math
from typing import Callable

from .lr_scheduler import (LRScheduler, ReduceLROnPlateau, _LambdasState, _NestedSchedulers, _check_optimizer, _lrs,
                           _per_group, _saved_fn)
from .optimizer import Optimizer
from ..errors import ArgumentTypeError, InvalidArgument

__all__ = ["MultiplicativeLR", "ChainedScheduler", "CyclicLR"]


class MultiplicativeLR(_LambdasState, LRScheduler):
    """Multiply each group's learning rate by ``lr_lambda(epoch)`` every epoch (chainable).

    Args:
        optimizer: the optimizer.
        lr_lambda: a function of the epoch returning the factor, or one per parameter group.
        last_epoch: index of the last epoch (-1 starts a new schedule).

    Example:
        >>> import gradstep as gs
        >>> opt = gs.optim.SGD([gs.tensor([1.0], requires_grad=True)], lr=0.1)
        >>> decay = MultiplicativeLR(opt, lambda epoch: 0.5)
        >>> opt.step(); decay.step(); decay.get_last_lr()
        [0.05]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable | list, last_epoch: int = -1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise InvalidArgument(f"MultiplicativeLR: expected {len(optimizer.param_groups)} lr_lambdas (one per "
                                      f"parameter group), but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise ArgumentTypeError(f"MultiplicativeLR: lr_lambda should be a function, but got "
                                        f"{type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return _lrs(self.optimizer)
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]



class ChainedScheduler(_NestedSchedulers, LRScheduler):
    """Step several chainable schedulers of one optimizer together: their effects multiply.

    Example:
        >>> warm = ConstantLR(opt, factor=0.1, total_iters=20)
        >>> decay = ExponentialLR(opt, gamma=0.9)
        >>> sched = ChainedScheduler([warm, decay], optimizer=opt)   # one sched.step() per epoch

    Args:
        schedulers: the schedulers, stepped in this order (not ReduceLROnPlateau,
            whose step needs a metric).
        optimizer: their optimizer (default: the first scheduler's); all must share it.
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        if len(schedulers) < 1:
            raise InvalidArgument("ChainedScheduler expects at least one scheduler to be chained, but got no "
                                  "scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        for i, sched in enumerate(schedulers):
            if not hasattr(sched, "optimizer"):
                raise ArgumentTypeError(f"ChainedScheduler: the scheduler at index {i} ({type(sched).__name__}) should "
                                        f"have `optimizer` as its attribute")
            if isinstance(sched, ReduceLROnPlateau):
                raise InvalidArgument(f"ChainedScheduler does not support `ReduceLROnPlateau` scheduler as it requires "
                                      f"additional kwargs to be specified when calling `step`, but got one at index "
                                      f"{i} in the given schedulers sequence")
            if sched.optimizer is not optimizer:
                raise InvalidArgument(f"ChainedScheduler expects all schedulers to belong to the same optimizer, but "
                                      f"scheduler {type(sched).__name__} at index {i} has another one "
                                      f"({type(sched.optimizer).__name__})")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _lrs(schedulers[-1].optimizer)

    def step(self) -> None:  # type: ignore[override]
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _lrs(self._schedulers[-1].optimizer)



class CyclicLR(LRScheduler):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (cyclical learning rates); call per batch.

    A cycle is ``step_size_up`` steps up then ``step_size_down`` steps down.
    ``mode`` scales the amplitude: ``"triangular"`` keeps it, ``"triangular2"``
    halves it each cycle, ``"exp_range"`` multiplies it by ``gamma ** step``;
    or pass ``scale_fn(x)`` (in [0, 1]) evaluated on the cycle number
    (``scale_mode="cycle"``) or on the step (``"iterations"``). With
    ``cycle_momentum`` the momentum (Adam-type optimizers: ``betas[0]``) moves
    the opposite way, from ``max_momentum`` at ``base_lr`` to ``base_momentum``
    at ``max_lr``; the optimizer must then have a ``momentum`` or ``betas``
    option.

    Args:
        optimizer: the optimizer; its groups' ``lr`` are set to ``base_lr`` now.
        base_lr, max_lr: the bounds of the cycle (one per group or one for all).
        step_size_up: steps in the increasing half (default 2000).
        step_size_down: steps in the decreasing half (default ``step_size_up``).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"`` (ignored with ``scale_fn``).
        gamma: the base of ``"exp_range"`` (default 1.0).
        scale_fn: custom amplitude scaling; overrides ``mode``.
        scale_mode: ``"cycle"`` or ``"iterations"``, what ``scale_fn`` is given.
        cycle_momentum: also cycle momentum / beta1 (default True).
        base_momentum, max_momentum: momentum bounds (defaults 0.8, 0.9; one per group or one for all).
        last_epoch: index of the last *batch* (-1 starts a new schedule).
    """

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable | None = None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if not up + down > 0:
            raise InvalidArgument(f"CyclicLR: a cycle needs at least one step, got step_size_up={step_size_up!r} "
                                  f"and step_size_down={step_size_down!r}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise InvalidArgument(f"CyclicLR: mode is invalid and scale_fn is None: mode={mode!r}, expected "
                                  f"'triangular', 'triangular2' or 'exp_range', or give a scale_fn")
        if scale_fn is not None and not callable(scale_fn):
            raise ArgumentTypeError(f"CyclicLR: scale_fn should be a function, but got {type(scale_fn).__name__}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        if self.scale_mode not in ("cycle", "iterations"):
            raise InvalidArgument(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise InvalidArgument(f"CyclicLR: optimizer must support momentum or beta1 with `cycle_momentum` "
                                      f"option enabled ({type(optimizer).__name__} has neither a 'momentum' nor a "
                                      f"'betas' option); pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for high, low, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (high, *group["betas"][1:])
                    else:
                        group["momentum"] = high
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        # The built-in policies fix what they are evaluated on (PyTorch's rule).
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x) -> float:
        """The amplitude scale at ``x`` (the cycle number or the step, see ``scale_mode``)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        at = cycle if self.scale_mode == "cycle" else self.last_epoch
        # scale_fn is called once per group and value, as PyTorch does (a stateful scale_fn sees the same calls).
        lrs = [base_lr + (max_lr - base_lr) * scale_factor * self.scale_fn(at)
               for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                momentum = high - (high - low) * scale_factor * self.scale_fn(at)
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_scale_fn_custom")}
        state["_scale_fn_custom"] = _saved_fn(self._scale_fn_custom)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_scale_fn_custom", None)
        state.pop("_scale_fn_ref", None)
        self.__dict__.update(state)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)
        self._init_scale_fn()
