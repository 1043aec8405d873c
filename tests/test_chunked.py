"""Chunked inference equals whole-sequence inference (eval mode)."""
from __future__ import annotations

import contextlib

import pytest
import torch

import skelzoo.models  # noqa: F401  (registers every model)
from skelzoo.blocks.channels_last import plain_paths
from skelzoo.blocks.context import ContextUnit
from skelzoo.localization import chunked as chunked_mod
from skelzoo.localization.chunked import (
    _windows,
    chunked_forward,
    default_overlap,
    has_global_context,
    sequence_context,
)
from skelzoo.localization.localizer import Localizer
from skelzoo.models.aagcn import AAGCN
from skelzoo.zoo import build_model, list_architectures

#: small tensors: one thread is as fast, and far faster than two on a loaded machine
pytestmark = pytest.mark.threads(1)


def test_windows_are_aligned():
    for s, e, ws, we in _windows(1000, 256, 168):
        assert s % 8 == 0 and ws % 8 == 0 and we >= e and ws <= s


def test_agcn_loc_ufusion_t3000_chunked_equals_whole():
    torch.manual_seed(0)
    model = build_model("agcn_loc_ufusion").eval()
    assert default_overlap(model) % model.total_reduction == 0
    x = torch.randn(1, 3, 3000, 25, 1)
    with torch.no_grad():
        whole = model(x)
        chunked = chunked_forward(model, x, chunk=1000)  # three chunks, interior one included
    assert chunked.shape == whole.shape == (1, 3000, 5)
    assert (chunked - whole).abs().max().item() <= 1e-4


@pytest.mark.parametrize("name,t,chunk", [("stgcn_ssl_ufusion", 333, 128), ("stgcn_ssl_simple", 421, 128)])
def test_lengths_not_multiple_of_reduction(name, t, chunk):
    torch.manual_seed(1)
    model = build_model(name).eval()
    for m in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 3, t, 25, 1)
    with torch.no_grad():
        whole = model(x)
        chunked = chunked_forward(model, x, chunk=chunk)
        feats = chunked_forward(model, x, chunk=chunk, features=True)
        whole_feats = model.frame_features(x)
    scale = whole.abs().max().item()
    assert (chunked - whole).abs().max().item() <= 1e-5 * max(1.0, scale)
    assert (feats - whole_feats).abs().max().item() <= 1e-5 * max(1.0, whole_feats.abs().max().item())


def test_localize_chunks_automatically(monkeypatch):
    torch.manual_seed(2)
    model = build_model("stgcn_ssl_ufusion").eval()
    x = torch.randn(1, 3, 260, 25, 1)
    whole = model.localize(x, method="argmax")
    calls = []
    import skelzoo.localization.chunked as chunked_mod
    real = chunked_mod.chunked_forward
    monkeypatch.setattr(chunked_mod, "chunked_forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(chunked_mod, "CHUNK_THRESHOLD", 100)
    monkeypatch.setattr(chunked_mod, "DEFAULT_CHUNK", 128)
    chunked = model.localize(x, method="argmax")
    assert calls, "localize did not use chunked inference above the threshold"
    assert [(s.label, s.start, s.end) for s in chunked[0]] == [(s.label, s.start, s.end) for s in whole[0]]


# ------------------------------------------------------------------------------------------------------------
# Backbones with whole-sequence statistics: exact streaming mode
# ------------------------------------------------------------------------------------------------------------
def _global_localizer(backbone: str, neck: str, m: int) -> torch.nn.Module:
    torch.manual_seed(0)
    kw = {"neck_channels": 32} if neck == "ufusion" else {}
    if backbone == "aagcn":  # its builder has no width argument
        bb = AAGCN(channels=(8,) * 4 + (16,) * 3 + (32,) * 3, num_classes=0, num_person=m)
        return Localizer(bb, num_classes=4, neck=neck, **kw)
    return build_model(f"{backbone}_{neck}", backbone_args={"base_channels": 8}, num_person=m, **kw)


def _make_nontrivial(model: torch.nn.Module, x: torch.Tensor) -> None:
    """Weights under which every whole-sequence statistic matters: graph-unit BN weights ~1 (their 1e-6
    init damps the data-dependent branch), attention scales 0.5, zero-initialised attention layers
    randomised, learned graphs perturbed; then BN statistics calibrated on ``x`` (one train-mode
    forward with momentum 1) so activations stay O(1) through ten blocks."""
    g = torch.Generator().manual_seed(1)
    bns = [mod for mod in model.modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=g) * 0.5 + 0.75)
            bn.bias.copy_(torch.rand(bn.bias.shape, generator=g) * 0.2 - 0.1)
            bn.momentum = 1.0
        for mod in model.modules():
            if isinstance(mod, ContextUnit):
                if hasattr(mod, "alpha"):
                    mod.alpha.fill_(0.5)
                mod.PA.add_(torch.randn(mod.PA.shape, generator=g) * 0.1)
                for name in ("conv_ta", "fc2c"):
                    layer = getattr(mod, name, None)
                    if layer is not None:
                        layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * 0.1)
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()
    for bn in bns:
        bn.momentum = 0.1


