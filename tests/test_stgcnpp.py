"""STGCN++ (``stgcnpp``): size, golden pyskl output, pyskl / mmaction2 key maps, round trips, containers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _golden import Golden, read_keys

import skelzoo
from skelzoo.convert import to_source_state_dict
from skelzoo.graphs import agcn_spatial
from skelzoo.models import get_converter


def _run(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy()


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def _to_mmaction2(sd: dict) -> dict:
    return {k.replace("cls_head.fc_cls.", "cls_head.fc."): v for k, v in sd.items()}


@pytest.fixture(scope="module")
def golden(reference_dir):
    torch.set_num_threads(2)
    g = Golden(reference_dir, "pyskl_stgcnpp")
    assert not g.spec["state_dict"]["official_keys"] and not g.spec["graph_constants_not_in_state_dict"]
    sd = g.state_dict()
    model = skelzoo.convert_checkpoint(sd, "stgcnpp", source="pyskl")
    return g, sd, model, _run(model, g.input())


def test_param_count_and_structure():
    m = skelzoo.build_model("stgcnpp")
    assert sum(p.numel() for p in m.parameters()) == 1_403_144
    assert m.layout == "ntu25_pyskl" and m.canonical_frames == 100
    a = torch.from_numpy(agcn_spatial("ntu25_pyskl"))
    for blk in m.stages:
        assert torch.equal(blk.gcn.A.detach(), a)  # learned adjacency initialised from the graph
    assert float(a[2].sum()) == 18.0  # pyskl hands: outward subset sums to 18 (docs/backbones.md §2.5)
    assert [blk.residual_kind for blk in m.stages] == ["none"] + ["identity"] * 3 + ["conv"] + ["identity"] * 2 + [
        "conv"] + ["identity"] * 2
    assert m.stages[0].tcn.branch_channels == (14, 10, 10, 10, 10, 10)
    assert m.stages[4].tcn.branch_channels == (23, 21, 21, 21, 21, 21)


def test_golden_pyskl(golden):
    g, _, model, y = golden
    assert np.abs(y - g.output("logits")).max() <= 1e-5


def test_golden_mmaction2_equals_pyskl(golden):
    g, sd, model, y = golden
    m = skelzoo.convert_checkpoint(_to_mmaction2(sd), "stgcnpp", source="mmaction2")
    assert _same_weights(m, model)  # same weights and buffers => the same logits bit for bit


@pytest.mark.parametrize("source", ["pyskl", "mmaction2"])
def test_round_trip(golden, source):
    g, sd, model, _ = golden
    ref = sd if source == "pyskl" else _to_mmaction2(sd)
    back = to_source_state_dict(model, get_converter("stgcnpp", source))
    assert set(back) == set(ref)
    for k, t in ref.items():
        assert back[k].shape == t.shape and torch.equal(back[k], t), k


def test_key_dump_converts(reference_dir):
    rows = read_keys(reference_dir / "keys/pyskl_stgcnpp.tsv")
    sd = {k: torch.zeros(s, dtype=torch.int64 if d == "int64" else torch.float32) for k, s, d, _ in rows}
    m = skelzoo.convert_checkpoint(sd, "stgcnpp", source="pyskl")
    back = to_source_state_dict(m, get_converter("stgcnpp", "pyskl"))
    assert {k: tuple(v.shape) for k, v in back.items()} == {k: s for k, s, _, _ in rows}


def test_wrapped_containers(golden):
    g, sd, model, y = golden
    wrapped = {"state_dict": {"module." + k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")},
               "meta": {"epoch": 80}}
    m = skelzoo.convert_checkpoint(wrapped, "stgcnpp", source="pyskl")
    assert _same_weights(m, model)


def test_backbone_only_checkpoint_gives_features(golden):
    _, sd, _, _ = golden
    bb = {k: v for k, v in sd.items() if k.startswith("backbone.")}
    m = skelzoo.convert_checkpoint(bb, "stgcnpp", source="pyskl")
    assert m.num_classes == 0
    with torch.no_grad():
        assert m.eval()(torch.randn(1, 3, 16, 25, 1)).shape == (1, 256)
