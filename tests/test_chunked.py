"""Chunked inference equals whole-sequence inference (eval mode)."""
from __future__ import annotations

import pytest
import torch

import skelzoo.localizers  # noqa: F401  (registers the localizers)
from skelzoo.localization import localizer as loc_mod
from skelzoo.localization.chunked import _windows, chunked_forward, default_overlap
from skelzoo.zoo import build_model


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
    monkeypatch.setattr(loc_mod, "CHUNK_THRESHOLD", 100)
    monkeypatch.setattr(loc_mod, "DEFAULT_CHUNK", 128)
    chunked = model.localize(x, method="argmax")
    assert calls, "localize did not use chunked inference above the threshold"
    assert [(s.label, s.start, s.end) for s in chunked[0]] == [(s.label, s.start, s.end) for s in whole[0]]
