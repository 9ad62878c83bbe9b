"""embedding_bag / EmbeddingBag and the 3-d pools against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.errors import IndexOutOfRange, InvalidArgument, NotSupported, ShapeError
from gradstep.nn.embedding_bag import EmbeddingBag
from gradstep.nn.pool3d import AdaptiveAvgPool3d, AvgPool3d, MaxPool3d
from gradstep.ops.embedding_bag import embedding_bag
from gradstep.ops.pool3d import adaptive_avg_pool3d, avg_pool3d, max_pool3d
from tests.oracle import check

MODES = ["sum", "mean", "max"]
IDX = np.array([1, 2, 2, 5, 0, 2, 3, 1, 4])  # repeats, and the padding row (2) inside bags


def _bag(lib, idx, offsets=None, **kw):
    def fn(w, *psw):
        if psw:
            kw["per_sample_weights"] = psw[0]
        off = None if offsets is None else (gs.tensor(offsets) if lib is gs else lib.tensor(offsets))
        i = gs.tensor(idx) if lib is gs else lib.tensor(idx)
        if lib is gs:
            return embedding_bag(i, w, off, **kw)
        return lib.nn.functional.embedding_bag(i, w, off, **kw)
    return fn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 2, -4])
@pytest.mark.parametrize("mode", MODES)
def test_fixed_length_bags(mode, padding_idx, dtype, torch, rng):
    w = rng.standard_normal((6, 4)).astype(dtype)
    idx = IDX[:8].reshape(4, 2)  # bag [2, 2] is padding only when padding_idx=2: zeros
    kw = dict(mode=mode, padding_idx=padding_idx)
    check(_bag(gs, idx, **kw), _bag(torch, idx, **kw), [w], torch=torch)


@pytest.mark.parametrize("include_last_offset", [False, True])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("offsets", [[0, 3, 3, 6], [0, 0, 4, 9], [0, 9], [0]], ids=str)
def test_offsets_with_empty_bags(offsets, mode, padding_idx, include_last_offset, torch, rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    kw = dict(mode=mode, padding_idx=padding_idx, include_last_offset=include_last_offset)
    off = np.array(offsets + [len(IDX)] if include_last_offset else offsets)  # CSR: the last offset closes the last bag
    out = check(_bag(gs, IDX, off, **kw), _bag(torch, IDX, off, **kw), [w], torch=torch)
    assert out.shape[0] == len(offsets)


def test_include_last_offset_must_close_the_input(rng):
    """PyTorch's kernels disagree on a last offset short of the input's end (float32 sum stops there, float64
    runs on): gradstep refuses it."""
    w = gs.tensor(rng.standard_normal((6, 3)))
    with pytest.raises(InvalidArgument, match=r"embedding_bag: with include_last_offset=True, offsets\[-1\] must"):
        embedding_bag(gs.tensor(IDX), w, gs.tensor([0, 3, 6]), include_last_offset=True)
    assert embedding_bag(gs.tensor(IDX[:0]), w, gs.tensor([0]), include_last_offset=True).shape == (0, 3)


@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("two_d", [False, True])
def test_per_sample_weights(two_d, padding_idx, torch, rng):
    w = rng.standard_normal((6, 3))
    if two_d:
        idx, off = IDX[:8].reshape(2, 4), None
    else:
        idx, off = IDX, np.array([0, 2, 2, 5])
    psw = rng.standard_normal(idx.shape)
    kw = dict(mode="sum", padding_idx=padding_idx)
    check(_bag(gs, idx, off, **kw), _bag(torch, idx, off, **kw), [w, psw], torch=torch)


@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq(mode, padding_idx, torch, rng):
    """Each row's gradient divided by its index's count in the input, as F.embedding does.

    Oracle: torch's F.embedding(scale_grad_by_freq=True) reduced per bag. (torch 2.13's CPU embedding_bag
    kernel divides by the count of the wrong index: counts[sorted_indices[run number]] instead of the run's
    own index, e.g. idx [5, 5, 3, 1, 1, 1] gives row 3 a third of its gradient; gradstep follows the documented rule.)
    """
    w = rng.standard_normal((6, 3))
    off = np.array([0, 3, 3, 6])
    bag_of = np.repeat(np.arange(4), np.diff(np.append(off, len(IDX))))
    keep = np.ones(len(IDX)) if padding_idx is None else (IDX != padding_idx).astype(float)
    counts = np.bincount(bag_of, weights=keep, minlength=4)
    scale = keep / np.maximum(counts, 1)[bag_of] if mode == "mean" else keep

    def torch_fn(tw):
        rows = torch.nn.functional.embedding(torch.tensor(IDX), tw, padding_idx=padding_idx, scale_grad_by_freq=True)
        rows = rows * torch.tensor(scale)[:, None]
        return torch.zeros(4, 3, dtype=tw.dtype).index_add(0, torch.tensor(bag_of), rows)

    kw = dict(mode=mode, padding_idx=padding_idx, scale_grad_by_freq=True)
    check(_bag(gs, IDX, off, **kw), torch_fn, [w], torch=torch, gradcheck=False)


def test_scale_grad_by_freq_matches_torch_where_its_kernel_is_right(torch, rng):
    """Indices whose sorted runs line up with their counts: torch's kernel gives the documented result."""
    w = rng.standard_normal((6, 3))
    idx = np.array([4, 0, 3])  # every index once: whichever count is read, it is 1
    kw = dict(mode="sum", scale_grad_by_freq=True)
    check(_bag(gs, idx, np.array([0, 2]), **kw), _bag(torch, idx, np.array([0, 2]), **kw), [w], torch=torch)


