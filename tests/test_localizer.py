"""Localizers: registration, the SnipCLR golden model, converter key sets, API of ``Localizer``."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _golden import Golden, read_keys

import skelzoo
from skelzoo.convert import convert_checkpoint, to_source_state_dict
from skelzoo.localization.localizer import Localizer
from skelzoo.models import get_converter, get_entry, list_architectures
from skelzoo.zoo import build_model

GOLDEN = "snipclr_agcn_unet"


def _nparams(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_every_backbone_has_both_localizers():
    for arch in list_architectures():
        if get_entry(arch).task == "localization":
            continue
        for neck in ("ufusion", "simple"):
            name = f"{arch}_{neck}"
            assert name in skelzoo.list_models(), name
            entry = get_entry(name)
            assert entry.task == "localization" and entry.builder.__name__ == name
    assert get_entry("agcn_loc_ufusion").family == "localizers"


@pytest.fixture(scope="module")
def golden(reference_dir):
    return Golden(reference_dir, GOLDEN)


@pytest.fixture(scope="module")
def converted(golden):
    return convert_checkpoint(golden.state_dict(), "agcn_loc_ufusion", source="official")


def test_paper_model_structure_and_parameter_counts(converted):
    m = converted
    assert m.task == "localization" and m.num_classes == 4 and m.num_person == 1
    assert m.tap_indices == (0, 6, 9) and m.tap_reductions == (1, 4, 8)
    assert _nparams(m.backbone) == 3_458_078
    assert _nparams(m.neck) == 2_244_672
    # official 5,705,415 includes the unused 50-wide data-BN (100 parameters) that skelzoo does not build
    assert _nparams(m) == 5_705_415 - 100
    with torch.device("meta"):
        assert _nparams(build_model("agcn_loc_simple")) == 3_458_078 + 1_285
    assert m.receptive_field > 289  # AGCN-10's nine (9,1) convs alone span 289 frames


def test_golden_snipclr_agcn_unet(golden, converted):
    torch.set_num_threads(2)
    model = converted
    captured = {}
    handle = model.neck.register_forward_hook(lambda mod, inp, out: captured.__setitem__("neck", out))
    with torch.no_grad():
        logits = model(golden.input())
    handle.remove()
    assert logits.shape == (2, 100, 5)
    assert np.abs(logits.numpy() - golden.output("logits")).max() <= 1e-5
    assert captured["neck"].shape == (2, 512, 100)
    assert np.abs(captured["neck"].numpy() - golden.output("neck_features")).max() <= 1e-5
    assert golden.spec["neck_num_parameters"] == _nparams(model.neck)


def test_converter_key_sets_and_round_trip(reference_dir, golden, converted):
    rows = read_keys(reference_dir / "keys" / f"{GOLDEN}.tsv")
    sd = golden.state_dict()
    assert [r[0] for r in rows] == list(sd)
    conv = get_converter("agcn_loc_ufusion", "official")
    back = to_source_state_dict(converted, conv)
    expected = {k for k in sd if not k.startswith("data_bn.")}
    assert set(back) == expected
    for k in expected:
        assert back[k].shape == sd[k].shape and torch.equal(back[k], sd[k]), k
    # zeros with the exact official key names / shapes convert strictly (no missing / unexpected keys);
    # wrapped containers, module. prefixes and missing num_batches_tracked are accepted; a different
    # num_classes re-initialises only the frame head
    zeros = {"module." + k: torch.zeros(shape, dtype=torch.int64 if dt == "int64" else torch.float32)
             for k, shape, dt, _ in rows if not k.endswith("num_batches_tracked")}
    six = convert_checkpoint({"state_dict": zeros, "epoch": 3}, "agcn_loc_ufusion", num_classes=6)
    assert six.head.out_features == 7 and six.num_classes == 6
    assert all(float(v.abs().sum()) == 0 for k, v in six.state_dict().items() if not k.startswith("head."))


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return build_model("stgcn_ssl_ufusion", num_classes=3, class_names=["a", "b", "c"]).eval()


def test_forward_features_and_head(small):
    x = torch.randn(2, 3, 37, 25, 1)
    with torch.no_grad():
        y = small(x)
        f = small.frame_features(x)
    assert y.shape == (2, 37, 4) and f.shape == (2, 37, 512)
    torch.testing.assert_close(small.head.linear(f), y)
    assert small.class_names == ("a", "b", "c")
    assert small.layout == "ntu25" and small.in_channels == 3 and small.min_frames >= 1


def test_simple_head_interpolates():
    torch.manual_seed(0)
    m = build_model("stgcn_ssl_simple").eval()
    x = torch.randn(1, 3, 30, 25, 1)
    with torch.no_grad():
        y = m(x)
        f = m.frame_features(x)
        coarse = m.backbone.forward_features(x).mean(3).mean(-1)  # (N, D, 8)
    assert y.shape == (1, 30, 5) and f.shape == (1, 30, 256)
    torch.testing.assert_close(m.head.linear(f), y, rtol=1e-5, atol=1e-5)
    # align_corners=True: first and last frames are the first and last coarse steps
    lin = m.head.linear(coarse.transpose(1, 2))
    torch.testing.assert_close(y[:, 0], lin[:, 0])
    torch.testing.assert_close(y[:, -1], lin[:, -1])


def test_localize_returns_segments(small):
    from skelzoo.localization.segments import Segment

    x = torch.randn(2, 3, 40, 25, 1)
    out = small.localize(x, fps=20.0, method="argmax")
    assert isinstance(out, list) and len(out) == 2
    for segs in out:
        for s in segs:
            assert isinstance(s, Segment) and 0 <= s.label < 3 and s.name in ("a", "b", "c")
            assert 0 <= s.start < s.end <= 40 and s.start_s == s.start / 20.0
    # a sequence whose frames all score high for class 1 gives one segment of class 1
    with torch.no_grad():
        small.head.weight.zero_()
        small.head.bias.copy_(torch.tensor([0.0, 5.0, 0.0, 0.0]))
    segs = small.localize(x[:1], method="official")[0]
    assert segs and {s.label for s in segs} == {1}
    segs = small.localize(x, lengths=[40, 25], method="argmax")
    assert [(s.start, s.end) for s in segs[1]] == [(0, 25)]


def test_reset_classifier_and_keys():
    m = build_model("stgcn_ssl_ufusion")
    assert m.classifier_keys() == ["head.weight", "head.bias"]
    neck_before = m.neck.final.weight.clone()
    m.reset_classifier(7)
    assert m.num_classes == 7 and m.head.out_features == 8
    assert torch.equal(m.neck.final.weight, neck_before)
    with pytest.raises(ValueError):
        Localizer(m.backbone, num_classes=0)


@pytest.mark.parametrize("bad", ["channels", "joints", "nan", "short", "persons"])
def test_check_input(small, bad):
    x = torch.randn(1, 3, 16, 25, 1)
    if bad == "channels":
        x = x[:, :2]
    elif bad == "joints":
        x = x[:, :, :, :20]
    elif bad == "nan":
        x[0, 0, 3, 0, 0] = float("inf")
    elif bad == "short":
        x = x[:, :, :0]
    else:
        x = torch.randn(1, 3, 16, 25, 3)
    if bad == "persons" and not small.fixed_num_person:
        pytest.skip("backbone accepts any number of persons")
    with pytest.raises(ValueError):
        small(x)


def test_save_load_round_trip_with_backbone_args(tmp_path):
    torch.manual_seed(0)
    m = build_model("stgcn_ufusion", backbone_args={"base_channels": 16}, num_classes=2, taps=[2, 6, 9]).eval()
    assert m.tap_indices == (2, 6, 9) and m.neck.in_channels == (16, 32, 64)
    skelzoo.save_pretrained(m, tmp_path / "loc")
    again = skelzoo.load_model(f"local-dir:{tmp_path / 'loc'}")
    x = torch.randn(1, 3, 20, 25, 1)
    with torch.no_grad():
        torch.testing.assert_close(m(x), again(x), rtol=0, atol=0)
    assert skelzoo.model_info("stgcn_ufusion")["task"] == "localization"


def test_extract_features_leaves_empty_person_slots_out():
    """A one-person recording gives the same backbone features whether the model has 1 or 2 person slots."""
    import numpy as np

    from skelzoo.io import SkeletonSequence
    from skelzoo.localization.pipeline import extract_features

    torch.manual_seed(0)
    two = skelzoo.build_model("stgcn_ssl", num_classes=0, num_person=2).eval()
    one = skelzoo.build_model("stgcn_ssl", num_classes=0, num_person=1).eval()
    one.load_state_dict(two.state_dict())
    seq = SkeletonSequence(np.random.default_rng(0).normal(size=(40, 1, 25, 3)).astype(np.float32), "ntu25", 30.0)
    a, b = extract_features(two, seq), extract_features(one, seq)
    assert a.shape == (40, 256)
    np.testing.assert_allclose(a, b, atol=1e-5)
