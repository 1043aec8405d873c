"""CTR-GCN: channel-wise topology refinement graph convolution, official and pyskl/mmaction2 forms.

Paper: Y. Chen, Z. Zhang, C. Yuan, B. Li, Y. Deng, W. Hu, "Channel-wise Topology Refinement Graph
Convolution for Skeleton-Based Action Recognition", ICCV 2021.

Origin: own implementation (no third-party code) following the operation order of
- Uason-Chen/CTR-GCN ``model/ctrgcn.py`` (licence CC BY-NC 4.0, non-commercial) -> ``ctrgcn``;
- kennymckormick/pyskl ``CTRGCN`` (Apache-2.0) and its port open-mmlab/mmaction2 ``projects/ctrgcn``
  (Apache-2.0) -> ``ctrgcn_pyskl``.
Published weights inherit the terms of the code and data they were trained with.

The two registered architectures are ONE model class with explicit, documented switches
(``docs/backbones.md`` §4.4, §5.2):

==================  ==========================  ===========================================
switch              ``ctrgcn`` (official)        ``ctrgcn_pyskl`` (pyskl / mmaction2)
==================  ==========================  ===========================================
``aggregation``     ``"target"``: y_u = Σ_v M[u,v] x_v   ``"source"``: y_v = Σ_u M[u,v] x_u
``mstcn_final_act`` False (no ReLU after the     True (ReLU after the multi-scale TCN
                    multi-scale TCN concat)      concat)
``channel_rules``   ``"official"``: R = 8 when   ``"pyskl"``: R = 8 when C_in <= 16; TCN
                    C_in in {3, 9}; TCN widths   remainder channels go to the last branch
                    must divide by 4
``graph_buffer``    False                        True: persistent, *unused* buffer ``A`` (pyskl's
                                                 top-level ``backbone.A``)
==================  ==========================  ===========================================

For NTU (C_in = 3, widths 64/128/256) ``channel_rules`` make no difference. The learned adjacency is
stored as ``stages.i.gcn.PA`` in both (official ``l{i+1}.gcn1.PA``, pyskl ``backbone.net.{i}.gcn1.A``).
Official weights reproduce pyskl's function only after :func:`flip_aggregation` (A transposed, conv1 <->
conv2 swapped, conv4 weight negated) *and* with ``mstcn_final_act=False``: docs/backbones.md §5.2.

Letters: N batch (persons folded in), C channels, T frames, V joints, M persons, K subsets (3),
R relation channels.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Mapping

import torch
from torch import nn

from ..blocks.channels_last import bn_fold, fast_paths_enabled, fold_into, foldable
from ..blocks.common import TemporalConvBN, bn_init, conv_init, fold_persons, make_data_bn
from ..blocks.context import ContextUnit
from ..blocks.derived import derived, module_tensors
from ..blocks.gemm import pointwise_conv
from ..blocks.mstcn import CTRGCN_BRANCHES, MultiScaleTCN, gemm_bn
from ..graphs import agcn_spatial
from ._base import Backbone, StageInfo
from ._convert import Converter, pyskl_layout
from ._registry import register_converter, register_model
from ._weights import ntu_checkpoint

__all__ = ["CTRGC", "CTRGCUnit", "CTRGCNBlock", "CTRGCN", "flip_aggregation", "ctrgcn", "ctrgcn_pyskl"]

Aggregation = Literal["target", "source"]
ChannelRules = Literal["official", "pyskl"]


def rel_channels(in_channels: int, rules: ChannelRules = "official", reduction: int = 8) -> int:
    """Relation channels R of a CTRGC: official 8 for C_in in {3, 9}, pyskl 8 for C_in <= 16; else C_in/8."""
    if rules == "official":
        r = 8 if in_channels in (3, 9) else in_channels // reduction
    elif rules == "pyskl":
        r = 8 if in_channels <= 16 else in_channels // reduction
    else:
        raise ValueError(f"channel_rules must be 'official' or 'pyskl', got {rules!r}")
    if r < 1:
        raise ValueError(f"CTR-GCN with channel_rules={rules!r} gives {r} relation channels for "
                         f"in_channels={in_channels} (the official code only handles 3 or 9 or >= 8); "
                         f"use channel_rules='pyskl'")
    return r


# ---------------------------------------------------------------------------------------------- blocks
def _tanh(d: torch.Tensor) -> torch.Tensor:
    """``tanh(d)`` for a fresh tensor ``d`` (may be overwritten). Without autograd on the CPU it is computed as
    ``2·sigmoid(2d) - 1``: PyTorch's CPU ``tanh`` kernel ran 2.7-3.0x slower than that form on the relation
    planes of CTR-GCN's forward (0.35 / 0.70 / 1.39 ms against 0.13 / 0.24 / 0.46 ms for 0.24 / 0.48 / 0.96 M
    elements, 2 threads, 2026-12-05); the two agree to about 2e-7 (float32 rounding). Half-precision planes
    (autocast) keep ``tanh``: there ``2·sigmoid - 1`` would round small values to steps of ``2^-8``."""
    if torch.is_grad_enabled() or d.device.type != "cpu" or d.dtype not in (torch.float32, torch.float64):
        return torch.tanh(d)
    return torch.sigmoid(d.mul_(2)).mul_(2).sub_(1)


class CTRGC(nn.Module):
    """One subset's channel-wise topology refinement: ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    ``x1 = mean_T conv1(x)``, ``x2 = mean_T conv2(x)`` (R channels), ``x3 = conv3(x)`` (C_out);
    ``M[n, c, u, v] = conv4(tanh(x1[..., u] - x2[..., v]))·α + A[u, v]``; aggregation ``"target"``:
    ``y[..., u] = Σ_v M[u, v] x3[..., v]`` (official), ``"source"``: ``y[..., v] = Σ_u M[u, v] x3[..., u]``
    (pyskl). :class:`CTRGCUnit` runs all subsets fused; this per-subset forward is the reference.
    ``x_mean`` ``(N, C_in, V)``: a given temporal mean of ``x`` (streaming), then ``x1 = conv1(x_mean)``.
    """

    def __init__(self, in_channels: int, out_channels: int, rel: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, rel, 1)
        self.conv2 = nn.Conv2d(in_channels, rel, 1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1)
        self.conv4 = nn.Conv2d(rel, out_channels, 1)
        for m in (self.conv1, self.conv2, self.conv3, self.conv4):
            conv_init(m)

    def forward(self, x: torch.Tensor, A: torch.Tensor, alpha: torch.Tensor,
                aggregation: Aggregation = "target", x_mean: torch.Tensor | None = None) -> torch.Tensor:
        if x_mean is None:
            x1, x2 = self.conv1(x).mean(-2), self.conv2(x).mean(-2)
        else:
            xm = x_mean.unsqueeze(-2)
            x1, x2 = self.conv1(xm).squeeze(-2), self.conv2(xm).squeeze(-2)
        x3 = self.conv3(x)
        m = self.conv4(torch.tanh(x1.unsqueeze(-1) - x2.unsqueeze(-2))) * alpha + A[None, None]
        if aggregation == "target":
            return torch.einsum("ncuv,nctv->nctu", m, x3)
        return torch.einsum("ncuv,nctu->nctv", m, x3)


class CTRGCUnit(ContextUnit):
    """Graph unit (official ``unit_gcn`` / pyskl ``unit_ctrgcn``): ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    ``ReLU(BN(Σ_k CTRGC_k(x, PA_k, α)) + down(x))``; ``PA (K, V, V)`` learned (init = graph), ``α``
    scalar (init 0), BN weight init 1e-6, ``down`` = 1×1 conv + BN when C_in != C_out else identity.
    :meth:`forward` runs :meth:`forward_fast` (the K subsets fused into a few batched GEMMs, see there;
    mathematically identical to summing :meth:`CTRGC.forward`) unless fast paths are off
    (:func:`~skelzoo.blocks.channels_last.plain_paths`), then :meth:`forward_reference`.

    Whole-sequence statistic (:mod:`skelzoo.blocks.context`): ``"mean"`` = ``mean_T x`` ``(N, C_in, V)``.
    """

    context_sites = ("mean",)

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, *,
                 aggregation: Aggregation = "target", channel_rules: ChannelRules = "official") -> None:
        super().__init__()
        if aggregation not in ("target", "source"):
            raise ValueError(f"aggregation must be 'target' or 'source', got {aggregation!r}")
        self.aggregation = aggregation
        self.num_subsets = A.shape[0]
        self.rel = rel_channels(in_channels, channel_rules)
        self.out_channels = out_channels
        self.convs = nn.ModuleList(CTRGC(in_channels, out_channels, self.rel) for _ in range(self.num_subsets))
        if in_channels != out_channels:
            self.down: nn.Module = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            conv_init(self.down[0])
            bn_init(self.down[1], 1.0)
        else:
            self.down = nn.Identity()
        self.PA = nn.Parameter(A.detach().clone().float())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(out_channels)
        bn_init(self.bn, 1e-6)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """Unfused subset-by-subset forward (the official operation order), for checks."""
        xm = self.context_stat("mean", x, 2, lambda z: z.sum(2))
        y = sum(conv(x, self.PA[k], self.alpha, self.aggregation, xm) for k, conv in enumerate(self.convs))
        return torch.relu(self.bn(y) + self.down(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_paths_enabled():
            return self.forward_fast(x)
        return self.forward_reference(x)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on NCHW ``(N, C_in, T, V)``; the function of :meth:`forward_reference`.

        - conv1 / conv2 of all subsets run on the temporal mean (mean and 1×1 conv commute), one GEMM;
        - conv3 runs subset by subset, each result aggregated right after it is computed: one GEMM for all
          subsets wrote a 3x wider tensor (20-40 MB on the benchmark's shapes) that glibc's allocator maps
          fresh for every call; per subset, the eval forward ran 1.11-1.17x faster with its default
          allocator and 1.02-1.05x with the tuned one (``runtime.tune_allocator``; interleaved, 2 threads,
          2026-12-04);
        - ``rel_k = tanh(x1_k[u] - x2_k[v])`` by :func:`_tanh` (without autograd on the CPU as
          ``2·sigmoid(2d) - 1``, about 3x faster there);
        - ``adj_k = α·conv4_k(rel_k) + A_k`` is one bmm ``[α·w4_k | α·b4_k | 1] @ [rel_k; 1; A_k]``;
        - conv3's bias enters through ``b3_k[c]·Σ_v adj_k[u, v]`` (a ``(N, C, U)`` term), so the
          aggregation is a pure bmm; the subsets accumulate in place (``baddbmm_``) into a tensor that
          already holds the residual, the folded BN shift (eval) and that bias term (under autocast,
          where that tensor stays float32 and the products are bfloat16/float16, ``add_(bmm)``).
        In eval the BN is folded into conv3 and ``down``'s BN into its conv.
        """
        n, cin, t, v = x.shape
        k, r, c = self.num_subsets, self.rel, self.out_channels
        fold = foldable(self.bn)
        fold_down = fold and not isinstance(self.down, nn.Identity) and foldable(self.down[1])
        w12, b12, w4x, w3, wb, shift, wd = derived(self, ("fast", fold, fold_down), lambda: module_tensors(self),
                                                   lambda: self._fast_weights(fold, fold_down))
        xm = self.context_stat("mean", x, 2, lambda z: z.sum(2))
        xm = x.mean(2) if xm is None else xm                                           # (N, C_in, V)
        q = torch.baddbmm(b12.unsqueeze(-1), w12.expand(n, -1, -1), xm).view(n, k, 2, r, v)
        rel = _tanh(q[:, :, 0].unsqueeze(-1) - q[:, :, 1].unsqueeze(-2)).view(n, k, r, v * v)
        relx = torch.cat([rel, rel.new_ones(n, k, 1, v * v),
                          self.PA.reshape(1, k, 1, v * v).expand(n, k, 1, v * v)], 2)  # (N, K, R+2, U·V)
        # Σ of adj_k over the aggregated joint (v for "target", u for "source"), via Σ of relx
        relsum = relx.view(n, k, r + 2, v, v).sum(-1 if self.aggregation == "target" else -2)
        const = torch.matmul(wb, relsum.view(n, k * (r + 2), v))                       # (N, C, W)
        y: torch.Tensor | None = None
        res: torch.Tensor | None = None
        if isinstance(self.down, nn.Identity):
            res = x
        elif fold_down:
            y = pointwise_conv(x, wd[0]).add_((const + (shift + wd[1]).unsqueeze(-1)).unsqueeze(2))
        else:
            res = self.down(x)
        if fold and y is None:
            y = res + (const + shift.unsqueeze(-1)).unsqueeze(2)
        for i in range(k):
            x3 = pointwise_conv(x, w3[i]).view(n * c, t, v)
            adj = torch.matmul(w4x[i], relx[:, i]).view(n * c, v, v)
            if self.aggregation == "target":
                adj = adj.transpose(1, 2)                                               # y = x3 @ adjᵀ
            if y is None:
                y = torch.bmm(x3, adj).view(n, c, t, v)
            elif y.dtype == x3.dtype:
                y.view(n * c, t, v).baddbmm_(x3, adj)
            else:  # autocast: the product in the low precision, accumulated into the float32 sum
                y.view(n * c, t, v).add_(torch.bmm(x3, adj))
        assert y is not None
        if not fold:
            y = self.bn(y.add_(const.unsqueeze(2))) + res
        return torch.relu_(y)

    def _fast_weights(self, fold: bool, fold_down: bool) -> tuple:
        """The weights :meth:`forward_fast` derives from the parameters (kept between calls inside
        :func:`~skelzoo.blocks.derived.cached_weights`): ``w12 (2·K·R, C_in)``, ``b12 (2·K·R,)`` (conv1 / conv2
        of all subsets), ``w4x (K, C, R+2)`` = ``[α·w4_k | α·b4_k | 1]``, ``w3 (K, C, C_in)`` (BN scale folded
        in when ``fold``), ``wb (C, K·(R+2))`` (conv3's bias through the adjacency), the BN ``shift`` ``(C,)``
        (or None) and ``wd`` = ``down``'s folded ``(weight (C, C_in), bias (C,))`` when ``fold_down``."""
        convs = list(self.convs)
        k, r, c = self.num_subsets, self.rel, self.out_channels
        w12 = torch.cat([w.flatten(1) for m in convs for w in (m.conv1.weight, m.conv2.weight)])
        b12 = torch.cat([b for m in convs for b in (m.conv1.bias, m.conv2.bias)])
        alpha = self.alpha
        w4x = torch.stack([torch.cat([m.conv4.weight.flatten(1) * alpha, (m.conv4.bias * alpha).unsqueeze(1),
                                      alpha.new_ones(c, 1)], 1) for m in convs])       # (K, C, R+2)
        w3 = torch.stack([m.conv3.weight.flatten(1) for m in convs])                    # (K, C, C_in)
        b3 = torch.stack([m.conv3.bias for m in convs])                                 # (K, C)
        shift = wd = None
        if fold:  # BN(Σ_k adj_k·x3_k) = Σ_k adj_k·(scale·x3_k) + shift
            scale, shift = bn_fold(self.bn, cache=False)  # this whole derivation is what is cached
            w3, b3 = w3 * scale.view(1, c, 1), b3 * scale
        wb = (b3.unsqueeze(-1) * w4x).transpose(0, 1).reshape(c, k * (r + 2))
        if fold_down:
            wd = fold_into(self.down[0].weight.flatten(1), self.down[0].bias, self.down[1], cache=False)[:2]
        return w12, b12, w4x, w3, wb, shift, wd


