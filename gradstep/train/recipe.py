"""A whole training run from a flat config: the Python API behind ``gradstep train``.

>>> from gradstep.train import recipe
>>> run_dir, summary = recipe.train({"model": "mlp", "dataset": "digits", "epochs": 5})
>>> summary["final"]["val_acc"]

The config keys are the command's flags (``lr``, ``batch_size``, ...; see
:data:`HELP`). Defaults come from :data:`DEFAULTS`, then
:data:`MODEL_DEFAULTS` for the chosen model, then the given values. Everything
is built in a fixed order after ``gradstep.manual_seed(seed)`` (data, model
initialisation, optimizer, loaders), so the same config gives the same run,
and a resumed run rebuilds exactly what it restores into.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy

from .. import backend
from ..errors import CheckpointError, InvalidArgument, PathNotFound
from ..interop.safetensors import load_file, read_metadata, save_file
from .checkpoint import ModelCheckpoint, latest_checkpoint
from .config import (DEFAULTS, HELP, MODEL_DEFAULTS, OPTIMIZERS, RESUME_OVERRIDABLE, SCHEDULERS, ConfigError,
                     resolve_config)
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .loop import Trainer
from .run_dir import (RunError, RunLock, create_run_dir, default_run_name, lock_owner, read_summary, read_toml,
                      write_summary, write_toml)

__all__ = ["DEFAULTS", "MODEL_DEFAULTS", "HELP", "OPTIMIZERS", "SCHEDULERS", "ConfigError", "resolve_config",
           "build", "Job", "train", "load_model", "evaluate_run", "RESUME_OVERRIDABLE"]


# --------------------------------------------------------------------------- build
class Job:
    """Everything a run is made of: config, data, model, optimizer, scheduler, loaders, loss and metrics."""

    def __repr__(self) -> str:
        return f"Job(model={self.model_name!r}, dataset={self.cfg['dataset']!r}, params={self.num_params})"


def _sample_inputs(ds, limit: int = 10_000):
    """Up to ``limit`` training inputs as one array (for fitting input statistics)."""
    idx = numpy.arange(min(len(ds), limit), dtype=numpy.int64)
    if callable(getattr(ds, "get_batch", None)):
        x = ds.get_batch(idx)[0]
    else:
        x = numpy.stack([numpy.asarray(getattr(ds[int(i)][0], "_data", ds[int(i)][0])) for i in idx])
    return getattr(x, "_data", x)


def _data(cfg: dict):
    """(train dataset, validation dataset, data info) for ``cfg``."""
    from ..data import Subset, datasets
    from ..data.datasets._download import DatasetNotFoundError
    from ..data.datasets.vision import expected_files

    name, path = cfg["dataset"], cfg["data_path"] or None
    flat = cfg["model"] != "cnn"
    if name == "digits":
        train, val = datasets.digits("train", flatten=flat), datasets.digits("test", flatten=flat)
    elif name in ("mnist", "fashion_mnist", "cifar10"):
        getter = getattr(datasets, name)
        kw = {} if name == "cifar10" else {"flatten": flat}
        fetch = path is None  # a folder given by the user is used as it is, never downloaded into
        if path is not None:
            _check_data_folder(name, path)
        try:
            train = getter("train", root=path, download=fetch, **kw)
            val = getter("test", root=path, download=fetch, **kw)
        except DatasetNotFoundError:
            if path is None:
                raise
            raise DatasetNotFoundError(f"--data-path {path} does not hold the {name} files{_missing(name, path)}; "
                                       f"the {name} dataset needs a folder with {expected_files(name)}; or leave "
                                       f"out --data-path to download them") from None
    elif name == "text":
        train = datasets.text(path, block_size=cfg["block_size"], split="train")
        val = datasets.text(path, block_size=cfg["block_size"], split="val")
        # An epoch visits non-overlapping windows (every block_size-th start), not all len(text) of them.
        train = _strided(train, cfg["block_size"], Subset)
        val = _strided(val, cfg["block_size"], Subset)
        src = train.dataset
        return train, val, {"task": "lm", "vocab": src.vocab, "vocab_size": src.vocab_size,
                            "block_size": cfg["block_size"], "num_classes": src.vocab_size}
    elif name == "csv":
        full = datasets.csv(path, target=_target(cfg["target"]))
        train, val = _split(full, cfg["seed"], Subset)
        info = {"task": full.task, "input_shape": list(full.input_shape),
                "num_classes": getattr(full, "num_classes", None) or 1,
                "classes": list(getattr(full, "classes", []) or []), "feature_names": list(full.feature_names)}
        return train, val, info
    else:  # generated 2-D problems: an independent draw with another seed is the test set
        getter = getattr(datasets, name)
        kw = {}
        if name == "blobs":  # the test draw must come from the same clusters, not new random centres
            kw["centers"] = numpy.random.default_rng([cfg["seed"], 3]).uniform(-10.0, 10.0, (3, 2))
        train, val = getter(seed=cfg["seed"], **kw), getter(seed=cfg["seed"] + 10_007, **kw)
    info = {"task": "classification", "input_shape": list(train.input_shape), "num_classes": int(train.num_classes),
            "classes": list(getattr(train, "classes", []) or [])}
    return train, val, info


def _check_data_folder(name: str, path: str) -> None:
    """``--data-path`` of an image dataset: an existing folder (the CLI's words, as the config keys are its flags)."""
    from ..data.datasets.vision import expected_files

    if not os.path.exists(path):
        raise PathNotFound(f"--data-path {path}: no such folder; the {name} dataset needs a folder with "
                           f"{expected_files(name)}; or leave out --data-path to download them")
    if not os.path.isdir(path):
        raise InvalidArgument(f"--data-path {path} is a file, not a folder; the {name} dataset needs a folder with "
                              f"{expected_files(name)}")


def _missing(name: str, path: str) -> str:
    """`` (missing: ...)`` for the IDX files of mnist/fashion_mnist absent from ``path``."""
    from pathlib import Path

    from ..data.datasets.vision import _IDX_FILES, _find

    if name == "cifar10":
        return ""
    names = [n for pair in _IDX_FILES.values() for n in pair]
    gone = [n for n in names if _find(Path(path), n) is None]
    if len(gone) == len(names):
        return " (it has none of them)"
    return f" (missing: {', '.join(gone)})" if gone else ""


def _strided(ds, step: int, subset):
    if len(ds) == 0:
        raise InvalidArgument("text: not enough text for one window")
    return subset(ds, numpy.arange(0, len(ds), step))


def _target(target: str):
    return -1 if target == "" else int(target) if target.lstrip("-").isdigit() else target


def _split(ds, seed: int, subset, test_fraction: float = 0.2):
    n = len(ds)
    if n < 2:
        raise InvalidArgument(f"csv: need at least 2 rows to hold some out for validation, got {n}")
    perm = numpy.random.default_rng([seed, 7]).permutation(n)
    k = max(1, int(round(n * test_fraction)))
    return subset(ds, numpy.sort(perm[k:])), subset(ds, numpy.sort(perm[:k]))


def _optimizer(cfg: dict, params):
    from .. import optim

    lr, wd, mom = cfg["lr"], cfg["weight_decay"], cfg["momentum"]
    name = cfg["optimizer"]
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=mom, weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=mom, weight_decay=wd)
    if name == "nadam":
        return optim.NAdam(params, lr=lr, weight_decay=wd)
    if name == "radam":
        return optim.RAdam(params, lr=lr, weight_decay=wd)
    if name == "adamax":
        return optim.Adamax(params, lr=lr, weight_decay=wd)
    if name == "adadelta":
        return optim.Adadelta(params, lr=lr, weight_decay=wd)
    return optim.Adagrad(params, lr=lr, weight_decay=wd)


