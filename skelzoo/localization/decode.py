"""Frame scores ``(T, K)`` to scored segments: the SnipCLR / LINE post-processing and an argmax decoder.

Column ``K - 1`` of the frame scores is the background class; :func:`decode` never returns it.

Two decoders:

``"official"`` (:func:`cas_proposals`, docs/method.md section 6)
    Multi-threshold proposals on the softmax class-activation sequence (CAS) of each class column,
    scored "inner minus outer", then a per-class greedy NMS. Every quirk of the released code is
    reproduced so that proposals match the official ones exactly:

    - thresholds ``numpy.arange(0.03, 0.055, 0.005)`` (five values, the floating-point ones), strict ``>``;
    - every maximal run ``[s, e)`` of active frames with ``n = e - s >= 3`` frames is a candidate;
    - inner = mean over frames ``s .. min(e, T - 1)`` (the first frame after the run counts as inside);
    - left margin = frames ``max(0, trunc(s - n/4)) .. s - 1``; right margin = frames
      ``e + 1 .. min(T - 1, trunc(e + n/4 + 1)) - 1``; outer = mean over both margins (0 if both empty);
    - score = inner - 0.6 * outer;
    - NMS per (sequence, class) over the candidates of all thresholds: keep the best remaining proposal,
      drop every remaining ``j`` with ``max(0, min(E_i, E_j) - max(s_i, s_j) + 1) / (E_j - s_j + 1) > 0.2``
      where ``E = e + 1`` is the official stored end (overlap over the *other* proposal's length).
      Ties in score are broken by candidate order (threshold, then time).

``"argmax"`` (:func:`argmax_segments`)
    Optional centred moving average of the probabilities, per-frame argmax, run-length segments;
    background runs and runs shorter than ``min_duration`` frames are dropped (not merged); score = mean
    (unsmoothed) probability of the segment's class over the segment.

Both work on whole arrays; run finding uses ``numpy.diff`` / ``flatnonzero``; the official NMS runs
all (sequence, class) groups of a batch in parallel on a sparse suppression graph.
A batch is zero-padded to its longest sequence. With strictly increasing thresholds (the official ones) the
runs of every threshold come from one int8 "level" array ``(V, K, T_max + 1)`` (number of thresholds each
frame exceeds): its change points are the crossings of all thresholds at once. Other threshold lists fall
back to one boolean mask per threshold (memory ``H x K x V x T_max`` booleans).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from ..ranking import order_by_group_then_score
from .segments import Segment, segments_from_arrays

__all__ = [
    "DEFAULT_CAS_THRESHOLDS",
    "DEFAULT_METHOD",
    "DEFAULT_PARAMS",
    "decoder_params",
    "Proposals",
    "cas_proposals",
    "cas_proposals_batch",
    "argmax_segments",
    "decode",
    "softmax",
    "to_probabilities",
]

logger = logging.getLogger(__name__)

#: The official CAS thresholds, ``numpy.arange(0.03, 0.055, 0.005)`` with its floating-point values.
DEFAULT_CAS_THRESHOLDS: tuple[float, ...] = tuple(float(x) for x in np.arange(0.03, 0.055, 0.005))

_OFFICIAL_PARAMS = ("thresholds", "min_length", "margin_ratio", "outer_weight", "nms_threshold")
_ARGMAX_PARAMS = ("smoothing", "min_duration")


@dataclass(frozen=True, eq=False)
class Proposals:
    """Scored segments of one sequence as parallel arrays, each of shape ``(P,)``.

    Attributes:
        label: class (column) index, int64.
        start: first frame (inclusive), int64.
        end: one past the last frame (exclusive), int64; the official code stores ``end + 1``
            (see :attr:`stored_end`).
        score: confidence, float64.

    :func:`cas_proposals` returns them ordered by label, then descending score (the NMS keep order).
    """

    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return int(self.label.shape[0])

    @property
    def stored_end(self) -> np.ndarray:
        """The official storage of the end, ``end + 1`` (shape ``(P,)``)."""
        return self.end + 1

    def to_segments(self, *, fps: float = 30.0, class_names: Sequence[str] | None = None) -> list[Segment]:
        """The proposals as :class:`~skelzoo.localization.segments.Segment` objects, same order."""
        return segments_from_arrays(self.label, self.start, self.end, self.score, fps=fps, class_names=class_names)

    @classmethod
    def empty(cls) -> "Proposals":
        """No proposals."""
        i = np.zeros(0, dtype=np.int64)
        return cls(label=i, start=i.copy(), end=i.copy(), score=np.zeros(0, dtype=np.float64))


# ----------------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------------
def _as_float_array(x: Any) -> np.ndarray:
    """numpy float64 view of an array-like or a (CPU/GPU) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (any shape)."""
    z = logits - np.max(logits, axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def _looks_like_probs(x: np.ndarray, atol: float = 1e-3) -> bool:
    if x.size == 0:
        return True
    if not np.all(np.isfinite(x)) or x.min() < 0.0 or x.max() > 1.0:
        return False
    return bool(np.allclose(x.sum(axis=-1), 1.0, atol=atol))


def to_probabilities(
    scores: Any, input_kind: Literal["auto", "logits", "probs"] = "auto"
) -> np.ndarray:
    """Frame scores ``(T, K)`` as probabilities.

    Args:
        scores: logits or probabilities, shape ``(T, K)`` (array-like or torch tensor).
        input_kind: ``"probs"`` (use as is), ``"logits"`` (softmax over K) or ``"auto"`` (probabilities
            when every value is in [0, 1] and every row sums to 1 within 1e-3, otherwise logits).

    Returns:
        float64 array ``(T, K)``.
    """
    x = _as_float_array(scores)
    if x.ndim != 2:
        raise ValueError(f"frame scores must have shape (T, K), got {x.shape}")
    if input_kind == "auto":
        input_kind = "probs" if _looks_like_probs(x) else "logits"
        logger.debug("decode: treating input as %s", input_kind)
    if input_kind == "probs":
        return x
    if input_kind == "logits":
        return softmax(x.copy(), axis=-1) if x.size else x
    raise ValueError(f"input_kind must be 'auto', 'logits' or 'probs', got {input_kind!r}")


# ----------------------------------------------------------------------------------------------------------
# official multi-threshold proposals
# ----------------------------------------------------------------------------------------------------------
def _pad_batch(cas_list: Sequence[np.ndarray], columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Selected columns of every sequence in a zero-padded batch.

    Returns ``(values (V, T_max + 1, C), lengths (V,))``; every row has at least one padding frame at the
    end, so no run of active frames reaches the end of a row.
    """
    lengths = np.array([c.shape[0] for c in cas_list], dtype=np.int64)
    values = np.zeros((len(cas_list), int(lengths.max()) + 1, len(columns)), dtype=np.float64)
    for v, c in enumerate(cas_list):  # one copy per sequence
        values[v, : c.shape[0]] = c[:, columns]
    return values, lengths


