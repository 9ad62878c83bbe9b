"""Property-based tests (hypothesis) of broadcasting, shape ops and indexing, against PyTorch."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradstep as gs

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_broadcast_grad_has_input_shape(torch, bs):
    (sa, sb), out_shape = bs.input_shapes, bs.result_shape
    a, b = _data(sa, 1), _data(sb, 2)
    seed = _data(out_shape, 3)
    ga, gb = gs.tensor(a, requires_grad=True), gs.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (ga * gb + ga).backward(gs.tensor(seed))
    (ta * tb + ta).backward(torch.tensor(seed))
    assert ga.grad.shape == sa and gb.grad.shape == sb
    _close(ga.grad.numpy(), ta.grad.numpy())
    _close(gb.grad.numpy(), tb.grad.numpy())
    # expand to the common shape, explicitly: same gradient
    ea = gs.tensor(a, requires_grad=True)
    ea.expand(out_shape).backward(gs.tensor(seed))
    assert ea.grad.shape == sa
    _close(ea.grad.numpy(), torch.tensor(seed).sum_to_size(sa).numpy() if sa else seed.sum())


@SETTINGS
@given(shapes, st.randoms(use_true_random=False))
def test_permute_round_trip(torch, shape, rnd):
    dims = list(range(len(shape)))
    rnd.shuffle(dims)
    x = gs.tensor(_data(shape), requires_grad=True)
    y = x.permute(*dims)
    assert y.shape == tuple(shape[d] for d in dims)
    assert np.array_equal(y.detach().numpy(), torch.tensor(_data(shape)).permute(tuple(dims)).numpy())
    inverse = [dims.index(i) for i in range(len(dims))]
    back = y.permute(*inverse)
    assert np.array_equal(back.detach().numpy(), x.detach().numpy())
    seed = _data(shape, 5)
    back.backward(gs.tensor(seed))
    assert np.array_equal(x.grad.numpy(), seed)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), st.data())
def test_transpose_twice_is_identity(shape, data):
    d0 = data.draw(st.integers(-len(shape), len(shape) - 1))
    d1 = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = gs.tensor(_data(shape), requires_grad=True)
    y = x.transpose(d0, d1).transpose(d0, d1)
    assert y.shape == x.shape and np.array_equal(y.detach().numpy(), x.detach().numpy())
    (y * 3).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.full(shape, 3, np.float32))


@SETTINGS
@given(shapes, st.data())
def test_reshape_round_trip(torch, shape, data):
    n = int(np.prod(shape))
    # a random factorisation of n (with 1s and a -1 thrown in)
    target, rest = [], n
    for _ in range(data.draw(st.integers(0, 3))):
        divisors = [k for k in range(1, rest + 1) if rest % k == 0] if rest else [0, 1]
        k = data.draw(st.sampled_from(divisors))
        target.append(k)
        rest = rest // k if k else rest
    if rest != 1 or not target or n == 0:
        target.append(rest if n else 0)
    if n and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    arr = _data(shape)
    x = gs.tensor(arr, requires_grad=True)
    y = x.reshape(*target)
    want = torch.tensor(arr).reshape(*target)
    assert y.shape == tuple(want.shape)
    assert np.array_equal(y.detach().numpy(), want.numpy())
    back = y.reshape(shape)
    seed = _data(shape, 7)
    back.backward(gs.tensor(seed))
    assert x.grad.shape == tuple(shape) and np.array_equal(x.grad.numpy(), seed)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), st.data())
def test_cat_then_split_is_identity(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    parts = []
    for i, s in enumerate(sizes):
        part_shape = list(shape)
        part_shape[dim] = s
        parts.append(gs.tensor(_data(part_shape, i), requires_grad=True))
    whole = gs.cat(parts, dim)
    pieces = whole.split(sizes, dim)
    assert len(pieces) == len(parts)
    loss = 0
    for i, (p, q) in enumerate(zip(parts, pieces)):
        assert p.shape == q.shape and np.array_equal(p.detach().numpy(), q.detach().numpy())
        loss = loss + (q * (i + 1)).sum()
    if isinstance(loss, gs.Tensor) and loss.requires_grad:
        loss.backward()
        for i, p in enumerate(parts):
            assert p.grad.shape == p.shape
            assert np.array_equal(p.grad.numpy(), np.full(p.shape, i + 1, np.float32))


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_stack_then_unbind_is_identity(shape, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    k = data.draw(st.integers(1, 3))
    xs = [gs.tensor(_data(shape, i), requires_grad=True) for i in range(k)]
    back = gs.stack(xs, dim).unbind(dim)
    total = 0
    for i, (x, y) in enumerate(zip(xs, back)):
        assert np.array_equal(x.detach().numpy(), y.detach().numpy())
        total = total + y.sum() * (i + 2)
    total.backward()
    for i, x in enumerate(xs):
        assert np.array_equal(x.grad.numpy(), np.full(shape, i + 2, np.float32))


def _index_entry(draw, size):
    kind = draw(st.sampled_from(["int", "slice", "array", "mask", "none", "bool", "full"]))
    if kind == "int":
        return draw(st.integers(-size, size - 1)), 1
    if kind == "slice":
        start = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
        stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
        step = draw(st.one_of(st.none(), st.integers(1, 3)))
        return slice(start, stop, step), 1
    if kind == "array":
        return draw(st.lists(st.integers(-size, size - 1), min_size=0, max_size=3)), 1
    if kind == "mask":
        return np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))), 1
    if kind == "none":
        return None, 0
    if kind == "bool":
        return draw(st.booleans()), 0
    return slice(None), 1


def _entries(draw, sizes):
    entries, d = [], 0
    while d < len(sizes) and draw(st.booleans()):
        entry, used = _index_entry(draw, sizes[d])
        entries.append(entry)
        d += used
    return entries, d


@st.composite
def indexed(draw):
    """A shape and a random PyTorch index for it: ints, slices, None, bools, int lists, 1-d masks, one ``...``."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    entries, used = _entries(draw, shape)
    if draw(st.booleans()):
        tail_dims = draw(st.integers(0, len(shape) - used))
        tail, _ = _entries(draw, shape[len(shape) - tail_dims:]) if tail_dims else ([], 0)
        # the tail was drawn for the last tail_dims dims: full slices cover the ones it didn't use
        tail_used = sum(1 for e in tail if e is not None and not isinstance(e, bool))
        entries = entries + [Ellipsis] + tail + [slice(None)] * (tail_dims - tail_used)
    lists = [e for e in entries if isinstance(e, list)]
    masks = [e for e in entries if isinstance(e, np.ndarray)]
    if lists and masks or len(masks) > 1:  # keep the advanced indices broadcastable: masks become full slices
        entries = [slice(None) if isinstance(e, np.ndarray) else e for e in entries]
    if len({len(a) for a in lists}) > 1:
        n = len(lists[0])
        entries = [e[:n] + [0] * (n - len(e)) if isinstance(e, list) else e for e in entries]
    return shape, tuple(entries)


