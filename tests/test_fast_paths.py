"""Fast (channels-last, fused) backbone paths equal the plain official-structure forward.

Eval: logits of the fast path vs the plain path (and, for CTR-GCN, the per-subset ``forward_reference``)
with randomised BN statistics and non-zero attention scales (so BN folding and the learned graphs are
exercised). Train: loss and every parameter gradient match (BNs use batch statistics, not folded). A
weight change after a forward is seen by the next forward (no cached fused weights).
"""
from __future__ import annotations

import pytest
import torch

from skelzoo.blocks.channels_last import fast_paths_enabled, plain_paths
from skelzoo.models.aagcn import AAGCN
from skelzoo.models.ctrgcn import CTRGCUnit
from skelzoo.zoo import build_model

CASES = [
    ("stgcn", {"base_channels": 8}),
    ("stgcn_ssl", {"hidden_channels": 8, "hidden_dim": 32}),
    ("stgcnpp", {"base_channels": 8}),
    ("agcn", {"base_channels": 8}),
    ("agcn_loc", {"base_channels": 8}),
    ("aagcn", {}),
    ("ctrgcn", {"base_channels": 8}),
    ("ctrgcn_pyskl", {"base_channels": 8}),
    ("msg3d", {"base_channels": 6, "num_gcn_scales": 4, "num_g3d_scales": 3}),
    ("msg3d_pyskl", {"base_channels": 6, "num_gcn_scales": 4, "num_g3d_scales": 3}),
]


def _model(arch: str, kw: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    if arch == "aagcn":  # the builder has no width argument
        model = AAGCN(channels=(16, 16, 16, 16, 32, 32, 32, 64, 64, 64))
    else:
        model = build_model(arch, **kw)
    g = torch.Generator().manual_seed(1)
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.copy_(torch.rand(mod.running_mean.shape, generator=g) * 0.2 - 0.1)
            mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) * 0.4 + 0.8)
            with torch.no_grad():
                mod.weight.mul_(torch.rand(mod.weight.shape, generator=g) * 0.5 + 0.75)
                mod.bias.copy_(torch.rand(mod.bias.shape, generator=g) * 0.2 - 0.1)
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0  # masks would differ between layouts
        alpha = getattr(mod, "alpha", None)
        if isinstance(alpha, torch.nn.Parameter):
            with torch.no_grad():
                alpha.fill_(0.3)
    return model


def _input(model, t: int = 8) -> torch.Tensor:
    torch.manual_seed(2)
    return torch.randn(2, model.in_channels, t, model.num_joints, model.num_person or 1)


def _close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-5) -> float:
    scale = max(1.0, float(b.abs().max()))
    d = float((a - b).abs().max())
    assert d <= rel * scale, f"max abs diff {d:.3g} (scale {scale:.3g})"
    return d


def test_default_on():
    assert fast_paths_enabled()


@pytest.mark.parametrize("arch,kw", CASES, ids=[c[0] for c in CASES])
def test_eval_equal(arch, kw):
    model = _model(arch, kw).eval()
    x = _input(model)
    # AAGCN's attention (y·a + y, three times per block) amplifies activations ~1e4x with random weights;
    # the float32 re-association error grows with it
    rel = 3e-5 if arch == "aagcn" else 1e-5
    with torch.inference_mode():
        fast = model(x)
        with plain_paths():
            plain = model(x)
        _close(fast, plain, rel)
        if arch.startswith("ctrgcn"):  # the per-subset official order
            fused = CTRGCUnit.forward
            CTRGCUnit.forward = CTRGCUnit.forward_reference
            try:
                with plain_paths():
                    ref = model(x)
            finally:
                CTRGCUnit.forward = fused
            _close(fast, ref)
        # intermediates (layout / strides of the taps) match too
        f = model.forward_intermediates(x, [0, -1])
        with plain_paths():
            p = model.forward_intermediates(x, [0, -1])
        for a, b in zip(f, p):
            assert a.shape == b.shape
            _close(a, b, rel)


