"""Segment mAP at temporal-IoU thresholds (SnipCLR / LINE evaluation, docs/method.md sections 7 and 11).

Inputs
    ``predictions``: one entry per sequence, each any of: a :class:`~skelzoo.localization.decode.Proposals`
    (or any object with array attributes ``label``, ``start``, ``end``, ``score``), a list of
    :class:`~skelzoo.localization.segments.Segment`, a list of dicts with keys ``label``, ``start``, ``end``,
    ``score``, a list of ``(label, start, end, score)`` tuples or an array ``(N, 4)``. ``end`` is exclusive.

    Ground truth: either per-sequence frame-label arrays ``(T_v,)`` plus the background index
    (``gt_labels=``, every maximal run of a non-background label is one GT segment), or per-sequence GT
    segments (``gt_segments=``; same forms as predictions, the score is ignored).

Protocols (the result records which one was used; always report it next to the numbers)
    ``"clean"`` (default)
        IoU on the exact frame sets ``P = {s .. e-1}`` and ``G = {a .. b}`` (``b`` = last GT frame).
    ``"line"``
        The official LINE / SnipCLR frame sets ``P = {s .. e}`` (the run plus the first frame after it,
        i.e. ``start .. stored_end - 1``) and ``G = {a .. b-1}`` (the run without its last frame): a perfect
        prediction of an n-frame GT scores (n-1)/(n+1) and one-frame GT segments can never be matched
        (they still count as positives).

Shared rules: per class, the predictions of all sequences are ranked by score (descending; ties keep input
order: sequence, then position); each prediction takes, among the still unmatched GT segments of its
sequence and class with IoU >= threshold, the one with the largest IoU (the earliest on ties) -> TP,
otherwise FP. AP is VOC all-point interpolated (precision envelope, recall denominator = number of GT
segments of the class; 0 when there is no prediction or no GT). mAP is the mean AP over the evaluated
classes x 100: by default every class present in the GT (background excluded; predictions of other
classes are ignored); ``classes=[0]`` reproduces the released SnipCLR snapshot (class 0 only).

Not reproduced: LINE's ``getActLoc`` drops sequences without GT and then indexes predictions by the
filtered position (harmless when every sequence has GT); here every sequence keeps its own predictions.

Vectorisation: prediction/GT pairs of the same (sequence, class) are expanded and their IoUs computed at
once; greedy matching is resolved in closed form wherever every prediction has at most one candidate GT
(the first-ranked prediction of each candidate GT wins), with a per-prediction loop only inside the
(sequence, class) groups where some prediction has two or more candidates.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

import numpy as np

from ..ranking import order_by_group_then_score

__all__ = ["tiou_key",
    "PROTOCOLS",
    "DEFAULT_TIOU_THRESHOLDS",
    "SegmentMAPResult",
    "label_runs",
    "labels_to_segments",
    "segment_map",
    "voc_ap",
]

logger = logging.getLogger(__name__)

#: Protocol names and one-line descriptions.
PROTOCOLS: dict[str, str] = {
    "clean": "exact frame-set IoU: P={s..e-1}, G={a..b}",
    "line": "official LINE/SnipCLR frame-offset IoU: P={s..e}, G={a..b-1}",
}
#: SnipCLR's tIoU thresholds; the reported average is their mean.
DEFAULT_TIOU_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)

Protocol = Literal["clean", "line"]


# ----------------------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------------------
def tiou_key(t: float) -> str:
    """The key of threshold ``t`` in a result's ``mAP`` / ``per_class`` dicts (``0.5`` -> ``"0.5"``)."""
    return f"{t:g}"


