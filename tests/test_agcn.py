"""2s-AGCN (``agcn``) and the localization AGCN-10 (``agcn_loc``): parameters, golden outputs, converters."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _golden import Golden, golden_state_dict, read_keys, tensor_sha256

import skelzoo
from skelzoo.graphs import agcn_spatial
from skelzoo.models import get_converter, to_source_state_dict

TOL = 1e-5


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _run(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


# ------------------------------------------------------------------------------------------- structure
def test_param_counts() -> None:
    assert _params(skelzoo.build_model("agcn")) == 3_469_510
    assert _params(skelzoo.build_model("agcn", num_person=1)) == 3_469_360  # BABEL baseline
    assert _params(skelzoo.build_model("agcn_loc")) == 3_458_078


def test_agcn_loc_taps_and_feature_info() -> None:
    m = skelzoo.build_model("agcn_loc").eval()
    assert m.num_classes == 0 and not any(k.startswith("data_bn") for k in m.state_dict())
    assert [f["reduction"] for f in m.feature_info] == [1, 2, 2, 2, 4, 4, 4, 8, 8, 8]
    assert [f["num_chs"] for f in m.feature_info] == [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]
    x = torch.randn(1, 3, 37, 25, 1)
    with torch.no_grad():
        taps = m.forward_intermediates(x, [0, 6, 9])
        assert [tuple(t.shape) for t in taps] == [(1, 64, 37, 25, 1), (1, 128, 10, 25, 1), (1, 256, 5, 25, 1)]
        assert tuple(m(x).shape) == (1, 256)
        assert tuple(m(torch.randn(1, 3, 16, 25, 2)).shape) == (1, 256)  # no data-BN: any M


def test_agcn_feature_info_and_in_channels() -> None:
    m = skelzoo.build_model("agcn", in_channels=2, num_classes=7).eval()
    assert [f["reduction"] for f in m.feature_info] == [1, 1, 1, 1, 2, 2, 2, 4, 4, 4]
    assert m.data_bn.num_features == 2 * 25 * 2
    assert m.stages[0].gcn.conv_d[0].in_channels == 2
    assert tuple(_run(m, torch.randn(2, 2, 12, 25, 2)).shape) == (2, 7)
    with pytest.raises(ValueError):
        m(torch.randn(2, 3, 12, 25, 2))


def test_graph_buffer_not_persistent() -> None:
    m = skelzoo.build_model("agcn")
    assert not any(k.endswith(".A") for k in m.state_dict())
    a = m.stages[3].gcn.A
    assert torch.equal(a, torch.from_numpy(agcn_spatial("ntu25")))


# ------------------------------------------------------------------------------------------- golden
@pytest.mark.parametrize("name", ["agcn", "line_tal_agcn", "snipclr_agcn_unet"])
def test_graph_constants(reference_dir, name: str) -> None:
    g = Golden(reference_dir, name)
    (chk,) = g.spec["graph_constants_not_in_state_dict"].values()
    arch = "agcn" if name == "agcn" else "agcn_loc"
    a = skelzoo.build_model(arch).stages[0].gcn.A
    assert list(a.shape) == chk["shape"]
    assert tensor_sha256(a) == chk["sha256"]


def test_golden_agcn(reference_dir) -> None:
    g = Golden(reference_dir, "agcn")
    m = skelzoo.convert_checkpoint(g.state_dict(), "agcn", source="official")
    assert _params(m) == g.spec["num_parameters"]
    out = _run(m, g.input()).numpy()
    assert np.abs(out - g.output("logits")).max() <= TOL


def _line_mil(feat: torch.Tensor, center: torch.Tensor, t_out: int, scale: float = 5.0,
              temperatures: tuple[float, ...] = (1.0, 2.0, 5.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """The LINE TAL MIL classifier on ``(N, D, T', V, M)`` features (test-only re-implementation).

    Frame embeddings = mean over V and M; cosine similarity to the class centres × ``scale``; video score
    = sigmoid(2 · mean over temperatures of Σ_t score · softmax_t(score · τ)); frame scores linearly
    interpolated (align_corners) to ``t_out``.
    """
    emb = feat.mean(dim=(3, 4)).transpose(1, 2)                       # (N, T', D)
    frm = torch.einsum("ntd,cd->ntc", F.normalize(emb, dim=2), F.normalize(center, dim=1)) * scale
    vids = [torch.einsum("ntc,ntc->nc", frm, F.softmax(frm * t, 1)) for t in temperatures]
    pred = torch.sigmoid(torch.stack(vids, -1).mean(-1) * 2.0)
    frm = F.interpolate(frm.transpose(1, 2), size=t_out, mode="linear", align_corners=True).transpose(1, 2)
    return pred, frm


def test_golden_line_tal_end_to_end(reference_dir) -> None:
    """agcn_loc + a test-local MIL head reproduce all four LINE outputs."""
    g = Golden(reference_dir, "line_tal_agcn")
    sd = g.state_dict()
    m = skelzoo.convert_checkpoint(sd, "agcn_loc", source="official").eval()
    x = g.input()
    with torch.no_grad():
        feat = m.forward_features(x)
        for i in (1, 2):
            pred, frm = _line_mil(feat, sd[f"classifier_{i}.ac_center"], x.shape[2])
            assert np.abs(pred.numpy() - g.output(f"mil_vid_pred_{i}")).max() <= TOL
            assert np.abs(frm.numpy() - g.output(f"frm_scrs_{i}")).max() <= TOL


def test_snipclr_backbone_converts(reference_dir) -> None:
    g = Golden(reference_dir, "snipclr_agcn_unet")
    m = skelzoo.convert_checkpoint(g.state_dict(), "agcn_loc", source="official")
    assert m.in_channels == 3 and m.num_classes == 0  # data_bn (50 wide, unused) is ignored
    assert _params(m) == 3_458_078


# ------------------------------------------------------------------------------------------- key sets
@pytest.mark.parametrize("keys, arch, ignored", [
    ("agcn.tsv", "agcn", None),
    ("babel_agcn.tsv", "agcn", None),
    ("tal_line.tsv", "agcn_loc", r"^(data_bn|classifier_[12])\."),
    ("snipclr_agcn_unet.tsv", "agcn_loc", r"^(data_bn|msff|fc_loc)\."),
])
def test_key_sets_round_trip(reference_dir, keys: str, arch: str, ignored: str | None) -> None:
    rows = read_keys(reference_dir / "keys" / keys)
    src = golden_state_dict(rows, {})
    m = skelzoo.convert_checkpoint(src, arch, source="official")
    if keys == "babel_agcn.tsv":
        assert m.num_person == 1 and m.data_bn.num_features == 75
    back = to_source_state_dict(m, get_converter(arch, "official"))
    expect = {k for k in src if not (ignored and re.search(ignored, k))}
    assert set(back) == expect
    for k in expect:
        assert back[k].shape == src[k].shape and torch.equal(back[k], src[k]), k


def test_wrapped_containers(reference_dir) -> None:
    rows = read_keys(reference_dir / "keys" / "agcn.tsv")
    src = golden_state_dict(rows, {})
    ref = skelzoo.convert_checkpoint(src, "agcn").state_dict()
    wrapped = {"state_dict": {f"module.{k}": v for k, v in src.items() if not k.endswith("num_batches_tracked")},
               "epoch": 3}
    got = skelzoo.convert_checkpoint(wrapped, "agcn").state_dict()
    for k, v in ref.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, got[k]), k


def test_unexpected_key_rejected(reference_dir) -> None:
    rows = read_keys(reference_dir / "keys" / "tal_line.tsv")
    src = golden_state_dict(rows, {})
    src["l3.gcn1.extra"] = torch.zeros(1)
    with pytest.raises(ValueError):
        skelzoo.convert_checkpoint(src, "agcn_loc")
