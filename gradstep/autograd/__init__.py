"""The autodiff engine: Tensor, Function (one primitive), the backward walk, grad mode.

It knows nothing about particular ops; those live in ``gradstep.ops``.
"""