def _scheduler(cfg: dict, optimizer, total_steps: int):
    """(scheduler or None, "epoch" | "step")."""
    from ..optim import lr_scheduler as S

    name = cfg["scheduler"]
    if name == "none":
        return None, "epoch"
    if name == "step":
        return S.StepLR(optimizer, step_size=max(1, cfg["epochs"] // 3), gamma=0.1), "epoch"
    if name == "exponential":
        return S.ExponentialLR(optimizer, gamma=0.95), "epoch"
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, factor=0.5, patience=2), "epoch"
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=total_steps), "step"
    cycle = "betas" in optimizer.defaults or cfg["momentum"] > 0  # momentum cycling needs a momentum to cycle
    return S.OneCycleLR(optimizer, max_lr=cfg["lr"], total_steps=total_steps, cycle_momentum=cycle), "step"


def _loss_and_metrics(task: str):
    from ..nn import functional as F

    if task == "lm":
        from ..models import lm_loss

        return lm_loss, ["accuracy"]
    if task == "regression":
        return F.mse_loss, ["mae"]
    return F.cross_entropy, ["accuracy"]


def build(cfg: dict, distributed: bool = False) -> Job:
    """Seed, then build data, model, optimizer, scheduler and loaders for a resolved config.

    ``distributed``: each MPI rank reads its shard of every epoch's order
    (``batch_size`` is per rank) and of the validation set.
    """
    from .. import models
    from ..data import DataLoader, DistributedSampler, Subset

    backend.manual_seed(cfg["seed"])
    job = Job()
    job.cfg, job.model_name = cfg, cfg["model"]
    train_ds, val_ds, info = _data(cfg)
    job.data_info = info
    # the zoo's dropout defaults are tuned for classification; they only add noise to a regression target
    overrides = {"dropout": 0.0, "input_dropout": 0.0} if info["task"] == "regression" and cfg["model"] == "mlp" else {}
    job.model, job.model_kwargs = models.for_data(cfg["model"], info, **overrides)
    norm = getattr(job.model, "norm", None)
    if isinstance(norm, models.Standardize):
        norm.fit(_sample_inputs(train_ds))
    job.num_params = sum(int(p.numel()) for p in job.model.parameters())
    job.optimizer = _optimizer(cfg, job.model.parameters())
    if distributed:
        from .. import distributed as dist

        rank, world = dist.get_rank(), dist.get_world_size()
        sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, seed=cfg["seed"], shuffle=True)
        job.train_loader = DataLoader(train_ds, batch_size=cfg["batch_size"], sampler=sampler)
        # an unpadded shard: the Trainer sums totals and counts over ranks, so validation stays exact
        val_ds = Subset(val_ds, list(range(rank, len(val_ds), world)))
    else:
        job.train_loader = DataLoader(train_ds, batch_size=cfg["batch_size"], shuffle=True)
    job.val_loader = DataLoader(val_ds, batch_size=max(256, cfg["batch_size"]))
    steps = cfg["epochs"] * len(job.train_loader)
    total = min(steps, cfg["max_steps"]) if cfg["max_steps"] else steps
    job.scheduler, job.scheduler_interval = _scheduler(cfg, job.optimizer, max(1, total))
    job.loss_fn, job.metrics = _loss_and_metrics(info["task"])
    return job


