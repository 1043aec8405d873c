"""Frame-wise action-segmentation metrics: frame accuracy, segmental F1@k and edit score.

Definitions follow the standard action-segmentation evaluation (Lea et al. 2017; MS-TCN, Farha & Gall 2019):

- **frame accuracy**: correctly labelled valid frames / valid frames x 100, pooled over all sequences
  (padded frames excluded through ``mask`` or ``lengths``). NaN when there is no valid frame.
- **segments**: maximal runs of equal labels in a sequence (after dropping padded frames).
- **edit score**: ``(1 - D / max(m, n)) x 100`` with D the Levenshtein distance between the predicted and
  true segment label sequences (lengths m, n); per sequence, averaged over sequences. 100 when both
  sequences are empty.
- **F1@k**: predicted segments in time order; each is compared with the GT segments *of the same label*,
  its best GT is the one of largest IoU (first on ties); it is a TP when that IoU >= k and the best GT was
  not already hit, otherwise a FP; FN = GT segments never hit. TP/FP/FN are summed over all sequences,
  then ``F1 = 2PR / (P + R) x 100`` (P = TP/(TP+FP), R = TP/(TP+FN)); 100 when there is no segment at all
  (nothing to find and nothing predicted), 0 when TP = 0 otherwise.

Background: with ``background=None`` (default, MS-TCN datasets without a background class) every label is an
action. With ``background=b``, runs labelled ``b`` are removed from both segment lists before the edit score
and F1 (MS-TCN's ``bg_class``); frame accuracy always counts every valid frame, background included.

Inputs: per-frame integer labels ``(T,)`` for one sequence, ``(N, T)`` for a padded batch, or a list of
``(T_i,)`` arrays. ``mask`` (same shape, True = valid) or ``lengths`` (``(N,)``) exclude padding; masked
frames are removed (with a mask that is not a prefix, the remaining frames are joined).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "DEFAULT_F1_OVERLAPS",
    "frame_accuracy",
    "edit_score",
    "f1_counts",
    "f1_score",
    "levenshtein",
    "segmentation_scores",
]

#: Overlap thresholds of F1@{10, 25, 50}.
DEFAULT_F1_OVERLAPS: tuple[float, ...] = (0.10, 0.25, 0.50)


# ----------------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------------
def _np(x: Any) -> Any:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return x


def _as_list(x: Any) -> list[np.ndarray]:
    """Sequences of a ``(T,)`` array, a ``(N, T)`` array or a list of ``(T_i,)`` arrays."""
    x = _np(x)
    if isinstance(x, np.ndarray):
        if x.ndim == 1:
            return [x]
        if x.ndim == 2:
            return list(x)
        raise ValueError(f"labels must have shape (T,) or (N, T), got {x.shape}")
    items = [np.asarray(_np(s)) for s in x]
    if items and all(i.ndim == 0 for i in items):  # a flat list of ints: one sequence
        return [np.asarray(items)]
    return items


def _sequences(pred: Any, target: Any, mask: Any = None, lengths: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pair up prediction and target sequences and drop padded frames; returns ``[(p_i, t_i)]``, each ``(T_i,)``."""
    preds, targets = _as_list(pred), _as_list(target)
    if len(preds) != len(targets):
        raise ValueError(f"{len(preds)} predicted sequences for {len(targets)} target sequences")
    if mask is not None and lengths is not None:
        raise ValueError("pass mask= or lengths=, not both")
    masks = _as_list(mask) if mask is not None else [None] * len(preds)
    lens = np.asarray(_np(lengths)).reshape(-1).tolist() if lengths is not None else [None] * len(preds)
    if len(masks) != len(preds) or len(lens) != len(preds):
        raise ValueError("mask / lengths must have one entry per sequence")
    out = []
    for i, (p, t, m, n) in enumerate(zip(preds, targets, masks, lens)):
        p, t = np.asarray(p).reshape(-1), np.asarray(t).reshape(-1)
        if p.shape != t.shape:
            raise ValueError(f"sequence {i}: prediction has {p.size} frames, target {t.size}")
        if m is not None:
            m = np.asarray(m, dtype=bool).reshape(-1)
            if m.shape != p.shape:
                raise ValueError(f"sequence {i}: mask has {m.size} frames, labels {p.size}")
            p, t = p[m], t[m]
        elif n is not None:
            if not 0 <= int(n) <= p.size:
                raise ValueError(f"sequence {i}: length {n} out of range for {p.size} frames")
            p, t = p[: int(n)], t[: int(n)]
        out.append((p.astype(np.int64), t.astype(np.int64)))
    return out


