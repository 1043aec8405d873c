"""Multi-scale temporal convolution (MS-TCN), parameterised by a branch spec.

One module covers the three multi-scale temporal units of the skeleton GCN literature, with the
official state-dict layouts (so key maps stay 1:1):

===========================  =====================================================================
unit                         arguments
===========================  =====================================================================
CTR-GCN ``MultiScale_        ``branches=[(5, 1), (5, 2), ("max", 3), "1x1"]``, ``residual=False``,
TemporalConv`` (official)    ``final_act=False`` (no activation after the concatenation)
pyskl / mmaction2 CTR-GCN    same, ``final_act=True``, ``channel_split="rem_last"``
``MSTCN``                    (this unit is also pyskl/mmaction2's MS-G3D temporal unit)
MS-G3D ``MultiScale_         ``branches=[(3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"]``,
TemporalConv``               ``residual=True``, ``final_act=True`` (the defaults of
                             :func:`msg3d_spec` / the class)
pyskl ``mstcn`` (STGCN++,    ``branches=PYSKL_MSTCN_BRANCHES``, ``channel_split="rem_first"``,
DG-STGCN)                    ``branch_norm=False``, ``transform=True``, ``residual=False``,
                             ``final_act=False`` (optionally ``mid_channels=<float>``)
===========================  =====================================================================

Branch spec (a list, one entry per branch, concatenated along channels in list order):

- ``(k, d)`` with two ints — dilated temporal branch: ``1×1 conv (C_in -> c) -> BN -> ReLU ->
  (k, 1) conv, dilation d, stride s, padding (k-1)·d/2 -> BN``. Keys ``branches.i.0`` (conv),
  ``.1`` (BN), ``.3.conv``, ``.3.bn`` (the last BN only with ``branch_norm``).
- ``("max", k)`` — pooling branch: ``1×1 conv -> BN -> ReLU -> MaxPool (k, 1), stride s, padding
  (k-1)/2 -> BN``. Keys ``.0``, ``.1``, ``.4`` (the last BN only with ``branch_norm``). For ``k = 3``
  (every published model) the padding is 1, as in all originals.
- ``"1x1"`` — ``1×1 conv with stride s -> BN``. Keys ``.0``, ``.1``; without ``branch_norm`` the
  branch *is* the conv (keys ``branches.i.weight/bias``, pyskl ``mstcn``).

Channels per branch (``channel_split``): ``"equal"`` requires ``C_out`` divisible by the number of
branches (official CTR-GCN / MS-G3D assert this); ``"rem_last"`` gives ``C_out // B`` to each branch and
the remainder to the last one (pyskl/mmaction2 ``MSTCN``); ``"rem_first"`` the remainder to the first
(pyskl ``mstcn``). ``mid_channels=<float r>`` (pyskl ``mstcn`` only) gives every branch ``int(r·C_out)``.

Forward on ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``::

    y = cat(branch_i(x))                          # (N, sum c_i, T', V)
    if transform: y = bn(conv1x1(relu(bn0(y))))   # pyskl mstcn: keys transform.0, transform.2, bn
    y = y + residual(x)                           # none / identity / (1×1 conv stride s + BN)
    if final_act: y = relu(y)
    y = dropout(y)

Own implementation (no third-party code); operation order follows Uason-Chen/CTR-GCN,
kenziyuliu/MS-G3D and kennymckormick/pyskl (see ``docs/backbones.md``).
"""
from __future__ import annotations

from typing import Literal, Sequence, Union

import torch
from torch import nn

from .channels_last import apply_bn, bn_fold, fold_into, foldable, linear_bn, tconv_bn
from .common import TemporalConvBN, conv_init
from .derived import derived, module_tensors
from .dropout import ExactDropout
from .gemm import linear, pointwise_conv

__all__ = ["BranchSpec", "MultiScaleTCN", "CTRGCN_BRANCHES", "MSG3D_BRANCHES", "PYSKL_MSTCN_BRANCHES",
           "ctrgcn_branches", "split_channels"]

BranchSpec = Union[tuple[int, int], tuple[str, int], str]
ChannelSplit = Literal["equal", "rem_first", "rem_last"]

