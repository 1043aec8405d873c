"""MS-G3D (official ``msg3d``) and its pyskl / mmaction2 variant (``msg3d_pyskl``).

Golden outputs, graph checksums, key sets and round trips, wrapped containers, the official -> pyskl
mapping of docs/backbones.md §5.2, and constructor inference from checkpoints.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _golden import Golden, golden_state_dict, read_keys, tensor_sha256

import skelzoo
from skelzoo import graphs
from skelzoo.convert import convert_checkpoint
from skelzoo.errors import CheckpointError
from skelzoo.models import get_converter, to_source_state_dict
from skelzoo.models.msg3d import msg3d_scales

NTU60_PARAMS = 3_194_595
TOL = 1e-5


def _logits(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    torch.set_num_threads(2)
    with torch.no_grad():
        return model.eval()(x).numpy()


def _pyskl_official(key: str) -> torch.Tensor:
    """The rule-4 buffers of pyskl MSG3D, rebuilt with skelzoo.graphs on the pyskl hand topology."""
    b = graphs.binary_adjacency("ntu25_pyskl")
    if key == "backbone.A":
        return torch.from_numpy(b)
    if ".sgcn" in key:
        return torch.from_numpy(msg3d_scales(b, 13, 1, normalization="column"))
    window = 3 if ".gcn3d.0.gcn3d.1.A" in key else 5
    return torch.from_numpy(msg3d_scales(b, 6, window, normalization="column"))


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def official_golden(reference_dir):
    return Golden(reference_dir, "msg3d")


@pytest.fixture(scope="module")
def pyskl_golden(reference_dir):
    return Golden(reference_dir, "pyskl_msg3d")


@pytest.fixture(scope="module")
def official_sd(official_golden):
    return official_golden.state_dict()


@pytest.fixture(scope="module")
def pyskl_sd(pyskl_golden):
    return pyskl_golden.state_dict(_pyskl_official)  # asserts the A checksums


@pytest.fixture(scope="module")
def official_model(official_sd):
    return convert_checkpoint(official_sd, "msg3d", source="official")


@pytest.fixture(scope="module")
def pyskl_model(pyskl_sd):
    return convert_checkpoint(pyskl_sd, "msg3d_pyskl", source="pyskl")


# ---------------------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("arch", ["msg3d", "msg3d_pyskl"])
def test_param_count(arch):
    model = skelzoo.build_model(arch)
    assert sum(p.numel() for p in model.parameters()) == NTU60_PARAMS
    assert [f["num_chs"] for f in model.feature_info] == [96, 192, 384]
    assert [f["reduction"] for f in model.feature_info] == [1, 2, 4]


def test_graph_storage_conventions():
    off = skelzoo.build_model("msg3d").state_dict()
    pys = skelzoo.build_model("msg3d_pyskl").state_dict()
    assert not any(k == "A" or k.endswith(".A") for k in off)  # official: fixed graphs not stored
    assert sum(k == "A" or k.endswith(".A") for k in pys) == 10  # pyskl: 9 per-module + top-level
    assert off["stages.0.sgcn.0.A_res"].shape == (13, 25, 25)
    assert off["stages.2.gcn3d.1.gcn.A_res"].shape == (6, 125, 125)


def test_official_graph_constants(official_golden):
    """Fixed scales equal the official ``A_powers`` / ``A_scales`` bit for bit (golden checksums)."""
    expected = official_golden.spec["graph_constants_not_in_state_dict"]
    model = skelzoo.build_model("msg3d")
    for i, stage in enumerate(model.stages):
        ours = {
            "sgcn1.0.A_powers": stage.sgcn[0].A,
            "gcn3d1.gcn3d.0.gcn3d.1.A_scales": stage.gcn3d[0].gcn.A,
            "gcn3d1.gcn3d.1.gcn3d.1.A_scales": stage.gcn3d[1].gcn.A,
        }
        for name, spec in expected.items():
            t = ours[name.split(" ")[0]]
            flat = t.reshape(-1, t.shape[-1])  # official layout (K·V', V')
            assert list(flat.shape) == spec["shape"], (i, name)
            assert tensor_sha256(flat) == spec["sha256"], (i, name)


def test_pyskl_graph_buffers_built_equal_checkpoint(pyskl_sd):
    """A freshly built msg3d_pyskl already holds pyskl's own graph buffers (checked by checksum)."""
    model = skelzoo.build_model("msg3d_pyskl")
    conv = get_converter("msg3d_pyskl", "pyskl")
    for key, t in model.state_dict().items():
        if key == "A" or key.endswith(".A"):
            assert torch.equal(t, pyskl_sd[conv.key_map(key)]), key


# ---------------------------------------------------------------------------------------------- golden
def test_golden_official(official_golden, official_model):
    y = _logits(official_model, official_golden.input())
    assert np.abs(y - official_golden.output()).max() <= TOL


def test_golden_pyskl(pyskl_golden, pyskl_model):
    y = _logits(pyskl_model, pyskl_golden.input())
    assert np.abs(y - pyskl_golden.output()).max() <= TOL


def test_mmaction2_equals_pyskl(reference_dir, pyskl_model):
    """mmaction2's key list has pyskl's order (only the head name differs), so the golden recipe gives it
    the same tensors: the converted model must equal the pyskl one entry for entry (hence the same
    golden logits)."""
    rows = read_keys(reference_dir / "keys" / "mmaction2_msg3d.tsv")
    official = {k: _pyskl_official(k) for k, _, _, kind in rows
                if kind == "buffer" and (k == "backbone.A" or k.endswith(".A"))}
    sd = golden_state_dict(rows, official)
    model = convert_checkpoint(sd, "msg3d_pyskl", source="mmaction2")
    ref = pyskl_model.state_dict()
    got = model.state_dict()
    assert got.keys() == ref.keys()
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


