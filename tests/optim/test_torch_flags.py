"""torch.optim's implementation flags (foreach, fused, capturable, differentiable) and Adam's decoupled_weight_decay.

The constructors take torch 2.13's signatures (positional order included); foreach/fused change no number;
capturable/differentiable=True raise NotSupported; Adam(decoupled_weight_decay=True) is torch's, step for step.
"""
import inspect
import json

import numpy as np
import pytest

import gradstep as gs
from gradstep import optim
from gradstep.errors import NotSupported
from tests.optim.test_optimizers import TOL, _data, _pair, _set_grads

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax", "Adadelta"]
FLAGS = ("foreach", "fused", "capturable", "differentiable")
# torch 2.13 takes these flags by position too (after the last numeric option); the rest are keyword-only.
POSITIONAL_FLAGS = {"RMSprop": ["capturable", "foreach", "differentiable"], "Adagrad": ["foreach"],
                    "Adamax": ["foreach"], "Adadelta": ["foreach"]}
# Options under which every part of each update runs within a few steps.
KWARGS = {
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=0.1),
    "Adam": dict(lr=0.01, weight_decay=0.1, amsgrad=True),
    "AdamW": dict(lr=0.01, weight_decay=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
    "Adagrad": dict(lr=0.1, lr_decay=0.05, weight_decay=0.1),
    "NAdam": dict(lr=0.01, weight_decay=0.1),
    "RAdam": dict(lr=0.01, weight_decay=0.1),
    "Adamax": dict(lr=0.01, weight_decay=0.1),
    "Adadelta": dict(lr=0.5, weight_decay=0.1),
}
SHAPES = [(3, 4), (5,), ()]
STEPS = 4


def _options(cls) -> list:
    """The constructor's parameters after ``self`` and ``params``."""
    return list(inspect.signature(cls.__init__).parameters.values())[2:]


def _flags_of(name) -> list:
    return [p.name for p in _options(getattr(optim, name)) if p.name in FLAGS]


def _run(make, init, grads, torch=None):
    """Parameters after stepping an optimizer made by ``make(params)`` through ``grads``."""
    params = [torch.tensor(a.copy(), requires_grad=True) if torch else gs.tensor(a.copy(), requires_grad=True)
              for a in init]
    opt = make(params)
    for gr in grads:
        for p, g in zip(params, gr):
            p.grad = torch.tensor(g) if torch else gs.tensor(g)
        opt.step()
    return [p.detach().numpy() if torch else p.numpy(force=True) for p in params]


def _close(gs_params, torch_params, where):
    for i, (a, b) in enumerate(zip(gs_params, torch_params)):
        assert a.dtype == b.dtype == np.float32, where
        np.testing.assert_allclose(a, b, **TOL, err_msg=f"{where}: param {i}")


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_torchs(name, torch):
    """Every option of torch's constructor, in its order, of its kind (positional or keyword-only), with its default."""
    ours = [(p.name, p.kind, p.default) for p in _options(getattr(optim, name))]
    theirs = [(p.name, p.kind, p.default) for p in _options(getattr(torch.optim, name))]
    assert ours == theirs
    positional = [p.name for p in _options(getattr(optim, name))
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.name in FLAGS]
    assert positional == POSITIONAL_FLAGS.get(name, [])


def _keyword_cases():
    cases = []
    for name in NAMES:
        flags = _flags_of(name)
        cases += [(name, dict(foreach=True)), (name, dict(foreach=False))]
        if "fused" in flags:
            cases += [(name, dict(fused=True)), (name, dict(fused=False, foreach=None))]
        cases.append((name, {f: (None if f in ("foreach", "fused") else False) for f in flags}))  # all, explicit
    return cases


@pytest.mark.parametrize("name,flags", _keyword_cases(), ids=lambda v: v if isinstance(v, str) else str(v))
def test_flags_by_keyword_change_no_number(name, flags, torch):
    init, grads = _data(0, shapes=SHAPES, steps=STEPS)
    kwargs = KWARGS[name]
    plain = _run(lambda ps: getattr(optim, name)(ps, **kwargs), init, grads)
    flagged = _run(lambda ps: getattr(optim, name)(ps, **kwargs, **flags), init, grads)
    for a, b in zip(plain, flagged):
        np.testing.assert_array_equal(a, b)
    reference = _run(lambda ps: getattr(torch.optim, name)(ps, **kwargs, **flags), init, grads, torch=torch)
    _close(flagged, reference, f"{name}{flags}")


