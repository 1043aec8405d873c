"""pyskl / mmaction2 NTU RGB+D 2-D keypoint (HRNet, COCO-17) checkpoints: graphs, converters, preprocessing.

There are no golden outputs of the official code for the 2-D checkpoints (``../shared/reference/golden`` has
3-D ones only), so this file proves what can be proven without them:

(a) the ``coco17`` graph every backbone builds equals pyskl's ``coco`` graph of its mode, computed here
    independently from the edge list (pyskl's ``Graph`` algorithm re-stated in numpy);
(b) a pyskl- / mmaction2-format 2-D state dict (the 3-D golden key lists with V = 25 -> 17, values from the
    golden-v1 recipe) converts with every key used and converts back identically, and the converter infers
    exactly the registry entry's constructor arguments (layout coco17, in_channels 3, 2 persons);
(c) ST-GCN: the converted 2-D model gives the outputs of a re-statement of pyskl's STGCN forward written
    here on the pyskl keys; that re-statement gives the official golden logits on the 3-D golden weights,
    so the same code path is checked against the official code; for every family the converter used for
    the 2-D entries is the one the 3-D golden tests check, with the same key pairs;
(d) ``pyskl_2d`` preprocessing by hand;
(e) registry, ``model_info`` and ``skelzoo list --pretrained``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _golden import Golden, golden_state_dict, read_keys
from torch.nn import functional as F

import skelzoo
from skelzoo.data.pyskl2d import PYSKL_IMAGE_SIZE, image_size_of, pyskl_2d_input, pyskl_pre_normalise_2d
from skelzoo.dataset_info import NTU60_CLASSES, PREPROCESS_DESCRIPTIONS
from skelzoo.io.sequence import SkeletonSequence
from skelzoo.models import get_converter, get_entry, to_skelzoo_state_dict, to_source_state_dict

# ---------------------------------------------------------------------------------------------- pyskl graph
# pyskl pyskl/utils/graph.py, layout 'coco' (formats.md §8): inward edges (child, parent), centre joint 0.
COCO_INWARD = [(15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6), (5, 0),
               (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)]
V = 17


def edge2mat(link, n=V):
    a = np.zeros((n, n))
    for i, j in link:
        a[j, i] = 1
    return a


def normalize_digraph(a):
    d = a.sum(0)
    dn = np.zeros((len(a), len(a)))
    for i in range(len(a)):
        if d[i] > 0:
            dn[i, i] = d[i] ** -1
    return a @ dn


def k_adjacency(a, k, with_self=False):
    eye = np.eye(len(a))
    if k == 0:
        return eye
    ak = (np.minimum(np.linalg.matrix_power(a + eye, k), 1)
          - np.minimum(np.linalg.matrix_power(a + eye, k - 1), 1))
    return ak + eye if with_self else ak


def pyskl_spatial():
    """mode 'spatial': I, normalised inward, normalised outward."""
    outward = [(j, i) for i, j in COCO_INWARD]
    return np.stack([edge2mat([(i, i) for i in range(V)]), normalize_digraph(edge2mat(COCO_INWARD)),
                     normalize_digraph(edge2mat(outward))])


def pyskl_stgcn_spatial(max_hop=1, center=0):
    """mode 'stgcn_spatial' (hop distances, then close / further than the centre)."""
    a = np.eye(V)
    for i, j in COCO_INWARD:
        a[j, i] = a[i, j] = 1
    hop = np.full((V, V), np.inf)
    arrive = np.stack([np.linalg.matrix_power(a, d) for d in range(max_hop + 1)]) > 0
    for d in range(max_hop, -1, -1):
        hop[arrive[d]] = d
    adj = np.zeros((V, V))
    adj[hop <= max_hop] = 1
    norm = normalize_digraph(adj)
    out = []
    for h in range(max_hop + 1):
        close, further = np.zeros((V, V)), np.zeros((V, V))
        for i in range(V):
            for j in range(V):
                if hop[j, i] == h:
                    if hop[j, center] >= hop[i, center]:
                        close[j, i] = norm[j, i]
                    else:
                        further[j, i] = norm[j, i]
        out.append(close)
        if h > 0:
            out.append(further)
    return np.stack(out)


def pyskl_binary_adj():
    outward = [(j, i) for i, j in COCO_INWARD]
    return edge2mat(COCO_INWARD + outward)


def pyskl_msg3d_scales(num_scales, window=None):
    """MSG3D's fixed graphs: multiscale (k-hop + I, column-normalised); G3D: on the tiled window graph."""
    a = pyskl_binary_adj()
    if window is not None:
        a = np.tile(a + np.eye(V), (window, window))
    return np.stack([normalize_digraph(k_adjacency(a, k, with_self=True)) for k in range(num_scales)])


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


