"""MoCo core shared by the contrastive pretraining methods (docs/method.md §3.3-3.4).

- :func:`momentum_update`: ``θ_k <- m·θ_k + (1 - m)·θ_q`` over the parameters (buffers such as BN running
  statistics are the key encoder's own, as in MoCo / SkeletonCLR).
- :class:`EmbeddingQueue`: a ``(dim, K)`` memory bank of unit vectors (random init from a seed) with its own
  pointer. :meth:`EmbeddingQueue.enqueue` writes ``B`` columns at the pointer and advances it by ``B``
  modulo ``K``, wrapping around the end, so ``K % B == 0`` is not required (the released SnipCLR code
  requires it and never advances its second pointer — docs/method.md §11.13; every queue here has its own).
- :func:`info_nce` / :func:`multi_positive_nce`: InfoNCE with one positive (index 0) and queue negatives,
  and its nearest-neighbour-mining form with several positives.
- :func:`concat_all_gather`: keys of every rank (no gradient) so that all ranks enqueue the same
  columns in the same order and their queues stay identical under DDP.

Letters: B batch, D embedding dim, K queue size.
"""
from __future__ import annotations

import copy

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

__all__ = [
    "EmbeddingQueue", "MomentumPair", "momentum_update", "info_nce", "info_nce_logits", "multi_positive_nce",
    "mining_mask", "concat_all_gather", "init_moco_weights", "batch_nce_logits", "rank_offset",
]


@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """``θ_target <- momentum·θ_target + (1 - momentum)·θ_online`` for every parameter (in place)."""
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    p_on = list(online.parameters())
    p_tg = list(target.parameters())
    if len(p_on) != len(p_tg):
        raise ValueError(f"online and target modules differ: {len(p_on)} vs {len(p_tg)} parameters")
    groups: dict[tuple, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
    for po, pt in zip(p_on, p_tg):
        if po.shape != pt.shape:
            raise ValueError(f"online and target parameters differ in shape: {tuple(po.shape)} vs {tuple(pt.shape)}")
        g = groups.setdefault((pt.device, pt.dtype, po.dtype), ([], []))
        g[0].append(pt)
        g[1].append(po.detach())
    for targets, onlines in groups.values():  # one fused multi-tensor kernel per device/dtype, not 2 per tensor
        torch._foreach_mul_(targets, momentum)
        torch._foreach_add_(targets, onlines, alpha=1.0 - momentum)


@torch.no_grad()
def concat_all_gather(t: torch.Tensor) -> torch.Tensor:
    """Concatenate ``t`` (same shape on every rank) over all ranks along dim 0; ``t`` itself when not
    distributed. No gradient flows through the result."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return t.detach()
    out = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t.detach().contiguous())
    return torch.cat(out, dim=0)


class EmbeddingQueue(nn.Module):
    """Memory bank of ``size`` unit vectors of width ``dim``, stored ``(dim, size)`` with a pointer.

    Args:
        dim: embedding width D.
        size: number of columns K.
        seed: seed of the random unit-vector initialisation (a local generator; global RNG untouched).
    """

    queue: torch.Tensor
    ptr: torch.Tensor

    def __init__(self, dim: int, size: int, *, seed: int = 0) -> None:
        super().__init__()
        if dim < 1 or size < 1:
            raise ValueError(f"queue dim and size must be >= 1, got dim={dim}, size={size}")
        g = torch.Generator().manual_seed(int(seed))
        q = F.normalize(torch.randn(dim, size, generator=g), dim=0)
        self.register_buffer("queue", q)
        self.register_buffer("ptr", torch.zeros(1, dtype=torch.long))

    @property
    def size(self) -> int:
        return self.queue.shape[1]

    @property
    def dim(self) -> int:
        return self.queue.shape[0]

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` ``(B, D)`` (already normalised) as columns ``ptr, ptr+1, ...`` (mod K); the pointer
        advances by B (mod K). With ``B > K`` only the last K keys are kept."""
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"keys must be (B, {self.dim}), got {tuple(keys.shape)}")
        keys = keys.detach().to(self.queue.dtype)
        b = keys.shape[0]
        if b == 0:
            return
        start = int(self.ptr.item())
        if b > self.size:
            start = (start + b - self.size) % self.size
            keys, b = keys[-self.size:], self.size
        idx = (start + torch.arange(b, device=self.queue.device)) % self.size
        self.queue[:, idx] = keys.t()
        self.ptr[0] = (start + b) % self.size

    def extra_repr(self) -> str:
        return f"dim={self.dim}, size={self.size}"


