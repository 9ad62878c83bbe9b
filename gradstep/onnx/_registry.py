"""Which converter turns which gradstep primitive (``Function`` class) into ONNX nodes.

``@converts(Add, Sub)`` registers a converter ``fn(g, op) -> name`` for those
classes; subclasses (e.g. ``_ReshapeCopy`` of ``Reshape``) use their base's
converter unless they have their own. Adding support for an op is one
converter in the ``_convert_*`` module of its family.
"""
from __future__ import annotations

CONVERTERS: dict = {}
REFUSALS: dict = {}  # class -> why it can't be exported and what to do instead


def converts(*classes):
    def register(fn):
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn

    return register


def refuses(cls, why: str) -> None:
    """Record that ``cls`` can't be exported, with the reason given to the user."""
    REFUSALS[cls] = why


def converter_for(cls):
    for base in cls.__mro__:
        fn = CONVERTERS.get(base)
        if fn is not None:
            return fn
    return None


def supported_ops() -> list[str]:
    """Names of the gradstep primitives the exporter can convert."""
    return sorted({cls.__name__ for cls in CONVERTERS})