GLOBAL_CASES = [("agcn_loc", "ufusion", 1), ("agcn_loc", "simple", 2), ("agcn", "ufusion", 2), ("agcn", "simple", 2),
                ("aagcn", "ufusion", 2), ("aagcn", "simple", 1), ("ctrgcn", "ufusion", 2), ("ctrgcn", "simple", 1),
                ("ctrgcn_pyskl", "ufusion", 1), ("ctrgcn_pyskl", "simple", 2)]


@pytest.mark.parametrize("backbone,neck,m", GLOBAL_CASES, ids=[f"{b}_{n}_M{m}" for b, n, m in GLOBAL_CASES])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_exact_chunked_global_context(backbone, neck, m, fast):
    """Streamed whole-sequence statistics make chunked inference equal whole-sequence inference, where
    window-level statistics (``exact=False``, the old behaviour) measurably do not."""
    model = _global_localizer(backbone, neck, m)
    assert has_global_context(model)
    r = model.total_reduction
    chunk = 12 * r
    t = 4 * chunk + 2 * default_overlap(model) + r + 3  # several chunks, T not a multiple of R, windows < T
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, t, 25, m, generator=g)
    _make_nontrivial(model, x)
    with torch.no_grad(), (contextlib.nullcontext() if fast else plain_paths()):
        whole = model(x)
        exact = chunked_forward(model, x, chunk=chunk)
        approx = chunked_forward(model, x, chunk=chunk, exact=False)
    assert whole.shape == exact.shape == (2, t, 5)
    assert whole.abs().max().item() < 1e3, "calibration failed: activations blew up"
    d_exact = (exact - whole).abs().max().item()
    d_approx = (approx - whole).abs().max().item()
    assert d_exact <= 1e-4, f"exact chunked differs by {d_exact:.3g}"
    assert d_approx > 1e-3, f"the windowed approximation differs by only {d_approx:.3g}: the test is not sensitive"


@pytest.mark.parametrize("backbone,neck,m", [("agcn_loc", "ufusion", 2), ("aagcn", "simple", 1),
                                             ("ctrgcn", "ufusion", 1)])