class CTRGCNBlock(nn.Module):
    """``ReLU(tcn(gcn(x)) + residual(x))``: ``(N, C_in, T, V) -> (N, C_out, ceil(T/stride), V)``.

    ``tcn`` = :class:`~skelzoo.blocks.mstcn.MultiScaleTCN` with kernel 5, dilations (1, 2), max-pool and
    1×1 branches, no internal residual; ``residual`` = none (first block), identity, or 1×1 conv
    (stride s) + BN when the shape changes.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, *, stride: int = 1,
                 residual: bool = True, aggregation: Aggregation = "target", mstcn_final_act: bool = False,
                 channel_rules: ChannelRules = "official", tcn_dropout: float = 0.0) -> None:
        super().__init__()
        self.gcn = CTRGCUnit(in_channels, out_channels, A, aggregation=aggregation, channel_rules=channel_rules)
        self.tcn = MultiScaleTCN(out_channels, out_channels, CTRGCN_BRANCHES, stride=stride,
                                 channel_split="rem_last" if channel_rules == "pyskl" else "equal",
                                 residual=False, final_act=mstcn_final_act, dropout=tcn_dropout)
        if not residual:
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConvBN(in_channels, out_channels, kernel_size=1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_paths_enabled():  # NCHW fast path (graph unit and MS-TCN fused, BNs folded in eval)
            y = self.tcn.forward_fast(self.gcn(x))
            if isinstance(self.residual, nn.Identity):
                r = x
            elif self.residual is not None:
                r = gemm_bn(x, self.residual.conv, self.residual.bn, self.residual.conv.stride[0])
            else:
                return torch.relu(y)
            # y may be a saved ReLU output (MS-TCN final_act) when autograd records: add out of place then
            return torch.relu_(y + r if torch.is_grad_enabled() else y.add_(r))
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)


# ----------------------------------------------------------------------------------------------- model
class CTRGCN(Backbone):
    """CTR-GCN, input ``(N, C, T, V, M)``; 10 blocks (64 ×4, 128 stride 2 ×3, 256 stride 2 ×3), T -> T/4.

    Stem: data-BN over ``M·V·C`` (person-major, as official and pyskl). Head: mean over T·V then M,
    dropout, ``Linear(4·base_channels, num_classes)``. See the module docstring for the switches.
    """

    global_context = True  # see the graph unit's context_sites

    def __init__(self, *, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
                 dropout: float = 0.0, base_channels: int = 64, aggregation: Aggregation = "target",
                 mstcn_final_act: bool = False, channel_rules: ChannelRules = "official",
                 graph_buffer: bool = False, tcn_dropout: float = 0.0) -> None:
        super().__init__(in_channels=in_channels, layout=layout, num_person=num_person, num_classes=num_classes,
                         dropout=dropout)
        self.aggregation = aggregation
        self.mstcn_final_act = mstcn_final_act
        self.channel_rules = channel_rules
        A = torch.from_numpy(agcn_spatial(self.layout))                    # (3, V, V), PA init
        if graph_buffer:
            # pyskl/mmaction2 register the graph as a top-level buffer that the forward never uses
            self.register_buffer("A", A.clone(), persistent=True)
        self.data_bn = make_data_bn("MVC", in_channels, self.num_joints, num_person)
        nn.init.ones_(self.data_bn.weight)
        nn.init.zeros_(self.data_bn.bias)
        c = base_channels
        plan = [(in_channels, c, 1), (c, c, 1), (c, c, 1), (c, c, 1), (c, 2 * c, 2), (2 * c, 2 * c, 1),
                (2 * c, 2 * c, 1), (2 * c, 4 * c, 2), (4 * c, 4 * c, 1), (4 * c, 4 * c, 1)]
        blocks, self.feature_info, reduction = [], [], 1
        for i, (cin, cout, s) in enumerate(plan):
            reduction *= s
            blocks.append(CTRGCNBlock(cin, cout, A, stride=s, residual=i > 0, aggregation=aggregation,
                                      mstcn_final_act=mstcn_final_act, channel_rules=channel_rules,
                                      tcn_dropout=tcn_dropout if i > 0 else 0.0))
            self.feature_info.append(StageInfo(num_chs=cout, reduction=reduction, module=f"stages.{i}", index=i))
        self.stages = nn.ModuleList(blocks)
        self._init_head(4 * c, num_classes)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return fold_persons(x, self.data_bn, "MVC")


def flip_aggregation(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rewrite a skelzoo CTR-GCN state dict between the row = target and row = source conventions.

    Per graph unit: ``PA -> PAᵀ`` (last two axes), ``convs.k.conv1 <-> convs.k.conv2``,
    ``convs.k.conv4.weight -> -conv4.weight`` (bias kept). An involution. A ``ctrgcn`` state dict
    flipped and loaded into ``ctrgcn_pyskl(mstcn_final_act=False)`` gives the same outputs
    (docs/backbones.md §5.2), and vice versa.
    """
    out: dict[str, torch.Tensor] = {}
    for key, t in state_dict.items():
        src = key
        if re.search(r"\.gcn\.PA$", key):
            t = t.transpose(-1, -2).contiguous()
        elif re.search(r"\.gcn\.convs\.\d+\.conv[12]\.", key):
            src = re.sub(r"(\.convs\.\d+\.conv)([12])\.",
                         lambda m: m.group(1) + ("2" if m.group(2) == "1" else "1") + ".", key)
            t = state_dict[src]
        elif re.search(r"\.gcn\.convs\.\d+\.conv4\.weight$", key):
            t = -t
        out[key] = t.clone()
    return out


