"""``gradstep.linalg``: the part of ``torch.linalg`` training scripts use, with gradients.

Norms (vector_norm, matrix_norm, norm), det, slogdet, inv, solve, cholesky, qr, eigh, eigvalsh,
svd, svdvals, pinv, matrix_power, cross, vecdot, diagonal and matmul, with PyTorch's signatures,
batched over leading dims; the functions live in ``gradstep/ops/linalg.py``, which also gives
PyTorch's top-level forms (``gradstep.det``, ``logdet``, ``slogdet``, ``inverse``, ``pinverse``,
``matrix_power``, ``cholesky_solve``, ``cross``, ``svd`` (U, S, V), ``vdot``; also Tensor methods).
Not here: lstsq, eig/eigvals (complex results), lu/lu_factor, matrix_exp, matrix_rank, cond,
multi_dot, householder_product, tensorinv/tensorsolve and the ``*_ex`` variants.
"""
from .errors import LinAlgError
from .ops.linalg import (cholesky, cross, det, diagonal, eigh, eigvalsh, inv, matrix_norm, matrix_power, norm,
                         pinv, qr, slogdet, solve, svd, svdvals, vecdot, vector_norm)
from .ops.matmul import matmul

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
           "matrix_power", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm"]