def _runs(labels: np.ndarray, background: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(label, start, end)`` of the maximal runs of ``labels`` ``(T,)``, background runs dropped."""
    if labels.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [labels.size]))
    lab = labels[starts]
    if background is not None:
        keep = lab != background
        lab, starts, ends = lab[keep], starts[keep], ends[keep]
    return lab, starts, ends


# ----------------------------------------------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------------------------------------------
def frame_accuracy(pred: Any, target: Any, *, mask: Any = None, lengths: Any = None) -> float:
    """Frame accuracy x 100 pooled over all valid frames (NaN when there is none).

    Args:
        pred, target: labels ``(T,)``, ``(N, T)`` or lists of ``(T_i,)``.
        mask: True for valid frames (same shape as the labels).
        lengths: valid length of each sequence ``(N,)`` (alternative to ``mask``).
    """
    pairs = _sequences(pred, target, mask, lengths)
    total = sum(p.size for p, _ in pairs)
    if total == 0:
        return float("nan")
    correct = sum(int(np.count_nonzero(p == t)) for p, t in pairs)
    return 100.0 * correct / total


def levenshtein(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """Levenshtein distance between two label sequences (unit costs); rows of the DP table are vectorised."""
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.size == 0 or b.size == 0:
        return int(max(a.size, b.size))
    cols = np.arange(b.size + 1)
    prev = cols.copy()
    for i in range(1, a.size + 1):
        diag_or_up = np.minimum(prev[:-1] + (a[i - 1] != b), prev[1:] + 1)
        row = np.concatenate(([i], diag_or_up))
        prev = np.minimum.accumulate(row - cols) + cols  # left-to-right insertions
    return int(prev[-1])


def edit_score(pred: Any, target: Any, *, background: int | None = None) -> float:
    """Segmental edit score x 100 of one sequence ``(T,)`` (100 when both have no segment)."""
    (p, t), = _sequences(np.asarray(_np(pred)).reshape(-1), np.asarray(_np(target)).reshape(-1))
    return _edit(p, t, background)


def _edit(p: np.ndarray, t: np.ndarray, background: int | None) -> float:
    pl, tl = _runs(p, background)[0], _runs(t, background)[0]
    longest = max(pl.size, tl.size)
    if longest == 0:
        return 100.0
    return 100.0 * (1.0 - levenshtein(pl, tl) / longest)


def f1_counts(pred: Any, target: Any, overlaps: Iterable[float] = DEFAULT_F1_OVERLAPS, *,
              background: int | None = None) -> np.ndarray:
    """TP, FP, FN of one sequence ``(T,)`` at each overlap; int array ``(len(overlaps), 3)``."""
    (p, t), = _sequences(np.asarray(_np(pred)).reshape(-1), np.asarray(_np(target)).reshape(-1))
    return _f1_counts(p, t, _check_overlaps(overlaps), background)


def _check_overlaps(overlaps: Iterable[float]) -> np.ndarray:
    ov = np.asarray([float(o) for o in overlaps], dtype=np.float64)
    if ov.size == 0 or np.any(ov <= 0) or np.any(ov > 1):
        raise ValueError(f"F1 overlaps must be in (0, 1], got {ov.tolist()}")
    return ov


def _f1_counts(p: np.ndarray, t: np.ndarray, overlaps: np.ndarray, background: int | None) -> np.ndarray:
    pl, ps, pe = _runs(p, background)
    tl, ts, te = _runs(t, background)
    counts = np.zeros((overlaps.size, 3), dtype=np.int64)
    if pl.size == 0 or tl.size == 0:
        counts[:, 1], counts[:, 2] = pl.size, tl.size
        return counts
    inter = np.maximum(np.minimum(pe[:, None], te[None]) - np.maximum(ps[:, None], ts[None]), 0)
    union = (pe - ps)[:, None] + (te - ts)[None] - inter
    iou = np.where(pl[:, None] == tl[None], inter / union, 0.0)  # (n_pred, n_gt)
    best = np.argmax(iou, axis=1)
    best_iou = iou[np.arange(pl.size), best]
    for k, ov in enumerate(overlaps):
        # the best GT of a prediction does not depend on hits, so TP = distinct best GTs among qualifiers
        tp = np.unique(best[best_iou >= ov]).size
        counts[k] = (tp, pl.size - tp, tl.size - tp)
    return counts


def _f1_from_counts(tp: int, fp: int, fn: int) -> float:
    if tp + fp + fn == 0:
        return 100.0
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 100.0 * 2.0 * precision * recall / (precision + recall)


def f1_score(pred: Any, target: Any, overlap: float = 0.1, *, background: int | None = None) -> float:
    """Segmental F1 x 100 at one overlap for one sequence ``(T,)``."""
    tp, fp, fn = f1_counts(pred, target, [overlap], background=background)[0].tolist()
    return _f1_from_counts(tp, fp, fn)


def segmentation_scores(
    pred: Any,
    target: Any,
    *,
    mask: Any = None,
    lengths: Any = None,
    overlaps: Iterable[float] = DEFAULT_F1_OVERLAPS,
    background: int | None = None,
) -> dict[str, float]:
    """Dataset-level accuracy, edit and F1@k (MS-TCN style), all x 100.

    Args:
        pred, target: labels ``(T,)``, ``(N, T)`` or lists of ``(T_i,)``.
        mask / lengths: valid frames, see the module docstring.
        overlaps: F1 overlap thresholds (default 0.10, 0.25, 0.50).
        background: label excluded from the segment metrics (None = every label is an action).

    Returns:
        ``{"accuracy": ..., "edit": ..., "F1@10": ..., "F1@25": ..., "F1@50": ...}``: accuracy pooled over
        frames, edit averaged over sequences, F1 from TP/FP/FN summed over sequences.
    """
    pairs = _sequences(pred, target, mask, lengths)
    ov = _check_overlaps(overlaps)
    total = sum(p.size for p, _ in pairs)
    correct = sum(int(np.count_nonzero(p == t)) for p, t in pairs)
    counts = np.zeros((ov.size, 3), dtype=np.int64)
    for p, t in pairs:
        counts += _f1_counts(p, t, ov, background)
    out: dict[str, float] = {
        "accuracy": 100.0 * correct / total if total else float("nan"),
        "edit": float(np.mean([_edit(p, t, background) for p, t in pairs])) if pairs else float("nan"),
    }
    for o, (tp, fp, fn) in zip(ov.tolist(), counts.tolist()):
        out[f"F1@{round(100 * o):d}"] = _f1_from_counts(tp, fp, fn)
    return out