@pytest.mark.parametrize("mode", MODES)
def test_max_norm_renormalises_rows_in_place(mode, torch, rng):
    w = (3 * rng.standard_normal((6, 3))).astype(np.float32)
    gw, tw = gs.tensor(w.copy()), torch.tensor(w.copy())
    off = np.array([0, 4])
    got = embedding_bag(gs.tensor(IDX), gw, gs.tensor(off), max_norm=1.5, norm_type=3.0, mode=mode)
    want = torch.nn.functional.embedding_bag(torch.tensor(IDX), tw, torch.tensor(off), max_norm=1.5, norm_type=3.0,
                                             mode=mode)
    np.testing.assert_allclose(gw.numpy(), tw.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(gw.numpy(), w)  # some rows were over the limit


def test_module_against_torch(torch, rng):
    t = torch.nn.EmbeddingBag(10, 4, mode="sum", include_last_offset=True, padding_idx=3)
    g = EmbeddingBag(10, 4, mode="sum", include_last_offset=True, padding_idx=3)
    assert list(g.state_dict()) == list(t.state_dict()) == ["weight"]
    assert np.all(g.weight.detach().numpy()[3] == 0)
    g.load_state_dict({"weight": gs.tensor(t.weight.detach().numpy())})
    idx, off, psw = np.array([3, 1, 9, 3, 0]), np.array([0, 2, 5]), rng.standard_normal(5).astype(np.float32)
    got = g(gs.tensor(idx), gs.tensor(off), gs.tensor(psw))
    want = t(torch.tensor(idx), torch.tensor(off), torch.tensor(psw))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(g.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [{}, {"max_norm": 1.0, "padding_idx": 2}, {"padding_idx": -1, "mode": "max"},
                                {"mode": "sum", "norm_type": 3.0, "scale_grad_by_freq": True,
                                 "include_last_offset": True}], ids=str)
def test_module_repr(kw, torch):
    assert repr(EmbeddingBag(10, 3, **kw)) == repr(torch.nn.EmbeddingBag(10, 3, **kw))


def test_from_pretrained(torch, rng):
    w = rng.standard_normal((5, 2)).astype(np.float32)
    g = EmbeddingBag.from_pretrained(gs.tensor(w), mode="max", padding_idx=1)
    t = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="max", padding_idx=1)
    assert not g.weight.requires_grad and repr(g) == repr(t)
    idx = np.array([[1, 4], [0, 1]])
    np.testing.assert_array_equal(g(gs.tensor(idx)).numpy(), t(torch.tensor(idx)).numpy())
    assert EmbeddingBag.from_pretrained(gs.tensor(w), freeze=False).weight.requires_grad
    with pytest.raises(ShapeError, match="from_pretrained"):
        EmbeddingBag.from_pretrained(gs.tensor(w[0]))