def _positional_call(name, kwargs, flags):
    """(args, kwargs) passing ``flags`` and every option before them by position, the other options by keyword."""
    positional = [p for p in _options(getattr(optim, name)) if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    last = max(i for i, p in enumerate(positional) if p.name in flags)
    values = {**kwargs, **flags}
    head = positional[:last + 1]
    args = [values.get(p.name, p.default) for p in head]
    return args, {k: v for k, v in values.items() if k not in {p.name for p in head}}


@pytest.mark.parametrize("foreach", [True, False, None])
@pytest.mark.parametrize("name", sorted(POSITIONAL_FLAGS))
def test_flags_by_position(name, foreach, torch):
    flags = {flag: (foreach if flag == "foreach" else False) for flag in POSITIONAL_FLAGS[name]}
    args, kwargs = _positional_call(name, KWARGS[name], flags)
    assert len(args) > len(KWARGS[name])  # the flags really go by position
    init, grads = _data(1, shapes=SHAPES, steps=STEPS)
    ours = _run(lambda ps: getattr(optim, name)(ps, *args, **kwargs), init, grads)
    theirs = _run(lambda ps: getattr(torch.optim, name)(ps, *args, **kwargs), init, grads, torch=torch)
    _close(ours, theirs, f"{name}{args}")
    plain = _run(lambda ps: getattr(optim, name)(ps, **KWARGS[name]), init, grads)
    for a, b in zip(plain, ours):
        np.testing.assert_array_equal(a, b)


def test_rmsprop_positional_maximize(torch):
    """RMSprop's maximize is positional in torch (after foreach): it must land there, not on a flag."""
    init, grads = _data(2, shapes=SHAPES, steps=STEPS)
    args = (0.01, 0.99, 1e-8, 0, 0, False, False, None, True)
    ours = _run(lambda ps: optim.RMSprop(ps, *args), init, grads)
    theirs = _run(lambda ps: torch.optim.RMSprop(ps, *args), init, grads, torch=torch)
    _close(ours, theirs, "RMSprop maximize by position")
    assert optim.RMSprop([gs.tensor([1.0], requires_grad=True)], *args).param_groups[0]["maximize"] is True


@pytest.mark.parametrize("name,flag", [(n, f) for n in NAMES for f in _flags_of(n)
                                       if f in ("capturable", "differentiable")])
def test_capturable_and_differentiable_are_not_supported(name, flag):
    cls = getattr(optim, name)
    with pytest.raises(NotSupported, match=f"{name}: {flag}=True is not available in gradstep"):
        cls([gs.tensor([1.0], requires_grad=True)], **{flag: True})
    with pytest.raises(NotImplementedError, match=flag):  # NotSupported is also the builtin
        cls([{"params": [gs.tensor([1.0], requires_grad=True)], flag: True}])
    opt = cls([gs.tensor([1.0], requires_grad=True)])
    with pytest.raises(NotSupported, match=flag):
        opt.add_param_group({"params": [gs.tensor([2.0], requires_grad=True)], flag: True})
    assert len(opt.param_groups) == 1


def test_positional_capturable_is_not_supported():
    with pytest.raises(NotSupported, match="RMSprop: capturable=True"):
        optim.RMSprop([gs.tensor([1.0], requires_grad=True)], 0.01, 0.99, 1e-8, 0, 0, False, True)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_are_torchs_without_the_flags(name, torch):
    """gradstep's groups hold torch's options minus the implementation flags, given or loaded."""
    flags = {f: (None if f in ("foreach", "fused") else False) for f in _flags_of(name)}
    g_opt = getattr(optim, name)([gs.tensor([1.0], requires_grad=True)], **KWARGS[name], **flags)
    t_opt = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)], **KWARGS[name], **flags)
    g_group = {k: v for k, v in g_opt.param_groups[0].items() if k != "params"}
    t_group = {k: v for k, v in t_opt.param_groups[0].items() if k != "params" and k not in FLAGS}
    assert g_group == t_group
    g_opt.add_param_group({"params": [gs.tensor([2.0], requires_grad=True)], "foreach": True})
    assert "foreach" not in g_opt.param_groups[1]


@pytest.mark.parametrize("name", NAMES)
def test_loads_torch_state_dict_with_flags(name, torch):
    """torch's state_dict() as it is (tensors, flags in the groups) continues the run in gradstep."""
    init, grads = _data(3, shapes=SHAPES, steps=2 * STEPS)
    gp, tp = _pair(torch, init)
    t_opt = getattr(torch.optim, name)(tp, **KWARGS[name], foreach=False)
    for gr in grads[:STEPS]:
        _set_grads(torch, gp, tp, gr)
        t_opt.step()
    for a, b in zip(gp, tp):
        a.numpy(force=True)[...] = b.detach().numpy()
    g_opt = getattr(optim, name)(gp, lr=0.5)
    t_sd = t_opt.state_dict()
    assert "foreach" in t_sd["param_groups"][0]
    g_opt.load_state_dict(t_sd)
    assert not set(FLAGS) & set(g_opt.param_groups[0])
    for gr in grads[STEPS:]:
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
    _close([p.numpy(force=True) for p in gp], [p.detach().numpy() for p in tp], f"{name} after loading")


