"""The public contract, checked over EVERY registered architecture (in the spirit of timm's tests)."""
from __future__ import annotations

import math

import pytest
import torch

import skelzoo
from skelzoo.zoo import build_model

ALL = skelzoo.list_models()
T = 24


def _input(model: torch.nn.Module, n: int = 2, t: int = T) -> torch.Tensor:
    m = model.num_person if model.num_person else 1
    t = max(t, getattr(model, "min_frames", 1))
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, model.in_channels, t, model.num_joints, m, generator=g)


@pytest.fixture(scope="module", params=ALL)
def built(request):
    torch.manual_seed(0)
    return request.param, build_model(request.param).eval()


def test_registry_not_empty():
    assert len(ALL) >= 3
    assert "ctrgcn" in ALL and "stgcn" in ALL and "agcn" in ALL


def test_forward_shape_and_finite(built):
    name, model = built
    x = _input(model)
    with torch.no_grad():
        y = model(x)
    assert torch.isfinite(y).all()
    if skelzoo.model_info(name)["task"] == "localization":
        assert y.shape == (x.shape[0], x.shape[2], model.num_classes + 1)
    elif model.num_classes == 0:
        assert y.shape == (x.shape[0], model.num_features)
    else:
        assert y.shape == (x.shape[0], model.num_classes)


def test_feature_info_matches_intermediates(built):
    name, model = built
    if not hasattr(model, "forward_intermediates"):
        pytest.skip("not a backbone")
    x = _input(model)
    with torch.no_grad():
        feats = model.forward_intermediates(x)
        last = model.forward_features(x)
    info = model.feature_info
    assert len(feats) == len(info)
    for f, fi in zip(feats, info):
        n, c, t, v, m = f.shape
        assert (n, v, m) == (x.shape[0], x.shape[3], x.shape[4])
        assert c == fi["num_chs"], (name, fi)
        assert t == math.ceil(x.shape[2] / fi["reduction"]), (name, fi, t)
    torch.testing.assert_close(feats[-1], last)
    assert last.shape[1] == model.num_features


def test_pooled_features_without_classifier(built):
    name, model = built
    if skelzoo.model_info(name)["task"] == "localization":
        pytest.skip("localizer")
    feat_model = build_model(name, num_classes=0).eval()
    with torch.no_grad():
        y = feat_model(_input(feat_model))
    assert y.shape == (2, feat_model.num_features)


def test_save_load_identical(built, tmp_path):
    name, model = built
    skelzoo.save_pretrained(model, tmp_path / "m")
    for f in ("config.json", "model.safetensors", "README.md"):
        assert (tmp_path / "m" / f).is_file()
    again = skelzoo.load_model(f"local-dir:{tmp_path / 'm'}")
    x = _input(model)
    with torch.no_grad():
        torch.testing.assert_close(model(x), again(x), rtol=0, atol=0)


def test_num_classes_override_drops_only_head(built, tmp_path):
    name, model = built
    skelzoo.save_pretrained(model, tmp_path / "m")
    new = skelzoo.load_model(f"local-dir:{tmp_path / 'm'}", num_classes=7)
    assert new.num_classes == 7
    old_sd, new_sd = model.state_dict(), new.state_dict()
    head = set(new.classifier_keys())
    assert head, f"{name}: no classifier keys after num_classes=7"
    assert set(new.dropped_keys) == set(model.classifier_keys())
    for k, v in new_sd.items():
        if k not in head:
            torch.testing.assert_close(v, old_sd[k], rtol=0, atol=0)


@pytest.mark.parametrize("bad", ["channels", "joints", "nan", "short", "dims"])
def test_bad_input_raises_value_error(built, bad):
    name, model = built
    x = _input(model)
    if bad == "channels":
        x = x[:, :-1]
    elif bad == "joints":
        x = x[:, :, :, :-1]
    elif bad == "nan":
        x[0, 0, 0, 0, 0] = float("nan")
    elif bad == "short":
        if getattr(model, "min_frames", 1) <= 1:
            x = x[:, :, :0]
        else:
            x = x[:, :, : model.min_frames - 1]
    else:
        x = x[..., 0]
    with pytest.raises(ValueError):
        model(x)


def test_backward_reaches_every_parameter(built):
    name, model = built
    model = build_model(name).train()
    x = _input(model, n=2, t=16)
    y = model(x)
    y.float().pow(2).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{name}: parameters without gradient: {missing[:5]}"


def test_model_info_contract_keys(built):
    name, model = built
    info = skelzoo.model_info(name)
    for key in ("arch", "tag", "task", "layout", "in_channels", "num_classes", "class_names", "num_params",
                "license", "source", "sha256", "metrics", "paper"):
        assert key in info, key
    assert info["num_params"] == sum(p.numel() for p in model.parameters())
