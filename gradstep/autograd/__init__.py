"""The autodiff engine: Tensor, Function (one primitive), the backward walk, grad mode.

It knows nothing about particular ops; those live in ``gradstep.ops``.
"""

# PyTorch's torch.autograd namespace, loaded on first use so `import gradstep` stays fast.
_PUBLIC = {
    "grad": "api", "backward": "api",
    "Function": "custom_function", "FunctionCtx": "custom_function", "once_differentiable": "custom_function",
    "no_grad": "grad_mode", "enable_grad": "grad_mode", "set_grad_enabled": "grad_mode",
    "inference_mode": "grad_mode", "is_grad_enabled": "grad_mode",
    "detect_anomaly": "anomaly_mode", "set_detect_anomaly": "anomaly_mode", "is_anomaly_enabled": "anomaly_mode",
    "gradcheck": "gradient_checks", "gradgradcheck": "gradient_checks",
    "Variable": "tensor",  # legacy: Variable(t, requires_grad=True) is a Tensor
}
__all__ = list(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        module = importlib.import_module(f".{_PUBLIC[name]}", __name__)
        return getattr(module, "Tensor" if name == "Variable" else name)
    raise AttributeError(f"module 'gradstep.autograd' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_PUBLIC])
