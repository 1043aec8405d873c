"""The spectral (real-DFT bilinear) temporal convolution: the same function and gradients as ``F.conv2d`` with a
``(k, 1)`` kernel, for every padding / dilation / stride / length / tile, and the rule that picks it.

In float64 the transforms are exact to 1e-12 relative, so any indexing slip (a wrong window, padding, stride,
tile or crop) fails by O(1); in float32 its error against the float64 result is compared with the direct
convolution's own."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelzoo.blocks import gemm, spectral
from skelzoo.blocks.channels_last import plain_paths
from skelzoo.models import build_model

F64 = torch.float64


def _ref(x, w, b, stride, padding, dilation):
    """``F.conv2d`` on the NCHW view, returned channels-last ``(N, T_out, V, O)``."""
    return F.conv2d(x.permute(0, 3, 1, 2), w, b, (stride, 1), (padding, 0), (dilation, 1)).permute(0, 2, 3, 1)


CONFIGS = [  # (frames, kernel, padding, dilation, stride)
    (64, 9, 4, 1, 1), (64, 9, 4, 1, 2), (63, 9, 4, 1, 2), (5, 9, 4, 1, 1), (1, 9, 4, 1, 1), (2, 9, 4, 1, 2),
    (30, 5, 4, 2, 1), (30, 3, 1, 1, 1), (17, 5, 2, 1, 3), (40, 9, 0, 1, 1), (23, 7, 6, 2, 2), (96, 9, 4, 1, 1),
    (11, 1, 0, 1, 1), (9, 9, 0, 1, 1),
]


@pytest.mark.parametrize("frames,kernel,padding,dilation,stride", CONFIGS)
@pytest.mark.parametrize("tile", [1, 3, 16, 1000])
def test_equals_conv2d_float64(frames, kernel, padding, dilation, stride, tile):
    g = torch.Generator().manual_seed(frames * 31 + kernel)
    x = torch.randn(2, frames, 3, 4, generator=g, dtype=F64)
    w = torch.randn(5, 4, kernel, 1, generator=g, dtype=F64)
    b = torch.randn(5, generator=g, dtype=F64)
    ref = _ref(x, w, b, stride, padding, dilation)
    y = spectral.spectral_conv(x, w, b, stride, padding, dilation, tile)
    assert y.shape == ref.shape and y.is_contiguous()
    assert float((y - ref).abs().max()) <= 1e-12 * float(ref.abs().max())
    assert torch.equal(spectral.spectral_conv(x, w, None, stride, padding, dilation, tile) + b, y)


@pytest.mark.parametrize("frames,kernel,padding,dilation,stride", CONFIGS)
def test_gradients_equal_conv2d_float64(frames, kernel, padding, dilation, stride):
    g = torch.Generator().manual_seed(7 + frames)
    x = torch.randn(2, frames, 3, 4, generator=g, dtype=F64, requires_grad=True)
    w = torch.randn(5, 4, kernel, 1, generator=g, dtype=F64, requires_grad=True)
    b = torch.randn(5, generator=g, dtype=F64, requires_grad=True)
    ref = _ref(x, w, b, stride, padding, dilation)
    gy = torch.randn(ref.shape, generator=g, dtype=F64)
    want = torch.autograd.grad(ref, (x, w, b), gy)
    got = torch.autograd.grad(spectral.spectral_conv(x, w, b, stride, padding, dilation, tile=4), (x, w, b), gy)
    for a, c in zip(got, want):
        assert a.shape == c.shape
        assert float((a - c).abs().max()) <= 1e-12 * max(float(c.abs().max()), 1e-300)


def test_gradcheck_and_partial_gradients():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 7, 2, 3, generator=g, dtype=F64, requires_grad=True)
    w = torch.randn(2, 3, 5, 1, generator=g, dtype=F64, requires_grad=True)
    b = torch.randn(2, generator=g, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: spectral.spectral_conv(*a, 2, 2, 1, 2), (x, w, b))
    # only some inputs need a gradient (a frozen backbone, an input without grad)
    for need in ((True, False), (False, True)):
        xi, wi = x.detach().requires_grad_(need[0]), w.detach().requires_grad_(need[1])
        y = spectral.spectral_conv(xi, wi, None, 1, 2)
        gy = torch.ones_like(y)
        r = _ref(xi, wi, None, 1, 2, 1)
        leaf = xi if need[0] else wi
        torch.testing.assert_close(torch.autograd.grad(y, leaf, gy)[0], torch.autograd.grad(r, leaf, gy)[0])


def test_double_backward_says_it_is_not_supported():
    x = torch.randn(1, 12, 2, 3, dtype=F64, requires_grad=True)
    w = torch.randn(4, 3, 9, 1, dtype=F64, requires_grad=True)
    (gx,) = torch.autograd.grad(spectral.spectral_conv(x, w, None, 1, 4).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward|once_differentiable|twice"):
        gx.sum().backward()


@pytest.mark.parametrize("n,c,frames,stride", [(4, 64, 64, 1), (4, 128, 32, 2), (2, 256, 16, 1)])
def test_float32_error_no_worse_than_direct(n, c, frames, stride):
    g = torch.Generator().manual_seed(c)
    x = torch.randn(n, frames, 25, c, generator=g)
    w = torch.randn(c, c, 9, 1, generator=g) / (3 * c ** 0.5)
    b = torch.randn(c, generator=g)
    exact = _ref(x.double(), w.double(), b.double(), stride, 4, 1)
    scale = float(exact.abs().max())
    err_direct = float((spectral.direct_conv(x, w, b, stride, 4).double() - exact).abs().max()) / scale
    err_spectral = float((spectral.spectral_conv(x, w, b, stride, 4).double() - exact).abs().max()) / scale
    assert err_spectral <= max(2 * err_direct, 1e-6), (err_spectral, err_direct)


def test_plan_rejects_bad_shapes_and_counts_products():
    with pytest.raises(ValueError, match="no output frame"):
        spectral.plan(3, 9, 0)
    with pytest.raises(ValueError, match="bad temporal convolution"):
        spectral.plan(8, 9, -1)
    with pytest.raises(ValueError, match="kernel"):
        spectral.spectral_conv(torch.randn(1, 8, 2, 3), torch.randn(4, 3, 9, 2), padding=4)
    p = spectral.plan(24, 9, 4)                     # one tile of 24 frames, a 32-frame window
    assert (p.tiles, p.tile, p.window) == (1, 24, 32)
    assert p.bt.shape == (47, 32) and spectral.products_per_frame(p) == pytest.approx(47 / 24)
    p = spectral.plan(40, 9, 4)                     # 40 frames: two even tiles of 20, not 24 + 16
    assert (p.tiles, p.tile) == (2, 20)


@pytest.fixture
def tuning_off():
    old_tune, old_on = gemm.set_autotune(False), spectral.set_spectral(True)
    yield
    gemm.set_autotune(old_tune)
    spectral.set_spectral(old_on)


def _spy(monkeypatch):
    calls = []
    real = spectral.spectral_conv
    monkeypatch.setattr(spectral, "spectral_conv", lambda *a, **k: calls.append(a[0].shape) or real(*a, **k))
    return calls


def test_rule_picks_spectral_for_wide_layers_only(tuning_off, monkeypatch):
    calls = _spy(monkeypatch)
    x, w = torch.randn(2, 16, 5, 128), torch.randn(128, 128, 9, 1)
    with torch.no_grad():
        spectral.temporal_conv(x, w, None, 1, 4)                          # eval: 128 channels, stride 1
        spectral.temporal_conv(x, w, None, 2, 4)                          # eval, stride 2: needs 256
        spectral.temporal_conv(x[..., :64], w[:64, :64], None, 1, 4)      # eval: 64 channels
        spectral.temporal_conv(x, w[:, :, :3], None, 1, 1)                # a (3, 1) kernel: direct
    assert len(calls) == 1
    wg = w[:64, :64].clone().requires_grad_()
    y = spectral.temporal_conv(x[..., :64], wg, None, 1, 4)               # training: 64 channels
    assert len(calls) == 2
    ref = spectral.direct_conv(x[..., :64], wg, None, 1, 4)
    assert float((y - ref).detach().abs().max()) <= 1e-5 * float(ref.detach().abs().max())
    spectral.set_spectral(False)
    with torch.no_grad():
        assert torch.equal(spectral.temporal_conv(x, w, None, 1, 4), spectral.direct_conv(x, w, None, 1, 4))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            spectral.set_spectral(True)
            spectral.temporal_conv(x, w, None, 1, 4)                      # autocast: never spectral
    assert len(calls) == 2
    assert spectral.pays(256, 256, 9, stride=2) and not spectral.pays(128, 128, 9, stride=2)
    assert spectral.pays(64, 64, 9, training=True) and not spectral.pays(64, 64, 9)
    torch.set_num_threads(2)                    # training with 2 threads: the eval widths (benchmarks/spectral.py)
    assert not spectral.pays(64, 64, 9, training=True) and spectral.pays(128, 128, 9, training=True)


def test_autotune_names_the_chosen_kernel(monkeypatch):
    old_tune, old_on = gemm.set_autotune(True), spectral.set_spectral(True)
    saved = dict(gemm._CHOICE)
    gemm.autotune_reset()
    try:
        x, w = torch.randn(2, 16, 25, 128), torch.randn(128, 128, 9, 1)
        with torch.no_grad():
            y = spectral.temporal_conv(x, w, None, 1, 4)
        (key, kernel), = [(k, v) for k, v in gemm.autotune_choices().items() if k[0] == "tconv"]
        assert kernel in ("direct", "spectral") and key[1] == (2, 16, 25, 128)
        with torch.no_grad():                      # the chosen kernel serves later calls: the same bits
            assert torch.equal(spectral.temporal_conv(x, w, None, 1, 4), y)
    finally:
        gemm.set_autotune(old_tune)
        spectral.set_spectral(old_on)
        gemm.autotune_reset()
        gemm._CHOICE.update(saved)


CASES = [("stgcn_ssl", {"hidden_channels": 8, "hidden_dim": 32, "num_person": 1}),
         ("agcn", {"base_channels": 8, "num_person": 1}),
         ("aagcn", {"base_channels": 8, "num_person": 1}),
         ("stgcn", {"num_person": 1})]


@pytest.mark.parametrize("arch,args", CASES, ids=[c[0] for c in CASES])
def test_backbones_through_spectral_equal_plain_float64(arch, args, tuning_off, monkeypatch):
    """Every (9, 1) convolution of the channels-last fast path forced onto the spectral algorithm: logits and
    every training gradient equal the plain (official-structure) path's."""
    calls = _spy(monkeypatch)
    monkeypatch.setattr(spectral, "MIN_CHANNELS", {"train": 1, "eval": 1})
    x = torch.randn(2, 3, 32, 25, 1, generator=torch.Generator().manual_seed(2), dtype=F64)
    out = {}
    for plain in (False, True):
        torch.manual_seed(0)
        model = build_model(arch, num_classes=0, **args).to(F64).train()
        for mod in model.modules():
            if isinstance(mod, torch.nn.Dropout):
                mod.p = 0.0
        with plain_paths() if plain else torch.enable_grad():
            f = model.forward_features(x)
            loss = (f * torch.linspace(-1, 1, f.shape[1], dtype=F64).view(1, -1, 1, 1, 1)).pow(2).mean()
            loss.backward()
            model.eval()
            with torch.no_grad():
                logits = model.forward_features(x)
        out[plain] = (logits, {k: p.grad for k, p in model.named_parameters() if p.grad is not None})
    assert len(calls) >= 2 * 9
    torch.testing.assert_close(out[False][0], out[True][0], rtol=1e-10, atol=1e-12)
    gmax = max(float(g.abs().max()) for g in out[True][1].values())
    for k, g in out[True][1].items():
        assert float((out[False][1][k] - g).abs().max()) <= 1e-9 * gmax, k
