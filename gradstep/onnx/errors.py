"""The exporter's exceptions."""
from __future__ import annotations

from ..errors import GradstepError


class ExportError(GradstepError, RuntimeError):
    """A model that can't be written as ONNX as it is (the message says why and what to change)."""


class UnsupportedOpError(ExportError, NotImplementedError):
    """The traced forward used a gradstep op that has no ONNX conversion."""


class MissingDependencyError(GradstepError, ImportError):
    """The optional ``onnx`` package (``pip install "gradstep[onnx]"``) is not installed."""