@pytest.mark.parametrize("call,err,match", [
    (lambda F, t, w: F(t([1, 2, 3]), w, t([1, 2])), InvalidArgument, r"offsets\[0\] must be 0"),
    (lambda F, t, w: F(t([1, 2, 3]), w, t([0, 2]), mode="mean", per_sample_weights=w[0]), NotSupported,
     "only supported for mode='sum'"),
    (lambda F, t, w: F(t([1, 7, 3]), w, t([0, 2])), IndexOutOfRange, "index 7 at position"),
    (lambda F, t, w: F(t([1, -1, 3]), w, t([0, 2])), IndexOutOfRange, "index -1"),
    (lambda F, t, w: F(t([1, 2, 3]), w, t([0, 2]), mode="sum", per_sample_weights=w[0, :2]), ShapeError,
     "per_sample_weights must have the input's shape"),
    (lambda F, t, w: F(t([1, 2, 3]), w), InvalidArgument, "needs offsets"),
    (lambda F, t, w: F(t([[1, 2, 3]]), w, t([0])), InvalidArgument, "offsets must be None"),
    (lambda F, t, w: F(t([1, 2, 3]), w, t([0, 2]), mode="median"), InvalidArgument, "mode must be one of"),
    (lambda F, t, w: F(t([1, 2, 3]), w, t([0, 2]), mode="max", scale_grad_by_freq=True), InvalidArgument,
     "does not support scale_grad_by_freq"),
    (lambda F, t, w: F(t([1, 2, 3]), w, t([0, 4])), InvalidArgument, r"offsets\[-1\]"),
    (lambda F, t, w: F(t([1, 2, 3]), w, t([0, 2]), padding_idx=6), InvalidArgument, "padding_idx"),
    (lambda F, t, w: F(t([[[1]]]), w), ShapeError, "1-d .* or 2-d"),
], ids=lambda v: getattr(v, "__name__", str(v))[:40])
def test_errors_name_the_op(call, err, match, torch):
    w = np.ones((6, 3), np.float32)
    with pytest.raises(err, match=match) as info:
        call(embedding_bag, lambda a: gs.tensor(np.array(a)), gs.tensor(w))
    assert "embedding_bag" in str(info.value)
    with pytest.raises(Exception):  # torch refuses these too
        call(torch.nn.functional.embedding_bag, lambda a: torch.tensor(a), torch.tensor(w))


def test_sparse_is_not_supported(rng):
    with pytest.raises(NotSupported, match="embedding_bag: sparse"):
        embedding_bag(gs.tensor([1, 2]), gs.tensor(rng.standard_normal((4, 2))), gs.tensor([0]), sparse=True)
    with pytest.raises(NotSupported, match="embedding_bag: sparse"):
        EmbeddingBag(4, 2, sparse=True)(gs.tensor([[1, 2]]))


# ------------------------------------------------------------------ 3-d pools
def _pool(lib_fn, **kw):
    return lambda x: lib_fn(x, **kw)