def test_official_to_pyskl_mapping(official_golden, official_sd):
    """docs/backbones.md §5.2: official MS-G3D weights in pyskl's MSG3D give the official logits when every
    A_res is reshaped + transposed into PA and every fixed A is overwritten by the official symmetric
    scales, transposed (pyskl aggregates row = source)."""
    off = skelzoo.build_model("msg3d")
    fixed = {k: v for k, v in off.named_buffers() if k.endswith(".A")}  # official scales (K, V', V')
    sd = {}
    for key, t in official_sd.items():
        if key.startswith("fc."):
            sd["cls_head.fc_cls." + key[3:]] = t
        elif key.endswith(".A_res"):
            v = t.shape[1]
            sd["backbone." + key[: -len("A_res")] + "PA"] = t.reshape(-1, v, v).transpose(1, 2).contiguous()
        else:
            sd["backbone." + key] = t
    conv = get_converter("msg3d_pyskl", "pyskl")
    for key, a in fixed.items():
        sd[conv.key_map(key)] = a.transpose(1, 2).contiguous()
    sd["backbone.A"] = torch.from_numpy(graphs.binary_adjacency("ntu25_pyskl"))  # unused by the forward
    model = convert_checkpoint(sd, "msg3d_pyskl", source="pyskl")
    y = _logits(model, official_golden.input())
    assert np.abs(y - official_golden.output()).max() <= TOL


# ---------------------------------------------------------------------------------------------- key sets
CASES = [("msg3d", "official", "msg3d.tsv"), ("msg3d_pyskl", "pyskl", "pyskl_msg3d.tsv"),
         ("msg3d_pyskl", "mmaction2", "mmaction2_msg3d.tsv")]


@pytest.mark.parametrize("arch,source,tsv", CASES)
def test_key_set_zeros_converts(reference_dir, arch, source, tsv):
    rows = read_keys(reference_dir / "keys" / tsv)
    sd = {k: torch.zeros(s, dtype=torch.int64 if d == "int64" else torch.float32) for k, s, d, _ in rows}
    model = convert_checkpoint(sd, arch, source=source)  # strict: no missing, no unexpected
    back = to_source_state_dict(model, get_converter(arch, source))
    assert set(back) == set(sd)
    assert all(tuple(back[k].shape) == tuple(sd[k].shape) for k in sd)


@pytest.mark.parametrize("arch,source,tsv", CASES)
def test_round_trip_values(reference_dir, arch, source, tsv):
    rows = read_keys(reference_dir / "keys" / tsv)
    official = {k: _pyskl_official(k) for k, _, _, kind in rows
                if kind == "buffer" and (k == "backbone.A" or k.endswith(".A"))}
    sd = golden_state_dict(rows, official)
    model = convert_checkpoint(sd, arch, source=source)
    back = to_source_state_dict(model, get_converter(arch, source))
    assert set(back) == set(sd)
    for k in sd:
        assert back[k].dtype == sd[k].dtype and torch.equal(back[k], sd[k]), k


# ---------------------------------------------------------------------------------------------- containers
@pytest.mark.parametrize("source", ["official", "pyskl"])
def test_wrapped_containers(source, official_sd, pyskl_sd, official_model, pyskl_model):
    sd, arch, ref = ((official_sd, "msg3d", official_model) if source == "official"
                     else (pyskl_sd, "msg3d_pyskl", pyskl_model))
    stripped = {"module." + k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    model = convert_checkpoint({"state_dict": stripped, "meta": {"epoch": 3}}, arch, source=source)
    ref_sd = ref.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref_sd[k]), k


def test_missing_and_unexpected_keys_are_reported(official_sd):
    sd = dict(official_sd)
    sd.pop("sgcn2.0.A_res")
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="1 missing.*1 unexpected"):
        convert_checkpoint(sd, "msg3d", source="official")


@pytest.mark.parametrize("arch,source", [("msg3d", "official"), ("msg3d_pyskl", "pyskl")])
def test_constructor_inferred_from_checkpoint(arch, source):
    kwargs = dict(num_classes=7, in_channels=2, num_person=1, base_channels=12, num_gcn_scales=4, num_g3d_scales=3)
    model = skelzoo.build_model(arch, **kwargs)
    src = to_source_state_dict(model, get_converter(arch, source))
    back = convert_checkpoint(src, arch, source=source)
    assert {k: back.skelzoo_config["model_args"][k] for k in kwargs} == kwargs
    x = torch.randn(2, 2, 9, 25, 1)
    assert np.abs(_logits(back, x) - _logits(model, x)).max() == 0.0


def test_small_model_shapes_and_checks():
    model = skelzoo.build_model("msg3d", base_channels=12, num_classes=5).eval()
    x = torch.randn(2, 3, 7, 25, 2)
    feats = model.forward_intermediates(x)
    assert [tuple(f.shape) for f in feats] == [(2, 12, 7, 25, 2), (2, 24, 4, 25, 2), (2, 48, 2, 25, 2)]
    assert model(x).shape == (2, 5)
    with pytest.raises(ValueError):
        model(torch.randn(2, 3, 7, 25, 1))
    with pytest.raises(ValueError, match="multiple of 6"):
        skelzoo.build_model("msg3d", base_channels=20)