# --------------------------------------------------------------------------- train
def _json_meta(job: Job) -> dict:
    import json

    return {"format": "gradstep-model", "model": job.model_name, "model_kwargs": json.dumps(job.model_kwargs),
            "data_info": json.dumps(job.data_info), "config": json.dumps(job.cfg)}


def train(config: dict | None = None, out="runs", name: str | None = None, resume=None, progress="auto",
          echo=print, callbacks=(), report: bool = False, detect_anomaly: bool = False,
          distributed: bool = False) -> tuple[str, dict]:
    """Run (or, with ``resume=RUN_DIR``, continue) a training run; returns ``(run_dir, summary)``.

    ``callbacks`` are added to the trainer's (CSV logger, checkpoints, ...):
    a list, or a function ``run_dir -> list`` for callbacks that write into
    the run folder (e.g. ``lambda d: [Observatory(run_dir=d)]``). The
    observatory itself is on unless ``observe_every`` is 0; ``report`` writes
    ``RUN_DIR/report.html`` at the end (also after a failure, to show it);
    ``detect_anomaly`` names the first op and layer that produce NaN/Inf.

    Nothing is created on disk until the config, data and model are known to
    be good. A new run gets a fresh folder under ``out``; a resumed run
    continues in its own folder from its newest valid checkpoint and ends
    exactly as if it had never stopped.
    """
    checkpoint = None
    main, world = True, 1
    if distributed:
        from .. import distributed as dist

        world = dist.init()
        main = dist.is_main_process()
    if resume is not None:
        run_dir = os.fspath(resume)
        if not os.path.isfile(os.path.join(run_dir, "config.toml")):
            raise RunError(f"{run_dir}: not a run folder (no config.toml)")
        owner = lock_owner(run_dir)
        if owner is not None:
            raise RunError(f"{run_dir}: process {owner} is training in this run folder; wait for it or stop it first")
        saved = read_toml(os.path.join(run_dir, "config.toml"))
        changed = sorted(k for k, v in (config or {}).items() if k not in RESUME_OVERRIDABLE and saved.get(k) != v)
        if changed:
            raise ConfigError(f"cannot change {', '.join(changed)} when resuming; start a new run instead")
        cfg = resolve_config({**saved, **{k: v for k, v in (config or {}).items() if k in RESUME_OVERRIDABLE}})
        ckpt_dir = os.path.join(run_dir, "checkpoints")
        checkpoint = latest_checkpoint(ckpt_dir)
        if checkpoint is None and any(f.endswith(".json") for f in _listdir(ckpt_dir)):
            raise CheckpointError(f"{run_dir}: no valid checkpoint to resume from (all are corrupt or truncated)")
        if checkpoint is None:  # stopped before its first checkpoint: starting over is the exact continuation
            echo(f"{run_dir}: no checkpoint yet, restarting the run from step 0")
        saved_world = int(read_summary(run_dir).get("world_size", 1))
        if saved_world != world:
            from .. import distributed as dist

            dist.check_world_size(saved_world, source=f"{run_dir}")
    else:
        cfg = resolve_config(config)
    job = build(cfg, distributed)
    if resume is None:
        if main:  # only rank 0 writes: checkpoints, logs, the summary, the final weights
            run_dir = create_run_dir(out, name or default_run_name(cfg["model"], cfg["dataset"]))
            write_toml(os.path.join(run_dir, "config.toml"), cfg,
                       comment="gradstep train settings (same keys as the flags)")
        if distributed:
            run_dir = dist.broadcast_object(run_dir if main else None)
    lock = RunLock(run_dir) if main else contextlib.nullcontext()
    with lock:
        extra = []
        if main:
            extra = list(callbacks(run_dir) if callable(callbacks) else callbacks)
            if cfg["observe_every"] or detect_anomaly:
                from ..observe import Observatory

                # Diagnosis warnings go to the training log (stdout); stderr keeps only the one-line error.
                extra.append(Observatory(every=cfg["observe_every"], run_dir=run_dir,
                                         detect_anomaly=detect_anomaly, log=sys.stdout))
        return _train(job, cfg, run_dir, checkpoint, progress, extra, report, main, world, distributed)


