"""L-BFGS: a quasi-Newton method that re-evaluates the loss through a closure, step for step as ``torch.optim.LBFGS``."""
from __future__ import annotations

import numbers
from typing import Any, Callable

from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, CheckpointError, InvalidArgument, ShapeError, fmt_shape
from .optimizer import Optimizer, check_number

# Scalars follow PyTorch's types: where PyTorch holds a 0-d tensor (a dot product, ys, H_diag,
# al[i], ro[i]) we hold a NumPy scalar of the parameters' dtype; where it holds a Python float
# (the loss, lr) so do we. NumPy 2 treats Python floats as "weak", as PyTorch does, so float32
# stays float32 throughout.


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to ``bounds`` (PyTorch's port of polyinterp.lua)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = xp.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` for a step ``t`` meeting the strong Wolfe conditions (PyTorch's port of lswolfe.lua).

    Returns ``(f_new, g_new, t, func_evals)``.
    """
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        # next step
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the maximum number of iterations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom phase: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # bracket too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to a boundary (twice, or outside): move 0.1·|bracket| away from the nearest end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than the lowest point
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # Wolfe conditions satisfied
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # old high becomes new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            # new point becomes new low
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


_FLAT_KEYS = ("d", "prev_flat_grad")
_LIST_KEYS = ("old_dirs", "old_stps", "ro", "al")
_SCALAR_KEYS = ("t", "H_diag", "prev_loss")
_COUNT_KEYS = ("func_evals", "n_iter")
_STATE_KEYS = _FLAT_KEYS + _LIST_KEYS + _SCALAR_KEYS + _COUNT_KEYS


class LBFGS(Optimizer):
    r"""L-BFGS, step for step as ``torch.optim.LBFGS`` (inspired by minFunc).

    Each ``step(closure)`` runs up to ``max_iter`` iterations of

    .. code-block:: text

        d = −H·g          (two-loop recursion over the last history_size pairs
                           s = t·d, y = g_new − g_old with yᵀs > 1e-10; H₀ = yᵀs / yᵀy)
        t = lr            (first iteration ever: min(1, 1/‖g‖₁)·lr)
        θ = θ + t·d       (t from a strong-Wolfe line search if line_search_fn="strong_wolfe")

    and stops early when ``max|g| ≤ tolerance_grad``, ``gᵀd > −tolerance_change``,
    ``max|t·d| ≤ tolerance_change``, ``|Δloss| < tolerance_change``, or after ``max_eval``
    closure calls. The closure re-evaluates the model: it zeroes the gradients,
    computes the loss, calls ``backward()`` and returns the loss.

    Args:
        params: the parameters (one group only: L-BFGS works on all of them as one vector).
        lr: step length (default 1).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure calls per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when the largest gradient entry is at most this (default 1e-7).
        tolerance_change: stop when the loss or the parameters change less than this (default 1e-9).
        history_size: how many (s, y) pairs the inverse-Hessian estimate keeps (default 100).
        line_search_fn: ``None`` (fixed step ``lr``) or ``"strong_wolfe"``.

    State (PyTorch's layout, all on the first parameter): ``func_evals``, ``n_iter`` (ints),
    ``d``, ``prev_flat_grad`` (flat arrays of all parameters), ``old_dirs``, ``old_stps``
    (lists of flat arrays), ``ro``, ``al`` (lists of scalars), ``t``, ``H_diag``, ``prev_loss``.

    Example:
        >>> import gradstep as gs
        >>> w = gs.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = LBFGS([w])
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - 3.0) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> w
        tensor([3.0000, 3.0000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if isinstance(lr, Tensor):
            if lr._data.size != 1:
                raise InvalidArgument(f"LBFGS: a Tensor lr must have 1 element, got shape {fmt_shape(lr.shape)}")
            lr = lr.item()
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Only one group: L-BFGS treats all parameters as one vector (as PyTorch, which refuses a second group)."""
        if self.param_groups:
            raise InvalidArgument(
                "LBFGS doesn't support per-parameter options (parameter groups): it got a second parameter group; "
                "pass all parameters in one group, e.g. LBFGS(model.parameters())"
            )
        super().add_param_group(param_group)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for key, low in (("max_iter", 0), ("max_eval", 0), ("history_size", 1)):
            value = group.get(key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise InvalidArgument(f"LBFGS: {key} must be an int >= {low}, got {key}={value!r}")
        check_number("LBFGS", "tolerance_grad", group["tolerance_grad"])
        check_number("LBFGS", "tolerance_change", group["tolerance_change"])
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise InvalidArgument(
                f"LBFGS: line_search_fn={group['line_search_fn']!r} is not supported; "
                f"expected None or 'strong_wolfe'"
            )

    # ------------------------------------------------------------ flat view
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    def _gather_flat_grad(self):
        """All gradients as one new flat array (zeros for a parameter without a gradient)."""
        views = []
        for p in self._params():
            g = p.grad
            if g is None:
                views.append(xp.zeros(p._data.size, p._data.dtype))
            else:
                if g._data.shape != p._data.shape:
                    raise ShapeError(f"LBFGS.step: a parameter of shape {fmt_shape(p._data.shape)} has a gradient "
                                     f"of shape {fmt_shape(g._data.shape)}; they must match")
                views.append(g._data.reshape(-1))
        return xp.concatenate(views)

    def _add_grad(self, step_size, update) -> None:
        """θ ← θ + step_size · update, for the flat ``update`` of all parameters."""
        offset = 0
        for p in self._params():
            n = p._data.size
            p._data += step_size * update[offset:offset + n].reshape(p._data.shape)
            p._version[0] += 1
            offset += n

    def _clone_param(self) -> list:
        return [p._data.copy() for p in self._params()]

    def _set_param(self, params_data: list) -> None:
        for p, data in zip(self._params(), params_data):
            p._data[...] = data
            p._version[0] += 1

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------ step
    def step(self, closure: Callable[[], Any] | None = None):
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` re-evaluates the loss (required). Returns its first loss."""
        if closure is None or not callable(closure):
            raise ArgumentTypeError(
                f"LBFGS.step: needs a closure that re-evaluates the model and returns the loss, got "
                f"{type(closure).__name__}; e.g. def closure(): opt.zero_grad(); loss = f(); loss.backward(); "
                f"return loss — then opt.step(closure)"
            )
        for hook in tuple(self._pre_hooks.values()):
            hook(self, (), {})
        try:
            return self._step(closure)
        finally:
            self._step_count += 1
            for hook in tuple(self._post_hooks.values()):
                hook(self, (), {})

    def _step(self, user_closure):
        def closure():
            with enable_grad():
                return user_closure()

        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # LBFGS's state is global; like PyTorch, it lives on the first parameter.
        state = self.state[self._params()[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        # evaluate the initial f(x) and df/dx
        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # update the memory
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:  # shift the history by one
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.dot(y, y)  # scale of the initial inverse Hessian

                # two-loop recursion: d = −H·g
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = xp.dot(old_stps[i], q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = xp.dot(old_dirs[i], r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr

            gtd = xp.dot(flat_grad, d)  # directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                # fixed step; re-evaluate unless this is the last iteration
                self._add_grad(t, d)
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping conditions
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:  # lack of progress
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"], state["t"] = d, t
        state["old_dirs"], state["old_stps"], state["ro"] = old_dirs, old_stps, ro
        state["H_diag"], state["prev_flat_grad"], state["prev_loss"] = H_diag, prev_flat_grad, prev_loss
        return orig_loss

    # ------------------------------------------------------------ state dict
    def state_dict(self) -> dict:
        """As :meth:`Optimizer.state_dict`, in PyTorch's LBFGS layout; the history lists are copied too."""
        sd = super().state_dict()
        for values in sd["state"].values():
            for key in _LIST_KEYS:
                if isinstance(values.get(key), list):
                    values[key] = [v.copy() if isinstance(v, (xp.ndarray, xp.generic)) else v for v in values[key]]
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        """As :meth:`Optimizer.load_state_dict`; LBFGS's flat arrays and history lists (also PyTorch tensors)
        are converted to the parameters' dtype and checked against their total size."""
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), dict):
            return super().load_state_dict(state_dict)  # the base class reports the malformed dict
        dtype = self._params()[0]._data.dtype
        numel = sum(p._data.size for p in self._params())
        rest, lbfgs = {}, {}
        for index, values in state_dict["state"].items():
            rest[index] = {k: v for k, v in values.items() if k not in _STATE_KEYS}
            lbfgs[index] = {k: _load(k, v, dtype, numel) for k, v in values.items() if k in _STATE_KEYS}
        super().load_state_dict({**state_dict, "state": rest})
        params = [p for g in state_dict["param_groups"] for p in g["params"]]
        id_map = dict(zip(params, self._params()))
        for index, values in lbfgs.items():
            if values:
                p = id_map.get(index)
                if p is None and isinstance(index, str) and index.isdigit():
                    p = id_map.get(int(index))
                self.state[p].update(values)


def _load(key: str, value, dtype, numel: int):
    """One LBFGS state entry as :class:`LBFGS` keeps it (arrays and scalars in the parameters' dtype)."""
    if key in _COUNT_KEYS:
        return int(value)
    if key in _LIST_KEYS:
        if value is None:
            return None
        flat = key in ("old_dirs", "old_stps")
        return [_load_value(f"{key}[{i}]", v, dtype, numel if flat else None) for i, v in enumerate(value)]
    return _load_value(key, value, dtype, numel if key in _FLAT_KEYS else None)


def _load_value(key: str, value, dtype, numel: int | None):
    """A flat array of ``numel`` elements (``numel`` given) or a scalar, in ``dtype``; Python numbers and None stay."""
    if value is None or isinstance(value, numbers.Number) and not isinstance(value, xp.generic):
        return value  # Python numbers stay Python numbers (t = lr, H_diag = 1, prev_loss), as in PyTorch
    if isinstance(value, Tensor):
        value = value._data
    try:
        array = xp.array(value, dtype=dtype)  # also a torch tensor (via __array__)
    except (TypeError, ValueError):
        raise CheckpointError(f"LBFGS.load_state_dict: state {key!r} should be an array or a number, got "
                              f"{type(value).__name__}") from None
    if numel is not None:
        if array.shape != (numel,):
            raise CheckpointError(
                f"LBFGS.load_state_dict: state {key!r} has shape {fmt_shape(array.shape)}, but the parameters have "
                f"{numel} elements in all, so a flat vector of shape ({numel},) was expected; is this checkpoint "
                f"from another model?"
            )
        return array
    if array.size != 1:
        raise CheckpointError(f"LBFGS.load_state_dict: state {key!r} should be a scalar, got shape "
                              f"{fmt_shape(array.shape)}")
    return array.reshape(())[()]
