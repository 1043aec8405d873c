"""The oneDNN route of the fast paths' GEMMs (``skelzoo.blocks.gemm.linear``): equal to ``F.linear`` in value and
gradients (float32 rounding), in place safe, switchable, and a no-op where it does not apply."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import skelzoo
from skelzoo.blocks import gemm
from skelzoo.blocks.channels_last import plain_paths

needs_onednn = pytest.mark.skipif(not gemm.onednn_linear_available(), reason="PyTorch build without oneDNN linear")


@pytest.fixture
def onednn_off():
    old = gemm.set_onednn_linear(False)
    yield
    gemm.set_onednn_linear(old)


@needs_onednn
@pytest.mark.parametrize("shape", [(7, 5), (2, 3, 4, 5), (3, 1, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_equals_f_linear_value_and_gradients(shape, bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g, requires_grad=True)
    w = torch.randn(4, shape[-1], generator=g, requires_grad=True)
    b = torch.randn(4, generator=g, requires_grad=True) if bias else None
    gy = torch.randn(*shape[:-1], 4, generator=g)
    ins = (x, w) + ((b,) if bias else ())
    y1, y2 = gemm.linear(x, w, b), F.linear(x, w, b)
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
    for a, c in zip(torch.autograd.grad(y1, ins, gy), torch.autograd.grad(y2, ins, gy)):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_linear_strided_input_and_inplace_on_output():
    """Strided views in (a temporal stride, a transpose); the result may be modified in place under autograd."""
    x = torch.randn(2, 6, 3, 5, requires_grad=True)
    w = torch.randn(4, 5, requires_grad=True)
    for view in (lambda t: t[:, ::2], lambda t: t.transpose(1, 2)):
        y1 = gemm.linear(view(x), w).add_(1.0)
        y2 = F.linear(view(x), w) + 1.0
        torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
        g1, = torch.autograd.grad(y1.square().sum(), x)
        g2, = torch.autograd.grad(y2.square().sum(), x)
        torch.testing.assert_close(g1, g2, rtol=1e-5, atol=1e-4)


def test_linear_falls_back_where_onednn_does_not_apply(onednn_off):
    x, w = torch.randn(3, 5), torch.randn(2, 5)
    assert not gemm.onednn_linear_enabled()
    assert torch.equal(gemm.linear(x, w), F.linear(x, w))                    # switched off: exactly F.linear
    gemm.set_onednn_linear(True)
    xd, wd = x.double(), w.double()
    assert torch.equal(gemm.linear(xd, wd), F.linear(xd, wd))                # float64: F.linear
    assert gemm.linear(torch.randn(0, 5), w).shape == (0, 2)                 # empty input


@needs_onednn
@pytest.mark.parametrize("name", ["stgcn", "stgcnpp", "msg3d", "agcn", "aagcn"])
def test_backbones_equal_with_and_without_onednn(name, onednn_off):
    """The fast path with oneDNN GEMMs / 1×1 convolutions gives the plain path's logits (and the fast path's
    without oneDNN): the channels-last families and the NCHW 2s-AGCN ones."""
    torch.manual_seed(0)
    model = skelzoo.load_model(name).eval()
    x = torch.randn(2, 3, 20, 25, 2)
    with torch.inference_mode():
        blas = model(x)
        with plain_paths():
            plain = model(x)
        gemm.set_onednn_linear(True)
        fast = model(x)
    scale = plain.abs().max()
    assert float((fast - plain).abs().max() / scale) < 1e-5
    assert float((fast - blas).abs().max() / scale) < 1e-5


@pytest.mark.parametrize("stride", [1, 2])
def test_pointwise_conv_equals_the_batched_matmul(stride, onednn_off):
    """``pointwise_conv`` (oneDNN convolution) equals its BLAS form ``matmul(w, x)`` (+ bias), gradients too."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, 9, 5, generator=g, requires_grad=True)
    w = torch.randn(4, 6, generator=g, requires_grad=True)
    b = torch.randn(4, generator=g, requires_grad=True)
    y_blas = gemm.pointwise_conv(x, w, b, stride)                    # switched off: matmul
    gemm.set_onednn_linear(True)
    y = gemm.pointwise_conv(x, w, b, stride)
    assert y.shape == y_blas.shape == (2, 4, (9 + stride - 1) // stride, 5) and y.is_contiguous()
    ref = torch.einsum("oc,nctv->notv", w, x[:, :, ::stride]) + b.view(-1, 1, 1)
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(y_blas, ref, rtol=1e-5, atol=1e-5)
    gy = torch.randn(y.shape, generator=g)
    for a, c in zip(torch.autograd.grad(y, (x, w, b), gy), torch.autograd.grad(ref, (x, w, b), gy)):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-5)