def test_exact_chunked_memory_budgets(backbone, neck, m):
    """Every pass recomputed from the input (``cache_mb=0``) and a budget that keeps only some stage
    outputs give the same exact result as the default."""
    model = _global_localizer(backbone, neck, m)
    r = model.total_reduction
    chunk = 8 * r
    t = 3 * chunk + 2 * default_overlap(model) + 5
    x = torch.randn(1, 3, t, 25, m, generator=torch.Generator().manual_seed(5))
    _make_nontrivial(model, x)
    info = model.backbone.feature_info
    sizes = [4 * m * fi["num_chs"] * -(-t // fi["reduction"]) * 25 for fi in info[:model.tap_indices[-1]]]
    budget_mb = sorted(sizes)[len(sizes) // 2] / 2 ** 20
    with torch.no_grad():
        whole = model(x)
        ctx = sequence_context(model, x, chunk=chunk, cache_mb=budget_mb)
        assert 0 < len(ctx.cached_stages) < len(sizes)
        assert sequence_context(model, x, chunk=chunk, cache_mb=0).cached_stages == []
        for cache_mb in (0, budget_mb):
            out = chunked_forward(model, x, chunk=chunk, cache_mb=cache_mb)
            assert (out - whole).abs().max().item() <= 1e-4


def test_exact_chunked_features_and_localize(monkeypatch):
    """``features=True`` and the automatic path of ``localize`` (the CLI's) use the exact mode."""
    model = _global_localizer("agcn_loc", "ufusion", 1)
    r = model.total_reduction
    t = 40 * r + 5
    x = torch.randn(1, 3, t, 25, 1, generator=torch.Generator().manual_seed(4))
    _make_nontrivial(model, x)
    with torch.no_grad():
        whole_f = model.frame_features(x)
        f = chunked_forward(model, x, chunk=8 * r, features=True)
        assert (f - whole_f).abs().max().item() <= 1e-4
        whole = model(x)
    monkeypatch.setattr(chunked_mod, "CHUNK_THRESHOLD", 100)
    monkeypatch.setattr(chunked_mod, "DEFAULT_CHUNK", 8 * r)
    assert (model.predict_logits(x) - whole).abs().max().item() <= 1e-4
    assert (model.predict_logits(x, exact=False) - whole).abs().max().item() > 1e-3


def test_sequence_context_holds_every_site():
    model = _global_localizer("aagcn", "ufusion", 2)
    x = torch.randn(1, 3, 70, 25, 2)
    ctx = sequence_context(model.eval(), x, chunk=16)
    assert [name for _, _, name in ctx.sites()] == ["affinity", "spatial", "channel"] * 10
    for _, unit, stream in ctx.units:
        assert set(stream.frozen) == set(unit.context_sites)
        assert stream.target is None
        assert unit._stream is None  # detached after the passes
    assert 0 < ctx.nbytes < 1e6


def test_global_context_declarations():
    """``global_context`` is declared exactly by the backbones whose stages hold context units."""
    import skelzoo.backbones  # noqa: F401

    seen = set()
    for arch in list_architectures():
        if not arch.endswith(("_ufusion", "_simple")):
            continue
        model = build_model(arch)
        bb = model.backbone
        if type(bb) in seen:
            continue
        seen.add(type(bb))
        assert bool(getattr(bb, "global_context", False)) == bool(bb.context_units()), arch
    names = {t.__name__ for t in seen if getattr(t, "global_context", False)}
    assert {"AGCN", "AAGCN", "CTRGCN"} <= names


def test_bundled_model_exact_long_sequence():
    """The trained bundled AGCN-10 on ~2,800 frames of the procedural example motion, chunk 1024."""
    from skelzoo.data.synth import EXAMPLE_SCRIPT, synthesize
    from skelzoo.localization.pipeline import prepare_input
    from skelzoo.zoo import load_model

    model = load_model("agcn_loc_ufusion.bandai_w32", pretrained=True).eval()
    seq, _ = synthesize(list(EXAMPLE_SCRIPT) * 4, seed=5)
    x = prepare_input(seq, model)
    assert x.shape[2] > 2048
    with torch.no_grad():
        whole = model(x)
        exact = chunked_forward(model, x, chunk=1024)
        approx = chunked_forward(model, x, chunk=1024, exact=False)
    assert (exact - whole).abs().max().item() <= 1e-4
    assert (approx - whole).abs().max().item() > 1e-3
