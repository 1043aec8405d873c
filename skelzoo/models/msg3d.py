"""MS-G3D: multi-scale disentangled graph convolutions + unified spatio-temporal G3D pathway.

Paper: Z. Liu, H. Zhang, Z. Chen, Z. Wang, W. Ouyang, "Disentangling and Unifying Graph Convolutions for
Skeleton-Based Action Recognition", CVPR 2020. Original code: kenziyuliu/MS-G3D (MIT licence),
``model/msg3d.py``, ``model/ms_gcn.py``, ``model/ms_gtcn.py``, ``model/ms_tcn.py``, ``model/mlp.py``,
``graph/ntu_rgb_d.py``. Variant: pyskl ``MSG3D`` (kennymckormick/pyskl, Apache-2.0; H. Duan et al.,
"PYSKL: Towards Good Practices for Skeleton Action Recognition", ACM MM 2022) and its mmaction2 1.x port
(open-mmlab/mmaction2 ``projects/msg3d``, Apache-2.0). This file is an independent re-implementation.

Architectures:

- ``msg3d`` — the official model. Fixed multi-scale graphs are symmetric-normalised (``D^-1/2 A D^-1/2``)
  "exactly k hops" adjacencies of the official NTU bones, aggregated **row = target**
  (``y[..., u] = sum_v (A + A_res)[k, u, v] x[..., v]``); they are not part of the checkpoint
  (non-persistent buffers). Learned ``A_res`` is stored here as ``(K, V', V')``; the official checkpoint
  stores it flattened ``(K·V', V')`` (the converter reshapes).
- ``msg3d_pyskl`` — pyskl / mmaction2 ``MSG3D``: the same network, but the fixed scales are
  column-normalised, built from the pyskl hand topology (``ntu25_pyskl``), stored in the checkpoint
  (persistent buffer ``A`` per graph module, plus an unused top-level binary ``A``), and aggregated
  **row = source** (``y[..., u] = sum_v (A + A_res)[k, v, u] x[..., v]``). pyskl names the learned part
  ``PA``. Because the fixed ``A`` buffers are loaded from the checkpoint, an official MS-G3D checkpoint
  maps exactly onto this variant (docs/backbones.md §5.2): transpose every ``A_res`` and overwrite every ``A``
  with the official symmetric scales, transposed.

Structure (three levels, channels ``c, 2c, 4c`` with ``c = 96``; temporal reductions 1, 2, 4)::

    x = ReLU(sgcn_i(x) + gcn3d_i(x));  x = tcn_i(x)

``sgcn_i`` = MS-GCN -> MS-TCN (stride s_i) -> MS-TCN (no final activation); ``gcn3d_i`` = sum over windows
tau in (3, 5) of G3D (temporal unfold, multi-scale graph conv on tau·V nodes, Conv3d (1, tau, 1), BN);
``tcn_i`` = MS-TCN. Head: mean over T·V, then over persons M, ``Linear(4c, num_classes)``.

Letters: N batch, C channels, T frames, V joints, M persons, K scales, D feature width.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import graphs
from ..blocks.channels_last import apply_bn, fold_into, graph_bn, has_fast, to_nchw, to_nhwc
from ..blocks.common import fold_persons, make_data_bn
from ..blocks.gemm import linear
from ..blocks.mstcn import MSG3D_BRANCHES, MultiScaleTCN
from ._base import Backbone, StageInfo
from ._convert import Converter, pyskl_layout
from ._registry import register_converter, register_model
from ._weights import ntu_checkpoint

__all__ = [
    "MSG3D", "MultiScaleGraphConv", "G3DWindow", "MSG3DStage",
    "msg3d_scales", "msg3d", "msg3d_pyskl",
]

Aggregation = Literal["target", "source"]
Normalization = Literal["symmetric", "column"]


# ---------------------------------------------------------------------------------------------- graphs
def msg3d_scales(a_binary: np.ndarray, num_scales: int, window: int = 1, *,
                 normalization: Normalization = "symmetric") -> np.ndarray:
    """Fixed multi-scale adjacency ``(K, w·V, w·V)`` float32 of MS-GCN (``window=1``) or G3D (``window>1``).

    Scale k is the "exactly k hops" adjacency plus I (:func:`skelzoo.graphs.k_adjacency`) of the binary
    bone graph (``window=1``) or of its ``window x window`` tiling with self-loops
    (:func:`skelzoo.graphs.spatio_temporal_window`), then normalised: ``"symmetric"`` as the official
    code (row = target use), ``"column"`` as pyskl (row = source use). Matrix ``[k, i, j]``: official =
    target i, source j; pyskl = source i, target j.
    """
    base = a_binary if window == 1 else graphs.spatio_temporal_window(a_binary, window)
    return graphs.multiscale_adjacency(base, num_scales, normalization=normalization)


# ---------------------------------------------------------------------------------------------- blocks
class MLP(nn.Module):
    """``Conv2d 1x1 -> BN -> ReLU`` on ``(N, C_in, T, V) -> (N, C_out, T, V)`` (official ``MLP``, one layer)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Conv2d(in_channels, out_channels, kernel_size=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MultiScaleGraphConv(nn.Module):
    """Disentangled multi-scale graph convolution: ``(N, C_in, T, V') -> (N, C_out, T, V')``.

    ``A + A_res`` (both ``(K, V', V')``) aggregates each scale separately; the K results are concatenated
    scale-major (``K·C_in`` channels) and mixed by :class:`MLP` (1x1 conv, BN, ReLU). Used as MS-GCN
    (``V' = V``) and, on windows of ``tau`` frames, as the G3D graph conv (``V' = tau·V``; the official
    linear MLP followed by a ReLU is the same function).

    Args:
        scales: fixed adjacency ``(K, V', V')`` (see :func:`msg3d_scales`).
        aggregation: ``"target"`` (official, ``A[k, u, v]`` sends v -> u) or ``"source"`` (pyskl,
            ``A[k, v, u]`` sends v -> u).
        persistent: store the fixed ``A`` in the state dict (pyskl) or not (official).
    """

    def __init__(self, in_channels: int, out_channels: int, scales: np.ndarray, *,
                 aggregation: Aggregation = "target", persistent: bool = False) -> None:
        super().__init__()
        if aggregation not in ("target", "source"):
            raise ValueError(f"aggregation must be 'target' or 'source', got {aggregation!r}")
        self.aggregation = aggregation
        a = torch.as_tensor(np.asarray(scales, dtype=np.float32))
        self.num_scales = a.shape[0]
        self.register_buffer("A", a.clone(), persistent=persistent)
        self.A_res = nn.Parameter(torch.empty_like(a))
        nn.init.uniform_(self.A_res, -1e-6, 1e-6)
        self.mlp = MLP(in_channels * self.num_scales, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        a = (self.A + self.A_res).to(x.dtype)
        if self.aggregation == "target":
            y = torch.einsum("kuv,nctv->nkctu", a, x)
        else:
            y = torch.einsum("kvu,nctv->nkctu", a, x)
        return self.mlp(y.reshape(n, self.num_scales * c, t, v))

    def forward_nhwc(self, x: torch.Tensor, out_perm: torch.Tensor | None = None) -> torch.Tensor:
        """Fast path on ``(N, T, V', C) -> (N, T, V', C_out)``: all scales in one matmul, the MLP conv as
        one GEMM over (scale, channel), BN folded in eval. ``out_perm`` reorders the output nodes."""
        a = (self.A + self.A_res).to(x.dtype)
        g = a.transpose(-1, -2) if self.aggregation == "target" else a              # (K, source, target)
        if out_perm is not None:
            g = g[..., out_perm]
        conv, bn = self.mlp.layers[0], self.mlp.layers[1]
        o = conv.weight.shape[0]
        w = conv.weight.view(o, self.num_scales, -1).transpose(0, 1)                # (K, O, C)
        return torch.relu_(graph_bn(x, g, w, None, bn, post_bias=conv.bias))


class G3DWindow(nn.Module):
    """One G3D pathway: ``(N, C_in, T, V) -> (N, C_out, ceil(T/stride), V)``, no activation.

    Frames are unfolded into windows of ``window`` frames (stride ``stride``, zero padding ``window // 2``);
    each window is a graph of ``window·V`` nodes (node ``w·V + v``), convolved by
    :class:`MultiScaleGraphConv` with the fixed ``scales`` ``(K, window·V, window·V)`` (``C_in -> C_embed``);
    ``out_conv`` = Conv3d with kernel ``(1, window, 1)`` collapses the window (``C_embed -> C_out``), then
    ``out_bn``.
    """

    def __init__(self, in_channels: int, embed_channels: int, out_channels: int, scales: np.ndarray,
                 window: int, stride: int, *, aggregation: Aggregation = "target", persistent: bool = False) -> None:
        super().__init__()
        self.window = window
        self.stride = stride
        self.padding = window // 2
        self.embed_channels = embed_channels
        self.gcn = MultiScaleGraphConv(in_channels, embed_channels, scales, aggregation=aggregation,
                                       persistent=persistent)
        self.out_conv = nn.Conv3d(embed_channels, out_channels, kernel_size=(1, window, 1))
        self.out_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        w = self.window
        x = F.pad(x, (0, 0, self.padding, self.padding))
        x = x.unfold(2, w, self.stride)                          # (N, C, T', V, w)
        t_out = x.shape[2]
        x = x.permute(0, 1, 2, 4, 3).reshape(n, c, t_out, w * v)  # node index w·V + v
        x = self.gcn(x)
        x = x.view(n, self.embed_channels, t_out, w, v)
        x = self.out_conv(x).squeeze(3)
        return self.out_bn(x)

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on ``(N, T, V, C) -> (N, T', V, C_out)``. The graph conv writes its nodes in
        (joint, frame) order, so the window collapse (``out_conv``) is one GEMM over (frame, channel)."""
        n, t, v, c = x.shape
        w = self.window
        xp = F.pad(x, (0, 0, 0, 0, self.padding, self.padding))
        xw = xp.unfold(1, w, self.stride)                                          # (N, T', V, C, w)
        t_out = xw.shape[1]
        xw = xw.permute(0, 1, 4, 2, 3).reshape(n, t_out, w * v, c)                 # node w·V + v
        perm = torch.arange(w * v, device=x.device).view(w, v).t().reshape(-1)     # output node v·w + j
        h = self.gcn.forward_nhwc(xw, out_perm=perm)                               # (N, T', V·w, C_e)
        ce = self.embed_channels
        wo = self.out_conv.weight.view(-1, ce, w).transpose(1, 2).reshape(-1, w * ce)
        wo, bo, rest = fold_into(wo, self.out_conv.bias, self.out_bn)
        return apply_bn(linear(h.view(n, t_out, v, w * ce), wo, bo), rest)


class MSG3DStage(nn.Module):
    """One MS-G3D level: ``x = ReLU(sgcn(x) + sum_w gcn3d[w](x)); x = tcn(x)``.

    ``(N·M, C_in, T, V) -> (N·M, C_out, ceil(T/stride), V)``. ``sgcn`` = (MS-GCN ``C_in -> C_gcn``,
    MS-TCN ``C_gcn -> C_out`` stride s, MS-TCN ``C_out -> C_out`` without final ReLU); ``gcn3d`` = one
    :class:`G3DWindow` per window size (``C_in -> C_g3d -> C_out``, stride s); ``tcn`` = MS-TCN (then
    dropout ``tcn_dropout``, pyskl). MS-TCN = :class:`skelzoo.blocks.mstcn.MultiScaleTCN` with
    ``MSG3D_BRANCHES``: four (1x1 conv, BN, ReLU, (3,1) conv dilation 1..4 stride s, BN) branches, one
    max-pool branch, one strided 1x1 branch, concatenated, + residual (identity or 1x1 conv + BN), ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, gcn_channels: int, g3d_channels: int, stride: int,
                 gcn_scales: np.ndarray, g3d_scales: Sequence[tuple[int, np.ndarray]], *, aggregation: Aggregation,
                 persistent: bool, tcn_dropout: float = 0.0) -> None:
        super().__init__()
        # MS-TCN (blocks/mstcn.py with MS-G3D's six branches, internal residual, final ReLU). Widths are
        # multiples of 6 (checked by MSG3D), where the official equal split and pyskl's remainder split agree.
        tcn: dict[str, Any] = dict(channel_split="equal", residual=True)
        self.sgcn = nn.Sequential(
            MultiScaleGraphConv(in_channels, gcn_channels, gcn_scales, aggregation=aggregation,
                                persistent=persistent),
            MultiScaleTCN(gcn_channels, out_channels, MSG3D_BRANCHES, stride=stride, **tcn),
            MultiScaleTCN(out_channels, out_channels, MSG3D_BRANCHES, **tcn, final_act=False),
        )
        self.gcn3d = nn.ModuleList([
            G3DWindow(in_channels, g3d_channels, out_channels, a, w, stride, aggregation=aggregation,
                      persistent=persistent)
            for w, a in g3d_scales
        ])
        self.tcn = MultiScaleTCN(out_channels, out_channels, MSG3D_BRANCHES, **tcn, dropout=tcn_dropout)

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on ``(N, T, V, C)`` (see :mod:`skelzoo.blocks.channels_last`)."""
        y = self.sgcn[2].forward_nhwc(self.sgcn[1].forward_nhwc(self.sgcn[0].forward_nhwc(x)))
        for g in self.gcn3d:
            y = y + g.forward_nhwc(x)
        return self.tcn.forward_nhwc(torch.relu_(y))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if has_fast(self):
            return to_nchw(self.forward_nhwc(to_nhwc(x)))
        y = self.sgcn(x)
        for g in self.gcn3d:
            y = y + g(x)
        return self.tcn(F.relu(y))


# ---------------------------------------------------------------------------------------------- model
class MSG3D(Backbone):
    """MS-G3D backbone + classifier. Input ``(N, C, T, V, M)``; logits ``(N, num_classes)``.

    Stages (``forward_intermediates``): the three levels, outputs ``(N, c_i, T_i, V, M)`` with channels
    ``c, 2c, 4c`` and ``T_i = T, ceil(T/2), ceil(T/4)``.

    Args:
        in_channels: coordinates per joint (C).
        num_classes: classifier outputs (0 = pooled features ``(N, 4c)``).
        layout: joint layout (graph from its bones).
        num_person: persons M (MVC data-BN, so M is fixed).
        dropout: dropout before the classifier (not in either original; default 0).
        base_channels: c (96).
        num_gcn_scales / num_g3d_scales: K of MS-GCN (13) and of G3D (6).
        window_sizes: G3D windows (3, 5).
        normalization / aggregation / persistent_graph: ``symmetric`` / ``target`` / False = official;
            ``column`` / ``source`` / True = pyskl.
        tcn_dropout: dropout after each level's ``tcn`` (pyskl; default 0).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
                 dropout: float = 0.0, base_channels: int = 96, num_gcn_scales: int = 13, num_g3d_scales: int = 6,
                 window_sizes: Sequence[int] = (3, 5), normalization: Normalization = "symmetric",
                 aggregation: Aggregation = "target", persistent_graph: bool = False,
                 tcn_dropout: float = 0.0) -> None:
        super().__init__(in_channels=in_channels, layout=layout, num_person=num_person,
                         num_classes=num_classes, dropout=dropout)
        if base_channels % 6:
            raise ValueError(f"base_channels must be a multiple of 6 (six MS-TCN branches), got {base_channels}")
        if num_gcn_scales < 1 or num_g3d_scales < 1:
            raise ValueError("num_gcn_scales and num_g3d_scales must be >= 1")
        if not window_sizes or any(w < 1 or w % 2 == 0 for w in window_sizes):
            raise ValueError(f"window_sizes must be odd positive integers, got {window_sizes}")
        a_binary = graphs.binary_adjacency(layout)
        self.data_bn = make_data_bn("MVC", in_channels, self.num_joints, num_person)
        if persistent_graph:
            # pyskl keeps the binary adjacency as a top-level buffer (unused by the forward)
            self.register_buffer("A", torch.as_tensor(a_binary, dtype=torch.float32))
        c1, c2, c3 = base_channels, base_channels * 2, base_channels * 4
        # the official first G3D block widens to c1 at once for 3 (or 8) input channels, else at collapse
        g3d_first = c1 if in_channels in (3, 8) else in_channels
        plan = [  # (in, out, gcn out, g3d embed, stride)
            (in_channels, c1, c1, g3d_first, 1),
            (c1, c2, c1, c1, 2),
            (c2, c3, c2, c2, 2),
        ]
        # the fixed graphs are the same at every level: build them once
        gcn_scales = msg3d_scales(a_binary, num_gcn_scales, 1, normalization=normalization)
        cache = {int(w): msg3d_scales(a_binary, num_g3d_scales, int(w), normalization=normalization)
                 for w in set(window_sizes)}
        g3d_scales = [(int(w), cache[int(w)]) for w in window_sizes]
        self.stages = nn.ModuleList([
            MSG3DStage(ci, co, cg, ce, s, gcn_scales, g3d_scales, aggregation=aggregation,
                       persistent=persistent_graph, tcn_dropout=tcn_dropout)
            for ci, co, cg, ce, s in plan
        ])
        self.feature_info = [
            StageInfo(num_chs=c1, reduction=1, module="stages.0", index=0),
            StageInfo(num_chs=c2, reduction=2, module="stages.1", index=1),
            StageInfo(num_chs=c3, reduction=4, module="stages.2", index=2),
        ]
        self._init_head(c3, num_classes)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return fold_persons(x, self.data_bn, "MVC")


# ---------------------------------------------------------------------------------------------- converters
_STAGE = re.compile(r"^stages\.(\d+)\.(.*)$")
_G3D = re.compile(r"^gcn3d\.(\d+)\.(gcn|out_conv|out_bn)(\..*)?$")


def _official_name(key: str) -> str:
    """skelzoo key -> official MS-G3D name (``A_res`` and fixed ``A`` keep their leaf)."""
    if key.startswith("data_bn."):
        return key
    if key.startswith("head."):
        return "fc." + key[len("head."):]
    m = _STAGE.match(key)
    if m is None:
        raise KeyError(key)
    level, rest = int(m.group(1)) + 1, m.group(2)
    g = _G3D.match(rest)
    if g is not None:
        inner = "gcn3d.1" if g.group(2) == "gcn" else g.group(2)
        return f"gcn3d{level}.gcn3d.{g.group(1)}.{inner}{g.group(3) or ''}"
    head, _, tail = rest.partition(".")
    if head in ("sgcn", "tcn"):
        return f"{head}{level}.{tail}"
    raise KeyError(key)


def _official_key(key: str) -> str | None:
    if key == "A" or key.endswith(".A"):
        return None  # fixed graphs: rebuilt, not stored by the official code
    return _official_name(key)


def _flat_to_scales(key: str, t: torch.Tensor) -> torch.Tensor:
    if key.endswith(".A_res") and t.dim() == 2:
        v = t.shape[1]
        return t.reshape(t.shape[0] // v, v, v)
    return t


def _scales_to_flat(key: str, t: torch.Tensor) -> torch.Tensor:
    if key.endswith(".A_res"):
        return t.reshape(-1, t.shape[-1])
    return t


def _pyskl_key(head: str):
    def key_map(key: str) -> str | None:
        if key == "A":
            return "backbone.A"
        if key.startswith("head."):
            return f"cls_head.{head}." + key[len("head."):]
        name = _official_name(key)
        if name.endswith(".A_res"):
            name = name[: -len("A_res")] + "PA"
        return "backbone." + name
    return key_map


def _infer_args(sd: Mapping[str, torch.Tensor], prefix: str, head: str, gcn_res: str) -> dict[str, Any]:
    """Constructor overrides from a state dict (classes, scales, width, input channels, persons)."""
    args: dict[str, Any] = {}
    w = sd.get(head + ".weight")
    args["num_classes"] = int(w.shape[0]) if w is not None else 0
    a = sd.get(f"{prefix}sgcn1.0.{gcn_res}")
    mlp = sd.get(f"{prefix}sgcn1.0.mlp.layers.0.weight")
    if a is not None and mlp is not None:
        v = int(a.shape[-1])
        k = int(a.shape[0]) if a.dim() == 3 else int(a.shape[0]) // v
        args["num_gcn_scales"] = k
        args["base_channels"] = int(mlp.shape[0])
        args["in_channels"] = int(mlp.shape[1]) // k
        bn = sd.get(f"{prefix}data_bn.weight")
        if bn is not None:
            args["num_person"] = int(bn.shape[0]) // (v * args["in_channels"])
        if prefix == "backbone.":
            args.update(pyskl_layout(v))  # nturgb+d (25) or coco (17)
    g = sd.get(f"{prefix}gcn3d1.gcn3d.0.gcn3d.1.{gcn_res}")
    if g is not None:
        vv = int(g.shape[-1])
        args["num_g3d_scales"] = int(g.shape[0]) if g.dim() == 3 else int(g.shape[0]) // vv
    return args


register_converter(Converter(
    arch="msg3d", source="official", key_map=_official_key,
    to_skelzoo=_flat_to_scales, to_source=_scales_to_flat,
    model_args=lambda sd: _infer_args(sd, "", "fc", "A_res"),
    description="kenziyuliu/MS-G3D model.msg3d.Model: sgcn{i}/gcn3d{i}/tcn{i} -> stages.{i-1}; "
                "A_res (K·V', V') -> (K, V', V'); fc -> head",
))
register_converter(Converter(
    arch="msg3d_pyskl", source="pyskl", key_map=_pyskl_key("fc_cls"),
    model_args=lambda sd: _infer_args(sd, "backbone.", "cls_head.fc_cls", "PA"),
    description="pyskl MSG3D (RecognizerGCN): backbone.* -> stages/data_bn, PA -> A_res, A buffers kept "
                "from the checkpoint, cls_head.fc_cls -> head",
))
register_converter(Converter(
    arch="msg3d_pyskl", source="mmaction2", key_map=_pyskl_key("fc"),
    model_args=lambda sd: _infer_args(sd, "backbone.", "cls_head.fc", "PA"),
    description="mmaction2 projects/msg3d: as pyskl, head cls_head.fc",
))


# ---------------------------------------------------------------------------------------------- weights
# Published pyskl-variant MS-G3D checkpoints (``msg3d_pyskl.<tag>``), NTU RGB+D 3D joints and NTU RGB+D 2-D
# HRNet keypoints (``*_2d_joint``: layout ``coco17``, preprocessing ``pyskl_2d``).
#
# pyskl's and mmaction2's MSG3D (column-normalised scales of the pyskl hands, row = source, graphs stored) is
# :func:`~skelzoo.backbones.msg3d.msg3d_pyskl`, not the official :func:`~skelzoo.backbones.msg3d.msg3d`.
# Converted on first use (converters ``("msg3d_pyskl", "pyskl"|"mmaction2")``). Numbers are the published
# top-1 accuracies (10-clip test). No tag is marked ``default``: until skelzoo publishes its own weights,
# ``msg3d_pyskl`` with ``pretrained=True`` falls back to the first tag below (mmaction2, sha256 prefix checked).
_PAPER = ("Liu et al., Disentangling and Unifying Graph Convolutions for Skeleton-Based Action Recognition, "
          "CVPR 2020")
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/msg3d"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 96, "num_gcn_scales": 13,
           "num_g3d_scales": 6, "num_classes": 60, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}
_ARGS60_2D = {**_ARGS60, "layout": "coco17"}
_ARGS120_2D = {**_ARGS120, "layout": "coco17"}

MSG3D_PYSKL_WEIGHTS = (
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_3d_joint", classes=60, top1=89.6, convert_source="mmaction2", hash_prefix="c325d222",
        url="https://download.openmmlab.com/mmaction/v1.0/projects/msg3d/"
            "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20230308-c325d222.pth",
        source="open-mmlab/mmaction2 1.x, projects/msg3d/README.md "
               "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix c325d222 from the file name)",
        description="mmaction2 projects/msg3d MSG3D + GCNHead, 8 GPUs, uniform 100 frames; top-1 89.6 "
                    "(10 clips) as published in the project README.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_3d_joint", classes=60, top1=89.6, convert_source="pyskl",
        url=f"{_PYSKL}/msg3d_pyskl_ntu60_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/msg3d/README.md, msg3d_pyskl_ntu60_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        description="pyskl MSG3D + GCNHead; top-1 89.6 as published in the README. No checksum is published "
                    "for this file.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_3d_joint", classes=120, top1=84.0, convert_source="pyskl",
        url=f"{_PYSKL}/msg3d_pyskl_ntu120_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/msg3d/README.md, msg3d_pyskl_ntu120_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        description="pyskl MSG3D + GCNHead; top-1 84.0 as published in the README. No checksum is published "
                    "for this file.",
        model_args=_ARGS120, paper=_PAPER),
    # NTU RGB+D 2-D keypoints (HRNet, COCO-17; pyskl graph layout coco = skelzoo coco17, channels x, y,
    # score; preprocessing pyskl_2d = PreNormalize2D)
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_2d_joint", classes=60, top1=92.3, convert_source="mmaction2",
        hash_prefix="73b97296", keypoints="2d",
        url="https://download.openmmlab.com/mmaction/v1.0/projects/msg3d/"
            "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
            "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20230309-73b97296.pth",
        source="open-mmlab/mmaction2 1.x, projects/msg3d/README.md "
               "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d (sha256 prefix 73b97296 from the file name)",
        description="mmaction2 projects/msg3d MSG3D (graph coco / binary_adj) + GCNHead on HRNet 2-D keypoints, "
                    "8 GPUs, uniform 100 frames; top-1 92.3 (10 clips) as published in the project README.",
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_2d_joint", classes=60, top1=92.7, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/msg3d_pyskl_ntu60_xsub_hrnet/j.pth",
        source=("kennymckormick/pyskl configs/msg3d/README.md, HRNet 2D Skeleton, "
                "msg3d_pyskl_ntu60_xsub_hrnet/j.pth "
                "(plain http, no published hash: the download cannot be verified)"),
        description=("pyskl MSG3D (graph coco / binary_adj) + GCNHead on HRNet 2-D keypoints; "
                     "top-1 92.7 as published in the README. No checksum is published for this file."),
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_2d_joint", classes=120, top1=85.5, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/msg3d_pyskl_ntu120_xsub_hrnet/j.pth",
        source=("kennymckormick/pyskl configs/msg3d/README.md, HRNet 2D Skeleton, "
                "msg3d_pyskl_ntu120_xsub_hrnet/j.pth "
                "(plain http, no published hash: the download cannot be verified)"),
        description=("pyskl MSG3D (graph coco / binary_adj) + GCNHead on HRNet 2-D keypoints; "
                     "top-1 85.5 as published in the README. No checksum is published for this file."),
        model_args=_ARGS120_2D, paper=_PAPER),
)