# ------------------------------------------------------------------------------------------ autotuning
@pytest.fixture
def autotune_fresh():
    """Autotuning on with no choices made; the previous setting and choices are restored after."""
    old = gemm.set_autotune(True)
    saved = dict(gemm._CHOICE)
    gemm.autotune_reset()
    yield
    gemm.set_autotune(old)
    gemm.autotune_reset()
    gemm._CHOICE.update(saved)


def test_autotuned_picks_the_faster_candidate_from_the_first_call(autotune_fresh):
    import time as _time
    calls = {"slow": 0, "fast": 0}

    def slow():
        calls["slow"] += 1
        _time.sleep(0.01)
        return torch.zeros(1)

    def fast():
        calls["fast"] += 1
        return torch.ones(1)

    key = ("test", 1)
    for order in ((slow, fast), (fast, slow)):
        gemm.autotune_reset()
        calls.update(slow=0, fast=0)
        assert torch.equal(gemm._autotuned(key, order), torch.ones(1))         # the first call: the chosen one
        assert calls == {"slow": 1 + gemm.AUTOTUNE_TRIALS, "fast": 2 + gemm.AUTOTUNE_TRIALS}
        assert torch.equal(gemm._autotuned(key, order), torch.ones(1))         # later calls: no more timing
        assert calls["slow"] == 1 + gemm.AUTOTUNE_TRIALS
        assert gemm.autotune_choices()[key] == gemm._KERNELS[order.index(fast)]


def test_autotuned_handicap_scales_the_measured_times(autotune_fresh):
    """A handicapped candidate must win by more than its factor: 40 ms against 45 ms wins plainly, loses at 1.25."""
    import time as _time

    def sleeper(seconds: float, value: float):
        def f():
            _time.sleep(seconds)
            return torch.full((1,), value)
        return f
    cands = (sleeper(0.040, 1.0), sleeper(0.045, 2.0))
    assert float(gemm._autotuned(("plain",), cands, ("a", "b"))) == 1.0
    assert float(gemm._autotuned(("handicap",), cands, ("a", "b"), handicap=(1.25, 1.0))) == 2.0
    assert gemm.autotune_choices() == {("plain",): "a", ("handicap",): "b"}