# ------------------------------------------------------------------------------------------ converters
_STAGE = re.compile(r"^stages\.(\d+)\.(gcn|tcn|residual)\.(.+)$")
_UNIT = {"gcn": "gcn1", "tcn": "tcn1", "residual": "residual"}


def _official_key(key: str) -> str | None:
    m = _STAGE.match(key)
    if m:
        return f"l{int(m.group(1)) + 1}.{_UNIT[m.group(2)]}.{m.group(3)}"
    if key.startswith("head."):
        return "fc." + key[len("head."):]
    if key.startswith("data_bn."):
        return key
    raise KeyError(f"ctrgcn: no official name for {key!r}")


def _pyskl_key(head: str):
    def key_map(key: str) -> str | None:
        m = _STAGE.match(key)
        if m:
            rest = "A" if (m.group(2) == "gcn" and m.group(3) == "PA") else m.group(3)
            return f"backbone.net.{m.group(1)}.{_UNIT[m.group(2)]}.{rest}"
        if key == "A":
            return "backbone.A"
        if key.startswith("head."):
            return f"cls_head.{head}." + key[len("head."):]
        if key.startswith("data_bn."):
            return "backbone." + key
        raise KeyError(f"ctrgcn_pyskl: no pyskl name for {key!r}")
    return key_map