MAX_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 0, 1), dilation=(2, 1, 1), ceil_mode=True),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), dict(kernel_size=(1, 2, 3), stride=1)]
AVG_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
             dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 0, 1), ceil_mode=True),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
             dict(kernel_size=2, stride=1, divisor_override=3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kw", MAX_CASES, ids=str)
def test_max_pool3d(kw, batched, dtype, torch, rng):
    x = rng.standard_normal((2, 3, 5, 6, 7) if batched else (3, 5, 6, 7)).astype(dtype)
    check(_pool(max_pool3d, **kw), _pool(torch.nn.functional.max_pool3d, **kw), [x], torch=torch)


@pytest.mark.parametrize("kw", MAX_CASES, ids=str)
def test_max_pool3d_indices_and_ties(kw, torch, rng):
    x = rng.integers(0, 3, (2, 2, 5, 6, 7)).astype(np.float64)  # many ties: the first maximum wins
    out, idx = max_pool3d(gs.tensor(x), return_indices=True, **kw)
    t_out, t_idx = torch.nn.functional.max_pool3d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    check(_pool(max_pool3d, **kw), _pool(torch.nn.functional.max_pool3d, **kw), [x], torch=torch, gradcheck=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kw", AVG_CASES, ids=str)
def test_avg_pool3d(kw, batched, dtype, torch, rng):
    x = rng.standard_normal((2, 3, 5, 6, 7) if batched else (3, 5, 6, 7)).astype(dtype)
    check(_pool(avg_pool3d, **kw), _pool(torch.nn.functional.avg_pool3d, **kw), [x], torch=torch)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 3, (2, None, 4), (5, 6, 7), (7, 8, 9)], ids=str)
def test_adaptive_avg_pool3d(size, dtype, torch, rng):
    x = rng.standard_normal((2, 3, 5, 6, 7)).astype(dtype)
    check(_pool(adaptive_avg_pool3d, output_size=size), _pool(torch.nn.functional.adaptive_avg_pool3d,
                                                               output_size=size), [x], torch=torch)
    check(_pool(adaptive_avg_pool3d, output_size=size), _pool(torch.nn.functional.adaptive_avg_pool3d,
                                                               output_size=size), [x[0]], torch=torch)


@pytest.mark.parametrize("make", [
    lambda nn: nn.MaxPool3d(2), lambda nn: nn.MaxPool3d((1, 2, 3), stride=1, padding=(0, 1, 1), ceil_mode=True),
    lambda nn: nn.AvgPool3d(3, 2, padding=1, count_include_pad=False), lambda nn: nn.AvgPool3d(2, divisor_override=5),
    lambda nn: nn.AdaptiveAvgPool3d((1, None, 2)), lambda nn: nn.AdaptiveAvgPool3d(1),
])
def test_pool3d_modules(make, torch, rng):
    import types
    ours = make(types.SimpleNamespace(MaxPool3d=MaxPool3d, AvgPool3d=AvgPool3d, AdaptiveAvgPool3d=AdaptiveAvgPool3d))
    theirs = make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = rng.standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(ours(gs.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,err,match", [
    (lambda: max_pool3d(gs.zeros(2, 3, 4, 4), 2), None, None),  # unbatched 4-d is fine
    (lambda: max_pool3d(gs.zeros(3, 4, 4), 2), ShapeError, r"max_pool3d: expected input of shape \(N, C, D, H, W\)"),
    (lambda: avg_pool3d(gs.zeros(1, 1, 4, 4, 4), 2, padding=2), ShapeError, "avg_pool3d: padding must be at most half"),
    (lambda: max_pool3d(gs.zeros(1, 1, 2, 4, 4), 3), ShapeError, "max_pool3d: input .* is too small"),
    (lambda: avg_pool3d(gs.zeros(1, 1, 4, 4, 4), (2, 2)), Exception, "avg_pool3d: kernel_size must be"),
    (lambda: adaptive_avg_pool3d(gs.tensor(np.zeros((1, 1, 2, 2, 2), np.int64)), 1), Exception,
     "adaptive_avg_pool3d: expected a floating point input"),
])
def test_pool3d_errors(call, err, match):
    if err is None:
        assert call().shape == (2, 1, 2, 2)
        return
    with pytest.raises(err, match=match):
        call()
