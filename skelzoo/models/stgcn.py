"""ST-GCN and its quarter-width self-supervised encoder.

Papers:
- Yan, Xiong, Lin. *Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
  Recognition.* AAAI 2018 (``stgcn``).
- Li et al. *3D Human Action Representation Learning via Cross-View Consistency Pursuit* (SkeletonCLR /
  CrosSCLR), CVPR 2021; Guo et al. *Contrastive Learning from Extremely Augmented Skeleton Sequences*
  (AimCLR), AAAI 2022 (``stgcn_ssl``, the 16-channel encoder with a 256-d output).

Origin: an independent re-implementation from the architecture description (docs/backbones.md §4.1, §4.10,
§4.12). The original code is yysijie/st-gcn (BSD-2-Clause), LinguoLi/CrosSCLR (BSD-2-Clause),
Levigty/AimCLR (MIT) and the ports in kennymckormick/pyskl and open-mmlab/mmaction2 (Apache-2.0); no code
was copied. Published weights carry their projects' terms.

Structure (letters: N batch, C channels, T frames, V joints, M persons, K graph subsets):
VC data-BN, then 10 blocks. Block ``i`` = graph unit (``Conv2d(C_in -> K·C_out, 1x1)``, aggregation
``y[n, c, t, w] = sum_k sum_v x_k[n, c, t, v] · (A_k ⊙ I_k)[v, w]`` (row = source), BN, ReLU), temporal
unit (``Conv2d((9, 1), stride)`` + BN + dropout), residual (none in block 0; 1x1 conv + BN when the
shape changes; identity otherwise), output ``ReLU(tcn + residual)``. Pool over T·V then M, linear head.

Graph storage: every block holds its own persistent buffer ``stages.{i}.gcn.A`` (K, V, V). The official
checkpoint stores one top-level ``A`` (copied into every block on conversion; on export the blocks'
(equal) copies are written back to it); pyskl / mmaction2 store one ``A`` per block (mapped one to one).
Both round-trip exactly. The layout of a converted model is inferred from the stored graph.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..blocks.channels_last import graph_bn, has_fast, tconv_bn, to_nchw, to_nhwc
from ..blocks.common import TemporalConvBN, bn_init, conv_init, fold_persons, make_data_bn
from ..blocks.dropout import ExactDropout
from ..graphs import stgcn_spatial
from ..layouts import get_layout, list_layouts
from ._base import Backbone, StageInfo
from ._convert import Converter
from ._registry import register_converter, register_model
from ._weights import WeightCfg, ntu_checkpoint

__all__ = ["STGCN", "STGCNGraphConv", "STGCNBlock", "stgcn", "stgcn_ssl", "stgcn_channel_plan"]

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------- blocks
class STGCNGraphConv(nn.Module):
    """ST-GCN spatial graph unit: ``(N·M, C_in, T, V) -> (N·M, C_out, T, V)``.

    ``conv`` (1x1, ``C_in -> K·C_out``), aggregation per subset with ``A ⊙ edge_importance`` (row =
    source), then ``bn`` and ReLU (in the official code BN and ReLU open the temporal unit).
    """

    def __init__(self, in_channels: int, out_channels: int, A: Tensor, *, edge_importance: bool = True) -> None:
        super().__init__()
        self.num_subsets = A.shape[0]
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        self.register_buffer("A", A.clone().float(), persistent=True)
        if edge_importance:
            self.edge_importance = nn.Parameter(torch.ones_like(self.A))
        else:
            self.register_parameter("edge_importance", None)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        conv_init(self.conv)
        bn_init(self.bn, 1.0)

    def graph(self) -> Tensor:
        """The effective adjacency ``(K, V, V)`` (``A ⊙ edge_importance``)."""
        return self.A if self.edge_importance is None else self.A * self.edge_importance

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.num_subsets, self.out_channels, t, v)
        y = torch.einsum("nkctv,kvw->nctw", y, self.graph()).contiguous()
        return self.relu(self.bn(y))

    def forward_nhwc(self, x: Tensor) -> Tensor:
        """Fast path on ``(N, T, V, C)``: one GEMM + one matmul for all subsets, BN folded in eval."""
        k, o = self.num_subsets, self.out_channels
        w = self.conv.weight.view(k, o, -1)
        b = None if self.conv.bias is None else self.conv.bias.view(k, o)
        return torch.relu_(graph_bn(x, self.graph(), w, b, self.bn))


class STGCNBlock(nn.Module):
    """One ST-GCN block ``(N·M, C_in, T, V) -> (N·M, C_out, ceil(T / stride), V)``.

    ``residual``: ``"none"`` (block 0), ``"identity"`` or ``"conv"`` (1x1 conv + BN with the stride).
    """

    def __init__(self, in_channels: int, out_channels: int, A: Tensor, *, stride: int = 1,
                 residual: str = "auto", temporal_kernel_size: int = 9, dropout: float = 0.0,
                 edge_importance: bool = True) -> None:
        super().__init__()
        if temporal_kernel_size % 2 != 1:
            raise ValueError(f"temporal_kernel_size must be odd, got {temporal_kernel_size}")
        if residual == "auto":
            residual = "identity" if (in_channels == out_channels and stride == 1) else "conv"
        if residual not in ("none", "identity", "conv"):
            raise ValueError(f"residual must be 'none', 'identity', 'conv' or 'auto', got {residual!r}")
        if residual == "identity" and (in_channels != out_channels or stride != 1):
            raise ValueError("an identity residual needs in_channels == out_channels and stride 1")
        self.residual_kind = residual
        self.gcn = STGCNGraphConv(in_channels, out_channels, A, edge_importance=edge_importance)
        self.tcn = TemporalConvBN(out_channels, out_channels, temporal_kernel_size, stride)
        self.drop = ExactDropout(dropout) if dropout > 0 else nn.Identity()
        self.residual = TemporalConvBN(in_channels, out_channels, 1, stride) if residual == "conv" else None
        self.relu = nn.ReLU()

    def forward_nhwc(self, x: Tensor) -> Tensor:
        """Fast path on ``(N, T, V, C)`` (see :mod:`skelzoo.blocks.channels_last`)."""
        y = self.drop(tconv_bn(self.gcn.forward_nhwc(x), self.tcn.conv, self.tcn.bn))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + tconv_bn(x, self.residual.conv, self.residual.bn)
        return torch.relu_(y) if y is not x else torch.relu(y)

    def forward(self, x: Tensor) -> Tensor:
        if has_fast(self):
            return to_nchw(self.forward_nhwc(to_nhwc(x)))
        y = self.drop(self.tcn(self.gcn(x)))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


# ---------------------------------------------------------------------------------------------- model
def stgcn_channel_plan(base_channels: int = 64) -> tuple[list[int], list[int]]:
    """The 10-block plan ``(channels, strides)``: ``b×4, 2b (s2)×3, 4b (s2)×3``."""
    b = int(base_channels)
    return [b] * 4 + [2 * b] * 3 + [4 * b] * 3, [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]


class STGCN(Backbone):
    """ST-GCN backbone + linear head. Input ``(N, C, T, V, M)``; logits ``(N, num_classes)``.

    Args:
        channels: output width of every block (the official model: 64×4, 128×3, 256×3).
        strides: temporal stride of every block (the official model: 2 at blocks 4 and 7).
        dropout: dropout inside the temporal unit of blocks 1.. (official ``dropout``; block 0 has none).
        edge_importance: learnable per-block mask multiplied with the graph (official default True).
        temporal_kernel_size: temporal convolution length (9).
        layout: skeleton layout; the graph is the ST-GCN spatial partition of its bones.
    The data-BN is shared by persons (``VC``), so any number of persons M is accepted.
    """

    fixed_num_person = False

    def __init__(self, *, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
                 channels: Sequence[int] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
                 strides: Sequence[int] = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1), dropout: float = 0.0,
                 edge_importance: bool = True, temporal_kernel_size: int = 9,
                 canonical_frames: int = 300) -> None:
        super().__init__(in_channels=in_channels, layout=layout, num_person=num_person, num_classes=num_classes,
                         dropout=0.0)
        channels = [int(c) for c in channels]
        strides = [int(s) for s in strides]
        if len(channels) != len(strides) or not channels:
            raise ValueError(f"channels ({len(channels)}) and strides ({len(strides)}) must be non-empty and "
                             f"of equal length")
        self.tcn_dropout = float(dropout)
        self.canonical_frames = canonical_frames
        A = torch.from_numpy(stgcn_spatial(self.layout))
        self.data_bn = make_data_bn("VC", in_channels, self.num_joints, num_person)
        blocks = []
        info = []
        c_in, reduction = in_channels, 1
        for i, (c_out, s) in enumerate(zip(channels, strides)):
            blocks.append(STGCNBlock(c_in, c_out, A, stride=s, residual="none" if i == 0 else "auto",
                                     temporal_kernel_size=temporal_kernel_size,
                                     dropout=0.0 if i == 0 else dropout, edge_importance=edge_importance))
            reduction *= s
            info.append(StageInfo(num_chs=c_out, reduction=reduction, module=f"stages.{i}", index=i))
            c_in = c_out
        self.stages = nn.ModuleList(blocks)
        self.feature_info = info
        self._init_head(channels[-1], num_classes)

    def _stem(self, x: Tensor) -> Tensor:
        """``(N, C, T, V, M) -> (N·M, C, T, V)`` with the VC data-BN (joint-major, shared by persons)."""
        return fold_persons(x, self.data_bn, "VC")


# ---------------------------------------------------------------------------------------------- converters
_OFFICIAL_TCN = {"gcn.bn": "tcn.0", "tcn.conv": "tcn.2", "tcn.bn": "tcn.3",
                 "residual.conv": "residual.0", "residual.bn": "residual.1", "gcn.conv": "gcn.conv"}


def _official_key(key: str, prefix: str, head: str) -> str | None:
    """skelzoo key -> official ST-GCN key (``prefix`` ``""`` or ``"encoder_q."``; ``head`` ``fcn``/``fc``)."""
    if key.startswith("data_bn."):
        return prefix + key
    if key.startswith("head."):
        return prefix + head + key[4:]
    parts = key.split(".")  # stages.i.<unit>.<layer>.<leaf>
    if parts[0] != "stages":
        return None
    i, rest = parts[1], parts[2:]
    if rest == ["gcn", "A"]:
        return prefix + "A"
    if rest == ["gcn", "edge_importance"]:
        return f"{prefix}edge_importance.{i}"
    unit = ".".join(rest[:2])
    if unit in _OFFICIAL_TCN:
        return f"{prefix}st_gcn_networks.{i}.{_OFFICIAL_TCN[unit]}." + ".".join(rest[2:])
    return None


def _pyskl_key(key: str, head: str) -> str | None:
    """skelzoo key -> pyskl / mmaction2 STGCN key (``head`` = ``fc_cls`` or ``fc``)."""
    if key.startswith("data_bn."):
        return "backbone." + key
    if key.startswith("head."):
        return f"cls_head.{head}" + key[4:]
    if key.startswith("stages."):
        key = key.replace(".gcn.edge_importance", ".gcn.PA")
        return "backbone.gcn." + key[len("stages."):]
    return None


def _head_to_skelzoo(key: str, t: Tensor) -> Tensor:
    """A 1x1-conv classifier ``(n, D, 1, 1)`` becomes a Linear weight ``(n, D)``."""
    if key == "head.weight" and t.dim() == 4:
        return t.reshape(t.shape[0], -1)
    return t


def _head_to_conv(key: str, t: Tensor) -> Tensor:
    if key == "head.weight":
        return t.reshape(t.shape[0], t.shape[1], 1, 1)
    return t


def _layout_of(A: Tensor | None, default: str) -> str:
    """The registered layout whose ST-GCN spatial graph equals ``A`` (``default`` first; else ``default``)."""
    if A is None:
        return default
    A = A.detach().float().cpu()
    names = [default] + [n for n in list_layouts() if n != default]
    for name in names:
        if get_layout(name).num_joints != A.shape[-1]:
            continue
        g = torch.from_numpy(stgcn_spatial(name))
        if g.shape == A.shape and torch.allclose(g, A, atol=1e-6):
            return name
    if get_layout(default).num_joints == A.shape[-1]:
        return default
    for name in list_layouts():
        if get_layout(name).num_joints == A.shape[-1]:
            return name
    return default


def _stgcn_args(sd: Mapping[str, Tensor], *, prefix: str, conv0: str, A_key: str, imp: str, head: str,
                default_layout: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    A = sd.get(A_key)
    args["layout"] = _layout_of(A, default_layout)
    v = get_layout(args["layout"]).num_joints
    if prefix + "data_bn.weight" in sd:
        args["in_channels"] = int(sd[prefix + "data_bn.weight"].shape[0]) // v
    if conv0 in sd and A is not None:
        args["base_channels"] = int(sd[conv0].shape[0]) // int(A.shape[0])
    if head in sd:
        args["num_classes"] = int(sd[head].shape[0])
    args["edge_importance"] = any(k.startswith(imp) for k in sd)
    return args


def _official_args(sd: Mapping[str, Tensor]) -> dict[str, Any]:
    return _stgcn_args(sd, prefix="", conv0="st_gcn_networks.0.gcn.conv.weight", A_key="A",
                       imp="edge_importance.", head="fcn.weight", default_layout="ntu25")


def _pyskl_args(head: str) -> Any:
    def fn(sd: Mapping[str, Tensor]) -> dict[str, Any]:
        args = _stgcn_args(sd, prefix="backbone.", conv0="backbone.gcn.0.gcn.conv.weight",
                           A_key="backbone.gcn.0.gcn.A", imp="backbone.gcn.0.gcn.PA",
                           head=f"cls_head.{head}.weight", default_layout="ntu25_pyskl")
        args.setdefault("num_classes", 0)  # a backbone-only checkpoint gives a feature model
        return args
    return fn


register_converter(Converter(
    arch="stgcn", source="official",
    key_map=lambda k: _official_key(k, "", "fcn"),
    to_skelzoo=_head_to_skelzoo, to_source=_head_to_conv,
    model_args=_official_args,
    description="yysijie/st-gcn net.st_gcn.Model: top-level A copied into every block; fcn 1x1 conv -> Linear; "
                "layout inferred from A (ntu25 official, ntu25_pyskl if it is pyskl's graph)."))

for _source, _head in (("pyskl", "fc_cls"), ("mmaction2", "fc")):
    register_converter(Converter(
        arch="stgcn", source=_source,
        key_map=(lambda h: (lambda k: _pyskl_key(k, h)))(_head),
        model_args=_pyskl_args(_head),
        description=f"{_source} STGCN (graph stgcn_spatial): backbone.gcn.i.* -> stages.i.*, gcn.PA -> "
                    f"gcn.edge_importance, per-block A kept; cls_head.{_head} -> head; layout inferred from A "
                    f"(ntu25_pyskl for {_source}'s own graph)."))


def _ssl_args(sd: Mapping[str, Tensor]) -> dict[str, Any]:
    p = "encoder_q."
    A = sd.get(p + "A")
    args: dict[str, Any] = {"layout": _layout_of(A, "ntu25")}
    v = get_layout(args["layout"]).num_joints
    if p + "data_bn.weight" in sd:
        args["in_channels"] = int(sd[p + "data_bn.weight"].shape[0]) // v
    if p + "st_gcn_networks.0.gcn.conv.weight" in sd and A is not None:
        args["hidden_channels"] = int(sd[p + "st_gcn_networks.0.gcn.conv.weight"].shape[0]) // int(A.shape[0])
    if p + "st_gcn_networks.9.tcn.2.weight" in sd:
        args["hidden_dim"] = int(sd[p + "st_gcn_networks.9.tcn.2.weight"].shape[0])
    if p + "fc.weight" in sd:
        args["num_classes"] = int(sd[p + "fc.weight"].shape[0])
    else:  # pretext wrapper: fc is the projection MLP (fc.0 / fc.2), not a classifier
        args["num_classes"] = 0
    args["edge_importance"] = any(k.startswith(p + "edge_importance.") for k in sd)
    return args


register_converter(Converter(
    arch="stgcn_ssl", source="official",
    key_map=lambda k: _official_key(k, "encoder_q.", "fc"),
    to_skelzoo=_head_to_skelzoo,
    ignore=(r"^encoder_k\.", r"^queue", r"^encoder_q\.fc\.\d+\."),
    model_args=_ssl_args,
    description="SkeletonCLR / AimCLR / CrosSCLR (single view) ST-GCN encoder, keys encoder_q.*. Linear-evaluation "
                "checkpoints (encoder_q.fc Linear(256, n)) give a classifier; pretext checkpoints (momentum "
                "encoder encoder_k.*, queue, queue_ptr and the projection MLP encoder_q.fc.0/fc.2) give the "
                "feature model (num_classes=0); those entries are ignored."))


# ---------------------------------------------------------------------------------------------- weights
# Published ST-GCN checkpoints (``stgcn.<tag>``): pyskl / mmaction2 re-trainings on NTU RGB+D 3D joints and on
# NTU RGB+D 2-D HRNet keypoints (``*_2d_joint``: layout ``coco17``, preprocessing ``pyskl_2d``).
#
# Converted on first use from the original ``.pth`` (converters ``("stgcn", "pyskl"|"mmaction2")``); the model
# is ST-GCN with the pyskl hand topology (``layout="ntu25_pyskl"``, VC data-BN, edge importance). Numbers
# are the top-1 accuracies published next to each file (10-clip test). No tag is marked ``default``: until
# skelzoo publishes its own weights, ``stgcn`` with ``pretrained=True`` falls back to the first tag below
# (mmaction2, whose file name carries a sha256 prefix that is checked).
_MMA = "https://download.openmmlab.com/mmaction/v1.0/skeleton/stgcn"
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/stgcn"
_PAPER = ("Yan, Xiong, Lin, Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action "
          "Recognition, AAAI 2018; training recipe: Duan et al., PYSKL, ACM MM 2022")
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 64, "num_classes": 60,
           "edge_importance": True, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}
_ARGS60_2D = {**_ARGS60, "layout": "coco17"}
_ARGS120_2D = {**_ARGS120, "layout": "coco17"}

STGCN_WEIGHTS = (
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_3d_joint", classes=60, top1=88.11, convert_source="mmaction2", hash_prefix="850308e1",
        url=f"{_MMA}/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221129-850308e1.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcn/metafile.yml "
               "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 850308e1 from the file name)",
        description="mmaction2 STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 80 epochs x 8 GPUs, batch "
                    "16, uniform 100 frames; top-1 88.11 (10 clips) as published in the metafile.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "mmaction2_ntu120_xsub_3d_joint", classes=120, top1=82.15, convert_source="mmaction2", hash_prefix="0484f579",
        url=f"{_MMA}/stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-3d/"
            "stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-3d_20221129-0484f579.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcn/metafile.yml "
               "stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-3d (sha256 prefix 0484f579 from the file name)",
        description="mmaction2 STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 80 epochs x 8 GPUs, batch "
                    "16, uniform 100 frames; top-1 82.15 (10 clips) as published in the metafile.",
        model_args=_ARGS120, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_3d_joint", classes=60, top1=87.8, convert_source="pyskl",
        url=f"{_PYSKL}/stgcn_pyskl_ntu60_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/stgcn/README.md, PYSKL practice, stgcn_pyskl_ntu60_xsub_3dkp/j.pth "
               "(plain http, no published hash: the download cannot be verified)",
        description="pyskl STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 'PYSKL practice' recipe; top-1 "
                    "87.8 as published in the README. No checksum is published for this file.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_3d_joint", classes=120, top1=82.1, convert_source="pyskl",
        url=f"{_PYSKL}/stgcn_pyskl_ntu120_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/stgcn/README.md, PYSKL practice, stgcn_pyskl_ntu120_xsub_3dkp/j.pth "
               "(plain http, no published hash: the download cannot be verified)",
        description="pyskl STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 'PYSKL practice' recipe; top-1 "
                    "82.1 as published in the README. No checksum is published for this file.",
        model_args=_ARGS120, paper=_PAPER),
    # NTU RGB+D 2-D keypoints (HRNet, COCO-17; graph coco / stgcn_spatial = layout coco17, VC data-BN of
    # 17 x 3 channels x, y, score; preprocessing pyskl_2d = PreNormalize2D)
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_2d_joint", classes=60, top1=88.95, convert_source="mmaction2", hash_prefix="484a394a",
        keypoints="2d",
        url=f"{_MMA}/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
            "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20221129-484a394a.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcn/metafile.yml "
               "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d (sha256 prefix 484a394a from the file name)",
        description="mmaction2 STGCN (graph coco / stgcn_spatial) + GCNHead on HRNet 2-D keypoints, 80 epochs x "
                    "8 GPUs, batch 16, uniform 100 frames; top-1 88.95 (10 clips) as published in the metafile.",
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "mmaction2_ntu120_xsub_2d_joint", classes=120, top1=83.19, convert_source="mmaction2",
        hash_prefix="612416c6", keypoints="2d",
        url=f"{_MMA}/stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-2d/"
            "stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-2d_20221129-612416c6.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcn/metafile.yml "
               "stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-2d (sha256 prefix 612416c6 from the file name)",
        description="mmaction2 STGCN (graph coco / stgcn_spatial) + GCNHead on HRNet 2-D keypoints, 80 epochs x "
                    "8 GPUs, batch 16, uniform 100 frames; top-1 83.19 (10 clips) as published in the metafile.",
        model_args=_ARGS120_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_2d_joint", classes=60, top1=89.0, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/stgcn_pyskl_ntu60_xsub_hrnet/j.pth",
        source="kennymckormick/pyskl configs/stgcn/README.md, PYSKL practice, HRNet 2D Skeleton, "
               "stgcn_pyskl_ntu60_xsub_hrnet/j.pth (plain http, no published hash: the download cannot be verified)",
        description="pyskl STGCN (graph coco / stgcn_spatial) + GCNHead on HRNet 2-D keypoints, 'PYSKL practice' "
                    "recipe; top-1 89.0 as published in the README (its config also lists RandomScale(scale=0.1), "
                    "a random x / y scale in [0.9, 1.1], in the test pipeline; skelzoo applies none). No checksum "
                    "is published for this file.",
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_2d_joint", classes=120, top1=80.1, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/stgcn_pyskl_ntu120_xsub_hrnet/j.pth",
        source="kennymckormick/pyskl configs/stgcn/README.md, PYSKL practice, HRNet 2D Skeleton, "
               "stgcn_pyskl_ntu120_xsub_hrnet/j.pth (plain http, no published hash: the download cannot be verified)",
        description="pyskl STGCN (graph coco / stgcn_spatial) + GCNHead on HRNet 2-D keypoints, 'PYSKL practice' "
                    "recipe; top-1 80.1 as published in the README (its config also lists RandomScale(scale=0.1), "
                    "a random x / y scale in [0.9, 1.1], in the test pipeline; skelzoo applies none). No checksum "
                    "is published for this file.",
        model_args=_ARGS120_2D, paper=_PAPER),
)


# ------------------------------------------------------------------------------------------- stgcn_ssl
#: skelzoo's own self-supervised ``stgcn_ssl`` encoders are **not shipped**: an encoder ships only if, over its
#: pretraining seeds, its frozen features beat random encoders of the same architecture on the validation
#: probes (``skelzoo.evaluation.probe.beats_random``; docs/results.md). Measured (validation style, top-1 %):
#: the second recipe's SnipCLR encoders (3 seeds, 10 epochs) kNN-1 55.3 ± 3.9 / linear 59.4 ± 1.6 against a
#: PyTorch-initialised random encoder's 55.3 ± 2.2 / 62.8 ± 0.6 (behind on the linear probe); the first
#: recipe's SkeletonCLR encoder far below random; the 2-D encoder one seed, never probed. The localizers built
#: on them (``stgcn_ssl_ufusion.snipclr_bandai`` / ``...bandai2d``) are judged by localization and stay.
STGCN_SSL_WEIGHTS: tuple[WeightCfg, ...] = ()


# ---------------------------------------------------------------------------------------------- builders
@register_model(task="classification", paper="Yan et al., ST-GCN, AAAI 2018", weights=STGCN_WEIGHTS)
def stgcn(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
          base_channels: int = 64, dropout: float = 0.5, edge_importance: bool = True,
          temporal_kernel_size: int = 9) -> STGCN:
    """Official ST-GCN (3,098,832 parameters at NTU-60 defaults; canonical T 300).

    ``layout="ntu25"`` is the official graph, ``"ntu25_pyskl"`` the pyskl / mmaction2 one (hands attached
    differently). ``dropout`` is the temporal-unit dropout of the NTU config (0.5; inactive in eval).
    """
    channels, strides = stgcn_channel_plan(base_channels)
    return STGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                 channels=channels, strides=strides, dropout=dropout, edge_importance=edge_importance,
                 temporal_kernel_size=temporal_kernel_size, canonical_frames=300)


@register_model(task="classification",
                paper="Li et al., SkeletonCLR/CrosSCLR, CVPR 2021; Guo et al., AimCLR, AAAI 2022",
                weights=STGCN_SSL_WEIGHTS)
def stgcn_ssl(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
              hidden_channels: int = 16, hidden_dim: int = 256, dropout: float = 0.5,
              edge_importance: bool = True) -> STGCN:
    """Quarter-width ST-GCN encoder of SkeletonCLR / AimCLR (836,800 parameters with 60 classes; T 50).

    Channels ``h×4, 2h (s2)×3, 4h (s2), 4h, hidden_dim`` (h = 16: 16,16,16,16,32,32,32,64,64,256); residual
    convs at blocks 4, 7, 9; classifier ``Linear(hidden_dim, num_classes)`` (``0`` = 256-d features).
    """
    h = int(hidden_channels)
    channels = [h] * 4 + [2 * h] * 3 + [4 * h] * 2 + [int(hidden_dim)]
    strides = [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    return STGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                 channels=channels, strides=strides, dropout=dropout, edge_importance=edge_importance,
                 temporal_kernel_size=9, canonical_frames=50)
