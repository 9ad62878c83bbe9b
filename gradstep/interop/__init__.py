"""Exchange with other formats and frameworks: safetensors files (checkpoints, weights).

Submodules are imported explicitly (``from gradstep.interop.safetensors import save_file``)
so optional dependencies are only needed by the format you use.
"""