# ---------------------------------------------------------------------------------------------- builders
@register_model(paper="Liu et al., Disentangling and Unifying Graph Convolutions for Skeleton-Based Action "
                      "Recognition, CVPR 2020")
def msg3d(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
          dropout: float = 0.0, base_channels: int = 96, num_gcn_scales: int = 13, num_g3d_scales: int = 6,
          window_sizes: Sequence[int] = (3, 5)) -> MSG3D:
    """Official MS-G3D (kenziyuliu/MS-G3D): symmetric scales, row = target, graphs not in the state dict.

    NTU-60 defaults: 3,194,595 parameters.
    """
    return MSG3D(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                 dropout=dropout, base_channels=base_channels, num_gcn_scales=num_gcn_scales,
                 num_g3d_scales=num_g3d_scales, window_sizes=tuple(window_sizes), normalization="symmetric",
                 aggregation="target", persistent_graph=False)


@register_model(paper="Liu et al., CVPR 2020 (MS-G3D); pyskl variant: Duan et al., PYSKL, ACM MM 2022",
                weights=MSG3D_PYSKL_WEIGHTS)
def msg3d_pyskl(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25_pyskl", num_person: int = 2,
                dropout: float = 0.0, base_channels: int = 96, num_gcn_scales: int = 13, num_g3d_scales: int = 6,
                window_sizes: Sequence[int] = (3, 5), tcn_dropout: float = 0.0) -> MSG3D:
    """pyskl / mmaction2 MSG3D: column-normalised scales of the pyskl hands, row = source, graphs stored.

    Same parameter count as :func:`msg3d` (3,194,595 at NTU-60 defaults).
    """
    return MSG3D(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                 dropout=dropout, base_channels=base_channels, num_gcn_scales=num_gcn_scales,
                 num_g3d_scales=num_g3d_scales, window_sizes=tuple(window_sizes), normalization="column",
                 aggregation="source", persistent_graph=True, tcn_dropout=tcn_dropout)