#: CTR-GCN temporal unit: kernel 5 at dilations 1 and 2, max-pool, 1×1.
CTRGCN_BRANCHES: tuple[BranchSpec, ...] = ((5, 1), (5, 2), ("max", 3), "1x1")
#: MS-G3D temporal unit: kernel 3 at dilations 1..4, max-pool, 1×1.
MSG3D_BRANCHES: tuple[BranchSpec, ...] = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")
#: pyskl ``mstcn`` default ``ms_cfg`` (same branch kinds as MS-G3D; use with its own options).
PYSKL_MSTCN_BRANCHES: tuple[BranchSpec, ...] = MSG3D_BRANCHES


def ctrgcn_branches(kernel_size: int | Sequence[int] = 5, dilations: Sequence[int] = (1, 2)) -> list[BranchSpec]:
    """The ``MultiScale_TemporalConv(kernel_size, dilations)`` spec: dilated branches + max + 1×1."""
    ks = [kernel_size] * len(dilations) if isinstance(kernel_size, int) else list(kernel_size)
    if len(ks) != len(dilations):
        raise ValueError(f"{len(ks)} kernel sizes for {len(dilations)} dilations")
    return [(int(k), int(d)) for k, d in zip(ks, dilations)] + [("max", 3), "1x1"]


def split_channels(out_channels: int, num_branches: int, channel_split: ChannelSplit = "equal",
                   mid_channels: float | None = None) -> list[int]:
    """Channels of each branch (see the module docstring)."""
    if mid_channels is not None:
        if not (isinstance(mid_channels, float) and mid_channels > 0):
            raise ValueError(f"mid_channels must be a positive float ratio, got {mid_channels!r}")
        return [int(out_channels * mid_channels)] * num_branches
    base = out_channels // num_branches
    rem = out_channels - base * (num_branches - 1)
    if channel_split == "equal":
        if out_channels % num_branches:
            raise ValueError(f"out_channels={out_channels} is not a multiple of the {num_branches} branches")
        return [base] * num_branches
    if channel_split == "rem_last":
        return [base] * (num_branches - 1) + [rem]
    if channel_split == "rem_first":
        return [rem] + [base] * (num_branches - 1)
    raise ValueError(f"channel_split must be 'equal', 'rem_first' or 'rem_last', got {channel_split!r}")


