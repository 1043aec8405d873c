"""AAGCN (``aagcn``): parameters, golden outputs of official / pyskl / mmaction2, converters."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _golden import Golden, golden_state_dict, read_keys

import skelzoo
from skelzoo.graphs import agcn_spatial
from skelzoo.models import get_converter, to_source_state_dict

TOL = 1e-5
SOURCES = {"aagcn": "official", "pyskl_aagcn": "pyskl", "mmaction2_aagcn": "mmaction2"}
KEYS = {"official": "aagcn.tsv", "pyskl": "pyskl_aagcn.tsv", "mmaction2": "mmaction2_aagcn.tsv"}


def _pyskl_graph(key: str) -> torch.Tensor:
    """Rule-4 buffer ``backbone.A`` of pyskl / mmaction2: graph ``nturgb+d`` / ``spatial``."""
    assert key == "backbone.A"
    return torch.from_numpy(agcn_spatial("ntu25_pyskl"))


def _run(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy()


def test_param_counts() -> None:
    assert sum(p.numel() for p in skelzoo.build_model("aagcn").parameters()) == 3_781_668
    m = skelzoo.build_model("aagcn", attention=False)
    assert not any(".conv_sa." in k or ".fc1c." in k for k in m.state_dict())


def test_init() -> None:
    m = skelzoo.build_model("aagcn")
    gcn = m.stages[0].gcn
    assert torch.equal(gcn.PA.detach(), torch.from_numpy(agcn_spatial("ntu25")))
    assert gcn.alpha.detach().item() == 0.0 and float(gcn.conv_ta.weight.detach().abs().sum()) == 0.0
    assert float(gcn.fc2c.weight.detach().abs().sum()) == 0.0 and gcn.conv_sa.kernel_size == (25,)
    assert [f["reduction"] for f in m.feature_info] == [1, 1, 1, 1, 2, 2, 2, 4, 4, 4]


@pytest.mark.parametrize("name", list(SOURCES))
def test_golden(reference_dir, name: str) -> None:
    g = Golden(reference_dir, name)
    sd = g.state_dict(official=_pyskl_graph if name != "aagcn" else None)  # checks backbone.A sha256
    m = skelzoo.convert_checkpoint(sd, "aagcn", source=SOURCES[name])
    assert sum(p.numel() for p in m.parameters()) == g.spec["num_parameters"]
    assert np.abs(_run(m, g.input()) - g.output("logits")).max() <= TOL


def test_cross_route_official_vs_pyskl(reference_dir) -> None:
    """The same weights through the official and the pyskl key names give the same model."""
    g = Golden(reference_dir, "aagcn")
    a = skelzoo.convert_checkpoint(g.state_dict(), "aagcn", source="official")
    pyskl_sd = to_source_state_dict(a, get_converter("aagcn", "pyskl"))
    pyskl_sd["backbone.A"] = _pyskl_graph("backbone.A")
    b = skelzoo.convert_checkpoint({"state_dict": pyskl_sd, "meta": {}}, "aagcn", source="pyskl")
    x = g.input()
    assert np.abs(_run(a, x) - _run(b, x)).max() == 0.0
    assert np.abs(_run(a, x) - g.output("logits")).max() <= TOL


@pytest.mark.parametrize("source", list(KEYS))
def test_key_sets_round_trip(reference_dir, source: str) -> None:
    rows = read_keys(reference_dir / "keys" / KEYS[source])
    official = {k: torch.zeros(s) for k, s, _, kind in rows if kind == "buffer" and k == "backbone.A"}
    src = golden_state_dict(rows, official)
    m = skelzoo.convert_checkpoint(src, "aagcn", source=source)
    back = to_source_state_dict(m, get_converter("aagcn", source))
    expect = {k for k in src if k != "backbone.A"}
    assert set(back) == expect
    for k in expect:
        assert back[k].shape == src[k].shape and torch.equal(back[k], src[k]), k


def test_attention_false_inferred(reference_dir) -> None:
    """mmaction2 '2s-agcn' checkpoints: AAGCN keys without the attention modules."""
    rows = read_keys(reference_dir / "keys" / "mmaction2_aagcn.tsv")
    src = {k: v for k, v in golden_state_dict(rows, {"backbone.A": torch.zeros(3, 25, 25)}).items()
           if not any(f".gcn.{n}." in k for n in ("conv_sa", "conv_ta", "fc1c", "fc2c"))}
    m = skelzoo.convert_checkpoint(src, "aagcn", source="mmaction2")
    assert m.attention is False
    assert tuple(_run(m, torch.randn(1, 3, 8, 25, 2)).shape) == (1, 60)


def test_wrapped_containers(reference_dir) -> None:
    rows = read_keys(reference_dir / "keys" / "aagcn.tsv")
    src = golden_state_dict(rows, {})
    ref = skelzoo.convert_checkpoint(src, "aagcn").state_dict()
    wrapped = {"model": {f"module.{k}": v for k, v in src.items() if not k.endswith("num_batches_tracked")}}
    got = skelzoo.convert_checkpoint(wrapped, "aagcn").state_dict()
    for k, v in ref.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, got[k]), k


@pytest.mark.parametrize("channels_last", [False, True])
def test_inplace_attention_equals_the_gated_sequence(channels_last: bool) -> None:
    """The in-place attention of the fast paths (three passes, gates multiplied, the spatial Conv1d as a
    Toeplitz GEMM) is the function of the official gate-by-gate sequence, in float64, for NCHW tensors and
    channels-last views, with every gate active."""
    from skelzoo.models.aagcn import AttentionAdaptiveGraphConv

    torch.manual_seed(0)
    unit = AttentionAdaptiveGraphConv(16, 32, torch.rand(3, 25, 25)).double().eval()
    for p in (unit.conv_sa.bias, unit.conv_ta.weight, unit.conv_ta.bias, unit.fc2c.weight, unit.fc2c.bias):
        torch.nn.init.normal_(p, std=0.3)
    y = torch.randn(3, 32, 12, 25, dtype=torch.float64)
    ref = unit._attend(y.clone(), fused=False)
    z = y.clone().contiguous(memory_format=torch.channels_last) if channels_last else y.clone()
    with torch.no_grad():
        out = unit._attend_inplace(z)
    assert out.data_ptr() == z.data_ptr()                           # in place
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    s = torch.randn(3, 32, 25, dtype=torch.float64)
    torch.testing.assert_close(unit._spatial_conv(s), unit.conv_sa(s).view(3, 25), rtol=1e-12, atol=1e-12)
    for t in (1, 4, 9, 12, 301):                                    # shorter and longer than the kernel
        zt = torch.randn(3, 32, t, dtype=torch.float64)
        torch.testing.assert_close(unit._temporal_conv(zt), unit.conv_ta(zt), rtol=1e-12, atol=1e-12)
