"""Issue #20 training-step and inference changes are exact: same masks, losses, gradients and logits.

- :class:`~skelzoo.blocks.dropout.ExactDropout` draws ``nn.Dropout``'s masks (same outputs, gradients and
  generator state afterwards);
- a training step of a small SnipCLR / localizer with ExactDropout equals the step with ``nn.Dropout``'s
  own forward (loss and every gradient);
- the fused MS-TCN inference path (:meth:`MultiScaleTCN._forward_fused`) equals the per-branch fast path.
No timings are asserted.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from skelzoo.blocks.dropout import ExactDropout, exact_draw_ok
from skelzoo.blocks.mstcn import CTRGCN_BRANCHES, MSG3D_BRANCHES, MultiScaleTCN


def test_draw_identity_holds():
    assert exact_draw_ok()


@pytest.mark.parametrize("p", [0.5, 0.1, 0.7])
@pytest.mark.parametrize("inplace", [False, True])
def test_exact_dropout_equals_dropout(p: float, inplace: bool):
    x = torch.randn(3, 5, 17, 7, requires_grad=True)
    ref, new = nn.Dropout(p), ExactDropout(p, inplace=inplace)
    torch.manual_seed(11)
    a = ref(x * 1.0)
    after_a = torch.rand(4)
    a.square().sum().backward()
    ga = x.grad.clone()
    x.grad = None
    torch.manual_seed(11)
    b = new(x * 1.0)
    after_b = torch.rand(4)
    b.square().sum().backward()
    assert torch.equal(a, b)
    assert torch.equal(after_a, after_b)  # the generator moved on identically
    assert torch.equal(ga, x.grad)


def test_exact_dropout_eval_and_state_dict():
    d = ExactDropout(0.5).eval()
    x = torch.randn(4, 4)
    assert torch.equal(d(x), x)
    assert d.state_dict() == {} and isinstance(d, nn.Dropout)


def _steps(make, loss_fn) -> tuple[list[float], list[dict[str, torch.Tensor]]]:
    """Loss and gradients of one step with ExactDropout, then with nn.Dropout's forward, same seed."""
    losses, grads = [], []
    for use_ref in (False, True):
        model = make()
        torch.manual_seed(5)
        saved = ExactDropout.forward
        if use_ref:
            ExactDropout.forward = nn.Dropout.forward  # type: ignore[method-assign]
        try:
            loss = loss_fn(model)
            loss.backward()
        finally:
            ExactDropout.forward = saved  # type: ignore[method-assign]
        losses.append(float(loss.detach()))
        grads.append({k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None})
    return losses, grads


def test_pretrain_step_equal():
    from skelzoo.contrastive.snippet import SnipCLR

    def make():
        torch.manual_seed(0)
        return SnipCLR("stgcn_ssl", backbone_args={"hidden_channels": 8, "hidden_dim": 32}, queue_size=16,
                       num_snippets=2, negatives="batch", snippet_negatives="batch",
                       snippet_match="cosine").train()

    xq, xk = torch.randn(4, 3, 16, 25, 1), torch.randn(4, 3, 16, 25, 1)
    losses, grads = _steps(make, lambda m: m(xq, xk)["loss"])
    assert any(isinstance(mod, ExactDropout) for mod in make().modules())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6, abs=1e-7)
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-5, atol=1e-7)


def test_localizer_step_equal():
    from skelzoo.models import build_model

    def make():
        torch.manual_seed(0)
        return build_model("stgcn_ssl_ufusion", num_classes=5).train()

    x, labels = torch.randn(2, 3, 32, 25, 1), torch.randint(0, 5, (2, 32))
    from skelzoo.training.finetune import frame_loss

    losses, grads = _steps(make, lambda m: frame_loss(m(x), labels))
    assert losses[0] == pytest.approx(losses[1], rel=1e-6, abs=1e-7)
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("branches,residual,final_act", [(CTRGCN_BRANCHES, False, False),
                                                         (CTRGCN_BRANCHES, False, True),
                                                         (MSG3D_BRANCHES, True, True)])
@pytest.mark.parametrize("cin", [24, 48])
def test_fused_mstcn_equals_branchwise(branches, residual: bool, final_act: bool, cin: int):
    torch.manual_seed(0)
    tcn = MultiScaleTCN(cin, 48, branches, residual=residual, final_act=final_act).eval()
    g = torch.Generator().manual_seed(1)
    for mod in tcn.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.rand(mod.running_mean.shape, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) + 0.5)
    x = torch.randn(3, cin, 20, 25)
    with torch.inference_mode():
        assert tcn._forward_fused(x) is not None  # the fused path applies here
        fused = tcn.forward_fast(x)
        saved = MultiScaleTCN._forward_fused
        MultiScaleTCN._forward_fused = lambda self, x: None  # type: ignore[method-assign]
        try:
            branchwise = tcn.forward_fast(x)
        finally:
            MultiScaleTCN._forward_fused = saved  # type: ignore[method-assign]
        plain = tcn(x)
    torch.testing.assert_close(fused, branchwise, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)
