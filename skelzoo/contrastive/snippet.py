"""SnipCLR snippet contrast: dense temporal-snippet InfoNCE added to a MoCo framework (docs/method.md §3.2-3.6).

Paper: Q. Cheng et al., "Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action
Localization", arXiv 2512.16504 (ICPR 2026); official code github.com/cqs0925/SnipCLR. Own implementation
from docs/method.md; no code copied.

Dense branch (:class:`SnippetHead`) on the encoder's last map ``h`` ``(N, D, T', V, M)``:

1. mean over joints and persons -> ``(N, D, T')``;
2. ``adaptive_avg_pool1d`` to ``num_snippets`` (S, default 19) non-overlapping snippets -> ``F_d``
   ``(N, D, S)`` (the "backbone snippet features" used for matching). With T' < S adaptive pooling repeats
   steps (e.g. the quarter-width ST-GCN on 50 frames gives T' = 13);
3. ``Conv1d(D, D, 1) -> ReLU -> Conv1d(D, dim, 1)`` -> snippet embeddings ``d`` ``(N, dim, S)``;
4. video-level mean of ``d`` over the snippets (before normalisation), normalised -> ``(N, dim)``.

Snippet loss for every query snippet i of every sample b (:func:`snippet_nce`):

- correspondence ``j*(i) = argmax_j F_d(q)_iᵀ F_d(k)_j`` on the **un-normalised** backbone snippet features
  (DenseCL-style; ``match="argmax"``), or ``j*(i) = i`` (``match="index"``; only meaningful when the views
  stay aligned in time);
- positive ``d_{b,i}·d^k_{b,j*(i)}/τ`` with the momentum encoder's snippet embeddings of the key view;
- negatives ``d_{b,i}·r_m/τ`` for every column of the snippet queue, which stores the key views'
  video-mean snippet embeddings (other videos; snippets of the same video are not explicit negatives);
- ``L_snip = mean over B·S of -log(exp(pos)/(exp(pos) + Σ_m exp(neg_m)))``;
- mining (from epoch ``mining_epoch + 1``): the ``snippet_mining_topk`` (5) queue columns most similar to
  each query snippet join its positives.

Total: ``L = L_instance (+ RVTCLR tempo terms) + snippet_weight · L_snip`` with ``snippet_weight = 1.5``.
The snippet key view is the same-tempo key, or the other-tempo key with ``relative_tempo=True`` (as the
released code). The snippet queue has its own pointer, advanced every step (clean reading of §11.13).
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .moco import EmbeddingQueue, concat_all_gather, mining_mask, multi_positive_nce, rank_offset
from .skeletonclr import Negatives, SkeletonCLR, build_backbone, feature_width

__all__ = ["SnippetHead", "SnipCLR", "snippet_correspondence", "snippet_logits", "snippet_nce",
           "snippet_batch_logits"]

Match = Literal["argmax", "cosine", "index"]
_MATCHES = ("argmax", "cosine", "index")


class SnippetHead(nn.Module):
    """Dense projection: ``(N, D, T', V, M)`` -> ``{"snippet_features": (N, D, S), "snippet": (N, dim, S)
    unit vectors, "snippet_mean": (N, dim) unit vectors}`` (module docstring, steps 1-4)."""

    def __init__(self, in_channels: int, feature_dim: int = 128, num_snippets: int = 19) -> None:
        super().__init__()
        if num_snippets < 1:
            raise ValueError(f"num_snippets must be >= 1, got {num_snippets}")
        self.num_snippets = int(num_snippets)
        self.proj = nn.Sequential(nn.Conv1d(in_channels, in_channels, 1), nn.ReLU(inplace=True),
                                  nn.Conv1d(in_channels, feature_dim, 1))

    def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        f = h.mean(dim=3).mean(dim=-1)                                   # (N, D, T')
        fd = F.adaptive_avg_pool1d(f, self.num_snippets)                 # (N, D, S)
        d = self.proj(fd).float()                                        # (N, dim, S)
        return {"snippet_features": fd.float(), "snippet": F.normalize(d, dim=1),
                "snippet_mean": F.normalize(d.mean(dim=-1), dim=1)}


@torch.no_grad()
def snippet_correspondence(f_q: torch.Tensor, f_k: torch.Tensor, match: Match = "argmax") -> torch.Tensor:
    """Key snippet matched to each query snippet, ``(B, S)`` long.

    ``f_q``, ``f_k``: un-normalised backbone snippet features ``(B, D, S)``. ``"argmax"``:
    ``argmax_j f_q[:, :, i]·f_k[:, :, j]`` on the raw features (first index on ties; as the released code);
    ``"cosine"``: the same on features normalised over D first (as DenseCL: raw dot products favour the
    key snippets of largest norm, so many query snippets land on a few "hub" snippets); ``"index"``: ``j = i``.
    """
    if f_q.shape != f_k.shape:
        raise ValueError(f"query and key snippet features differ: {tuple(f_q.shape)} vs {tuple(f_k.shape)}")
    b, _, s = f_q.shape
    if match == "index":
        return torch.arange(s, device=f_q.device).expand(b, s).clone()
    if match not in _MATCHES:
        raise ValueError(f"match must be one of {_MATCHES}, got {match!r}")
    f_q, f_k = f_q.float(), f_k.float()
    if match == "cosine":
        f_q, f_k = F.normalize(f_q, dim=1), F.normalize(f_k, dim=1)
    sim = torch.einsum("bci,bcj->bij", f_q, f_k)                       # (B, S, S)
    return sim.argmax(dim=2)


def snippet_logits(d_q: torch.Tensor, d_k: torch.Tensor, queue: torch.Tensor, match: torch.Tensor,
                   temperature: float = 0.07) -> torch.Tensor:
    """``[d_q,i·d_k,j*(i), d_q,i·Q] / τ`` -> ``(B, S, 1 + K)``.

    ``d_q``, ``d_k``: unit snippet embeddings ``(B, dim, S)``; ``queue`` ``(dim, K)``; ``match`` ``(B, S)``.
    """
    b, c, s = d_q.shape
    d_q = d_q / temperature  # 1/τ on the (B, dim, S) queries, not on the S·(1+K) logits
    d_pos = d_k.gather(2, match[:, None, :].expand(b, c, s))           # (B, dim, S): matched key snippets
    l_pos = (d_q * d_pos).sum(dim=1)                                    # (B, S)
    l_neg = (d_q.transpose(1, 2).reshape(b * s, c) @ queue.to(d_q.dtype)).view(b, s, -1)  # (B, S, K): one GEMM
    return torch.cat([l_pos[..., None], l_neg], dim=-1)


def snippet_batch_logits(d_q: torch.Tensor, d_k: torch.Tensor, match: torch.Tensor,
                         temperature: float = 0.07) -> torch.Tensor:
    """In-batch snippet logits ``(B, S, 1 + B_all·S)``: column 0 the matched key snippet, then every key
    snippet of every sample of the batch (all ranks) with the query's own sample's ``S`` columns set to
    ``-inf``: negatives are other videos' snippets, all from the same key-encoder step."""
    b, c, s = d_q.shape
    d_q = d_q / temperature
    d_pos = d_k.gather(2, match[:, None, :].expand(b, c, s))
    l_pos = (d_q * d_pos).sum(dim=1)                                                  # (B, S)
    k_all = concat_all_gather(d_k)                                                    # (B_all, dim, S)
    cols = k_all.permute(1, 0, 2).reshape(c, -1).to(d_q.dtype)                        # (dim, B_all·S)
    l_neg = (d_q.transpose(1, 2).reshape(b * s, c) @ cols).view(b, s, -1)            # (B, S, B_all·S)
    own = torch.arange(b, device=d_q.device) + rank_offset(b)                         # global sample index
    col_sample = torch.arange(cols.shape[1], device=d_q.device) // s                  # (B_all·S,)
    l_neg = l_neg.masked_fill((col_sample[None, :] == own[:, None])[:, None, :], float("-inf"))
    return torch.cat([l_pos[..., None], l_neg], dim=-1)


