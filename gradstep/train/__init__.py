"""Training: the loop, its callbacks, metrics and checkpoints.

>>> from gradstep.train import Trainer, EarlyStopping, CSVLogger, ModelCheckpoint
>>> trainer = Trainer(model, optimizer, metrics=["accuracy"],
...                   callbacks=[EarlyStopping("val_loss", patience=3), CSVLogger("metrics.csv")])
>>> trainer.fit(train_loader, epochs=20, val_loader=val_loader)
"""
from . import metrics
from .callbacks import Callback, CallbackList, History, LRMonitor
from .checkpoint import Checkpoint, ModelCheckpoint, latest_checkpoint, load_checkpoint, model_signature, save_checkpoint
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .loop import NonFiniteLossError, Trainer, default_unpack, fit
from .progress import ProgressBar

__all__ = [
    "Trainer", "fit", "NonFiniteLossError", "default_unpack",
    "Callback", "CallbackList", "History", "LRMonitor", "CSVLogger", "EarlyStopping", "ProgressBar",
    "ModelCheckpoint", "Checkpoint", "save_checkpoint", "load_checkpoint", "latest_checkpoint", "model_signature",
    "metrics",
]