def _model_args(prefix: str, head: str, pa: str):
    def infer(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        args: dict[str, Any] = {}
        conv3 = sd.get(f"{prefix}.gcn1.convs.0.conv3.weight")
        adj = sd.get(f"{prefix}.gcn1.{pa}")
        bn = sd.get(f"{'backbone.' if prefix.startswith('backbone') else ''}data_bn.weight")
        fc = sd.get(f"{head}.weight")
        if conv3 is not None:
            args["in_channels"] = int(conv3.shape[1])
            args["base_channels"] = int(conv3.shape[0])
            if bn is not None and adj is not None:
                args["num_person"] = int(bn.numel()) // (int(adj.shape[-1]) * int(conv3.shape[1]))
        if fc is not None:
            args["num_classes"] = int(fc.shape[0])
        if prefix.startswith("backbone") and adj is not None:
            args.update(pyskl_layout(int(adj.shape[-1])))  # nturgb+d (25) or coco (17)
        return args
    return infer


register_converter(Converter(
    arch="ctrgcn", source="official", key_map=_official_key,
    model_args=_model_args("l1", "fc", "PA"),
    description="Uason-Chen/CTR-GCN model.ctrgcn.Model: l{n}.gcn1/tcn1/residual -> stages.{n-1}.gcn/tcn/residual, "
                "fc -> head"))
register_converter(Converter(
    arch="ctrgcn_pyskl", source="pyskl", key_map=_pyskl_key("fc_cls"),
    model_args=_model_args("backbone.net.0", "cls_head.fc_cls", "A"),
    description="pyskl CTRGCN + GCNHead: backbone.net.{i}.gcn1.A -> stages.{i}.gcn.PA, backbone.A (unused graph) "
                "-> A, cls_head.fc_cls -> head"))
register_converter(Converter(
    arch="ctrgcn_pyskl", source="mmaction2", key_map=_pyskl_key("fc"),
    model_args=_model_args("backbone.net.0", "cls_head.fc", "A"),
    description="mmaction2 projects/ctrgcn CTRGCN + GCNHead: as pyskl, head cls_head.fc"))


# ---------------------------------------------------------------------------------------------- weights
# Published pyskl-variant CTR-GCN checkpoints (``ctrgcn_pyskl.<tag>``), NTU RGB+D 3D joints and NTU RGB+D 2-D
# HRNet keypoints (``*_2d_joint``: layout ``coco17``, preprocessing ``pyskl_2d``).
#
# pyskl's and mmaction2's CTRGCN (row = source aggregation, ReLU after the MS-TCN concat, pyskl hands) is
# :func:`~skelzoo.backbones.ctrgcn.ctrgcn_pyskl`, not the official :func:`~skelzoo.backbones.ctrgcn.ctrgcn`
# (docs/backbones.md §5.2). Converted on first use (converters ``("ctrgcn_pyskl", "pyskl"|"mmaction2")``). Numbers
# are the published top-1 accuracies (10-clip test). No tag is marked ``default``: until skelzoo publishes its
# own weights, ``ctrgcn_pyskl`` with ``pretrained=True`` falls back to the first tag below (mmaction2, sha256
# prefix checked).
_PAPER = ("Chen et al., Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action "
          "Recognition, ICCV 2021")
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/ctrgcn"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 64, "num_classes": 60, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}
_ARGS60_2D = {**_ARGS60, "layout": "coco17"}
_ARGS120_2D = {**_ARGS120, "layout": "coco17"}

CTRGCN_PYSKL_WEIGHTS = (
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_3d_joint", classes=60, top1=89.0, convert_source="mmaction2", hash_prefix="950dca0a",
        url="https://download.openmmlab.com/mmaction/v1.0/projects/ctrgcn/"
            "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20230308-950dca0a.pth",
        source="open-mmlab/mmaction2 1.x, projects/ctrgcn/README.md "
               "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 950dca0a from the file name)",
        description="mmaction2 projects/ctrgcn CTRGCN + GCNHead, 8 GPUs, uniform 100 frames; top-1 89.0 "
                    "(10 clips) as published in the project README.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_3d_joint", classes=60, top1=89.6, convert_source="pyskl",
        url=f"{_PYSKL}/ctrgcn_pyskl_ntu60_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/ctrgcn/README.md, ctrgcn_pyskl_ntu60_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        description="pyskl CTRGCN + GCNHead; top-1 89.6 as published in the README. No checksum is published "
                    "for this file.",
        model_args=_ARGS60, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_3d_joint", classes=120, top1=84.0, convert_source="pyskl",
        url=f"{_PYSKL}/ctrgcn_pyskl_ntu120_xsub_3dkp/j.pth",
        source="kennymckormick/pyskl configs/ctrgcn/README.md, ctrgcn_pyskl_ntu120_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        description="pyskl CTRGCN + GCNHead; top-1 84.0 as published in the README. No checksum is published "
                    "for this file.",
        model_args=_ARGS120, paper=_PAPER),
    # NTU RGB+D 2-D keypoints (HRNet, COCO-17; pyskl graph layout coco = skelzoo coco17, channels x, y,
    # score; preprocessing pyskl_2d = PreNormalize2D)
    ntu_checkpoint(
        "mmaction2_ntu60_xsub_2d_joint", classes=60, top1=89.6, convert_source="mmaction2",
        hash_prefix="7aba454e", keypoints="2d",
        url="https://download.openmmlab.com/mmaction/v1.0/projects/ctrgcn/"
            "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
            "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20230308-7aba454e.pth",
        source="open-mmlab/mmaction2 1.x, projects/ctrgcn/README.md "
               "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d (sha256 prefix 7aba454e from the file name)",
        description="mmaction2 projects/ctrgcn CTRGCN (graph coco / spatial) + GCNHead on HRNet 2-D keypoints, 8 GPUs, "
                    "uniform 100 frames; top-1 89.6 (10 clips) as published in the project README.",
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu60_xsub_2d_joint", classes=60, top1=90.6, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/ctrgcn_pyskl_ntu60_xsub_hrnet/j.pth",
        source=("kennymckormick/pyskl configs/ctrgcn/README.md, HRNet 2D Skeleton, "
                "ctrgcn_pyskl_ntu60_xsub_hrnet/j.pth "
                "(plain http, no published hash: the download cannot be verified)"),
        description=("pyskl CTRGCN (graph coco / spatial) + GCNHead on HRNet 2-D keypoints; "
                     "top-1 90.6 as published in the README. No checksum is published for this file."),
        model_args=_ARGS60_2D, paper=_PAPER),
    ntu_checkpoint(
        "pyskl_ntu120_xsub_2d_joint", classes=120, top1=82.2, convert_source="pyskl", keypoints="2d",
        url=f"{_PYSKL}/ctrgcn_pyskl_ntu120_xsub_hrnet/j.pth",
        source=("kennymckormick/pyskl configs/ctrgcn/README.md, HRNet 2D Skeleton, "
                "ctrgcn_pyskl_ntu120_xsub_hrnet/j.pth "
                "(plain http, no published hash: the download cannot be verified)"),
        description=("pyskl CTRGCN (graph coco / spatial) + GCNHead on HRNet 2-D keypoints; "
                     "top-1 82.2 as published in the README. No checksum is published for this file."),
        model_args=_ARGS120_2D, paper=_PAPER),
)