@pytest.mark.threads(2)  # its tolerances were set with two threads (one thread sums in another order)
@pytest.mark.parametrize("arch,kw", CASES, ids=[c[0] for c in CASES])
def test_train_gradients_equal(arch, kw):
    model = _model(arch, kw).train()
    x = _input(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = []
    for plain in (False, True):
        model.load_state_dict(state)
        model.zero_grad(set_to_none=True)
        if plain:
            with plain_paths():
                loss = model(x).square().mean()
        else:
            loss = model(x).square().mean()
        loss.backward()
        grads.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
    (lf, gf), (lp, gp) = grads
    _close(lf, lp)
    assert set(gf) == set(gp)
    for name in gp:
        scale = float(gp[name].abs().max())
        d = float((gf[name] - gp[name]).abs().max())
        # float32 re-association through training-mode BN backward (batch of 4): up to ~6e-4 relative seen
        # (stgcnpp); a wrong formula gives O(1) differences
        assert d <= max(1e-5, 2e-3 * scale), f"{name}: grad diff {d:.3g} (scale {scale:.3g})"


@pytest.mark.parametrize("arch", ["agcn", "aagcn"])
def test_sample_groups_equal(arch):
    """Without autograd the AGCN graph unit runs its samples in groups of ``SAMPLE_GROUP``: a batch that
    is not a multiple of it (N·M = 14) equals the plain path, and so does the one-group run."""
    from skelzoo.blocks import agcn_units

    model = _model(arch, {"base_channels": 8}).eval()
    m = model.num_person or 1
    x = torch.randn(7, model.in_channels, 8, model.num_joints, m)
    assert (7 * m) % agcn_units.SAMPLE_GROUP != 0
    with torch.inference_mode():
        fast = model(x)
        with plain_paths():
            plain = model(x)
        old, agcn_units.SAMPLE_GROUP = agcn_units.SAMPLE_GROUP, 100
        try:
            whole = model(x)
        finally:
            agcn_units.SAMPLE_GROUP = old
    _close(fast, plain, 3e-5 if arch == "aagcn" else 1e-5)
    _close(fast, whole, 1e-6)


def test_no_stale_weights():
    model = _model("stgcnpp", {"base_channels": 16}).eval()
    x = _input(model)
    with torch.inference_mode():
        before = model(x)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.1)
        model.stages[3].gcn.bn.running_var.mul_(2.0)
    with torch.inference_mode():
        after = model(x)
        with plain_paths():
            plain = model(x)
    assert not torch.allclose(before, after)
    _close(after, plain)


@pytest.mark.parametrize("arch", ["ctrgcn", "ctrgcn_pyskl", "agcn", "aagcn"])
@pytest.mark.parametrize("which", ["bn", "down"])
def test_partly_foldable_bns_equal(arch, which):
    """Eval model with one kind of BatchNorm in training mode (batch statistics, momentum 0 so the
    running statistics stay put): the fast graph units fold only what is foldable."""
    model = _model(arch, {"base_channels": 8}).eval()
    for blk in model.stages:
        bn = blk.gcn.bn if which == "bn" else blk.gcn.down
        if which == "down":
            if not isinstance(bn, torch.nn.Sequential):
                continue
            bn = bn[1]
        bn.momentum = 0.0
        bn.train()
    x = _input(model)
    with torch.inference_mode():
        fast = model(x)
        with plain_paths():
            plain = model(x)
    _close(fast, plain, 3e-5 if arch == "aagcn" else 1e-5)


def test_max_pool_t3_equals_max_pool2d():
    from skelzoo.blocks.mstcn import max_pool_t3

    g = torch.Generator().manual_seed(0)
    for t in range(1, 8):
        for stride in (1, 2, 3):
            h = torch.randn(2, 3, t, 4, generator=g)
            h[0, 0, 0, 0] = float("nan")
            h[1, 1] = torch.randint(0, 2, (t, 4), generator=g).float()  # ties
            ref = torch.nn.functional.max_pool2d(h, (3, 1), (stride, 1), (1, 0))
            torch.testing.assert_close(max_pool_t3(h, stride), ref, rtol=0, atol=0, equal_nan=True)


MSTCN_CASES = [
    ("ctrgcn", dict(branches=((5, 1), (5, 2), ("max", 3), "1x1"), residual=False, final_act=False)),
    ("pyskl_ctrgcn", dict(branches=((5, 1), (5, 2), ("max", 3), "1x1"), residual=False, final_act=True,
                          channel_split="rem_last")),
    ("msg3d", dict()),
    ("pyskl_mstcn", dict(channel_split="rem_first", branch_norm=False, transform=True, residual=False,
                         final_act=False)),
    ("pyskl_mstcn_mid", dict(channel_split="rem_first", branch_norm=False, transform=True, residual=True,
                             final_act=True, mid_channels=0.25)),
]