def _find_runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of True in each row of ``active`` ``(R, W)`` whose last column is False.

    Returns ``(row, start, end)`` (each ``(N,)``, end exclusive), ordered by row then start.
    """
    steps = np.diff(active.view(np.int8), axis=1, prepend=np.int8(0))
    rises = np.flatnonzero(steps == 1)
    falls = np.flatnonzero(steps == -1)
    width = active.shape[1]
    return rises // width, rises % width, falls % width


def _window_sums(cumsum: np.ndarray, video: np.ndarray, col: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``values[video, lo:hi, col]`` (empty when ``hi <= lo``) from the per-sequence zero-led cumsum
    ``(V, T_max + 2, C)``; returns ``(sum, width)``, each ``(N,)``."""
    width = np.maximum(hi - lo, 0)
    hi = np.maximum(hi, lo)
    n_t, n_c = cumsum.shape[1], cumsum.shape[2]
    base = video * (n_t * n_c) + col
    flat = cumsum.reshape(-1)
    return flat.take(base + hi * n_c) - flat.take(base + lo * n_c), width


def _score_runs(
    cumsum: np.ndarray,
    video: np.ndarray,
    col: np.ndarray,
    length: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    margin_ratio: float,
    outer_weight: float,
) -> np.ndarray:
    """Inner-minus-outer score of runs ``[s, e)`` of sequence ``video``, column ``col`` (all ``(N,)``)."""
    n = e - s
    inner_sum, inner_w = _window_sums(cumsum, video, col, s, np.minimum(e + 1, length))
    left_lo = np.maximum(0, np.trunc(s - n * margin_ratio).astype(np.int64))
    left_sum, left_w = _window_sums(cumsum, video, col, left_lo, s)
    right_hi = np.minimum(length - 1, np.trunc(e + n * margin_ratio + 1).astype(np.int64))
    right_sum, right_w = _window_sums(cumsum, video, col, e + 1, right_hi)
    outer_w = left_w + right_w
    outer = np.divide(left_sum + right_sum, outer_w, out=np.zeros_like(left_sum), where=outer_w > 0)
    return inner_sum / inner_w - outer_weight * outer


