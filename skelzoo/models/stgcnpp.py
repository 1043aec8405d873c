"""ST-GCN++ (the pyskl "good practices" ST-GCN).

Paper: Duan et al. *PYSKL: Towards Good Practices for Skeleton Action Recognition.* ACM MM 2022.

Origin: an independent re-implementation from the architecture description (docs/backbones.md §4.12) of
kennymckormick/pyskl ``STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn')`` with graph
``layout='nturgb+d', mode='spatial'`` (Apache-2.0; also ported to open-mmlab/mmaction2, Apache-2.0). No code
was copied. Published weights carry their projects' terms.

Structure (letters: N batch, C channels, T frames, V joints, M persons, K = 3 graph subsets):
VC data-BN, then 10 blocks 64×4, 128 (s2)×3, 256 (s2)×3. Graph unit: ``Conv2d(C_in -> K·C_out, 1x1)``,
aggregation with a *learned* full adjacency ``A`` (K, V, V) initialised from the 2s-AGCN spatial graph
of the layout (pyskl hands for ``ntu25_pyskl``), row = source, then ``ReLU(BN(y) + down(x))`` with
``down`` = 1x1 conv + BN when C_in != C_out (blocks 0, 4, 7), identity otherwise. Temporal unit: pyskl's
``mstcn`` (six branches: 3x1 convs at dilations 1-4, max-pool, strided 1x1; remainder channels to the
first branch; ``BN -> ReLU -> 1x1 conv`` fusion and a final BN; no activation after it), via
:class:`skelzoo.blocks.mstcn.MultiScaleTCN`. Block output ``ReLU(tcn + residual)`` with residual none in
block 0, 1x1 conv + BN at the stride-2 blocks, identity otherwise. Pool over T·V then M, linear head.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..blocks.channels_last import graph_bn, has_fast, linear_bn, tconv_bn, to_nchw, to_nhwc
from ..blocks.common import TemporalConvBN, bn_init, conv_init, fold_persons, make_data_bn
from ..blocks.mstcn import PYSKL_MSTCN_BRANCHES, MultiScaleTCN
from ..graphs import agcn_spatial
from ..layouts import get_layout
from ._base import Backbone, StageInfo
from ._convert import Converter, pyskl_layout
from ._registry import register_converter, register_model
from ._weights import ntu_checkpoint

__all__ = ["STGCNPP", "AdaptiveGraphConv", "STGCNPPBlock", "stgcnpp"]

Tensor = torch.Tensor


class AdaptiveGraphConv(nn.Module):
    """pyskl ``unit_gcn(adaptive='init', with_res=True)``: ``(N·M, C_in, T, V) -> (N·M, C_out, T, V)``.

    ``y = einsum('nkctv,kvw->nctw', conv(x).view(n, K, C_out, t, v), A)`` (row = source), then
    ``ReLU(bn(y) + down(x))``. ``A`` is a learned parameter initialised from the fixed graph.
    """

    def __init__(self, in_channels: int, out_channels: int, A: Tensor) -> None:
        super().__init__()
        self.num_subsets = A.shape[0]
        self.out_channels = out_channels
        self.A = nn.Parameter(A.clone().float())
        self.bn = nn.BatchNorm2d(out_channels)
        self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        if in_channels != out_channels:
            self.down: nn.Module = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            conv_init(self.down[0])
            bn_init(self.down[1], 1.0)
        else:
            self.down = nn.Identity()
        self.relu = nn.ReLU()
        conv_init(self.conv)
        bn_init(self.bn, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape
        res = self.down(x)
        y = self.conv(x).view(n, self.num_subsets, self.out_channels, t, v)
        y = torch.einsum("nkctv,kvw->nctw", y, self.A).contiguous()
        return self.relu(self.bn(y) + res)

    def forward_nhwc(self, x: Tensor) -> Tensor:
        """Fast path on ``(N, T, V, C)``: one GEMM + one matmul for all subsets, BNs folded in eval."""
        k, o = self.num_subsets, self.out_channels
        w = self.conv.weight.view(k, o, -1)
        b = None if self.conv.bias is None else self.conv.bias.view(k, o)
        res = x if isinstance(self.down, nn.Identity) else linear_bn(x, self.down[0], self.down[1])
        return torch.relu(graph_bn(x, self.A, w, b, self.bn) + res)


class STGCNPPBlock(nn.Module):
    """One STGCN++ block ``(N·M, C_in, T, V) -> (N·M, C_out, ceil(T / stride), V)``."""

    def __init__(self, in_channels: int, out_channels: int, A: Tensor, *, stride: int = 1,
                 residual: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, A)
        self.tcn = MultiScaleTCN(out_channels, out_channels, PYSKL_MSTCN_BRANCHES, stride=stride,
                                 channel_split="rem_first", branch_norm=False, transform=True, residual=False,
                                 final_act=False, dropout=dropout, bn_init_std=0.0)
        if not residual:
            self.residual_kind = "none"
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual_kind = "identity"
            self.residual = None
        else:
            self.residual_kind = "conv"
            self.residual = TemporalConvBN(in_channels, out_channels, 1, stride)
        self.relu = nn.ReLU()

    def forward_nhwc(self, x: Tensor) -> Tensor:
        """Fast path on ``(N, T, V, C)`` (see :mod:`skelzoo.blocks.channels_last`)."""
        y = self.tcn.forward_nhwc(self.gcn.forward_nhwc(x))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + tconv_bn(x, self.residual.conv, self.residual.bn)
        return torch.relu(y)

    def forward(self, x: Tensor) -> Tensor:
        if has_fast(self):
            return to_nchw(self.forward_nhwc(to_nhwc(x)))
        y = self.tcn(self.gcn(x))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


class STGCNPP(Backbone):
    """STGCN++ backbone + linear head. Input ``(N, C, T, V, M)``; logits ``(N, num_classes)``.

    The data-BN is shared by persons (``VC``), so any number of persons M is accepted.
    """

    fixed_num_person = False

    def __init__(self, *, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25_pyskl",
                 num_person: int = 2, channels: Sequence[int] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
                 strides: Sequence[int] = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1), dropout: float = 0.0,
                 canonical_frames: int = 100) -> None:
        super().__init__(in_channels=in_channels, layout=layout, num_person=num_person, num_classes=num_classes,
                         dropout=0.0)
        channels = [int(c) for c in channels]
        strides = [int(s) for s in strides]
        if len(channels) != len(strides) or not channels:
            raise ValueError("channels and strides must be non-empty and of equal length")
        self.tcn_dropout = float(dropout)
        self.canonical_frames = canonical_frames
        A = torch.from_numpy(agcn_spatial(self.layout))
        self.data_bn = make_data_bn("VC", in_channels, self.num_joints, num_person)
        blocks, info = [], []
        c_in, reduction = in_channels, 1
        for i, (c_out, s) in enumerate(zip(channels, strides)):
            blocks.append(STGCNPPBlock(c_in, c_out, A, stride=s, residual=i > 0, dropout=0.0 if i == 0 else dropout))
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
def _pyskl_key(key: str, head: str) -> str | None:
    if key.startswith("data_bn."):
        return "backbone." + key
    if key.startswith("head."):
        return f"cls_head.{head}" + key[4:]
    if key.startswith("stages."):
        return "backbone.gcn." + key[len("stages."):]
    return None


def _pyskl_args(head: str) -> Any:
    def fn(sd: Mapping[str, Tensor]) -> dict[str, Any]:
        A = sd.get("backbone.gcn.0.gcn.A")
        v = int(A.shape[-1]) if A is not None else get_layout("ntu25_pyskl").num_joints
        args: dict[str, Any] = pyskl_layout(v)  # nturgb+d (25) or coco (17)
        if "backbone.data_bn.weight" in sd:  # (other V: pass layout=... to convert_checkpoint)
            args["in_channels"] = int(sd["backbone.data_bn.weight"].shape[0]) // v
        conv0 = sd.get("backbone.gcn.0.gcn.conv.weight")
        if conv0 is not None and A is not None:
            args["base_channels"] = int(conv0.shape[0]) // int(A.shape[0])
        w = sd.get(f"cls_head.{head}.weight")
        args["num_classes"] = int(w.shape[0]) if w is not None else 0
        return args
    return fn


for _source, _head in (("pyskl", "fc_cls"), ("mmaction2", "fc")):
    register_converter(Converter(
        arch="stgcnpp", source=_source,
        key_map=(lambda h: (lambda k: _pyskl_key(k, h)))(_head),
        model_args=_pyskl_args(_head),
        description=f"{_source} STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn'): "
                    f"backbone.gcn.i.* -> stages.i.* (same unit-internal names), cls_head.{_head} -> head."))


# ---------------------------------------------------------------------------------------------- weights
# Published ST-GCN++ checkpoints (``stgcnpp.<tag>``): pyskl / mmaction2, NTU RGB+D 3D joints and NTU RGB+D 2-D
# HRNet keypoints (``*_2d_joint``: layout ``coco17``, preprocessing ``pyskl_2d``).
#
# Converted on first use from the original ``.pth`` (converters ``("stgcnpp", "pyskl"|"mmaction2")``). Numbers
# are the top-1 accuracies published next to each file (10-clip test). No tag is marked ``default``: until
# skelzoo publishes its own weights, ``stgcnpp`` with ``pretrained=True`` falls back to the first tag below
# (mmaction2, whose file name carries a sha256 prefix that is checked).
_PAPER = "Duan, Wang, Chen, Lin, PYSKL: Towards Good Practices for Skeleton Action Recognition, ACM MM 2022"
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/stgcnpp"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 64, "num_classes": 60, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}
_ARGS60_2D = {**_ARGS60, "layout": "coco17"}
_ARGS120_2D = {**_ARGS120, "layout": "coco17"}
_PYSKL_SRC = ("kennymckormick/pyskl configs/stgcn++/README.md, {name}/j.pth (plain http, no published hash: "
              "the download cannot be verified; older README revisions spell the folder stgcn++/stgcn++_...)")

STGCNPP_WEIGHTS = (
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_3d_joint", classes=60, top1=89.14, convert_source="mmaction2", hash_prefix="4e455ce3",
        url="https://download.openmmlab.com/mmaction/v1.0/skeleton/stgcnpp/"
            "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221230-4e455ce3.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcnpp/metafile.yml "
               "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 4e455ce3 from the file name)",
        description="mmaction2 STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn', graph nturgb+d / "
                    "spatial) + GCNHead, 80 epochs x 8 GPUs, uniform 100 frames; top-1 89.14 (10 clips) as "
                    "published in the metafile.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_3d_joint", classes=60, top1=89.3, convert_source="pyskl",
        url=f"{_PYSKL}/stgcnpp_ntu60_xsub_3dkp/j.pth",
        source=_PYSKL_SRC.format(name="stgcnpp_ntu60_xsub_3dkp"),
        description="pyskl STGCN++ + GCNHead; top-1 89.3 as published in the README. No checksum is "
                    "published for this file.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_3d_joint", classes=120, top1=83.2, convert_source="pyskl",
        url=f"{_PYSKL}/stgcnpp_ntu120_xsub_3dkp/j.pth",
        source=_PYSKL_SRC.format(name="stgcnpp_ntu120_xsub_3dkp"),
        description="pyskl STGCN++ + GCNHead; top-1 83.2 as published in the README. No checksum is "
                    "published for this file.",
        model_args=_ARGS120, paper=_PAPER),
    # NTU RGB+D 2-D keypoints (HRNet, COCO-17; graph coco / spatial = layout coco17, channels x, y, score;
    # preprocessing pyskl_2d = PreNormalize2D)
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_2d_joint", classes=60, top1=89.29, convert_source="mmaction2", hash_prefix="86e1e77a",
        keypoints="2d",
        url="https://download.openmmlab.com/mmaction/v1.0/skeleton/stgcnpp/"
            "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
            "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20221228-86e1e77a.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcnpp/metafile.yml "
               "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d (sha256 prefix 86e1e77a from the file name)",
        description="mmaction2 STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn', graph coco / "
                    "spatial) + GCNHead on HRNet 2-D keypoints, 80 epochs x 8 GPUs, uniform 100 frames; top-1 "
                    "89.29 (10 clips) as published in the metafile.",
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_2d_joint", classes=60, top1=89.3, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/stgcnpp_ntu60_xsub_hrnet/j.pth",
        source=_PYSKL_SRC.format(name="stgcnpp_ntu60_xsub_hrnet"),
        description="pyskl STGCN++ (graph coco / spatial) + GCNHead on HRNet 2-D keypoints; top-1 89.3 as "
                    "published in the README. No checksum is published for this file.",
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_2d_joint", classes=120, top1=84.4, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/stgcnpp_ntu120_xsub_hrnet/j.pth",
        source=_PYSKL_SRC.format(name="stgcnpp_ntu120_xsub_hrnet"),
        description="pyskl STGCN++ (graph coco / spatial) + GCNHead on HRNet 2-D keypoints; top-1 84.4 as "
                    "published in the README. No checksum is published for this file.",
        model_args=_ARGS120_2D, paper=_PAPER),
)


# ---------------------------------------------------------------------------------------------- builders
@register_model(task="classification", paper="Duan et al., PYSKL (ST-GCN++), ACM MM 2022",
                weights=STGCNPP_WEIGHTS)
def stgcnpp(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25_pyskl", num_person: int = 2,
            base_channels: int = 64, dropout: float = 0.0) -> STGCNPP:
    """pyskl STGCN++ (1,403,144 parameters at NTU-60 defaults; canonical T 100).

    The learned adjacency starts from the 2s-AGCN spatial graph of ``layout`` (pyskl hands by default).
    ``dropout`` is the multi-scale TCN dropout (0 in the published config).
    """
    b = int(base_channels)
    channels = [b] * 4 + [2 * b] * 3 + [4 * b] * 3
    strides = [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    return STGCNPP(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                   channels=channels, strides=strides, dropout=dropout, canonical_frames=100)