def _mstcn_case(kw: dict, cin: int, cout: int, stride: int, seed: int) -> tuple[torch.nn.Module, torch.Tensor]:
    """A MultiScaleTCN with non-trivial BN statistics and biases, and an NCHW input ``(3, C_in, 11, 25)``."""
    from skelzoo.blocks.mstcn import MultiScaleTCN

    if kw.get("channel_split", "equal") == "equal" and cout % len(kw.get("branches", range(6))):
        pytest.skip("equal split needs C_out divisible by the branch count")
    torch.manual_seed(0)
    m = MultiScaleTCN(cin, cout, stride=stride, **kw)
    g = torch.Generator().manual_seed(seed)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.rand(mod.running_mean.shape, generator=g) * 0.2 - 0.1)
            mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) * 0.4 + 0.8)
            with torch.no_grad():
                mod.bias.copy_(torch.rand(mod.bias.shape, generator=g) * 0.2 - 0.1)
    return m, torch.randn(3, cin, 11, 25, generator=g)


def _assert_training_equal(m: torch.nn.Module, x: torch.Tensor, fast) -> None:
    """In training mode ``fast(m, x)`` (an NCHW output) gives ``m(x)``'s loss and every gradient."""
    m.train()
    state = {k: v.clone() for k, v in m.state_dict().items()}
    grads = []
    for use_fast in (True, False):
        m.load_state_dict(state)
        m.zero_grad(set_to_none=True)
        xg = x.clone().requires_grad_(True)
        loss = (fast(m, xg) if use_fast else m(xg)).square().mean()
        loss.backward()
        grads.append((loss.detach(), xg.grad, {n: p.grad.clone() for n, p in m.named_parameters()}))
    (lf, xf, gf), (lp, xp, gp) = grads
    _close(lf, lp)
    _close(xf, xp, 1e-4)
    for name_ in gp:
        d = float((gf[name_] - gp[name_]).abs().max())
        assert d <= max(1e-5, 2e-3 * float(gp[name_].abs().max())), f"{name_}: grad diff {d:.3g}"


@pytest.mark.parametrize("name,kw", MSTCN_CASES, ids=[c[0] for c in MSTCN_CASES])
@pytest.mark.parametrize("cin,cout,stride", [(12, 12, 1), (12, 26, 2), (12, 24, 3)])
def test_mstcn_forward_fast_equal(name, kw, cin, cout, stride):
    """MultiScaleTCN.forward_fast (NCHW, BNs folded in eval, shifted-frame max; in inference the fused path at
    every stride) = forward, in eval and in training (loss and every gradient)."""
    m, x = _mstcn_case(kw, cin, cout, stride, seed=1)
    m.eval()
    with torch.inference_mode():
        assert (m._forward_fused(x) is not None) == (not kw.get("transform", False))
        _close(m.forward_fast(x), m(x))
    _assert_training_equal(m, x, lambda mod, xg: mod.forward_fast(xg))