class MultiScaleTCN(nn.Module):
    """Multi-scale temporal convolution ``(N, C_in, T, V) -> (N, C_out, ceil(T/stride), V)``.

    Args:
        in_channels, out_channels: C_in, C_out.
        branches: branch spec (module docstring); default MS-G3D's six branches.
        stride: temporal stride of every branch (and of the residual conv).
        channel_split: how C_out is divided among branches.
        mid_channels: pyskl ``mstcn`` ratio (requires ``transform``).
        branch_norm: BN at the end of every branch (False for pyskl ``mstcn``).
        transform: pyskl ``mstcn`` fusion ``BN -> ReLU -> 1×1 conv`` then a final BN.
        residual: ``False`` (none), ``True`` (identity when shapes allow, else 1×1 conv stride s + BN).
        final_act: ReLU after the concatenation (+ residual).
        dropout: dropout probability at the very end.
        bn_init_std: initial BN weights ~ N(1, bn_init_std) (0.02 = CTR-GCN / MS-G3D ``weights_init``;
            0 gives constant 1 as pyskl).
    """

    def __init__(self, in_channels: int, out_channels: int, branches: Sequence[BranchSpec] = MSG3D_BRANCHES,
                 *, stride: int = 1, channel_split: ChannelSplit = "equal", mid_channels: float | None = None,
                 branch_norm: bool = True, transform: bool = False, residual: bool = True,
                 final_act: bool = True, dropout: float = 0.0, bn_init_std: float = 0.02) -> None:
        super().__init__()
        if mid_channels is not None and not transform:
            raise ValueError("mid_channels (a ratio) needs transform=True: the branch widths would not add up")
        specs = [_check_spec(s) for s in branches]
        widths = split_channels(out_channels, len(specs), channel_split, mid_channels)
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.branch_spec = tuple(specs)
        self.branch_channels = tuple(widths)
        self.final_act = final_act
        self.branches = nn.ModuleList(
            _make_branch(in_channels, c, spec, stride, branch_norm) for spec, c in zip(specs, widths))
        total = sum(widths)
        if transform:
            self.transform = nn.Sequential(nn.BatchNorm2d(total), nn.ReLU(), nn.Conv2d(total, out_channels, 1))
            self.bn = nn.BatchNorm2d(out_channels)
        elif total != out_channels:
            raise ValueError(f"branch widths {widths} do not add up to out_channels={out_channels}")
        if not residual:
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConvBN(in_channels, out_channels, kernel_size=1, stride=stride)
        self.drop = ExactDropout(dropout) if dropout > 0 else nn.Identity()
        self._init_weights(bn_init_std)

    def _init_weights(self, bn_init_std: float) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                if bn_init_std > 0:
                    nn.init.normal_(m.weight, 1.0, bn_init_std)
                else:
                    nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, T, V) -> (N, C_out, T', V)``."""
        y = torch.cat([branch(x) for branch in self.branches], dim=1)
        if hasattr(self, "transform"):
            y = self.bn(self.transform(y))
        if self.residual is not None:
            y = y + self.residual(x)
        if self.final_act:
            y = torch.relu(y)
        return self.drop(y)

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on ``(N, T, V, C_in) -> (N, T', V, C_out)``.

        Without autograd at stride 1 :meth:`_forward_nhwc_fused`; otherwise the leading 1×1 conv (+ BN) of
        every non-1×1 branch runs as ONE GEMM (weights concatenated, BNs folded in eval), one ReLU; then each
        branch's temporal conv / max-pool on its channel slice, concatenated.
        """
        fused = self._forward_nhwc_fused(x)
        if fused is not None:
            return fused
        heads = [b for b, spec in zip(self.branches, self.branch_spec) if spec != "1x1"]
        parts: list[torch.Tensor] = []
        if heads:
            leads = self._foldable_leads(with_1x1=False)
            if leads is not None:
                w, b = derived(self, "heads", lambda: module_tensors(self), lambda: _stacked_folds(leads))
                h = torch.relu(linear(x, w, b))
                hs = list(torch.split(h, [br[0].out_channels for br in heads], dim=-1))
            else:  # training-mode BNs: apply them per branch
                hs = [torch.relu(linear_bn(x, br[0], br[1])) for br in heads]
        it = iter(hs if heads else [])
        for br, spec in zip(self.branches, self.branch_spec):
            if spec == "1x1":
                if isinstance(br, nn.Sequential):
                    parts.append(linear_bn(x, br[0], br[1], stride=self.stride))
                else:
                    parts.append(linear_bn(x, br, None, stride=self.stride))
                continue
            h = next(it)
            if spec[0] == "max":
                pool = br[3]
                hc = h.permute(0, 3, 1, 2)
                if torch.is_grad_enabled() and h.requires_grad:
                    # NCHW max-pool: the same tie-breaking (gradient routing) as the plain path
                    hc = hc.contiguous()
                y = torch.nn.functional.max_pool2d(hc, pool.kernel_size, pool.stride,
                                                   pool.padding).permute(0, 2, 3, 1)
                if len(br) > 4:
                    y = apply_bn(y, br[4])
                parts.append(y)
            else:
                tc = br[3]
                parts.append(tconv_bn(h, tc.conv, tc.bn))
        y = torch.cat(parts, dim=-1)
        if hasattr(self, "transform"):
            y = torch.relu(apply_bn(y, self.transform[0]))
            y = linear_bn(y, self.transform[2], self.bn)
        if self.residual is not None:
            if isinstance(self.residual, nn.Identity):
                y = y + x
            else:
                y = y + tconv_bn(x, self.residual.conv, self.residual.bn)
        if self.final_act:
            y = torch.relu(y)
        return self.drop(y)

    def _forward_nhwc_fused(self, x: torch.Tensor) -> torch.Tensor | None:
        """Inference fast path on NHWC ``(N, T, V, C_in) -> (N, T, V, C_out)``, or ``None`` when it does not
        apply (autograd recording, stride > 1, pyskl ``transform``, a leading BN that cannot be folded).

        The channels-last twin of :meth:`_forward_fused`: the leading 1×1 conv of every branch (the 1×1
        branch included) is ONE GEMM ``(N·T·V, C_in) @ (C_in, ΣC_b)`` with the BNs folded, and its output is
        the output tensor: the 1×1 branch's channels are final, every other branch ReLUs its own channel
        slice in place and writes its temporal conv / max-pool result back into it, with the residual
        added in the same pass. No concatenation, no extra tensor for the ReLUs, the residual sum or the
        final ReLU; the (3, 1) max-pool is a max over shifted frames (no indices).
        """
        if torch.is_grad_enabled() or self.stride != 1 or hasattr(self, "transform"):
            return None
        leads = self._foldable_leads(with_1x1=True)
        if leads is None:
            return None
        w, b = derived(self, "leading", lambda: module_tensors(self), lambda: _stacked_folds(leads))
        y = linear(x, w, b)                                                    # (N, T, V, ΣC_b)
        if isinstance(self.residual, nn.Identity):
            res: torch.Tensor | None = x
        elif self.residual is not None:
            res = tconv_bn(x, self.residual.conv, self.residual.bn)
        else:
            res = None
        o = 0
        for br, spec, c in zip(self.branches, self.branch_spec, self.branch_channels):
            part = y[..., o:o + c]
            r = None if res is None else res[..., o:o + c]
            o += c
            if spec == "1x1":
                if r is not None:
                    part.add_(r)
                continue
            h = torch.relu_(part)
            if spec[0] == "max":
                pool = br[3]
                bn = br[4] if len(br) > 4 else None
                if pool.kernel_size == (3, 1) and (bn is None or foldable(bn)):
                    _max3_nhwc_(h)
                    if bn is not None:
                        scale, shift = bn_fold(bn)
                        torch.addcmul(shift, h, scale, out=h)
                    if r is not None:
                        h.add_(r)
                    continue
                z = apply_bn(torch.nn.functional.max_pool2d(h.permute(0, 3, 1, 2), pool.kernel_size, pool.stride,
                                                            pool.padding).permute(0, 2, 3, 1), bn)
            else:
                tc = br[3]
                z = tconv_bn(h, tc.conv, tc.bn)
            if r is None:
                part.copy_(z)
            else:
                torch.add(z, r, out=part)
        if self.final_act:
            y = torch.relu_(y)
        return self.drop(y)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on NCHW ``(N, C_in, T, V) -> (N, C_out, T', V)`` (same function as :meth:`forward`).

        Every 1×1 conv is one GEMM (:func:`~skelzoo.blocks.gemm.pointwise_conv`) with its BN folded in eval;
        the (k, 1) convs run with their BNs folded; without autograd the (3, 1) max-pool is a max over shifted frames
        (same values as ``max_pool2d``, none of its index bookkeeping; with autograd ``max_pool2d`` keeps
        the plain path's gradient routing on ties).
        """
        fused = self._forward_fused(x)
        if fused is not None:
            return fused
        parts: list[torch.Tensor] = []
        for br, spec in zip(self.branches, self.branch_spec):
            if spec == "1x1":
                conv, bn = (br[0], br[1]) if isinstance(br, nn.Sequential) else (br, None)
                parts.append(gemm_bn(x, conv, bn, self.stride))
                continue
            h = torch.relu_(gemm_bn(x, br[0], br[1]))
            if spec[0] == "max":
                pool = br[3]
                if torch.is_grad_enabled() and h.requires_grad:
                    y = torch.nn.functional.max_pool2d(h, pool.kernel_size, pool.stride, pool.padding)
                else:
                    y = max_pool_t3(h, self.stride) if pool.kernel_size == (3, 1) else pool(h)
                if len(br) > 4:
                    y = _affine_bn(y, br[4])
                parts.append(y)
            else:
                tc = br[3]
                w, b, rest = fold_into(tc.conv.weight, tc.conv.bias, tc.bn)
                y = torch.nn.functional.conv2d(h, w, b, tc.conv.stride, tc.conv.padding, tc.conv.dilation)
                parts.append(y if rest is None else rest(y))
        # every part is a fresh tensor whose backward does not need it: in-place ops below are safe
        y = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        if hasattr(self, "transform"):
            y = gemm_bn(torch.relu_(_affine_bn(y, self.transform[0])), self.transform[2], self.bn)
        if self.residual is not None:
            if isinstance(self.residual, nn.Identity):
                y = y.add_(x)
            else:
                y = y.add_(gemm_bn(x, self.residual.conv, self.residual.bn, self.stride))
        if self.final_act:
            y = torch.relu_(y)
        return self.drop(y)

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor | None:
        """Inference fast path on NCHW ``(N, C_in, T, V) -> (N, C_out, T', V)``, or ``None`` when it does not
        apply (autograd recording, pyskl ``transform``, a BN that cannot be folded).

        Stride 1: the leading 1×1 conv of EVERY branch (the 1×1 branch included) is ONE GEMM
        ``(ΣC_b, C_in) @ (C_in, T·V)`` with the BNs folded, written straight into the output tensor: the 1×1
        branch's rows are then final, and every other branch replaces its own channel slice in place (ReLU,
        temporal conv or max-pool, folded BN). No concatenation, one read of ``x`` instead of one per branch.
        Stride > 1: the leading convs of the branches that read every frame (temporal conv, max-pool) are
        one GEMM; the strided 1×1 branch is its own; each branch writes its slice of the output.
        """
        if torch.is_grad_enabled() or hasattr(self, "transform"):
            return None
        leads = self._foldable_leads(with_1x1=True)
        if leads is None:
            return None
        s = self.stride
        if s == 1:
            w, b = derived(self, "leading", lambda: module_tensors(self), lambda: _stacked_folds(leads))
            y = h_all = pointwise_conv(x, w, b)
        else:  # the heads at every frame, the output (and the 1×1 branch) at every s-th
            heads = [lead for lead, spec in zip(leads, self.branch_spec) if spec != "1x1"]
            w, b = derived(self, "heads", lambda: module_tensors(self), lambda: _stacked_folds(heads))
            h_all = pointwise_conv(x, w, b)
            n, _, t, v = x.shape
            y = x.new_empty(n, self.out_channels, -(-t // s), v)
        o = oh = 0
        for br, spec, c, lead in zip(self.branches, self.branch_spec, self.branch_channels, leads):
            part = y[:, o:o + c]
            o += c
            if spec == "1x1":
                if s != 1:
                    part.copy_(gemm_bn(x, *lead, s))
                continue
            h = torch.relu_(h_all[:, oh:oh + c])
            oh += c
            if spec[0] == "max":
                pool = br[3]
                z = max_pool_t3(h, s) if pool.kernel_size == (3, 1) else pool(h)
                if len(br) > 4 and foldable(br[4]):
                    scale, shift = bn_fold(br[4])
                    torch.addcmul(shift.view(-1, 1, 1), z, scale.view(-1, 1, 1), out=z)
                elif len(br) > 4:
                    z = br[4](z)
            else:
                tc = br[3]
                w, b, rest = fold_into(tc.conv.weight, tc.conv.bias, tc.bn)
                z = torch.nn.functional.conv2d(h, w, b, tc.conv.stride, tc.conv.padding, tc.conv.dilation)
                z = z if rest is None else rest(z)
            part.copy_(z)
        if self.residual is not None:
            if isinstance(self.residual, nn.Identity):
                y = y.add_(x)
            else:
                y = y.add_(gemm_bn(x, self.residual.conv, self.residual.bn, s))
        if self.final_act:
            y = torch.relu_(y)
        return self.drop(y)

    def _foldable_leads(self, with_1x1: bool) -> list[tuple[nn.Module, nn.Module | None]] | None:
        """The branches' leading (1×1 conv, BN or None) pairs, the 1×1 branch's only ``with_1x1``; None when one
        of their BNs cannot be folded (training mode, no running statistics)."""
        leads = [(br[0], br[1]) if isinstance(br, nn.Sequential) else (br, None)
                 for br, spec in zip(self.branches, self.branch_spec) if with_1x1 or spec != "1x1"]
        if all(bn is None or isinstance(bn, nn.Identity) or foldable(bn) for _, bn in leads):
            return leads
        return None

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, branches={list(self.branch_spec)}, "
                f"channels={list(self.branch_channels)}, stride={self.stride}, final_act={self.final_act}")


def _stacked_folds(convs_bns: list[tuple[nn.Module, nn.Module | None]]) -> tuple[torch.Tensor, torch.Tensor]:
    """1×1 convs with foldable BNs as one weight ``(ΣO, C)`` and bias ``(ΣO,)`` (zeros where a conv has none)."""
    ws, bs = [], []
    for conv, bn in convs_bns:
        w, b, _ = fold_into(conv.weight.flatten(1), conv.bias, bn, cache=False)  # cached as a whole
        ws.append(w)
        bs.append(b if b is not None else w.new_zeros(w.shape[0]))
    return torch.cat(ws), torch.cat(bs)


def gemm_bn(x: torch.Tensor, conv: nn.Module, bn: nn.Module | None, stride: int = 1) -> torch.Tensor:
    """``bn(conv1x1(x))`` with temporal ``stride`` on NCHW ``x`` as one GEMM
    (:func:`~skelzoo.blocks.gemm.pointwise_conv`, BN folded in eval)."""
    w, b, rest = fold_into(conv.weight.reshape(conv.weight.shape[0], -1), conv.bias, bn)
    y = pointwise_conv(x, w, b, stride)
    return y if rest is None else rest(y)


def _affine_bn(y: torch.Tensor, bn: nn.Module) -> torch.Tensor:
    """A BatchNorm on NCHW ``y``; in eval as one fused multiply-add (``y·scale + shift``)."""
    if not foldable(bn):
        return bn(y)
    scale, shift = bn_fold(bn)
    return torch.addcmul(shift.view(-1, 1, 1), y, scale.view(-1, 1, 1))


def max_pool_t3(h: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """``max_pool2d(h, (3, 1), (stride, 1), (1, 0))`` on NCHW ``h`` as a max over shifted frames (values
    identical, NaN propagating as ``max_pool2d``; no indices, so no gradient routing: inference only)."""
    t = h.shape[2]
    t_out = (t - 1) // stride + 1
    out = h[:, :, ::stride].clone()
    if t > 1:
        left = h[:, :, stride - 1::stride]          # frame s·j - 1 for output j >= 1
        nl = min(t_out - 1, left.shape[2])
        a = out[:, :, 1:1 + nl]
        torch.maximum(a, left[:, :, :nl], out=a)
        right = h[:, :, 1::stride]                  # frame s·j + 1 for output j
        nr = min(t_out, right.shape[2])
        b = out[:, :, :nr]
        torch.maximum(b, right[:, :, :nr], out=b)
    return out


def _max3_nhwc_(h: torch.Tensor) -> torch.Tensor:
    """``max_pool2d((3, 1), stride 1, padding (1, 0))`` over the frames of NHWC ``h`` ``(N, T, V, C)``, in place
    (``h`` may be a channel slice): from the maxima of adjacent frames ``m[t] = max(h[t], h[t + 1])``, frame t
    gets ``max(m[t - 1], m[t])`` (the ends one of them). Values identical to ``max_pool2d``, NaN propagating as
    there; no indices, so inference only."""
    t = h.shape[1]
    if t < 2:
        return h
    m = torch.maximum(h[:, :-1], h[:, 1:])                   # (N, T-1, V, C), read before h is written
    if t > 2:
        torch.maximum(m[:, :-1], m[:, 1:], out=h[:, 1:-1])
    h[:, 0] = m[:, 0]
    h[:, -1] = m[:, -1]
    return h


def _check_spec(spec: BranchSpec) -> BranchSpec:
    if spec == "1x1":
        return "1x1"
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        a, b = spec
        if a == "max" and isinstance(b, int) and b >= 1 and b % 2 == 1:
            return ("max", int(b))
        if isinstance(a, int) and isinstance(b, int) and a >= 1 and b >= 1 and ((a - 1) * b) % 2 == 0:
            return (int(a), int(b))
    raise ValueError(f"bad branch spec {spec!r}: expected (kernel, dilation) with an odd effective kernel, "
                     f"('max', odd_kernel) or '1x1'")


def _make_branch(c_in: int, c: int, spec: BranchSpec, stride: int, branch_norm: bool) -> nn.Module:
    if spec == "1x1":
        conv = nn.Conv2d(c_in, c, kernel_size=1, stride=(stride, 1))
        return nn.Sequential(conv, nn.BatchNorm2d(c)) if branch_norm else conv
    head = [nn.Conv2d(c_in, c, kernel_size=1), nn.BatchNorm2d(c), nn.ReLU()]
    kind, k = spec
    if kind == "max":
        pool = nn.MaxPool2d(kernel_size=(k, 1), stride=(stride, 1), padding=((k - 1) // 2, 0))
        return nn.Sequential(*head, pool, *([nn.BatchNorm2d(c)] if branch_norm else []))
    tconv = TemporalConvBN(c, c, kernel_size=kind, stride=stride, dilation=k)
    if not branch_norm:
        tconv.bn = nn.Identity()
    return nn.Sequential(*head, tconv)