@needs_onednn
@pytest.mark.parametrize("stride,bias", [(1, True), (2, False)])
def test_pointwise_conv_autotuned_is_one_kernel_per_signature(autotune_fresh, stride, bias):
    """Large enough to be timed: the result equals both kernels to float32 rounding and is bit-identical on
    every call (the first included), so the same inputs give the same outputs within a process."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 64, 64, 25, generator=g)
    w = torch.randn(96, 64, generator=g)
    b = torch.randn(96, generator=g) if bias else None
    assert 2 * 8 * 96 * 64 * (64 // stride) * 25 >= gemm.AUTOTUNE_MIN_FLOP
    with torch.inference_mode():
        first = gemm.pointwise_conv(x, w, b, stride)
        again = gemm.pointwise_conv(x, w, b, stride)
        ref = F.conv2d(x, w[:, :, None, None], b, (stride, 1))
        blas = gemm._pointwise_matmul(x, w, b, stride)
    assert torch.equal(first, again)
    assert torch.equal(first, ref) or torch.equal(first, blas)
    torch.testing.assert_close(first, ref, rtol=1e-5, atol=1e-4)
    assert list(gemm.autotune_choices().values()) in (["onednn"], ["blas"])


@needs_onednn
def test_pointwise_conv_narrow_input_takes_the_blas_untimed(autotune_fresh):
    """Inference with at most ``NARROW_IN_CHANNELS`` input channels: the BLAS's batched matmul, bit for bit, with
    nothing timed; with autotuning off, or under autograd, oneDNN's convolution as before."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, gemm.NARROW_IN_CHANNELS, 16, 25, generator=g)
    w = torch.randn(64, gemm.NARROW_IN_CHANNELS, generator=g)
    b = torch.randn(64, generator=g)
    with torch.inference_mode():
        y = gemm.pointwise_conv(x, w, b)
        assert torch.equal(y, gemm._pointwise_matmul(x, w, b, 1))
        assert gemm.autotune_choices() == {}
        gemm.set_autotune(False)
        assert torch.equal(gemm.pointwise_conv(x, w, b), F.conv2d(x, w[:, :, None, None], b))
    gemm.set_autotune(True)
    wg = w.clone().requires_grad_()
    assert torch.equal(gemm.pointwise_conv(x, wg, b), F.conv2d(x, wg[:, :, None, None], b))
    torch.testing.assert_close(y, F.conv2d(x, w[:, :, None, None], b), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_linear_is_not_autotuned(autotune_fresh):
    """``linear`` keeps the oneDNN route (it won every backbone GEMM shape; timing would cost chunked inference
    extra calls per chunk shape): bitwise oneDNN's result, nothing timed."""
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(8, 32, 25, 128, generator=g), torch.randn(96, 128, generator=g)
    with torch.no_grad():
        y = gemm.linear(x, w)
    assert torch.equal(y, gemm._mm(x, w))
    torch.testing.assert_close(y, F.linear(x, w), rtol=1e-5, atol=1e-4)
    assert gemm.autotune_choices() == {}


@needs_onednn
def test_no_autotuning_for_training_small_products_or_when_off(autotune_fresh):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 64, 64, 25, generator=g, requires_grad=True)
    w = torch.randn(96, 64, generator=g, requires_grad=True)
    y = gemm.pointwise_conv(x, w)                                     # records gradients: the oneDNN route
    assert torch.equal(y, F.conv2d(x, w[:, :, None, None]))
    assert y.requires_grad and gemm.autotune_choices() == {}
    with torch.no_grad():
        gemm.pointwise_conv(x[:1, :, :2], w)                          # below AUTOTUNE_MIN_FLOP
        assert gemm.autotune_choices() == {}
        gemm.set_autotune(False)
        y = gemm.pointwise_conv(x, w)                                 # off: the oneDNN route, nothing timed
    assert torch.equal(y, F.conv2d(x.detach(), w.detach()[:, :, None, None]))
    assert gemm.autotune_choices() == {} and not gemm.autotune_enabled()


def test_autotune_rounds_alternate_the_order(autotune_fresh):
    """Warm-ups A, B; then timed rounds A, B / B, A / ...: neither kernel always runs right after the other (a
    fixed oneDNN-first order biased CTR-GCN's choices towards oneDNN on the 2026-12-04 machine)."""
    log: list[str] = []

    def make(name: str):
        def f():
            log.append(name)
            return torch.zeros(1)
        return f

    gemm._autotuned(("order", 1), (make("a"), make("b")))
    rounds = [log[2 + 2 * r: 4 + 2 * r] for r in range(gemm.AUTOTUNE_TRIALS)]
    assert log[:2] == ["a", "b"]
    assert rounds == [["a", "b"] if r % 2 == 0 else ["b", "a"] for r in range(gemm.AUTOTUNE_TRIALS)]
    assert len(log) == 2 + 2 * gemm.AUTOTUNE_TRIALS + 1                            # + the chosen one's result
