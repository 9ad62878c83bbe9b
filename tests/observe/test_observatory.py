"""The Observatory inside the Trainer: it changes nothing about training and survives an exact resume."""
import glob

import numpy as np

import gradstep as gs
from gradstep.data import DataLoader, datasets
from gradstep.observe import Observatory, read_observations
from gradstep.observe.recorder import read_arrays
from gradstep.train import ModelCheckpoint, Trainer

from ._runs import digits, mlp


def _train(observe, tmp=None, resume=None, checkpoints=None, epochs=3):
    train, val = digits(n_train=200)
    gs.manual_seed(0)
    model = mlp(width=32)
    callbacks = [Observatory(every=1, run_dir=tmp, log=False)] if observe else []
    if checkpoints:
        callbacks.append(ModelCheckpoint(checkpoints, every_n_steps=10, every_n_epochs=0, keep_last=5))
    trainer = Trainer(model, gs.optim.Adam(model.parameters(), lr=1e-3), callbacks=callbacks, progress=False)
    if resume:
        trainer.load_checkpoint(resume)
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True, seed=0), epochs, DataLoader(val, batch_size=512))
    return trainer


def test_observing_every_step_does_not_change_training(tmp_path):
    plain = _train(False)
    observed = _train(True, str(tmp_path))
    for (n, a), (_, b) in zip(plain.model.named_parameters(), observed.model.named_parameters()):
        np.testing.assert_array_equal(a._data, b._data, err_msg=n)
    assert len(read_observations(tmp_path)) == observed.step
    assert not any(m._forward_hooks for m in observed.model.modules())


def test_resume_continues_the_observation_file(tmp_path):
    full = tmp_path / "full"
    _train(True, str(full))
    part = tmp_path / "part"
    _train(True, str(part), checkpoints=str(tmp_path / "ckpt"))  # a run that went on after its step-10 checkpoint
    resumed = _train(True, str(part), resume=glob.glob(str(tmp_path / "ckpt" / "*10.json"))[0])
    assert resumed.step == 21
    a, b = read_observations(full), read_observations(part)
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, 22))  # cut back to 10, then 11..21
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    np.testing.assert_array_equal(read_arrays(full, "weights_start")["0.weight"],
                                  read_arrays(part, "weights_start")["0.weight"])


def test_decision_boundaries_of_2d_data(tmp_path):
    gs.manual_seed(0)
    model = mlp(inputs=2, width=16, classes=2)
    obs = Observatory(every=5, run_dir=str(tmp_path), log=False)
    Trainer(model, gs.optim.Adam(model.parameters(), lr=1e-2), callbacks=[obs], progress=False).fit(
        DataLoader(datasets.moons(n=128), batch_size=32, shuffle=True, seed=0), 9)
    arrays = read_arrays(tmp_path, "boundary")
    epochs = sorted(int(k[6:11]) for k in arrays if k.endswith(".pred"))
    assert epochs == [0, 1, 2, 3, 4, 7, 9]  # before training, then about every 1.5x, and the last epoch
    assert arrays["epoch_00009.pred"].shape == (80, 80) and arrays["points"].shape == (128, 2)
    x = np.stack(np.meshgrid(arrays["xs"], arrays["ys"]), axis=-1).reshape(-1, 2)
    with gs.no_grad():
        pred = model(gs.tensor(x)).numpy().argmax(1).reshape(80, 80)
    np.testing.assert_array_equal(arrays["epoch_00009.pred"], pred)
