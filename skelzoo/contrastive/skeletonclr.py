"""SkeletonCLR: global instance contrast with a momentum encoder and a queue (the MoCo baseline).

Papers: L. Li et al., "3D Human Action Representation Learning via Cross-View Consistency Pursuit"
(SkeletonCLR/CrosSCLR, CVPR 2021); optional relative-tempo terms of Z. Zhu et al., RVTCLR (ICCV 2023),
as used by SnipCLR's released example (docs/method.md §3). Own implementation from docs/method.md; no code copied.

Model: encoder E = any registered skelzoo backbone (``forward_features`` -> ``(N, D, T', V, M)``), global
pool (mean over T'·V, then persons) -> instance head ``Linear(D, dim)`` (``mlp=True``: ``Linear(D, D) ->
ReLU -> Linear(D, dim)``, the MLP variant of SkeletonCLR) -> L2 normalisation. A momentum copy encodes
the key view; the queue holds ``K`` past keys.

Losses (all embeddings unit vectors, τ = ``temperature``):

- ``L_inst = NCE(q, k, Q)``; with ``relative_tempo=True`` also ``L_inst_tempo = NCE(q, k⁻, Q)`` (the key
  view at the other tempo is a positive too) and the tempo ranking loss
  ``L_tempo = mean max(0, 1 - (q_M·k_M - q_M·k⁻_M)/τ)`` on a second head ``fc_tempo``;
  the queue then stores the other-tempo keys ``k⁻`` (as the released code).
- Nearest-neighbour mining from epoch ``mining_epoch + 1`` (epochs counted from 1): the ``mining_topk``
  queue columns most similar to ``q`` join the positives (:func:`~skelzoo.contrastive.moco.multi_positive_nce`).

The AimCLR/RVTCLR part-aware "DC" branch is not implemented.

Input views are ``(N, C, T, V, M)`` batches made by :mod:`skelzoo.data.augment`.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .moco import (
    EmbeddingQueue,
    MomentumPair,
    batch_nce_logits,
    concat_all_gather,
    info_nce_logits,
    init_moco_weights,
    mining_mask,
    multi_positive_nce,
)

__all__ = ["ContrastiveEncoder", "SkeletonCLR", "build_backbone", "tempo_ranking_loss", "Negatives", "contrast"]

Negatives = Literal["queue", "batch"]


def build_backbone(backbone: str | nn.Module, backbone_args: Mapping[str, Any] | None = None) -> nn.Module:
    """A registered skelzoo backbone by name (classifier disabled: ``num_classes=0``), or ``backbone`` itself."""
    if isinstance(backbone, nn.Module):
        if backbone_args:
            raise ValueError("backbone_args are only used when the backbone is given by name")
        return backbone
    from ..models import build_model

    args = dict(backbone_args or {})
    if args.get("num_classes", 0) != 0:
        raise ValueError("pretraining backbones are built without a classifier (num_classes=0)")
    args["num_classes"] = 0
    model = build_model(backbone, **args)
    if not hasattr(model, "forward_features"):
        raise ValueError(f"{backbone!r} has no forward_features(); choose a backbone, not a localizer")
    return model


def feature_width(backbone: nn.Module) -> int:
    """Width D of the backbone's pooled features (``num_features``, else the last stage's ``num_chs``)."""
    d = getattr(backbone, "num_features", None)
    if d is None:
        info = getattr(backbone, "feature_info", None)
        if not info:
            raise ValueError("the backbone needs num_features or feature_info to size the heads")
        d = info[-1]["num_chs"]
    return int(d)


def _projection(d_in: int, d_out: int, mlp: bool) -> nn.Module:
    if mlp:
        return nn.Sequential(nn.Linear(d_in, d_in), nn.ReLU(inplace=True), nn.Linear(d_in, d_out))
    return nn.Linear(d_in, d_out)


class ContrastiveEncoder(nn.Module):
    """Backbone + projection heads. ``forward(x (N, C, T, V, M))`` returns a dict:

    ``"instance"`` ``(N, dim)`` unit vectors; ``"tempo"`` ``(N, dim)`` (when ``tempo_head``); and, when a
    ``dense`` head is given (see :class:`~skelzoo.contrastive.snippet.SnippetHead`), whatever it returns
    (snippet features / embeddings) computed on the last feature map ``(N, D, T', V, M)``.
    """

    def __init__(self, backbone: nn.Module, *, feature_dim: int = 128, mlp: bool = False,
                 tempo_head: bool = False, dense: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        d = feature_width(backbone)
        self.num_features = d
        self.fc = _projection(d, feature_dim, mlp)
        self.fc_tempo = _projection(d, feature_dim, mlp) if tempo_head else None
        self.dense = dense

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.backbone.forward_features(x)           # (N, D, T', V, M)
        g = h.mean(dim=(2, 3)).mean(dim=-1)             # (N, D)
        out = {"instance": F.normalize(self.fc(g).float(), dim=1)}
        if self.fc_tempo is not None:
            out["tempo"] = F.normalize(self.fc_tempo(g).float(), dim=1)
        if self.dense is not None:
            out.update(self.dense(h))
        return out


def _positive_mask(logits: torch.Tensor, target: torch.Tensor, topk: int) -> torch.Tensor:
    """Positives of in-batch logits ``(B, B_all)``: each row's ``target`` column plus, when mining, the
    ``topk`` other columns with the highest logits."""
    rows = torch.arange(logits.shape[0], device=logits.device)
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[rows, target] = True
    if topk > 0 and logits.shape[1] > 1:
        others = logits.detach().clone()
        others[rows, target] = float("-inf")
        mask.scatter_(1, others.topk(min(topk, logits.shape[1] - 1), dim=1).indices, True)
    return mask


def contrast(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor | None, temperature: float, *,
             mining_topk: int = 0, mask: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """InfoNCE of unit queries ``q`` ``(B, D)`` against their keys ``k`` ``(B, D)``.

    Negatives: the ``queue`` ``(D, K)`` columns, or, with ``queue=None``, the other samples' keys of the batch
    (all ranks). Returns ``(loss, top-1 accuracy, positive mask)``; ``mask`` reuses the positives of an
    earlier call (the relative-tempo term shares the mined columns, as the released code).
    """
    if queue is not None:
        logits = info_nce_logits(q, k, queue, temperature)
        target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        if mask is None:
            mask = mining_mask(logits, mining_topk)
    else:
        logits, target = batch_nce_logits(q, k, temperature)
        if mask is None:
            mask = _positive_mask(logits, target, mining_topk)
    if int(mask.sum()) == mask.shape[0]:  # one positive per row: plain (fused) cross-entropy
        loss = F.cross_entropy(logits.float(), target)
    else:
        loss = multi_positive_nce(logits, mask)
    with torch.no_grad():
        acc = (logits.argmax(dim=1) == target).float().mean()
    return loss, acc, mask


def tempo_ranking_loss(q: torch.Tensor, k_same: torch.Tensor, k_other: torch.Tensor,
                       temperature: float = 0.07, margin: float = 1.0) -> torch.Tensor:
    """``mean_b max(0, margin - (q·k_same - q·k_other)/τ)`` (RVTCLR relative-tempo ranking)."""
    diff = ((q * k_same).sum(1) - (q * k_other).sum(1)) / temperature
    return F.relu(margin - diff).mean()


class SkeletonCLR(MomentumPair):
    """MoCo-style global instance contrast on any skelzoo backbone (see the module docstring).

    Args:
        backbone: a registered backbone name (built with ``backbone_args`` and ``num_classes=0``) or a module
            with ``forward_features``.
        feature_dim: embedding width (128).
        queue_size: K (32768).
        momentum: key-encoder momentum m (0.999).
        temperature: τ (0.07).
        mlp: MLP instance head instead of one linear layer (SnipCLR/RVTCLR: linear).
        relative_tempo: RVTCLR terms (needs the ``key_tempo`` view, see :meth:`forward`).
        mining_epoch: nearest-neighbour mining from epoch ``mining_epoch + 1``; ``None`` = never.
        mining_topk: queue neighbours added as positives (1).
        init: ``"moco"`` (Conv/Linear ``N(0, 0.02²)``, BN ``N(1, 0.02²)``, as the released code) or
            ``"backbone"`` (keep the backbone's own initialisation).
        seed: seed of the queue initialisation.
        negatives: ``"queue"`` (MoCo, the paper) or ``"batch"``: the other samples' keys of the same step
            (every key equally fresh, so the key encoder's drift cannot identify the positive; the queue is
            then kept but unused).
        symmetric: also contrast the key view's query against the query view's key and average the two
            losses (each view is encoded by both encoders: twice the compute). Not with ``relative_tempo``.
    """

    def __init__(self, backbone: str | nn.Module = "agcn_loc", *, backbone_args: Mapping[str, Any] | None = None,
                 feature_dim: int = 128, queue_size: int = 32768, momentum: float = 0.999,
                 temperature: float = 0.07, mlp: bool = False, relative_tempo: bool = False,
                 mining_epoch: int | None = None, mining_topk: int = 1, init: str = "moco", seed: int = 0,
                 dense: nn.Module | None = None, negatives: Negatives = "queue", symmetric: bool = False) -> None:
        if init not in ("moco", "backbone"):
            raise ValueError(f"init must be 'moco' or 'backbone', got {init!r}")
        if negatives not in ("queue", "batch"):
            raise ValueError(f"negatives must be 'queue' or 'batch', got {negatives!r}")
        if symmetric and relative_tempo:
            raise ValueError("symmetric=True is not supported with relative_tempo=True")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        encoder = ContrastiveEncoder(build_backbone(backbone, backbone_args), feature_dim=feature_dim, mlp=mlp,
                                     tempo_head=relative_tempo, dense=dense)
        if init == "moco":
            init_moco_weights(encoder)
        super().__init__(encoder, momentum)  # key encoder copied after the init (docs/method.md §11.15, clean)
        self.temperature = float(temperature)
        self.relative_tempo = bool(relative_tempo)
        self.mining_epoch = mining_epoch
        self.mining_topk = int(mining_topk)
        self.negatives: Negatives = negatives
        self.symmetric = bool(symmetric)
        self.queue = EmbeddingQueue(feature_dim, queue_size, seed=seed)

    @property
    def backbone(self) -> nn.Module:
        """The query encoder's backbone (what finetuning initialises from)."""
        return self.encoder_q.backbone

    def mining(self, epoch: int) -> bool:
        """Whether nearest-neighbour mining is active at ``epoch`` (counted from 1)."""
        return self.mining_epoch is not None and epoch > self.mining_epoch

    # -------------------------------------------------------------------------------------- forward
    def forward(self, query: torch.Tensor, key: torch.Tensor, key_tempo: torch.Tensor | None = None, *,
                epoch: int = 1) -> dict[str, torch.Tensor]:
        """Losses of one batch; updates the key encoder (before the keys) and the queues (after the losses).

        Args:
            query: strong view ``(N, C, T, V, M)``.
            key: key view at the query's tempo.
            key_tempo: key view at the other tempo (``relative_tempo=True`` only).
            epoch: current epoch, counted from 1 (for mining).

        Returns:
            dict with ``"loss"`` (the total, differentiable) and detached components.
        """
        if self.relative_tempo and key_tempo is None:
            raise ValueError("relative_tempo=True needs the key_tempo view")
        if self.symmetric:
            return self._forward_symmetric(query, key, epoch)
        q = self.encoder_q(query)
        with torch.no_grad():
            self.update_key_encoder()
            k = self.encoder_k(key)
            kt = self.encoder_k(key_tempo) if key_tempo is not None else None
        losses = self.compute_losses(q, k, kt, epoch)
        self.update_queues(k, kt)
        return losses

    def _forward_symmetric(self, query: torch.Tensor, key: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        """Both directions (query->key and key->query) in one batch of ``2N``; losses averaged."""
        n = query.shape[0]
        both = torch.cat([query, key])
        q = self.encoder_q(both)
        with torch.no_grad():
            self.update_key_encoder()
            k = self.encoder_k(torch.cat([key, query]))
        half = [{name: v[:n] for name, v in d.items()} for d in (q, k)]
        other = [{name: v[n:] for name, v in d.items()} for d in (q, k)]
        a = self.compute_losses(half[0], half[1], None, epoch)
        b = self.compute_losses(other[0], other[1], None, epoch)
        out = {name: (a[name] + b[name]) / 2 for name in a}
        self.update_queues(half[1], None)
        return out

    def compute_losses(self, q: dict[str, torch.Tensor], k: dict[str, torch.Tensor],
                       kt: dict[str, torch.Tensor] | None, epoch: int) -> dict[str, torch.Tensor]:
        """Instance (+ tempo) losses from the encoder outputs; subclasses add terms."""
        tau = self.temperature
        # the queue is updated in place after the loss
        queue = self.queue.queue.clone() if self.negatives == "queue" else None
        topk = self.mining_topk if self.mining(epoch) else 0
        out: dict[str, torch.Tensor] = {}
        out["loss_instance"], out["acc_instance"], mask = contrast(q["instance"], k["instance"], queue, tau,
                                                                   mining_topk=topk)
        total = out["loss_instance"]
        if self.relative_tempo and kt is not None:
            # mined columns depend on q and the negatives only: one mask for both terms (as the released code)
            out["loss_instance_tempo"], _, _ = contrast(q["instance"], kt["instance"], queue, tau, mask=mask)
            out["loss_tempo"] = tempo_ranking_loss(q["tempo"], k["tempo"], kt["tempo"], tau)
            total = total + out["loss_instance_tempo"] + out["loss_tempo"]
        out["loss"] = total
        return out

    @torch.no_grad()
    def update_queues(self, k: dict[str, torch.Tensor], kt: dict[str, torch.Tensor] | None) -> None:
        """Enqueue the keys of every rank (the other-tempo keys with ``relative_tempo``)."""
        src = kt if (self.relative_tempo and kt is not None) else k
        self.queue.enqueue(concat_all_gather(src["instance"]))