# ------------------------------------------------------------ Adam's decoupled_weight_decay

ADAM_DECOUPLED = [dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, weight_decay=0.5, amsgrad=True, maximize=True)]


@pytest.mark.parametrize("kwargs", ADAM_DECOUPLED, ids=str)
def test_adam_decoupled_is_torchs(kwargs, torch):
    init, grads = _data(4, shapes=SHAPES, steps=STEPS)
    ours = _run(lambda ps: optim.Adam(ps, **kwargs, decoupled_weight_decay=True), init, grads)
    theirs = _run(lambda ps: torch.optim.Adam(ps, **kwargs, decoupled_weight_decay=True), init, grads, torch=torch)
    _close(ours, theirs, "Adam(decoupled_weight_decay=True)")
    adamw = _run(lambda ps: optim.AdamW(ps, **kwargs), init, grads)
    for a, b in zip(adamw, ours):
        np.testing.assert_array_equal(a, b)
    coupled = _run(lambda ps: optim.Adam(ps, **kwargs), init, grads)
    assert not np.allclose(coupled[0], ours[0])  # the flag does change the update


def test_adam_decoupled_per_group(torch):
    """One group decoupled, one not (and AdamW with a coupled group), as torch reads it per group."""
    init, grads = _data(5, shapes=SHAPES, steps=STEPS)
    for cls, extra in (("Adam", dict(decoupled_weight_decay=True)), ("AdamW", dict(decoupled_weight_decay=False))):
        def groups(ps):
            return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02, **extra}]
        ours = _run(lambda ps: getattr(optim, cls)(groups(ps), lr=0.01, weight_decay=0.2), init, grads)
        theirs = _run(lambda ps: getattr(torch.optim, cls)(groups(ps), lr=0.01, weight_decay=0.2), init, grads,
                      torch=torch)
        _close(ours, theirs, f"{cls} with {extra} in one group")


def test_adam_decoupled_state_dict_round_trip(torch):
    """The option is in the groups (as torch's), survives a JSON checkpoint, and torch reads it back."""
    init, grads = _data(6, shapes=SHAPES, steps=2 * STEPS)
    gp, tp = _pair(torch, init)
    g_opt = optim.Adam(gp, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    t_opt = torch.optim.Adam(tp, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    for gr in grads[:STEPS]:
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
    g_sd = g_opt.state_dict()
    assert g_sd["param_groups"][0]["decoupled_weight_decay"] is True
    arrays, meta = optim.flatten_state_dict(g_sd)
    resumed = [gs.tensor(p.numpy(force=True).copy(), requires_grad=True) for p in gp]
    g_opt2 = optim.Adam(resumed, lr=0.5)  # coupled: the option comes from the checkpoint
    g_opt2.load_state_dict(optim.unflatten_state_dict(arrays, json.loads(json.dumps(meta))))
    assert g_opt2.param_groups[0]["decoupled_weight_decay"] is True
    t_opt2 = torch.optim.Adam([torch.tensor(p.numpy(force=True).copy(), requires_grad=True) for p in gp], lr=0.5)
    t_opt2.load_state_dict({"state": {i: {k: torch.tensor(v) for k, v in s.items()} for i, s in g_sd["state"].items()},
                            "param_groups": g_sd["param_groups"]})
    assert t_opt2.param_groups[0]["decoupled_weight_decay"] is True
    t2 = t_opt2.param_groups[0]["params"]
    for gr in grads[STEPS:]:
        _set_grads(torch, resumed, tp, gr)
        for p, g in zip(t2, gr):
            p.grad = torch.tensor(g)
        g_opt2.step()
        t_opt.step()
        t_opt2.step()
    ours = [p.numpy(force=True) for p in resumed]
    _close(ours, [p.detach().numpy() for p in tp], "resumed Adam vs uninterrupted torch")
    _close(ours, [p.detach().numpy() for p in t2], "resumed Adam vs torch resumed from gradstep's state")


def test_old_checkpoints_keep_their_kind():
    """Groups saved before the option existed: Adam stays coupled, AdamW decoupled (AdamW always is, as torch's)."""
    for cls, expected in ((optim.Adam, False), (optim.AdamW, True)):
        opt = cls([gs.tensor([1.0, 2.0], requires_grad=True)], weight_decay=0.1)
        sd = opt.state_dict()
        del sd["param_groups"][0]["decoupled_weight_decay"]
        opt.load_state_dict(sd)
        assert opt.param_groups[0]["decoupled_weight_decay"] is expected
    opt = optim.AdamW([gs.tensor([1.0], requires_grad=True)])
    sd = opt.state_dict()
    sd["param_groups"][0]["decoupled_weight_decay"] = False
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True