def _suppression_edges(group: np.ndarray, start: np.ndarray, stored_end: np.ndarray, rank: np.ndarray,
                       threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Directed edges ``src -> dst`` (``src`` ranked higher, same group) where ``src`` would suppress ``dst``.

    Only pairs that share at least one frame of the official extents ``[s, E]`` can have a positive overlap;
    they are enumerated in (group, start) order: ``j`` after ``i`` with ``s_j <= E_i``.
    """
    order = np.lexsort((start, group))
    span = int(stored_end.max()) + 2
    key = group[order] * span + start[order]
    last = np.searchsorted(key, group[order] * span + stored_end[order], side="right")
    counts = last - np.arange(1, order.size + 1)
    first = np.cumsum(counts) - counts
    a = np.repeat(np.arange(order.size), counts)
    b = a + 1 + (np.arange(a.size) - first[a])
    i, j = order[a], order[b]
    hi = np.where(rank[i] < rank[j], i, j)
    lo = np.where(rank[i] < rank[j], j, i)
    inter = np.minimum(stored_end[hi], stored_end[lo]) - np.maximum(start[hi], start[lo]) + 1
    sup = np.maximum(inter, 0) / (stored_end[lo] - start[lo] + 1) > threshold
    return hi[sup], lo[sup]


def _group_nms(group: np.ndarray, start: np.ndarray, stored_end: np.ndarray, score: np.ndarray,
               threshold: float) -> np.ndarray:
    """Greedy official NMS inside every group at once; returns kept indices ordered by (group, -score).

    Overlap of a kept ``i`` with a remaining ``j``: ``max(0, min(E_i,E_j) - max(s_i,s_j) + 1) / (E_j - s_j + 1)``.
    Equivalent closed form of the greedy loop on the (acyclic, rank-ordered) suppression graph: a proposal is
    kept iff none of its higher-ranked suppressors is kept. Resolved in rounds, each deciding every proposal
    whose suppressors are all decided (rounds = longest suppression chain, not the number of proposals).
    """
    n = score.size
    order = np.lexsort((np.arange(n), -score, group))
    if n == 0:
        return order
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    src, dst = _suppression_edges(group, start, stored_end, rank, threshold)
    state = np.zeros(n, dtype=np.int8)  # 0 undecided, 1 kept, 2 suppressed
    while True:
        undecided = state == 0
        blockers = np.bincount(dst, minlength=n)  # in-edges from sources not (yet) suppressed
        state[undecided & (blockers == 0)] = 1
        state[dst[state[src] == 1]] = 2
        live = (state[src] != 2) & (state[dst] == 0)
        src, dst = src[live], dst[live]
        if not np.any(state == 0):
            break
    kept = order[state[order] == 1]
    return kept


# ----------------------------------------------------------------------------------------------------------
# fast path (strictly increasing thresholds): one level array instead of one boolean mask per threshold
# ----------------------------------------------------------------------------------------------------------
def _pad_rows(arrays: Sequence[np.ndarray], cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Selected columns of every sequence as zero-padded rows ``(V, C, T_max + 1)`` plus lengths ``(V,)``."""
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    n_v, n_c = len(arrays), cols.size
    width = int(lengths.max()) + 1
    values = np.zeros((n_v, n_c, width), dtype=np.float64)
    contiguous = bool(np.all(np.diff(cols) == 1))
    sel = slice(int(cols[0]), int(cols[-1]) + 1) if contiguous else cols
    if np.all(lengths == lengths[0]):
        t = int(lengths[0])
        values[:, :, :t] = np.stack(arrays)[:, :, sel].transpose(0, 2, 1)
    else:
        for v, a in enumerate(arrays):
            values[v, :, : a.shape[0]] = a[:, sel].T
    return values, lengths


def _level_runs(level: np.ndarray, n_levels: int, min_length: int,
                dedupe: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of ``level > h`` for every ``h < n_levels`` in each row of ``level`` ``(R, W)`` (last
    column 0) with at least ``min_length`` frames.

    Returns ``(row, start, end)`` (each ``(N,)``, end exclusive), ordered by h, then row, then start. With
    ``dedupe`` a run is dropped when the same bounds already form a run at threshold ``h - 1``, i.e. when
    ``max(level[start - 1], level[end]) < h`` (``level[-1]`` read as 0).
    """
    width = level.shape[1]
    steps = np.diff(level, axis=1, prepend=level.dtype.type(0)).reshape(-1)
    pos = np.flatnonzero(steps != 0)  # boolean nonzero is much faster than on int8
    after = level.reshape(-1)[pos]
    before = after - steps[pos]
    # a change from level a to b crosses every h in [min(a, b), max(a, b)); at a fixed h the crossings, in
    # row-major order, alternate rise (start of a run), fall (its end), rise, fall, ... (each row ends at 0)
    n = pos.size
    h = np.arange(n_levels, dtype=level.dtype)[:, None]
    crossing = np.flatnonzero((np.minimum(before, after) <= h) & (np.maximum(before, after) > h))
    run_h = crossing[0::2] // max(n, 1)
    r = crossing[0::2] - run_h * n
    f = crossing[1::2] - run_h * n
    s_pos, e_pos = pos[r], pos[f]
    keep = (e_pos - s_pos) >= min_length
    if dedupe:
        keep &= np.maximum(before[r], after[f]) == run_h
    keep = np.flatnonzero(keep)
    row, s = np.divmod(s_pos[keep], width)
    return row, s, e_pos[keep] - row * width


def _fast_candidates(arrays: Sequence[np.ndarray], cols: np.ndarray, th: np.ndarray, min_length: int,
                     dedupe: bool, margin_ratio: float, outer_weight: float) -> tuple[np.ndarray, ...]:
    """Scored candidates ``(group, video, col_index, start, end, score)`` ordered by (threshold, group, start),
    ``group = video * C + col_index``; duplicates (same run at several thresholds) keep the first threshold."""
    values, lengths = _pad_rows(arrays, cols)
    n_v, n_c, width = values.shape
    level = np.zeros(values.shape, dtype=np.int8 if th.size < 127 else np.int16)
    for t in th:
        level += values > t
    if th[0] < 0:  # padding frames are zeros: only negative thresholds can activate them
        level *= (np.arange(width)[None, :] < lengths[:, None])[:, None, :]
    row, s, e = _level_runs(level.reshape(n_v * n_c, width), th.size, min_length, dedupe)
    video, ci = row // n_c, row % n_c

    cumsum = np.zeros((n_v * n_c, width + 1), dtype=np.float64)
    np.cumsum(values.reshape(n_v * n_c, width), axis=1, out=cumsum[:, 1:])
    score = _score_rows(cumsum, row, lengths[video], s, e, margin_ratio, outer_weight)
    return row, video, ci, s, e, score


def _score_rows(cumsum: np.ndarray, row: np.ndarray, length: np.ndarray, s: np.ndarray, e: np.ndarray,
                margin_ratio: float, outer_weight: float) -> np.ndarray:
    """:func:`_score_runs` on a row-major zero-led cumsum ``(R, W + 1)``."""
    flat = cumsum.reshape(-1)
    base = row * cumsum.shape[1]

    def window(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.maximum(hi - lo, 0)
        hi = np.maximum(hi, lo)
        return flat.take(base + hi) - flat.take(base + lo), w

    n = e - s
    inner_sum, inner_w = window(s, np.minimum(e + 1, length))
    left_sum, left_w = window(np.maximum(0, np.trunc(s - n * margin_ratio).astype(np.int64)), s)
    right_sum, right_w = window(e + 1, np.minimum(length - 1, np.trunc(e + n * margin_ratio + 1).astype(np.int64)))
    outer_w = left_w + right_w
    outer = np.divide(left_sum + right_sum, outer_w, out=np.zeros_like(left_sum), where=outer_w > 0)
    return inner_sum / inner_w - outer_weight * outer


def _fast_group_nms(group: np.ndarray, start: np.ndarray, stored_end: np.ndarray, score: np.ndarray,
                    threshold: float, by_start: np.ndarray) -> np.ndarray:
    """:func:`_group_nms` for candidates given with their (group, start) order ``by_start``; kept indices
    ordered by (group, -score, index)."""
    n = score.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    base = group[by_start] * (int(stored_end.max()) + 2)
    last = np.searchsorted(base + start[by_start], base + stored_end[by_start], side="right")
    counts = last - np.arange(1, n + 1)
    first = np.cumsum(counts) - counts
    a = np.repeat(np.arange(n), counts)
    b = a + 1 + (np.arange(a.size) - first[a])
    i, j = by_start[a], by_start[b]
    # i ranks above j: higher score, or equal score and earlier index
    i_first = (score[i] > score[j]) | ((score[i] == score[j]) & (i < j))
    hi = np.where(i_first, i, j)
    lo = np.where(i_first, j, i)
    inter = np.minimum(stored_end[hi], stored_end[lo]) - np.maximum(start[hi], start[lo]) + 1
    sup = np.maximum(inter, 0) / (stored_end[lo] - start[lo] + 1) > threshold
    src, dst = hi[sup], lo[sup]
    state = np.zeros(n, dtype=np.int8)  # 0 undecided, 1 kept, 2 suppressed
    blocked = np.zeros(n, dtype=bool)
    while src.size:
        blocked[:] = False
        blocked[dst] = True
        state[(state == 0) & ~blocked] = 1
        state[dst[state[src] == 1]] = 2
        live = (state[src] != 2) & (state[dst] == 0)
        src, dst = src[live], dst[live]
    state[state == 0] = 1
    kept = np.flatnonzero(state == 1)
    return kept[order_by_group_then_score(group[kept], score[kept])]


def cas_proposals_batch(
    cas_list: Sequence[Any],
    *,
    thresholds: Sequence[float] = DEFAULT_CAS_THRESHOLDS,
    min_length: int = 3,
    margin_ratio: float = 0.25,
    outer_weight: float = 0.6,
    nms_threshold: float = 0.2,
    columns: Sequence[int] | None = None,
) -> list[Proposals]:
    """Official SnipCLR / LINE proposals for many sequences at once (vectorised over the whole batch).

    Args:
        cas_list: per sequence, softmax probabilities of shape ``(T_v, K)`` (same K for all; T_v may differ
            and may be 0). Pass the valid frames only (no padding).
        thresholds: CAS thresholds; a frame is active when ``cas > threshold`` (strict).
        min_length: minimum run length in frames (shorter runs are dropped).
        margin_ratio: outer margin width as a fraction of the run length (0.25 in the paper).
        outer_weight: score = inner - outer_weight * outer (0.6 in the paper).
        nms_threshold: a proposal is suppressed when its overlap with a kept one is ``> nms_threshold``.
        columns: class columns to process; default all K columns, background included, as the official
            code does (:func:`decode` passes ``range(K - 1)``).

    Returns:
        One :class:`Proposals` per sequence, ordered by label then descending score.
    """
    arrays = [_as_float_array(c) for c in cas_list]
    if not arrays:
        return []
    if any(a.ndim != 2 for a in arrays):
        raise ValueError("every CAS must have shape (T, K)")
    num_cols = {a.shape[1] for a in arrays}
    if len(num_cols) != 1:
        raise ValueError(f"every CAS must have the same number of columns, got {sorted(num_cols)}")
    if min_length < 1:
        raise ValueError(f"min_length must be >= 1, got {min_length}")
    if not nms_threshold >= 0:
        raise ValueError(f"nms_threshold must be >= 0, got {nms_threshold}")
    k_total = num_cols.pop()
    cols = np.arange(k_total, dtype=np.int64) if columns is None else np.asarray(columns, dtype=np.int64).reshape(-1)
    if cols.size and (cols.min() < 0 or cols.max() >= k_total):
        raise ValueError(f"columns {cols.tolist()} out of range for K={k_total}")
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if cols.size == 0 or th.size == 0:
        return [Proposals.empty() for _ in arrays]

    if th.size == 1 or bool(np.all(np.diff(th) > 0)):
        group, video, ci, s, e, score = _fast_candidates(arrays, cols, th, min_length, nms_threshold < 1.0,
                                                         margin_ratio, outer_weight)
        by_start = np.argsort(group * (int(e.max(initial=0)) + 3) + s, kind="stable")  # merges sorted runs
        kept = _fast_group_nms(group, s, e + 1, score, nms_threshold, by_start)
        return _split_by_video(kept, video, cols[ci], s, e, score, len(arrays))

    values, lengths = _pad_batch(arrays, cols)
    n_videos, width, n_cols = values.shape
    valid = np.arange(width)[None, :] < lengths[:, None]  # (V, W)
    active = (values.transpose(2, 0, 1)[None] > th[:, None, None, None]) & valid  # (H, C, V, W)
    row, s, e = _find_runs(active.reshape(-1, width))
    keep = (e - s) >= min_length
    row, s, e = row[keep], s[keep], e[keep]
    video = row % n_videos
    col = (row // n_videos) % n_cols
    if nms_threshold < 1.0:
        # an exact duplicate (same run found at several thresholds) gets the same score and overlaps its twin
        # by 1 > nms_threshold, so the greedy NMS always drops it: keep the first (highest-ranked) occurrence
        first = np.unique(((video * n_cols + col) * width + s) * width + e, return_index=True)[1]
        first.sort()
        s, e, video, col = s[first], e[first], video[first], col[first]

    cumsum = np.zeros((n_videos, width + 1, n_cols), dtype=np.float64)
    np.cumsum(values, axis=1, out=cumsum[:, 1:])
    score = _score_runs(cumsum, video, col, lengths[video], s, e, margin_ratio, outer_weight)

    group = video * n_cols + col
    kept = _group_nms(group, s, e + 1, score, nms_threshold)
    return _split_by_video(kept, video, cols[col], s, e, score, n_videos)


def _split_by_video(
    kept: np.ndarray, video: np.ndarray, label: np.ndarray, s: np.ndarray, e: np.ndarray, score: np.ndarray,
    n_videos: int,
) -> list[Proposals]:
    """Split kept candidates (ordered by video) into one :class:`Proposals` per video."""
    bounds = np.searchsorted(video[kept], np.arange(n_videos + 1), side="left").tolist()
    lab, st, en, sc = (label[kept].astype(np.int64), s[kept].astype(np.int64), e[kept].astype(np.int64),
                       score[kept])
    return [Proposals(label=lab[a:b], start=st[a:b], end=en[a:b], score=sc[a:b])
            for a, b in zip(bounds[:-1], bounds[1:])]


def cas_proposals(
    cas: Any,
    *,
    thresholds: Sequence[float] = DEFAULT_CAS_THRESHOLDS,
    min_length: int = 3,
    margin_ratio: float = 0.25,
    outer_weight: float = 0.6,
    nms_threshold: float = 0.2,
    columns: Sequence[int] | None = None,
) -> Proposals:
    """Official SnipCLR / LINE proposals of one sequence (see the module docstring for every rule).

    Args:
        cas: softmax probabilities, shape ``(T, K)``.
        thresholds, min_length, margin_ratio, outer_weight, nms_threshold, columns: as in
            :func:`cas_proposals_batch` (paper defaults).

    Returns:
        :class:`Proposals` (``end`` exclusive; ``stored_end = end + 1`` is the official storage), ordered by
        label then descending score.
    """
    return cas_proposals_batch(
        [cas], thresholds=thresholds, min_length=min_length, margin_ratio=margin_ratio,
        outer_weight=outer_weight, nms_threshold=nms_threshold, columns=columns,
    )[0]


# ----------------------------------------------------------------------------------------------------------
# argmax decoder
# ----------------------------------------------------------------------------------------------------------
def _moving_average(probs: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over time of ``(T, K)``; edge windows average the frames that exist."""
    if window <= 1 or probs.shape[0] == 0:
        return probs
    t = probs.shape[0]
    cumsum = np.zeros((t + 1, probs.shape[1]), dtype=np.float64)
    np.cumsum(probs, axis=0, out=cumsum[1:])
    idx = np.arange(t)
    lo = np.maximum(idx - (window - 1) // 2, 0)
    hi = np.minimum(idx + window // 2 + 1, t)
    return (cumsum[hi] - cumsum[lo]) / (hi - lo)[:, None]


def argmax_segments(
    probs: Any,
    *,
    smoothing: int = 1,
    min_duration: int = 1,
    background: int | None = None,
) -> Proposals:
    """Plain decoder: (smoothed) per-frame argmax, then run-length segments.

    Args:
        probs: probabilities ``(T, K)``.
        smoothing: moving-average window in frames (centred; 1 = none). Only the argmax uses it.
        min_duration: runs shorter than this many frames are dropped (not merged with neighbours).
        background: background column, never returned; default ``K - 1``.

    Returns:
        :class:`Proposals` in time order; score = mean of the raw probability of the segment's class over
        the segment's frames.
    """
    p = _as_float_array(probs)
    if p.ndim != 2:
        raise ValueError(f"probabilities must have shape (T, K), got {p.shape}")
    if smoothing < 1 or min_duration < 1:
        raise ValueError(f"smoothing and min_duration must be >= 1, got {smoothing}, {min_duration}")
    t, k = p.shape
    if t == 0 or k == 0:
        return Proposals.empty()
    bg = k - 1 if background is None else int(background)
    labels = np.argmax(_moving_average(p, smoothing), axis=1)
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [t]))
    lab = labels[starts]
    keep = (lab != bg) & (ends - starts >= min_duration)
    starts, ends, lab = starts[keep], ends[keep], lab[keep]
    cumsum = np.zeros((t + 1, k), dtype=np.float64)
    np.cumsum(p, axis=0, out=cumsum[1:])
    score = (cumsum[ends, lab] - cumsum[starts, lab]) / (ends - starts)
    return Proposals(label=lab.astype(np.int64), start=starts.astype(np.int64), end=ends.astype(np.int64), score=score)


# ----------------------------------------------------------------------------------------------------------
# front door
# ----------------------------------------------------------------------------------------------------------
#: the decoder of ``Localizer.localize`` and ``skelzoo localize`` (one set of defaults for the API and the CLI):
#: run-length segments of the smoothed frame argmax, one label per frame, readable by a person
DEFAULT_METHOD = "argmax"
#: default decoder parameters per method (frames at the model's rate); ``official`` uses the paper's
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {"argmax": {"smoothing": 5, "min_duration": 8}, "official": {}}


def decoder_params(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """``params`` completed with the :data:`DEFAULT_PARAMS` of ``method`` (given values win)."""
    if method not in DEFAULT_PARAMS:
        raise ValueError(f"unknown decode method {method!r}; use 'official' or 'argmax'")
    return {**DEFAULT_PARAMS[method], **(params or {})}


def _check_params(method: str, params: dict[str, Any]) -> None:
    allowed = {"official": _OFFICIAL_PARAMS, "argmax": _ARGMAX_PARAMS}.get(method)
    if allowed is None:
        raise ValueError(f"unknown decode method {method!r}; use 'official' or 'argmax'")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for method {method!r}; accepted: {list(allowed)}")


def decode(
    scores: Any,
    method: Literal["official", "argmax"] = "official",
    *,
    fps: float = 30.0,
    class_names: Sequence[str] | None = None,
    input_kind: Literal["auto", "logits", "probs"] = "auto",
    length: int | None = None,
    **params: Any,
) -> list[Segment]:
    """Frame scores of one sequence to scored segments; the background column ``K - 1`` is never returned.

    Args:
        scores: logits or probabilities, shape ``(T, K)``; column ``K - 1`` is background.
        method: ``"official"`` (:func:`cas_proposals` on the non-background columns) or ``"argmax"``
            (:func:`argmax_segments`).
        fps: frames per second for ``start_s`` / ``end_s``.
        class_names: optional names of the K - 1 action classes (or of all K columns).
        input_kind: ``"auto"`` / ``"logits"`` / ``"probs"``, see :func:`to_probabilities`.
        length: number of valid frames; frames from ``length`` on (padding) are ignored.
        **params: official: ``thresholds``, ``min_length``, ``margin_ratio``, ``outer_weight``,
            ``nms_threshold``; argmax: ``smoothing``, ``min_duration``.

    Returns:
        list of :class:`Segment`, sorted by start frame, then end, then label, then descending score.
    """
    _check_params(method, params)
    probs = to_probabilities(scores, input_kind)
    if length is not None:
        if not 0 <= length <= probs.shape[0]:
            raise ValueError(f"length {length} out of range for {probs.shape[0]} frames")
        probs = probs[:length]
    k = probs.shape[1]
    if k < 2:
        raise ValueError(f"need at least one action class plus background, got K={k}")
    if method == "official":
        props = cas_proposals(probs, columns=range(k - 1), **params)
    else:
        props = argmax_segments(probs, background=k - 1, **params)
    order = np.lexsort((-props.score, props.label, props.end, props.start))
    sorted_props = Proposals(props.label[order], props.start[order], props.end[order], props.score[order])
    return sorted_props.to_segments(fps=fps, class_names=class_names)
