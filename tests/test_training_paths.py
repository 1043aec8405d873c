"""Training through the fast paths (channels-last, fused): the loss and
every gradient equal the plain (official-order) paths', for every backbone family in train mode (BatchNorm
batch statistics; dropout off, as the two layouts draw different masks), at small widths.

In float64, to 1e-9 of the largest gradient: the two paths are the same function with the same gradient (in
float32 the training-mode BatchNorms of a 2-sample batch amplify rounding to ~1e-3 in the first BN's
gradient, which would hide nothing but also prove nothing). The float32 oneDNN GEMM route of the fast paths
is checked against ``F.linear`` by ``tests/test_gemm.py``."""
from __future__ import annotations

import pytest
import torch

from skelzoo.blocks.channels_last import plain_paths
from skelzoo.models import build_model

CASES = [
    ("stgcn_ssl", {"hidden_channels": 8, "hidden_dim": 32, "num_person": 1}),
    ("agcn_loc", {"base_channels": 8, "num_person": 1}),
    ("agcn", {"base_channels": 8, "num_person": 1}),
    ("aagcn", {"base_channels": 8, "num_person": 1}),
    ("ctrgcn", {"base_channels": 8, "num_person": 1}),
    ("stgcnpp", {"base_channels": 8, "num_person": 1}),
    ("msg3d", {"base_channels": 12, "num_person": 1}),
]


def _loss_and_grads(arch: str, args: dict, x: torch.Tensor, plain: bool):
    torch.manual_seed(0)
    model = build_model(arch, num_classes=0, **args).to(x.dtype).train()
    for mod in model.modules():  # the two paths draw dropout masks in different layouts: compare without
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    torch.manual_seed(1)
    ctx = plain_paths() if plain else torch.enable_grad()
    with ctx:
        f = model.forward_features(x)
        loss = (f * torch.linspace(-1, 1, f.shape[1]).view(1, -1, 1, 1, 1)).pow(2).mean()
        loss.backward()
    return float(loss.detach()), {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("arch,args", CASES, ids=[c[0] for c in CASES])
def test_fast_training_gradients_equal_plain(arch, args):
    x = torch.randn(2, 3, 32, 25, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    lf, gf = _loss_and_grads(arch, args, x, plain=False)
    lp, gp = _loss_and_grads(arch, args, x, plain=True)
    assert lf == pytest.approx(lp, rel=1e-12)
    assert gf.keys() == gp.keys() and gf
    gmax = max(float(g.abs().max()) for g in gp.values())
    for k in gp:
        assert float((gf[k] - gp[k]).abs().max()) <= 1e-9 * gmax, k