def _write_report(run_dir: str):
    from ..observe.report import write_report

    return write_report(run_dir)


def _train(job: Job, cfg: dict, run_dir: str, checkpoint, progress, extra: list, report: bool = False,
           main: bool = True, world: int = 1, distributed: bool = False) -> tuple[str, dict]:
    callbacks = []
    if main:
        callbacks = [CSVLogger(os.path.join(run_dir, "metrics.csv"), every_n_steps=cfg["log_every"]),
                     ModelCheckpoint(os.path.join(run_dir, "checkpoints"), every_n_steps=cfg["checkpoint_every"]),
                     *extra]
    if cfg["patience"]:  # on every rank: the reduced val_loss is the same everywhere, so all stop together
        callbacks.append(EarlyStopping("val_loss", patience=cfg["patience"], verbose=True))
    trainer = Trainer(job.model, job.optimizer, job.loss_fn, scheduler=job.scheduler,
                      scheduler_interval=job.scheduler_interval, metrics=job.metrics,
                      clip_grad_norm=cfg["clip_grad"] or None, callbacks=callbacks,
                      progress=progress if main else False,
                      config={"train": cfg, "model_kwargs": job.model_kwargs, "data_info": job.data_info},
                      model_name=cfg["model"], distributed=distributed)
    if checkpoint is not None:
        trainer.load_checkpoint(checkpoint)
    summary = {"status": "running", "model": cfg["model"], "dataset": cfg["dataset"], "params": job.num_params,
               "config": cfg, "data_info": {k: v for k, v in job.data_info.items() if k != "vocab"},
               "world_size": world}
    if checkpoint is not None:
        summary["resumed_from"] = os.path.relpath(checkpoint, run_dir)
        summary["resumed_step"], summary["resumed_epoch"] = trainer.step, trainer.epoch
        summary.update({k: v for k, v in read_summary(run_dir).items() if k in ("started",)})
    summary.setdefault("started", time.strftime("%Y-%m-%d %H:%M:%S"))
    if main:
        write_summary(run_dir, summary)
    t0 = time.perf_counter()
    try:
        trainer.fit(job.train_loader, cfg["epochs"], job.val_loader, max_steps=cfg["max_steps"] or None)
    except BaseException as e:
        last = latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        summary.update(status="interrupted" if isinstance(e, KeyboardInterrupt) else "failed",
                       error=" ".join(str(e).split()) or type(e).__name__, step=trainer.step,
                       last_checkpoint=os.path.relpath(last, run_dir) if last else None)
        if main:
            write_summary(run_dir, summary)
        if main and report:  # a failed run's report shows what went wrong
            try:
                _write_report(run_dir)
            except Exception:  # never hide the training error behind a reporting one
                pass
        e.run_dir = run_dir  # let the caller say where the run's files are
        e.last_checkpoint = summary["last_checkpoint"]
        raise
    if main:
        save_file(trainer.model.state_dict(), os.path.join(run_dir, "model.safetensors"), metadata=_json_meta(job))
    elapsed = time.perf_counter() - t0
    final = dict(trainer.history.last)
    # seconds: this session's training time (after a resume, the time since resumed_step)
    summary.update(status="completed", epochs=trainer.epoch, steps=trainer.step, seconds=round(elapsed, 3),
                   final=final, finished=time.strftime("%Y-%m-%d %H:%M:%S"),
                   files={"config": "config.toml", "metrics": "metrics.csv", "model": "model.safetensors",
                          "checkpoints": "checkpoints/"})
    if main:
        write_summary(run_dir, summary)
    if main and report:  # after the summary, so the report shows the run as completed
        summary["files"]["report"] = os.path.relpath(_write_report(run_dir), run_dir)
        write_summary(run_dir, summary)
    return run_dir, summary


