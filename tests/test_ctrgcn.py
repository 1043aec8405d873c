"""CTR-GCN (official) and its pyskl/mmaction2 variant: parameters, golden outputs, converters, §5.2 mapping,
and the shared multi-scale temporal conv block."""
from __future__ import annotations

import math

import pytest
import torch
from _golden import Golden, golden_state_dict, read_keys

from skelzoo.blocks.mstcn import MSG3D_BRANCHES, PYSKL_MSTCN_BRANCHES, MultiScaleTCN
from skelzoo.convert import convert_checkpoint, to_source_state_dict
from skelzoo.graphs import agcn_spatial
from skelzoo.models import get_converter
from skelzoo.models.ctrgcn import flip_aggregation
from skelzoo.zoo import build_model

NTU60_PARAMS = 1_446_672
# (arch, source, key file, golden whose logits apply: mmaction2's key list has pyskl's order, so the recipe
# gives it the same tensors and the same logits as pyskl_ctrgcn)
CASES = [
    ("ctrgcn", "official", "ctrgcn.tsv", "ctrgcn"),
    ("ctrgcn_pyskl", "pyskl", "pyskl_ctrgcn.tsv", "pyskl_ctrgcn"),
    ("ctrgcn_pyskl", "mmaction2", "mmaction2_ctrgcn.tsv", "pyskl_ctrgcn"),
]


def _pyskl_graph(key: str) -> torch.Tensor:
    assert key == "backbone.A"
    return torch.from_numpy(agcn_spatial("ntu25_pyskl"))


def _source_sd(reference_dir, key_file: str) -> dict[str, torch.Tensor]:
    rows = read_keys(reference_dir / "keys" / key_file)
    official = {k: _pyskl_graph(k) for k, _, _, kind in rows if kind == "buffer" and k == "backbone.A"}
    return golden_state_dict(rows, official)


@pytest.mark.parametrize("arch", ["ctrgcn", "ctrgcn_pyskl"])
def test_param_count(arch):
    model = build_model(arch)
    assert sum(p.numel() for p in model.parameters()) == NTU60_PARAMS


def test_graph_buffer_matches_golden_checksum(reference_dir):
    g = Golden(reference_dir, "pyskl_ctrgcn")
    model = build_model("ctrgcn_pyskl")
    g.state_dict(official=lambda k: model.A)  # asserts shape + sha256 of backbone.A
    assert not hasattr(build_model("ctrgcn"), "A") and "A" not in build_model("ctrgcn").state_dict()


@pytest.mark.parametrize("arch,source,key_file,golden", CASES)
def test_golden(reference_dir, arch, source, key_file, golden):
    g = Golden(reference_dir, golden)
    sd = g.state_dict(official=_pyskl_graph) if source == "pyskl" else _source_sd(reference_dir, key_file)
    model = convert_checkpoint(sd, arch, source=source)
    with torch.no_grad():
        out = model(g.input())
    diff = float((out - torch.from_numpy(g.output("logits"))).abs().max())
    assert diff <= 1e-5, f"{arch}/{source}: max abs diff {diff:.3g}"


@pytest.mark.parametrize("arch,source,key_file,golden", CASES)
def test_key_set_round_trip(reference_dir, arch, source, key_file, golden):
    rows = read_keys(reference_dir / "keys" / key_file)
    zeros = {k: torch.zeros(s, dtype=torch.int64 if dt == "int64" else torch.float32) for k, s, dt, _ in rows}
    convert_checkpoint(zeros, arch, source=source)  # raises on any missing / unexpected key
    sd = _source_sd(reference_dir, key_file)
    back = to_source_state_dict(convert_checkpoint(sd, arch, source=source), get_converter(arch, source))
    assert set(back) == set(sd)
    for k, t in sd.items():
        assert back[k].shape == t.shape, k
        assert torch.equal(back[k], t), k


