"""Segment mAP (docs/method.md §7/§8/§11): worked example, protocols, greedy matching, edge cases, CLI."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skelzoo.cli import evaluate as cli_evaluate
from skelzoo.evaluation.segment_map import label_runs, labels_to_segments, segment_map, voc_ap
from skelzoo.localization.decode import cas_proposals, decode
from skelzoo.localization.segments import make_segment

# --- literal copy of the worked example (facts from ../shared/reference/eval_example.json) ---------------
C0 = [.02, .20, .30, .25, .35, .01, .60, .70, .65, .043, .01, .01, .01, .01, .01, .02, .02, .01, .01, .01]
C1 = [.01, .01, .60, .70, .60, .01, .01, .01, .01, .01, .01, .036, .50, .55, .50, .45, .40, .02, .06, .07]
EX_CAS = np.stack([C0, C1, 1.0 - np.array(C0) - np.array(C1)], axis=1)
EX_LABELS = [2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 1, 2, 2, 2]
ALL_T = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
EXPECTED_LINE = (75.0, 75.0, 75.0, 50.0, 50.0, 25.0, 0.0)  # average over 0.1..0.5: 65.0
EXPECTED_CLASS0 = (100.0, 100.0, 100.0, 50.0, 50.0, 0.0, 0.0)  # SnipCLR snapshot, average 80.0
EXPECTED_CLEAN = (75.0, 75.0, 75.0, 25.0, 25.0, 25.0, 25.0)  # average 55.0


def _ex_predictions() -> list:
    return [cas_proposals(EX_CAS, columns=[0, 1])]


# --- reference loop implementation of docs/method.md §7, for property tests ----------------------------------
def _naive_map(preds, labels, background, thresholds, protocol):
    gts = {}
    for v, lab in enumerate(labels):
        for c, s, e in zip(*label_runs(lab, background)):
            gts.setdefault(int(c), []).append((v, int(s), int(e)))
    out = []
    for t in thresholds:
        aps = []
        for c in sorted(gts):
            plist = [(sc, v, i, s, e) for v, p in enumerate(preds) for i, (cc, s, e, sc) in enumerate(p) if cc == c]
            plist.sort(key=lambda x: (-x[0], x[1], x[2]))
            used = [False] * len(gts[c])
            tp = []
            for sc, v, _, s, e in plist:
                pset = set(range(s, e + 1)) if protocol == "line" else set(range(s, e))
                best, best_iou = -1, -1.0
                for j, (gv, a, b) in enumerate(gts[c]):
                    if gv != v or used[j]:
                        continue
                    gset = set(range(a, b - 1)) if protocol == "line" else set(range(a, b))
                    union = len(pset | gset)
                    iou = len(pset & gset) / union if union else 0.0
                    if iou >= t and iou > best_iou:
                        best, best_iou = j, iou
                if best >= 0:
                    used[best] = True
                tp.append(best >= 0)
            aps.append(voc_ap(np.array(tp, dtype=bool), len(gts[c])))
        out.append(100.0 * float(np.mean(aps)))
    return out


# --- worked example ------------------------------------------------------------------------------------
def test_worked_example_line_protocol_literal() -> None:
    r = segment_map(_ex_predictions(), [EX_LABELS], background=2, tiou_thresholds=ALL_T, protocol="line")
    assert r.protocol == "line" and r.classes == (0, 1)
    assert r.map == pytest.approx(EXPECTED_LINE)
    r5 = segment_map(_ex_predictions(), [EX_LABELS], background=2, protocol="line")
    assert r5.tiou_thresholds == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert r5.average == pytest.approx(65.0)
    assert r5.ap[3] == pytest.approx((0.5, 0.5))


def test_worked_example_snapshot_class0_literal() -> None:
    r = segment_map(_ex_predictions(), [EX_LABELS], background=2, tiou_thresholds=ALL_T, protocol="line", classes=[0])
    assert r.map == pytest.approx(EXPECTED_CLASS0)
    r5 = segment_map(_ex_predictions(), [EX_LABELS], background=2, protocol="line", classes=[0])
    assert r5.average == pytest.approx(80.0)


def test_worked_example_clean_protocol_literal() -> None:
    r = segment_map(_ex_predictions(), [EX_LABELS], background=2, tiou_thresholds=ALL_T)
    assert r.protocol == "clean"
    assert r.map == pytest.approx(EXPECTED_CLEAN)
    assert segment_map(_ex_predictions(), [EX_LABELS], background=2).average == pytest.approx(55.0)


def test_worked_example_via_decode_segments() -> None:
    r = segment_map([decode(EX_CAS)], [EX_LABELS], background=2, protocol="line")
    assert r.average == pytest.approx(65.0)


def test_worked_example_matches_reference_json(reference_dir) -> None:
    ex = json.loads((reference_dir / "eval_example.json").read_text())
    cas = np.asarray(ex["inputs"]["cas"])
    labels = ex["inputs"]["frame_labels"]
    bg = ex["inputs"]["background_index"]
    th = ex["inputs"]["tiou_thresholds"]
    preds = [cas_proposals(cas)]  # background proposals included: they are never evaluated
    official = ex["expected_official"]
    line = segment_map(preds, [labels], background=bg, tiou_thresholds=th, protocol="line")
    exp = official["mAP_mean_over_classes_present_in_gt (LINE AAAI'23 code)"]
    assert line.map == pytest.approx([exp[f"{t:g}"] for t in th])
    snap = segment_map(preds, [labels], background=bg, tiou_thresholds=th, protocol="line", classes=[0])
    exp = official["mAP_class0_only (SnipCLR released snapshot)"]
    assert snap.map == pytest.approx([exp[f"{t:g}"] for t in th])
    clean = segment_map(preds, [labels], background=bg, tiou_thresholds=th, protocol="clean")
    exp = ex["expected_clean_iou"]["mAP_mean_over_classes"]
    assert clean.map == pytest.approx([exp[f"{t:g}"] for t in th])
    for protocol, res in (("official", line), ("clean", clean)):
        for h, t in enumerate(th):
            per_class = ex["matching"][protocol][f"{t:g}"]
            assert res.ap[h] == pytest.approx((per_class["0"]["ap"], per_class["1"]["ap"]))
    assert segment_map(preds, [labels], background=bg, protocol="line").average == pytest.approx(
        official["mAP_mean_over_classes_present_in_gt_avg_0.1_to_0.5"])
    assert segment_map(preds, [labels], background=bg, protocol="line", classes=[0]).average == pytest.approx(
        official["mAP_class0_only_avg_0.1_to_0.5"])
    assert segment_map(preds, [labels], background=bg).average == pytest.approx(ex["expected_clean_iou"]["avg_0.1_to_0.5"])


# --- properties ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 10, 30])
def test_perfect_prediction(n: int) -> None:
    labels = [3] * 4 + [0] * n + [3] * 2 + [1] * (n + 2) + [3]
    preds = [[(0, 4, 4 + n, 0.9), (1, 6 + n, 8 + 2 * n, 0.8)]]
    clean = segment_map(preds, [labels], background=3, tiou_thresholds=[0.1, 0.5, 0.9, 1.0])
    assert clean.map == pytest.approx((100.0,) * 4)
    # line protocol: IoU of a perfect prediction is (n-1)/(n+1); one-frame GT can never be matched
    iou0 = (n - 1) / (n + 1)
    if n > 1:
        at = segment_map(preds, [labels], background=3, tiou_thresholds=[iou0], protocol="line", classes=[0])
        assert at.map == (100.0,)
    above = min(1.0, iou0 + 1e-6)
    assert segment_map(preds, [labels], background=3, tiou_thresholds=[above], protocol="line", classes=[0]).map == (0.0,)


def test_greedy_matching_is_by_score() -> None:
    # higher-scored, worse-overlapping prediction consumes the GT; the better one becomes a FP
    labels = [1] * 2 + [0] * 10 + [1] * 2
    preds = [[(0, 2, 8, 0.9), (0, 2, 12, 0.5)]]
    r = segment_map(preds, [labels], background=1, tiou_thresholds=[0.5, 0.7])
    assert r.map == pytest.approx((100.0, 50.0))


def test_prediction_overlapping_two_gts_conflict_path() -> None:
    # class 0 GT [0,4) and [5,9); prediction [0,9) overlaps both (IoU 4/9 each): takes the first
    labels = [0, 0, 0, 0, 1, 0, 0, 0, 0]
    preds = [[(0, 0, 9, 0.9), (0, 5, 9, 0.8), (0, 0, 4, 0.7)]]
    r = segment_map(preds, [labels], background=1, tiou_thresholds=[0.4])
    # ranked: TP (takes [0,4)), TP ([5,9)), FP -> AP = 1
    assert r.map == pytest.approx((100.0,))
    assert r.map == pytest.approx(_naive_map([preds[0]], [labels], 1, [0.4], "clean"))


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["clean", "line"]))
def test_matches_naive_loops(seed: int, protocol: str) -> None:
    rng = np.random.default_rng(seed)
    n_videos, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    labels, preds = [], []
    for _ in range(n_videos):
        t = int(rng.integers(0, 40))
        lab = np.repeat(rng.integers(0, k + 1, size=t), rng.integers(1, 6, size=t))[:t]
        labels.append(lab.tolist())
        p = []
        for _ in range(int(rng.integers(0, 8))):
            s = int(rng.integers(0, max(t, 1)))
            e = s + int(rng.integers(1, 20))
            p.append((int(rng.integers(0, k + 1)), s, e, float(rng.choice([0.1, 0.5, rng.random()]))))
        preds.append(p)
    if not any(np.any(np.asarray(lab, dtype=int) != k) for lab in labels if len(lab)):
        with pytest.raises(ValueError):
            segment_map(preds, labels, background=k)
        return
    th = [0.1, 0.3, 0.5, 0.7]
    got = segment_map(preds, labels, background=k, tiou_thresholds=th, protocol=protocol)
    assert got.map == pytest.approx(_naive_map(preds, labels, k, th, protocol))


# --- edge cases ----------------------------------------------------------------------------------------
def test_no_predictions_and_empty_sequences() -> None:
    r = segment_map([[], [], []], [EX_LABELS, [], [2, 2]], background=2)
    assert r.map == (0.0,) * 5 and r.num_gt == (1, 1) and r.num_pred == (0, 0)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        segment_map([[]], [[]], background=2)
    assert segment_map([[]], [[]], background=2, classes=[0]).map == (0.0,) * 5


def test_class_without_gt() -> None:
    base = segment_map(_ex_predictions(), [EX_LABELS], background=2)
    extra = [list(_ex_predictions()[0].to_segments()) + [make_segment(5, 0, 10, 0.99)]]
    assert segment_map(extra, [EX_LABELS], background=2).map == base.map  # ignored by default
    forced = segment_map(extra, [EX_LABELS], background=2, classes=[0, 1, 5])
    assert forced.classes == (0, 1, 5) and [row[2] for row in forced.ap] == [0.0] * 5


def test_input_forms_agree() -> None:
    props = _ex_predictions()[0]
    segs = props.to_segments()
    forms = [
        [props],
        [segs],
        [[s.to_dict() for s in segs]],
        [[(s.label, s.start, s.end, s.score) for s in segs]],
        [np.array([(s.label, s.start, s.end, s.score) for s in segs])],
    ]
    results = [segment_map(f, [EX_LABELS], background=2, protocol="line").map for f in forms]
    assert all(r == results[0] for r in results)
    gt_segs = [[(0, 2, 10), (1, 12, 17)]]
    assert segment_map([props], gt_segments=gt_segs, protocol="line").map == results[0]
    assert segment_map([props], gt_segments=[labels_to_segments(EX_LABELS, 2)], protocol="line").map == results[0]


def test_gt_labels_equal_gt_segments_on_uneven_batches() -> None:
    rng = np.random.default_rng(3)
    labels = [np.repeat(rng.integers(0, 4, size=n), rng.integers(1, 5, size=n)) for n in (0, 5, 1, 12, 0, 9)]
    backgrounds = [3, 0, 3, 2, 1, 3]
    preds = [[(int(rng.integers(0, 4)), int(s), int(s + rng.integers(1, 9)), float(rng.choice([0.2, 0.7])))
              for s in rng.integers(0, 30, size=int(rng.integers(0, 6)))] for _ in labels]
    gt_segments = [list(zip(*label_runs(lab, bg))) for lab, bg in zip(labels, backgrounds)]
    for protocol in ("clean", "line"):
        a = segment_map(preds, labels, background=backgrounds, protocol=protocol, classes=[0, 1, 2, 3])
        b = segment_map(preds, gt_segments=gt_segments, protocol=protocol, classes=[0, 1, 2, 3])
        assert a.to_dict() == b.to_dict()


def test_label_runs_and_length_one_runs() -> None:
    c, s, e = label_runs([2, 0, 2, 1, 1, 0], background=2)
    assert (c.tolist(), s.tolist(), e.tolist()) == ([0, 1, 0], [1, 3, 5], [2, 5, 6])
    assert all(len(a) == 0 for a in label_runs([], background=2))
    # one-frame GT: clean protocol can match it, line protocol never
    preds = [[(0, 1, 2, 0.5)]]
    assert segment_map(preds, [[2, 0, 2]], background=2).map == (100.0,) * 5
    assert segment_map(preds, [[2, 0, 2]], background=2, protocol="line").map == (0.0,) * 5


def test_errors_and_result_dict() -> None:
    with pytest.raises(ValueError, match="protocol"):
        segment_map([[]], [EX_LABELS], background=2, protocol="official")
    with pytest.raises(ValueError, match="tIoU"):
        segment_map([[]], [EX_LABELS], background=2, tiou_thresholds=[0.0])
    with pytest.raises(ValueError):
        segment_map([[], []], [EX_LABELS], background=2)
    with pytest.raises(ValueError, match="background"):
        segment_map([[]], [EX_LABELS])
    d = segment_map(_ex_predictions(), [EX_LABELS], background=2, protocol="line").to_dict()
    assert d["protocol"] == "line" and d["average_mAP"] == pytest.approx(65.0)
    assert d["mAP"]["0.4"] == pytest.approx(50.0) and d["per_class_AP"]["0"]["0.1"] == pytest.approx(100.0)
    json.dumps(d)


def test_voc_ap_hand_values() -> None:
    assert voc_ap(np.array([1, 0], bool), 1) == 1.0
    assert voc_ap(np.array([0, 1], bool), 1) == 0.5
    assert voc_ap(np.array([1, 0, 1], bool), 4) == pytest.approx(0.25 * 1.0 + 0.25 * 2 / 3)
    assert voc_ap(np.array([], bool), 3) == 0.0


# --- CLI -----------------------------------------------------------------------------------------------
def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="skelzoo")
    cli_evaluate.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def _write(path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_cli_evaluate_videos_format(tmp_path, capsys) -> None:
    segs = [s.to_dict() for s in decode(EX_CAS)]
    pred = _write(tmp_path / "pred.json", {"videos": {"v1": {"segments": segs}}})
    gt = _write(tmp_path / "gt.json", {"videos": {"v1": {"labels": EX_LABELS, "background": 2}}})
    out = tmp_path / "res.json"
    args = _cli(["evaluate", pred, gt, "--protocol", "line", "--out", str(out)])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["average_mAP"] == {"value": 65.0, "protocol": "line"}
    assert printed["mAP"]["0.4"] == {"value": 50.0, "protocol": "line"}
    assert all(v["protocol"] == "line" for row in printed["per_class_AP"].values() for v in row.values())
    args = _cli(["evaluate", pred, gt, "--tiou", "0.1", "0.5", "0.7"])
    args.func(args)
    printed = json.loads(capsys.readouterr().out)
    assert printed["protocol"] == "clean" and list(printed["mAP"]) == ["0.1", "0.5", "0.7"]


def test_cli_evaluate_localize_format_and_gt_segments(tmp_path, capsys) -> None:
    segs = [s.to_dict() for s in decode(EX_CAS)]
    pred = _write(tmp_path / "pred.json", {"results": [{"input": "/data/clips/v1.npy", "segments": segs}]})
    gt = _write(tmp_path / "gt.json", {"background": 2, "videos": {
        "v1": {"segments": [{"label": 0, "start": 2, "end": 10}, {"label": 1, "start": 12, "end": 17}]},
        "v2": {"segments": [{"label": 0, "start": 0, "end": 5}]}}})
    args = _cli(["evaluate", pred, gt, "--protocol", "line", "--classes", "0"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    # v2 has no predictions: its GT is a miss -> class 0 recall halves
    assert printed["num_gt"] == {"0": 2}
    assert printed["mAP"]["0.1"]["value"] == pytest.approx(50.0)


@pytest.mark.parametrize("pred_data, gt_data, match", [
    ({"nope": 1}, {"videos": {"v": {"labels": [0], "background": 1}}}, "videos"),
    ({"videos": {"x": {"segments": []}}}, {"videos": {"v": {"labels": [0], "background": 1}}}, "not in GT"),
    ({"videos": {"v": {"segments": [{"label": 0, "start": 3}]}}}, {"videos": {"v": {"labels": [0], "background": 1}}}, "keys"),
    ({"videos": {"v": {"segments": []}}}, {"videos": {"v": {"labels": [0]}}}, "background"),
    ({"videos": {"v": {"segments": [{"label": 0, "start": 3, "end": 3, "score": 1}]}}},
     {"videos": {"v": {"labels": [0], "background": 1}}}, "invalid frames"),
])
def test_cli_evaluate_errors(tmp_path, pred_data, gt_data, match) -> None:
    args = _cli(["evaluate", _write(tmp_path / "p.json", pred_data), _write(tmp_path / "g.json", gt_data)])
    with pytest.raises(ValueError, match=match):
        args.func(args)


def test_cli_evaluate_unreadable(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    args = _cli(["evaluate", str(bad), str(tmp_path / "missing.json")])
    with pytest.raises(ValueError, match="not valid JSON"):
        args.func(args)