def _lib_index(index, lib):
    return tuple(lib.tensor(e, dtype=lib.int64) if isinstance(e, list)
                 else lib.tensor(e) if isinstance(e, np.ndarray) else e for e in index)


@SETTINGS
@given(indexed())
def test_random_index_matches_torch(torch, case):
    shape, index = case
    arr = _data(shape)

    want_t = torch.tensor(arr, requires_grad=True)
    x = gs.tensor(arr, requires_grad=True)
    try:
        want = want_t[_lib_index(index, torch)]
    except IndexError:  # e.g. index arrays that don't broadcast (a False counts as an empty one)
        with pytest.raises(IndexError):
            x[_lib_index(index, gs)]
        return
    got = x[_lib_index(index, gs)]
    assert got.shape == tuple(want.shape), f"index {index}: {got.shape} vs {tuple(want.shape)}"
    assert np.array_equal(got.detach().numpy(), want.detach().numpy())
    seed = _data(tuple(want.shape), 9)
    want.backward(torch.tensor(seed))
    got.backward(gs.tensor(seed))
    _close(x.grad.numpy(), want_t.grad.numpy())


@SETTINGS
@given(indexed())
def test_random_setitem_matches_torch(torch, case):
    shape, index = case
    if any(isinstance(e, list) and len(set(e)) != len(e) for e in index):
        return  # with repeated positions which write wins is unspecified
    arr = _data(shape)
    t_index, g_index = _lib_index(index, torch), _lib_index(index, gs)
    try:
        target_shape = tuple(torch.tensor(arr)[t_index].shape)
    except IndexError:
        return
    value = _data(target_shape, 4)
    tx, tv = torch.tensor(arr, requires_grad=True), torch.tensor(value, requires_grad=True)
    gx, gv = gs.tensor(arr, requires_grad=True), gs.tensor(value, requires_grad=True)
    ty, gy = tx * 1, gx * 1
    ty[t_index] = tv
    gy[g_index] = gv
    assert np.array_equal(gy.detach().numpy(), ty.detach().numpy())
    seed = _data(shape, 6)
    (ty * torch.tensor(seed)).sum().backward()
    (gy * gs.tensor(seed)).sum().backward()
    _close(gx.grad.numpy(), tx.grad.numpy())
    _close(gv.grad.numpy(), tv.grad.numpy())


@pytest.mark.parametrize("seed", range(3))
def test_gather_is_inverse_of_scatter_positions(seed):
    rng = np.random.default_rng(seed)
    x = gs.tensor(rng.standard_normal((3, 5)).astype(np.float32))
    perm = gs.tensor(np.stack([rng.permutation(5) for _ in range(3)]))
    scattered = gs.zeros(3, 5).scatter(1, perm, x)
    assert np.array_equal(scattered.gather(1, perm).numpy(), x.numpy())
