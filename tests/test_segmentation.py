"""Frame accuracy, segmental F1@k and edit score (Lea et al. / MS-TCN definitions)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skelzoo.evaluation.segmentation import (
    edit_score,
    f1_counts,
    f1_score,
    frame_accuracy,
    levenshtein,
    segmentation_scores,
)


# --- reference loop implementations (MS-TCN style, hull union, sequential hits) -------------------------
def _naive_segments(labels, bg):
    segs = []
    for i, x in enumerate(labels):
        if i == 0 or x != labels[i - 1]:
            segs.append([x, i, i + 1])
        else:
            segs[-1][2] = i + 1
    return [s for s in segs if s[0] != bg]


def _naive_f1_counts(pred, gt, overlap, bg):
    p, g = _naive_segments(list(pred), bg), _naive_segments(list(gt), bg)
    tp = fp = 0
    hits = [False] * len(g)
    for lab, s, e in p:
        ious = [((min(e, ge) - max(s, gs)) / (max(e, ge) - min(s, gs))) * (lab == gl) for gl, gs, ge in g]
        if not ious:
            fp += 1
            continue
        idx = int(np.argmax(ious))
        if ious[idx] >= overlap and not hits[idx]:
            tp += 1
            hits[idx] = True
        else:
            fp += 1
    return tp, fp, len(g) - sum(hits)


def _naive_lev(a, b):
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


# --- hand-computed cases -------------------------------------------------------------------------------
def test_hand_case_boundary_shift() -> None:
    pred = [0, 0, 1, 1, 1, 2, 2]
    gt = [0, 0, 0, 1, 1, 2, 2]
    assert frame_accuracy(pred, gt) == pytest.approx(100 * 6 / 7)
    assert edit_score(pred, gt) == 100.0
    # segment IoUs: 2/3, 2/3, 1
    for k in (0.1, 0.25, 0.5):
        assert f1_score(pred, gt, k) == 100.0
    assert f1_counts(pred, gt, [0.75]).tolist() == [[1, 2, 2]]
    assert f1_score(pred, gt, 0.75) == pytest.approx(100 / 3)


def test_hand_case_oversegmentation() -> None:
    pred = [1, 1, 0, 1, 1]
    gt = [1, 1, 1, 1, 1]
    # segments 1,0,1 vs 1: distance 2 -> 1 - 2/3
    assert edit_score(pred, gt) == pytest.approx(100 / 3)
    # first [0,2) IoU 0.4 -> TP at 10 %; "0" FP; second [3,5) best GT already hit -> FP; FN 0
    assert f1_counts(pred, gt, [0.1, 0.5]).tolist() == [[1, 2, 0], [0, 3, 1]]
    assert f1_score(pred, gt, 0.1) == pytest.approx(50.0)
    assert f1_score(pred, gt, 0.5) == 0.0


def test_edit_hand_case() -> None:
    assert levenshtein([0, 1, 0, 2], [0, 1, 2]) == 1
    assert edit_score([0, 1, 1, 0, 2], [0, 1, 1, 2, 2]) == pytest.approx(75.0)
    assert levenshtein([], [1, 2]) == 2


def test_background_excluded_from_segment_metrics() -> None:
    pred = [9, 0, 0, 9, 9, 1, 9]
    gt = [9, 0, 0, 0, 9, 1, 1]
    assert edit_score(pred, gt, background=9) == 100.0
    assert edit_score(pred, gt) < 100.0
    assert f1_counts(pred, gt, [0.5], background=9).tolist() == [[2, 0, 0]]
    # accuracy counts background frames too
    assert frame_accuracy(pred, gt) == pytest.approx(100 * 5 / 7)


def test_padding_mask_and_lengths() -> None:
    pred = np.array([[0, 0, 1, 7, 7], [1, 1, 1, 1, 7]])
    gt = np.array([[0, 0, 1, -1, -1], [1, 1, 0, 0, -1]])
    lengths = [3, 4]
    mask = np.arange(5)[None] < np.array(lengths)[:, None]
    assert frame_accuracy(pred, gt, lengths=lengths) == pytest.approx(100 * 5 / 7)
    assert frame_accuracy(pred, gt, mask=mask) == pytest.approx(100 * 5 / 7)
    a = segmentation_scores(pred, gt, lengths=lengths)
    b = segmentation_scores(pred, gt, mask=mask)
    c = segmentation_scores([[0, 0, 1], [1, 1, 1, 1]], [[0, 0, 1], [1, 1, 0, 0]])
    assert a == b == c
    assert a["edit"] == pytest.approx((100.0 + 50.0) / 2)
    # F1 summed over sequences: seq0 tp 2; seq1 pred [0,4) vs gt 1:[0,2) IoU .5 -> tp at 10/25/50, fn 1
    assert a["F1@10"] == pytest.approx(100 * 2 * (3 / 3) * (3 / 4) / (3 / 3 + 3 / 4))
    with pytest.raises(ValueError):
        frame_accuracy(pred, gt, mask=mask, lengths=lengths)


def test_empty_and_length_one() -> None:
    assert math.isnan(frame_accuracy([], []))
    assert edit_score([], []) == 100.0
    assert f1_score([], [], 0.5) == 100.0
    assert f1_score([3], [3], 0.5) == 100.0 and edit_score([3], [3]) == 100.0
    assert f1_score([3], [4], 0.1) == 0.0
    assert edit_score([5, 5], [5, 5], background=5) == 100.0
    assert f1_score([0, 0], [5, 5], 0.1, background=5) == 0.0
    s = segmentation_scores([[], [1]], [[], [1]])
    assert s["accuracy"] == 100.0 and s["F1@50"] == 100.0 and s["edit"] == 100.0


def test_torch_input_and_errors() -> None:
    import torch

    assert frame_accuracy(torch.tensor([[1, 2, 3]]), torch.tensor([[1, 2, 0]])) == pytest.approx(200 / 3)
    with pytest.raises(ValueError):
        frame_accuracy([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        f1_counts([1], [1], [0.0])
    assert set(segmentation_scores([1, 1], [1, 1])) == {"accuracy", "edit", "F1@10", "F1@25", "F1@50"}


# --- properties ----------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=30), st.lists(st.integers(0, 3), max_size=30),
       st.sampled_from([None, 0]), st.sampled_from([0.1, 0.25, 0.5, 0.75]))
def test_matches_naive_loops(a: list[int], b: list[int], bg: int | None, overlap: float) -> None:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    assert tuple(f1_counts(a, b, [overlap], background=bg)[0].tolist()) == _naive_f1_counts(a, b, overlap, bg)
    pa = [s[0] for s in _naive_segments(a, bg)]
    pb = [s[0] for s in _naive_segments(b, bg)]
    assert levenshtein(pa, pb) == _naive_lev(pa, pb)


def test_perfect_prediction_scores_100() -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat(rng.integers(0, 5, 40), rng.integers(1, 10, 40))
    s = segmentation_scores(labels, labels, background=4)
    assert s == {"accuracy": 100.0, "edit": 100.0, "F1@10": 100.0, "F1@25": 100.0, "F1@50": 100.0}
