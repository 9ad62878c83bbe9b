"""Read the weights back out of an ONNX file: ``model.load_state_dict(gradstep.onnx.read_state_dict(path))``.

``export`` stores parameters and buffers as initializers under their state_dict
names and lists those names in the model's metadata (``gradstep.state_dict``),
so the constants it made are told apart from weights. For ONNX files from
elsewhere every initializer is returned.
"""
from __future__ import annotations

import json
import os

import numpy

from ..errors import CheckpointError
from .errors import MissingDependencyError

METADATA_KEY = "gradstep.state_dict"


def read_state_dict(source) -> dict:
    """``{state_dict name: ndarray}`` of the weights in an ONNX file (path) or ``onnx.ModelProto``.

    Only the weights the exported graph uses are stored (e.g. BatchNorm's
    ``num_batches_tracked`` is not): load them with ``strict=False`` when the file
    comes from such a model. Shapes are always checked, so a file from another
    architecture raises a ``StateDictError`` listing every mismatched name and shape.
    """
    try:
        import onnx
    except ImportError as err:
        raise MissingDependencyError(
            'gradstep.onnx.read_state_dict needs the onnx package: pip install "gradstep[onnx]"'
        ) from err
    if isinstance(source, onnx.ModelProto):
        proto, where = source, "ONNX model"
    else:
        where = os.fspath(source)
        if not os.path.isfile(where):
            raise CheckpointError(f"{where}: no such file")
        try:
            proto = onnx.load(where)
        except Exception as err:  # protobuf raises its own DecodeError
            raise CheckpointError(f"{where}: not a valid ONNX file ({err})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    names = set(json.loads(meta[METADATA_KEY])) if METADATA_KEY in meta else None
    return {t.name: numpy.array(onnx.numpy_helper.to_array(t)) for t in proto.graph.initializer
            if names is None or t.name in names}