# ---------------------------------------------------------------------------------------------- the entries
#: family -> (architecture, published 2-D tags, 3-D golden key list of the pyskl format)
FAMILIES = {
    "stgcn": ("stgcn", ["mmaction2_ntu60_xsub_2d_joint", "mmaction2_ntu120_xsub_2d_joint",
                        "pyskl_ntu60_xsub_2d_joint", "pyskl_ntu120_xsub_2d_joint"], "pyskl_stgcn.tsv"),
    "stgcnpp": ("stgcnpp", ["mmaction2_ntu60_xsub_2d_joint", "pyskl_ntu60_xsub_2d_joint",
                            "pyskl_ntu120_xsub_2d_joint"], "pyskl_stgcnpp.tsv"),
    "aagcn": ("aagcn", ["mmaction2_ntu60_xsub_2d_joint", "pyskl_ntu60_xsub_2d_joint",
                        "pyskl_ntu120_xsub_2d_joint"], "pyskl_aagcn.tsv"),
    "ctrgcn": ("ctrgcn_pyskl", ["mmaction2_ntu60_xsub_2d_joint", "pyskl_ntu60_xsub_2d_joint",
                                "pyskl_ntu120_xsub_2d_joint"], "pyskl_ctrgcn.tsv"),
    "msg3d": ("msg3d_pyskl", ["mmaction2_ntu60_xsub_2d_joint", "pyskl_ntu60_xsub_2d_joint",
                              "pyskl_ntu120_xsub_2d_joint"], "pyskl_msg3d.tsv"),
}
ENTRIES = [(arch, tag) for arch, tags, _ in FAMILIES.values() for tag in tags]
PUBLISHED = {  # (arch, tag) -> (top-1, sha256 prefix or None), as published next to each file
    ("stgcn", "mmaction2_ntu60_xsub_2d_joint"): (88.95, "484a394a"),
    ("stgcn", "mmaction2_ntu120_xsub_2d_joint"): (83.19, "612416c6"),
    ("stgcn", "pyskl_ntu60_xsub_2d_joint"): (89.0, None),
    ("stgcn", "pyskl_ntu120_xsub_2d_joint"): (80.1, None),
    ("stgcnpp", "mmaction2_ntu60_xsub_2d_joint"): (89.29, "86e1e77a"),
    ("stgcnpp", "pyskl_ntu60_xsub_2d_joint"): (89.3, None),
    ("stgcnpp", "pyskl_ntu120_xsub_2d_joint"): (84.4, None),
    ("aagcn", "mmaction2_ntu60_xsub_2d_joint"): (88.6, "4c0ed77e"),
    ("aagcn", "pyskl_ntu60_xsub_2d_joint"): (89.7, None),
    ("aagcn", "pyskl_ntu120_xsub_2d_joint"): (80.2, None),
    ("ctrgcn_pyskl", "mmaction2_ntu60_xsub_2d_joint"): (89.6, "7aba454e"),
    ("ctrgcn_pyskl", "pyskl_ntu60_xsub_2d_joint"): (90.6, None),
    ("ctrgcn_pyskl", "pyskl_ntu120_xsub_2d_joint"): (82.2, None),
    ("msg3d_pyskl", "mmaction2_ntu60_xsub_2d_joint"): (92.3, "73b97296"),
    ("msg3d_pyskl", "pyskl_ntu60_xsub_2d_joint"): (92.7, None),
    ("msg3d_pyskl", "pyskl_ntu120_xsub_2d_joint"): (85.5, None),
}


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _run(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


def _rows_2d(rows, num_classes=60, head="fc_cls"):
    """A 3-D pyskl key list as the 2-D model has it: every joint-sized axis 25·k -> 17·k (graphs, G3D windows,
    data-BN of V·C or M·V·C), the classifier resized, the head renamed for mmaction2."""
    out = []
    for key, shape, dtype, kind in rows:
        shape = tuple(17 * (d // 25) if d % 25 == 0 else d for d in shape)
        if key.startswith("cls_head.fc_cls."):
            key = key.replace("fc_cls", head)
            shape = (num_classes,) + shape[1:]
        out.append((key, shape, dtype, kind))
    return out


def _official_2d(key: str, shape) -> torch.Tensor:
    """The graph buffers a pyskl 2-D checkpoint stores (golden rule 4), computed from the coco edge list."""
    if key == "backbone.A" and len(shape) == 2:
        return _t(pyskl_binary_adj())                                    # MSG3D, mode binary_adj
    if key == "backbone.A":
        return _t(pyskl_spatial())                                       # AAGCN / CTRGCN, mode spatial
    if key.endswith(".gcn.A") and key.startswith("backbone.gcn."):
        return _t(pyskl_stgcn_spatial())                                 # STGCN, mode stgcn_spatial
    if key.startswith("backbone.sgcn") and key.endswith(".A"):
        return _t(pyskl_msg3d_scales(shape[0]))
    if key.endswith(".A") and "gcn3d" in key:
        return _t(pyskl_msg3d_scales(shape[0], window=shape[-1] // V))
    raise KeyError(key)


def _source_2d(reference_dir, family: str, num_classes=60, source="pyskl"):
    arch, _, keys = FAMILIES[family]
    rows = _rows_2d(read_keys(reference_dir / "keys" / keys), num_classes, "fc" if source == "mmaction2" else "fc_cls")
    official = {k: _official_2d(k, s) for k, s, _, kind in rows
                if kind == "buffer" and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    return arch, golden_state_dict(rows, official)


# ---------------------------------------------------------------------------------------------- (a) graphs
def test_pyskl_coco_graph_restatement_is_sane():
    sp = pyskl_stgcn_spatial()
    assert sp.shape == (3, V, V) and [int((sp[k] != 0).sum()) for k in range(3)] == [17, 22, 10]
    np.testing.assert_allclose(pyskl_spatial()[1].sum(0)[[1, 5, 11]], [1.0, 1.0, 1.0])  # column-normalised
    # hop distances stop at 1 (farther = inf): edges between two far joints count as equal-distance ("close")
    assert pyskl_binary_adj().sum() == 32 and (pyskl_binary_adj() == pyskl_binary_adj().T).all()


@pytest.mark.parametrize("arch", ["stgcn", "stgcnpp", "aagcn", "ctrgcn_pyskl", "msg3d_pyskl"])
def test_coco17_graphs_equal_pyskl_coco(arch: str):
    """A fresh coco17 model, written in pyskl key names, holds pyskl's coco graphs (bit for bit in float32)."""
    source = "pyskl"
    model = skelzoo.build_model(arch, layout="coco17")
    sd = to_source_state_dict(model, get_converter(arch, source))
    checked = 0
    for key, t in sd.items():
        if arch == "stgcn" and key.endswith(".gcn.A"):
            want = pyskl_stgcn_spatial()
        elif arch in ("stgcnpp", "aagcn") and key.endswith(".gcn.A"):
            want = pyskl_spatial()                      # learned adjacency, initialised with the graph
        elif arch == "ctrgcn_pyskl" and (key == "backbone.A" or key.endswith(".gcn1.A")):
            want = pyskl_spatial()
        elif arch == "msg3d_pyskl" and key == "backbone.A":
            want = pyskl_binary_adj()
        elif arch == "msg3d_pyskl" and key.endswith(".A") and "sgcn" in key:
            want = pyskl_msg3d_scales(t.shape[0])
        elif arch == "msg3d_pyskl" and key.endswith(".A") and "gcn3d" in key:
            want = pyskl_msg3d_scales(t.shape[0], window=t.shape[-1] // V)
        else:
            continue
        assert tuple(t.shape) == want.shape, key
        assert torch.equal(t.float(), _t(want)), key
        checked += 1
    assert checked >= {"stgcn": 10, "stgcnpp": 10, "aagcn": 10, "ctrgcn_pyskl": 11, "msg3d_pyskl": 8}[arch]


# ---------------------------------------------------------------------------------------------- (b) converters
@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("source", ["pyskl", "mmaction2"])
def test_2d_state_dict_converts_and_round_trips(reference_dir, family: str, source: str):
    arch, src = _source_2d(reference_dir, family, source=source)
    conv = get_converter(arch, source)
    args = conv.model_args(src)
    assert args["layout"] == "coco17" and args.get("in_channels", 3) == 3 and args["num_classes"] == 60
    m = skelzoo.convert_checkpoint({"meta": {}, "state_dict": src}, arch, source=source)  # strict: all keys used
    assert m.layout == "coco17" and m.num_joints == V and m.in_channels == 3
    back = to_source_state_dict(m, conv)
    ignored = {"backbone.A"} if family == "aagcn" else set()  # unused top-level graph (as for 3-D)
    assert set(back) == set(src) - ignored
    for k in back:
        assert back[k].shape == src[k].shape and torch.equal(back[k], src[k]), k
    x = torch.randn(1, 3, 12, V, 2, generator=torch.Generator().manual_seed(0))
    assert tuple(_run(m, x).shape) == (1, 60)


@pytest.mark.parametrize(("arch", "tag"), ENTRIES, ids=[f"{a}.{t}" for a, t in ENTRIES])
def test_entry_args_are_what_the_checkpoint_implies(reference_dir, arch: str, tag: str):
    """The check the download path makes: inferred constructor arguments == the registry entry's."""
    w = get_entry(arch).weights[tag]
    family = next(f for f, (a, _, _) in FAMILIES.items() if a == arch)
    _, src = _source_2d(reference_dir, family, num_classes=len(w.class_names), source=w.convert_source)
    if arch == "aagcn" and w.convert_source == "mmaction2":  # '2s-agcn' = AAGCN without attention
        src = {k: v for k, v in src.items() if not any(f".gcn.{n}." in k for n in ("conv_sa", "conv_ta", "fc1c",
                                                                                       "fc2c"))}
    conv = get_converter(arch, w.convert_source)
    inferred = conv.model_args(src)
    assert {k: w.model_args.get(k, "<missing>") for k in inferred} == inferred
    model = skelzoo.build_model(arch, **w.model_args)
    assert to_skelzoo_state_dict(src, conv, model).keys() == model.state_dict().keys()


# ---------------------------------------------------------------------------------------------- (c) outputs
def _pyskl_stgcn_forward(sd: dict, x: torch.Tensor, head: str = "fc_cls") -> torch.Tensor:
    """pyskl STGCN + GCNHead (eval), re-stated from pyskl/models/gcns/stgcn.py and utils/gcn_utils.py on the
    pyskl state dict; ``x`` is pyskl's input ``(N, M, T, V, C)``."""
    def bn(y, p):
        return F.batch_norm(y, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"],
                            False, 0.0, 1e-5)

    def tcn(y, p, stride):  # unit_tcn: Conv2d((k, 1), padding (k-1)/2, stride) + BN
        w = sd[p + ".conv.weight"]
        y = F.conv2d(y, w, sd[p + ".conv.bias"], stride=(stride, 1), padding=((w.shape[2] - 1) // 2, 0))
        return bn(y, p + ".bn")

    n, m, t, v, c = x.shape
    y = x.permute(0, 1, 3, 4, 2).reshape(n * m, v * c, t)               # data_bn 'VC'
    y = bn(y, "backbone.data_bn").view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
    i = 0
    while f"backbone.gcn.{i}.gcn.A" in sd:
        p = f"backbone.gcn.{i}"
        a = sd[p + ".gcn.A"] * sd[p + ".gcn.PA"]                          # gcn_adaptive='importance'
        k = a.shape[0]
        g = F.conv2d(y, sd[p + ".gcn.conv.weight"], sd[p + ".gcn.conv.bias"])
        g = g.view(g.shape[0], k, -1, g.shape[2], v)
        g = torch.relu(bn(torch.einsum("nkctv,kvw->nctw", g, a).contiguous(), p + ".gcn.bn"))
        stride = 2 if i in (4, 7) else 1                                   # down_stages=[5, 8] (1-based)
        if i == 0:
            res = 0
        elif f"{p}.residual.conv.weight" in sd:
            res = tcn(y, p + ".residual", stride)
        else:
            res = y
        y = torch.relu(tcn(g, p + ".tcn", stride) + res)
        i += 1
    feat = y.mean(dim=(2, 3)).view(n, m, -1).mean(1)                      # GCNHead: pool T·V, then persons
    return F.linear(feat, sd[f"cls_head.{head}.weight"], sd[f"cls_head.{head}.bias"])


def test_stgcn_restatement_gives_the_official_golden_logits(reference_dir):
    """The re-stated pyskl forward is right: on the 3-D golden weights it gives the official pyskl logits."""
    from skelzoo.graphs import stgcn_spatial
    g = Golden(reference_dir, "pyskl_stgcn")
    sd = g.state_dict(lambda key: torch.from_numpy(stgcn_spatial("ntu25_pyskl")))
    x = g.input().permute(0, 4, 2, 3, 1).contiguous()                   # skelzoo (N,C,T,V,M) -> pyskl (N,M,T,V,C)
    with torch.no_grad():
        got = _pyskl_stgcn_forward(sd, x).numpy()
    assert np.abs(got - g.output("logits")).max() <= 1e-5


@pytest.mark.parametrize("source", ["pyskl", "mmaction2"])
def test_stgcn_2d_converted_equals_pyskl_forward(reference_dir, source: str):
    """2-D golden-recipe weights: the converted skelzoo model == the re-stated pyskl forward, on 17 joints."""
    arch, src = _source_2d(reference_dir, "stgcn", source=source)
    model = skelzoo.convert_checkpoint(src, arch, source=source)
    x = torch.randn(2, 3, 40, V, 2, generator=torch.Generator().manual_seed(7))
    x[0, :, :, :, 1] = 0                                                  # one sample with a single person
    with torch.no_grad():
        want = _pyskl_stgcn_forward(src, x.permute(0, 4, 2, 3, 1).contiguous(), "fc" if source == "mmaction2"
                                    else "fc_cls")
    assert torch.abs(_run(model, x) - want).max() <= 1e-5


@pytest.mark.parametrize("arch", ["stgcn", "stgcnpp", "aagcn", "ctrgcn_pyskl", "msg3d_pyskl"])
def test_2d_entries_use_the_golden_tested_converter(arch: str):
    """The 2-D entries go through the very converters the 3-D golden tests check, with the same key pairs:
    the mapping does not depend on the joint count (only tensor shapes do)."""
    for source in ("pyskl", "mmaction2"):
        conv = get_converter(arch, source)
        tags = [t for t, w in get_entry(arch).weights.items() if w.url and w.convert_source == source]
        assert any(t.endswith("_2d_joint") for t in tags) and any(t.endswith("_3d_joint") for t in tags) or (
            source == "mmaction2")
        m3 = skelzoo.build_model(arch, layout="ntu25_pyskl")
        m2 = skelzoo.build_model(arch, layout="coco17")
        pairs3 = {k: conv.key_map(k) for k in m3.state_dict()}
        pairs2 = {k: conv.key_map(k) for k in m2.state_dict()}
        assert pairs2 == pairs3


# ---------------------------------------------------------------------------------------------- (d) preprocessing
def test_pyskl_pre_normalise_2d_by_hand():
    # 1920x1080: the centre (960, 540) -> (0, 0); corners -> (±1, ±1); scores unchanged
    kp = np.array([[960.0, 540.0, 0.9], [0.0, 0.0, 0.5], [1920.0, 1080.0, 1.0], [1440.0, 270.0, 0.25]])
    got = pyskl_pre_normalise_2d(kp)
    np.testing.assert_allclose(got, [[0, 0, 0.9], [-1, -1, 0.5], [1, 1, 1.0], [0.5, -0.5, 0.25]], atol=1e-7)
    assert got.dtype == np.float32 and PYSKL_IMAGE_SIZE == (1920, 1080)
    # another image size: x' = (x - w/2)/(w/2), y' = (y - h/2)/(h/2) with (w, h) = (640, 480)
    np.testing.assert_allclose(pyskl_pre_normalise_2d(np.array([[160.0, 360.0]]), (640, 480)), [[-0.5, 0.5]])
    with pytest.raises(ValueError):
        pyskl_pre_normalise_2d(np.zeros((3, 1)))


def test_pyskl_2d_input_channels_and_scores():
    xy = np.zeros((2, 1, V, 2))
    xy[..., 0], xy[..., 1] = 480.0, 810.0
    conf = np.full((2, 1, V), 0.8)
    xy[1, 0, 3] = np.nan                                                   # a missing point: score 0
    out = pyskl_2d_input(xy, conf)
    assert out.shape == (2, 1, V, 3)
    np.testing.assert_allclose(out[0, 0, 0], [-0.5, 0.5, 0.8], rtol=1e-6)  # x, y, score (GenSkeFeat order)
    assert np.isnan(out[1, 0, 3, :2]).all() and out[1, 0, 3, 2] == 0.0
    np.testing.assert_allclose(pyskl_2d_input(xy[:1])[0, 0, 0], [-0.5, 0.5, 1.0], rtol=1e-6)  # no scores: 1


def test_image_size_of():
    assert image_size_of({}) == ((1920.0, 1080.0), "pyskl default 1920x1080")
    assert image_size_of({"image_size": (1280, 720)})[0] == (1280.0, 720.0)
    assert image_size_of({"coordinates": "normalised", "image_size": (1280, 720)})[0] == (1.0, 1.0)
    # normalised coordinates give the same model input as the pixels they came from
    px = np.array([[[[320.0, 180.0]]]])
    a = pyskl_2d_input(px, None, (1280, 720))
    b = pyskl_2d_input(px / [1280.0, 720.0], None, image_size_of({"coordinates": "normalised"})[0])
    np.testing.assert_allclose(a, b, atol=1e-7)
    with pytest.raises(ValueError):
        image_size_of({"image_size": (0, 720)})


def test_prepare_applies_pyskl_2d():
    """The localization / inference input path: coco17 pixels + scores -> x', y', score, pads stay zero."""
    from skelzoo.localization.input_spec import get_input_spec, to_model_tensor
    model = skelzoo.build_model("stgcn", layout="coco17", num_classes=60, base_channels=8)
    model.preprocess, model.layout = "pyskl_2d", "coco17"
    spec = get_input_spec(model, "stgcn.pyskl_ntu60_xsub_2d_joint")
    assert spec.preprocess == "pyskl_2d" and spec.layout == "coco17" and spec.in_channels == 3
    rng = np.random.default_rng(0)
    data = rng.uniform(100, 900, size=(6, 1, V, 2)).astype(np.float32)
    conf = rng.uniform(0.3, 1.0, size=(6, 1, V)).astype(np.float32)
    seq = SkeletonSequence(data=data, layout="coco17", fps=30.0, confidence=conf, meta={"image_size": (1000, 1000)})
    x = to_model_tensor(seq, spec)
    assert tuple(x.shape) == (1, 3, 6, V, 2)
    np.testing.assert_allclose(x[0, 0, :, :, 0].numpy(), (data[:, 0, :, 0] - 500) / 500, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x[0, 2, :, :, 0].numpy(), conf[:, 0], rtol=1e-6)
    assert float(x[..., 1].abs().max()) == 0.0                             # the padded second person
    three_d = SkeletonSequence(data=np.ones((4, 1, V, 3), np.float32), layout="coco17", fps=30.0)
    with pytest.raises(ValueError, match="2-D keypoints"):
        to_model_tensor(three_d, spec)


# ---------------------------------------------------------------------------------------------- (e) registry
@pytest.mark.parametrize(("arch", "tag"), ENTRIES, ids=[f"{a}.{t}" for a, t in ENTRIES])
def test_entry_metadata(arch: str, tag: str):
    w = get_entry(arch).weights[tag]
    top1, prefix = PUBLISHED[(arch, tag)]
    assert w.metrics == {"top1": top1} and w.hash_prefix == prefix and not w.default
    assert w.layout == w.model_args["layout"] == "coco17" and w.in_channels == 3 and w.num_person == 2
    assert w.preprocess == "pyskl_2d" and "PreNormalize2D" in PREPROCESS_DESCRIPTIONS["pyskl_2d"]
    assert w.fps == 30.0 and "HRNet 2D" in w.dataset and w.license.startswith("Apache-2.0")
    assert "research use only" in w.license
    if prefix:
        assert w.url.endswith(f"-{prefix}.pth") and "keypoint-2d" in w.url and prefix in w.source
    else:
        assert w.url.endswith("_hrnet/j.pth") and "no published hash" in w.source
    assert ("README.md" in w.source or "metafile.yml" in w.source)
    if "ntu60" in tag:
        assert w.class_names == NTU60_CLASSES


def test_model_info_reports_2d_entries():
    info = skelzoo.model_info("stgcn.mmaction2_ntu60_xsub_2d_joint")
    json.dumps(info)  # plain data
    assert info["layout"] == "coco17" and info["in_channels"] == 3 and info["preprocess"] == "pyskl_2d"
    assert info["hash_prefix"] == "484a394a" and "metafile.yml" in info["source"]
    assert info["num_person"] == 2 and info["num_classes"] == 60 and info["fps"] == 30.0
    assert "PreNormalize2D" in PREPROCESS_DESCRIPTIONS[info["preprocess"]]


def test_list_pretrained_shows_2d_entries(capsys):
    from skelzoo.cli.main import main
    main(["list", "--pretrained"])
    out = capsys.readouterr().out
    for arch, tag in ENTRIES:
        line = next(ln for ln in out.splitlines() if ln.startswith(f"{arch}.{tag} ") or ln.startswith(
            f"{arch}.{tag}\t"))
        assert "coco17" in line
    # the 3-D NTU-60 mmaction2 tags stay the defaults
    for arch, _, _ in FAMILIES.values():
        assert get_entry(arch).default_tag == "mmaction2_ntu60_xsub_3d_joint"


def test_readme_table_matches_the_registry():
    """README's table of converted NTU checkpoints states the registered top-1 of every 2-D entry."""
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for arch, _, _ in FAMILIES.values():
        row = next(ln for ln in readme.splitlines() if ln.startswith(f"| `{arch}` |"))
        two_d = row.split("|")[3]
        for tag, w in get_entry(arch).weights.items():
            if tag.endswith("_2d_joint"):
                top1 = w.metrics["top1"]
                assert f"{top1:.2f}" in two_d or f"{top1:g}" in two_d or f"{top1:.1f}" in two_d, (arch, tag, row)
