"""2s-AGCN (AGCN) and the localization encoder AGCN-10 of LINE TAL / SnipCLR.

Papers:
- L. Shi, Y. Zhang, J. Cheng, H. Lu, "Two-Stream Adaptive Graph Convolutional Networks for
  Skeleton-Based Action Recognition", CVPR 2019 (``agcn``).
- Localization encoder: the same 10-block network with temporal stride 2 at l2, l5, l8, M = 1 and no
  data-BN, used by line/Skeleton-Temporal-Action-Localization and by SnipCLR (arXiv 2512.16504,
  ``agcn_loc``).

Origin: own implementation following the operation order of lshiwjx/2s-AGCN ``model/agcn.py``
(CC BY-NC 4.0), line/Skeleton-Temporal-Action-Localization ``model/agcn.py`` (Apache-2.0) and
cqs0925/SnipCLR ``model/agcn_Unet.py``. Converted weights keep the licence of their source.

Letters: N batch, C channels, T frames, V joints, M persons, D feature width.

Converters (all ``source="official"``):
- ``agcn``: 2s-AGCN ``model.agcn.Model`` state dicts (``l{1..10}.*``, ``data_bn``, ``fc``), including the
  BABEL baseline (``num_person=1``, inferred from the data-BN width).
- ``agcn_loc``: LINE TAL ``model.agcn.Model`` (``classifier_{1,2}.*`` ignored) and SnipCLR finetuning
  ``model.agcn_Unet.Model`` (``msff.*``, ``fc_loc.*`` ignored; they belong to the neck / localizer).
  The unused ``data_bn.*`` of both is ignored. One converter accepts both key sets.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..blocks.agcn_units import (
    AGCNBlockNHWC,
    aggregate,
    embedded_affinity,
    embedded_sum,
    graph_unit_fast,
    graph_unit_nhwc,
    make_down,
    streamed_affinity,
)
from ..blocks.channels_last import fast_paths_enabled
from ..blocks.common import DataBNKind, bn_init, branch_init, conv_init, fold_persons, make_data_bn
from ..blocks.context import ContextUnit
from ..errors import CheckpointError
from ..graphs import agcn_spatial
from ..layouts import get_layout
from ._base import Backbone, StageInfo
from ._convert import Converter
from ._registry import register_converter, register_model

__all__ = ["AdaptiveGraphConv", "AGCN", "agcn", "agcn_loc"]

#: 2s-AGCN channel schedule (l1..l10) and the temporal strides of the two variants.
AGCN_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
AGCN_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
LOC_STRIDES = (1, 2, 1, 1, 2, 1, 1, 2, 1, 1)


class AdaptiveGraphConv(ContextUnit):
    """2s-AGCN ``unit_gcn``: ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    For each subset k: ``graph_k = softmax_over_source(θ_kᵀφ_k / (C_e·T)) + (A_k + PA_k)`` with ``A`` the
    fixed graph (non-persistent buffer, not in the official state dict), ``PA`` learned (init 1e-6) and
    ``C_e = C_out / coff_embedding``; ``y = Σ_k conv_d_k(x · graph_k)`` (row = source), then
    ``ReLU(BN(y) + down(x))`` (BN weight init 1e-6).

    Whole-sequence statistic (:mod:`skelzoo.blocks.context`): ``"affinity"`` = ``θ_kᵀφ_k / (C_e·T)`` of
    all subsets, ``(N, K, V, V)``, summed over every frame of the input.
    """

    context_sites = ("affinity",)

    def __init__(self, in_channels: int, out_channels: int, a: torch.Tensor, coff_embedding: int = 4) -> None:
        super().__init__()
        k, v, _ = a.shape
        inter = out_channels // coff_embedding
        self.num_subset = k
        self.register_buffer("A", a.clone().float(), persistent=False)
        self.PA = nn.Parameter(torch.full((k, v, v), 1e-6))
        self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, inter, 1) for _ in range(k))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, inter, 1) for _ in range(k))
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(k))
        self.down = make_down(in_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels)
        for conv in (*self.conv_a, *self.conv_b):
            conv_init(conv)
        for conv in self.conv_d:
            branch_init(conv, k)
        bn_init(self.bn, 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_paths_enabled():
            return self.forward_fast(x)
        a = self.A + self.PA
        e = self.context_stat("affinity", x, 2, lambda z: embedded_sum(self.conv_a, self.conv_b, z))
        y: torch.Tensor | None = None
        for i in range(self.num_subset):
            ei = embedded_affinity(self.conv_a[i], self.conv_b[i], x) if e is None else e[:, i]
            g = torch.softmax(ei, dim=-2) + a[i]
            z = self.conv_d[i](aggregate(x, g))
            y = z if y is None else z + y
        assert y is not None
        y = self.bn(y)
        y = y + (x if self.down is None else self.down(x))
        return torch.relu(y)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on NCHW ``(N, C, T, V)`` (:func:`streamed_affinity`, :func:`graph_unit_fast`)."""
        g = torch.softmax(streamed_affinity(self, x, 2), dim=-2) + (self.A + self.PA)
        return graph_unit_fast(x, g, self.conv_d, self.bn, self.down)

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last fast path on ``(N, T, V, C)`` (:func:`streamed_affinity`, :func:`graph_unit_nhwc`)."""
        g = torch.softmax(streamed_affinity(self, x, 1), dim=-2) + (self.A + self.PA)
        return graph_unit_nhwc(x, g, self.conv_d, self.bn, self.down)


class AGCN(Backbone):
    """2s-AGCN backbone: data-BN, 10 blocks ``AdaptiveGraphConv -> (9,1) TCN (+ residual) -> ReLU``.

    Input ``(N, C, T, V, M)``; stage ``i`` (= official ``l{i+1}``) maps ``(N·M, C_i, T_i, V)`` to
    ``(N·M, channels[i], ⌈T_i / strides[i]⌉, V)``. Output logits ``(N, num_classes)`` or pooled features
    ``(N, 256)`` when ``num_classes == 0``.
    """

    global_context = True  # see the graph unit's context_sites

    def __init__(self, *, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25",
                 num_person: int = 2, dropout: float = 0.0, channels: Sequence[int] = AGCN_CHANNELS,
                 strides: Sequence[int] = AGCN_STRIDES, data_bn: DataBNKind = "MVC",
                 coff_embedding: int = 4) -> None:
        super().__init__(in_channels=in_channels, layout=layout, num_person=num_person,
                         num_classes=num_classes, dropout=dropout)
        if len(channels) != len(strides):
            raise ValueError(f"channels ({len(channels)}) and strides ({len(strides)}) differ in length")
        self.data_bn_kind: DataBNKind = data_bn
        self.fixed_num_person = data_bn == "MVC"
        self.data_bn = make_data_bn(data_bn, in_channels, self.num_joints, num_person)
        if isinstance(self.data_bn, nn.BatchNorm1d):
            bn_init(self.data_bn, 1.0)
        a = torch.from_numpy(agcn_spatial(get_layout(layout)))
        stages = []
        self.feature_info = []
        c_in, reduction = in_channels, 1
        for i, (c_out, s) in enumerate(zip(channels, strides)):
            gcn = AdaptiveGraphConv(c_in, c_out, a, coff_embedding)
            stages.append(AGCNBlockNHWC(gcn, c_in, c_out, stride=s, residual=i > 0))
            reduction *= s
            self.feature_info.append(StageInfo(num_chs=c_out, reduction=reduction, module=f"stages.{i}", index=i))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self._init_head(c_in, num_classes)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return fold_persons(x, self.data_bn, self.data_bn_kind)


# ---------------------------------------------------------------------------------------------- converters
_STAGE = re.compile(r"^stages\.(\d+)\.(gcn|tcn|residual)\.(.*)$")


def _official_key(key: str) -> str | None:
    """skelzoo key -> 2s-AGCN / LINE / SnipCLR key (``stages.i.gcn.X`` -> ``l{i+1}.gcn1.X``)."""
    m = _STAGE.match(key)
    if m:
        i, part, rest = int(m.group(1)), m.group(2), m.group(3)
        part = {"gcn": "gcn1", "tcn": "tcn1"}.get(part, part)
        return f"l{i + 1}.{part}.{rest}"
    if key.startswith("head."):
        return "fc." + key[len("head."):]
    if key.startswith("data_bn."):
        return key
    raise KeyError(f"agcn converter: no official name for {key!r}")


def _official_args(sd: Mapping[str, torch.Tensor], *, with_data_bn: bool) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if "l1.gcn1.conv_d.0.weight" in sd:
        args["in_channels"] = int(sd["l1.gcn1.conv_d.0.weight"].shape[1])
    args["num_classes"] = int(sd["fc.weight"].shape[0]) if "fc.weight" in sd else 0
    if "l1.gcn1.PA" in sd:
        v = int(sd["l1.gcn1.PA"].shape[-1])
        if v != 25:
            raise CheckpointError(f"checkpoint graph has V={v} joints; pass layout=... explicitly "
                                  f"(the converter infers only the NTU 25-joint layout)")
    if with_data_bn and "data_bn.weight" in sd:
        width = int(sd["data_bn.weight"].shape[0])
        per = args.get("in_channels", 3) * 25
        if width % per:
            raise CheckpointError(f"data_bn width {width} is not a multiple of C·V = {per}; "
                                  f"the checkpoint's in_channels differs from l1's input width")
        args["num_person"] = width // per
    return args


register_converter(Converter(
    arch="agcn", source="official", key_map=_official_key,
    model_args=lambda sd: _official_args(sd, with_data_bn=True),
    description="lshiwjx/2s-AGCN model.agcn.Model (also the BABEL AGCN baselines, num_person=1)",
))

register_converter(Converter(
    arch="agcn_loc", source="official", key_map=_official_key,
    ignore=(r"^data_bn\.", r"^classifier_[12]\.", r"^msff\.", r"^fc_loc\."),
    model_args=lambda sd: _official_args(sd, with_data_bn=False),
    description="LINE TAL model.agcn.Model and SnipCLR model.agcn_Unet.Model backbones (l1..l10); "
                "data_bn (unused), MIL classifiers, msff neck and fc_loc are ignored",
))


# ---------------------------------------------------------------------------------------------- builders
def _widths(base: int) -> tuple[int, ...]:
    if base < 4 or base % 4:
        raise ValueError(f"base_channels must be a positive multiple of 4 (attention width C/4), got {base}")
    return tuple(c * base // 64 for c in AGCN_CHANNELS)


@register_model(paper="Two-Stream Adaptive Graph Convolutional Networks for Skeleton-Based Action Recognition "
                      "(CVPR 2019)")
def agcn(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
         dropout: float = 0.0, coff_embedding: int = 4, base_channels: int = 64) -> AGCN:
    """2s-AGCN (joint or bone stream): MVC data-BN, blocks 64×4, 128 (s2)×3, 256 (s2)×3; 3,469,510
    parameters at NTU-60 defaults. ``in_channels`` sizes both data-BN and the first block.
    ``base_channels`` scales the width (blocks b×4, 2b×3, 4b×3; official b = 64)."""
    return AGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                dropout=dropout, coff_embedding=coff_embedding, channels=_widths(base_channels))


@register_model(task="features",
                paper="SnipCLR (arXiv 2512.16504) / LINE skeleton temporal action localization: AGCN-10 encoder")
def agcn_loc(in_channels: int = 3, num_classes: int = 0, layout: str = "ntu25", num_person: int = 1,
             dropout: float = 0.0, coff_embedding: int = 4, base_channels: int = 64) -> AGCN:
    """Localization AGCN-10: 2s-AGCN blocks with temporal stride 2 at l2, l5, l8 (T -> ⌈T/8⌉), no data-BN,
    M = 1 by default (any M is accepted: persons are folded into the batch). 3,458,078 backbone
    parameters. ``forward_intermediates(x, [0, 6, 9])`` gives the l1, l7, l10 taps of the U-shaped neck.
    ``base_channels`` scales the width (official 64; skelzoo's small CPU-trained encoders use less)."""
    return AGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                dropout=dropout, strides=LOC_STRIDES, data_bn="none", coff_embedding=coff_embedding,
                channels=_widths(base_channels))
