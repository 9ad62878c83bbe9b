"""The model zoo used by ``gradstep train``: ``mlp``, ``cnn`` and ``gpt``.

>>> from gradstep import models
>>> models.available()
['cnn', 'gpt', 'mlp']
>>> model = models.get("mlp", input_shape=(64,), num_classes=10)

:func:`for_data` picks each model's constructor arguments from what a dataset
provides (sample shape, number of classes, vocabulary and context length), with
the defaults ``gradstep train`` uses; :func:`register` adds your own model.
"""
from __future__ import annotations

from typing import Callable

from .cnn import CNN
from .gpt import GPT, lm_loss
from .mlp import MLP
from .standardize import Standardize
from ..errors import ArgumentTypeError, InvalidArgument

__all__ = ["MLP", "CNN", "GPT", "Standardize", "lm_loss", "get", "available", "register", "for_data"]

# name -> (constructor, defaults used by the command line, data fields it takes)
_REGISTRY: dict[str, tuple[Callable, dict, tuple]] = {
    # Tuned on digits: input standardisation plus dropout on input and hidden units give
    # ~98% test accuracy (min 97.5% over 12 seeds) with Adam 1e-3, batch 32, 60 epochs.
    "mlp": (MLP, {"hidden": (128, 128), "dropout": 0.2, "input_dropout": 0.2, "standardize": True},
            ("input_shape", "num_classes")),
    "cnn": (CNN, {"standardize": True}, ("input_shape", "num_classes")),
    "gpt": (GPT, {"n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.0}, ("vocab_size", "block_size")),
}


def available() -> list[str]:
    """Names accepted by :func:`get`."""
    return sorted(_REGISTRY)


def _entry(name: str):
    if not isinstance(name, str) or name.lower() not in _REGISTRY:
        raise InvalidArgument(f"unknown model {name!r}; valid: {', '.join(available())}")
    return _REGISTRY[name.lower()]


def get(name: str, **kwargs):
    """A new model ``name`` built with ``kwargs`` (its constructor's arguments)."""
    cls, _, _ = _entry(name)
    _check_kwargs(name, cls, kwargs)
    return cls(**kwargs)


def _check_kwargs(name: str, cls, kwargs: dict) -> None:
    """An ArgumentTypeError naming the model and its arguments for a keyword its constructor doesn't take."""
    import inspect

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ArgumentTypeError(f"models.get: model {name!r} has no argument {', '.join(map(repr, unknown))}; "
                                f"valid: {', '.join(params)}")


def register(name: str, constructor: Callable, defaults: dict | None = None, data_fields=("input_shape", "num_classes")):
    """Make ``name`` available to :func:`get`, :func:`for_data` and ``gradstep train --model``."""
    if not callable(constructor):
        raise ArgumentTypeError(f"register: constructor must be callable, got {type(constructor).__name__}")
    _REGISTRY[name.lower()] = (constructor, dict(defaults or {}), tuple(data_fields))


def for_data(name: str, data_info: dict, **overrides) -> tuple[object, dict]:
    """``(model, kwargs)``: model ``name`` sized for a dataset, with the zoo's defaults.

    ``data_info`` holds what the dataset tells (``input_shape``,
    ``num_classes``, ``vocab_size``, ``block_size``); ``kwargs`` is everything
    the model was built with, enough to rebuild it with :func:`get`.
    """
    cls, defaults, fields = _entry(name)
    missing = [f for f in fields if data_info.get(f) is None]
    if missing:
        raise InvalidArgument(f"model {name!r} needs a dataset that provides {', '.join(missing)} "
                              f"(is this dataset suitable for {name}?)")
    kwargs = {**defaults, **{f: data_info[f] for f in fields}, **overrides}
    kwargs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
    return cls(**kwargs), kwargs
