"""CNN: a LeNet-style convolutional classifier for small images (8x8 digits to 32x32 CIFAR)."""
from __future__ import annotations

from .. import nn
from .standardize import Standardize
from ..errors import InvalidArgument

__all__ = ["CNN"]


class CNN(nn.Module):
    """Two conv -> ReLU -> 2x2 max-pool stages, then Linear(120) -> ReLU -> Linear(84) -> ReLU -> Linear.

    LeNet-5's shape, with 'same' padding so any input of at least 4x4 works:
    5x5 kernels for images of 16 pixels and more, 3x3 below (8x8 digits).

    Args:
        input_shape: ``(channels, height, width)`` of one image.
        num_classes: number of classes.
        channels: output channels of the two convolutions.
        hidden: widths of the two fully connected hidden layers.
        dropout: dropout before each fully connected layer.
        standardize: include a per-channel :class:`Standardize` layer (``model.norm.fit(x_train)``).

    Shape:
        input ``(N, C, H, W)`` -> output ``(N, num_classes)``.
    """

    def __init__(self, input_shape=(1, 8, 8), num_classes: int = 10, channels=(6, 16), hidden=(120, 84),
                 dropout: float = 0.0, standardize: bool = False):
        super().__init__()
        if len(input_shape) != 3 or min(input_shape[1:]) < 4:
            raise InvalidArgument(f"CNN: input_shape must be (channels, height, width) with height and width >= 4, "
                                  f"got {tuple(input_shape)}")
        c, h, w = (int(s) for s in input_shape)
        k = 5 if min(h, w) >= 16 else 3
        self.norm = Standardize((c, 1, 1)) if standardize else None
        self.features = nn.Sequential(
            nn.Conv2d(c, channels[0], k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels[0], channels[1], k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = channels[1] * (h // 4) * (w // 4)
        layers = [nn.Flatten()]
        for width in hidden:
            layers += ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(flat, width), nn.ReLU()]
            flat = width
        layers += ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(flat, int(num_classes))]
        self.classifier = nn.Sequential(*layers)

    def forward(self, x):
        if self.norm is not None:
            x = self.norm(x)
        return self.classifier(self.features(x))
