"""The Python API behind `gradstep train`: config checks, a whole run in-process, extra callbacks."""
import json
import os

import pytest

from gradstep.train import Callback, recipe
from gradstep.train.config import ConfigError, resolve_config


def test_resolve_config_defaults_and_checks():
    cfg = resolve_config({})
    assert (cfg["model"], cfg["dataset"], cfg["optimizer"], cfg["lr"]) == ("mlp", "digits", "adam", 1e-3)
    gpt = resolve_config({"model": "gpt", "data_path": "x.txt"})
    assert gpt["dataset"] == "text" and gpt["epochs"] == 2  # the model's own defaults
    assert resolve_config({"lr": "0.01", "dataset": "Fashion-MNIST"})["dataset"] == "fashion_mnist"
    for bad, msg in [({"lr": 0}, "lr must be a positive number"), ({"lr": True}, "lr must be a number"),
                     ({"epochs": 1.5}, "epochs must be an integer"), ({"seed": -1}, "seed must be an integer >= 0"),
                     ({"model": "gpt"}, "needs a file"), ({"colour": 1}, "unknown setting colour")]:
        with pytest.raises(ConfigError, match=msg):
            resolve_config(bad)


def test_train_in_process_with_extra_callbacks(tmp_path):
    seen = {}

    class Spy(Callback):
        def __init__(self, run_dir):
            self.run_dir = run_dir

        def on_train_end(self, trainer, logs):
            seen["dir"], seen["step"] = self.run_dir, trainer.step

    run_dir, summary = recipe.train({"dataset": "xor", "epochs": 2}, out=tmp_path, name="x", progress=False,
                                    callbacks=lambda d: [Spy(d)])
    assert run_dir == os.path.join(tmp_path, "x") == seen["dir"]
    assert summary["status"] == "completed" and summary["steps"] == seen["step"]
    assert json.load(open(os.path.join(run_dir, "summary.json")))["final"] == summary["final"]
    model, meta = recipe.load_model(run_dir)
    assert meta["model"] == "mlp" and meta["data_info"]["input_shape"] == [2]
    assert recipe.evaluate_run(run_dir)["val_acc"] == pytest.approx(summary["final"]["val_acc"])
    assert not os.path.exists(os.path.join(run_dir, ".lock"))


def test_every_listed_optimizer_is_built():
    import gradstep as gs
    from gradstep.train import recipe

    cfg = {"lr": 0.01, "weight_decay": 0.0, "momentum": 0.9}
    classes = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
               "nadam": "NAdam", "radam": "RAdam", "adamax": "Adamax", "adadelta": "Adadelta"}
    assert set(recipe.OPTIMIZERS) == set(classes)
    for name in recipe.OPTIMIZERS:
        opt = recipe._optimizer({**cfg, "optimizer": name}, [gs.nn.Parameter(gs.zeros(2))])
        assert type(opt) is getattr(gs.optim, classes[name])