@dataclass(frozen=True)
class SegmentMAPResult:
    """Segment mAP of one evaluation.

    Attributes:
        protocol: ``"clean"`` or ``"line"``.
        tiou_thresholds: thresholds, ``(H,)``.
        classes: evaluated classes, ``(C,)``.
        map: mAP x 100 per threshold, ``(H,)``.
        average: mean of ``map`` over the thresholds (x 100).
        ap: AP in [0, 1], ``ap[h][c]`` for threshold h and class ``classes[c]``.
        num_gt: GT segments per evaluated class, ``(C,)``.
        num_pred: predictions per evaluated class, ``(C,)``.
    """

    protocol: str
    tiou_thresholds: tuple[float, ...]
    classes: tuple[int, ...]
    map: tuple[float, ...]
    average: float
    ap: tuple[tuple[float, ...], ...] = field(repr=False)
    num_gt: tuple[int, ...] = field(repr=False)
    num_pred: tuple[int, ...] = field(repr=False)

    def map_at(self, tiou: float) -> float:
        """mAP x 100 at one of the evaluated thresholds."""
        for t, m in zip(self.tiou_thresholds, self.map):
            if math.isclose(t, tiou, abs_tol=1e-9):
                return m
        raise ValueError(f"tIoU {tiou} was not evaluated; thresholds: {list(self.tiou_thresholds)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary; every number is x 100 and the protocol is recorded at the top level."""
        return {
            "protocol": self.protocol,
            "protocol_description": PROTOCOLS[self.protocol],
            "tiou_thresholds": list(self.tiou_thresholds),
            "classes": list(self.classes),
            "mAP": {tiou_key(t): m for t, m in zip(self.tiou_thresholds, self.map)},
            "average_mAP": self.average,
            "per_class_AP": {
                str(c): {tiou_key(t): 100.0 * self.ap[h][i] for h, t in enumerate(self.tiou_thresholds)}
                for i, c in enumerate(self.classes)
            },
            "num_gt": {str(c): n for c, n in zip(self.classes, self.num_gt)},
            "num_pred": {str(c): n for c, n in zip(self.classes, self.num_pred)},
        }


# ----------------------------------------------------------------------------------------------------------
# ground truth helpers
# ----------------------------------------------------------------------------------------------------------
def label_runs(labels: Any, background: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of equal frame labels.

    Args:
        labels: per-frame class indices, shape ``(T,)``.
        background: label whose runs are dropped (None keeps every run).

    Returns:
        ``(label, start, end)``, each int64 ``(S,)``, in time order; ``end`` exclusive.
    """
    lab = np.asarray(labels).reshape(-1)
    if lab.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    lab = lab.astype(np.int64)
    cuts = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    starts = np.concatenate(([0], cuts)).astype(np.int64)
    ends = np.concatenate((cuts, [lab.size])).astype(np.int64)
    run_lab = lab[starts]
    if background is not None:
        keep = run_lab != background
        run_lab, starts, ends = run_lab[keep], starts[keep], ends[keep]
    return run_lab, starts, ends


def labels_to_segments(labels: Any, background: int | None = None, *, fps: float = 30.0,
                       class_names: Sequence[str] | None = None) -> list[Any]:
    """GT segments of a frame-label array ``(T,)`` as :class:`Segment` objects (score 1.0, time order)."""
    from ..localization.segments import segments_from_arrays

    lab, s, e = label_runs(labels, background)
    return segments_from_arrays(lab, s, e, np.ones(len(lab)), fps=fps, class_names=class_names)


def _segment_arrays(item: Any, with_score: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(label, start, end, score)`` arrays of one sequence's segments (any accepted form)."""
    if all(hasattr(item, a) for a in ("label", "start", "end")) and isinstance(getattr(item, "start"), np.ndarray):
        score = getattr(item, "score", None)
        n = len(item.start)
        return (np.asarray(item.label, np.int64), np.asarray(item.start, np.int64), np.asarray(item.end, np.int64),
                np.asarray(score if score is not None else np.ones(n), np.float64))
    if isinstance(item, np.ndarray) and item.ndim == 2:
        rows = item
    else:
        rows = [_row(seg, with_score) for seg in item]
        if not rows:
            z = np.zeros(0, dtype=np.int64)
            return z, z.copy(), z.copy(), np.zeros(0)
        rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] < (4 if with_score else 3):
        need = "label, start, end, score" if with_score else "label, start, end"
        raise ValueError(f"segments must be ({need}) rows, got shape {rows.shape}")
    score = rows[:, 3].astype(np.float64) if rows.shape[1] > 3 else np.ones(len(rows))
    return rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2].astype(np.int64), score


