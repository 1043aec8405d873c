"""AAGCN: the graph unit of MS-AAGCN (2s-AGCN journal version) with spatial / temporal / channel attention.

Paper: L. Shi, Y. Zhang, J. Cheng, H. Lu, "Skeleton-Based Action Recognition with Multi-Stream Adaptive
Graph Convolutional Networks", IEEE TIP 2020 (MS-AAGCN = AAGCN on joint / bone / motion streams,
score-fused; this file is one stream).

Origin: own implementation following the operation order of lshiwjx/2s-AGCN ``model/aagcn.py``
(CC BY-NC 4.0); the pyskl (Apache-2.0) and mmaction2 1.x (Apache-2.0) ports compute the same function
(``unit_aagcn``: same order of BN + down, ReLU, spatial -> temporal -> channel attention), only the key
names differ. mmaction2's "2s-agcn" checkpoints are this model with ``attention=False``.
Converted weights keep the licence of their source.

Letters: N batch, C channels, T frames, V joints, M persons, D feature width.

Converters: ``aagcn`` from ``official`` (``l{n}.gcn1.*``), ``pyskl`` (``backbone.gcn.{n-1}.gcn.A`` =
learned adjacency, ``cls_head.fc_cls``; the unused top-level ``backbone.A`` buffer is ignored) and
``mmaction2`` (as pyskl, head ``cls_head.fc``). ``attention`` is inferred from the keys.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

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
from ..blocks.channels_last import fast_paths_enabled, is_nhwc_view, sum_t, to_nchw, to_nhwc
from ..blocks.common import bn_init, branch_init, conv_init, fold_persons, make_data_bn
from ..blocks.context import ContextUnit
from ..errors import CheckpointError
from ..graphs import agcn_spatial
from ..layouts import get_layout
from ._base import Backbone, StageInfo
from ._convert import Converter, pyskl_layout
from ._registry import register_converter, register_model
from ._weights import ntu_checkpoint

__all__ = ["AttentionAdaptiveGraphConv", "AAGCN", "aagcn"]

AAGCN_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
AAGCN_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


class AttentionAdaptiveGraphConv(ContextUnit):
    """AAGCN ``unit_gcn``: ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    For each subset k: ``graph_k = PA_k + α · tanh(θ_kᵀφ_k / (C_e·T))`` with ``PA`` the whole learnable
    adjacency (init = the spatial graph), scalar ``α`` (init 0), ``C_e = C_out / coff_embedding``;
    ``y = ReLU(BN(Σ_k conv_d_k(x · graph_k)) + down(x))`` (row = source, BN weight init 1e-6). With
    ``attention``, then each as ``y <- y · a + y``:
    spatial ``a = σ(conv_sa(mean_T y))`` (Conv1d C -> 1, kernel V or V-1 (odd), xavier-normal init);
    temporal ``a = σ(conv_ta(mean_V y))`` (Conv1d C -> 1, kernel 9, zero init);
    channel ``a = σ(fc2c(ReLU(fc1c(mean_TV y))))`` (C -> C/2 -> C, fc2c zero init).

    Whole-sequence statistics (:mod:`skelzoo.blocks.context`), in forward order: ``"affinity"``
    ``θ_kᵀφ_k / (C_e·T)`` ``(N, K, V, V)``; with attention also ``"spatial"`` = ``mean_T y`` ``(N, C, V)``
    and ``"channel"`` = ``mean_T mean_V y`` ``(N, C)`` (the temporal attention is a local convolution).
    """

    def __init__(self, in_channels: int, out_channels: int, a: torch.Tensor, coff_embedding: int = 4,
                 attention: bool = True) -> None:
        super().__init__()
        k, v, _ = a.shape
        inter = out_channels // coff_embedding
        self.num_subset = k
        self.attention = attention
        self.context_sites = ("affinity", "spatial", "channel") if attention else ("affinity",)
        self.PA = nn.Parameter(a.clone().float())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, inter, 1) for _ in range(k))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, inter, 1) for _ in range(k))
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(k))
        for conv in (*self.conv_a, *self.conv_b):
            conv_init(conv)
        for conv in self.conv_d:
            branch_init(conv, k)
        if attention:
            self.conv_ta = nn.Conv1d(out_channels, 1, 9, padding=4)
            nn.init.zeros_(self.conv_ta.weight)
            nn.init.zeros_(self.conv_ta.bias)
            ker = v if v % 2 else v - 1
            self.conv_sa = nn.Conv1d(out_channels, 1, ker, padding=(ker - 1) // 2)
            self.conv_sa.joint_axis = True  # convolves over V, not T (temporal_receptive_field skips it)
            nn.init.xavier_normal_(self.conv_sa.weight)
            nn.init.zeros_(self.conv_sa.bias)
            self.fc1c = nn.Linear(out_channels, out_channels // 2)
            self.fc2c = nn.Linear(out_channels // 2, out_channels)
            nn.init.kaiming_normal_(self.fc1c.weight)
            nn.init.zeros_(self.fc1c.bias)
            nn.init.zeros_(self.fc2c.weight)
            nn.init.zeros_(self.fc2c.bias)
        self.down = make_down(in_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels)
        bn_init(self.bn, 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_paths_enabled():
            return self.forward_fast(x)
        e = self.context_stat("affinity", x, 2, lambda z: embedded_sum(self.conv_a, self.conv_b, z))
        y: torch.Tensor | None = None
        for i in range(self.num_subset):
            ei = embedded_affinity(self.conv_a[i], self.conv_b[i], x) if e is None else e[:, i]
            g = self.PA[i] + torch.tanh(ei) * self.alpha
            z = self.conv_d[i](aggregate(x, g))
            y = z if y is None else z + y
        assert y is not None
        y = self.bn(y)
        y = torch.relu(y + (x if self.down is None else self.down(x)))
        return self._attend(y)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on NCHW ``(N, C, T, V)`` (:func:`streamed_affinity`, :func:`graph_unit_fast`), then the
        attention as in :meth:`forward`."""
        g = self.PA + torch.tanh(streamed_affinity(self, x, 2)) * self.alpha
        return self._attend(graph_unit_fast(x, g, self.conv_d, self.bn, self.down), fused=True)

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last fast path on ``(N, T, V, C)`` (:func:`streamed_affinity`, :func:`graph_unit_nhwc`); the
        attention runs on the NCHW view of the channels-last result (its means, gates and streamed statistics
        are layout-free), in place."""
        g = self.PA + torch.tanh(streamed_affinity(self, x, 1)) * self.alpha
        y = graph_unit_nhwc(x, g, self.conv_d, self.bn, self.down)
        return to_nhwc(self._attend(to_nchw(y), fused=True))

    def _attend(self, y: torch.Tensor, fused: bool = False) -> torch.Tensor:
        """Spatial, temporal and channel attention (each ``y <- y·a + y``) on NCHW ``y``. ``fused``: each
        step as one ``addcmul`` (``y + y·a``, the same sum) while autograd records, else :meth:`_attend_inplace`."""
        if not self.attention:
            return y
        if fused and not (torch.is_grad_enabled() and y.requires_grad):
            return self._attend_inplace(y)
        if fused:
            def gate(z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
                return torch.addcmul(z, z, a)
        else:
            def gate(z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
                return z * a + z
        se = self.context_stat("spatial", y, 2, lambda z: z.sum(2))
        sa = torch.sigmoid(self.conv_sa(y.mean(-2) if se is None else se))  # (N, 1, V)
        y = gate(y, sa.unsqueeze(-2))
        ta = torch.sigmoid(self.conv_ta(y.mean(-1)))                  # (N, 1, T)
        y = gate(y, ta.unsqueeze(-1))
        ce = self.context_stat("channel", y, 2, lambda z: z.mean(-1).sum(-1))
        ca = torch.sigmoid(self.fc2c(torch.relu(self.fc1c(y.mean(-1).mean(-1) if ce is None else ce))))  # (N, C)
        return gate(y, ca.unsqueeze(-1).unsqueeze(-1))

    def _spatial_conv(self, s: torch.Tensor) -> torch.Tensor:
        """``conv_sa(s)`` for ``s`` ``(N, C, V)`` as one GEMM ``(N, C·V) @ (C·V, V)`` with the convolution's
        Toeplitz matrix ``W[c, v, u] = w[c, v - u + pad]`` (zero outside the kernel): ``(N, V)``. oneDNN /
        PyTorch run this 1-output-channel ``Conv1d`` at a few hundred MFLOP/s (1-2 ms a call)."""
        n, c, v = s.shape
        w = self.conv_sa.weight[0]                                                      # (C, ker)
        ker, pad = w.shape[1], self.conv_sa.padding[0]
        j = torch.arange(v, device=s.device).view(v, 1) - torch.arange(v, device=s.device).view(1, v) + pad
        valid = (j >= 0) & (j < ker)                                                    # (V: v, V: u)
        toeplitz = w[:, j.clamp(0, ker - 1)] * valid                                    # (C, V, V)
        return torch.addmm(self.conv_sa.bias, s.reshape(n, c * v), toeplitz.view(c * v, v))

    def _temporal_conv(self, z: torch.Tensor) -> torch.Tensor:
        """``conv_ta(z)`` for ``z`` ``(N, C, T)`` as one GEMM and one shifted sum: ``P = w (K, C) @ z``
        ``(N, K, T)``, then ``out[n, t] = b + Σ_k P[n, k, t + k - pad]`` (zero outside ``[0, T)``), read as one
        strided view of the zero-padded ``P``: ``(N, 1, T_out)``, any ``T``. On CUDA, cuDNN runs this
        one-output-channel Conv1d in float32 as one GEMV launch per sample and channel block (12,544 launches,
        31 % of AAGCN's GPU time at N·M = 256, measured on an H200)."""
        conv = self.conv_ta
        assert conv.stride == (1,) and conv.dilation == (1,) and conv.groups == 1 and conv.out_channels == 1
        n, _, t = z.shape
        ker, pad = conv.kernel_size[0], conv.padding[0]
        p = torch.nn.functional.pad(torch.matmul(conv.weight[0].t(), z), (pad, pad))  # (N, K, T + 2·pad)
        t_out = t + 2 * pad - ker + 1
        sn, sk, st = p.stride()
        out = p.as_strided((n, ker, t_out), (sn, sk + st, st)).sum(1, keepdim=True)   # Σ_k p[:, k, t + k]
        return out + conv.bias.view(1, 1, 1) if conv.bias is not None else out

    def _attend_inplace(self, y: torch.Tensor) -> torch.Tensor:
        """:meth:`_attend` without autograd, in place on NCHW ``y`` (contiguous or a channels-last view) in
        three passes over ``y`` instead of six: the gates multiply, so ``y·(1+a_s)·(1+a_t)·(1+a_c)`` is the
        same function (to float32 rounding), and the later gates' inputs come from ONE weighted sum
        ``z[n, c, t] = Σ_v y[n, c, t, v]·(1 + a_s[n, v])``: the temporal gate's ``mean_V`` of the spatially
        gated ``y`` is ``z / V``, the channel gate's ``mean_TV`` of the twice-gated ``y`` is
        ``mean_T (1 + a_t)·z / V``. The two one-output-channel Conv1d run as GEMMs (:meth:`_spatial_conv`,
        :meth:`_temporal_conv`). The streamed statistics are the same quantities as in :meth:`_attend`."""
        n, c, t, v = y.shape
        se = self.context_stat("spatial", y, 2, sum_t)
        # the gates (1 + a) in at least float32 (no-ops for a float32/64 model): under autocast the sigmoids
        # come out in bfloat16, whose 8-bit mantissa would round 1 + a to steps of 1/128, three times a block
        fs = _wide(torch.sigmoid(self._spatial_conv(sum_t(y) / t if se is None else se))).add_(1.0)  # (N, V)
        fsy = fs.to(y.dtype)
        if is_nhwc_view(y):
            # channels-last memory (N, T, V, C): z[n, t, c] = fs[n] (1, V) @ y[n, t] (V, C), one batched product
            ynhwc = y.permute(0, 2, 3, 1)
            z = torch.matmul(fsy.view(n, 1, 1, v), ynhwc).view(n, t, c).transpose(1, 2)  # (N, C, T)
        else:  # (N, C·T, V) @ (N, V, 1): N products (a broadcast matmul would run N·C of them)
            z = torch.bmm(y.reshape(n, c * t, v), fsy.view(n, v, 1)).view(n, c, t)
        zm = _wide(z) / v                                                                 # mean_V of y·(1+a_s)
        ft = _wide(torch.sigmoid(self._temporal_conv(zm))).add_(1.0)                             # (N, 1, T)
        q = zm * ft                                                                       # mean_V of the 2x-gated y
        ce = self.context_stat("channel", q, 2, lambda w: w.sum(-1))
        fc = _wide(torch.sigmoid(self.fc2c(torch.relu(self.fc1c(q.mean(-1) if ce is None else ce))))).add_(1.0)
        return y.mul_(fs.view(n, 1, 1, v) * ft.view(n, 1, t, 1)).mul_(fc.view(n, c, 1, 1))


def _wide(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 if it is in a narrower float type (autocast's bfloat16 / float16), else ``t`` itself."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


class AAGCN(Backbone):
    """AAGCN backbone: MVC data-BN, 10 blocks ``AttentionAdaptiveGraphConv -> (9,1) TCN (+ residual) -> ReLU``.

    Input ``(N, C, T, V, M)``; stage ``i`` (= official ``l{i+1}``, pyskl ``gcn.{i}``) maps
    ``(N·M, C_i, T_i, V)`` to ``(N·M, channels[i], ⌈T_i / strides[i]⌉, V)``. Output logits
    ``(N, num_classes)`` or pooled features ``(N, 256)`` when ``num_classes == 0``.
    """

    global_context = True  # see the graph unit's context_sites

    def __init__(self, *, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25",
                 num_person: int = 2, dropout: float = 0.0, attention: bool = True,
                 channels: Sequence[int] = AAGCN_CHANNELS, strides: Sequence[int] = AAGCN_STRIDES,
                 coff_embedding: int = 4) -> None:
        super().__init__(in_channels=in_channels, layout=layout, num_person=num_person,
                         num_classes=num_classes, dropout=dropout)
        self.attention = attention
        self.data_bn = make_data_bn("MVC", in_channels, self.num_joints, num_person)
        bn_init(self.data_bn, 1.0)
        a = torch.from_numpy(agcn_spatial(get_layout(layout)))
        stages = []
        self.feature_info = []
        c_in, reduction = in_channels, 1
        for i, (c_out, s) in enumerate(zip(channels, strides)):
            gcn = AttentionAdaptiveGraphConv(c_in, c_out, a, coff_embedding, attention)
            stages.append(AGCNBlockNHWC(gcn, c_in, c_out, stride=s, residual=i > 0))
            reduction *= s
            self.feature_info.append(StageInfo(num_chs=c_out, reduction=reduction, module=f"stages.{i}", index=i))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self._init_head(c_in, num_classes)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return fold_persons(x, self.data_bn, "MVC")


# ---------------------------------------------------------------------------------------------- converters
_STAGE = re.compile(r"^stages\.(\d+)\.(gcn|tcn|residual)\.(.*)$")


def _official_key(key: str) -> str:
    """skelzoo -> lshiwjx/2s-AGCN ``model.aagcn.Model`` key."""
    m = _STAGE.match(key)
    if m:
        part = {"gcn": "gcn1", "tcn": "tcn1"}.get(m.group(2), m.group(2))
        return f"l{int(m.group(1)) + 1}.{part}.{m.group(3)}"
    if key.startswith("head."):
        return "fc." + key[len("head."):]
    if key.startswith("data_bn."):
        return key
    raise KeyError(f"aagcn converter: no official name for {key!r}")


def _pyskl_key(head: str) -> Callable[[str], str]:
    def key_map(key: str) -> str:
        """skelzoo -> pyskl / mmaction2 ``RecognizerGCN`` key (``gcn.PA`` -> learned ``gcn.A``)."""
        m = _STAGE.match(key)
        if m:
            rest = "A" if (m.group(2) == "gcn" and m.group(3) == "PA") else m.group(3)
            return f"backbone.gcn.{m.group(1)}.{m.group(2)}.{rest}"
        if key.startswith("head."):
            return f"cls_head.{head}." + key[len("head."):]
        if key.startswith("data_bn."):
            return "backbone." + key
        raise KeyError(f"aagcn converter: no pyskl name for {key!r}")
    return key_map


def _args(sd: Mapping[str, torch.Tensor], *, prefix: str, head: str, pyskl: bool) -> dict[str, Any]:
    l1 = f"{prefix}gcn.0.gcn." if pyskl else f"{prefix}l1.gcn1."
    args: dict[str, Any] = {}
    if l1 + "conv_d.0.weight" in sd:
        args["in_channels"] = int(sd[l1 + "conv_d.0.weight"].shape[1])
        if int(sd[l1 + "conv_d.0.weight"].shape[0]) != 64:  # a reduced-width model (official width 64)
            args["base_channels"] = int(sd[l1 + "conv_d.0.weight"].shape[0])
    if head + ".weight" in sd:
        args["num_classes"] = int(sd[head + ".weight"].shape[0])
    else:
        args["num_classes"] = 0
    args["attention"] = any(k.startswith(l1 + "conv_sa.") for k in sd)
    pa = sd.get(l1 + ("A" if pyskl else "PA"))
    v = int(pa.shape[-1]) if pa is not None else 25
    known = pyskl_layout(v) if pyskl else ({"layout": "ntu25"} if v == 25 else {})
    if not known:
        raise CheckpointError(f"checkpoint graph has V={v} joints; pass layout=... explicitly")
    if pyskl:  # pyskl / mmaction2 'nturgb+d' (only the learned A's init differs) or 'coco' (HRNet 2-D)
        args.update(known)
    bn = sd.get(f"{prefix}data_bn.weight")
    if bn is not None:
        per = args.get("in_channels", 3) * v
        if bn.shape[0] % per:
            raise CheckpointError(f"data_bn width {bn.shape[0]} is not a multiple of C·V = {per}")
        args["num_person"] = int(bn.shape[0]) // per
    return args


register_converter(Converter(
    arch="aagcn", source="official", key_map=_official_key,
    model_args=lambda sd: _args(sd, prefix="", head="fc", pyskl=False),
    description="lshiwjx/2s-AGCN model.aagcn.Model",
))
register_converter(Converter(
    arch="aagcn", source="pyskl", key_map=_pyskl_key("fc_cls"), ignore=(r"^backbone\.A$",),
    model_args=lambda sd: _args(sd, prefix="backbone.", head="cls_head.fc_cls", pyskl=True),
    description="pyskl RecognizerGCN + AAGCN (unused backbone.A buffer ignored)",
))
register_converter(Converter(
    arch="aagcn", source="mmaction2", key_map=_pyskl_key("fc"), ignore=(r"^backbone\.A$",),
    model_args=lambda sd: _args(sd, prefix="backbone.", head="cls_head.fc", pyskl=True),
    description="mmaction2 1.x AAGCN + GCNHead (also its '2s-agcn' checkpoints = attention=False)",
))


# ---------------------------------------------------------------------------------------------- weights
# Published AAGCN checkpoints (``aagcn.<tag>``): pyskl AAGCN and mmaction2 "2s-AGCN", NTU RGB+D 3D joints and
# NTU RGB+D 2-D HRNet keypoints (``*_2d_joint``: layout ``coco17``, preprocessing ``pyskl_2d``).
#
# mmaction2's "2s-agcn" configs are ``AAGCN(gcn_attention=False)`` (the attention module is switched off), so
# they are registered here with ``attention=False``; pyskl's AAGCN keeps the attention. Both use the pyskl
# hand topology (``layout="ntu25_pyskl"``, MVC data-BN). Converted on first use (converters
# ``("aagcn", "pyskl"|"mmaction2")``). Numbers are the published top-1 accuracies (10-clip test). No tag is
# marked ``default``: until skelzoo publishes its own weights, ``aagcn`` with ``pretrained=True`` falls back to
# the first tag below (mmaction2, sha256 prefix checked) -- note that it is the attention-free variant.
_PAPER = ("Shi, Zhang, Cheng, Lu, Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph "
          "Convolutional Networks, TIP 2020 (2s-AGCN: CVPR 2019)")
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/aagcn"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "num_classes": 60, "num_person": 2, "attention": True}
_ARGS120 = {**_ARGS60, "num_classes": 120}
_ARGS60_2D = {**_ARGS60, "layout": "coco17"}
_ARGS120_2D = {**_ARGS120, "layout": "coco17"}

AAGCN_WEIGHTS = (
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_3d_joint", classes=60, top1=88.26, convert_source="mmaction2", hash_prefix="24dabf78",
        url="https://download.openmmlab.com/mmaction/v1.0/skeleton/2s-agcn/"
            "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221222-24dabf78.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/2s-agcn/metafile.yml "
               "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 24dabf78 from the file name)",
        description="mmaction2 '2s-AGCN' = AAGCN(gcn_attention=False), graph nturgb+d / spatial, + GCNHead, "
                    "80 epochs x 8 GPUs, uniform 100 frames; one stream (joint) of 2s-AGCN; top-1 88.26 "
                    "(10 clips) as published in the metafile.",
        model_args={**_ARGS60, "attention": False}, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_3d_joint", classes=60, top1=89.0, convert_source="pyskl",
        url=f"{_PYSKL}/aagcn_pyskl_ntu60_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/aagcn/README.md, aagcn_pyskl_ntu60_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        description="pyskl AAGCN (with attention), graph nturgb+d / spatial, + GCNHead; joint stream of "
                    "MS-AAGCN; top-1 89.0 as published in the README. No checksum is published for this file.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_3d_joint", classes=120, top1=82.8, convert_source="pyskl",
        url=f"{_PYSKL}/aagcn_pyskl_ntu120_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/aagcn/README.md, aagcn_pyskl_ntu120_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        description="pyskl AAGCN (with attention), graph nturgb+d / spatial, + GCNHead; joint stream of "
                    "MS-AAGCN; top-1 82.8 as published in the README. No checksum is published for this file.",
        model_args=_ARGS120, paper=_PAPER),
    # NTU RGB+D 2-D keypoints (HRNet, COCO-17; pyskl graph layout coco = skelzoo coco17, channels x, y,
    # score; preprocessing pyskl_2d = PreNormalize2D)
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_2d_joint", classes=60, top1=88.6, convert_source="mmaction2",
        hash_prefix="4c0ed77e", keypoints="2d",
        url="https://download.openmmlab.com/mmaction/v1.0/skeleton/2s-agcn/"
            "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
            "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20221222-4c0ed77e.pth",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/2s-agcn/README.md (NTU60_XSub_2D table) "
               "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d (sha256 prefix 4c0ed77e from the file name)",
        description="mmaction2 '2s-AGCN' = AAGCN(gcn_attention=False), graph coco / spatial, + GCNHead on HRNet 2-D "
                    "keypoints, 80 epochs x 8 GPUs, uniform 100 frames; one stream (joint) of 2s-AGCN; top-1 88.60 "
                    "(10 clips) as published in the README.",
        model_args={**_ARGS60_2D, "attention": False}, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_2d_joint", classes=60, top1=89.7, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/aagcn_pyskl_ntu60_xsub_hrnet/j.pth",
        source=("kennymckormick/pyskl configs/aagcn/README.md, HRNet 2D Skeleton, "
                "aagcn_pyskl_ntu60_xsub_hrnet/j.pth "
                "(plain http, no published hash: the download cannot be verified)"),
        description=("pyskl AAGCN (with attention), graph coco / spatial, + GCNHead on HRNet 2-D keypoints; "
                     "top-1 89.7 as published in the README. No checksum is published for this file."),
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_2d_joint", classes=120, top1=80.2, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/aagcn_pyskl_ntu120_xsub_hrnet/j.pth",
        source=("kennymckormick/pyskl configs/aagcn/README.md, HRNet 2D Skeleton, "
                "aagcn_pyskl_ntu120_xsub_hrnet/j.pth "
                "(plain http, no published hash: the download cannot be verified)"),
        description=("pyskl AAGCN (with attention), graph coco / spatial, + GCNHead on HRNet 2-D keypoints; "
                     "top-1 80.2 as published in the README. No checksum is published for this file."),
        model_args=_ARGS120_2D, paper=_PAPER),
)


# ---------------------------------------------------------------------------------------------- builders
@register_model(paper="Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph Convolutional Networks "
                      "(TIP 2020)",
                weights=AAGCN_WEIGHTS)
def aagcn(in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
          dropout: float = 0.0, attention: bool = True, coff_embedding: int = 4, base_channels: int = 64) -> AAGCN:
    """AAGCN (one MS-AAGCN stream): 3,781,668 parameters at NTU-60 defaults; ``attention=False`` gives the
    mmaction2 "2s-agcn" model. ``in_channels`` sizes both data-BN and the first block.

    ``base_channels`` b scales the width: blocks ``b×4, 2b×3, 4b×3`` (official b = 64; skelzoo's CPU-trained
    snippet-contrast encoders use 16). It must be a multiple of ``coff_embedding`` (the attention width b/4).
    """
    b = int(base_channels)
    if b <= 0 or b % coff_embedding:
        raise ValueError(f"base_channels must be a positive multiple of coff_embedding={coff_embedding}, got {b}")
    channels = tuple(c * b // 64 for c in AAGCN_CHANNELS)
    return AAGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                 dropout=dropout, attention=attention, coff_embedding=coff_embedding, channels=channels)
