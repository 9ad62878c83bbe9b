"""Settings of a training run: names, defaults, one-line help, and validation.

The keys are ``gradstep train``'s flags (``--batch-size`` is ``batch_size``),
and the same keys are accepted in a ``--config`` TOML file and written to each
run's ``config.toml``. Precedence: :data:`DEFAULTS`, then
:data:`MODEL_DEFAULTS` of the chosen model, then the given values.
"""
from __future__ import annotations

import math

from ..errors import GradstepError

__all__ = ["ConfigError", "DEFAULTS", "MODEL_DEFAULTS", "HELP", "OPTIMIZERS", "SCHEDULERS", "RESUME_OVERRIDABLE",
           "resolve_config"]


class ConfigError(GradstepError, ValueError):
    """A setting with an invalid name or value."""


DEFAULTS: dict = {
    "model": "mlp", "dataset": "digits", "data_path": "", "target": "",
    "epochs": 60, "batch_size": 32, "optimizer": "adam", "lr": 1e-3, "momentum": 0.0, "weight_decay": 0.0,
    "scheduler": "none", "seed": 0, "clip_grad": 0.0, "checkpoint_every": 0, "log_every": 20, "max_steps": 0,
    "block_size": 64, "patience": 0, "observe_every": 20,
}

MODEL_DEFAULTS: dict = {
    "gpt": {"dataset": "text", "epochs": 2, "lr": 3e-3},
}

HELP: dict = {
    "model": "model to train: {models}",
    "dataset": "dataset: {datasets}",
    "data_path": "file or folder for the dataset (text/csv file; MNIST/CIFAR folder)",
    "target": "csv dataset: name or index of the label column (default: the last)",
    "epochs": "passes over the training data (default 60; gpt: 2)",
    "batch_size": "samples per optimizer step (default 32)",
    "optimizer": "optimizer: {optimizers} (default adam)",
    "lr": "learning rate, a positive number (default 1e-3; gpt: 3e-3)",
    "momentum": "momentum for sgd and rmsprop (default 0)",
    "weight_decay": "L2 penalty (decoupled for adamw) (default 0)",
    "scheduler": "learning-rate schedule: {schedulers} (default none)",
    "seed": "random seed: same seed, same run, same metrics.csv (default 0)",
    "clip_grad": "clip the gradients' global norm to this value (default 0: off)",
    "checkpoint_every": "also checkpoint every N optimizer steps (default 0: once per epoch)",
    "log_every": "write a metrics.csv row every N steps (default 20)",
    "max_steps": "stop after N optimizer steps in total (default 0: no limit)",
    "block_size": "text dataset: context length of the gpt model (default 64)",
    "patience": "stop early after N epochs without validation-loss improvement (default 0: off)",
    "observe_every": "record per-layer statistics and check for training problems every N steps (default 20; 0: off)",
}

OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "radam", "rmsprop", "sgd")
SCHEDULERS = ("cosine", "exponential", "none", "onecycle", "plateau", "step")
RESUME_OVERRIDABLE = ("epochs", "max_steps", "observe_every")
_NEED_PATH = ("text", "csv")
IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")


def _check_number(cfg: dict, key: str, kind: type, low: float, strict: bool) -> None:
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int):
        if kind is float and isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                pass
        if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int):
            what = "a number" if kind is float else "an integer"
            raise ConfigError(f"{key} must be {what}, got {cfg[key]!r}")
    if not math.isfinite(v) or (v <= low if strict else v < low):
        what = ("a positive number" if strict else "a number >= 0") if kind is float else \
            ("a positive integer" if strict else "an integer >= 0")
        raise ConfigError(f"{key} must be {what}, got {cfg[key]!r}")
    cfg[key] = kind(v)


def resolve_config(values: dict | None = None) -> dict:
    """Defaults merged with ``values``, every key and value checked; raises :class:`ConfigError`."""
    from .. import models
    from ..data import datasets

    values = dict(values or {})
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                          f"valid: {', '.join(DEFAULTS)}")
    model = str(values.get("model", DEFAULTS["model"])).lower()
    cfg = {**DEFAULTS, **MODEL_DEFAULTS.get(model, {}), **values}
    for key in ("model", "dataset", "optimizer", "scheduler", "data_path", "target"):
        if not isinstance(cfg[key], (str, int)) or isinstance(cfg[key], bool):
            raise ConfigError(f"{key} must be a string, got {cfg[key]!r}")
        cfg[key] = str(cfg[key])
    for key in ("model", "optimizer", "scheduler"):
        cfg[key] = cfg[key].lower()
    cfg["dataset"] = cfg["dataset"].lower().replace("-", "_")
    if cfg["model"] not in models.available():
        raise ConfigError(f"unknown model {cfg['model']!r}; valid: {', '.join(models.available())}")
    if cfg["dataset"] not in datasets.available():
        raise ConfigError(f"unknown dataset {cfg['dataset']!r}; valid: {', '.join(datasets.available())}")
    if cfg["optimizer"] not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {cfg['optimizer']!r}; valid: {', '.join(OPTIMIZERS)}")
    if cfg["scheduler"] not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {cfg['scheduler']!r}; valid: {', '.join(SCHEDULERS)}")
    _check_number(cfg, "lr", float, 0.0, strict=True)
    for key in ("momentum", "weight_decay", "clip_grad"):
        _check_number(cfg, key, float, 0.0, strict=False)
    for key in ("epochs", "batch_size", "block_size"):
        _check_number(cfg, key, int, 0, strict=True)
    for key in ("seed", "checkpoint_every", "log_every", "max_steps", "patience"):
        _check_number(cfg, key, int, 0, strict=False)
    if cfg["model"] == "gpt" and cfg["dataset"] != "text":
        raise ConfigError(f"model 'gpt' needs the text dataset, got {cfg['dataset']!r}")
    if cfg["dataset"] == "text" and cfg["model"] != "gpt":
        raise ConfigError(f"the text dataset needs model 'gpt', got {cfg['model']!r}")
    if cfg["model"] == "cnn" and cfg["dataset"] not in IMAGE_DATASETS:
        raise ConfigError(f"model 'cnn' needs image data, got dataset {cfg['dataset']!r}; use one of the image "
                          f"datasets ({', '.join(IMAGE_DATASETS)}), or --model mlp for {cfg['dataset']!r}")
    if cfg["dataset"] in _NEED_PATH and not cfg["data_path"]:
        raise ConfigError(f"dataset {cfg['dataset']!r} needs a file: pass --data-path FILE")
    return cfg