def _row(seg: Any, with_score: bool) -> tuple[float, ...]:
    if isinstance(seg, dict):
        try:
            return (seg["label"], seg["start"], seg["end"], seg["score"] if with_score else seg.get("score", 1.0))
        except KeyError as exc:
            raise ValueError(f"segment {seg} lacks key {exc.args[0]!r} (need label, start, end"
                             f"{', score' if with_score else ''})") from None
    if hasattr(seg, "label") and hasattr(seg, "start"):
        return (seg.label, seg.start, seg.end, getattr(seg, "score", 1.0))
    return tuple(seg)


def _stack(per_video: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Concatenate per-video ``(label, start, end, score)`` arrays and add the video index (first)."""
    counts = np.array([len(p[0]) for p in per_video], dtype=np.int64)
    video = np.repeat(np.arange(len(per_video), dtype=np.int64), counts)
    if counts.sum() == 0:
        z = np.zeros(0, dtype=np.int64)
        return video, z, z.copy(), z.copy(), np.zeros(0)
    cols = [np.concatenate([p[i] for p in per_video]) for i in range(4)]
    return (video, *cols)


# ----------------------------------------------------------------------------------------------------------
# matching and AP
# ----------------------------------------------------------------------------------------------------------
def voc_ap(tp: np.ndarray, num_gt: int) -> float:
    """VOC all-point AP of a ranked TP/FP list ``(N,)`` (bool) with ``num_gt`` positives; in [0, 1]."""
    tp = np.asarray(tp, dtype=bool)
    if num_gt <= 0 or tp.size == 0 or not tp.any():
        return 0.0
    cum_tp = np.cumsum(tp)
    recall = np.concatenate(([0.0], cum_tp / num_gt, [1.0]))
    precision = np.concatenate(([0.0], cum_tp / np.arange(1, tp.size + 1), [0.0]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    change = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[change + 1] - recall[change]) * envelope[change + 1]))


def _pairs(p_key: np.ndarray, g_key: np.ndarray, n_keys: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All (prediction, GT) index pairs with equal group key; ``g_key`` sorted; pairs ordered by prediction.

    With ``n_keys`` (every key in ``[0, n_keys)``) the GT ranges come from a count table instead of a search.
    """
    if n_keys is not None:
        offsets = np.zeros(n_keys + 1, dtype=np.int64)
        np.cumsum(np.bincount(g_key, minlength=n_keys), out=offsets[1:])
        lo, hi = offsets[p_key], offsets[p_key + 1]
    else:
        lo = np.searchsorted(g_key, p_key, side="left")
        hi = np.searchsorted(g_key, p_key, side="right")
    counts = hi - lo
    pair_p = np.repeat(np.arange(len(p_key)), counts)
    first = np.cumsum(counts) - counts
    pair_g = lo[pair_p] + (np.arange(pair_p.size) - first[pair_p])
    return pair_p, pair_g


def _interval_iou(p0: np.ndarray, p1: np.ndarray, g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """IoU of half-open integer intervals ``[p0, p1)`` and ``[g0, g1)`` (0 when both are empty)."""
    inter = np.maximum(np.minimum(p1, g1) - np.maximum(p0, g0), 0)
    union = (p1 - p0) + (g1 - g0) - inter
    return np.divide(inter, union, out=np.zeros(inter.shape, dtype=np.float64), where=union > 0)


def _greedy_tp(pair_p: np.ndarray, pair_g: np.ndarray, iou: np.ndarray, p_group: np.ndarray,
               n_pred: int, threshold: float) -> np.ndarray:
    """TP flags ``(n_pred,)`` of predictions in rank order (pairs ordered by prediction rank)."""
    cand = iou >= threshold
    cp, cg, ciou = pair_p[cand], pair_g[cand], iou[cand]
    tp = np.zeros(n_pred, dtype=bool)
    if cp.size == 0:
        return tp
    n_cand = np.bincount(cp, minlength=n_pred)
    conflict_groups = np.unique(p_group[n_cand >= 2])
    in_conflict = np.isin(p_group[cp], conflict_groups)
    simple = ~in_conflict
    _, first = np.unique(cg[simple], return_index=True)  # earliest-ranked prediction per candidate GT
    tp[cp[simple][first]] = True
    if conflict_groups.size:
        _resolve_conflicts(cp[in_conflict], cg[in_conflict], ciou[in_conflict], tp)
    return tp


def _resolve_conflicts(cp: np.ndarray, cg: np.ndarray, ciou: np.ndarray, tp: np.ndarray) -> None:
    """Sequential greedy matching for candidate pairs ordered by prediction rank (then GT order)."""
    taken: set[int] = set()
    starts = np.flatnonzero(np.concatenate(([True], cp[1:] != cp[:-1])))
    ends = np.concatenate((starts[1:], [cp.size]))
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        best, best_iou = -1, -1.0
        for g, v in zip(cg[lo:hi].tolist(), ciou[lo:hi].tolist()):
            if g not in taken and v > best_iou:
                best, best_iou = g, v
        if best >= 0:
            taken.add(best)
            tp[cp[lo]] = True


# ----------------------------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------------------------
def _check_thresholds(tiou_thresholds: Iterable[float]) -> tuple[float, ...]:
    th = tuple(float(t) for t in tiou_thresholds)
    if not th:
        raise ValueError("at least one tIoU threshold is needed")
    bad = [t for t in th if not 0.0 < t <= 1.0]
    if bad:
        raise ValueError(f"tIoU thresholds must be in (0, 1], got {bad}")
    return th


def _gt_arrays_from_labels(gt_labels: Sequence[Any], background: int | Sequence[int] | None) -> tuple[np.ndarray, ...]:
    """Stacked ``(video, label, start, end)`` GT arrays of all sequences at once (same runs as :func:`label_runs`)."""
    if background is None:
        raise ValueError("gt_labels needs the background index (background=K)")
    n = len(gt_labels)
    bgs = np.full(n, int(background), dtype=np.int64) if np.ndim(background) == 0 else \
        np.array([int(b) for b in background], dtype=np.int64)  # type: ignore[union-attr]
    if len(bgs) != n:
        raise ValueError(f"{len(bgs)} background indices for {n} sequences")
    labs = [np.asarray(lab).reshape(-1) for lab in gt_labels]
    lengths = np.array([lab.size for lab in labs], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy(), z.copy()
    cat = np.concatenate([lab.astype(np.int64) for lab in labs]) if n > 1 else labs[0].astype(np.int64)
    offsets = np.cumsum(lengths) - lengths
    new = np.empty(total, dtype=bool)
    new[0] = True
    np.not_equal(cat[1:], cat[:-1], out=new[1:])
    new[offsets[lengths > 0]] = True
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], total)
    video = np.searchsorted(offsets, starts, side="right") - 1  # last sequence starting at or before the run
    label = cat[starts]
    keep = label != bgs[video]
    video, label, starts, ends = video[keep], label[keep], starts[keep], ends[keep]
    return video, label, starts - offsets[video], ends - offsets[video]


def segment_map(
    predictions: Sequence[Any],
    gt_labels: Sequence[Any] | None = None,
    *,
    gt_segments: Sequence[Any] | None = None,
    background: int | Sequence[int] | None = None,
    tiou_thresholds: Iterable[float] = DEFAULT_TIOU_THRESHOLDS,
    protocol: Protocol = "clean",
    classes: Sequence[int] | None = None,
) -> SegmentMAPResult:
    """Segment mAP of per-sequence predictions against per-sequence ground truth.

    Args:
        predictions: one entry per sequence (see the module docstring for the accepted forms).
        gt_labels: per-sequence frame labels ``(T_v,)``; needs ``background``.
        gt_segments: alternatively, per-sequence GT segments ``(label, start, end)`` (end exclusive).
        background: background index (int, or one per sequence); its GT runs are not segments and
            predictions with this label are ignored.
        tiou_thresholds: thresholds in (0, 1]; default 0.1..0.5 (SnipCLR); LINE also reports 0.6, 0.7.
        protocol: ``"clean"`` (exact frame sets) or ``"line"`` (official frame-offset IoU).
        classes: classes to average; default every class present in the GT (sorted).

    Returns:
        :class:`SegmentMAPResult` (mAP x 100 per threshold, their average, per-class AP, protocol).

    Raises:
        ValueError: unknown protocol, bad thresholds, mismatched lengths, or nothing to evaluate.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}")
    thresholds = _check_thresholds(tiou_thresholds)
    if (gt_labels is None) == (gt_segments is None):
        raise ValueError("pass exactly one of gt_labels= or gt_segments=")
    if gt_labels is not None:
        n_gt_seq = len(gt_labels)
        gv, gc, gs, ge = _gt_arrays_from_labels(gt_labels, background)
    else:
        gt_list = [_segment_arrays(g, with_score=False) for g in gt_segments]  # type: ignore[union-attr]
        n_gt_seq = len(gt_list)
        gv, gc, gs, ge, _ = _stack(gt_list)
    if len(predictions) != n_gt_seq:
        raise ValueError(f"{len(predictions)} prediction entries for {n_gt_seq} ground-truth sequences")
    pv, pc, ps, pe, pscore = _stack([_segment_arrays(p, with_score=True) for p in predictions])

    cls = np.unique(gc) if classes is None else np.asarray(sorted({int(c) for c in classes}), dtype=np.int64)
    if np.ndim(background) == 0 and background is not None:
        cls = cls[cls != int(background)]
    if cls.size == 0:
        raise ValueError("nothing to evaluate: no ground-truth segment of any class (pass classes= explicitly)")

    ap = _average_precisions(cls, (gv, gc, gs, ge), (pv, pc, ps, pe, pscore), thresholds, protocol, n_gt_seq)
    maps = tuple(float(100.0 * ap[h].mean()) for h in range(len(thresholds)))
    return SegmentMAPResult(
        protocol=protocol,
        tiou_thresholds=thresholds,
        classes=tuple(int(c) for c in cls),
        map=maps,
        average=float(np.mean(maps)),
        ap=tuple(tuple(float(x) for x in row) for row in ap),
        num_gt=tuple(int(n) for n in np.bincount(np.searchsorted(cls, gc[np.isin(gc, cls)]), minlength=cls.size)),
        num_pred=tuple(int(n) for n in np.bincount(np.searchsorted(cls, pc[np.isin(pc, cls)]), minlength=cls.size)),
    )


def _average_precisions(
    cls: np.ndarray,
    gt: tuple[np.ndarray, ...],
    pred: tuple[np.ndarray, ...],
    thresholds: tuple[float, ...],
    protocol: str,
    n_videos: int,
) -> np.ndarray:
    """AP array ``(H, C)`` for the evaluated classes ``cls`` (sorted)."""
    gv, gc, gs, ge = gt
    pv, pc, ps, pe, pscore = pred
    gsel, psel = np.isin(gc, cls), np.isin(pc, cls)
    gv, gc, gs, ge = gv[gsel], np.searchsorted(cls, gc[gsel]), gs[gsel], ge[gsel]
    pv, pc, ps, pe, pscore = pv[psel], np.searchsorted(cls, pc[psel]), ps[psel], pe[psel], pscore[psel]

    # protocol frame sets as half-open intervals
    if protocol == "line":
        p0, p1, g0, g1 = ps, pe + 1, gs, ge - 1
    else:
        p0, p1, g0, g1 = ps, pe, gs, ge

    rank = order_by_group_then_score(pc, pscore)  # by class, then score desc, then input order
    p_group = (pc * n_videos + pv)[rank]
    g_order = np.lexsort((gs, gc * n_videos + gv))
    g_key = (gc * n_videos + gv)[g_order]
    n_keys = cls.size * n_videos
    pair_p, pair_g = _pairs(p_group, g_key, n_keys if n_keys <= 4 * (p_group.size + g_key.size) + (1 << 20) else None)
    iou = _interval_iou(p0[rank][pair_p], p1[rank][pair_p], g0[g_order][pair_g], g1[g_order][pair_g])

    n_gt = np.bincount(gc, minlength=cls.size)
    class_bounds = np.searchsorted(pc[rank], np.arange(cls.size + 1))
    ap = np.zeros((len(thresholds), cls.size), dtype=np.float64)
    for h, t in enumerate(thresholds):
        tp = _greedy_tp(pair_p, pair_g, iou, p_group, pc.size, t)
        for c in range(cls.size):
            ap[h, c] = voc_ap(tp[class_bounds[c] : class_bounds[c + 1]], int(n_gt[c]))
    return ap
