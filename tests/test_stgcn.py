"""ST-GCN (``stgcn``) and the quarter-width SSL encoder (``stgcn_ssl``): size, golden outputs of the
official / pyskl / mmaction2 / SkeletonCLR code, key maps, round trips, containers, cross-route."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _golden import Golden, read_keys

import skelzoo
from skelzoo.convert import to_source_state_dict
from skelzoo.errors import CheckpointError
from skelzoo.graphs import stgcn_spatial
from skelzoo.models import get_converter
from skelzoo.models.stgcn import STGCN

GRAPH = {name: torch.from_numpy(stgcn_spatial(name)) for name in ("ntu25", "ntu25_pyskl")}
# golden name -> (arch, source, layout of its graph buffers)
CASES = {
    "stgcn": ("stgcn", "official", "ntu25"),
    "pyskl_stgcn": ("stgcn", "pyskl", "ntu25_pyskl"),
    "mmaction2_stgcn": ("stgcn", "mmaction2", "ntu25_pyskl"),
    "skeletonclr_linear": ("stgcn_ssl", "official", "ntu25"),
}


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def _run(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy()


@pytest.fixture(scope="module")
def golden(reference_dir):
    """name -> (Golden, regenerated source state dict, converted model, logits)."""
    torch.set_num_threads(2)
    out = {}
    for name, (arch, source, graph) in CASES.items():
        g = Golden(reference_dir, name)
        sd = g.state_dict(lambda key, graph=graph: GRAPH[graph])  # asserts the golden sha256 of A
        model = skelzoo.convert_checkpoint(sd, arch, source=source)
        out[name] = (g, sd, model, _run(model, g.input()))
    return out


# ---------------------------------------------------------------------------------------------- size
def test_param_counts():
    assert sum(p.numel() for p in skelzoo.build_model("stgcn").parameters()) == 3_098_832
    assert sum(p.numel() for p in skelzoo.build_model("stgcn_ssl").parameters()) == 836_800
    ssl = skelzoo.build_model("stgcn_ssl")
    assert [s["num_chs"] for s in ssl.feature_info] == [16, 16, 16, 16, 32, 32, 32, 64, 64, 256]
    assert [b.residual_kind for b in ssl.stages] == ["none", "identity", "identity", "identity", "conv",
                                                    "identity", "identity", "conv", "identity", "conv"]
    m = skelzoo.build_model("stgcn")
    assert [b.residual_kind for b in m.stages] == ["none"] + ["identity"] * 3 + ["conv"] + ["identity"] * 2 + [
        "conv"] + ["identity"] * 2
    assert [s["reduction"] for s in m.feature_info] == [1] * 4 + [2] * 3 + [4] * 3
    assert ssl.canonical_frames == 50 and m.canonical_frames == 300


def test_layout_chooses_graph():
    for layout in ("ntu25", "ntu25_pyskl"):
        m = skelzoo.build_model("stgcn", layout=layout)
        for blk in m.stages:
            assert torch.equal(blk.gcn.A, GRAPH[layout])
    m = skelzoo.build_model("stgcn", layout="coco17", num_classes=5, base_channels=8).eval()
    with torch.no_grad():
        assert m(torch.randn(1, 3, 12, 17, 1)).shape == (1, 5)


def test_graph_facts():
    a = GRAPH["ntu25"]
    assert [int((a[k] != 0).sum()) for k in range(3)] == [25, 40, 8]
    np.testing.assert_allclose([float(a[k].sum()) for k in range(3)], [8.95, 13.30, 2.75], atol=5e-3)
    np.testing.assert_allclose(float(GRAPH["ntu25_pyskl"][2].sum()), 2.75, atol=1e-5)


# ---------------------------------------------------------------------------------------------- golden
@pytest.mark.parametrize("name", list(CASES))
def test_golden(golden, name):
    g, sd, model, y = golden[name]
    assert y.shape == tuple(g.spec["outputs"]["logits"]["shape"])
    assert np.abs(y - g.output("logits")).max() <= 1e-5
    assert model.layout == CASES[name][2]
    # the model's graph buffers are the source's (per block for pyskl, the single A for official)
    for i, blk in enumerate(model.stages):
        src = sd.get("A", sd.get("encoder_q.A", sd.get(f"backbone.gcn.{i}.gcn.A")))
        assert torch.equal(blk.gcn.A, src)


def test_mmaction2_equals_pyskl_bitwise(golden):
    assert np.array_equal(golden["mmaction2_stgcn"][3], golden["pyskl_stgcn"][3])


# ---------------------------------------------------------------------------------------------- key sets
@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_golden(golden, name):
    g, sd, model, _ = golden[name]
    arch, source, _ = CASES[name]
    back = to_source_state_dict(model, get_converter(arch, source))
    assert set(back) == set(sd) == {r[0] for r in g.rows}
    for k, t in sd.items():
        assert tuple(back[k].shape) == tuple(t.shape), k
        assert torch.equal(back[k], t), k


@pytest.mark.parametrize("keys_file,arch,source", [
    ("keys/stgcn.tsv", "stgcn", "official"),
    ("keys/pyskl_stgcn.tsv", "stgcn", "pyskl"),
    ("keys/pyskl_stgcn_vanilla.tsv", "stgcn", "pyskl"),
    ("keys/mmaction2_stgcn.tsv", "stgcn", "mmaction2"),
    ("golden/keys/skeletonclr_linear.tsv", "stgcn_ssl", "official"),
])
def test_key_dump_converts(reference_dir, keys_file, arch, source):
    rows = read_keys(reference_dir / keys_file)
    sd = {k: torch.zeros(s, dtype=torch.int64 if d == "int64" else torch.float32) for k, s, d, _ in rows}
    model = skelzoo.convert_checkpoint(sd, arch, source=source)  # strict: no missing / unexpected keys
    back = to_source_state_dict(model, get_converter(arch, source))
    assert {k: tuple(v.shape) for k, v in back.items()} == {k: s for k, s, _, _ in rows}


def test_pretext_wrapper_gives_feature_model(reference_dir):
    rows = read_keys(reference_dir / "keys/skeletonclr.tsv")
    sd = {k: torch.randn(s) if d == "float32" else torch.zeros(s, dtype=torch.int64) for k, s, d, _ in rows}
    model = skelzoo.convert_checkpoint(sd, "stgcn_ssl", source="official")
    assert model.num_classes == 0 and model.task == "features"
    assert torch.equal(model.stages[9].gcn.edge_importance, sd["encoder_q.edge_importance.9"])
    assert torch.equal(model.data_bn.running_var, sd["encoder_q.data_bn.running_var"])
    with torch.no_grad():
        assert model(torch.randn(1, 3, 50, 25, 2)).shape == (1, 256)
    back = to_source_state_dict(model, get_converter("stgcn_ssl", "official"))
    expected = {k for k, *_ in rows if k.startswith("encoder_q.") and not k.startswith("encoder_q.fc.")}
    assert set(back) == expected


# ---------------------------------------------------------------------------------------------- containers
def test_wrapped_containers(golden):
    g, sd, model, y = golden["stgcn"]
    wrapped = {"state_dict": {"module." + k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")},
               "epoch": 3, "meta": {"note": "x"}}
    m = skelzoo.convert_checkpoint(wrapped, "stgcn", source="official")
    assert _same_weights(m, model)  # same weights and buffers => the same logits
    g2, sd2, model2, y2 = golden["pyskl_stgcn"]
    m2 = skelzoo.convert_checkpoint({"state_dict": dict(sd2), "meta": {}}, "stgcn", source="pyskl")
    assert _same_weights(m2, model2)


def test_missing_and_unexpected_keys_rejected(golden):
    _, sd, _, _ = golden["stgcn"]
    bad = dict(sd)
    bad.pop("st_gcn_networks.3.tcn.2.weight")
    with pytest.raises(CheckpointError, match="missing"):
        skelzoo.convert_checkpoint(bad, "stgcn", source="official")
    with pytest.raises(CheckpointError, match="unexpected"):
        skelzoo.convert_checkpoint({**sd, "extra.weight": torch.zeros(1)}, "stgcn", source="official")


# ---------------------------------------------------------------------------------------------- cross-route
def test_official_and_pyskl_routes_agree(golden):
    """docs/backbones.md §5.2: official weights through the pyskl route (official A copied into every block)."""
    g, _, official_model, y = golden["stgcn"]
    pyskl_sd = to_source_state_dict(official_model, get_converter("stgcn", "pyskl"))
    for i in range(10):
        assert torch.equal(pyskl_sd[f"backbone.gcn.{i}.gcn.A"], GRAPH["ntu25"])
    assert pyskl_sd["cls_head.fc_cls.weight"].shape == (60, 256)
    m = skelzoo.convert_checkpoint(pyskl_sd, "stgcn", source="pyskl")
    assert m.layout == "ntu25"  # inferred from the stored graph
    assert np.abs(_run(m, g.input()) - y).max() <= 1e-6

    # and back: pyskl weights exported to the official format keep pyskl's graph in the single A
    g2, _, pyskl_model, y2 = golden["pyskl_stgcn"]
    off_sd = to_source_state_dict(pyskl_model, get_converter("stgcn", "official"))
    assert torch.equal(off_sd["A"], GRAPH["ntu25_pyskl"]) and off_sd["fcn.weight"].shape == (60, 256, 1, 1)
    m2 = skelzoo.convert_checkpoint(off_sd, "stgcn", source="official")
    assert m2.layout == "ntu25_pyskl"
    sd2, sd_pyskl = m2.state_dict(), pyskl_model.state_dict()
    assert sd2.keys() == sd_pyskl.keys() and all(torch.equal(sd2[k], sd_pyskl[k]) for k in sd2)
    # the same weights; the logits to float32 rounding only (y2 was computed at 2 threads, this runs at 1, and
    # inference autotuning may choose another kernel per thread count: skelzoo.blocks.gemm)
    assert np.abs(_run(m2, g2.input()) - y2).max() <= 1e-6


def test_interface():
    m = skelzoo.build_model("stgcn_ssl", num_classes=0).eval()
    assert isinstance(m, STGCN)
    x = torch.randn(2, 3, 20, 25, 3)  # VC data-BN: any number of persons
    with torch.no_grad():
        feats = m.forward_intermediates(x)
        assert [f.shape[1] for f in feats] == [s["num_chs"] for s in m.feature_info]
        assert m(x).shape == (2, 256)
    with pytest.raises(ValueError):
        m(torch.randn(2, 3, 20, 24, 2))
    m2 = skelzoo.build_model("stgcn", edge_importance=False, num_classes=7)
    assert not any("edge_importance" in k for k in m2.state_dict())
    sd = to_source_state_dict(m2, get_converter("stgcn", "official"))
    m3 = skelzoo.convert_checkpoint(sd, "stgcn", source="official")
    assert m3.num_classes == 7 and m3.stages[0].gcn.edge_importance is None
