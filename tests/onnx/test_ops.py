"""Every converter, one row each: a one-op model exported on a batch of 2 and run in onnxruntime on a
batch of 5 must equal gradstep's output (float32: atol 1e-5, rtol 1e-5)."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.nn as nn
import gradstep.nn.functional as F
from gradstep.ops.matmul import linear_relu

R = np.random.default_rng(7)
C = {  # constants the rows close over (same values at both batch sizes)
    "w34": gs.tensor(R.standard_normal((3, 4), dtype=np.float32)),
    "w4": gs.tensor(R.standard_normal(4, dtype=np.float32)),
    "idx": gs.tensor([2, 0, 3, 3]),
    "mask4": gs.tensor([True, False, True, False]),
    "conv1d": gs.tensor(R.standard_normal((6, 3, 3), dtype=np.float32)),
    "conv2d_g": gs.tensor(R.standard_normal((4, 1, 3, 2), dtype=np.float32)),
    "deconv": gs.tensor(R.standard_normal((2, 3, 3, 3), dtype=np.float32)),
    "bias6": gs.tensor(R.standard_normal(6, dtype=np.float32)),
    "bias3": gs.tensor(R.standard_normal(3, dtype=np.float32)),
    "gn_w": gs.tensor(R.standard_normal(4, dtype=np.float32)),
    "fmask": gs.tensor(np.where(R.random((6, 6)) < 0.3, -np.inf, R.standard_normal((6, 6))).astype(np.float32)),
    "bmask": gs.tensor(R.random((6, 6)) < 0.6),
}


def _x(*shape):
    return lambda n: R.standard_normal((n,) + shape, dtype=np.float32)


def _pos(*shape):
    return lambda n: R.random((n,) + shape, dtype=np.float32) + 0.5


def _ids(high, *shape):
    return lambda n: R.integers(0, high, (n,) + shape)


ROWS = [
    # elementwise and activations
    ("add_sub_mul_div", lambda x: (x + 1.5) * x - x / (x * x + 1), _x(3, 4)),
    ("pow_exp_log_sqrt", lambda x: x.pow(2.5).log() + x.exp().sqrt() + x ** 2, _pos(4)),
    ("rsqrt_abs_sign_neg", lambda x: x.rsqrt() + (-x).abs() * x.sign(), _pos(4)),
    ("sin_cos_tanh_sigmoid", lambda x: x.sin() * x.cos() + x.tanh() - x.sigmoid(), _x(4)),
    ("relu_leaky_silu", lambda x: F.relu(x) + F.leaky_relu(x, 0.2) + F.silu(x), _x(4)),
    ("gelu_both", lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), _x(4)),
    ("softplus", lambda x: F.softplus(x * 10, beta=2.0, threshold=5.0) + F.softplus(x), _x(4)),
    ("clamp_scalars", lambda x: x.clamp(-0.5, 0.5) + x.clamp(min=0.1) + x.clamp(max=-0.2), _x(4)),
    ("clamp_tensors", lambda x: x.clamp(min=-C["w4"].abs(), max=C["w4"].abs()), _x(4)),
    ("maximum_minimum", lambda x: gs.maximum(x, C["w4"]) - gs.minimum(x, 0.0), _x(4)),
    ("where_masked_fill", lambda x: gs.where(C["mask4"], x, -x).masked_fill(C["mask4"], 3.0), _x(2, 4)),
    ("compare_and_logic", lambda x: (((x > 0) & ~(x < -0.5)) | (x == 0)).float() + (x >= 0.2).float()
     - (x != x.flip(1)).float() + ((x <= 0) ^ (x > 1)).float(), _x(4)),
    ("mask_from_comparison", lambda x: x.masked_fill(x < 0, -1.0) + gs.where(x > 0.5, x, x * 0), _x(4)),
    ("float_floordiv_mod", lambda x: (x * 5) // 2 + (x * 5) % 1.5 + (x * 5) % -1.5, _x(4)),
    ("cast_clone", lambda x: x.double().float().clone() + x.long().float(), _x(4)),
    # products
    ("matmul_linear", lambda x: x @ C["w34"].T + F.linear(x, C["w34"], C["bias3"]), _x(4)),
    ("linear_relu_fused", lambda x: linear_relu(x, C["w34"], C["bias3"]) + linear_relu(x, C["w34"]), _x(4)),
    ("linear_3d_and_vector", lambda x: F.linear(x, C["w34"]).sum(-1) + x @ C["w4"], _x(2, 4)),
    ("batched_matmul", lambda x: x @ x.transpose(-1, -2), _x(3, 4)),
    # reductions
    ("sum_mean", lambda x: x.sum(1) + x.mean((1, 2), keepdim=True).squeeze(-1) + x.sum(), _x(3, 4)),
    ("var_std", lambda x: (x.var(1), x.std(-1, keepdim=True), x.var(1, correction=0), x.std()), _x(3, 3)),
    ("amax_amin_max_min", lambda x: x.amax(1) + x.amin((1, 2), keepdim=True).squeeze(1) + x.max(1).values
     - x.min(-1, keepdim=True)[0].transpose(1, 2), _x(3, 3)),
    ("logsumexp_prod_cumsum", lambda x: (x * 40).logsumexp(-1) + x.prod(1) + x.cumsum(1).sum(-1), _x(3, 3)),
    ("norms", lambda x: x.norm(dim=1) + x.norm(p=1, dim=1) + x.norm(p=3, dim=1)
     + x.norm(p=float("inf"), dim=1) - x.norm(p=float("-inf"), dim=1), _x(3)),
    ("softmax_log_softmax", lambda x: x.softmax(1) + x.log_softmax(-1), _x(3, 4)),
    # movement
    ("reshape_view_flatten", lambda x: x.reshape(x.shape[0], 4, 3).flatten(1).view(-1, 2, 6)[:, 1], _x(3, 4)),
    ("permute_transpose", lambda x: x.permute(2, 0, 1).transpose(0, 2).contiguous() * 2, _x(3, 4)),
    ("unsqueeze_expand", lambda x: x.unsqueeze(1).expand(-1, 3, 4) + C["w4"].expand(x.shape[0], 3, 4), _x(4)),
    ("repeat_tile", lambda x: x.repeat(1, 2).sum(-1) + x.repeat(2, 1, 1).sum((0, 2)), _x(4)),
    ("cat_stack", lambda x: gs.cat([x, x * 2], 1).sum(-1, keepdim=True) + gs.stack([x, -x], -1).sum(-1), _x(4)),
    ("split_chunk", lambda x: sum(x.split([1, 3], 1)[1].chunk(3, 1)), _x(4)),
    ("flip", lambda x: x.flip(1) - x.flip(-1, 1), _x(3, 4)),
    ("basic_slicing", lambda x: x[:, 1:, ::2] + x[:, None, -1, 1::2] + x[..., ::-2][:, :2], _x(3, 4)),
    ("int_and_negative_index", lambda x: x[:, -1] * x[:, 0, None][:, 0], _x(3, 4)),
    ("slice_batch_dim", lambda x: x[1:] * 2, _x(3)),
    ("slice_bound_from_batch", lambda x: x[:, :x.shape[0]], _x(8)),
    ("expand_and_reshape_two_batch_dims", lambda x: x.unsqueeze(0).expand(x.shape[0], -1, -1)
     .reshape(x.shape[0], x.shape[0], 2, 2).sum((0, 3)), _x(4)),
    ("advanced_index", lambda x: x[:, C["idx"]] + x[:, [1, 1, 0, 2]], _x(4)),
    ("bool_mask_index", lambda x: x[:, C["mask4"]], _x(4)),
    ("index_select_gather", lambda x: x.index_select(1, C["idx"]) + x.gather(1, C["idx"].expand(x.shape[0], 4)), _x(4)),
    ("gather_narrow_index", lambda x: x.gather(1, gs.tensor([[0, 2], [1, 1]]).expand(x.shape[0], 2, 2)), _x(3, 4)),
    ("tril_triu", lambda x: x.tril() + x.triu(1) * 2 + x.tril(-1), _x(4, 4)),
    ("pad_constant", lambda x: F.pad(x, (1, 2, 0, -1), value=0.5), _x(3, 4)),
    ("pad_reflect_replicate", lambda x: F.pad(x, (2, 1), mode="reflect") + F.pad(x, (1, 2), mode="replicate"), _x(2, 5)),
    ("pad_circular", lambda x: F.pad(x, (1, 2, 2, 0), mode="circular"), _x(2, 3, 4)),
    # layers
    ("conv1d_stride_dilation", lambda x: F.conv1d(x, C["conv1d"], C["bias6"], stride=2, padding=2, dilation=2), _x(3, 9)),
    ("conv2d_groups_same", lambda x: F.conv2d(x, C["conv2d_g"], padding="same", groups=2), _x(2, 5, 6)),
    ("conv_transpose2d", lambda x: F.conv_transpose2d(x, C["deconv"], C["bias3"], stride=2, padding=1,
                                                     output_padding=1), _x(2, 4, 3)),
    ("max_pool_ceil_pad_dilation", lambda x: (F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
                                              F.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True)), _x(2, 7, 7)),
    ("max_pool1d", lambda x: F.max_pool1d(x, 2), _x(3, 8)),
    ("avg_pool_divisors", lambda x: (F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False),
                                     F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True),
                                     F.avg_pool2d(x, 2, divisor_override=3)), _x(2, 8, 8)),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 1, padding=1), _x(3, 8)),
    ("adaptive_avg_pool", lambda x: F.adaptive_avg_pool2d(x, (3, 2)).sum((2, 3)) + F.adaptive_avg_pool2d(x, 1)
     .flatten(1), _x(2, 7, 5)),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), _x(2, 7)),
    ("layer_norm_no_affine", lambda x: F.layer_norm(x, (3, 4)) + F.layer_norm(x, (4,), C["w4"]), _x(3, 4)),
    ("group_norm", lambda x: F.group_norm(x, 2, C["gn_w"], C["gn_w"] * 0.5), _x(4, 3, 2)),
    ("group_norm_2d_input", lambda x: F.group_norm(x, 4), _x(4)),
    ("embedding_from_float", lambda x: F.embedding(C["idx"], C["w34"].T) * x, _x(4, 3)),
    ("sdpa_causal", lambda x: F.scaled_dot_product_attention(x, x * 0.5, -x, is_causal=True), _x(2, 6, 4)),
    ("sdpa_bool_mask", lambda x: F.scaled_dot_product_attention(x, x, x, attn_mask=C["bmask"]), _x(6, 4)),
    ("sdpa_float_mask_full_rows", lambda x: F.scaled_dot_product_attention(x, x, x, attn_mask=C["fmask"], scale=0.3),
     _x(6, 4)),
    ("sdpa_gqa", lambda x: F.scaled_dot_product_attention(x, x[:, :2], x[:, 2:], enable_gqa=True), _x(4, 6, 4)),
]


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("name, fn, make", ROWS, ids=[r[0] for r in ROWS])
def test_op(roundtrip, name, fn, make):
    roundtrip(_Fn(fn), gs.tensor(make(2)), make(5))


def test_masks_computed_at_run_time_from_inputs(roundtrip):
    # a float mask that is an input: rows may be fully masked, which the graph handles at run time
    def fn(x, mask):
        return F.scaled_dot_product_attention(x, x, x, attn_mask=mask)

    mask = np.where(R.random((5, 4, 4)) < 0.5, -np.inf, 0).astype(np.float32)
    mask[0, 1] = -np.inf
    roundtrip(fn, (gs.randn(2, 4, 3), gs.tensor(mask[:2])), R.standard_normal((5, 4, 3), dtype=np.float32), mask)


def test_batch_norm_eval(roundtrip):
    gs.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.BatchNorm1d(12),
                          nn.Linear(12, 4), nn.BatchNorm1d(4, affine=False))
    model.train()
    for _ in range(3):  # give the running statistics non-trivial values
        model(gs.randn(8, 2, 4, 4) * 3 + 1)
    roundtrip(model, gs.randn(2, 2, 4, 4), R.standard_normal((5, 2, 4, 4), dtype=np.float32))


def test_int_inputs_and_integer_ops(roundtrip):
    def fn(ids):
        pad = ids == 0
        return ((ids * 2 + 1).sum(-1), ids.flip(1), ids // 3 + (-ids) // 3 + ids % 4 + (-ids) % 3,
                (ids & 5) | (~ids ^ 2), pad.float(), ids.float().masked_fill(pad, -1.0))

    roundtrip(fn, gs.tensor(R.integers(0, 9, (2, 4))), R.integers(0, 9, (5, 4)))
