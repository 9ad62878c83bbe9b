"""Small training runs for the observe tests: a run folder as ``gradstep train`` makes it, plus observations."""
from __future__ import annotations

import json
import os

import gradstep as gs
from gradstep import nn
from gradstep.data import DataLoader, Subset, datasets
from gradstep.observe import Observatory
from gradstep.train import CSVLogger, Trainer


def mlp(inputs=64, width=64, depth=2, classes=10, act=nn.ReLU):
    layers, d = [], inputs
    for _ in range(depth):
        layers += [nn.Linear(d, width), act()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, classes))


def digits(n_train=None):
    train = datasets.get("digits", split="train")
    if n_train is not None:
        train = Subset(train, list(range(n_train)))
    return train, datasets.get("digits", split="test")


def fit(model, opt, train, val=None, epochs=5, batch_size=32, every=5, run_dir=None, obs_kw=None, **trainer_kw):
    """Train with an Observatory (and a CSVLogger when ``run_dir`` is given); returns (observatory, history)."""
    obs = Observatory(every=every, run_dir=run_dir, log=False, **(obs_kw or {}))
    callbacks = [obs]
    if run_dir is not None:
        os.makedirs(run_dir, exist_ok=True)
        callbacks.append(CSVLogger(os.path.join(run_dir, "metrics.csv"), every_n_steps=every))
    trainer = Trainer(model, opt, callbacks=callbacks, progress=False, **trainer_kw)
    history = trainer.fit(DataLoader(train, batch_size=batch_size, shuffle=True, seed=0), epochs,
                          val_loader=None if val is None else DataLoader(val, batch_size=512))
    if run_dir is not None:
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            json.dump({"status": "completed", "steps": trainer.step, "final": history.last}, f)
        with open(os.path.join(run_dir, "config.toml"), "w") as f:
            f.write('model = "mlp"\ndataset = "test"\n')
    return obs, history


def rules(obs) -> set:
    return {f.rule for f in obs.findings}


def seeded(seed=0):
    gs.manual_seed(seed)
