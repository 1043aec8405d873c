"""Probes of frozen encoders: how much action content their pooled features carry.

A sceptic's test of self-supervised pretraining: freeze the encoder, pool its last feature map over time,
joints and persons, and classify labelled windows with

- :func:`knn_probe`: k-nearest-neighbour vote (cosine similarity) of query windows against a labelled bank;
- :func:`linear_probe`: a linear (softmax) classifier trained on the bank's features only — a true linear
  probe: the encoder never changes, nothing but one ``Linear(D, K)`` is fitted.

Both return overall accuracy and per-class recall, so that "better than a random encoder" can be checked
class by class. Features come from :func:`pooled_features`; :func:`center_windows` cuts one fixed window
per labelled sequence of a prepared dataset.

Letters: N windows, D feature width, K classes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.derived import cached_weights

__all__ = ["ProbeResult", "ProbeComparison", "center_windows", "pooled_features", "knn_probe", "linear_probe",
           "compare_to_random", "beats_random"]


@dataclass
class ProbeResult:
    """Accuracy (fraction in [0, 1]) and per-class recall of a probe."""

    accuracy: float
    per_class: dict[int, float] = field(default_factory=dict)
    num_queries: int = 0

    @property
    def balanced_accuracy(self) -> float:
        """Mean of the per-class recalls (classes present among the queries)."""
        return float(np.mean(list(self.per_class.values()))) if self.per_class else float("nan")

    def as_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        name = (lambda c: class_names[c]) if class_names is not None else str  # noqa: E731
        return {"accuracy": self.accuracy, "balanced_accuracy": self.balanced_accuracy,
                "num_queries": self.num_queries, "per_class": {name(c): r for c, r in self.per_class.items()}}


def _result(pred: torch.Tensor, labels: torch.Tensor) -> ProbeResult:
    correct = pred == labels
    per = {int(c): float(correct[labels == c].float().mean()) for c in torch.unique(labels).tolist()}
    return ProbeResult(float(correct.float().mean()) if len(labels) else float("nan"), per, int(len(labels)))


def center_windows(prepared: Any, split: str, frames: int, *, max_label: int | None = None,
                   where: dict[str, Any] | None = None, num_persons: int = 1,
                   transform: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One window of ``frames`` frames from the middle of every sequence of ``split`` -> ``(x, labels)``.

    Args:
        prepared: a :class:`~skelzoo.data.prepare.PreparedDataset` (or its path) whose sequences each hold one
            labelled action (e.g. ``skelzoo data prepare bandai-clips``).
        split: split name.
        frames: window length; shorter sequences are zero-padded at the end.
        max_label: keep only sequences whose label (majority frame label of the window) is below this.
        where: keep only sequences whose ``meta`` has these key/value pairs (e.g. ``{"dataset": 2}``).
        num_persons: persons kept (padding with zeros).
        transform: optional ``f(data (T, M, V, C)) -> data`` applied to each whole sequence first (e.g. the
            body-size normalisation the encoder was trained with).

    Returns:
        ``x`` float32 ``(N, C, frames, V, M)`` and ``labels`` long ``(N,)``.
    """
    from ..data.datasets import fit_persons, to_ctvm_tensor
    from ..data.prepare import PreparedDataset

    ds = prepared if isinstance(prepared, PreparedDataset) else PreparedDataset(prepared)
    xs, ys = [], []
    for i in range(ds.num_sequences(split)):
        if where and any(ds.meta(split, i).get(k) != v for k, v in where.items()):
            continue
        data, lab = ds.get(split, i)                                   # (T, M, V, C), (T,)
        if transform is not None:
            data = transform(data)
        t = data.shape[0]
        start = max((t - frames) // 2, 0)
        win, wl = data[start:start + frames], lab[start:start + frames]
        wl = wl[wl >= 0]
        if len(wl) == 0:
            continue
        y = int(np.bincount(wl).argmax())
        if max_label is not None and y >= max_label:
            continue
        win = fit_persons(win, num_persons)
        if win.shape[0] < frames:
            win = np.concatenate([win, np.zeros((frames - win.shape[0],) + win.shape[1:], win.dtype)])
        xs.append(to_ctvm_tensor(win))
        ys.append(y)
    if not xs:
        raise ValueError(f"{ds.root}: no labelled sequence in split {split!r} matches")
    return torch.stack(xs), torch.tensor(ys, dtype=torch.long)


@torch.no_grad()
def pooled_features(backbone: nn.Module, x: torch.Tensor, *, batch_size: int = 64) -> torch.Tensor:
    """Frozen features ``(N, D)``: ``backbone.forward_features(x)`` ``(N, D, T', V, M)`` averaged over T', V
    and M, in eval mode (the module's training flag is restored)."""
    was = backbone.training
    backbone.eval()
    try:
        dev = next(backbone.parameters()).device
        with cached_weights(backbone):  # the batches reuse the folded inference weights
            out = [backbone.forward_features(x[i:i + batch_size].to(dev)).float().mean(dim=(2, 3, 4)).cpu()
                   for i in range(0, len(x), batch_size)]
    finally:
        backbone.train(was)
    return torch.cat(out)


def knn_probe(bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor, query_labels: torch.Tensor,
              *, k: int = 1, temperature: float = 0.07) -> ProbeResult:
    """k-NN classification by cosine similarity. ``k = 1``: the nearest bank window's label; ``k > 1``: votes
    weighted by ``exp(sim / temperature)`` (as the instance-discrimination literature's kNN monitor)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    b = F.normalize(bank.float(), dim=1)
    q = F.normalize(queries.float(), dim=1)
    sim = q @ b.t()                                                     # (Nq, Nb)
    k = min(k, b.shape[0])
    top, idx = sim.topk(k, dim=1)
    if k == 1:
        pred = bank_labels[idx[:, 0]]
    else:
        n_cls = int(max(bank_labels.max(), query_labels.max())) + 1
        votes = torch.zeros(q.shape[0], n_cls)
        votes.scatter_add_(1, bank_labels[idx], (top / temperature).exp())
        pred = votes.argmax(dim=1)
    return _result(pred, query_labels)


def linear_probe(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor,
                 *, epochs: int = 300, lr: float = 0.05, weight_decay: float = 1e-4, seed: int = 0) -> ProbeResult:
    """Softmax regression on standardised frozen features (full-batch Adam, ``epochs`` steps, cosine decay).

    The mean and standard deviation come from the training features only. Deterministic given ``seed``.
    """
    g = torch.Generator().manual_seed(int(seed))
    mu = train.float().mean(0, keepdim=True)
    sd = train.float().std(0, keepdim=True).clamp(min=1e-6)
    xtr, xte = (train.float() - mu) / sd, (test.float() - mu) / sd
    n_cls = int(max(train_labels.max(), test_labels.max())) + 1
    lin = nn.Linear(xtr.shape[1], n_cls)
    with torch.no_grad():
        lin.weight.normal_(0.0, 0.01, generator=g)
        lin.bias.zero_()
    opt = torch.optim.Adam(lin.parameters(), lr=lr, weight_decay=weight_decay)
    for step in range(epochs):
        for grp in opt.param_groups:
            grp["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / epochs))
        loss = F.cross_entropy(lin(xtr), train_labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = lin(xte).argmax(dim=1)
    return _result(pred, test_labels)


# --------------------------------------------------------------------------------- pretrained vs random
@dataclass(frozen=True)
class ProbeComparison:
    """One probe's accuracies over seeds: pretrained encoders of one recipe against random encoders of the
    same architecture. ``clear`` when the pretrained mean exceeds the random mean by more than the sum of the
    two sample standard deviations (at least 2 seeds on each side: a single seed has no spread to judge by)."""

    pretrained: tuple[float, ...]
    random: tuple[float, ...]

    @staticmethod
    def _mean_sd(v: Sequence[float]) -> tuple[float, float]:
        m = float(np.mean(v)) if len(v) else float("nan")
        return m, (float(np.std(v, ddof=1)) if len(v) > 1 else float("nan"))

    @property
    def margin(self) -> float:
        """pretrained mean - random mean."""
        return self._mean_sd(self.pretrained)[0] - self._mean_sd(self.random)[0]

    @property
    def spread(self) -> float:
        """sd(pretrained) + sd(random) (NaN with fewer than 2 seeds on a side)."""
        return self._mean_sd(self.pretrained)[1] + self._mean_sd(self.random)[1]

    @property
    def random_bar(self) -> float:
        """mean(random) + sd(random) (NaN with fewer than 2 random seeds)."""
        return sum(self._mean_sd(self.random))

    @property
    def clear(self) -> bool:
        return len(self.pretrained) >= 2 and len(self.random) >= 2 and self.margin > self.spread

    def as_dict(self) -> dict[str, Any]:
        (mp, sp), (mr, sr) = self._mean_sd(self.pretrained), self._mean_sd(self.random)
        r = lambda v: None if math.isnan(v) else round(v, 2)  # noqa: E731
        return {"pretrained_mean": r(mp), "pretrained_sd": r(sp), "random_mean": r(mr), "random_sd": r(sr),
                "pretrained": [round(v, 2) for v in self.pretrained], "random": [round(v, 2) for v in self.random],
                "clear": self.clear}


def compare_to_random(pretrained: Sequence[float], random: Sequence[float]) -> ProbeComparison:
    """A :class:`ProbeComparison` of two lists of accuracies (any unit, the same for both)."""
    vals = [float(v) for v in (*pretrained, *random)]
    if any(math.isnan(v) for v in vals):
        raise ValueError("probe accuracies must not be NaN")
    return ProbeComparison(tuple(float(v) for v in pretrained), tuple(float(v) for v in random))


def beats_random(comparisons: dict[str, ProbeComparison]) -> tuple[bool, str]:
    """skelzoo's rule for shipping a self-supervised encoder: over its pretraining seeds it beats random encoders
    of the same architecture **clearly on at least one probe** (:attr:`ProbeComparison.clear`) **and is not
    behind on any** (pretrained mean >= random mean). Returns ``(verdict, reason in words)``."""
    if not comparisons:
        return False, "no probe results"
    clear = [k for k, c in comparisons.items() if c.clear]
    behind = [k for k, c in comparisons.items() if not c.margin >= 0]
    few = [k for k, c in comparisons.items() if len(c.pretrained) < 2 or len(c.random) < 2]
    words = "; ".join(f"{k} {c.margin:+.1f} (spread {c.spread:.1f})" for k, c in comparisons.items())
    if few:
        return False, f"fewer than 2 seeds on a side ({', '.join(few)}): {words}"
    if behind:
        return False, f"behind random on {', '.join(behind)}: {words}"
    if not clear:
        return False, f"no probe clears the seed spread: {words}"
    return True, f"clear on {', '.join(clear)}: {words}"