def info_nce_logits(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """``[q·k, q·Q] / τ`` for unit vectors ``q, k`` ``(B, D)`` and ``queue`` ``(D, K)`` -> ``(B, 1 + K)``."""
    l_pos = (q * k).sum(dim=1, keepdim=True)
    l_neg = q @ queue.to(q.dtype)
    return torch.cat([l_pos, l_neg], dim=1) / temperature


def rank_offset(batch: int) -> int:
    """Index of this rank's first sample in :func:`concat_all_gather`'s output (0 when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0
    return dist.get_rank() * batch


def batch_nce_logits(q: torch.Tensor, k: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """In-batch negatives: ``q·k_all / τ`` ``(B, B_all)`` and the positive column of each row ``(B,)``.

    ``k_all`` is the keys of every rank (:func:`concat_all_gather`), so all negatives were computed by the
    same key encoder in the same step: a key's age carries no signal, unlike a queue's (the positive is
    always the freshest key there, a shortcut a fast-moving key encoder makes easy to learn).
    """
    k_all = concat_all_gather(k)
    logits = q @ k_all.to(q.dtype).t() / temperature
    target = torch.arange(q.shape[0], device=q.device) + rank_offset(q.shape[0])
    return logits, target


def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Mean over the batch of ``-log(exp(q·k/τ) / (exp(q·k/τ) + Σ_m exp(q·r_m/τ)))`` (docs/method.md §3.4)."""
    logits = info_nce_logits(q.float(), k.float(), queue.float(), temperature)
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device))


def multi_positive_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """``-(1/|P|) Σ_{p∈P} log softmax(logits)_p`` averaged over rows (nearest-neighbour mining).

    ``logits`` ``(..., 1 + K)``; ``positives`` a bool mask of the same shape (column 0, the key, should be
    set; every row needs at least one positive).
    """
    if positives.shape != logits.shape:
        raise ValueError(f"positives {tuple(positives.shape)} must match logits {tuple(logits.shape)}")
    logp = F.log_softmax(logits.float(), dim=-1)
    pos = positives.to(logp.dtype)
    return (-(logp * pos).sum(-1) / pos.sum(-1).clamp(min=1.0)).mean()


def mining_mask(logits: torch.Tensor, topk: int) -> torch.Tensor:
    """Positives for nearest-neighbour mining: column 0 plus the ``topk`` queue columns with the highest
    logits (``logits[..., 1:]``). Returns a bool mask like ``logits``."""
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[..., 0] = True
    if topk > 0:
        top = logits[..., 1:].detach().topk(min(topk, logits.shape[-1] - 1), dim=-1).indices + 1
        mask.scatter_(-1, top, True)
    return mask


@torch.no_grad()
def init_moco_weights(module: nn.Module, std: float = 0.02) -> None:
    """SkeletonCLR / SnipCLR init: Conv/Linear weights ``N(0, std²)``, zero bias; BN weights ``N(1, std²)``,
    zero bias (docs/method.md §3.3). Other parameters (e.g. AGCN's ``PA``) keep their values."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            m.weight.normal_(0.0, std)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            if m.weight is not None:
                m.weight.normal_(1.0, std)
            if m.bias is not None:
                m.bias.zero_()


class MomentumPair(nn.Module):
    """A query encoder and its momentum (key) copy.

    The key encoder is copied **after** the query encoder's initialisation (the clean reading of
    docs/method.md §11.15: both start equal) and never receives gradients.
    """

    def __init__(self, encoder: nn.Module, momentum: float = 0.999) -> None:
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.encoder_q = encoder
        self.encoder_k = copy.deepcopy(encoder)
        for p in self.encoder_k.parameters():
            p.requires_grad_(False)
        self.momentum = float(momentum)

    @torch.no_grad()
    def update_key_encoder(self) -> None:
        """One momentum step of the key encoder towards the query encoder."""
        momentum_update(self.encoder_q, self.encoder_k, self.momentum)
