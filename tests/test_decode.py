"""Decoding frame scores to segments: official SnipCLR/LINE proposals (docs/method.md §6/§8) and argmax."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skelzoo.localization.decode import (
    DEFAULT_CAS_THRESHOLDS,
    Proposals,
    argmax_segments,
    cas_proposals,
    cas_proposals_batch,
    decode,
    softmax,
)
from skelzoo.localization.segments import Segment, make_segment

# --- literal copy of the worked example (facts from ../shared/reference/eval_example.json) ---------------
C0 = [.02, .20, .30, .25, .35, .01, .60, .70, .65, .043, .01, .01, .01, .01, .01, .02, .02, .01, .01, .01]
C1 = [.01, .01, .60, .70, .60, .01, .01, .01, .01, .01, .01, .036, .50, .55, .50, .45, .40, .02, .06, .07]
EX_CAS = np.stack([C0, C1, 1.0 - np.array(C0) - np.array(C1)], axis=1)  # (20, 3), background last
EX_LABELS = [2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 1, 2, 2, 2]
# after NMS, per class: (first frame, stored end = exclusive end + 1, score), in keep (score) order
EX_AFTER_NMS = {
    0: [(6, 10, 0.49225), (1, 6, 0.036)],
    1: [(2, 6, 0.4715), (12, 18, 0.382133)],
    2: [(0, 21, 0.60955)],
}
# every candidate (before NMS, duplicates included): (class, first frame, stored end, score)
EX_CANDIDATES = (
    [(0, 1, 6, 0.036)] * 5 + [(0, 6, 11, 0.3946)] * 3 + [(0, 6, 10, 0.49225)] * 2
    + [(1, 2, 6, 0.4715)] * 5 + [(1, 11, 18, 0.334857)] * 2 + [(1, 12, 18, 0.382133)] * 3
    + [(2, 0, 21, 0.60955)] * 5
)
OFFICIAL_THRESHOLDS = (0.03, 0.034999999999999996, 0.039999999999999994, 0.04499999999999999, 0.04999999999999999)


def _by_class(p: Proposals) -> dict[int, list[tuple[int, int, float]]]:
    out: dict[int, list[tuple[int, int, float]]] = {}
    for c, s, e, sc in zip(p.label.tolist(), p.start.tolist(), p.stored_end.tolist(), p.score.tolist()):
        out.setdefault(c, []).append((s, e, sc))
    return out


def _assert_same(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for c in expected:
        assert [(s, e) for s, e, _ in got[c]] == [(s, e) for s, e, _ in expected[c]], c
        assert [sc for *_, sc in got[c]] == pytest.approx([sc for *_, sc in expected[c]], abs=1e-6)


# --- reference loop implementation of docs/method.md §6, for property tests ----------------------------------
def _naive_official(cas: np.ndarray, thresholds=DEFAULT_CAS_THRESHOLDS, min_len=3, ratio=0.25, w=0.6, nms=0.2):
    t_len, k = cas.shape
    kept = []
    for c in range(k):
        v = cas[:, c]
        cands = []
        for th in thresholds:
            t = 0
            while t < t_len:
                if v[t] > th:
                    s = t
                    while t < t_len and v[t] > th:
                        t += 1
                    e, n = t, t - s
                    if n >= min_len:
                        inner = v[s:e + 1].mean()
                        left = v[max(0, int(s - n * ratio)):s]
                        right = v[e + 1:min(t_len - 1, int(e + n * ratio + 1))]
                        outer = np.concatenate([left, right])
                        score = inner - w * (outer.mean() if outer.size else 0.0)
                        cands.append((s, e + 1, score))
                else:
                    t += 1
        order = sorted(range(len(cands)), key=lambda i: (-cands[i][2], i))
        alive = list(order)
        while alive:
            i = alive.pop(0)
            kept.append((c, cands[i][0], cands[i][1], cands[i][2]))
            si, ei, _ = cands[i]
            alive = [j for j in alive
                     if max(0, min(ei, cands[j][1]) - max(si, cands[j][0]) + 1) / (cands[j][1] - cands[j][0] + 1) <= nms]
    return kept


# --- official proposals --------------------------------------------------------------------------------
def test_default_thresholds_are_the_arange_floats() -> None:
    assert DEFAULT_CAS_THRESHOLDS == OFFICIAL_THRESHOLDS
    assert len(DEFAULT_CAS_THRESHOLDS) == 5


def test_worked_example_proposals_literal() -> None:
    _assert_same(_by_class(cas_proposals(EX_CAS)), EX_AFTER_NMS)


def test_worked_example_candidates_literal() -> None:
    # nms_threshold >= 1 suppresses nothing (overlap <= 1): every candidate comes back, duplicates included
    p = cas_proposals(EX_CAS, nms_threshold=1.0)
    got = sorted(zip(p.label.tolist(), p.start.tolist(), p.stored_end.tolist(), np.round(p.score, 6).tolist()))
    assert got == sorted(EX_CANDIDATES)


def test_worked_example_matches_reference_json(reference_dir) -> None:
    ex = json.loads((reference_dir / "eval_example.json").read_text())
    cas = np.asarray(ex["inputs"]["cas"], dtype=np.float64)
    inp = ex["inputs"]
    p = cas_proposals(cas, thresholds=np.arange(0.03, 0.055, 0.005), min_length=inp["min_proposal_length"],
                      margin_ratio=inp["outer_margin_ratio"], outer_weight=inp["outer_weight"],
                      nms_threshold=inp["nms_overlap_threshold"])
    expected = {int(c): [(s, e, sc) for _, s, e, sc in d["after_nms"]] for c, d in ex["proposals"]["per_class"].items()}
    _assert_same(_by_class(p), expected)
    cand = cas_proposals(cas, nms_threshold=1.0)
    got = sorted(zip(cand.label.tolist(), cand.start.tolist(), cand.stored_end.tolist(), np.round(cand.score, 6).tolist()))
    exp = sorted((int(c), r["proposal"][1], r["proposal"][2], round(r["score"], 6))
                 for c, d in ex["proposals"]["per_class"].items() for r in d["candidate_runs"] if r.get("kept", True))
    assert got == exp


def test_strict_threshold_and_min_length() -> None:
    v = np.array([0.0, 0.03, 0.03, 0.03, 0.0, 0.05, 0.05, 0.05, 0.0])
    p = cas_proposals(v[:, None])
    # 0.03 is not > 0.03; 0.05 is > 0.04999999999999999 (all five thresholds) -> one run [5, 8)
    assert (p.start.tolist(), p.end.tolist()) == ([5], [8])
    assert len(cas_proposals(v[:, None], min_length=4)) == 0


def test_decode_official_excludes_background_and_is_time_sorted() -> None:
    segs = decode(EX_CAS, fps=10.0, class_names=["walk", "stand"])
    assert all(s.label in (0, 1) for s in segs)
    assert [(s.label, s.start, s.end) for s in segs] == [(0, 1, 5), (1, 2, 5), (0, 6, 9), (1, 12, 17)]
    assert segs[0].name == "walk" and segs[0].start_s == pytest.approx(0.1) and segs[0].end_s == pytest.approx(0.5)
    assert segs[2].score == pytest.approx(0.49225)


def test_decode_accepts_logits_and_torch() -> None:
    import torch

    logits = np.log(EX_CAS) + 3.0
    def key(segs: list[Segment]) -> list[tuple[int, int, int]]:
        return [(s.label, s.start, s.end) for s in segs]

    a = decode(EX_CAS)
    for b in (decode(logits), decode(torch.from_numpy(logits), input_kind="logits")):
        assert key(b) == key(a)
        assert [s.score for s in b] == pytest.approx([s.score for s in a], abs=1e-12)
    np.testing.assert_allclose(softmax(logits), EX_CAS, atol=1e-12)


def test_decode_length_ignores_padding() -> None:
    padded = np.concatenate([EX_CAS, np.tile([[0.9, 0.05, 0.05]], (10, 1))])
    assert decode(padded, length=20) == decode(EX_CAS)
    with pytest.raises(ValueError):
        decode(padded, length=31)


def test_decode_rejects_unknown_params_and_method() -> None:
    with pytest.raises(ValueError, match="smoothing"):
        decode(EX_CAS, method="official", smoothing=3)
    with pytest.raises(ValueError, match="method"):
        decode(EX_CAS, method="nope")
    with pytest.raises(ValueError):
        decode(np.zeros((5, 1)) + 1.0)


def test_batch_equals_single_and_handles_empty_sequences() -> None:
    rng = np.random.default_rng(0)
    cas_list = [softmax(rng.normal(size=(t, 4)) * 3) for t in (0, 1, 7, 50, 3)]
    batch = cas_proposals_batch(cas_list)
    assert len(batch) == 5 and len(batch[0]) == 0 and len(batch[1]) == 0
    for c, b in zip(cas_list, batch):
        s = cas_proposals(c)
        for f in ("label", "start", "end", "score"):
            np.testing.assert_array_equal(getattr(b, f), getattr(s, f))
    assert cas_proposals_batch([]) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 60), st.integers(2, 4), st.floats(0.3, 3.0))
def test_official_matches_naive_loops(seed: int, t_len: int, k: int, temp: float) -> None:
    rng = np.random.default_rng(seed)
    raw = np.repeat(rng.normal(size=(max(1, t_len // 3 + 1), k)), 3, axis=0)[:t_len] + 0.3 * rng.normal(size=(t_len, k))
    cas = softmax(raw * temp)
    p = cas_proposals(cas)
    got = sorted(zip(p.label.tolist(), p.start.tolist(), p.stored_end.tolist()))
    exp = _naive_official(cas)
    assert got == sorted((c, s, e) for c, s, e, _ in exp)
    np.testing.assert_allclose(sorted(p.score.tolist()), sorted(sc for *_, sc in exp), atol=1e-12)


@pytest.mark.parametrize("params", [
    {},
    {"thresholds": (-0.01, 0.1, 0.2)},  # negative threshold: zero padding of the batch must stay inactive
    {"thresholds": (0.2, 0.1, 0.3, 0.1)},  # unsorted, repeated thresholds (general path)
    {"thresholds": (0.25,), "min_length": 1},
    {"nms_threshold": 1.0},  # no NMS: duplicates across thresholds are kept
    {"nms_threshold": 0.0},
])
def test_batch_matches_naive_with_ties_and_uneven_lengths(params: dict) -> None:
    rng = np.random.default_rng(7)
    thresholds = params.get("thresholds", DEFAULT_CAS_THRESHOLDS)
    if "thresholds" not in params:  # values on a coarse grid around the official thresholds: many ties
        cas_list = [np.round(rng.uniform(0.0, 0.08, size=(t, 3)) * 200) / 200 for t in (0, 3, 17, 60, 41)]
    else:
        cas_list = [np.round(rng.uniform(0.0, 0.4, size=(t, 3)) * 20) / 20 for t in (0, 3, 17, 60, 41)]
    batch = cas_proposals_batch(cas_list, **params)
    for cas, p in zip(cas_list, batch):
        exp = _naive_official(cas, thresholds=thresholds, min_len=params.get("min_length", 3),
                              nms=params.get("nms_threshold", 0.2))
        # same proposals (the naive scores differ in the last bits, so near-ties may be kept in another order)
        got = sorted(zip(p.label.tolist(), p.start.tolist(), p.stored_end.tolist()))
        assert got == sorted((c, s, e) for c, s, e, _ in exp)
        np.testing.assert_allclose(sorted(p.score.tolist()), sorted(sc for *_, sc in exp), rtol=0, atol=1e-12)
        assert np.all(np.lexsort((-p.score, p.label)) == np.arange(len(p)))  # label, then descending score


def test_margin_and_inner_quirks() -> None:
    # run [4, 8): n=4, inner = frames 4..8 (frame 8 = first frame after the run), left margin {3}, right {9}
    v = np.array([0, 0, 0, .02, .5, .5, .5, .5, .01, .04, 0, 0, 0, 0])
    p = cas_proposals(v[:, None], thresholds=[0.03])
    inner = v[4:9].mean()
    outer = np.mean([v[3], v[9]])
    assert p.start.tolist() == [4] and p.end.tolist() == [8]
    assert p.score[0] == pytest.approx(inner - 0.6 * outer)


# --- argmax decoder ------------------------------------------------------------------------------------
def _onehot(labels: list[int], k: int, p: float = 0.8) -> np.ndarray:
    out = np.full((len(labels), k), (1 - p) / (k - 1))
    out[np.arange(len(labels)), labels] = p
    return out


def test_argmax_runs_and_scores() -> None:
    probs = _onehot([2, 0, 0, 1, 2, 2, 1, 1, 1], 3)
    p = argmax_segments(probs)
    assert list(zip(p.label.tolist(), p.start.tolist(), p.end.tolist())) == [(0, 1, 3), (1, 3, 4), (1, 6, 9)]
    np.testing.assert_allclose(p.score, 0.8)


def test_argmax_min_duration_and_length_one_runs() -> None:
    probs = _onehot([0, 1, 0, 0, 2, 1], 3)
    p = argmax_segments(probs, min_duration=2)
    assert list(zip(p.label.tolist(), p.start.tolist(), p.end.tolist())) == [(0, 2, 4)]
    one = argmax_segments(_onehot([1], 3))
    assert list(zip(one.label.tolist(), one.start.tolist(), one.end.tolist())) == [(1, 0, 1)]


def test_argmax_smoothing_removes_flicker() -> None:
    probs = _onehot([0, 0, 0, 1, 0, 0, 0], 3, p=0.6)
    assert len(argmax_segments(probs)) == 3
    p = argmax_segments(probs, smoothing=3)
    assert list(zip(p.label.tolist(), p.start.tolist(), p.end.tolist())) == [(0, 0, 7)]
    # score uses the raw (unsmoothed) probabilities
    assert p.score[0] == pytest.approx(probs[:, 0].mean())


def test_argmax_empty_and_all_background() -> None:
    assert len(argmax_segments(np.zeros((0, 3)))) == 0
    assert decode(_onehot([2, 2, 2], 3), method="argmax") == []
    assert decode(np.zeros((0, 3)), method="argmax") == []
    assert decode(np.zeros((0, 3))) == []


# --- segments ------------------------------------------------------------------------------------------
def test_segment_to_dict_and_validation() -> None:
    s = make_segment(1, 30, 60, 0.5, fps=30.0, class_names=["a", "b"])
    assert s == Segment(1, "b", 30, 60, 0.5, 1.0, 2.0)
    assert s.to_dict() == {"label": 1, "name": "b", "start": 30, "end": 60, "score": 0.5, "start_s": 1.0, "end_s": 2.0}
    assert s.num_frames == 30
    for bad in ((1, 5, 5, 0.1), (1, -1, 3, 0.1)):
        with pytest.raises(ValueError):
            make_segment(*bad)
    with pytest.raises(ValueError):
        make_segment(3, 0, 1, 0.1, class_names=["a"])
    assert math.isclose(make_segment(0, 3, 6, 1.0, fps=25.0).end_s, 0.24)