def _listdir(path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


# ---------------------------------------------------------------------------- reuse
def load_model(run_dir):
    """``(model, meta)`` from a run folder: the final weights, else its newest checkpoint's.

    ``meta`` has ``model`` (name), ``model_kwargs``, ``data_info`` and ``config``.
    """
    import json

    from .. import models
    from ..autograd.tensor import Tensor
    from .checkpoint import _read_verified

    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: no such run folder")
    weights = os.path.join(run_dir, "model.safetensors")
    if os.path.isfile(weights):
        header = read_metadata(weights)
        if header.get("format") != "gradstep-model":
            raise CheckpointError(f"{weights}: not a gradstep model file")
        try:
            meta = {"model": header["model"], "model_kwargs": json.loads(header["model_kwargs"]),
                    "data_info": json.loads(header["data_info"]), "config": json.loads(header["config"])}
        except (KeyError, ValueError):
            raise CheckpointError(f"{weights}: model header is incomplete or unreadable") from None
        state = load_file(weights)
    else:
        path = latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        if path is None:
            raise RunError(f"{run_dir}: no model.safetensors and no valid checkpoint (did the run start?)")
        ckpt, data, source = _read_verified(path)
        from ..interop.safetensors import load

        arrays = load(data, source)
        conf = ckpt.get("config") or {}
        meta = {"model": ckpt.get("model_name"), "model_kwargs": conf.get("model_kwargs", {}),
                "data_info": conf.get("data_info", {}), "config": conf.get("train", {})}
        state = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
    model = models.get(meta["model"], **meta["model_kwargs"])
    try:
        model.load_state_dict({k: Tensor._wrap(v) for k, v in state.items()})
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{run_dir}: weights do not fit model {meta['model']!r}: {' '.join(str(e).split())}") from None
    model.eval()
    return model, meta


def evaluate_run(run_dir) -> dict:
    """Loss and metrics of a run's model on its validation/test data."""
    model, meta = load_model(run_dir)
    cfg = resolve_config(meta["config"])
    _, val, info = _data(cfg)
    from ..data import DataLoader

    loss_fn, metrics = _loss_and_metrics(info["task"])
    trainer = Trainer(model, None, loss_fn, metrics=metrics, progress=False)
    return trainer.evaluate(DataLoader(val, batch_size=max(256, cfg["batch_size"])), prefix="val_")