@pytest.mark.parametrize("name,kw", MSTCN_CASES, ids=[c[0] for c in MSTCN_CASES])
@pytest.mark.parametrize("cin,cout,stride", [(12, 12, 1), (12, 24, 1), (12, 26, 2)])
def test_mstcn_forward_nhwc_equal(name, kw, cin, cout, stride):
    """MultiScaleTCN.forward_nhwc (channels-last; in inference the fused path: one GEMM for every branch's
    leading 1×1 conv written into the output, in-place shifted-frame max, residual added per slice) = the
    branch-by-branch NHWC path = forward, in eval; and in training (loss and every gradient)."""
    from skelzoo.blocks.mstcn import MultiScaleTCN

    m, x = _mstcn_case(kw, cin, cout, stride, seed=2)
    xh = x.permute(0, 2, 3, 1).contiguous()
    m.eval()
    with torch.inference_mode():
        fused_applies = m._forward_nhwc_fused(xh) is not None
        assert fused_applies == (stride == 1 and not kw.get("transform", False))
        fast = m.forward_nhwc(xh).permute(0, 3, 1, 2)
        saved = MultiScaleTCN._forward_nhwc_fused
        MultiScaleTCN._forward_nhwc_fused = lambda self, x: None  # type: ignore[method-assign]
        try:
            branchwise = m.forward_nhwc(xh).permute(0, 3, 1, 2)
        finally:
            MultiScaleTCN._forward_nhwc_fused = saved  # type: ignore[method-assign]
        plain = m(x)
    _close(fast, plain)
    _close(fast, branchwise)
    with torch.no_grad():  # no autograd recording: the fused path as well, outside inference mode
        _close(m.forward_nhwc(xh).permute(0, 3, 1, 2), plain)
    _assert_training_equal(m, x, lambda mod, xg: mod.forward_nhwc(xg.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


def test_max3_nhwc_in_place_equals_max_pool2d():
    """The NHWC fused path's in-place (3, 1) max-pool on a channel slice: max_pool2d's values (NaN and ties
    included), the other channels untouched."""
    from skelzoo.blocks.mstcn import _max3_nhwc_

    g = torch.Generator().manual_seed(0)
    for t in range(1, 8):
        h = torch.randn(2, t, 4, 9, generator=g)
        h[0, 0, 0, 4] = float("nan")
        h[1, :, :, 3] = torch.randint(0, 2, (t, 4), generator=g).float()  # ties
        ref = torch.nn.functional.max_pool2d(h[..., 3:7].permute(0, 3, 1, 2), (3, 1), 1, (1, 0))
        out = h.clone()
        _max3_nhwc_(out[..., 3:7])
        torch.testing.assert_close(out[..., 3:7].permute(0, 3, 1, 2), ref, rtol=0, atol=0, equal_nan=True)
        torch.testing.assert_close(out[..., :3], h[..., :3], rtol=0, atol=0)
        torch.testing.assert_close(out[..., 7:], h[..., 7:], rtol=0, atol=0)


@pytest.mark.parametrize("arch,kw", CASES, ids=[c[0] for c in CASES])
def test_eval_autocast_bf16(arch, kw):
    """Under bfloat16 autocast (CPU here; CUDA's autocast casts the same ops) the fast path runs (no in-place
    op mixing float32 and bfloat16 operands) and is as close to the float32 output as the plain path is:
    its fused steps must not add bfloat16 roundings that the plain path does not have."""
    model = _model(arch, kw).eval()
    x = _input(model, t=16)
    with torch.inference_mode():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = model(x).float()
            with plain_paths():
                plain = model(x).float()
    scale = float(ref.abs().max())
    e_fast, e_plain = float((fast - ref).abs().max()) / scale, float((plain - ref).abs().max()) / scale
    assert torch.isfinite(fast).all()
    assert e_plain < 5e-2, f"plain path under autocast off by {e_plain:.2g}"
    # 3x: MS-G3D's small test model sits at 2-2.7x over six input seeds (1.0-1.4e-2 vs ~5e-3; the full-size
    # model 1.0x); AAGCN's attention before its gates were kept in float32 was 11x here (6.2e-2 vs 5.5e-3)
    assert e_fast <= max(3 * e_plain, 1e-2), f"fast {e_fast:.2g} vs plain {e_plain:.2g} (relative to float32)"


@pytest.mark.parametrize("c", [1, 3, 8, 9, 16])
def test_shared_graph_product_both_routes(c):
    """``_shared_graph_bmm``: one GEMM on transposed copies up to ``NARROW_GRAPH_CHANNELS`` channels, the
    per-frame batched product above; both equal the einsum in float64, with gradients, and are contiguous."""
    from skelzoo.blocks import channels_last

    g64 = torch.Generator().manual_seed(c)
    graph = torch.randn(75, 25, generator=g64, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 6, 25, c, generator=g64, dtype=torch.float64, requires_grad=True)
    y = channels_last._shared_graph_bmm(graph, x)
    ref = torch.einsum("rv,ntvc->ntrc", graph, x)
    assert y.shape == (2, 6, 75, c) and y.is_contiguous()
    torch.testing.assert_close(y, ref, rtol=1e-12, atol=1e-12)
    gy = torch.randn(y.shape, generator=g64, dtype=torch.float64)
    got = torch.autograd.grad(y, (graph, x), gy)
    want = torch.autograd.grad(ref, (graph, x), gy)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
