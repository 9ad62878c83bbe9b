"""MLP: a stack of fully connected layers, the default model of ``gradstep train``."""
from __future__ import annotations

import math

from .. import nn
from .standardize import Standardize
from ..errors import InvalidArgument

__all__ = ["MLP"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "silu": nn.SiLU}


class MLP(nn.Module):
    """Flatten -> [Standardize] -> [Dropout] -> (Linear -> activation -> [Dropout]) x len(hidden) -> Linear.

    Args:
        input_shape: shape of one sample (flattened to ``prod(input_shape)`` features).
        num_classes: outputs (class scores, or 1 for regression).
        hidden: widths of the hidden layers.
        activation: ``relu``, ``tanh``, ``gelu``, ``sigmoid`` or ``silu``.
        dropout: dropout after each hidden activation.
        input_dropout: dropout on the (standardized) input features.
        standardize: include a :class:`Standardize` layer (set it with ``model.norm.fit(x_train)``).

    Shape:
        input ``(N, *input_shape)`` -> output ``(N, num_classes)``.
    """

    def __init__(self, input_shape=(64,), num_classes: int = 10, hidden=(128, 128), activation: str = "relu",
                 dropout: float = 0.0, input_dropout: float = 0.0, standardize: bool = False):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise InvalidArgument(f"MLP: unknown activation {activation!r}; valid: {', '.join(sorted(_ACTIVATIONS))}")
        in_features = int(math.prod(input_shape)) if isinstance(input_shape, (tuple, list)) else int(input_shape)
        self.in_features, self.num_classes = in_features, int(num_classes)
        self.flatten = nn.Flatten()
        self.norm = Standardize((in_features,)) if standardize else None
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout else None
        layers, width = [], in_features
        for h in hidden:
            layers += [nn.Linear(width, int(h)), _ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, self.num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        x = self.flatten(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.input_dropout is not None:
            x = self.input_dropout(x)
        return self.layers(x)
