"""Argument checks shared by the layers' constructors (so bad sizes fail there, naming the layer)."""
from __future__ import annotations

import numbers

from ..errors import ArgumentTypeError, InvalidArgument


def check_sizes(layer: str, minimum: int = 0, **sizes) -> None:
    """Raise unless every keyword is an int >= ``minimum``; the message names ``layer`` and the argument."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ArgumentTypeError(f"{layer}: {name} must be an int, got {name}={value!r} ({type(value).__name__})")
        if value < minimum:
            what = "a non-negative int" if minimum == 0 else f"an int >= {minimum}"
            raise InvalidArgument(f"{layer}: {name} must be {what}, got {name}={value}")


def check_probability(layer: str, name: str, value, what: str | None = None) -> None:
    """Raise unless ``value`` is a real number in [0, 1]; ``what`` describes it in the message."""
    label = what or name
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{layer}: {label} must be a number between 0 and 1, got {name}={value!r} "
                                f"({type(value).__name__})")
    if not 0 <= value <= 1:  # also rejects NaN
        raise InvalidArgument(f"{layer}: {label} has to be between 0 and 1, but got {value}")
