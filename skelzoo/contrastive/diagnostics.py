"""Diagnostics of a contrastive pretraining state: does the model solve the task, or a shortcut?

- :func:`key_age_profile`: mean similarity of fresh queries to the queue's keys, by the keys' age in steps.
  A profile that falls with age means every key carries a time stamp (the key encoder drifts between
  steps), which a queue-based loss can exploit: the positive is always the freshest key.
- :func:`freshness_test`: instance top-1 of the same queries when the keys are computed after 0, 1, 3, ...
  extra momentum updates of the key encoder. If top-1 depends strongly on the number of updates, most of
  the reported instance accuracy is the query picking the freshest key.
- :func:`snippet_matching`: how often the snippet correspondence finds the right key snippet when the
  key view is the query view shifted by a known number of frames, and how many distinct key snippets the
  matches use (a few "hub" snippets = most positives wrong).

All functions leave the model unchanged (they work on copies or under ``torch.no_grad``) and take batches
``(N, C, T, V, M)`` made the way the training made them (see :func:`skelzoo.training.pretrain.make_views`).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from .moco import momentum_update
from .snippet import snippet_correspondence

__all__ = ["key_age_profile", "freshness_test", "snippet_matching"]


def _queue_ages(ptr: int, size: int, batch: int) -> torch.Tensor:
    """Age in steps of every queue column ``(K,)``: 1 for the columns written by the last enqueue."""
    j = torch.arange(size)
    return ((ptr - 1 - j) % size) // batch + 1


@torch.no_grad()
def key_age_profile(model: nn.Module, queries: torch.Tensor, *, batch: int) -> dict[int, float]:
    """``{age: mean q·key}`` over the queue columns of each age (in steps of ``batch`` keys).

    Args:
        model: a :class:`~skelzoo.contrastive.skeletonclr.SkeletonCLR` (or SnipCLR) with a filled queue.
        queries: query views ``(N, C, T, V, M)``.
        batch: keys enqueued per step during training (the global batch size).
    """
    was = model.training
    model.train()  # training-mode BN, as when the keys were made
    try:
        q = model.encoder_q(queries)["instance"]                                  # (N, D)
    finally:
        model.train(was)
    queue = model.queue.queue                                                     # (D, K)
    sim = (q @ queue).mean(dim=0)                                                 # (K,)
    ages = _queue_ages(int(model.queue.ptr.item()), queue.shape[1], batch)
    return {int(a): float(sim[ages == a].mean()) for a in torch.unique(ages).tolist()}


@torch.no_grad()
def freshness_test(model: nn.Module, query: torch.Tensor, key: torch.Tensor,
                   updates: Sequence[int] = (0, 1, 3)) -> dict[int, float]:
    """``{n: instance top-1 against [key, queue]}`` with the keys computed after ``n`` extra momentum updates
    of a copy of the key encoder (the queue is not changed). Training-mode BN, as in training."""
    out = {}
    for n in updates:
        m = copy.deepcopy(model)
        m.train()
        for _ in range(int(n)):
            momentum_update(m.encoder_q, m.encoder_k, m.momentum)
        q = m.encoder_q(query)["instance"]
        k = m.encoder_k(key)["instance"]
        l_pos = (q * k).sum(dim=1, keepdim=True)
        l_neg = q @ m.queue.queue
        out[int(n)] = float((torch.cat([l_pos, l_neg], dim=1).argmax(dim=1) == 0).float().mean())
    return out


@torch.no_grad()
def snippet_matching(model: nn.Module, query: torch.Tensor, key: torch.Tensor, shift: int,
                     match: str | None = None) -> dict[str, float]:
    """Snippet correspondence against a known offset.

    ``query`` and ``key`` ``(N, C, T, V, M)`` are views of the same clips where the key starts ``shift``
    frames later (e.g. frames ``[0, T)`` and ``[shift, T + shift)`` of a longer window, each augmented
    without a temporal crop). Query snippet ``i`` then shows the frames of key snippet ``i - shift / L`` with
    ``L = T / S`` frames per snippet. Query snippets whose partner lies outside the key view are not scored.

    Returns ``{"exact", "within1", "chance_within1", "distinct"}``: the fractions matched exactly and within
    one snippet, the chance level of the latter (uniform matching), and the mean number of distinct key
    snippets that the S query snippets of a sample are matched to (S = perfect, 1 = all on one hub).
    """
    s = model.encoder_q.dense.num_snippets
    frames = query.shape[2]
    if frames % s:
        raise ValueError(f"frames ({frames}) must be a multiple of the number of snippets ({s})")
    per = frames // s
    was = model.training
    model.train()
    try:
        f_q = model.encoder_q(query)["snippet_features"]
        f_k = model.encoder_k(key)["snippet_features"]
    finally:
        model.train(was)
    j = snippet_correspondence(f_q, f_k, match or model.snippet_match)          # (N, S)
    true = torch.arange(s) - shift / per                                         # (S,) may be fractional
    valid = (true >= 0) & (true <= s - 1)
    err = (j.float() - true[None, :]).abs()[:, valid]
    chance = [sum(1 for c in range(s) if abs(c - t) <= 1) / s for t in true[valid].tolist()]
    return {"exact": float((err < 0.5).float().mean()), "within1": float((err <= 1.0).float().mean()),
            "chance_within1": float(sum(chance) / len(chance)),
            "distinct": float(torch.tensor([len(torch.unique(r)) for r in j]).float().mean())}
