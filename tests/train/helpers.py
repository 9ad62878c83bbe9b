"""Small models and data shared by the training tests."""
import numpy as np

import gradstep as gs
from gradstep import nn
from gradstep.data import DataLoader, TensorDataset


def blobs(n=96, features=4, classes=3, seed=0):
    """Gaussian blobs around fixed centres; ``seed`` draws the points."""
    centers = np.random.default_rng(99).standard_normal((classes, features)) * 3
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, features))).astype(np.float32)
    return TensorDataset(x, y.astype(np.int64))


def setup(seed=0, n=96, batch_size=16, lr=0.05, dropout=0.0, optimizer="sgd"):
    """(model, optimizer, train loader, val loader), built in a fixed order after manual_seed."""
    gs.manual_seed(seed)
    layers = [nn.Linear(4, 16), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(16, 3)]
    model = nn.Sequential(*layers)
    opt = (gs.optim.SGD(model.parameters(), lr=lr, momentum=0.9) if optimizer == "sgd"
           else gs.optim.Adam(model.parameters(), lr=lr))
    train = DataLoader(blobs(n, seed=1), batch_size=batch_size, shuffle=True)
    val = DataLoader(blobs(48, seed=2), batch_size=64)
    return model, opt, train, val


def weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}
