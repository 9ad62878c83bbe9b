"""ONNX export of gradstep models: ``gradstep.onnx.export(model, example_input, path)``.

Needs the optional ``onnx`` package (``pip install "gradstep[onnx]"``, which also
installs onnxruntime to run the result); importing this module doesn't.

>>> import gradstep as gs, gradstep.nn as nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> gs.onnx.export(model, gs.randn(3, 4), "model.onnx")  # doctest: +SKIP
>>> model.load_state_dict(gs.onnx.read_state_dict("model.onnx"))  # doctest: +SKIP
"""
from __future__ import annotations

from ._registry import supported_ops
from .errors import ExportError, MissingDependencyError, UnsupportedOpError
from .export import DEFAULT_OPSET, export
from .weights import read_state_dict

__all__ = ["export", "read_state_dict", "supported_ops", "DEFAULT_OPSET", "ExportError", "UnsupportedOpError", "MissingDependencyError"]