# -------------------------------------------------------------------------------------------- builders
@register_model(task="classification", paper="Channel-wise Topology Refinement Graph Convolution for Skeleton-Based "
                                             "Action Recognition (ICCV 2021)")
def ctrgcn(*, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25", num_person: int = 2,
           dropout: float = 0.0, base_channels: int = 64) -> CTRGCN:
    """Official CTR-GCN (Uason-Chen/CTR-GCN): row = target aggregation, no ReLU after the MS-TCN concat.

    1,446,672 parameters at NTU-60 defaults; canonical T = 64.
    """
    return CTRGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                  dropout=dropout, base_channels=base_channels, aggregation="target", mstcn_final_act=False,
                  channel_rules="official", graph_buffer=False)


@register_model(task="classification", paper="Channel-wise Topology Refinement Graph Convolution for Skeleton-Based "
                                             "Action Recognition (ICCV 2021); pyskl/mmaction2 variant",
                weights=CTRGCN_PYSKL_WEIGHTS)
def ctrgcn_pyskl(*, in_channels: int = 3, num_classes: int = 60, layout: str = "ntu25_pyskl", num_person: int = 2,
                 dropout: float = 0.0, base_channels: int = 64, tcn_dropout: float = 0.0,
                 mstcn_final_act: bool = True) -> CTRGCN:
    """pyskl / mmaction2 CTRGCN: row = source aggregation, ReLU after the MS-TCN concat, pyskl hands.

    Not the same function as :func:`ctrgcn` (docs/backbones.md §5.2). ``mstcn_final_act=False`` exists only to
    reproduce official CTR-GCN weights mapped with :func:`flip_aggregation`; pyskl checkpoints need True.
    ``tcn_dropout`` applies to blocks 2-10 as in pyskl. 1,446,672 parameters at NTU-60 defaults.
    """
    return CTRGCN(in_channels=in_channels, num_classes=num_classes, layout=layout, num_person=num_person,
                  dropout=dropout, base_channels=base_channels, aggregation="source",
                  mstcn_final_act=mstcn_final_act, channel_rules="pyskl", graph_buffer=True,
                  tcn_dropout=tcn_dropout)
