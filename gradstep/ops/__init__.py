"""Differentiable primitives, grouped by family, one module each.

Every module in this package is imported here; ops mark their public
functions with ``@public`` (see ``_registry.py``), which makes them
``gradstep.<name>`` and ``Tensor.<name>``. To add an op, add it to the module
of its family (or a new module here) and add its row to the op tests.
"""
from __future__ import annotations

import importlib
import pkgutil

from ._registry import PUBLIC

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")

from .elementwise import cast  # noqa: E402

globals().update(PUBLIC)