def snippet_nce(d_q: torch.Tensor, d_k: torch.Tensor, queue: torch.Tensor | None, match: torch.Tensor,
                temperature: float = 0.07, *, mining_topk: int = 0) -> torch.Tensor:
    """Snippet InfoNCE averaged over all ``B·S`` query snippets (module docstring); ``mining_topk > 0`` adds
    the most similar negatives of each snippet as positives. ``queue=None``: in-batch negatives
    (:func:`snippet_batch_logits`)."""
    if queue is None:
        logits = snippet_batch_logits(d_q.float(), d_k.float(), match, temperature)
    else:
        logits = snippet_logits(d_q.float(), d_k.float(), queue.float(), match, temperature)
    if mining_topk <= 0:  # the key is the only positive: plain cross-entropy on column 0, fused
        flat = logits.reshape(-1, logits.shape[-1])
        return F.cross_entropy(flat, torch.zeros(flat.shape[0], dtype=torch.long, device=flat.device))
    return multi_positive_nce(logits, mining_mask(logits, mining_topk))


class SnipCLR(SkeletonCLR):
    """SkeletonCLR (optionally with RVTCLR relative tempo) + the SnipCLR snippet contrast.

    Args (in addition to :class:`~skelzoo.contrastive.skeletonclr.SkeletonCLR`'s):
        num_snippets: S (19).
        snippet_weight: λ (1.5).
        snippet_match: ``"argmax"`` (default, as the released code), ``"cosine"`` or ``"index"``
            (:func:`snippet_correspondence`).
        snippet_negatives: ``"queue"`` (the snippet queue of video-mean snippet embeddings, as the paper) or
            ``"batch"`` (every snippet of the other videos of the batch; no queue, no key-age signal).
        snippet_key: ``"auto"`` (other-tempo key with ``relative_tempo``, else the key), ``"key"`` or
            ``"key_tempo"``.
        snippet_queue_size: K of the snippet queue (default: ``queue_size``).
        snippet_mining_topk: queue neighbours added as positives when mining (5).
    """

    def __init__(self, backbone: str | nn.Module = "agcn_loc", *, backbone_args: Mapping[str, Any] | None = None,
                 feature_dim: int = 128, queue_size: int = 32768, momentum: float = 0.999,
                 temperature: float = 0.07, mlp: bool = False, relative_tempo: bool = False,
                 mining_epoch: int | None = None, mining_topk: int = 1, init: str = "moco", seed: int = 0,
                 num_snippets: int = 19, snippet_weight: float = 1.5, snippet_match: Match = "argmax",
                 snippet_key: Literal["auto", "key", "key_tempo"] = "auto",
                 snippet_queue_size: int | None = None, snippet_mining_topk: int = 5,
                 negatives: Negatives = "queue", symmetric: bool = False,
                 snippet_negatives: Negatives = "queue") -> None:
        if snippet_match not in _MATCHES:
            raise ValueError(f"snippet_match must be one of {_MATCHES}, got {snippet_match!r}")
        if snippet_negatives not in ("queue", "batch"):
            raise ValueError(f"snippet_negatives must be 'queue' or 'batch', got {snippet_negatives!r}")
        if snippet_key not in ("auto", "key", "key_tempo"):
            raise ValueError(f"snippet_key must be 'auto', 'key' or 'key_tempo', got {snippet_key!r}")
        if snippet_key == "key_tempo" and not relative_tempo:
            raise ValueError("snippet_key='key_tempo' needs relative_tempo=True")
        bb = build_backbone(backbone, backbone_args)
        dense = SnippetHead(feature_width(bb), feature_dim, num_snippets)
        super().__init__(bb, feature_dim=feature_dim, queue_size=queue_size, momentum=momentum,
                         temperature=temperature, mlp=mlp, relative_tempo=relative_tempo,
                         mining_epoch=mining_epoch, mining_topk=mining_topk, init=init, seed=seed, dense=dense,
                         negatives=negatives, symmetric=symmetric)
        self.num_snippets = int(num_snippets)
        self.snippet_weight = float(snippet_weight)
        self.snippet_match: Match = snippet_match
        self.snippet_key = ("key_tempo" if relative_tempo else "key") if snippet_key == "auto" else snippet_key
        self.snippet_mining_topk = int(snippet_mining_topk)
        self.snippet_negatives: Negatives = snippet_negatives
        self.snippet_queue = EmbeddingQueue(feature_dim, snippet_queue_size or queue_size, seed=seed + 1)

    def _snippet_source(self, k: dict[str, torch.Tensor],
                        kt: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
        return kt if (self.snippet_key == "key_tempo" and kt is not None) else k

    def compute_losses(self, q: dict[str, torch.Tensor], k: dict[str, torch.Tensor],
                       kt: dict[str, torch.Tensor] | None, epoch: int) -> dict[str, torch.Tensor]:
        out = super().compute_losses(q, k, kt, epoch)
        ks = self._snippet_source(k, kt)
        match = snippet_correspondence(q["snippet_features"], ks["snippet_features"], self.snippet_match)
        topk = self.snippet_mining_topk if self.mining(epoch) else 0
        queue = self.snippet_queue.queue.clone() if self.snippet_negatives == "queue" else None
        out["loss_snippet"] = snippet_nce(q["snippet"], ks["snippet"], queue, match, self.temperature,
                                          mining_topk=topk)
        out["loss"] = out["loss"] + self.snippet_weight * out["loss_snippet"]
        return out

    @torch.no_grad()
    def update_queues(self, k: dict[str, torch.Tensor], kt: dict[str, torch.Tensor] | None) -> None:
        super().update_queues(k, kt)
        self.snippet_queue.enqueue(concat_all_gather(self._snippet_source(k, kt)["snippet_mean"]))