@pytest.mark.parametrize("arch,source,key_file", [c[:3] for c in CASES])
def test_wrapped_containers(reference_dir, arch, source, key_file):
    sd = _source_sd(reference_dir, key_file)
    wrapped = {"state_dict": {"module." + k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")},
               "meta": {"epoch": 3}}
    ref = convert_checkpoint(sd, arch, source=source).state_dict()
    got = convert_checkpoint(wrapped, arch, source=source).state_dict()
    assert set(ref) == set(got)
    for k in ref:
        assert torch.equal(ref[k], got[k]), k


def test_model_args_inferred(reference_dir):
    sd = _source_sd(reference_dir, "ctrgcn.tsv")
    sd["fc.weight"], sd["fc.bias"] = sd["fc.weight"][:11], sd["fc.bias"][:11]
    model = convert_checkpoint(sd, "ctrgcn", source="official")
    assert model.num_classes == 11 and model.num_person == 2 and model.in_channels == 3


def test_official_weights_in_pyskl_form_give_identical_logits(reference_dir):
    """docs/backbones.md §5.2: official weights mapped into pyskl's form (A transposed, conv1 <-> conv2, conv4 weight
    negated) reproduce official CTR-GCN in pyskl's CTRGCN once the ReLU after the MS-TCN concat is removed."""
    g = Golden(reference_dir, "ctrgcn")
    official = convert_checkpoint(g.state_dict(), "ctrgcn", source="official")
    flipped = flip_aggregation(official.state_dict())
    flipped["A"] = torch.from_numpy(agcn_spatial("ntu25_pyskl"))  # unused graph buffer of the pyskl form
    # express it as a real pyskl checkpoint and load it through the pyskl converter
    pyskl_like = build_model("ctrgcn_pyskl", mstcn_final_act=False)
    pyskl_like.load_state_dict(flipped)
    pyskl_sd = to_source_state_dict(pyskl_like, get_converter("ctrgcn_pyskl", "pyskl"))
    x = g.input()[:1, :, :16]  # the identity holds for any input; keep the test fast
    with torch.no_grad():
        ref = official(x)
        same = convert_checkpoint(pyskl_sd, "ctrgcn_pyskl", source="pyskl", mstcn_final_act=False)(x)
        with_relu = convert_checkpoint(pyskl_sd, "ctrgcn_pyskl", source="pyskl")(x)
        naive = build_model("ctrgcn_pyskl", mstcn_final_act=False)
        naive.load_state_dict({**official.state_dict(), "A": flipped["A"]})
        naive_out = naive(x)
    assert float((same - ref).abs().max()) <= 1e-6
    assert float((with_relu - ref).abs().max()) > 1e-3
    assert float((naive_out - ref).abs().max()) > 1e-5
    # the mapping is an involution
    twice = flip_aggregation(flip_aggregation(official.state_dict()))
    assert all(torch.equal(twice[k], v) for k, v in official.state_dict().items())


@pytest.mark.parametrize("arch", ["ctrgcn", "ctrgcn_pyskl"])
def test_fused_unit_equals_reference(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    with torch.no_grad():  # make alpha, the biases and the BN scale matter
        for p in model.parameters():
            if p.dim() <= 1:
                p.normal_(0, 0.3)
    x = torch.randn(2, 64, 7, 25)
    unit = model.stages[1].gcn
    with torch.no_grad():
        torch.testing.assert_close(unit(x), unit.forward_reference(x), atol=1e-5, rtol=1e-5)


def test_odd_length_and_features():
    model = build_model("ctrgcn", num_classes=0).eval()
    x = torch.randn(1, 3, 25, 25, 2)
    with torch.no_grad():
        feats = model.forward_intermediates(x)
    assert [f.shape[2] for f in feats] == [math.ceil(25 / i["reduction"]) for i in model.feature_info]
    assert [f.shape[1] for f in feats] == [64] * 4 + [128] * 3 + [256] * 3


# ------------------------------------------------------------------------------------ MultiScaleTCN reuse
def _tsv_shapes(reference_dir, name: str, prefix: str) -> dict[str, tuple[int, ...]]:
    return {k[len(prefix):]: s for k, s, _, _ in read_keys(reference_dir / "keys" / name) if k.startswith(prefix)}


def test_mstcn_matches_msg3d_and_pyskl_mstcn_layouts(reference_dir):
    msg3d = MultiScaleTCN(96, 96, MSG3D_BRANCHES, residual=True, final_act=True)
    assert {k: tuple(v.shape) for k, v in msg3d.state_dict().items()} == _tsv_shapes(reference_dir, "msg3d.tsv", "tcn1.")
    down = MultiScaleTCN(96, 192, MSG3D_BRANCHES, stride=2, residual=True, final_act=True)
    assert {k: tuple(v.shape) for k, v in down.state_dict().items()} == _tsv_shapes(reference_dir, "msg3d.tsv", "sgcn2.1.")
    pyskl = MultiScaleTCN(64, 64, PYSKL_MSTCN_BRANCHES, channel_split="rem_first", branch_norm=False, transform=True,
                          residual=False, final_act=False, bn_init_std=0.0)
    assert {k: tuple(v.shape) for k, v in pyskl.state_dict().items()} == \
        _tsv_shapes(reference_dir, "pyskl_stgcnpp.tsv", "backbone.gcn.1.tcn.")
    x = torch.randn(2, 96, 9, 5)
    assert down(x).shape == (2, 192, 5, 5) and msg3d(x).shape == (2, 96, 9, 5)


def test_mstcn_bad_specs():
    with pytest.raises(ValueError):
        MultiScaleTCN(64, 64, [(4, 1), "1x1"])
    with pytest.raises(ValueError):
        MultiScaleTCN(64, 66, [(3, 1), "1x1", ("max", 3), (3, 2)])  # 66 not divisible by 4 with "equal"
    assert MultiScaleTCN(64, 66, [(3, 1), "1x1", ("max", 3), (3, 2)], channel_split="rem_last").branch_channels \
        == (16, 16, 16, 18)


def test_fast_tanh_matches_tanh():
    """The relation planes' tanh on the inference fast path (``2·sigmoid(2d) - 1`` on the CPU in float32 /
    float64): float rounding away from ``torch.tanh``, saturating and NaN-propagating as it; half precision
    and recorded gradients keep ``torch.tanh`` itself."""
    from skelzoo.models.ctrgcn import _tanh

    d = torch.cat([torch.linspace(-30, 30, 2001), torch.tensor([float("inf"), -float("inf"), float("nan")])])
    ref = torch.tanh(d.double())
    with torch.no_grad():
        torch.testing.assert_close(_tanh(d.clone()).double(), ref, rtol=0, atol=1e-6, equal_nan=True)
        torch.testing.assert_close(_tanh(d.double()), ref, rtol=0, atol=1e-14, equal_nan=True)
        h = d.bfloat16()
        torch.testing.assert_close(_tanh(h.clone()), torch.tanh(h), rtol=0, atol=0, equal_nan=True)
    g = d[:2001].clone().requires_grad_(True)
    out = _tanh(g * 1.0)
    torch.testing.assert_close(out, torch.tanh(g), rtol=0, atol=0)
    out.sum().backward()
    assert g.grad is not None
